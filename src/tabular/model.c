/* model.c — the conditional DDPM over table rows: fit, sample, inspect, benchmark.
 * The model file format lives in model_io.c. */
#include "tabular/tabular.h"
#include "diffusion/diffusion.h"
#include "dist/dist.h"
#include <cblas.h>
#include <omp.h>
#include <zlib.h>
#include <sys/resource.h>
#include <time.h>

void mcr_fit_config_default(mcr_fit_config *c) {
    memset(c, 0, sizeof *c);
    c->condition = MCR_COND_TARGET;
    static const int w[] = {256, 512, 512, 256};
    memcpy(c->widths, w, sizeof w);
    c->nwidths = 4;
    c->dim_t = 128;
    c->act = MCR_ACT_RELU;
    c->T = 1000;
    c->schedule = MCR_SCHED_COSINE;
    c->steps = 3000;
    c->batch = 1024;
    c->lr = 2e-3f;
    c->weight_decay = 1e-4f;
    c->grad_clip = 1.0f;
    c->ema_decay = 0.999f;
    c->p_uncond = 0.1f;
    c->numeric = MCR_NUM_QUANTILE;
    c->catmode = MCR_CAT_MULTINOMIAL;
    c->min_level_count = 1;
    c->seed = 1;
    c->progress_every = 10;
}

void mcr_sample_config_default(mcr_sample_config *c) {
    c->guidance = 0;
    /* DPM-Solver++(2M), 25 steps: the fidelity of DDIM-100 at a quarter of the network
     * evaluations (patient_treatment and flchain, doc/results.md) */
    c->sampler = MCR_SAMPLER_DPMPP;
    c->sample_steps = 25;
    c->eta = 1;
    c->seed = 1;
    c->chunk = 2048;
    c->precision = MCR_PRECISION_FP32;
}

void mcr_model_free(mcr_model *m) {
    if (!m) return;
    mcr_table_free(m->schema);
    mcr_encoder_free(m->enc);
    if (m->cond_names)
        for (int c = 0; c < m->ncond; c++) free(m->cond_names[c]);
    free(m->cond_names);
    free(m->cond_count);
    free(m->cond_tlevel);
    free(m->cond_glevel);
    free(m->feat);
    free(m->ema);
    free(m->xlo);
    free(m->xhi);
    free(m->loss_curve);
    if (m->state) mcr_train_free(m->state);
    free(m->state);
    free(m);
}

void mcr_model_progress(const mcr_model *m, int *done, int *planned) {
    *done = m->state ? m->state->step : -1;
    *planned = m->cfg.steps;
}

/* checksum of the settings that shape training (a resumed run must use the same) */
static uint32_t cfg_checksum(const mcr_fit_config *c, int d, int ncond, size_t nrows) {
    double v[] = {c->condition, c->nwidths, c->dim_t, c->act, c->dropout, c->T, c->schedule,
                  c->steps, c->batch, c->lr, c->weight_decay, c->warmup, c->grad_clip,
                  c->ema_decay, c->p_uncond, c->numeric, (double)c->seed, d, ncond, (double)nrows,
                  c->catmode, c->min_level_count};
    uint32_t crc = (uint32_t)crc32(0L, (const unsigned char *)v, sizeof v);
    crc = (uint32_t)crc32(crc, (const unsigned char *)c->widths, (uInt)(sizeof(int) * (size_t)c->nwidths));
    if (c->precision != MCR_PRECISION_FP32) { /* fp32 checksums as before this setting existed */
        int32_t p = c->precision;
        crc = (uint32_t)crc32(crc, (const unsigned char *)&p, sizeof p);
    }
    return crc;
}

/* ------------------------------------------------------------------ noise */
#define NOISE_CHUNKS 16
/* n draws from (seed, stream) in NOISE_CHUNKS fixed chunks, each with its own generator:
 * the same numbers whatever the thread count */
static void fill_chunks(float *buf, size_t n, uint64_t seed, uint64_t stream, int uniform) {
#pragma omp parallel for schedule(static)
    for (int c = 0; c < NOISE_CHUNKS; c++) {
        mcr_rng r;
        mcr_rng_seed(&r, seed, stream * NOISE_CHUNKS + (uint64_t)c);
        size_t i0 = n * c / NOISE_CHUNKS, i1 = n * (c + 1) / NOISE_CHUNKS;
        if (uniform)
            for (size_t i = i0; i < i1; i++) buf[i] = (float)((mcr_rng_u64(&r) >> 40) + 0.5) * 0x1p-24f;
        else
            for (size_t i = i0; i < i1; i++) buf[i] = (float)mcr_rng_normal(&r);
    }
}

void mcr_fill_normal(float *buf, size_t n, uint64_t seed, uint64_t stream) {
    fill_chunks(buf, n, seed, stream, 0);
}

void mcr_fill_uniform(float *buf, size_t n, uint64_t seed, uint64_t stream) {
    fill_chunks(buf, n, seed ^ 0x5851F42D4C957F2DULL, stream, 1);
}

/* ------------------------------------------------------------------ trainer */
int mcr_trainer_init(mcr_trainer *tr, const mcr_net *layout, int B, const mcr_fit_config *c,
                     size_t n, int dg, int nblk, const int *boff, const int *bK) {
    memset(tr, 0, sizeof *tr);
    tr->net = *layout;
    tr->B = B;
    tr->dg = dg;
    tr->nblk = nblk;
    tr->boff = boff;
    tr->bK = bK;
    for (int b = 0; b < nblk; b++)
        if (bK[b] > tr->Kmax) tr->Kmax = bK[b];
    size_t np = layout->nparams, bd = (size_t)B * layout->d;
    int rc = mcr_bf16_resolve(c->precision, &tr->net.use_bf16);
    if (rc || (rc = mcr_net_alloc(&tr->net, B))) return rc;
    if ((rc = mcr_sched_init(&tr->sched, c->T, c->schedule))) goto fail;
    if ((rc = mcr_train_init(&tr->st, np, n, c->seed, MCR_STREAM_FIT))) goto fail;
    tr->x0 = malloc(bd * sizeof(float));
    tr->eps = malloc(((size_t)B * dg + 1) * sizeof(float));
    tr->gp = malloc((2 * (size_t)B * dg + 1) * sizeof(float));
    tr->xt = malloc(bd * sizeof(float));
    tr->dout = malloc(bd * sizeof(float));
    tr->t = malloc((size_t)B * sizeof(int));
    tr->y = malloc((size_t)B * sizeof(int));
    tr->c0 = malloc(((size_t)B * nblk + 1) * sizeof(int32_t));
    tr->ct = malloc(((size_t)B * nblk + 1) * sizeof(int32_t));
    tr->scratch = malloc(((size_t)omp_get_max_threads() * 4 * tr->Kmax + 1) * sizeof(float));
    tr->rowloss = malloc((size_t)B * sizeof(double));
    if (!tr->x0 || !tr->eps || !tr->gp || !tr->xt || !tr->dout || !tr->t || !tr->y || !tr->c0 ||
        !tr->ct || !tr->scratch || !tr->rowloss) {
        rc = MCR_NOMEM();
        goto fail;
    }
    mcr_optim *o = &tr->st.opt;
    mcr_net_init_params(&tr->net, o->p, c->seed);
    memcpy(o->ema, o->p, np * sizeof(float));
    o->lr = c->lr;
    o->adam.weight_decay = c->weight_decay;
    o->warmup = c->warmup;
    o->steps = c->steps;
    o->grad_clip = c->grad_clip;
    o->ema_decay = c->ema_decay;
    return MCR_OK;
fail:
    mcr_trainer_free(tr);
    return rc;
}

void mcr_trainer_free(mcr_trainer *tr) {
    mcr_net_free(&tr->net);
    mcr_sched_free(&tr->sched);
    mcr_train_free(&tr->st);
    free(tr->x0);
    free(tr->eps);
    free(tr->gp);
    free(tr->xt);
    free(tr->dout);
    free(tr->t);
    free(tr->y);
    free(tr->c0);
    free(tr->ct);
    free(tr->scratch);
    free(tr->rowloss);
    memset(tr, 0, sizeof *tr);
}

/* Multinomial part of a training step, before the forward pass: x_t's blocks drawn from
 * q(x_t | x_0) (keep x_0 with probability abar_t, else a uniform level), as one-hot dims of
 * xt and as indices in ct. */
static void mn_noise(mcr_trainer *tr, uint64_t seed, int step) {
    int B = tr->B, d = tr->net.d, nb = tr->nblk;
    mcr_rng r;
    mcr_rng_seed(&r, seed, MCR_STREAM_FIT_LEVELS + (uint64_t)step);
    for (int i = 0; i < B; i++) {
        double a = tr->sched.abar[tr->t[i]];
        float *row = tr->xt + (size_t)i * d;
        for (int b = 0; b < nb; b++) {
            int K = tr->bK[b], k0 = tr->c0[(size_t)i * nb + b];
            int k = mcr_rng_uniform(&r) < a ? k0 : (int)mcr_rng_below(&r, (uint64_t)K);
            float *o = row + tr->boff[b];
            memset(o, 0, (size_t)K * sizeof(float));
            o[k] = 1;
            tr->ct[(size_t)i * nb + b] = k;
        }
    }
}

/* After the forward pass: the per-column KL (decoder NLL at t = 0) and its gradient into dout.
 * TabDDPM's weighting: T * L_t per column (the 1/p(t) of uniform time sampling), summed over
 * columns, averaged over rows, divided by the number of columns. Returns that loss. */
static double mn_loss_batch(mcr_trainer *tr, int lo, int B) { /* rows [lo, lo + B) of the batch */
    int d = tr->net.d, nb = tr->nblk, T = tr->sched.T;
    float w = (float)T / ((float)B * nb);
    const float *out = tr->net.out;
#pragma omp parallel for schedule(static)
    for (int i = 0; i < B; i++) {
        float *scr = tr->scratch + (size_t)omp_get_thread_num() * 4 * tr->Kmax;
        int t = tr->t[lo + i];
        double at = tr->sched.abar[t], as = mcr_abar_prev(&tr->sched, t), sum = 0;
        for (int b = 0; b < nb; b++) {
            size_t o = (size_t)i * d + tr->boff[b], ib = (size_t)(lo + i) * nb + b;
            sum += mn_loss(tr->dout + o, out + o, tr->c0[ib], tr->ct[ib], tr->bK[b], at, as, w, scr);
        }
        tr->rowloss[i] = sum;
    }
    double s = 0;
    for (int i = 0; i < B; i++) s += tr->rowloss[i];
    return s * T / ((double)B * nb);
}

/* mean squared error of out vs eps on the Gaussian columns [0, dg) (mse_forward_backward on
 * those columns gathered); gradient into dout */
static double gauss_loss(mcr_trainer *tr, int lo, int B) { /* rows [lo, lo + B) of the batch */
    int d = tr->net.d, dg = tr->dg;
    size_t n = (size_t)B * dg;
    const float *eps = tr->eps + (size_t)lo * dg;
    if (dg == d) return mse_forward_backward(tr->dout, tr->net.out, eps, n);
    if (dg == 0) return 0;
    float *pred = tr->gp, *dpred = tr->gp + n;
    for (int i = 0; i < B; i++)
        memcpy(pred + (size_t)i * dg, tr->net.out + (size_t)i * d, (size_t)dg * sizeof(float));
    double loss = mse_forward_backward(dpred, pred, eps, n);
    for (int i = 0; i < B; i++)
        memcpy(tr->dout + (size_t)i * d, dpred + (size_t)i * dg, (size_t)dg * sizeof(float));
    return loss;
}

/* The gradient of rows [lo, hi) of the batch (the mean over those rows), for data-parallel
 * training: the time steps, Gaussian and multinomial noise are drawn for the whole batch, so
 * each row gets the same draws whichever process trains on it (only dropout masks, keyed on
 * lo, differ from one process's). lo = 0, hi = B is mcr_trainer_grad. */
static double trainer_grad_rows(mcr_trainer *tr, uint64_t seed, int step, mcr_rng *r, int lo, int hi) {
    int B = tr->B, d = tr->net.d, dg = tr->dg, nl = hi - lo;
    float *p = tr->st.opt.p, *g = tr->st.opt.g;
    for (int i = 0; i < B; i++) tr->t[i] = (int)mcr_rng_below(r, (uint64_t)tr->sched.T);
    mcr_fill_normal(tr->eps, (size_t)B * dg, seed, MCR_STREAM_FIT_NOISE + (uint64_t)step);
    memset(g, 0, tr->st.opt.n * sizeof(float));
    if (nl <= 0) return 0; /* more processes than rows in the batch: nothing here */
    float *xt = tr->xt + (size_t)lo * d;
    q_sample(xt, tr->x0 + (size_t)lo * d, tr->eps + (size_t)lo * dg, tr->t + lo, &tr->sched, nl, dg, d);
    if (tr->nblk) mn_noise(tr, seed, step);
    mcr_net_forward(&tr->net, p, xt, tr->t + lo, tr->y + lo, nl, 1,
                    seed + (uint64_t)lo * 0x9E3779B97F4A7C15ULL, MCR_STREAM_DROPOUT + (uint64_t)step);
    double loss = gauss_loss(tr, lo, nl);
    if (tr->nblk) loss += mn_loss_batch(tr, lo, nl);
    if (!isfinite(loss)) return loss;
    mcr_net_backward(&tr->net, p, g, tr->dout, xt, tr->y + lo, nl);
    return loss;
}

/* The gradient of the batch rows this rank owns (data-parallel training over a part table):
 * own[0..nown) their positions in the batch, ascending. The draws of the whole batch are made
 * as in trainer_grad_rows (the multinomial ones in batch order), then the owned rows are moved
 * to the front and trained on; dropout masks are keyed on `key` (the rank). */
static double trainer_grad_owned(mcr_trainer *tr, uint64_t seed, int step, mcr_rng *r, const int *own, int nown,
                                 uint64_t key) {
    int B = tr->B, d = tr->net.d, dg = tr->dg, nb = tr->nblk;
    float *p = tr->st.opt.p, *g = tr->st.opt.g;
    for (int i = 0; i < B; i++) tr->t[i] = (int)mcr_rng_below(r, (uint64_t)tr->sched.T);
    mcr_fill_normal(tr->eps, (size_t)B * dg, seed, MCR_STREAM_FIT_NOISE + (uint64_t)step);
    memset(g, 0, tr->st.opt.n * sizeof(float));
    if (nown <= 0) return 0;
    if (nb) mn_noise(tr, seed, step);
    for (int j = 0; j < nown; j++) {
        int q = own[j];
        if (q == j) continue;
        memcpy(tr->x0 + (size_t)j * d, tr->x0 + (size_t)q * d, (size_t)d * sizeof(float));
        memcpy(tr->xt + (size_t)j * d, tr->xt + (size_t)q * d, (size_t)d * sizeof(float));
        memcpy(tr->eps + (size_t)j * dg, tr->eps + (size_t)q * dg, (size_t)dg * sizeof(float));
        tr->t[j] = tr->t[q], tr->y[j] = tr->y[q];
        if (nb) {
            memcpy(tr->c0 + (size_t)j * nb, tr->c0 + (size_t)q * nb, (size_t)nb * sizeof(int32_t));
            memcpy(tr->ct + (size_t)j * nb, tr->ct + (size_t)q * nb, (size_t)nb * sizeof(int32_t));
        }
    }
    q_sample(tr->xt, tr->x0, tr->eps, tr->t, &tr->sched, nown, dg, d);
    mcr_net_forward(&tr->net, p, tr->xt, tr->t, tr->y, nown, 1, seed + key * 0x9E3779B97F4A7C15ULL,
                    MCR_STREAM_DROPOUT + (uint64_t)step);
    double loss = gauss_loss(tr, 0, nown);
    if (nb) loss += mn_loss_batch(tr, 0, nown);
    if (!isfinite(loss)) return loss;
    mcr_net_backward(&tr->net, p, g, tr->dout, tr->xt, tr->y, nown);
    return loss;
}

double mcr_trainer_grad(mcr_trainer *tr, uint64_t seed, int step, mcr_rng *r) {
    return trainer_grad_rows(tr, seed, step, r, 0, tr->B);
}

/* ------------------------------------------------------------------ fit */
static int check_config(const mcr_fit_config *c) {
    if (!c->target) return mcr_err(MCR_EINVAL, "`target` is required");
    if (c->nwidths < 0 || c->nwidths > MCR_MAX_LAYERS)
        return mcr_err(MCR_EINVAL, "`widths`: between 0 and %d layers", MCR_MAX_LAYERS);
    for (int l = 0; l < c->nwidths; l++)
        if (c->widths[l] < 1 || c->widths[l] > 65536)
            return mcr_err(MCR_EINVAL, "`widths`: each width must be in 1..65536 (got %d)",
                           c->widths[l]);
    if (c->dim_t < 2 || c->dim_t > 4096 || c->dim_t % 2)
        return mcr_err(MCR_EINVAL, "`dim_t` must be even, in 2..4096 (got %d)", c->dim_t);
    if (c->T < 2 || c->T > 100000) return mcr_err(MCR_EINVAL, "`T` must be in 2..100000 (got %d)", c->T);
    if (c->steps < 1) return mcr_err(MCR_EINVAL, "`steps` must be at least 1 (got %d)", c->steps);
    if (c->batch < 1) return mcr_err(MCR_EINVAL, "`batch` must be at least 1 (got %d)", c->batch);
    if (!(c->lr > 0 && c->lr < 10)) return mcr_err(MCR_EINVAL, "`lr` must be in (0, 10)");
    if (!(c->dropout >= 0 && c->dropout < 1)) return mcr_err(MCR_EINVAL, "`dropout` must be in [0, 1)");
    if (!(c->p_uncond >= 0 && c->p_uncond < 1))
        return mcr_err(MCR_EINVAL, "`p_uncond` must be in [0, 1)");
    if (!(c->ema_decay >= 0 && c->ema_decay < 1))
        return mcr_err(MCR_EINVAL, "`ema_decay` must be in [0, 1)");
    if (c->warmup < 0 || c->warmup >= c->steps)
        return mcr_err(MCR_EINVAL, "`warmup` must be in [0, steps)");
    if (c->catmode != MCR_CAT_ONEHOT && c->catmode != MCR_CAT_MULTINOMIAL)
        return mcr_err(MCR_EINVAL, "`categorical_mode` must be onehot or multinomial");
    if (c->min_level_count < 1)
        return mcr_err(MCR_EINVAL, "`min_level_count` must be at least 1 (got %d)", c->min_level_count);
    int bf;
    int rc = mcr_bf16_resolve(c->precision, &bf); /* bf16 on a CPU without it: refused here */
    if (rc) return rc;
    if ((c->condition == MCR_COND_SENSITIVE || c->condition == MCR_COND_BOTH) && !c->sensitive)
        return mcr_err(MCR_EINVAL, "`condition` %s needs `sensitive` COL",
                       c->condition == MCR_COND_BOTH ? "both" : "sensitive");
    return MCR_OK;
}

static int find_cat(const mcr_table *t, const char *name, const char *opt, int *out) {
    int j = mcr_table_find(t, name);
    if (j < 0)
        return mcr_err(MCR_EINVAL, "%s: column '%s' does not exist in %s", opt, name,
                       mcr_table_source(t));
    if (t->cols[j].type != MCR_COL_CATEGORICAL)
        return mcr_err(MCR_EINVAL,
                       "%s: column '%s' is numeric (not at most 20 integer codes); a condition "
                       "must be categorical (declare it with `categorical` %s)",
                       opt, name, name);
    *out = j;
    return MCR_OK;
}

/* Condition index of row i, or ncond ("null") when its condition value is missing. */
static int row_cond(const mcr_model *m, const mcr_table *t, size_t i) {
    int a = m->target >= 0 ? t->cols[m->target].cat[i] : -1;
    int g = m->sensitive >= 0 ? t->cols[m->sensitive].cat[i] : -1;
    switch (m->condition) {
    case MCR_COND_TARGET: return a >= 0 ? a : m->ncond;
    case MCR_COND_SENSITIVE: return g >= 0 ? g : m->ncond;
    default: {
        int G = t->cols[m->sensitive].nlevels;
        return (a >= 0 && g >= 0) ? a * G + g : m->ncond;
    }
    }
}

/* Schema and conditions of a new model (no network yet). */
int mcr_fit_identifiers(const mcr_table *t, const mcr_fit_config *c, int *reason) {
    int rc = mcr_table_identifiers(t, reason);
    if (rc) return rc;
    int nf = 0, nd = 0;
    char **feat = mcr_split_list(c->features, &nf), **drop = mcr_split_list(c->drop, &nd);
    if ((c->features && !feat) || (c->drop && !drop)) {
        free(feat), free(drop);
        return MCR_NOMEM();
    }
    for (int i = 0; i < nf && !rc; i++)
        if (mcr_table_find(t, feat[i]) < 0)
            rc = mcr_err(MCR_EINVAL, "feature column '%s' does not exist in %s", feat[i], mcr_table_source(t));
    for (int j = 0; j < t->ncols && !rc; j++) {
        const char *name = t->cols[j].name;
        int keep = (c->target && !strcmp(name, c->target)) || (c->sensitive && !strcmp(name, c->sensitive));
        for (int i = 0; i < nf; i++) keep |= !strcmp(feat[i], name);
        for (int i = 0; i < nd; i++) keep |= !strcmp(drop[i], name);
        if (keep) reason[j] = MCR_IDENT_NONE;
    }
    free(feat), free(drop);
    return rc;
}

static int model_setup(const mcr_table *t, const mcr_fit_config *c, mcr_model **out) {
    int rc;
    mcr_model *m = calloc(1, sizeof *m);
    if (!m) return MCR_NOMEM();
    m->target = m->sensitive = -1;
    m->condition = c->condition;
    if ((rc = find_cat(t, c->target, "`target`", &m->target))) goto fail;
    if (c->sensitive && (rc = find_cat(t, c->sensitive, "`sensitive`", &m->sensitive))) goto fail;
    if (m->sensitive == m->target) {
        rc = mcr_err(MCR_EINVAL, "`sensitive` must differ from `target`");
        goto fail;
    }
    if ((rc = mcr_table_new_like(t, 0, &m->schema))) goto fail;
    int Kt = t->cols[m->target].nlevels, Kg = m->sensitive >= 0 ? t->cols[m->sensitive].nlevels : 0;
    if (Kt < 2) {
        rc = mcr_err(MCR_EINVAL, "`target`: column '%s' has %s; there is nothing to rebalance",
                     c->target, Kt ? "a single class" : "no values");
        goto fail;
    }
    if ((m->condition != MCR_COND_TARGET) && Kg < 1) {
        rc = mcr_err(MCR_EINVAL, "`sensitive`: column '%s' has no values (all missing)", c->sensitive);
        goto fail;
    }
    m->ncond = m->condition == MCR_COND_TARGET ? Kt : m->condition == MCR_COND_SENSITIVE ? Kg : Kt * Kg;
    m->cond_names = calloc((size_t)m->ncond, sizeof(char *));
    m->cond_count = calloc((size_t)m->ncond, sizeof(size_t));
    m->cond_tlevel = malloc((size_t)m->ncond * sizeof(int));
    m->cond_glevel = malloc((size_t)m->ncond * sizeof(int));
    if (!m->cond_names || !m->cond_count || !m->cond_tlevel || !m->cond_glevel) goto nomem;
    for (int k = 0; k < m->ncond; k++) {
        int a = -1, g = -1;
        if (m->condition == MCR_COND_TARGET) a = k;
        else if (m->condition == MCR_COND_SENSITIVE) g = k;
        else a = k / Kg, g = k % Kg;
        m->cond_tlevel[k] = a;
        m->cond_glevel[k] = g;
        const char *an = a >= 0 ? t->cols[m->target].levels[a] : "";
        const char *gn = g >= 0 ? t->cols[m->sensitive].levels[g] : "";
        size_t len = strlen(an) + strlen(gn) + 2;
        if (!(m->cond_names[k] = malloc(len))) goto nomem;
        if (a >= 0 && g >= 0) snprintf(m->cond_names[k], len, "%s|%s", an, gn);
        else snprintf(m->cond_names[k], len, "%s", a >= 0 ? an : gn);
    }
    /* features: every column but the conditions, the dropped ones and identifier-like ones */
    int *ident = malloc((size_t)t->ncols * sizeof(int));
    if (!ident) goto nomem;
    if ((rc = mcr_fit_identifiers(t, c, ident))) {
        free(ident);
        goto fail;
    }
    int ndrop = 0;
    char **drop = mcr_split_list(c->drop, &ndrop);
    for (int i = 0; i < ndrop; i++)
        if (mcr_table_find(t, drop[i]) < 0) {
            rc = mcr_err(MCR_EINVAL, "`drop`: column '%s' does not exist in %s", drop[i],
                         mcr_table_source(t));
            free(drop);
            free(ident);
            goto fail;
        }
    if (!(m->feat = malloc((size_t)t->ncols * sizeof(int)))) {
        free(drop);
        free(ident);
        goto nomem;
    }
    for (int j = 0; j < t->ncols; j++) {
        int is_cond = (j == m->target && m->condition != MCR_COND_SENSITIVE) ||
                      (j == m->sensitive && m->condition != MCR_COND_TARGET);
        int dropped = 0;
        for (int i = 0; i < ndrop; i++) dropped |= strcmp(drop[i], t->cols[j].name) == 0;
        if (!is_cond && !dropped && !ident[j]) m->feat[m->nfeat++] = j;
    }
    free(drop);
    free(ident);
    if (m->nfeat == 0) {
        rc = mcr_err(MCR_EINVAL, "%s: no columns left to model besides the condition",
                     mcr_table_source(t));
        goto fail;
    }
    *out = m;
    return MCR_OK;
nomem:
    rc = MCR_NOMEM();
fail:
    mcr_model_free(m);
    return rc;
}

/* The training rows, encoded compactly: numeric values and one level index per block; one-hot
 * rows exist only for the batch being trained on. */
typedef struct fit_data {
    size_t n;      /* rows here */
    size_t N;      /* rows in all: n, or across ranks (a part table) every rank's */
    size_t row0;   /* a part table: the file row of this rank's first */
    uint8_t *hascond; /* a part table: [N] each row has a condition value (the p_uncond draw) */
    int ng, nb;
    float *X;      /* [n, ng] */
    int32_t *C;    /* [n, nb] */
    int *cond;     /* [n] condition index (ncond: none) */
    uint32_t crc;  /* fingerprint of X and C: a resumed run must train on the same */
} fit_data;

static void fit_data_free(fit_data *D) {
    free(D->hascond);
    free(D->X);
    free(D->C);
    free(D->cond);
    memset(D, 0, sizeof *D);
}

/* A part table's rows (every rank holds its own): the sampling bounds and condition counts
 * over every rank's rows, the data fingerprint of all rows in file order (crc32_combine: the
 * one a single process computes), and which of all rows have a condition value. */
static int encode_rows_part(mcr_model *m, const mcr_table *t, fit_data *D) {
    mcr_dist *dd = mcr_dist_get();
    int P = dd->size, d = m->enc->d, rc = MCR_OK;
    size_t n = D->n;
    D->N = t->ntotal, D->row0 = t->row0;
    float *mm = malloc(2 * (size_t)d * sizeof(float)), *all = malloc((size_t)P * 2 * (size_t)d * sizeof(float));
    double *cc = malloc(((size_t)m->ncond + 1) * sizeof(double));
    uint8_t *has = malloc(n + 1);
    uint64_t mine[4], *crcs = malloc((size_t)P * sizeof mine);
    char *hall = NULL;
    size_t *hoff = NULL;
    if (!mm || !all || !cc || !has || !crcs) rc = MCR_NOMEM();
    if ((rc = dist_agree(dd, rc))) goto done;
    memcpy(mm, m->xlo, (size_t)d * sizeof(float));
    memcpy(mm + d, m->xhi, (size_t)d * sizeof(float));
    if ((rc = dd->allgather(dd, mm, 2 * (size_t)d * sizeof(float), all))) goto done;
    for (int r = 0; r < P; r++)
        for (int k = 0; k < d; k++) {
            float lo = all[(size_t)r * 2 * d + k], hi = all[(size_t)r * 2 * d + d + k];
            if (lo < m->xlo[k]) m->xlo[k] = lo;
            if (hi > m->xhi[k]) m->xhi[k] = hi;
        }
    for (int k = 0; k < m->ncond; k++) cc[k] = (double)m->cond_count[k];
    if ((rc = dd->allreduce_sum_f64(dd, cc, (size_t)m->ncond))) goto done;
    for (int k = 0; k < m->ncond; k++) m->cond_count[k] = (size_t)cc[k];
    mine[0] = crc32(0L, (const unsigned char *)D->X, (uInt)(n * (size_t)D->ng * sizeof(float)));
    mine[1] = n * (size_t)D->ng * sizeof(float);
    mine[2] = crc32(0L, (const unsigned char *)D->C, (uInt)(n * (size_t)D->nb * sizeof(int32_t)));
    mine[3] = n * (size_t)D->nb * sizeof(int32_t);
    if ((rc = dd->allgather(dd, mine, sizeof mine, crcs))) goto done;
    uLong cx = crc32(0L, Z_NULL, 0), cb = crc32(0L, Z_NULL, 0);
    uint64_t lc = 0;
    for (int r = 0; r < P; r++) {
        cx = crc32_combine(cx, (uLong)crcs[4 * r], (z_off_t)crcs[4 * r + 1]);
        cb = crc32_combine(cb, (uLong)crcs[4 * r + 2], (z_off_t)crcs[4 * r + 3]);
        lc += crcs[4 * r + 3];
    }
    D->crc = (uint32_t)crc32_combine(cx, cb, (z_off_t)lc);
    for (size_t i = 0; i < n; i++) has[i] = D->cond[i] < m->ncond;
    if ((rc = dist_allgatherv(dd, has, n, &hall, &hoff))) goto done;
    if (hoff[P] != D->N) rc = MCR_EINTERNAL;
    D->hascond = (uint8_t *)hall;
    hall = NULL;
done:
    free(mm);
    free(all);
    free(cc);
    free(has);
    free(crcs);
    free(hall);
    free(hoff);
    return rc;
}

/* Fit the encoder, encode the rows, set the sampling bounds and the condition counts. */
static int encode_rows(mcr_model *m, const mcr_table *t, const size_t *rows, size_t nrows,
                       const mcr_fit_config *c, fit_data *D) {
    int rc;
    memset(D, 0, sizeof *D);
    if ((rc = mcr_encoder_fit_ex(t, m->feat, m->nfeat, rows, nrows, c->numeric, 1,
                                 c->min_level_count, &m->enc)))
        return rc;
    for (int a = 0; a < m->nfeat; a++) {
        const mcr_encfeat *f = &m->enc->f[a];
        if (f->type == MCR_COL_CATEGORICAL && f->width > MCR_MAX_ONEHOT)
            return mcr_err(MCR_EINVAL,
                           "%s: column '%s' has %d levels (more than %d); pool the rare ones with "
                           "`min_level_count` N or leave the column out with `drop` %s",
                           mcr_table_source(t), t->cols[f->col].name, f->width, MCR_MAX_ONEHOT,
                           t->cols[f->col].name);
    }
    int d = m->enc->d, ng = m->enc->ng, nb = m->enc->nblk;
    D->n = nrows, D->ng = ng, D->nb = nb;
    D->X = malloc((nrows * (size_t)ng + 1) * sizeof(float));
    D->C = malloc((nrows * (size_t)nb + 1) * sizeof(int32_t));
    D->cond = malloc((nrows + 1) * sizeof(int)); /* a rank of a part table may hold no rows */
    m->xlo = malloc((size_t)d * sizeof(float));
    m->xhi = malloc((size_t)d * sizeof(float));
    if (!D->X || !D->C || !D->cond || !m->xlo || !m->xhi) return MCR_NOMEM();
    if ((rc = mcr_encoder_codes(m->enc, t, rows, nrows, D->X, D->C))) return rc;
    /* the encoded training range of each column bounds x0_hat during sampling */
    for (int k = 0; k < d; k++) m->xlo[k] = k < ng ? INFINITY : 0, m->xhi[k] = k < ng ? -INFINITY : 1;
    for (size_t i = 0; i < nrows; i++)
        for (int k = 0; k < ng; k++) {
            float v = D->X[i * ng + k];
            if (v < m->xlo[k]) m->xlo[k] = v;
            if (v > m->xhi[k]) m->xhi[k] = v;
        }
    for (size_t r = 0; r < nrows; r++) {
        D->cond[r] = row_cond(m, t, rows ? rows[r] : r);
        if (D->cond[r] < m->ncond) m->cond_count[D->cond[r]]++;
    }
    D->crc = (uint32_t)crc32(0L, (const unsigned char *)D->X, (uInt)(nrows * (size_t)ng * sizeof(float)));
    D->crc = (uint32_t)crc32(D->crc, (const unsigned char *)D->C, (uInt)(nrows * (size_t)nb * sizeof(int32_t)));
    D->N = nrows;
    return t->part && !rows ? encode_rows_part(m, t, D) : MCR_OK;
}

/* The network layout, the trainer (weights, optimiser, epoch order over the rows) and the
 * loss curve. */
static int setup_trainer(mcr_trainer *tr, mcr_model *m, const fit_data *D, const mcr_fit_config *c) {
    int B = (size_t)c->batch < D->N ? c->batch : (int)D->N, multi = c->catmode == MCR_CAT_MULTINOMIAL;
    m->cfg.batch = B;
    mcr_net_layout(&m->net, m->enc->d, c->dim_t, m->ncond, c->widths, c->nwidths, c->act, c->dropout);
    int rc = mcr_trainer_init(tr, &m->net, B, c, D->N, multi ? D->ng : m->enc->d, multi ? D->nb : 0,
                              m->enc->boff, m->enc->bK);
    if (rc) return rc;
    tr->st.data_crc = D->crc;
    tr->st.cfg_crc = cfg_checksum(c, m->enc->d, m->ncond, D->N);
    int every = c->steps / 200 > 0 ? c->steps / 200 : 1;
    if (!(m->loss_curve = malloc(((size_t)c->steps / every + 2) * sizeof(float)))) return MCR_NOMEM();
    return MCR_OK;
}

/* Continue a checkpoint: same data and settings, then its exact state and loss curve. */
static int resume(mcr_trainer *tr, mcr_model *m, const mcr_model *ck) {
    const mcr_train_state *s = ck->state;
    if (!s)
        return mcr_err(MCR_EINVAL, "`resume`: the model file holds no training state (fit with `checkpoint_every`)");
    if (s->data_crc != tr->st.data_crc || s->cfg_crc != tr->st.cfg_crc ||
        ck->net.nparams != m->net.nparams || s->n != tr->st.n)
        return mcr_err(MCR_EINVAL, "`resume`: the checkpoint was made with other data or settings "
                                   "(give fit the same CSV and options)");
    mcr_train_copy(&tr->st, s);
    memcpy(m->loss_curve, ck->loss_curve, (size_t)ck->nloss * sizeof(float));
    m->nloss = ck->nloss;
    m->final_loss = ck->final_loss;
    return MCR_OK;
}

/* The next B rows of the epoch order into x0 (one-hot blocks), c0 and y (the condition, or
 * the null condition with probability p_uncond). */
/* local row i of D into batch row b: its numeric values, one-hot blocks and level codes */
static void put_row(mcr_trainer *tr, const mcr_model *m, const fit_data *D, size_t i, int b) {
    int d = m->net.d, ng = D->ng, nb = D->nb;
    const int *boff = m->enc->boff;
    float *x0 = tr->x0 + (size_t)b * d;
    memcpy(x0, D->X + i * ng, (size_t)ng * sizeof(float));
    memset(x0 + ng, 0, (size_t)(d - ng) * sizeof(float));
    for (int k = 0; k < nb; k++) {
        x0[boff[k] + D->C[i * nb + k]] = 1;
        if (tr->nblk) tr->c0[(size_t)b * nb + k] = D->C[i * nb + k];
    }
}

static void fill_batch(mcr_trainer *tr, const mcr_model *m, const fit_data *D, float p_uncond) {
    for (int b = 0; b < tr->B; b++) {
        size_t i = mcr_train_next(&tr->st);
        put_row(tr, m, D, i, b);
        int y = D->cond[i];
        if (y < m->ncond && mcr_rng_uniform(&tr->st.rng) < p_uncond) y = m->ncond;
        tr->y[b] = y;
    }
}

/* fill_batch over a part table: the epoch order is over all rows of every rank, so every rank
 * draws the same batch; it fills the rows it holds and lists their batch positions in own
 * (the others get level 0 for the multinomial draws, which are made for every row). The
 * p_uncond draw is made, as in one process, for each row with a condition value. */
static void fill_batch_part(mcr_trainer *tr, const mcr_model *m, const fit_data *D, float p_uncond, int *own,
                            int *nown) {
    int nb = D->nb;
    *nown = 0;
    for (int b = 0; b < tr->B; b++) {
        size_t g = mcr_train_next(&tr->st);
        int y = m->ncond;
        if (g >= D->row0 && g - D->row0 < D->n) {
            size_t i = g - D->row0;
            put_row(tr, m, D, i, b);
            y = D->cond[i];
            own[(*nown)++] = b;
        } else if (tr->nblk)
            memset(tr->c0 + (size_t)b * nb, 0, (size_t)nb * sizeof(int32_t));
        if (D->hascond[g] && mcr_rng_uniform(&tr->st.rng) < p_uncond) y = m->ncond;
        tr->y[b] = y;
    }
}

/* Per-row denoising loss (mcr_model_row_loss): the rows of S through the model's encoder, then
 * for each of nt time steps t_k = (k + 1/2) T / nt, the same for every row, the loss the model
 * was trained on, row by row: the Gaussian columns' mean squared noise error plus the
 * multinomial columns' weighted KL (as in mn_loss_batch), with the EMA weights and no dropout
 * or condition dropout. Noise is keyed on (seed, k, first row of the chunk). */
int mcr_model_row_loss(const mcr_model *m, const mcr_table *S, int nt, uint64_t seed, double *loss) {
    if (!m->ema) return mcr_err(MCR_EINVAL, "the model has no trained weights");
    if (nt < 1 || nt > m->cfg.T) return mcr_err(MCR_EINVAL, "row loss: time steps must be in 1..%d (got %d)", m->cfg.T, nt);
    if (S->ncols != m->schema->ncols) return mcr_err(MCR_EINVAL, "row loss: the rows do not have the model's columns");
    size_t n = S->nrows;
    for (size_t i = 0; i < n; i++) loss[i] = 0;
    if (n == 0) return MCR_OK;
    const mcr_encoder *e = m->enc;
    int multi = m->cfg.catmode == MCR_CAT_MULTINOMIAL, d = m->net.d;
    int B = n < 512 ? (int)n : 512, dg = multi ? e->ng : d, nb = multi ? e->nblk : 0;
    fit_data D;
    memset(&D, 0, sizeof D);
    D.n = D.N = n, D.ng = e->ng, D.nb = e->nblk;
    D.X = malloc((n * (size_t)e->ng + 1) * sizeof(float));
    D.C = malloc((n * (size_t)e->nblk + 1) * sizeof(int32_t));
    D.cond = malloc((n + 1) * sizeof(int));
    mcr_trainer tr;
    memset(&tr, 0, sizeof tr);
    int rc = D.X && D.C && D.cond ? MCR_OK : MCR_NOMEM();
    if (!rc) rc = mcr_encoder_codes(e, S, NULL, n, D.X, D.C);
    for (size_t i = 0; !rc && i < n; i++) D.cond[i] = row_cond(m, S, i);
    mcr_fit_config fc = m->cfg;
    fc.dropout = 0;
    if (!rc) rc = mcr_trainer_init(&tr, &m->net, B, &fc, n, dg, nb, e->boff, e->bK);
    if (rc) goto done;
    tr.net.dropout = 0;
    memcpy(tr.st.opt.p, m->ema, m->net.nparams * sizeof(float));
    for (int k = 0; k < nt; k++) {
        int tk = (int)(((double)k + 0.5) * m->cfg.T / nt);
        for (size_t i0 = 0; i0 < n; i0 += (size_t)B) {
            int nl = n - i0 < (size_t)B ? (int)(n - i0) : B;
            for (int b = 0; b < B; b++) { /* the chunk's rows; a short last chunk repeats its last row */
                size_t i = i0 + (size_t)(b < nl ? b : nl - 1);
                put_row(&tr, m, &D, i, b);
                tr.y[b] = D.cond[i];
                tr.t[b] = tk;
            }
            uint64_t key = seed ^ (0x9E3779B97F4A7C15ull * (i0 + 1));
            mcr_fill_normal(tr.eps, (size_t)B * dg, key, MCR_STREAM_FIT_NOISE + (uint64_t)k);
            q_sample(tr.xt, tr.x0, tr.eps, tr.t, &tr.sched, B, dg, d);
            if (nb) mn_noise(&tr, key, k);
            mcr_net_forward(&tr.net, tr.st.opt.p, tr.xt, tr.t, tr.y, B, 0, 0, 0);
            if (nb) mn_loss_batch(&tr, 0, B);
            const float *out = tr.net.out;
            for (int b = 0; b < nl; b++) {
                double se = 0;
                for (int j = 0; j < dg; j++) {
                    double r = (double)out[(size_t)b * d + j] - tr.eps[(size_t)b * dg + j];
                    se += r * r;
                }
                double l = dg ? se / dg : 0;
                if (nb) l += tr.rowloss[b] * m->cfg.T / nb; /* the KL terms, weighted as in training */
                loss[i0 + (size_t)b] += l / nt;
            }
        }
    }
done:
    mcr_trainer_free(&tr);
    fit_data_free(&D);
    return rc;
}

/* A checkpoint: the model so far, the trainer's EMA as its weights, the trainer state. */
static int write_checkpoint(const mcr_model *m, const mcr_trainer *tr, const char *path) {
    return mcr_model_write(m, tr->st.opt.ema, &tr->st, path);
}

/* Across processes (mcr_dist_get()->size > 1; dist.h): every rank draws the whole batch and
 * its noise, computes the gradient of its share of the rows (dist_range), and one allreduce
 * per step sums the shares weighted by their row counts, with the loss and a stop flag at
 * the end of the buffer: every rank then takes the same optimiser step, stops at the same
 * step, and rank 0 alone writes checkpoints. */
static int dist_step(mcr_dist *dd, mcr_trainer *tr, float *red, size_t lo, size_t hi, double *loss,
                     int *stop) {
    size_t n = tr->st.opt.n;
    float w = (float)(hi - lo) / (float)tr->B, *g = tr->st.opt.g;
    for (size_t i = 0; i < n; i++) red[i] = g[i] * w;
    red[n] = (float)(*loss * w);
    red[n + 1] = (float)*stop;
    int rc = dd->allreduce_sum(dd, red, n + 2);
    if (rc) return rc;
    memcpy(g, red, n * sizeof(float));
    *loss = red[n];
    *stop = red[n + 1] > 0;
    return MCR_OK;
}

/* All ranks hold the same weights after training (the same bits: MPI's sum is the same on
 * every rank); checked with a CRC of the weights and moments, so a drift is an error. */
static int dist_check_same(mcr_dist *dd, const mcr_optim *o) {
    uint32_t crc = (uint32_t)crc32(0L, (const unsigned char *)o->p, (uInt)(o->n * sizeof(float)));
    crc = (uint32_t)crc32(crc, (const unsigned char *)o->ema, (uInt)(o->n * sizeof(float)));
    uint32_t *all = malloc((size_t)dd->size * sizeof(uint32_t));
    int rc = all ? MCR_OK : MCR_NOMEM();
    if (!rc) rc = dd->allgather(dd, &crc, sizeof crc, all);
    for (int r = 1; !rc && r < dd->size; r++)
        if (all[r] != all[0])
            rc = mcr_err(MCR_EINTERNAL, "data-parallel fit: the weights of rank %d differ from rank 0's", r);
    free(all);
    return rc;
}

/* Steps from the trainer's current one to c->steps: batch, gradient, update, loss curve,
 * progress, checkpoints. */
static int train_steps(mcr_trainer *tr, mcr_model *m, const fit_data *D, const mcr_fit_config *c,
                       mcr_dist *dd, float *red, size_t lo, size_t hi, int *own, int *stop) {
    mcr_train_state *s = &tr->st;
    int every = c->steps / 200 > 0 ? c->steps / 200 : 1;
    double t0 = mcr_now();
    while (s->step < c->steps) {
        int step = s->step;
        double loss;
        if (own) { /* a part table: the batch rows this rank holds */
            int nown;
            fill_batch_part(tr, m, D, c->p_uncond, own, &nown);
            loss = trainer_grad_owned(tr, c->seed, step, &s->rng, own, nown, (uint64_t)dd->rank);
            lo = 0, hi = (size_t)nown;
        } else {
            fill_batch(tr, m, D, c->p_uncond);
            loss = trainer_grad_rows(tr, c->seed, step, &s->rng, (int)lo, (int)hi);
        }
        if (red) {
            int rc = dist_step(dd, tr, red, lo, hi, &loss, stop);
            if (rc) return rc;
            if (*stop)
                return mcr_err(MCR_ECANCELED, "cancelled at step %d of %d; nothing was written",
                               s->step, c->steps);
        }
        if (!isfinite(loss))
            return mcr_err(MCR_ENUMERIC,
                           "training diverged at step %d (loss is %s); nothing was written; try a "
                           "lower `lr` or `grad_clip`",
                           step + 1, isnan(loss) ? "NaN" : "infinite");
        mcr_optim_apply(&s->opt, step);
        s->step = step + 1;
        s->acc += loss, s->nacc++;
        s->window += loss, s->nwin++;
        if (s->nwin == every) {
            m->loss_curve[m->nloss++] = (float)(s->window / s->nwin);
            s->window = 0, s->nwin = 0;
        }
        int last = s->step == c->steps;
        if (c->progress && (last || (c->progress_every > 0 && s->step % c->progress_every == 0))) {
            double el = mcr_now() - t0;
            if (c->progress(c->progress_ctx, s->step, c->steps, (float)(s->acc / s->nacc),
                            el > 0 ? (double)s->step * tr->B / el : 0)) {
                if (red) *stop = 1; /* every rank stops at the next step's allreduce */
                else return mcr_err(MCR_ECANCELED, "cancelled at step %d of %d; nothing was written",
                                    s->step, c->steps);
            }
        }
        if (last || s->step % 100 == 0) {
            m->final_loss = (float)(s->acc / s->nacc);
            s->acc = 0, s->nacc = 0;
        }
        if (c->checkpoint_every > 0 && c->checkpoint_path && !last && s->step % c->checkpoint_every == 0) {
            int rc = dd->rank == 0 ? write_checkpoint(m, tr, c->checkpoint_path) : MCR_OK;
            if ((rc = dist_agree(dd, rc))) return rc;
        }
    }
    m->train_seconds = mcr_now() - t0;
    return MCR_OK;
}

static int train_loop(mcr_trainer *tr, mcr_model *m, const fit_data *D, const mcr_fit_config *c) {
    mcr_train_state *s = &tr->st;
    mcr_dist *dd = mcr_dist_get();
    size_t lo = 0, hi = (size_t)tr->B;
    float *red = NULL;
    int stop = 0, *own = NULL;
    if (dd->size > 1) {
        dist_range((size_t)tr->B, dd->rank, dd->size, &lo, &hi);
        if (!(red = malloc((s->opt.n + 2) * sizeof(float)))) return MCR_NOMEM();
        if (D->hascond && !(own = malloc((size_t)tr->B * sizeof(int)))) return free(red), MCR_NOMEM();
    }
    int rc = train_steps(tr, m, D, c, dd, red, lo, hi, own, &stop);
    free(own);
    if (!rc && dd->size > 1) rc = dist_check_same(dd, &s->opt); /* on every rank, even a stopping one */
    if (!rc && stop) rc = mcr_err(MCR_ECANCELED, "cancelled at step %d of %d; nothing was written", s->step, c->steps);
    free(red);
    if (!rc && s->nwin) m->loss_curve[m->nloss++] = (float)(s->window / s->nwin);
    return rc;
}

int mcr_model_fit(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_fit_config *c,
                  mcr_model **out) {
    *out = NULL;
    int rc = check_config(c);
    if (rc) return rc;
    if (!rows) nrows = t->nrows;
    if (t->part && rows) return mcr_err(MCR_EINVAL, "a table read across ranks is fitted on all its rows");
    if ((t->part ? t->ntotal : nrows) < 2)
        return mcr_err(MCR_EINVAL, "%s: %zu data rows; at least 2 are needed to fit a model",
                       mcr_table_source(t), t->part ? t->ntotal : nrows);
    /* a target / sensitive column of a few integer codes (0/1/2, as evaluate and augment take
     * them) is modelled as their levels, in a copy */
    int roles[2] = {c->target ? mcr_table_find(t, c->target) : -1, c->sensitive ? mcr_table_find(t, c->sensitive) : -1};
    for (int i = 0; i < 2; i++)
        if (roles[i] >= 0 && !mcr_int_codes(t, roles[i])) roles[i] = -1;
    mcr_table *lv = NULL;
    if ((rc = mcr_table_levelled(t, roles, 2, &lv))) return rc;
    if (lv) t = lv;
    mcr_model *m = NULL;
    if ((rc = model_setup(t, c, &m))) return mcr_table_free(lv), rc;
    m->cfg = *c;
    m->cfg.target = m->cfg.sensitive = m->cfg.drop = NULL;
    m->cfg.progress = NULL;
    m->cfg.progress_ctx = NULL;
    m->cfg.checkpoint_path = NULL;
    m->cfg.resume = NULL;
    m->cfg.checkpoint_every = 0;
    int bf16 = 0;
    mcr_bf16_resolve(c->precision, &bf16); /* checked by check_config */
    m->cfg.precision = bf16 ? MCR_PRECISION_BF16 : MCR_PRECISION_FP32; /* what ran, for the file */
    m->version = MCR_MODEL_VERSION;
    fit_data D;
    mcr_trainer tr;
    memset(&tr, 0, sizeof tr);
    if (!(rc = encode_rows(m, t, rows, nrows, c, &D)) && !(rc = setup_trainer(&tr, m, &D, c)) && c->resume)
        rc = resume(&tr, m, c->resume);
    /* across processes every rank enters the loop, or none does (see train_loop) */
    if ((rc = dist_agree(mcr_dist_get(), rc)) || (rc = train_loop(&tr, m, &D, c))) goto fail;
    size_t np = m->net.nparams; /* keep the EMA weights, free the rest */
    if (!(m->ema = malloc(np * sizeof(float)))) {
        rc = MCR_NOMEM();
        goto fail;
    }
    memcpy(m->ema, tr.st.opt.ema, np * sizeof(float));
    mcr_trainer_free(&tr);
    fit_data_free(&D);
    mcr_table_free(lv);
    *out = m;
    return MCR_OK;
fail:
    mcr_trainer_free(&tr);
    fit_data_free(&D);
    mcr_model_free(m);
    mcr_table_free(lv);
    return rc;
}

/* ------------------------------------------------------------------ sample */
int mcr_model_ncond(const mcr_model *m) { return m->ncond; }
mcr_condition mcr_model_condition(const mcr_model *m, const char **target, const char **sensitive) {
    if (target) *target = m->target >= 0 ? m->schema->cols[m->target].name : NULL;
    if (sensitive) *sensitive = m->sensitive >= 0 ? m->schema->cols[m->sensitive].name : NULL;
    return (mcr_condition)m->condition;
}
const char *mcr_model_cond_name(const mcr_model *m, int c) { return m->cond_names[c]; }
size_t mcr_model_cond_count(const mcr_model *m, int c) { return m->cond_count[c]; }
size_t mcr_model_nparams(const mcr_model *m) { return m->net.nparams; }
float mcr_model_final_loss(const mcr_model *m) { return m->final_loss; }

int mcr_model_cond_find(const mcr_model *m, const char *name) {
    for (int c = 0; c < m->ncond; c++)
        if (strcmp(m->cond_names[c], name) == 0) return c;
    /* numeric spellings: "1.0" finds "1" */
    char k1[64], k2[64];
    size_t l1 = mcr_numeric_key(name, strlen(name), k1);
    if (l1)
        for (int c = 0; c < m->ncond; c++) {
            size_t l2 = mcr_numeric_key(m->cond_names[c], strlen(m->cond_names[c]), k2);
            if (l2 == l1 && !memcmp(k1, k2, l1)) return c;
        }
    return -1;
}

/* What the reverse process needs besides the network: the Gaussian columns [0, dg) with
 * their clipping range, and the multinomial blocks (nblk = 0 in one-hot mode). */
typedef struct {
    int dg, nblk, Kmax, sumK;
    const int *boff, *bK;
    const float *lo, *hi;
} mixed;

/* Reverse process for B rows of condition c from noise in x [B, d] (one-hot blocks set to
 * their level indices in xc [B, nblk]); result in x. z holds B * dg floats, u B * sumK,
 * scratch threads * 2 Kmax. */
static void denoise(mcr_net *net, const float *p, const mcr_sched *s, const mcr_sample_config *sc,
                    const mixed *mx, float *x, float *x2, float *z, float *u, float *x0l, int32_t *xc,
                    float *scratch, int *tv, int *yv, int B, int c, int ncond, uint64_t stream) {
    int d = net->d, dg = mx->dg, nb = mx->nblk, guided = sc->guidance != 0;
    int BB = guided ? 2 * B : B;
    size_t n = (size_t)B * d;
    for (int i = 0; i < B; i++) yv[i] = c, yv[B + i] = ncond;
    int grid = sc->sampler != MCR_SAMPLER_DDPM; /* DDIM and DPM-Solver++ on the coarse grid */
    int K = grid ? sc->sample_steps : s->T;
    if (K > s->T) K = s->T;
    double h_last = 0; /* DPM-Solver++: the previous step's h (0: none yet) */
    for (int k = K - 1; k >= 0; k--) {
        int t, tprev;
        if (grid) {
            /* the DDIM paper's uniform grid t_k = k T / K: it stops short of t = T-1, where the
             * cosine schedule's abar (~2e-9) makes the first jump ill-conditioned (a trailing
             * grid from T-1 measured a +0.2 mean bias on a 2-D Gaussian test) */
            t = (int)((long)k * s->T / K);
            tprev = k > 0 ? (int)((long)(k - 1) * s->T / K) : -1;
        } else {
            t = k;
            tprev = k - 1;
        }
        for (int i = 0; i < BB; i++) tv[i] = t;
        const float *inp = x;
        if (guided) {
            memcpy(x2, x, n * sizeof(float));
            memcpy(x2 + n, x, n * sizeof(float));
            inp = x2;
        }
        mcr_net_forward(net, p, inp, tv, yv, BB, 0, 0, 0);
        float *out = net->out; /* eps on the Gaussian columns, x0 logits on the blocks */
        if (guided) cfg_combine(out, out + n, n, sc->guidance);
        double at = s->abar[t], ap = tprev >= 0 ? s->abar[tprev] : 1.0;
        if (dg > 0) {
            if (grid) {
                int noisy = sc->eta > 0 && tprev >= 0;
                if (noisy) mcr_fill_normal(z, (size_t)B * dg, sc->seed, stream * MCR_STREAM_SAMPLE_NOISE + (uint64_t)t);
                if (sc->sampler == MCR_SAMPLER_DPMPP) /* first order into t = 0 ("lower order final":
                                                       * on a 1-D Gaussian, 10 steps 0.07 vs 0.42 max error) */
                    h_last = dpmpp_step(x, out, x0l, tprev == 0 ? 0 : h_last, noisy ? z : NULL, sc->eta, B, dg, d,
                                        mx->lo, mx->hi, at, ap);
                else ddim_step(x, out, noisy ? z : NULL, sc->eta, B, dg, d, mx->lo, mx->hi, at, ap);
            } else {
                if (t > 0) mcr_fill_normal(z, (size_t)B * dg, sc->seed, stream * MCR_STREAM_SAMPLE_NOISE + (uint64_t)t);
                ddpm_step(x, out, z, B, dg, d, mx->lo, mx->hi, s, t);
            }
        }
        if (nb) { /* each block: a Gumbel-max draw from p(x_tprev | x_t) */
            mcr_fill_uniform(u, (size_t)B * mx->sumK, sc->seed, stream * MCR_STREAM_SAMPLE_NOISE + (uint64_t)t);
#pragma omp parallel for schedule(static)
            for (int i = 0; i < B; i++) {
                float *scr = scratch + (size_t)omp_get_thread_num() * 2 * mx->Kmax;
                const float *ui = u + (size_t)i * mx->sumK;
                for (int b = 0; b < nb; b++) {
                    int Kb = mx->bK[b];
                    float *row = x + (size_t)i * d + mx->boff[b];
                    int32_t *cur = xc + (size_t)i * nb + b;
                    int nk = mn_sample_step(out + (size_t)i * d + mx->boff[b], *cur, Kb, at, ap, ui, scr);
                    row[*cur] = 0;
                    row[nk] = 1;
                    *cur = nk;
                    ui += Kb;
                }
            }
        }
    }
}

/* Batch `stream` of a sample starts from noise: x [b, d] from N(0, I), or Gaussian columns
 * from N(0, I) and blocks from the uniform q(x_T) (level indices in xc [b, nblk]); keyed on
 * (seed, stream) only. */
static void sample_start(const mcr_model *m, const mixed *mx, uint64_t seed, float *x, float *z,
                         int32_t *xc, int b, uint64_t stream) {
    const mcr_encoder *e = m->enc;
    int d = m->net.d, dg = mx->dg, nb = mx->nblk;
    if (dg == d) {
        mcr_fill_normal(x, (size_t)b * d, seed, stream * MCR_STREAM_SAMPLE_NOISE);
        return;
    }
    mcr_fill_normal(z, (size_t)b * dg, seed, stream * MCR_STREAM_SAMPLE_NOISE);
    mcr_rng r0;
    mcr_rng_seed(&r0, seed, MCR_STREAM_SAMPLE_LEVELS + stream);
    for (int i = 0; i < b; i++) {
        float *row = x + (size_t)i * d;
        memcpy(row, z + (size_t)i * dg, (size_t)dg * sizeof(float));
        memset(row + dg, 0, (size_t)(d - dg) * sizeof(float));
        for (int k = 0; k < nb; k++) {
            int lv = (int)mcr_rng_below(&r0, (uint64_t)e->bK[k]);
            xc[(size_t)i * nb + k] = lv;
            row[e->boff[k] + lv] = 1;
        }
    }
}

/* Rows [row0, row0 + b) of t from the denoised batch x [b, d] of condition c (xd [b, d] and
 * rows [b] scratch; rr: the rare-level draws, in row order). */
static int finish_batch(const mcr_model *m, const float *x, double *xd, size_t *rows, mcr_rng *rr,
                        int b, int c, size_t row0, mcr_table *t) {
    int d = m->net.d;
    for (size_t i = 0; i < (size_t)b * d; i++) xd[i] = x[i];
    for (int i = 0; i < b; i++) rows[i] = row0 + (size_t)i;
    int rc = mcr_encoder_inverse_ex(m->enc, xd, (size_t)b, t, rows, rr);
    if (rc) return rc;
    for (int i = 0; i < b; i++) {
        if (m->cond_tlevel[c] >= 0) t->cols[m->target].cat[row0 + i] = m->cond_tlevel[c];
        if (m->cond_glevel[c] >= 0) t->cols[m->sensitive].cat[row0 + i] = m->cond_glevel[c];
    }
    return MCR_OK;
}

int mcr_model_sample(const mcr_model *m, const size_t *counts, const mcr_sample_config *sc,
                     mcr_table **out) {
    *out = NULL;
    if (sc->sampler != MCR_SAMPLER_DDPM && sc->sampler != MCR_SAMPLER_DDIM && sc->sampler != MCR_SAMPLER_DPMPP)
        return mcr_err(MCR_EINVAL, "`sampler` must be ddpm, ddim or dpmpp");
    if (sc->sampler != MCR_SAMPLER_DDPM && (sc->sample_steps < 1 || sc->sample_steps > m->cfg.T))
        return mcr_err(MCR_EINVAL, "`sample_steps` must be in 1..%d (the model's T)", m->cfg.T);
    if (!isfinite(sc->guidance) || sc->guidance < 0 || sc->guidance > 100)
        return mcr_err(MCR_EINVAL, "`guidance` must be in [0, 100]");
    if (sc->chunk < 1) return mcr_err(MCR_EINVAL, "chunk must be positive");
    int bf16 = 0, rc;
    if ((rc = mcr_bf16_resolve(sc->precision, &bf16))) return rc;
    size_t total = 0;
    for (int c = 0; c < m->ncond; c++) total += counts[c];
    mcr_table *t = NULL;
    if ((rc = mcr_table_new_like(m->schema, total, &t))) return rc;
    int d = m->net.d, B = sc->chunk;
    if ((size_t)B > total) B = total ? (int)total : 1;
    const mcr_encoder *e = m->enc;
    int multi = m->cfg.catmode == MCR_CAT_MULTINOMIAL;
    mixed mx = {multi ? e->ng : d, multi ? e->nblk : 0, 0, 0, e->boff, e->bK, m->xlo, m->xhi};
    for (int b = 0; b < mx.nblk; b++) {
        mx.sumK += e->bK[b];
        if (e->bK[b] > mx.Kmax) mx.Kmax = e->bK[b];
    }
    int dg = mx.dg, nb = mx.nblk;
    mcr_net net = m->net;
    net.use_bf16 = bf16;
    mcr_sched s;
    memset(&s, 0, sizeof s);
    mcr_rng rr;
    mcr_rng_seed(&rr, sc->seed, MCR_STREAM_SAMPLE_RARE); /* pooled rare levels */
    float *x = malloc((size_t)B * d * sizeof(float)), *x2 = malloc(2 * (size_t)B * d * sizeof(float));
    float *z = malloc(((size_t)B * dg + 1) * sizeof(float)), *x0l = malloc(((size_t)B * dg + 1) * sizeof(float));
    float *u = malloc(((size_t)B * mx.sumK + 1) * sizeof(float));
    float *scr = malloc(((size_t)omp_get_max_threads() * 2 * mx.Kmax + 1) * sizeof(float));
    int32_t *xc = malloc(((size_t)B * nb + 1) * sizeof(int32_t));
    double *xd = malloc((size_t)B * d * sizeof(double));
    int *tv = malloc(2 * (size_t)B * sizeof(int)), *yv = malloc(2 * (size_t)B * sizeof(int));
    size_t *rows = malloc((size_t)B * sizeof(size_t));
    /* across P processes (dist.h): batch k (its noise keyed on k alone) is denoised by rank
     * k % P; each round of P batches is allgathered and every rank decodes them in order (the
     * rare-level draws rr run over all rows), so every rank holds the rows one process makes */
    mcr_dist *dd = mcr_dist_get();
    int P = dd->size, nr = 0, *rc_c = NULL, *rb = NULL;
    float *xr = NULL;
    uint64_t nbatch = 0;
    for (int c = 0; c < m->ncond; c++) nbatch += (counts[c] + (size_t)B - 1) / (size_t)B;
    if (P > 1) {
        xr = malloc(((size_t)P + 1) * B * d * sizeof(float));
        rc_c = malloc((size_t)P * sizeof(int)), rb = malloc((size_t)P * sizeof(int));
    }
    if (!x || !x2 || !z || !x0l || !u || !scr || !xc || !xd || !tv || !yv || !rows || (P > 1 && (!xr || !rc_c || !rb)))
        rc = MCR_NOMEM();
    if (!rc) rc = mcr_net_alloc(&net, sc->guidance != 0 ? 2 * B : B);
    if (!rc) rc = mcr_sched_init(&s, m->cfg.T, m->cfg.schedule);
    if ((rc = dist_agree(dd, rc))) goto done;
    size_t row0 = 0;
    uint64_t stream = 0;
    for (int c = 0; c < m->ncond; c++) {
        for (size_t done_c = 0; done_c < counts[c];) {
            int b = (int)(counts[c] - done_c < (size_t)B ? counts[c] - done_c : (size_t)B);
            stream++;
            done_c += (size_t)b;
            if (P == 1) {
                sample_start(m, &mx, sc->seed, x, z, xc, b, stream);
                denoise(&net, m->ema, &s, sc, &mx, x, x2, z, u, x0l, xc, scr, tv, yv, b, c, m->ncond, stream);
                if ((rc = finish_batch(m, x, xd, rows, &rr, b, c, row0, t))) goto done;
                row0 += (size_t)b;
                continue;
            }
            float *mine = xr + (size_t)P * B * d; /* this rank's batch of the round */
            rc_c[nr] = c, rb[nr] = b;
            if ((int)((stream - 1) % (uint64_t)P) == dd->rank) {
                sample_start(m, &mx, sc->seed, x, z, xc, b, stream);
                denoise(&net, m->ema, &s, sc, &mx, x, x2, z, u, x0l, xc, scr, tv, yv, b, c, m->ncond, stream);
                memcpy(mine, x, (size_t)b * d * sizeof(float));
            }
            if (++nr < P && stream < nbatch) continue;
            if ((rc = dd->allgather(dd, mine, (size_t)B * d * sizeof(float), xr))) goto done;
            for (int j = 0; j < nr && !rc; j++) {
                rc = finish_batch(m, xr + (size_t)j * B * d, xd, rows, &rr, rb[j], rc_c[j], row0, t);
                row0 += (size_t)rb[j];
            }
            nr = 0;
            if ((rc = dist_agree(dd, rc))) goto done;
        }
    }
    *out = t;
    t = NULL;
done:
    free(xr);
    free(rc_c);
    free(rb);
    mcr_table_free(t);
    mcr_net_free(&net);
    mcr_sched_free(&s);
    free(x);
    free(x2);
    free(z);
    free(x0l);
    free(u);
    free(scr);
    free(xc);
    free(xd);
    free(tv);
    free(yv);
    free(rows);
    return rc;
}

/* ------------------------------------------------------------------ inspect */
int mcr_model_inspect(const mcr_model *m, FILE *f) {
    const mcr_fit_config *c = &m->cfg;
    static const char *cn[] = {"target", "sensitive", "both"}, *sn[] = {"linear", "cosine"},
                      *an[] = {"relu", "silu"}, *nn_[] = {"quantile", "standard", "minmax"};
    fprintf(f, "mcrage model (file format %d)\n\narchitecture:\n", m->version);
    fprintf(f, "  input width d     %d (encoded features)\n", m->net.d);
    fprintf(f, "  embedding dim_t   %d (sinusoidal time -> Linear -> SiLU -> Linear; "
               "label embedding %d+1 rows)\n", m->net.dt, m->ncond);
    fprintf(f, "  hidden widths    ");
    for (int l = 0; l < m->net.nl; l++) fprintf(f, " %d", m->net.widths[l]);
    fprintf(f, " (%s, dropout %g)\n", an[m->net.act], m->net.dropout);
    fprintf(f, "  parameters        %zu\n", m->net.nparams);
    fprintf(f, "\ndiffusion: T = %d, %s schedule, epsilon prediction, p_uncond %g\n", c->T,
            sn[c->schedule], c->p_uncond);
    fprintf(f, "categoricals: %s (%d numeric dims, %d categorical blocks%s)\n",
            c->catmode == MCR_CAT_MULTINOMIAL ? "multinomial diffusion, x0 logits, KL loss"
                                              : "one-hot under Gaussian diffusion",
            m->enc->ng, m->enc->nblk, c->min_level_count > 1 ? ", rare levels pooled" : "");
    if (c->min_level_count > 1) fprintf(f, "min level count: %d\n", c->min_level_count);
    fprintf(f, "training: %d steps, batch %d, lr %g (linear decay, warm-up %d), weight decay %g,"
               " grad clip %g, EMA %g, seed %llu\n",
            c->steps, c->batch, c->lr, c->warmup, c->weight_decay, c->grad_clip, c->ema_decay,
            (unsigned long long)c->seed);
    fprintf(f, "precision: %s matrix products in training%s\n", mcr_precision_name(c->precision),
            c->precision == MCR_PRECISION_BF16 ? " (oneDNN, fp32 accumulation and master weights)" : "");
    fprintf(f, "final loss (mean of the last <=100 steps): %.5f\n", m->final_loss);
    if (m->state)
        fprintf(f, "checkpoint: training state at step %d of %d (continue with fit --resume)\n",
                m->state->step, c->steps);
    fprintf(f, "\ncondition: %s on '%s'%s%s%s\n", cn[m->condition],
            m->condition == MCR_COND_SENSITIVE ? m->schema->cols[m->sensitive].name
                                               : m->schema->cols[m->target].name,
            m->condition == MCR_COND_BOTH ? " x '" : "",
            m->condition == MCR_COND_BOTH ? m->schema->cols[m->sensitive].name : "",
            m->condition == MCR_COND_BOTH ? "'" : "");
    for (int k = 0; k < m->ncond; k++)
        fprintf(f, "  %-24s %zu training rows\n", m->cond_names[k], m->cond_count[k]);
    fprintf(f, "\nschema (%d columns):\n", m->schema->ncols);
    for (int j = 0; j < m->schema->ncols; j++) {
        const mcr_column *col = &m->schema->cols[j];
        const char *role = "dropped";
        const mcr_encfeat *fe = NULL;
        for (int a = 0; a < m->enc->nfeat; a++)
            if (m->enc->f[a].col == j) fe = &m->enc->f[a], role = "feature";
        if (j == m->target) role = m->condition == MCR_COND_SENSITIVE ? "feature (target)" : "condition (target)";
        if (j == m->sensitive)
            role = m->condition == MCR_COND_TARGET ? "feature (sensitive)" : "condition (sensitive)";
        fprintf(f, "  %-24s %-12s %-22s", col->name, mcr_coltype_name(col->type), role);
        if (fe && col->type == MCR_COL_CATEGORICAL)
            fprintf(f, " %d levels%s%s", fe->width, fe->other >= 0 ? " (rare pooled)" : "",
                    fe->has_missing ? " incl. missing" : "");
        else if (fe)
            fprintf(f, " %s [%g, %g]%s", nn_[fe->kind], fe->lo, fe->hi,
                    fe->has_missing ? " + missing indicator" : "");
        else if (col->type == MCR_COL_CATEGORICAL)
            fprintf(f, " %d levels", col->nlevels);
        fputc('\n', f);
    }
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}

/* ------------------------------------------------------------------ benchmark */
static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

int mcr_bench_denoiser(int d, const int *widths, int nwidths, int batch, int steps,
                       int sample_rows, mcr_bench_result *res) {
    return mcr_bench_denoiser_ex(d, widths, nwidths, batch, steps, sample_rows, MCR_PRECISION_FP32,
                                 MCR_SAMPLER_DDIM, 100, res);
}

int mcr_bench_denoiser_ex(int d, const int *widths, int nwidths, int batch, int steps,
                          int sample_rows, mcr_precision precision, mcr_sampler sampler,
                          int sample_steps, mcr_bench_result *res) {
    memset(res, 0, sizeof *res);
    int bf16 = 0;
    int rc = mcr_bf16_resolve(precision, &bf16);
    if (rc) return rc;
    mcr_fit_config c;
    mcr_fit_config_default(&c);
    c.precision = bf16 ? MCR_PRECISION_BF16 : MCR_PRECISION_FP32;
    c.steps = steps + 2;
    c.batch = batch;
    memcpy(c.widths, widths, (size_t)nwidths * sizeof(int));
    c.nwidths = nwidths;
    mcr_net layout;
    mcr_net_layout(&layout, d, c.dim_t, 2, widths, nwidths, MCR_ACT_RELU, 0);
    res->nparams = layout.nparams;
    mcr_trainer tr;
    rc = mcr_trainer_init(&tr, &layout, batch, &c, 0, d, 0, NULL, NULL);
    if (rc) return rc;
    mcr_rng r;
    mcr_rng_seed(&r, 7, 0);
    mcr_fill_normal(tr.x0, (size_t)batch * d, 3, 0);
    for (int i = 0; i < batch; i++) tr.y[i] = (int)mcr_rng_below(&r, 3);
    double t0 = mcr_now();
    for (int s = 0; s < steps + 2; s++) { /* the first two: warm-up, not timed */
        if (s == 2) t0 = mcr_now();
        if (isfinite(mcr_trainer_grad(&tr, c.seed, s, &r))) mcr_optim_apply(&tr.st.opt, s);
    }
    double el = mcr_now() - t0;
    res->train_rows_per_s = (double)steps * batch / el;
    res->train_gflops = 6.0 * (double)layout.nparams * res->train_rows_per_s / 1e9;
    /* plain sgemm at the largest hidden layer's forward shape [batch, K] x [K, N] */
    int K = c.dim_t, N = c.dim_t;
    for (int l = 0; l < nwidths; l++) {
        int in = l ? widths[l - 1] : c.dim_t;
        if ((double)in * widths[l] > (double)K * N) K = in, N = widths[l];
    }
    float *A = malloc((size_t)batch * K * sizeof(float)), *Bm = malloc((size_t)K * N * sizeof(float));
    float *C = malloc((size_t)batch * N * sizeof(float));
    if (!A || !Bm || !C) {
        free(A), free(Bm), free(C);
        mcr_trainer_free(&tr);
        return MCR_NOMEM();
    }
    mcr_fill_normal(A, (size_t)batch * K, 1, 1);
    mcr_fill_normal(Bm, (size_t)K * N, 1, 2);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, N, K, 1, A, K, Bm, K, 0, C, N);
    int reps = 0;
    t0 = mcr_now();
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, N, K, 1, A, K, Bm, K, 0, C, N);
        reps++;
    } while (mcr_now() - t0 < 0.5);
    el = mcr_now() - t0;
    res->sgemm_gflops = 2.0 * batch * K * N * reps / el / 1e9;
    free(A), free(Bm), free(C);
    /* sampling of sample_rows rows with the trained EMA weights */
    mcr_net net = layout;
    net.use_bf16 = bf16;
    mcr_sched s;
    mcr_sample_config sc;
    mcr_sample_config_default(&sc);
    sc.sampler = sampler;
    sc.sample_steps = sample_steps;
    sc.precision = c.precision;
    rc = mcr_net_alloc(&net, sample_rows);
    if (!rc) rc = mcr_sched_init(&s, c.T, c.schedule);
    float *x = malloc((size_t)sample_rows * d * sizeof(float)), *z = malloc((size_t)sample_rows * d * sizeof(float));
    float *x0l = malloc((size_t)sample_rows * d * sizeof(float));
    int *tv = malloc(2 * (size_t)sample_rows * sizeof(int)), *yv = malloc(2 * (size_t)sample_rows * sizeof(int));
    if (!rc && (!x || !z || !x0l || !tv || !yv)) rc = MCR_NOMEM();
    if (!rc) {
        mcr_fill_normal(x, (size_t)sample_rows * d, 5, 0);
        t0 = mcr_now();
        mixed mx = {d, 0, 0, 0, NULL, NULL, NULL, NULL};
        denoise(&net, tr.st.opt.ema, &s, &sc, &mx, x, NULL, z, NULL, x0l, NULL, NULL, tv, yv, sample_rows, 0, 2, 1);
        res->sample_rows_per_s = sample_rows / (mcr_now() - t0);
        mcr_sched_free(&s);
    }
    free(x), free(z), free(x0l), free(tv), free(yv);
    mcr_net_free(&net);
    mcr_trainer_free(&tr);
    res->peak_rss_mb = peak_rss_mb();
    return rc;
}

const float *mcr_model_loss_curve(const mcr_model *m, int *n, int *every) {
    *n = m->nloss;
    *every = m->cfg.steps / 200 > 0 ? m->cfg.steps / 200 : 1;
    return m->loss_curve;
}
