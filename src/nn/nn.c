/* nn.c — layer kernels (forward/backward pairs) and the denoiser. AdamW and EMA: train.c. See nn.h. */
#include "nn/nn.h"
#include <cblas.h>
#include <omp.h>

#define PAR_MIN 16384 /* element-wise loops below this size run on one thread */

/* ------------------------------------------------------------------ kernels */
void linear_forward(float *out, const float *inp, const float *w, const float *b, int B, int C,
                    int OC) {
    /* out [B, OC] = inp [B, C] @ w[OC, C]^T + b[OC] */
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)B * OC > PAR_MIN)
        for (int r = 0; r < B; r++) memcpy(out + (size_t)r * OC, b, (size_t)OC * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, OC, C, 1.0f, inp, C, w, C,
                b ? 1.0f : 0.0f, out, OC);
}

void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                     const float *w, int B, int C, int OC) {
    /* dinp [B, C] += dout [B, OC] @ w [OC, C];  dw [OC, C] += dout^T @ inp;  db += sum_rows */
    if (dinp)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, OC, 1.0f, dout, OC, w, C,
                    1.0f, dinp, C);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, B, 1.0f, dout, OC, inp, C, 1.0f,
                dw, C);
    if (db) bias_grad(db, dout, B, OC);
}

void bias_grad(float *db, const float *dout, int B, int OC) {
    /* column sums, each column summed in row order (deterministic) */
    int nth = omp_get_max_threads();
    if ((size_t)B * OC <= PAR_MIN) nth = 1;
#pragma omp parallel num_threads(nth)
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        int c0 = (int)((long)OC * tid / nt), c1 = (int)((long)OC * (tid + 1) / nt);
        for (int r = 0; r < B; r++) {
            const float *row = dout + (size_t)r * OC;
            for (int c = c0; c < c1; c++) db[c] += row[c];
        }
    }
}

void relu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
}

void relu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) dinp[i] += inp[i] > 0 ? dout[i] : 0;
}

/* e^x without a libm call, so that the SiLU loops vectorise (glibc's expf is a scalar call
 * outside -ffast-math: with it, SiLU forward and backward were 19% of a bf16 UNet step).
 * Cody-Waite reduction x = k ln2 + r, |r| <= ln2/2 (ln2 split in a high part exact in float
 * and a low remainder), e^r by Cephes' degree-6 minimax polynomial (relative error about
 * 1e-7 on that interval), 2^k built in the exponent bits. x is clamped to [-87, 88], where
 * 2^k stays a normal float, so the result never overflows: e^88 = 1.65e38 and 1/(1 + e^88)
 * = 6e-39 are what the sigmoid needs there. k is rounded with the 1.5 * 2^23 shifter (valid
 * for |x log2 e| < 2^22), which needs no SSE4.1. Branch-free: every lane does the same work.
 * tests/nn/test_nn.c checks it against exp in double over [-100, 100]. */
static inline float exp_fast(float x) {
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* k as an integer read from the shifted sum's low mantissa bits (its float bits minus the
     * shifter's, 0x4B400000), not by a float-to-int conversion, which is undefined for NaN (a
     * damaged model's weights: fuzz_model found it); 2^k built in unsigned arithmetic. A NaN x
     * stays NaN through r, so the result is NaN. */
    float sh = x * 1.44269504088896341f + 12582912.0f, k = sh - 12582912.0f;
    uint32_t kb;
    memcpy(&kb, &sh, sizeof kb);
    float r = x - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    uint32_t e = (kb - 0x4B400000u + 127u) << 23;
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return y * scale;
}

float mcr_exp_fast(float x) { return exp_fast(x); }

static inline float sigmoid_fast(float x) { return 1.0f / (1.0f + exp_fast(-x)); }

/* The element-wise loops in chunks, each chunk compiled for AVX-512, AVX2 and the baseline
 * (the library is built for plain x86-64 unless ARCH says otherwise); the same operations in
 * the same order in every clone (no FMA contraction under -std=c11), so the results do not
 * depend on the clone. */
#define SILU_CHUNK 4096
__attribute__((target_clones("avx512f", "avx2", "default")))
static void silu_fwd_chunk(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = inp[i] / (1.0f + exp_fast(-inp[i]));
}

/* g * d/dx silu(x) = g s(x) (1 + x (1 - s(x))): the one SiLU derivative (silu_backward, the
 * hidden layers' act_backward_set and the time MLP use it) */
static inline float silu_grad(float g, float x) {
    float s = sigmoid_fast(x);
    return g * s * (1.0f + x * (1.0f - s));
}

__attribute__((target_clones("avx512f", "avx2", "default")))
static void silu_bwd_chunk(float *dinp, const float *dout, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++) dinp[i] += silu_grad(dout[i], inp[i]);
}

void silu_forward(float *out, const float *inp, size_t n) {
    size_t nc = (n + SILU_CHUNK - 1) / SILU_CHUNK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t c = 0; c < nc; c++) {
        size_t i = c * SILU_CHUNK, m = n - i < SILU_CHUNK ? n - i : SILU_CHUNK;
        silu_fwd_chunk(out + i, inp + i, m);
    }
}

void silu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
    size_t nc = (n + SILU_CHUNK - 1) / SILU_CHUNK;
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t c = 0; c < nc; c++) {
        size_t i = c * SILU_CHUNK, m = n - i < SILU_CHUNK ? n - i : SILU_CHUNK;
        silu_bwd_chunk(dinp + i, dout + i, inp + i, m);
    }
}

void embedding_forward(float *out, const int *idx, const float *table, int B, int C) {
    for (int r = 0; r < B; r++)
        memcpy(out + (size_t)r * C, table + (size_t)idx[r] * C, (size_t)C * sizeof(float));
}

void embedding_backward(float *dtable, const float *dout, const int *idx, int B, int C) {
    for (int r = 0; r < B; r++) { /* row order: deterministic */
        float *dt = dtable + (size_t)idx[r] * C;
        const float *g = dout + (size_t)r * C;
        for (int c = 0; c < C; c++) dt[c] += g[c];
    }
}

#define DROP_CHUNKS 16
void dropout_forward(float *out, uint8_t *mask, const float *inp, size_t n, float p,
                     uint64_t seed, uint64_t stream) {
    float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
    for (int c = 0; c < DROP_CHUNKS; c++) {
        mcr_rng r;
        mcr_rng_seed(&r, seed, stream * DROP_CHUNKS + (uint64_t)c);
        size_t i0 = n * c / DROP_CHUNKS, i1 = n * (c + 1) / DROP_CHUNKS;
        for (size_t i = i0; i < i1; i++) {
            mask[i] = mcr_rng_uniform(&r) >= p;
            out[i] = mask[i] ? inp[i] * scale : 0.0f;
        }
    }
}

double mse_forward_backward(float *dpred, const float *pred, const float *target, size_t n) {
    /* loss = mean (pred - target)^2, summed in fixed chunks then in order (deterministic) */
    enum { CH = 64 };
    double part[CH];
    float k = 2.0f / (float)n;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < CH; c++) {
        size_t i0 = n * c / CH, i1 = n * (c + 1) / CH;
        double s = 0;
        for (size_t i = i0; i < i1; i++) {
            float e = pred[i] - target[i];
            s += (double)e * e;
            if (dpred) dpred[i] = k * e;
        }
        part[c] = s;
    }
    double s = 0;
    for (int c = 0; c < CH; c++) s += part[c];
    return s / (double)n;
}

void timestep_embedding(float *out, const int *t, int B, int dt) {
    int half = dt / 2;
    for (int r = 0; r < B; r++) {
        float *o = out + (size_t)r * dt;
        for (int k = 0; k < half; k++) {
            double f = exp(-log(10000.0) * k / half);
            double a = (double)t[r] * f;
            o[k] = (float)cos(a);
            o[half + k] = (float)sin(a);
        }
        if (dt % 2) o[dt - 1] = 0;
    }
}

/* ------------------------------------------------------------------ the denoiser */
void mcr_net_layout(mcr_net *n, int d, int dt, int ncond, const int *widths, int nl, int act,
                    float dropout) {
    memset(n, 0, sizeof *n);
    n->d = d;
    n->dt = dt;
    n->ncond = ncond;
    n->nl = nl;
    n->act = act;
    n->dropout = dropout;
    for (int l = 0; l < nl; l++) n->widths[l] = widths[l];
    size_t o = 0;
#define T_(field, size) (n->field = o, o += (size_t)(size))
    T_(wt1, (size_t)dt * dt);
    T_(bt1, dt);
    T_(wt2, (size_t)dt * dt);
    T_(bt2, dt);
    T_(emb, (size_t)(ncond + 1) * dt);
    T_(win, (size_t)dt * d);
    T_(bin, dt);
    int prev = dt;
    for (int l = 0; l <= nl; l++) {
        int oc = l < nl ? widths[l] : d;
        T_(w[l], (size_t)oc * prev);
        T_(b[l], oc);
        prev = oc;
    }
#undef T_
    n->nparams = o;
}

static void uniform_init(float *p, size_t n, float bound, mcr_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = (float)((2 * mcr_rng_uniform(r) - 1) * bound);
}

void mcr_net_init_params(const mcr_net *n, float *p, uint64_t seed) {
    mcr_rng r;
    mcr_rng_seed(&r, seed, MCR_STREAM_INIT);
    int dt = n->dt;
    float bt = 1.0f / sqrtf((float)dt), bd = 1.0f / sqrtf((float)n->d);
    uniform_init(p + n->wt1, (size_t)dt * dt, bt, &r);
    uniform_init(p + n->bt1, dt, bt, &r);
    uniform_init(p + n->wt2, (size_t)dt * dt, bt, &r);
    uniform_init(p + n->bt2, dt, bt, &r);
    for (size_t i = 0; i < (size_t)(n->ncond + 1) * dt; i++) p[n->emb + i] = (float)mcr_rng_normal(&r);
    uniform_init(p + n->win, (size_t)dt * n->d, bd, &r);
    uniform_init(p + n->bin, dt, bd, &r);
    int prev = dt;
    for (int l = 0; l <= n->nl; l++) {
        int oc = l < n->nl ? n->widths[l] : n->d;
        float bound = 1.0f / sqrtf((float)prev);
        uniform_init(p + n->w[l], (size_t)oc * prev, bound, &r);
        uniform_init(p + n->b[l], oc, bound, &r);
        prev = oc;
    }
}

int mcr_net_alloc(mcr_net *n, int maxB) {
    size_t B = (size_t)maxB, dt = (size_t)n->dt, maxw = dt, V = (size_t)n->ncond + 1;
    size_t tot = 5 * B * dt + 2 * V * dt; /* te tz ta tm dtm [U<=B], ls dls */
    for (int l = 0; l < n->nl; l++) {
        tot += 2 * B * (size_t)n->widths[l];
        if ((size_t)n->widths[l] > maxw) maxw = (size_t)n->widths[l];
    }
    if ((size_t)n->d > maxw) maxw = (size_t)n->d;
    tot += B * dt;                 /* z[0] = h0 */
    tot += B * (size_t)n->d;       /* out */
    tot += 2 * B * maxw;           /* g1, g2 */
    n->mem = malloc(tot * sizeof(float));
    n->ut = malloc(3 * B * sizeof(int));
    size_t masktot = 0;
    for (int l = 0; l < n->nl; l++) masktot += B * (size_t)n->widths[l];
    n->maskmem = n->dropout > 0 ? malloc(masktot ? masktot : 1) : NULL;
    if (!n->mem || !n->ut || (n->dropout > 0 && !n->maskmem)) {
        mcr_net_free(n);
        return MCR_NOMEM();
    }
    n->uidx = n->ut + B;
    n->order = n->ut + 2 * B;
    float *q = n->mem;
    n->te = q, q += B * dt;
    n->tz = q, q += B * dt;
    n->ta = q, q += B * dt;
    n->tm = q, q += B * dt;
    n->dtm = q, q += B * dt;
    n->ls = q, q += V * dt;
    n->dls = q, q += V * dt;
    n->z[0] = n->h[0] = q, q += B * dt;
    uint8_t *mq = n->maskmem;
    for (int l = 1; l <= n->nl; l++) {
        size_t w = B * (size_t)n->widths[l - 1];
        n->z[l] = q, q += w;
        n->h[l] = q, q += w;
        n->mask[l] = mq ? mq : NULL;
        if (mq) mq += w;
    }
    n->out = q, q += B * (size_t)n->d;
    n->g1 = q, q += B * maxw;
    n->g2 = q, q += B * maxw;
    n->maxB = maxB;
    n->bf = NULL, n->bfmem = NULL, n->wsrc = NULL;
    /* memo of the sinusoid rows of t < TEMB_ROWS (a pure function of t: the same floats) */
    n->temb = malloc((size_t)TEMB_ROWS * dt * sizeof(float) + TEMB_ROWS);
    if (!n->temb) {
        mcr_net_free(n);
        return MCR_NOMEM();
    }
    n->temb_done = (uint8_t *)(n->temb + (size_t)TEMB_ROWS * dt);
    memset(n->temb_done, 0, TEMB_ROWS);
    if (n->use_bf16) {
        size_t btot = n->nparams + B * maxw + B * dt; /* wb, gb, hb[0] */
        for (int l = 0; l < n->nl; l++) btot += B * (size_t)n->widths[l];
        int rc = mcr_bf16_new(&n->bf);
        if (rc) {
            mcr_net_free(n);
            return rc;
        }
        if (!(n->bfmem = malloc(btot * sizeof(uint16_t)))) {
            mcr_net_free(n);
            return MCR_NOMEM();
        }
        uint16_t *bq = n->bfmem;
        n->wb = bq, bq += n->nparams;
        n->gb = bq, bq += B * maxw;
        for (int l = 0; l <= n->nl; l++) {
            size_t w = l ? (size_t)n->widths[l - 1] : dt;
            n->hb[l] = bq, bq += B * w;
        }
    }
    return MCR_OK;
}

void mcr_net_free(mcr_net *n) {
    mcr_bf16_free(n->bf);
    free(n->bfmem);
    n->bf = NULL;
    n->bfmem = NULL;
    n->wsrc = NULL;
    free(n->temb);
    n->temb = NULL;
    free(n->mem);
    free(n->maskmem);
    free(n->ut);
    n->mem = NULL;
    n->maskmem = NULL;
    n->ut = n->uidx = n->order = NULL;
}

/* distinct time steps of the batch: ut[0..U) ascending, uidx[r] = position of t[r] in ut */
static int cmp_by_t(const void *a, const void *b, void *ctx) {
    const int *t = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    if (t[x] != t[y]) return t[x] < t[y] ? -1 : 1;
    return (x > y) - (x < y);
}

void unique_times(mcr_net *n, const int *t, int B) {
    int same = 1;
    for (int r = 1; r < B && same; r++) same = t[r] == t[0];
    if (same) { /* sampling: every row at the same step */
        n->U = 1;
        n->ut[0] = t[0];
        memset(n->uidx, 0, (size_t)B * sizeof(int));
        return;
    }
    for (int r = 0; r < B; r++) n->order[r] = r;
    qsort_r(n->order, (size_t)B, sizeof(int), cmp_by_t, (void *)t);
    int U = 0;
    for (int k = 0; k < B; k++) {
        int r = n->order[k];
        if (U == 0 || n->ut[U - 1] != t[r]) n->ut[U++] = t[r];
        n->uidx[r] = U - 1;
    }
    n->U = U;
}

void bias_act_forward(int act, float *h, float *z, const float *b, int B, int w) {
#pragma omp parallel for schedule(static) if ((size_t)B * w > PAR_MIN)
    for (int r = 0; r < B; r++) {
        float *zr = z + (size_t)r * w, *hr = h + (size_t)r * w;
        if (act == MCR_ACT_SILU)
            for (int k = 0; k < w; k++) {
                float v = zr[k] += b[k];
                hr[k] = v / (1.0f + exp_fast(-v));
            }
        else
            for (int k = 0; k < w; k++) {
                float v = zr[k] += b[k];
                hr[k] = v > 0 ? v : 0;
            }
    }
}

/* Layer l of the hidden/output stack (weights p + n->w[l], input n->h[l] [B, C]):
 * out [B, OC] = h W^T (+ b), in bf16 when the net has it (fp32 if oneDNN refuses a shape). */
static void net_linear_forward(mcr_net *n, int l, float *out, const float *p, const float *b,
                               int B, int C, int OC) {
    if (n->bf) {
        f32_to_bf16(n->hb[l], n->h[l], (size_t)B * C); /* once per layer: reused by backward */
        if (!linear_forward_bf16(n->bf, out, n->hb[l], n->wb + n->w[l], b, B, C, OC)) return;
    }
    linear_forward(out, n->h[l], p + n->w[l], b, B, C, OC);
}

/* Its backward: dw, db (accumulated) and dinp [B, C] (written, if not NULL) from dout [B, OC]. */
static void net_linear_backward(mcr_net *n, int l, float *dinp, float *g, const float *p,
                                const float *dout, int B, int C, int OC) {
    if (n->bf) { /* each product falls back to fp32 alone if oneDNN refuses its shape */
        f32_to_bf16(n->gb, dout, (size_t)B * OC);
        if (bf16_matmul(n->bf, 1, 0, OC, C, B, n->gb, n->hb[l], g + n->w[l], 1))
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, B, 1.0f, dout, OC, n->h[l],
                        C, 1.0f, g + n->w[l], C);
        bias_grad(g + n->b[l], dout, B, OC);
        if (dinp && bf16_matmul(n->bf, 0, 0, B, C, OC, n->gb, n->wb + n->w[l], dinp, 0))
            matmul_dinp(dinp, dout, p + n->w[l], B, C, OC);
        return;
    }
    linear_backward(NULL, g + n->w[l], g + n->b[l], dout, n->h[l], p + n->w[l], B, C, OC);
    if (dinp) matmul_dinp(dinp, dout, p + n->w[l], B, C, OC);
}

void mcr_net_forward(mcr_net *n, const float *p, const float *x, const int *t, const int *y,
                     int B, int train, uint64_t seed, uint64_t stream) {
    MCR_ASSERT(B <= n->maxB);
    int dt = n->dt;
    size_t Bdt = (size_t)B * dt, V = (size_t)n->ncond + 1;
    /* time MLP on the distinct steps, label SiLU on the table */
    unique_times(n, t, B);
    int U = n->U;
    for (int u = 0; u < U; u++) { /* the sinusoid of each distinct step, memoised */
        int tu = n->ut[u];
        float *row = n->te + (size_t)u * dt;
        if (tu < 0 || tu >= TEMB_ROWS) {
            timestep_embedding(row, &tu, 1, dt);
            continue;
        }
        float *memo = n->temb + (size_t)tu * dt;
        if (!n->temb_done[tu]) timestep_embedding(memo, &tu, 1, dt), n->temb_done[tu] = 1;
        memcpy(row, memo, (size_t)dt * sizeof(float));
    }
    linear_forward(n->tz, n->te, p + n->wt1, p + n->bt1, U, dt, dt);
    silu_forward(n->ta, n->tz, (size_t)U * dt);
    linear_forward(n->tm, n->ta, p + n->wt2, p + n->bt2, U, dt, dt);
    silu_forward(n->ls, p + n->emb, V * dt);
    float *h0 = n->z[0];
    linear_forward(h0, x, p + n->win, p + n->bin, B, n->d, dt);
#pragma omp parallel for schedule(static) if (Bdt > PAR_MIN)
    for (int r = 0; r < B; r++) {
        float *h = h0 + (size_t)r * dt;
        const float *tm = n->tm + (size_t)n->uidx[r] * dt, *ls = n->ls + (size_t)y[r] * dt;
        for (int k = 0; k < dt; k++) h[k] += tm[k] + ls[k];
    }
    if (n->bf && (train || n->wsrc != p)) { /* bf16 weights: once per optimiser step */
        for (int l = 0; l <= n->nl; l++) {
            size_t cnt = (size_t)(l < n->nl ? n->widths[l] : n->d) * (l ? n->widths[l - 1] : dt);
            f32_to_bf16(n->wb + n->w[l], p + n->w[l], cnt);
        }
        n->wsrc = p;
    }
    int prev = dt;
    for (int l = 1; l <= n->nl; l++) {
        int w = n->widths[l - 1];
        size_t nw = (size_t)B * w;
        /* z = h W^T (no bias), then one fused pass: z += b; h = act(z) */
        net_linear_forward(n, l - 1, n->z[l], p, NULL, B, prev, w);
        bias_act_forward(n->act, n->h[l], n->z[l], p + n->b[l - 1], B, w);
        if (train && n->dropout > 0)
            dropout_forward(n->h[l], n->mask[l], n->h[l], nw, n->dropout, seed,
                            stream * (MCR_MAX_LAYERS + 1) + (uint64_t)l);
        prev = w;
    }
    net_linear_forward(n, n->nl, n->out, p, p + n->b[n->nl], B, prev, n->d);
}

/* dz = dh * act'(z) (* dropout mask / (1-p)), written, not accumulated */
void act_backward_set(const mcr_net *n, float *dz, const float *dh, const float *z,
                             const uint8_t *mask, size_t cnt) {
    float s = mask ? 1.0f / (1.0f - n->dropout) : 1.0f;
    if (n->act == MCR_ACT_SILU) {
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
        for (size_t i = 0; i < cnt; i++) {
            float g = mask ? (mask[i] ? dh[i] * s : 0.0f) : dh[i];
            dz[i] = silu_grad(g, z[i]);
        }
    } else {
#pragma omp parallel for schedule(static) if (cnt > PAR_MIN)
        for (size_t i = 0; i < cnt; i++) {
            float g = mask ? (mask[i] ? dh[i] * s : 0.0f) : dh[i];
            dz[i] = z[i] > 0 ? g : 0.0f;
        }
    }
}

/* dinp [B, C] = dout [B, OC] @ w [OC, C] (overwrites) */
void matmul_dinp(float *dinp, const float *dout, const float *w, int B, int C, int OC) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, OC, 1.0f, dout, OC, w, C, 0.0f,
                dinp, C);
}

void mcr_net_backward(mcr_net *n, const float *p, float *g, const float *dout, const float *x,
                      const int *y, int B) {
    int dt = n->dt, nl = n->nl, U = n->U;
    size_t V = (size_t)n->ncond + 1;
    int prev = nl ? n->widths[nl - 1] : dt;
    float *dh = n->g1, *dz = n->g2;
    /* output layer */
    net_linear_backward(n, nl, dh, g, p, dout, B, prev, n->d);
    for (int l = nl; l >= 1; l--) {
        int w = n->widths[l - 1], in = l > 1 ? n->widths[l - 2] : dt;
        act_backward_set(n, dz, dh, n->z[l], n->dropout > 0 ? n->mask[l] : NULL, (size_t)B * w);
        net_linear_backward(n, l - 1, dh, g, p, dz, B, in, w);
    }
    /* dh = d h0 [B, dt]; h0 = x Win^T + bin + tm[u(r)] + ls[y(r)] */
    linear_backward(NULL, g + n->win, g + n->bin, dh, x, p + n->win, B, n->d, dt);
    /* scatter-add (row order) into the label table and the distinct time steps */
    memset(n->dls, 0, V * dt * sizeof(float));
    memset(n->dtm, 0, (size_t)U * dt * sizeof(float));
    for (int r = 0; r < B; r++) {
        const float *gr = dh + (size_t)r * dt;
        float *a = n->dls + (size_t)y[r] * dt, *b = n->dtm + (size_t)n->uidx[r] * dt;
        for (int k = 0; k < dt; k++) a[k] += gr[k], b[k] += gr[k];
    }
    silu_backward(g + n->emb, n->dls, p + n->emb, V * dt);
    /* time MLP on U rows */
    size_t Udt = (size_t)U * dt;
    linear_backward(NULL, g + n->wt2, g + n->bt2, n->dtm, n->ta, p + n->wt2, U, dt, dt);
    matmul_dinp(dz, n->dtm, p + n->wt2, U, dt, dt);
    for (size_t i = 0; i < Udt; i++) dh[i] = silu_grad(dz[i], n->tz[i]);
    linear_backward(NULL, g + n->wt1, g + n->bt1, dh, n->te, p + n->wt1, U, dt, dt);
}
