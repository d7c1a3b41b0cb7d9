/* assess.c — is a synthetic table realistic, useful and private? (see mcrage.h, 9c)
 *
 * One union table U holds the compared columns of the real rows [0, nr), the synthetic rows
 * [nr, nr + ns) and the holdout rows [nr + ns, n), levels merged by spelling, so that one
 * encoder, one hash of a row and one class code serve every table. Each scope (all rows, a
 * class, a group) is a filter on U's rows; the metrics are computed on seeded samples of at most
 * max_rows rows per side, against reference sets (training rows for DCR, synthetic rows for
 * membership inference) of at most 4 x max_rows rows shared by all scopes.
 */
#include "eval/eval.h"

#define NCLF 2
static const mcr_clf_kind CLFS[NCLF] = {MCR_CLF_LOGREG, MCR_CLF_XGB};
static const double QS[MCR_NQ] = {0.05, 0.25, 0.5, 0.75, 0.95};

struct mcr_assess_result {
    char *real_name, *synth_name, *holdout_name, *target, *sensitive, *minority;
    int has_holdout, folds;
    size_t max_rows, nref_train, nr_total, nref_synth;
    int nscopes, minority_scope;
    mcr_assess_scope *scopes;
    char **scope_values;           /* owned strings behind scopes[].value */
    mcr_colfid *cols[2];           /* all rows, minority scope */
    int ncols[2];
    char *lowest[2];               /* the five lowest pairs, as text (all rows, minority) */
    char **colnames;               /* owned copies behind cols[].name */
    int ncolnames;
    char **missing_cols;           /* real columns absent from the synthetic table */
    int nmissing_cols;
    size_t dropped_real;           /* real rows of classes the synthetic table lacks (left out) */
    int K;
    char **classes;
    int nutil;
    mcr_assess_utility util[NCLF];
    char *util_test;               /* what utility was tested on */
    char *util_note;               /* why utility was not computed ("" if it was) */
    struct mcr_assess_result *base[2]; /* baselines: the real holdout; synthetic at its size */
};

void mcr_assess_config_default(mcr_assess_config *c) {
    memset(c, 0, sizeof *c);
    c->folds = 5;
    c->max_rows = 5000;
    c->detection = c->utility = c->privacy = 1;
    c->seed = 1;
    c->baseline = 1;
}

void mcr_assess_free(mcr_assess_result *r) {
    if (!r) return;
    for (int i = 0; i < r->nscopes; i++) free(r->scope_values ? r->scope_values[i] : NULL);
    for (int i = 0; i < r->ncolnames; i++) free(r->colnames[i]);
    for (int i = 0; i < r->nmissing_cols; i++) free(r->missing_cols[i]);
    for (int k = 0; r->classes && k < r->K; k++) free(r->classes[k]);
    for (int u = 0; u < NCLF; u++)
        for (int s = 0; s < 2; s++) free(r->util[u].f1_class[s]), free(r->util[u].recall_class[s]);
    free(r->scope_values), free(r->scopes), free(r->cols[0]), free(r->cols[1]), free(r->colnames);
    free(r->missing_cols), free(r->classes);
    free(r->real_name), free(r->synth_name), free(r->holdout_name), free(r->target), free(r->sensitive);
    free(r->minority), free(r->util_test), free(r->util_note), free(r->lowest[0]), free(r->lowest[1]);
    mcr_assess_free(r->base[0]), mcr_assess_free(r->base[1]);
    free(r);
}

#define say(c, ...) mcr_say((c)->progress, (c)->progress_ctx, __VA_ARGS__)

/* ---- the union table ---------------------------------------------------------------------- */
typedef struct {
    mcr_table *U;
    mcr_table *R, *S;    /* U's real and synthetic rows as tables of their own (fidelity) */
    int nc;              /* compared columns = U's columns */
    int jt, jg;          /* target / sensitive in U (-1 = none) */
    size_t nr, ns, nh;   /* real, synthetic, holdout rows */
} unioned;

/* The rows of t to compare: with a target, those whose class the synthetic table has (a
 * synthetic table of added minority rows is compared with the real minority rows, not with
 * the whole table); unlabelled rows stay. *dropped counts the others. */
static int class_rows(const mcr_table *t, const mcr_table *synth, const char *target, size_t *rows,
                      size_t *n, size_t *dropped) {
    int jt = target ? mcr_table_find(t, target) : -1, js = target ? mcr_table_find(synth, target) : -1;
    *n = *dropped = 0;
    char *has = NULL;
    if (jt >= 0 && js >= 0 && t->cols[jt].type == MCR_COL_CATEGORICAL && synth->cols[js].type == MCR_COL_CATEGORICAL) {
        if (!(has = calloc((size_t)t->cols[jt].nlevels + 1, 1))) return MCR_NOMEM();
        char *present = calloc((size_t)synth->cols[js].nlevels + 1, 1);
        if (!present) return free(has), MCR_NOMEM();
        for (size_t i = 0; i < synth->nrows; i++)
            if (synth->cols[js].cat[i] >= 0) present[synth->cols[js].cat[i]] = 1;
        for (int k = 0; k < t->cols[jt].nlevels; k++) {
            int q = mcr_table_level_find(synth, js, t->cols[jt].levels[k]);
            has[k] = q >= 0 && present[q];
        }
        free(present);
    }
    for (size_t i = 0; i < t->nrows; i++) {
        int y = has ? t->cols[jt].cat[i] : -1;
        if (y < 0 || has[y]) rows[(*n)++] = i;
        else (*dropped)++;
    }
    free(has);
    return MCR_OK;
}

/* Project rows[0..n) of `t` onto the columns `names` (all present, same kind as in U) and
 * append them to U. */
static int append_projection(mcr_table *U, const mcr_table *t0, const size_t *rows, size_t n,
                             const char *const *names, int nc) {
    mcr_table *t = NULL;
    int rc = mcr_table_take(t0, rows, n, &t);
    if (rc) return rc;
    mcr_table *p = mcr_table_empty(t->nrows, t->sep);
    if (!p) return mcr_table_free(t), MCR_NOMEM();
    for (int a = 0; a < nc && !rc; a++) {
        int j = mcr_table_find(t, names[a]);
        const mcr_column *src = &t->cols[j];
        mcr_coltype ty = U->cols[a].type == MCR_COL_CATEGORICAL ? MCR_COL_CATEGORICAL : src->type;
        if ((rc = mcr_table_add_column(p, names[a], ty, src->decimals)) < 0) break;
        rc = MCR_OK;
        mcr_column *d = &p->cols[a];
        if (ty == MCR_COL_CATEGORICAL) {
            for (int k = 0; k < src->nlevels && !rc; k++) {
                int code = mcr_column_add_level(d, src->levels[k], strlen(src->levels[k]));
                if (code < 0) rc = code;
            }
            if (!rc) memcpy(d->cat, src->cat, t->nrows * sizeof(int32_t));
        } else
            memcpy(d->num, src->num, t->nrows * sizeof(double));
        d->type = U->cols[a].type; /* numeric vs integer: the real table's */
    }
    p->nrows = t->nrows;
    if (!rc) rc = mcr_table_append(U, p);
    mcr_table_free(p);
    mcr_table_free(t);
    return rc;
}

/* the column `name` of U with role `role` (*j = -1 when name is NULL): in both tables, classes */
static int role_column(const mcr_table *U, const char *role, const char *name, const mcr_table *real,
                       const mcr_table *synth, int *j) {
    if (name && mcr_table_find(U, name) < 0)
        return mcr_err(MCR_EINVAL, "%s column '%s' is not in both %s and %s", role, name, mcr_table_source(real),
                       mcr_table_source(synth));
    return mcr_role_column(U, role, name, MCR_ROLE_LEVELS, j);
}

static int build_union(const mcr_table *real, const mcr_table *synth, const mcr_table *hold,
                       const mcr_assess_config *c, mcr_assess_result *res, unioned *u) {
    memset(u, 0, sizeof *u);
    u->jt = u->jg = -1;
    const char **names = malloc(((size_t)real->ncols + 1) * sizeof(char *));
    res->missing_cols = calloc((size_t)real->ncols + 1, sizeof(char *));
    int ndrop = 0;
    char **drop = mcr_split_list(c->drop, &ndrop);
    if (!names || !res->missing_cols || (c->drop && !drop)) return free(names), free(drop), MCR_NOMEM();
    int rc = MCR_OK;
    for (int j = 0; j < real->ncols; j++) {
        const mcr_column *rc_ = &real->cols[j];
        int dropped = 0;
        for (int q = 0; q < ndrop; q++) dropped |= !strcmp(drop[q], rc_->name);
        if (dropped) continue;
        int k = mcr_table_find(synth, rc_->name);
        if (k < 0) {
            if (!(res->missing_cols[res->nmissing_cols++] = mcr_strdup(rc_->name))) rc = MCR_NOMEM();
            continue;
        }
        int cat = rc_->type == MCR_COL_CATEGORICAL;
        if (cat != (synth->cols[k].type == MCR_COL_CATEGORICAL)) {
            free(names), free(drop);
            return mcr_err(MCR_EINVAL, "column '%s' is %s in %s but %s in %s (use `categorical`/`numeric`)",
                           rc_->name, cat ? "categorical" : "numeric", mcr_table_source(real),
                           cat ? "numeric" : "categorical", mcr_table_source(synth));
        }
        if (hold) {
            int h = mcr_table_find(hold, rc_->name);
            if (h < 0 || cat != (hold->cols[h].type == MCR_COL_CATEGORICAL)) {
                free(names), free(drop);
                return mcr_err(MCR_EINVAL, "`holdout`: %s %s column '%s' of the real table %s", mcr_table_source(hold),
                               h < 0 ? "lacks" : "has another type (numeric/categorical) for", rc_->name, mcr_table_source(real));
            }
        }
        names[u->nc++] = rc_->name;
    }
    if (!rc && u->nc == 0)
        rc = mcr_err(MCR_EINVAL, "%s and %s share no column", mcr_table_source(real), mcr_table_source(synth));
    if (!rc && !(u->U = mcr_table_empty(0, real->sep))) rc = MCR_NOMEM();
    for (int a = 0; a < u->nc && !rc; a++) {
        const mcr_column *src = &real->cols[mcr_table_find(real, names[a])];
        rc = mcr_table_add_column(u->U, names[a], src->type, src->decimals);
        rc = rc < 0 ? rc : MCR_OK;
    }
    size_t big = real->nrows > synth->nrows ? real->nrows : synth->nrows, nsel = 0, nd = 0;
    if (hold && hold->nrows > big) big = hold->nrows;
    size_t *sel = rc ? NULL : malloc((big + 1) * sizeof(size_t));
    if (!rc && !sel) rc = MCR_NOMEM();
    if (!rc) rc = class_rows(real, synth, c->target, sel, &nsel, &nd);
    if (!rc) rc = append_projection(u->U, real, sel, nsel, names, u->nc);
    u->nr = nsel, res->dropped_real = nd;
    for (size_t i = 0; !rc && i < synth->nrows; i++) sel[i] = i;
    if (!rc) rc = append_projection(u->U, synth, sel, synth->nrows, names, u->nc);
    u->ns = synth->nrows;
    if (!rc && hold) rc = class_rows(hold, synth, c->target, sel, &nsel, &nd);
    if (!rc && hold) rc = append_projection(u->U, hold, sel, nsel, names, u->nc);
    u->nh = hold ? nsel : 0;
    free(sel), free(names), free(drop);
    if (rc) return rc;
    if (u->nr == 0)
        return mcr_err(MCR_EINVAL, "%s has no rows of the classes in %s", mcr_table_source(real), mcr_table_source(synth));
    if ((rc = mcr_table_slice(u->U, 0, u->nr, &u->R)) || (rc = mcr_table_slice(u->U, u->nr, u->ns, &u->S))) return rc;
    free(u->R->source), free(u->S->source);
    u->R->source = mcr_strdup(mcr_table_source(real));
    u->S->source = mcr_strdup(mcr_table_source(synth));
    if (!u->R->source || !u->S->source) return MCR_NOMEM();
    if ((rc = role_column(u->U, "target", c->target, real, synth, &u->jt))) return rc;
    return role_column(u->U, "sensitive", c->sensitive, real, synth, &u->jg);
}

/* rows of U in [lo, hi) whose column j (if >= 0) has code `code`, as a seeded random sample of
 * at most cap rows (in increasing row order); returns the count. */
static size_t pick_rows(const mcr_table *U, size_t lo, size_t hi, int j, int code, size_t cap,
                        mcr_rng *r, size_t *out) {
    size_t m = 0;
    for (size_t i = lo; i < hi; i++)
        if (j < 0 || U->cols[j].cat[i] == code) out[m++] = i;
    if (m > cap) {
        for (size_t a = 0; a < cap; a++) { /* partial Fisher-Yates */
            size_t b = a + (size_t)mcr_rng_below(r, m - a), tmp = out[a];
            out[a] = out[b], out[b] = tmp;
        }
        m = cap;
        qsort(out, m, sizeof(size_t), mcr_cmp_size); /* keeps memory access in order */
    }
    return m;
}

/* a seeded random n of the m rows src (n <= m) into dst */
static void subsample(const size_t *src, size_t m, size_t n, mcr_rng *r, size_t *dst) {
    memcpy(dst, src, m * sizeof(size_t)); /* dst has room for m */
    for (size_t a = 0; a < n; a++) {
        size_t b = a + (size_t)mcr_rng_below(r, m - a), x = dst[a];
        dst[a] = dst[b], dst[b] = x;
    }
}


/* ---- detection ---------------------------------------------------------------------------- */
/* AUROC of out-of-fold scores of classifier kind telling rows b (label 1) from rows a (label 0);
 * equal counts n of each. */
static int detect(const mcr_encoder *e, const mcr_table *U, const size_t *a, const size_t *b,
                  size_t n, int folds, uint64_t seed, double auc[NCLF]) {
    for (int k = 0; k < NCLF; k++) auc[k] = NAN;
    if (n < (size_t)folds * 2) return MCR_OK;
    size_t m = 2 * n;
    size_t *rows = malloc(m * sizeof(size_t));
    int *y = malloc(m * sizeof(int)), *fold = malloc(m * sizeof(int));
    int *ytr = malloc(m * sizeof(int));
    double *score = malloc(m * sizeof(double)), *prob = malloc(m * 2 * sizeof(double));
    float *X = NULL, *Xtr = NULL, *Xte = NULL;
    int rc = MCR_OK, d = e->d;
    if (!rows || !y || !fold || !ytr || !score || !prob) {
        rc = MCR_NOMEM();
        goto done;
    }
    mcr_rng r;
    mcr_rng_seed(&r, seed, MCR_STREAM_ASSESS_FOLDS);
    /* folds: a random permutation of each side, dealt round-robin */
    for (size_t i = 0; i < n; i++) rows[i] = a[i], rows[n + i] = b[i], y[i] = 0, y[n + i] = 1;
    size_t *idx = malloc(n * sizeof(size_t));
    if (!idx) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int side = 0; side < 2; side++) {
        for (size_t i = 0; i < n; i++) idx[i] = i;
        mcr_rng_shuffle(&r, idx, n);
        for (size_t i = 0; i < n; i++) fold[side * n + idx[i]] = (int)(i % (size_t)folds);
    }
    free(idx);
    if ((rc = mcr_encoder_transform_float(e, U, rows, m, &X))) goto done;
    Xtr = malloc(m * (size_t)d * sizeof(float)), Xte = malloc(m * (size_t)d * sizeof(float));
    if (!Xtr || !Xte) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int k = 0; k < NCLF && !rc; k++) {
        for (int f = 0; f < folds && !rc; f++) {
            size_t ntr = 0, nte = 0;
            for (size_t i = 0; i < m; i++) {
                if (fold[i] != f) {
                    memcpy(Xtr + ntr * d, X + i * d, (size_t)d * sizeof(float));
                    ytr[ntr++] = y[i];
                } else
                    memcpy(Xte + nte++ * d, X + i * d, (size_t)d * sizeof(float));
            }
            mcr_clf_config cc;
            mcr_clf_config_default(&cc, CLFS[k]);
            cc.seed = seed + (uint64_t)f;
            mcr_classifier *clf = NULL;
            rc = mcr_clf_fit(&cc, Xtr, ytr, ntr, d, 2, &clf);
            if (!rc) rc = mcr_clf_predict(clf, Xte, nte, prob);
            mcr_clf_free(clf);
            for (size_t i = 0, q = 0; !rc && i < m; i++)
                if (fold[i] == f) score[i] = prob[2 * q++ + 1];
        }
        if (!rc) auc[k] = mcr_auroc(score, y, m);
    }
done:
    free(rows), free(y), free(fold), free(ytr), free(score), free(prob), free(X), free(Xtr), free(Xte);
    return rc;
}

/* ---- privacy ------------------------------------------------------------------------------ */
typedef struct {
    mcr_nnref ref;      /* encoded training reference rows (dense, or compact when wide) */
    size_t nref;
    mcr_nnref syn;      /* encoded synthetic reference rows */
    size_t nsyn;
    char *copy;         /* [ns] 1: synthetic row s equals a training row */
} privacy_ctx;

static int mark_copies(const unioned *u, char *copy) {
    int *cols = malloc((size_t)u->nc * sizeof(int));
    mcr_hrow *th = malloc((u->nr ? u->nr : 1) * sizeof(mcr_hrow));
    if (!cols || !th) return free(cols), free(th), MCR_NOMEM();
    for (int a = 0; a < u->nc; a++) cols[a] = a;
    for (size_t i = 0; i < u->nr; i++) th[i].row = i, th[i].h = mcr_table_row_hash(u->U, i, cols, u->nc);
    qsort(th, u->nr, sizeof(mcr_hrow), mcr_hrow_cmp);
    for (size_t s = 0; s < u->ns; s++) {
        size_t row = u->nr + s;
        uint64_t h = mcr_table_row_hash(u->U, row, cols, u->nc);
        size_t lo = 0, hi = u->nr;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (th[mid].h < h) lo = mid + 1;
            else hi = mid;
        }
        copy[s] = 0;
        for (size_t q = lo; q < u->nr && th[q].h == h && !copy[s]; q++)
            copy[s] = (char)mcr_table_rows_equal(u->U, row, u->U, th[q].row, cols, u->nc);
    }
    free(cols), free(th);
    return MCR_OK;
}

/* DCR quantiles of rows q to the training reference; sorted distances in *dist (caller frees) */
static int dcr(const mcr_encoder *e, const unioned *u, const privacy_ctx *p, const size_t *q,
               size_t n, double qs[MCR_NQ], double **dist) {
    for (int k = 0; k < MCR_NQ; k++) qs[k] = NAN;
    *dist = NULL;
    if (n == 0 || p->nref == 0) return MCR_OK;
    double *dd = malloc(n * sizeof(double));
    if (!dd) return MCR_NOMEM();
    int rc = mcr_nnref_dist(e, u->U, q, n, &p->ref, dd);
    if (rc) return free(dd), rc;
    qsort(dd, n, sizeof(double), mcr_cmp_double);
    for (int k = 0; k < MCR_NQ; k++) qs[k] = mcr_quantile_sorted(dd, n, QS[k]);
    *dist = dd;
    return MCR_OK;
}

/* Hanley & McNeil (1982): SE of an AUROC A from n1 positives and n2 negatives */
double mcr_auroc_se(double A, size_t n1, size_t n2) {
    if (A != A || n1 == 0 || n2 == 0) return NAN;
    double q1 = A / (2 - A), q2 = 2 * A * A / (1 + A);
    double v = (A * (1 - A) + ((double)n1 - 1) * (q1 - A * A) + ((double)n2 - 1) * (q2 - A * A)) / ((double)n1 * (double)n2);
    return sqrt(v > 0 ? v : 0);
}

/* the median (interpolated as mcr_quantile_sorted) of a bootstrap resample of sorted v[n]:
 * counts of each index drawn (cnt[n], zeroed here), then the order statistics by a walk */
static double boot_median(const double *v, size_t n, mcr_rng *r, size_t *cnt) {
    memset(cnt, 0, n * sizeof(size_t));
    for (size_t i = 0; i < n; i++) cnt[mcr_rng_below(r, n)]++;
    double pos = 0.5 * (double)(n - 1);
    size_t lo = (size_t)pos, hi = lo + (pos > (double)lo), seen = 0;
    double a = NAN, b = NAN;
    for (size_t i = 0; i < n && b != b; i++) {
        seen += cnt[i];
        if (a != a && seen > lo) a = v[i];
        if (seen > hi) b = v[i];
    }
    return a + (pos - (double)lo) * (b - a);
}

/* percentile-bootstrap 95% interval of median(ds) / median(dh), both sorted */
#define MCR_BOOT 1000
static int dcr_ratio_interval(const double *ds, size_t ns, const double *dh, size_t nh, uint64_t seed, double *lo,
                              double *hi) {
    *lo = *hi = NAN;
    if (ns < 2 || nh < 2) return MCR_OK;
    size_t *cnt = malloc((ns > nh ? ns : nh) * sizeof(size_t));
    double *rat = malloc(MCR_BOOT * sizeof(double));
    if (!cnt || !rat) return free(cnt), free(rat), MCR_NOMEM();
    mcr_rng r;
    mcr_rng_seed(&r, seed, MCR_STREAM_ASSESS_BOOT);
    int m = 0;
    for (int b = 0; b < MCR_BOOT; b++) {
        double s = boot_median(ds, ns, &r, cnt), h = boot_median(dh, nh, &r, cnt);
        if (h > 0) rat[m++] = s / h;
    }
    if (m > 1) {
        mcr_sort_doubles(rat, (size_t)m);
        *lo = mcr_quantile_sorted(rat, (size_t)m, 0.025);
        *hi = mcr_quantile_sorted(rat, (size_t)m, 0.975);
    }
    free(cnt), free(rat);
    return MCR_OK;
}

static int privacy_scope(const mcr_encoder *e, const unioned *u, const privacy_ctx *p,
                         const size_t *rs, size_t nrs, const size_t *ss, size_t nss,
                         const size_t *hs, size_t nhs, size_t nsyn_all, size_t ncopies,
                         uint64_t seed, mcr_assess_scope *sc) {
    sc->copy_rate = nsyn_all ? (double)ncopies / (double)nsyn_all : NAN;
    sc->dcr_ratio = sc->dcr_close = sc->mia_auroc = NAN;
    sc->mia_lo = sc->mia_hi = sc->dcr_ratio_lo = sc->dcr_ratio_hi = NAN;
    double *ds = NULL, *dh = NULL;
    int rc = dcr(e, u, p, ss, nss, sc->dcr_synth, &ds);
    if (!rc) rc = dcr(e, u, p, hs, nhs, sc->dcr_holdout, &dh);
    if (!rc && ds && dh) {
        sc->dcr_ratio = sc->dcr_holdout[2] > 0 ? sc->dcr_synth[2] / sc->dcr_holdout[2] : NAN;
        if (sc->dcr_ratio == sc->dcr_ratio)
            rc = dcr_ratio_interval(ds, nss, dh, nhs, seed, &sc->dcr_ratio_lo, &sc->dcr_ratio_hi);
        size_t close = 0;
        for (size_t i = 0; i < nss; i++) close += ds[i] < sc->dcr_holdout[0];
        sc->dcr_close = (double)close / (double)nss;
    }
    free(ds), free(dh);
    /* membership inference: members (training rows) vs holdout rows, by distance to the
     * nearest synthetic row; equal numbers of each */
    size_t n = nrs < nhs ? nrs : nhs;
    if (!rc && n >= 2 && p->nsyn > 0) {
        size_t *rows = malloc((nrs + nhs) * sizeof(size_t));
        int *lab = malloc(2 * n * sizeof(int));
        double *sco = malloc(2 * n * sizeof(double));
        if (!rows || !lab || !sco) rc = MCR_NOMEM();
        if (!rc) {
            mcr_rng r;
            mcr_rng_seed(&r, seed, MCR_STREAM_ASSESS_SUBSAMPLE);
            subsample(rs, nrs, n, &r, rows);
            subsample(hs, nhs, n, &r, rows + n); /* overwrites the unused tail of the first */
        }
        for (size_t i = 0; !rc && i < n; i++) lab[i] = 1, lab[n + i] = 0;
        if (!rc) rc = mcr_nnref_dist(e, u->U, rows, 2 * n, &p->syn, sco);
        if (!rc) {
            for (size_t i = 0; i < 2 * n; i++) sco[i] = -sco[i];
            sc->mia_auroc = mcr_auroc(sco, lab, 2 * n);
            double se = mcr_auroc_se(sc->mia_auroc, n, n);
            if (se == se) {
                sc->mia_lo = fmax(0, sc->mia_auroc - 1.96 * se);
                sc->mia_hi = fmin(1, sc->mia_auroc + 1.96 * se);
            }
        }
        free(rows), free(lab), free(sco);
    }
    return rc;
}

/* ---- utility ------------------------------------------------------------------------------ */
static int utility(const unioned *u, const mcr_assess_config *c, mcr_assess_result *res) {
    const mcr_table *U = u->U;
    int jt = u->jt, K = U->cols[jt].nlevels, rc = MCR_OK;
    size_t n = U->nrows, cap = 4 * c->max_rows;
    size_t *trr = malloc((n + 1) * sizeof(size_t)), *trs = malloc((n + 1) * sizeof(size_t));
    size_t *te = malloc((n + 1) * sizeof(size_t)), *tmp = malloc((n + 1) * sizeof(size_t));
    int *feat = malloc(((size_t)u->nc + 1) * sizeof(int));
    int *y = malloc((n + 1) * sizeof(int));
    char *seen = calloc((size_t)K + 1, 1);
    mcr_encoder *e = NULL;
    float *Xr = NULL, *Xs = NULL, *Xt = NULL;
    double *prob = NULL;
    if (!trr || !trs || !te || !tmp || !feat || !y || !seen) {
        rc = MCR_NOMEM();
        goto done;
    }
    mcr_rng r;
    mcr_rng_seed(&r, c->seed, MCR_STREAM_ASSESS_SPLIT);
    size_t nrr = 0, nss = 0, nte = 0;
    for (size_t i = u->nr; i < u->nr + u->ns; i++)
        if (U->cols[jt].cat[i] >= 0) seen[U->cols[jt].cat[i]] = 1;
    int syn_classes = 0;
    for (int k = 0; k < K; k++) syn_classes += seen[k];
    if (syn_classes < 2) {
        res->util_note = mcr_strdup("the synthetic rows hold fewer than two classes: nothing to train on");
        goto done;
    }
    if (u->nh) { /* train on real, test on the holdout */
        nrr = pick_rows(U, 0, u->nr, -1, 0, cap, &r, tmp);
        for (size_t i = 0; i < nrr; i++)
            if (U->cols[jt].cat[tmp[i]] >= 0) trr[nte++] = tmp[i];
        nrr = nte, nte = 0;
        size_t m = pick_rows(U, u->nr + u->ns, n, -1, 0, cap, &r, tmp);
        for (size_t i = 0; i < m; i++)
            if (U->cols[jt].cat[tmp[i]] >= 0) te[nte++] = tmp[i];
        res->util_test = mcr_strdup("the holdout rows");
    } else { /* stratified 30% of the real rows */
        for (int k = 0; k < K; k++) {
            size_t m = pick_rows(U, 0, u->nr, jt, k, (size_t)-1, &r, tmp);
            mcr_rng_shuffle(&r, tmp, m);
            size_t nt = (size_t)llround(0.3 * (double)m);
            for (size_t i = 0; i < m; i++) i < nt ? (void)(te[nte++] = tmp[i]) : (void)(trr[nrr++] = tmp[i]);
        }
        if (nrr > cap) mcr_rng_shuffle(&r, trr, nrr), nrr = cap;
        if (nte > cap) mcr_rng_shuffle(&r, te, nte), nte = cap;
        res->util_test = mcr_strdup("a stratified 30% of the real rows, kept out of TRTR's training (the generator may have seen them)");
    }
    size_t m = pick_rows(U, u->nr, u->nr + u->ns, -1, 0, cap, &r, tmp);
    for (size_t i = 0; i < m; i++)
        if (U->cols[jt].cat[tmp[i]] >= 0) trs[nss++] = tmp[i];
    if (nrr < 2 || nte < 1) {
        res->util_note = mcr_strdup("too few labelled real rows");
        goto done;
    }
    int nf = 0;
    for (int a = 0; a < u->nc; a++)
        if (a != jt) feat[nf++] = a;
    if (nf == 0) {
        res->util_note = mcr_strdup("no feature columns besides the target");
        goto done;
    }
    if ((rc = mcr_encoder_fit(U, feat, nf, trr, nrr, MCR_NUM_STANDARD, &e))) goto done;
    if ((rc = mcr_encoder_transform_float(e, U, trr, nrr, &Xr)) || (rc = mcr_encoder_transform_float(e, U, trs, nss, &Xs)) || (rc = mcr_encoder_transform_float(e, U, te, nte, &Xt)))
        goto done;
    if (!(prob = malloc(nte * (size_t)K * sizeof(double)))) {
        rc = MCR_NOMEM();
        goto done;
    }
    int *yte = y;
    for (size_t i = 0; i < nte; i++) yte[i] = U->cols[jt].cat[te[i]];
    int *ytr = malloc((nrr > nss ? nrr : nss) * sizeof(int) + sizeof(int));
    if (!ytr) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int k = 0; k < NCLF && !rc; k++) {
        mcr_assess_utility *ut = &res->util[k];
        ut->clf = CLFS[k];
        ut->ntrain_real = nrr, ut->ntrain_synth = nss, ut->ntest = nte;
        for (int side = 0; side < 2 && !rc; side++) {
            ut->f1_class[side] = malloc((size_t)K * sizeof(double));
            ut->recall_class[side] = malloc((size_t)K * sizeof(double));
            if (!ut->f1_class[side] || !ut->recall_class[side]) {
                rc = MCR_NOMEM();
                break;
            }
            const size_t *rows = side ? trs : trr;
            size_t nt = side ? nss : nrr;
            for (size_t i = 0; i < nt; i++) ytr[i] = U->cols[jt].cat[rows[i]];
            mcr_clf_config cc;
            mcr_clf_config_default(&cc, CLFS[k]);
            cc.seed = c->seed;
            mcr_classifier *clf = NULL;
            rc = mcr_clf_fit(&cc, side ? Xs : Xr, ytr, nt, e->d, K, &clf);
            if (!rc) rc = mcr_clf_predict(clf, Xt, nte, prob);
            mcr_clf_free(clf);
            mcr_metrics mm;
            for (int q = 0; q < K && !rc; q++) {
                if ((rc = mcr_metrics_compute(yte, prob, nte, K, q, &mm))) break;
                ut->f1_class[side][q] = mm.f1_minority;
                ut->recall_class[side][q] = mm.recall_minority;
                ut->acc[side] = mm.accuracy, ut->f1_macro[side] = mm.f1_macro, ut->auroc[side] = mm.auroc;
            }
        }
        if (!rc) res->nutil = k + 1;
    }
    free(ytr);
done:
    if (!rc && !res->util_note) res->util_note = mcr_strdup("");
    if (!rc && (!res->util_note || (!res->util_test && !*res->util_note))) rc = MCR_NOMEM();
    mcr_encoder_free(e);
    free(trr), free(trs), free(te), free(tmp), free(feat), free(y), free(seen), free(Xr), free(Xs), free(Xt), free(prob);
    return rc;
}

/* ---- scopes ------------------------------------------------------------------------------- */
static double mean_score(const mcr_colfid *f, int n) {
    double s = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (f[i].stat == f[i].stat) s += 1 - f[i].stat, m++;
    return m ? s / m : NAN;
}

static double mean_pairs(const mcr_pairfid *p, int n) {
    double s = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (p[i].score == p[i].score) s += p[i].score, m++;
    return m ? s / m : NAN;
}

/* "a x b 0.1234, ..." for the five lowest-scoring pairs */
static char *lowest_pairs(const mcr_pairfid *p, int n) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    char *used = calloc((size_t)n + 1, 1);
    for (int k = 0; used && k < 5; k++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!used[i] && p[i].score == p[i].score && (best < 0 || p[i].score < p[best].score)) best = i;
        if (best < 0) break;
        used[best] = 1;
        fprintf(f, "%s%s x %s %.4f", k ? ", " : "", p[best].a, p[best].b, p[best].score);
    }
    free(used);
    fclose(f);
    return buf;
}

/* shapes and pair trends of a scope on the original tables; keeps the column table and the
 * lowest pairs if keep != NULL */
static int fidelity_scope(const mcr_table *real, const mcr_table *synth, const char *col,
                          const char *val, mcr_assess_scope *sc, mcr_colfid **keep, int *nkeep,
                          char **lowest) {
    mcr_colfid *f = NULL;
    mcr_pairfid *p = NULL;
    int n = 0, np = 0, rc = mcr_fidelity_columns(real, synth, col, val, &f, &n);
    if (!rc) rc = mcr_fidelity_pairs(real, synth, col, val, &p, &np);
    if (!rc) {
        sc->column_shapes = mean_score(f, n);
        sc->pair_trends = mean_pairs(p, np);
        if (lowest && !(*lowest = lowest_pairs(p, np))) rc = MCR_NOMEM();
    }
    free(p);
    if (!rc && keep) *keep = f, *nkeep = n;
    else free(f);
    return rc;
}

/* minority: the named class or the rarest class among the real rows (the first of a tie) */
static int find_minority(const unioned *u, const mcr_assess_config *c, const mcr_table *real, int *minority) {
    const mcr_table *U = u->U;
    *minority = -1;
    if (u->jt < 0) return MCR_OK;
    int K = U->cols[u->jt].nlevels;
    size_t *cnt = calloc((size_t)K + 1, sizeof(size_t));
    if (!cnt) return MCR_NOMEM();
    for (size_t i = 0; i < u->nr; i++)
        if (U->cols[u->jt].cat[i] >= 0) cnt[U->cols[u->jt].cat[i]]++;
    *minority = mcr_minority_class(cnt, K, NULL);
    free(cnt);
    if (c->minority && (*minority = mcr_table_level_find(U, u->jt, c->minority)) < 0)
        return mcr_err(MCR_EINVAL, "class '%s' is not a value of '%s'", c->minority, c->target);
    if (*minority < 0)
        return mcr_err(MCR_EINVAL, "target column '%s' has no values in %s", c->target, mcr_table_source(real));
    if (c->minority && mcr_table_level_find(real, mcr_table_find(real, c->target), c->minority) < 0)
        return mcr_err(MCR_EINVAL, "class '%s' is not a value of '%s' in %s", c->minority, c->target, mcr_table_source(real));
    return MCR_OK;
}

/* scopes: all rows, classes (those with rows, and the minority), groups */
static int list_scopes(const unioned *u, mcr_assess_result *res, int minority) {
    const mcr_table *U = u->U;
    int K = res->K, G = u->jg >= 0 ? U->cols[u->jg].nlevels : 0;
    res->minority_scope = 0;
    for (int s = 0; s < 1 + K + G; s++) {
        if (s >= 1 && s <= K && s - 1 != minority) { /* a class neither table has: no scope */
            size_t m = 0;
            for (size_t i = 0; i < U->nrows && !m; i++) m += U->cols[u->jt].cat[i] == s - 1;
            if (!m) continue;
        }
        mcr_assess_scope *sc = &res->scopes[res->nscopes];
        const char *v = s == 0 ? "" : s <= K ? U->cols[u->jt].levels[s - 1] : U->cols[u->jg].levels[s - 1 - K];
        if (!(res->scope_values[res->nscopes] = mcr_strdup(v))) return MCR_NOMEM();
        sc->kind = s == 0 ? "all" : s <= K ? "class" : "group";
        sc->value = res->scope_values[res->nscopes];
        if (s - 1 == minority) res->minority_scope = res->nscopes;
        res->nscopes++;
    }
    return MCR_OK;
}

/* every metric of scope s: fidelity, detection, privacy (rs, ss, hs, tmp: room for U's rows) */
static int assess_scope(const mcr_assess_config *c, mcr_assess_result *res, const unioned *u, const privacy_ctx *pv,
                        const mcr_encoder *e, mcr_rng *r, int s, size_t *rs, size_t *ss, size_t *hs, size_t *tmp) {
    const mcr_table *U = u->U;
    size_t n = U->nrows;
    int rc = MCR_OK;
    mcr_assess_scope *sc = &res->scopes[s];
    int cls = !strcmp(sc->kind, "class"), j = s == 0 ? -1 : cls ? u->jt : u->jg;
    int code = j < 0 ? 0 : mcr_table_level_find(U, j, sc->value);
    const char *col = s == 0 ? NULL : cls ? c->target : c->sensitive;
    size_t nr_all = pick_rows(U, 0, u->nr, j, code, (size_t)-1, r, tmp);
    size_t ns_all = pick_rows(U, u->nr, u->nr + u->ns, j, code, (size_t)-1, r, tmp), ncop = 0;
    for (size_t i = 0; c->privacy && i < ns_all; i++) ncop += (size_t)pv->copy[tmp[i] - u->nr];
    size_t nh_all = u->nh ? pick_rows(U, u->nr + u->ns, n, j, code, (size_t)-1, r, tmp) : 0;
    sc->nreal = nr_all, sc->nsynth = ns_all, sc->nholdout = nh_all;
    sc->detect_logreg = sc->detect_xgb = sc->copy_rate = sc->dcr_ratio = sc->dcr_close = sc->mia_auroc = NAN;
    sc->mia_lo = sc->mia_hi = sc->dcr_ratio_lo = sc->dcr_ratio_hi = NAN;
    for (int q = 0; q < MCR_NQ; q++) sc->dcr_synth[q] = sc->dcr_holdout[q] = NAN;
    say(c, "scope %s%s%s: %zu real, %zu synthetic, %zu holdout rows", sc->kind, *sc->value ? " " : "",
        sc->value, nr_all, ns_all, nh_all);
    /* fidelity on U's real and synthetic parts (a group scope filters by the sensitive column) */
    int keep = s == 0 ? 0 : s == res->minority_scope ? 1 : -1;
    if (ns_all > 0 && nr_all > 0)
        rc = fidelity_scope(u->R, u->S, col, sc->value, sc, keep >= 0 ? &res->cols[keep] : NULL,
                            keep >= 0 ? &res->ncols[keep] : NULL, keep >= 0 ? &res->lowest[keep] : NULL);
    else
        sc->column_shapes = sc->pair_trends = NAN;
    if (rc) return rc;
    size_t nrs = pick_rows(U, 0, u->nr, j, code, c->max_rows, r, rs);
    size_t nss = pick_rows(U, u->nr, u->nr + u->ns, j, code, c->max_rows, r, ss);
    size_t nhs = u->nh ? pick_rows(U, u->nr + u->ns, n, j, code, c->max_rows, r, hs) : 0;
    if (c->detection) { /* equal numbers of real and synthetic rows */
        size_t m = nrs < nss ? nrs : nss;
        double auc[NCLF];
        subsample(rs, nrs, m, r, tmp);
        subsample(ss, nss, m, r, tmp + nrs);
        if ((rc = detect(e, U, tmp, tmp + nrs, m, c->folds, c->seed + (uint64_t)s, auc))) return rc;
        sc->detect_logreg = auc[0], sc->detect_xgb = auc[1];
    }
    if (c->privacy && (rc = privacy_scope(e, u, pv, rs, nrs, ss, nss, hs, nhs, ns_all, ncop, c->seed + (uint64_t)s, sc)))
        return rc;
    return MCR_OK;
}

/* A target / sensitive column of integer codes in the real table: the three tables with it as
 * levels (*lv[k] = NULL for a table that needs no change); returns 1 if any changed. */
static int level_roles(const mcr_table *real, const mcr_table *synth, const mcr_assess_config *c,
                       mcr_table *lv[3], int *rc) {
    const char *names[2] = {c->target, c->sensitive};
    const mcr_table *tabs[3] = {real, synth, c->holdout};
    int any = 0;
    *rc = MCR_OK;
    lv[0] = lv[1] = lv[2] = NULL;
    for (int a = 0; a < 2; a++) {
        int j = names[a] ? mcr_table_find(real, names[a]) : -1;
        any |= j >= 0 && real->cols[j].type != MCR_COL_CATEGORICAL && mcr_int_codes(real, j);
    }
    if (!any) return 0;
    for (int k = 0; k < 3 && !*rc; k++) {
        if (!tabs[k]) continue;
        int js[2];
        for (int a = 0; a < 2; a++) {
            int jr = names[a] ? mcr_table_find(real, names[a]) : -1;
            js[a] = jr >= 0 && real->cols[jr].type != MCR_COL_CATEGORICAL && mcr_int_codes(real, jr)
                        ? mcr_table_find(tabs[k], names[a]) : -1;
        }
        *rc = mcr_table_levelled(tabs[k], js, 2, &lv[k]);
    }
    return 1;
}

/* The two baselines (fidelity and detection only, same seed): the holdout rows of the classes
 * the synthetic table has, assessed as synthetic; the synthetic rows subsampled to that size. */
static int baselines(const mcr_table *real, const mcr_table *synth, const mcr_assess_config *c,
                     mcr_assess_result *res) {
    mcr_assess_config b = *c;
    b.holdout = NULL, b.privacy = 0, b.utility = 0, b.baseline = 0;
    size_t nh = c->holdout->nrows, ns = synth->nrows, n = 0, dropped = 0;
    size_t *rows = malloc(((nh > ns ? nh : ns) + 1) * sizeof(size_t));
    size_t *all = malloc((ns + 1) * sizeof(size_t));
    mcr_table *hold = NULL, *sub = NULL;
    int rc = rows && all ? class_rows(c->holdout, synth, c->target, rows, &n, &dropped) : MCR_NOMEM();
    if (!rc && n == 0) goto out; /* no holdout row of the synthetic classes: no baseline */
    if (!rc) rc = mcr_table_take(c->holdout, rows, n, &hold);
    if (!rc && ns > n) { /* the synthetic rows at the holdout's size */
        mcr_rng r;
        mcr_rng_seed(&r, c->seed, MCR_STREAM_ASSESS_BASE);
        for (size_t i = 0; i < ns; i++) all[i] = i;
        subsample(all, ns, n, &r, rows);
        qsort(rows, n, sizeof(size_t), mcr_cmp_size);
        rc = mcr_table_take(synth, rows, n, &sub);
    }
    say(c, "baseline: the holdout (%zu rows) against the real rows, and %zu synthetic rows", n, sub ? n : ns);
    if (!rc) rc = mcr_assess(real, hold, &b, &res->base[0]);
    if (!rc) rc = mcr_assess(real, sub ? sub : synth, &b, &res->base[1]);
out:
    mcr_table_free(hold), mcr_table_free(sub);
    free(rows), free(all);
    return rc;
}

int mcr_assess(const mcr_table *real, const mcr_table *synth, const mcr_assess_config *c,
               mcr_assess_result **out) {
    mcr_table *lv[3];
    int lrc;
    if (level_roles(real, synth, c, lv, &lrc)) { /* integer codes: assess the levelled copies */
        mcr_assess_config c2 = *c;
        if (lv[2]) c2.holdout = lv[2];
        if (!lrc) lrc = mcr_assess(lv[0] ? lv[0] : real, lv[1] ? lv[1] : synth, &c2, out);
        else *out = NULL;
        for (int k = 0; k < 3; k++) mcr_table_free(lv[k]);
        return lrc;
    }
    *out = NULL;
    if (c->folds < 2 || c->folds > 20) return mcr_err(MCR_EINVAL, "folds must be in 2..20");
    if (c->max_rows < 10) return mcr_err(MCR_EINVAL, "max rows must be at least 10");
    if (real->nrows == 0) return mcr_err(MCR_EINVAL, "%s has no rows", mcr_table_source(real));
    if (synth->nrows == 0) return mcr_err(MCR_EINVAL, "%s has no rows", mcr_table_source(synth));
    mcr_assess_result *res = calloc(1, sizeof *res);
    if (!res) return MCR_NOMEM();
    unioned u;
    privacy_ctx pv = {0};
    mcr_encoder *e = NULL;
    size_t *rs = NULL, *ss = NULL, *hs = NULL, *tmp = NULL;
    int rc = build_union(real, synth, c->holdout, c, res, &u);
    if (rc) goto fail;
    res->real_name = mcr_strdup(mcr_table_source(real));
    res->synth_name = mcr_strdup(mcr_table_source(synth));
    res->holdout_name = mcr_strdup(c->holdout ? mcr_table_source(c->holdout) : "");
    res->target = mcr_strdup(c->target ? c->target : "");
    res->sensitive = mcr_strdup(c->sensitive ? c->sensitive : "");
    res->has_holdout = c->holdout != NULL;
    res->folds = c->folds;
    res->max_rows = c->max_rows;
    res->nr_total = u.nr;
    const mcr_table *U = u.U;
    int K = u.jt >= 0 ? U->cols[u.jt].nlevels : 0, G = u.jg >= 0 ? U->cols[u.jg].nlevels : 0;
    int minority = -1;
    if ((rc = find_minority(&u, c, real, &minority))) goto fail;
    res->minority = mcr_strdup(minority >= 0 ? U->cols[u.jt].levels[minority] : "");
    res->K = K;
    res->classes = calloc((size_t)K + 1, sizeof(char *));
    res->scopes = calloc((size_t)(1 + K + G), sizeof(mcr_assess_scope));
    res->scope_values = calloc((size_t)(1 + K + G), sizeof(char *));
    size_t n = U->nrows;
    rs = malloc((n + 1) * sizeof(size_t)), ss = malloc((n + 1) * sizeof(size_t));
    hs = malloc((n + 1) * sizeof(size_t)), tmp = malloc((n + 1) * sizeof(size_t));
    pv.copy = calloc(u.ns + 1, 1);
    if (!res->real_name || !res->synth_name || !res->holdout_name || !res->target || !res->sensitive ||
        !res->minority || !res->classes || !res->scopes || !res->scope_values || !rs || !ss || !hs ||
        !tmp || !pv.copy)
        goto nomem;
    for (int k = 0; k < K; k++)
        if (!(res->classes[k] = mcr_strdup(U->cols[u.jt].levels[k]))) goto nomem;
    if ((rc = list_scopes(&u, res, minority))) goto fail;
    /* one encoder for distances and detection: fitted on (a sample of) the real rows */
    mcr_rng r;
    mcr_rng_seed(&r, c->seed, MCR_STREAM_ASSESS_ENCODER);
    int *all = malloc(((size_t)u.nc + 1) * sizeof(int));
    if (!all) goto nomem;
    for (int a = 0; a < u.nc; a++) all[a] = a;
    size_t nfit = pick_rows(U, 0, u.nr, -1, 0, 4 * c->max_rows, &r, tmp);
    rc = mcr_encoder_fit(U, all, u.nc, tmp, nfit, MCR_NUM_STANDARD, &e);
    free(all);
    if (rc) goto fail;
    if (c->privacy) {
        say(c, "privacy: exact copies and reference sets (%zu training, %zu synthetic rows)", u.nr, u.ns);
        if ((rc = mark_copies(&u, pv.copy))) goto fail;
        pv.nref = pick_rows(U, 0, u.nr, -1, 0, 4 * c->max_rows, &r, tmp);
        if ((rc = mcr_nnref_make(e, U, tmp, pv.nref, &pv.ref))) goto fail;
        pv.nsyn = pick_rows(U, u.nr, u.nr + u.ns, -1, 0, 4 * c->max_rows, &r, tmp);
        if ((rc = mcr_nnref_make(e, U, tmp, pv.nsyn, &pv.syn))) goto fail;
        res->nref_train = pv.nref, res->nref_synth = pv.nsyn;
    }
    for (int s = 0; s < res->nscopes && !rc; s++) rc = assess_scope(c, res, &u, &pv, e, &r, s, rs, ss, hs, tmp);
    if (rc) goto fail;
    if (c->utility && u.jt >= 0) {
        say(c, "utility: TSTR vs TRTR");
        if ((rc = utility(&u, c, res))) goto fail;
    } else if (!(res->util_note = mcr_strdup(u.jt >= 0 ? "not asked for" : "needs --target")))
        goto nomem;
    /* column names outlive the real table */
    res->colnames = calloc((size_t)(res->ncols[0] + res->ncols[1]) + 1, sizeof(char *));
    if (!res->colnames) goto nomem;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < res->ncols[k]; i++) {
            char *s = mcr_strdup(res->cols[k][i].name);
            if (!s) goto nomem;
            res->colnames[res->ncolnames++] = s;
            res->cols[k][i].name = s;
        }
    if (c->holdout && c->baseline && (rc = baselines(real, synth, c, res))) goto fail;
    goto done;
nomem:
    rc = MCR_NOMEM();
fail:
    mcr_assess_free(res);
    res = NULL;
done:
    mcr_table_free(u.U), mcr_table_free(u.R), mcr_table_free(u.S);
    mcr_encoder_free(e);
    mcr_nnref_free(&pv.ref), mcr_nnref_free(&pv.syn), free(pv.copy), free(rs), free(ss), free(hs), free(tmp);
    *out = res;
    return rc;
}

/* ---- access and output -------------------------------------------------------------------- */
int mcr_assess_nscopes(const mcr_assess_result *r) { return r->nscopes; }
double mcr_assess_detection(const mcr_assess_scope *s) {
    return s->detect_xgb == s->detect_xgb && !(s->detect_xgb < s->detect_logreg) ? s->detect_xgb : s->detect_logreg;
}
const mcr_assess_scope *mcr_assess_scope_at(const mcr_assess_result *r, int i) {
    return i >= 0 && i < r->nscopes ? &r->scopes[i] : NULL;
}
const mcr_assess_scope *mcr_assess_minority(const mcr_assess_result *r) { return &r->scopes[r->minority_scope]; }
const mcr_assess_result *mcr_assess_baseline(const mcr_assess_result *r, int which) {
    return which == 0 || which == 1 ? r->base[which] : NULL;
}
const mcr_assess_scope *mcr_assess_scope_find(const mcr_assess_result *r, const char *kind, const char *value) {
    for (int i = 0; r && i < r->nscopes; i++)
        if (!strcmp(r->scopes[i].kind, kind) && !strcmp(r->scopes[i].value, value)) return &r->scopes[i];
    return NULL;
}
int mcr_assess_nutility(const mcr_assess_result *r) { return r->nutil; }
const mcr_assess_utility *mcr_assess_utility_at(const mcr_assess_result *r, int i) {
    return i >= 0 && i < r->nutil ? &r->util[i] : NULL;
}
int mcr_assess_nclasses(const mcr_assess_result *r) { return r->K; }
size_t mcr_assess_real_left_out(const mcr_assess_result *r) { return r->dropped_real; }
const char *mcr_assess_utility_note(const mcr_assess_result *r) { return r->util_note ? r->util_note : ""; }
const char *mcr_assess_class_name(const mcr_assess_result *r, int k) { return k >= 0 && k < r->K ? r->classes[k] : NULL; }
const mcr_colfid *mcr_assess_columns(const mcr_assess_result *r, int minority, int *n) {
    int k = minority && r->K ? 1 : 0;
    *n = r->ncols[k];
    return r->cols[k];
}

/* One-line readings. The thresholds are conventions, stated so that a reader can disagree:
 * scores (1 - KS/TV, pair similarity) >= 0.9 close, >= 0.8 rough; detection AUROC <= 0.6 hard
 * to tell apart, <= 0.75 partly; DCR median ratio >= 0.9 no sign of memorisation; membership
 * AUROC <= 0.55 no signal, <= 0.6 weak. */
const char *mcr_assess_reading(mcr_assess_metric m, double v) {
    if (v != v) return "not computed (too few rows, or needs --holdout / --target)";
    switch (m) {
    case MCR_READ_SHAPES:
        return v >= 0.9 ? "each column's distribution closely matches the real one"
             : v >= 0.8 ? "column distributions roughly match; check the lowest columns"
                        : "column distributions differ from the real ones";
    case MCR_READ_PAIRS:
        return v >= 0.9 ? "relations between pairs of columns are kept"
             : v >= 0.8 ? "pairwise relations roughly kept; check the lowest pairs"
                        : "pairwise relations are not kept";
    case MCR_READ_DETECT:
        return v <= 0.6 ? "a classifier can hardly tell synthetic rows from real ones"
             : v <= 0.75 ? "a classifier partly tells synthetic rows from real ones"
                         : "a classifier easily tells synthetic rows from real ones";
    case MCR_READ_COPIES:
        return v == 0 ? "no synthetic row copies a training row" : "some synthetic rows copy a training row exactly";
    case MCR_READ_DCR:
        return v >= 0.9 ? "synthetic rows are no closer to training patients than new patients are"
                        : "synthetic rows sit closer to training patients than new patients do (memorisation?)";
    case MCR_READ_MIA:
        return v <= 0.55 ? "training patients cannot be told from new ones by their nearest synthetic row"
             : v <= 0.6 ? "a weak membership signal"
                        : "training patients can be told from new ones: membership leaks";
    case MCR_READ_TSTR:
        return v >= -0.05 ? "a classifier trained on synthetic rows does about as well as one trained on real rows"
                          : "a classifier trained on synthetic rows does worse than one trained on real rows";
    }
    return "";
}

/* Readings with a 95% interval. Membership AUROC: "cannot tell" when the interval is wider than
 * 0.2 (about 100 rows a side or fewer); leak when it lies above 0.5 (weak while the value is at
 * most 0.6); otherwise no evidence. DCR median ratio: "cannot tell" when the interval is wider
 * than 0.5; closer than new patients when it lies below 1 (memorisation when below 0.9);
 * otherwise no evidence. */
const char *mcr_assess_reading_interval(mcr_assess_metric m, double v, double lo, double hi) {
    if (v != v || (m != MCR_READ_MIA && m != MCR_READ_DCR)) return mcr_assess_reading(m, v);
    if (lo != lo || hi != hi) return "no interval (too few rows): the test cannot tell";
    if (m == MCR_READ_MIA) {
        if (hi - lo > 0.2) return "too few rows for the test to tell (95% interval wider than 0.2)";
        if (lo > 0.5)
            return v <= 0.6 ? "a weak but real membership signal: the 95% interval lies above 0.5"
                            : "training patients can be told from new ones: membership leaks";
        return "no evidence of membership leakage: the 95% interval includes 0.5";
    }
    if (hi - lo > 0.5) return "too few rows for the test to tell (95% interval wider than 0.5)";
    if (hi < 1)
        return v < 0.9 ? "synthetic rows sit closer to training patients than new patients do (memorisation?)"
                       : "synthetic rows sit slightly closer to training patients than new patients do (interval below 1)";
    return "no evidence that synthetic rows sit closer to training patients than new patients do";
}

static void print_columns(FILE *f, const mcr_colfid *c, int n) {
    fprintf(f, "%-28s %-12s %8s %8s %10s %10s\n", "column", "type", "KS/TV", "score", "miss real", "miss syn");
    for (int i = 0; i < n; i++)
        fprintf(f, "%-28s %-12s %8.4f %8.4f %9.1f%% %9.1f%%\n", c[i].name, c[i].categorical ? "categorical" : "numeric",
                c[i].stat, 1 - c[i].stat, 100 * c[i].real_missing, 100 * c[i].synth_missing);
}

/* each scope's fidelity and detection: the synthetic rows, the same at the holdout's size, the
 * real holdout */
static void print_baseline(const mcr_assess_result *r, FILE *f) {
    const mcr_assess_result *h = r->base[0], *s1 = r->base[1];
    if (!h || !s1) return;
    fprintf(f, "\nbaseline: real holdout rows scored as if synthetic (%zu rows), beside the synthetic rows\n"
               "subsampled to that size (syn@n); a synthetic score near the holdout's is as good as real data gets\n",
            h->scopes[0].nsynth);
    fprintf(f, "%-22s %21s %21s %21s %21s\n", "scope", "shapes syn/syn@n/real", "pairs syn/syn@n/real",
            "det-lr syn/syn@n/real", "det-xgb syn/syn@n/real");
    for (int i = 0; i < r->nscopes; i++) {
        const mcr_assess_scope *a = &r->scopes[i], *b = mcr_assess_scope_find(s1, a->kind, a->value),
                               *c = mcr_assess_scope_find(h, a->kind, a->value);
        char name[64];
        snprintf(name, sizeof name, "%s%s%s", a->kind, *a->value ? " " : "", a->value);
        double v[4][3];
        for (int k = 0; k < 3; k++) {
            const mcr_assess_scope *x = k == 0 ? a : k == 1 ? b : c;
            v[0][k] = x ? x->column_shapes : NAN, v[1][k] = x ? x->pair_trends : NAN;
            v[2][k] = x ? x->detect_logreg : NAN, v[3][k] = x ? x->detect_xgb : NAN;
        }
        fprintf(f, "%-22s", name);
        for (int m = 0; m < 4; m++) fprintf(f, "    %5.3f/%5.3f/%5.3f", v[m][0], v[m][1], v[m][2]);
        fprintf(f, "\n");
    }
}

int mcr_assess_print(const mcr_assess_result *r, FILE *f) {
    fprintf(f, "%s (%zu real rows) vs %s (%zu synthetic rows)", r->real_name, r->scopes[0].nreal,
            r->synth_name, r->scopes[0].nsynth);
    if (r->has_holdout) fprintf(f, ", holdout %s (%zu rows)", r->holdout_name, r->scopes[0].nholdout);
    fprintf(f, "\n");
    if (r->dropped_real)
        fprintf(f, "compared: the real rows of the classes the synthetic table has (%zu real rows of other classes\n"
                   "left out, and holdout rows likewise)\n", r->dropped_real);
    if (r->nmissing_cols) {
        fprintf(f, "not in the synthetic table (left out):");
        for (int i = 0; i < r->nmissing_cols; i++) fprintf(f, "%s %s", i ? "," : "", r->missing_cols[i]);
        fprintf(f, "\n");
    }
    for (int k = 0; k < (r->K ? 2 : 1); k++) {
        const mcr_assess_scope *s = &r->scopes[k ? r->minority_scope : 0];
        if (k) fprintf(f, "\ncolumn shapes, rows with %s = %s (minority):\n", r->target, r->minority);
        else fprintf(f, "\ncolumn shapes, all rows:\n");
        print_columns(f, r->cols[k], r->ncols[k]);
        fprintf(f, "column shapes score (mean of 1 - KS / 1 - TV): %.4f\n"
                   "column pair trends score (correlation similarity for numeric pairs, contingency\n"
                   "similarity otherwise): %.4f\n", s->column_shapes, s->pair_trends);
        if (r->lowest[k] && *r->lowest[k]) fprintf(f, "lowest pairs: %s\n", r->lowest[k]);
    }
    fprintf(f, "\n%-22s %7s %7s %7s %7s %7s %7s %7s %7s %8s %7s %6s\n", "scope", "real", "synth", "hold",
            "shapes", "pairs", "det-lr", "det-xgb", "copies", "DCR med", "ratio", "MIA");
    for (int i = 0; i < r->nscopes; i++) {
        const mcr_assess_scope *s = &r->scopes[i];
        char name[64];
        snprintf(name, sizeof name, "%s%s%s%s", s->kind, *s->value ? " " : "", s->value, i == r->minority_scope && i ? " *" : "");
        fprintf(f, "%-22s %7zu %7zu %7zu %7.4f %7.4f %7.3f %7.3f %6.2f%% %8.3f %7.3f %6.3f\n", name, s->nreal,
                s->nsynth, s->nholdout, s->column_shapes, s->pair_trends, s->detect_logreg, s->detect_xgb,
                100 * s->copy_rate, s->dcr_synth[2], s->dcr_ratio, s->mia_auroc);
    }
    if (r->K) fprintf(f, "(* the minority class)\n");
    fprintf(f, "det: detection AUROC under %d-fold CV (0.5 = indistinguishable); copies: synthetic rows equal to a\n"
               "training row; DCR med: median distance of a synthetic row to its closest training row (%zu\n"
               "reference rows of %zu); ratio: that median over the holdout's%s; MIA: membership-inference AUROC\n"
               "(0.5 = no leak)%s.\n", r->folds, r->nref_train, r->nr_total, r->has_holdout ? "" : " (needs --holdout)",
            r->has_holdout ? "" : ", needs --holdout");
    print_baseline(r, f);
    if (r->nutil) {
        fprintf(f, "\nutility, tested on %s:\n%-8s %-5s %7s %7s %7s", r->util_test, "clf", "train", "rows", "acc", "F1");
        fprintf(f, " %7s", "AUROC");
        for (int k = 0; k < r->K; k++) fprintf(f, " %10.10s", r->classes[k]);
        fprintf(f, "   (per class: F1 / recall)\n");
        for (int u = 0; u < r->nutil; u++)
            for (int s = 0; s < 2; s++) {
                const mcr_assess_utility *ut = &r->util[u];
                fprintf(f, "%-8s %-5s %7zu %7.3f %7.3f %7.3f", mcr_clf_kind_name((mcr_clf_kind)ut->clf),
                        s ? "TSTR" : "TRTR", s ? ut->ntrain_synth : ut->ntrain_real, ut->acc[s], ut->f1_macro[s], ut->auroc[s]);
                for (int k = 0; k < r->K; k++) fprintf(f, "  %.2f/%.2f", ut->f1_class[s][k], ut->recall_class[s][k]);
                fprintf(f, "\n");
            }
    } else
        fprintf(f, "\nutility (TSTR vs TRTR): %s\n", r->util_note);
    const mcr_assess_scope *a = &r->scopes[0], *m = &r->scopes[r->minority_scope];
    fprintf(f, "\nreadings (all rows%s%s):\n", r->K ? "; minority " : "", r->K ? r->minority : "");
    double det = mcr_assess_detection(a);
    fprintf(f, "  column shapes %.3f: %s\n", a->column_shapes, mcr_assess_reading(MCR_READ_SHAPES, a->column_shapes));
    fprintf(f, "  column pair trends %.3f: %s\n", a->pair_trends, mcr_assess_reading(MCR_READ_PAIRS, a->pair_trends));
    fprintf(f, "  detection AUROC %.3f (the higher of logreg, xgb): %s\n", det, mcr_assess_reading(MCR_READ_DETECT, det));
    fprintf(f, "  exact copies %.2f%%: %s\n", 100 * a->copy_rate, mcr_assess_reading(MCR_READ_COPIES, a->copy_rate));
    fprintf(f, "  DCR median ratio %.3f [%.3f, %.3f]: %s\n", a->dcr_ratio, a->dcr_ratio_lo, a->dcr_ratio_hi,
            mcr_assess_reading_interval(MCR_READ_DCR, a->dcr_ratio, a->dcr_ratio_lo, a->dcr_ratio_hi));
    fprintf(f, "  membership inference AUROC %.3f [%.3f, %.3f]: %s\n", a->mia_auroc, a->mia_lo, a->mia_hi,
            mcr_assess_reading_interval(MCR_READ_MIA, a->mia_auroc, a->mia_lo, a->mia_hi));
    if (r->nutil) {
        const mcr_assess_utility *ut = &r->util[r->nutil - 1];
        double gap = ut->f1_macro[1] - ut->f1_macro[0];
        fprintf(f, "  TSTR - TRTR macro F1 (%s) %+.3f: %s\n", mcr_clf_kind_name((mcr_clf_kind)ut->clf), gap,
                mcr_assess_reading(MCR_READ_TSTR, gap));
    }
    if (r->K) {
        double dm = mcr_assess_detection(m);
        fprintf(f, "  minority %s: column shapes %.3f, detection AUROC %.3f, copies %.2f%%, DCR ratio %.3f [%.3f, %.3f], "
                   "MIA %.3f [%.3f, %.3f]\n    %s\n", r->minority, m->column_shapes, dm, 100 * m->copy_rate, m->dcr_ratio,
                m->dcr_ratio_lo, m->dcr_ratio_hi, m->mia_auroc, m->mia_lo, m->mia_hi,
                mcr_assess_reading_interval(MCR_READ_MIA, m->mia_auroc, m->mia_lo, m->mia_hi));
    }
    return ferror(f) ? mcr_err(MCR_EIO, "write failed") : MCR_OK;
}

static void jkey(FILE *f, const char *k, double v) {
    fprintf(f, ",\"%s\":", k);
    mcr_json_number(f, v);
}

static void json_columns(FILE *f, const mcr_colfid *c, int n) {
    fprintf(f, "[");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s{\"name\":", i ? "," : "");
        mcr_json_string(f, c[i].name);
        fprintf(f, ",\"type\":\"%s\"", c[i].categorical ? "categorical" : "numeric");
        jkey(f, c[i].categorical ? "tv" : "ks", c[i].stat);
        jkey(f, "score", 1 - c[i].stat);
        jkey(f, "real_missing", c[i].real_missing);
        jkey(f, "synthetic_missing", c[i].synth_missing);
        fprintf(f, "}");
    }
    fprintf(f, "]");
}

int mcr_assess_write_json(const mcr_assess_result *r, FILE *f) {
    fprintf(f, "{\"real\":");
    mcr_json_string(f, r->real_name);
    fprintf(f, ",\"synthetic\":");
    mcr_json_string(f, r->synth_name);
    fprintf(f, ",\"holdout\":");
    r->has_holdout ? mcr_json_string(f, r->holdout_name) : (void)fprintf(f, "null");
    fprintf(f, ",\"target\":");
    r->K ? mcr_json_string(f, r->target) : (void)fprintf(f, "null");
    fprintf(f, ",\"minority\":");
    r->K ? mcr_json_string(f, r->minority) : (void)fprintf(f, "null");
    fprintf(f, ",\"real_rows_left_out\":%zu", r->dropped_real);
    fprintf(f, ",\"folds\":%d,\"max_rows\":%zu,\"dcr_reference_rows\":%zu,\"columns\":", r->folds, r->max_rows, r->nref_train);
    json_columns(f, r->cols[0], r->ncols[0]);
    fprintf(f, ",\"minority_columns\":");
    r->K ? json_columns(f, r->cols[1], r->ncols[1]) : (void)fprintf(f, "null");
    fprintf(f, ",\"scopes\":[");
    for (int i = 0; i < r->nscopes; i++) {
        const mcr_assess_scope *s = &r->scopes[i];
        fprintf(f, "%s{\"kind\":\"%s\",\"value\":", i ? "," : "", s->kind);
        mcr_json_string(f, s->value);
        fprintf(f, ",\"minority\":%s,\"real_rows\":%zu,\"synthetic_rows\":%zu,\"holdout_rows\":%zu",
                i == r->minority_scope && r->K ? "true" : "false", s->nreal, s->nsynth, s->nholdout);
        jkey(f, "column_shapes", s->column_shapes);
        jkey(f, "column_pair_trends", s->pair_trends);
        jkey(f, "detection_auroc_logreg", s->detect_logreg);
        jkey(f, "detection_auroc_xgb", s->detect_xgb);
        jkey(f, "exact_copy_rate", s->copy_rate);
        static const char *QN[MCR_NQ] = {"p05", "p25", "p50", "p75", "p95"};
        for (int side = 0; side < 2; side++) {
            fprintf(f, ",\"dcr_%s\":{", side ? "holdout" : "synthetic");
            for (int q = 0; q < MCR_NQ; q++) {
                fprintf(f, "%s\"%s\":", q ? "," : "", QN[q]);
                mcr_json_number(f, side ? s->dcr_holdout[q] : s->dcr_synth[q]);
            }
            fprintf(f, "}");
        }
        jkey(f, "dcr_median_ratio", s->dcr_ratio);
        jkey(f, "dcr_below_holdout_p05", s->dcr_close);
        jkey(f, "membership_inference_auroc", s->mia_auroc);
        jkey(f, "dcr_median_ratio_ci95_lo", s->dcr_ratio_lo);
        jkey(f, "dcr_median_ratio_ci95_hi", s->dcr_ratio_hi);
        jkey(f, "membership_inference_auroc_ci95_lo", s->mia_lo);
        jkey(f, "membership_inference_auroc_ci95_hi", s->mia_hi);
        fprintf(f, ",\"membership_reading\":");
        mcr_json_string(f, mcr_assess_reading_interval(MCR_READ_MIA, s->mia_auroc, s->mia_lo, s->mia_hi));
        fprintf(f, ",\"dcr_reading\":");
        mcr_json_string(f, mcr_assess_reading_interval(MCR_READ_DCR, s->dcr_ratio, s->dcr_ratio_lo, s->dcr_ratio_hi));
        fprintf(f, "}");
    }
    fprintf(f, "],\"baseline\":");
    if (r->base[0] && r->base[1]) { /* per scope: synthetic, synthetic at the holdout's size, holdout */
        fprintf(f, "{\"holdout_rows\":%zu,\"scopes\":[", r->base[0]->scopes[0].nsynth);
        for (int i = 0; i < r->nscopes; i++) {
            const mcr_assess_scope *a = &r->scopes[i];
            fprintf(f, "%s{\"kind\":\"%s\",\"value\":", i ? "," : "", a->kind);
            mcr_json_string(f, a->value);
            for (int k = 0; k < 3; k++) {
                const mcr_assess_scope *x = k == 0 ? a : mcr_assess_scope_find(r->base[k == 1 ? 1 : 0], a->kind, a->value);
                static const char *nm[3] = {"synthetic", "synthetic_at_holdout_size", "real_holdout"};
                fprintf(f, ",\"%s\":", nm[k]);
                if (!x) {
                    fputs("null", f);
                    continue;
                }
                fprintf(f, "{\"rows\":%zu", x->nsynth);
                jkey(f, "column_shapes", x->column_shapes);
                jkey(f, "column_pair_trends", x->pair_trends);
                jkey(f, "detection_auroc_logreg", x->detect_logreg);
                jkey(f, "detection_auroc_xgb", x->detect_xgb);
                fputs("}", f);
            }
            fputs("}", f);
        }
        fputs("]}", f);
    } else
        fputs("null", f);
    fprintf(f, ",\"utility\":");
    if (!r->nutil) {
        fprintf(f, "null,\"utility_note\":");
        mcr_json_string(f, r->util_note);
    } else {
        fprintf(f, "{\"tested_on\":");
        mcr_json_string(f, r->util_test);
        fprintf(f, ",\"classes\":[");
        for (int k = 0; k < r->K; k++) fprintf(f, "%s", k ? "," : ""), mcr_json_string(f, r->classes[k]);
        fprintf(f, "],\"classifiers\":[");
        for (int u = 0; u < r->nutil; u++) {
            const mcr_assess_utility *ut = &r->util[u];
            fprintf(f, "%s{\"classifier\":\"%s\",\"test_rows\":%zu", u ? "," : "", mcr_clf_kind_name((mcr_clf_kind)ut->clf), ut->ntest);
            for (int s = 0; s < 2; s++) {
                fprintf(f, ",\"%s\":{\"train_rows\":%zu", s ? "tstr" : "trtr", s ? ut->ntrain_synth : ut->ntrain_real);
                jkey(f, "accuracy", ut->acc[s]);
                jkey(f, "f1_macro", ut->f1_macro[s]);
                jkey(f, "auroc", ut->auroc[s]);
                fprintf(f, ",\"per_class\":[");
                for (int k = 0; k < r->K; k++) {
                    fprintf(f, "%s{\"f1\":", k ? "," : "");
                    mcr_json_number(f, ut->f1_class[s][k]);
                    fprintf(f, ",\"recall\":");
                    mcr_json_number(f, ut->recall_class[s][k]);
                    fprintf(f, "}");
                }
                fprintf(f, "]}");
            }
            fprintf(f, "}");
        }
        fprintf(f, "]}");
    }
    fprintf(f, "}\n");
    return ferror(f) ? mcr_err(MCR_EIO, "write failed") : MCR_OK;
}
