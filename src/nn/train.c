/* train.c — the half of a training step that knows nothing about the model: gradient clipping,
 * the learning-rate schedule, AdamW and EMA over one flat parameter block (mcr_optim), and the
 * loop's own state (mcr_train_state: step, RNG, epoch order, loss sums) with its checkpoint
 * section. A caller computes the gradient into opt.g (and may allreduce it across processes),
 * then calls mcr_optim_apply. See nn.h. */
#include "nn/nn.h"
#include <limits.h>
#include <omp.h>

#define PAR_MIN 16384 /* element-wise loops below this size run on one thread */

/* ------------------------------------------------------------------ kernels */
/* One chunk of the AdamW loop, cloned for AVX-512: the same IEEE operations in the same order
 * (no contraction under -std=c11), so the same bits as the baseline clone, 16 lanes wide;
 * train.c is compiled with -fno-math-errno (Makefile): sqrtf is then the (correctly rounded)
 * instruction and the loop vectorises (with the errno check it was a scalar loop: 0.6 ms a
 * step for 145k parameters, 13% of the small benchmark config). */
__attribute__((target_clones("avx512f", "default")))
static void adamw_chunk(float *p, const float *g, float *m, float *v, size_t i0, size_t i1, float b1,
                        float b2, float c1, float c2, float wd, float eps, float lr) {
    for (size_t i = i0; i < i1; i++) {
        float gi = g[i];
        float mi = m[i] = b1 * m[i] + (1 - b1) * gi;
        float vi = v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        float mh = mi / c1, vh = vi / c2;
        p[i] -= lr * (mh / (sqrtf(vh) + eps) + wd * p[i]);
    }
}

void adamw_update(mcr_adamw *o, float *p, const float *g, float *m, float *v, size_t n, float lr) {
    o->t++;
    float b1 = o->beta1, b2 = o->beta2;
    float c1 = 1.0f - powf(b1, (float)o->t), c2 = 1.0f - powf(b2, (float)o->t);
    float wd = o->weight_decay, eps = o->eps;
    int nth = n > PAR_MIN ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(nth)
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        adamw_chunk(p, g, m, v, n * tid / nt, n * (tid + 1) / nt, b1, b2, c1, c2, wd, eps, lr);
    }
}

void ema_update(float *ema, const float *p, size_t n, float decay) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) ema[i] = decay * ema[i] + (1 - decay) * p[i];
}

double grad_norm(const float *g, size_t n) {
    enum { CH = 64 };
    double part[CH];
#pragma omp parallel for schedule(static)
    for (int c = 0; c < CH; c++) {
        size_t i0 = n * c / CH, i1 = n * (c + 1) / CH;
        double s = 0;
        for (size_t i = i0; i < i1; i++) s += (double)g[i] * g[i];
        part[c] = s;
    }
    double s = 0;
    for (int c = 0; c < CH; c++) s += part[c];
    return sqrt(s);
}

void scale_inplace(float *g, size_t n, float s) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (size_t i = 0; i < n; i++) g[i] *= s;
}

/* ------------------------------------------------------------------ optimiser */
int mcr_optim_init(mcr_optim *o, size_t n) {
    memset(o, 0, sizeof *o);
    if (n > SIZE_MAX / (5 * sizeof(float)) - 1) return MCR_NOMEM();
    float *mem = calloc(5 * n + 1, sizeof(float));
    if (!mem) return MCR_NOMEM();
    o->n = n;
    o->p = mem, o->g = mem + n, o->m = mem + 2 * n, o->v = mem + 3 * n, o->ema = mem + 4 * n;
    o->adam.beta1 = 0.9f, o->adam.beta2 = 0.999f, o->adam.eps = 1e-8f;
    return MCR_OK;
}

void mcr_optim_free(mcr_optim *o) {
    free(o->p);
    memset(o, 0, sizeof *o);
}

double mcr_optim_lr(const mcr_optim *o, int step) {
    double lr = o->lr;
    if (step < o->warmup) lr *= (double)(step + 1) / o->warmup;
    else lr *= 1.0 - (double)(step - o->warmup) / (double)(o->steps - o->warmup);
    return lr;
}

void mcr_optim_apply(mcr_optim *o, int step) {
    size_t n = o->n;
    if (o->grad_clip > 0) {
        double gn = grad_norm(o->g, n);
        if (gn > o->grad_clip) scale_inplace(o->g, n, (float)(o->grad_clip / gn));
    }
    adamw_update(&o->adam, o->p, o->g, o->m, o->v, n, (float)mcr_optim_lr(o, step));
    /* EMA with warm-up: a short run is not dominated by the random initial weights */
    float decay = o->ema_decay, warm = (1.0f + step) / (10.0f + step);
    ema_update(o->ema, o->p, n, decay < warm ? decay : warm);
}

/* ------------------------------------------------------------------ loop state */
int mcr_train_init(mcr_train_state *s, size_t nparams, size_t n, uint64_t seed, uint64_t stream) {
    memset(s, 0, sizeof *s);
    int rc = mcr_optim_init(&s->opt, nparams);
    if (rc) return rc;
    if (!(s->perm = malloc((n + 1) * sizeof(size_t)))) {
        mcr_optim_free(&s->opt);
        return MCR_NOMEM();
    }
    for (size_t i = 0; i < n; i++) s->perm[i] = i;
    s->n = s->pos = n; /* the first draw starts an epoch */
    mcr_rng_seed(&s->rng, seed, stream);
    return MCR_OK;
}

void mcr_train_free(mcr_train_state *s) {
    mcr_optim_free(&s->opt);
    free(s->perm);
    memset(s, 0, sizeof *s);
}

size_t mcr_train_next(mcr_train_state *s) {
    if (s->pos == s->n) { /* new epoch: reshuffle */
        mcr_rng_shuffle(&s->rng, s->perm, s->n);
        s->pos = 0;
    }
    return s->perm[s->pos++];
}

void mcr_train_copy(mcr_train_state *dst, const mcr_train_state *src) {
    MCR_ASSERT(dst->n == src->n && dst->opt.n == src->opt.n);
    size_t np = src->opt.n;
    memcpy(dst->opt.p, src->opt.p, np * sizeof(float));
    memcpy(dst->opt.m, src->opt.m, np * sizeof(float));
    memcpy(dst->opt.v, src->opt.v, np * sizeof(float));
    memcpy(dst->opt.ema, src->opt.ema, np * sizeof(float));
    dst->opt.adam.t = src->opt.adam.t;
    memcpy(dst->perm, src->perm, src->n * sizeof(size_t));
    dst->pos = src->pos;
    dst->step = src->step;
    dst->rng = src->rng;
    dst->acc = src->acc, dst->window = src->window;
    dst->nacc = src->nacc, dst->nwin = src->nwin;
    dst->data_crc = src->data_crc, dst->cfg_crc = src->cfg_crc;
}

/* ------------------------------------------------------------------ file sections */
void mcr_params_put(mcr_wbuf *w, const float *p, size_t n) {
    mcr_put_u64(w, n);
    mcr_put(w, p, n * sizeof(float));
}

int mcr_params_get(mcr_rbuf *r, size_t n, const char *path, float **out) {
    *out = NULL;
    uint64_t np = mcr_get_u64(r);
    if (r->bad || np != n || np > mcr_rbuf_left(r) / 4)
        return mcr_err(MCR_ECORRUPT, "%s: damaged weights (%llu parameters stored, %zu expected)",
                       path, (unsigned long long)np, n);
    float *p = malloc((n + 1) * sizeof(float));
    if (!p) return MCR_NOMEM();
    mcr_get(r, p, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        if (!isfinite(p[i])) {
            free(p);
            return mcr_err(MCR_ECORRUPT, "%s: damaged weights (non-finite value)", path);
        }
    *out = p;
    return MCR_OK;
}

/* Layout (that of the version-2 model file's training state, after its flag):
 * step i32, AdamW t u64, rng s[4] u64 + spare f64 + has_spare i32, pos u64, n u64,
 * perm[n] u64, acc f64, window f64, nacc i32, nwin i32, data_crc u32, cfg_crc u32,
 * p[nparams], m[nparams], v[nparams] f32. The EMA is the model's weights section. */
void mcr_train_put(mcr_wbuf *w, const mcr_train_state *s) {
    mcr_put_i32(w, s->step);
    mcr_put_u64(w, (uint64_t)s->opt.adam.t);
    for (int i = 0; i < 4; i++) mcr_put_u64(w, s->rng.s[i]);
    mcr_put_f64(w, s->rng.spare);
    mcr_put_i32(w, s->rng.has_spare);
    mcr_put_u64(w, s->pos);
    mcr_put_u64(w, s->n);
    for (size_t i = 0; i < s->n; i++) mcr_put_u64(w, s->perm[i]);
    mcr_put_f64(w, s->acc);
    mcr_put_f64(w, s->window);
    mcr_put_i32(w, s->nacc);
    mcr_put_i32(w, s->nwin);
    mcr_put_u32(w, s->data_crc);
    mcr_put_u32(w, s->cfg_crc);
    size_t np = s->opt.n;
    mcr_put(w, s->opt.p, np * sizeof(float));
    mcr_put(w, s->opt.m, np * sizeof(float));
    mcr_put(w, s->opt.v, np * sizeof(float));
}

#define BAD(...) do { rc = mcr_err(MCR_ECORRUPT, __VA_ARGS__); goto fail; } while (0)

int mcr_train_get(mcr_rbuf *r, size_t nparams, const char *path, mcr_train_state *s) {
    memset(s, 0, sizeof *s);
    int rc = MCR_OK;
    int step = mcr_get_i32(r);
    uint64_t t = mcr_get_u64(r);
    mcr_rng rng;
    for (int i = 0; i < 4; i++) rng.s[i] = mcr_get_u64(r);
    rng.spare = mcr_get_f64(r);
    rng.has_spare = mcr_get_i32(r);
    uint64_t pos = mcr_get_u64(r), n = mcr_get_u64(r);
    if (r->bad || step < 0 || pos > n || n > mcr_rbuf_left(r) / 8 || t > (uint64_t)LONG_MAX)
        return mcr_err(MCR_ECORRUPT, "%s: damaged training state", path);
    if ((rc = mcr_train_init(s, nparams, (size_t)n, 0, 0))) return rc;
    s->step = step;
    s->opt.adam.t = (long)t;
    s->rng = rng;
    s->pos = (size_t)pos;
    for (size_t i = 0; i < s->n; i++) {
        uint64_t v = mcr_get_u64(r);
        if (v >= n) BAD("%s: damaged training state (order)", path);
        s->perm[i] = (size_t)v;
    }
    s->acc = mcr_get_f64(r);
    s->window = mcr_get_f64(r);
    s->nacc = mcr_get_i32(r);
    s->nwin = mcr_get_i32(r);
    s->data_crc = mcr_get_u32(r);
    s->cfg_crc = mcr_get_u32(r);
    if (r->bad || nparams > SIZE_MAX / 12 || mcr_rbuf_left(r) != nparams * 12)
        BAD("%s: damaged training state (size)", path);
    mcr_get(r, s->opt.p, nparams * sizeof(float));
    mcr_get(r, s->opt.m, nparams * sizeof(float));
    mcr_get(r, s->opt.v, nparams * sizeof(float));
    return MCR_OK;
fail:
    mcr_train_free(s);
    return rc;
}
