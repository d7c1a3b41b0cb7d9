/* test_threads.c — 1 thread vs 2 threads, bit for bit, for what the headers promise does not
 * depend on the thread count:
 *   tabular.h  mcr_fill_normal / mcr_fill_uniform: "thread-count independent" (fixed chunks);
 *   nn.h       element-wise kernels with static schedules and no cross-thread reduction:
 *              relu / silu forward and backward, bias_act_forward, act_backward_set,
 *              scale_inplace, adamw_update, ema_update; dropout_forward ("mask drawn from rng
 *              streams per chunk"); mse_forward_backward and grad_norm ("summed in fixed chunks",
 *              "deterministic chunked sum"); linear_backward's bias gradient ("each column
 *              summed in row order"; its sgemm parts are not promised);
 *   diffusion.h q_sample, ddim_step, ddpm_step (element-wise, static schedules).
 * Sizes are above PAR_MIN (16384) and odd so the parallel branches run with uneven chunks.
 * Not promised (nn.h: "identical for a given thread count"; README: same seed and same thread
 * count), so only printed: the whole denoiser forward/backward, whose matrix products are
 * OpenBLAS's (measured: OpenBLAS 0.3.21's Haswell sgemm gives different sums at 1 and 2 threads
 * for e.g. 512x128x256; its SkylakeX kernel, which the mcrage binary re-executes into on
 * AVX-512 CPUs, does not). */
#include "nn/nn.h"
#include "diffusion/diffusion.h"
#include "tabular/tabular.h"
#include "testhelp.h"
#include <omp.h>

#define N 40001 /* odd, > PAR_MIN */

static void fill(float *a, size_t n, uint64_t seed, float scale) {
    mcr_rng r;
    mcr_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * mcr_rng_normal(&r));
}

/* each case writes its results into out (at most OUTMAX floats) and returns how many */
#define OUTMAX (4 * N + 8)
typedef size_t (*case_fn)(float *out);

static size_t c_fill(float *out) {
    mcr_fill_normal(out, 100003, 7, 3);
    mcr_fill_uniform(out + 100003, 60001, 7, 3);
    return 160004;
}

static size_t c_relu_silu(float *out) {
    float *x = malloc(N * sizeof(float)), *d = malloc(N * sizeof(float));
    fill(x, N, 1, 2), fill(d, N, 2, 1);
    relu_forward(out, x, N);
    silu_forward(out + N, x, N);
    for (size_t i = 0; i < 2 * N; i++) out[2 * N + i] = 0.5f;
    relu_backward(out + 2 * N, d, x, N);
    silu_backward(out + 3 * N, d, x, N);
    free(x), free(d);
    return 4 * N;
}

static size_t c_bias_act(float *out) {
    const int B = 301, w = 67; /* 20167 */
    size_t n = (size_t)B * w;
    float b[67];
    fill(b, (size_t)w, 3, 1);
    for (int act = 0; act < 2; act++) {
        float *z = out + 2 * n * act, *h = z + n;
        fill(z, n, 4, 2);
        bias_act_forward(act, h, z, b, B, w);
    }
    return 4 * n;
}

static size_t c_act_backward(float *out) {
    float *z = malloc(N * sizeof(float)), *dh = malloc(N * sizeof(float));
    uint8_t *mask = malloc(N);
    fill(z, N, 5, 2), fill(dh, N, 6, 1);
    for (size_t i = 0; i < N; i++) mask[i] = (i * 7919) % 10 < 7;
    int widths[1] = {3};
    for (int k = 0; k < 4; k++) {
        mcr_net n;
        mcr_net_layout(&n, 2, 4, 1, widths, 1, k & 1, 0.3f);
        act_backward_set(&n, out + (size_t)k * N, dh, z, k & 2 ? mask : NULL, N);
    }
    free(z), free(dh), free(mask);
    return 4 * N;
}

static size_t c_dropout(float *out) {
    float *x = malloc(N * sizeof(float));
    uint8_t *mask = malloc(N);
    fill(x, N, 8, 1);
    dropout_forward(out, mask, x, N, 0.3f, 11, 5);
    for (size_t i = 0; i < N; i++) out[N + i] = mask[i];
    free(x), free(mask);
    return 2 * N;
}

static size_t c_sums(float *out) {
    float *p = malloc(N * sizeof(float)), *t = malloc(N * sizeof(float));
    fill(p, N, 9, 1), fill(t, N, 10, 1);
    double l = mse_forward_backward(out, p, t, N);
    double gn = grad_norm(p, N);
    memcpy(out + N, &l, sizeof l);
    memcpy(out + N + 2, &gn, sizeof gn);
    free(p), free(t);
    return N + 4;
}

static size_t c_bias_grad(float *out) {
    const int B = 300, C = 3, OC = 67; /* B * OC = 20100 */
    float *dout = malloc(sizeof(float) * B * OC), *inp = malloc(sizeof(float) * B * C),
          *w = malloc(sizeof(float) * OC * C), *dw = calloc((size_t)OC * C, sizeof(float));
    fill(dout, (size_t)B * OC, 12, 1), fill(inp, (size_t)B * C, 13, 1), fill(w, (size_t)OC * C, 14, 1);
    for (int c = 0; c < OC; c++) out[c] = 0.25f;
    linear_backward(NULL, dw, out, dout, inp, w, B, C, OC);
    free(dout), free(inp), free(w), free(dw);
    return OC;
}

static size_t c_optim(float *out) {
    float *p = out, *m = out + N, *v = out + 2 * N, *e = out + 3 * N;
    float *g = malloc(N * sizeof(float));
    fill(p, N, 15, 1), fill(g, N, 16, 1), fill(e, N, 17, 1);
    memset(m, 0, N * sizeof(float)), memset(v, 0, N * sizeof(float));
    mcr_adamw o = {2e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 0};
    for (int s = 0; s < 3; s++) {
        scale_inplace(g, N, 0.7f);
        adamw_update(&o, p, g, m, v, N, 2e-3f);
        ema_update(e, p, N, 0.99f);
    }
    free(g);
    return 4 * N;
}

static size_t c_diffusion(float *out) {
    const int B = 2001, d = 9, ld = 11; /* B * d = 18009 */
    mcr_sched s;
    CHECK(mcr_sched_init(&s, 100, MCR_SCHED_COSINE) == 0, "schedule");
    size_t nx = (size_t)B * ld, ne = (size_t)B * d;
    float *x0 = malloc(nx * sizeof(float)), *eps = malloc(ne * sizeof(float)),
          *epl = malloc(nx * sizeof(float)), lo[9], hi[9];
    int *t = malloc((size_t)B * sizeof(int));
    fill(x0, nx, 18, 1), fill(eps, ne, 19, 1), fill(epl, nx, 20, 1);
    for (int k = 0; k < d; k++) lo[k] = -1.5f, hi[k] = 1.5f;
    for (int r = 0; r < B; r++) t[r] = (r * 37) % 100;
    float *xt = out, *xa = out + nx, *xb = out + 2 * nx;
    memcpy(xt, x0, nx * sizeof(float));
    q_sample(xt, x0, eps, t, &s, B, d, ld);
    memcpy(xa, xt, nx * sizeof(float)), memcpy(xb, xt, nx * sizeof(float));
    ddim_step(xa, epl, eps, 1.0f, B, d, ld, lo, hi, s.abar[60], s.abar[40]);
    ddpm_step(xb, epl, eps, B, d, ld, lo, hi, &s, 60);
    free(x0), free(eps), free(epl), free(t);
    mcr_sched_free(&s);
    return 3 * nx;
}

static int threads_in_region(void) {
    int nt = 0;
#pragma omp parallel
    {
#pragma omp single
        nt = omp_get_num_threads();
    }
    return nt;
}

static void check_case(case_fn f, const char *name) {
    float *a = malloc(OUTMAX * 2 * sizeof(float)), *b = malloc(OUTMAX * 2 * sizeof(float));
    mcr_set_threads(1);
    size_t na = f(a);
    mcr_set_threads(2);
    size_t nb = f(b);
    size_t diff = 0, first = 0;
    for (size_t i = 0; i < na && na == nb; i++)
        if (memcmp(a + i, b + i, sizeof(float)) && !diff++) first = i;
    CHECK(na == nb && diff == 0, "%s: %zu of %zu values differ between 1 and 2 threads (first at %zu)",
          name, diff, na, first);
    free(a), free(b);
}

static void test_two_threads_run(void) {
    mcr_set_threads(2);
    CHECK(threads_in_region() == 2, "a parallel region runs %d threads, want 2 (else this file tests nothing)",
          threads_in_region());
}
static void test_fill_normal_uniform(void) { check_case(c_fill, "mcr_fill_normal/uniform"); }
static void test_relu_silu(void) { check_case(c_relu_silu, "relu/silu forward/backward"); }
static void test_bias_act(void) { check_case(c_bias_act, "bias_act_forward"); }
static void test_act_backward(void) { check_case(c_act_backward, "act_backward_set"); }
static void test_dropout(void) { check_case(c_dropout, "dropout_forward"); }
static void test_chunked_sums(void) { check_case(c_sums, "mse_forward_backward, grad_norm"); }
static void test_bias_grad(void) { check_case(c_bias_grad, "linear_backward db"); }
static void test_optimiser(void) { check_case(c_optim, "scale_inplace, adamw_update, ema_update"); }
static void test_diffusion_steps(void) { check_case(c_diffusion, "q_sample, ddim_step, ddpm_step"); }

/* not promised: print whether the whole denoiser happens to agree across thread counts */
static void report_denoiser(void) {
    int widths[3] = {256, 512, 256}, B = 512, d = 21;
    float *res[2];
    size_t np = 0;
    for (int k = 0; k < 2; k++) {
        mcr_set_threads(k + 1);
        mcr_net n;
        mcr_net_layout(&n, d, 128, 4, widths, 3, MCR_ACT_SILU, 0.1f);
        if (mcr_net_alloc(&n, B)) return;
        np = n.nparams;
        float *p = malloc(np * sizeof(float)), *x = malloc(sizeof(float) * B * d);
        res[k] = calloc(np + (size_t)B * d, sizeof(float));
        int *t = malloc(sizeof(int) * B), *y = malloc(sizeof(int) * B);
        mcr_net_init_params(&n, p, 3);
        fill(x, (size_t)B * d, 21, 1);
        for (int r = 0; r < B; r++) t[r] = (r * 13) % 1000, y[r] = r % 5;
        mcr_net_forward(&n, p, x, t, y, B, 1, 4, 5);
        memcpy(res[k] + np, n.out, sizeof(float) * B * d);
        mcr_net_backward(&n, p, res[k], n.out, x, y, B);
        free(p), free(x), free(t), free(y);
        mcr_net_free(&n);
    }
    size_t dg = 0, dout = 0;
    for (size_t i = 0; i < np; i++) dg += memcmp(res[0] + i, res[1] + i, sizeof(float)) != 0;
    for (size_t i = np; i < np + (size_t)B * d; i++) dout += memcmp(res[0] + i, res[1] + i, sizeof(float)) != 0;
    printf("     (not promised) denoiser at 1 vs 2 threads: %zu of %d outputs, %zu of %zu "
           "gradients differ\n", dout, B * d, dg, np);
    free(res[0]), free(res[1]);
}

int main(void) {
    TEST(test_two_threads_run);
    TEST(test_fill_normal_uniform);
    TEST(test_relu_silu);
    TEST(test_bias_act);
    TEST(test_act_backward);
    TEST(test_dropout);
    TEST(test_chunked_sums);
    TEST(test_bias_grad);
    TEST(test_optimiser);
    TEST(test_diffusion_steps);
    report_denoiser();
    return DONE();
}
