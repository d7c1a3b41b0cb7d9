/* test_multinomial.c — the multinomial diffusion kernels: closed forms for K = 3 against hand
 * computed values, the chain identity, KL zero at the true posterior, a finite-difference
 * check of the loss gradient, Gumbel-max draws against the posterior, log-space stability. */
#include "tabular/tabular.h"
#include "diffusion/diffusion.h"
#include "testhelp.h"

static void test_closed_forms_k3(void) {
    float lq[3];
    /* q(x_t | x_0 = 1), abar 0.6: 0.6 e_1 + 0.4/3 */
    mn_log_q_xt_x0(lq, 1, 3, 0.6);
    const double want[3] = {0.4 / 3, 0.6 + 0.4 / 3, 0.4 / 3};
    for (int k = 0; k < 3; k++) CHECK(fabs(exp(lq[k]) - want[k]) < 1e-6, "q(x_t|x_0)[%d] %g", k, exp(lq[k]));
    /* posterior, abar_t 0.5, abar_s 0.8 (a = 0.625), x_0 = 0, x_t = 2, by hand:
     * [0.8 + 0.2/3, 0.2/3, 0.2/3] * [0.125, 0.125, 0.75] = [0.108333, 0.008333, 0.05] / (1/6)
     * = [0.65, 0.05, 0.30] */
    float lx0[3] = {0, -INFINITY, -INFINITY}, lp[3];
    mn_log_posterior(lp, lx0, 2, 3, 0.5, 0.8);
    const double post[3] = {0.65, 0.05, 0.30};
    for (int k = 0; k < 3; k++) CHECK(fabs(exp(lp[k]) - post[k]) < 1e-6, "posterior[%d] %g", k, exp(lp[k]));
    /* s = -1 (abar_s = 1): x_0 itself, whatever x_t */
    mn_log_posterior(lp, lx0, 2, 3, 0.5, 1.0);
    CHECK(fabs(exp(lp[0]) - 1) < 1e-6 && exp(lp[1]) < 1e-6, "posterior at s = -1");
    /* a soft x_0 = (0.2, 0.5, 0.3), abar_t 0.3, abar_s 0.6 (a = 0.5), x_t = 1:
     * [0.6*0.2 + 0.4/3, 0.6*0.5 + 0.4/3, 0.6*0.3 + 0.4/3] = [0.253333, 0.433333, 0.313333]
     * times [0.5/3, 0.5 + 0.5/3, 0.5/3] = [0.042222, 0.288889, 0.052222] / 0.383333 */
    float soft[3] = {logf(0.2f), logf(0.5f), logf(0.3f)};
    mn_log_posterior(lp, soft, 1, 3, 0.3, 0.6);
    const double ps[3] = {0.042222222 / 0.383333333, 0.288888889 / 0.383333333, 0.052222222 / 0.383333333};
    for (int k = 0; k < 3; k++) CHECK(fabs(exp(lp[k]) - ps[k]) < 1e-5, "soft posterior[%d] %g vs %g", k, exp(lp[k]), ps[k]);
}

static void test_chain_identity(void) {
    /* sum_{x_s} q(x_t | x_s) q(x_s | x_0) = q(x_t | x_0), with q(x_t | x_s) of keep a = abar_t / abar_s */
    const int K = 4;
    double abar_s = 0.7, abar_t = 0.28, a = abar_t / abar_s;
    float qs[4], qt[4];
    mn_log_q_xt_x0(qs, 2, K, abar_s);
    mn_log_q_xt_x0(qt, 2, K, abar_t);
    for (int j = 0; j < K; j++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += exp(qs[k]) * (a * (j == k) + (1 - a) / K);
        CHECK(fabs(s - exp(qt[j])) < 1e-6, "chain identity at %d", j);
    }
}

static void test_kl_zero_at_truth(void) {
    float o[3] = {30, 0, 0}, sc[12], g[3];
    /* x0_hat = e(0) to float precision: p equals the true posterior */
    double kl = mn_loss(g, o, 0, 2, 3, 0.5, 0.8, 1, sc);
    CHECK(fabs(kl) < 1e-6, "KL at the true posterior %g", kl);
    for (int k = 0; k < 3; k++) CHECK(fabs(g[k]) < 1e-5, "zero gradient %g", g[k]);
    double nll = mn_loss(g, o, 0, 2, 3, 0.99, 1.0, 1, sc);
    CHECK(fabs(nll) < 1e-5, "decoder NLL at a perfect prediction %g", nll);
    float bad[3] = {0, 3, 0};
    CHECK(mn_loss(NULL, bad, 0, 2, 3, 0.5, 0.8, 1, sc) > 0.05, "KL of a wrong prediction is positive");
}

static double loss_d(const float *o, int x0, int xt, int K, double at, double as, float *sc) {
    return mn_loss(NULL, o, x0, xt, K, at, as, 1, sc);
}

static void test_gradient(void) {
    const int K = 5;
    const double ab[][2] = {{0.5, 0.7}, {0.05, 0.2}, {0.9, 0.97}, {0.97, 1.0}};
    mcr_rng r;
    mcr_rng_seed(&r, 11, 0);
    float sc[20], g[5];
    for (int c = 0; c < 4; c++)
        for (int rep = 0; rep < 3; rep++) {
            float o[5];
            for (int k = 0; k < K; k++) o[k] = (float)(1.5 * mcr_rng_normal(&r));
            int x0 = rep % K, xt = (rep * 2 + 1) % K;
            mn_loss(g, o, x0, xt, K, ab[c][0], ab[c][1], 1, sc);
            double err = 0, norm = 0;
            for (int k = 0; k < K; k++) {
                float h = 1e-2f, save = o[k];
                o[k] = save + h;
                double lp = loss_d(o, x0, xt, K, ab[c][0], ab[c][1], sc);
                o[k] = save - h;
                double lm = loss_d(o, x0, xt, K, ab[c][0], ab[c][1], sc);
                o[k] = save;
                double fd = (lp - lm) / (2 * h);
                err += (fd - g[k]) * (fd - g[k]);
                norm += fd * fd;
            }
            CHECK(sqrt(norm) > 1e-3, "case %d: a gradient worth checking (%g)", c, sqrt(norm));
            CHECK(sqrt(err) <= 2e-3 * sqrt(norm) + 1e-5, "case %d rep %d: |g - fd| %g of |fd| %g", c,
                  rep, sqrt(err), sqrt(norm));
        }
}

static void test_gumbel_draws(void) {
    /* frequencies of Gumbel-max draws match exp(log posterior) */
    const int K = 4, N = 200000;
    float o[4] = {0.3f, -1.0f, 1.2f, 0.0f}, lx[4], lp[4], sc[8], u[4];
    float zo = -INFINITY;
    for (int k = 0; k < K; k++) zo = o[k] > zo ? o[k] : zo;
    double s = 0;
    for (int k = 0; k < K; k++) s += exp(o[k] - zo);
    for (int k = 0; k < K; k++) lx[k] = (float)(o[k] - zo - log(s));
    mn_log_posterior(lp, lx, 1, K, 0.4, 0.6);
    int cnt[4] = {0};
    mcr_rng r;
    mcr_rng_seed(&r, 5, 0);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < K; k++) u[k] = (float)mcr_rng_uniform(&r);
        cnt[mn_sample_step(o, 1, K, 0.4, 0.6, u, sc)]++;
    }
    for (int k = 0; k < K; k++) {
        double p = exp(lp[k]), f = (double)cnt[k] / N;
        CHECK(fabs(f - p) < 4 * sqrt(p * (1 - p) / N) + 1e-3, "level %d: %g vs %g", k, f, p);
    }
}

static void test_log_space_stability(void) {
    /* 500 levels, logits spread over +-80, abar near zero and near one: finite everywhere */
    const int K = 500;
    float *o = malloc(K * sizeof(float)), *g = malloc(K * sizeof(float)), *sc = malloc(4 * K * sizeof(float));
    mcr_rng r;
    mcr_rng_seed(&r, 2, 0);
    for (int k = 0; k < K; k++) o[k] = (float)(80 * (2 * mcr_rng_uniform(&r) - 1));
    const double ab[][2] = {{2e-9, 4e-9}, {1e-5, 2e-5}, {0.9999, 0.99999}, {0.99999, 1.0}};
    for (int c = 0; c < 4; c++) {
        double l = mn_loss(g, o, 7, 400, K, ab[c][0], ab[c][1], 1000, sc);
        int ok = isfinite(l) && l >= -1e-4;
        for (int k = 0; k < K; k++) ok &= isfinite(g[k]);
        CHECK(ok, "case %d: loss %g and gradient finite", c, l);
    }
    free(o), free(g), free(sc);
}

/* a wide column (900 levels, as diabetes_130's diagnosis codes): loss against the KL written out
 * in double (softmax, posteriors, sum q log(q/p)), gradient against its central differences */
static double wide_ref(const float *o, const double *dlt, int x0, int xt, int K, double at, double as) {
    double m = -INFINITY, s = 0, a = at / as, u = fmax(1 - a, 1e-30), us = (1 - as) / K;
    double *p0 = malloc(K * sizeof(double)), *P = malloc(K * sizeof(double)), *Q = malloc(K * sizeof(double));
    for (int k = 0; k < K; k++) m = fmax(m, o[k] + dlt[k]);
    for (int k = 0; k < K; k++) s += p0[k] = exp(o[k] + dlt[k] - m);
    double SP = 0, SQ = 0, kl = 0;
    for (int k = 0; k < K; k++) {
        double f = k == xt ? a + u / K : u / K;
        SP += P[k] = (as * p0[k] / s + us) * f;
        SQ += Q[k] = (as * (k == x0) + us) * f;
    }
    for (int k = 0; k < K; k++) kl += Q[k] / SQ * log((Q[k] / SQ) / (P[k] / SP));
    free(p0), free(P), free(Q);
    return kl;
}

static void test_wide_column(void) {
    const int K = 900;
    float *o = malloc(K * sizeof(float)), *g = malloc(K * sizeof(float)), *sc = malloc(4 * K * sizeof(float));
    double *dlt = calloc(K, sizeof(double));
    mcr_rng r;
    mcr_rng_seed(&r, 9, 0);
    for (int k = 0; k < K; k++) o[k] = (float)(3 * mcr_rng_normal(&r));
    const double ab[][2] = {{0.3, 0.31}, {0.001, 0.002}, {0.995, 0.999}};
    for (int c = 0; c < 3; c++)
        for (int rep = 0; rep < 2; rep++) {
            int x0 = 17, xt = rep ? 17 : 640;
            double l = mn_loss(g, o, x0, xt, K, ab[c][0], ab[c][1], 1, sc);
            double ref = wide_ref(o, dlt, x0, xt, K, ab[c][0], ab[c][1]);
            CHECK(fabs(l - ref) <= 1e-6 + 1e-5 * fabs(ref), "case %d/%d: loss %.9g vs %.9g", c, rep, l, ref);
            double err = 0;
            const int ks[] = {0, 17, 301, 640, 899};
            for (int i = 0; i < 5; i++) {
                int k = ks[i];
                double h = 1e-3;
                dlt[k] = h;
                double fp = wide_ref(o, dlt, x0, xt, K, ab[c][0], ab[c][1]);
                dlt[k] = -h;
                double fm = wide_ref(o, dlt, x0, xt, K, ab[c][0], ab[c][1]);
                dlt[k] = 0;
                err = fmax(err, fabs((fp - fm) / (2 * h) - g[k]));
            }
            CHECK(err < 1e-5, "case %d/%d: gradient max abs err %g", c, rep, err);
        }
    free(o), free(g), free(sc), free(dlt);
}

int main(void) {
    TEST(test_closed_forms_k3);
    TEST(test_chain_identity);
    TEST(test_wide_column);
    TEST(test_kl_zero_at_truth);
    TEST(test_gradient);
    TEST(test_gumbel_draws);
    TEST(test_log_space_stability);
    return DONE();
}
