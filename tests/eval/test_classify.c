/* test_classify.c — logistic regression reaches the optimum of its stated objective (checked by
 * finite differences of the objective written out here independently); xgboost and its
 * random-forest mode learn a clean problem and return probabilities. */
#include "eval/eval.h"
#include "testhelp.h"

static float *make_data(size_t n, int d, int K, int **yout, uint64_t seed) {
    float *X = malloc(n * d * sizeof(float));
    int *y = malloc(n * sizeof(int));
    mcr_rng r;
    mcr_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int)(i % K);
        for (int j = 0; j < d; j++)
            X[i * d + j] = (float)(mcr_rng_normal(&r) + (j == y[i] ? 1.5 : 0.0));
    }
    *yout = y;
    return X;
}

/* sum_i w_i CE_i + ||W||^2 / (2C) in double, W [K, d+1] */
static double objective(const double *W, const float *X, const int *y, size_t n, int d, int K, double C) {
    double f = 0;
    for (size_t i = 0; i < n; i++) {
        double z[16], mx = -INFINITY, s = 0; /* K <= 16 */
        for (int k = 0; k < K; k++) {
            z[k] = W[k * (d + 1) + d];
            for (int j = 0; j < d; j++) z[k] += W[k * (d + 1) + j] * X[i * d + j];
            mx = fmax(mx, z[k]);
        }
        for (int k = 0; k < K; k++) s += exp(z[k] - mx);
        f += mx + log(s) - z[y[i]];
    }
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d; j++) f += W[k * (d + 1) + j] * W[k * (d + 1) + j] / (2 * C);
    return f;
}

/* max-norm of the objective's gradient at the fitted weights, by central differences */
static double max_gradient(mcr_classifier *m, const float *X, const int *y, size_t n, int d, int K) {
    double maxg = 0;
    for (int q = 0; q < K * (d + 1); q++) {
        double keep = m->W[q], h = 1e-4;
        m->W[q] = keep + h;
        double fp = objective(m->W, X, y, n, d, K, 1.0);
        m->W[q] = keep - h;
        double fm = objective(m->W, X, y, n, d, K, 1.0);
        m->W[q] = keep;
        maxg = fmax(maxg, fabs(fp - fm) / (2 * h));
    }
    return maxg;
}

static void test_logreg_optimum(void) {
    size_t n = 600;
    int d = 4, K = 3, *y;
    float *X = make_data(n, d, K, &y, 1);
    mcr_clf_config c;
    mcr_clf_config_default(&c, MCR_CLF_LOGREG);
    mcr_classifier *m;
    CHECK(mcr_clf_fit(&c, X, y, n, d, K, &m) == 0, "fit");
    double f0 = objective(m->W, X, y, n, d, K, 1.0), maxg = max_gradient(m, X, y, n, d, K);
    /* at the optimum the gradient vanishes; at W = 0 it is of order n * 0.5 = 300 */
    CHECK(maxg < 1e-2, "objective gradient at the solution %g (f = %g)", maxg, f0);
    double *prob = malloc(n * K * sizeof(double));
    mcr_clf_predict(m, X, n, prob);
    double correct = 0;
    for (size_t i = 0; i < n; i++) {
        int b = 0;
        double s = 0;
        for (int k = 0; k < K; k++) s += prob[i * K + k], b = prob[i * K + k] > prob[i * K + b] ? k : b;
        CHECK(fabs(s - 1) < 1e-9, "probabilities sum to 1");
        correct += b == y[i];
    }
    CHECK(correct / n > 0.6, "training accuracy %g", correct / n);
    free(prob), free(X), free(y);
    mcr_clf_free(m);
}

/* one-hot rows (most entries zero: the compressed-row path) and, with K = 9, the sgemm path:
 * both at the optimum of the objective written out here */
static void logreg_optimum_on(const float *X, const int *y, size_t n, int d, int K) {
    mcr_clf_config c;
    mcr_clf_config_default(&c, MCR_CLF_LOGREG);
    mcr_classifier *m = NULL;
    CHECK(mcr_clf_fit(&c, X, y, n, d, K, &m) == 0, "fit");
    if (!m) return;
    double maxg = max_gradient(m, X, y, n, d, K);
    CHECK(maxg < 1e-2, "K = %d: objective gradient at the solution %g", K, maxg);
    mcr_clf_free(m);
}

static void test_logreg_sparse_and_many_classes(void) {
    size_t n = 800;
    int d = 40; /* 4 one-hot blocks of 10: 10% non-zero */
    float *X = calloc(n * d, sizeof(float));
    int *y = malloc(n * sizeof(int));
    mcr_rng r;
    mcr_rng_seed(&r, 9, 0);
    for (size_t i = 0; i < n; i++) {
        int lv[4];
        for (int b = 0; b < 4; b++) lv[b] = (int)mcr_rng_below(&r, 10), X[i * d + b * 10 + lv[b]] = 1;
        y[i] = (lv[0] + lv[1] + (mcr_rng_uniform(&r) < 0.3)) % 2; /* depends on two blocks */
    }
    logreg_optimum_on(X, y, n, d, 2);
    for (size_t i = 0; i < n; i++) y[i] = (int)((unsigned)(X[i * d + 3] + 2 * X[i * d + 14]) + mcr_rng_below(&r, 9)) % 9;
    logreg_optimum_on(X, y, n, d, 9);
    free(X), free(y);
}

static void test_balanced_weights(void) {
    /* 95:5 imbalance on overlapping classes: balanced weights raise the minority's recall */
    size_t n = 2000;
    int d = 2;
    float *X = malloc(n * d * sizeof(float));
    int *y = malloc(n * sizeof(int));
    mcr_rng r;
    mcr_rng_seed(&r, 5, 0);
    for (size_t i = 0; i < n; i++) {
        y[i] = i % 20 == 0;
        X[i * 2] = (float)(mcr_rng_normal(&r) + (y[i] ? 1.0 : 0));
        X[i * 2 + 1] = (float)mcr_rng_normal(&r);
    }
    double rec[2];
    for (int bal = 0; bal < 2; bal++) {
        mcr_clf_config c;
        mcr_clf_config_default(&c, MCR_CLF_LOGREG);
        c.balanced = bal;
        mcr_classifier *m;
        mcr_clf_fit(&c, X, y, n, d, 2, &m);
        double *p = malloc(n * 2 * sizeof(double));
        mcr_clf_predict(m, X, n, p);
        double tp = 0, pos = 0;
        for (size_t i = 0; i < n; i++) pos += y[i], tp += y[i] && p[2 * i + 1] > 0.5;
        rec[bal] = tp / pos;
        free(p);
        mcr_clf_free(m);
    }
    CHECK(rec[0] < 0.2 && rec[1] > 0.5, "minority recall unweighted %g, balanced %g", rec[0], rec[1]);
    free(X), free(y);
}

static void test_xgb_and_rf(void) {
    size_t n = 1500;
    int d = 3, K = 2, *y;
    float *X = make_data(n, d, K, &y, 2);
    for (int kind = MCR_CLF_RF; kind <= MCR_CLF_XGB; kind++) {
        mcr_clf_config c;
        mcr_clf_config_default(&c, kind);
        c.threads = 2;
        mcr_classifier *m;
        int rc = mcr_clf_fit(&c, X, y, n, d, K, &m);
        CHECK(rc == 0, "%s fit: %s", mcr_clf_name(kind), mcr_last_error());
        if (rc) continue;
        double *p = malloc(n * K * sizeof(double));
        CHECK(mcr_clf_predict(m, X, n, p) == 0, "predict");
        double correct = 0;
        for (size_t i = 0; i < n; i++) correct += (p[2 * i + 1] > 0.5) == (y[i] == 1);
        CHECK(correct / n > 0.8, "%s accuracy %g", mcr_clf_name(kind), correct / n);
        free(p);
        mcr_clf_free(m);
    }
    free(X), free(y);
}

static void test_focal_loss_gradient(void) {
    /* gamma = 0 is the cross-entropy; the focal gradient matches central differences */
    double z[3] = {0.3, -1.2, 2.0}, g[3], g0[3];
    double ce = mcr_softmax_loss(z, 3, 1, 1.0, 0, g0);
    double lse = log(exp(0.3) + exp(-1.2) + exp(2.0));
    CHECK(fabs(ce - (lse + 1.2)) < 1e-12, "cross-entropy value");
    for (double gamma = 0; gamma <= 3; gamma += 1.5) {
        double L = mcr_softmax_loss(z, 3, 1, 2.0, gamma, g), maxe = 0;
        double p = exp(-1.2 - lse);
        CHECK(fabs(L - 2.0 * -pow(1 - p, gamma) * log(p)) < 1e-12, "focal value");
        for (int k = 0; k < 3; k++) {
            double zp[3] = {z[0], z[1], z[2]}, zm[3] = {z[0], z[1], z[2]}, tmp[3];
            zp[k] += 1e-6, zm[k] -= 1e-6;
            double fd = (mcr_softmax_loss(zp, 3, 1, 2.0, gamma, tmp) - mcr_softmax_loss(zm, 3, 1, 2.0, gamma, tmp)) / 2e-6;
            maxe = fmax(maxe, fabs(fd - g[k]) / fmax(1e-6, fabs(fd)));
        }
        CHECK(maxe < 1e-6, "gamma %g: max rel err %g", gamma, maxe);
    }
}

static void test_mlp_nonlinear(void) {
    /* XOR of the signs of two inputs: linear models cannot, the MLP must */
    size_t n = 3000;
    float *X = malloc(n * 2 * sizeof(float));
    int *y = malloc(n * sizeof(int));
    mcr_rng r;
    mcr_rng_seed(&r, 11, 0);
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = (float)(2 * mcr_rng_uniform(&r) - 1), X[2 * i + 1] = (float)(2 * mcr_rng_uniform(&r) - 1);
        y[i] = (X[2 * i] > 0) != (X[2 * i + 1] > 0);
    }
    double acc[2];
    for (int kind = 0; kind < 2; kind++) {
        mcr_clf_config c;
        mcr_clf_config_default(&c, kind ? MCR_CLF_MLP : MCR_CLF_LOGREG);
        c.focal_gamma = kind ? 1.0 : 0;
        mcr_classifier *m;
        CHECK(mcr_clf_fit(&c, X, y, n, 2, 2, &m) == 0, "fit");
        double *p = malloc(n * 2 * sizeof(double)), right = 0;
        mcr_clf_predict(m, X, n, p);
        for (size_t i = 0; i < n; i++) right += (p[2 * i + 1] > 0.5) == y[i];
        acc[kind] = right / n;
        free(p);
        mcr_clf_free(m);
    }
    CHECK(acc[0] < 0.65 && acc[1] > 0.9, "XOR accuracy: logreg %g, mlp (focal 1) %g", acc[0], acc[1]);
    free(X), free(y);
}

/* classifiers on sparse encoded rows (mcr_clf_fit_csr): logreg on the rows made dense is the
 * dense fit exactly; xgb and rf take the CSR rows as they are (an absent one-hot entry is
 * "missing") and learn as well as on dense rows; a booster fitted on sparse rows refuses dense
 * ones. Rows: 2 numerics (stored always, one of them 0 in a third of rows) + a 3-level one-hot. */
static void test_csr_rows(void) {
    size_t n = 1200;
    int d = 5, K = 2;
    float *X = calloc(n * d, sizeof(float));
    int *y = malloc(n * sizeof(int));
    mcr_csr S = {.n = n, .d = d};
    S.ptr = malloc((n + 1) * sizeof(size_t));
    S.idx = malloc(n * 3 * sizeof(int32_t));
    S.val = malloc(n * 3 * sizeof(float));
    S.implicit = calloc(d, 1);
    S.implicit[2] = S.implicit[3] = S.implicit[4] = 1;
    mcr_rng r;
    mcr_rng_seed(&r, 5, 0);
    size_t k = 0;
    S.ptr[0] = 0;
    for (size_t i = 0; i < n; i++) {
        y[i] = (int)(i % 2);
        X[i * d + 0] = (float)(mcr_rng_normal(&r) + (y[i] ? 1.0 : 0.0));
        X[i * d + 1] = i % 3 ? (float)mcr_rng_normal(&r) : 0.0f;
        int lev = y[i] && mcr_rng_uniform(&r) < 0.7 ? 0 : (int)(mcr_rng_uniform(&r) * 3) % 3;
        X[i * d + 2 + lev] = 1;
        S.idx[k] = 0, S.val[k++] = X[i * d + 0];
        S.idx[k] = 1, S.val[k++] = X[i * d + 1];
        S.idx[k] = 2 + lev, S.val[k++] = 1;
        S.ptr[i + 1] = k;
    }
    double *p1 = malloc(n * K * sizeof(double)), *p2 = malloc(n * K * sizeof(double));
    for (int kind = MCR_CLF_LOGREG; kind <= MCR_CLF_XGB; kind++) {
        if (kind == MCR_CLF_MLP) continue;
        mcr_clf_config c;
        mcr_clf_config_default(&c, kind);
        c.threads = 2;
        mcr_classifier *md = NULL, *ms = NULL;
        int rc1 = mcr_clf_fit(&c, X, y, n, d, K, &md), rc2 = mcr_clf_fit_csr(&c, &S, y, K, &ms);
        CHECK(!rc1 && !rc2, "%s fit: %s", mcr_clf_name(kind), mcr_last_error());
        if (!rc1 && !rc2) {
            CHECK(mcr_clf_predict(md, X, n, p1) == 0 && mcr_clf_predict_csr(ms, &S, p2) == 0, "predict: %s",
                  mcr_last_error());
            double acc1 = 0, acc2 = 0, maxdiff = 0;
            for (size_t i = 0; i < n; i++) {
                acc1 += (p1[2 * i + 1] > 0.5) == (y[i] == 1);
                acc2 += (p2[2 * i + 1] > 0.5) == (y[i] == 1);
                maxdiff = fmax(maxdiff, fabs(p1[2 * i + 1] - p2[2 * i + 1]));
            }
            acc1 /= n, acc2 /= n;
            if (kind == MCR_CLF_LOGREG) CHECK(maxdiff == 0, "logreg csr vs dense: max diff %g", maxdiff);
            CHECK(acc2 > 0.7 && fabs(acc1 - acc2) < 0.03, "%s accuracy dense %g, csr %g", mcr_clf_name(kind), acc1,
                  acc2);
            if (kind != MCR_CLF_LOGREG)
                CHECK(mcr_clf_predict(ms, X, n, p1) != 0, "%s: sparse-fitted booster took dense rows",
                      mcr_clf_name(kind));
        }
        mcr_clf_free(md), mcr_clf_free(ms);
    }
    free(p1), free(p2), free(X), free(y);
    free(S.ptr), free(S.idx), free(S.val), free(S.implicit);
}

int main(void) {
    TEST(test_focal_loss_gradient);
    TEST(test_mlp_nonlinear);
    mcr_set_threads(2);
    TEST(test_logreg_optimum);
    TEST(test_logreg_sparse_and_many_classes);
    TEST(test_balanced_weights);
    TEST(test_xgb_and_rf);
    TEST(test_csr_rows);
    return DONE();
}
