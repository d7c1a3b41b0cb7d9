/* model_io.c — the model file: a container (core/container.c, magic "MCRGMODL") whose
 * sections are written and read by the modules that own their structs (list in tabular.h):
 * SCHM schema (table.c), COND conditions (here), ENCD encoder (transform.c), CONF settings,
 * loss curve and sampling bounds (here), WGHT EMA weights and TRST trainer state (train.c).
 * Version 2 files hold the same payloads back to back without section framing, the trainer
 * state behind a u32 flag; they are read by running the same readers in sequence. A damaged
 * file is refused with MCR_ECORRUPT and a message saying which part. */
#include "tabular/tabular.h"

static const mcr_container MODEL_FILE = {"MCRGMODL", "model", MCR_MODEL_VERSION,
                                         MCR_MODEL_OLDEST, "refit the model"};

/* ------------------------------------------------------------------ writing */
static void put_conditions(mcr_wbuf *w, const mcr_model *m) {
    mcr_put_i32(w, m->target);
    mcr_put_i32(w, m->sensitive);
    mcr_put_i32(w, m->condition);
    mcr_put_i32(w, m->ncond);
    for (int k = 0; k < m->ncond; k++) {
        mcr_put_str(w, m->cond_names[k]);
        mcr_put_u64(w, m->cond_count[k]);
        mcr_put_i32(w, m->cond_tlevel[k]);
        mcr_put_i32(w, m->cond_glevel[k]);
    }
}

static void put_settings(mcr_wbuf *w, const mcr_model *m) {
    const mcr_fit_config *c = &m->cfg;
    mcr_put_i32(w, c->nwidths);
    for (int l = 0; l < c->nwidths; l++) mcr_put_i32(w, c->widths[l]);
    mcr_put_i32(w, c->dim_t);
    mcr_put_i32(w, c->act);
    mcr_put_f32(w, c->dropout);
    mcr_put_i32(w, c->T);
    mcr_put_i32(w, c->schedule);
    mcr_put_i32(w, c->steps);
    mcr_put_i32(w, c->batch);
    mcr_put_f32(w, c->lr);
    mcr_put_f32(w, c->weight_decay);
    mcr_put_i32(w, c->warmup);
    mcr_put_f32(w, c->grad_clip);
    mcr_put_f32(w, c->ema_decay);
    mcr_put_f32(w, c->p_uncond);
    mcr_put_i32(w, c->numeric);
    mcr_put_u64(w, c->seed);
    mcr_put_i32(w, c->catmode);
    mcr_put_i32(w, c->min_level_count);
    mcr_put_f32(w, m->final_loss);
    mcr_put_i32(w, m->nloss);
    mcr_put(w, m->loss_curve, (size_t)m->nloss * sizeof(float));
    mcr_put(w, m->xlo, (size_t)m->enc->d * sizeof(float));
    mcr_put(w, m->xhi, (size_t)m->enc->d * sizeof(float));
    /* appended field: written only when not fp32, so fp32 files are byte-identical to those
     * written before it existed; a file without it reads as fp32 */
    if (c->precision != MCR_PRECISION_FP32) mcr_put_i32(w, c->precision);
}

int mcr_model_write(const mcr_model *m, const float *ema, const mcr_train_state *st,
                    const char *path) {
    MCR_ASSERT(ema && (!st || st->opt.n == m->net.nparams));
    mcr_wbuf w = {0};
    size_t at = mcr_put_section(&w, "SCHM");
    mcr_schema_put(&w, m->schema);
    mcr_end_section(&w, at);
    at = mcr_put_section(&w, "COND");
    put_conditions(&w, m);
    mcr_end_section(&w, at);
    at = mcr_put_section(&w, "ENCD");
    mcr_encoder_put(&w, m->enc);
    mcr_end_section(&w, at);
    at = mcr_put_section(&w, "CONF");
    put_settings(&w, m);
    mcr_end_section(&w, at);
    at = mcr_put_section(&w, "WGHT");
    mcr_params_put(&w, ema, m->net.nparams);
    mcr_end_section(&w, at);
    if (st) {
        at = mcr_put_section(&w, "TRST");
        mcr_train_put(&w, st);
        mcr_end_section(&w, at);
    }
    int rc = mcr_container_write(path, MODEL_FILE.magic, MCR_MODEL_VERSION, &w);
    mcr_wbuf_free(&w);
    return rc;
}

int mcr_model_save(const mcr_model *m, const char *path) {
    return mcr_model_write(m, m->ema, m->state, path);
}

/* ------------------------------------------------------------------ reading */
#define BAD(...) do { rc = mcr_err(MCR_ECORRUPT, __VA_ARGS__); goto fail; } while (0)

static int get_conditions(mcr_rbuf *r, const char *path, mcr_model *m) {
    int rc = MCR_OK, ncols = m->schema->ncols;
    const mcr_table *s = m->schema;
    m->target = mcr_get_i32(r);
    m->sensitive = mcr_get_i32(r);
    m->condition = mcr_get_i32(r);
    m->ncond = mcr_get_i32(r);
    if (r->bad || m->target < 0 || m->target >= ncols || m->sensitive < -1 ||
        m->sensitive >= ncols || m->condition < 0 || m->condition > 2 || m->ncond < 1 ||
        m->ncond > 10000000 || s->cols[m->target].type != MCR_COL_CATEGORICAL ||
        (m->sensitive >= 0 && s->cols[m->sensitive].type != MCR_COL_CATEGORICAL)) {
        m->ncond = 0;
        BAD("%s: damaged condition block", path); /* (a condition column is categorical: found by fuzzing) */
    }
    m->cond_names = calloc((size_t)m->ncond, sizeof(char *));
    m->cond_count = calloc((size_t)m->ncond, sizeof(size_t));
    m->cond_tlevel = calloc((size_t)m->ncond, sizeof(int));
    m->cond_glevel = calloc((size_t)m->ncond, sizeof(int));
    if (!m->cond_names || !m->cond_count || !m->cond_tlevel || !m->cond_glevel) return MCR_NOMEM();
    for (int k = 0; k < m->ncond; k++) {
        m->cond_names[k] = mcr_get_str(r);
        m->cond_count[k] = mcr_get_u64(r);
        m->cond_tlevel[k] = mcr_get_i32(r);
        m->cond_glevel[k] = mcr_get_i32(r);
        if (r->bad || !m->cond_names[k] || m->cond_tlevel[k] >= s->cols[m->target].nlevels ||
            (m->cond_glevel[k] >= 0 && (m->sensitive < 0 || m->cond_glevel[k] >= s->cols[m->sensitive].nlevels)))
            BAD("%s: damaged condition %d", path, k + 1);
    }
fail:
    return rc;
}

static int get_settings(mcr_rbuf *r, const char *path, mcr_model *m) {
    int rc = MCR_OK, d = m->enc->d;
    mcr_fit_config *c = &m->cfg;
    mcr_fit_config_default(c);
    c->nwidths = mcr_get_i32(r);
    if (r->bad || c->nwidths < 0 || c->nwidths > MCR_MAX_LAYERS) BAD("%s: damaged settings", path);
    for (int l = 0; l < c->nwidths; l++) {
        c->widths[l] = mcr_get_i32(r);
        if (c->widths[l] < 1 || c->widths[l] > 65536) BAD("%s: damaged settings (widths)", path);
    }
    c->dim_t = mcr_get_i32(r);
    c->act = mcr_get_i32(r);
    c->dropout = mcr_get_f32(r);
    c->T = mcr_get_i32(r);
    c->schedule = mcr_get_i32(r);
    c->steps = mcr_get_i32(r);
    c->batch = mcr_get_i32(r);
    c->lr = mcr_get_f32(r);
    c->weight_decay = mcr_get_f32(r);
    c->warmup = mcr_get_i32(r);
    c->grad_clip = mcr_get_f32(r);
    c->ema_decay = mcr_get_f32(r);
    c->p_uncond = mcr_get_f32(r);
    c->numeric = mcr_get_i32(r);
    c->seed = mcr_get_u64(r);
    c->catmode = mcr_get_i32(r);
    c->min_level_count = mcr_get_i32(r);
    c->progress_every = 0;
    if (r->bad || c->dim_t < 2 || c->dim_t > 4096 || (c->act != 0 && c->act != 1) || c->T < 2 ||
        c->T > 100000 || (c->schedule != 0 && c->schedule != 1) ||
        (c->catmode != MCR_CAT_ONEHOT && c->catmode != MCR_CAT_MULTINOMIAL) || c->min_level_count < 1)
        BAD("%s: damaged settings", path);
    m->final_loss = mcr_get_f32(r);
    m->nloss = mcr_get_i32(r);
    if (r->bad || m->nloss < 0 || (size_t)m->nloss > mcr_rbuf_left(r) / 4) BAD("%s: damaged loss curve", path);
    if (!(m->loss_curve = malloc(((size_t)m->nloss + 1) * sizeof(float)))) return MCR_NOMEM();
    mcr_get(r, m->loss_curve, (size_t)m->nloss * sizeof(float));
    m->xlo = malloc((size_t)d * sizeof(float));
    m->xhi = malloc((size_t)d * sizeof(float));
    if (!m->xlo || !m->xhi) return MCR_NOMEM();
    if (!mcr_get(r, m->xlo, (size_t)d * sizeof(float)) || !mcr_get(r, m->xhi, (size_t)d * sizeof(float)))
        BAD("%s: damaged sampling bounds", path);
    for (int k = 0; k < d; k++)
        if (!(m->xlo[k] <= m->xhi[k])) BAD("%s: damaged sampling bounds", path);
    c->precision = MCR_PRECISION_FP32;
    if (m->version >= 3 && mcr_rbuf_left(r) >= 4) { /* the precision training used (absent: fp32) */
        int32_t p = mcr_get_i32(r);
        if (r->bad || (p != MCR_PRECISION_FP32 && p != MCR_PRECISION_BF16)) BAD("%s: damaged settings (precision)", path);
        c->precision = (mcr_precision)p;
    }
    mcr_net_layout(&m->net, d, c->dim_t, m->ncond, c->widths, c->nwidths, c->act, c->dropout);
fail:
    return rc;
}

/* the trainer state of a checkpoint; its EMA is the model's weights */
static int get_state(mcr_rbuf *r, const char *path, mcr_model *m) {
    mcr_train_state *st = calloc(1, sizeof *st);
    if (!st) return MCR_NOMEM();
    int rc = mcr_train_get(r, m->net.nparams, path, st);
    if (rc) return free(st), rc;
    m->state = st;
    if (st->step > m->cfg.steps) return mcr_err(MCR_ECORRUPT, "%s: damaged training state", path);
    memcpy(st->opt.ema, m->ema, m->net.nparams * sizeof(float));
    return MCR_OK;
}

/* One section (version 3: framed, read to its end) or one chunk of a version-2 payload. */
static int section(mcr_rbuf *r, int framed, const char *tag, const char *what, const char *path,
                   mcr_rbuf *sec) {
    if (!framed) {
        *sec = *r;
        return MCR_OK;
    }
    if (!mcr_get_section(r, tag, sec))
        return mcr_err(MCR_ECORRUPT, "%s: damaged file: the %s section (%.4s) is missing or cut short",
                       path, what, tag);
    return MCR_OK;
}
static int section_done(mcr_rbuf *r, int framed, mcr_rbuf *sec, const char *what, const char *path) {
    if (!framed) {
        *r = *sec;
        return MCR_OK;
    }
    if (sec->bad || sec->pos != sec->n)
        return mcr_err(MCR_ECORRUPT, "%s: damaged %s section (%zu of %zu bytes read)", path, what,
                       sec->pos, sec->n);
    return MCR_OK;
}

#define SECTION(tag, what, call)                                                        \
    do {                                                                                \
        mcr_rbuf sec;                                                                   \
        if ((rc = section(r, framed, tag, what, path, &sec)) || (rc = (call)) ||        \
            (rc = section_done(r, framed, &sec, what, path)))                           \
            goto fail;                                                                  \
    } while (0)

static int parse_payload(mcr_rbuf *r, uint32_t version, const char *path, mcr_model **out) {
    int rc = MCR_OK, framed = version >= 3;
    mcr_model *m = calloc(1, sizeof *m);
    if (!m) return MCR_NOMEM();
    m->version = (int)version;
    SECTION("SCHM", "schema", mcr_schema_get(&sec, path, &m->schema));
    SECTION("COND", "conditions", get_conditions(&sec, path, m));
    SECTION("ENCD", "encoder", mcr_encoder_get(&sec, path, m->schema, &m->enc));
    SECTION("CONF", "settings", get_settings(&sec, path, m));
    SECTION("WGHT", "weights", mcr_params_get(&sec, m->net.nparams, path, &m->ema));
    if (framed) {
        if (mcr_peek_section(r, "TRST")) SECTION("TRST", "training state", get_state(&sec, path, m));
    } else {
        uint32_t has_state = mcr_get_u32(r);
        if (r->bad || has_state > 1) BAD("%s: damaged training-state flag", path);
        if (has_state && (rc = get_state(r, path, m))) goto fail;
    }
    if (r->bad || r->pos != r->n) BAD("%s: trailing bytes in the payload", path);
    m->nfeat = m->enc->nfeat;
    if (!(m->feat = malloc((size_t)m->nfeat * sizeof(int)))) {
        rc = MCR_NOMEM();
        goto fail;
    }
    for (int a = 0; a < m->nfeat; a++) m->feat[a] = m->enc->f[a].col;
    *out = m;
    return MCR_OK;
fail:
    mcr_model_free(m);
    return rc;
}

int mcr_model_load_mem(const void *data, size_t n, const char *path, mcr_model **out) {
    *out = NULL;
    uint32_t version;
    mcr_rbuf r;
    int rc = mcr_container_open(data, n, path, &MODEL_FILE, &version, &r);
    return rc ? rc : parse_payload(&r, version, path, out);
}

int mcr_model_load(const char *path, mcr_model **out) {
    *out = NULL;
    unsigned char *buf;
    size_t n;
    int rc = mcr_file_read(path, &buf, &n);
    if (rc) return rc;
    rc = mcr_model_load_mem(buf, n, path, out);
    free(buf);
    return rc;
}
