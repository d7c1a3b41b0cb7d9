/* test_metrics.c — every metric on small cases worked out by hand (see the comments). */
#include "eval/eval.h"
#include "testhelp.h"

#define NEAR(a, b) (fabs((a) - (b)) < 1e-12)

/* y = 0 0 1 1 0 1, p(1) = .1 .4 .35 .8 .4 .4 -> predictions 0 0 0 1 0 0 */
static const int Y[6] = {0, 0, 1, 1, 0, 1};
static const double P1[6] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4};

static void probs(const double *p1, size_t n, double *p) {
    for (size_t i = 0; i < n; i++) p[2 * i] = 1 - p1[i], p[2 * i + 1] = p1[i];
}

static void test_binary_hand_case(void) {
    double p[12];
    probs(P1, 6, p);
    mcr_metrics m;
    CHECK(mcr_metrics_compute(Y, p, 6, 2, 1, &m) == 0, "compute");
    /* AUROC: pairs (pos, neg): .35 beats .1 only (1); .8 beats all (3); .4 beats .1 and ties
     * two .4s (1 + 0.5 + 0.5) -> 6/9 */
    CHECK(NEAR(m.auroc, 6.0 / 9), "auroc %g", m.auroc);
    CHECK(NEAR(m.accuracy, 4.0 / 6), "accuracy %g", m.accuracy);
    /* class 1: P = 1/1, R = 1/3, F1 = .5; class 0: P = 3/5, R = 1, F1 = .75 */
    CHECK(NEAR(m.precision_minority, 1) && NEAR(m.recall_minority, 1.0 / 3), "P/R");
    CHECK(NEAR(m.f1_minority, 0.5), "f1 minority %g", m.f1_minority);
    CHECK(NEAR(m.f1_macro, 0.625), "macro f1 %g", m.f1_macro);
    CHECK(NEAR(m.balanced_accuracy, (1 + 1.0 / 3) / 2), "balanced accuracy %g", m.balanced_accuracy);
    CHECK(NEAR(m.selection_rate, 1.0 / 6) && NEAR(m.tpr, 1.0 / 3) && NEAR(m.fpr, 0), "rates");
    /* AP: thresholds .8 (R 1/3, P 1), .4 (R 2/3, P 2/4), .35 (R 1, P 3/5): 1/3 + 1/6 + 1/5 */
    CHECK(NEAR(m.auprc, 0.7), "auprc %g", m.auprc);
    double ll = -(log(.9) + log(.6) + log(.35) + log(.8) + log(.6) + log(.4)) / 6;
    CHECK(NEAR(m.log_loss, ll), "log loss %g vs %g", m.log_loss, ll);
    CHECK(NEAR(m.brier, (0.01 + 0.16 + 0.4225 + 0.04 + 0.16 + 0.36) / 6), "brier %g", m.brier);
}

static void test_degenerate(void) {
    /* all-one predictions */
    int y[3] = {0, 1, 1};
    double p1[3] = {0.9, 0.9, 0.9}, p[6];
    probs(p1, 3, p);
    mcr_metrics m;
    mcr_metrics_compute(y, p, 3, 2, 1, &m);
    CHECK(NEAR(m.accuracy, 2.0 / 3) && NEAR(m.selection_rate, 1) && NEAR(m.tpr, 1) && NEAR(m.fpr, 1), "all-one");
    CHECK(NEAR(m.f1_macro, (0 + 0.8) / 2), "class 0 never predicted: F1 0 (macro %g)", m.f1_macro);
    CHECK(NEAR(m.auroc, 0.5), "all ties: 0.5");
    /* positive class absent */
    int z[3] = {0, 0, 0};
    mcr_metrics_compute(z, p, 3, 2, 1, &m);
    CHECK(isnan(m.auroc) && isnan(m.recall_minority) && isnan(m.auprc), "undefined -> NaN");
    CHECK(NEAR(m.f1_minority, 0), "f1 with no positives is 0");
}

static void test_multiclass(void) {
    /* OvR: class 0 scores .7 .2 .1 .3 (pos rows 0,3) -> 1; class 1 scores .2 .5 .3 .6 (pos row 1)
     * -> .5 beats .2 and .3, loses to .6 -> 2/3; class 2 -> 1. Macro 8/9. Predictions 0 1 2 1. */
    int y[4] = {0, 1, 2, 0};
    double p[12] = {.7, .2, .1, .2, .5, .3, .1, .3, .6, .3, .6, .1};
    mcr_metrics m;
    mcr_metrics_compute(y, p, 4, 3, 2, &m);
    CHECK(NEAR(m.auroc, 8.0 / 9), "ovr macro auroc %g", m.auroc);
    CHECK(NEAR(m.accuracy, 0.75), "accuracy");
    /* F1: class 0 P 1 R 1/2 -> 2/3; class 1 P 1/2 R 1 -> 2/3; class 2 -> 1 */
    CHECK(NEAR(m.f1_macro, (2.0 / 3 + 2.0 / 3 + 1) / 3), "macro f1 %g", m.f1_macro);
    CHECK(NEAR(m.brier, ((.09 + .04 + .01) + (.04 + .25 + .09) + (.01 + .09 + .16) + (.49 + .36 + .01)) / 4), "multi-class brier %g", m.brier);
}

static void test_fairness(void) {
    /* groups 0 0 0 1 1 1 on the hand case, plus a group 2 of one negative predicted positive.
     * group 0: preds 0 0 0 -> sel 0, TPR 0/1, FPR 0/2, acc 2/3, AUROC .35 vs (.1,.4) = 1/2
     * group 1: y 1 0 1, preds 1 0 0 -> sel 1/3, TPR 1/2, FPR 0, acc 2/3, AUROC (1 + .5)/2
     * group 2: y 0, pred 1 -> sel 1, TPR undefined (skipped), FPR 1, acc 0 */
    int y[7] = {0, 0, 1, 1, 0, 1, 0}, g[7] = {0, 0, 0, 1, 1, 1, 2};
    double p1[7] = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4, 0.7}, p[14];
    probs(p1, 7, p);
    mcr_metrics pg[3];
    mcr_fairness f;
    CHECK(mcr_fairness_compute(y, p, g, 7, 2, 1, 3, pg, &f) == 0, "compute");
    CHECK(NEAR(pg[0].selection_rate, 0) && NEAR(pg[1].selection_rate, 1.0 / 3), "selection rates");
    CHECK(NEAR(f.dp_difference, 1), "DPD %g", f.dp_difference);
    CHECK(NEAR(f.eo_difference, 1), "EOD = max(TPR gap .5, FPR gap 1) = %g", f.eo_difference);
    CHECK(NEAR(f.worst_group_recall, 0), "worst recall");
    CHECK(NEAR(f.worst_group_accuracy, 0), "worst accuracy");
    CHECK(NEAR(f.accuracy_gap, 2.0 / 3), "accuracy gap");
    CHECK(NEAR(f.auroc_gap, 0.25), "auroc gap %g (group 2 has no AUROC)", f.auroc_gap);
    /* without group 2 */
    mcr_fairness f2;
    mcr_fairness_compute(y, p, g, 6, 2, 1, 2, NULL, &f2);
    CHECK(NEAR(f2.dp_difference, 1.0 / 3) && NEAR(f2.eo_difference, 0.5), "two groups: %g %g", f2.dp_difference, f2.eo_difference);
    /* unknown group (-1) rows are left out */
    int g3[6] = {0, 0, 0, -1, -1, -1};
    mcr_fairness f3;
    mcr_fairness_compute(y, p, g3, 6, 2, 1, 1, NULL, &f3);
    CHECK(NEAR(f3.dp_difference, 0) && NEAR(f3.worst_group_accuracy, 2.0 / 3), "single group");
}

static void test_auroc_large_ties(void) {
    /* 1000 positives and 1000 negatives all at the same score: exactly 0.5; scores equal to
     * the label: exactly 1; reversed: 0 */
    size_t n = 2000;
    double *s = malloc(n * sizeof(double));
    int *l = malloc(n * sizeof(int));
    for (size_t i = 0; i < n; i++) s[i] = 0.3, l[i] = i % 2;
    CHECK(mcr_auroc(s, l, n) == 0.5, "ties");
    for (size_t i = 0; i < n; i++) s[i] = l[i];
    CHECK(mcr_auroc(s, l, n) == 1.0, "perfect");
    for (size_t i = 0; i < n; i++) s[i] = -l[i];
    CHECK(mcr_auroc(s, l, n) == 0.0, "reversed");
    free(s), free(l);
}

/* a real and a synthetic table from CSV text */
static void read_pair(const char *r, const char *s, mcr_table **tr, mcr_table **ts) {
    CHECK(mcr_table_read_csv_mem(r, strlen(r), "r.csv", NULL, tr) == 0, "real table");
    CHECK(mcr_table_read_csv_mem(s, strlen(s), "s.csv", NULL, ts) == 0, "synthetic table");
}

static void test_fidelity_closed_forms(void) {
    /* x: real 1 2 3 vs synthetic 2 3 4 -> KS 1/3; c: real a a b b vs synthetic a a a b -> TV 1/4;
     * m: one of four missing in real, none in synthetic; rows of class k only with the filter */
    const char *r = "x,c,m,k\n1,a,1,p\n2,a,,p\n3,b,2,p\n9,b,3,q\n";
    const char *s = "x,c,m,k\n2,a,1,p\n3,a,2,p\n4,a,3,p\n3,b,4,p\n";
    mcr_table *tr, *ts;
    read_pair(r, s, &tr, &ts);
    mcr_colfid *f;
    int n;
    CHECK(mcr_fidelity_columns(tr, ts, "k", "p", &f, &n) == 0 && n == 3, "compute (%d columns)", n);
    /* filtered real x = 1 2 3; synthetic x = 2 3 4 3 -> F_r - F_s at 1: 1/3 - 0 ; at 2: 2/3 - 1/4;
     * at 3: 1 - 3/4: KS = 5/12 */
    CHECK(NEAR(f[0].stat, 5.0 / 12), "KS %g", f[0].stat);
    /* c: real a a b (2/3, 1/3), synthetic a a a b (3/4, 1/4): TV = 1/12 */
    CHECK(NEAR(f[1].stat, 1.0 / 12), "TV %g", f[1].stat);
    CHECK(NEAR(f[2].real_missing, 1.0 / 3) && NEAR(f[2].synth_missing, 0), "missing rates");
    free(f);
    CHECK(mcr_fidelity_columns(tr, ts, NULL, NULL, &f, &n) == 0 && n == 4, "unfiltered");
    /* unfiltered x: real 1 2 3 9 vs 2 3 4 3: at 1: 1/4; at 2: 1/2 - 1/4; at 3: 3/4 - 3/4;
     * at 4: 3/4 - 1 -> KS 1/4 */
    CHECK(NEAR(f[0].stat, 0.25), "unfiltered KS %g", f[0].stat);
    free(f);
    mcr_table_free(tr), mcr_table_free(ts);
}

static void test_pair_trends_closed_forms(void) {
    /* real: y = 2x (rho 1), c = a a b b; synthetic: y reversed (rho -1), c = a b a b.
     * (x, y): 1 - |1 - (-1)|/2 = 0. (x, c): x in 10 bins over [1, 4] -> bins 0 3 6 9; real
     * cells (0,a) (3,a) (6,b) (9,b), synthetic (0,a) (3,b) (6,a) (9,b): TVD 1/2 -> 0.5.
     * (y, c): real (0,a) (3,a) (6,b) (9,b), synthetic (9,a) (6,b) (3,a) (0,b): 0.5. */
    const char *r = "x,y,c\n1,2,a\n2,4,a\n3,6,b\n4,8,b\n";
    const char *s = "x,y,c\n1,8,a\n2,6,b\n3,4,a\n4,2,b\n";
    mcr_table *tr, *ts;
    read_pair(r, s, &tr, &ts);
    mcr_pairfid *p;
    int n;
    CHECK(mcr_fidelity_pairs(tr, ts, NULL, NULL, &p, &n) == 0 && n == 3, "three pairs (%d)", n);
    if (n == 3) {
        CHECK(p[0].correlation && NEAR(p[0].real, 1) && NEAR(p[0].synth, -1) && NEAR(p[0].score, 0),
              "x,y correlation similarity %g", p[0].score);
        CHECK(!p[1].correlation && NEAR(p[1].score, 0.5), "x,c contingency similarity %g", p[1].score);
        CHECK(!p[2].correlation && NEAR(p[2].score, 0.5), "y,c contingency similarity %g", p[2].score);
    }
    free(p);
    /* a table against itself scores 1 everywhere */
    CHECK(mcr_fidelity_pairs(tr, tr, NULL, NULL, &p, &n) == 0, "self");
    for (int i = 0; i < n; i++) CHECK(NEAR(p[i].score, 1), "self pair %d %g", i, p[i].score);
    free(p);
    mcr_table_free(tr), mcr_table_free(ts);
}

static void test_calibration(void) {
    /* labels drawn from p: slope ~1, intercept ~0, small ECE; over-confident scores
     * sigmoid(2 logit p): slope ~0.5; shifted sigmoid(logit p + 1): intercept ~-1, slope ~1;
     * ECE by hand; one class only: no slope */
    enum { N = 40000 };
    double *p = malloc(N * sizeof(double)), *q = malloc(N * sizeof(double)), *s = malloc(N * sizeof(double));
    int *y = malloc(N * sizeof(int));
    mcr_rng r;
    mcr_rng_seed(&r, 21, 0);
    for (int i = 0; i < N; i++) {
        p[i] = 0.02 + 0.96 * mcr_rng_uniform(&r);
        y[i] = mcr_rng_uniform(&r) < p[i];
        double z = log(p[i] / (1 - p[i]));
        q[i] = 1 / (1 + exp(-2 * z)), s[i] = 1 / (1 + exp(-(z + 1)));
    }
    double b, a, e;
    mcr_calibration(p, y, N, &b, &a, &e);
    CHECK(fabs(b - 1) < 0.06 && fabs(a) < 0.06 && e < 0.02, "calibrated: slope %g intercept %g ECE %g", b, a, e);
    mcr_calibration(q, y, N, &b, &a, &e);
    CHECK(fabs(b - 0.5) < 0.04 && fabs(a) < 0.06 && e > 0.05, "over-confident: slope %g intercept %g ECE %g", b, a, e);
    mcr_calibration(s, y, N, &b, &a, &e);
    CHECK(fabs(b - 1) < 0.06 && fabs(a + 1) < 0.08, "shifted: slope %g intercept %g", b, a);
    double h[10];
    int hy[10] = {1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 10; i++) h[i] = 0.15;
    mcr_calibration(h, hy, 10, &b, &a, &e);
    CHECK(fabs(e - 0.15) < 1e-12 && isnan(b), "by hand: ECE %g (0.15), constant scores: slope %g", e, b);
    /* boosted-tree-like scores, far too confident: sigmoid(12 logit p), many at the 1e-12 clip;
     * the maximum-likelihood slope is finite (~1/12) and Newton from slope 1 must still reach it
     * (the score equations sum r = sum r z = 0 hold there) */
    double *v = malloc(N * sizeof(double));
    for (int i = 0; i < N; i++) v[i] = 1 / (1 + exp(-12 * log(p[i] / (1 - p[i]))));
    mcr_calibration(v, y, N, &b, &a, &e);
    double g0 = 0, g1 = 0;
    for (int i = 0; isfinite(b) && i < N; i++) {
        double qq = v[i] < 1e-12 ? 1e-12 : v[i] > 1 - 1e-12 ? 1 - 1e-12 : v[i], z = log(qq / (1 - qq));
        double rr = y[i] - 1 / (1 + exp(-(a + b * z)));
        g0 += rr, g1 += rr * z;
    }
    CHECK(isfinite(b) && fabs(b - 1.0 / 12) < 0.01 && fabs(g0) < 1e-6 * N && fabs(g1) < 1e-6 * N,
          "over-confident x12: slope %g (1/12), score equations %g %g", b, g0, g1);
    free(v);
    int none[10] = {0};
    mcr_calibration(p, none, 10, &b, &a, &e);
    CHECK(isnan(b) && isnan(a) && !isnan(e), "one class: slope %g", b);
    free(p), free(q), free(s), free(y);
}

int main(void) {
    TEST(test_calibration);
    TEST(test_fidelity_closed_forms);
    TEST(test_pair_trends_closed_forms);
    TEST(test_binary_hand_case);
    TEST(test_degenerate);
    TEST(test_multiclass);
    TEST(test_fairness);
    TEST(test_auroc_large_ties);
    return DONE();
}
