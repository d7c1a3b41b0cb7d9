/* imodel.c — the conditional image diffusion model (Ktena et al. 2024): fit, sample, counts
 * per (label, attribute) cell, the model file. Reuses the UNet (nn/unet.c), the optimiser and
 * trainer state (nn/train.c), the schedule and reverse steps (diffusion/), the container
 * (core/container.c). Public contract in mcrage.h section 12b.
 *
 * Conditions: label y in [0, L] and attribute a in [0, A]; L and A are the null rows of the
 * UNet's embedding tables. Cells of counts: l * (A + 1) + a.
 *
 * Fit in named steps (as tabular/model.c): check_config -> train_rows -> setup (layout, trainer,
 * init or resume) -> per step: draw_batch (epoch order, conditions with dropout, t, eps, x_t)
 * -> forward, MSE, backward -> mcr_optim_apply -> report / checkpoint. Every draw of a step
 * comes from the trainer state's one RNG, in a fixed order, so a resumed run equals an
 * uninterrupted one and the result depends only on seed and thread count. */
#include "image/image.h"
#include "diffusion/diffusion.h"
#include "nn/nn.h"
#include <zlib.h>

#define IMODEL_MAGIC "MCRGIMDL"
#define IMODEL_VERSION 1

static const mcr_container IMODEL_FILE = {IMODEL_MAGIC, "image model", IMODEL_VERSION, 1,
                                          "refit the model with mcrage image fit"};

struct mcr_imodel {
    mcr_ifit_config cfg;       /* settings (pointers cleared) */
    int C, H, W, L, A;         /* channels, size, label and attribute levels */
    char **label_names;        /* [L] */
    char **attr_names;         /* [A] */
    char *attr_col;            /* the attribute's column name ("attribute" when none) */
    uint64_t *cell;            /* [(L+1)*(A+1)] training images per cell */
    int T, schedule;
    mcr_unet_config ucfg;
    size_t nparams;
    float *ema;                /* [nparams] sampling weights */
    mcr_train_state *state;    /* full trainer state while a fit is unfinished, else NULL */
    float final_loss;
};

/* ------------------------------------------------------------------ configuration */
MCR_API void mcr_ifit_config_default(mcr_ifit_config *c) {
    memset(c, 0, sizeof *c);
    c->steps = 2000;
    c->batch = 32;
    c->lr = 2e-4f;
    c->warmup = 0;
    c->weight_decay = 0;
    c->grad_clip = 1.0f;
    c->ema_decay = 0.999f;
    c->cond_drop = 0.1f;
    c->T = 1000;
    c->nlevels = 3;
    c->channels[0] = 32, c->channels[1] = 64, c->channels[2] = 128;
    c->nres = 2;
    c->attn = 1;
    c->groups = 8;
    c->seed = 1;
}

MCR_API void mcr_isample_config_default(mcr_isample_config *c) {
    memset(c, 0, sizeof *c);
    c->sampler = MCR_SAMPLER_DDIM;
    c->sample_steps = 50;
    c->eta = 0;
    c->w_label = c->w_attr = 1.0f;
    c->batch = 16; /* x3 guidance blocks: 48 images a call; the default UNet at 28 x 28 held
                      1.6 GB of activations at 64 (192 a call) */
    c->seed = 1;
}

static int check_config(const mcr_ifit_config *c) {
    if (c->steps < 1 || c->steps > 100000000) return mcr_err(MCR_EINVAL, "`steps` must be from 1 to 1e8, got %d", c->steps);
    if (c->batch < 1 || c->batch > 65536) return mcr_err(MCR_EINVAL, "`batch` must be from 1 to 65536, got %d", c->batch);
    if (!(c->lr > 0 && c->lr < 1)) return mcr_err(MCR_EINVAL, "`lr` must be in (0, 1), got %g", (double)c->lr);
    if (c->warmup < 0 || c->warmup >= c->steps) return mcr_err(MCR_EINVAL, "`warmup` must be from 0 to steps - 1, got %d", c->warmup);
    if (!(c->cond_drop >= 0 && c->cond_drop <= 1)) return mcr_err(MCR_EINVAL, "`cond_drop` must be in [0, 1], got %g", (double)c->cond_drop);
    if (!(c->grad_clip >= 0) || !(c->weight_decay >= 0)) return mcr_err(MCR_EINVAL, "`grad_clip` and `weight_decay` must be >= 0");
    if (!(c->ema_decay >= 0 && c->ema_decay < 1)) return mcr_err(MCR_EINVAL, "`ema_decay` must be in [0, 1), got %g", (double)c->ema_decay);
    if (c->T < 2 || c->T > 100000) return mcr_err(MCR_EINVAL, "`T` must be from 2 to 100000, got %d", c->T);
    if (c->nlevels < 1 || c->nlevels > UNET_MAX_LEVELS) return mcr_err(MCR_EINVAL, "`channels` must list 1 to %d widths", UNET_MAX_LEVELS);
    for (int l = 0; l < c->nlevels; l++)
        if (c->channels[l] < 1 || c->channels[l] > 4096 || c->channels[l] % c->channels[0])
            return mcr_err(MCR_EINVAL, "`channels`: each width must be a multiple of the first (%d), from 1 to 4096; got %d",
                           c->channels[0], c->channels[l]);
    if (c->nres < 1 || c->nres > 8) return mcr_err(MCR_EINVAL, "`nres` must be from 1 to 8, got %d", c->nres);
    if (c->groups < 1) return mcr_err(MCR_EINVAL, "`groups` must be >= 1, got %d", c->groups);
    if (c->checkpoint_every < 0) return mcr_err(MCR_EINVAL, "`checkpoint_every` must be >= 0");
    return MCR_OK;
}

static void unet_config(const mcr_ifit_config *c, int C, int H, int W, int L, int A, mcr_unet_config *u) {
    mcr_unet_config_default(u, C, H, W, L, A);
    u->ch = c->channels[0];
    u->nlevels = c->nlevels;
    for (int l = 0; l < c->nlevels; l++) u->mult[l] = c->channels[l] / c->channels[0];
    u->nres = c->nres;
    u->attn = c->attn;
    u->groups = c->groups;
    u->tdim = c->channels[0] < 2 ? 2 : c->channels[0] & ~1;
}

static void put_settings(mcr_wbuf *w, const mcr_ifit_config *c) {
    mcr_put_i32(w, c->steps), mcr_put_i32(w, c->batch), mcr_put_f32(w, c->lr);
    mcr_put_i32(w, c->warmup), mcr_put_f32(w, c->weight_decay), mcr_put_f32(w, c->grad_clip);
    mcr_put_f32(w, c->ema_decay), mcr_put_f32(w, c->cond_drop);
    mcr_put_i32(w, c->nlevels);
    for (int l = 0; l < UNET_MAX_LEVELS; l++) mcr_put_i32(w, c->channels[l]);
    mcr_put_i32(w, c->nres), mcr_put_i32(w, c->attn), mcr_put_i32(w, c->groups);
    mcr_put_u64(w, c->seed);
    mcr_put_i32(w, c->T);
}

/* fingerprint of what a resumed fit must share with the checkpoint: the settings as written */
static uint32_t cfg_crc(const mcr_ifit_config *c) {
    mcr_wbuf w = {0};
    put_settings(&w, c);
    if (c->precision != MCR_PRECISION_FP32) mcr_put_i32(&w, c->precision); /* fp32: as before */
    uint32_t crc = w.oom ? 0 : (uint32_t)crc32(0, w.p, (uInt)w.n);
    mcr_wbuf_free(&w);
    return crc;
}

/* ------------------------------------------------------------------ the model struct */
MCR_API void mcr_imodel_free(mcr_imodel *m) {
    if (!m) return;
    for (int k = 0; k < m->L; k++) free(m->label_names ? m->label_names[k] : NULL);
    for (int k = 0; k < m->A; k++) free(m->attr_names ? m->attr_names[k] : NULL);
    free(m->label_names), free(m->attr_names), free(m->attr_col), free(m->cell), free(m->ema);
    if (m->state) mcr_train_free(m->state);
    free(m->state);
    free(m);
}

static int alloc_levels(mcr_imodel *m) {
    m->label_names = calloc((size_t)m->L + 1, sizeof(char *));
    m->attr_names = calloc((size_t)m->A + 1, sizeof(char *));
    m->cell = calloc((size_t)(m->L + 1) * (size_t)(m->A + 1), sizeof(uint64_t));
    return m->label_names && m->attr_names && m->cell ? MCR_OK : MCR_NOMEM();
}

MCR_API size_t mcr_imodel_nparams(const mcr_imodel *m) { return m->nparams; }
MCR_API float mcr_imodel_final_loss(const mcr_imodel *m) { return m->final_loss; }
MCR_API int mcr_imodel_nlabels(const mcr_imodel *m) { return m->L; }
MCR_API int mcr_imodel_nattrs(const mcr_imodel *m) { return m->A; }
MCR_API const char *mcr_imodel_label_name(const mcr_imodel *m, int k) { return k >= 0 && k < m->L ? m->label_names[k] : NULL; }
MCR_API const char *mcr_imodel_attr_name(const mcr_imodel *m, int k) { return k >= 0 && k < m->A ? m->attr_names[k] : NULL; }
const float *mcr_imodel_weights(const mcr_imodel *m, mcr_unet_config *cfg) {
    *cfg = m->ucfg;
    return m->ema;
}
MCR_API void mcr_imodel_progress(const mcr_imodel *m, int *done, int *planned) {
    *done = m->state ? m->state->step : -1;
    *planned = m->cfg.steps;
}

/* ------------------------------------------------------------------ fit */
/* the train split's images (all images when none is marked train) */
static int train_rows(const mcr_imageset *s, size_t **rows, size_t *n) {
    size_t k = 0;
    *rows = malloc(((size_t)s->n + 1) * sizeof(size_t));
    if (!*rows) return MCR_NOMEM();
    for (int i = 0; i < s->n; i++)
        if (s->split[i] == MCR_SPLIT_TRAIN) (*rows)[k++] = (size_t)i;
    if (!k) {
        free(*rows);
        *rows = NULL;
        return mcr_err(MCR_EINVAL, "%s: no training images (split train is empty)", s->source ? s->source : "image set");
    }
    *n = k;
    return MCR_OK;
}

static uint32_t data_crc(const mcr_imageset *s, const size_t *rows, size_t n) {
    size_t d = (size_t)s->h * s->w * s->c;
    uLong c = crc32(0, Z_NULL, 0);
    for (size_t i = 0; i < n; i++) {
        size_t r = rows[i];
        c = crc32(c, s->pix + r * d, (uInt)d);
        int32_t la[2] = {s->label[r], s->attr[r]};
        c = crc32(c, (const unsigned char *)la, sizeof la);
    }
    return (uint32_t)c;
}

/* the model's description of the data: sizes, level names, training counts per cell */
static int model_from_data(const mcr_imageset *s, const size_t *rows, size_t n, const mcr_ifit_config *c,
                           mcr_imodel **out) {
    mcr_imodel *m = calloc(1, sizeof *m);
    if (!m) return MCR_NOMEM();
    *out = m;
    m->cfg = *c;
    m->cfg.checkpoint_path = NULL, m->cfg.resume = NULL, m->cfg.progress = NULL, m->cfg.progress_ctx = NULL;
    m->C = s->c, m->H = s->h, m->W = s->w, m->L = s->nlabels, m->A = s->nattrs;
    m->T = c->T, m->schedule = MCR_SCHED_COSINE;
    int rc = alloc_levels(m);
    if (rc) return rc;
    for (int k = 0; k < m->L; k++)
        if (!(m->label_names[k] = mcr_strdup(s->label_names[k]))) return MCR_NOMEM();
    for (int k = 0; k < m->A; k++)
        if (!(m->attr_names[k] = mcr_strdup(s->attr_names[k]))) return MCR_NOMEM();
    if (!(m->attr_col = mcr_strdup(s->attr_col ? s->attr_col : "attribute"))) return MCR_NOMEM();
    for (size_t i = 0; i < n; i++) {
        int l = s->label[rows[i]], a = s->attr[rows[i]];
        l = l < 0 || l >= m->L ? m->L : l;
        a = a < 0 || a >= m->A ? m->A : a;
        m->cell[(size_t)l * (size_t)(m->A + 1) + (size_t)a]++;
    }
    unet_config(c, m->C, m->H, m->W, m->L, m->A, &m->ucfg);
    return MCR_OK;
}

typedef struct fit_buf {
    float *x0, *xt, *eps, *dout; /* [B, d] each */
    int *t, *y, *a;              /* [B] */
} fit_buf;

/* One step's draws, in this order from st->rng: B example indices (epoch order), then per
 * image the label dropout, the attribute dropout and t, then B * d normals. */
static void draw_batch(const mcr_imodel *m, const mcr_imageset *s, const size_t *rows, mcr_train_state *st,
                       const mcr_sched *sc, fit_buf *b, int B) {
    size_t d = (size_t)m->C * m->H * m->W;
    float p = m->cfg.cond_drop;
    for (int i = 0; i < B; i++) {
        size_t r = rows[mcr_train_next(st)];
        mcr_image_to_float(b->x0 + (size_t)i * d, s->pix + r * d, 1, m->H, m->W, m->C);
        int l = s->label[r], a = s->attr[r];
        double ul = mcr_rng_uniform(&st->rng), ua = mcr_rng_uniform(&st->rng);
        b->y[i] = l < 0 || l >= m->L || ul < p ? m->L : l;
        b->a[i] = a < 0 || a >= m->A || ua < p ? m->A : a;
        b->t[i] = (int)mcr_rng_below(&st->rng, (uint64_t)m->T);
    }
    for (size_t k = 0; k < (size_t)B * d; k++) b->eps[k] = (float)mcr_rng_normal(&st->rng);
    q_sample(b->xt, b->x0, b->eps, b->t, sc, B, (int)d, (int)d);
}

static int write_model(const mcr_imodel *m, const float *ema, const mcr_train_state *st, const char *path);

MCR_API int mcr_imodel_fit(const mcr_imageset *s, const mcr_ifit_config *c, mcr_imodel **out) {
    *out = NULL;
    int rc = check_config(c);
    if (rc) return rc;
    size_t *rows = NULL, n = 0;
    if ((rc = train_rows(s, &rows, &n))) return rc;
    mcr_imodel *m = NULL;
    mcr_unet *net = calloc(1, sizeof *net);
    mcr_train_state *st = calloc(1, sizeof *st);
    mcr_sched sc = {0};
    fit_buf b = {0};
    float *mem = NULL;
    int *imem = NULL;
    if (!net || !st) {
        rc = MCR_NOMEM();
        goto done;
    }
    if ((rc = model_from_data(s, rows, n, c, &m))) goto done;
    if ((rc = mcr_unet_layout(net, &m->ucfg))) goto done;
    m->nparams = net->nparams;
    int B = c->batch;
    size_t d = (size_t)m->C * m->H * m->W;
    if ((rc = mcr_unet_alloc(net, B))) goto done;
    {   /* the convolutions' engine; the model (and the checkpoint's fingerprint) records what ran */
        int bf16 = 0;
        if ((rc = mcr_bf16_resolve(c->precision, &bf16))) goto done;
        if (bf16 && (rc = mcr_unet_set_engine(net, MCR_UNET_DNNL_BF16))) goto done;
        m->cfg.precision = bf16 ? MCR_PRECISION_BF16 : MCR_PRECISION_FP32;
    }
    if ((rc = mcr_sched_init(&sc, c->T, MCR_SCHED_COSINE))) goto done;
    mem = malloc(4 * (size_t)B * d * sizeof(float));
    imem = malloc(3 * (size_t)B * sizeof(int));
    if (!mem || !imem) {
        rc = MCR_NOMEM();
        goto done;
    }
    b.x0 = mem, b.xt = mem + B * d, b.eps = mem + 2 * B * d, b.dout = mem + 3 * B * d;
    b.t = imem, b.y = imem + B, b.a = imem + 2 * B;

    /* setup: the trainer, fresh or continued */
    if ((rc = mcr_train_init(st, net->nparams, n, c->seed, MCR_STREAM_IMAGE_FIT))) goto done;
    mcr_optim *o = &st->opt;
    o->lr = c->lr, o->steps = c->steps, o->warmup = c->warmup ? c->warmup : c->steps / 20;
    o->grad_clip = c->grad_clip, o->ema_decay = c->ema_decay, o->adam.weight_decay = c->weight_decay;
    st->data_crc = data_crc(s, rows, n), st->cfg_crc = cfg_crc(&m->cfg);
    if (c->resume) {
        const mcr_imodel *r = c->resume;
        if (!r->state) {
            rc = mcr_err(MCR_EINVAL, "`resume`: the model is finished (no training state); nothing to resume");
            goto done;
        }
        if (r->nparams != net->nparams || r->state->n != n || r->state->data_crc != st->data_crc)
            rc = mcr_err(MCR_EINVAL, "`resume`: the checkpoint was trained on other images or another network");
        else if (r->state->cfg_crc != st->cfg_crc)
            rc = mcr_err(MCR_EINVAL, "`resume`: the checkpoint was started with other settings (give the same options)");
        if (rc) goto done;
        mcr_train_copy(st, r->state);
        memcpy(o->ema, r->ema, net->nparams * sizeof(float)); /* the file keeps the EMA as the weights */
    } else {
        mcr_rng ir;
        mcr_rng_seed(&ir, c->seed, MCR_STREAM_IMAGE_INIT);
        mcr_unet_init_params(net, o->p, mcr_rng_u64(&ir));
        memcpy(o->ema, o->p, net->nparams * sizeof(float));
    }

    /* the loop */
    double t0 = mcr_now(), last = 0;
    int tail = c->steps / 10 < 1 ? 1 : c->steps / 10; /* final loss: mean over the last tenth */
    for (int step = st->step; step < c->steps; step++) {
        draw_batch(m, s, rows, st, &sc, &b, B);
        memset(o->g, 0, net->nparams * sizeof(float));
        mcr_unet_forward(net, o->p, b.xt, b.t, b.y, b.a, B);
        double loss = mse_forward_backward(b.dout, net->tens[net->t_out].v, b.eps, (size_t)B * d);
        if (!isfinite(loss)) {
            rc = mcr_err(MCR_ENUMERIC, "image fit diverged at step %d (loss %g); lower `lr`", step + 1, loss);
            goto done;
        }
        mcr_unet_backward(net, o->p, o->g, b.dout, b.y, b.a, B);
        mcr_optim_apply(o, step);
        st->step = step + 1;
        if (step >= c->steps - tail) st->window += loss, st->nwin++;
        last = loss;
        if (c->progress) {
            double el = mcr_now() - t0;
            if (c->progress(c->progress_ctx, step + 1, c->steps, (float)loss,
                            el > 0 ? (double)(step + 1 - (c->resume ? c->resume->state->step : 0)) * B / el : 0)) {
                rc = mcr_err(MCR_ECANCELED, "image fit cancelled at step %d", step + 1);
                goto done;
            }
        }
        if (c->checkpoint_every && c->checkpoint_path && st->step % c->checkpoint_every == 0 && st->step < c->steps) {
            m->final_loss = (float)loss;
            if ((rc = write_model(m, o->ema, st, c->checkpoint_path))) goto done;
        }
    }
    m->final_loss = st->nwin ? (float)(st->window / st->nwin) : (float)last;
    if (!(m->ema = malloc((net->nparams + 1) * sizeof(float)))) {
        rc = MCR_NOMEM();
        goto done;
    }
    memcpy(m->ema, o->ema, net->nparams * sizeof(float));
done:
    free(rows), free(mem), free(imem);
    mcr_sched_free(&sc);
    if (net) mcr_unet_free(net);
    free(net);
    if (st) mcr_train_free(st);
    free(st);
    if (rc) mcr_imodel_free(m);
    else *out = m;
    return rc;
}

/* ------------------------------------------------------------------ counts */
/* n split over k weights w (>= 0; all 0 = uniform) by largest remainder, ties to the lower
 * index: out sums to n exactly */
static void apportion(size_t n, const double *w, int k, size_t *out) {
    double sum = 0;
    for (int i = 0; i < k; i++) sum += w[i];
    if (sum > 0) {
        mcr_apportion(n, w, k, out);
        return;
    }
    for (int i = 0; i < k; i++) out[i] = n / (size_t)k + ((size_t)i < n % (size_t)k);
}

MCR_API int mcr_imodel_counts_policy(const mcr_imodel *m, mcr_ipolicy policy, size_t n, size_t *counts) {
    int L = m->L, A = m->A;
    size_t ncell = (size_t)(L + 1) * (size_t)(A + 1);
    memset(counts, 0, ncell * sizeof *counts);
    if (L < 1) return mcr_err(MCR_EINVAL, "`policy` needs labels; the model has none (use `counts`)");
    int K = (L > A ? L : A) + 1;
    double *w = calloc((size_t)K, sizeof(double));
    size_t *part = calloc((size_t)K, sizeof(size_t)), *sub = calloc((size_t)K, sizeof(size_t));
    if (!w || !part || !sub) {
        free(w), free(part), free(sub);
        return MCR_NOMEM();
    }
#define CELL(l, a) m->cell[(size_t)(l) * (size_t)(A + 1) + (size_t)(a)]
#define OUT(l, a) counts[(size_t)(l) * (size_t)(A + 1) + (size_t)(a)]
    if (policy == MCR_IPOLICY_BALANCE) {
        apportion(n, w, L, part); /* w all 0: uniform over labels */
        for (int l = 0; l < L; l++) {
            if (!A) {
                OUT(l, A) = part[l];
                continue;
            }
            double tot = 0;
            for (int a = 0; a < A; a++) tot += (double)(w[a] = (double)CELL(l, a));
            if (tot == 0) OUT(l, A) = part[l]; /* no known attribute for this label: null */
            else {
                apportion(part[l], w, A, sub);
                for (int a = 0; a < A; a++) OUT(l, a) = sub[a];
            }
        }
    } else {
        double tot = 0;
        for (int l = 0; l < L; l++) {
            w[l] = 0;
            for (int a = 0; a <= A; a++) w[l] += (double)CELL(l, a);
            tot += w[l];
        }
        if (!A) {
            apportion(n, w, L, sub);
            for (int l = 0; l < L; l++) OUT(l, A) = sub[l];
        } else {
            double *u = calloc((size_t)A, sizeof(double));
            if (!u) {
                free(w), free(part), free(sub);
                return MCR_NOMEM();
            }
            /* attributes uniform over those the model saw in training (an attribute without
             * training images has an untrained embedding: nothing to sample) */
            int seen = 0;
            for (int a = 0; a < A; a++) {
                for (int l = 0; l <= L; l++) u[a] += (double)CELL(l, a);
                u[a] = u[a] > 0, seen += u[a] > 0;
            }
            if (seen == A) memset(u, 0, (size_t)A * sizeof *u);
            apportion(n, u, A, part);
            free(u);
            for (int a = 0; a < A; a++) {
                apportion(part[a], w, L, sub); /* the training label prevalence in each */
                for (int l = 0; l < L; l++) OUT(l, a) = sub[l];
            }
        }
        (void)tot;
    }
#undef CELL
#undef OUT
    free(w), free(part), free(sub);
    return MCR_OK;
}

static int find_name(char **names, int k, const char *s, size_t len) {
    for (int i = 0; i < k; i++)
        if (strlen(names[i]) == len && !strncmp(names[i], s, len)) return i;
    return -1;
}

MCR_API int mcr_imodel_counts_parse(const mcr_imodel *m, const char *spec, size_t *counts) {
    int L = m->L, A = m->A;
    memset(counts, 0, (size_t)(L + 1) * (size_t)(A + 1) * sizeof *counts);
    if (!spec || !*spec) return mcr_err(MCR_EINVAL, "`counts` is empty");
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        const char *colon = NULL;
        for (const char *q = p; q < end; q++)
            if (*q == ':') colon = q;
        if (!colon) return mcr_err(MCR_EINVAL, "`counts`: cell '%.*s' has no ':COUNT' (e.g. label=1,%s=B:500)", (int)(end - p), p, m->attr_col);
        char *e;
        char num[32];
        size_t nl = (size_t)(end - colon - 1);
        if (nl == 0 || nl >= sizeof num) return mcr_err(MCR_EINVAL, "`counts`: bad count in '%.*s'", (int)(end - p), p);
        memcpy(num, colon + 1, nl), num[nl] = 0;
        if (num[0] < '0' || num[0] > '9') return mcr_err(MCR_EINVAL, "`counts`: bad count '%s'", num);
        unsigned long long v = strtoull(num, &e, 10);
        if (*e || v > 1000000000ULL) return mcr_err(MCR_EINVAL, "`counts`: bad count '%s' (0 to 1e9)", num);
        int l = L, a = A, seen_l = 0, seen_a = 0;
        const char *f = p;
        while (f < colon) {
            const char *fe = f;
            while (fe < colon && *fe != ',') fe++;
            const char *eq = memchr(f, '=', (size_t)(fe - f));
            if (!eq) return mcr_err(MCR_EINVAL, "`counts`: '%.*s' is not KEY=LEVEL (keys: label, %s)", (int)(fe - f), f, m->attr_col);
            size_t kl = (size_t)(eq - f), vl = (size_t)(fe - eq - 1);
            if (kl == 5 && !strncmp(f, "label", 5)) {
                if (seen_l++) return mcr_err(MCR_EINVAL, "`counts`: label given twice in '%.*s'", (int)(end - p), p);
                if ((l = find_name(m->label_names, L, eq + 1, vl)) < 0)
                    return mcr_err(MCR_EINVAL, "`counts`: unknown label '%.*s'", (int)vl, eq + 1);
            } else if ((kl == 9 && !strncmp(f, "attribute", 9)) || (kl == strlen(m->attr_col) && !strncmp(f, m->attr_col, kl))) {
                if (seen_a++) return mcr_err(MCR_EINVAL, "`counts`: attribute given twice in '%.*s'", (int)(end - p), p);
                if ((a = find_name(m->attr_names, A, eq + 1, vl)) < 0)
                    return mcr_err(MCR_EINVAL, "`counts`: unknown %s '%.*s'", m->attr_col, (int)vl, eq + 1);
            } else
                return mcr_err(MCR_EINVAL, "`counts`: unknown key '%.*s' (keys: label, %s)", (int)kl, f, m->attr_col);
            f = fe < colon ? fe + 1 : fe;
        }
        counts[(size_t)l * (size_t)(A + 1) + (size_t)a] += (size_t)v;
        p = *end ? end + 1 : end;
    }
    return MCR_OK;
}

/* ------------------------------------------------------------------ sampling */
MCR_API int mcr_imodel_sample(const mcr_imodel *m, const size_t *counts, const mcr_isample_config *c,
                              mcr_imageset **out) {
    *out = NULL;
    if (c->sampler != MCR_SAMPLER_DDIM && c->sampler != MCR_SAMPLER_DDPM)
        return mcr_err(MCR_EINVAL, "`sampler` must be ddim or ddpm for image models");
    if (c->sample_steps < 1 || c->sample_steps > m->T)
        return mcr_err(MCR_EINVAL, "`sample_steps` must be from 1 to T = %d, got %d", m->T, c->sample_steps);
    if (!(c->eta >= 0 && c->eta <= 1)) return mcr_err(MCR_EINVAL, "`eta` must be in [0, 1]");
    if (!isfinite(c->w_label) || !isfinite(c->w_attr)) return mcr_err(MCR_EINVAL, "`guidance` must be finite");
    if (c->batch < 1 || c->batch > 4096) return mcr_err(MCR_EINVAL, "`batch` must be from 1 to 4096");
    int L = m->L, A = m->A;
    size_t ncell = (size_t)(L + 1) * (size_t)(A + 1), total = 0;
    for (size_t k = 0; k < ncell; k++) total += counts[k];
    if (total > 100000000) return mcr_err(MCR_EINVAL, "`counts`: %zu images is too many (at most 1e8)", total);
    mcr_imageset *s = NULL;
    int rc = mcr_imageset_alloc((int)total, m->H, m->W, m->C, &s);
    if (rc) return rc;
    for (int k = 0; k < L && !rc; k++) rc = mcr_imageset_add_level(s, 0, m->label_names[k]) < 0;
    for (int k = 0; k < A && !rc; k++) rc = mcr_imageset_add_level(s, 1, m->attr_names[k]) < 0;
    if (rc) {
        mcr_imageset_free(s);
        return MCR_NOMEM();
    }
    free(s->attr_col);
    s->attr_col = mcr_strdup(m->attr_col);
    size_t i = 0;
    for (int l = 0; l <= L; l++)
        for (int a = 0; a <= A; a++)
            for (size_t j = 0; j < counts[(size_t)l * (size_t)(A + 1) + (size_t)a]; j++, i++) {
                s->label[i] = l < L ? l : -1;
                s->attr[i] = a < A ? a : -1;
            }
    /* which forward passes: joint: one, both conditions together; else the unconditional
     * always, the label / attribute ones when weighted */
    int joint = c->joint != 0;
    int use_l = !joint && c->w_label != 0 && L > 0, use_a = !joint && c->w_attr != 0 && A > 0, nblk = 1 + use_l + use_a;
    int B = c->batch;
    size_t d = (size_t)m->C * m->H * m->W, NB = (size_t)nblk * B;
    mcr_unet *net = calloc(1, sizeof *net);
    mcr_sched sc = {0};
    float *mem = NULL;
    int *imem = NULL, *ts = NULL;
    if (!net) {
        rc = MCR_NOMEM();
        goto done;
    }
    if ((rc = mcr_unet_layout(net, &m->ucfg))) goto done;
    MCR_ASSERT(net->nparams == m->nparams);
    if ((rc = mcr_unet_alloc(net, (int)NB))) goto done;
    {
        int bf16 = 0;
        if ((rc = mcr_bf16_resolve(c->precision, &bf16))) goto done;
        if (bf16 && (rc = mcr_unet_set_engine(net, MCR_UNET_DNNL_BF16))) goto done;
    }
    if ((rc = mcr_sched_init(&sc, m->T, (mcr_schedule)m->schedule))) goto done;
    mem = malloc(((size_t)NB * d + 3 * (size_t)B * d + 2 * d) * sizeof(float));
    imem = malloc(3 * NB * sizeof(int));
    int K = c->sampler == MCR_SAMPLER_DDPM ? m->T : c->sample_steps;
    ts = malloc((size_t)K * sizeof(int));
    if (!mem || !imem || !ts) {
        rc = MCR_NOMEM();
        goto done;
    }
    float *xin = mem, *x = mem + NB * d, *eps = x + (size_t)B * d, *z = eps + (size_t)B * d, *lo = z + (size_t)B * d,
          *hi = lo + d;
    int *tt = imem, *yy = imem + NB, *aa = imem + 2 * NB;
    for (size_t k = 0; k < d; k++) lo[k] = -1, hi[k] = 1;
    for (int k = 0; k < K; k++) ts[k] = c->sampler == MCR_SAMPLER_DDPM ? k : (int)(((long)(k + 1) * m->T) / K - 1);
    mcr_rng rng;
    mcr_rng_seed(&rng, c->seed, MCR_STREAM_IMAGE_SAMPLE);
    for (size_t b0 = 0; b0 < total; b0 += (size_t)B) {
        int nb = total - b0 < (size_t)B ? (int)(total - b0) : B;
        size_t nd = (size_t)nb * d;
        for (size_t k = 0; k < nd; k++) x[k] = (float)mcr_rng_normal(&rng);
        /* conditions of the blocks: [null, null], [label, null], [null, attribute] */
        for (int j = 0; j < nb; j++) {
            int l = s->label[b0 + j], a = s->attr[b0 + j], blk = 0;
            yy[j] = joint && l >= 0 ? l : L, aa[j] = joint && a >= 0 ? a : A;
            if (use_l) blk++, yy[blk * nb + j] = l < 0 ? L : l, aa[blk * nb + j] = A;
            if (use_a) blk++, yy[blk * nb + j] = L, aa[blk * nb + j] = a < 0 ? A : a;
        }
        for (int k = K - 1; k >= 0; k--) {
            int t = ts[k];
            for (int blk = 0; blk < nblk; blk++) {
                memcpy(xin + (size_t)blk * nd, x, nd * sizeof(float));
                for (int j = 0; j < nb; j++) tt[blk * nb + j] = t;
            }
            mcr_unet_forward(net, m->ema, xin, tt, yy, aa, nblk * nb);
            const float *o = net->tens[net->t_out].v;
            int blk = 1;
            const float *el = use_l ? o + (size_t)(blk++) * nd : NULL, *ea = use_a ? o + (size_t)(blk++) * nd : NULL;
            for (size_t q = 0; q < nd; q++) {
                float e = o[q];
                if (el) e += c->w_label * (el[q] - o[q]);
                if (ea) e += c->w_attr * (ea[q] - o[q]);
                eps[q] = e;
            }
            if (c->sampler == MCR_SAMPLER_DDPM) {
                if (t > 0)
                    for (size_t q = 0; q < nd; q++) z[q] = (float)mcr_rng_normal(&rng);
                ddpm_step(x, eps, z, nb, (int)d, (int)d, lo, hi, &sc, t);
            } else {
                double ab = sc.abar[t], abp = k > 0 ? sc.abar[ts[k - 1]] : 1.0;
                if (c->eta > 0)
                    for (size_t q = 0; q < nd; q++) z[q] = (float)mcr_rng_normal(&rng);
                ddim_step(x, eps, c->eta > 0 ? z : NULL, c->eta, nb, (int)d, (int)d, lo, hi, ab, abp);
            }
        }
        mcr_image_from_float(s->pix + b0 * d, x, nb, m->H, m->W, m->C);
    }
done:
    free(mem), free(imem), free(ts);
    mcr_sched_free(&sc);
    if (net) mcr_unet_free(net);
    free(net);
    if (rc) mcr_imageset_free(s);
    else *out = s;
    return rc;
}

/* ------------------------------------------------------------------ the file */
static int write_model(const mcr_imodel *m, const float *ema, const mcr_train_state *st, const char *path) {
    mcr_wbuf w = {0};
    const mcr_ifit_config *c = &m->cfg;
    size_t at = mcr_put_section(&w, "ICFG");
    mcr_put_i32(&w, m->C), mcr_put_i32(&w, m->H), mcr_put_i32(&w, m->W);
    put_settings(&w, c); /* the T here is the fit's; SCHD holds the schedule sampling uses */
    mcr_put_f32(&w, m->final_loss);
    /* the precision that ran, after the loss and only when not fp32 (older files: fp32) */
    if (c->precision != MCR_PRECISION_FP32) mcr_put_i32(&w, c->precision);
    mcr_end_section(&w, at);
    at = mcr_put_section(&w, "LEVL");
    mcr_put_i32(&w, m->L), mcr_put_i32(&w, m->A);
    for (int k = 0; k < m->L; k++) mcr_put_str(&w, m->label_names[k]);
    for (int k = 0; k < m->A; k++) mcr_put_str(&w, m->attr_names[k]);
    mcr_put_str(&w, m->attr_col);
    for (size_t k = 0; k < (size_t)(m->L + 1) * (size_t)(m->A + 1); k++) mcr_put_u64(&w, m->cell[k]);
    mcr_end_section(&w, at);
    at = mcr_put_section(&w, "SCHD");
    mcr_put_i32(&w, m->T), mcr_put_i32(&w, m->schedule);
    mcr_end_section(&w, at);
    at = mcr_put_section(&w, "WGHT");
    mcr_params_put(&w, ema, m->nparams);
    mcr_end_section(&w, at);
    if (st) {
        at = mcr_put_section(&w, "TRST");
        mcr_train_put(&w, st);
        mcr_end_section(&w, at);
    }
    if (w.oom) {
        mcr_wbuf_free(&w);
        return MCR_NOMEM();
    }
    int rc = mcr_container_write(path, IMODEL_MAGIC, IMODEL_VERSION, &w);
    mcr_wbuf_free(&w);
    return rc;
}

MCR_API int mcr_imodel_save(const mcr_imodel *m, const char *path) {
    return write_model(m, m->ema, m->state, path);
}

#define BAD(...) do { rc = mcr_err(MCR_ECORRUPT, __VA_ARGS__); goto fail; } while (0)

static int read_model(const unsigned char *data, size_t len, const char *path, mcr_imodel **out) {
    *out = NULL;
    if (len >= 8 && !memcmp(data, "MCRGMODL", 8))
        return mcr_err(MCR_ECORRUPT, "%s is a table model (written by mcrage fit), not an image model; "
                                     "image commands need a model from mcrage image fit", path);
    uint32_t ver;
    mcr_rbuf r;
    int rc = mcr_container_open(data, len, path, &IMODEL_FILE, &ver, &r);
    if (rc) return rc;
    mcr_imodel *m = calloc(1, sizeof *m);
    if (!m) return MCR_NOMEM();
    mcr_rbuf sec;
    mcr_ifit_config *c = &m->cfg;
    mcr_ifit_config_default(c);
    if (!mcr_get_section(&r, "ICFG", &sec)) BAD("%s: damaged image model (no settings section)", path);
    m->C = mcr_get_i32(&sec), m->H = mcr_get_i32(&sec), m->W = mcr_get_i32(&sec);
    c->steps = mcr_get_i32(&sec), c->batch = mcr_get_i32(&sec), c->lr = mcr_get_f32(&sec);
    c->warmup = mcr_get_i32(&sec), c->weight_decay = mcr_get_f32(&sec), c->grad_clip = mcr_get_f32(&sec);
    c->ema_decay = mcr_get_f32(&sec), c->cond_drop = mcr_get_f32(&sec);
    c->nlevels = mcr_get_i32(&sec);
    for (int l = 0; l < UNET_MAX_LEVELS; l++) c->channels[l] = mcr_get_i32(&sec);
    c->nres = mcr_get_i32(&sec), c->attn = mcr_get_i32(&sec), c->groups = mcr_get_i32(&sec);
    c->seed = mcr_get_u64(&sec);
    c->T = mcr_get_i32(&sec);
    m->final_loss = mcr_get_f32(&sec);
    if (!sec.bad && mcr_rbuf_left(&sec) >= 4) {
        c->precision = (mcr_precision)mcr_get_i32(&sec);
        if (c->precision != MCR_PRECISION_FP32 && c->precision != MCR_PRECISION_BF16)
            BAD("%s: damaged image model (precision)", path);
    }
    if (sec.bad || (m->C != 1 && m->C != 3) || m->H < 1 || m->W < 1 || m->H > 65536 || m->W > 65536)
        BAD("%s: damaged image model (settings)", path);
    if (!mcr_get_section(&r, "LEVL", &sec)) BAD("%s: damaged image model (no level section)", path);
    m->L = mcr_get_i32(&sec), m->A = mcr_get_i32(&sec);
    if (sec.bad || m->L < 0 || m->A < 0 || m->L > 100000 || m->A > 100000) {
        m->L = m->A = 0;
        BAD("%s: damaged image model (levels)", path);
    }
    if ((rc = alloc_levels(m))) goto fail;
    for (int k = 0; k < m->L; k++)
        if (!(m->label_names[k] = mcr_get_str(&sec))) BAD("%s: damaged image model (label names)", path);
    for (int k = 0; k < m->A; k++)
        if (!(m->attr_names[k] = mcr_get_str(&sec))) BAD("%s: damaged image model (attribute names)", path);
    if (!(m->attr_col = mcr_get_str(&sec))) BAD("%s: damaged image model (attribute column)", path);
    for (size_t k = 0; k < (size_t)(m->L + 1) * (size_t)(m->A + 1); k++) m->cell[k] = mcr_get_u64(&sec);
    if (sec.bad) BAD("%s: damaged image model (counts)", path);
    if (!mcr_get_section(&r, "SCHD", &sec)) BAD("%s: damaged image model (no schedule section)", path);
    m->T = mcr_get_i32(&sec), m->schedule = mcr_get_i32(&sec);
    if (sec.bad || m->T != c->T || m->T < 2 || m->T > 100000 || (m->schedule != MCR_SCHED_COSINE && m->schedule != MCR_SCHED_LINEAR))
        BAD("%s: damaged image model (schedule)", path);
    if (check_config(c)) BAD("%s: damaged image model (settings: %s)", path, mcr_last_error());
    unet_config(c, m->C, m->H, m->W, m->L, m->A, &m->ucfg);
    {
        mcr_unet *net = calloc(1, sizeof *net);
        if (!net) {
            rc = MCR_NOMEM();
            goto fail;
        }
        rc = mcr_unet_layout(net, &m->ucfg);
        m->nparams = net->nparams;
        free(net);
        if (rc) BAD("%s: damaged image model (network: %s)", path, mcr_last_error());
    }
    if (!mcr_get_section(&r, "WGHT", &sec)) BAD("%s: damaged image model (no weights section)", path);
    if ((rc = mcr_params_get(&sec, m->nparams, path, &m->ema))) goto fail;
    if (mcr_peek_section(&r, "TRST")) {
        mcr_get_section(&r, "TRST", &sec);
        if (!(m->state = calloc(1, sizeof *m->state))) {
            rc = MCR_NOMEM();
            goto fail;
        }
        if ((rc = mcr_train_get(&sec, m->nparams, path, m->state))) {
            free(m->state);
            m->state = NULL;
            goto fail;
        }
    }
    if (mcr_rbuf_left(&r)) BAD("%s: damaged image model (unknown trailing section)", path);
    *out = m;
    return MCR_OK;
fail:
    mcr_imodel_free(m);
    return rc;
}

MCR_API int mcr_imodel_load(const char *path, mcr_imodel **out) {
    *out = NULL;
    unsigned char *data;
    size_t n;
    int rc = mcr_file_read(path, &data, &n);
    if (rc) return rc;
    rc = read_model(data, n, path, out);
    free(data);
    return rc;
}

MCR_API int mcr_imodel_is_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char b[8];
    int ok = fread(b, 1, 8, f) == 8 && !memcmp(b, IMODEL_MAGIC, 8);
    fclose(f);
    return ok;
}

MCR_API int mcr_imodel_inspect(const mcr_imodel *m, FILE *f) {
    const mcr_ifit_config *c = &m->cfg;
    fprintf(f, "mcrage image model (conditional DDPM, eps-prediction, UNet)\n");
    fprintf(f, "images:      %d x %d x %d (%s)\n", m->H, m->W, m->C, m->C == 1 ? "grey" : "RGB");
    fprintf(f, "unet:        channels");
    for (int l = 0; l < c->nlevels; l++) fprintf(f, "%s%d", l ? "," : " ", c->channels[l]);
    fprintf(f, ", %d residual blocks per level, attention %s, %d groups, %zu parameters\n", c->nres,
            c->attn ? "on" : "off", c->groups, m->nparams);
    fprintf(f, "schedule:    %s, T = %d\n", m->schedule == MCR_SCHED_COSINE ? "cosine" : "linear", m->T);
    fprintf(f, "training:    %d steps, batch %d, lr %g, warmup %d, grad clip %g, EMA %g, cond drop %g, seed %llu\n",
            c->steps, c->batch, (double)c->lr, c->warmup ? c->warmup : c->steps / 20, (double)c->grad_clip,
            (double)c->ema_decay, (double)c->cond_drop, (unsigned long long)c->seed);
    if (m->state) fprintf(f, "state:       checkpoint at step %d of %d (resume with --resume)\n", m->state->step, c->steps);
    else fprintf(f, "final loss:  %.5f\n", (double)m->final_loss);
    fprintf(f, "labels:      %d (", m->L);
    for (int k = 0; k < m->L; k++) fprintf(f, "%s%s", k ? ", " : "", m->label_names[k]);
    fprintf(f, ")\n");
    if (!m->A) fprintf(f, "attribute:   none (sampled with the null token)\n");
    else {
        fprintf(f, "attribute:   %d (", m->A);
        for (int k = 0; k < m->A; k++) fprintf(f, "%s%s", k ? ", " : "", m->attr_names[k]);
        fprintf(f, ") column %s\n", m->attr_col);
    }
    fprintf(f, "training images per cell (label x %s):\n", m->attr_col);
    for (int l = 0; l <= m->L; l++)
        for (int a = 0; a <= m->A; a++) {
            uint64_t v = m->cell[(size_t)l * (size_t)(m->A + 1) + (size_t)a];
            if (!v) continue;
            fprintf(f, "  label %-12s %s %-12s %llu\n", l < m->L ? m->label_names[l] : "(unlabelled)", m->attr_col,
                    a < m->A ? m->attr_names[a] : "(unknown)", (unsigned long long)v);
        }
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}
