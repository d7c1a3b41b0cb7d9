/* test_twins.c — every fused kernel of the denoiser against a naive twin (llm.c keeps one beside
 * each fast kernel): plain loops, double accumulation, one row at a time, nothing shared with
 * the fast path but the weights. Random inputs at odd sizes, B = 1, and sizes above PAR_MIN so
 * the OpenMP branches run (2 threads).
 *   bias_act_forward  = bias add + activation           vs  z + b, then relu / x s(x)
 *   act_backward_set  = dropout mask + activation grad  vs  mask/(1-p), then act'(z)
 *   matmul_dinp       = dout @ w (overwrite)            vs  triple loop
 *   unique_times      = sort + dedupe of t              vs  quadratic scan
 *   mcr_net_forward / _backward (time MLP on the distinct steps then gathered, label SiLU once
 *   per table row, scatter-add of their gradients)     vs  the whole network row by row
 * Tolerances (stated per test): float kernels vs double twins, relative to max(|value|, floor). */
#include "nn/nn.h"
#include "testhelp.h"

static void fill(float *a, size_t n, mcr_rng *r, float scale) {
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * mcr_rng_normal(r));
}

static double relerr(double a, double b, double floor_) {
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), floor_);
}

static double nv_sig(double x) { return 1.0 / (1.0 + exp(-x)); }
static double nv_act(int act, double x) { return act == MCR_ACT_SILU ? x * nv_sig(x) : (x > 0 ? x : 0); }
static double nv_dact(int act, double x) {
    if (act == MCR_ACT_RELU) return x > 0 ? 1 : 0;
    double s = nv_sig(x);
    return s * (1 + x * (1 - s));
}

/* ------------------------------------------------------------ bias + activation */
static void test_bias_act_twin(void) {
    /* tolerance: z is the same float addition (exact); h within 1e-6 relative (floor 1e-6) */
    const int shapes[][2] = {{1, 1}, {1, 7}, {7, 13}, {33, 517}}; /* 33*517 > PAR_MIN */
    mcr_rng r;
    mcr_rng_seed(&r, 21, 0);
    for (int act = 0; act < 2; act++)
        for (int s = 0; s < 4; s++) {
            int B = shapes[s][0], w = shapes[s][1];
            size_t n = (size_t)B * w;
            float *z = malloc(n * sizeof(float)), *z0 = malloc(n * sizeof(float)),
                  *h = malloc(n * sizeof(float)), *b = malloc((size_t)w * sizeof(float));
            fill(z0, n, &r, 2), fill(b, (size_t)w, &r, 1);
            memcpy(z, z0, n * sizeof(float));
            bias_act_forward(act, h, z, b, B, w);
            double zerr = 0, herr = 0;
            for (int i = 0; i < B; i++)
                for (int k = 0; k < w; k++) {
                    size_t j = (size_t)i * w + k;
                    float zn = z0[j] + b[k];
                    zerr = fmax(zerr, fabs((double)z[j] - zn));
                    herr = fmax(herr, relerr(h[j], nv_act(act, zn), 1e-6));
                }
            CHECK(zerr == 0, "act %d %dx%d: z differs by %g", act, B, w, zerr);
            CHECK(herr < 1e-6, "act %d %dx%d: h max rel err %g", act, B, w, herr);
            free(z), free(z0), free(h), free(b);
        }
}

/* ------------------------------------------------------------ mask + activation gradient */
static void test_act_backward_twin(void) {
    /* tolerance: |dz - naive| <= 5e-6 max(|naive|, |g|) with g the masked dh (SiLU's
     * 1 + z (1 - s) cancels near z = -1.28, so relative to g, not to dz); dropped units exact 0 */
    const size_t sizes[] = {1, 7, 17000};
    mcr_rng r;
    mcr_rng_seed(&r, 22, 0);
    int widths[1] = {3};
    for (int act = 0; act < 2; act++)
        for (int m = 0; m < 2; m++)
            for (int s = 0; s < 3; s++) {
                size_t n = sizes[s];
                mcr_net net;
                mcr_net_layout(&net, 2, 4, 1, widths, 1, act, m ? 0.3f : 0.0f);
                float *z = malloc(n * sizeof(float)), *dh = malloc(n * sizeof(float)),
                      *dz = malloc(n * sizeof(float));
                uint8_t *mask = malloc(n);
                fill(z, n, &r, 2), fill(dh, n, &r, 1);
                for (size_t i = 0; i < n; i++) mask[i] = mcr_rng_uniform(&r) >= 0.3;
                for (size_t i = 0; i < n; i++) dz[i] = 1e3f; /* must be overwritten */
                act_backward_set(&net, dz, dh, z, m ? mask : NULL, n);
                double err = 0;
                int zeros_ok = 1;
                for (size_t i = 0; i < n; i++) {
                    double g = dh[i];
                    if (m) g = mask[i] ? g / (1.0 - 0.3f) : 0.0;
                    double want = g * nv_dact(act, z[i]);
                    err = fmax(err, fabs(dz[i] - want) / fmax(fmax(fabs(want), fabs(g)), 1e-30));
                    if (m && !mask[i] && dz[i] != 0) zeros_ok = 0;
                }
                CHECK(err < 5e-6, "act %d mask %d n %zu: max rel err %g", act, m, n, err);
                CHECK(zeros_ok, "act %d n %zu: dropped units have zero gradient", act, n);
                free(z), free(dh), free(dz), free(mask);
            }
}

/* ------------------------------------------------------------ dinp = dout @ w */
static void test_matmul_dinp_twin(void) {
    /* tolerance: 3e-5 relative (floor 1) against a double triple loop */
    const int shapes[][3] = {{1, 1, 1}, {1, 7, 13}, {17, 129, 31}, {64, 64, 64}};
    mcr_rng r;
    mcr_rng_seed(&r, 23, 0);
    for (int s = 0; s < 4; s++) {
        int B = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        float *dout = malloc(sizeof(float) * B * OC), *w = malloc(sizeof(float) * OC * C),
              *dinp = malloc(sizeof(float) * B * C);
        fill(dout, (size_t)B * OC, &r, 1), fill(w, (size_t)OC * C, &r, 1);
        for (int i = 0; i < B * C; i++) dinp[i] = 1e3f; /* overwritten, not accumulated */
        matmul_dinp(dinp, dout, w, B, C, OC);
        double err = 0;
        for (int i = 0; i < B; i++)
            for (int c = 0; c < C; c++) {
                double acc = 0;
                for (int o = 0; o < OC; o++) acc += (double)dout[i * OC + o] * w[o * C + c];
                err = fmax(err, relerr(dinp[i * C + c], acc, 1));
            }
        CHECK(err < 3e-5, "shape %dx%dx%d: max rel err %g", B, C, OC, err);
        free(dout), free(w), free(dinp);
    }
}

/* ------------------------------------------------------------ distinct time steps */
static void check_unique(mcr_net *n, const int *t, int B, const char *what) {
    unique_times(n, t, B);
    /* naive: a step is new if no earlier row has it; U = count; ut ascending */
    int U = 0, ok = 1;
    for (int r = 0; r < B; r++) {
        int seen = 0;
        for (int q = 0; q < r; q++) seen |= t[q] == t[r];
        U += !seen;
    }
    CHECK(n->U == U, "%s: U = %d, naive %d", what, n->U, U);
    for (int k = 1; k < n->U; k++) ok &= n->ut[k - 1] < n->ut[k];
    CHECK(ok, "%s: ut strictly ascending", what);
    for (int r = 0; r < B; r++) {
        int u = n->uidx[r];
        ok &= u >= 0 && u < n->U && n->ut[u] == t[r];
    }
    CHECK(ok, "%s: ut[uidx[r]] == t[r] for every row", what);
}

static void test_unique_times_twin(void) {
    mcr_net n;
    int widths[1] = {3};
    mcr_net_layout(&n, 2, 4, 1, widths, 1, MCR_ACT_RELU, 0);
    CHECK(mcr_net_alloc(&n, 300) == 0, "alloc");
    int t[300];
    t[0] = 42;
    check_unique(&n, t, 1, "B = 1");
    for (int r = 0; r < 300; r++) t[r] = 7;
    check_unique(&n, t, 300, "all equal");
    for (int r = 0; r < 300; r++) t[r] = 299 - r;
    check_unique(&n, t, 300, "distinct, descending");
    mcr_rng g;
    mcr_rng_seed(&g, 24, 0);
    for (int r = 0; r < 300; r++) t[r] = (int)mcr_rng_below(&g, 5);
    check_unique(&n, t, 300, "5 values, many duplicates");
    for (int r = 0; r < 37; r++) t[r] = (int)mcr_rng_below(&g, 1000);
    check_unique(&n, t, 37, "random in [0, 1000)");
    mcr_net_free(&n);
}

/* ------------------------------------------------------------ the whole denoiser, row by row */
/* out [OC] = w [OC, C] @ in [C] + b, in double */
static void nv_linear(double *out, const double *in, const float *w, const float *b, int C, int OC) {
    for (int o = 0; o < OC; o++) {
        double acc = b ? b[o] : 0;
        for (int c = 0; c < C; c++) acc += (double)w[(size_t)o * C + c] * in[c];
        out[o] = acc;
    }
}
/* din [C] += w^T dout; dw [OC, C] += dout in^T; db += dout */
static void nv_linear_back(double *din, double *dw, double *db, const double *dout,
                           const double *in, const float *w, int C, int OC) {
    for (int o = 0; o < OC; o++) {
        if (db) db[o] += dout[o];
        for (int c = 0; c < C; c++) {
            dw[(size_t)o * C + c] += dout[o] * in[c];
            if (din) din[c] += dout[o] * w[(size_t)o * C + c];
        }
    }
}

#define NVW 64 /* max width in these tests */
/* One row: forward (out [d]) and, with dout != NULL, backward accumulated into g [nparams].
 * mask[l] (row slice, or NULL) replays the fast path's dropout draw. */
static void nv_row(const mcr_net *n, const float *p, const float *x, int t, int y,
                   const uint8_t *const *mask, double *out, const double *dout, double *g) {
    int dt = n->dt, d = n->d, nl = n->nl, half = dt / 2;
    double te[NVW] = {0}, tz[NVW], ta[NVW], tm[NVW], ls[NVW];
    double z[MCR_MAX_LAYERS + 1][NVW], h[MCR_MAX_LAYERS + 1][NVW], xd[NVW];
    for (int k = 0; k < half; k++) {
        double f = exp(-log(10000.0) * k / half);
        te[k] = (float)cos(t * f), te[half + k] = (float)sin(t * f); /* the table is float */
    }
    nv_linear(tz, te, p + n->wt1, p + n->bt1, dt, dt);
    for (int k = 0; k < dt; k++) ta[k] = nv_act(MCR_ACT_SILU, tz[k]);
    nv_linear(tm, ta, p + n->wt2, p + n->bt2, dt, dt);
    for (int k = 0; k < dt; k++) ls[k] = nv_act(MCR_ACT_SILU, p[n->emb + (size_t)y * dt + k]);
    for (int k = 0; k < d; k++) xd[k] = x[k];
    nv_linear(z[0], xd, p + n->win, p + n->bin, d, dt);
    for (int k = 0; k < dt; k++) h[0][k] = z[0][k] += tm[k] + ls[k];
    int prev = dt;
    for (int l = 1; l <= nl; l++) {
        int w = n->widths[l - 1];
        nv_linear(z[l], h[l - 1], p + n->w[l - 1], p + n->b[l - 1], prev, w);
        for (int k = 0; k < w; k++) {
            h[l][k] = nv_act(n->act, z[l][k]);
            if (mask && mask[l]) h[l][k] = mask[l][k] ? h[l][k] / (1.0 - n->dropout) : 0;
        }
        prev = w;
    }
    nv_linear(out, h[nl], p + n->w[nl], p + n->b[nl], prev, d);
    if (!dout) return;
    double dh[NVW] = {0}, dz[NVW];
    nv_linear_back(dh, g + n->w[nl], g + n->b[nl], dout, h[nl], p + n->w[nl], prev, d);
    for (int l = nl; l >= 1; l--) {
        int w = n->widths[l - 1], in = l > 1 ? n->widths[l - 2] : dt;
        for (int k = 0; k < w; k++) {
            double gk = dh[k];
            if (mask && mask[l]) gk = mask[l][k] ? gk / (1.0 - n->dropout) : 0;
            dz[k] = gk * nv_dact(n->act, z[l][k]);
        }
        for (int k = 0; k < in; k++) dh[k] = 0;
        nv_linear_back(dh, g + n->w[l - 1], g + n->b[l - 1], dz, h[l - 1], p + n->w[l - 1], in, w);
    }
    /* dh = d h0: into Win/bin, the label table row y, and the time MLP of this row */
    nv_linear_back(NULL, g + n->win, g + n->bin, dh, xd, p + n->win, d, dt);
    for (int k = 0; k < dt; k++) {
        double e = p[n->emb + (size_t)y * dt + k];
        g[n->emb + (size_t)y * dt + k] += dh[k] * nv_dact(MCR_ACT_SILU, e);
    }
    double dta[NVW] = {0}, dtz[NVW];
    nv_linear_back(dta, g + n->wt2, g + n->bt2, dh, ta, p + n->wt2, dt, dt);
    for (int k = 0; k < dt; k++) dtz[k] = dta[k] * nv_dact(MCR_ACT_SILU, tz[k]);
    nv_linear_back(NULL, g + n->wt1, g + n->bt1, dtz, te, p + n->wt1, dt, dt);
}

static void check_net(int act, const int *widths, int nl, int dt, float dropout, int B,
                      int tmax, const char *what) {
    /* tolerances: out within 1e-5 of max(|out|, 1); each gradient within 1e-4 relative to
     * max(|g|, 1e-2 * the largest |g|) — float BLAS and scatter order vs double row by row */
    int d = 5, ncond = 3;
    mcr_net n;
    mcr_net_layout(&n, d, dt, ncond, widths, nl, act, dropout);
    CHECK(mcr_net_alloc(&n, B) == 0, "alloc");
    float *p = malloc(n.nparams * sizeof(float)), *g = malloc(n.nparams * sizeof(float));
    double *gn = calloc(n.nparams, sizeof(double));
    mcr_net_init_params(&n, p, 31);
    mcr_rng r;
    mcr_rng_seed(&r, 32, (uint64_t)B);
    /* random embedding and biases too (init has them N(0,1) / small) */
    float *x = malloc(sizeof(float) * B * d), *dout = malloc(sizeof(float) * B * d);
    int *t = malloc(sizeof(int) * B), *y = malloc(sizeof(int) * B);
    fill(x, (size_t)B * d, &r, 1), fill(dout, (size_t)B * d, &r, 1);
    for (int i = 0; i < B; i++) t[i] = (int)mcr_rng_below(&r, (uint64_t)tmax), y[i] = (int)mcr_rng_below(&r, (uint64_t)ncond + 1);
    for (size_t i = 0; i < n.nparams; i++) g[i] = 1.0f; /* backward accumulates onto this */
    mcr_net_forward(&n, p, x, t, y, B, dropout > 0, 33, 2);
    mcr_net_backward(&n, p, g, dout, x, y, B);
    double oerr = 0, od[NVW], dd[NVW];
    const uint8_t *mrow[MCR_MAX_LAYERS + 1] = {0};
    for (int i = 0; i < B; i++) {
        for (int l = 1; l <= nl; l++)
            mrow[l] = dropout > 0 ? n.mask[l] + (size_t)i * widths[l - 1] : NULL;
        for (int k = 0; k < d; k++) dd[k] = dout[(size_t)i * d + k];
        nv_row(&n, p, x + (size_t)i * d, t[i], y[i], mrow, od, dd, gn);
        for (int k = 0; k < d; k++) oerr = fmax(oerr, relerr(n.out[(size_t)i * d + k], od[k], 1));
    }
    CHECK(oerr < 1e-5, "%s: out max rel err %g", what, oerr);
    double gmax = 0, gerr = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n.nparams; i++) gmax = fmax(gmax, fabs(gn[i]));
    for (size_t i = 0; i < n.nparams; i++) {
        double e = relerr((double)g[i] - 1.0, gn[i], 1e-2 * gmax);
        if (e > gerr) gerr = e, worst = i;
    }
    CHECK(gerr < 1e-4, "%s: grad max rel err %g at %zu (%g vs %g)", what, gerr, worst,
          (double)g[worst] - 1, gn[worst]);
    free(p), free(g), free(gn), free(x), free(dout), free(t), free(y);
    mcr_net_free(&n);
}

static void test_denoiser_twin(void) {
    int w2[2] = {16, 12}, w3[3] = {9, 33, 7}, w1[1] = {64};
    for (int act = 0; act < 2; act++) {
        check_net(act, w2, 2, 8, 0, 1, 1000, act ? "silu B=1" : "relu B=1");
        check_net(act, w2, 2, 8, 0, 7, 4, act ? "silu B=7 t<4" : "relu B=7 t<4");
        check_net(act, w3, 3, 10, 0, 64, 1000, act ? "silu 9,33,7 B=64" : "relu 9,33,7 B=64");
        check_net(act, w2, 0, 6, 0, 5, 3, act ? "silu no hidden layer" : "relu no hidden layer");
        check_net(act, w1, 1, 8, 0.3f, 300, 50, act ? "silu dropout B=300" : "relu dropout B=300");
    }
}

int main(void) {
    mcr_set_threads(2);
    TEST(test_bias_act_twin);
    TEST(test_act_backward_twin);
    TEST(test_matmul_dinp_twin);
    TEST(test_unique_times_twin);
    TEST(test_denoiser_twin);
    return DONE();
}
