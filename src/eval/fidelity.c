/* fidelity.c — how close synthetic columns are to the real ones (column shapes). */
#include "eval/eval.h"

/* sup |F_a - F_b| of two sorted samples */
static double ks_sorted(const double *a, size_t na, const double *b, size_t nb) {
    size_t i = 0, j = 0;
    double d = 0;
    while (i < na && j < nb) {
        double x = a[i] < b[j] ? a[i] : b[j];
        while (i < na && a[i] == x) i++;
        while (j < nb && b[j] == x) j++;
        double diff = fabs((double)i / na - (double)j / nb);
        if (diff > d) d = diff;
    }
    return d;
}

static size_t select_rows(const mcr_table *t, int jf, int code, size_t *rows) {
    size_t m = 0;
    for (size_t i = 0; i < t->nrows; i++)
        if (jf < 0 || t->cols[jf].cat[i] == code) rows[m++] = i;
    return m;
}

/* The rows compared: those of each table whose filter column equals the filter value (all rows
 * without a filter); jr = the filter column in real (-1 = none). */
typedef struct {
    int jr;
    size_t *rr, *rs, nr, ns;
} fid_rows;

static void fid_rows_free(fid_rows *f) {
    free(f->rr);
    free(f->rs);
}

static int fid_rows_select(const mcr_table *real, const mcr_table *synth, const char *filter_col,
                           const char *filter_value, fid_rows *f) {
    memset(f, 0, sizeof *f);
    int js = -1, cr = -1, cs = -1;
    f->jr = -1;
    if (filter_col) {
        f->jr = mcr_table_find(real, filter_col);
        js = mcr_table_find(synth, filter_col);
        if (f->jr < 0 || js < 0 || real->cols[f->jr].type != MCR_COL_CATEGORICAL || synth->cols[js].type != MCR_COL_CATEGORICAL)
            return mcr_err(MCR_EINVAL, "target '%s' must be a categorical column of both tables", filter_col);
        cr = mcr_table_level_find(real, f->jr, filter_value);
        cs = mcr_table_level_find(synth, js, filter_value);
        if (cr < 0) return mcr_err(MCR_EINVAL, "class '%s' is not a value of '%s' in %s", filter_value, filter_col, mcr_table_source(real));
    }
    f->rr = malloc((real->nrows + 1) * sizeof(size_t));
    f->rs = malloc((synth->nrows + 1) * sizeof(size_t));
    if (!f->rr || !f->rs) return fid_rows_free(f), MCR_NOMEM();
    f->nr = select_rows(real, f->jr, cr, f->rr);
    f->ns = cs < 0 && filter_col ? 0 : select_rows(synth, js, cs, f->rs);
    return MCR_OK;
}

/* The synthetic column compared with real column j (not the filter column jr): same name and
 * same kind (categorical or not); -1 if there is none. */
static int matched_col(const mcr_table *real, const mcr_table *synth, int j, int jr) {
    if (j == jr) return -1;
    int k = mcr_table_find(synth, real->cols[j].name);
    if (k < 0) return -1;
    return (real->cols[j].type == MCR_COL_CATEGORICAL) == (synth->cols[k].type == MCR_COL_CATEGORICAL) ? k : -1;
}

/* Level codes of synthetic column d in the code space of real column j: spellings shared with
 * real keep real's code, synthetic-only ones follow (K, K+1, ...). *ncodes = all codes. */
static int *level_map(const mcr_table *real, int j, const mcr_column *d, int *ncodes) {
    int K = real->cols[j].nlevels, extra = 0;
    int *map = malloc(((size_t)d->nlevels + 1) * sizeof(int));
    if (!map) return NULL;
    for (int q = 0; q < d->nlevels; q++) {
        int m = mcr_table_level_find(real, j, d->levels[q]);
        map[q] = m >= 0 ? m : K + extra++;
    }
    *ncodes = K + extra;
    return map;
}

int mcr_fidelity_columns(const mcr_table *real, const mcr_table *synth, const char *filter_col,
                         const char *filter_value, mcr_colfid **out, int *ncols) {
    *out = NULL;
    *ncols = 0;
    fid_rows fr;
    int rc = fid_rows_select(real, synth, filter_col, filter_value, &fr), n = 0;
    if (rc) return rc;
    const size_t *rr = fr.rr, *rs = fr.rs, nr = fr.nr, ns = fr.ns;
    double *a = malloc((real->nrows + 1) * sizeof(double)), *b = malloc((synth->nrows + 1) * sizeof(double));
    mcr_colfid *res = calloc((size_t)real->ncols + 1, sizeof *res);
    if (!a || !b || !res) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int j = 0; j < real->ncols; j++) {
        int k = matched_col(real, synth, j, fr.jr);
        if (k < 0) continue;
        const mcr_column *c = &real->cols[j], *d = &synth->cols[k];
        int cat = c->type == MCR_COL_CATEGORICAL;
        mcr_colfid *f = &res[n++];
        f->name = c->name;
        f->categorical = cat;
        size_t ma = 0, mb = 0, missa = 0, missb = 0;
        if (!cat) {
            for (size_t i = 0; i < nr; i++) isnan(c->num[rr[i]]) ? missa++ : (void)(a[ma++] = c->num[rr[i]]);
            for (size_t i = 0; i < ns; i++) isnan(d->num[rs[i]]) ? missb++ : (void)(b[mb++] = d->num[rs[i]]);
            qsort(a, ma, sizeof(double), mcr_cmp_double);
            qsort(b, mb, sizeof(double), mcr_cmp_double);
            f->stat = ma && mb ? ks_sorted(a, ma, b, mb) : NAN;
        } else {
            /* frequencies over the real column's levels plus synthetic levels unseen in real */
            int nk = 0;
            int *map = level_map(real, j, d, &nk);
            double *pa = calloc((size_t)nk + 1, sizeof(double)), *pb = calloc((size_t)nk + 1, sizeof(double));
            if (!pa || !pb || !map) {
                free(pa), free(pb), free(map);
                rc = MCR_NOMEM();
                goto done;
            }
            for (size_t i = 0; i < nr; i++) c->cat[rr[i]] < 0 ? missa++ : (void)(pa[c->cat[rr[i]]]++, ma++);
            for (size_t i = 0; i < ns; i++) d->cat[rs[i]] < 0 ? missb++ : (void)(pb[map[d->cat[rs[i]]]]++, mb++);
            double tv = 0;
            for (int q = 0; q < nk; q++) tv += fabs((ma ? pa[q] / ma : 0) - (mb ? pb[q] / mb : 0));
            f->stat = ma && mb ? tv / 2 : NAN;
            free(pa), free(pb), free(map);
        }
        f->nreal = nr;
        f->nsynth = ns;
        f->real_missing = nr ? (double)missa / nr : NAN;
        f->synth_missing = ns ? (double)missb / ns : NAN;
    }
done:
    fid_rows_free(&fr);
    free(a), free(b);
    if (rc) {
        free(res);
        return rc;
    }
    *out = res;
    *ncols = n;
    return MCR_OK;
}

/* ---- column pair trends ------------------------------------------------------------- */
#define NBINS 10
typedef struct {
    int j, k;          /* column in real, in synth */
    int cat, ncode;    /* codes 0..ncode-1 (the last one = missing) */
    int *cr, *cs;      /* [nr], [ns] codes */
} paircol;

static int pearson(const double *x, const double *y, size_t n, double *rho) {
    double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i])) mx += x[i], my += y[i], m++;
    if (m < 2) return *rho = NAN, 0;
    mx /= m, my /= m;
    for (size_t i = 0; i < n; i++)
        if (!isnan(x[i]) && !isnan(y[i])) {
            double a = x[i] - mx, b = y[i] - my;
            sxx += a * a, syy += b * b, sxy += a * b;
        }
    *rho = sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
    return 1;
}

int mcr_fidelity_pairs(const mcr_table *real, const mcr_table *synth, const char *filter_col,
                       const char *filter_value, mcr_pairfid **out, int *npairs) {
    *out = NULL;
    *npairs = 0;
    fid_rows fr;
    int rc = fid_rows_select(real, synth, filter_col, filter_value, &fr), nc = 0;
    if (rc) return rc;
    const size_t *rr = fr.rr, *rs = fr.rs, nr = fr.nr, ns = fr.ns;
    paircol *pc = calloc((size_t)real->ncols + 1, sizeof *pc);
    double *xr = NULL, *yr = NULL, *xs = NULL, *ys = NULL, *ta = NULL, *tb = NULL;
    mcr_pairfid *res = NULL;
    if (!pc) goto nomem;
    /* codes of each compared column in both tables */
    for (int j = 0; j < real->ncols; j++) {
        int k = matched_col(real, synth, j, fr.jr);
        if (k < 0) continue;
        const mcr_column *c = &real->cols[j], *d = &synth->cols[k];
        int cat = c->type == MCR_COL_CATEGORICAL;
        paircol *p = &pc[nc++];
        p->j = j, p->k = k, p->cat = cat;
        p->cr = malloc((nr + 1) * sizeof(int));
        p->cs = malloc((ns + 1) * sizeof(int));
        if (!p->cr || !p->cs) goto nomem;
        if (cat) {
            int *map = level_map(real, j, d, &p->ncode);
            if (!map) goto nomem;
            p->ncode++; /* missing */
            for (size_t i = 0; i < nr; i++) p->cr[i] = c->cat[rr[i]] < 0 ? p->ncode - 1 : c->cat[rr[i]];
            for (size_t i = 0; i < ns; i++) p->cs[i] = d->cat[rs[i]] < 0 ? p->ncode - 1 : map[d->cat[rs[i]]];
            free(map);
        } else {
            double lo = INFINITY, hi = -INFINITY;
            for (size_t i = 0; i < nr; i++) {
                double v = c->num[rr[i]];
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
            double w = hi > lo ? (hi - lo) / NBINS : 1;
            p->ncode = NBINS + 1;
            for (int side = 0; side < 2; side++) {
                const mcr_column *col = side ? d : c;
                const size_t *rows = side ? rs : rr;
                int *code = side ? p->cs : p->cr;
                for (size_t i = 0, n = side ? ns : nr; i < n; i++) {
                    double v = col->num[rows[i]], fb = floor((v - lo) / w);
                    code[i] = isnan(v) ? NBINS : fb < 0 ? 0 : fb >= NBINS ? NBINS - 1 : (int)fb;
                }
            }
        }
    }
    int np = nc * (nc - 1) / 2, at = 0;
    res = calloc((size_t)np + 1, sizeof *res);
    xr = malloc((nr + 1) * sizeof(double)), yr = malloc((nr + 1) * sizeof(double));
    xs = malloc((ns + 1) * sizeof(double)), ys = malloc((ns + 1) * sizeof(double));
    if (!res || !xr || !yr || !xs || !ys) goto nomem;
    for (int a = 0; a < nc; a++)
        for (int b = a + 1; b < nc; b++) {
            paircol *p = &pc[a], *q = &pc[b];
            mcr_pairfid *f = &res[at++];
            f->a = real->cols[p->j].name;
            f->b = real->cols[q->j].name;
            f->real = f->synth = NAN;
            if (!p->cat && !q->cat) {
                f->correlation = 1;
                for (size_t i = 0; i < nr; i++) xr[i] = real->cols[p->j].num[rr[i]], yr[i] = real->cols[q->j].num[rr[i]];
                for (size_t i = 0; i < ns; i++) xs[i] = synth->cols[p->k].num[rs[i]], ys[i] = synth->cols[q->k].num[rs[i]];
                pearson(xr, yr, nr, &f->real);
                pearson(xs, ys, ns, &f->synth);
                f->score = isnan(f->real) || isnan(f->synth) ? NAN : 1 - fabs(f->real - f->synth) / 2;
                continue;
            }
            size_t cells = (size_t)p->ncode * q->ncode;
            free(ta), free(tb);
            ta = calloc(cells, sizeof(double)), tb = calloc(cells, sizeof(double));
            if (!ta || !tb) goto nomem;
            for (size_t i = 0; i < nr; i++) ta[(size_t)p->cr[i] * q->ncode + q->cr[i]]++;
            for (size_t i = 0; i < ns; i++) tb[(size_t)p->cs[i] * q->ncode + q->cs[i]]++;
            double tv = 0;
            for (size_t i = 0; i < cells; i++) tv += fabs((nr ? ta[i] / nr : 0) - (ns ? tb[i] / ns : 0));
            f->score = nr && ns ? 1 - tv / 2 : NAN;
        }
    *out = res;
    *npairs = np;
    res = NULL;
    goto done;
nomem:
    rc = MCR_NOMEM();
done:
    for (int i = 0; i < nc; i++) free(pc[i].cr), free(pc[i].cs);
    fid_rows_free(&fr);
    free(pc), free(xr), free(yr), free(xs), free(ys), free(ta), free(tb), free(res);
    return rc;
}
