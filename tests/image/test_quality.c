/* test_quality.c — the quality protocol (src/image/quality.c) on sets with a known answer:
 * 12 x 12 grey images with a bright 3 x 3 square in the left (label "0") or right ("1") half.
 *   - synthetic = fresh draws of the same process: the real-trained CNN recognises their
 *     labels, TSTR works, the detector cannot tell (AUROC near 0.5), histograms close;
 *   - synthetic = the same draws with the labels swapped: accuracy on them near 0;
 *   - synthetic = flat grey images: the detector tells them apart (AUROC near 1), TV near 1;
 * the histogram distances against a hand computation; bad inputs give MCR_EINVAL. */
#include "image/image.h"
#include "testhelp.h"

enum { S = 12 };

/* n images of the square process (labels by `flip` swapped), split train for the first ntr */
static mcr_imageset *squares(int n, int ntr, uint64_t seed, int flip, int flat) {
    mcr_imageset *s = NULL;
    if (mcr_imageset_alloc(n, S, S, 1, &s)) return NULL;
    mcr_imageset_add_level(s, 0, "0");
    mcr_imageset_add_level(s, 0, "1");
    mcr_rng r;
    mcr_rng_seed(&r, seed, 0);
    for (int i = 0; i < n; i++) {
        uint8_t *im = s->pix + (size_t)i * S * S;
        int y = (int)mcr_rng_below(&r, 2);
        for (int k = 0; k < S * S; k++) im[k] = flat ? 60 : (uint8_t)(40 + mcr_rng_below(&r, 40));
        if (!flat) {
            int oy = (int)mcr_rng_below(&r, S - 2), ox = (int)mcr_rng_below(&r, S / 2 - 2) + (y ? S / 2 : 0);
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) im[(oy + a) * S + ox + b] = 220;
        }
        s->label[i] = flip ? 1 - y : y;
        s->split[i] = i < ntr ? MCR_SPLIT_TRAIN : MCR_SPLIT_TEST;
    }
    return s;
}

static void config(mcr_iquality_config *c) {
    mcr_iquality_config_default(c);
    c->cnn.nstages = 2;
    c->cnn.widths[0] = 8, c->cnn.widths[1] = 16;
    c->cnn.groups = 4;
    c->cnn.batch = 32;
    c->cnn.epochs = 4;
    c->cnn.lr = 3e-3f;
}

static void test_quality_same_process(void) {
    mcr_imageset *real = squares(192, 120, 1, 0, 0), *syn = squares(120, 120, 2, 0, 0);
    mcr_iquality_config c;
    config(&c);
    mcr_iquality *q = NULL;
    int rc = mcr_image_quality(real, syn, &c, &q);
    CHECK(rc == MCR_OK && q, "quality: %s", mcr_last_error());
    if (q) {
        const mcr_iquality_group *all = &q->group[2];
        CHECK(q->ngroups == 3 && !strcmp(all->name, "all") && !strcmp(q->group[1].name, "1"), "groups");
        CHECK(all->n_real_train == 120 && all->n_real_test == 72 && all->n_synth == 120, "counts %zu %zu %zu",
              all->n_real_train, all->n_real_test, all->n_synth);
        CHECK(all->acc_real >= 0.9, "acc on real test %.3f", all->acc_real);
        CHECK(all->acc_synth >= 0.9, "acc on synthetic %.3f", all->acc_synth);
        CHECK(all->acc_tstr >= 0.9, "TSTR %.3f", all->acc_tstr);
        CHECK(q->detect_auroc < 0.75, "detector AUROC %.3f on one process", q->detect_auroc);
        CHECK(q->detect_train + q->detect_test == 240 && q->detect_test == 72, "detection split %zu + %zu",
              q->detect_train, q->detect_test);
        CHECK(all->tv < 0.05 && all->w1 < 2, "histograms: TV %.3f W1 %.2f", all->tv, all->w1);
        printf("     same process: acc real %.3f synth %.3f tstr %.3f, AUROC %.3f, TV %.3f, W1 %.2f, %.1f s\n",
               all->acc_real, all->acc_synth, all->acc_tstr, q->detect_auroc, all->tv, all->w1, q->seconds);
        /* the writers */
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK(mcr_iquality_print(q, f) == MCR_OK && mcr_iquality_write_json(q, f) == MCR_OK, "writers");
        fclose(f);
        CHECK(buf && strstr(buf, "detector (real vs synthetic") && strstr(buf, "\"auroc\": "), "output");
        free(buf);
    }
    mcr_iquality_free(q);
    /* labels swapped: the real-trained CNN disagrees with nearly every synthetic label */
    mcr_imageset *sw = squares(120, 120, 2, 1, 0);
    q = NULL;
    c.tstr = 0;
    CHECK(mcr_image_quality(real, sw, &c, &q) == MCR_OK, "swapped: %s", mcr_last_error());
    if (q) {
        CHECK(q->group[2].acc_synth <= 0.1, "swapped labels: acc %.3f", q->group[2].acc_synth);
        CHECK(isnan(q->group[2].acc_tstr), "no TSTR with tstr = 0");
    }
    mcr_iquality_free(q);
    mcr_imageset_free(sw);
    mcr_imageset_free(syn);
    mcr_imageset_free(real);
}

static void test_quality_flat_images(void) {
    mcr_imageset *real = squares(192, 120, 1, 0, 0), *flat = squares(120, 120, 3, 0, 1);
    mcr_iquality_config c;
    config(&c);
    c.tstr = 0;
    mcr_iquality *q = NULL;
    CHECK(mcr_image_quality(real, flat, &c, &q) == MCR_OK, "flat: %s", mcr_last_error());
    if (q) {
        const mcr_iquality_group *all = &q->group[2];
        CHECK(q->detect_auroc > 0.95, "detector AUROC %.3f on flat images", q->detect_auroc);
        CHECK(all->tv > 0.95, "TV %.3f", all->tv);
        CHECK(fabs(all->mean_synth - 60) < 1e-9 && all->sd_synth < 1e-9, "flat mean %g sd %g", all->mean_synth,
              all->sd_synth);
    }
    mcr_iquality_free(q);
    mcr_imageset_free(flat);
    mcr_imageset_free(real);
}

/* histograms by hand: real train = one image all 0, synthetic = one image all 10 (label 0),
 * so TV = 1 and W1 = 10; label 1 has no synthetic images: NaN */
static void test_quality_histograms(void) {
    mcr_imageset *real = NULL, *syn = NULL;
    mcr_imageset_alloc(2, 2, 2, 1, &real);
    mcr_imageset_alloc(1, 2, 2, 1, &syn);
    mcr_imageset_add_level(real, 0, "a"), mcr_imageset_add_level(real, 0, "b");
    mcr_imageset_add_level(syn, 0, "a");
    real->label[0] = 0, real->label[1] = 1, real->split[1] = MCR_SPLIT_TEST;
    memset(syn->pix, 10, 4);
    syn->label[0] = 0;
    mcr_iquality_config c;
    config(&c);
    c.cnn.epochs = 1;
    mcr_iquality *q = NULL;
    CHECK(mcr_image_quality(real, syn, &c, &q) == MCR_OK, "tiny: %s", mcr_last_error());
    if (q) {
        CHECK(fabs(q->group[0].tv - 1) < 1e-12 && fabs(q->group[0].w1 - 10) < 1e-12, "TV %g W1 %g", q->group[0].tv,
              q->group[0].w1);
        CHECK(isnan(q->group[1].tv) && q->group[1].n_synth == 0, "label b without synthetic images");
        CHECK(isnan(q->detect_auroc), "too few images to detect: NaN");
    }
    mcr_iquality_free(q);
    mcr_imageset_free(syn);
    mcr_imageset_free(real);
}

static void test_quality_bad_input(void) {
    mcr_imageset *real = squares(40, 30, 1, 0, 0), *other = NULL, *odd = NULL;
    mcr_iquality_config c;
    config(&c);
    mcr_iquality *q = (mcr_iquality *)&c;
    mcr_imageset_alloc(4, S, S + 2, 1, &other);
    mcr_imageset_add_level(other, 0, "0");
    CHECK(mcr_image_quality(real, other, &c, &q) == MCR_EINVAL && !q, "size mismatch");
    CHECK(strstr(mcr_last_error(), "12x12x1") && strstr(mcr_last_error(), "12x14x1"), "message: %s",
          mcr_last_error());
    mcr_imageset_alloc(4, S, S, 1, &odd);
    mcr_imageset_add_level(odd, 0, "7");
    odd->label[0] = 0;
    CHECK(mcr_image_quality(real, odd, &c, &q) == MCR_EINVAL, "unknown synthetic label");
    CHECK(strstr(mcr_last_error(), "label '7'"), "message: %s", mcr_last_error());
    for (int i = 0; i < 40; i++) real->split[i] = MCR_SPLIT_TRAIN; /* no test split */
    CHECK(mcr_image_quality(real, real, &c, &q) == MCR_EINVAL, "no test images");
    CHECK(strstr(mcr_last_error(), "labelled train and test"), "message: %s", mcr_last_error());
    mcr_imageset_free(other);
    mcr_imageset_free(odd);
    mcr_imageset_free(real);
}

int main(void) {
    TEST(test_quality_histograms);
    TEST(test_quality_bad_input);
    TEST(test_quality_same_process);
    TEST(test_quality_flat_images);
    return DONE();
}
