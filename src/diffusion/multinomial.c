/* multinomial.c — log-space multinomial diffusion kernels (see multinomial.h for the maths). */
#include "diffusion/diffusion.h"

static inline float lae(float a, float b) { /* log(exp(a) + exp(b)) */
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    float m = a > b ? a : b, n = a > b ? b : a;
    return m + log1pf(expf(n - m));
}

static float lse(const float *x, int K) {
    float m = -INFINITY;
    for (int k = 0; k < K; k++)
        if (x[k] > m) m = x[k];
    if (m == -INFINITY) return m;
    double s = 0;
    for (int k = 0; k < K; k++) s += expf(x[k] - m);
    return m + (float)log(s);
}

/* log of the q(x_t | x_s = .) factor: log(a + (1-a)/K) at x_t, log((1-a)/K) elsewhere */
static void step_factor(double abar_t, double abar_s, int K, float *lkeep, float *lnot) {
    double a = abar_t / abar_s, u = 1 - a;
    if (u < 1e-30) u = 1e-30;
    *lkeep = (float)log(a + u / K);
    *lnot = (float)(log(u) - log((double)K));
}

void mn_log_q_xt_x0(float *out, int x0, int K, double abar_t) {
    double u = (1 - abar_t) / K;
    float hit = (float)log(abar_t + u), miss = u > 0 ? (float)log(u) : -INFINITY;
    for (int k = 0; k < K; k++) out[k] = k == x0 ? hit : miss;
}

/* u_k = log(abar_s x0_k + (1-abar_s)/K) + log q(x_t | x_s = k), unnormalised */
static void post_unnorm(float *u, const float *lx0, int xt, int K, double abar_t, double abar_s) {
    float lkeep, lnot;
    step_factor(abar_t, abar_s, K, &lkeep, &lnot);
    if (abar_s >= 1) {
        for (int k = 0; k < K; k++) u[k] = lx0[k] + (k == xt ? lkeep : lnot);
        return;
    }
    float la = (float)log(abar_s), lu = (float)(log1p(-abar_s) - log((double)K));
    for (int k = 0; k < K; k++) u[k] = lae(la + lx0[k], lu) + (k == xt ? lkeep : lnot);
}

void mn_log_posterior(float *out, const float *lx0, int xt, int K, double abar_t, double abar_s) {
    post_unnorm(out, lx0, xt, K, abar_t, abar_s);
    float z = lse(out, K);
    for (int k = 0; k < K; k++) out[k] -= z;
}

double mn_loss(float *g, const float *o, int x0, int xt, int K, double abar_t, double abar_s,
               float w, float *scratch) {
    float *lx = scratch, *r = scratch + K, *lp = scratch + 2 * K, *lq = scratch + 3 * K;
    float zo = lse(o, K);
    for (int k = 0; k < K; k++) lx[k] = o[k] - zo;
    float lkeep, lnot;
    step_factor(abar_t, abar_s, K, &lkeep, &lnot);
    if (abar_s >= 1) { /* t = 0: decoder NLL, p ∝ x0_hat ⊙ q(x_1 | x_0 = .) */
        for (int k = 0; k < K; k++) lp[k] = lx[k] + (k == xt ? lkeep : lnot);
        float z = lse(lp, K);
        for (int k = 0; k < K; k++) lp[k] -= z;
        if (g)
            for (int k = 0; k < K; k++) g[k] = w * (expf(lp[k]) - (k == x0));
        return -(double)lp[x0];
    }
    float la = (float)log(abar_s), lu = (float)(log1p(-abar_s) - log((double)K));
    float lhit = (float)log(abar_s + (1 - abar_s) / K);
    for (int k = 0; k < K; k++) {
        float c = k == xt ? lkeep : lnot, f = lae(la + lx[k], lu);
        r[k] = expf(la + lx[k] - f);
        lp[k] = f + c;
        lq[k] = (k == x0 ? lhit : lu) + c;
    }
    float zp = lse(lp, K), zq = lse(lq, K);
    double kl = 0, sg = 0;
    for (int k = 0; k < K; k++) {
        lp[k] -= zp;
        lq[k] -= zq;
        float q = expf(lq[k]);
        if (q > 0) kl += (double)q * ((double)lq[k] - lp[k]);
        r[k] *= expf(lp[k]) - q; /* G_k */
        sg += r[k];
    }
    if (g)
        for (int k = 0; k < K; k++) g[k] = w * (r[k] - expf(lx[k]) * (float)sg);
    return kl;
}

int mn_sample_step(const float *o, int xt, int K, double abar_t, double abar_s, const float *u,
                   float *scratch) {
    float *lx = scratch, *up = scratch + K;
    float zo = lse(o, K);
    for (int k = 0; k < K; k++) lx[k] = o[k] - zo;
    post_unnorm(up, lx, xt, K, abar_t, abar_s);
    int best = 0;
    float bv = -INFINITY;
    for (int k = 0; k < K; k++) {
        float uk = u[k] > 1e-30f ? u[k] : 1e-30f;
        float v = up[k] - logf(-logf(uk));
        if (v > bv) bv = v, best = k;
    }
    return best;
}
