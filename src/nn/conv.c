/* conv.c — image kernels, NCHW float32: 2-D convolution (im2col + sgemm, with its naive
 * direct twin), group normalisation, nearest 2x upsampling, 2x average pooling, FiLM
 * scale/shift from a conditioning vector, and multi-head self-attention. See nn.h.
 *
 * Threads. OpenMP runs over groups of images (or image x head for attention); inside a
 * parallel region OpenBLAS (OpenMP build) runs each sgemm on the calling thread. The groups
 * depend on the shape only, so results are the same whatever the thread count. Reductions
 * over the batch (dw, db of a convolution) are summed per fixed chunk of images (at most
 * CONV_DW_CHUNKS, not per thread) and the chunk partials added in chunk order, so they too do
 * not depend on the thread count or on scheduling. The exception: with one image (one group)
 * the loop runs outside a parallel region and sgemm uses the BLAS threads itself, whose
 * results may differ in the last bits from one thread's (deterministic for a thread count).
 *
 * im2col + sgemm, and oneDNN. bench/bench_conv.c (make bench-conv) measures both on the UNet's
 * 3x3 shapes (N = 32). On the development machine (AMD EPYC with AVX-512, 2 cores shared
 * with other jobs, load ~7, 2026-12-04): at 64x64 ours ran at 0.86-1.15x the same run's
 * plain sgemm rate forward and 0.84-1.10x backward (stride 1, 1 and 2 threads), so the
 * issue's >= 60% target holds; stride-2 convolutions at 0.53-1.4x. But OpenBLAS 0.3.21 takes
 * this CPU for Haswell (AVX2 kernels; OPENBLAS_CORETYPE=SkylakeX gave ~1.5x on sgemm), while
 * at 64x64 oneDNN's direct AVX-512 kernels in blocked layouts ran 2.1-3.6x faster than ours
 * forward (1.8-2.9x with reorders from and to NCHW on every call) and 2.1-3.1x backward. A
 * oneDNN primitive made for plain NCHW picks "gemm:jit" (im2col + its own sgemm): 1.1-2.2x.
 * im2col + sgemm stays the default engine: results independent of the thread count (tested),
 * one code path for every shape. dconv.c is the oneDNN engine (fp32 and bf16, per-call
 * reorders from and to NCHW, layouts of oneDNN's choosing), picked per UNet with
 * mcr_unet_set_engine and by `image fit --precision bf16`. */
#include "nn/nn.h"
#include <cblas.h>
#include <omp.h>

#define PAR_MIN 16384 /* element-wise loops below this size run on one thread */

/* ------------------------------------------------------------------ im2col / col2im */
/* valid output columns [*ox0, *ox1) for kernel column kj: 0 <= ox*s - p + kj < W */
static void valid_range(int W, int Wo, int kj, int s, int p, int *ox0, int *ox1) {
    int a = p - kj > 0 ? (p - kj + s - 1) / s : 0;
    int t = W - 1 + p - kj;
    int b = t < 0 ? 0 : t / s + 1;
    if (b > Wo) b = Wo;
    if (a > b) a = b;
    *ox0 = a, *ox1 = b;
}

/* im2col into rows of stride ld (>= Ho*Wo): several images' columns side by side */
static void im2col_ld(float *col, size_t ld, const float *img, int C, int H, int W, int k,
                      int stride, int pad) {
    int Ho = conv_out_size(H, k, stride, pad), Wo = conv_out_size(W, k, stride, pad);
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                float *row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                const float *ic = img + (size_t)c * H * W;
                int ox0, ox1;
                valid_range(W, Wo, kj, stride, pad, &ox0, &ox1);
                for (int oy = 0; oy < Ho; oy++) {
                    float *r = row + (size_t)oy * Wo;
                    int iy = oy * stride - pad + ki;
                    /* rows are short (7 to 64 floats at the UNet's sizes): inline loops, not
                     * a memcpy/memset call per row */
                    if (iy < 0 || iy >= H) {
                        for (int ox = 0; ox < Wo; ox++) r[ox] = 0;
                        continue;
                    }
                    for (int ox = 0; ox < ox0; ox++) r[ox] = 0;
                    const float *src = ic + (size_t)iy * W - pad + kj;
                    if (stride == 1) {
                        for (int ox = ox0; ox < ox1; ox++) r[ox] = src[ox];
                    } else {
                        for (int ox = ox0; ox < ox1; ox++) r[ox] = src[ox * stride];
                    }
                    for (int ox = ox1; ox < Wo; ox++) r[ox] = 0;
                }
            }
}

static void col2im_ld(float *img, const float *col, size_t ld, int C, int H, int W, int k,
                      int stride, int pad) {
    int Ho = conv_out_size(H, k, stride, pad), Wo = conv_out_size(W, k, stride, pad);
    for (int c = 0; c < C; c++)
        for (int ki = 0; ki < k; ki++)
            for (int kj = 0; kj < k; kj++) {
                const float *row = col + ((size_t)(c * k + ki) * k + kj) * ld;
                float *ic = img + (size_t)c * H * W;
                int ox0, ox1;
                valid_range(W, Wo, kj, stride, pad, &ox0, &ox1);
                for (int oy = 0; oy < Ho; oy++) {
                    int iy = oy * stride - pad + ki;
                    if (iy < 0 || iy >= H) continue;
                    const float *r = row + (size_t)oy * Wo;
                    float *dst = ic + (size_t)iy * W - pad + kj;
                    if (stride == 1) /* unit stride: a loop the compiler vectorises */
                        for (int ox = ox0; ox < ox1; ox++) dst[ox] += r[ox];
                    else
                        for (int ox = ox0; ox < ox1; ox++) dst[ox * stride] += r[ox];
                }
            }
}

void im2col(float *col, const float *img, int C, int H, int W, int k, int stride, int pad) {
    /* col [C*k*k, Ho*Wo], img [C, H, W] */
    size_t HoWo = (size_t)conv_out_size(H, k, stride, pad) * conv_out_size(W, k, stride, pad);
    im2col_ld(col, HoWo, img, C, H, W, k, stride, pad);
}

void col2im(float *img, const float *col, int C, int H, int W, int k, int stride, int pad) {
    /* img [C, H, W] += scatter of col [C*k*k, Ho*Wo] */
    size_t HoWo = (size_t)conv_out_size(H, k, stride, pad) * conv_out_size(W, k, stride, pad);
    col2im_ld(img, col, HoWo, C, H, W, k, stride, pad);
}

/* ------------------------------------------------------------------ convolution
 * The batch is cut into G <= CONV_DW_CHUNKS fixed chunks (the dw/db partials), each chunk
 * into sub-batches of nb images whose columns sit side by side in one GEMM of nb*Ho*Wo
 * columns: small images (7x7 at the UNet's lowest level) would otherwise give GEMMs of 49
 * columns, which OpenBLAS runs far below its rate. G and nb depend only on the shape (enough
 * images for CONV_MIN_COLS columns), so the arithmetic is the same for every thread count.
 * With nb = 1 the image's own rows are the GEMM's operands.
 *
 * Backward, the input gradient of a stride-1 convolution (pad p <= k-1) is itself a
 * convolution: dout with the weights transposed (C <-> OC) and flipped, padded k-1-p. So it is
 * im2col(dout) and one GEMM [C, OC*k*k] x [OC*k*k, cols] accumulated into dinp, rather than a
 * GEMM into a [C*k*k, cols] column buffer (k*k times dinp's size) and col2im's scatter-add.
 * Stride-2 convolutions keep col2im. */
#define CONV_MIN_COLS 256

typedef struct {
    int N, C, H, W, OC, k, s, p; /* shape */
    int Ho, Wo, HoWo, CKK, G, nb;
    int nsub;                    /* sub-batches over all chunks */
    int pw;                      /* 1x1, stride 1, no padding, nb == 1: no im2col */
    int tx;                      /* dinp as a convolution of dout (stride 1, see below) */
    size_t colsz, tmpsz;         /* per-thread floats: columns, gathered output rows */
    size_t wtsz;                 /* floats of the flipped weights (tx) */
} conv_plan;

static conv_plan plan(int N, int C, int H, int W, int OC, int k, int s, int p) {
    conv_plan q;
    q.N = N, q.C = C, q.H = H, q.W = W, q.OC = OC, q.k = k, q.s = s, q.p = p;
    q.Ho = conv_out_size(H, k, s, p), q.Wo = conv_out_size(W, k, s, p);
    q.HoWo = q.Ho * q.Wo;
    q.CKK = C * k * k;
    /* nb0 images make CONV_MIN_COLS columns; fewer chunks when images are small, so that a
     * chunk holds them, but two at least (two threads' worth) when there are two images */
    int nb0 = (CONV_MIN_COLS + q.HoWo - 1) / q.HoWo;
    q.G = N < CONV_DW_CHUNKS ? N : CONV_DW_CHUNKS;
    if (q.G > N / nb0) q.G = N / nb0 > 2 ? N / nb0 : (N < 2 ? 1 : 2);
    int maxchunk = (N + q.G - 1) / q.G;
    q.nb = nb0 < maxchunk ? nb0 : maxchunk;
    q.nsub = 0;
    for (int c = 0; c < q.G; c++) q.nsub += (N * (c + 1) / q.G - N * c / q.G + q.nb - 1) / q.nb;
    q.pw = k == 1 && s == 1 && p == 0 && q.nb == 1;
    q.tx = s == 1 && !q.pw && p <= k - 1;
    size_t HW = (size_t)H * W, ckk = (size_t)q.CKK * q.nb * q.HoWo, okk = (size_t)OC * k * k * q.nb * HW;
    q.colsz = q.pw ? 0 : q.tx && okk > ckk ? okk : ckk;
    q.tmpsz = q.nb > 1 ? (size_t)OC * q.nb * q.HoWo : 0;
    if (q.tx && q.nb > 1 && (size_t)C * q.nb * HW > q.tmpsz) q.tmpsz = (size_t)C * q.nb * HW;
    q.wtsz = q.tx ? (size_t)C * OC * k * k : 0;
    return q;
}

size_t conv2d_workspace(int N, int C, int H, int W, int OC, int k, int stride, int pad,
                        int nthreads) {
    conv_plan q = plan(N, C, H, W, OC, k, stride, pad);
    int T = nthreads < 1 ? 1 : nthreads;
    if (T > q.nsub) T = q.nsub; /* forward: sub-batches over threads; backward: chunks (<=) */
    size_t partial = (size_t)OC * q.CKK + (size_t)OC;
    return (size_t)T * (q.colsz + q.tmpsz) + (size_t)q.G * partial + q.wtsz;
}

/* threads the call may use: at most omp_get_max_threads(), `items`, and what ws holds */
static int fit_threads(size_t wsn, size_t fixed, size_t per_thread, int items) {
    int T = omp_get_max_threads();
    if (T > items) T = items;
    if (T < 1) T = 1;
    while (T > 1 && fixed + (size_t)T * per_thread > wsn) T--;
    MCR_ASSERT(fixed + (size_t)T * per_thread <= wsn);
    return T;
}

/* A workspace for fewer threads than are running makes a kernel run its items one by one. Run
 * them then inside an active parallel region (one thread working), so that OpenBLAS stays
 * on that thread as it would with one thread: the bits do not depend on the thread count.
 * Only a single item (one image) is left to sgemm's own threads. */
static int keep_blas_serial(int items) { return items > 1 && omp_get_max_threads() > 1 && !omp_in_parallel(); }

static void conv_check(int N, int C, int H, int W, int OC, int k, int stride, int pad) {
    MCR_ASSERT(N >= 1 && C >= 1 && OC >= 1 && k >= 1 && stride >= 1 && pad >= 0);
    MCR_ASSERT(H + 2 * pad >= k && W + 2 * pad >= k);
}

/* sub-batch i (chunk by chunk, nb images at a time): its first image and image count */
static void sub_batch(const conv_plan *q, int i, int *n0, int *m) {
    for (int c = 0; c < q->G; c++) {
        int a = q->N * c / q->G, e = q->N * (c + 1) / q->G, cnt = (e - a + q->nb - 1) / q->nb;
        if (i < cnt) {
            *n0 = a + i * q->nb;
            *m = e - *n0 < q->nb ? e - *n0 : q->nb;
            return;
        }
        i -= cnt;
    }
    MCR_ASSERT(0);
}

/* images [n0, n0+m), m <= nb: out = w [OC, CKK] @ columns + b; col, tmp: this thread's */
static void conv_sub_forward(const conv_plan *q, float *out, const float *inp, const float *w,
                             const float *b, float *col, float *tmp, int n0, int m) {
    size_t isz = (size_t)q->C * q->H * q->W, osz = (size_t)q->OC * q->HoWo;
    size_t ld = (size_t)m * q->HoWo;
    const float *cm = inp + n0 * isz;
    if (!q->pw) {
        for (int j = 0; j < m; j++)
            im2col_ld(col + (size_t)j * q->HoWo, ld, inp + (n0 + j) * isz, q->C, q->H, q->W, q->k,
                      q->s, q->p);
        cm = col;
    }
    float *o = m == 1 ? out + n0 * osz : tmp; /* [OC, ld] */
    if (b)
        for (int oc = 0; oc < q->OC; oc++) {
            float *r = o + (size_t)oc * ld;
            for (size_t i = 0; i < ld; i++) r[i] = b[oc];
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->OC, (int)ld, q->CKK, 1.0f, w, q->CKK,
                cm, (int)ld, b ? 1.0f : 0.0f, o, (int)ld);
    if (m > 1) /* [OC, m, HoWo] -> [m, OC, HoWo] */
        for (int j = 0; j < m; j++)
            for (int oc = 0; oc < q->OC; oc++)
                memcpy(out + (n0 + j) * osz + (size_t)oc * q->HoWo, tmp + (size_t)oc * ld + (size_t)j * q->HoWo,
                       sizeof(float) * (size_t)q->HoWo);
}

void conv2d_forward(float *out, const float *inp, const float *w, const float *b, float *ws,
                    size_t wsn, int N, int C, int H, int W, int OC, int k, int stride, int pad) {
    /* out [N, OC, Ho, Wo], inp [N, C, H, W], w [OC, C, k, k], b [OC] or NULL,
     * ws [wsn] floats (conv2d_workspace) */
    conv_check(N, C, H, W, OC, k, stride, pad);
    conv_plan q = plan(N, C, H, W, OC, k, stride, pad);
    size_t per = q.colsz + q.tmpsz;
    int T = fit_threads(wsn, 0, per, q.nsub);
    if (T == 1) {
#pragma omp parallel num_threads(2) if (keep_blas_serial(q.nsub))
#pragma omp single
        for (int i = 0; i < q.nsub; i++) {
            int n0, m;
            sub_batch(&q, i, &n0, &m);
            conv_sub_forward(&q, out, inp, w, b, ws, ws + q.colsz, n0, m);
        }
    } else {
#pragma omp parallel num_threads(T)
        {
            float *col = ws + (size_t)omp_get_thread_num() * per;
#pragma omp for schedule(static)
            for (int i = 0; i < q.nsub; i++) {
                int n0, m;
                sub_batch(&q, i, &n0, &m);
                conv_sub_forward(&q, out, inp, w, b, col, col + q.colsz, n0, m);
            }
        }
    }
}

/* chunk [n0, n1) into the partial pdw [OC*CKK + OC], by sub-batches of nb images */
static void conv_chunk_backward(const conv_plan *q, float *dinp, float *pdw, const float *dout,
                                const float *inp, const float *w, const float *wt, float *col,
                                float *tmp, int n0, int n1) {
    int HoWo = q->HoWo, CKK = q->CKK, OC = q->OC;
    size_t isz = (size_t)q->C * q->H * q->W, osz = (size_t)OC * HoWo;
    float *pdb = pdw + (size_t)OC * CKK;
    memset(pdw, 0, sizeof(float) * ((size_t)OC * CKK + OC));
    for (int s0 = n0; s0 < n1; s0 += q->nb) {
        int m = n1 - s0 < q->nb ? n1 - s0 : q->nb;
        size_t ld = (size_t)m * HoWo;
        const float *cm = inp + s0 * isz, *g = dout + s0 * osz;
        if (!q->pw) {
            for (int j = 0; j < m; j++)
                im2col_ld(col + (size_t)j * HoWo, ld, inp + (s0 + j) * isz, q->C, q->H, q->W, q->k,
                          q->s, q->p);
            cm = col;
        }
        if (m > 1) { /* gather dout [m, OC, HoWo] -> [OC, m*HoWo] */
            for (int j = 0; j < m; j++)
                for (int oc = 0; oc < OC; oc++)
                    memcpy(tmp + (size_t)oc * ld + (size_t)j * HoWo, dout + (s0 + j) * osz + (size_t)oc * HoWo,
                           sizeof(float) * (size_t)HoWo);
            g = tmp;
        }
        /* dw [OC, CKK] += g [OC, ld] @ col^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, (int)ld, 1.0f, g, (int)ld, cm,
                    (int)ld, 1.0f, pdw, CKK);
        for (int oc = 0; oc < OC; oc++) { /* in eight lanes (vectorised), added in lane order */
            const float *r = g + (size_t)oc * ld;
            float a[8] = {0}, sum = 0;
            size_t ld8 = ld - ld % 8;
            for (size_t i = 0; i < ld8; i += 8)
                for (int j = 0; j < 8; j++) a[j] += r[i + j];
            for (size_t i = ld8; i < ld; i++) sum += r[i];
            for (int j = 0; j < 8; j++) sum += a[j];
            pdb[oc] += sum;
        }
        if (!dinp) continue;
        if (q->tx) { /* dx [C, m*HW] = wt [C, OC*k*k] @ im2col(dout, pad k-1-p) */
            int k = q->k, HW = q->H * q->W, OKK = OC * k * k;
            size_t ldx = (size_t)m * HW;
            for (int j = 0; j < m; j++)
                im2col_ld(col + (size_t)j * HW, ldx, dout + (s0 + j) * osz, OC, q->Ho, q->Wo, k, 1,
                          k - 1 - q->p);
            if (m == 1) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->C, HW, OKK, 1.0f, wt, OKK,
                            col, HW, 1.0f, dinp + s0 * isz, HW);
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q->C, (int)ldx, OKK, 1.0f, wt,
                            OKK, col, (int)ldx, 0.0f, tmp, (int)ldx);
                for (int j = 0; j < m; j++)
                    for (int c = 0; c < q->C; c++) {
                        float *dst = dinp + (s0 + j) * isz + (size_t)c * HW;
                        const float *src = tmp + (size_t)c * ldx + (size_t)j * HW;
                        for (int i = 0; i < HW; i++) dst[i] += src[i];
                    }
            }
        } else if (q->pw) { /* dx [C, HW] += w^T [C, OC] @ g [OC, HW] */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q->C, HoWo, OC, 1.0f, w, q->C, g,
                        HoWo, 1.0f, dinp + s0 * isz, HoWo);
        } else { /* dcol [CKK, ld] = w^T @ g, scattered back image by image */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, (int)ld, OC, 1.0f, w, CKK, g,
                        (int)ld, 0.0f, col, (int)ld);
            for (int j = 0; j < m; j++)
                col2im_ld(dinp + (s0 + j) * isz, col + (size_t)j * HoWo, ld, q->C, q->H, q->W, q->k,
                          q->s, q->p);
        }
    }
}

void conv2d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                     const float *w, float *ws, size_t wsn, int N, int C, int H, int W, int OC,
                     int k, int stride, int pad) {
    /* dinp [N, C, H, W] += (or NULL), dw [OC, C, k, k] +=, db [OC] += (or NULL),
     * dout [N, OC, Ho, Wo], inp [N, C, H, W], w [OC, C, k, k], ws [wsn] (conv2d_workspace) */
    conv_check(N, C, H, W, OC, k, stride, pad);
    conv_plan q = plan(N, C, H, W, OC, k, stride, pad);
    int G = q.G;
    size_t partial = (size_t)OC * q.CKK + OC, per = q.colsz + q.tmpsz;
    int T = fit_threads(wsn, (size_t)G * partial + q.wtsz, per, G);
    float *parts = ws + (size_t)T * per; /* [G, partial] */
    float *wt = parts + (size_t)G * partial; /* [C, OC, k, k]: w with in/out swapped, flipped */
    if (q.tx && dinp) {
        int kk = k * k;
        for (int o = 0; o < OC; o++)
            for (int c = 0; c < C; c++)
                for (int e = 0; e < kk; e++)
                    wt[((size_t)c * OC + o) * kk + e] = w[((size_t)o * C + c) * kk + (kk - 1 - e)];
    }
    if (T == 1) {
#pragma omp parallel num_threads(2) if (keep_blas_serial(G))
#pragma omp single
        for (int c = 0; c < G; c++)
            conv_chunk_backward(&q, dinp, parts + c * partial, dout, inp, w, wt, ws, ws + q.colsz,
                                N * c / G, N * (c + 1) / G);
    } else {
#pragma omp parallel num_threads(T)
        {
            float *col = ws + (size_t)omp_get_thread_num() * per;
#pragma omp for schedule(static)
            for (int c = 0; c < G; c++)
                conv_chunk_backward(&q, dinp, parts + c * partial, dout, inp, w, wt, col, col + q.colsz,
                                    N * c / G, N * (c + 1) / G);
        }
    }
    /* chunk partials added in chunk order: the same bits for any thread count */
    size_t nw = (size_t)OC * q.CKK;
#pragma omp parallel for schedule(static) if (nw > PAR_MIN)
    for (size_t i = 0; i < nw; i++) {
        float sum = dw[i];
        for (int c = 0; c < G; c++) sum += parts[c * partial + i];
        dw[i] = sum;
    }
    if (db)
        for (int oc = 0; oc < OC; oc++) {
            float sum = db[oc];
            for (int c = 0; c < G; c++) sum += parts[c * partial + nw + oc];
            db[oc] = sum;
        }
}

void conv2d_forward_naive(float *out, const float *inp, const float *w, const float *b, int N,
                          int C, int H, int W, int OC, int k, int stride, int pad) {
    /* out [N, OC, Ho, Wo], inp [N, C, H, W], w [OC, C, k, k], b [OC] or NULL */
    int Ho = conv_out_size(H, k, stride, pad), Wo = conv_out_size(W, k, stride, pad);
    for (int n = 0; n < N; n++)
        for (int o = 0; o < OC; o++)
            for (int oy = 0; oy < Ho; oy++)
                for (int ox = 0; ox < Wo; ox++) {
                    double acc = b ? b[o] : 0;
                    for (int c = 0; c < C; c++)
                        for (int ki = 0; ki < k; ki++)
                            for (int kj = 0; kj < k; kj++) {
                                int iy = oy * stride - pad + ki, ix = ox * stride - pad + kj;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                acc += (double)inp[(((size_t)n * C + c) * H + iy) * W + ix] *
                                       w[(((size_t)o * C + c) * k + ki) * k + kj];
                            }
                    out[(((size_t)n * OC + o) * Ho + oy) * Wo + ox] = (float)acc;
                }
}

void conv2d_backward_naive(float *dinp, float *dw, float *db, const float *dout,
                           const float *inp, const float *w, int N, int C, int H, int W, int OC,
                           int k, int stride, int pad) {
    /* dinp [N, C, H, W] += (or NULL), dw [OC, C, k, k] +=, db [OC] += (or NULL);
     * each gradient entry is one double sum over everything that feeds it */
    int Ho = conv_out_size(H, k, stride, pad), Wo = conv_out_size(W, k, stride, pad);
#define DOUT(n, o, oy, ox) dout[(((size_t)(n) * OC + (o)) * Ho + (oy)) * Wo + (ox)]
    for (int o = 0; o < OC; o++) {
        if (db) {
            double s = 0;
            for (int n = 0; n < N; n++)
                for (int i = 0; i < Ho * Wo; i++) s += DOUT(n, o, 0, i);
            db[o] += (float)s;
        }
        for (int c = 0; c < C; c++)
            for (int ki = 0; ki < k; ki++)
                for (int kj = 0; kj < k; kj++) {
                    double s = 0;
                    for (int n = 0; n < N; n++)
                        for (int oy = 0; oy < Ho; oy++)
                            for (int ox = 0; ox < Wo; ox++) {
                                int iy = oy * stride - pad + ki, ix = ox * stride - pad + kj;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                s += (double)DOUT(n, o, oy, ox) *
                                     inp[(((size_t)n * C + c) * H + iy) * W + ix];
                            }
                    dw[(((size_t)o * C + c) * k + ki) * k + kj] += (float)s;
                }
    }
    if (!dinp) return;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int iy = 0; iy < H; iy++)
                for (int ix = 0; ix < W; ix++) {
                    double s = 0;
                    for (int ki = 0; ki < k; ki++)
                        for (int kj = 0; kj < k; kj++) {
                            int ty = iy + pad - ki, tx = ix + pad - kj; /* = oy*stride, ox*stride */
                            if (ty < 0 || tx < 0 || ty % stride || tx % stride) continue;
                            int oy = ty / stride, ox = tx / stride;
                            if (oy >= Ho || ox >= Wo) continue;
                            for (int o = 0; o < OC; o++)
                                s += (double)DOUT(n, o, oy, ox) *
                                     w[(((size_t)o * C + c) * k + ki) * k + kj];
                        }
                    dinp[(((size_t)n * C + c) * H + iy) * W + ix] += (float)s;
                }
#undef DOUT
}

/* ------------------------------------------------------------------ group normalisation */
#define GN_EPS 1e-5

/* Sums over a group in GN_LANES independent double accumulators (lane j takes elements
 * i = j mod GN_LANES, lanes added in order at the end): one accumulator is a chain of
 * dependent adds (4 cycles each); eight let the compiler vectorise. The order depends on the
 * shape only, so results stay the same for every thread count. */
#define GN_LANES 8

static double lanes_sum(const double *a) {
    double s = 0;
    for (int j = 0; j < GN_LANES; j++) s += a[j];
    return s;
}

/* The per-group and per-channel bodies are compiled for AVX-512, AVX2 and the baseline (the
 * library is built for plain x86-64 unless ARCH says otherwise: SSE2 holds two doubles); the
 * same operations in the same order in every clone (no FMA contraction under -std=c11), so the
 * results do not depend on the clone, nor on the thread count. */
#define GN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

GN_CLONES
static void gn_fwd_group(float *out, float *mean, float *rstd, const float *inp, const float *gamma,
                         const float *beta, int ng, int C, int HW, int G) {
    int cg = C / G, n = ng / G, g = ng % G;
    size_t cnt = (size_t)cg * HW, cnt8 = cnt - cnt % GN_LANES;
    size_t base = ((size_t)n * C + (size_t)g * cg) * HW;
    const float *x = inp + base;
    double a[GN_LANES] = {0};
    for (size_t i = 0; i < cnt8; i += GN_LANES)
        for (int j = 0; j < GN_LANES; j++) a[j] += x[i + j];
    double s = lanes_sum(a);
    for (size_t i = cnt8; i < cnt; i++) s += x[i];
    double m = s / (double)cnt;
    for (int j = 0; j < GN_LANES; j++) a[j] = 0;
    for (size_t i = 0; i < cnt8; i += GN_LANES)
        for (int j = 0; j < GN_LANES; j++) a[j] += (x[i + j] - m) * (x[i + j] - m);
    double v = lanes_sum(a);
    for (size_t i = cnt8; i < cnt; i++) v += (x[i] - m) * (x[i] - m);
    v /= (double)cnt;
    float mf = (float)m, rs = (float)(1.0 / sqrt(v + GN_EPS));
    mean[ng] = mf, rstd[ng] = rs;
    for (int c = 0; c < cg; c++) {
        int ch = g * cg + c;
        float a1 = rs * gamma[ch], bb = beta[ch] - mf * a1;
        const float *xc = x + (size_t)c * HW;
        float *oc = out + base + (size_t)c * HW;
        for (int i = 0; i < HW; i++) oc[i] = xc[i] * a1 + bb;
    }
}

void groupnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *gamma, const float *beta, int N, int C, int HW, int G) {
    /* out, inp [N, C, HW]; mean, rstd [N, G]; gamma, beta [C] */
    MCR_ASSERT(G >= 1 && C % G == 0);
#pragma omp parallel for schedule(static) if ((size_t)N * C * HW > PAR_MIN)
    for (int ng = 0; ng < N * G; ng++) gn_fwd_group(out, mean, rstd, inp, gamma, beta, ng, C, HW, G);
}

/* dgamma, dbeta of one channel: images in order */
GN_CLONES
static void gn_bwd_channel(float *dgamma, float *dbeta, const float *dout, const float *inp,
                           const float *mean, const float *rstd, int ch, int N, int C, int HW, int G) {
    int cg = C / G, g = ch / cg, HW8 = HW - HW % GN_LANES;
    double ag[GN_LANES] = {0}, ab[GN_LANES] = {0}, sg = 0, sb = 0;
    for (int n = 0; n < N; n++) {
        const float *x = inp + ((size_t)n * C + ch) * HW, *d = dout + ((size_t)n * C + ch) * HW;
        double m = mean[n * G + g], rs = rstd[n * G + g];
        for (int i = 0; i < HW8; i += GN_LANES)
            for (int j = 0; j < GN_LANES; j++) {
                ag[j] += (double)d[i + j] * ((x[i + j] - m) * rs);
                ab[j] += d[i + j];
            }
        for (int i = HW8; i < HW; i++) {
            sg += (double)d[i] * ((x[i] - m) * rs);
            sb += d[i];
        }
    }
    dgamma[ch] += (float)(lanes_sum(ag) + sg);
    dbeta[ch] += (float)(lanes_sum(ab) + sb);
}

/* dinp of one (image, group) = rstd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), dxhat = dout gamma */
GN_CLONES
static void gn_bwd_group(float *dinp, const float *dout, const float *inp, const float *mean,
                         const float *rstd, const float *gamma, int ng, int C, int HW, int G) {
    int cg = C / G, n = ng / G, g = ng % G, HW8 = HW - HW % GN_LANES;
    size_t cnt = (size_t)cg * HW;
    size_t base = ((size_t)n * C + (size_t)g * cg) * HW;
    double m = mean[ng], rs = rstd[ng];
    double a1[GN_LANES] = {0}, a2[GN_LANES] = {0}, s1 = 0, s2 = 0;
    for (int c = 0; c < cg; c++) {
        const float *x = inp + base + (size_t)c * HW, *d = dout + base + (size_t)c * HW;
        double ga = gamma[g * cg + c];
        for (int i = 0; i < HW8; i += GN_LANES)
            for (int j = 0; j < GN_LANES; j++) {
                double dx = d[i + j] * ga;
                a1[j] += dx;
                a2[j] += dx * ((x[i + j] - m) * rs);
            }
        for (int i = HW8; i < HW; i++) {
            double dx = d[i] * ga;
            s1 += dx;
            s2 += dx * ((x[i] - m) * rs);
        }
    }
    s1 += lanes_sum(a1), s2 += lanes_sum(a2);
    float mf = (float)m, rsf = (float)rs;
    float m1 = (float)(s1 / (double)cnt), m2 = (float)(s2 / (double)cnt);
    for (int c = 0; c < cg; c++) {
        const float *x = inp + base + (size_t)c * HW, *d = dout + base + (size_t)c * HW;
        float *dx = dinp + base + (size_t)c * HW;
        float ga = gamma[g * cg + c];
        for (int i = 0; i < HW; i++) {
            float xh = (x[i] - mf) * rsf;
            dx[i] += rsf * (d[i] * ga - m1 - xh * m2);
        }
    }
}

void groupnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const float *inp, const float *mean, const float *rstd,
                        const float *gamma, int N, int C, int HW, int G) {
    /* dinp [N, C, HW] +=, dgamma, dbeta [C] +=; dout, inp [N, C, HW]; mean, rstd [N, G] */
    int par = (size_t)N * C * HW > PAR_MIN;
#pragma omp parallel for schedule(static) if (par)
    for (int ch = 0; ch < C; ch++) gn_bwd_channel(dgamma, dbeta, dout, inp, mean, rstd, ch, N, C, HW, G);
#pragma omp parallel for schedule(static) if (par)
    for (int ng = 0; ng < N * G; ng++) gn_bwd_group(dinp, dout, inp, mean, rstd, gamma, ng, C, HW, G);
}

/* ------------------------------------------------------------------ resampling */
void upsample2x_forward(float *out, const float *inp, int N, int C, int H, int W) {
    /* out [N, C, 2H, 2W], inp [N, C, H, W] */
    int W2 = 2 * W;
#pragma omp parallel for schedule(static) if ((size_t)N * C * H * W > PAR_MIN)
    for (int p = 0; p < N * C; p++) {
        const float *x = inp + (size_t)p * H * W;
        float *o = out + (size_t)p * 4 * H * W;
        for (int y = 0; y < H; y++) {
            float *r0 = o + (size_t)(2 * y) * W2, *r1 = r0 + W2;
            for (int xx = 0; xx < W; xx++) {
                float v = x[(size_t)y * W + xx];
                r0[2 * xx] = r0[2 * xx + 1] = v;
            }
            memcpy(r1, r0, sizeof(float) * (size_t)W2);
        }
    }
}

void upsample2x_backward(float *dinp, const float *dout, int N, int C, int H, int W) {
    /* dinp [N, C, H, W] +=, dout [N, C, 2H, 2W] */
    int W2 = 2 * W;
#pragma omp parallel for schedule(static) if ((size_t)N * C * H * W > PAR_MIN)
    for (int p = 0; p < N * C; p++) {
        float *dx = dinp + (size_t)p * H * W;
        const float *d = dout + (size_t)p * 4 * H * W;
        for (int y = 0; y < H; y++) {
            const float *r0 = d + (size_t)(2 * y) * W2, *r1 = r0 + W2;
            for (int xx = 0; xx < W; xx++)
                dx[(size_t)y * W + xx] += (r0[2 * xx] + r0[2 * xx + 1]) + (r1[2 * xx] + r1[2 * xx + 1]);
        }
    }
}

void avgpool2x_forward(float *out, const float *inp, int N, int C, int H, int W) {
    /* out [N, C, H/2, W/2], inp [N, C, H, W] */
    int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for schedule(static) if ((size_t)N * C * H * W > PAR_MIN)
    for (int p = 0; p < N * C; p++) {
        const float *x = inp + (size_t)p * H * W;
        float *o = out + (size_t)p * Ho * Wo;
        for (int y = 0; y < Ho; y++) {
            const float *r0 = x + (size_t)(2 * y) * W, *r1 = r0 + W;
            for (int xx = 0; xx < Wo; xx++)
                o[(size_t)y * Wo + xx] =
                    0.25f * ((r0[2 * xx] + r0[2 * xx + 1]) + (r1[2 * xx] + r1[2 * xx + 1]));
        }
    }
}

void avgpool2x_backward(float *dinp, const float *dout, int N, int C, int H, int W) {
    /* dinp [N, C, H, W] +=, dout [N, C, H/2, W/2] */
    int Ho = H / 2, Wo = W / 2;
#pragma omp parallel for schedule(static) if ((size_t)N * C * H * W > PAR_MIN)
    for (int p = 0; p < N * C; p++) {
        float *dx = dinp + (size_t)p * H * W;
        const float *d = dout + (size_t)p * Ho * Wo;
        for (int y = 0; y < Ho; y++) {
            float *r0 = dx + (size_t)(2 * y) * W, *r1 = r0 + W;
            for (int xx = 0; xx < Wo; xx++) {
                float g = 0.25f * d[(size_t)y * Wo + xx];
                r0[2 * xx] += g, r0[2 * xx + 1] += g, r1[2 * xx] += g, r1[2 * xx + 1] += g;
            }
        }
    }
}

/* ------------------------------------------------------------------ FiLM */
void film_forward(float *out, const float *inp, const float *ss, int N, int C, int HW) {
    /* out, inp [N, C, HW] (may alias), ss [N, 2C] = scale | shift */
#pragma omp parallel for schedule(static) if ((size_t)N * C * HW > PAR_MIN)
    for (int p = 0; p < N * C; p++) {
        int n = p / C, c = p % C;
        float a = 1.0f + ss[(size_t)n * 2 * C + c], sh = ss[(size_t)n * 2 * C + C + c];
        const float *x = inp + (size_t)p * HW;
        float *o = out + (size_t)p * HW;
        for (int i = 0; i < HW; i++) o[i] = x[i] * a + sh;
    }
}

void film_backward(float *dinp, float *dss, const float *dout, const float *inp,
                   const float *ss, int N, int C, int HW) {
    /* dinp [N, C, HW] += (or NULL), dss [N, 2C] +=; dout, inp [N, C, HW]; ss [N, 2C] */
#pragma omp parallel for schedule(static) if ((size_t)N * C * HW > PAR_MIN)
    for (int p = 0; p < N * C; p++) {
        int n = p / C, c = p % C;
        float a = 1.0f + ss[(size_t)n * 2 * C + c];
        const float *x = inp + (size_t)p * HW, *d = dout + (size_t)p * HW;
        float sa = 0, sb = 0;
        for (int i = 0; i < HW; i++) {
            sa += d[i] * x[i];
            sb += d[i];
        }
        dss[(size_t)n * 2 * C + c] += sa;
        dss[(size_t)n * 2 * C + C + c] += sb;
        if (dinp) {
            float *dx = dinp + (size_t)p * HW;
            for (int i = 0; i < HW; i++) dx[i] += d[i] * a;
        }
    }
}

/* ------------------------------------------------------------------ self-attention */
size_t attention_workspace(int N, int HW, int nh, int nthreads) {
    int T = nthreads < 1 ? 1 : nthreads;
    if (T > N * nh) T = N * nh;
    return (size_t)T * HW * HW;
}

static void softmax_rows(float *a, int rows, int cols) {
    for (int i = 0; i < rows; i++) {
        float *r = a + (size_t)i * cols, mx = r[0];
        for (int j = 1; j < cols; j++) mx = r[j] > mx ? r[j] : mx;
        float s = 0;
        for (int j = 0; j < cols; j++) s += (r[j] = expf(r[j] - mx));
        float inv = 1.0f / s;
        for (int j = 0; j < cols; j++) r[j] *= inv;
    }
}

void attention_forward(float *out, float *att, const float *qkv, int N, int C, int HW, int nh) {
    /* out [N, C, HW], att [N, nh, HW, HW], qkv [N, 3C, HW] */
    MCR_ASSERT(nh >= 1 && C % nh == 0);
    int d = C / nh;
    float scale = 1.0f / sqrtf((float)d);
    size_t hw2 = (size_t)HW * HW;
    int T = omp_get_max_threads();
    if (T > N * nh) T = N * nh;
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (int nhi = 0; nhi < N * nh; nhi++) {
        int n = nhi / nh, h = nhi % nh;
        const float *Q = qkv + ((size_t)n * 3 * C + (size_t)h * d) * HW;
        const float *K = Q + (size_t)C * HW, *V = Q + (size_t)2 * C * HW;
        float *A = att + (size_t)nhi * hw2;
        float *Y = out + ((size_t)n * C + (size_t)h * d) * HW;
        /* A [HW, HW] = scale Q^T K, then row softmax (row max subtracted) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, HW, HW, d, scale, Q, HW, K, HW,
                    0.0f, A, HW);
        softmax_rows(A, HW, HW);
        /* Y [d, HW] = V [d, HW] @ A^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, HW, HW, 1.0f, V, HW, A, HW, 0.0f,
                    Y, HW);
    }
}

/* head nhi = n*nh + h of attention_backward, with dP [HW, HW] this thread's scratch */
static void attention_backward_one(float *dqkv, const float *dout, const float *qkv,
                                   const float *att, float *dP, int nhi, int C, int HW, int nh) {
    int d = C / nh, n = nhi / nh, h = nhi % nh;
    float scale = 1.0f / sqrtf((float)d);
    size_t hw2 = (size_t)HW * HW;
    size_t qo = ((size_t)n * 3 * C + (size_t)h * d) * HW;
    const float *Q = qkv + qo, *K = Q + (size_t)C * HW, *V = Q + (size_t)2 * C * HW;
    float *dQ = dqkv + qo, *dK = dQ + (size_t)C * HW, *dV = dQ + (size_t)2 * C * HW;
    const float *P = att + (size_t)nhi * hw2;
    const float *dY = dout + ((size_t)n * C + (size_t)h * d) * HW;
    /* dP [HW, HW] = dY^T V;  dV [d, HW] += dY @ P */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, HW, HW, d, 1.0f, dY, HW, V, HW, 0.0f, dP,
                HW);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, HW, HW, 1.0f, dY, HW, P, HW, 1.0f, dV,
                HW);
    /* through the softmax: dS = P (dP - rowsum(P dP)), in place */
    for (int i = 0; i < HW; i++) {
        float *g = dP + (size_t)i * HW;
        const float *p = P + (size_t)i * HW;
        float s = 0;
        for (int j = 0; j < HW; j++) s += p[j] * g[j];
        for (int j = 0; j < HW; j++) g[j] = p[j] * (g[j] - s);
    }
    /* S = scale Q^T K:  dQ [d, HW] += scale K dS^T;  dK [d, HW] += scale Q dS */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, HW, HW, scale, K, HW, dP, HW, 1.0f, dQ,
                HW);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, HW, HW, scale, Q, HW, dP, HW, 1.0f, dK,
                HW);
}

void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                        float *ws, size_t wsn, int N, int C, int HW, int nh) {
    /* dqkv [N, 3C, HW] +=; dout [N, C, HW]; qkv [N, 3C, HW]; att [N, nh, HW, HW];
     * ws [wsn] (attention_workspace) */
    size_t hw2 = (size_t)HW * HW;
    int T = fit_threads(wsn, 0, hw2, N * nh);
    if (T == 1) {
#pragma omp parallel num_threads(2) if (keep_blas_serial(N * nh))
#pragma omp single
        for (int i = 0; i < N * nh; i++) attention_backward_one(dqkv, dout, qkv, att, ws, i, C, HW, nh);
        return;
    }
#pragma omp parallel num_threads(T)
    {
        float *dP = ws + (size_t)omp_get_thread_num() * hw2;
#pragma omp for schedule(static)
        for (int i = 0; i < N * nh; i++) attention_backward_one(dqkv, dout, qkv, att, dP, i, C, HW, nh);
    }
}
