/* nn.h — neural kernels and the TabDDPM-style denoiser (MLPDiffusion), llm.c style.
 *
 * Each layer is a pair of plain functions: <layer>_forward(out, inp, weights, sizes) and
 * <layer>_backward(dinp, dweights, dout, inp, weights, sizes); backward ACCUMULATES into its
 * gradient outputs. Weights are PyTorch-shaped: a Linear's w is [OC, C] (row-major), so
 * out = inp @ w^T + b. Matrix products go through CBLAS (OpenBLAS), or oneDNN in bf16 for the
 * hidden and output layers of a net with use_bf16 (bf16.c). Element-wise loops are
 * OpenMP-parallel with static schedules, so results are identical for a given thread count.
 *
 * The denoiser, for a batch of B rows of width d, time steps t and condition indices y
 * (y == ncond is the learned "null" condition of classifier-free guidance):
 *   te  = sinusoid(t)                  [U, dt]  (dt/2 cosines then dt/2 sines, period 10000)
 *   ta  = silu(te @ Wt1^T + bt1)       [U, dt]
 *   tm  = ta @ Wt2^T + bt2             [U, dt]
 *   ls  = silu(E)                      [ncond+1, dt]
 *   h0  = x @ Win^T + bin + tm[u(r)] + ls[y(r)]   [B, dt]
 * The time MLP runs on the U distinct time steps of the batch only (U = 1 when sampling) and
 * the label SiLU once per embedding row; the backward pass scatter-adds their gradients in
 * row order, so results stay deterministic.
 *   h_l = act(h_{l-1} @ W_l^T + b_l)   [B, w_l] (dropout during training)
 *   out = h_L @ Wout^T + bout          [B, d]   (the predicted noise)
 * Parameters, gradients, Adam moments and the EMA copy are one float array each, laid out
 * by mcr_net_layout (cf. llm.c's malloc_and_point_parameters).
 */
#ifndef MCR_NN_H
#define MCR_NN_H
#include "core/core.h"

/* ---- kernels ---------------------------------------------------------------------------- */
void linear_forward(float *out, const float *inp, const float *w, const float *b, int B, int C,
                    int OC);
void linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                     const float *w, int B, int C, int OC);
void relu_forward(float *out, const float *inp, size_t n);
void relu_backward(float *dinp, const float *dout, const float *inp, size_t n);
/* e^x in float, vectorisable (the SiLU's; relative error < 2e-7 on [-87, 88], clamped outside) */
float mcr_exp_fast(float x);
void silu_forward(float *out, const float *inp, size_t n);
void silu_backward(float *dinp, const float *dout, const float *inp, size_t n);
/* out[b] = table[idx[b]]  (table [V, C]) */
void embedding_forward(float *out, const int *idx, const float *table, int B, int C);
void embedding_backward(float *dtable, const float *dout, const int *idx, int B, int C);
/* dropout with keep-mask: out = inp * mask / (1-p); mask drawn from rng streams per chunk */
void dropout_forward(float *out, uint8_t *mask, const float *inp, size_t n, float p,
                     uint64_t seed, uint64_t stream);
/* mean squared error over n values; writes d(loss)/d(pred) into dpred (if not NULL) */
double mse_forward_backward(float *dpred, const float *pred, const float *target, size_t n);
/* sinusoidal timestep embedding of integer t: [cos(t f_k), sin(t f_k)], f_k = 10000^(-k/half) */
void timestep_embedding(float *out, const int *t, int B, int dt);

/* ---- the denoiser --------------------------------------------------------------------- */
typedef struct mcr_net {
    int d, dt, ncond, nl, act;
    int widths[MCR_MAX_LAYERS];
    float dropout;
    size_t nparams;
    /* offsets of each tensor in the parameter array */
    size_t wt1, bt1, wt2, bt2, emb, win, bin, w[MCR_MAX_LAYERS + 1], b[MCR_MAX_LAYERS + 1];
    /* activations, sized for maxB rows */
    int maxB;
    float *mem;                    /* one allocation holding everything below */
    float *te, *tz, *ta, *tm;      /* [U, dt] each: sinusoid, pre-silu, silu, time embedding */
    float *ls;                     /* [ncond+1, dt] silu of the label embedding table */
    float *dtm, *dls;              /* [U, dt], [ncond+1, dt] gradients of the above */
    int *ut, *uidx, *order;        /* distinct time steps [U], row -> distinct index [B], scratch */
    int U;
    float *z[MCR_MAX_LAYERS + 1];  /* pre-activations; z[0] = h0 [B, dt]; z[nl+1]... */
    float *h[MCR_MAX_LAYERS + 1];  /* post-activation (after dropout) [B, w_l]; h[0] = z[0] */
    uint8_t *mask[MCR_MAX_LAYERS + 1];
    float *out;                    /* [B, d] */
    float *g1, *g2;                /* backward scratch [B, max width] */
    uint8_t *maskmem;
    /* bf16 products (set use_bf16 before mcr_net_alloc; see "bf16 matrix products" below):
     * the hidden and output layers multiply in bf16, the input layer and time MLP in fp32 */
    int use_bf16;
    struct mcr_bf16 *bf;           /* oneDNN engine, stream and primitive cache */
    uint16_t *bfmem;               /* one allocation holding the three below */
    uint16_t *wb;                  /* [nparams] bf16 weights (only w[0..nl] filled) */
    uint16_t *hb[MCR_MAX_LAYERS + 1]; /* bf16 copies of the layers' inputs h[l] [B, w_l] */
    uint16_t *gb;                  /* [B, max width] bf16 copy of the gradient being propagated */
    const float *wsrc;             /* the parameter array wb was converted from */
    float *temb;                   /* [TEMB_ROWS, dt] memo of timestep_embedding rows ... */
    uint8_t *temb_done;            /* [TEMB_ROWS] ... and which are filled */
} mcr_net;
#define TEMB_ROWS 1024             /* steps t < this are memoised (the default T is 1000) */

/* Fill the layout (sizes, offsets, nparams); no allocation. */
void mcr_net_layout(mcr_net *n, int d, int dt, int ncond, const int *widths, int nl, int act,
                    float dropout);
/* PyTorch-style initialisation: Linear U(-1/sqrt(fan_in), 1/sqrt(fan_in)), embedding N(0,1). */
void mcr_net_init_params(const mcr_net *n, float *p, uint64_t seed);
int mcr_net_alloc(mcr_net *n, int maxB);
void mcr_net_free(mcr_net *n);
/* Forward for B <= maxB rows; result in n->out. train != 0 applies dropout (seed, stream). */
void mcr_net_forward(mcr_net *n, const float *p, const float *x, const int *t, const int *y,
                     int B, int train, uint64_t seed, uint64_t stream);
/* Backward of the last forward given dout [B, d]; accumulates into g (same layout as p). */
void mcr_net_backward(mcr_net *n, const float *p, float *g, const float *dout, const float *x,
                      const int *y, int B);

/* The denoiser's fused kernels, exposed for their naive twins in tests/nn/test_twins.c.
 * Distinct time steps of t[B]: n->ut[0..n->U) ascending, n->uidx[r] = position of t[r]. */
void unique_times(mcr_net *n, const int *t, int B);
/* z [B, w] += b [w]; h [B, w] = act(z)  (act: MCR_ACT_RELU or MCR_ACT_SILU) */
void bias_act_forward(int act, float *h, float *z, const float *b, int B, int w);
/* dz [cnt] = dh * act'(z) (* mask / (1 - n->dropout) when mask != NULL); written, not
 * accumulated */
void act_backward_set(const mcr_net *n, float *dz, const float *dh, const float *z,
                      const uint8_t *mask, size_t cnt);
/* dinp [B, C] = dout [B, OC] @ w [OC, C]  (written, not accumulated) */
void matmul_dinp(float *dinp, const float *dout, const float *w, int B, int C, int OC);

/* ---- bf16 matrix products (bf16.c) ------------------------------------------------------
 * Through oneDNN's matmul: bf16 inputs (round to nearest even), f32 accumulation and f32
 * output; primitives created once per shape and cached in the context. Used only where the
 * CPU multiplies bf16 natively (AVX512-BF16 or AMX); fp32 master weights, Adam state and
 * everything element-wise stay fp32. A net with use_bf16 converts its weights at every
 * training forward (once per optimiser step) and at an inference forward whose p differs
 * from the last one (set n->wsrc = NULL after changing p in place between two). */
typedef struct mcr_bf16 mcr_bf16;
int mcr_bf16_supported(void);      /* 1 on AVX512-BF16 / AMX (MCRAGE_BF16=0 in the env: 0) */
/* MCR_PRECISION_* -> use bf16 or not; bf16 on a CPU without it is an error */
int mcr_bf16_resolve(int precision, int *use_bf16);
const char *mcr_precision_name(int precision); /* "fp32", "bf16", "auto" */
int mcr_bf16_new(mcr_bf16 **out);
void mcr_bf16_free(mcr_bf16 *x);
int mcr_bf16_nprims(const mcr_bf16 *x); /* primitives in the cache */
void f32_to_bf16(uint16_t *out, const float *inp, size_t n);
void bf16_to_f32(float *out, const uint16_t *inp, size_t n);
/* C [M, N] (+)= A [M, K] @ B [K, N]; A stored [K, M] when ta, B stored [N, K] when tb;
 * acc: accumulate into C, else overwrite. Returns MCR_OK or an error (oneDNN refused). */
int bf16_matmul(mcr_bf16 *x, int ta, int tb, int M, int N, int K, const uint16_t *A,
                const uint16_t *B, float *C, int acc);
/* out [B, OC] = inp [B, C] @ w [OC, C]^T (+ b): inp, w in bf16 */
int linear_forward_bf16(mcr_bf16 *x, float *out, const uint16_t *inp, const uint16_t *w,
                        const float *b, int B, int C, int OC);
/* dinp [B, C] = doutb @ w (written, if dinp); dw [OC, C] += doutb^T @ inp; db [OC] += column
 * sums of dout [B, OC] (f32). doutb is dout in bf16. */
int linear_backward_bf16(mcr_bf16 *x, float *dinp, float *dw, float *db, const float *dout,
                         const uint16_t *doutb, const uint16_t *inp, const uint16_t *w, int B,
                         int C, int OC);
/* db [OC] += column sums of dout [B, OC], each column in row order (deterministic) */
void bias_grad(float *db, const float *dout, int B, int OC);

/* ---- optimiser and training loop state (train.c) ----------------------------------------
 * A training step is two halves: the model computes its gradient into opt.g (forward, loss,
 * backward: model-specific), then mcr_optim_apply updates the flat parameter block (generic;
 * an MPI allreduce of g fits between the two). */
typedef struct mcr_adamw {
    float lr, beta1, beta2, eps, weight_decay;
    long t;
} mcr_adamw;
void adamw_update(mcr_adamw *o, float *p, const float *g, float *m, float *v, size_t n, float lr);
void ema_update(float *ema, const float *p, size_t n, float decay);
/* global gradient norm (deterministic chunked sum) */
double grad_norm(const float *g, size_t n);
void scale_inplace(float *g, size_t n, float s);

typedef struct mcr_optim {
    size_t n;                       /* parameters */
    float *p, *g, *m, *v, *ema;     /* [n] each, one allocation: weights, gradient, Adam moments,
                                       EMA weights */
    mcr_adamw adam;                 /* betas, eps, weight decay; t = updates done */
    float lr;                       /* peak learning rate */
    int warmup, steps;              /* linear warm-up over `warmup` steps, then linear decay to 0
                                       at `steps` (TabDDPM) */
    float grad_clip;                /* clip the global gradient norm at this (0 = off) */
    float ema_decay;                /* EMA decay, warmed up as min(decay, (1+s)/(10+s)) */
} mcr_optim;
/* Arrays zeroed; AdamW betas 0.9, 0.999, eps 1e-8; the caller sets the rest. */
int mcr_optim_init(mcr_optim *o, size_t n);
void mcr_optim_free(mcr_optim *o);
double mcr_optim_lr(const mcr_optim *o, int step); /* the schedule at step (0-based) */
/* Step `step` (0-based) with the gradient in o->g: clip, AdamW at the scheduled rate, EMA. */
void mcr_optim_apply(mcr_optim *o, int step);

/* Everything a training loop carries from one step to the next, and a checkpoint holds. */
typedef struct mcr_train_state {
    mcr_optim opt;              /* weights, moments, EMA, update count, settings */
    int step;                   /* steps done */
    mcr_rng rng;                /* the loop's draws: epoch order and whatever the model adds */
    size_t n, pos;              /* epoch order over n examples: perm[pos..n) left this epoch */
    size_t *perm;               /* [n] */
    double acc, window;         /* loss sums: since the last report, in the loss-curve window */
    int nacc, nwin;
    uint32_t data_crc, cfg_crc; /* fingerprints of the data and settings it was started with */
} mcr_train_state;
/* Zeroed optimiser for nparams, identity order over n examples, rng = stream of seed. */
int mcr_train_init(mcr_train_state *s, size_t nparams, size_t n, uint64_t seed, uint64_t stream);
void mcr_train_free(mcr_train_state *s);
/* The next example of the epoch order (reshuffled with s->rng when an epoch ends). */
size_t mcr_train_next(mcr_train_state *s);
/* Continue src in dst (same n and nparams; optimiser settings are dst's own). */
void mcr_train_copy(mcr_train_state *dst, const mcr_train_state *src);
/* File sections: the trainer state (all of it but the EMA, which is the model's weights) ... */
void mcr_train_put(mcr_wbuf *w, const mcr_train_state *s);
int mcr_train_get(mcr_rbuf *r, size_t nparams, const char *path, mcr_train_state *s);
/* ... and a parameter block: u64 count, floats (refused unless count == n and all finite). */
void mcr_params_put(mcr_wbuf *w, const float *p, size_t n);
int mcr_params_get(mcr_rbuf *r, size_t n, const char *path, float **out);
/* ---- image kernels (conv.c): NCHW float32, llm.c style -----------------------------------
 * Tensors are [N, C, H, W] row-major (W fastest). Every backward ACCUMULATES into its
 * gradient outputs (dinp, dw, db, ...); pass NULL for a gradient that is not wanted where the
 * comment says so. Kernels never allocate: scratch comes from a caller-provided workspace
 * `ws` of `wsn` floats, sized by the matching *_workspace function. OpenMP runs over the
 * batch; a kernel uses min(omp_get_max_threads(), threads the workspace holds) threads, and
 * every result is independent of that number (work grouped by shape, reductions over the
 * batch done in fixed chunks summed in chunk order), so 1 and 2 threads give identical bits
 * for N >= 2 (one image: sgemm on the BLAS threads, deterministic for a thread count).
 * SiLU on NCHW is nn.h's silu_forward/silu_backward over N*C*H*W values. */
#define CONV_DW_CHUNKS 8 /* fixed batch chunks of the dw/db reduction (thread-count independent) */

/* Output size of a k x k convolution with stride s and zero padding p: (H + 2p - k)/s + 1. */
static inline int conv_out_size(int H, int k, int s, int p) { return (H + 2 * p - k) / s + 1; }
/* Floats of workspace conv2d_forward/backward need to run `nthreads` threads on N images
 * (forward needs only the im2col columns; the same size serves both). */
size_t conv2d_workspace(int N, int C, int H, int W, int OC, int k, int stride, int pad,
                        int nthreads);
/* out [N, OC, Ho, Wo] = conv(inp [N, C, H, W], w [OC, C, k, k]) + b [OC] (b may be NULL);
 * im2col + cblas_sgemm per image (1x1 stride-1 pad-0 convolutions skip im2col). */
void conv2d_forward(float *out, const float *inp, const float *w, const float *b, float *ws,
                    size_t wsn, int N, int C, int H, int W, int OC, int k, int stride, int pad);
/* dinp [N, C, H, W] += (may be NULL), dw [OC, C, k, k] +=, db [OC] += (may be NULL), from
 * dout [N, OC, Ho, Wo]; im2col is recomputed from inp (not cached). */
void conv2d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                     const float *w, float *ws, size_t wsn, int N, int C, int H, int W, int OC,
                     int k, int stride, int pad);
/* The naive direct twins (reference; one thread, double accumulators). */
void conv2d_forward_naive(float *out, const float *inp, const float *w, const float *b, int N,
                          int C, int H, int W, int OC, int k, int stride, int pad);
void conv2d_backward_naive(float *dinp, float *dw, float *db, const float *dout,
                           const float *inp, const float *w, int N, int C, int H, int W, int OC,
                           int k, int stride, int pad);
/* oneDNN convolutions (dconv.c): the same interface and results (to rounding) as
 * conv2d_forward/backward, through oneDNN's direct convolution primitives (layouts of oneDNN's
 * choosing, reorders from and to the caller's NCHW/OIHW f32 on every call), created once per
 * shape and cached in a context. bf16 contexts round src, weights and dout to bf16 (nearest
 * even) and accumulate in f32; every result is f32. Deterministic for a given thread count
 * (not across thread counts). No workspace: the context owns its scratch. Errors: MCR_EINVAL
 * with a message (oneDNN refused the shape), MCR_ENOMEM. */
typedef struct mcr_dconv mcr_dconv;
int mcr_dconv_new(mcr_dconv **out, int bf16); /* bf16 without CPU support: MCR_EINVAL */
void mcr_dconv_free(mcr_dconv *x);
int mcr_dconv_nprims(const mcr_dconv *x);     /* shapes in the cache */
int mcr_dconv_is_bf16(const mcr_dconv *x);
int conv2d_forward_dnnl(mcr_dconv *x, float *out, const float *inp, const float *w, const float *b,
                        int N, int C, int H, int W, int OC, int k, int stride, int pad);
/* The same, keeping the forward's input in the primitive's layout (where it is NHWC) in *keep
 * for the backward of the same shape to read instead of converting inp again: the backward must
 * get the same inp as the last forward with that keep (the UNet's case). keep may be NULL;
 * mcr_dconv_keep_free releases it. */
typedef struct mcr_dconv_keep {
    void *p;
    size_t cap;
    int key[8], valid;
} mcr_dconv_keep;
void mcr_dconv_keep_free(mcr_dconv_keep *k);
int conv2d_forward_dnnl_keep(mcr_dconv *x, mcr_dconv_keep *keep, float *out, const float *inp,
                             const float *w, const float *b, int N, int C, int H, int W, int OC,
                             int k, int stride, int pad);
int conv2d_backward_dnnl_keep(mcr_dconv *x, mcr_dconv_keep *keep, float *dinp, float *dw, float *db,
                              const float *dout, const float *inp, const float *w, int N, int C,
                              int H, int W, int OC, int k, int stride, int pad);
/* dinp += (may be NULL), dw +=, db += (may be NULL), as conv2d_backward */
int conv2d_backward_dnnl(mcr_dconv *x, float *dinp, float *dw, float *db, const float *dout,
                         const float *inp, const float *w, int N, int C, int H, int W, int OC,
                         int k, int stride, int pad);
/* im2col of one image: col [C*k*k, Ho*Wo] from img [C, H, W]; col2im ACCUMULATES col into
 * img. Row r = (c*k + ki)*k + kj, column oy*Wo + ox reads img[c, oy*s-p+ki, ox*s-p+kj]. */
void im2col(float *col, const float *img, int C, int H, int W, int k, int stride, int pad);
void col2im(float *img, const float *col, int C, int H, int W, int k, int stride, int pad);

/* Group normalisation, G groups of C/G channels (C % G == 0), eps 1e-5:
 * out [N, C, H, W] = (inp - mean[n,g]) * rstd[n,g] * gamma[c] + beta[c];
 * mean, rstd [N, G] are written (the cache for backward). */
void groupnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                       const float *gamma, const float *beta, int N, int C, int HW, int G);
/* dinp [N, C, H, W] +=, dgamma [C] +=, dbeta [C] += (dgamma/dbeta summed over n in order) */
void groupnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                        const float *inp, const float *mean, const float *rstd,
                        const float *gamma, int N, int C, int HW, int G);

/* Nearest 2x upsampling: out [N, C, 2H, 2W], out[.., y, x] = inp[.., y/2, x/2]. */
void upsample2x_forward(float *out, const float *inp, int N, int C, int H, int W);
/* dinp [N, C, H, W] += sum of the 4 copies' gradients in dout [N, C, 2H, 2W] */
void upsample2x_backward(float *dinp, const float *dout, int N, int C, int H, int W);
/* 2x average pooling: out [N, C, H/2, W/2] (floor; an odd last row/column is dropped) */
void avgpool2x_forward(float *out, const float *inp, int N, int C, int H, int W);
/* dinp [N, C, H, W] += dout [N, C, H/2, W/2] / 4 on each of the 4 inputs */
void avgpool2x_backward(float *dinp, const float *dout, int N, int C, int H, int W);

/* FiLM from a conditioning vector: ss [N, 2C] = (scale [N, C], shift [N, C]) per image;
 * out [N, C, HW] = inp * (1 + scale[n,c]) + shift[n,c]. out may alias inp. */
void film_forward(float *out, const float *inp, const float *ss, int N, int C, int HW);
/* dinp [N, C, HW] += (may be NULL), dss [N, 2C] +=; needs the forward's inp */
void film_backward(float *dinp, float *dss, const float *dout, const float *inp,
                   const float *ss, int N, int C, int HW);

/* Multi-head self-attention over the HW positions. qkv [N, 3C, HW] is the output of a 1x1
 * convolution C -> 3C (channels q | k | v; head h owns channels [h*d, (h+1)*d), d = C/nh).
 * att [N, nh, HW, HW]: softmax(Q^T K / sqrt(d)) per head, row i = query position (the
 * cache); out [N, C, HW]: out[h*d + c, i] = sum_j att[i, j] V[c, j]. The output projection
 * is a 1x1 convolution after it. */
size_t attention_workspace(int N, int HW, int nh, int nthreads);
void attention_forward(float *out, float *att, const float *qkv, int N, int C, int HW, int nh);
/* dqkv [N, 3C, HW] += from dout [N, C, HW]; ws holds one [HW, HW] matrix per thread */
void attention_backward(float *dqkv, const float *dout, const float *qkv, const float *att,
                        float *ws, size_t wsn, int N, int C, int HW, int nh);
/* ---- the image denoiser: a conditional UNet (unet.c) --------------------------------------
 * For N images x [N, in_ch, H, W], time steps t [N], labels y [N] (y == nlabel: the null
 * label) and attributes a [N] (a == nattr: null):
 *   emb  = silu(te @ Wt1^T + bt1) @ Wt2^T + bt2 + Lab[y] + Att[a]   [N, E], te = sinusoid(t)
 *   semb = silu(emb)                                                  [N, E]
 *   h = conv3x3(x) -> ch channels; down path: per level nres residual blocks (then
 *   attention at the lowest level), a stride-2 3x3 conv between levels; middle: res, attn,
 *   res; up path: per level nres+1 blocks, each on concat(h, skip), then nearest 2x + conv;
 *   out = conv3x3(silu(groupnorm(h))) -> in_ch channels: the predicted noise eps.
 * Residual block (ADM's scale-shift norm), x [N, ci, HW] -> [N, co, HW]:
 *   h = conv3x3(silu(gn(x))); h = gn(h) * (1 + scale) + shift, (scale, shift) = semb @ Wp^T + bp;
 *   h = conv3x3(silu(h)); out = h + (ci == co ? x : conv1x1(x)).
 * Attention block: out = x + conv1x1(attention(conv1x1_{C->3C}(gn(x)))).
 * The network is a list of modules over a list of tensors (each with a value buffer sized for
 * maxN images, and a gradient buffer shared with others whose gradients are not live at the
 * same time), built once by mcr_unet_layout; forward runs the list, and backward runs it in
 * reverse, every kernel accumulating into its inputs' gradients, so a tensor read twice (a
 * skip) sums both. All parameters are one flat float array.
 * Use: mcr_unet_config_default + edits -> mcr_unet_layout -> mcr_unet_alloc(maxN) ->
 * mcr_optim_init(nparams) + mcr_unet_init_params(o.p); a step: zero o.g, forward on x_t,
 * the loss's gradient into dout (mse_forward_backward), mcr_unet_backward into o.g,
 * mcr_optim_apply (tests/nn/test_unet.c test_unet_fits_a_batch does exactly this).
 * Not here yet (for the image line's next steps): the training loop (q_sample noise, time
 * steps, label/attribute dropout to the null rows with probability p, null for what an image
 * lacks), the sampler and guidance (reuse diffusion/), the model file section, commands. */
#define UNET_MAX_LEVELS 6
#define UNET_MAX_MODS 400
#define UNET_MAX_TENS 400
typedef struct mcr_unet_config {
    int in_ch, H, W;              /* image channels and size; H, W divisible by 2^(nlevels-1) */
    int ch;                       /* base channels (32) */
    int nlevels;                  /* resolutions (3) */
    int mult[UNET_MAX_LEVELS];    /* channel multipliers per level (1, 2, 4 -> 32-64-128) */
    int nres;                     /* residual blocks per level on the down path (2) */
    int attn;                     /* self-attention at the lowest level and in the middle (1) */
    int nheads;                   /* attention heads (1); channels there divisible by it */
    int groups;                   /* GroupNorm groups (8); every channel count divisible by it */
    int nlabel, nattr;            /* label / attribute classes (rows nlabel, nattr are null) */
    int tdim;                     /* sinusoid width (ch); the embedding width E = 4 * ch */
} mcr_unet_config;
/* The defaults above for in_ch channels, H x W images, nlabel labels and nattr attributes. */
void mcr_unet_config_default(mcr_unet_config *c, int in_ch, int H, int W, int nlabel, int nattr);

enum { UM_CONV, UM_GN, UM_SILU, UM_PROJ, UM_FILM, UM_ADD, UM_CAT, UM_ATTN, UM_UP, UM_NTYPES };
typedef struct mcr_umod {
    int type, in0, in1, out;      /* tensor indices (in1: FILM's ss, ADD's/CAT's second) */
    int k, stride, pad;           /* UM_CONV */
    int G, nh;                    /* UM_GN groups, UM_ATTN heads */
    size_t w, b;                  /* parameter offsets (conv w/b, gn gamma/beta, proj w/b) */
    float *c0, *c1;               /* caches: GN mean, rstd [maxN, G]; ATTN att [maxN, nh, HW, HW] */
} mcr_umod;
typedef struct mcr_utensor {
    int C, H, W;
    float *v, *g;                 /* [maxN, C, H, W] value and gradient; gradients share
                                     buffers by liveness in the backward pass (see unet.c) */
    int zstep;                    /* backward step (reverse module position) zeroing g */
} mcr_utensor;
typedef struct mcr_unet {
    mcr_unet_config cfg;
    int E;                        /* embedding width */
    size_t nparams;
    size_t tw1, tb1, tw2, tb2, lab, att; /* time MLP [E, tdim], [E], [E, E], [E]; tables
                                            [nlabel+1, E], [nattr+1, E] */
    int nmods, ntens;
    mcr_umod mods[UNET_MAX_MODS];
    mcr_utensor tens[UNET_MAX_TENS];
    int t_x, t_semb, t_out;       /* the input, silu(emb) [N, E, 1, 1], the output */
    /* from mcr_unet_alloc */
    int maxN;
    float *mem;                   /* one allocation: every tensor, cache and the buffers below */
    float *ws;                    /* [wsn] conv/attention workspace */
    size_t wsn, memn;
    float *te, *tz, *ta, *emb;    /* [maxN, tdim], [maxN, E] x3: sinusoid, pre-silu, silu, emb */
    float *dta, *dtz, *demb;      /* [maxN, E] gradients */
    /* optional profile (benchmarks): when timing is set, forward and backward add each
     * module's wall seconds to tsec[type] (UM_* order); the conditioning MLP is not counted */
    int timing;
    double tsec[UM_NTYPES];
    /* the convolutions' engine (mcr_unet_set_engine): im2col + sgemm (conv.c; the default,
     * results independent of the thread count) or oneDNN (dconv.c, fp32 or bf16; results
     * deterministic for a thread count). Should oneDNN refuse a shape at run time, that
     * convolution runs on im2col and dnnl_fallbacks counts it (the results stay right). */
    int engine;                   /* MCR_UNET_IM2COL, MCR_UNET_DNNL_FP32, MCR_UNET_DNNL_BF16 */
    mcr_dconv *dc;
    mcr_dconv_keep *keep;         /* [nmods]: each convolution's input kept for its backward */
    int dnnl_fallbacks;
} mcr_unet;
enum { MCR_UNET_IM2COL, MCR_UNET_DNNL_FP32, MCR_UNET_DNNL_BF16 };
/* Pick the convolutions' engine (any time; mcr_unet_free releases it): MCR_OK, or MCR_EINVAL
 * (bf16 on a CPU without it, an unknown engine, no oneDNN engine) with the engine unchanged. */
int mcr_unet_set_engine(mcr_unet *n, int engine);
const char *mcr_unet_engine_name(int engine); /* "im2col", "dnnl-fp32", "dnnl-bf16" */
/* Build the module list and parameter layout (no allocation): MCR_OK, or MCR_EINVAL with a
 * message naming the field (sizes not divisible, channels not divisible by groups/heads, too
 * many modules). */
int mcr_unet_layout(mcr_unet *n, const mcr_unet_config *c);
/* PyTorch-style initialisation: conv/linear U(+-1/sqrt(fan_in)) for weights and biases,
 * GroupNorm gamma 1 beta 0, embedding tables N(0, 1). */
void mcr_unet_init_params(const mcr_unet *n, float *p, uint64_t seed);
/* Activations for up to maxN images, sized once; workspace for the current thread count. */
int mcr_unet_alloc(mcr_unet *n, int maxN);
void mcr_unet_free(mcr_unet *n);
size_t mcr_unet_activation_floats(const mcr_unet *n); /* floats mcr_unet_alloc holds */
/* Floating-point operations of one forward per image, counted analytically (2 per
 * multiply-add): the convolutions (*conv), the FiLM projections, attention's two products;
 * the conditioning MLP, norms and element-wise modules are left out. A training step's
 * backward costs twice the forward (input and weight gradients), so 3x for the step. */
double mcr_unet_flops(const mcr_unet *n, double *conv);
/* Forward for N <= maxN images: x [N, in_ch, H, W], t [N], y [N] in [0, nlabel],
 * a [N] in [0, nattr]; the predicted noise in n->tens[n->t_out].v [N, in_ch, H, W]. */
void mcr_unet_forward(mcr_unet *n, const float *p, const float *x, const int *t, const int *y,
                      const int *a, int N);
/* Backward of the last forward given dout [N, in_ch, H, W]: ACCUMULATES into g (layout of p);
 * the gradient for x is left in n->tens[n->t_x].g. */
void mcr_unet_backward(mcr_unet *n, const float *p, float *g, const float *dout, const int *y,
                       const int *a, int N);
#endif
