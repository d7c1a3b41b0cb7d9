/* test_nn.c — every layer's backward and the whole denoiser loss against central finite
 * differences; fast kernels against naive twins at awkward sizes; AdamW against a hand step. */
#include "nn/nn.h"
#include "testhelp.h"

static void fill(float *a, size_t n, mcr_rng *r, float scale) {
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * mcr_rng_normal(r));
}

/* relative error used throughout: |a-b| / max(|a|, |b|, floor) */
static double relerr(double a, double b, double floor_) {
    double m = fmax(fmax(fabs(a), fabs(b)), floor_);
    return fabs(a - b) / m;
}

static void test_linear_naive_twin(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 1, 0);
    int shapes[][3] = {{1, 7, 13}, {33, 5, 1}, {17, 129, 31}, {64, 64, 64}};
    for (int s = 0; s < 4; s++) {
        int B = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        float *x = malloc(sizeof(float) * B * C), *w = malloc(sizeof(float) * OC * C),
              *b = malloc(sizeof(float) * OC), *o = malloc(sizeof(float) * B * OC);
        fill(x, (size_t)B * C, &r, 1);
        fill(w, (size_t)OC * C, &r, 1);
        fill(b, OC, &r, 1);
        linear_forward(o, x, w, b, B, C, OC);
        double maxd = 0;
        for (int i = 0; i < B; i++)
            for (int j = 0; j < OC; j++) {
                double acc = b[j];
                for (int k = 0; k < C; k++) acc += (double)x[i * C + k] * w[j * C + k];
                maxd = fmax(maxd, relerr(acc, o[i * OC + j], 1));
            }
        CHECK(maxd < 1e-5, "shape %dx%dx%d: max rel diff %g", B, C, OC, maxd);
        free(x), free(w), free(b), free(o);
    }
}

/* L = sum(out * R); check d L / d input for a kernel via central differences in float */
typedef void (*fwd_fn)(float *out, const float *in, size_t n);
static void check_elementwise(fwd_fn f, void (*bwd)(float *, const float *, const float *, size_t),
                              const char *name) {
    mcr_rng r;
    mcr_rng_seed(&r, 2, 0);
    size_t n = 50;
    float x[50], R[50], out[50], dx[50] = {0};
    fill(x, n, &r, 2);
    fill(R, n, &r, 1);
    bwd(dx, R, x, n);
    double maxe = 0;
    for (size_t i = 0; i < n; i++) {
        if (fabsf(x[i]) < 0.02f) continue; /* skip the ReLU kink */
        float h = 1e-2f, keep = x[i];
        x[i] = keep + h;
        f(out, x, n);
        double lp = 0;
        for (size_t k = 0; k < n; k++) lp += (double)out[k] * R[k];
        x[i] = keep - h;
        f(out, x, n);
        double lm = 0;
        for (size_t k = 0; k < n; k++) lm += (double)out[k] * R[k];
        x[i] = keep;
        maxe = fmax(maxe, relerr((lp - lm) / (2 * h), dx[i], 1e-2));
    }
    CHECK(maxe < 1e-3, "%s: max rel err %g", name, maxe);
}

static void test_activations(void) {
    check_elementwise(relu_forward, relu_backward, "relu");
    check_elementwise(silu_forward, silu_backward, "silu");
    float x = 1.5f, y;
    silu_forward(&y, &x, 1);
    CHECK(fabsf(y - 1.5f / (1 + expf(-1.5f))) < 1e-6, "silu value");
    /* the SiLU's own exp against exp in double: relative error over [-87, 88] on a fine grid
     * (both ends and 0 included), the clamp outside, and the SiLU's limits */
    double worst = 0;
    for (int i = 0; i <= 350000; i++) {
        float v = -87.0f + 175.0f * (float)i / 350000.0f;
        double want = exp((double)v), got = mcr_exp_fast(v);
        worst = fmax(worst, fabs(got - want) / want);
    }
    CHECK(worst < 2e-7, "exp_fast: max rel err %g on [-87, 88]", worst);
    CHECK(mcr_exp_fast(0.0f) == 1.0f, "exp_fast(0) = %.9g", mcr_exp_fast(0.0f));
    CHECK(isfinite(mcr_exp_fast(1000.0f)) && mcr_exp_fast(1000.0f) > 1e38f, "exp_fast clamps above");
    CHECK(mcr_exp_fast(-1000.0f) > 0 && mcr_exp_fast(-1000.0f) < 1e-37f, "exp_fast clamps below");
    CHECK(isnan(mcr_exp_fast(NAN)), "exp_fast(NaN) = %g, want NaN", mcr_exp_fast(NAN));
    CHECK(mcr_exp_fast(INFINITY) > 1e38f && mcr_exp_fast(-INFINITY) < 1e-37f, "exp_fast(+-inf) clamps");
    float big[4] = {-200.0f, -30.0f, 30.0f, 200.0f}, sb[4];
    silu_forward(sb, big, 4);
    CHECK(sb[0] <= 0 && sb[0] > -1e-30f && fabsf(sb[1]) < 1e-10f && sb[2] == 30.0f && sb[3] == 200.0f,
          "silu limits %g %g %g %g", sb[0], sb[1], sb[2], sb[3]);
    /* a long vector (several chunks, the threaded path) equals the one-element calls */
    size_t n = 100003;
    float *xs = malloc(n * sizeof *xs), *ys = malloc(n * sizeof *ys), *gs = calloc(n, sizeof *gs);
    float *ones = malloc(n * sizeof *ones);
    mcr_rng r;
    mcr_rng_seed(&r, 9, 0);
    fill(xs, n, &r, 6);
    for (size_t i = 0; i < n; i++) ones[i] = 1.0f;
    silu_forward(ys, xs, n);
    silu_backward(gs, ones, xs, n);
    int same = 1;
    for (size_t i = 0; i < n; i += 997) {
        float one, g1 = 0;
        silu_forward(&one, xs + i, 1);
        silu_backward(&g1, ones, xs + i, 1);
        same &= one == ys[i] && g1 == gs[i];
    }
    CHECK(same, "silu: chunked and single calls agree");
    free(ones);
    free(xs), free(ys), free(gs);
}

static void test_linear_grad(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 3, 0);
    int B = 3, C = 5, OC = 4;
    float x[15], w[20], b[4], R[12], out[12], dx[15] = {0}, dw[20] = {0}, db[4] = {0};
    fill(x, 15, &r, 1), fill(w, 20, &r, 1), fill(b, 4, &r, 1), fill(R, 12, &r, 1);
    linear_backward(dx, dw, db, R, x, w, B, C, OC);
    float *params[3] = {x, w, b}, *grads[3] = {dx, dw, db};
    int sizes[3] = {15, 20, 4};
    double maxe = 0;
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < sizes[p]; i++) {
            /* L is exactly linear in each entry: a large step has no truncation error and
             * keeps float rounding small */
            float h = 0.25f, keep = params[p][i];
            double l[2];
            for (int s = 0; s < 2; s++) {
                params[p][i] = keep + (s ? -h : h);
                linear_forward(out, x, w, b, B, C, OC);
                l[s] = 0;
                for (int k = 0; k < 12; k++) l[s] += (double)out[k] * R[k];
            }
            params[p][i] = keep;
            maxe = fmax(maxe, relerr((l[0] - l[1]) / (2 * h), grads[p][i], 1e-2));
        }
    CHECK(maxe < 1e-3, "linear: max rel err %g", maxe);
}

static void test_embedding_and_mse(void) {
    float table[12] = {0}, out[8], d[8] = {1, 2, 3, 4, 5, 6, 7, 8}, dt[12] = {0};
    for (int i = 0; i < 12; i++) table[i] = (float)i;
    int idx[2] = {2, 2};
    embedding_forward(out, idx, table, 2, 4);
    CHECK(out[0] == 8 && out[7] == 11, "lookup");
    embedding_backward(dt, d, idx, 2, 4);
    CHECK(dt[8] == 6 && dt[11] == 12 && dt[0] == 0, "accumulates both rows into row 2");
    float p[4] = {1, 2, 3, 4}, t[4] = {0, 2, 5, 4}, g[4];
    double l = mse_forward_backward(g, p, t, 4);
    CHECK(fabs(l - (1 + 0 + 4 + 0) / 4.0) < 1e-12, "mse value %g", l);
    CHECK(fabsf(g[0] - 0.5f) < 1e-7 && fabsf(g[2] + 1.0f) < 1e-7, "mse grad");
}

static void test_timestep_embedding(void) {
    float e[8];
    int t = 3;
    timestep_embedding(e, &t, 1, 8); /* half = 4, f_k = 10000^(-k/4) */
    for (int k = 0; k < 4; k++) {
        double f = pow(10000.0, -k / 4.0);
        CHECK(fabs(e[k] - cos(3 * f)) < 1e-6 && fabs(e[4 + k] - sin(3 * f)) < 1e-6, "k=%d", k);
    }
}

/* whole denoiser: loss = mse(net(x_t, t, y), eps); every parameter by central differences */
static double net_loss(mcr_net *n, const float *p, const float *x, const int *t, const int *y,
                       const float *eps, int B) {
    mcr_net_forward(n, p, x, t, y, B, 1, 9, 4);
    return mse_forward_backward(NULL, n->out, eps, (size_t)B * n->d);
}

static void check_denoiser(int act, float dropout, const char *name) {
    mcr_net n;
    int widths[2] = {7, 6};
    int B = 4, d = 5;
    mcr_net_layout(&n, d, 8, 3, widths, 2, act, dropout);
    CHECK(mcr_net_alloc(&n, B) == 0, "alloc");
    float *p = malloc(n.nparams * sizeof(float)), *g = calloc(n.nparams, sizeof(float));
    mcr_net_init_params(&n, p, 5);
    mcr_rng r;
    mcr_rng_seed(&r, 6, 0);
    float x[20], eps[20], dout[20];
    /* repeated steps and labels exercise the scatter-add into the distinct-step time MLP and
     * the label table; y = 3 is the null condition */
    int t[4] = {17, 999, 17, 0}, y[4] = {0, 3, 0, 1};
    fill(x, 20, &r, 1);
    fill(eps, 20, &r, 1);
    mcr_net_forward(&n, p, x, t, y, B, 1, 9, 4);
    mse_forward_backward(dout, n.out, eps, 20);
    mcr_net_backward(&n, p, g, dout, x, y, B);
    double maxe = 0, dir_fd = 0, dir_an = 0;
    size_t worst = 0, skipped = 0;
    for (size_t i = 0; i < n.nparams; i++) {
        float h = 1e-2f, keep = p[i];
        p[i] = keep + h;
        double lp = net_loss(&n, p, x, t, y, eps, B);
        p[i] = keep - h;
        double lm = net_loss(&n, p, x, t, y, eps, B);
        p[i] = keep;
        double fd = (lp - lm) / (2 * h);
        /* a ReLU kink inside [-h, h] makes the difference meaningless: skip, but count */
        if (act == MCR_ACT_RELU) {
            double l0 = net_loss(&n, p, x, t, y, eps, B);
            double curv = fabs(lp - 2 * l0 + lm) / (h * h);
            if (curv > 50 * fmax(1, fabs(fd))) {
                skipped++;
                continue;
            }
        }
        double e = relerr(fd, g[i], 1e-2);
        if (e > maxe) maxe = e, worst = i;
    }
    CHECK(maxe < 2e-3, "%s: max rel err %g at param %zu (analytic %g)", name, maxe, worst, g[worst]);
    CHECK(skipped < n.nparams / 20, "%s: %zu of %zu params skipped at kinks", name, skipped, n.nparams);
    /* random-direction check over all parameters at once (kann's kad_check_grad) */
    float *v = malloc(n.nparams * sizeof(float)), *q = malloc(n.nparams * sizeof(float));
    fill(v, n.nparams, &r, 1);
    float h = 2e-3f;
    for (size_t i = 0; i < n.nparams; i++) q[i] = p[i] + h * v[i];
    double lp = net_loss(&n, q, x, t, y, eps, B);
    for (size_t i = 0; i < n.nparams; i++) q[i] = p[i] - h * v[i];
    double lm = net_loss(&n, q, x, t, y, eps, B);
    dir_fd = (lp - lm) / (2 * h);
    for (size_t i = 0; i < n.nparams; i++) dir_an += (double)g[i] * v[i];
    CHECK(relerr(dir_fd, dir_an, 1e-3) < 1e-3, "%s: directional %g vs %g", name, dir_fd, dir_an);
    free(p), free(g), free(v), free(q);
    mcr_net_free(&n);
}

static void test_denoiser_grad_silu(void) { check_denoiser(MCR_ACT_SILU, 0, "silu"); }
static void test_denoiser_grad_relu(void) { check_denoiser(MCR_ACT_RELU, 0, "relu"); }
static void test_denoiser_grad_dropout(void) { check_denoiser(MCR_ACT_SILU, 0.3f, "silu+dropout"); }

static void test_adamw_hand_step(void) {
    /* first step: m = 0.1 g, v = 0.001 g^2, bias-corrected mh = g, vh = g^2, so
     * p -= lr (g/(|g|+eps) + wd p) */
    float p[2] = {1.0f, -2.0f}, g[2] = {0.5f, -0.25f}, m[2] = {0}, v[2] = {0};
    mcr_adamw o = {0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 0};
    adamw_update(&o, p, g, m, v, 2, 0.1f);
    CHECK(fabsf(p[0] - (1.0f - 0.1f * (1.0f + 0.01f))) < 1e-6, "p0 %g", p[0]);
    CHECK(fabsf(p[1] - (-2.0f - 0.1f * (-1.0f - 0.02f))) < 1e-6, "p1 %g", p[1]);
    float e[2] = {0, 0}, q[2] = {1, 2};
    ema_update(e, q, 2, 0.9f);
    CHECK(fabsf(e[1] - 0.2f) < 1e-7, "ema");
    float gg[3] = {3, 4, 0};
    CHECK(fabs(grad_norm(gg, 3) - 5) < 1e-12, "grad norm");
}

int main(void) {
    mcr_set_threads(2);
    TEST(test_linear_naive_twin);
    TEST(test_activations);
    TEST(test_linear_grad);
    TEST(test_embedding_and_mse);
    TEST(test_timestep_embedding);
    TEST(test_denoiser_grad_silu);
    TEST(test_denoiser_grad_relu);
    TEST(test_denoiser_grad_dropout);
    TEST(test_adamw_hand_step);
    return DONE();
}
