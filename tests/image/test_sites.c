/* test_sites.c — the multi-site benchmark and RandAugment (src/image/sites.c):
 *   - the construction is deterministic (same seed: the same set and the same .npz bytes; another
 *     seed: other images), counts per site x split x label are the table's, the OOD site has no
 *     labelled train / val image and a labelled test split, the .npz reads back with the site as
 *     attribute and the unlabelled images as -1;
 *   - the shifts are measurable: on flat grey images each site's mean is the table's intensity
 *     map of the grey level and its sd the table's noise; on a checkerboard without noise a
 *     site's blur lowers the Laplacian statistic hf;
 *   - bad input: an unknown or repeated site, no labelled site, a source too small, a source
 *     without 2 label levels, a bad scale, a check without the true labels;
 *   - RandAugment: M = 0 is the identity (every op, flip included), each op alone has its
 *     effect (shift / rotation move pixels, contrast changes the sd, gamma and brightness the
 *     mean, blur lowers hf, noise raises it, flip mirrors), the same seed gives the same bytes
 *     whatever the batching and threads, bad settings are refused;
 *   - on PneumoniaMNIST when present: the full table's counts and byte-identical files. */
#include "image/image.h"
#include "testhelp.h"
#include <math.h>
#include <omp.h>
#include <string.h>
#include <unistd.h>

/* n images of h x w, labels alternating 0 / 1, pixel = f(i, y, x) */
static mcr_imageset *make_set(int n, int h, int w, int nlabels, int kind) {
    mcr_imageset *s;
    if (mcr_imageset_alloc(n, h, w, 1, &s)) return NULL;
    for (int k = 0; k < nlabels; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "%d", k);
        mcr_imageset_add_level(s, 0, nm);
    }
    for (int i = 0; i < n; i++) {
        s->label[i] = i % nlabels;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                s->pix[((size_t)i * h + y) * w + x] =
                    kind == 0 ? 128 : (uint8_t)(60 + 100 * ((x + y) & 1) + (i % 7) + (s->label[i] ? 20 * (x < w / 2) : 0));
    }
    return s;
}

static int same_set(const mcr_imageset *a, const mcr_imageset *b) {
    if (a->n != b->n || a->h != b->h || a->w != b->w || a->c != b->c || a->nattrs != b->nattrs) return 0;
    size_t plane = (size_t)a->h * a->w * a->c;
    return !memcmp(a->pix, b->pix, (size_t)a->n * plane) && !memcmp(a->label, b->label, a->n * sizeof(int)) &&
           !memcmp(a->attr, b->attr, a->n * sizeof(int)) && !memcmp(a->split, b->split, (size_t)a->n);
}

/* the same images of each split in the same order (the .npz stores the splits one after another) */
static int same_by_split(const mcr_imageset *a, const mcr_imageset *b) {
    if (a->n != b->n || a->h != b->h || a->w != b->w || a->c != b->c || a->nattrs != b->nattrs) return 0;
    size_t plane = (size_t)a->h * a->w * a->c;
    static const char sp[3] = {MCR_SPLIT_TRAIN, MCR_SPLIT_VAL, MCR_SPLIT_TEST};
    for (int j = 0; j < 3; j++)
        for (int i = 0, k = 0;; i++, k++) {
            while (i < a->n && a->split[i] != sp[j]) i++;
            while (k < b->n && b->split[k] != sp[j]) k++;
            if (i == a->n || k == b->n) {
                if (i != a->n || k != b->n) return 0;
                break;
            }
            if (memcmp(a->pix + i * plane, b->pix + k * plane, plane) || a->label[i] != b->label[k] ||
                a->attr[i] != b->attr[k])
                return 0;
        }
    return 1;
}

static int file_equal(const char *p, const char *q) {
    unsigned char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    int eq = !mcr_file_read(p, &a, &na) && !mcr_file_read(q, &b, &nb) && na == nb && !memcmp(a, b, na);
    free(a), free(b);
    return eq;
}

static const mcr_site_spec *spec_of(const mcr_imageset *s, int a) {
    for (int k = 0; k < mcr_sites_count(); k++)
        if (!strcmp(mcr_sites_spec(k)->name, s->attr_names[a])) return mcr_sites_spec(k);
    return NULL;
}

static void test_sites_deterministic(void) {
    mcr_imageset *src = make_set(400, 12, 10, 2, 1), *a = NULL, *b = NULL, *c = NULL, *r = NULL;
    int *ta = NULL, *tb = NULL;
    mcr_sites_config cfg;
    mcr_sites_config_default(&cfg);
    cfg.scale = 0.1;
    cfg.seed = 7;
    CHECK(src && !mcr_sites_build(src, &cfg, &a, &ta), "%s", mcr_last_error());
    CHECK(!mcr_sites_build(src, &cfg, &b, &tb), "%s", mcr_last_error());
    if (!a || !b) goto done;
    CHECK(same_set(a, b) && !memcmp(ta, tb, a->n * sizeof(int)), "same seed, another set");
    cfg.seed = 8;
    CHECK(!mcr_sites_build(src, &cfg, &c, NULL), "%s", mcr_last_error());
    CHECK(c && !same_set(a, c), "another seed gave the same set");
    char dir[] = "/tmp/test_sites_XXXXXX", p1[64], p2[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(p1, sizeof p1, "%s/a.npz", dir), snprintf(p2, sizeof p2, "%s/b.npz", dir);
    CHECK(!mcr_imageset_write_npz(a, p1) && !mcr_imageset_write_npz(b, p2), "%s", mcr_last_error());
    CHECK(file_equal(p1, p2), "same seed, other .npz bytes");
    CHECK(!mcr_imageset_read(p1, &r), "%s", mcr_last_error());
    if (r) {
        CHECK(same_by_split(a, r), "the .npz read back differs (pixels, labels -1, sites, splits)");
        CHECK(r->nattrs == 4 && !strcmp(r->attr_names[0], "A") && !strcmp(r->attr_names[3], "D"), "site names");
    }
    unlink(p1), unlink(p2), rmdir(dir);
done:
    mcr_imageset_free(src), mcr_imageset_free(a), mcr_imageset_free(b), mcr_imageset_free(c), mcr_imageset_free(r);
    free(ta), free(tb);
}

static void test_sites_counts(void) {
    mcr_imageset *src = make_set(500, 8, 8, 2, 1), *s = NULL;
    int *truth = NULL;
    mcr_sites_config cfg;
    mcr_sites_config_default(&cfg);
    cfg.scale = 0.15;
    CHECK(!mcr_sites_build(src, &cfg, &s, &truth), "%s", mcr_last_error());
    if (!s) goto done;
    CHECK(s->nattrs == mcr_sites_count(), "%d sites", s->nattrs);
    for (int a = 0; a < s->nattrs; a++) {
        const mcr_site_spec *sp = spec_of(s, a);
        CHECK(sp != NULL, "site %s not in the table", s->attr_names[a]);
        if (!sp) continue;
        const int want[3] = {sp->n_train, sp->n_val, sp->n_test};
        const char sp3[3] = {MCR_SPLIT_TRAIN, MCR_SPLIT_VAL, MCR_SPLIT_TEST};
        for (int j = 0; j < 3; j++) {
            int n = 0, n1 = 0, lab = 0, m = (int)floor(want[j] * cfg.scale + 0.5);
            for (int i = 0; i < s->n; i++)
                if (s->attr[i] == a && s->split[i] == sp3[j]) {
                    n++, n1 += truth[i] == 1, lab += s->label[i] >= 0;
                    CHECK(s->label[i] < 0 || s->label[i] == truth[i], "a label changed");
                }
            CHECK(n == m, "site %s split %c: %d images, want %d", sp->name, sp3[j], n, m);
            CHECK(n1 == (int)floor(m * sp->prevalence + 0.5), "site %s split %c: %d of label 1", sp->name, sp3[j], n1);
            if (sp->ood && sp3[j] != MCR_SPLIT_TEST) CHECK(lab == 0, "OOD site %s: %d labelled %c images", sp->name, lab, sp3[j]);
            else CHECK(lab == n, "site %s split %c: %d of %d labelled", sp->name, sp3[j], lab, n);
        }
    }
    /* the oracle's set: the same images and order, every label known */
    mcr_imageset *o = NULL;
    cfg.reveal = 1;
    CHECK(!mcr_sites_build(src, &cfg, &o, NULL), "%s", mcr_last_error());
    if (o) {
        CHECK(o->n == s->n && !memcmp(o->pix, s->pix, (size_t)s->n * 64) && !memcmp(o->attr, s->attr, s->n * sizeof(int)),
              "reveal changed the images");
        CHECK(!memcmp(o->label, truth, s->n * sizeof(int)), "reveal: labels are not the true ones");
    }
    mcr_imageset_free(o);
    cfg.reveal = 0;
    /* a subset: A and D only */
    mcr_imageset *t = NULL;
    cfg.sites = "D,A";
    CHECK(!mcr_sites_build(src, &cfg, &t, NULL), "%s", mcr_last_error());
    CHECK(t && t->nattrs == 2 && !strcmp(t->attr_names[0], "A") && !strcmp(t->attr_names[1], "D"), "subset in table order");
    mcr_imageset_free(t);
    /* 1 x 1 images through every site (blur, ramp over one column): no fault */
    mcr_imageset *one = make_set(400, 1, 1, 2, 1), *t1 = NULL;
    cfg.sites = NULL, cfg.scale = 0.1;
    CHECK(one && !mcr_sites_build(one, &cfg, &t1, NULL), "1x1: %s", mcr_last_error());
    mcr_imageset_free(one), mcr_imageset_free(t1);
done:
    mcr_imageset_free(src), mcr_imageset_free(s);
    free(truth);
}

/* the table's intensity map of grey level v (no clipping at 128) */
static double mapped(const mcr_site_spec *sp, double v) {
    return 255 * (0.5 + sp->contrast * (pow(v / 255, sp->gamma) - 0.5)) + sp->offset;
}

static void test_sites_shifts(void) {
    mcr_imageset *src = make_set(500, 10, 10, 2, 0), *s = NULL;
    mcr_sites_config cfg;
    mcr_sites_config_default(&cfg);
    cfg.scale = 0.15;
    CHECK(!mcr_sites_build(src, &cfg, &s, NULL), "%s", mcr_last_error());
    if (!s) goto done;
    size_t plane = 100;
    uint8_t *px = malloc((size_t)s->n * plane);
    double sd_prev_noise = -1, hf_a = -1;
    for (int a = 0; a < s->nattrs; a++) {
        const mcr_site_spec *sp = spec_of(s, a);
        size_t m = 0;
        for (int i = 0; i < s->n; i++)
            if (s->attr[i] == a) memcpy(px + m++ * plane, s->pix + (size_t)i * plane, plane);
        double mean, sd, hf;
        mcr_image_stats(px, m, 10, 10, 1, &mean, &sd, &hf);
        printf("  site %s: mean %.2f (table %.2f) sd %.2f (noise %.1f) hf %.3f\n", sp->name, mean, mapped(sp, 128), sd,
               sp->noise, hf);
        CHECK(fabs(mean - mapped(sp, 128)) < 0.6, "site %s: mean %.2f, table %.2f", sp->name, mean, mapped(sp, 128));
        /* the ramp over 10 columns adds its own variance to the noise's */
        double vr = 0;
        for (int x = 0; x < 10; x++) vr += pow(sp->ramp * (x / 9.0 - 0.5), 2) / 10;
        double want_sd = sqrt(sp->noise * sp->noise + vr);
        CHECK(fabs(sd - want_sd) < 0.1 * want_sd + 0.35, "site %s: sd %.2f, want %.2f", sp->name, sd, want_sd);
        CHECK((hf > 0.5) == (sp->noise > 0), "site %s: hf %.3f with noise %.1f", sp->name, hf, sp->noise);
        if (!strcmp(sp->name, "A")) hf_a = hf;
        (void)sd_prev_noise;
    }
    CHECK(hf_a == 0, "the clean site changed flat images (hf %.3f)", hf_a);
    /* blur: a checkerboard through each site's acquisition without its noise, hf against the
     * same acquisition without blur */
    mcr_imageset *cb = make_set(4, 10, 10, 2, 1);
    for (int k = 0; k < mcr_sites_count(); k++) {
        mcr_site_spec sp = *mcr_sites_spec(k), sp0;
        sp.noise = 0, sp0 = sp, sp0.blur = 0;
        uint8_t b1[400], b0[400];
        memcpy(b1, cb->pix, 400), memcpy(b0, cb->pix, 400);
        mcr_rng r;
        mcr_rng_seed(&r, 1, 0);
        CHECK(!mcr_site_apply(&sp, b1, 4, 10, 10, 1, &r) && !mcr_site_apply(&sp0, b0, 4, 10, 10, 1, &r), "apply");
        double h1, h0;
        mcr_image_stats(b1, 4, 10, 10, 1, NULL, NULL, &h1);
        mcr_image_stats(b0, 4, 10, 10, 1, NULL, NULL, &h0);
        /* a separable kernel k damps the checkerboard by (sum_i (-1)^i k_i)^2 */
        double f = 0, ks = 0;
        for (int i = -3; i <= 3 && sp.blur > 0; i++) {
            double kk = exp(-0.5 * i * i / (sp.blur * sp.blur));
            ks += kk, f += (i & 1 ? -kk : kk);
        }
        f = sp.blur > 0 ? (f / ks) * (f / ks) : 1;
        if (sp.blur > 0)
            CHECK(h1 < h0 * (1 - 0.5 * (1 - f)), "site %s: blur %.1f, hf %.2f vs %.2f unblurred (damping %.3f)", sp.name,
                  sp.blur, h1, h0, f);
        else CHECK(h1 == h0, "site %s: no blur, hf %.2f vs %.2f", sp.name, h1, h0);
    }
    mcr_imageset_free(cb);
    free(px);
done:
    mcr_imageset_free(src), mcr_imageset_free(s);
}

static void test_sites_bad_input(void) {
    mcr_imageset *src = make_set(400, 8, 8, 2, 1), *tri = make_set(400, 8, 8, 3, 1), *s = NULL;
    mcr_sites_config cfg;
    mcr_sites_config_default(&cfg);
    cfg.scale = 0.1;
    static const struct {
        const char *sites;
        double scale;
        int three;
        const char *msg;
    } cases[] = {
        {"A,Z", 0.1, 0, "unknown site 'Z' (the table has A, B, C, D)"},
        {"A,B,A", 0.1, 0, "site 'A' named twice"},
        {"D", 0.1, 0, "no labelled site"},
        {NULL, 1.0, 0, "need"},
        {NULL, 1.0, 0, "a smaller scale would fit"},
        {NULL, 0.1, 1, "3 label levels"},
        {NULL, 0, 0, "scale 0 is not in (0, 100]"},
        {NULL, 0.0001, 0, "leaves no images"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        cfg.sites = cases[k].sites, cfg.scale = cases[k].scale;
        int rc = mcr_sites_build(cases[k].three ? tri : src, &cfg, &s, NULL);
        CHECK(rc == MCR_EINVAL && !s && strstr(mcr_last_error(), cases[k].msg), "case %zu: rc %d, '%s'", k, rc,
              mcr_last_error());
        mcr_imageset_free(s), s = NULL;
    }
    cfg.sites = NULL, cfg.scale = 0.1;
    CHECK(!mcr_sites_build(src, &cfg, &s, NULL), "%s", mcr_last_error());
    mcr_sites_check ck;
    mcr_cnn_config cc;
    mcr_cnn_config_default(&cc);
    CHECK(s && mcr_sites_run_check(s, NULL, &cc, &ck) == MCR_EINVAL && strstr(mcr_last_error(), "true labels"),
          "check without truth: '%s'", mcr_last_error());
    mcr_imageset_free(s), mcr_imageset_free(src), mcr_imageset_free(tri);
}

/* ------------------------------------------------------------------ RandAugment */
enum { RN = 6, RH = 16, RW = 14 };
static void ra_images(uint8_t *p, int flat) {
    for (int i = 0; i < RN; i++)
        for (int y = 0; y < RH; y++)
            for (int x = 0; x < RW; x++)
                p[(i * RH + y) * RW + x] = flat ? 128 : (uint8_t)(80 + 5 * x + 2 * y + 30 * ((x / 2 + y / 2) & 1) + i);
}

static void test_randaug_identity(void) {
    uint8_t in[RN * RH * RW], out[RN * RH * RW];
    ra_images(in, 0);
    mcr_randaug_config c;
    mcr_randaug_config_default(&c);
    c.magnitude = 0, c.n_ops = 4, c.ops = MCR_RA_DEFAULT | MCR_RA_FLIP;
    CHECK(!mcr_randaugment(&c, in, out, RN, 0, RH, RW, 1), "%s", mcr_last_error());
    CHECK(!memcmp(in, out, sizeof in), "M = 0 changed the images");
    c.magnitude = 5, c.n_ops = 0;
    CHECK(!mcr_randaugment(&c, in, out, RN, 0, RH, RW, 1) && !memcmp(in, out, sizeof in), "N = 0 changed the images");
}

static void test_randaug_ops(void) {
    uint8_t in[RN * RH * RW], flat[RN * RH * RW], out[RN * RH * RW];
    ra_images(in, 0), ra_images(flat, 1);
    double m0, s0, h0, fm, fs, fh;
    mcr_image_stats(in, RN, RH, RW, 1, &m0, &s0, &h0);
    mcr_image_stats(flat, RN, RH, RW, 1, &fm, &fs, &fh);
    mcr_randaug_config c;
    mcr_randaug_config_default(&c);
    c.n_ops = 1, c.magnitude = 10;
    static const unsigned ops[] = {MCR_RA_ROTATE, MCR_RA_SHIFT_X, MCR_RA_SHIFT_Y, MCR_RA_CONTRAST, MCR_RA_GAMMA,
                                   MCR_RA_BRIGHTNESS, MCR_RA_BLUR, MCR_RA_NOISE, MCR_RA_FLIP};
    static const char *names[] = {"rotate", "shift x", "shift y", "contrast", "gamma", "brightness", "blur", "noise", "flip"};
    for (int k = 0; k < 9; k++) {
        c.ops = ops[k];
        int on_flat = ops[k] == MCR_RA_NOISE;
        CHECK(!mcr_randaugment(&c, on_flat ? flat : in, out, RN, 0, RH, RW, 1), "%s", mcr_last_error());
        double m, s, h;
        mcr_image_stats(out, RN, RH, RW, 1, &m, &s, &h);
        size_t changed = 0;
        for (size_t j = 0; j < sizeof in; j++) changed += out[j] != (on_flat ? flat : in)[j];
        printf("  %-10s mean %6.2f (%6.2f) sd %6.2f (%6.2f) hf %6.2f (%6.2f) changed %zu\n", names[k], m, m0, s, s0, h,
               on_flat ? fh : h0, changed);
        CHECK(changed > sizeof in / 4, "%s changed only %zu pixels", names[k], changed);
        switch (ops[k]) {
        case MCR_RA_CONTRAST: /* each image's sd times 0.5 or 1.5 (less where 1.5 clips) */
            for (int i = 0; i < RN; i++) {
                double si, si0;
                mcr_image_stats(out + i * RH * RW, 1, RH, RW, 1, NULL, &si, NULL);
                mcr_image_stats(in + i * RH * RW, 1, RH, RW, 1, NULL, &si0, NULL);
                CHECK(fabs(si / si0 - 0.5) < 0.02 || (si / si0 > 1.2 && si / si0 < 1.51), "contrast: image %d sd %.2f vs %.2f",
                      i, si, si0);
            }
            break;
        case MCR_RA_GAMMA: CHECK(fabs(m - m0) > 10, "gamma: mean %.2f vs %.2f", m, m0); break;
        case MCR_RA_BRIGHTNESS: {
            /* every image moved by exactly +-40 (no clipping for these values) */
            for (int i = 0; i < RN; i++) {
                int dv = out[i * RH * RW] - in[i * RH * RW];
                CHECK(dv == 40 || dv == -40, "brightness: image %d moved by %d", i, dv);
            }
            break;
        }
        case MCR_RA_BLUR: CHECK(h < 0.6 * h0, "blur: hf %.2f vs %.2f", h, h0); break;
        case MCR_RA_NOISE: CHECK(fabs(s - 16) < 2 && h > 5, "noise: sd %.2f (want 16), hf %.2f", s, h); break;
        case MCR_RA_FLIP:
            for (int y = 0; y < RH; y++)
                for (int x = 0; x < RW; x++) CHECK(out[y * RW + x] == in[y * RW + RW - 1 - x], "flip at %d,%d", y, x);
            break;
        default: CHECK(fabs(m - m0) < 12, "%s moved the mean from %.2f to %.2f", names[k], m0, m); break;
        }
    }
}

static void test_randaug_deterministic(void) {
    enum { N = 40 };
    uint8_t in[N * RH * RW], a[N * RH * RW], b[N * RH * RW], d[N * RH * RW];
    for (size_t j = 0; j < sizeof in; j++) in[j] = (uint8_t)(60 + (j * 37 + j / (RH * RW) * 11) % 140); /* all differ */
    mcr_randaug_config c;
    mcr_randaug_config_default(&c);
    c.n_ops = 3, c.magnitude = 7, c.seed = 11;
    int old = omp_get_max_threads();
    omp_set_num_threads(1);
    CHECK(!mcr_randaugment(&c, in, a, N, 0, RH, RW, 1), "%s", mcr_last_error());
    omp_set_num_threads(2);
    CHECK(!mcr_randaugment(&c, in, b, N, 0, RH, RW, 1), "%s", mcr_last_error());
    omp_set_num_threads(old);
    CHECK(!memcmp(a, b, sizeof a), "1 vs 2 threads differ");
    /* images 10..39 as a batch of their own, numbered from 10 */
    memcpy(d, in, sizeof in);
    CHECK(!mcr_randaugment(&c, d + 10 * RH * RW, d + 10 * RH * RW, N - 10, 10, RH, RW, 1), "%s", mcr_last_error());
    CHECK(!memcmp(a + 10 * RH * RW, d + 10 * RH * RW, (N - 10) * RH * RW), "a batch from 10 (in place) differs");
    c.seed = 12;
    CHECK(!mcr_randaugment(&c, in, b, N, 0, RH, RW, 1) && memcmp(a, b, sizeof a), "another seed, the same images");
    /* bad settings */
    c.magnitude = 11;
    CHECK(mcr_randaugment(&c, in, b, N, 0, RH, RW, 1) == MCR_EINVAL && strstr(mcr_last_error(), "magnitude 11"), "M 11");
    c.magnitude = 5, c.ops = 0;
    CHECK(mcr_randaugment(&c, in, b, N, 0, RH, RW, 1) == MCR_EINVAL && strstr(mcr_last_error(), "no operation"), "ops 0");
    c.ops = MCR_RA_DEFAULT, c.n_ops = -1;
    CHECK(mcr_randaugment(&c, in, b, N, 0, RH, RW, 1) == MCR_EINVAL && strstr(mcr_last_error(), "n_ops -1"), "n_ops");
    c.n_ops = 2;
    CHECK(mcr_randaugment(&c, in, b, N, 0, RH, RW, 2) == MCR_EINVAL, "2 channels");
    /* degenerate sizes (1 x 1, 1 x 7, 5 x 1, RGB) with every operation: no fault (ASan/UBSan) */
    c.n_ops = 6, c.magnitude = 10, c.ops = MCR_RA_DEFAULT | MCR_RA_FLIP;
    static const int sz[4][3] = {{1, 1, 1}, {1, 7, 1}, {5, 1, 1}, {3, 4, 3}};
    for (int k = 0; k < 4; k++)
        CHECK(!mcr_randaugment(&c, in, b, 5, 0, sz[k][0], sz[k][1], sz[k][2]), "%dx%dx%d: %s", sz[k][0], sz[k][1],
              sz[k][2], mcr_last_error());
}

/* the set version: copies of the train images, labels and sites kept, the same pixels as
 * mcr_randaugment on the copies laid end to end */
static void test_randaug_set(void) {
    mcr_imageset *src = make_set(12, 8, 8, 2, 1), *o = NULL;
    for (int i = 0; i < 12; i++) src->split[i] = i % 3 ? MCR_SPLIT_TRAIN : MCR_SPLIT_TEST;
    mcr_randaug_config c;
    mcr_randaug_config_default(&c);
    c.magnitude = 6;
    CHECK(!mcr_imageset_randaugment(src, &c, 3, MCR_SPLIT_TRAIN, &o), "%s", mcr_last_error());
    if (!o) goto done;
    CHECK(o->n == 24 && o->nlabels == 2, "%d images", o->n);
    uint8_t want[24 * 64];
    for (int r = 0, q = 0; r < 3; r++)
        for (int i = 0; i < 12; i++)
            if (i % 3) {
                memcpy(want + q * 64, src->pix + i * 64, 64);
                CHECK(o->label[q] == src->label[i] && o->split[q] == MCR_SPLIT_TRAIN, "image %d", q);
                q++;
            }
    CHECK(!mcr_randaugment(&c, want, want, 24, 0, 8, 8, 1) && !memcmp(want, o->pix, sizeof want), "pixels");
    mcr_imageset *z = NULL;
    CHECK(mcr_imageset_randaugment(src, &c, 0, 0, &z) == MCR_EINVAL && !z, "0 copies");
done:
    mcr_imageset_free(src), mcr_imageset_free(o);
}

/* PneumoniaMNIST: the whole table, counts and bytes */
static void test_sites_pneumonia(void) {
    const char *dir = getenv("MCR_DATA");
    char path[512];
    snprintf(path, sizeof path, "%s/images/pneumoniamnist.npz", dir ? dir : "../shared/datasets");
    if (access(path, R_OK)) SKIP("PneumoniaMNIST (%s absent)", path);
    mcr_imageset *src = NULL, *a = NULL, *b = NULL;
    CHECK(!mcr_imageset_read(path, &src), "%s", mcr_last_error());
    if (!src) return;
    CHECK(!mcr_sites_build(src, NULL, &a, NULL) && !mcr_sites_build(src, NULL, &b, NULL), "%s", mcr_last_error());
    if (a && b) {
        int want = 0;
        for (int k = 0; k < mcr_sites_count(); k++)
            want += mcr_sites_spec(k)->n_train + mcr_sites_spec(k)->n_val + mcr_sites_spec(k)->n_test;
        CHECK(a->n == want, "%d images, the table says %d", a->n, want);
        CHECK(same_set(a, b), "same seed, another set");
    }
    mcr_imageset_free(src), mcr_imageset_free(a), mcr_imageset_free(b);
}

int main(void) {
    TEST(test_sites_deterministic);
    TEST(test_sites_counts);
    TEST(test_sites_shifts);
    TEST(test_sites_bad_input);
    TEST(test_randaug_identity);
    TEST(test_randaug_ops);
    TEST(test_randaug_deterministic);
    TEST(test_randaug_set);
    TEST(test_sites_pneumonia);
    return DONE();
}
