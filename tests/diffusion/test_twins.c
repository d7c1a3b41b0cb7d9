/* test_twins.c — the fused diffusion kernels against naive twins written in probability space
 * (or plain double arithmetic), one value at a time:
 *   mn_log_q_xt_x0, mn_log_posterior   log-space, log-add-exp, log-sum-exp  vs  products of
 *                                      probabilities, normalised by their sum;
 *   mn_loss                            KL (or decoder NLL) and its closed-form gradient  vs  the
 *                                      KL summed directly and the gradient by the chain rule
 *                                      through posterior -> x0_hat -> softmax;
 *   mn_sample_step                     Gumbel-max on the log posterior  vs  argmax in double;
 *   q_sample, ddim_step, ddpm_step     one fused pass (x0_hat, clip, eps recomputed, update) on
 *                                      strided rows  vs  the formulas of diffusion.h in double.
 * K = 2..50, abar from 1e-3 to 1 (the decoder step), B = 1 and odd widths. */
#include "diffusion/diffusion.h"
#include "testhelp.h"

static const double AB[][2] = {{0.5, 0.7}, {0.05, 0.2}, {0.9, 0.97}, {1e-3, 2e-3}, {0.97, 1.0},
                               {0.3, 1.0}};
enum { NAB = 6, KMAX = 50 };
static const int KS[] = {2, 3, 7, 50};

/* naive posterior over x_s: [abar_s x0 + (1 - abar_s)/K] * [a e(x_t) + (1 - a)/K], a = abar_t /
 * abar_s, normalised; with abar_s == 1 the first factor is x0 itself */
static void nv_post(double *post, const double *x0, int xt, int K, double at, double as) {
    double a = at / as, z = 0;
    for (int k = 0; k < K; k++) {
        double f = as >= 1 ? x0[k] : as * x0[k] + (1 - as) / K;
        double c = a * (k == xt) + (1 - a) / K;
        post[k] = f * c;
        z += post[k];
    }
    for (int k = 0; k < K; k++) post[k] /= z;
}

static void nv_softmax(double *p, const float *o, int K) {
    double m = -INFINITY, z = 0;
    for (int k = 0; k < K; k++) m = fmax(m, o[k]);
    for (int k = 0; k < K; k++) z += p[k] = exp(o[k] - m);
    for (int k = 0; k < K; k++) p[k] /= z;
}

/* loss and gradient by the chain rule, in double */
static double nv_loss(double *g, const float *o, int x0, int xt, int K, double at, double as) {
    double xh[KMAX], e0[KMAX] = {0}, p[KMAX], q[KMAX], dxh[KMAX], a = at / as, Z = 0, L = 0;
    nv_softmax(xh, o, K);
    e0[x0] = 1;
    nv_post(p, xh, xt, K, at, as);
    for (int k = 0; k < K; k++) {
        double f = as >= 1 ? xh[k] : as * xh[k] + (1 - as) / K;
        Z += f * (a * (k == xt) + (1 - a) / K); /* p = u / Z, u_k = f_k c_k */
    }
    if (as >= 1) { /* L = -log p[x0]; dL/du_j = 1/Z - [j == x0]/u_x0; du_j/dxh_j = c_j */
        L = -log(p[x0]);
        for (int j = 0; j < K; j++) {
            double c = a * (j == xt) + (1 - a) / K;
            dxh[j] = c * (1 / Z - (j == x0) / (p[x0] * Z));
        }
    } else { /* L = sum q log(q/p); dL/du_j = (1 - q_j/p_j)/Z; du_j/dxh_j = c_j abar_s */
        nv_post(q, e0, xt, K, at, as);
        for (int k = 0; k < K; k++)
            if (q[k] > 0) L += q[k] * log(q[k] / p[k]);
        for (int j = 0; j < K; j++) {
            double c = a * (j == xt) + (1 - a) / K;
            dxh[j] = c * as * (1 - q[j] / p[j]) / Z;
        }
    }
    double s = 0; /* softmax: dL/do_i = xh_i (dxh_i - sum_j xh_j dxh_j) */
    for (int j = 0; j < K; j++) s += xh[j] * dxh[j];
    for (int i = 0; i < K; i++) g[i] = xh[i] * (dxh[i] - s);
    return L;
}

static void test_log_q_and_posterior_twin(void) {
    /* tolerance: probabilities within 2e-6 absolute (float logs of values in (0, 1]) */
    mcr_rng r;
    mcr_rng_seed(&r, 41, 0);
    float lq[KMAX], lx0[KMAX], lp[KMAX];
    double x0[KMAX], post[KMAX];
    for (int ki = 0; ki < 4; ki++)
        for (int c = 0; c < NAB; c++)
            for (int rep = 0; rep < 3; rep++) {
                int K = KS[ki], xs = (int)mcr_rng_below(&r, (uint64_t)K),
                    xt = (int)mcr_rng_below(&r, (uint64_t)K);
                double at = AB[c][0], as = AB[c][1], err = 0;
                mn_log_q_xt_x0(lq, xs, K, at);
                for (int k = 0; k < K; k++)
                    err = fmax(err, fabs(exp(lq[k]) - (at * (k == xs) + (1 - at) / K)));
                CHECK(err < 2e-6, "q(x_t|x_0) K %d abar %g: max abs err %g", K, at, err);
                /* a soft x_0 (rep 0, 1) and a one-hot one (rep 2) */
                double z = 0;
                for (int k = 0; k < K; k++) z += x0[k] = rep < 2 ? exp(2 * mcr_rng_normal(&r)) : (k == xs);
                for (int k = 0; k < K; k++) x0[k] /= z, lx0[k] = x0[k] > 0 ? (float)log(x0[k]) : -INFINITY;
                for (int k = 0; k < K; k++) x0[k] = exp((double)lx0[k]); /* what the kernel sees */
                mn_log_posterior(lp, lx0, xt, K, at, as);
                nv_post(post, x0, xt, K, at, as);
                err = 0;
                for (int k = 0; k < K; k++) err = fmax(err, fabs(exp(lp[k]) - post[k]));
                CHECK(err < 2e-6, "posterior K %d abar %g/%g rep %d: max abs err %g", K, at, as, rep, err);
            }
}

static void test_loss_twin(void) {
    /* tolerance: loss within 1e-5 (abs) + 1e-5 (rel); gradient within 1e-5 * w per entry
     * (float log-space vs double probability space) */
    mcr_rng r;
    mcr_rng_seed(&r, 42, 0);
    float o[KMAX], g[KMAX], sc[4 * KMAX];
    double gn[KMAX];
    const float w = 3.0f;
    for (int ki = 0; ki < 4; ki++)
        for (int c = 0; c < NAB; c++)
            for (int rep = 0; rep < 4; rep++) {
                int K = KS[ki], x0 = (int)mcr_rng_below(&r, (uint64_t)K),
                    xt = rep == 0 ? x0 : (int)mcr_rng_below(&r, (uint64_t)K);
                for (int k = 0; k < K; k++) o[k] = (float)(2 * mcr_rng_normal(&r));
                double at = AB[c][0], as = AB[c][1];
                double l = mn_loss(g, o, x0, xt, K, at, as, w, sc);
                double ln = nv_loss(gn, o, x0, xt, K, at, as), gerr = 0;
                for (int k = 0; k < K; k++) gerr = fmax(gerr, fabs(g[k] - w * gn[k]));
                CHECK(fabs(l - ln) <= 1e-5 + 1e-5 * fabs(ln), "K %d abar %g/%g: loss %.9g vs %.9g", K,
                      at, as, l, ln);
                CHECK(gerr <= 1e-5 * w, "K %d abar %g/%g x0 %d xt %d: grad max abs err %g", K, at, as,
                      x0, xt, gerr);
                CHECK(mn_loss(NULL, o, x0, xt, K, at, as, w, sc) == l, "g == NULL gives the same loss");
            }
}

static void test_sample_step_twin(void) {
    /* the same draw as argmax_k(log p_k - log(-log u_k)) in double, wherever the top two are
     * more than 1e-4 apart (closer ties may round either way) */
    mcr_rng r;
    mcr_rng_seed(&r, 43, 0);
    float o[KMAX], u[KMAX], sc[2 * KMAX];
    double xh[KMAX], post[KMAX];
    int checked = 0, same = 0;
    for (int ki = 0; ki < 4; ki++)
        for (int c = 0; c < NAB; c++)
            for (int rep = 0; rep < 20; rep++) {
                int K = KS[ki], xt = (int)mcr_rng_below(&r, (uint64_t)K);
                for (int k = 0; k < K; k++) o[k] = (float)(2 * mcr_rng_normal(&r));
                for (int k = 0; k < K; k++) u[k] = (float)mcr_rng_uniform(&r);
                u[0] = 0; /* clamped to 1e-30 by the kernel */
                int got = mn_sample_step(o, xt, K, AB[c][0], AB[c][1], u, sc);
                nv_softmax(xh, o, K);
                nv_post(post, xh, xt, K, AB[c][0], AB[c][1]);
                double best = -INFINITY, second = -INFINITY;
                int want = 0;
                for (int k = 0; k < K; k++) {
                    double v = log(post[k]) - log(-log(fmax(u[k], 1e-30)));
                    if (v > best) second = best, best = v, want = k;
                    else if (v > second) second = v;
                }
                if (best - second > 1e-4) checked++, same += got == want;
            }
    CHECK(checked > 400 && same == checked, "%d of %d draws agree", same, checked);
}

static void test_gaussian_steps_twin(void) {
    /* q_sample, ddim_step, ddpm_step on rows of stride ld > d: columns d..ld untouched; values
     * within 2e-5 of max(|value|, 1) against the formulas in double (x0_hat divides by
     * sqrt(abar_t), so float rounding grows where abar_t is small) */
    mcr_sched s;
    CHECK(mcr_sched_init(&s, 100, MCR_SCHED_COSINE) == 0, "schedule");
    mcr_rng r;
    mcr_rng_seed(&r, 44, 0);
    const int Bs[] = {1, 13}, d = 7, ld = 10;
    float lo[7], hi[7];
    for (int k = 0; k < d; k++) lo[k] = -1.0f - 0.1f * k, hi[k] = 0.8f + 0.1f * k;
    for (int bi = 0; bi < 2; bi++)
        for (int clip = 0; clip < 2; clip++)
            for (int tt = 0; tt < 3; tt++) {
                int B = Bs[bi], T[3] = {0, 40, 95}, t = T[tt];
                float x0[130], eps[91], e2[130], xt[130], xa[130], xb[130], z[91];
                int ts[13];
                for (int i = 0; i < B * ld; i++) x0[i] = (float)mcr_rng_normal(&r), e2[i] = (float)mcr_rng_normal(&r);
                for (int i = 0; i < B * d; i++) eps[i] = (float)mcr_rng_normal(&r), z[i] = (float)mcr_rng_normal(&r);
                for (int i = 0; i < B; i++) ts[i] = (t + 7 * i) % 100;
                for (int i = 0; i < B * ld; i++) xt[i] = 99;
                q_sample(xt, x0, eps, ts, &s, B, d, ld);
                memcpy(xa, xt, sizeof xa), memcpy(xb, xt, sizeof xb);
                double at = s.abar[t], ap = mcr_abar_prev(&s, t), tp = t > 10 ? s.abar[t - 10] : 1.0;
                ddim_step(xa, e2, NULL, 0, B, d, ld, clip ? lo : NULL, clip ? hi : NULL, at, tp);
                ddpm_step(xb, e2, z, B, d, ld, clip ? lo : NULL, clip ? hi : NULL, &s, t);
                double eq = 0, ea = 0, eb = 0;
                int pad = 1;
                for (int i = 0; i < B; i++)
                    for (int k = 0; k < ld; k++) {
                        int j = i * ld + k;
                        if (k >= d) {
                            pad &= xt[j] == 99 && xa[j] == 99 && xb[j] == 99;
                            continue;
                        }
                        double a = s.abar[ts[i]];
                        double q = sqrt(a) * x0[j] + sqrt(1 - a) * eps[i * d + k];
                        eq = fmax(eq, fabs(xt[j] - q) / fmax(fabs(q), 1));
                        double x = xt[j], e = e2[j], h = (x - sqrt(1 - at) * e) / sqrt(at);
                        if (clip && (h < lo[k] || h > hi[k])) {
                            h = h < lo[k] ? lo[k] : hi[k];
                            e = (x - sqrt(at) * h) / sqrt(1 - at);
                        }
                        double want = sqrt(tp) * h + sqrt(1 - tp) * e;
                        ea = fmax(ea, fabs(xa[j] - want) / fmax(fabs(want), 1));
                        /* ddpm: posterior mean of q(x_{t-1} | x_t, x0_hat), plus sd z for t > 0 */
                        double beta = s.beta[t], h2 = (x - sqrt(1 - at) * e2[j]) / sqrt(at);
                        if (clip) h2 = fmin(fmax(h2, lo[k]), hi[k]);
                        double m = beta * sqrt(ap) / (1 - at) * h2 + (1 - ap) * sqrt(1 - beta) / (1 - at) * x;
                        if (t > 0) m += sqrt(beta * (1 - ap) / (1 - at)) * z[i * d + k];
                        eb = fmax(eb, fabs(xb[j] - m) / fmax(fabs(m), 1));
                    }
                CHECK(pad, "B %d t %d: padding columns untouched", B, t);
                CHECK(eq < 2e-5 && ea < 2e-5 && eb < 2e-5,
                      "B %d clip %d t %d: q_sample %g, ddim %g, ddpm %g max rel err", B, clip, t, eq, ea, eb);
            }
    mcr_sched_free(&s);
}

int main(void) {
    TEST(test_log_q_and_posterior_twin);
    TEST(test_loss_twin);
    TEST(test_sample_step_twin);
    TEST(test_gaussian_steps_twin);
    return DONE();
}
