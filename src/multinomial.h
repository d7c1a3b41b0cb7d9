/* multinomial.h — multinomial diffusion for categorical columns (Hoogeboom et al. 2021, as
 * TabDDPM uses it), everything in log space.
 *
 * One categorical column with K levels; x_0 and x_t are level indices. With abar_t the same
 * cumulative product as the Gaussian schedule:
 *   q(x_t | x_0)            = Cat(abar_t e(x_0) + (1 - abar_t)/K)
 *   q(x_t | x_s), s < t     = Cat(a e(x_s) + (1 - a)/K),  a = abar_t / abar_s
 *   q(x_s | x_t, x_0)      ∝ [a e(x_t) + (1 - a)/K] ⊙ [abar_s e(x_0) + (1 - abar_s)/K]
 * (s = t - 1 in training, a = 1 - beta_t; the samplers may jump over steps, which only changes
 * a). Each factor is formed as log-add-exp(log(kept part), log(uniform part)) and normalised
 * with log-sum-exp, so columns with hundreds of levels neither overflow nor underflow.
 *
 * The network predicts logits o for x_0 (the x0-parametrisation): log x0_hat = log_softmax(o),
 * and p(x_s | x_t) = q(x_s | x_t, x0_hat) — the posterior with x0_hat in place of e(x_0).
 * Loss for one column at time t (s = t - 1):
 *   t > 0:  KL( q(x_s | x_t, x_0) || p(x_s | x_t) )
 *   t = 0:  -log p(x_0 | x_1)  (the decoder NLL; abar_s = 1, so p ∝ x0_hat ⊙ q(x_1 | x_0))
 * Its gradient with respect to o, with G_k = (p_k - q_k) r_k and
 * r_k = abar_s x0_hat_k / (abar_s x0_hat_k + (1 - abar_s)/K):  dL/do_j = G_j - x0_hat_j sum_k G_k.
 */
#ifndef MCR_MULTINOMIAL_H
#define MCR_MULTINOMIAL_H
#include "mcr_int.h"

/* log q(x_t | x_0) over the K values of x_t */
void mn_log_q_xt_x0(float *out, int x0, int K, double abar_t);
/* Normalised log q(x_s | x_t, x_0) over the K values of x_s, for x_0 given as log-probabilities
 * lx0[K] (a one-hot x_0 is lx0 = 0 at x_0 and -INFINITY elsewhere). abar_s = 1 means s = -1
 * (the posterior is then x0 itself weighted by q(x_t | x_0 = .)). */
void mn_log_posterior(float *out, const float *lx0, int xt, int K, double abar_t, double abar_s);
/* Loss of one column (KL for abar_s < 1, decoder NLL for abar_s == 1) given the logits o[K],
 * the true x_0 and the noised x_t; writes w * dL/do into g[K] when g != NULL. */
double mn_loss(float *g, const float *o, int x0, int xt, int K, double abar_t, double abar_s,
               float w, float *scratch /* [4K] */);
/* One reverse step: a draw from p(x_s | x_t) by Gumbel-max, argmax_k(log p_k + g_k),
 * g_k = -log(-log u_k) for the K uniforms u[K] in (0, 1). */
int mn_sample_step(const float *o, int xt, int K, double abar_t, double abar_s, const float *u,
                   float *scratch /* [2K] */);
#endif
