/* cnn.c — a small ResNet-style image classifier (mcrage.h 12c; the network in cnn.h), built
 * from the image kernels of src/nn (conv2d, groupnorm, silu, linear) plus a global average
 * pool, trained with mcr_optim (AdamW, clipping) on the softmax cross-entropy or focal loss of
 * eval's mcr_softmax_loss. Used by the quality protocol (quality.c) and meant for issue 14
 * (class weights, focal loss). Deterministic for a seed and thread count: the kernels are
 * (conv.c), the epoch order comes from MCR_STREAM_CNN_ORDER and the initial weights from
 * MCR_STREAM_CNN_INIT. */
#include "image/cnn.h"
#include "eval/eval.h"
#include "image/image.h"
#include <omp.h>

#define PREDICT_BATCH 64

void mcr_cnn_config_default(mcr_cnn_config *c) {
    memset(c, 0, sizeof *c);
    c->nstages = 3;
    c->widths[0] = 16, c->widths[1] = 32, c->widths[2] = 64;
    c->blocks = 1;
    c->groups = 8;
    c->epochs = 10;
    c->steps = 0;
    c->batch = 64;
    c->lr = 2e-3f;
    c->weight_decay = 1e-4f;
    c->grad_clip = 1.0f;
    c->seed = 1;
}

/* ------------------------------------------------------------------ global average pool */
/* out [N, C] = mean over HW of inp [N, C, HW] (double accumulator) */
static void gap_forward(float *out, const float *inp, int N, int C, int HW) {
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        const float *x = inp + nc * HW;
        double s = 0;
        for (int i = 0; i < HW; i++) s += x[i];
        out[nc] = (float)(s / HW);
    }
}
/* dinp [N, C, HW] += dout [N, C] / HW */
static void gap_backward(float *dinp, const float *dout, int N, int C, int HW) {
    for (size_t nc = 0; nc < (size_t)N * C; nc++) {
        float d = dout[nc] / (float)HW, *dx = dinp + nc * HW;
        for (int i = 0; i < HW; i++) dx[i] += d;
    }
}

/* ------------------------------------------------------------------ layout */
static int tensor(mcr_cnn *m, int C, int H, int W) {
    MCR_ASSERT(m->ntens < CNN_MAX_TENS);
    cnn_tensor *t = &m->tens[m->ntens];
    memset(t, 0, sizeof *t);
    t->C = C, t->H = H, t->W = W;
    return m->ntens++;
}
static cnn_mod *module(mcr_cnn *m, int type, int in0, int in1, int C, int H, int W) {
    MCR_ASSERT(m->nmods < CNN_MAX_MODS);
    cnn_mod *d = &m->mods[m->nmods++];
    memset(d, 0, sizeof *d);
    d->type = type, d->in0 = in0, d->in1 = in1;
    d->out = tensor(m, C, H, W);
    return d;
}
static int conv(mcr_cnn *m, int in, int OC, int stride) {
    cnn_tensor t = m->tens[in];
    int Ho = conv_out_size(t.H, 3, stride, 1), Wo = conv_out_size(t.W, 3, stride, 1);
    cnn_mod *d = module(m, CM_CONV, in, -1, OC, Ho, Wo);
    d->k = 3, d->stride = stride, d->pad = 1;
    d->w = m->nparams, m->nparams += (size_t)OC * t.C * 9;
    d->b = m->nparams, m->nparams += (size_t)OC;
    return d->out;
}
static int gn_silu(mcr_cnn *m, int in, int G) {
    cnn_tensor t = m->tens[in];
    cnn_mod *d = module(m, CM_GN, in, -1, t.C, t.H, t.W);
    d->G = G;
    d->w = m->nparams, m->nparams += (size_t)t.C;
    d->b = m->nparams, m->nparams += (size_t)t.C;
    return module(m, CM_SILU, d->out, -1, t.C, t.H, t.W)->out;
}

int cnn_layout(mcr_cnn *m, const mcr_cnn_config *c, int C, int H, int W, int K) {
    memset(m, 0, sizeof *m);
    if (c->nstages < 1 || c->nstages > MCR_CNN_MAX_STAGES)
        return mcr_err(MCR_EINVAL, "cnn: `stages` must be 1 to %d, got %d", MCR_CNN_MAX_STAGES, c->nstages);
    if (c->groups < 1) return mcr_err(MCR_EINVAL, "cnn: `groups` must be at least 1, got %d", c->groups);
    for (int s = 0; s < c->nstages; s++)
        if (c->widths[s] < 1 || c->widths[s] > 4096 || c->widths[s] % c->groups)
            return mcr_err(MCR_EINVAL, "cnn: `widths` must be 1 to 4096 and divisible by groups (%d), got %d",
                           c->groups, c->widths[s]);
    if (c->blocks < 0 || c->blocks > 16)
        return mcr_err(MCR_EINVAL, "cnn: `blocks` must be 0 to 16, got %d", c->blocks);
    if (C < 1 || H < 1 || W < 1 || C > 64 || H > 4096 || W > 4096)
        return mcr_err(MCR_EINVAL, "cnn: images of %d x %d x %d channels are not supported", H, W, C);
    if (K < 2 || K > 65536) return mcr_err(MCR_EINVAL, "cnn: need 2 to 65536 classes, got %d", K);
    if (c->nstages * (7 * c->blocks + 3) + 8 > CNN_MAX_MODS)
        return mcr_err(MCR_EINVAL, "cnn: too many modules (`stages` x `blocks`)");
    m->cfg = *c;
    m->cfg.class_weights = NULL;
    m->C = C, m->H = H, m->W = W, m->K = K;
    int G = c->groups;
    int t = tensor(m, C, H, W);
    t = conv(m, t, c->widths[0], 1); /* stem */
    for (int s = 0; s < c->nstages; s++) {
        if (s > 0) t = conv(m, gn_silu(m, t, G), c->widths[s], 2);
        for (int b = 0; b < c->blocks; b++) {
            int h = conv(m, gn_silu(m, t, G), c->widths[s], 1);
            h = conv(m, gn_silu(m, h, G), c->widths[s], 1);
            cnn_tensor tt = m->tens[t];
            t = module(m, CM_ADD, t, h, tt.C, tt.H, tt.W)->out;
        }
    }
    t = gn_silu(m, t, G);
    int Cl = m->tens[t].C;
    t = module(m, CM_POOL, t, -1, Cl, 1, 1)->out;
    cnn_mod *lin = module(m, CM_LINEAR, t, -1, K, 1, 1);
    lin->w = m->nparams, m->nparams += (size_t)K * Cl;
    lin->b = m->nparams, m->nparams += (size_t)K;
    m->t_out = lin->out;
    return MCR_OK;
}

static size_t tsize(const cnn_tensor *t) { return (size_t)t->C * t->H * t->W; }

int cnn_alloc(mcr_cnn *m, int maxN) {
    MCR_ASSERT(maxN >= 1 && !m->mem);
    size_t N = (size_t)maxN, tot = 0, ws = 0;
    int T = omp_get_max_threads();
    for (int i = 0; i < m->ntens; i++) tot += 2 * N * tsize(&m->tens[i]);
    for (int i = 0; i < m->nmods; i++) {
        const cnn_mod *d = &m->mods[i];
        const cnn_tensor *in = &m->tens[d->in0], *out = &m->tens[d->out];
        if (d->type == CM_GN) tot += 2 * N * (size_t)d->G;
        if (d->type == CM_CONV) {
            size_t w = conv2d_workspace(maxN, in->C, in->H, in->W, out->C, d->k, d->stride, d->pad, T);
            if (w > ws) ws = w;
        }
    }
    float *q = m->mem = mcr_malloc_big((tot + ws) * sizeof(float));
    if (!q) return MCR_NOMEM();
    m->maxN = maxN;
    for (int i = 0; i < m->ntens; i++) {
        size_t sz = N * tsize(&m->tens[i]);
        m->tens[i].v = q, q += sz;
        m->tens[i].g = q, q += sz;
    }
    for (int i = 0; i < m->nmods; i++)
        if (m->mods[i].type == CM_GN) {
            m->mods[i].mean = q, q += N * (size_t)m->mods[i].G;
            m->mods[i].rstd = q, q += N * (size_t)m->mods[i].G;
        }
    m->ws = q, m->wsn = ws;
    return MCR_OK;
}

void cnn_release(mcr_cnn *m) {
    free(m->mem);
    m->mem = m->ws = NULL;
    m->maxN = 0;
}

static void uniform(float *p, size_t n, float bound, mcr_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = (float)((2 * mcr_rng_uniform(r) - 1) * bound);
}

void cnn_init_params(const mcr_cnn *m, float *p, uint64_t seed) {
    mcr_rng r;
    mcr_rng_seed(&r, seed, MCR_STREAM_CNN_INIT);
    for (int i = 0; i < m->nmods; i++) {
        const cnn_mod *d = &m->mods[i];
        const cnn_tensor *in = &m->tens[d->in0], *out = &m->tens[d->out];
        if (d->type == CM_CONV || d->type == CM_LINEAR) {
            size_t fan = (size_t)in->C * d->k * d->k;
            if (d->type == CM_LINEAR) fan = (size_t)in->C;
            float bound = 1.0f / sqrtf((float)fan);
            uniform(p + d->w, (size_t)out->C * fan, bound, &r);
            uniform(p + d->b, (size_t)out->C, bound, &r);
        } else if (d->type == CM_GN) {
            for (int k = 0; k < in->C; k++) p[d->w + k] = 1.0f, p[d->b + k] = 0.0f;
        }
    }
}

/* ------------------------------------------------------------------ forward / backward */
void cnn_forward(mcr_cnn *m, const float *p, const float *x, int N) {
    MCR_ASSERT(N >= 1 && N <= m->maxN);
    memcpy(m->tens[0].v, x, (size_t)N * tsize(&m->tens[0]) * sizeof(float));
    for (int i = 0; i < m->nmods; i++) {
        const cnn_mod *d = &m->mods[i];
        cnn_tensor *in = &m->tens[d->in0], *out = &m->tens[d->out];
        int HW = in->H * in->W;
        size_t cnt = (size_t)N * tsize(in);
        switch (d->type) {
        case CM_CONV:
            conv2d_forward(out->v, in->v, p + d->w, p + d->b, m->ws, m->wsn, N, in->C, in->H, in->W, out->C,
                           d->k, d->stride, d->pad);
            break;
        case CM_GN:
            groupnorm_forward(out->v, d->mean, d->rstd, in->v, p + d->w, p + d->b, N, in->C, HW, d->G);
            break;
        case CM_SILU: silu_forward(out->v, in->v, cnt); break;
        case CM_ADD: {
            const float *u = in->v, *w = m->tens[d->in1].v;
            for (size_t j = 0; j < cnt; j++) out->v[j] = u[j] + w[j];
            break;
        }
        case CM_POOL: gap_forward(out->v, in->v, N, in->C, HW); break;
        case CM_LINEAR: linear_forward(out->v, in->v, p + d->w, p + d->b, N, in->C, out->C); break;
        default: MCR_ASSERT(0);
        }
    }
}

void cnn_backward(mcr_cnn *m, const float *p, float *g, const float *dlogits, int N) {
    MCR_ASSERT(N >= 1 && N <= m->maxN);
    for (int i = 0; i < m->ntens; i++) memset(m->tens[i].g, 0, (size_t)N * tsize(&m->tens[i]) * sizeof(float));
    memcpy(m->tens[m->t_out].g, dlogits, (size_t)N * m->K * sizeof(float));
    for (int i = m->nmods - 1; i >= 0; i--) {
        const cnn_mod *d = &m->mods[i];
        cnn_tensor *in = &m->tens[d->in0], *out = &m->tens[d->out];
        int HW = in->H * in->W;
        size_t cnt = (size_t)N * tsize(in);
        switch (d->type) {
        case CM_CONV:
            conv2d_backward(in->g, g + d->w, g + d->b, out->g, in->v, p + d->w, m->ws, m->wsn, N, in->C, in->H,
                            in->W, out->C, d->k, d->stride, d->pad);
            break;
        case CM_GN:
            groupnorm_backward(in->g, g + d->w, g + d->b, out->g, in->v, d->mean, d->rstd, p + d->w, N, in->C,
                               HW, d->G);
            break;
        case CM_SILU: silu_backward(in->g, out->g, in->v, cnt); break;
        case CM_ADD: {
            float *a = in->g, *b = m->tens[d->in1].g;
            for (size_t j = 0; j < cnt; j++) a[j] += out->g[j], b[j] += out->g[j];
            break;
        }
        case CM_POOL: gap_backward(in->g, out->g, N, in->C, HW); break;
        case CM_LINEAR:
            linear_backward(in->g, g + d->w, g + d->b, out->g, in->v, p + d->w, N, in->C, out->C);
            break;
        default: MCR_ASSERT(0);
        }
    }
}

double cnn_loss(float *dlogits, const float *logits, const int *y, int N, int K, const double *cw,
                double gamma) {
    double *z = malloc(2 * (size_t)K * sizeof(double)), tot = 0;
    MCR_ASSERT(z);
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < K; k++) z[k] = logits[(size_t)i * K + k];
        tot += mcr_softmax_loss(z, K, y[i], cw ? cw[y[i]] : 1.0, gamma, z + K);
        if (dlogits)
            for (int k = 0; k < K; k++) dlogits[(size_t)i * K + k] = (float)(z[K + k] / N);
    }
    free(z);
    return tot / N;
}

/* ------------------------------------------------------------------ fit / predict */
/* images: uint8 [n, h, w, c] or float [n, c, h, w] */
typedef struct {
    const uint8_t *u8;
    const float *f;
} cnn_src;

static void gather(float *dst, const cnn_src *s, const size_t *idx, int B, int C, int H, int W) {
    size_t sz = (size_t)C * H * W;
    for (int b = 0; b < B; b++) {
        if (s->u8) mcr_image_to_float(dst + b * sz, s->u8 + idx[b] * sz, 1, H, W, C);
        else memcpy(dst + b * sz, s->f + idx[b] * sz, sz * sizeof(float));
    }
}

static int check_config(const mcr_cnn_config *c) {
    if (c->batch < 1 || c->batch > 65536) return mcr_err(MCR_EINVAL, "cnn: `batch` must be 1 to 65536, got %d", c->batch);
    if (c->steps < 0) return mcr_err(MCR_EINVAL, "cnn: `steps` must be >= 0, got %d", c->steps);
    if (c->steps == 0 && (c->epochs < 1 || c->epochs > 100000))
        return mcr_err(MCR_EINVAL, "cnn: `epochs` must be 1 to 100000 when steps is 0, got %d", c->epochs);
    if (!(c->lr > 0 && c->lr < 10)) return mcr_err(MCR_EINVAL, "cnn: `lr` must be in (0, 10), got %g", c->lr);
    if (!(c->weight_decay >= 0 && c->weight_decay < 1))
        return mcr_err(MCR_EINVAL, "cnn: `weight-decay` must be in [0, 1), got %g", c->weight_decay);
    if (!(c->grad_clip >= 0)) return mcr_err(MCR_EINVAL, "cnn: `grad-clip` must be >= 0");
    if (!(c->focal_gamma >= 0 && c->focal_gamma <= 100))
        return mcr_err(MCR_EINVAL, "cnn: `focal-gamma` must be in [0, 100], got %g", c->focal_gamma);
    return MCR_OK;
}

static int cnn_fit_src(const mcr_cnn_config *c, const cnn_src *src, const int *y, size_t n, int H, int W,
                       int C, int K, mcr_cnn **out) {
    *out = NULL;
    if (n == 0) return mcr_err(MCR_EINVAL, "cnn: no training images");
    if (n > (size_t)INT32_MAX) return mcr_err(MCR_EINVAL, "cnn: too many images (%zu)", n);
    int rc = check_config(c);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= K)
            return mcr_err(MCR_EINVAL, "cnn: label %d of image %zu is outside [0, %d)", y[i], i, K);
    if (c->class_weights)
        for (int k = 0; k < K; k++)
            if (!(c->class_weights[k] >= 0 && isfinite(c->class_weights[k])))
                return mcr_err(MCR_EINVAL, "cnn: `class-weights` must be finite and >= 0 (class %d: %g)", k,
                               c->class_weights[k]);
    mcr_cnn *m = calloc(1, sizeof *m);
    if (!m) return MCR_NOMEM();
    rc = cnn_layout(m, c, C, H, W, K);
    if (rc) {
        free(m);
        return rc;
    }
    int old_threads = omp_get_max_threads();
    if (c->threads > 0) omp_set_num_threads(c->threads);
    int B = n < (size_t)c->batch ? (int)n : c->batch;
    size_t per_epoch = (n + (size_t)B - 1) / (size_t)B;
    size_t steps = c->steps ? (size_t)c->steps : (size_t)c->epochs * per_epoch;
    if (steps > INT32_MAX) steps = INT32_MAX;
    mcr_optim opt = {0};
    size_t *perm = malloc(n * sizeof *perm), idx_cap = (size_t)B;
    size_t *idx = malloc(idx_cap * sizeof *idx);
    int *yb = malloc((size_t)B * sizeof *yb);
    double *cw = malloc((size_t)K * sizeof *cw);
    float *xb = malloc((size_t)B * C * H * W * sizeof *xb), *dl = malloc((size_t)B * K * sizeof *dl);
    if (!perm || !idx || !yb || !cw || !xb || !dl || (rc = cnn_alloc(m, B)) ||
        (rc = mcr_optim_init(&opt, m->nparams))) {
        if (!rc) rc = MCR_NOMEM();
        goto fail;
    }
    /* class weights: given, balanced (n / (K_present n_k)), or none */
    if (c->class_weights) memcpy(cw, c->class_weights, (size_t)K * sizeof *cw);
    else if (c->balanced) {
        size_t *cnt = calloc((size_t)K, sizeof *cnt);
        if (!cnt) {
            rc = MCR_NOMEM();
            goto fail;
        }
        for (size_t i = 0; i < n; i++) cnt[y[i]]++;
        int present = 0;
        for (int k = 0; k < K; k++) present += cnt[k] > 0;
        for (int k = 0; k < K; k++) cw[k] = cnt[k] ? (double)n / ((double)present * (double)cnt[k]) : 0;
        free(cnt);
    } else
        for (int k = 0; k < K; k++) cw[k] = 1;
    cnn_init_params(m, opt.p, c->seed);
    opt.lr = c->lr;
    opt.steps = (int)steps;
    opt.warmup = (int)(steps / 20);
    opt.grad_clip = c->grad_clip;
    opt.ema_decay = 0; /* the EMA array follows p (unused) */
    opt.adam.weight_decay = c->weight_decay;
    mcr_rng r;
    mcr_rng_seed(&r, c->seed, MCR_STREAM_CNN_ORDER);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    size_t pos = n;
    double tail = 0;
    size_t ntail = 0, tail_from = steps > per_epoch ? steps - per_epoch : 0;
    for (size_t step = 0; step < steps; step++) {
        for (int b = 0; b < B; b++) {
            if (pos == n) {
                mcr_rng_shuffle(&r, perm, n);
                pos = 0;
            }
            idx[b] = perm[pos++];
            yb[b] = y[idx[b]];
        }
        gather(xb, src, idx, B, C, H, W);
        cnn_forward(m, opt.p, xb, B);
        double loss = cnn_loss(dl, m->tens[m->t_out].v, yb, B, K, cw, c->focal_gamma);
        if (!isfinite(loss)) {
            rc = mcr_err(MCR_ENUMERIC, "cnn: the loss diverged (%g) at step %zu; try a smaller `lr`", loss, step + 1);
            goto fail;
        }
        if (step >= tail_from) tail += loss, ntail++;
        memset(opt.g, 0, m->nparams * sizeof(float));
        cnn_backward(m, opt.p, opt.g, dl, B);
        mcr_optim_apply(&opt, (int)step);
    }
    m->final_loss = ntail ? (float)(tail / (double)ntail) : NAN;
    if (!(m->p = malloc(m->nparams * sizeof(float)))) {
        rc = MCR_NOMEM();
        goto fail;
    }
    memcpy(m->p, opt.p, m->nparams * sizeof(float));
    cnn_release(m);
    goto done;
fail:
    mcr_cnn_free(m);
    m = NULL;
done:
    mcr_optim_free(&opt);
    free(perm), free(idx), free(yb), free(cw), free(xb), free(dl);
    omp_set_num_threads(old_threads);
    *out = m;
    return rc;
}

int mcr_cnn_fit_u8(const mcr_cnn_config *c, const uint8_t *pix, const int *y, size_t n, int h, int w, int ch,
                   int K, mcr_cnn **out) {
    cnn_src s = {pix, NULL};
    return cnn_fit_src(c, &s, y, n, h, w, ch, K, out);
}

int mcr_cnn_fit(const mcr_cnn_config *c, const float *x, const int *y, size_t n, int h, int w, int ch, int K,
                mcr_cnn **out) {
    cnn_src s = {NULL, x};
    return cnn_fit_src(c, &s, y, n, h, w, ch, K, out);
}

/* Prediction runs on a copy of the model's layout with its own activations, so a fitted
 * model stays const (and may be shared by threads that each predict). */
static int predict_src(const mcr_cnn *m, const cnn_src *src, size_t n, double *prob) {
    if (!m) return mcr_err(MCR_EINVAL, "cnn: no model");
    if (n == 0) return MCR_OK;
    int old_threads = omp_get_max_threads();
    if (m->cfg.threads > 0) omp_set_num_threads(m->cfg.threads);
    mcr_cnn *t = malloc(sizeof *t);
    int B = n < PREDICT_BATCH ? (int)n : PREDICT_BATCH, K = m->K, rc = MCR_OK;
    float *xb = malloc((size_t)B * m->C * m->H * m->W * sizeof *xb);
    size_t idx[PREDICT_BATCH];
    if (!t || !xb) {
        rc = MCR_NOMEM();
        goto done;
    }
    *t = *m;
    t->mem = NULL;
    if ((rc = cnn_alloc(t, B))) goto done;
    for (size_t i0 = 0; i0 < n; i0 += (size_t)B) {
        int nb = n - i0 < (size_t)B ? (int)(n - i0) : B;
        for (int b = 0; b < nb; b++) idx[b] = i0 + (size_t)b;
        gather(xb, src, idx, nb, m->C, m->H, m->W);
        cnn_forward(t, m->p, xb, nb);
        const float *o = t->tens[t->t_out].v;
        for (int b = 0; b < nb; b++) {
            const float *z = o + (size_t)b * K;
            double mx = z[0], s = 0, *p = prob + (i0 + (size_t)b) * K;
            for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
            for (int k = 0; k < K; k++) s += (p[k] = exp(z[k] - mx));
            for (int k = 0; k < K; k++) p[k] /= s;
        }
    }
done:
    if (t) cnn_release(t);
    free(t), free(xb);
    omp_set_num_threads(old_threads);
    return rc;
}

int mcr_cnn_predict_proba_u8(const mcr_cnn *m, const uint8_t *pix, size_t n, double *prob) {
    cnn_src s = {pix, NULL};
    return predict_src(m, &s, n, prob);
}

int mcr_cnn_predict_proba(const mcr_cnn *m, const float *x, size_t n, double *prob) {
    cnn_src s = {NULL, x};
    return predict_src(m, &s, n, prob);
}

size_t mcr_cnn_nparams(const mcr_cnn *m) { return m ? m->nparams : 0; }
int mcr_cnn_nclasses(const mcr_cnn *m) { return m ? m->K : 0; }
float mcr_cnn_final_loss(const mcr_cnn *m) { return m ? m->final_loss : NAN; }

void mcr_cnn_free(mcr_cnn *m) {
    if (!m) return;
    cnn_release(m);
    free(m->p);
    free(m);
}
