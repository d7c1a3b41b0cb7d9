/* test_core.c — RNG reproducibility and statistics, transforms (round trips, quantile values),
 * simulate reproducibility and counts. */
#include "tabular/tabular.h"
#include "testhelp.h"
#include <unistd.h>

static void test_rng(void) {
    mcr_rng a, b, c;
    mcr_rng_seed(&a, 42, 0);
    mcr_rng_seed(&b, 42, 0);
    mcr_rng_seed(&c, 42, 1);
    int same = 1, diff = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = mcr_rng_u64(&a), y = mcr_rng_u64(&b), z = mcr_rng_u64(&c);
        same &= x == y;
        diff += x != z;
    }
    CHECK(same, "same seed, same stream differs");
    CHECK(diff > 990, "streams should differ");
    /* moments of uniform and normal, 1e6 draws: mean within 5 standard errors */
    double s = 0, s2 = 0, u = 0;
    int n = 1000000;
    size_t below[7] = {0};
    for (int i = 0; i < n; i++) {
        double z = mcr_rng_normal(&a);
        s += z;
        s2 += z * z;
        u += mcr_rng_uniform(&a);
        below[mcr_rng_below(&a, 7)]++;
    }
    CHECK(fabs(s / n) < 5 / sqrt(n), "normal mean %g", s / n);
    CHECK(fabs(s2 / n - 1) < 5 * sqrt(2.0 / n), "normal var %g", s2 / n);
    CHECK(fabs(u / n - 0.5) < 5 * sqrt(1 / 12.0 / n), "uniform mean %g", u / n);
    for (int k = 0; k < 7; k++)
        CHECK(fabs(below[k] - n / 7.0) < 5 * sqrt(n / 7.0), "below(7) bucket %d: %zu", k, below[k]);
    /* reference value: xoshiro256** from a fixed state (Vigna's reference implementation) */
    mcr_rng r = {{1, 2, 3, 4}, 0, 0};
    uint64_t first = mcr_rng_u64(&r);
    CHECK(first == 11520ull, "xoshiro256** first output %llu", (unsigned long long)first);
    uint64_t second = mcr_rng_u64(&r);
    CHECK(second == 0ull, "xoshiro256** second output %llu", (unsigned long long)second);
}

static void test_norm(void) {
    CHECK(fabs(mcr_norm_ppf(0.975) - 1.959963984540054) < 1e-12, "ppf(.975)=%.15g",
          mcr_norm_ppf(0.975));
    CHECK(fabs(mcr_norm_ppf(0.5)) < 1e-15, "ppf(.5)");
    CHECK(fabs(mcr_norm_ppf(0.8413447460685429) - 1.0) < 1e-12, "ppf(Phi(1))");
    CHECK(fabs(mcr_norm_ppf(1e-7) + 5.199337582187471) < 1e-9, "ppf(1e-7)=%.15g",
          mcr_norm_ppf(1e-7));
    for (double x = -6; x <= 6; x += 0.37)
        CHECK(fabs(mcr_norm_ppf(mcr_norm_cdf(x)) - x) < 1e-8, "ppf(cdf(%g))", x);
}

static mcr_table *rd(const char *s) {
    mcr_table *t = NULL;
    int rc = mcr_table_read_csv_mem(s, strlen(s), "t.csv", NULL, &t);
    if (rc) fprintf(stderr, "read: %s\n", mcr_last_error());
    return t;
}

static void test_quantile_hand_values(void) {
    /* x = 1..10: n_quantiles = min(1000, max(10, 10/30)) = 10 capped at n = 10, so the
     * quantiles are 1..10 and refs k/9. x=3 -> p=2/9; x=5.5 -> p=1/2; x=1 -> lower bound. */
    mcr_table *t = rd("x\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
    if (!t) return;
    int col = 0;
    mcr_encoder *e;
    CHECK(mcr_encoder_fit(t, &col, 1, NULL, 0, MCR_NUM_QUANTILE, &e) == 0, "fit");
    const mcr_encfeat *f = &e->f[0];
    CHECK(f->nq == 10, "nq %d", f->nq);
    CHECK(fabs(mcr_quantile_forward(f, 3) - mcr_norm_ppf(2.0 / 9)) < 1e-12, "x=3: %g",
          mcr_quantile_forward(f, 3));
    CHECK(fabs(mcr_norm_ppf(2.0 / 9) - (-0.7647096737863871)) < 1e-9, "ppf(2/9) reference");
    CHECK(fabs(mcr_quantile_forward(f, 5.5)) < 1e-12, "x=5.5 -> 0");
    CHECK(fabs(mcr_quantile_forward(f, 1) - mcr_norm_ppf(1e-7 - 0x1p-52)) < 1e-9, "x=1 bound");
    CHECK(fabs(mcr_quantile_forward(f, 10) + mcr_norm_ppf(1e-7 - 0x1p-52)) < 1e-9, "x=10 bound");
    /* ties: x = 1,2,3,3,3,3,3,4,5,6 (n = 10 = nq): quantiles are the sorted values, 3 fills
     * refs 2/9..6/9, so 3 maps to the middle of its run: p = (2/9 + 6/9)/2 = 4/9. */
    mcr_encoder_free(e);
    mcr_table_free(t);
    t = rd("x\n3\n1\n3\n2\n3\n4\n3\n5\n3\n6\n");
    CHECK(mcr_encoder_fit(t, &col, 1, NULL, 0, MCR_NUM_QUANTILE, &e) == 0, "fit ties");
    f = &e->f[0];
    CHECK(f->q[2] == 3 && f->q[6] == 3 && f->q[7] == 4, "quantiles");
    CHECK(fabs(mcr_quantile_forward(f, 3) - mcr_norm_ppf(4.0 / 9)) < 1e-12, "tie -> middle: %g",
          mcr_quantile_forward(f, 3));
    CHECK(mcr_quantile_inverse(f, mcr_quantile_forward(f, 3)) == 3, "tie inverse");
    CHECK(fabs(mcr_quantile_forward(f, 3.5) - mcr_norm_ppf(6.5 / 9)) < 1e-12, "3.5 -> 6.5/9");
    mcr_encoder_free(e);
    mcr_table_free(t);
    /* ties at the bounds (a column clipped at its range): x = 1,1,1,2,3,4,5,9,9,9 (n = 10 =
     * nq, refs k/9). 1 fills refs 0..2/9 and maps to the middle, p = 1/9; 9 fills refs
     * 7/9..1, p = (7/9 + 1)/2 = 8/9. scikit-learn sends both to -+5.2 (p = 0, 1), a point
     * mass far from the other values that made synthetic rows pile up at the bounds. */
    t = rd("x\n1\n9\n1\n2\n9\n3\n1\n4\n9\n5\n");
    CHECK(mcr_encoder_fit(t, &col, 1, NULL, 0, MCR_NUM_QUANTILE, &e) == 0, "fit bound ties");
    f = &e->f[0];
    CHECK(f->nq == 10, "nq %d", f->nq);
    CHECK(fabs(mcr_quantile_forward(f, 1) - mcr_norm_ppf(1.0 / 9)) < 1e-12, "tied min -> p 1/9: %g",
          mcr_quantile_forward(f, 1));
    CHECK(fabs(mcr_quantile_forward(f, 9) - mcr_norm_ppf(8.0 / 9)) < 1e-12, "tied max -> p 8/9: %g",
          mcr_quantile_forward(f, 9));
    CHECK(mcr_quantile_forward(f, 0) == mcr_quantile_forward(f, 1), "below the range = the bound");
    CHECK(mcr_quantile_inverse(f, mcr_quantile_forward(f, 1)) == 1, "tied min inverse");
    CHECK(mcr_quantile_inverse(f, mcr_quantile_forward(f, 9)) == 9, "tied max inverse");
    mcr_encoder_free(e);
    mcr_table_free(t);
}

static void test_round_trip(void) {
    /* every transform: inverse(transform(x)) == x on the training rows */
    mcr_sim_config sc;
    mcr_sim_config_default(&sc);
    sc.rows = 3000;
    mcr_table *t;
    CHECK(mcr_simulate(&sc, &t) == 0, "simulate");
    int nc = mcr_table_ncols(t);
    int cols[64];
    for (int j = 0; j < nc; j++) cols[j] = j;
    for (int kind = 0; kind < 3; kind++) {
        mcr_encoder *e;
        CHECK(mcr_encoder_fit(t, cols, nc, NULL, 0, kind, &e) == 0, "fit");
        int d = mcr_encoder_width(e);
        size_t n = mcr_table_nrows(t);
        double *x = malloc(n * d * sizeof(double));
        CHECK(mcr_encoder_transform(e, t, NULL, n, x) == 0, "transform");
        mcr_table *u;
        mcr_table_new_like(t, n, &u);
        CHECK(mcr_encoder_inverse(e, x, n, u, NULL) == 0, "inverse");
        size_t bad = 0;
        for (int j = 0; j < nc; j++)
            for (size_t i = 0; i < n; i++) {
                if (mcr_table_coltype(t, j) == MCR_COL_CATEGORICAL) {
                    bad += mcr_table_cat(t, i, j) != mcr_table_cat(u, i, j);
                } else {
                    double a = mcr_table_num(t, i, j), b = mcr_table_num(u, i, j);
                    if (isnan(a) != isnan(b) ||
                        (!isnan(a) && fabs(a - b) > 1e-5 * fmax(1, fabs(a)))) {
                        if (bad < 3) fprintf(stderr, "  kind %d col %d row %zu: %g vs %g\n", kind, j, i, a, b);
                        bad++;
                    }
                }
            }
        CHECK(bad == 0, "transform %d: %zu mismatches", kind, bad);
        free(x);
        mcr_table_free(u);
        mcr_encoder_free(e);
    }
    mcr_table_free(t);
}

static void test_missing_indicator(void) {
    mcr_table *t = rd("x,c\n1.5,a\n,b\n2.5,\n3.5,a\n");
    if (!t) return;
    int cols[2] = {0, 1};
    mcr_encoder *e;
    CHECK(mcr_encoder_fit(t, cols, 2, NULL, 0, MCR_NUM_STANDARD, &e) == 0, "fit");
    CHECK(mcr_encoder_width(e) == 2 + 3, "width %d (x, x_missing, a, b, missing)", mcr_encoder_width(e));
    double x[20];
    mcr_encoder_transform(e, t, NULL, 4, x);
    CHECK(x[1 * 5 + 1] == 1 && x[0 * 5 + 1] == 0, "indicator");
    CHECK(fabs(x[1 * 5 + 0] - (2.5 - 2.5) / e->f[0].sd) < 1e-12, "fill = median 2.5");
    CHECK(x[2 * 5 + 4] == 1, "missing category level");
    mcr_encoder_free(e);
    mcr_table_free(t);
}

static char *sim_bytes(uint64_t seed, size_t rows, size_t *len) {
    mcr_sim_config c;
    mcr_sim_config_default(&c);
    c.seed = seed;
    c.rows = rows;
    mcr_table *t;
    if (mcr_simulate(&c, &t)) return NULL;
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    mcr_table_write_csv_stream(t, f);
    fclose(f);
    mcr_table_free(t);
    return buf;
}

static void test_simulate(void) {
    size_t la, lb, lc;
    char *a = sim_bytes(7, 4000, &la), *b = sim_bytes(7, 4000, &lb), *c = sim_bytes(8, 4000, &lc);
    CHECK(a && b && la == lb && memcmp(a, b, la) == 0, "same seed, same bytes");
    CHECK(c && (la != lc || memcmp(a, c, la) != 0), "other seed, other bytes");
    /* read back and write again: byte-identical */
    mcr_table *t = NULL;
    CHECK(mcr_table_read_csv_mem(a, la, "sim.csv", NULL, &t) == 0, "%s", mcr_last_error());
    if (t) {
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        mcr_table_write_csv_stream(t, f);
        fclose(f);
        CHECK(n == la && memcmp(buf, a, la) == 0, "round trip differs");
        free(buf);
        /* counts asked for */
        mcr_sim_config sc;
        mcr_sim_config_default(&sc);
        sc.rows = 4000;
        sc.seed = 7;
        size_t gr[8], gp[8];
        mcr_sim_counts(&sc, gr, gp);
        int jr = mcr_table_find(t, "race"), jy = mcr_table_find(t, "outcome");
        int k1 = mcr_table_level_find(t, jy, "1");
        size_t tot = 0, pos = 0;
        for (int g = 0; g < mcr_sim_ngroups(); g++) {
            int code = mcr_table_level_find(t, jr, mcr_sim_group_name(g));
            size_t ng = 0, np = 0;
            for (size_t i = 0; i < mcr_table_nrows(t); i++)
                if (mcr_table_cat(t, i, jr) == code) ng++, np += mcr_table_cat(t, i, jy) == k1;
            CHECK(ng == gr[g] && np == gp[g], "group %s: %zu/%zu vs asked %zu/%zu",
                  mcr_sim_group_name(g), ng, np, gr[g], gp[g]);
            tot += ng;
            pos += np;
        }
        CHECK(tot == 4000, "total");
        CHECK(pos <= 400 && pos >= 240, "minority share %zu/4000 (asked 8%%)", pos);
        mcr_table_free(t);
    }
    free(a);
    free(b);
    free(c);
}

static void test_sort_doubles(void) {
    /* the radix sort against qsort: negatives, zeros of both signs, infinities, ties, tiny and
     * huge magnitudes, sizes around the insertion-sort cut-off */
    size_t sizes[] = {0, 1, 2, 255, 256, 257, 1000, 100000};
    mcr_rng r;
    mcr_rng_seed(&r, 11, 0);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        double *a = malloc((n + 1) * sizeof(double)), *b = malloc((n + 1) * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            double u = mcr_rng_uniform(&r), v;
            if (u < 0.05) v = i % 2 ? -0.0 : 0.0;
            else if (u < 0.07) v = i % 2 ? -INFINITY : INFINITY;
            else if (u < 0.3) v = (double)(mcr_rng_below(&r, 7)) - 3; /* ties */
            else if (u < 0.4) v = mcr_rng_normal(&r) * 1e-300;
            else v = mcr_rng_normal(&r) * pow(10, (double)mcr_rng_below(&r, 40) - 20);
            a[i] = b[i] = v;
        }
        mcr_sort_doubles(a, n);
        qsort(b, n, sizeof(double), mcr_cmp_double);
        int same = 1;
        for (size_t i = 0; i < n; i++) same &= a[i] == b[i];
        for (size_t i = 1; i < n; i++) same &= a[i - 1] <= a[i];
        CHECK(same, "n = %zu: radix sort differs from qsort", n);
        free(a), free(b);
    }
}

static void test_select_double(void) {
    /* quickselect against the sorted array, every k of small arrays and a spread of k in large
     * ones: ties (few distinct values), all equal, sorted, reversed, random */
    size_t sizes[] = {1, 2, 3, 15, 16, 17, 100, 1001, 50000};
    mcr_rng r;
    mcr_rng_seed(&r, 12, 0);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (int kind = 0; kind < 5; kind++) {
            size_t n = sizes[s];
            double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double));
            for (size_t i = 0; i < n; i++) {
                double v = kind == 0 ? mcr_rng_normal(&r) : kind == 1 ? (double)mcr_rng_below(&r, 3)
                         : kind == 2 ? 7.0 : kind == 3 ? (double)i : -(double)i;
                b[i] = v;
            }
            memcpy(a, b, n * sizeof(double));
            qsort(b, n, sizeof(double), mcr_cmp_double);
            int bad = 0;
            size_t step = n > 200 ? n / 37 : 1;
            for (size_t k = 0; k < n && !bad; k += step) {
                double got = mcr_select_double(a, n, k);
                bad = got != b[k];
                CHECK(!bad, "n = %zu, kind %d, k = %zu: %g, sorted %g", n, kind, k, got, b[k]);
            }
            double got = mcr_select_double(a, n, n - 1);
            CHECK(got == b[n - 1], "n = %zu, kind %d: largest %g, sorted %g", n, kind, got, b[n - 1]);
            free(a), free(b);
        }
}

int main(void) {
    TEST(test_rng);
    TEST(test_sort_doubles);
    TEST(test_select_double);
    TEST(test_norm);
    TEST(test_quantile_hand_values);
    TEST(test_round_trip);
    TEST(test_missing_indicator);
    TEST(test_simulate);
    return DONE();
}
