/* sites.c — the multi-site benchmark (issue 14) and RandAugment-style augmentation; public in
 * mcrage.h 12d.
 *
 * Sites. A real image set with a binary label is turned into "hospitals" that differ the way
 * hospitals do: an acquisition chain per site (optics blur the image, the display curve bends
 * the intensities, the detector adds noise), a label prevalence per site, one site with few
 * labelled images, and one site (the OOD site) whose training images come without labels. All
 * parameters are the rows of SITES below, so the README's table and the code cannot drift.
 *
 * Construction, for seed S:
 *   1. pool the source's labelled images of every split; per label level (0, 1), shuffle the
 *      pool's indices (stream MCR_STREAM_SITES);
 *   2. for each site of the table (in table order, skipping those not asked for) and each
 *      split (train, val, test): n = round(count * scale) images, of which round(n * prevalence)
 *      of label 1, taken from the front of the shuffled pools (without replacement), then put
 *      in the pools' order interleaved by one more shuffle of the block (same stream);
 *   3. every image of a site goes through the site's acquisition (mcr_site_apply), the noise
 *      drawn from stream MCR_STREAM_SITES_NOISE in output order;
 *   4. the OOD site's train and val images get label -1 (their true labels go to *truth).
 * Everything is sequential: the same source, seed, sites and scale give the same bytes.
 *
 * Calibration (mcr_sites_run_check, `mcrage image sites --check`): the shifts were tuned until
 * a CNN trained on the labelled sites lost >= 10 points of accuracy on the OOD site's test
 * images while an oracle trained with the OOD site's labels stayed within 3 points of the
 * clean site (numbers in README and doc/results.md). */
#include "image/image.h"
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>
#include <time.h>

/* The sites. Counts fit PneumoniaMNIST as shipped here (3166 images, 1583 per label; the
 * table takes 2960: 1561 of label 1, 1399 of label 0). */
static const mcr_site_spec SITES[] = {
    /* name  gamma contrast offset ramp blur noise  prev  train val test ood  role */
    {"A", 1.00, 1.00, 0.0, 0.0, 0.0, 0.0, 0.50, 600, 100, 200, 0, "clean reference hospital"},
    {"B", 0.80, 1.10, -12.0, 0.0, 0.5, 3.0, 0.65, 600, 100, 200, 0, "brighter curve, more contrast, mild blur"},
    {"C", 1.25, 0.90, 10.0, 0.0, 0.0, 6.0, 0.35, 120, 40, 200, 0, "under-represented: few labelled images, noisy"},
    {"D", 1.60, 0.70, 20.0, 110.0, 0.3, 2.0, 0.50, 500, 0, 300, 1, "OOD: unlabelled for training, labelled test only"},
};
#define NSITES (int)(sizeof SITES / sizeof SITES[0])

MCR_API int mcr_sites_count(void) { return NSITES; }
MCR_API const mcr_site_spec *mcr_sites_spec(int k) { return k >= 0 && k < NSITES ? &SITES[k] : NULL; }

MCR_API void mcr_sites_config_default(mcr_sites_config *c) {
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->scale = 1;
}

/* ------------------------------------------------------------------ acquisition */
/* Separable Gaussian blur of one plane x [h, w] (stride `step` between pixels of a channel),
 * radius ceil(3 sigma), borders replicated; tmp [h * w]. */
static void blur_plane(float *x, float *tmp, int h, int w, int step, double sigma) {
    int r = (int)ceil(3 * sigma);
    if (r < 1) return;
    if (r > 32) r = 32;
    float k[65];
    double sum = 0;
    for (int i = -r; i <= r; i++) sum += k[i + r] = (float)exp(-0.5 * i * i / (sigma * sigma));
    for (int i = 0; i < 2 * r + 1; i++) k[i] = (float)(k[i] / sum);
    for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++) {
            float a = 0;
            for (int i = -r; i <= r; i++) {
                int q = xx + i < 0 ? 0 : xx + i >= w ? w - 1 : xx + i;
                a += k[i + r] * x[((size_t)y * w + q) * step];
            }
            tmp[(size_t)y * w + xx] = a;
        }
    for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++) {
            float a = 0;
            for (int i = -r; i <= r; i++) {
                int q = y + i < 0 ? 0 : y + i >= h ? h - 1 : y + i;
                a += k[i + r] * tmp[(size_t)q * w + xx];
            }
            x[((size_t)y * w + xx) * step] = a;
        }
}

static uint8_t to_u8(float v) {
    if (!(v > 0)) return 0;
    if (v >= 255) return 255;
    return (uint8_t)floorf(v + 0.5f);
}

MCR_API int mcr_site_apply(const mcr_site_spec *s, uint8_t *pix, size_t n, int h, int w, int ch, mcr_rng *r) {
    size_t plane = (size_t)h * w * ch;
    float *x = malloc(plane * sizeof *x), *tmp = malloc((size_t)h * w * sizeof *tmp);
    if (!x || !tmp) {
        free(x), free(tmp);
        return MCR_NOMEM();
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = pix + i * plane;
        for (size_t j = 0; j < plane; j++) x[j] = p[j] / 255.0f;
        if (s->blur > 0)
            for (int c = 0; c < ch; c++) blur_plane(x + c, tmp, h, w, ch, s->blur);
        for (size_t j = 0; j < plane; j++) {
            double v = x[j] > 0 ? pow(x[j], s->gamma) : 0;
            int col = (int)(j / (size_t)ch % (size_t)w);
            v = 0.5 + s->contrast * (v - 0.5) + s->offset / 255.0;
            v = 255 * v + (w > 1 ? s->ramp * ((double)col / (w - 1) - 0.5) : 0);
            if (s->noise > 0) v += s->noise * mcr_rng_normal(r);
            p[j] = to_u8((float)v);
        }
    }
    free(x), free(tmp);
    return MCR_OK;
}

MCR_API void mcr_image_stats(const uint8_t *pix, size_t n, int h, int w, int ch, double *mean, double *sd,
                             double *hf) {
    double s = 0, s2 = 0, l = 0;
    size_t cnt = 0, lc = 0;
    for (size_t i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < ch; c++) {
                    const uint8_t *p = pix + (((i * h) + y) * w + x) * ch + c;
                    double v = *p;
                    s += v, s2 += v * v, cnt++;
                    if (y > 0 && y < h - 1 && x > 0 && x < w - 1) {
                        double nb = (double)p[-(ptrdiff_t)w * ch] + p[(ptrdiff_t)w * ch] + p[-ch] + p[ch];
                        l += fabs(4 * v - nb) / 4, lc++;
                    }
                }
    double m = cnt ? s / cnt : NAN;
    if (mean) *mean = m;
    if (sd) *sd = cnt ? sqrt(fmax(s2 / cnt - m * m, 0)) : NAN;
    if (hf) *hf = lc ? l / lc : NAN;
}

/* ------------------------------------------------------------------ building the sites */
static int is_identity(const mcr_site_spec *s) {
    return s->gamma == 1 && s->contrast == 1 && s->offset == 0 && s->ramp == 0 && s->blur == 0 && s->noise == 0;
}

/* which[k] = 1 for the table rows named in list (NULL / "" = all) */
static int parse_sites(const char *list, int *which) {
    for (int k = 0; k < NSITES; k++) which[k] = !list || !*list;
    if (!list || !*list) return MCR_OK;
    char buf[256];
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= sizeof buf) len = sizeof buf - 1;
        memcpy(buf, p, len), buf[len] = 0;
        int k = 0;
        while (k < NSITES && strcmp(SITES[k].name, buf)) k++;
        if (k == NSITES) {
            char known[128] = "";
            for (int j = 0; j < NSITES; j++) {
                strcat(known, j ? ", " : "");
                strcat(known, SITES[j].name);
            }
            return mcr_err(MCR_EINVAL, "sites: unknown site '%s' (the table has %s)", buf, known);
        }
        if (which[k]) return mcr_err(MCR_EINVAL, "sites: site '%s' named twice", buf);
        which[k] = 1;
        if (!e) break;
        p = e + 1;
    }
    return MCR_OK;
}

static int scaled(int count, double scale) { return (int)floor(count * scale + 0.5); }

MCR_API int mcr_sites_build(const mcr_imageset *src, const mcr_sites_config *c, mcr_imageset **out,
                            int **truth) {
    *out = NULL;
    if (truth) *truth = NULL;
    mcr_sites_config dc;
    if (!c) mcr_sites_config_default(&dc), c = &dc;
    if (!(c->scale > 0 && c->scale <= 100)) return mcr_err(MCR_EINVAL, "sites: scale %g is not in (0, 100]", c->scale);
    int which[NSITES];
    int rc = parse_sites(c->sites, which);
    if (rc) return rc;
    int nlab = 0;
    for (int k = 0; k < NSITES; k++) nlab += which[k] && !SITES[k].ood;
    if (!nlab) return mcr_err(MCR_EINVAL, "sites: no labelled site among '%s' (the OOD site alone trains nothing)", c->sites);
    if (src->nlabels != 2)
        return mcr_err(MCR_EINVAL, "sites: %s has %d label levels; the sites need a binary label (2 levels)",
                       src->source ? src->source : "the image set", src->nlabels);
    /* counts per (site, split, label) and the pools they are taken from */
    int cnt[NSITES][3][2], need[2] = {0, 0}, total = 0;
    for (int k = 0; k < NSITES; k++) {
        const int ns[3] = {SITES[k].n_train, SITES[k].n_val, SITES[k].n_test};
        for (int j = 0; j < 3; j++) {
            int m = which[k] ? scaled(ns[j], c->scale) : 0, m1 = (int)floor(m * SITES[k].prevalence + 0.5);
            cnt[k][j][1] = m1, cnt[k][j][0] = m - m1;
            need[0] += m - m1, need[1] += m1, total += m;
        }
    }
    size_t *pool[2] = {NULL, NULL}, npool[2] = {0, 0};
    for (int i = 0; i < src->n; i++)
        if (src->label[i] == 0 || src->label[i] == 1) npool[src->label[i]]++;
    for (int l = 0; l < 2; l++)
        if ((size_t)need[l] > npool[l]) {
            double fit = c->scale;
            for (int q = 0; q < 2; q++)
                if (need[q]) fit = fmin(fit, c->scale * (double)npool[q] / need[q]);
            return mcr_err(MCR_EINVAL,
                           "sites: %s has %zu labelled images of label '%s' but the sites need %d (scale %g); "
                           "a smaller scale would fit (about %.2g)",
                           src->source ? src->source : "the image set", npool[l], src->label_names[l], need[l], c->scale,
                           floor(fit * 100) / 100);
        }
    if (total == 0) return mcr_err(MCR_EINVAL, "sites: scale %g leaves no images", c->scale);
    mcr_imageset *s = NULL;
    int *tl = NULL;
    size_t *block = NULL;
    pool[0] = malloc((npool[0] + 1) * sizeof(size_t)), pool[1] = malloc((npool[1] + 1) * sizeof(size_t));
    block = malloc(((size_t)total + 1) * sizeof *block);
    tl = malloc((size_t)total * sizeof *tl);
    if (!pool[0] || !pool[1] || !block || !tl) {
        rc = MCR_NOMEM();
        goto fail;
    }
    npool[0] = npool[1] = 0;
    for (int i = 0; i < src->n; i++)
        if (src->label[i] == 0 || src->label[i] == 1) pool[src->label[i]][npool[src->label[i]]++] = (size_t)i;
    if ((rc = mcr_imageset_alloc(total, src->h, src->w, src->c, &s))) goto fail;
    for (int l = 0; l < 2; l++)
        if ((rc = mcr_imageset_add_level(s, 0, src->label_names[l])) < 0) goto fail;
    for (int k = 0; k < NSITES; k++)
        if (which[k] && (rc = mcr_imageset_add_level(s, 1, SITES[k].name)) < 0) goto fail;
    rc = MCR_OK;
    if (!(s->label_col = mcr_strdup(src->label_col ? src->label_col : "label")) || !(s->attr_col = mcr_strdup("site"))) {
        rc = MCR_NOMEM();
        goto fail;
    }
    mcr_rng r, rn;
    mcr_rng_seed(&r, c->seed, MCR_STREAM_SITES);
    mcr_rng_seed(&rn, c->seed, MCR_STREAM_SITES_NOISE);
    mcr_rng_shuffle(&r, pool[0], npool[0]);
    mcr_rng_shuffle(&r, pool[1], npool[1]);
    size_t plane = (size_t)src->h * src->w * src->c, at[2] = {0, 0};
    int o = 0, level = 0;
    static const char splits[3] = {MCR_SPLIT_TRAIN, MCR_SPLIT_VAL, MCR_SPLIT_TEST};
    for (int k = 0; k < NSITES; k++) {
        if (!which[k]) continue;
        int first = o;
        for (int j = 0; j < 3; j++) {
            size_t m = 0;
            for (int l = 1; l >= 0; l--)
                for (int q = 0; q < cnt[k][j][l]; q++) block[m++] = pool[l][at[l]++];
            mcr_rng_shuffle(&r, block, m);
            for (size_t q = 0; q < m; q++, o++) {
                size_t i = block[q];
                memcpy(s->pix + (size_t)o * plane, src->pix + i * plane, plane);
                tl[o] = src->label[i];
                s->label[o] = SITES[k].ood && splits[j] != MCR_SPLIT_TEST && !c->reveal ? -1 : src->label[i];
                s->attr[o] = level;
                s->split[o] = splits[j];
            }
        }
        if ((rc = mcr_site_apply(&SITES[k], s->pix + (size_t)first * plane, (size_t)(o - first), s->h, s->w, s->c, &rn)))
            goto fail;
        level++;
    }
    free(pool[0]), free(pool[1]), free(block);
    *out = s;
    if (truth) *truth = tl;
    else free(tl);
    return MCR_OK;
fail:
    free(pool[0]), free(pool[1]), free(block), free(tl);
    mcr_imageset_free(s);
    return rc;
}

/* per site (attribute level): images per split, labelled train images, label-1 share of the
 * labelled images, and the pixel statistics of all its images */
MCR_API int mcr_sites_print(const mcr_imageset *s, FILE *f) {
    size_t plane = (size_t)s->h * s->w * s->c;
    uint8_t *px = malloc((size_t)s->n * plane + 1);
    if (!px) return MCR_NOMEM();
    fprintf(f, "%-6s %6s %8s %5s %5s %6s %7s %7s %7s  %s\n", "site", "train", "labelled", "val", "test", "prev",
            "mean", "sd", "hf", "role");
    for (int a = 0; a < s->nattrs; a++) {
        size_t nt = 0, nl = 0, nv = 0, ns = 0, pos = 0, lab = 0, m = 0;
        for (int i = 0; i < s->n; i++) {
            if (s->attr[i] != a) continue;
            nt += s->split[i] == MCR_SPLIT_TRAIN, nv += s->split[i] == MCR_SPLIT_VAL, ns += s->split[i] == MCR_SPLIT_TEST;
            nl += s->split[i] == MCR_SPLIT_TRAIN && s->label[i] >= 0;
            lab += s->label[i] >= 0, pos += s->label[i] == 1;
            memcpy(px + m++ * plane, s->pix + (size_t)i * plane, plane);
        }
        double mean, sd, hf;
        mcr_image_stats(px, m, s->h, s->w, s->c, &mean, &sd, &hf);
        const mcr_site_spec *sp = NULL;
        for (int k = 0; k < NSITES; k++)
            if (!strcmp(SITES[k].name, s->attr_names[a])) sp = &SITES[k];
        fprintf(f, "%-6s %6zu %8zu %5zu %5zu %6.3f %7.2f %7.2f %7.3f  %s\n", s->attr_names[a], nt, nl, nv, ns,
                lab ? (double)pos / lab : NAN, mean, sd, hf, sp ? sp->role : "");
    }
    free(px);
    return ferror(f) ? mcr_err(MCR_EIO, "sites: write error") : MCR_OK;
}

/* ------------------------------------------------------------------ calibration check */
static const mcr_site_spec *spec_named(const char *name) {
    for (int k = 0; k < NSITES; k++)
        if (!strcmp(SITES[k].name, name)) return &SITES[k];
    return NULL;
}

/* accuracy of m on the test images of s whose site kind matches `sel` (0 labelled sites, 1
 * clean site, 2 OOD sites); *nout = images */
static int test_acc(const mcr_cnn *m, const mcr_imageset *s, const int *truth, const int *kind, int sel,
                    double *acc, size_t *nout) {
    size_t plane = (size_t)s->h * s->w * s->c, n = 0;
    for (int i = 0; i < s->n; i++) n += s->split[i] == MCR_SPLIT_TEST && kind[i] & (1 << sel);
    *nout = n;
    *acc = NAN;
    if (!n) return MCR_OK;
    uint8_t *px = calloc(n * plane + 1, 1); /* calloc: gcc cannot see the loop fill it */
    int *y = malloc(n * sizeof *y + 1);
    double *pr = malloc(n * 2 * sizeof *pr);
    int rc = MCR_OK;
    if (!px || !y || !pr) {
        rc = MCR_NOMEM();
        goto done;
    }
    n = 0;
    for (int i = 0; i < s->n; i++)
        if (s->split[i] == MCR_SPLIT_TEST && kind[i] & (1 << sel)) {
            memcpy(px + n * plane, s->pix + (size_t)i * plane, plane);
            y[n++] = truth ? truth[i] : s->label[i];
        }
    if ((rc = mcr_cnn_predict_proba_u8(m, px, n, pr))) goto done;
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) ok += (pr[2 * i + 1] > pr[2 * i]) == (y[i] == 1);
    *acc = (double)ok / n;
done:
    free(px), free(y), free(pr);
    return rc;
}

static int fit_on(const mcr_imageset *s, const int *y, const mcr_cnn_config *cnn, mcr_cnn **m, size_t *nout) {
    size_t plane = (size_t)s->h * s->w * s->c, n = 0;
    for (int i = 0; i < s->n; i++) n += s->split[i] == MCR_SPLIT_TRAIN && y[i] >= 0;
    *nout = n;
    uint8_t *px = malloc(n * plane + 1);
    int *yy = malloc(n * sizeof *yy + 1), rc;
    if (!px || !yy) {
        rc = MCR_NOMEM();
        goto done;
    }
    n = 0;
    for (int i = 0; i < s->n; i++)
        if (s->split[i] == MCR_SPLIT_TRAIN && y[i] >= 0) {
            memcpy(px + n * plane, s->pix + (size_t)i * plane, plane);
            yy[n++] = y[i];
        }
    rc = mcr_cnn_fit_u8(cnn, px, yy, n, s->h, s->w, s->c, 2, m);
done:
    free(px), free(yy);
    return rc;
}

MCR_API int mcr_sites_run_check(const mcr_imageset *s, const int *truth, const mcr_cnn_config *cnn,
                                mcr_sites_check *out) {
    memset(out, 0, sizeof *out);
    if (s->nlabels != 2) return mcr_err(MCR_EINVAL, "sites check: the set has %d label levels, not 2", s->nlabels);
    if (!truth) return mcr_err(MCR_EINVAL, "sites check: the true labels of the OOD site are needed (the oracle)");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* kind bits per image: 1 labelled site, 2 clean site, 4 OOD site */
    int *kind = malloc((size_t)s->n * sizeof *kind + 1), rc = MCR_OK;
    mcr_cnn *base = NULL, *oracle = NULL;
    if (!kind) return MCR_NOMEM();
    for (int i = 0; i < s->n; i++) {
        const mcr_site_spec *sp = s->attr[i] >= 0 ? spec_named(s->attr_names[s->attr[i]]) : NULL;
        if (!sp) {
            rc = mcr_err(MCR_EINVAL, "sites check: image %d has site '%s', not one of the table", i,
                         s->attr[i] >= 0 ? s->attr_names[s->attr[i]] : "(unknown)");
            goto done;
        }
        kind[i] = sp->ood ? 4 : 1 | (is_identity(sp) ? 2 : 0);
    }
    if ((rc = fit_on(s, s->label, cnn, &base, &out->n_base_train))) goto done;
    if ((rc = fit_on(s, truth, cnn, &oracle, &out->n_oracle_train))) goto done;
    if ((rc = test_acc(base, s, truth, kind, 0, &out->base_id, &out->n_id)) ||
        (rc = test_acc(base, s, truth, kind, 1, &out->base_clean, &out->n_clean)) ||
        (rc = test_acc(base, s, truth, kind, 2, &out->base_ood, &out->n_ood)) ||
        (rc = test_acc(oracle, s, truth, kind, 0, &out->oracle_id, &out->n_id)) ||
        (rc = test_acc(oracle, s, truth, kind, 1, &out->oracle_clean, &out->n_clean)) ||
        (rc = test_acc(oracle, s, truth, kind, 2, &out->oracle_ood, &out->n_ood)))
        goto done;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    out->seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
done:
    free(kind);
    mcr_cnn_free(base);
    mcr_cnn_free(oracle);
    return rc;
}

/* ------------------------------------------------------------------ RandAugment */
MCR_API void mcr_randaug_config_default(mcr_randaug_config *c) {
    memset(c, 0, sizeof *c);
    c->n_ops = 2;
    c->magnitude = 5;
    c->ops = MCR_RA_DEFAULT;
    c->seed = 1;
}

/* bilinear sample of channel plane x (stride ch) at (fy, fx), borders replicated */
static float bilinear(const float *x, int h, int w, int ch, double fy, double fx) {
    if (fy < 0) fy = 0;
    if (fy > h - 1) fy = h - 1;
    if (fx < 0) fx = 0;
    if (fx > w - 1) fx = w - 1;
    int y0 = (int)floor(fy), x0 = (int)floor(fx), y1 = y0 + 1 < h ? y0 + 1 : y0, x1 = x0 + 1 < w ? x0 + 1 : x0;
    double ay = fy - y0, ax = fx - x0;
    double v = (1 - ay) * ((1 - ax) * x[((size_t)y0 * w + x0) * ch] + ax * x[((size_t)y0 * w + x1) * ch]) +
               ay * ((1 - ax) * x[((size_t)y1 * w + x0) * ch] + ax * x[((size_t)y1 * w + x1) * ch]);
    return (float)v;
}

/* out = x rotated by angle (radians) about the centre and shifted by (dy, dx) pixels: output
 * pixel p reads the input at R^-1 (p - c - d) + c */
static void warp(const float *x, float *o, int h, int w, int ch, double angle, double dy, double dx) {
    double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0, co = cos(angle), si = sin(angle);
    for (int y = 0; y < h; y++)
        for (int xx = 0; xx < w; xx++) {
            double py = y - cy - dy, px = xx - cx - dx;
            double sy = co * py - si * px + cy, sx = si * py + co * px + cx;
            for (int c = 0; c < ch; c++) o[((size_t)y * w + xx) * ch + c] = bilinear(x + c, h, w, ch, sy, sx);
        }
}

static void randaug_one(const mcr_randaug_config *c, const int *ops, int nops, float *x, float *tmp, float *t2,
                        int h, int w, int ch, mcr_rng *r) {
    size_t plane = (size_t)h * w * ch;
    double m = c->magnitude / 10;
    for (int k = 0; k < c->n_ops; k++) {
        int op = ops[mcr_rng_below(r, (uint64_t)nops)];
        double sign = mcr_rng_uniform(r) < 0.5 ? -1 : 1;
        if (m == 0) continue; /* M = 0: the identity (draws made all the same) */
        switch (op) {
        case MCR_RA_ROTATE:
        case MCR_RA_SHIFT_X:
        case MCR_RA_SHIFT_Y:
            warp(x, tmp, h, w, ch, op == MCR_RA_ROTATE ? sign * m * 15 * M_PI / 180 : 0,
                 op == MCR_RA_SHIFT_Y ? sign * 0.1 * m * h : 0, op == MCR_RA_SHIFT_X ? sign * 0.1 * m * w : 0);
            memcpy(x, tmp, plane * sizeof *x);
            break;
        case MCR_RA_CONTRAST: {
            double mean = 0;
            for (size_t j = 0; j < plane; j++) mean += x[j];
            mean /= plane;
            double f = 1 + sign * 0.5 * m;
            for (size_t j = 0; j < plane; j++) x[j] = (float)(mean + f * (x[j] - mean));
            break;
        }
        case MCR_RA_GAMMA: {
            double g = pow(1.6, sign * m);
            for (size_t j = 0; j < plane; j++) {
                double v = x[j] / 255.0;
                x[j] = (float)(255 * (v > 0 ? pow(v > 1 ? 1 : v, g) : 0));
            }
            break;
        }
        case MCR_RA_BRIGHTNESS:
            for (size_t j = 0; j < plane; j++) x[j] += (float)(sign * 40 * m);
            break;
        case MCR_RA_BLUR:
            for (int cc = 0; cc < ch; cc++) blur_plane(x + cc, t2, h, w, ch, 1.2 * m);
            break;
        case MCR_RA_NOISE:
            for (size_t j = 0; j < plane; j++) x[j] += (float)(16 * m * mcr_rng_normal(r));
            break;
        case MCR_RA_FLIP:
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < w / 2; xx++)
                    for (int cc = 0; cc < ch; cc++) {
                        float *a = &x[((size_t)y * w + xx) * ch + cc], *b = &x[((size_t)y * w + (w - 1 - xx)) * ch + cc];
                        float t = *a;
                        *a = *b, *b = t;
                    }
            break;
        }
        /* keep the range of an 8-bit image between operations */
        for (size_t j = 0; j < plane; j++) x[j] = x[j] < 0 ? 0 : x[j] > 255 ? 255 : x[j];
    }
}

MCR_API int mcr_randaugment(const mcr_randaug_config *c, const uint8_t *in, uint8_t *out, size_t n, size_t first,
                            int h, int w, int ch) {
    if (!c || c->n_ops < 0 || c->n_ops > 100)
        return mcr_err(MCR_EINVAL, "randaugment: n_ops %d is not in [0, 100]", c ? c->n_ops : -1);
    if (!(c->magnitude >= 0 && c->magnitude <= 10))
        return mcr_err(MCR_EINVAL, "randaugment: magnitude %g is not in [0, 10]", c->magnitude);
    if (h < 1 || w < 1 || (ch != 1 && ch != 3))
        return mcr_err(MCR_EINVAL, "randaugment: images of %dx%dx%d: invalid size", h, w, ch);
    int ops[16], nops = 0;
    for (int b = 0; b < 9; b++)
        if (c->ops & (1u << b)) ops[nops++] = 1 << b;
    if (c->ops & ~0x1ffu) return mcr_err(MCR_EINVAL, "randaugment: unknown operation bits 0x%x", c->ops & ~0x1ffu);
    if (!nops && c->n_ops > 0) return mcr_err(MCR_EINVAL, "randaugment: no operation enabled (ops = 0)");
    size_t plane = (size_t)h * w * ch;
    int rc = MCR_OK;
#pragma omp parallel reduction(min : rc)
    {
        float *x = malloc(plane * sizeof *x), *tmp = malloc(plane * sizeof *tmp), *t2 = malloc((size_t)h * w * sizeof *t2);
        if (!x || !tmp || !t2) rc = MCR_ENOMEM;
#pragma omp for schedule(static)
        for (size_t i = 0; i < n; i++) {
            if (!x || !tmp || !t2) continue; /* every thread meets the loop */
            {
                mcr_rng r;
                mcr_rng_seed(&r, c->seed, MCR_STREAM_RANDAUG + first + i);
                for (size_t j = 0; j < plane; j++) x[j] = in[i * plane + j];
                if (nops) randaug_one(c, ops, nops, x, tmp, t2, h, w, ch, &r);
                for (size_t j = 0; j < plane; j++) out[i * plane + j] = to_u8(x[j]);
            }
        }
        free(x), free(tmp), free(t2);
    }
    return rc == MCR_ENOMEM ? MCR_NOMEM() : MCR_OK;
}

MCR_API int mcr_imageset_randaugment(const mcr_imageset *s, const mcr_randaug_config *c, int copies, char split,
                                     mcr_imageset **out) {
    *out = NULL;
    if (copies < 1 || copies > 1000) return mcr_err(MCR_EINVAL, "randaugment: copies %d is not in [1, 1000]", copies);
    size_t n = 0, plane = (size_t)s->h * s->w * s->c;
    for (int i = 0; i < s->n; i++) n += !split || s->split[i] == split;
    if ((size_t)copies * n > INT_MAX) return mcr_err(MCR_EINVAL, "randaugment: %zu x %d images is too many", n, copies);
    mcr_imageset *o = NULL;
    int rc = mcr_imageset_alloc((int)(n * copies), s->h, s->w, s->c, &o);
    for (int k = 0; k < s->nlabels && !rc; k++) rc = mcr_imageset_add_level(o, 0, s->label_names[k]) < 0 ? MCR_ENOMEM : 0;
    for (int k = 0; k < s->nattrs && !rc; k++) rc = mcr_imageset_add_level(o, 1, s->attr_names[k]) < 0 ? MCR_ENOMEM : 0;
    if (!rc && ((s->label_col && !(o->label_col = mcr_strdup(s->label_col))) ||
                (s->attr_col && !(o->attr_col = mcr_strdup(s->attr_col)))))
        rc = MCR_NOMEM();
    if (rc) {
        mcr_imageset_free(o);
        return rc == MCR_ENOMEM ? MCR_NOMEM() : rc;
    }
    /* copy r of image i is image r * n + i of the output, augmented from stream r * n + i */
    size_t q = 0;
    for (int r = 0; r < copies; r++)
        for (int i = 0; i < s->n; i++) {
            if (split && s->split[i] != split) continue;
            memcpy(o->pix + q * plane, s->pix + (size_t)i * plane, plane);
            o->label[q] = s->label[i], o->attr[q] = s->attr[i], o->split[q] = s->split[i];
            q++;
        }
    if ((rc = mcr_randaugment(c, o->pix, o->pix, q, 0, s->h, s->w, s->c))) {
        mcr_imageset_free(o);
        return rc;
    }
    *out = o;
    return MCR_OK;
}
