/* test_ieval.c — image evaluation (src/image/ieval.c, `mcrage image evaluate`):
 *   - the metrics of a tiny fixed prediction set match hand-computed values: accuracy and AUROC
 *     on ID and OOD images and per site, the worst site, the gap; a site without images is NaN
 *     and left out of worst / gap;
 *   - the methods' training sets: oversample brings every non-empty (label, site) cell to the
 *     largest cell exactly, with copies of the cell's own images; randaugment adds one labelled
 *     copy per image; diffusion adds round(R n / (1 - R)) images (share R up to rounding) with
 *     exactly group-balance's counts per (label, site), sampled per ratio or taken from one sample
 *     at the largest ratio; oracle adds the OOD train images with
 *     their true labels (and refuses a missing or different oracle's set);
 *   - bad input: a ratio of 1.5 (the message names --ratios), an unknown method, an image
 *     without a site, a label that is not binary, an image model of another size, a model
 *     whose sites differ from the data's;
 *   - an end-to-end run on the tiny set: rows, paired JSON, the same numbers twice;
 *   - policy balance gives exactly the model's balance counts, and a smaller ratio's synthetic
 *     images lie inside a larger one's (one pool per seed); the arms label-only (no site on its
 *     images) and no-unlabelled (never the site whose train images are all unlabelled), their
 *     generator checks, the JSON, and the HTML report's sections. */
#include "image/image.h"
#include "testhelp.h"
#include <math.h>
#include <string.h>
#include <unistd.h>

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

static void test_score(void) {
    /* site 0 (ID): y 1 0 1 0, p .9 .2 .4 .6 -> right, right, wrong, wrong: acc 1/2; AUROC 3/4
     * site 1 (ID): y 1 0 1 1, p .8 .3 .7 .5 -> 0.5 predicts 0: acc 3/4; AUROC 1
     * site 2 (OOD): y 0 1, p .5 .5: acc 1/2, AUROC 1/2 (a tie); site 3: no image
     * ID: 5 of 8 right; AUROC: positives .9 .4 .8 .7 .5 over negatives .2 .6 .3: 3+2+3+3+2 = 13 of 15 */
    int y[] = {1, 0, 1, 0, 1, 0, 1, 1, 0, 1}, site[] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2}, ood[] = {0, 0, 1, -1};
    double p[] = {.9, .2, .4, .6, .8, .3, .7, .5, .5, .5}, acc[4], auc[4];
    mcr_ieval_metrics m;
    CHECK(!mcr_ieval_score(y, p, site, 10, 4, ood, &m, acc, auc), "%s", mcr_last_error());
    CHECK(NEAR(m.id_acc, 0.625) && m.n_id == 8, "ID acc %g of %zu", m.id_acc, m.n_id);
    CHECK(NEAR(m.id_auroc, 13.0 / 15), "ID AUROC %g", m.id_auroc);
    CHECK(NEAR(m.ood_acc, 0.5) && NEAR(m.ood_auroc, 0.5) && m.n_ood == 2, "OOD %g %g %zu", m.ood_acc, m.ood_auroc, m.n_ood);
    CHECK(NEAR(acc[0], 0.5) && NEAR(acc[1], 0.75) && NEAR(acc[2], 0.5) && isnan(acc[3]), "site acc %g %g %g %g", acc[0],
          acc[1], acc[2], acc[3]);
    CHECK(NEAR(auc[0], 0.75) && NEAR(auc[1], 1) && NEAR(auc[2], 0.5) && isnan(auc[3]), "site AUROC %g %g %g %g", auc[0],
          auc[1], auc[2], auc[3]);
    CHECK(NEAR(m.worst_acc, 0.5) && NEAR(m.gap, 0.25), "worst %g gap %g", m.worst_acc, m.gap);
    /* one class only at a site: its AUROC is NaN, its accuracy counts */
    int y1[] = {1, 1, 0, 1}, s1[] = {0, 0, 1, 1}, o1[] = {0, 1};
    double p1[] = {.9, .1, .2, .7}, a1[2], u1[2];
    CHECK(!mcr_ieval_score(y1, p1, s1, 4, 2, o1, &m, a1, u1), "%s", mcr_last_error());
    CHECK(NEAR(a1[0], 0.5) && isnan(u1[0]) && NEAR(a1[1], 1) && NEAR(u1[1], 1), "%g %g %g %g", a1[0], u1[0], a1[1], u1[1]);
    CHECK(NEAR(m.worst_acc, 0.5) && NEAR(m.gap, 0.5), "worst %g gap %g", m.worst_acc, m.gap);
}

/* 8x8 grey images; sites A, B labelled (A: 5 of label 0, 3 of label 1; B: 2 and 1), C's 4 train
 * images unlabelled; test: 4 per site, labels alternating. Pixels depend on label and site. */
static mcr_imageset *tiny_set(int h, const char *third) {
    int ntr = 5 + 3 + 2 + 1 + 4, n = ntr + 12;
    mcr_imageset *s;
    if (mcr_imageset_alloc(n, h, h, 1, &s)) return NULL;
    mcr_imageset_add_level(s, 0, "0"), mcr_imageset_add_level(s, 0, "1");
    mcr_imageset_add_level(s, 1, "A"), mcr_imageset_add_level(s, 1, "B"), mcr_imageset_add_level(s, 1, third);
    int lab[] = {0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, -1, -1, -1, -1}, at[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2};
    for (int i = 0; i < n; i++) {
        if (i < ntr) s->label[i] = lab[i], s->attr[i] = at[i], s->split[i] = MCR_SPLIT_TRAIN;
        else s->label[i] = (i - ntr) % 2, s->attr[i] = (i - ntr) / 4, s->split[i] = MCR_SPLIT_TEST;
        int l = s->label[i] < 0 ? i % 2 : s->label[i];
        for (int p = 0; p < h * h; p++)
            s->pix[(size_t)i * h * h + p] = (uint8_t)(40 + 30 * s->attr[i] + (l ? 120 * (p % h < h / 2) : 0) + (i * 7 + p) % 11);
    }
    return s;
}

static void small_cfg(mcr_ieval_config *c) {
    mcr_ieval_config_default(c);
    c->cnn.nstages = 1, c->cnn.widths[0] = 8, c->cnn.epochs = 1, c->cnn.batch = 8, c->cnn.threads = 1;
    c->fit.steps = 2, c->fit.batch = 4, c->fit.nlevels = 2, c->fit.channels[0] = 8, c->fit.channels[1] = 16;
    c->fit.nres = 1, c->fit.attn = 0, c->fit.groups = 4, c->fit.T = 20, c->fit.precision = MCR_PRECISION_FP32;
    c->sample.sample_steps = 2, c->sample.batch = 16;
}

static void test_trainsets(void) {
    mcr_imageset *s = tiny_set(8, "C");
    mcr_ieval_config c;
    small_cfg(&c);
    mcr_itrain t;
    size_t plane = 64;
    /* none */
    CHECK(!mcr_ieval_trainset(s, MCR_IEVAL_NONE, 0, &c, NULL, NULL, 1, &t), "%s", mcr_last_error());
    CHECK(t.n == 11 && t.n_real == 11, "none: %zu of %zu", t.n, t.n_real);
    mcr_itrain_free(&t);
    /* oversample: cells A0 5, A1 3, B0 2, B1 1 -> every one 5 */
    CHECK(!mcr_ieval_trainset(s, MCR_IEVAL_OVERSAMPLE, 0, &c, NULL, NULL, 1, &t), "%s", mcr_last_error());
    CHECK(t.n == 20 && t.n_real == 11, "oversample: %zu of %zu", t.n, t.n_real);
    int cnt[2][3] = {{0}};
    for (size_t i = 0; i < t.n; i++) cnt[t.y[i]][t.site[i]]++;
    CHECK(cnt[0][0] == 5 && cnt[1][0] == 5 && cnt[0][1] == 5 && cnt[1][1] == 5 && !cnt[0][2] && !cnt[1][2],
          "cells %d %d %d %d %d %d", cnt[0][0], cnt[1][0], cnt[0][1], cnt[1][1], cnt[0][2], cnt[1][2]);
    for (size_t i = t.n_real; i < t.n; i++) { /* a copy of a real image of its own cell */
        int found = 0;
        for (size_t j = 0; j < t.n_real && !found; j++)
            found = t.y[j] == t.y[i] && t.site[j] == t.site[i] && !memcmp(t.pix + i * plane, t.pix + j * plane, plane);
        CHECK(found, "duplicate %zu is no copy of its cell", i);
    }
    /* B1 has one image: 4 copies of it; A1's 2 copies are distinct images */
    mcr_itrain_free(&t);
    /* randaugment: one labelled copy each */
    CHECK(!mcr_ieval_trainset(s, MCR_IEVAL_RANDAUG, 0, &c, NULL, NULL, 1, &t), "%s", mcr_last_error());
    CHECK(t.n == 22 && t.n_real == 11, "randaugment: %zu", t.n);
    int same = 0;
    for (size_t i = 0; i < 11 && t.n == 22; i++) {
        CHECK(t.y[11 + i] == t.y[i] && t.site[11 + i] == t.site[i], "copy %zu's label / site", i);
        same += !memcmp(t.pix + (11 + i) * plane, t.pix + i * plane, plane);
    }
    CHECK(same < 11, "RandAugment (M 9) changed no image");
    mcr_itrain_free(&t);
    /* oracle: plus C's 4 train images with their true labels; refused without the oracle's set
     * or with one of other images */
    mcr_imageset *o = tiny_set(8, "C");
    for (int i = 11; i < 15; i++) o->label[i] = i % 2;
    c.oracle = o;
    CHECK(!mcr_ieval_trainset(s, MCR_IEVAL_ORACLE, 0, &c, NULL, NULL, 1, &t), "%s", mcr_last_error());
    CHECK(t.n == 15 && t.n_real == 11 && t.site[14] == 2 && t.y[11] == 1 && t.y[12] == 0, "oracle: %zu", t.n);
    mcr_itrain_free(&t);
    o->pix[5] ^= 1;
    CHECK(mcr_ieval_trainset(s, MCR_IEVAL_ORACLE, 0, &c, NULL, NULL, 1, &t) == MCR_EINVAL && strstr(mcr_last_error(), "image 0"),
          "other pixels: %s", mcr_last_error());
    c.oracle = NULL;
    CHECK(mcr_ieval_trainset(s, MCR_IEVAL_ORACLE, 0, &c, NULL, NULL, 1, &t) == MCR_EINVAL && strstr(mcr_last_error(), "--oracle"),
          "no oracle set: %s", mcr_last_error());
    mcr_imageset_free(o);
    /* diffusion: share R, group-balance counts */
    mcr_imodel *m = NULL;
    CHECK(!mcr_imodel_fit(s, &c.fit, &m), "%s", mcr_last_error());
    double R[] = {0.25, 0.5, 0.75};
    size_t want[] = {4, 11, 33};
    /* sampled per ratio, then taken from one sample at 0.75 (each cell's first images) */
    mcr_imageset *pool = NULL;
    for (int k = 0; m && k < 6; k++) {
        if (k == 3) CHECK(!mcr_ieval_pool(s, (double[]){0.75}, 1, &c, m, 1, &pool) && pool && pool->n == 33, "%s", mcr_last_error());
        CHECK(!mcr_ieval_trainset(s, MCR_IEVAL_DIFFUSION, R[k % 3], &c, m, pool, 1, &t), "%s", mcr_last_error());
        size_t ns = t.n - t.n_real;
        CHECK(t.n_real == 11 && ns == want[k % 3], "R %g: %zu synthetic", R[k % 3], ns);
        CHECK(fabs((double)ns / (double)t.n - R[k % 3]) <= 0.5 / (double)t.n * (1 + R[k % 3]), "share %g for R %g",
              (double)ns / (double)t.n, R[k % 3]);
        size_t counts[3 * 4], got[3 * 4] = {0};
        CHECK(!mcr_imodel_counts_policy(m, MCR_IPOLICY_GROUP_BALANCE, ns, counts), "%s", mcr_last_error());
        for (size_t i = t.n_real; i < t.n; i++) got[t.y[i] * 4 + t.site[i]]++;
        for (int q = 0; q < 12; q++) CHECK(got[q] == counts[q], "R %g cell %d: %zu, group-balance %zu", R[k % 3], q, got[q], counts[q]);
        /* sites uniform: 4 -> 2 1 1; 11 -> 4 4 3; 33 -> 11 each */
        size_t per[3] = {0};
        for (size_t i = t.n_real; i < t.n; i++) per[t.site[i]]++;
        CHECK(per[0] - per[2] <= 1 && per[0] >= per[1] && per[1] >= per[2], "sites %zu %zu %zu", per[0], per[1], per[2]);
        for (size_t i = t.n_real; k >= 3 && pool && i < t.n; i++) { /* from the pool */
            int found = 0;
            for (int j = 0; j < pool->n && !found; j++) found = !memcmp(t.pix + i * plane, pool->pix + (size_t)j * plane, plane);
            CHECK(found, "R %g: synthetic image %zu is not one of the pool's", R[k % 3], i);
        }
        mcr_itrain_free(&t);
    }
    mcr_imageset_free(pool);
    CHECK(mcr_ieval_trainset(s, MCR_IEVAL_DIFFUSION, 1.5, &c, m, NULL, 1, &t) == MCR_EINVAL &&
              strstr(mcr_last_error(), "--ratios"),
          "ratio 1.5: %s", mcr_last_error());
    mcr_imodel_free(m);
    mcr_imageset_free(s);
}

static void test_bad_input(void) {
    mcr_imageset *s = tiny_set(8, "C");
    mcr_ieval_config c;
    small_cfg(&c);
    mcr_ieval *r = NULL;
    c.ratios = "0.5,1.5";
    CHECK(mcr_image_evaluate(s, &c, &r) == MCR_EINVAL && !r && strstr(mcr_last_error(), "--ratios") &&
              strstr(mcr_last_error(), "1.5"),
          "ratio 1.5: %s", mcr_last_error());
    c.ratios = "0";
    CHECK(mcr_image_evaluate(s, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "--ratios"), "ratio 0: %s", mcr_last_error());
    c.ratios = "0.5", c.methods = "none,smote";
    CHECK(mcr_image_evaluate(s, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "unknown method 'smote'"), "%s",
          mcr_last_error());
    c.methods = "none";
    s->attr[3] = -1;
    CHECK(mcr_image_evaluate(s, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "has no site"), "%s", mcr_last_error());
    s->attr[3] = 0;
    mcr_imageset_add_level(s, 0, "2");
    CHECK(mcr_image_evaluate(s, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "binary"), "%s", mcr_last_error());
    mcr_imageset_free(s);
    /* image models: of 16x16 images; of sites A, B, X */
    mcr_imageset *s16 = tiny_set(16, "C"), *sx = tiny_set(8, "X");
    s = tiny_set(8, "C");
    mcr_imodel *m16 = NULL, *mx = NULL;
    CHECK(!mcr_imodel_fit(s16, &c.fit, &m16) && !mcr_imodel_fit(sx, &c.fit, &mx), "%s", mcr_last_error());
    c.methods = "none,diffusion";
    c.model = m16;
    CHECK(mcr_image_evaluate(s, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "16x16x1 images, the data has 8x8x1"),
          "size: %s", mcr_last_error());
    c.model = mx;
    CHECK(mcr_image_evaluate(s, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "site 'X'"), "sites: %s", mcr_last_error());
    CHECK(!r, "a result after an error");
    mcr_imodel_free(m16), mcr_imodel_free(mx);
    mcr_imageset_free(s), mcr_imageset_free(s16), mcr_imageset_free(sx);
}

static void test_evaluate_tiny(void) {
    mcr_imageset *s = tiny_set(8, "C");
    mcr_ieval_config c;
    small_cfg(&c);
    c.seeds = 2, c.ratios = "0.25,0.5"; /* per seed one sample at 0.5, 0.25 takes from it */
    mcr_ieval *a = NULL, *b = NULL;
    CHECK(!mcr_image_evaluate(s, &c, &a), "%s", mcr_last_error());
    CHECK(!mcr_image_evaluate(s, &c, &b), "%s", mcr_last_error());
    if (a && b) {
        CHECK(a->nmethods == 6 && !strcmp(a->methods[4], "diffusion@0.25") && !strcmp(a->methods[5], "diffusion@0.5") &&
                  a->model_fitted,
              "%d methods", a->nmethods);
        CHECK(a->nsites == 3 && a->ood[0] == 0 && a->ood[1] == 0 && a->ood[2] == 1 && a->n_id == 8 && a->n_ood == 4,
              "sites: ood %d %d %d, %zu / %zu", a->ood[0], a->ood[1], a->ood[2], a->n_id, a->n_ood);
        size_t ntr[] = {11, 20, 11, 22, 15, 22};
        for (int q = 0; q < 6; q++)
            for (int sd = 0; sd < 2; sd++) {
                const struct mcr_ieval_run *u = &a->runs[q * 2 + sd], *v = &b->runs[q * 2 + sd];
                CHECK(u->n_train == ntr[q], "%s: %zu train images", a->methods[q], u->n_train);
                CHECK(u->m.id_acc == v->m.id_acc && u->m.ood_auroc == v->m.ood_auroc && u->m.gap == v->m.gap,
                      "%s seed %d: not reproducible", a->methods[q], sd);
                CHECK(u->m.id_acc >= 0 && u->m.id_acc <= 1 && u->m.gap >= 0, "%s: acc %g gap %g", a->methods[q], u->m.id_acc,
                      u->m.gap);
            }
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK(f && !mcr_ieval_write_json(a, f), "json");
        if (f) fclose(f);
        CHECK(buf && strstr(buf, "\"method\":\"diffusion@0.5\",\"vs\":\"none\"") && strstr(buf, "\"baseline\":\"best\"") &&
                  strstr(buf, "\"per_site\":{\"A\":{\"acc\":"),
              "json: %.300s", buf ? buf : "(null)");
        free(buf);
        buf = NULL;
        f = open_memstream(&buf, &len);
        CHECK(f && !mcr_ieval_print(a, f), "print");
        if (f) fclose(f);
        CHECK(buf && strstr(buf, "paired difference vs none") && strstr(buf, "diffusion@0.5"), "text: %.300s", buf ? buf : "");
        free(buf);
    }
    mcr_ieval_free(a), mcr_ieval_free(b);
    mcr_imageset_free(s);
}

/* the arms, the policy, the nesting of the ratios' synthetic sets, the checks and the report */
static void test_arms_policy_report(void) {
    mcr_imageset *s = tiny_set(8, "C");
    mcr_ieval_config c;
    small_cfg(&c);
    size_t plane = 64;
    /* balance: exactly the model's balance counts; the 0.25 set inside the 0.5 set */
    mcr_imodel *m = NULL;
    CHECK(!mcr_imodel_fit(s, &c.fit, &m), "%s", mcr_last_error());
    c.policy = MCR_IPOLICY_BALANCE;
    c.sample.joint = 1; /* one network pass a step here; the composed guidance below */
    mcr_imageset *pool = NULL;
    double R[] = {0.25, 0.5};
    CHECK(m && !mcr_ieval_pool(s, R, 2, &c, m, 3, &pool) && pool, "%s", mcr_last_error());
    mcr_itrain t[2];
    for (int k = 0; k < 2 && pool; k++) {
        CHECK(!mcr_ieval_trainset(s, MCR_IEVAL_DIFFUSION, R[k], &c, m, pool, 3, &t[k]), "%s", mcr_last_error());
        size_t ns = t[k].n - t[k].n_real, counts[3 * 4], got[3 * 4] = {0};
        CHECK(!mcr_imodel_counts_policy(m, MCR_IPOLICY_BALANCE, ns, counts), "%s", mcr_last_error());
        for (size_t i = t[k].n_real; i < t[k].n; i++) got[t[k].y[i] * 4 + t[k].site[i]]++;
        for (int q = 0; q < 12; q++) CHECK(got[q] == counts[q], "balance R %g cell %d: %zu, want %zu", R[k], q, got[q], counts[q]);
        size_t per[2] = {got[0] + got[1] + got[2], got[4] + got[5] + got[6]};
        CHECK(per[0] + per[1] == ns && (per[0] > per[1] ? per[0] - per[1] : per[1] - per[0]) <= 1, "labels %zu %zu", per[0], per[1]);
    }
    if (pool) {
        int inside = 1;
        for (size_t i = t[0].n_real; i < t[0].n; i++) {
            int found = 0;
            for (size_t j = t[1].n_real; j < t[1].n && !found; j++)
                found = t[0].y[i] == t[1].y[j] && !memcmp(t[0].pix + i * plane, t[1].pix + j * plane, plane);
            inside &= found;
        }
        CHECK(inside, "the 0.25 set is not inside the 0.5 set");
        mcr_itrain_free(&t[0]), mcr_itrain_free(&t[1]);
    }
    mcr_imageset_free(pool);
    mcr_imodel_free(m);
    /* the arms end to end, with the checks and the report */
    c.policy = MCR_IPOLICY_GROUP_BALANCE, c.sample.joint = 0;
    c.methods = "none,diffusion,diffusion-label-only,diffusion-no-unlabelled", c.ratios = "0.25,0.5", c.seeds = 1;
    mcr_ieval *r = NULL;
    CHECK(!mcr_image_evaluate(s, &c, &r), "%s", mcr_last_error());
    if (r) {
        CHECK(r->nmethods == 7 && !strcmp(r->methods[3], "diffusion-label-only@0.25") &&
                  !strcmp(r->methods[6], "diffusion-no-unlabelled@0.5"),
              "%d methods", r->nmethods);
        size_t ntr[] = {11, 15, 22, 15, 22, 15, 22};
        for (int q = 0; q < 7; q++) CHECK(r->runs[q].n_train == ntr[q], "%s: %zu", r->methods[q], r->runs[q].n_train);
        for (int g = 0; g < 3; g++) {
            const struct mcr_ieval_gen *G = &r->gen[g];
            CHECK(G->used && G->checked && G->n_pool == 11 && G->grid, "arm %d: used %d checked %d pool %zu", g, G->used,
                  G->checked, G->n_pool);
            CHECK(G->label_acc >= 0 && G->label_acc <= 1 && G->detect_auroc >= 0 && G->detect_auroc <= 1, "arm %d: %g %g", g,
                  G->label_acc, G->detect_auroc);
            CHECK(g == 1 ? isnan(G->site_acc) : G->site_acc >= 0 && G->site_acc <= 1, "arm %d: site acc %g", g, G->site_acc);
            for (int i = 0; G->grid && i < G->grid->n; i++) {
                const char *site = G->grid->attr[i] >= 0 ? G->grid->attr_names[G->grid->attr[i]] : NULL;
                /* label-only: no site; no unlabelled: never C, whose train images are all unlabelled */
                CHECK(g == 1 ? !site : site && (g == 0 || strcmp(site, "C")), "arm %d: an image of site %s", g, site ? site : "-");
            }
        }
        CHECK(r->gen[0].cell_n[0 * 4 + 2] > 0 && r->gen[2].cell_n[0 * 4 + 2] == 0, "C's cells: %zu %zu", r->gen[0].cell_n[2],
              r->gen[2].cell_n[2]);
        CHECK(isfinite(r->site_real_acc), "site classifier %g", r->site_real_acc);
        mcr_report *rep = NULL;
        CHECK(!mcr_ieval_report(r, s, "mcrage image evaluate tiny", &rep) && rep, "%s", mcr_last_error());
        char path[] = "/tmp/test_ieval_XXXXXX";
        int fd = mkstemp(path);
        if (fd >= 0) close(fd);
        CHECK(rep && fd >= 0 && !mcr_report_write(rep, path), "%s", mcr_last_error());
        mcr_report_free(rep);
        FILE *f = fopen(path, "rb");
        char *buf = calloc(1, 1 << 20);
        size_t n = f && buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
        if (f) fclose(f);
        const char *want[] = {"<h2>Results</h2>", "<h2>ID and OOD accuracy</h2>", "<h2>Fairness gap</h2>", "<h2>Ratio sweep</h2>",
                              "<h2>Real and synthetic images per (label, site)</h2>", "data:image/png;base64,iVBOR",
                              "<h2>Generator checks</h2>", "<h2>Command</h2>", "diffusion-no-unlabelled@0.5"};
        for (size_t k = 0; k < sizeof want / sizeof *want; k++) CHECK(n && strstr(buf, want[k]), "report lacks %s", want[k]);
        free(buf);
        remove(path);
        char *js = NULL;
        size_t jl = 0;
        FILE *jf = open_memstream(&js, &jl);
        CHECK(jf && !mcr_ieval_write_json(r, jf), "json");
        if (jf) fclose(jf);
        CHECK(js && strstr(js, "\"arm\":\"diffusion-label-only\"") && strstr(js, "\"detect_auroc\":") &&
                  strstr(js, "\"policy\":\"group-balance\""),
              "json: %.300s", js ? js : "");
        free(js);
    }
    mcr_ieval_free(r);
    c.policy = 7;
    CHECK(mcr_image_evaluate(s, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "--policy"), "%s", mcr_last_error());
    mcr_imageset_free(s);
}

int main(void) {
    TEST(test_score);
    TEST(test_trainsets);
    TEST(test_bad_input);
    TEST(test_evaluate_tiny);
    TEST(test_arms_policy_report);
    return DONE();
}
