/* sites_randaug.c — a scratch measurement (doc/results.md, "The multi-site benchmark's calibration"):
 * the check's base CNN (widths 16,32, 5 epochs, one thread) trained on the labelled train images of
 * a sites set plus K RandAugment copies of them at magnitude M (2 operations each), its accuracy
 * on the test images per site. Public header only. Build and run:
 *   cc -O2 -std=c11 -fopenmp -Iinclude -o sites_randaug dev/sites_randaug.c build/rel/libmcrage.a
 *      -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -ldnnl -lxgboost -lpng -lz -lm
 *   ./sites_randaug sites.npz K M      (sites 0-2 are A, B, C, site 3 is D) */
#include <mcrage/mcrage.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: sites_randaug SITES.npz K M\n");
        return 2;
    }
    mcr_imageset *s;
    if (mcr_imageset_read(argv[1], &s)) { fprintf(stderr, "%s\n", mcr_last_error()); return 1; }
    int K = atoi(argv[2]); double M = atof(argv[3]);
    int n, h, w, c; mcr_imageset_dims(s, &n, &h, &w, &c);
    size_t plane = (size_t)h * w * c, nt = 0;
    const uint8_t *pix = mcr_imageset_pixels(s);
    for (int i = 0; i < n; i++) nt += mcr_imageset_split(s, i) == 't' && mcr_imageset_label(s, i) >= 0;
    size_t N = nt * (K + 1);
    uint8_t *x = malloc(N * plane); int *y = malloc(N * sizeof *y);
    size_t q = 0;
    for (int r = 0; r <= K; r++)
        for (int i = 0; i < n; i++)
            if (mcr_imageset_split(s, i) == 't' && mcr_imageset_label(s, i) >= 0) {
                memcpy(x + q * plane, pix + (size_t)i * plane, plane); y[q++] = mcr_imageset_label(s, i);
            }
    mcr_randaug_config rc; mcr_randaug_config_default(&rc); rc.magnitude = M;
    if (K) mcr_randaugment(&rc, x + nt * plane, x + nt * plane, nt * K, 0, h, w, c);
    mcr_cnn_config cc; mcr_cnn_config_default(&cc);
    cc.nstages = 2, cc.widths[0] = 16, cc.widths[1] = 32, cc.epochs = 5, cc.threads = 1;
    mcr_cnn *m;
    if (mcr_cnn_fit_u8(&cc, x, y, N, h, w, c, 2, &m)) { fprintf(stderr, "%s\n", mcr_last_error()); return 1; }
    double ok[5] = {0}, cnt[5] = {0}, pr[2];
    for (int i = 0; i < n; i++) {
        if (mcr_imageset_split(s, i) != 's') continue;
        mcr_cnn_predict_proba_u8(m, pix + (size_t)i * plane, 1, pr);
        int a = mcr_imageset_attr(s, i);
        cnt[a]++, ok[a] += (pr[1] > pr[0]) == (mcr_imageset_label(s, i) == 1);
    }
    double idok = ok[0] + ok[1] + ok[2], idn = cnt[0] + cnt[1] + cnt[2];
    printf("K=%d M=%g train %zu: ID %.4f  A %.4f B %.4f C %.4f  OOD(D) %.4f\n", K, M, N, idok / idn, ok[0] / cnt[0],
           ok[1] / cnt[1], ok[2] / cnt[2], ok[3] / cnt[3]);
    mcr_cnn_free(m), mcr_imageset_free(s), free(x), free(y);
    return 0;
}
