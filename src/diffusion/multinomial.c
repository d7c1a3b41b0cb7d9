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

/* the q(x_t | x_s = .) factor is a + u/K at x_t and u/K elsewhere: a = abar_t / abar_s and
 * u = 1 - a, floored at 1e-30 */
static double step_a_u(double abar_t, double abar_s, double *u) {
    double a = abar_t / abar_s;
    *u = 1 - a < 1e-30 ? 1e-30 : 1 - a;
    return a;
}

/* its logs: log(a + u/K) at x_t, log(u/K) elsewhere */
static void step_factor(double abar_t, double abar_s, int K, float *lkeep, float *lnot) {
    double u, a = step_a_u(abar_t, abar_s, &u);
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

/* keep / not factors of q(x_t | x_s = .) as their ratio rho = keep / not (>= 1): the factor is
 * not * (rho at x_t, 1 elsewhere), and `not` cancels from every normalised quantity */
static double step_ratio(double abar_t, double abar_s, int K) {
    double u, a = step_a_u(abar_t, abar_s, &u);
    return (a + u / K) / (u / K);
}

/* Sum of log(a * p[k] + u) over k, from products of 8 terms (each term >= u > 1e-30, so a product
 * of 8 stays above 1e-240): one log per 8 levels instead of one per level. */
static double sum_log_affine(const float *p, int K, double a, double u) {
    double s = 0;
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        double pr = 1;
        for (int j = 0; j < 8; j++) pr *= a * p[k + j] + u;
        s += log(pr);
    }
    for (; k < K; k++) s += log(a * p[k] + u);
    return s;
}

/* The loss in probability space (one exp a level, a log per 8 levels), the same quantities as
 * the log-space twin in tests/diffusion/test_twins.c. With p0 = softmax(o), A_k = abar_s p0_k +
 * u_s (u_s = (1 - abar_s) / K) and B_k = abar_s [k = x0] + u_s, the model's posterior is
 * p_k = A_k rho^[k = x_t] / D and the true one q_k = B_k rho^[k = x_t] / Dq (D, Dq their sums);
 * KL(q || p) = sum_k q_k (log B_k - log A_k) + log D - log Dq (rho cancels), where q_k = u_s / Dq
 * but at x0 and x_t. Gradient in the logits: G_k = r_k (p_k - q_k), r_k = abar_s p0_k / A_k,
 * g_k = w (G_k - p0_k sum G). At t = 0 (abar_s = 1) the decoder NLL -log p(x0), p_k ∝ p0_k
 * rho^[k = x_t]. */
double mn_loss(float *g, const float *o, int x0, int xt, int K, double abar_t, double abar_s,
               float w, float *scratch) {
    float *p0 = scratch;
    float m = -INFINITY;
    for (int k = 0; k < K; k++)
        if (o[k] > m) m = o[k];
    double s = 0;
    for (int k = 0; k < K; k++) s += p0[k] = expf(o[k] - m);
    double rho = step_ratio(abar_t, abar_s, K);
    if (abar_s >= 1) { /* t = 0: decoder NLL */
        double Z = s + (rho - 1) * p0[xt], iz = 1 / Z;
        double nll = log(Z) - ((double)o[x0] - m) - (x0 == xt ? log(rho) : 0);
        if (g)
            for (int k = 0; k < K; k++) {
                double pk = p0[k] * (k == xt ? rho : 1) * iz;
                g[k] = w * (float)(pk - (k == x0));
            }
        return nll;
    }
    float inv = (float)(1 / s);
    for (int k = 0; k < K; k++) p0[k] *= inv;
    double us = (1 - abar_s) / K, a = abar_s;
    double Ax0 = a * p0[x0] + us, Axt = a * p0[xt] + us, Bx0 = a + us, Bxt = xt == x0 ? Bx0 : us;
    double SA = a * s * inv + K * us, SB = a + K * us; /* sum of A (softmax sums to s * inv), of B */
    double D = SA + (rho - 1) * Axt, Dq = SB + (rho - 1) * Bxt;
    /* q at x0 and x_t, and the plain level's q (u_s / Dq) */
    double qo = us / Dq, qx0 = Bx0 * (x0 == xt ? rho : 1) / Dq, qxt = Bxt * rho / Dq;
    double slog = sum_log_affine(p0, K, a, us); /* sum_k log A_k */
    double sqlogA = qo * slog + (qx0 - qo) * log(Ax0) + (xt != x0 ? (qxt - qo) * log(Axt) : 0);
    double sqlogB = qo * (K - 1 - (xt != x0)) * log(us) + qx0 * log(Bx0) + (xt != x0 ? qxt * log(Bxt) : 0);
    double kl = sqlogB - sqlogA + log(D) - log(Dq);
    if (g) {
        float *G = scratch + K;
        double iD = 1 / D, sg = 0;
        for (int k = 0; k < K; k++) {
            double Ak = a * p0[k] + us, f = k == xt ? rho : 1;
            double qk = k == x0 ? qx0 : k == xt ? qxt : qo;
            double Gk = a * p0[k] / Ak * (Ak * f * iD - qk);
            G[k] = (float)Gk;
            sg += Gk;
        }
        for (int k = 0; k < K; k++) g[k] = w * (float)(G[k] - p0[k] * sg);
    }
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
