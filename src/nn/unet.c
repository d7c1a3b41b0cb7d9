/* unet.c — the conditional UNet image denoiser (see nn.h for the architecture): a module list
 * over a tensor list, built by mcr_unet_layout, run forward in order and backward in reverse.
 * Kernels from conv.c (conv, group norm, upsampling, FiLM, attention) and nn.c (linear, SiLU,
 * embedding, sinusoid).
 *
 * Memory: every module output keeps its value for the whole batch (the backward pass needs
 * them); gradients share buffers by liveness (plan_gradients), so they cost the peak of the
 * live set (the default UNet: 26 -> 16 MB per 28x28 image, ~77 MB per 64x64 RGB image;
 * bench_conv's activation_mb). Sizing maxN is the caller's memory/speed trade
 * (mcr_unet_activation_floats).
 *
 * Not here yet: the training loop (q_sample noise, MSE loss, label/attribute dropout to the
 * null rows, mcr_optim_apply), the samplers (reuse diffusion/), the model-file section and
 * the `mcrage image` commands. */
#include "nn/nn.h"
#include <omp.h>

void mcr_unet_config_default(mcr_unet_config *c, int in_ch, int H, int W, int nlabel, int nattr) {
    memset(c, 0, sizeof *c);
    c->in_ch = in_ch, c->H = H, c->W = W;
    c->ch = 32;
    c->nlevels = 3;
    c->mult[0] = 1, c->mult[1] = 2, c->mult[2] = 4;
    c->nres = 2;
    c->attn = 1;
    c->nheads = 1;
    c->groups = 8;
    c->nlabel = nlabel, c->nattr = nattr;
    c->tdim = 32;
}

/* ------------------------------------------------------------------ building the list */
typedef struct {
    mcr_unet *n;
    size_t o;        /* next parameter offset */
    int err;
    mcr_umod spare;  /* written instead of a module past UNET_MAX_MODS (layout then fails) */
} builder;

static int tensor(builder *b, int C, int H, int W) {
    mcr_unet *n = b->n;
    if (n->ntens >= UNET_MAX_TENS) {
        b->err = 1;
        return 0;
    }
    mcr_utensor *t = &n->tens[n->ntens];
    memset(t, 0, sizeof *t);
    t->C = C, t->H = H, t->W = W;
    return n->ntens++;
}

/* a new module of `type` reading in0 (and in1) and writing a new tensor [C, H, W] */
static mcr_umod *module(builder *b, int type, int in0, int in1, int C, int H, int W) {
    mcr_unet *n = b->n;
    if (n->nmods >= UNET_MAX_MODS) {
        b->err = 1;
        memset(&b->spare, 0, sizeof b->spare);
        return &b->spare;
    }
    mcr_umod *m = &n->mods[n->nmods++];
    memset(m, 0, sizeof *m);
    m->type = type, m->in0 = in0, m->in1 = in1;
    m->out = tensor(b, C, H, W);
    return m;
}

static size_t params(builder *b, size_t count) {
    size_t at = b->o;
    b->o += count;
    return at;
}

static int conv(builder *b, int in, int co, int k, int s, int p) {
    mcr_utensor *t = &b->n->tens[in];
    int H = conv_out_size(t->H, k, s, p), W = conv_out_size(t->W, k, s, p), ci = t->C;
    mcr_umod *m = module(b, UM_CONV, in, -1, co, H, W);
    m->k = k, m->stride = s, m->pad = p;
    m->w = params(b, (size_t)co * ci * k * k);
    m->b = params(b, co);
    return m->out;
}

static int gn(builder *b, int in) {
    mcr_utensor t = b->n->tens[in];
    int G = b->n->cfg.groups;
    if (t.C % G) b->err = 2;
    mcr_umod *m = module(b, UM_GN, in, -1, t.C, t.H, t.W);
    m->G = G;
    m->w = params(b, t.C);
    m->b = params(b, t.C);
    return m->out;
}

static int silu(builder *b, int in) {
    mcr_utensor t = b->n->tens[in];
    return module(b, UM_SILU, in, -1, t.C, t.H, t.W)->out;
}

static int binary(builder *b, int type, int in0, int in1) {
    if (b->err) return in0; /* shapes may be garbage after an overflow: layout fails anyway */
    mcr_utensor t0 = b->n->tens[in0], t1 = b->n->tens[in1];
    int C = type == UM_CAT ? t0.C + t1.C : t0.C;
    MCR_ASSERT(t0.H == t1.H && t0.W == t1.W && (type == UM_CAT || t0.C == t1.C));
    return module(b, type, in0, in1, C, t0.H, t0.W)->out;
}

static int resblock(builder *b, int x, int co) {
    mcr_unet *n = b->n;
    int ci = n->tens[x].C;
    int h = conv(b, silu(b, gn(b, x)), co, 3, 1, 1);
    mcr_umod *pm = module(b, UM_PROJ, n->t_semb, -1, 2 * co, 1, 1);
    pm->w = params(b, (size_t)2 * co * n->E);
    pm->b = params(b, (size_t)2 * co);
    int ss = pm->out;
    int hn = gn(b, h);
    mcr_utensor tn = n->tens[hn];
    int f = module(b, UM_FILM, hn, ss, tn.C, tn.H, tn.W)->out;
    h = conv(b, silu(b, f), co, 3, 1, 1);
    int skip = ci == co ? x : conv(b, x, co, 1, 1, 0);
    return binary(b, UM_ADD, skip, h);
}

static int attnblock(builder *b, int x) {
    mcr_unet *n = b->n;
    mcr_utensor t = n->tens[x];
    if (t.C % n->cfg.nheads) b->err = 3;
    int qkv = conv(b, gn(b, x), 3 * t.C, 1, 1, 0);
    mcr_umod *m = module(b, UM_ATTN, qkv, -1, t.C, t.H, t.W);
    m->nh = n->cfg.nheads;
    int o = conv(b, m->out, t.C, 1, 1, 0);
    return binary(b, UM_ADD, x, o);
}

static int upsample(builder *b, int x) {
    mcr_utensor t = b->n->tens[x];
    return module(b, UM_UP, x, -1, t.C, 2 * t.H, 2 * t.W)->out;
}

int mcr_unet_layout(mcr_unet *n, const mcr_unet_config *c) {
    memset(n, 0, sizeof *n);
    n->cfg = *c;
    if (c->in_ch < 1 || c->ch < 1 || c->nlevels < 1 || c->nlevels > UNET_MAX_LEVELS || c->nres < 1 ||
        c->groups < 1 || c->nheads < 1 || c->nlabel < 0 || c->nattr < 0 || c->tdim < 2)
        return mcr_err(MCR_EINVAL, "unet: in_ch, ch, nres, groups, nheads, tdim must be >= 1 "
                                   "(tdim >= 2) and nlevels in 1..%d", UNET_MAX_LEVELS);
    int f = 1 << (c->nlevels - 1);
    if (c->H < f || c->W < f || c->H % f || c->W % f)
        return mcr_err(MCR_EINVAL, "unet: image size %dx%d is not divisible by 2^(nlevels-1) = %d",
                       c->H, c->W, f);
    for (int l = 0; l < c->nlevels; l++)
        if (c->mult[l] < 1) return mcr_err(MCR_EINVAL, "unet: mult[%d] = %d must be >= 1", l, c->mult[l]);
    if (1 + c->nlevels * c->nres + c->nlevels - 1 > 64)
        return mcr_err(MCR_EINVAL, "unet: nlevels %d x nres %d gives more than 64 skip connections",
                       c->nlevels, c->nres);
    builder b = {n, 0, 0, {0}};
    n->E = 4 * c->ch;
    int E = n->E;
    n->tw1 = params(&b, (size_t)E * c->tdim);
    n->tb1 = params(&b, E);
    n->tw2 = params(&b, (size_t)E * E);
    n->tb2 = params(&b, E);
    n->lab = params(&b, (size_t)(c->nlabel + 1) * E);
    n->att = params(&b, (size_t)(c->nattr + 1) * E);
    n->t_x = tensor(&b, c->in_ch, c->H, c->W);
    n->t_semb = tensor(&b, E, 1, 1);
    int skips[64], ns = 0, L = c->nlevels;
    int h = conv(&b, n->t_x, c->ch, 3, 1, 1);
    skips[ns++] = h;
    for (int l = 0; l < L; l++) {
        int co = c->ch * c->mult[l];
        for (int r = 0; r < c->nres; r++) {
            h = resblock(&b, h, co);
            if (l == L - 1 && c->attn) h = attnblock(&b, h);
            skips[ns++] = h;
        }
        if (l < L - 1) {
            h = conv(&b, h, co, 3, 2, 1);
            skips[ns++] = h;
        }
    }
    int clow = c->ch * c->mult[L - 1];
    h = resblock(&b, h, clow);
    if (c->attn) h = attnblock(&b, h);
    h = resblock(&b, h, clow);
    for (int l = L - 1; l >= 0; l--) {
        int co = c->ch * c->mult[l];
        for (int r = 0; r <= c->nres; r++) {
            MCR_ASSERT(ns > 0);
            h = binary(&b, UM_CAT, h, skips[--ns]);
            h = resblock(&b, h, co);
            if (l == L - 1 && c->attn) h = attnblock(&b, h);
        }
        if (l > 0) h = conv(&b, upsample(&b, h), co, 3, 1, 1);
    }
    MCR_ASSERT(ns == 0);
    n->t_out = conv(&b, silu(&b, gn(&b, h)), c->in_ch, 3, 1, 1);
    if (b.err == 1)
        return mcr_err(MCR_EINVAL, "unet: more than %d modules (fewer levels or nres)", UNET_MAX_MODS);
    if (b.err == 2)
        return mcr_err(MCR_EINVAL, "unet: a channel count (ch %d x mult, and sums of two at the "
                                   "skips) is not divisible by groups %d", c->ch, c->groups);
    if (b.err == 3)
        return mcr_err(MCR_EINVAL, "unet: the lowest level's channels %d are not divisible by "
                                   "nheads %d", clow, c->nheads);
    n->nparams = b.o;
    return MCR_OK;
}

/* ------------------------------------------------------------------ parameters, memory */
static void uniform_init(float *p, size_t n, float bound, mcr_rng *r) {
    for (size_t i = 0; i < n; i++) p[i] = (float)((2 * mcr_rng_uniform(r) - 1) * bound);
}

/* PyTorch's defaults (and MCR_STREAM_INIT, as the tabular denoiser). ADM also zeroes each
 * residual block's second convolution and the output convolution; that is the trainer's
 * choice to make (zero those modules' w and b after this call). */
void mcr_unet_init_params(const mcr_unet *n, float *p, uint64_t seed) {
    mcr_rng r;
    mcr_rng_seed(&r, seed, MCR_STREAM_INIT);
    int E = n->E, td = n->cfg.tdim;
    uniform_init(p + n->tw1, (size_t)E * td, 1.0f / sqrtf((float)td), &r);
    uniform_init(p + n->tb1, E, 1.0f / sqrtf((float)td), &r);
    uniform_init(p + n->tw2, (size_t)E * E, 1.0f / sqrtf((float)E), &r);
    uniform_init(p + n->tb2, E, 1.0f / sqrtf((float)E), &r);
    for (size_t i = 0; i < (size_t)(n->cfg.nlabel + 1) * E; i++) p[n->lab + i] = (float)mcr_rng_normal(&r);
    for (size_t i = 0; i < (size_t)(n->cfg.nattr + 1) * E; i++) p[n->att + i] = (float)mcr_rng_normal(&r);
    for (int i = 0; i < n->nmods; i++) {
        const mcr_umod *m = &n->mods[i];
        const mcr_utensor *in = &n->tens[m->in0], *out = &n->tens[m->out];
        if (m->type == UM_CONV || m->type == UM_PROJ) {
            int fan = m->type == UM_CONV ? in->C * m->k * m->k : n->E;
            float bound = 1.0f / sqrtf((float)fan);
            uniform_init(p + m->w, (size_t)out->C * fan, bound, &r);
            uniform_init(p + m->b, out->C, bound, &r);
        } else if (m->type == UM_GN) {
            for (int c = 0; c < in->C; c++) p[m->w + c] = 1, p[m->b + c] = 0;
        }
    }
}

static size_t tsize(const mcr_utensor *t) { return (size_t)t->C * t->H * t->W; }

/* Gradient buffers by liveness. Backward step s runs module nmods-1-s. A tensor's gradient is
 * live from the first step that accumulates into it (its last reader in forward order; it is
 * zeroed there, zstep) to its producer's step (which reads it as dout); the output's from
 * before step 0, the input image's and semb's to the end. Buffers are handed out best-fit
 * from those freed, so the gradient memory is the peak of the live set (the skips and a few
 * tensors), not the sum over all tensors. Fills tens[i].zstep and goff[i] (floats per image
 * from the start of the gradient area); returns the area's floats per image. */
static size_t plan_gradients(mcr_unet *n, size_t *goff) {
    enum { MAXB = UNET_MAX_TENS };
    static const size_t FREE_ = (size_t)-1;
    size_t bsize[MAXB], boff[MAXB], total = 0;
    int bbusy[MAXB], nb = 0, owner[UNET_MAX_TENS];
    for (int i = 0; i < n->ntens; i++) n->tens[i].zstep = -2, owner[i] = -1, goff[i] = FREE_;
    int R = n->nmods;
    /* hand a buffer to tensor j */
#define GIVE(j)                                                                                  \
    do {                                                                                         \
        size_t need_ = tsize(&n->tens[j]);                                                       \
        int best_ = -1;                                                                          \
        for (int b_ = 0; b_ < nb; b_++)                                                          \
            if (!bbusy[b_] && bsize[b_] >= need_ && (best_ < 0 || bsize[b_] < bsize[best_]))     \
                best_ = b_;                                                                      \
        if (best_ < 0) {                                                                         \
            MCR_ASSERT(nb < MAXB);                                                               \
            best_ = nb++;                                                                        \
            bsize[best_] = need_, boff[best_] = total, total += need_;                          \
        }                                                                                        \
        bbusy[best_] = 1, owner[j] = best_, goff[j] = boff[best_];                              \
    } while (0)
    n->tens[n->t_out].zstep = -1;
    GIVE(n->t_out);
    for (int s = 0; s < R; s++) {
        const mcr_umod *m = &n->mods[R - 1 - s];
        int ins[2] = {m->in0, m->in1};
        for (int q = 0; q < 2; q++) {
            int j = ins[q];
            if (j < 0 || n->tens[j].zstep != -2) continue;
            n->tens[j].zstep = s;
            GIVE(j);
        }
        /* m's output gradient is read by m's backward and dead after it */
        int o = m->out;
        if (o != n->t_x && o != n->t_semb && owner[o] >= 0) bbusy[owner[o]] = 0;
    }
#undef GIVE
    for (int i = 0; i < n->ntens; i++) MCR_ASSERT(goff[i] != FREE_);
    return total;
}

/* floats for maxN images: tensor values, gradient buffers, caches, embedding buffers; ws */
static size_t unet_floats(mcr_unet *n, int maxN, size_t *wsn, size_t *gper, size_t *goff) {
    size_t N = (size_t)maxN, tot = 0, ws = 0;
    int T = omp_get_max_threads();
    for (int i = 0; i < n->ntens; i++) tot += N * tsize(&n->tens[i]);
    *gper = plan_gradients(n, goff);
    tot += N * *gper;
    for (int i = 0; i < n->nmods; i++) {
        const mcr_umod *m = &n->mods[i];
        const mcr_utensor *in = &n->tens[m->in0], *out = &n->tens[m->out];
        size_t w = 0;
        if (m->type == UM_GN) tot += 2 * N * m->G;
        if (m->type == UM_ATTN) {
            size_t hw = (size_t)out->H * out->W;
            tot += N * m->nh * hw * hw;
            w = attention_workspace(maxN, (int)hw, m->nh, T);
        }
        if (m->type == UM_CONV)
            w = conv2d_workspace(maxN, in->C, in->H, in->W, out->C, m->k, m->stride, m->pad, T);
        if (w > ws) ws = w;
    }
    tot += N * (size_t)n->cfg.tdim + 6 * N * n->E;
    *wsn = ws;
    return tot + ws;
}

size_t mcr_unet_activation_floats(const mcr_unet *n) { return n->memn; }

double mcr_unet_flops(const mcr_unet *n, double *conv) {
    double f = 0, fc = 0;
    for (int i = 0; i < n->nmods; i++) {
        const mcr_umod *m = &n->mods[i];
        const mcr_utensor *in = &n->tens[m->in0], *out = &n->tens[m->out];
        double hw = (double)out->H * out->W;
        if (m->type == UM_CONV) fc += 2.0 * out->C * in->C * m->k * m->k * hw;
        if (m->type == UM_PROJ) f += 2.0 * out->C * in->C;
        if (m->type == UM_ATTN) f += 2.0 * 2.0 * out->C * hw * hw; /* Q^T K and V A^T */
    }
    if (conv) *conv = fc;
    return f + fc;
}

int mcr_unet_alloc(mcr_unet *n, int maxN) {
    MCR_ASSERT(maxN >= 1);
    size_t *goff = malloc(sizeof(size_t) * (size_t)n->ntens), wsn, gper;
    if (!goff) return MCR_NOMEM();
    size_t tot = unet_floats(n, maxN, &wsn, &gper, goff);
    n->mem = malloc(tot * sizeof(float));
    if (!n->mem) {
        free(goff);
        return MCR_NOMEM();
    }
    n->memn = tot;
    n->maxN = maxN;
    size_t N = (size_t)maxN;
    float *q = n->mem;
    for (int i = 0; i < n->ntens; i++) {
        mcr_utensor *t = &n->tens[i];
        t->v = q, q += N * tsize(t);
    }
    for (int i = 0; i < n->ntens; i++) n->tens[i].g = q + N * goff[i];
    q += N * gper;
    free(goff);
    for (int i = 0; i < n->nmods; i++) {
        mcr_umod *m = &n->mods[i];
        if (m->type == UM_GN) m->c0 = q, q += N * m->G, m->c1 = q, q += N * m->G;
        if (m->type == UM_ATTN) {
            size_t hw = (size_t)n->tens[m->out].H * n->tens[m->out].W;
            m->c0 = q, q += N * m->nh * hw * hw;
        }
    }
    size_t E = (size_t)n->E;
    n->te = q, q += N * (size_t)n->cfg.tdim;
    n->tz = q, q += N * E;
    n->ta = q, q += N * E;
    n->emb = q, q += N * E;
    n->dta = q, q += N * E;
    n->dtz = q, q += N * E;
    n->demb = q, q += N * E;
    n->ws = q, q += wsn;
    n->wsn = wsn;
    MCR_ASSERT((size_t)(q - n->mem) == tot);
    return MCR_OK;
}

int mcr_unet_set_engine(mcr_unet *n, int engine) {
    if (engine != MCR_UNET_IM2COL && engine != MCR_UNET_DNNL_FP32 && engine != MCR_UNET_DNNL_BF16)
        return mcr_err(MCR_EINVAL, "unet: unknown convolution engine %d", engine);
    if (engine == n->engine) return MCR_OK;
    mcr_dconv *dc = NULL;
    mcr_dconv_keep *keep = NULL;
    if (engine != MCR_UNET_IM2COL) {
        if (!(keep = calloc((size_t)n->nmods, sizeof *keep))) return MCR_NOMEM();
        int rc = mcr_dconv_new(&dc, engine == MCR_UNET_DNNL_BF16);
        if (rc) {
            free(keep);
            return rc;
        }
    }
    if (n->keep)
        for (int i = 0; i < n->nmods; i++) mcr_dconv_keep_free(&n->keep[i]);
    free(n->keep);
    mcr_dconv_free(n->dc);
    n->dc = dc;
    n->keep = keep;
    n->engine = engine;
    return MCR_OK;
}

const char *mcr_unet_engine_name(int engine) {
    return engine == MCR_UNET_DNNL_FP32 ? "dnnl-fp32" : engine == MCR_UNET_DNNL_BF16 ? "dnnl-bf16" : "im2col";
}

void mcr_unet_free(mcr_unet *n) {
    if (n->keep)
        for (int i = 0; i < n->nmods; i++) mcr_dconv_keep_free(&n->keep[i]);
    free(n->keep);
    n->keep = NULL;
    mcr_dconv_free(n->dc);
    n->dc = NULL;
    n->engine = MCR_UNET_IM2COL;
    free(n->mem);
    n->mem = NULL;
    for (int i = 0; i < n->ntens; i++) n->tens[i].v = n->tens[i].g = NULL;
}

/* ------------------------------------------------------------------ forward / backward */
static void cat_forward(float *out, const float *a, const float *b, int N, size_t na, size_t nb) {
    /* out [N, Ca+Cb, HW] from a [N, Ca, HW] (na = Ca*HW) and b [N, Cb, HW] */
    for (int i = 0; i < N; i++) {
        memcpy(out + (size_t)i * (na + nb), a + (size_t)i * na, na * sizeof(float));
        memcpy(out + (size_t)i * (na + nb) + na, b + (size_t)i * nb, nb * sizeof(float));
    }
}

void mcr_unet_forward(mcr_unet *n, const float *p, const float *x, const int *t, const int *y,
                      const int *a, int N) {
    MCR_ASSERT(N >= 1 && N <= n->maxN);
    int E = n->E, td = n->cfg.tdim;
    /* the conditioning vector */
    timestep_embedding(n->te, t, N, td);
    linear_forward(n->tz, n->te, p + n->tw1, p + n->tb1, N, td, E);
    silu_forward(n->ta, n->tz, (size_t)N * E);
    linear_forward(n->emb, n->ta, p + n->tw2, p + n->tb2, N, E, E);
    for (int i = 0; i < N; i++) {
        MCR_ASSERT(y[i] >= 0 && y[i] <= n->cfg.nlabel && a[i] >= 0 && a[i] <= n->cfg.nattr);
        float *e = n->emb + (size_t)i * E;
        const float *l = p + n->lab + (size_t)y[i] * E, *at = p + n->att + (size_t)a[i] * E;
        for (int k = 0; k < E; k++) e[k] += l[k] + at[k];
    }
    silu_forward(n->tens[n->t_semb].v, n->emb, (size_t)N * E);
    memcpy(n->tens[n->t_x].v, x, sizeof(float) * N * tsize(&n->tens[n->t_x]));
    for (int i = 0; i < n->nmods; i++) {
        mcr_umod *m = &n->mods[i];
        mcr_utensor *in = &n->tens[m->in0], *out = &n->tens[m->out];
        mcr_utensor *in1 = m->in1 >= 0 ? &n->tens[m->in1] : NULL;
        int HW = in->H * in->W;
        size_t cnt = (size_t)N * tsize(out);
        double t0 = n->timing ? omp_get_wtime() : 0;
        switch (m->type) {
        case UM_CONV:
            if (n->dc && conv2d_forward_dnnl_keep(n->dc, &n->keep[i], out->v, in->v, p + m->w, p + m->b, N,
                                                  in->C, in->H, in->W, out->C, m->k, m->stride,
                                                  m->pad) == MCR_OK)
                break;
            if (n->dc) n->dnnl_fallbacks++;
            conv2d_forward(out->v, in->v, p + m->w, p + m->b, n->ws, n->wsn, N, in->C, in->H, in->W,
                           out->C, m->k, m->stride, m->pad);
            break;
        case UM_GN:
            groupnorm_forward(out->v, m->c0, m->c1, in->v, p + m->w, p + m->b, N, in->C, HW, m->G);
            break;
        case UM_SILU: silu_forward(out->v, in->v, cnt); break;
        case UM_PROJ: linear_forward(out->v, in->v, p + m->w, p + m->b, N, in->C, out->C); break;
        case UM_FILM: film_forward(out->v, in->v, in1->v, N, in->C, HW); break;
        case UM_ADD: {
            float *o = out->v;
            const float *u = in->v, *w = in1->v;
#pragma omp parallel for schedule(static) if (cnt > 16384)
            for (size_t k = 0; k < cnt; k++) o[k] = u[k] + w[k];
            break;
        }
        case UM_CAT: cat_forward(out->v, in->v, in1->v, N, tsize(in), tsize(in1)); break;
        case UM_ATTN: attention_forward(out->v, m->c0, in->v, N, out->C, HW, m->nh); break;
        case UM_UP: upsample2x_forward(out->v, in->v, N, in->C, in->H, in->W); break;
        }
        if (n->timing) n->tsec[m->type] += omp_get_wtime() - t0;
    }
}

void mcr_unet_backward(mcr_unet *n, const float *p, float *g, const float *dout, const int *y,
                       const int *a, int N) {
    MCR_ASSERT(N >= 1 && N <= n->maxN);
    mcr_utensor *to = &n->tens[n->t_out];
    memcpy(to->g, dout, sizeof(float) * N * tsize(to));
    for (int i = n->nmods - 1; i >= 0; i--) {
        mcr_umod *m = &n->mods[i];
        mcr_utensor *in = &n->tens[m->in0], *out = &n->tens[m->out];
        mcr_utensor *in1 = m->in1 >= 0 ? &n->tens[m->in1] : NULL;
        int step = n->nmods - 1 - i; /* gradients that start here get zeroed first */
        double t0 = n->timing ? omp_get_wtime() : 0;
        if (in->zstep == step) memset(in->g, 0, sizeof(float) * N * tsize(in));
        if (in1 && in1->zstep == step) memset(in1->g, 0, sizeof(float) * N * tsize(in1));
        int HW = in->H * in->W;
        size_t cnt = (size_t)N * tsize(out);
        /* the input image's gradient is wanted too (n->tens[t_x].g), so dinp is never NULL */
        switch (m->type) {
        case UM_CONV:
            /* a failed oneDNN backward may have accumulated part of its results: none of it is
             * used only if the failure came before the first primitive ran (primitive creation,
             * the common case); otherwise the counter says the step is suspect */
            if (n->dc && conv2d_backward_dnnl_keep(n->dc, &n->keep[i], in->g, g + m->w, g + m->b, out->g,
                                                   in->v, p + m->w, N, in->C, in->H, in->W, out->C,
                                                   m->k, m->stride, m->pad) == MCR_OK)
                break;
            if (n->dc) n->dnnl_fallbacks++;
            conv2d_backward(in->g, g + m->w, g + m->b, out->g, in->v, p + m->w, n->ws, n->wsn, N,
                            in->C, in->H, in->W, out->C, m->k, m->stride, m->pad);
            break;
        case UM_GN:
            groupnorm_backward(in->g, g + m->w, g + m->b, out->g, in->v, m->c0, m->c1, p + m->w, N,
                               in->C, HW, m->G);
            break;
        case UM_SILU: silu_backward(in->g, out->g, in->v, cnt); break;
        case UM_PROJ:
            linear_backward(in->g, g + m->w, g + m->b, out->g, in->v, p + m->w, N, in->C, out->C);
            break;
        case UM_FILM: film_backward(in->g, in1->g, out->g, in->v, in1->v, N, in->C, HW); break;
        case UM_ADD: {
            float *gu = in->g, *gw = in1->g;
            const float *go = out->g;
#pragma omp parallel for schedule(static) if (cnt > 16384)
            for (size_t k = 0; k < cnt; k++) gu[k] += go[k], gw[k] += go[k];
            break;
        }
        case UM_CAT: {
            size_t na = tsize(in), nb = tsize(in1);
            for (int r = 0; r < N; r++) {
                const float *src = out->g + (size_t)r * (na + nb);
                float *ga = in->g + (size_t)r * na, *gb = in1->g + (size_t)r * nb;
                for (size_t k = 0; k < na; k++) ga[k] += src[k];
                for (size_t k = 0; k < nb; k++) gb[k] += src[na + k];
            }
            break;
        }
        case UM_ATTN:
            attention_backward(in->g, out->g, in->v, m->c0, n->ws, n->wsn, N, out->C, HW, m->nh);
            break;
        case UM_UP: upsample2x_backward(in->g, out->g, N, in->C, in->H, in->W); break;
        }
        if (n->timing) n->tsec[m->type] += omp_get_wtime() - t0;
    }
    /* the conditioning vector: semb = silu(emb), emb = MLP(sinusoid) + Lab[y] + Att[a] */
    int E = n->E, td = n->cfg.tdim;
    size_t ne = (size_t)N * E;
    memset(n->demb, 0, ne * sizeof(float));
    silu_backward(n->demb, n->tens[n->t_semb].g, n->emb, ne);
    embedding_backward(g + n->lab, n->demb, y, N, E);
    embedding_backward(g + n->att, n->demb, a, N, E);
    memset(n->dta, 0, ne * sizeof(float));
    linear_backward(n->dta, g + n->tw2, g + n->tb2, n->demb, n->ta, p + n->tw2, N, E, E);
    memset(n->dtz, 0, ne * sizeof(float));
    silu_backward(n->dtz, n->dta, n->tz, ne);
    linear_backward(NULL, g + n->tw1, g + n->tb1, n->dtz, n->te, p + n->tw1, N, td, E);
}
