/* test_mixed.c — the mixed Gaussian + multinomial diffusion model end to end: a known joint
 * distribution of three categorical columns is reproduced per class, 60 categorical columns
 * (some with 200 levels) and 10 numerics train with finite loss, missing-value rates and
 * integer columns come back, rare levels pool and unpool, the model file round-trips. */
#include "tabular/tabular.h"
#include "testhelp.h"
#include <unistd.h>

static mcr_table *read_mem(const char *buf, size_t n, const char *name) {
    mcr_table *t = NULL;
    int rc = mcr_table_read_csv_mem(buf, n, name, NULL, &t);
    CHECK(rc == 0, "read %s: %s", name, mcr_last_error());
    return t;
}

/* target y, two hidden layers of `width`, batch 256, `steps` steps, other settings default */
static mcr_fit_config config(int width, int steps) { return th_fit_config("y", width, steps); }

static int draw(mcr_rng *r, const double *p, int K) {
    double u = mcr_rng_uniform(r), c = 0;
    for (int k = 0; k < K; k++)
        if (u < (c += p[k])) return k;
    return K - 1;
}

/* ---- 1. three dependent categorical columns ------------------------------------------- */
static const double PY[2] = {0.6, 0.4};
static const double P1[2][3] = {{0.6, 0.3, 0.1}, {0.1, 0.3, 0.6}};             /* c1 | y     */
static const double P2[3][2] = {{0.9, 0.1}, {0.5, 0.5}, {0.2, 0.8}};           /* c2 | c1    */
static const double P3[2][2][4] = {{{0.7, 0.1, 0.1, 0.1}, {0.25, 0.25, 0.25, 0.25}},  /* c3 | c2, y */
                                   {{0.1, 0.1, 0.1, 0.7}, {0.1, 0.5, 0.3, 0.1}}};
static const char *L1[] = {"u", "v", "w"}, *L2[] = {"p", "q"}, *L3[] = {"r", "s", "t", "z"};

static void test_learns_categorical_joint(void) {
    const int N = 6000;
    char *buf = malloc((size_t)N * 16 + 32), *p = buf;
    p += sprintf(p, "c1,c2,c3,y\n");
    mcr_rng r;
    mcr_rng_seed(&r, 4, 0);
    for (int i = 0; i < N; i++) {
        int y = draw(&r, PY, 2), a = draw(&r, P1[y], 3), b = draw(&r, P2[a], 2), c = draw(&r, P3[y][b], 4);
        p += sprintf(p, "%s,%s,%s,%s\n", L1[a], L2[b], L3[c], y ? "B" : "A");
    }
    mcr_table *t = read_mem(buf, (size_t)(p - buf), "cat3.csv");
    free(buf);
    if (!t) return;
    mcr_fit_config c = config(256, 1000);
    mcr_model *m = NULL;
    int rc = mcr_model_fit(t, NULL, 0, &c, &m);
    CHECK(rc == 0, "fit: %s", mcr_last_error());
    if (rc) return mcr_table_free(t);
    mcr_sample_config sc;
    mcr_sample_config_default(&sc);
    const int S = 5000;
    size_t counts[2] = {S, S};
    mcr_table *s = NULL;
    rc = mcr_model_sample(m, counts, &sc, &s);
    CHECK(rc == 0, "sample: %s", mcr_last_error());
    if (rc) return mcr_model_free(m), mcr_table_free(t);
    int jy = mcr_table_find(s, "y"), j[3] = {mcr_table_find(s, "c1"), mcr_table_find(s, "c2"), mcr_table_find(s, "c3")};
    for (int y = 0; y < 2; y++) {
        int ycode = mcr_table_level_find(s, jy, y ? "B" : "A");
        /* true joint of (c1, c2, c3) given y, and the sampled one */
        double truth[3][2][4], got[3][2][4] = {{{0}}};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 2; b++)
                for (int k = 0; k < 4; k++) truth[a][b][k] = P1[y][a] * P2[a][b] * P3[y][b][k];
        double n = 0;
        for (size_t i = 0; i < mcr_table_nrows(s); i++) {
            if (mcr_table_cat(s, i, jy) != ycode) continue;
            int v[3];
            for (int q = 0; q < 3; q++) v[q] = mcr_table_cat(s, i, j[q]);
            const char *names[3] = {mcr_table_level(s, j[0], v[0]), mcr_table_level(s, j[1], v[1]),
                                    mcr_table_level(s, j[2], v[2])};
            int a = names[0][0] == 'u' ? 0 : names[0][0] == 'v' ? 1 : 2;
            int b = names[1][0] == 'p' ? 0 : 1;
            int k = names[2][0] == 'r' ? 0 : names[2][0] == 's' ? 1 : names[2][0] == 't' ? 2 : 3;
            got[a][b][k]++;
            n++;
        }
        CHECK(n == S, "class %d count %g", y, n);
        /* marginals and pairwise joints */
        double m1[2][3] = {{0}}, m2[2][2] = {{0}}, m3[2][4] = {{0}};
        double j12[2][3][2] = {{{0}}}, j13[2][3][4] = {{{0}}}, j23[2][2][4] = {{{0}}};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 2; b++)
                for (int k = 0; k < 4; k++) {
                    double v[2] = {truth[a][b][k], got[a][b][k] / n};
                    for (int w = 0; w < 2; w++) {
                        m1[w][a] += v[w], m2[w][b] += v[w], m3[w][k] += v[w];
                        j12[w][a][b] += v[w], j13[w][a][k] += v[w], j23[w][b][k] += v[w];
                    }
                }
        double tv1 = 0, tv2 = 0, tv3 = 0, t12 = 0, t13 = 0, t23 = 0;
        for (int a = 0; a < 3; a++) tv1 += fabs(m1[0][a] - m1[1][a]) / 2;
        for (int b = 0; b < 2; b++) tv2 += fabs(m2[0][b] - m2[1][b]) / 2;
        for (int k = 0; k < 4; k++) tv3 += fabs(m3[0][k] - m3[1][k]) / 2;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 2; b++) t12 += fabs(j12[0][a][b] - j12[1][a][b]) / 2;
        for (int a = 0; a < 3; a++)
            for (int k = 0; k < 4; k++) t13 += fabs(j13[0][a][k] - j13[1][a][k]) / 2;
        for (int b = 0; b < 2; b++)
            for (int k = 0; k < 4; k++) t23 += fabs(j23[0][b][k] - j23[1][b][k]) / 2;
        printf("  class %c: marginal TV %.4f %.4f %.4f, pairwise TV %.4f %.4f %.4f\n", y ? 'B' : 'A',
               tv1, tv2, tv3, t12, t13, t23);
        CHECK(tv1 < 0.05 && tv2 < 0.05 && tv3 < 0.05, "class %d marginals", y);
        CHECK(t12 < 0.1 && t13 < 0.1 && t23 < 0.1, "class %d pairwise joints", y);
    }
    mcr_table_free(s);
    mcr_model_free(m);
    mcr_table_free(t);
}

/* ---- 2. 60 categorical columns (10 with 200 levels) and 10 numerics --------------------- */
static int nlosses, nonfinite;
static float first_loss, last_loss;
static int record(void *ctx, int step, int steps, float loss, double rps) {
    (void)ctx, (void)steps, (void)rps;
    if (!isfinite(loss)) nonfinite++;
    if (step == 1) first_loss = loss;
    last_loss = loss;
    nlosses++;
    return 0;
}

static void test_many_columns_stable(void) {
    const int N = 1500, NC = 60, NN = 10;
    size_t cap = (size_t)N * (NC * 6 + NN * 12) + 4096;
    char *buf = malloc(cap), *p = buf;
    for (int c = 0; c < NC; c++) p += sprintf(p, "c%d,", c);
    for (int c = 0; c < NN; c++) p += sprintf(p, "x%d,", c);
    p += sprintf(p, "y\n");
    mcr_rng r;
    mcr_rng_seed(&r, 8, 0);
    for (int i = 0; i < N; i++) {
        int y = mcr_rng_uniform(&r) < 0.2;
        for (int c = 0; c < NC; c++) {
            int K = c < 10 ? 200 : 2 + c % 7;
            /* skewed levels, shifted by the class */
            int v = (int)(K * pow(mcr_rng_uniform(&r), 2.0)) ;
            v = (v + y * (c % 3)) % K;
            p += sprintf(p, "L%d,", v);
        }
        for (int c = 0; c < NN; c++) p += sprintf(p, "%.4f,", mcr_rng_normal(&r) * (1 + c) + y);
        p += sprintf(p, "%s\n", y ? "pos" : "neg");
    }
    mcr_table *t = read_mem(buf, (size_t)(p - buf), "wide.csv");
    free(buf);
    if (!t) return;
    mcr_fit_config c = config(256, 300);
    c.progress = record;
    c.progress_every = 1;
    mcr_model *m = NULL;
    int rc = mcr_model_fit(t, NULL, 0, &c, &m);
    CHECK(rc == 0, "fit: %s", mcr_last_error());
    printf("  %d steps, loss %.4f -> %.4f (running mean), %d non-finite\n", nlosses, first_loss,
           last_loss, nonfinite);
    CHECK(nlosses == 300 && nonfinite == 0, "finite loss at every step");
    CHECK(last_loss < first_loss, "the loss went down");
    if (rc) return mcr_table_free(t);
    mcr_sample_config sc;
    mcr_sample_config_default(&sc);
    size_t counts[2] = {100, 100};
    mcr_table *s = NULL;
    rc = mcr_model_sample(m, counts, &sc, &s);
    CHECK(rc == 0, "sample: %s", mcr_last_error());
    int bad = 0;
    for (size_t i = 0; s && i < mcr_table_nrows(s); i++)
        for (int j = 0; j < NC + NN; j++)
            bad += j < NC ? mcr_table_cat(s, i, j) < 0 : !isfinite(mcr_table_num(s, i, j));
    CHECK(s && bad == 0, "every sampled value present and finite (%d bad)", bad);
    mcr_table_free(s);
    mcr_model_free(m);
    mcr_table_free(t);
}

/* ---- 3. missing values, integers ---------------------------------------------------- */
static void test_missing_rates_and_integers(void) {
    const int N = 4000;
    char *buf = malloc((size_t)N * 48 + 64), *p = buf;
    p += sprintf(p, "x,n,c,y\n");
    mcr_rng r;
    mcr_rng_seed(&r, 9, 0);
    for (int i = 0; i < N; i++) {
        int y = mcr_rng_uniform(&r) < 0.3;
        char xs[32] = "", cs[8] = "";
        if (mcr_rng_uniform(&r) >= 0.2) snprintf(xs, sizeof xs, "%.3f", mcr_rng_normal(&r) + 2 * y);
        if (mcr_rng_uniform(&r) >= (y ? 0.3 : 0.1)) snprintf(cs, sizeof cs, "%s", mcr_rng_uniform(&r) < 0.5 ? "a" : "b");
        int n = 3 + (int)(mcr_rng_uniform(&r) * 15) + 2 * y;
        p += sprintf(p, "%s,%d,%s,%s\n", xs, n, cs, y ? "1" : "0");
    }
    mcr_table *t = read_mem(buf, (size_t)(p - buf), "miss.csv");
    free(buf);
    if (!t) return;
    mcr_fit_config c = config(256, 800);
    mcr_model *m = NULL;
    int rc = mcr_model_fit(t, NULL, 0, &c, &m);
    CHECK(rc == 0, "fit: %s", mcr_last_error());
    if (rc) return mcr_table_free(t);
    int jy = mcr_table_find(t, "y");
    size_t counts[2] = {0, 0};
    for (size_t i = 0; i < mcr_table_nrows(t); i++) counts[mcr_table_cat(t, i, jy)]++;
    mcr_sample_config sc;
    mcr_sample_config_default(&sc);
    mcr_table *s = NULL;
    rc = mcr_model_sample(m, counts, &sc, &s);
    CHECK(rc == 0, "sample: %s", mcr_last_error());
    if (!rc) {
        for (int j = 0; j < 2; j++) {
            int col = j ? 2 : 0;
            double real = (double)mcr_table_nmissing(t, col) / mcr_table_nrows(t);
            double syn = (double)mcr_table_nmissing(s, col) / mcr_table_nrows(s);
            printf("  %s missing: real %.4f synthetic %.4f\n", j ? "c" : "x", real, syn);
            CHECK(fabs(real - syn) < 0.03, "missing rate of %s", j ? "c" : "x");
        }
        /* and per class for c (10% vs 30% missing) */
        for (int y = 0; y < 2; y++) {
            double nr = 0, mr = 0, ns = 0, ms = 0;
            for (size_t i = 0; i < mcr_table_nrows(t); i++)
                if (mcr_table_cat(t, i, jy) == y) nr++, mr += mcr_table_cat(t, i, 2) < 0;
            for (size_t i = 0; i < mcr_table_nrows(s); i++)
                if (mcr_table_cat(s, i, jy) == y) ns++, ms += mcr_table_cat(s, i, 2) < 0;
            printf("  class %d: c missing real %.4f synthetic %.4f\n", y, mr / nr, ms / ns);
            CHECK(fabs(mr / nr - ms / ns) < 0.03, "class %d missing rate of c", y);
        }
        int nonint = 0, out = 0;
        for (size_t i = 0; i < mcr_table_nrows(s); i++) {
            double v = mcr_table_num(s, i, 1);
            nonint += v != floor(v);
            out += v < 3 || v > 19;
        }
        CHECK(mcr_table_coltype(t, 1) == MCR_COL_INTEGER, "n is an integer column");
        CHECK(nonint == 0 && out == 0, "integers in the observed range (%d non-integer, %d outside)", nonint, out);
    }
    mcr_table_free(s);
    mcr_model_free(m);
    mcr_table_free(t);
}

/* ---- 4. rare levels pooled into __other__ and drawn back ----------------------------- */
static void test_rare_levels_pooled(void) {
    const int N = 3000;
    char *buf = malloc((size_t)N * 24 + 64), *p = buf;
    p += sprintf(p, "code,x,y\n");
    mcr_rng r;
    mcr_rng_seed(&r, 10, 0);
    for (int i = 0; i < N; i++) {
        double u = mcr_rng_uniform(&r);
        char code[16];
        if (u < 0.45) strcpy(code, "A");
        else if (u < 0.75) strcpy(code, "B");
        else if (u < 0.9) strcpy(code, "C");
        else snprintf(code, sizeof code, "R%d", (int)(mcr_rng_uniform(&r) * 60)); /* ~5 each */
        p += sprintf(p, "%s,%.3f,%s\n", code, mcr_rng_normal(&r), i % 3 ? "n" : "p");
    }
    mcr_table *t = read_mem(buf, (size_t)(p - buf), "rare.csv");
    free(buf);
    if (!t) return;
    int cols[1] = {0};
    mcr_encoder *e = NULL;
    int rc = mcr_encoder_fit_ex(t, cols, 1, NULL, 0, MCR_NUM_QUANTILE, 1, 20, &e);
    CHECK(rc == 0 && e->f[0].width == 4 && e->f[0].other == 3, "A, B, C and __other__ (width %d)",
          rc ? -1 : e->f[0].width);
    mcr_encoder_free(e);
    mcr_fit_config c = config(128, 500);
    c.min_level_count = 20;
    mcr_model *m = NULL;
    rc = mcr_model_fit(t, NULL, 0, &c, &m);
    CHECK(rc == 0, "fit: %s", mcr_last_error());
    if (rc) return mcr_table_free(t);
    mcr_sample_config sc;
    mcr_sample_config_default(&sc);
    size_t counts[2] = {2000, 1000};
    mcr_table *s = NULL;
    rc = mcr_model_sample(m, counts, &sc, &s);
    CHECK(rc == 0, "sample: %s", mcr_last_error());
    if (!rc) {
        double rare = 0, distinct = 0;
        int *seen = calloc((size_t)mcr_table_nlevels(s, 0), sizeof(int));
        for (size_t i = 0; i < mcr_table_nrows(s); i++) {
            int v = mcr_table_cat(s, i, 0);
            const char *name = v >= 0 ? mcr_table_level(s, 0, v) : "";
            if (name[0] == 'R') {
                rare++;
                if (!seen[v]++) distinct++;
            }
            CHECK(v >= 0 && strcmp(name, "__other__") != 0, "a real level at row %zu", i);
        }
        free(seen);
        printf("  rare levels: %.1f%% of synthetic rows (10%% expected), %.0f distinct\n",
               100 * rare / mcr_table_nrows(s), distinct);
        CHECK(fabs(rare / mcr_table_nrows(s) - 0.10) < 0.03, "pooled mass reproduced");
        CHECK(distinct >= 30, "pooled levels drawn back by frequency, not collapsed to one");
    }
    /* the model file keeps the pooling: a reloaded model samples the same rows */
    char path[] = "/tmp/mcr_test_rare_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    mcr_model *m2 = NULL;
    mcr_table *s2 = NULL;
    CHECK(mcr_model_save(m, path) == 0 && mcr_model_load(path, &m2) == 0, "save/load: %s", mcr_last_error());
    if (m2 && s && mcr_model_sample(m2, counts, &sc, &s2) == 0) {
        int same = mcr_table_nrows(s2) == mcr_table_nrows(s);
        for (size_t i = 0; same && i < mcr_table_nrows(s); i++)
            same = mcr_table_cat(s, i, 0) == mcr_table_cat(s2, i, 0) &&
                   mcr_table_num(s, i, 1) == mcr_table_num(s2, i, 1);
        CHECK(same, "reloaded model samples identical rows");
    }
    unlink(path);
    mcr_table_free(s);
    mcr_table_free(s2);
    mcr_model_free(m2);
    mcr_model_free(m);
    mcr_table_free(t);
}

/* ---- 5. a level absent from the training rows, with pooling on but nothing rare -------- */
static void test_unseen_level_pooling(void) {
    const char *csv = "c,y\nz,p\na,n\na,p\nb,n\nb,p\n"; /* z only in row 0, left out */
    mcr_table *t = read_mem(csv, strlen(csv), "unseen.csv");
    if (!t) return;
    size_t rows[4] = {1, 2, 3, 4};
    int cols[1] = {0};
    for (int min_count = 1; min_count <= 2; min_count++) {
        mcr_encoder *e = NULL;
        CHECK(mcr_encoder_fit_ex(t, cols, 1, rows, 4, MCR_NUM_QUANTILE, 1, min_count, &e) == 0, "fit");
        if (!e) continue;
        double x[3 * 4];
        size_t all[4] = {1, 3};
        CHECK(mcr_encoder_transform(e, t, all, 2, x) == 0, "transform");
        mcr_table *back = NULL;
        mcr_table_new_like(t, 2, &back);
        CHECK(mcr_encoder_inverse(e, x, 2, back, NULL) == 0, "inverse");
        const char *l0 = mcr_table_level(back, 0, mcr_table_cat(back, 0, 0));
        const char *l1 = mcr_table_level(back, 0, mcr_table_cat(back, 1, 0));
        CHECK(!strcmp(l0, "a") && !strcmp(l1, "b"), "min count %d: a, b come back as a, b (got %s, %s)",
              min_count, l0, l1);
        mcr_table_free(back);
        mcr_encoder_free(e);
    }
    mcr_table_free(t);
}

int main(void) {
    TEST(test_learns_categorical_joint);
    TEST(test_many_columns_stable);
    TEST(test_missing_rates_and_integers);
    TEST(test_rare_levels_pooled);
    TEST(test_unseen_level_pooling);
    return DONE();
}
