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
#include "mcr_int.h"

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
void ddim_step(float *x, const float *eps, int B, int d, int ld, const float *lo,
               const float *hi, double abar_t, double abar_prev);
void ddpm_step(float *x, const float *eps, const float *z, int B, int d, int ld, const float *lo,
               const float *hi, const mcr_sched *s, int t);
/* Classifier-free guidance: eps = (1 + w) eps_cond - w eps_uncond (into eps_cond) */
void cfg_combine(float *eps_cond, const float *eps_uncond, size_t n, float w);
#endif
