/* rebalance.c — how many rows each cell needs (strategies) and where they come from (methods).
 *
 * A cell is a class of the target, or a (class, group) pair with group-balance. Strategies give
 * each cell a target count; methods fill the gap:
 *   ros      rows of the cell drawn with replacement
 *   rus      (removes instead) rows of larger classes dropped down to the target
 *   smote    a random row of the cell, one of its k nearest cell neighbours, a uniform point on
 *            the segment between them, on the encoded features (numerics standardised,
 *            categoricals one-hot, decoded by arg-max), as after one-hot encoding in Python
 *   smote-nc numerics interpolated as in SMOTE; distances add med^2 per categorical mismatch
 *            (med = median standard deviation of the cell's numeric features); each categorical
 *            takes the most frequent value among the k neighbours (imbalanced-learn's SMOTENC)
 *   adasyn   SMOTE whose base rows are chosen in proportion to the share of other-class rows
 *            among their k nearest neighbours in the whole training set (He et al. 2008)
 *   mcrage   the conditional diffusion model fitted on the rows, sampled per cell
 */
#include "eval/eval.h"
#include "tabular/tabular.h"
#include <errno.h>

static const char *METHOD_NAMES[] = {"none",   "ros",         "rus",              "smote",          "smote-nc",
                                     "adasyn", "mcrage",      "mcrage-auto",      "mcrage-plausible", "mcrage-boundary"};

const char *mcr_aug_method_name(mcr_aug_method m) {
    return m >= 0 && m < MCR_AUG_NMETHODS ? METHOD_NAMES[m] : "?";
}

int mcr_aug_method_parse(const char *s, mcr_aug_method *out) {
    for (int m = 0; m < MCR_AUG_NMETHODS; m++)
        if (!strcmp(s, METHOD_NAMES[m])) {
            *out = (mcr_aug_method)m;
            return MCR_OK;
        }
    if (!strcmp(s, "smotenc")) {
        *out = MCR_AUG_SMOTENC;
        return MCR_OK;
    }
    return mcr_err(MCR_EINVAL, "unknown method '%s' (none, ros, rus, smote, smote-nc, adasyn, mcrage, mcrage-auto, "
                               "mcrage-plausible, mcrage-boundary)", s);
}

void mcr_augment_config_default(mcr_augment_config *c) {
    memset(c, 0, sizeof *c);
    c->method = MCR_AUG_MCRAGE;
    c->strategy = MCR_STRAT_BALANCE;
    c->ratio = 1.0;
    c->synthetic_fraction = -1;
    c->k = 5;
    c->dcr_check = 1;
    c->seed = 1;
    c->folds = 3;
    c->optimize = MCR_AUTO_MINORITY_F1;
    c->auto_classifier = -1;
    c->select_pool = 2;
    mcr_fit_config_default(&c->fit);
    mcr_sample_config_default(&c->sample);
}

typedef struct {
    int ncell, K, G;          /* cells = K (class) or K * G (class x group) */
    size_t *n, *want;         /* [ncell] current and target counts */
    size_t **rows;            /* [ncell] table rows of each cell */
    int *label, *group;       /* [ncell] */
} cells;

static void cells_free(cells *c) {
    if (c->rows)
        for (int i = 0; i < c->ncell; i++) free(c->rows[i]);
    free(c->rows), free(c->n), free(c->want), free(c->label), free(c->group);
}

/* "NAME=N,...": put(ctx, name, n) for each pair (the last '=' splits, so names may hold one);
 * refused: a pair without '=', N not an integer from 0 to 1e9. */
static int parse_counts(const char *spec, int (*put)(void *ctx, const char *name, size_t n), void *ctx) {
    char *dup = mcr_strdup(spec), *save = NULL;
    if (!dup) return MCR_NOMEM();
    int rc = MCR_OK;
    for (char *tok = strtok_r(dup, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strrchr(tok, '='), *end;
        if (!eq) {
            rc = mcr_err(MCR_EINVAL, "`counts` expect NAME=N pairs, got '%s'", tok);
            break;
        }
        *eq = 0;
        errno = 0;
        long long v = strtoll(eq + 1, &end, 10);
        if (errno || end == eq + 1 || *end || v < 0 || v > 1000000000)
            rc = mcr_err(MCR_EINVAL, "`counts`: '%s' is not a row count (0 to 1000000000) for '%s'", eq + 1, tok);
        else rc = put(ctx, tok, (size_t)v);
    }
    free(dup);
    return rc;
}

typedef struct {
    const mcr_table *t;
    int jt, rus;
    const char *target;
    cells *ce;
} counts_ctx;
static int put_class_count(void *ctx, const char *name, size_t v) {
    counts_ctx *x = ctx;
    int k = mcr_table_level_find(x->t, x->jt, name);
    if (k < 0) return mcr_err(MCR_EINVAL, "`counts`: target '%s' has no class '%s'", x->target, name);
    if (x->ce->n[k] == 0 && v > 0)
        return mcr_err(MCR_EINVAL, "`counts`: class '%s' has no rows to %s", name, x->rus ? "keep" : "make new ones from");
    if (x->rus && v > x->ce->n[k])
        return mcr_err(MCR_EINVAL, "`counts`: class '%s' has %zu rows, fewer than %zu to keep", name, x->ce->n[k], v);
    x->ce->want[k] = x->rus ? v : x->ce->n[k] + v;
    return MCR_OK;
}

/* MCR_STRAT_COUNTS: want = n + N (rus: N, at most n) for each "CLASS=N" of c->counts; other
 * classes keep their rows */
static int counts_want(const mcr_table *t, int jt, const mcr_augment_config *c, cells *ce) {
    for (int i = 0; i < ce->ncell; i++) ce->want[i] = ce->n[i]; /* classes not named: unchanged */
    if (!c->counts) return mcr_err(MCR_EINVAL, "strategy counts needs `counts` (CLASS=N,...)");
    counts_ctx x = {t, jt, c->method == MCR_AUG_RUS, c->target, ce};
    return parse_counts(c->counts, put_class_count, &x);
}

static int build_cells(const mcr_table *t, const size_t *rows, size_t nrows, int jt, int js,
                       const mcr_augment_config *c, cells *ce) {
    memset(ce, 0, sizeof *ce);
    int gb = c->strategy == MCR_STRAT_GROUP_BALANCE;
    ce->K = t->cols[jt].nlevels;
    ce->G = gb ? t->cols[js].nlevels : 1;
    ce->ncell = ce->K * ce->G;
    int nc = ce->ncell;
    ce->n = calloc((size_t)nc, sizeof(size_t));
    ce->want = calloc((size_t)nc, sizeof(size_t));
    ce->rows = calloc((size_t)nc, sizeof(size_t *));
    ce->label = malloc((size_t)nc * sizeof(int));
    ce->group = malloc((size_t)nc * sizeof(int));
    if (!ce->n || !ce->want || !ce->rows || !ce->label || !ce->group) return MCR_NOMEM();
    for (int i = 0; i < nc; i++) ce->label[i] = i / ce->G, ce->group[i] = gb ? i % ce->G : -1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass)
            for (int i = 0; i < nc; i++) {
                if (!(ce->rows[i] = malloc((ce->n[i] ? ce->n[i] : 1) * sizeof(size_t)))) return MCR_NOMEM();
                ce->n[i] = 0;
            }
        for (size_t r = 0; r < nrows; r++) {
            size_t i = rows ? rows[r] : r;
            int y = t->cols[jt].cat[i], g = gb ? t->cols[js].cat[i] : 0;
            if (y < 0 || g < 0) continue;
            int cell = y * ce->G + g;
            if (pass) ce->rows[cell][ce->n[cell]] = i;
            ce->n[cell]++;
        }
    }
    /* target counts */
    size_t nmax = 0, nmin = SIZE_MAX, tot = 0;
    size_t *ncls = calloc((size_t)ce->K, sizeof(size_t));
    if (!ncls) return MCR_NOMEM();
    for (int i = 0; i < nc; i++) ncls[ce->label[i]] += ce->n[i], tot += ce->n[i];
    for (int k = 0; k < ce->K; k++)
        if (ncls[k]) {
            if (ncls[k] > nmax) nmax = ncls[k];
            if (ncls[k] < nmin) nmin = ncls[k];
        }
    int rus = c->method == MCR_AUG_RUS;
    if (c->strategy == MCR_STRAT_COUNTS) {
        free(ncls);
        return counts_want(t, jt, c, ce);
    }
    for (int i = 0; i < nc; i++) {
        size_t n = ce->n[i], w = n;
        if (n == 0) { /* an empty cell cannot be filled from its own rows */
            ce->want[i] = 0;
            continue;
        }
        if (c->strategy == MCR_STRAT_BALANCE) w = rus ? nmin : nmax;
        else if (c->strategy == MCR_STRAT_RATIO) {
            if (rus) w = n == nmax ? (size_t)ceil(nmin / c->ratio) : n;
            else w = (size_t)ceil(c->ratio * nmax);
            if (!rus && w < n) w = n;
            if (rus && w > n) w = n;
        } else { /* group-balance: every group as large as the largest, label prevalence kept;
                  * the group size is split over labels by largest remainder */
            size_t gmax = 0;
            for (int g = 0; g < ce->G; g++) {
                size_t s = 0;
                for (int k = 0; k < ce->K; k++) s += ce->n[k * ce->G + g];
                if (s > gmax) gmax = s;
            }
            double *prev = malloc((size_t)ce->K * sizeof(double));
            size_t *share = malloc((size_t)ce->K * sizeof(size_t));
            if (!prev || !share) return free(prev), free(share), free(ncls), MCR_NOMEM();
            for (int k = 0; k < ce->K; k++) prev[k] = (double)ncls[k];
            mcr_apportion(gmax, prev, ce->K, share);
            w = share[ce->label[i]];
            free(prev), free(share);
            if (w < n) w = n;
        }
        ce->want[i] = w;
    }
    free(ncls);
    if (c->synthetic_fraction >= 0 && !rus && c->method != MCR_AUG_NONE) {
        double *def = malloc((size_t)nc * sizeof(double));
        if (!def) return MCR_NOMEM();
        double sd = 0;
        for (int i = 0; i < nc; i++) sd += def[i] = (double)(ce->want[i] - ce->n[i]);
        if (sd == 0) {
            free(def);
            return mcr_err(MCR_EINVAL, "synthetic fraction: the strategy leaves no class to fill");
        }
        size_t S = (size_t)llround(c->synthetic_fraction / (1 - c->synthetic_fraction) * tot);
        size_t *add = malloc((size_t)nc * sizeof(size_t));
        if (!add) return free(def), MCR_NOMEM();
        mcr_apportion(S, def, nc, add);
        for (int i = 0; i < nc; i++) ce->want[i] = ce->n[i] + add[i];
        free(add), free(def);
    }
    if (c->amount > 0 && c->amount < 1 && !rus) /* a share of each cell's new rows */
        for (int i = 0; i < nc; i++)
            ce->want[i] = ce->n[i] + (size_t)llround(c->amount * (double)(ce->want[i] - ce->n[i]));
    return MCR_OK;
}

/* The identifier-like columns of a rebalancing (those a fit would leave out), why[ncols]. */
static int augment_identifiers(const mcr_table *t, const mcr_augment_config *c, int *why) {
    mcr_fit_config fc = c->fit;
    fc.target = c->target, fc.sensitive = c->sensitive, fc.drop = c->drop;
    return mcr_fit_identifiers(t, &fc, why);
}

/* ---- SMOTE family ---------------------------------------------------------------------- */
typedef struct {
    mcr_encoder *enc;
    int d;
    float *X;     /* [nrows, d] encoded rows, in the order of `rows` (dense mode) */
    int *is_cat;  /* [d] 1 for one-hot dims */
    int *feat_of; /* [d] encoder feature of each dim */
    int compact;  /* wide one-hot: rows held as M (numeric dims + a level index per categorical) */
    mcr_mixed M;  /* compact mode: the same rows */
} encoded;

static void encoded_free(encoded *e) {
    mcr_encoder_free(e->enc);
    free(e->X), free(e->is_cat), free(e->feat_of);
    mcr_mixed_free(&e->M);
}

/* The encoder fitted on rows[0..nrows); e->X holds the encodings of xrows[0..nx) (the rows the
 * caller needs, in that order). */
static int encode_rows_subset(const mcr_table *t, const size_t *rows, size_t nrows, const size_t *xrows,
                              size_t nx, const int *feat, int nfeat, encoded *e) {
    memset(e, 0, sizeof *e);
    int rc = mcr_encoder_fit(t, feat, nfeat, rows, nrows, MCR_NUM_STANDARD, &e->enc);
    if (rc) return rc;
    int d = e->d = e->enc->d;
    e->is_cat = calloc((size_t)d, sizeof(int));
    e->feat_of = calloc((size_t)d, sizeof(int));
    if (!e->is_cat || !e->feat_of) return MCR_NOMEM();
    e->compact = mcr_encoder_is_wide(e->enc);
    if (e->compact) rc = mcr_encoder_transform_mixed(e->enc, t, xrows, nx, &e->M);
    else rc = mcr_encoder_transform_float(e->enc, t, xrows, nx, &e->X);
    if (rc) return rc;
    for (int a = 0; a < e->enc->nfeat; a++) {
        const mcr_encfeat *f = &e->enc->f[a];
        for (int k = 0; k < f->width; k++) {
            e->feat_of[f->offset + k] = a;
            e->is_cat[f->offset + k] = f->type == MCR_COL_CATEGORICAL;
        }
    }
    return MCR_OK;
}

static int encode_rows(const mcr_table *t, const size_t *rows, size_t nrows, const int *feat, int nfeat,
                       encoded *e) {
    return encode_rows_subset(t, rows, nrows, rows, nrows, feat, nfeat, e);
}

/* One synthetic row from base row `base` of the cell: the point at `gap` (uniform) between it and
 * nb, one of its kk nearest cell neighbours; with nc_mode, one-hot blocks get the neighbours' vote counts
 * (arg-max = the most frequent value, ties to the lower level). */
static void smote_one(const encoded *e, const size_t *pos, const int *nn, int kk, size_t base, int nb,
                      double gap, int nc_mode, double *y) {
    int d = e->d;
    const float *xb = e->X + pos[base] * d;
    if (kk == 0) { /* a cell of one row: copy it */
        for (int j = 0; j < d; j++) y[j] = xb[j];
        return;
    }
    const float *xn = e->X + pos[nb] * d;
    for (int j = 0; j < d; j++) y[j] = xb[j] + gap * (xn[j] - xb[j]);
    if (nc_mode)
        for (int j = 0; j < d; j++) {
            if (!e->is_cat[j]) continue;
            int v = 0;
            for (int a = 0; a < kk; a++) v += e->X[pos[nn[base * kk + a]] * d + j] > 0.5f;
            y[j] = v;
        }
}

/* smote_one on compact rows: the same encoded row y[d] (numeric dims interpolated; a one-hot
 * block gets 1 - gap at the base's level and gap at the neighbour's, or the neighbours' vote
 * counts with nc_mode) */
static void smote_one_mixed(const encoded *e, const size_t *pos, const int *nn, int kk, size_t base, int nb,
                            double gap, int nc_mode, double *y) {
    const mcr_mixed *M = &e->M;
    int dn = M->dn, nc = M->nc;
    const float *nbv = M->N + pos[base] * dn, *nnv = kk ? M->N + pos[nb] * dn : nbv;
    const int32_t *lb = M->L + pos[base] * nc, *ln = kk ? M->L + pos[nb] * nc : lb;
    memset(y, 0, (size_t)e->d * sizeof(double));
    for (int q = 0; q < dn; q++) y[M->ndim[q]] = kk ? nbv[q] + gap * (nnv[q] - nbv[q]) : nbv[q];
    for (int c = 0; c < nc; c++) {
        double *yb = y + e->enc->f[M->cfeat[c]].offset;
        if (kk == 0) {
            if (lb[c] >= 0) yb[lb[c]] = 1;
        } else if (nc_mode) {
            for (int a = 0; a < kk; a++) {
                int32_t l = M->L[pos[nn[base * kk + a]] * nc + c];
                if (l >= 0) yb[l] += 1;
            }
        } else {
            if (lb[c] >= 0) yb[lb[c]] += 1 - gap;
            if (ln[c] >= 0) yb[ln[c]] += gap;
        }
    }
}

/* SMOTE-NC's weight of a categorical mismatch: the median of the numeric dims' standard
 * deviations over the cell's rows, squared (1 without numeric dims) */
static float nc_median_sd(const float *X, size_t m, int stride, const int *dims, int ndims) {
    float *sds = malloc((size_t)(ndims ? ndims : 1) * sizeof(float));
    if (!sds || !ndims) return free(sds), 1.0f;
    for (int q = 0; q < ndims; q++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < m; i++) {
            double v = X[i * stride + dims[q]];
            s += v, s2 += v * v;
        }
        double mean = s / m;
        sds[q] = (float)sqrt(fmax(s2 / m - mean * mean, 0));
    }
    qsort(sds, (size_t)ndims, sizeof(float), mcr_cmp_float);
    float med = ndims % 2 ? sds[ndims / 2] : 0.5f * (sds[ndims / 2 - 1] + sds[ndims / 2]);
    free(sds);
    return med;
}

/* Generate `add` rows for one cell (its rows' encodings at e->X[pos[i]]). base_counts: rows per
 * base row (ADASYN), or NULL for uniformly random base rows. */
static int smote_cell(const encoded *e, const size_t *pos, size_t m, const size_t *base_counts,
                      size_t add, int k, int nc_mode, mcr_rng *r, mcr_table *syn, size_t first) {
    int d = e->d, rc = MCR_OK;
    if (m == 0 || add == 0) return MCR_OK;
    int kk = (int)(m - 1 < (size_t)k ? m - 1 : (size_t)k);
    int *nn = malloc(m * (size_t)(kk ? kk : 1) * sizeof(int));
    if (!nn) return MCR_NOMEM();
    if (e->compact) { /* the cell's compact rows; a level mismatch weighs 2 w: w = 1, or med^2 / 2 */
        mcr_mixed C;
        if ((rc = mcr_mixed_take(&e->M, pos, m, &C))) return free(nn), rc;
        float w = 1;
        if (nc_mode) {
            int *dims = malloc((size_t)(C.dn ? C.dn : 1) * sizeof(int));
            if (!dims) rc = MCR_NOMEM();
            for (int q = 0; dims && q < C.dn; q++) dims[q] = q;
            float med = dims ? nc_median_sd(C.N, m, C.dn, dims, C.dn) : 1;
            free(dims);
            w = med * med / 2;
        }
        if (!rc && kk) rc = mcr_knn_mixed(&C, &C, w, kk, 1, nn, NULL);
        mcr_mixed_free(&C);
        if (rc) return free(nn), rc;
    } else {
        float *C = mcr_malloc_big(m * (size_t)d * sizeof(float));
        if (!C) return free(nn), MCR_NOMEM();
        for (size_t i = 0; i < m; i++) memcpy(C + i * d, e->X + pos[i] * d, (size_t)d * sizeof(float));
        if (nc_mode) { /* SMOTE-NC: scale one-hot dims so that a mismatch adds med^2 */
            int nnum = 0, *dims = malloc((size_t)d * sizeof(int));
            for (int j = 0; dims && j < d; j++)
                if (!e->is_cat[j]) dims[nnum++] = j;
            float med = dims ? nc_median_sd(C, m, d, dims, nnum) : 1;
            free(dims);
            float sc = med / sqrtf(2.0f); /* two one-hot dims differ per mismatch: 2 (med^2/2) */
            for (size_t i = 0; i < m; i++)
                for (int j = 0; j < d; j++)
                    if (e->is_cat[j]) C[i * d + j] *= sc;
        }
        rc = kk ? mcr_knn(C, m, C, m, d, kk, 0, nn) : MCR_OK;
        free(C);
        if (rc) return free(nn), rc;
    }
    /* the draws in order (base row, neighbour, gap: the stream of one row after another), then
     * the rows themselves in parallel: the same rows for any thread count */
    size_t *bases = malloc(add * sizeof(size_t));
    int *nbs = malloc(add * sizeof(int));
    double *gaps = malloc(add * sizeof(double));
    if (!bases || !nbs || !gaps) return free(bases), free(nbs), free(gaps), free(nn), MCR_NOMEM();
    size_t o = 0;
    if (base_counts)
        for (size_t b = 0; b < m; b++)
            for (size_t q = 0; q < base_counts[b] && o < add; q++) bases[o++] = b;
    for (size_t nfixed = o, q = 0; q < add; q++) { /* rows past the base counts draw their base */
        if (q >= nfixed) bases[q] = (size_t)mcr_rng_below(r, m);
        nbs[q] = kk ? nn[bases[q] * kk + mcr_rng_below(r, (uint64_t)kk)] : 0;
        gaps[q] = kk ? mcr_rng_uniform(r) : 0;
    }
    /* chunks of rows encoded in a thread's buffer and decoded straight into syn's rows first.. */
    const size_t CH = 2048;
    size_t nch = (add + CH - 1) / CH;
    int failed = 0;
#pragma omp parallel if (add * (size_t)d > 100000)
    {
        double *buf = malloc(CH * (size_t)d * sizeof(double));
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nch; ch++) {
            if (!buf) continue;
            size_t q0 = ch * CH, q1 = q0 + CH < add ? q0 + CH : add;
            for (size_t q = q0; q < q1; q++)
                (e->compact ? smote_one_mixed : smote_one)(e, pos, nn, kk, bases[q], nbs[q], gaps[q], nc_mode,
                                                          buf + (q - q0) * d);
            mcr_encoder_inverse_at(e->enc, buf, q1 - q0, syn, first + q0);
        }
        free(buf);
    }
    free(bases), free(nbs), free(gaps);
    if (failed) return free(nn), MCR_NOMEM();
    free(nn);
    return MCR_OK;
}

/* ADASYN: base row i gets a share of `add` proportional to the fraction of other-class rows
 * among its k nearest neighbours in all training rows (uniform if none has any). */
static int adasyn_counts(const encoded *e, size_t nall, const int *lab, const size_t *pos, size_t m,
                         int k, size_t add, size_t *counts) {
    int d = e->d, kk = (int)(nall - 1 < (size_t)k ? nall - 1 : (size_t)k), rc = MCR_OK;
    double *w = calloc(m ? m : 1, sizeof(double));
    int *nn = malloc(m * (size_t)(kk + 1) * sizeof(int));
    float *Q = e->compact ? NULL : malloc(m * (size_t)d * sizeof(float) + 1);
    if (!w || !nn || (!e->compact && !Q)) return free(w), free(nn), free(Q), MCR_NOMEM();
    if (e->compact) {
        mcr_mixed QM;
        if (!(rc = mcr_mixed_take(&e->M, pos, m, &QM)) && kk > 0) rc = mcr_knn_mixed(&QM, &e->M, 1, kk + 1, 0, nn, NULL);
        mcr_mixed_free(&QM);
    } else {
        for (size_t i = 0; i < m; i++) memcpy(Q + i * d, e->X + pos[i] * d, (size_t)d * sizeof(float));
        rc = kk > 0 ? mcr_knn(Q, m, e->X, nall, d, kk + 1, -1, nn) : MCR_OK;
    }
    double sw = 0;
    for (size_t i = 0; i < m && !rc && kk > 0; i++) {
        int used = 0, other = 0;
        for (int a = 0; a <= kk && used < kk; a++) {
            int j = nn[i * (kk + 1) + a];
            if (j < 0 || (size_t)j == pos[i]) continue; /* the row itself */
            other += lab[j] != lab[pos[i]];
            used++;
        }
        w[i] = used ? (double)other / used : 0;
        sw += w[i];
    }
    if (sw == 0)
        for (size_t i = 0; i < m; i++) w[i] = 1;
    if (!rc) mcr_apportion(add, w, (int)m, counts);
    free(w), free(nn), free(Q);
    return rc;
}

/* ---- exact copies ----------------------------------------------------------------------- */
/* mark[s] = 1 for synthetic rows equal to a training row; returns their number */
static size_t find_copies(const mcr_table *t, size_t nrows, const mcr_table *syn, const int *cols,
                          int nc, const mcr_hrow *train_h, char *mark) {
    size_t cnt = 0;
    for (size_t s = 0; s < syn->nrows; s++) {
        uint64_t h = mcr_table_row_hash(syn, s, cols, nc);
        size_t lo = 0, hi = nrows;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (train_h[mid].h < h) lo = mid + 1;
            else hi = mid;
        }
        mark[s] = 0;
        for (size_t q = lo; q < nrows && train_h[q].h == h && !mark[s]; q++)
            mark[s] = mcr_table_rows_equal(syn, s, t, train_h[q].row, cols, nc);
        cnt += mark[s];
    }
    return cnt;
}

/* The columns a synthetic row is compared on: the modelled ones and the conditions (dropped
 * columns are empty in synthetic rows). cols needs room for nfeat + 2; returns the count. */
static int compared_columns(const mcr_model *m, int *cols) {
    int nc = m->nfeat;
    memcpy(cols, m->feat, (size_t)m->nfeat * sizeof(int));
    if (m->condition != MCR_COND_SENSITIVE) cols[nc++] = m->target;
    if (m->condition != MCR_COND_TARGET) cols[nc++] = m->sensitive;
    return nc;
}

/* the condition index whose target / sensitive levels synthetic row s carries */
static int cond_of_row(const mcr_model *m, const mcr_table *syn, size_t s) {
    int a = syn->cols[m->target].cat[s], g = m->sensitive >= 0 ? syn->cols[m->sensitive].cat[s] : -1;
    for (int k = 0; k < m->ncond; k++)
        if ((m->cond_tlevel[k] < 0 || m->cond_tlevel[k] == a) && (m->cond_glevel[k] < 0 || m->cond_glevel[k] == g))
            return k;
    return -1;
}

/* Resample the synthetic rows that copy a training row, up to 10 rounds. */
static int reject_copies(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_model *m,
                         const mcr_sample_config *sc0, int rounds, mcr_table *syn, size_t *found,
                         size_t *left) {
    int nc, *cols = malloc(((size_t)m->nfeat + 2) * sizeof(int));
    mcr_hrow *th = malloc((nrows ? nrows : 1) * sizeof(mcr_hrow));
    char *mark = malloc(syn->nrows + 1);
    size_t *counts = calloc((size_t)m->ncond, sizeof(size_t));
    int rc = MCR_OK;
    if (!cols || !th || !mark || !counts) {
        rc = MCR_NOMEM();
        goto done;
    }
    nc = compared_columns(m, cols);
    for (size_t q = 0; q < nrows; q++) th[q].row = rows ? rows[q] : q, th[q].h = mcr_table_row_hash(t, th[q].row, cols, nc);
    qsort(th, nrows, sizeof(mcr_hrow), mcr_hrow_cmp);
    size_t n = find_copies(t, nrows, syn, cols, nc, th, mark);
    *found = n;
    /* the synthetic table is laid out condition by condition: row s belongs to the condition
     * whose target/sensitive levels it carries */
    for (int round = 0; round < rounds && n > 0; round++) {
        memset(counts, 0, (size_t)m->ncond * sizeof(size_t));
        for (size_t s = 0; s < syn->nrows; s++) {
            int k = mark[s] ? cond_of_row(m, syn, s) : -1;
            if (k >= 0) counts[k]++;
        }
        mcr_sample_config sc = *sc0;
        sc.seed = sc0->seed + 7919u * (uint64_t)(round + 1);
        mcr_table *fresh = NULL;
        if ((rc = mcr_model_sample(m, counts, &sc, &fresh))) goto done;
        /* replace the marked rows in condition order with the fresh rows */
        size_t *used = calloc((size_t)m->ncond, sizeof(size_t)), *start = calloc((size_t)m->ncond + 1, sizeof(size_t));
        if (!used || !start) {
            free(used), free(start);
            mcr_table_free(fresh);
            rc = MCR_NOMEM();
            goto done;
        }
        for (int k = 0; k < m->ncond; k++) start[k + 1] = start[k] + counts[k];
        for (size_t s = 0; s < syn->nrows; s++) {
            int k = mark[s] ? cond_of_row(m, syn, s) : -1;
            if (k < 0) continue;
            size_t src = start[k] + used[k]++;
            for (int j = 0; j < syn->ncols; j++) {
                if (syn->cols[j].type == MCR_COL_CATEGORICAL) syn->cols[j].cat[s] = fresh->cols[j].cat[src];
                else syn->cols[j].num[s] = fresh->cols[j].num[src];
            }
        }
        free(used), free(start);
        mcr_table_free(fresh);
        n = find_copies(t, nrows, syn, cols, nc, th, mark);
    }
    *left = n;
done:
    free(cols), free(th), free(mark), free(counts);
    return rc;
}

/* The DCR check: a random 20% of the training rows held out; the threshold is the 1st
 * percentile (mcr_quantile_sorted) of their distances to the other 80%; *close counts the
 * synthetic rows nearer than it to those 80%. */
static int dcr_report(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_model *m,
                      const mcr_table *syn, uint64_t seed, size_t *close, double *thr) {
    if (nrows < 10 || syn->nrows == 0) return MCR_OK;
    int *cols = malloc(((size_t)m->nfeat + 2) * sizeof(int));
    size_t *order = malloc(nrows * sizeof(size_t));
    if (!cols || !order) return free(cols), free(order), MCR_NOMEM();
    int nc = compared_columns(m, cols);
    for (size_t q = 0; q < nrows; q++) order[q] = rows ? rows[q] : q;
    mcr_rng r;
    mcr_rng_seed(&r, seed, MCR_STREAM_DCR);
    mcr_rng_shuffle(&r, order, nrows);
    size_t nh = nrows / 5, nref = nrows - nh;
    encoded e;
    int rc = encode_rows(t, order + nh, nref, cols, nc, &e);
    double *dh = NULL, *ds = NULL;
    if (rc) goto done;
    int d = e.d;
    dh = malloc(nh * sizeof(double)), ds = malloc(syn->nrows * sizeof(double));
    if (!dh || !ds) {
        rc = MCR_NOMEM();
        goto done;
    }
    { /* the 80% as the reference (dense, or compact for a wide encoding) */
        mcr_nnref ref = {.compact = e.compact, .n = nref, .d = d, .X = e.X, .M = e.M};
        if ((rc = mcr_nnref_dist(e.enc, t, order, nh, &ref, dh)) ||
            (rc = mcr_nnref_dist(e.enc, syn, NULL, syn->nrows, &ref, ds)))
            goto done;
    }
    qsort(dh, nh, sizeof(double), mcr_cmp_double);
    *thr = mcr_quantile_sorted(dh, nh, 0.01);
    *close = 0;
    for (size_t i = 0; i < syn->nrows; i++) *close += ds[i] < *thr;
done:
    encoded_free(&e);
    free(cols), free(order), free(dh), free(ds);
    return rc;
}

/* ---- the methods --------------------------------------------------------------------------- */
/* rus: rows outside any cell (missing label) are kept; each cell keeps a random subset */
static int rus_table(const mcr_table *t, const size_t *rows, size_t nrows, int jt, cells *ce, mcr_rng *r,
                     mcr_table **res) {
    size_t *keep = malloc((nrows ? nrows : 1) * sizeof(size_t)), nk = 0;
    char *mark = calloc(t->nrows ? t->nrows : 1, 1);
    if (!keep || !mark) return free(keep), free(mark), MCR_NOMEM();
    for (int i = 0; i < ce->ncell; i++) {
        size_t m = ce->n[i], w = ce->want[i] < m ? ce->want[i] : m;
        size_t *cr = ce->rows[i];
        for (size_t a = 0; a < w; a++) { /* partial Fisher-Yates */
            size_t b = a + (size_t)mcr_rng_below(r, m - a), tmp = cr[a];
            cr[a] = cr[b], cr[b] = tmp;
            mark[cr[a]] = 1;
        }
    }
    for (size_t q = 0; q < nrows; q++) {
        size_t i = rows ? rows[q] : q;
        int y = t->cols[jt].cat[i];
        if (y < 0 || mark[i]) keep[nk++] = i;
    }
    int rc = mcr_table_take(t, keep, nk, res);
    free(keep), free(mark);
    return rc;
}

/* ros: rows of each cell drawn with replacement */
static int ros_rows(const mcr_table *t, cells *ce, size_t total_add, mcr_rng *r, mcr_table **syn) {
    size_t *pick = malloc(total_add * sizeof(size_t)), o = 0;
    if (!pick) { return MCR_NOMEM(); }
    for (int i = 0; i < ce->ncell; i++)
        for (size_t a = ce->n[i]; a < ce->want[i]; a++) pick[o++] = ce->rows[i][mcr_rng_below(r, ce->n[i])];
    int rc = mcr_table_take(t, pick, total_add, syn);
    free(pick);
    return rc;
}

/* The new rows per condition of model m: a cell's new rows (cells and conditions share their
 * index, label * G + group), or, for a model conditioned on (class, group) filling class cells,
 * each class's new rows split over the groups in proportion to its rows in them (largest
 * remainder; evenly when none of its rows has a group). counts[mcr_model_ncond(m)]. */
static int cond_counts(const mcr_table *t, const cells *ce, const mcr_model *m, size_t *counts) {
    int nc = m->ncond;
    memset(counts, 0, (size_t)nc * sizeof(size_t));
    if (nc == ce->ncell && (ce->G > 1 || m->condition != MCR_COND_BOTH)) {
        for (int i = 0; i < nc; i++) counts[i] = ce->want[i] > ce->n[i] ? ce->want[i] - ce->n[i] : 0;
        return MCR_OK;
    }
    if (m->condition != MCR_COND_BOTH || ce->G != 1 || m->sensitive < 0 || nc % ce->K)
        return mcr_err(MCR_EINTERNAL, "rebalancing cells do not match the model's conditions");
    int G = nc / ce->K;
    double *w = malloc((size_t)G * sizeof(double));
    if (!w) return MCR_NOMEM();
    for (int k = 0; k < ce->K; k++) {
        double sw = 0;
        for (int g = 0; g < G; g++) w[g] = 0;
        for (size_t a = 0; a < ce->n[k]; a++) {
            int g = t->cols[m->sensitive].cat[ce->rows[k][a]];
            if (g >= 0 && g < G) w[g]++, sw++;
        }
        if (sw == 0)
            for (int g = 0; g < G; g++) w[g] = 1;
        mcr_apportion(ce->want[k] > ce->n[k] ? ce->want[k] - ce->n[k] : 0, w, G, counts + (size_t)k * G);
    }
    free(w);
    return MCR_OK;
}

int mcr_augment_cond_counts(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                            const mcr_model *m, size_t *counts) {
    if (c->strategy == MCR_STRAT_AUTO || c->method == MCR_AUG_RUS)
        return mcr_err(MCR_EINVAL, "condition counts need a fixed strategy of added rows");
    int jt = mcr_table_find(t, c->target), js = c->sensitive ? mcr_table_find(t, c->sensitive) : -1;
    if (jt < 0) return mcr_err(MCR_EINVAL, "no target column '%s'", c->target ? c->target : "");
    cells ce;
    int rc = build_cells(t, rows, rows ? nrows : t->nrows, jt, js, c, &ce);
    if (!rc) rc = cond_counts(t, &ce, m, counts);
    cells_free(&ce);
    return rc;
}

int mcr_augment_features(const mcr_table *t, int jt, int js, const mcr_augment_config *c, int *feat, int *nfeat) {
    int ndrop = 0, rc = MCR_OK;
    char **drop = mcr_split_list(c->drop, &ndrop);
    int *why = calloc((size_t)t->ncols + 1, sizeof(int));
    if (!why) rc = MCR_NOMEM();
    else if ((rc = augment_identifiers(t, c, why))) free(why), why = NULL;
    *nfeat = 0;
    for (int j = 0; j < t->ncols; j++) {
        int dropped = 0;
        for (int q = 0; q < ndrop; q++) dropped |= !strcmp(drop[q], t->cols[j].name);
        if (j != jt && !(j == js && c->strategy == MCR_STRAT_GROUP_BALANCE) && !dropped && !(why && why[j]))
            feat[(*nfeat)++] = j;
    }
    free(drop), free(why);
    return rc;
}

/* mcrage-boundary's score of each candidate row of S: the margin between its class's
 * probability and the largest other one under a class-weighted logistic regression fitted on
 * the real rows (so that the boundary sits where the classes' weighted densities meet, not
 * where the majority ends). Small: near the boundary. */
static int boundary_scores(const mcr_table *t, const size_t *rows, size_t nrows, int jt, const mcr_augment_config *c,
                           const mcr_table *S, double *score) {
    int *feat = malloc(((size_t)t->ncols + 1) * sizeof(int)), nfeat = 0, K = t->cols[jt].nlevels;
    mcr_encoder *enc = NULL;
    float *Xr = NULL, *Xs = NULL;
    int *y = malloc((nrows + 1) * sizeof(int));
    double *prob = malloc((S->nrows + 1) * (size_t)K * sizeof(double));
    size_t *lab = malloc((nrows + 1) * sizeof(size_t)), nl = 0;
    mcr_classifier *clf = NULL;
    int rc = feat && y && prob && lab ? MCR_OK : MCR_NOMEM();
    if (!rc) rc = mcr_augment_features(t, jt, -1, c, feat, &nfeat);
    if (!rc && nfeat == 0) rc = mcr_err(MCR_EINVAL, "mcrage-boundary: no feature columns besides the target");
    for (size_t a = 0; !rc && a < nrows; a++) {
        size_t i = rows ? rows[a] : a;
        if (t->cols[jt].cat[i] >= 0) y[nl] = t->cols[jt].cat[i], lab[nl++] = i;
    }
    if (!rc) rc = mcr_encoder_fit(t, feat, nfeat, lab, nl, MCR_NUM_STANDARD, &enc);
    if (!rc) rc = mcr_encoder_transform_float(enc, t, lab, nl, &Xr);
    if (!rc) rc = mcr_encoder_transform_float(enc, S, NULL, S->nrows, &Xs);
    mcr_clf_config cc;
    mcr_clf_config_default(&cc, MCR_CLF_LOGREG);
    cc.balanced = 1;
    cc.seed = c->seed;
    if (!rc) rc = mcr_clf_fit(&cc, Xr, y, nl, enc->d, K, &clf);
    if (!rc) rc = mcr_clf_predict(clf, Xs, S->nrows, prob);
    for (size_t i = 0; !rc && i < S->nrows; i++) {
        int k = S->cols[jt].cat[i];
        double own = k >= 0 && k < K ? prob[i * K + k] : 0, other = 0;
        for (int q = 0; q < K; q++)
            if (q != k && prob[i * K + q] > other) other = prob[i * K + q];
        score[i] = fabs(own - other);
    }
    mcr_clf_free(clf);
    mcr_encoder_free(enc);
    free(feat), free(y), free(prob), free(lab), free(Xr), free(Xs);
    return rc;
}

typedef struct {
    double s;
    size_t i;
} scored_row;
static int cmp_scored_row(const void *a, const void *b) {
    const scored_row *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* mcrage's selections: the pool's rows come condition by condition (pool[k] of condition k);
 * keep the counts[k] of each with the lowest score (ties: the earlier row), in sampled order */
static int select_rows(mcr_table **syn, const size_t *pool, const size_t *counts, int nc, const double *score) {
    size_t n = (*syn)->nrows, nk = 0, at = 0;
    scored_row *sr = malloc((n + 1) * sizeof(scored_row));
    size_t *keep = malloc((n + 1) * sizeof(size_t));
    if (!sr || !keep) return free(sr), free(keep), MCR_NOMEM();
    for (int k = 0; k < nc; k++) {
        for (size_t a = 0; a < pool[k]; a++) sr[a].s = isfinite(score[at + a]) ? score[at + a] : INFINITY, sr[a].i = at + a;
        qsort(sr, pool[k], sizeof *sr, cmp_scored_row);
        size_t m = counts[k] < pool[k] ? counts[k] : pool[k];
        for (size_t a = 0; a < m; a++) keep[nk++] = sr[a].i;
        at += pool[k];
    }
    qsort(keep, nk, sizeof(size_t), mcr_cmp_size);
    mcr_table *kept = NULL;
    int rc = mcr_table_take(*syn, keep, nk, &kept);
    free(sr), free(keep);
    if (rc) return rc;
    mcr_table_free(*syn);
    *syn = kept;
    return MCR_OK;
}

/* mcrage: the diffusion model fitted on the rows (or the caller's, prefit), sampled per cell
 * (or, conditioned on class and group, per class split over groups); with a selection
 * (mcrage-plausible, mcrage-boundary) select_pool candidates per row sampled and the best kept;
 * copies of training rows resampled, the DCR check */
static int mcrage_rows(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                       cells *ce, mcr_augment_result *ar, mcr_table **syn) {
    int sel = c->method == MCR_AUG_MCRAGE_PLAUSIBLE || c->method == MCR_AUG_MCRAGE_BOUNDARY;
    if (sel && !(c->select_pool >= 1 && c->select_pool <= 20))
        return mcr_err(MCR_EINVAL, "`select_pool` (candidates per new row) must be in 1..20 (got %g)", c->select_pool);
    mcr_fit_config fc = c->fit;
    fc.target = c->target;
    fc.sensitive = c->sensitive;
    fc.drop = c->drop;
    fc.seed = c->seed;
    fc.condition = c->strategy == MCR_STRAT_GROUP_BALANCE || (c->condition_both && c->sensitive) ? MCR_COND_BOTH
                                                                                                 : MCR_COND_TARGET;
    mcr_model *own = NULL;
    const mcr_model *m = c->prefit;
    int rc = MCR_OK;
    if (m && m->condition != (int)fc.condition)
        return mcr_err(MCR_EINVAL, "the prefitted model is conditioned otherwise than this strategy needs");
    if (!m) {
        if ((rc = mcr_model_fit(t, rows, nrows, &fc, &own))) return rc;
        m = own;
    }
    size_t *counts = calloc((size_t)m->ncond, sizeof(size_t)), *pool = calloc((size_t)m->ncond, sizeof(size_t));
    double *score = NULL;
    if (!counts || !pool) rc = MCR_NOMEM();
    if (!rc) rc = cond_counts(t, ce, m, counts);
    mcr_sample_config sc = c->sample;
    sc.seed = c->seed;
    size_t npool = 0;
    for (int k = 0; !rc && k < m->ncond; k++) npool += pool[k] = sel ? (size_t)ceil(counts[k] * c->select_pool) : counts[k];
    if (!rc) rc = mcr_model_sample(m, pool, &sc, syn);
    if (!rc && sel && !(score = malloc((npool + 1) * sizeof(double)))) rc = MCR_NOMEM();
    if (!rc && c->method == MCR_AUG_MCRAGE_PLAUSIBLE) rc = mcr_model_row_loss(m, *syn, 8, c->seed, score);
    if (!rc && c->method == MCR_AUG_MCRAGE_BOUNDARY) {
        int jt = mcr_table_find(t, c->target);
        rc = boundary_scores(t, rows, nrows, jt, c, *syn, score);
    }
    if (!rc && sel) rc = select_rows(syn, pool, counts, m->ncond, score);
    if (!rc) rc = reject_copies(t, rows, nrows, m, &sc, c->keep_copies ? 0 : 10, *syn, &ar->copies_found, &ar->copies_left);
    if (!rc && c->dcr_check) rc = dcr_report(t, rows, nrows, m, *syn, c->seed, &ar->dcr_close, &ar->dcr_threshold);
    free(counts), free(pool), free(score);
    if (!rc && c->keep_model && own) ar->model = own;
    else mcr_model_free(own);
    return rc;
}

/* smote, smote-nc, adasyn on the encoded rows */
static int smote_rows(const mcr_table *t, const size_t *rows, size_t nrows, int jt, int js,
                      const mcr_augment_config *c, cells *ce, size_t total_add, mcr_rng *r, mcr_table **syn) {
    int *feat = malloc((size_t)t->ncols * sizeof(int)), nfeat = 0;
    /* identifier-like columns are not neighbours' coordinates (they are left empty after); a
     * failure to tell them leaves every column in, as before */
    if (feat) (void)mcr_augment_features(t, jt, js, c, feat, &nfeat);
    encoded e;
    size_t *pos_of = NULL;
    int *lab = NULL;
    if (!feat || nfeat == 0) {
        int rc = feat ? mcr_err(MCR_EINVAL, "no feature columns to interpolate") : MCR_NOMEM();
        free(feat);
        return rc;
    }
    int rc = MCR_OK;
    /* encoded rows in the order of rows[]; pos_of maps table row -> position */
    size_t *order = malloc((nrows ? nrows : 1) * sizeof(size_t));
    pos_of = malloc((t->nrows ? t->nrows : 1) * sizeof(size_t));
    if (!order || !pos_of) { free(order); free(feat); rc = MCR_NOMEM(); goto smote_done; }
    for (size_t q = 0; q < nrows; q++) order[q] = rows ? rows[q] : q, pos_of[order[q]] = q;
    /* the encoder is fitted on every row; SMOTE encodes only the rows of the cells it fills
     * (ADASYN needs all: its weights count neighbours of other classes) */
    size_t *xrows = order, nx = nrows;
    if (c->method != MCR_AUG_ADASYN) {
        nx = 0;
        for (int i = 0; i < ce->ncell; i++)
            if (ce->want[i] > ce->n[i]) nx += ce->n[i];
        if (!(xrows = malloc((nx ? nx : 1) * sizeof(size_t)))) { free(order); free(feat); rc = MCR_NOMEM(); goto smote_done; }
        nx = 0;
        for (int i = 0; i < ce->ncell; i++)
            if (ce->want[i] > ce->n[i])
                for (size_t a = 0; a < ce->n[i]; a++) pos_of[ce->rows[i][a]] = nx, xrows[nx++] = ce->rows[i][a];
    }
    rc = encode_rows_subset(t, order, nrows, xrows, nx, feat, nfeat, &e);
    if (xrows != order) free(xrows);
    free(feat);
    if (rc) { free(order); goto smote_done; }
    lab = malloc((nrows ? nrows : 1) * sizeof(int));
    if (!lab) { free(order); rc = MCR_NOMEM(); goto smote_free; }
    if ((rc = mcr_table_new_like(t, total_add, syn))) { free(order); goto smote_free; }
    for (size_t q = 0; q < nrows; q++) lab[q] = t->cols[jt].cat[order[q]];
    size_t o = 0;
    for (int i = 0; i < ce->ncell && !rc; i++) {
        size_t m = ce->n[i], add = ce->want[i] > m ? ce->want[i] - m : 0;
        if (!add) continue;
        size_t *pos = malloc(m * sizeof(size_t)), *bc = NULL;
        if (!pos) { rc = MCR_NOMEM(); break; }
        for (size_t a = 0; a < m; a++) pos[a] = pos_of[ce->rows[i][a]];
        if (c->method == MCR_AUG_ADASYN) {
            bc = calloc(m, sizeof(size_t));
            rc = bc ? adasyn_counts(&e, nrows, lab, pos, m, c->k, add, bc) : MCR_NOMEM();
        }
        if (!rc) rc = smote_cell(&e, pos, m, bc, add, c->k, c->method == MCR_AUG_SMOTENC, r, *syn, o);
        o += add;
        free(pos), free(bc);
    }
    free(order);
    if (!rc) {
        size_t q = 0;
        for (int i = 0; i < ce->ncell && !rc; i++)
            for (size_t a = ce->n[i]; a < ce->want[i]; a++, q++) {
                (*syn)->cols[jt].cat[q] = ce->label[i];
                if (ce->group[i] >= 0) (*syn)->cols[js].cat[q] = ce->group[i];
            }
    }
smote_free:
    encoded_free(&e);
smote_done:
    free(pos_of), free(lab);
    return rc;
}

void mcr_augment_result_free(mcr_augment_result *r) {
    if (!r) return;
    mcr_table_free(r->table);
    mcr_model_free(r->model);
    mcr_auto_result_free(r->autochoice);
    free(r->source);
    free(r);
}

int mcr_augment(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                mcr_table **out, size_t *nsynth) {
    *out = NULL;
    if (nsynth) *nsynth = 0;
    mcr_augment_config c2 = *c;
    c2.keep_model = 0;
    c2.dcr_check = 0;
    mcr_augment_result *r = NULL;
    int rc = mcr_augment_run(t, rows, nrows, &c2, &r);
    if (rc) return rc;
    *out = r->table;
    if (nsynth) *nsynth = r->nsynth;
    r->table = NULL;
    mcr_augment_result_free(r);
    return MCR_OK;
}

/* the result, once the table is built */
static int augment_result(const mcr_table *t, const mcr_augment_config *c, mcr_table *res, size_t nsynth,
                          mcr_augment_result *ar) {
    ar->table = res;
    ar->nsynth = nsynth;
    ar->nreal = res->nrows - nsynth;
    ar->method = c->method;
    ar->copies_resampled = !c->keep_copies;
    return (ar->source = mcr_strdup(mcr_table_source(t))) ? MCR_OK : MCR_NOMEM();
}

static int augment_table(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                         mcr_augment_result *ar);

/* strategy auto (or method mcrage-auto): the choice by cross-validation inside the rows, then
 * mcrage with it on all of them (share 0: the rows as they are) */
static int augment_auto(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                        mcr_augment_result *ar) {
    if (c->method != MCR_AUG_MCRAGE && c->method != MCR_AUG_MCRAGE_AUTO)
        return mcr_err(MCR_EINVAL, "strategy auto chooses the amount of mcrage's rows; method %s is not mcrage",
                       mcr_aug_method_name(c->method));
    mcr_auto_result *ch = NULL;
    int rc = mcr_auto_choose(t, rows, nrows, c, &ch);
    if (rc) return rc;
    const mcr_auto_point *p = &ch->points[ch->chosen];
    mcr_augment_config c2 = *c;
    c2.method = p->share > 0 ? MCR_AUG_MCRAGE : MCR_AUG_NONE;
    c2.strategy = p->strategy;
    c2.amount = p->share;
    c2.condition_both = 1; /* as in the cross-validation */
    c2.synthetic_fraction = -1;
    c2.sample.guidance = p->guidance;
    rc = augment_table(t, rows, nrows, &c2, ar);
    if (!rc && p->share == 0 && c->synthetic_only) { /* no new rows */
        mcr_table *empty = NULL;
        if (!(rc = mcr_table_new_like(t, 0, &empty))) mcr_table_free(ar->table), ar->table = empty, ar->nreal = 0;
    }
    if (rc) return mcr_auto_result_free(ch), rc;
    ar->method = MCR_AUG_MCRAGE_AUTO;
    ar->copies_resampled = !c->keep_copies;
    ar->autochoice = ch;
    return MCR_OK;
}

int mcr_augment_run(const mcr_table *t0, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                    mcr_augment_result **out) {
    *out = NULL;
    if (!rows) nrows = t0->nrows;
    if (!c->target) return mcr_err(MCR_EINVAL, "a target column is required");
    int jt, js, rc;
    if ((rc = mcr_role_column(t0, "target", c->target, MCR_ROLE_LEVELS, &jt))) return rc;
    if ((rc = mcr_role_column(t0, "sensitive", c->sensitive, MCR_ROLE_LEVELS, &js))) return rc;
    if (nrows == 0) return mcr_err(MCR_EINVAL, "%s has no rows to rebalance", mcr_table_source(t0));
    /* integer codes as levels, in a copy */
    int roles[2] = {jt, js};
    mcr_table *lv = NULL;
    if ((rc = mcr_table_levelled(t0, roles, 2, &lv))) return rc;
    mcr_augment_result *ar = calloc(1, sizeof *ar);
    if (!ar) return mcr_table_free(lv), MCR_NOMEM();
    ar->dcr_threshold = NAN;
    rc = c->strategy == MCR_STRAT_AUTO || c->method == MCR_AUG_MCRAGE_AUTO ? augment_auto(lv ? lv : t0, rows, nrows, c, ar)
                                                                          : augment_table(lv ? lv : t0, rows, nrows, c, ar);
    mcr_table_free(lv);
    if (rc) return mcr_augment_result_free(ar), rc;
    *out = ar;
    return MCR_OK;
}

/* Identifier-like columns of the synthetic rows. nsynth NULL: every row of `syn` is synthetic
 * and is left empty there. nsynth set: the last *nsynth rows of `res` are the synthetic ones and
 * get PREFIX1, PREFIX2, ... (the column turns into text, real values spelled as written). */
static int scrub_identifiers(const mcr_table *t, const mcr_augment_config *c, mcr_table *res, const size_t *nsynth) {
    int *why = calloc((size_t)t->ncols + 1, sizeof(int));
    if (!why) return MCR_NOMEM();
    int rc = augment_identifiers(t, c, why);
    size_t first = nsynth ? res->nrows - *nsynth : 0;
    for (int j = 0; j < t->ncols && !rc; j++) {
        if (!why[j]) continue;
        int k = mcr_table_find(res, t->cols[j].name);
        if (k < 0) continue;
        mcr_column *col = &res->cols[k];
        if (!nsynth) { /* empty */
            for (size_t i = 0; i < res->nrows; i++) {
                if (col->type == MCR_COL_CATEGORICAL) col->cat[i] = -1;
                else col->num[i] = NAN;
            }
            continue;
        }
        if ((rc = mcr_table_codes_to_levels(res, k))) break;
        col = &res->cols[k];
        for (size_t i = first; i < res->nrows && !rc; i++) {
            char tok[512];
            snprintf(tok, sizeof tok, "%s%zu", c->synthetic_id_prefix, i - first + 1);
            int code = mcr_table_level_find(res, k, tok);
            if (code >= 0)
                rc = mcr_err(MCR_EINVAL, "`synthetic_id_prefix`: '%s' is a real value of identifier column '%s'; "
                             "choose another prefix", tok, col->name);
            else if ((code = mcr_column_add_level(col, tok, strlen(tok))) < 0) rc = code;
            else col->cat[i] = code;
        }
    }
    free(why);
    return rc;
}

static int augment_table(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                         mcr_augment_result *ar) {
    int jt = mcr_table_find(t, c->target), js = c->sensitive ? mcr_table_find(t, c->sensitive) : -1;
    if (c->strategy == MCR_STRAT_GROUP_BALANCE && js < 0)
        return mcr_err(MCR_EINVAL, "strategy group-balance needs a sensitive column");
    if (c->strategy == MCR_STRAT_RATIO && !(c->ratio > 0 && c->ratio <= 1))
        return mcr_err(MCR_EINVAL, "ratio must be in (0, 1] (got %g)", c->ratio);
    if (c->synthetic_fraction >= 1) return mcr_err(MCR_EINVAL, "synthetic fraction must be in [0, 1)");
    if (c->k < 1 || c->k > 50) return mcr_err(MCR_EINVAL, "k (neighbours) must be in 1..50 (got %d)", c->k);
    if (c->mark_synthetic && mcr_table_find(t, c->mark_synthetic) >= 0)
        return mcr_err(MCR_EINVAL, "synthetic-row mark: %s already has a column '%s'", mcr_table_source(t), c->mark_synthetic);
    if (c->method == MCR_AUG_RUS && c->strategy == MCR_STRAT_GROUP_BALANCE)
        return mcr_err(MCR_EINVAL, "rus does not support group-balance");
    cells ce;
    int rc = build_cells(t, rows, nrows, jt, js, c, &ce);
    if (rc) return cells_free(&ce), rc;
    int nclass = 0;
    for (int k = 0; k < ce.K; k++) {
        size_t nk = 0;
        for (int g = 0; g < ce.G; g++) nk += ce.n[k * ce.G + g];
        nclass += nk > 0;
    }
    if (nclass < 2) {
        cells_free(&ce);
        return mcr_err(MCR_EINVAL, "target column '%s' has %s in %s: nothing to rebalance", c->target,
                       nclass ? "a single class" : "no values", mcr_table_source(t));
    }
    mcr_rng r;
    mcr_rng_seed(&r, c->seed, MCR_STREAM_AUGMENT);
    mcr_table *res = NULL, *syn = NULL;
    size_t total_add = 0, nsynth = 0;
    for (int i = 0; i < ce.ncell; i++) total_add += ce.want[i] > ce.n[i] ? ce.want[i] - ce.n[i] : 0;
    if (c->method == MCR_AUG_NONE) {
        rc = mcr_table_take(t, rows, nrows, &res);
        goto mark;
    }
    if (c->method == MCR_AUG_RUS) {
        rc = rus_table(t, rows, nrows, jt, &ce, &r, &res);
        goto done;
    }
    /* synthetic_only: the caller keeps the real rows; the result is the new rows alone */
    if ((rc = c->synthetic_only ? mcr_table_new_like(t, 0, &res) : mcr_table_take(t, rows, nrows, &res))) goto done;
    if (total_add == 0) goto done;
    if (c->method == MCR_AUG_ROS) rc = ros_rows(t, &ce, total_add, &r, &syn);
    else if (mcr_aug_is_mcrage(c->method)) rc = mcrage_rows(t, rows, nrows, c, &ce, ar, &syn);
    else rc = smote_rows(t, rows, nrows, jt, js, c, &ce, total_add, &r, &syn); /* smote, smote-nc, adasyn */
    if (!rc && syn) {
        nsynth = syn->nrows;
        rc = scrub_identifiers(t, c, syn, NULL);
    }
    if (!rc && syn) {
        if (c->synthetic_only) {
            mcr_table_free(res);
            res = syn, syn = NULL;
        } else {
            rc = mcr_table_append(res, syn);
        }
    }
    if (!rc && nsynth && c->synthetic_id_prefix) rc = scrub_identifiers(t, c, res, &nsynth);
mark:
    if (!rc && c->mark_synthetic) {
        size_t nreal = res->nrows - nsynth;
        int j = mcr_table_add_column(res, c->mark_synthetic, MCR_COL_CATEGORICAL, 0);
        if (j < 0) rc = j;
        else if (mcr_column_add_level(&res->cols[j], "0", 1) < 0 || mcr_column_add_level(&res->cols[j], "1", 1) < 0)
            rc = MCR_NOMEM();
        for (size_t i = 0; !rc && i < res->nrows; i++) res->cols[j].cat[i] = i >= nreal;
    }
done:
    mcr_table_free(syn);
    cells_free(&ce);
    if (rc) {
        mcr_table_free(res);
        return rc;
    }
    return augment_result(t, c, res, nsynth, ar);
}

/* ---- the result as text and JSON ------------------------------------------------------------ */
int mcr_augment_print(const mcr_augment_result *r, const char *prefix, const char *output, FILE *f) {
    const char *p = prefix ? prefix : "";
    size_t nrows = r->table ? r->table->nrows : 0;
    fprintf(f, "%s%s: %zu real + %zu synthetic rows -> %s (%zu rows)\n", p, mcr_aug_method_name(r->method),
            r->nreal, r->nsynth, output ? output : "table", nrows);
    int mc = mcr_aug_is_mcrage(r->method) || (r->method == MCR_AUG_MCRAGE_AUTO && r->nsynth);
    if (mc)
        fprintf(f, "%ssynthetic rows that exactly copy a training row: %zu of %zu sampled, %zu left %s\n", p,
                r->copies_found, r->nsynth, r->copies_left, r->copies_resampled ? "after resampling" : "(copies kept)");
    if (mc && r->dcr_threshold == r->dcr_threshold)
        fprintf(f, "%ssynthetic rows closer to a training row than 99%% of real holdout rows are (DCR < %.4g): "
                   "%zu of %zu (%.1f%%; about 1%% is expected of new patients)\n", p,
                r->dcr_threshold, r->dcr_close, r->nsynth, r->nsynth ? 100.0 * r->dcr_close / r->nsynth : 0.0);
    if (r->autochoice) mcr_auto_print(r->autochoice, p, f);
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}

int mcr_augment_write_json(const mcr_augment_result *r, const char *data, const char *output, FILE *f) {
    fprintf(f, "{\"data\":");
    mcr_json_string(f, data ? data : r->source);
    fprintf(f, ",\"output\":");
    if (output) mcr_json_string(f, output);
    else fputs("null", f);
    fprintf(f, ",\"method\":\"%s\",\"rows\":%zu,\"synthetic_rows\":%zu", mcr_aug_method_name(r->method),
            r->table ? r->table->nrows : 0, r->nsynth);
    if (mcr_aug_is_mcrage(r->method) || r->method == MCR_AUG_MCRAGE_AUTO) {
        fprintf(f, ",\"exact_copies_found\":%zu,\"exact_copies_left\":%zu,\"copies_resampled\":%s",
                r->copies_found, r->copies_left, r->copies_resampled ? "true" : "false");
        if (r->dcr_threshold == r->dcr_threshold)
            fprintf(f, ",\"dcr_holdout_p01\":%.6g,\"dcr_below_p01\":%zu", r->dcr_threshold, r->dcr_close);
    }
    if (r->autochoice) {
        fputs(",\"auto\":", f);
        mcr_auto_write_json(r->autochoice, f);
    }
    fprintf(f, "}\n");
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}

/* ---- rows per condition for sampling ---------------------------------------------------------- */
typedef struct {
    const mcr_model *m;
    size_t *counts;
} sample_ctx;
static int put_cond_count(void *ctx, const char *name, size_t v) {
    sample_ctx *x = ctx;
    int c = mcr_model_cond_find(x->m, name);
    if (c < 0) return mcr_err(MCR_EINVAL, "`counts`: '%s' is not a condition value of this model", name);
    x->counts[c] += v;
    return MCR_OK;
}

int mcr_sample_counts(const mcr_model *m, const char *spec, const char *cls, size_t n, size_t *counts) {
    int K = mcr_model_ncond(m);
    memset(counts, 0, (size_t)K * sizeof(size_t));
    if (spec) { /* VALUE=N,... */
        sample_ctx x = {m, counts};
        return parse_counts(spec, put_cond_count, &x);
    }
    if (cls) { /* n rows of one condition */
        int c = mcr_model_cond_find(m, cls);
        if (c < 0) {
            char lv[512] = "";
            for (int k = 0; k < K && strlen(lv) < 400; k++)
                snprintf(lv + strlen(lv), sizeof lv - strlen(lv), " '%s'", mcr_model_cond_name(m, k));
            return mcr_err(MCR_EINVAL, "`class` '%s' is not a condition value of this model; values:%s", cls, lv);
        }
        counts[c] = n;
        return MCR_OK;
    }
    /* n rows split like the training data (largest remainder; equally without counts) */
    double *w = malloc((size_t)(K ? K : 1) * sizeof(double));
    if (!w) return MCR_NOMEM();
    size_t tot = 0;
    for (int k = 0; k < K; k++) tot += mcr_model_cond_count(m, k);
    for (int k = 0; k < K; k++) w[k] = tot ? (double)mcr_model_cond_count(m, k) : 1.0;
    mcr_apportion(n, w, K, counts);
    free(w);
    return MCR_OK;
}
