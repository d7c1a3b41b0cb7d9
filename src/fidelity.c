/* fidelity.c — how close synthetic columns are to the real ones (column shapes). */
#include "mcr_int.h"

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

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

int mcr_fidelity_columns(const mcr_table *real, const mcr_table *synth, const char *filter_col,
                         const char *filter_value, mcr_colfid **out, int *ncols) {
    *out = NULL;
    *ncols = 0;
    int jr = -1, js = -1, cr = -1, cs = -1;
    if (filter_col) {
        jr = mcr_table_find(real, filter_col);
        js = mcr_table_find(synth, filter_col);
        if (jr < 0 || js < 0 || real->cols[jr].type != MCR_COL_CATEGORICAL || synth->cols[js].type != MCR_COL_CATEGORICAL)
            return mcr_err(MCR_EINVAL, "--target: '%s' must be a categorical column of both tables", filter_col);
        cr = mcr_table_level_find(real, jr, filter_value);
        cs = mcr_table_level_find(synth, js, filter_value);
        if (cr < 0) return mcr_err(MCR_EINVAL, "--class: '%s' is not a value of '%s' in %s", filter_value, filter_col, mcr_table_source(real));
    }
    size_t *rr = malloc((real->nrows + 1) * sizeof(size_t)), *rs = malloc((synth->nrows + 1) * sizeof(size_t));
    double *a = malloc((real->nrows + 1) * sizeof(double)), *b = malloc((synth->nrows + 1) * sizeof(double));
    mcr_colfid *res = calloc((size_t)real->ncols + 1, sizeof *res);
    int rc = MCR_OK, n = 0;
    if (!rr || !rs || !a || !b || !res) {
        rc = MCR_NOMEM();
        goto done;
    }
    size_t nr = select_rows(real, jr, cr, rr), ns = cs < 0 && filter_col ? 0 : select_rows(synth, js, cs, rs);
    for (int j = 0; j < real->ncols; j++) {
        if (j == jr) continue;
        const mcr_column *c = &real->cols[j];
        int k = mcr_table_find(synth, c->name);
        if (k < 0) continue;
        const mcr_column *d = &synth->cols[k];
        int cat = c->type == MCR_COL_CATEGORICAL;
        if (cat != (d->type == MCR_COL_CATEGORICAL)) continue;
        mcr_colfid *f = &res[n++];
        f->name = c->name;
        f->categorical = cat;
        size_t ma = 0, mb = 0, missa = 0, missb = 0;
        if (!cat) {
            for (size_t i = 0; i < nr; i++) isnan(c->num[rr[i]]) ? missa++ : (void)(a[ma++] = c->num[rr[i]]);
            for (size_t i = 0; i < ns; i++) isnan(d->num[rs[i]]) ? missb++ : (void)(b[mb++] = d->num[rs[i]]);
            qsort(a, ma, sizeof(double), cmp_d);
            qsort(b, mb, sizeof(double), cmp_d);
            f->stat = ma && mb ? ks_sorted(a, ma, b, mb) : NAN;
        } else {
            /* frequencies over the real column's levels plus synthetic levels unseen in real */
            int K = c->nlevels;
            double *pa = calloc((size_t)K + (size_t)d->nlevels + 1, sizeof(double));
            double *pb = calloc((size_t)K + (size_t)d->nlevels + 1, sizeof(double));
            int *map = malloc(((size_t)d->nlevels + 1) * sizeof(int));
            if (!pa || !pb || !map) {
                free(pa), free(pb), free(map);
                rc = MCR_NOMEM();
                goto done;
            }
            int extra = 0;
            for (int q = 0; q < d->nlevels; q++) {
                int m = mcr_table_level_find(real, j, d->levels[q]);
                map[q] = m >= 0 ? m : K + extra++;
            }
            for (size_t i = 0; i < nr; i++) c->cat[rr[i]] < 0 ? missa++ : (void)(pa[c->cat[rr[i]]]++, ma++);
            for (size_t i = 0; i < ns; i++) d->cat[rs[i]] < 0 ? missb++ : (void)(pb[map[d->cat[rs[i]]]]++, mb++);
            double tv = 0;
            for (int q = 0; q < K + extra; q++) tv += fabs((ma ? pa[q] / ma : 0) - (mb ? pb[q] / mb : 0));
            f->stat = ma && mb ? tv / 2 : NAN;
            free(pa), free(pb), free(map);
        }
        f->nreal = nr;
        f->nsynth = ns;
        f->real_missing = nr ? (double)missa / nr : NAN;
        f->synth_missing = ns ? (double)missb / ns : NAN;
    }
done:
    free(rr), free(rs), free(a), free(b);
    if (rc) {
        free(res);
        return rc;
    }
    *out = res;
    *ncols = n;
    return MCR_OK;
}
