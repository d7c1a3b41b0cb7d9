/* test_bounds.c — synthetic rows do not pile up at a column's bounds. Real columns are often
 * clipped (age 95, spo2 100, a lab's detection limit): many rows tie at the min or max. Two
 * causes made synthetic rows land on the bounds about twice as often as real ones: the quantile
 * transform sent every tied bound to z = -+5.2 (a point mass far from the other values) and
 * deterministic DDIM over-spread the tails, which decoding clipped onto the bounds. Here a
 * clipped continuous column and a clipped integer column, per class: the synthetic share at
 * each bound must stay within a factor 1.5 (and 3 points) of the real share. */
#include "tabular/tabular.h"
#include "testhelp.h"

static double clip(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* share of rows of class `cls` whose column j sits at value v */
static double share_at(const mcr_table *t, int j, double v, int ycol, int cls) {
    size_t n = 0, k = 0;
    for (size_t i = 0; i < mcr_table_nrows(t); i++) {
        if (mcr_table_cat(t, i, ycol) != cls) continue;
        n++;
        if (fabs(mcr_table_num(t, i, j) - v) < 1e-9) k++;
    }
    return n ? (double)k / n : NAN;
}

static void test_no_pile_up_at_bounds(void) {
    const int N = 3000;
    char *buf = malloc((size_t)N * 32 + 32), *p = buf;
    p += sprintf(p, "x,k,y\n");
    mcr_rng r;
    mcr_rng_seed(&r, 11, 0);
    for (int i = 0; i < N; i++) {
        int y = mcr_rng_uniform(&r) < 0.3;
        double x = clip(round(10 * (mcr_rng_normal(&r) + 0.6 * y)) / 10, -1.5, 1.5);
        double k = clip(round(5 + 2 * mcr_rng_normal(&r) - y), 1, 9);
        p += sprintf(p, "%.1f,%.0f,%s\n", x, k, y ? "B" : "A");
    }
    mcr_table *t = NULL;
    int rc = mcr_table_read_csv_mem(buf, (size_t)(p - buf), "clipped.csv", NULL, &t);
    free(buf);
    CHECK(rc == 0, "%s", mcr_last_error());
    if (rc) return;
    mcr_fit_config c = th_fit_config("y", 64, 500);
    size_t counts[2] = {2000, 2000};
    mcr_table *s = th_fit_sample(t, &c, counts, NULL);
    CHECK(s != NULL, "fit and sample");
    rc = s ? 0 : -1;
    if (!rc) {
        const int jx = 0, jk = 1, jy = 2;
        struct { int j; double v; const char *what; } b[4] = {
            {jx, -1.5, "x at its min"}, {jx, 1.5, "x at its max"}, {jk, 1, "k at its min"}, {jk, 9, "k at its max"}};
        for (int cls = 0; cls < 2; cls++)
            for (int q = 0; q < 4; q++) {
                double re = share_at(t, b[q].j, b[q].v, jy, cls), sy = share_at(s, b[q].j, b[q].v, jy, cls);
                printf("  class %d, %-13s real %5.1f%%  synthetic %5.1f%%\n", cls, b[q].what, 100 * re, 100 * sy);
                CHECK(sy <= 1.5 * re + 0.005 && sy - re <= 0.03, "class %d, %s: synthetic %.1f%% vs real %.1f%%",
                      cls, b[q].what, 100 * sy, 100 * re);
            }
    }
    mcr_table_free(s);
    mcr_table_free(t);
}

int main(void) {
    TEST(test_no_pile_up_at_bounds);
    return DONE();
}
