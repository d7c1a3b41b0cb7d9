/* test_rebalance.c — target counts of each strategy, SMOTE points on segments between
 * neighbours of the same class, SMOTE-NC categorical votes, k-NN against brute force, and
 * every method end to end. */
#include "tabular/tabular.h"
#include "testhelp.h"

/* 90 rows of class A, 10 of B; groups g1/g2; x, y numeric; c categorical */
static mcr_table *data(void) {
    char buf[8192], *p = buf;
    p += sprintf(p, "x,y,c,grp,cls\n");
    mcr_rng r;
    mcr_rng_seed(&r, 3, 0);
    for (int i = 0; i < 100; i++) {
        int b = i < 10;
        p += sprintf(p, "%.4f,%.4f,%s,%s,%s\n", (b ? 3 : 0) + mcr_rng_normal(&r), mcr_rng_normal(&r),
                     i % 3 == 0 ? "u" : (b ? "v" : "w"), i % 4 == 0 ? "g2" : "g1", b ? "B" : "A");
    }
    mcr_table *t = NULL;
    mcr_table_read_csv_mem(buf, (size_t)(p - buf), "d.csv", NULL, &t);
    return t;
}

/* an augment config for target `target` with a small diffusion model (steps, two layers of width) */
static void small_cfg(mcr_augment_config *c, const char *target, int steps, int width) {
    mcr_augment_config_default(c);
    c->target = target;
    c->fit.steps = steps;
    c->fit.widths[0] = c->fit.widths[1] = width;
    c->fit.nwidths = 2;
}

static void counts(const mcr_table *t, size_t *a, size_t *b) {
    int j = mcr_table_find(t, "cls"), ka = mcr_table_level_find(t, j, "A");
    *a = *b = 0;
    for (size_t i = 0; i < mcr_table_nrows(t); i++) {
        if (mcr_table_cat(t, i, j) == ka) (*a)++;
        else (*b)++;
    }
}

static mcr_table *aug(const mcr_table *t, mcr_aug_method m, mcr_aug_strategy s, double ratio,
                      double frac, size_t *ns) {
    mcr_augment_config c;
    mcr_augment_config_default(&c);
    c.target = "cls";
    c.sensitive = "grp";
    c.method = m;
    c.strategy = s;
    c.ratio = ratio;
    c.synthetic_fraction = frac;
    c.fit.steps = 30;
    c.fit.widths[0] = c.fit.widths[1] = 32;
    c.fit.nwidths = 2;
    mcr_table *o = NULL;
    int rc = mcr_augment(t, NULL, 0, &c, &o, ns);
    if (rc) fprintf(stderr, "  augment %s: %s\n", mcr_aug_method_name(m), mcr_last_error());
    return o;
}

static void test_strategies(void) {
    mcr_table *t = data();
    size_t a, b, ns;
    mcr_table *o = aug(t, MCR_AUG_ROS, MCR_STRAT_BALANCE, 1, -1, &ns);
    counts(o, &a, &b);
    CHECK(a == 90 && b == 90 && ns == 80, "balance: %zu/%zu (+%zu)", a, b, ns);
    mcr_table_free(o);
    o = aug(t, MCR_AUG_ROS, MCR_STRAT_RATIO, 0.5, -1, &ns);
    counts(o, &a, &b);
    CHECK(a == 90 && b == 45, "ratio 0.5: %zu/%zu", a, b);
    mcr_table_free(o);
    o = aug(t, MCR_AUG_RUS, MCR_STRAT_BALANCE, 1, -1, &ns);
    counts(o, &a, &b);
    CHECK(a == 10 && b == 10 && ns == 0, "rus: %zu/%zu", a, b);
    mcr_table_free(o);
    o = aug(t, MCR_AUG_ROS, MCR_STRAT_BALANCE, 1, 0.2, &ns);
    CHECK(o && ns == 25 && mcr_table_nrows(o) == 125, "synthetic fraction 0.2: %zu of %zu", ns, o ? mcr_table_nrows(o) : 0);
    mcr_table_free(o);
    o = aug(t, MCR_AUG_NONE, MCR_STRAT_BALANCE, 1, -1, &ns);
    CHECK(o && mcr_table_nrows(o) == 100 && ns == 0, "none");
    mcr_table_free(o);
    /* group-balance: groups g1 (75 rows: 67 A, 8 B... by construction) and g2 (25) become
     * equal (the larger's size) with the overall prevalence 10% B */
    o = aug(t, MCR_AUG_ROS, MCR_STRAT_GROUP_BALANCE, 1, -1, &ns);
    int jg = mcr_table_find(o, "grp"), jc = mcr_table_find(o, "cls");
    size_t cell[2][2] = {{0}};
    for (size_t i = 0; i < mcr_table_nrows(o); i++) {
        int g = strcmp(mcr_table_level(o, jg, mcr_table_cat(o, i, jg)), "g2") == 0;
        int y = strcmp(mcr_table_level(o, jc, mcr_table_cat(o, i, jc)), "B") == 0;
        cell[g][y]++;
    }
    size_t g1 = cell[0][0] + cell[0][1], g2 = cell[1][0] + cell[1][1];
    CHECK(g1 == 75 && g2 == 75, "group sizes %zu %zu", g1, g2);
    CHECK(cell[1][1] == 8 || cell[1][1] == 7, "g2 positives ~ 10%% of 75: %zu", cell[1][1]);
    mcr_table_free(o);
    mcr_table_free(t);
}

static void test_smote_on_segments(void) {
    mcr_table *t = data();
    size_t ns;
    mcr_table *o = aug(t, MCR_AUG_SMOTE, MCR_STRAT_BALANCE, 1, -1, &ns);
    CHECK(o && ns == 80, "smote rows");
    if (!o) return;
    /* every synthetic (x, y) lies on a segment between two class-B rows */
    size_t bad = 0;
    for (size_t s = 100; s < mcr_table_nrows(o); s++) {
        double px = mcr_table_num(o, s, 0), py = mcr_table_num(o, s, 1);
        int found = 0;
        for (size_t i = 0; i < 10 && !found; i++)
            for (size_t j = 0; j < 10 && !found; j++) {
                double ax = mcr_table_num(t, i, 0), ay = mcr_table_num(t, i, 1);
                double bx = mcr_table_num(t, j, 0), by = mcr_table_num(t, j, 1);
                double dx = bx - ax, dy = by - ay, L = dx * dx + dy * dy;
                double u = L > 0 ? ((px - ax) * dx + (py - ay) * dy) / L : 0;
                double ex = ax + u * dx - px, ey = ay + u * dy - py;
                found = u >= -1e-3 && u <= 1 + 1e-3 && ex * ex + ey * ey < 1e-6;
            }
        bad += !found;
    }
    CHECK(bad == 0, "%zu synthetic points off every segment", bad);
    mcr_table_free(o);
    o = aug(t, MCR_AUG_SMOTENC, MCR_STRAT_BALANCE, 1, -1, &ns);
    CHECK(o && ns == 80, "smote-nc rows");
    int jc = mcr_table_find(o, "c");
    size_t outside = 0;
    for (size_t s = 100; o && s < mcr_table_nrows(o); s++) {
        const char *v = mcr_table_level(o, jc, mcr_table_cat(o, s, jc));
        outside += strcmp(v, "u") && strcmp(v, "v"); /* class B only has u and v */
    }
    CHECK(outside == 0, "smote-nc categorical outside the class's values: %zu", outside);
    mcr_table_free(o);
    o = aug(t, MCR_AUG_ADASYN, MCR_STRAT_BALANCE, 1, -1, &ns);
    CHECK(o && ns == 80, "adasyn rows %zu", ns);
    mcr_table_free(o);
    o = aug(t, MCR_AUG_MCRAGE, MCR_STRAT_BALANCE, 1, -1, &ns);
    size_t a, b;
    if (o) counts(o, &a, &b);
    CHECK(o && ns == 80 && a == 90 && b == 90, "mcrage rows");
    mcr_table_free(o);
    o = aug(t, MCR_AUG_MCRAGE, MCR_STRAT_GROUP_BALANCE, 1, -1, &ns);
    CHECK(o && mcr_table_nrows(o) == 150, "mcrage group-balance rows");
    mcr_table_free(o);
    mcr_table_free(t);
}

/* Brute force in double over rows XQ[nq, D], XR[nr, D]: the i-th returned neighbour's distance
 * equals the true i-th (and dist[], when given, that distance); -1 exactly where fewer
 * references than k; nobody listed twice. Returns the number of wrong entries; *selfhit counts
 * rows listed as their own neighbour. */
static double sqdist(const double *a, const double *b, int D) {
    double s = 0;
    for (int d = 0; d < D; d++) s += (a[d] - b[d]) * (a[d] - b[d]);
    return s;
}

static int brute_check(const double *XQ, const double *XR, int nq, int nr, int D, int k, int self, const int *idx,
                       const float *dist, int *selfhit) {
    int bad = 0;
    double *best = malloc(sizeof(double) * k);
    *selfhit = 0;
    for (int q = 0; q < nq; q++) {
        for (int a = 0; a < k; a++) best[a] = INFINITY;
        for (int j = 0; j < nr; j++) {
            if (self && j == q) continue;
            double s = sqdist(XQ + (size_t)q * D, XR + (size_t)j * D, D);
            for (int a = 0; a < k; a++)
                if (s < best[a]) {
                    for (int b2 = k - 1; b2 > a; b2--) best[b2] = best[b2 - 1];
                    best[a] = s;
                    break;
                }
        }
        for (int a = 0; a < k; a++) {
            int j = idx[q * k + a];
            if (j < 0 || isinf(best[a])) { /* fewer references than k: -1 exactly there */
                bad += (j < 0) != isinf(best[a]);
                continue;
            }
            *selfhit += self && j == q;
            for (int b2 = 0; b2 < a; b2++) bad += idx[q * k + b2] == j; /* listed twice */
            double s = sqdist(XQ + (size_t)q * D, XR + (size_t)j * D, D);
            if (fabs(s - best[a]) > 1e-4 * (1 + best[a])) bad++;
            if (dist && fabs(dist[q * k + a] - s) > 1e-4 * (1 + s)) bad++;
        }
    }
    free(best);
    return bad;
}

static double *to_double(const float *x, size_t n) {
    double *y = malloc(n * sizeof(double) + 1);
    for (size_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

static void knn_case(int nq, int nr, int D, int k, int self, int dup) {
    /* brute force in double: the i-th returned neighbour's distance equals the true i-th; with
     * dup, every dup-th row repeats an earlier one (exact ties) */
    float *Q = malloc(sizeof(float) * nq * D), *R = self ? Q : malloc(sizeof(float) * nr * D);
    mcr_rng r;
    mcr_rng_seed(&r, 9, 0);
    for (int i = 0; i < nq * D; i++) Q[i] = (float)mcr_rng_normal(&r);
    for (int i = 0; !self && i < nr * D; i++) R[i] = (float)mcr_rng_normal(&r);
    for (int i = dup; dup && i < nq; i += dup) memcpy(Q + i * D, Q + (i / 3) * D, sizeof(float) * D);
    int *idx = malloc(sizeof(int) * nq * k), *idx1 = malloc(sizeof(int) * nq * k);
    CHECK(mcr_knn(Q, nq, R, nr, D, k, self ? 0 : -1, idx) == 0, "knn");
    int selfhit;
    double *XQ = to_double(Q, (size_t)nq * D), *XR = self ? XQ : to_double(R, (size_t)nr * D);
    int bad = brute_check(XQ, XR, nq, nr, D, k, self, idx, NULL, &selfhit);
    free(XQ);
    if (!self) free(XR);
    CHECK(bad == 0 && selfhit == 0, "%d x %d (self %d): %d neighbours differ from brute force, %d self", nq, nr, self,
          bad, selfhit);
    /* one thread: the same lists */
    int th = mcr_get_threads();
    mcr_set_threads(1);
    CHECK(mcr_knn(Q, nq, R, nr, D, k, self ? 0 : -1, idx1) == 0, "knn 1 thread");
    mcr_set_threads(th);
    CHECK(memcmp(idx, idx1, sizeof(int) * nq * k) == 0, "1 vs %d threads differ", th);
    free(idx), free(idx1), free(Q);
    if (!self) free(R);
}

static void test_knn_brute_force(void) {
    knn_case(300, 517, 7, 5, 0, 0);    /* one query tile, ragged reference tiles */
    knn_case(1300, 700, 30, 5, 0, 0);  /* several query tiles */
    knn_case(1100, 1100, 12, 8, 1, 0); /* self-neighbours left out (SMOTE's case: each pair once) */
    knn_case(2000, 2000, 30, 5, 1, 0); /* 8 x 8 blocks of the pairs' upper triangle */
    knn_case(900, 900, 5, 6, 1, 7);    /* exact duplicates: ties */
    knn_case(3, 3, 4, 5, 1, 0);        /* fewer rows than k: -1 left */
}

/* mcr_knn_mixed against brute force on the one-hot rows themselves: nq queries, nr references,
 * dn numeric dims, nc categoricals of `lev` levels (some rows with no level), one-hot dims scaled
 * by sqrt(w); the neighbours' distances equal the k smallest, no row is its own neighbour with
 * self, and one thread gives the same lists */
static void knn_mixed_case(int nq, int nr, int dn, int nc, int lev, int k, int self, float w) {
    mcr_rng r;
    mcr_rng_seed(&r, (uint64_t)(nq * 31 + nr + dn), 0);
    mcr_mixed Q = {.n = (size_t)nq, .dn = dn, .nc = nc}, R;
    Q.N = malloc(sizeof(float) * nq * dn + 1), Q.L = malloc(sizeof(int32_t) * nq * nc + 1);
    for (int i = 0; i < nq * dn; i++) Q.N[i] = (float)mcr_rng_normal(&r);
    for (int i = 0; i < nq * nc; i++) Q.L[i] = mcr_rng_uniform(&r) < 0.1 ? -1 : (int32_t)mcr_rng_below(&r, (uint64_t)lev);
    if (self) R = Q;
    else {
        R = (mcr_mixed){.n = (size_t)nr, .dn = dn, .nc = nc};
        R.N = malloc(sizeof(float) * nr * dn + 1), R.L = malloc(sizeof(int32_t) * nr * nc + 1);
        for (int i = 0; i < nr * dn; i++) R.N[i] = (float)mcr_rng_normal(&r);
        for (int i = 0; i < nr * nc; i++) R.L[i] = (int32_t)mcr_rng_below(&r, (uint64_t)lev) - (i % 17 == 0);
    }
    int D = dn + nc * lev, *idx = malloc(sizeof(int) * nq * k), *idx1 = malloc(sizeof(int) * nq * k), bad = 0,
        selfhit = 0;
    float *dist = malloc(sizeof(float) * nq * k);
    /* the dense one-hot rows, scaled */
    double *XQ = calloc((size_t)nq * D, sizeof(double)), *XR = calloc((size_t)nr * D, sizeof(double));
    for (int pass = 0; pass < 2; pass++) {
        const mcr_mixed *M = pass ? &R : &Q;
        double *X = pass ? XR : XQ;
        for (size_t i = 0; i < M->n; i++) {
            for (int f = 0; f < dn; f++) X[i * D + f] = M->N[i * dn + f];
            for (int c = 0; c < nc; c++)
                if (M->L[i * nc + c] >= 0) X[i * D + dn + c * lev + M->L[i * nc + c]] = sqrt(w);
        }
    }
    CHECK(mcr_knn_mixed(&Q, &R, w, k, self, idx, dist) == 0, "knn_mixed: %s", mcr_last_error());
    bad = brute_check(XQ, XR, nq, nr, D, k, self, idx, dist, &selfhit);
    CHECK(bad == 0 && selfhit == 0, "mixed %d x %d (self %d): %d neighbours differ from brute force, %d self", nq,
          nr, self, bad, selfhit);
    int th = mcr_get_threads();
    mcr_set_threads(1);
    CHECK(mcr_knn_mixed(&Q, &R, w, k, self, idx1, NULL) == 0, "knn_mixed 1 thread");
    mcr_set_threads(th);
    CHECK(memcmp(idx, idx1, sizeof(int) * nq * k) == 0, "mixed: 1 vs %d threads differ", th);
    free(idx), free(idx1), free(dist), free(XQ), free(XR);
    free(Q.N), free(Q.L);
    if (!self) free(R.N), free(R.L);
}

static void test_knn_mixed(void) {
    knn_mixed_case(300, 517, 3, 4, 9, 5, 0, 1.0f);   /* ragged reference blocks, missing levels */
    knn_mixed_case(700, 700, 2, 6, 40, 5, 1, 0.3f);  /* self (SMOTE-NC's weight), many levels */
    knn_mixed_case(200, 200, 0, 3, 3, 6, 1, 1.0f);   /* categoricals only: many exact ties */
    knn_mixed_case(4, 4, 2, 1, 5, 5, 1, 1.0f);       /* fewer rows than k */
}

/* a wide table (a 60-level categorical beside one numeric) takes the compact path: SMOTE-NC's
 * rows keep the class's own levels (the neighbours' vote) and numerics on the segment's range */
static void test_smote_wide(void) {
    char *buf = malloc(200000), *p = buf;
    p += sprintf(p, "x,c,y\n");
    mcr_rng r;
    mcr_rng_seed(&r, 4, 0);
    for (int i = 0; i < 1200; i++) {
        int y = i % 6 == 0;
        /* minority rows use levels 0..9 only, the majority all 60 */
        int c = y ? (int)mcr_rng_below(&r, 10) : (int)mcr_rng_below(&r, 60);
        p += sprintf(p, "%.3f,L%d,%d\n", mcr_rng_normal(&r) + 2 * y, c, y);
    }
    mcr_table *t = NULL;
    CHECK(mcr_table_read_csv_mem(buf, (size_t)(p - buf), "wide.csv", NULL, &t) == 0, "%s", mcr_last_error());
    free(buf);
    if (!t) return;
    const mcr_aug_method ms[] = {MCR_AUG_SMOTE, MCR_AUG_SMOTENC, MCR_AUG_ADASYN};
    for (int m = 0; m < 3; m++) {
        mcr_augment_config c;
        mcr_augment_config_default(&c);
        c.target = "y";
        c.method = ms[m];
        c.seed = 3;
        mcr_table *o = NULL;
        size_t ns = 0;
        int rc = mcr_augment(t, NULL, 0, &c, &o, &ns);
        CHECK(rc == 0 && o && ns == 800, "%s", mcr_last_error());
        if (!o) continue;
        size_t bad = 0, syn = 0;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < t->nrows; i++)
            if (!strcmp(t->cols[2].levels[t->cols[2].cat[i]], "1")) lo = fmin(lo, t->cols[0].num[i]), hi = fmax(hi, t->cols[0].num[i]);
        for (size_t i = t->nrows; i < o->nrows; i++, syn++) {
            const char *lv = o->cols[1].levels[o->cols[1].cat[i]];
            int lev = atoi(lv + 1);
            bad += lev >= 10 || o->cols[0].num[i] < lo - 1e-9 || o->cols[0].num[i] > hi + 1e-9;
        }
        CHECK(syn == 800 && bad == 0, "method %d: %zu synthetic rows, %zu outside the minority's levels or range",
              m, syn, bad);
        mcr_table_free(o);
    }
    mcr_table_free(t);
}

/* nearest-row distances of a wide table (DCR, membership inference) by compact rows equal the
 * dense one-hot rows' (mcr_nn_dist), missing values and unseen-in-reference levels included */
static void test_nnref_wide(void) {
    char *buf = malloc(100000), *p = buf;
    p += sprintf(p, "x,z,c,d\n");
    mcr_rng r;
    mcr_rng_seed(&r, 8, 0);
    for (int i = 0; i < 600; i++) {
        if (i % 13 == 0) p += sprintf(p, ",");
        else p += sprintf(p, "%.3f,", mcr_rng_normal(&r));
        p += sprintf(p, "%.2f,L%d,", mcr_rng_normal(&r), (int)mcr_rng_below(&r, 40));
        if (i % 7 == 0) p += sprintf(p, "\n");
        else p += sprintf(p, "M%d\n", (int)mcr_rng_below(&r, 25));
    }
    mcr_table *t = NULL;
    CHECK(mcr_table_read_csv_mem(buf, (size_t)(p - buf), "w.csv", NULL, &t) == 0, "%s", mcr_last_error());
    free(buf);
    if (!t) return;
    int cols[4] = {0, 1, 2, 3};
    size_t ref[400], qr[200];
    for (int i = 0; i < 400; i++) ref[i] = (size_t)i;
    for (int i = 0; i < 200; i++) qr[i] = (size_t)(400 + i);
    mcr_encoder *e = NULL;
    CHECK(mcr_encoder_fit(t, cols, 4, NULL, 0, MCR_NUM_STANDARD, &e) == 0, "fit");
    if (!e) return mcr_table_free(t);
    CHECK(mcr_encoder_is_wide(e), "a 40- and a 25-level column beside two numerics: wide (d = %d)", e->d);
    mcr_nnref R;
    double dc[200], dd[200];
    float *XR = NULL, *XQ = NULL;
    int rc = mcr_nnref_make(e, t, ref, 400, &R);
    CHECK(rc == 0 && R.compact, "nnref compact");
    if (!rc) rc = mcr_nnref_dist(e, t, qr, 200, &R, dc);
    if (!rc) rc = mcr_encoder_transform_float(e, t, ref, 400, &XR);
    if (!rc) rc = mcr_encoder_transform_float(e, t, qr, 200, &XQ);
    if (!rc) rc = mcr_nn_dist(XQ, 200, XR, 400, e->d, dd);
    CHECK(rc == 0, "%s", mcr_last_error());
    double err = 0;
    for (int i = 0; !rc && i < 200; i++) err = fmax(err, fabs(dc[i] - dd[i]));
    CHECK(err < 1e-4, "compact vs dense nearest distances: max abs diff %g", err);
    free(XR), free(XQ);
    mcr_nnref_free(&R);
    mcr_encoder_free(e);
    mcr_table_free(t);
}

static void test_bad_config(void) {
    mcr_table *t = data();
    mcr_augment_config c;
    mcr_augment_config_default(&c);
    mcr_table *o;
    size_t ns;
    c.target = "nosuch";
    CHECK(mcr_augment(t, NULL, 0, &c, &o, &ns) == MCR_EINVAL, "unknown target");
    c.target = "cls";
    c.strategy = MCR_STRAT_RATIO;
    c.ratio = -1;
    CHECK(mcr_augment(t, NULL, 0, &c, &o, &ns) == MCR_EINVAL && strstr(mcr_last_error(), "ratio"), "ratio -1");
    c.strategy = MCR_STRAT_GROUP_BALANCE;
    CHECK(mcr_augment(t, NULL, 0, &c, &o, &ns) == MCR_EINVAL && strstr(mcr_last_error(), "sensitive column"), "group-balance needs sensitive");
    /* no rows, or a single class: refused, nothing returned (was: the input copied) */
    c.strategy = MCR_STRAT_BALANCE;
    c.method = MCR_AUG_ROS;
    size_t none[1] = {0};
    mcr_augment_result *r = (mcr_augment_result *)1;
    CHECK(mcr_augment_run(t, none, 0, &c, &r) == MCR_EINVAL && !r && strstr(mcr_last_error(), "no rows"), "no rows: %s", mcr_last_error());
    size_t first[5] = {20, 21, 22, 23, 24}; /* all of class A */
    CHECK(mcr_augment_run(t, first, 5, &c, &r) == MCR_EINVAL && !r && strstr(mcr_last_error(), "single class"), "one class: %s", mcr_last_error());
    mcr_table_free(t);
    mcr_table *e = NULL;
    mcr_table_read_csv_mem("x,cls\n", 6, "e.csv", NULL, &e);
    CHECK(e && mcr_augment_run(e, NULL, 0, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "no rows"), "header only");
    mcr_table_free(e);
}

/* a sensitive column of a few integer codes is usable as groups; a continuous one is refused
 * with a hint at --categorical */
static void test_integer_groups(void) {
    char buf[8192], *p = buf;
    p += sprintf(p, "x,stage,cont,cls\n");
    for (int i = 0; i < 80; i++) p += sprintf(p, "%d.5,%d,%d.25,%s\n", i, 1 + (i % 7) % 4, i, i % 5 ? "A" : "B");
    mcr_table *t = NULL;
    mcr_table_read_csv_mem(buf, (size_t)(p - buf), "s.csv", NULL, &t);
    CHECK(t && mcr_table_coltype(t, mcr_table_find(t, "stage")) == MCR_COL_INTEGER, "stage reads as integer");
    mcr_augment_config c;
    mcr_augment_config_default(&c);
    c.target = "cls";
    c.sensitive = "stage";
    c.method = MCR_AUG_ROS;
    c.strategy = MCR_STRAT_GROUP_BALANCE;
    mcr_augment_result *r = NULL;
    CHECK(mcr_augment_run(t, NULL, 0, &c, &r) == 0, "integer groups: %s", mcr_last_error());
    if (r) {
        int j = mcr_table_find(r->table, "stage");
        CHECK(mcr_table_coltype(r->table, j) == MCR_COL_CATEGORICAL && mcr_table_nlevels(r->table, j) == 4 &&
                  !strcmp(mcr_table_level(r->table, j, 0), "1") && !strcmp(mcr_table_level(r->table, j, 3), "4"),
              "stage as levels 1..4");
        CHECK(r->nreal == 80 && r->nsynth > 0 && mcr_table_nrows(r->table) == 80 + r->nsynth, "counts %zu + %zu", r->nreal, r->nsynth);
    }
    mcr_augment_result_free(r);
    r = NULL;
    c.sensitive = "cont";
    CHECK(mcr_augment_run(t, NULL, 0, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "`categorical` cont") &&
              strstr(mcr_last_error(), "sensitive column 'cont'"), "continuous refused: %s", mcr_last_error());
    /* the minority finder: ties give no single minority */
    size_t k1[3] = {5, 2, 9}, k2[3] = {5, 5, 9}, k3[3] = {0, 0, 0};
    int u = -1;
    CHECK(mcr_minority_class(k1, 3, &u) == 1 && u == 1, "rarest");
    CHECK(mcr_minority_class(k2, 3, &u) == 0 && u == 0, "tie");
    CHECK(mcr_minority_class(k3, 3, &u) == -1 && u == 0, "no rows");
    /* the one quantile rule */
    double v[5] = {0, 1, 2, 3, 4};
    CHECK(mcr_quantile_sorted(v, 5, 0.5) == 2 && fabs(mcr_quantile_sorted(v, 5, 0.01) - 0.04) < 1e-12 &&
              isnan(mcr_quantile_sorted(v, 0, 0.5)), "quantile");
    mcr_table_free(t);
}

static void test_copy_guard(void) {
    /* a table of 4 distinct rows per class, repeated: an exact copy is likely; after resampling
     * none may be left, and the counts are reported */
    char buf[4096], *p = buf;
    p += sprintf(p, "a,b,cls\n");
    for (int i = 0; i < 200; i++) p += sprintf(p, "%s,%s,%s\n", i % 2 ? "x" : "y", i % 4 < 2 ? "u" : "v", i < 180 ? "A" : "B");
    mcr_table *t = NULL;
    mcr_table_read_csv_mem(buf, (size_t)(p - buf), "c.csv", NULL, &t);
    mcr_augment_config c;
    small_cfg(&c, "cls", 50, 16);
    c.keep_copies = 1;
    mcr_augment_result *r = NULL;
    CHECK(mcr_augment_run(t, NULL, 0, &c, &r) == 0, "augment: %s", mcr_last_error());
    /* with only categorical columns drawn from the training levels, copies are certain */
    CHECK(r && r->copies_found > 0 && r->copies_left == r->copies_found && !r->copies_resampled && !r->model,
          "counted copies %zu (left %zu)", r ? r->copies_found : 0, r ? r->copies_left : 0);
    mcr_augment_result_free(r);
    mcr_table_free(t);
    /* numeric data: copies are improbable but counted, and zero remain after resampling */
    t = data();
    c.target = "cls";
    c.keep_copies = 0;
    c.keep_model = 1;
    r = NULL;
    CHECK(mcr_augment_run(t, NULL, 0, &c, &r) == 0 && r, "augment");
    if (r) {
        CHECK(r->copies_left == 0 && r->copies_found <= r->nsynth, "left %zu of found %zu", r->copies_left, r->copies_found);
        /* DCR: a positive threshold from real holdout rows, and a count among the synthetic rows */
        CHECK(r->dcr_threshold > 0 && isfinite(r->dcr_threshold) && r->dcr_close <= r->nsynth, "DCR threshold %g, close %zu of %zu",
              r->dcr_threshold, r->dcr_close, r->nsynth);
        CHECK(r->model && mcr_model_ncond(r->model) == 2, "the model is kept in the result");
        char *js = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&js, &n);
        mcr_augment_write_json(r, "d.csv", "o.csv", f);
        fclose(f);
        CHECK(js && strstr(js, "\"dcr_holdout_p01\":") && strstr(js, "\"data\":\"d.csv\"") && strstr(js, "\"copies_resampled\":true"),
              "json: %s", js ? js : "");
        free(js);
    }
    mcr_augment_result_free(r);
    mcr_table_free(t);
}

static void test_counts_strategy(void) {
    /* "CLASS=N": exactly N rows added to each named class (rus: N kept), whatever the method */
    mcr_table *t = data();
    mcr_aug_method ms[] = {MCR_AUG_ROS, MCR_AUG_SMOTE, MCR_AUG_MCRAGE};
    for (int i = 0; i < 3; i++) {
        mcr_augment_config c;
        mcr_augment_config_default(&c);
        c.target = "cls";
        c.method = ms[i];
        c.strategy = MCR_STRAT_COUNTS;
        c.counts = "B=7,A=3";
        c.fit.steps = 20;
        c.fit.widths[0] = c.fit.widths[1] = 32;
        c.fit.nwidths = 2;
        mcr_table *o = NULL;
        size_t ns = 0, a, b;
        int rc = mcr_augment(t, NULL, 0, &c, &o, &ns);
        CHECK(rc == 0, "%s: %s", mcr_aug_method_name(ms[i]), mcr_last_error());
        if (rc) continue;
        counts(o, &a, &b);
        CHECK(a == 93 && b == 17 && ns == 10, "%s counts: %zu/%zu (+%zu)", mcr_aug_method_name(ms[i]), a, b, ns);
        mcr_table_free(o);
    }
    {   /* synthetic_only: the same new rows, without the real ones */
        mcr_augment_config c;
        mcr_augment_config_default(&c);
        c.target = "cls";
        c.method = MCR_AUG_SMOTE;
        mcr_augment_result *full = NULL, *only = NULL;
        CHECK(mcr_augment_run(t, NULL, 0, &c, &full) == 0, "%s", mcr_last_error());
        c.synthetic_only = 1;
        CHECK(mcr_augment_run(t, NULL, 0, &c, &only) == 0, "%s", mcr_last_error());
        if (full && only) {
            CHECK(only->nreal == 0 && only->nsynth == 80 && mcr_table_nrows(only->table) == 80, "synthetic only: %zu + %zu",
                  only->nreal, only->nsynth);
            mcr_table *tail = NULL;
            mcr_table_slice(full->table, full->nreal, full->nsynth, &tail);
            char *a = th_csv(tail), *b = th_csv(only->table);
            CHECK(a && b && !strcmp(a, b), "synthetic rows differ");
            free(a), free(b);
            mcr_table_free(tail);
        }
        mcr_augment_result_free(full), mcr_augment_result_free(only);
    }
    mcr_augment_config c;
    mcr_augment_config_default(&c);
    c.target = "cls";
    c.method = MCR_AUG_RUS;
    c.strategy = MCR_STRAT_COUNTS;
    c.counts = "A=20";
    mcr_table *o = NULL;
    size_t a, b;
    CHECK(mcr_augment(t, NULL, 0, &c, &o, NULL) == 0, "rus counts: %s", mcr_last_error());
    if (o) {
        counts(o, &a, &b);
        CHECK(a == 20 && b == 10, "rus keeps A=20 and all of B (unnamed): %zu/%zu", a, b);
    }
    mcr_table_free(o), o = NULL;
    const char *bad[] = {"C=3", "B=x", "B=-1", "B", NULL};
    const char *msg[] = {"no class 'C'", "not a row count", "not a row count", "NAME=N", "needs `counts`"};
    c.method = MCR_AUG_ROS;
    for (int i = 0; i < 5; i++) {
        c.counts = bad[i];
        int rc = mcr_augment(t, NULL, 0, &c, &o, NULL);
        CHECK(rc == MCR_EINVAL && strstr(mcr_last_error(), msg[i]), "bad counts %s: %d %s", bad[i] ? bad[i] : "NULL", rc, mcr_last_error());
        mcr_table_free(o), o = NULL;
    }
    mcr_table_free(t);
}

/* stroke-like (a unique integer id) and diabetes-like (a unique encounter_id and a repeated
 * patient_nbr) fixtures: no method writes a real identifier into a synthetic row */
static mcr_table *id_fixture(int diabetes) {
    char *buf = malloc(100000), *p = buf;
    p += sprintf(p, diabetes ? "encounter_id,patient_nbr,x,c,y\n" : "id,x,c,y\n");
    mcr_rng r;
    mcr_rng_seed(&r, 4, 0);
    for (int i = 0; i < 400; i++) {
        int y = i % 8 == 0;
        if (diabetes) p += sprintf(p, "%d,%d,", 100000 + 7 * i, 5000 + i / 2);
        else p += sprintf(p, "%d,", 9000 + 13 * i);
        p += sprintf(p, "%.3f,%s,%d\n", mcr_rng_normal(&r) + 2 * y, i % 3 ? "a" : "b", y);
    }
    mcr_table *t = NULL;
    mcr_table_read_csv_mem(buf, (size_t)(p - buf), "ids.csv", NULL, &t);
    free(buf);
    return t;
}

static void test_identifiers_never_synthesised(void) {
    mcr_aug_method ms[] = {MCR_AUG_ROS, MCR_AUG_SMOTE, MCR_AUG_SMOTENC, MCR_AUG_ADASYN, MCR_AUG_MCRAGE};
    for (int dia = 0; dia < 2; dia++) {
        mcr_table *t = id_fixture(dia);
        CHECK(t != NULL, "fixture");
        if (!t) continue;
        const char *idc[2] = {dia ? "encounter_id" : "id", dia ? "patient_nbr" : NULL};
        for (int m = 0; m < 5; m++)
            for (int pre = 0; pre < 2; pre++) {
                mcr_augment_config c;
                mcr_augment_config_default(&c);
                c.target = "y";
                c.method = ms[m];
                c.fit.steps = 20;
                c.fit.widths[0] = c.fit.widths[1] = 16;
                c.fit.nwidths = 2;
                c.synthetic_id_prefix = pre ? "SYN-" : NULL;
                mcr_augment_result *ar = NULL;
                CHECK(mcr_augment_run(t, NULL, 0, &c, &ar) == 0, "%s: %s", mcr_aug_method_name(ms[m]), mcr_last_error());
                if (!ar) continue;
                const mcr_table *o = ar->table;
                for (int k = 0; k < 2 && idc[k]; k++) {
                    int j = mcr_table_find(o, idc[k]), jr = mcr_table_find(t, idc[k]);
                    size_t bad = 0, tokens = 0;
                    for (size_t i = ar->nreal; i < mcr_table_nrows(o); i++) {
                        if (mcr_table_coltype(o, j) == MCR_COL_CATEGORICAL) {
                            int code = mcr_table_cat(o, i, j);
                            const char *sp = code >= 0 ? mcr_table_level(o, j, code) : NULL;
                            if (sp && !strncmp(sp, "SYN-", 4)) tokens++;
                            else if (sp) bad++;
                        } else if (!isnan(mcr_table_num(o, i, j))) {
                            double v = mcr_table_num(o, i, j);
                            for (size_t q = 0; q < mcr_table_nrows(t); q++) bad += mcr_table_num(t, q, jr) == v;
                        }
                    }
                    CHECK(bad == 0, "%s %s prefix %d: %zu synthetic rows carry a real %s", dia ? "diabetes" : "stroke",
                          mcr_aug_method_name(ms[m]), pre, bad, idc[k]);
                    size_t want = pre && (k == 0 || dia) ? ar->nsynth : 0;
                    if (pre) CHECK(tokens == want, "%s: %zu tokens of %zu", idc[k], tokens, want);
                    /* the real rows keep their ids, spelled as before */
                    if (pre && mcr_table_coltype(o, j) == MCR_COL_CATEGORICAL)
                        CHECK(mcr_table_num(t, 0, jr) == atof(mcr_table_level(o, j, mcr_table_cat(o, 0, j))), "real id kept");
                }
                mcr_augment_result_free(ar);
            }
        mcr_table_free(t);
    }
    /* a prefix whose token is a real value is refused */
    const char *csv = "code,x,y\nA1,1,0\nA2,2,0\nA3,3,0\nA4,4,1\nA5,5,0\nA6,6,0\nA7,7,0\nA8,8,0\nA9,9,0\nA10,1,1\n"
                      "A11,2,0\nA12,3,0\nA13,4,0\nA14,5,0\nA15,6,0\nA16,7,0\nA17,8,0\nA18,9,1\nA19,1,0\nA20,2,0\nA21,3,0\n";
    mcr_table *t = NULL;
    mcr_table_read_csv_mem(csv, strlen(csv), "codes.csv", NULL, &t);
    mcr_augment_config c;
    mcr_augment_config_default(&c);
    c.target = "y";
    c.method = MCR_AUG_ROS;
    c.synthetic_id_prefix = "A";
    mcr_augment_result *ar = NULL;
    int rc = t ? mcr_augment_run(t, NULL, 0, &c, &ar) : -1;
    CHECK(rc == MCR_EINVAL && strstr(mcr_last_error(), "'A1' is a real value"), "collision: %d %s", rc, mcr_last_error());
    mcr_augment_result_free(ar);
    mcr_table_free(t);
}

/* The model's per-row denoising loss: rows typical of their class score lower than rows far
 * from it, on a numeric column (the Gaussian part) and on a level the class never has (the
 * multinomial part); the same seed gives the same values; bad arguments are refused. */
static void test_row_loss(void) {
    mcr_table *t = data(); /* B: x ~ N(3, 1), c in {u, v}; A: x ~ N(0, 1), c in {u, w} */
    mcr_fit_config fc;
    mcr_fit_config_default(&fc);
    fc.target = "cls";
    fc.steps = 400;
    fc.widths[0] = fc.widths[1] = 64;
    fc.nwidths = 2;
    mcr_model *m = NULL;
    CHECK(t && mcr_model_fit(t, NULL, 0, &fc, &m) == 0, "fit: %s", mcr_last_error());
    if (!m) return mcr_table_free(t);
    /* 3 row kinds, 20 of each, all of class B: typical (x 3, c v), far (x -4, c v), an unseen level (x 3, c w) */
    char buf[4096], *p = buf;
    p += sprintf(p, "x,y,c,grp,cls\n");
    mcr_rng r;
    mcr_rng_seed(&r, 9, 0);
    for (int i = 0; i < 60; i++)
        p += sprintf(p, "%.4f,%.4f,%s,g1,B\n", (i / 20 == 1 ? -4 : 3) + 0.3 * mcr_rng_normal(&r), 0.3 * mcr_rng_normal(&r),
                     i / 20 == 2 ? "w" : "v");
    /* the model's own columns and levels: the rows read against the training table's levels */
    mcr_table *q = NULL, *all = NULL;
    mcr_table_read_csv_mem(buf, (size_t)(p - buf), "q.csv", NULL, &q);
    CHECK(q && mcr_table_new_like(t, 0, &all) == 0 && mcr_table_append(all, q) == 0, "rows: %s", mcr_last_error());
    double *l = malloc(60 * sizeof(double)), *l2 = malloc(60 * sizeof(double)), mean[3] = {0, 0, 0};
    CHECK(all && mcr_model_row_loss(m, all, 8, 5, l) == 0, "row loss: %s", mcr_last_error());
    for (int i = 0; i < 60; i++) mean[i / 20] += l[i] / 20;
    CHECK(isfinite(mean[0]) && mean[0] > 0, "typical rows' loss %g", mean[0]);
    CHECK(mean[1] > 1.5 * mean[0], "numeric outliers: %g vs typical %g", mean[1], mean[0]);
    CHECK(mean[2] > 1.5 * mean[0], "a level class B never has: %g vs typical %g", mean[2], mean[0]);
    CHECK(mcr_model_row_loss(m, all, 8, 5, l2) == 0 && !memcmp(l, l2, 60 * sizeof(double)), "same seed, same losses");
    CHECK(mcr_model_row_loss(m, all, 0, 5, l2) == MCR_EINVAL && strstr(mcr_last_error(), "time steps"), "nt 0 refused");
    free(l), free(l2);
    mcr_table_free(q), mcr_table_free(all);
    mcr_model_free(m);
    mcr_table_free(t);
}

/* mcrage's selections on one shared model (prefit): the same counts as mcrage; plausible keeps
 * rows of lower denoising loss than mcrage's, boundary keeps rows nearer the classes' boundary
 * (x = 1.5 between A at 0 and B at 3) than mcrage's; a prefitted model conditioned otherwise
 * and a pool out of range are refused. */
static void test_selections(void) {
    mcr_table *t = data();
    mcr_augment_config c;
    small_cfg(&c, "cls", 400, 64);
    c.keep_model = 1;
    mcr_augment_result *base = NULL, *sel[2] = {NULL, NULL};
    CHECK(t && mcr_augment_run(t, NULL, 0, &c, &base) == 0 && base->model, "mcrage: %s", mcr_last_error());
    if (!base) return mcr_table_free(t);
    c.prefit = base->model;
    c.keep_model = 0;
    mcr_aug_method ms[2] = {MCR_AUG_MCRAGE_PLAUSIBLE, MCR_AUG_MCRAGE_BOUNDARY};
    for (int k = 0; k < 2; k++) {
        c.method = ms[k];
        CHECK(mcr_augment_run(t, NULL, 0, &c, &sel[k]) == 0, "%s: %s", mcr_aug_method_name(ms[k]), mcr_last_error());
        CHECK(sel[k] && sel[k]->nsynth == base->nsynth && !sel[k]->model, "%s: %zu rows vs %zu", mcr_aug_method_name(ms[k]),
              sel[k] ? sel[k]->nsynth : 0, base->nsynth);
    }
    if (sel[0] && sel[1]) {
        /* mean row loss of the synthetic rows: plausible's below mcrage's */
        mcr_table *syn[2] = {NULL, NULL};
        const mcr_augment_result *rs[2] = {base, sel[0]};
        double ml[2] = {0, 0};
        for (int k = 0; k < 2; k++) {
            size_t n = rs[k]->nsynth, *idx = malloc((n + 1) * sizeof(size_t));
            for (size_t i = 0; i < n; i++) idx[i] = rs[k]->nreal + i;
            double *l = malloc((n + 1) * sizeof(double));
            CHECK(mcr_table_take(rs[k]->table, idx, n, &syn[k]) == 0 && mcr_model_row_loss(base->model, syn[k], 8, 77, l) == 0,
                  "row loss: %s", mcr_last_error());
            for (size_t i = 0; i < n; i++) ml[k] += l[i] / n;
            free(idx), free(l);
            mcr_table_free(syn[k]);
        }
        CHECK(ml[1] < 0.9 * ml[0], "plausible rows' loss %g, mcrage's %g", ml[1], ml[0]);
        /* distance to the boundary x = 1.5: boundary's below mcrage's */
        const mcr_augment_result *rb[2] = {base, sel[1]};
        double dist[2] = {0, 0};
        for (int k = 0; k < 2; k++) {
            int jx = mcr_table_find(rb[k]->table, "x");
            for (size_t i = rb[k]->nreal; i < mcr_table_nrows(rb[k]->table); i++)
                dist[k] += fabs(mcr_table_num(rb[k]->table, i, jx) - 1.5) / rb[k]->nsynth;
        }
        CHECK(dist[1] < 0.8 * dist[0], "boundary rows' distance to x = 1.5: %g, mcrage's %g", dist[1], dist[0]);
    }
    /* refused: a model conditioned on the class alone for group-balance; a pool of 0.5 */
    mcr_augment_result *bad = NULL;
    c.method = MCR_AUG_MCRAGE;
    c.sensitive = "grp";
    c.strategy = MCR_STRAT_GROUP_BALANCE;
    CHECK(mcr_augment_run(t, NULL, 0, &c, &bad) == MCR_EINVAL && strstr(mcr_last_error(), "conditioned otherwise"), "prefit mismatch: %s",
          mcr_last_error());
    c.sensitive = NULL;
    c.strategy = MCR_STRAT_BALANCE;
    c.method = MCR_AUG_MCRAGE_PLAUSIBLE;
    c.select_pool = 0.5;
    CHECK(mcr_augment_run(t, NULL, 0, &c, &bad) == MCR_EINVAL && strstr(mcr_last_error(), "select_pool"), "pool 0.5: %s",
          mcr_last_error());
    mcr_augment_result_free(bad);
    for (int k = 0; k < 2; k++) mcr_augment_result_free(sel[k]);
    mcr_augment_result_free(base);
    mcr_table_free(t);
}

int main(void) {
    TEST(test_copy_guard);
    mcr_set_threads(2);
    TEST(test_strategies);
    TEST(test_counts_strategy);
    TEST(test_identifiers_never_synthesised);
    TEST(test_smote_on_segments);
    TEST(test_knn_brute_force);
    TEST(test_knn_mixed);
    TEST(test_smote_wide);
    TEST(test_nnref_wide);
    TEST(test_bad_config);
    TEST(test_integer_groups);
    TEST(test_row_loss);
    TEST(test_selections);
    return DONE();
}
