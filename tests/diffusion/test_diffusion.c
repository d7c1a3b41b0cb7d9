/* test_diffusion.c — schedules against values computed independently in double precision
 * (Python, see comments), q(x_t|x_0) moments by Monte Carlo, exact DDIM/DDPM identities. */
#include "diffusion/diffusion.h"
#include "tabular/tabular.h"
#include "testhelp.h"

static void test_linear_schedule(void) {
    mcr_sched s;
    CHECK(mcr_sched_init(&s, 1000, MCR_SCHED_LINEAR) == 0, "init");
    CHECK(fabs(s.beta[0] - 1e-4) < 1e-15 && fabs(s.beta[999] - 0.02) < 1e-15, "ends");
    double b1 = 1e-4 + (0.02 - 1e-4) / 999;
    CHECK(fabs(s.abar[1] - (1 - 1e-4) * (1 - b1)) < 1e-15, "abar[1] by hand");
    mcr_sched_free(&s);
    /* T = 75 (the MCRAGE code's): betas scaled by 1000/75; reference values from
     * prod(1 - linspace(1e-4*1000/75, 0.02*1000/75, 75)) in Python float64 */
    CHECK(mcr_sched_init(&s, 75, MCR_SCHED_LINEAR) == 0, "init 75");
    CHECK(fabs(s.beta[0] - 0.0013333333333333335) < 1e-15, "beta0 %g", s.beta[0]);
    CHECK(fabs(s.beta[74] - 0.26666666666666666) < 1e-14, "beta74 %g", s.beta[74]);
    CHECK(fabs(s.abar[37] - 0.067453850868657489) < 1e-12, "abar[37] %.17g", s.abar[37]);
    CHECK(fabs(s.abar[74] - 1.5206802172280622e-05) < 1e-15, "abar[74] %.17g", s.abar[74]);
    mcr_sched_free(&s);
}

static void test_cosine_schedule(void) {
    /* abar[t] = f(t+1)/f(0), f(t) = cos(((t/T) + 0.008)/1.008 * pi/2)^2, until beta hits 0.999 */
    mcr_sched s;
    CHECK(mcr_sched_init(&s, 1000, MCR_SCHED_COSINE) == 0, "init");
    CHECK(fabs(s.abar[0] - 0.99995871577517803) < 1e-13, "abar[0] %.17g", s.abar[0]);
    CHECK(fabs(s.abar[499] - 0.49384359044063775) < 1e-12, "abar[499] %.17g", s.abar[499]);
    CHECK(fabs(s.abar[998] / 2.428766907034851e-06 - 1) < 1e-9, "abar[998] %.17g", s.abar[998]);
    CHECK(s.beta[999] == 0.999, "last beta clipped at 0.999 (%g)", s.beta[999]);
    CHECK(fabs(s.abar[999] / 2.4287669070348567e-09 - 1) < 1e-9, "abar[999] %.17g", s.abar[999]);
    for (int t = 1; t < 1000; t++) CHECK(s.abar[t] < s.abar[t - 1], "monotone at %d", t);
    mcr_sched_free(&s);
}

static void test_q_sample_moments(void) {
    mcr_sched s;
    mcr_sched_init(&s, 1000, MCR_SCHED_COSINE);
    int n = 200000, B = n, d = 1;
    float *x0 = malloc(n * sizeof(float)), *eps = malloc(n * sizeof(float)), *xt = malloc(n * sizeof(float));
    int *t = malloc(n * sizeof(int));
    for (int i = 0; i < n; i++) x0[i] = 1.5f, t[i] = 300;
    mcr_fill_normal(eps, n, 11, 0);
    q_sample(xt, x0, eps, t, &s, B, d, d);
    double m = 0, v = 0;
    for (int i = 0; i < n; i++) m += xt[i];
    m /= n;
    for (int i = 0; i < n; i++) v += (xt[i] - m) * (xt[i] - m);
    v /= n - 1;
    double em = 1.5 * sqrt(s.abar[300]), ev = 1 - s.abar[300];
    CHECK(fabs(m - em) < 5 * sqrt(ev / n), "mean %g vs %g", m, em);
    CHECK(fabs(v - ev) < 5 * ev * sqrt(2.0 / n), "var %g vs %g", v, ev);
    free(x0), free(eps), free(xt), free(t);
    mcr_sched_free(&s);
}

static void test_ddim_perfect_predictor(void) {
    /* x_t from (x0, eps); one DDIM step with the true eps to t = -1 returns x0, and to an
     * intermediate s returns q_sample(x0, eps, s) */
    mcr_sched s;
    mcr_sched_init(&s, 1000, MCR_SCHED_LINEAR);
    float x0[6] = {0.3f, -1.2f, 2.0f, 0.0f, 5.1f, -4.0f}, eps[6] = {1, -0.5f, 0.25f, 2, -1, 0.1f};
    int tt[6] = {600, 600, 600, 600, 600, 600};
    float x[6];
    q_sample(x, x0, eps, tt, &s, 3, 2, 2);
    float y[6];
    memcpy(y, x, sizeof x);
    ddim_step(x, eps, NULL, 0, 3, 2, 2, NULL, NULL, s.abar[600], 1.0);
    for (int i = 0; i < 6; i++) CHECK(fabsf(x[i] - x0[i]) < 1e-5f, "x0[%d] %g vs %g", i, x[i], x0[i]);
    ddim_step(y, eps, NULL, 0, 3, 2, 2, NULL, NULL, s.abar[600], s.abar[200]);
    float z[6];
    int t2[6] = {200, 200, 200, 200, 200, 200};
    q_sample(z, x0, eps, t2, &s, 3, 2, 2);
    for (int i = 0; i < 6; i++) CHECK(fabsf(y[i] - z[i]) < 1e-5f, "x_200[%d]", i);
    /* clipping: a bound on x0_hat is respected exactly at t = -1 */
    float lo[2] = {-1, -1}, hi[2] = {1, 1};
    q_sample(x, x0, eps, tt, &s, 3, 2, 2);
    ddim_step(x, eps, NULL, 0, 3, 2, 2, lo, hi, s.abar[600], 1.0);
    for (int i = 0; i < 6; i++)
        CHECK(fabsf(x[i] - fminf(1, fmaxf(-1, x0[i]))) < 1e-5f, "clipped x0[%d] %g", i, x[i]);
    mcr_sched_free(&s);
}

static void test_ddpm_step(void) {
    mcr_sched s;
    mcr_sched_init(&s, 100, MCR_SCHED_COSINE);
    /* at t = 0 the posterior is a point mass on x0_hat */
    float x0[3] = {0.5f, -0.7f, 1.1f}, eps[3] = {0.2f, 1.0f, -1.5f}, x[3], z[3] = {9, 9, 9};
    int t0[3] = {0, 0, 0};
    q_sample(x, x0, eps, t0, &s, 1, 3, 3);
    ddpm_step(x, eps, z, 1, 3, 3, NULL, NULL, &s, 0);
    for (int i = 0; i < 3; i++) CHECK(fabsf(x[i] - x0[i]) < 1e-5f, "t=0 gives x0");
    /* at t = 50 with the true eps and z = 0: the posterior mean
     * (sqrt(abar_{t-1}) beta_t x0 + sqrt(alpha_t)(1 - abar_{t-1}) x_t) / (1 - abar_t) */
    int t5[3] = {50, 50, 50};
    q_sample(x, x0, eps, t5, &s, 1, 3, 3);
    float xt[3];
    memcpy(xt, x, sizeof x);
    float zero[3] = {0, 0, 0};
    ddpm_step(x, eps, zero, 1, 3, 3, NULL, NULL, &s, 50);
    double at = s.abar[50], ap = s.abar[49], b = s.beta[50];
    for (int i = 0; i < 3; i++) {
        double mu = (sqrt(ap) * b * x0[i] + sqrt(1 - b) * (1 - ap) * xt[i]) / (1 - at);
        CHECK(fabs(x[i] - mu) < 1e-5, "posterior mean %g vs %g", x[i], mu);
    }
    mcr_sched_free(&s);
}

static void test_cfg(void) {
    float c[3] = {1, 2, 3}, u[3] = {0, 1, 5};
    cfg_combine(c, u, 3, 0);
    CHECK(c[0] == 1 && c[2] == 3, "w = 0 is the conditional prediction");
    cfg_combine(c, u, 3, 4);
    CHECK(c[0] == 5 && c[1] == 6 && c[2] == -5, "(1+w) c - w u");
}

static void test_ddim_eta(void) {
    /* eta = 1 on a coarse grid is the DDPM posterior from t to s: mean
     * sqrt(abar_s) x0 + sqrt(1 - abar_s - sigma^2) eps, sd sigma = sqrt((1-abar_s)/(1-abar_t)
     * (1 - abar_t/abar_s)); written out here by hand. eta = 0 is plain DDIM; the last step
     * (abar_s = 1) adds no noise whatever eta is. */
    mcr_sched s;
    mcr_sched_init(&s, 1000, MCR_SCHED_COSINE);
    double at = s.abar[700], as = s.abar[300];
    float x0[4] = {0.3f, -1.2f, 2.0f, 0.5f}, eps[4] = {1, -0.5f, 0.25f, 2}, z[4] = {0.7f, -1.1f, 0.2f, 1.9f};
    int tt[4] = {700, 700, 700, 700};
    float x[4], y[4], w[4];
    q_sample(x, x0, eps, tt, &s, 2, 2, 2);
    memcpy(y, x, sizeof x);
    memcpy(w, x, sizeof x);
    ddim_step(x, eps, z, 1.0f, 2, 2, 2, NULL, NULL, at, as);
    ddim_step(y, eps, NULL, 0.0f, 2, 2, 2, NULL, NULL, at, as);
    double sig = sqrt((1 - as) / (1 - at) * (1 - at / as));
    for (int i = 0; i < 4; i++) {
        double want = sqrt(as) * x0[i] + sqrt(1 - as - sig * sig) * eps[i] + sig * z[i];
        CHECK(fabs(x[i] - want) < 1e-5, "eta=1 [%d]: %g vs %g", i, x[i], want);
        double ddim = sqrt(as) * x0[i] + sqrt(1 - as) * eps[i];
        CHECK(fabs(y[i] - ddim) < 1e-5, "eta=0 [%d]: %g vs %g", i, y[i], ddim);
    }
    /* the DDPM posterior variance of one step t -> t-1 is beta_t (1 - abar_{t-1}) / (1 - abar_t) */
    double a1 = s.abar[500], a0 = s.abar[499], post = s.beta[500] * (1 - a0) / (1 - a1);
    double s1 = (1 - a0) / (1 - a1) * (1 - a1 / a0);
    CHECK(fabs(s1 - post) < 1e-9 * post + 1e-15, "one-step sigma^2 %g vs beta posterior %g", s1, post);
    ddim_step(w, eps, z, 1.0f, 2, 2, 2, NULL, NULL, at, 1.0);
    for (int i = 0; i < 4; i++) CHECK(fabsf(w[i] - x0[i]) < 1e-5f, "last step is x0_hat [%d]", i);
    mcr_sched_free(&s);
}

static void test_dpmpp_identities(void) {
    /* DPM-Solver++ first order equals DDIM at eta 0 and the DDPM posterior at eta 1 (same z);
     * with x0_last equal to this x0_hat the second-order term vanishes; the last step is x0_hat */
    mcr_sched s;
    mcr_sched_init(&s, 1000, MCR_SCHED_COSINE);
    double at = s.abar[700], as = s.abar[300];
    float x0[4] = {0.3f, -1.2f, 2.0f, 0.5f}, eps[4] = {1, -0.5f, 0.25f, 2}, z[4] = {0.7f, -1.1f, 0.2f, 1.9f};
    int tt[4] = {700, 700, 700, 700};
    for (int eta = 0; eta <= 1; eta++) {
        float x[4], y[4], w[4], last[4];
        q_sample(x, x0, eps, tt, &s, 2, 2, 2);
        memcpy(y, x, sizeof x), memcpy(w, x, sizeof x);
        double h = dpmpp_step(x, eps, last, 0, eta ? z : NULL, (float)eta, 2, 2, 2, NULL, NULL, at, as);
        ddim_step(y, eps, eta ? z : NULL, (float)eta, 2, 2, 2, NULL, NULL, at, as);
        double want_h = 0.5 * log(as / (1 - as)) - 0.5 * log(at / (1 - at));
        CHECK(fabs(h - want_h) < 1e-12 * fabs(want_h), "h %g vs %g", h, want_h);
        for (int i = 0; i < 4; i++) {
            CHECK(fabsf(x[i] - y[i]) < 2e-5f, "eta %d first order [%d]: %g vs ddim %g", eta, i, x[i], y[i]);
            CHECK(fabsf(last[i] - x0[i]) < 1e-5f, "x0_last [%d]", i);
        }
        dpmpp_step(w, eps, last, 0.7, eta ? z : NULL, (float)eta, 2, 2, 2, NULL, NULL, at, as);
        for (int i = 0; i < 4; i++) CHECK(fabsf(w[i] - y[i]) < 2e-5f, "second order, x0 unchanged [%d]", i);
        q_sample(w, x0, eps, tt, &s, 2, 2, 2);
        dpmpp_step(w, eps, last, 0.7, z, 1.0f, 2, 2, 2, NULL, NULL, at, 1.0);
        for (int i = 0; i < 4; i++) CHECK(fabsf(w[i] - x0[i]) < 1e-5f, "last step is x0_hat [%d]", i);
    }
    mcr_sched_free(&s);
}

/* exact eps for data N(mu, v) at time t: x_t ~ N(a mu, a^2 v + sg^2); E[eps | x_t] */
static void gauss_eps(const float *x, float *eps, int n, double mu, double v, double abar) {
    double a = sqrt(abar), sg = sqrt(1 - abar);
    for (int i = 0; i < n; i++) eps[i] = (float)(sg * (x[i] - a * mu) / (a * a * v + sg * sg));
}

static double ode_error(int solver, int K, const mcr_sched *s) {
    /* the probability-flow ODE of N(mu, v) data is linear: x_T maps to
     * mu + sqrt(v) (x_T - a_T mu) / sqrt(a_T^2 v + sg_T^2); max error of K solver steps on the
     * grid t = k T / K, from 64 starting points */
    double mu = 1.5, v = 0.25;
    enum { N = 64 };
    float x[N], eps[N], last[N];
    int T = s->T, t0 = (int)((long)(K - 1) * T / K);
    double a0 = s->abar[t0];
    for (int i = 0; i < N; i++) x[i] = (float)(-3 + 6.0 * i / (N - 1));
    float start[N];
    memcpy(start, x, sizeof x);
    double h = 0;
    for (int k = K - 1; k >= 0; k--) {
        int t = (int)((long)k * T / K), tp = k > 0 ? (int)((long)(k - 1) * T / K) : -1;
        double at = s->abar[t], ap = tp >= 0 ? s->abar[tp] : 1.0;
        gauss_eps(x, eps, N, mu, v, at);
        if (solver) h = dpmpp_step(x, eps, last, tp == 0 ? 0 : h, NULL, 0, N, 1, 1, NULL, NULL, at, ap);
        else ddim_step(x, eps, NULL, 0, N, 1, 1, NULL, NULL, at, ap);
    }
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double want = mu + sqrt(v) * (start[i] - sqrt(a0) * mu) / sqrt(a0 * v + 1 - a0);
        worst = fmax(worst, fabs(x[i] - want));
    }
    return worst;
}

static void test_dpmpp_gaussian_ode(void) {
    /* second order: at 10 and 20 steps DPM-Solver++(2M) (first order into t = 0, as the sampler
     * runs it) lands closer to the exact ODE solution than DDIM, and its error shrinks faster
     * than linearly with the step count (float64 reference: DDIM 0.229 / 0.115, DPM++ 0.071 /
     * 0.0016 at 10 / 20 steps) */
    mcr_sched s;
    mcr_sched_init(&s, 1000, MCR_SCHED_COSINE);
    double d10 = ode_error(0, 10, &s), p10 = ode_error(1, 10, &s), d20 = ode_error(0, 20, &s),
           p20 = ode_error(1, 20, &s);
    CHECK(p10 < d10 && p20 < d20, "dpm++ %g %g vs ddim %g %g", p10, p20, d10, d20);
    CHECK(p20 < 0.35 * p10, "dpm++ error 10 -> 20 steps: %g -> %g", p10, p20);
    CHECK(p20 < 0.01, "dpm++ at 20 steps: %g", p20);
    mcr_sched_free(&s);
}

int main(void) {
    TEST(test_linear_schedule);
    TEST(test_cosine_schedule);
    TEST(test_q_sample_moments);
    TEST(test_ddim_perfect_predictor);
    TEST(test_ddpm_step);
    TEST(test_ddim_eta);
    TEST(test_dpmpp_identities);
    TEST(test_dpmpp_gaussian_ode);
    TEST(test_cfg);
    return DONE();
}
