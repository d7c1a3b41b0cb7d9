/* diffusion.c — noise schedules, forward noising and the DDPM / DDIM reverse steps. */
#include "diffusion/diffusion.h"

int mcr_sched_init(mcr_sched *s, int T, mcr_schedule kind) {
    s->T = T;
    s->beta = malloc((size_t)T * sizeof(double));
    s->abar = malloc((size_t)T * sizeof(double));
    if (!s->beta || !s->abar) {
        mcr_sched_free(s);
        return MCR_NOMEM();
    }
    if (kind == MCR_SCHED_LINEAR) {
        double scale = 1000.0 / T, b0 = scale * 1e-4, b1 = scale * 0.02;
        for (int t = 0; t < T; t++) s->beta[t] = T > 1 ? b0 + (b1 - b0) * t / (T - 1) : b0;
    } else {
        const double so = 0.008;
        for (int t = 0; t < T; t++) {
            double f0 = cos((((double)t / T) + so) / (1 + so) * M_PI / 2);
            double f1 = cos((((double)(t + 1) / T) + so) / (1 + so) * M_PI / 2);
            double b = 1 - (f1 * f1) / (f0 * f0);
            s->beta[t] = b < 0.999 ? b : 0.999;
        }
    }
    double a = 1;
    for (int t = 0; t < T; t++) {
        a *= 1 - s->beta[t];
        s->abar[t] = a;
    }
    return MCR_OK;
}

void mcr_sched_free(mcr_sched *s) {
    free(s->beta);
    free(s->abar);
    s->beta = s->abar = NULL;
}

void q_sample(float *xt, const float *x0, const float *eps, const int *t, const mcr_sched *s,
              int B, int d, int ld) {
#pragma omp parallel for schedule(static) if ((size_t)B * d > 16384)
    for (int r = 0; r < B; r++) {
        float a = (float)sqrt(s->abar[t[r]]), b = (float)sqrt(1 - s->abar[t[r]]);
        for (int k = 0; k < d; k++) {
            size_t i = (size_t)r * ld + k;
            xt[i] = a * x0[i] + b * eps[(size_t)r * d + k];
        }
    }
}

static inline float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void ddim_step(float *x, const float *eps, const float *z, float eta, int B, int d, int ld,
               const float *lo, const float *hi, double abar_t, double abar_prev) {
    float ra = (float)sqrt(abar_t), rb = (float)sqrt(1 - abar_t);
    double var = eta > 0 && abar_prev < 1 ? (double)eta * eta * (1 - abar_prev) / (1 - abar_t) *
                                                (1 - abar_t / abar_prev)
                                          : 0;
    if (var > 1 - abar_prev) var = 1 - abar_prev;
    float pa = (float)sqrt(abar_prev), pb = (float)sqrt(1 - abar_prev - var), sg = (float)sqrt(var);
    if (!z) sg = 0;
#pragma omp parallel for schedule(static) if ((size_t)B * d > 16384)
    for (int r = 0; r < B; r++)
        for (int k = 0; k < d; k++) {
            size_t i = (size_t)r * ld + k;
            float e = eps[i], x0 = (x[i] - rb * e) / ra;
            if (lo) {
                float c = clampf(x0, lo[k], hi[k]);
                if (c != x0 && rb > 0) e = (x[i] - ra * c) / rb;
                x0 = c;
            }
            x[i] = sg > 0 ? pa * x0 + pb * e + sg * z[(size_t)r * d + k] : pa * x0 + pb * e;
        }
}

double dpmpp_step(float *x, const float *eps, float *x0_last, double h_last, const float *z, float eta,
                  int B, int d, int ld, const float *lo, const float *hi, double abar_t, double abar_s) {
    float ra = (float)sqrt(abar_t), rb = (float)sqrt(1 - abar_t);
    int last = !(abar_s < 1);
    double h = last ? INFINITY : 0.5 * log(abar_s / (1 - abar_s)) - 0.5 * log(abar_t / (1 - abar_t));
    float cx = 0, c0 = 1, cn = 0, cr = 0;
    if (!last) {
        cx = (float)(sqrt((1 - abar_s) / (1 - abar_t)) * exp(-eta * h));
        c0 = (float)(sqrt(abar_s) * -expm1(-(1 + eta) * h));
        cn = z && eta > 0 ? (float)(sqrt(1 - abar_s) * sqrt(-expm1(-2.0 * eta * h))) : 0;
        cr = h_last > 0 && isfinite(h_last) ? (float)(0.5 * h / h_last) : 0;
    }
#pragma omp parallel for schedule(static) if ((size_t)B * d > 16384)
    for (int r = 0; r < B; r++)
        for (int k = 0; k < d; k++) {
            size_t i = (size_t)r * ld + k, j = (size_t)r * d + k;
            float x0 = (x[i] - rb * eps[i]) / ra;
            if (lo) x0 = clampf(x0, lo[k], hi[k]);
            float D = cr != 0 ? x0 + cr * (x0 - x0_last[j]) : x0;
            x[i] = last ? x0 : cx * x[i] + c0 * D + (cn != 0 ? cn * z[j] : 0);
            x0_last[j] = x0;
        }
    return h;
}

void ddpm_step(float *x, const float *eps, const float *z, int B, int d, int ld, const float *lo,
               const float *hi, const mcr_sched *s, int t) {
    double at = s->abar[t], ap = mcr_abar_prev(s, t), beta = s->beta[t];
    float ra = (float)sqrt(at), rb = (float)sqrt(1 - at);
    float c0 = (float)(beta * sqrt(ap) / (1 - at));              /* coefficient of x0_hat */
    float ct = (float)((1 - ap) * sqrt(1 - beta) / (1 - at));    /* coefficient of x_t    */
    float sd = (float)sqrt(beta * (1 - ap) / (1 - at));          /* posterior std         */
#pragma omp parallel for schedule(static) if ((size_t)B * d > 16384)
    for (int r = 0; r < B; r++)
        for (int k = 0; k < d; k++) {
            size_t i = (size_t)r * ld + k;
            float x0 = (x[i] - rb * eps[i]) / ra;
            if (lo) x0 = clampf(x0, lo[k], hi[k]);
            float m = c0 * x0 + ct * x[i];
            x[i] = t > 0 ? m + sd * z[(size_t)r * d + k] : m;
        }
}

void cfg_combine(float *eps_cond, const float *eps_uncond, size_t n, float w) {
    for (size_t i = 0; i < n; i++) eps_cond[i] = (1 + w) * eps_cond[i] - w * eps_uncond[i];
}
