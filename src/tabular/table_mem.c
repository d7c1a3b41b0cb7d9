/* table_mem.c — tables to and from memory: columns given as arrays (any element stride), for
 * callers that hold their data already (a Python binding's numpy arrays, a database cursor).
 * Values are copied into the table's own columns; nothing refers to the caller's memory after
 * a call returns. */
#include "tabular/tabular.h"

int mcr_table_new(size_t nrows, mcr_table **out) {
    *out = mcr_table_empty(nrows, ',');
    if (!*out) return MCR_NOMEM();
    free((*out)->source);
    if (!((*out)->source = mcr_strdup("<memory>"))) {
        free(*out);
        *out = NULL;
        return MCR_NOMEM();
    }
    return MCR_OK;
}

static double elem(const void *v, mcr_dtype dt, ptrdiff_t stride, size_t i) {
    ptrdiff_t k = (ptrdiff_t)i * stride;
    return dt == MCR_F32 ? (double)((const float *)v)[k] : ((const double *)v)[k];
}

static int check_name(const mcr_table *t, const char *name) {
    if (!name || !*name) return mcr_err(MCR_EINVAL, "%s: a column needs a non-empty name", t->source);
    if (mcr_table_find(t, name) >= 0)
        return mcr_err(MCR_EINVAL, "%s: column '%s' is given twice", t->source, name);
    return MCR_OK;
}

int mcr_table_add_numeric(mcr_table *t, const char *name, const void *values, mcr_dtype dtype,
                          ptrdiff_t stride, mcr_coltype type, int decimals) {
    int rc = check_name(t, name);
    if (rc) return rc;
    if (type == MCR_COL_CATEGORICAL || (dtype != MCR_F32 && dtype != MCR_F64) || (!values && t->nrows))
        return mcr_err(MCR_EINVAL, "%s: column '%s': a numeric column needs float32 or float64 values "
                                   "and type numeric or integer", t->source, name);
    if (decimals < -1 || decimals > 17)
        return mcr_err(MCR_EINVAL, "%s: column '%s': decimals must be -1 (shortest) to 17, not %d",
                       t->source, name, decimals);
    int j = mcr_table_add_column(t, name, type, type == MCR_COL_INTEGER && decimals < 0 ? 0 : decimals);
    if (j < 0) return j;
    /* copied, then checked in the copy (one strided pass over the caller's array) */
    double *num = t->cols[j].num;
    size_t n = t->nrows, bad = SIZE_MAX;
    int integer = type == MCR_COL_INTEGER;
#pragma omp parallel for schedule(static) if (n > 200000)
    for (size_t i = 0; i < n; i++) num[i] = elem(values, dtype, stride, i);
#pragma omp parallel for schedule(static) reduction(min : bad) if (n > 200000)
    for (size_t i = 0; i < n; i++)
        if (isinf(num[i]) || (integer && !isnan(num[i]) && num[i] != floor(num[i]))) bad = i < bad ? i : bad;
    if (bad == SIZE_MAX) return MCR_OK;
    double v = num[bad];
    t->ncols--; /* the column is taken back: the table is as it was */
    free(t->cols[j].name), free(t->cols[j].num);
    if (isinf(v))
        return mcr_err(MCR_EINVAL, "%s: column '%s', row %zu: infinite value (NaN marks a missing value)",
                       t->source, name, bad);
    return mcr_err(MCR_EINVAL, "%s: column '%s', row %zu: %g is not a whole number (the column "
                               "was given as integer)", t->source, name, bad, v);
}

int mcr_table_add_categorical(mcr_table *t, const char *name, const int32_t *codes, ptrdiff_t stride,
                              const char *const *levels, int nlevels) {
    int rc = check_name(t, name);
    if (rc) return rc;
    if (nlevels < 0 || (nlevels > 0 && !levels) || (!codes && t->nrows))
        return mcr_err(MCR_EINVAL, "%s: column '%s': codes and %d levels expected", t->source, name, nlevels);
    for (size_t i = 0; i < t->nrows; i++) {
        int32_t k = codes[(ptrdiff_t)i * stride];
        if (k < -1 || k >= nlevels)
            return mcr_err(MCR_EINVAL, "%s: column '%s', row %zu: code %d is not a level (0..%d, -1 = missing)",
                           t->source, name, i, (int)k, nlevels - 1);
    }
    int j = mcr_table_add_column(t, name, MCR_COL_CATEGORICAL, 0);
    if (j < 0) return j;
    mcr_column *c = &t->cols[j];
    for (int k = 0; k < nlevels; k++) {
        const char *s = levels[k] ? levels[k] : "";
        int code = mcr_column_add_level(c, s, strlen(s));
        if (code < 0) rc = code;
        else if (code != k)
            rc = mcr_err(MCR_EINVAL, "%s: column '%s': level '%s' is given twice (levels %d and %d)",
                         t->source, name, s, code, k);
        if (rc) break;
    }
    if (rc) { /* the column was appended: take it back */
        mcr_column *cc = &t->cols[--t->ncols];
        for (int k = 0; k < cc->nlevels; k++) free(cc->levels[k]);
        free(cc->levels), free(cc->cat), free(cc->name);
        mcr_strmap_free(cc->map);
        return rc;
    }
    for (size_t i = 0; i < t->nrows; i++) c->cat[i] = codes[(ptrdiff_t)i * stride];
    return MCR_OK;
}

int mcr_table_get_numeric(const mcr_table *t, int j, void *values, mcr_dtype dtype, ptrdiff_t stride) {
    if (j < 0 || j >= t->ncols || t->cols[j].type == MCR_COL_CATEGORICAL || (dtype != MCR_F32 && dtype != MCR_F64))
        return mcr_err(MCR_EINVAL, "%s: column %d is not a numeric column", t->source, j);
    const double *num = t->cols[j].num;
    size_t n = t->nrows;
    if (dtype == MCR_F32) {
#pragma omp parallel for schedule(static) if (n > 200000)
        for (size_t i = 0; i < n; i++) ((float *)values)[(ptrdiff_t)i * stride] = (float)num[i];
    } else {
#pragma omp parallel for schedule(static) if (n > 200000)
        for (size_t i = 0; i < n; i++) ((double *)values)[(ptrdiff_t)i * stride] = num[i];
    }
    return MCR_OK;
}

int mcr_table_get_codes(const mcr_table *t, int j, int32_t *codes, ptrdiff_t stride) {
    if (j < 0 || j >= t->ncols || t->cols[j].type != MCR_COL_CATEGORICAL)
        return mcr_err(MCR_EINVAL, "%s: column %d is not a categorical column", t->source, j);
    for (size_t i = 0; i < t->nrows; i++) codes[(ptrdiff_t)i * stride] = t->cols[j].cat[i];
    return MCR_OK;
}

int mcr_table_decimals(const mcr_table *t, int j) {
    if (j < 0 || j >= t->ncols || t->cols[j].type == MCR_COL_CATEGORICAL) return -2;
    return t->cols[j].decimals;
}
