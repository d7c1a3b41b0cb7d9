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
#endif
