/* diffusion.h — Gaussian diffusion with the epsilon parametrisation (Ho et al. 2020), DDIM
 * (Song et al. 2021) and classifier-free guidance (Ho & Salimans 2022).
 *
 *   q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),  abar_t = prod_{s<=t} (1 - beta_s)
 *   linear schedule: beta from 1e-4 to 0.02 (both scaled by 1000/T), evenly spaced
 *   cosine schedule: abar(t) = f(t)/f(0), f(t) = cos(((t/T) + s)/(1 + s) * pi/2)^2, s = 0.008,
 *                    beta_t = min(1 - abar(t+1)/abar(t), 0.999)
 * Time steps are 0-based: t = 0..T-1, and abar_{-1} = 1.
 */
#ifndef MCR_DIFFUSION_H
#define MCR_DIFFUSION_H
#include "core/core.h"

typedef struct mcr_sched {
    int T;
    double *beta, *abar; /* [T] each */
} mcr_sched;

int mcr_sched_init(mcr_sched *s, int T, mcr_schedule kind);
void mcr_sched_free(mcr_sched *s);
static inline double mcr_abar_prev(const mcr_sched *s, int t) { return t > 0 ? s->abar[t - 1] : 1.0; }

/* x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, row r at time t[r], on the first d columns of
 * rows of stride ld (x0, xt); eps is compact [B, d] */
void q_sample(float *xt, const float *x0, const float *eps, const int *t, const mcr_sched *s,
              int B, int d, int ld);
/* Both reverse steps work on the first d columns of B rows of stride ld (x and eps; the
 * noise z of DDPM is compact [B, d]). x0_hat = (x_t - sqrt(1-abar_t) eps)/sqrt(abar_t)
 * is clipped per column to [lo[k], hi[k]] (the encoded training range; NULL = no clipping) and
 * eps is recomputed from the clipped x0_hat: near t = T the cosine schedule's sqrt(abar_t) is
 * ~5e-5, so an unclipped x0_hat amplifies any error in eps by four orders of magnitude.
 * DDIM (eta = 0) from t to tprev (abar_prev = 1 for x_0):
 *   x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev) eps
 * DDPM ancestral step from t to t-1: the posterior q(x_{t-1} | x_t, x0_hat) mean, plus its
 * standard deviation times z when t > 0. */
/* With eta > 0 (Song et al. 2021, eq. 12), part of the step is fresh noise z [B, d]:
 *   x_prev = sqrt(abar_prev) x0_hat + sqrt(1 - abar_prev - sigma^2) eps + sigma z,
 *   sigma = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev);
 * eta = 1 is the DDPM posterior on the coarse grid (z may be NULL when eta = 0). Deterministic
 * DDIM carries every early error in x0_hat to the end; on tables its tails were too heavy and,
 * clipped to the training range, piled up at the columns' bounds (spo2 at its minimum: 3.3% of
 * synthetic minority rows vs 0.2% of real ones; eta = 1: 0.6%). */
void ddim_step(float *x, const float *eps, const float *z, float eta, int B, int d, int ld,
               const float *lo, const float *hi, double abar_t, double abar_prev);
void ddpm_step(float *x, const float *eps, const float *z, int B, int d, int ld, const float *lo,
               const float *hi, const mcr_sched *s, int t);
/* DPM-Solver++(2M) (Lu et al. 2022), data prediction, multistep, in its SDE form (eta = 0: the
 * ODE solver; eta = 1: first order is the DDPM posterior, as ddim_step at eta = 1). With
 * alpha = sqrt(abar), sigma = sqrt(1 - abar), lambda = log(alpha / sigma), h = lambda_s - lambda_t
 * for the step from t to s (less noise):
 *   x_s = (sigma_s / sigma_t) e^{-eta h} x_t + alpha_s (1 - e^{-(1+eta) h}) D
 *         + sigma_s sqrt(1 - e^{-2 eta h}) z,
 *   D = x0_hat + (x0_hat - x0_last) / (2 r),  r = h_last / h   (D = x0_hat on the first step),
 * x0_hat clipped as in ddim_step. The last step (abar_s = 1) returns x0_hat. x0_last [B, d]
 * compact holds the previous step's x0_hat and receives this one's; h_last <= 0 means none.
 * Returns this step's h (for the next call). */
double dpmpp_step(float *x, const float *eps, float *x0_last, double h_last, const float *z, float eta,
                  int B, int d, int ld, const float *lo, const float *hi, double abar_t, double abar_s);
/* Classifier-free guidance: eps = (1 + w) eps_cond - w eps_uncond (into eps_cond) */
void cfg_combine(float *eps_cond, const float *eps_uncond, size_t n, float w);

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
