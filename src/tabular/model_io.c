/* model_io.c — the model file.
 *
 *   offset 0   8 bytes  magic "MCRGMODL"
 *          8   u32      format version (MCR_MODEL_VERSION)
 *         12   u32      flags (0)
 *         16   u64      payload length in bytes
 *         24   u32      CRC-32 (zlib) of the payload
 *         28   ...      payload: schema, conditions, encoder, settings, loss curve, EMA weights
 * All integers little-endian. Written to a temporary file and renamed; on loading, a wrong
 * magic, a newer version, a short file, a checksum mismatch or an inconsistent payload is
 * refused with MCR_ECORRUPT and a message saying which.
 */
#include "tabular/tabular.h"
#include <errno.h>
#include <zlib.h>

static const char MAGIC[8] = {'M', 'C', 'R', 'G', 'M', 'O', 'D', 'L'};

typedef struct {
    unsigned char *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *w, const void *src, size_t n) {
    if (w->oom) return;
    if (w->n + n > w->cap) {
        size_t nc = w->cap ? w->cap : 4096;
        while (nc < w->n + n) nc *= 2;
        unsigned char *q = realloc(w->p, nc);
        if (!q) {
            w->oom = 1;
            return;
        }
        w->p = q;
        w->cap = nc;
    }
    memcpy(w->p + w->n, src, n);
    w->n += n;
}
static void put_u32(wbuf *w, uint32_t v) { put(w, &v, 4); }
static void put_i32(wbuf *w, int32_t v) { put(w, &v, 4); }
static void put_u64(wbuf *w, uint64_t v) { put(w, &v, 8); }
static void put_f64(wbuf *w, double v) { put(w, &v, 8); }
static void put_f32(wbuf *w, float v) { put(w, &v, 4); }
static void put_str(wbuf *w, const char *s) {
    uint32_t n = (uint32_t)strlen(s);
    put_u32(w, n);
    put(w, s, n);
}

typedef struct {
    const unsigned char *p;
    size_t n, pos;
    int bad;
} rbuf;

static int get(rbuf *r, void *dst, size_t n) {
    if (r->bad || n > r->n - r->pos) {
        r->bad = 1;
        memset(dst, 0, n);
        return 0;
    }
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return 1;
}
static uint32_t get_u32(rbuf *r) { uint32_t v; get(r, &v, 4); return v; }
static int32_t get_i32(rbuf *r) { int32_t v; get(r, &v, 4); return v; }
static uint64_t get_u64(rbuf *r) { uint64_t v; get(r, &v, 8); return v; }
static double get_f64(rbuf *r) { double v; get(r, &v, 8); return v; }
static float get_f32(rbuf *r) { float v; get(r, &v, 4); return v; }
static char *get_str(rbuf *r) {
    uint32_t n = get_u32(r);
    if (r->bad || n > r->n - r->pos) {
        r->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->bad = 1;
        return NULL;
    }
    get(r, s, n);
    s[n] = 0;
    return s;
}

static void put_payload(wbuf *w, const mcr_model *m) {
    const mcr_table *s = m->schema;
    /* schema */
    put_i32(w, s->sep);
    put_i32(w, s->ncols);
    for (int j = 0; j < s->ncols; j++) {
        const mcr_column *c = &s->cols[j];
        put_str(w, c->name);
        put_i32(w, c->type);
        put_i32(w, c->decimals);
        put_i32(w, c->nlevels);
        for (int k = 0; k < c->nlevels; k++) put_str(w, c->levels[k]);
    }
    /* conditions */
    put_i32(w, m->target);
    put_i32(w, m->sensitive);
    put_i32(w, m->condition);
    put_i32(w, m->ncond);
    for (int k = 0; k < m->ncond; k++) {
        put_str(w, m->cond_names[k]);
        put_u64(w, m->cond_count[k]);
        put_i32(w, m->cond_tlevel[k]);
        put_i32(w, m->cond_glevel[k]);
    }
    /* encoder */
    const mcr_encoder *e = m->enc;
    put_i32(w, e->nfeat);
    put_i32(w, e->d);
    put_i32(w, e->split);
    for (int a = 0; a < e->nfeat; a++) {
        const mcr_encfeat *f = &e->f[a];
        put_i32(w, f->col);
        put_i32(w, f->type);
        put_i32(w, f->kind);
        put_i32(w, f->nq);
        for (int q = 0; q < (f->type == MCR_COL_CATEGORICAL ? 0 : f->nq); q++) put_f64(w, f->q[q]);
        put_f64(w, f->mean);
        put_f64(w, f->sd);
        put_f64(w, f->lo);
        put_f64(w, f->hi);
        put_f64(w, f->fill);
        put_i32(w, f->has_missing);
        put_i32(w, f->all_missing);
        put_i32(w, f->nlevels);
        if (f->type != MCR_COL_CATEGORICAL) continue;
        put_i32(w, f->other);
        for (int k = 0; k < f->nlevels; k++) put_i32(w, f->lmap[k]);
        put_i32(w, f->nrare);
        for (int k = 0; k < f->nrare; k++) put_i32(w, f->rare[k]);
        for (int k = 0; k < f->nrare; k++) put_f64(w, f->rcum[k]);
    }
    /* settings */
    const mcr_fit_config *c = &m->cfg;
    put_i32(w, c->nwidths);
    for (int l = 0; l < c->nwidths; l++) put_i32(w, c->widths[l]);
    put_i32(w, c->dim_t);
    put_i32(w, c->act);
    put_f32(w, c->dropout);
    put_i32(w, c->T);
    put_i32(w, c->schedule);
    put_i32(w, c->steps);
    put_i32(w, c->batch);
    put_f32(w, c->lr);
    put_f32(w, c->weight_decay);
    put_i32(w, c->warmup);
    put_f32(w, c->grad_clip);
    put_f32(w, c->ema_decay);
    put_f32(w, c->p_uncond);
    put_i32(w, c->numeric);
    put_u64(w, c->seed);
    put_i32(w, c->catmode);
    put_i32(w, c->min_level_count);
    put_f32(w, m->final_loss);
    put_i32(w, m->nloss);
    put(w, m->loss_curve, (size_t)m->nloss * sizeof(float));
    put(w, m->xlo, (size_t)m->enc->d * sizeof(float));
    put(w, m->xhi, (size_t)m->enc->d * sizeof(float));
    /* weights */
    put_u64(w, m->net.nparams);
    put(w, m->ema, m->net.nparams * sizeof(float));
    /* training state (checkpoints only) */
    const mcr_train_state *st = m->state;
    put_u32(w, st != NULL);
    if (st) {
        put_i32(w, st->step);
        put_u64(w, st->opt_t);
        for (int i = 0; i < 4; i++) put_u64(w, st->rng.s[i]);
        put_f64(w, st->rng.spare);
        put_i32(w, st->rng.has_spare);
        put_u64(w, st->pos);
        put_u64(w, st->nperm);
        put(w, st->perm, st->nperm * sizeof(uint64_t));
        put_f64(w, st->acc);
        put_f64(w, st->window);
        put_i32(w, st->nacc);
        put_i32(w, st->nwin);
        put_u32(w, st->data_crc);
        put_u32(w, st->cfg_crc);
        put(w, st->p, m->net.nparams * sizeof(float));
        put(w, st->m, m->net.nparams * sizeof(float));
        put(w, st->v, m->net.nparams * sizeof(float));
    }
}

int mcr_model_save(const mcr_model *m, const char *path) {
    wbuf w = {0};
    put_payload(&w, m);
    if (w.oom) {
        free(w.p);
        return MCR_NOMEM();
    }
    unsigned char hdr[28];
    uint32_t ver = MCR_MODEL_VERSION, flags = 0;
    uint64_t len = w.n;
    uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), w.p, (uInt)w.n);
    memcpy(hdr, MAGIC, 8);
    memcpy(hdr + 8, &ver, 4);
    memcpy(hdr + 12, &flags, 4);
    memcpy(hdr + 16, &len, 8);
    memcpy(hdr + 24, &crc, 4);
    mcr_afile a;
    int rc = mcr_afile_open(&a, path);
    if (rc) {
        free(w.p);
        return rc;
    }
    if (fwrite(hdr, 1, sizeof hdr, a.f) != sizeof hdr || fwrite(w.p, 1, w.n, a.f) != w.n) {
        free(w.p);
        mcr_afile_abort(&a);
        return mcr_err(MCR_EIO, "%s: write error", path);
    }
    free(w.p);
    return mcr_afile_commit(&a);
}

#define BAD(...) do { rc = mcr_err(MCR_ECORRUPT, __VA_ARGS__); goto fail; } while (0)

static int parse_payload(rbuf *r, const char *path, mcr_model **out) {
    int rc = MCR_OK;
    mcr_model *m = calloc(1, sizeof *m);
    if (!m) return MCR_NOMEM();
    mcr_table *s = m->schema = mcr_table_empty(0, ',');
    if (!s) BAD("%s: out of memory", path);
    s->sep = (char)get_i32(r);
    int ncols = get_i32(r);
    if (r->bad || ncols < 1 || ncols > 1000000) BAD("%s: damaged schema (column count)", path);
    for (int j = 0; j < ncols; j++) {
        char *name = get_str(r);
        int type = get_i32(r), dec = get_i32(r), nl = get_i32(r);
        if (r->bad || !name || type < 0 || type > 2 || nl < 0 || nl > 100000000) {
            free(name);
            BAD("%s: damaged schema (column %d)", path, j + 1);
        }
        int idx = mcr_table_add_column(s, name, type, dec);
        free(name);
        if (idx < 0) BAD("%s: out of memory", path);
        for (int k = 0; k < nl; k++) {
            char *lv = get_str(r);
            if (!lv || mcr_column_add_level(&s->cols[idx], lv, strlen(lv)) != k) {
                free(lv);
                BAD("%s: damaged schema (levels of column %d)", path, j + 1);
            }
            free(lv);
        }
    }
    m->target = get_i32(r);
    m->sensitive = get_i32(r);
    m->condition = get_i32(r);
    m->ncond = get_i32(r);
    if (r->bad || m->target < 0 || m->target >= ncols || m->sensitive < -1 ||
        m->sensitive >= ncols || m->condition < 0 || m->condition > 2 || m->ncond < 1 ||
        m->ncond > 10000000)
        BAD("%s: damaged condition block", path);
    m->cond_names = calloc((size_t)m->ncond, sizeof(char *));
    m->cond_count = calloc((size_t)m->ncond, sizeof(size_t));
    m->cond_tlevel = calloc((size_t)m->ncond, sizeof(int));
    m->cond_glevel = calloc((size_t)m->ncond, sizeof(int));
    if (!m->cond_names || !m->cond_count || !m->cond_tlevel || !m->cond_glevel)
        BAD("%s: out of memory", path);
    for (int k = 0; k < m->ncond; k++) {
        m->cond_names[k] = get_str(r);
        m->cond_count[k] = get_u64(r);
        m->cond_tlevel[k] = get_i32(r);
        m->cond_glevel[k] = get_i32(r);
        if (r->bad || !m->cond_names[k] || m->cond_tlevel[k] >= s->cols[m->target].nlevels ||
            (m->cond_glevel[k] >= 0 && (m->sensitive < 0 || m->cond_glevel[k] >= s->cols[m->sensitive].nlevels)))
            BAD("%s: damaged condition %d", path, k + 1);
    }
    mcr_encoder *e = m->enc = calloc(1, sizeof *e);
    if (!e) BAD("%s: out of memory", path);
    int nfeat = get_i32(r);
    int dstored = get_i32(r);
    e->split = get_i32(r);
    if (r->bad || nfeat < 1 || nfeat > ncols || dstored < 1 || dstored > 100000000 ||
        (e->split != 0 && e->split != 1))
        BAD("%s: damaged encoder block", path);
    e->f = calloc((size_t)nfeat, sizeof(mcr_encfeat));
    m->feat = calloc((size_t)nfeat, sizeof(int));
    if (!e->f || !m->feat) BAD("%s: out of memory", path);
    for (int a = 0; a < nfeat; a++) {
        mcr_encfeat *f = &e->f[a];
        e->nfeat = a + 1;
        f->col = get_i32(r);
        f->type = get_i32(r);
        f->kind = get_i32(r);
        f->nq = get_i32(r);
        f->other = -1;
        if (r->bad || f->col < 0 || f->col >= ncols || (int)f->type != (int)s->cols[f->col].type ||
            f->kind < 0 || f->kind > 2 ||
            (f->type != MCR_COL_CATEGORICAL && (f->nq < 1 || (size_t)f->nq * 8 > r->n - r->pos)))
            BAD("%s: damaged encoder entry %d", path, a + 1);
        if (f->type != MCR_COL_CATEGORICAL) {
            if (!(f->q = malloc((size_t)f->nq * sizeof(double)))) BAD("%s: out of memory", path);
            for (int q = 0; q < f->nq; q++) f->q[q] = get_f64(r);
        }
        f->mean = get_f64(r);
        f->sd = get_f64(r);
        f->lo = get_f64(r);
        f->hi = get_f64(r);
        f->fill = get_f64(r);
        f->has_missing = get_i32(r);
        f->all_missing = get_i32(r);
        f->nlevels = get_i32(r);
        if (r->bad || (f->has_missing != 0 && f->has_missing != 1) || f->nlevels < 0 ||
            f->nlevels > s->cols[f->col].nlevels)
            BAD("%s: damaged encoder entry %d", path, a + 1);
        m->feat[a] = f->col;
        if (f->type != MCR_COL_CATEGORICAL) continue;
        int L = f->nlevels;
        f->other = get_i32(r);
        if (r->bad || f->other < -1 || f->other > L || (size_t)L * 4 > r->n - r->pos)
            BAD("%s: damaged encoder entry %d", path, a + 1);
        if (!(f->lmap = malloc((size_t)(L ? L : 1) * sizeof(int)))) BAD("%s: out of memory", path);
        for (int k = 0; k < L; k++) {
            f->lmap[k] = get_i32(r);
            if (f->lmap[k] < 0 || f->lmap[k] >= (f->other >= 0 ? f->other + 1 : L))
                BAD("%s: damaged encoder entry %d (level map)", path, a + 1);
        }
        f->nrare = get_i32(r);
        if (r->bad || f->nrare < 0 || f->nrare > L || (f->other < 0 && f->nrare) ||
            (size_t)f->nrare * 12 > r->n - r->pos)
            BAD("%s: damaged encoder entry %d", path, a + 1);
        f->rare = malloc((size_t)(f->nrare ? f->nrare : 1) * sizeof(int));
        f->rcum = malloc((size_t)(f->nrare ? f->nrare : 1) * sizeof(double));
        if (!f->rare || !f->rcum) BAD("%s: out of memory", path);
        for (int k = 0; k < f->nrare; k++) {
            f->rare[k] = get_i32(r);
            if (f->rare[k] < 0 || f->rare[k] >= L) BAD("%s: damaged encoder entry %d (pooled levels)", path, a + 1);
        }
        for (int k = 0; k < f->nrare; k++) {
            f->rcum[k] = get_f64(r);
            if (!(f->rcum[k] > (k ? f->rcum[k - 1] : 0)) || !isfinite(f->rcum[k]))
                BAD("%s: damaged encoder entry %d (pooled counts)", path, a + 1);
        }
    }
    m->nfeat = nfeat;
    if (r->bad) BAD("%s: damaged encoder block", path);
    if ((rc = mcr_encoder_layout(e))) goto fail;
    if (e->d != dstored) BAD("%s: damaged encoder (width %d != %d)", path, e->d, dstored);
    mcr_fit_config *c = &m->cfg;
    mcr_fit_config_default(c);
    c->nwidths = get_i32(r);
    if (r->bad || c->nwidths < 0 || c->nwidths > MCR_MAX_LAYERS) BAD("%s: damaged settings", path);
    for (int l = 0; l < c->nwidths; l++) {
        c->widths[l] = get_i32(r);
        if (c->widths[l] < 1 || c->widths[l] > 65536) BAD("%s: damaged settings (widths)", path);
    }
    c->dim_t = get_i32(r);
    c->act = get_i32(r);
    c->dropout = get_f32(r);
    c->T = get_i32(r);
    c->schedule = get_i32(r);
    c->steps = get_i32(r);
    c->batch = get_i32(r);
    c->lr = get_f32(r);
    c->weight_decay = get_f32(r);
    c->warmup = get_i32(r);
    c->grad_clip = get_f32(r);
    c->ema_decay = get_f32(r);
    c->p_uncond = get_f32(r);
    c->numeric = get_i32(r);
    c->seed = get_u64(r);
    c->catmode = get_i32(r);
    c->min_level_count = get_i32(r);
    c->progress_every = 0;
    if (r->bad || c->dim_t < 2 || c->dim_t > 4096 || (c->act != 0 && c->act != 1) || c->T < 2 ||
        c->T > 100000 || (c->schedule != 0 && c->schedule != 1) ||
        (c->catmode != MCR_CAT_ONEHOT && c->catmode != MCR_CAT_MULTINOMIAL) || c->min_level_count < 1)
        BAD("%s: damaged settings", path);
    m->final_loss = get_f32(r);
    m->nloss = get_i32(r);
    if (r->bad || m->nloss < 0 || (size_t)m->nloss * 4 > r->n - r->pos) BAD("%s: damaged loss curve", path);
    if (!(m->loss_curve = malloc(((size_t)m->nloss + 1) * sizeof(float)))) BAD("%s: out of memory", path);
    get(r, m->loss_curve, (size_t)m->nloss * sizeof(float));
    m->xlo = malloc((size_t)e->d * sizeof(float));
    m->xhi = malloc((size_t)e->d * sizeof(float));
    if (!m->xlo || !m->xhi) BAD("%s: out of memory", path);
    if (!get(r, m->xlo, (size_t)e->d * sizeof(float)) || !get(r, m->xhi, (size_t)e->d * sizeof(float)))
        BAD("%s: damaged sampling bounds", path);
    for (int k = 0; k < e->d; k++)
        if (!(m->xlo[k] <= m->xhi[k])) BAD("%s: damaged sampling bounds", path);
    mcr_net_layout(&m->net, e->d, c->dim_t, m->ncond, c->widths, c->nwidths, c->act, c->dropout);
    uint64_t np = get_u64(r);
    if (r->bad || np != m->net.nparams || np * 4 > r->n - r->pos)
        BAD("%s: damaged weights (%llu parameters stored, %zu expected)", path,
            (unsigned long long)np, m->net.nparams);
    if (!(m->ema = malloc(np * sizeof(float)))) BAD("%s: out of memory", path);
    get(r, m->ema, np * sizeof(float));
    for (size_t i = 0; i < np; i++)
        if (!isfinite(m->ema[i])) BAD("%s: damaged weights (non-finite value)", path);
    uint32_t has_state = get_u32(r);
    if (r->bad || has_state > 1) BAD("%s: damaged training-state flag", path);
    if (has_state) {
        mcr_train_state *st = m->state = calloc(1, sizeof *st);
        if (!st) BAD("%s: out of memory", path);
        st->owned = 1;
        st->step = get_i32(r);
        st->opt_t = get_u64(r);
        for (int i = 0; i < 4; i++) st->rng.s[i] = get_u64(r);
        st->rng.spare = get_f64(r);
        st->rng.has_spare = get_i32(r);
        st->pos = get_u64(r);
        st->nperm = get_u64(r);
        if (r->bad || st->step < 0 || st->step > c->steps || st->pos > st->nperm ||
            st->nperm > (r->n - r->pos) / 8)
            BAD("%s: damaged training state", path);
        if (!(st->perm = malloc((size_t)st->nperm * 8 + 8))) BAD("%s: out of memory", path);
        get(r, st->perm, (size_t)st->nperm * 8);
        for (uint64_t i = 0; i < st->nperm; i++)
            if (st->perm[i] >= st->nperm) BAD("%s: damaged training state (order)", path);
        st->acc = get_f64(r);
        st->window = get_f64(r);
        st->nacc = get_i32(r);
        st->nwin = get_i32(r);
        st->data_crc = get_u32(r);
        st->cfg_crc = get_u32(r);
        if (r->bad || np * 12 != r->n - r->pos) BAD("%s: damaged training state (size)", path);
        st->p = malloc(np * 4), st->m = malloc(np * 4), st->v = malloc(np * 4);
        if (!st->p || !st->m || !st->v) BAD("%s: out of memory", path);
        get(r, st->p, np * 4), get(r, st->m, np * 4), get(r, st->v, np * 4);
    }
    if (r->pos != r->n) BAD("%s: trailing bytes in the payload", path);
    *out = m;
    return MCR_OK;
fail:
    mcr_model_free(m);
    return rc;
}

/* Check the header and checksum of an in-memory file, then parse its payload. */
int mcr_model_load_mem(const void *data, size_t n, const char *path, mcr_model **out) {
    *out = NULL;
    const unsigned char *hdr = data;
    if (n < 8 || memcmp(hdr, MAGIC, 8) != 0)
        return mcr_err(MCR_ECORRUPT, "%s: not an mcrage model file (bad magic)", path);
    if (n < 28) return mcr_err(MCR_ECORRUPT, "%s: truncated model file (short header)", path);
    uint32_t ver, crc;
    uint64_t len;
    memcpy(&ver, hdr + 8, 4);
    memcpy(&len, hdr + 16, 8);
    memcpy(&crc, hdr + 24, 4);
    if (ver < MCR_MODEL_VERSION && ver > 0)
        return mcr_err(MCR_ECORRUPT,
                       "%s: model file format version %u was written by an older mcrage; this "
                       "one (%s) reads version %d: refit the model",
                       path, ver, MCR_VERSION, MCR_MODEL_VERSION);
    if (ver > MCR_MODEL_VERSION || ver == 0)
        return mcr_err(MCR_ECORRUPT,
                       "%s: model file format version %u; this mcrage (%s) reads version %d "
                       "(upgrade mcrage or refit)",
                       path, ver, MCR_VERSION, MCR_MODEL_VERSION);
    if (len > n - 28)
        return mcr_err(MCR_ECORRUPT, "%s: truncated model file (%zu of %llu payload bytes)", path,
                       n - 28, (unsigned long long)len);
    if (len < n - 28) return mcr_err(MCR_ECORRUPT, "%s: trailing bytes after the model payload", path);
    const unsigned char *p = hdr + 28;
    uint32_t c2 = (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)len);
    if (c2 != crc) return mcr_err(MCR_ECORRUPT, "%s: checksum mismatch: the model file is damaged", path);
    rbuf r = {p, len, 0, 0};
    return parse_payload(&r, path, out);
}

int mcr_model_load(const char *path, mcr_model **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mcr_err(MCR_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return MCR_NOMEM();
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        if (cap > ((size_t)1 << 40)) break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return mcr_err(MCR_EIO, "%s: read error", path);
    }
    int rc = mcr_model_load_mem(buf, n, path, out);
    free(buf);
    return rc;
}
