/* test_unet.c — the conditional UNet (unet.c): the whole network's gradient against central
 * finite differences (per element on a spread of parameters from every module, and along
 * random directions over all parameters and over the input image), the layout's refusals,
 * the conditioning reaching the output, and 1 vs 2 threads.
 * Loss L = sum(out * R), R fixed random; accumulated and differenced in double, the network
 * in float, so every difference is Richardson-extrapolated from h and h/2 (the h^2 error
 * cancels, which allows an h large enough to keep float rounding small). Tolerances: per
 * element relative error (floor 1e-2; h = 4e-2) below 1e-2 for at least 95% of the checked
 * entries and below 3e-2 for all; directional derivatives (h = 1e-3 along N(0,1) directions
 * over all parameters, 1e-2 over the image) within 1e-3 relative. Everything is smooth (SiLU, GroupNorm,
 * softmax): no kink skipping. */
#include "nn/nn.h"
#include "testhelp.h"
#include <omp.h>

static void fill(float *a, size_t n, mcr_rng *r, float scale) {
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * mcr_rng_normal(r));
}
static double relerr(double a, double b, double floor_) {
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), floor_);
}

/* the tiny network: 8x8, 1 channel, base 8, levels 8-16, two blocks per level, attention with
 * two heads at the lowest level, 4 groups, 2 labels and 3 attributes */
static void tiny(mcr_unet_config *c) {
    mcr_unet_config_default(c, 1, 8, 8, 2, 3);
    c->ch = 8;
    c->nlevels = 2;
    c->mult[0] = 1, c->mult[1] = 2;
    c->nheads = 2;
    c->groups = 4;
    c->tdim = 8;
}

enum { NB = 3 };
static const int T_[NB] = {3, 420, 999}, Y_[NB] = {0, 2, 0}, A_[NB] = {3, 0, 2}; /* 2, 3: null */

/* central differences D[0] at h and D[1] at h/2, extrapolated (Richardson): the h^2 term of
 * the truncation error cancels; the deep network's curvature along a direction over all
 * parameters is large enough that a plain central difference needs h where float rounding
 * already shows */
static double richardson(const double D[2]) { return (4 * D[1] - D[0]) / 3; }

static double loss(mcr_unet *n, const float *p, const float *x, const float *R) {
    mcr_unet_forward(n, p, x, T_, Y_, A_, NB);
    const float *o = n->tens[n->t_out].v;
    double s = 0;
    for (int i = 0; i < NB * 64; i++) s += (double)o[i] * R[i];
    return s;
}

static void test_unet_grad(void) {
    mcr_unet_config c;
    tiny(&c);
    mcr_unet n;
    CHECK(mcr_unet_layout(&n, &c) == MCR_OK, "layout: %s", mcr_last_error());
    CHECK(mcr_unet_alloc(&n, 4) == MCR_OK, "alloc");
    size_t P = n.nparams;
    float *p = malloc(P * sizeof(float)), *g = calloc(P, sizeof(float));
    mcr_unet_init_params(&n, p, 7);
    mcr_rng r;
    mcr_rng_seed(&r, 8, 0);
    /* move GroupNorm's gamma/beta off 1/0 so that every path carries gradient */
    for (int i = 0; i < n.nmods; i++)
        if (n.mods[i].type == UM_GN)
            for (int k = 0; k < n.tens[n.mods[i].in0].C; k++)
                p[n.mods[i].w + k] += (float)(0.3 * mcr_rng_normal(&r)),
                    p[n.mods[i].b + k] = (float)(0.3 * mcr_rng_normal(&r));
    float x[NB * 64], R[NB * 64];
    fill(x, NB * 64, &r, 1);
    fill(R, NB * 64, &r, 1);
    loss(&n, p, x, R);
    mcr_unet_backward(&n, p, g, R, Y_, A_, NB);
    float *dx = malloc(sizeof x);
    memcpy(dx, n.tens[n.t_x].g, sizeof x);
    /* backward accumulates: a second pass doubles g */
    float *g2 = malloc(P * sizeof(float));
    memcpy(g2, g, P * sizeof(float));
    mcr_unet_backward(&n, p, g2, R, Y_, A_, NB);
    double acc = 0;
    for (size_t i = 0; i < P; i++) acc = fmax(acc, fabs(g2[i] - 2 * g[i]));
    CHECK(acc < 1e-5, "second backward accumulates (max |g2 - 2g| %g)", acc);
    /* per element: the first 3 entries of every parameter block of every module, plus the
     * embedding tables' used and unused rows, plus 150 random entries */
    size_t idx[4096];
    int ni = 0;
    for (int i = 0; i < n.nmods && ni < 3900; i++) {
        const mcr_umod *m = &n.mods[i];
        if (m->type != UM_CONV && m->type != UM_GN && m->type != UM_PROJ) continue;
        int nb = m->type == UM_GN ? n.tens[m->in0].C : n.tens[m->out].C; /* bias/beta length */
        for (int k = 0; k < 3 && k < nb; k++) idx[ni++] = m->w + k, idx[ni++] = m->b + k;
    }
    for (int k = 0; k < 3; k++)
        idx[ni++] = n.tw1 + k, idx[ni++] = n.tb1 + k, idx[ni++] = n.tw2 + k, idx[ni++] = n.tb2 + k;
    for (int row = 0; row <= c.nlabel; row++) idx[ni++] = n.lab + (size_t)row * n.E + 5;
    for (int row = 0; row <= c.nattr; row++) idx[ni++] = n.att + (size_t)row * n.E + 7;
    for (int k = 0; k < 150; k++) idx[ni++] = mcr_rng_below(&r, P);
    int bad = 0;
    double worst = 0;
    size_t wi = 0;
    for (int k = 0; k < ni; k++) {
        size_t i = idx[k];
        float keep = p[i];
        double D[2];
        for (int s2 = 0; s2 < 2; s2++) {
            float h = s2 ? 2e-2f : 4e-2f;
            p[i] = keep + h;
            double lp = loss(&n, p, x, R);
            p[i] = keep - h;
            double lm = loss(&n, p, x, R);
            p[i] = keep;
            D[s2] = (lp - lm) / (2.0 * h);
        }
        double e = relerr(richardson(D), g[i], 1e-2);
        if (e > 1e-2) bad++;
        if (e > worst) worst = e, wi = i;
    }
    CHECK(bad <= ni / 20, "%d of %d entries above 1e-2", bad, ni);
    CHECK(worst < 3e-2, "worst rel err %g at param %zu (analytic %g)", worst, wi, g[wi]);
    /* the label row 1 is unused by the batch: exactly zero gradient; null rows are used */
    CHECK(g[n.lab + 1 * n.E + 5] == 0 && g[n.lab + 2 * n.E + 5] != 0, "label table rows");
    CHECK(g[n.att + 1 * n.E + 7] == 0 && g[n.att + 3 * n.E + 7] != 0, "attribute table rows");
    /* random directions over all parameters (kann's kad_check_grad), and over the image */
    float *q = malloc(P * sizeof(float)), *v = malloc(P * sizeof(float));
    for (int d = 0; d < 3; d++) {
        fill(v, P, &r, 1);
        double D[2];
        for (int s2 = 0; s2 < 2; s2++) {
            float h = s2 ? 5e-4f : 1e-3f;
            for (size_t i = 0; i < P; i++) q[i] = p[i] + h * v[i];
            double lp = loss(&n, q, x, R);
            for (size_t i = 0; i < P; i++) q[i] = p[i] - h * v[i];
            double lm = loss(&n, q, x, R);
            D[s2] = (lp - lm) / (2.0 * h);
        }
        double fd = richardson(D), an = 0;
        for (size_t i = 0; i < P; i++) an += (double)g[i] * v[i];
        CHECK(relerr(fd, an, 1e-3) < 1e-3, "direction %d: fd %g analytic %g", d, fd, an);
    }
    {
        float vx[NB * 64], xp[NB * 64];
        fill(vx, NB * 64, &r, 1);
        double D[2];
        for (int s2 = 0; s2 < 2; s2++) {
            float h = s2 ? 5e-3f : 1e-2f;
            for (int i = 0; i < NB * 64; i++) xp[i] = x[i] + h * vx[i];
            double lp = loss(&n, p, xp, R);
            for (int i = 0; i < NB * 64; i++) xp[i] = x[i] - h * vx[i];
            double lm = loss(&n, p, xp, R);
            D[s2] = (lp - lm) / (2.0 * h);
        }
        double fd = richardson(D), an = 0;
        for (int i = 0; i < NB * 64; i++) an += (double)dx[i] * vx[i];
        CHECK(relerr(fd, an, 1e-3) < 1e-3, "image direction: fd %g analytic %g", fd, an);
    }
    printf("     unet: %zu params, %d modules, %zu activation floats for 4 images, per-element "
           "worst %.2e (%d of %d above 1e-2)\n",
           P, n.nmods, mcr_unet_activation_floats(&n), worst, bad, ni);
    free(p), free(g), free(g2), free(dx), free(q), free(v);
    mcr_unet_free(&n);
}

static void test_unet_layout_refusals(void) {
    mcr_unet_config c;
    mcr_unet n;
    tiny(&c);
    c.groups = 3; /* 8 channels */
    CHECK(mcr_unet_layout(&n, &c) == MCR_EINVAL && strstr(mcr_last_error(), "groups"), "groups");
    tiny(&c);
    c.H = 9;
    CHECK(mcr_unet_layout(&n, &c) == MCR_EINVAL && strstr(mcr_last_error(), "divisible"), "size");
    tiny(&c);
    c.nheads = 3;
    CHECK(mcr_unet_layout(&n, &c) == MCR_EINVAL && strstr(mcr_last_error(), "nheads"), "heads");
    tiny(&c);
    c.nres = 40; /* 81 skips */
    CHECK(mcr_unet_layout(&n, &c) == MCR_EINVAL && strstr(mcr_last_error(), "skip"), "skips");
    tiny(&c);
    c.nres = 20; /* 41 skips, but far more than UNET_MAX_MODS modules */
    CHECK(mcr_unet_layout(&n, &c) == MCR_EINVAL && strstr(mcr_last_error(), "modules"), "modules");
    /* the default at 28x28 and 64x64 lays out (28 -> 14 -> 7) */
    mcr_unet_config_default(&c, 1, 28, 28, 2, 4);
    CHECK(mcr_unet_layout(&n, &c) == MCR_OK, "default 28x28: %s", mcr_last_error());
    mcr_unet_config_default(&c, 3, 64, 64, 2, 4);
    CHECK(mcr_unet_layout(&n, &c) == MCR_OK, "default 64x64: %s", mcr_last_error());
    CHECK(n.tens[n.t_out].C == 3 && n.tens[n.t_out].H == 64, "output shape");
}

/* the output shape, the condition reaching the output, and 1 vs 2 threads */
static void test_unet_condition_threads(void) {
    mcr_unet_config c;
    tiny(&c);
    mcr_unet n;
    int keep = omp_get_max_threads();
    omp_set_num_threads(2); /* the workspace holds two threads */
    CHECK(mcr_unet_layout(&n, &c) == MCR_OK && mcr_unet_alloc(&n, 4) == MCR_OK, "setup");
    float *p = malloc(n.nparams * sizeof(float));
    mcr_unet_init_params(&n, p, 9);
    mcr_rng r;
    mcr_rng_seed(&r, 10, 0);
    float x[4 * 64], o[2][4 * 64];
    fill(x, 4 * 64, &r, 1);
    memcpy(x + 64, x, 64 * sizeof(float)); /* images 0 and 1 equal, t equal, labels differ */
    int t[4] = {10, 10, 10, 900}, y[4] = {0, 1, 0, 2}, a[4] = {0, 0, 3, 1};
    float *g[2];
    for (int th = 0; th < 2; th++) {
        omp_set_num_threads(th + 1);
        mcr_unet_forward(&n, p, x, t, y, a, 4);
        memcpy(o[th], n.tens[n.t_out].v, sizeof o[th]);
        g[th] = calloc(n.nparams, sizeof(float));
        mcr_unet_backward(&n, p, g[th], x, y, a, 4);
    }
    omp_set_num_threads(keep);
    double d01 = 0, d02 = 0;
    for (int i = 0; i < 64; i++) d01 += fabs(o[0][i] - o[0][64 + i]), d02 += fabs(o[0][i] - o[0][128 + i]);
    CHECK(d01 > 1e-3 && d02 > 1e-3, "label / attribute change the output (%g, %g)", d01, d02);
    CHECK(!memcmp(o[0], o[1], sizeof o[0]), "forward: 1 vs 2 threads differ");
    CHECK(!memcmp(g[0], g[1], n.nparams * sizeof(float)), "backward: 1 vs 2 threads differ");
    /* a batch of one gives the same output as that image inside the batch */
    mcr_unet_forward(&n, p, x + 192, t + 3, y + 3, a + 3, 1);
    double d1 = 0;
    for (int i = 0; i < 64; i++) d1 = fmax(d1, fabs(n.tens[n.t_out].v[i] - o[0][192 + i]));
    CHECK(d1 < 1e-5, "batch of one vs in batch: %g", d1);
    free(p), free(g[0]), free(g[1]);
    mcr_unet_free(&n);
}

/* the two halves of a training step as a trainer will wire them (gradient into opt.g, then
 * mcr_optim_apply): the tiny UNet fits one fixed batch of noise targets, MSE falling below
 * 5% of its start in 60 AdamW steps */
static void test_unet_fits_a_batch(void) {
    mcr_unet_config c;
    tiny(&c);
    mcr_unet n;
    CHECK(mcr_unet_layout(&n, &c) == MCR_OK && mcr_unet_alloc(&n, 4) == MCR_OK, "setup");
    mcr_optim o;
    CHECK(mcr_optim_init(&o, n.nparams) == MCR_OK, "optim");
    mcr_unet_init_params(&n, o.p, 3);
    o.lr = 3e-3f, o.warmup = 0, o.steps = 60, o.grad_clip = 1.0f, o.ema_decay = 0.999f;
    mcr_rng r;
    mcr_rng_seed(&r, 4, 0);
    float x[4 * 64], eps[4 * 64], dout[4 * 64];
    fill(x, 4 * 64, &r, 1);
    fill(eps, 4 * 64, &r, 1);
    int t[4] = {1, 200, 500, 999}, y[4] = {0, 1, 2, 1}, a[4] = {0, 3, 1, 2};
    double first = 0, last = 0;
    for (int step = 0; step < 60; step++) {
        memset(o.g, 0, n.nparams * sizeof(float));
        mcr_unet_forward(&n, o.p, x, t, y, a, 4);
        double l = mse_forward_backward(dout, n.tens[n.t_out].v, eps, 4 * 64);
        mcr_unet_backward(&n, o.p, o.g, dout, y, a, 4);
        mcr_optim_apply(&o, step);
        if (step == 0) first = l;
        last = l;
    }
    CHECK(isfinite(last) && last < 0.05 * first, "mse %g -> %g", first, last);
    printf("     unet fit of one batch: mse %.4f -> %.4f in 60 steps\n", first, last);
    mcr_optim_free(&o);
    mcr_unet_free(&n);
}

/* the oneDNN engines (fp32, and bf16 where the CPU has it): the output and gradient against
 * the im2col engine's (fp32: relative L2 2e-5; bf16: 3e-2, eight significant bits through a
 * dozen layers), no convolution falling back, and 20 training steps from the same seed run
 * twice at 1 and at 2 threads give the same bits (oneDNN is deterministic for a thread count,
 * not across thread counts, so only runs at the same count are compared) */
static double rel_l2(const float *a, const float *b, size_t n) {
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]), m += (double)b[i] * b[i];
    return sqrt(d / fmax(m, 1e-30));
}
static void dnnl_fit(mcr_unet *n, int engine, float *pout, double *loss) {
    mcr_optim o;
    CHECK(mcr_optim_init(&o, n->nparams) == MCR_OK, "optim");
    CHECK(mcr_unet_set_engine(n, engine) == MCR_OK, "engine %s: %s", mcr_unet_engine_name(engine), mcr_last_error());
    mcr_unet_init_params(n, o.p, 3);
    o.lr = 3e-3f, o.warmup = 0, o.steps = 20, o.grad_clip = 1.0f, o.ema_decay = 0.999f;
    mcr_rng r;
    mcr_rng_seed(&r, 4, 0);
    float x[4 * 64], eps[4 * 64], dout[4 * 64];
    fill(x, 4 * 64, &r, 1);
    fill(eps, 4 * 64, &r, 1);
    int t[4] = {1, 200, 500, 999}, y[4] = {0, 1, 2, 1}, a[4] = {0, 3, 1, 2};
    for (int step = 0; step < 20; step++) {
        memset(o.g, 0, n->nparams * sizeof(float));
        mcr_unet_forward(n, o.p, x, t, y, a, 4);
        *loss = mse_forward_backward(dout, n->tens[n->t_out].v, eps, 4 * 64);
        mcr_unet_backward(n, o.p, o.g, dout, y, a, 4);
        mcr_optim_apply(&o, step);
    }
    memcpy(pout, o.p, n->nparams * sizeof(float));
    mcr_optim_free(&o);
}

static void test_unet_dnnl(void) {
    mcr_unet_config c;
    tiny(&c);
    mcr_unet n;
    int keep = omp_get_max_threads();
    omp_set_num_threads(2);
    CHECK(mcr_unet_layout(&n, &c) == MCR_OK && mcr_unet_alloc(&n, 4) == MCR_OK, "setup");
    CHECK(mcr_unet_set_engine(&n, 9) == MCR_EINVAL, "an unknown engine is refused");
    float *p = malloc(n.nparams * sizeof(float)), *g0 = calloc(n.nparams, sizeof(float)),
          *g1 = calloc(n.nparams, sizeof(float)), o0[4 * 64], x[4 * 64];
    mcr_unet_init_params(&n, p, 9);
    mcr_rng r;
    mcr_rng_seed(&r, 10, 0);
    fill(x, 4 * 64, &r, 1);
    int t[4] = {10, 300, 600, 900}, y[4] = {0, 1, 0, 2}, a[4] = {0, 0, 3, 1};
    mcr_unet_forward(&n, p, x, t, y, a, 4);
    memcpy(o0, n.tens[n.t_out].v, sizeof o0);
    mcr_unet_backward(&n, p, g0, x, y, a, 4);
    for (int e = MCR_UNET_DNNL_FP32; e <= MCR_UNET_DNNL_BF16; e++) {
        if (e == MCR_UNET_DNNL_BF16 && !mcr_bf16_supported()) {
            CHECK(mcr_unet_set_engine(&n, e) == MCR_EINVAL && n.engine == MCR_UNET_DNNL_FP32, "bf16 refused");
            break;
        }
        CHECK(mcr_unet_set_engine(&n, e) == MCR_OK, "engine %d: %s", e, mcr_last_error());
        memset(g1, 0, n.nparams * sizeof(float));
        mcr_unet_forward(&n, p, x, t, y, a, 4);
        double eo = rel_l2(n.tens[n.t_out].v, o0, 4 * 64);
        mcr_unet_backward(&n, p, g1, x, y, a, 4);
        double eg = rel_l2(g1, g0, n.nparams), tol = e == MCR_UNET_DNNL_FP32 ? 2e-5 : 3e-2;
        CHECK(eo < tol && eg < tol && n.dnnl_fallbacks == 0, "%s vs im2col: output %g gradient %g (tol %g), %d fallbacks",
              mcr_unet_engine_name(e), eo, eg, tol, n.dnnl_fallbacks);
        printf("     %s vs im2col: relative L2 output %.3g gradient %.3g\n", mcr_unet_engine_name(e), eo, eg);
        float *q[2] = {malloc(n.nparams * sizeof(float)), malloc(n.nparams * sizeof(float))};
        for (int th = 1; th <= 2; th++) {
            double l[2];
            omp_set_num_threads(th);
            for (int rep = 0; rep < 2; rep++) dnnl_fit(&n, e, q[rep], &l[rep]);
            CHECK(!memcmp(q[0], q[1], n.nparams * sizeof(float)) && l[0] == l[1] && isfinite(l[0]),
                  "%s at %d threads: two fits from one seed differ", mcr_unet_engine_name(e), th);
        }
        omp_set_num_threads(2);
        free(q[0]), free(q[1]);
    }
    omp_set_num_threads(keep);
    free(p), free(g0), free(g1);
    mcr_unet_free(&n);
}

/* other shapes: one level (no resampling), three levels on a non-square RGB image (8 x 16 ->
 * 4 x 8 -> 2 x 4), without attention: finite outputs of the input's shape and a directional
 * derivative along the image and along all parameters */
static void test_unet_shapes(void) {
    for (int v = 0; v < 2; v++) {
        mcr_unet_config c;
        mcr_unet_config_default(&c, v ? 3 : 1, 8, v ? 16 : 8, 3, 2);
        c.ch = 8, c.groups = 4, c.tdim = 6;
        if (v) c.nlevels = 3, c.mult[0] = 1, c.mult[1] = 1, c.mult[2] = 2, c.nres = 1, c.attn = 0;
        else c.nlevels = 1, c.mult[0] = 2, c.nheads = 4;
        mcr_unet n;
        CHECK(mcr_unet_layout(&n, &c) == MCR_OK && mcr_unet_alloc(&n, 2) == MCR_OK, "variant %d: %s", v,
              mcr_last_error());
        size_t P = n.nparams, nx = (size_t)2 * c.in_ch * c.H * c.W;
        float *p = malloc(P * sizeof(float)), *g = calloc(P, sizeof(float)), *q = malloc(P * sizeof(float)),
              *dirp = malloc(P * sizeof(float)), *x = malloc(nx * sizeof(float)), *R = malloc(nx * sizeof(float));
        mcr_unet_init_params(&n, p, 11);
        mcr_rng r;
        mcr_rng_seed(&r, 12, (uint64_t)v);
        fill(x, nx, &r, 1), fill(R, nx, &r, 1), fill(dirp, P, &r, 1);
        int t[2] = {7, 700}, y[2] = {3, 1}, a[2] = {0, 2};
        mcr_unet_forward(&n, p, x, t, y, a, 2);
        mcr_utensor *o = &n.tens[n.t_out];
        int finite = 1;
        for (size_t i = 0; i < nx; i++) finite &= isfinite(o->v[i]);
        CHECK(o->C == c.in_ch && o->H == c.H && o->W == c.W && finite, "variant %d: output", v);
        mcr_unet_backward(&n, p, g, R, y, a, 2);
        double an = 0, D[2];
        for (size_t i = 0; i < P; i++) an += (double)g[i] * dirp[i];
        for (int s2 = 0; s2 < 2; s2++) {
            float h = s2 ? 5e-4f : 1e-3f;
            double l[2];
            for (int sg = 0; sg < 2; sg++) {
                for (size_t i = 0; i < P; i++) q[i] = p[i] + (sg ? -h : h) * dirp[i];
                mcr_unet_forward(&n, q, x, t, y, a, 2);
                l[sg] = 0;
                for (size_t i = 0; i < nx; i++) l[sg] += (double)n.tens[n.t_out].v[i] * R[i];
            }
            D[s2] = (l[0] - l[1]) / (2.0 * h);
        }
        CHECK(relerr(richardson(D), an, 1e-3) < 1e-3, "variant %d: direction fd %g analytic %g", v,
              richardson(D), an);
        free(p), free(g), free(q), free(dirp), free(x), free(R);
        mcr_unet_free(&n);
    }
}

int main(void) {
    TEST(test_unet_grad);
    TEST(test_unet_layout_refusals);
    TEST(test_unet_condition_threads);
    TEST(test_unet_fits_a_batch);
    TEST(test_unet_dnnl);
    TEST(test_unet_shapes);
    return DONE();
}
