/* transform.c — invertible column encodings fitted on training rows only.
 *
 * Numerics: quantile transform to a standard normal, defined as scikit-learn's
 * QuantileTransformer(output_distribution='normal') with n_quantiles = min(1000, max(10, n/30))
 * (capped at n): references linspace(0,1,nq), quantiles by linear interpolation of the sorted
 * values, forward = mean of left/right interpolation (ties map to the middle of their run),
 * bounds at 1e-7, then the normal quantile function; inverse = normal CDF then interpolation.
 * Standardisation and min-max to [-1,1] are alternatives. A column with missing values gets
 * an indicator dim (1 = missing) and its missing entries the transformed median.
 * Categoricals: one-hot (0/1), missing as an extra level, optionally rare levels pooled into
 * one "__other__" level. Decoding: arg-max. The two layouts (interleaved, split) are described
 * in mcr_int.h.
 */
#include "tabular/tabular.h"
#include <omp.h>

#define BOUNDS 1e-7
/* norm_ppf(BOUNDS - 2^-52): the clip of transformed values, as scikit-learn's (test_core checks
 * it against mcr_norm_ppf) */
#define ZLIM (-5.1993375826055761)

/* ---- normal distribution: Acklam's rational approximation refined by one Halley step ---- */
double mcr_norm_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

double mcr_norm_ppf(double p) {
    if (p <= 0) return -INFINITY;
    if (p >= 1) return INFINITY;
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                               -2.759285104469687e+02, 1.383577518672690e+02,
                               -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                               -1.556989798598866e+02, 6.680131188771972e+01,
                               -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                               -2.400758277161838e+00, -2.549732539343734e+00,
                               4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                               2.445134137142996e+00, 3.754408661907416e+00};
    double q, r, x;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p > 1 - 0.02425) {
        q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    for (int it = 0; it < 2; it++) { /* Halley refinement to full double precision */
        double e = mcr_norm_cdf(x) - p;
        double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
        x = x - u / (1 + x * u / 2);
    }
    return x;
}

static double ref(int k, int nq) { return nq > 1 ? (double)k / (nq - 1) : 0; }

double mcr_quantile_forward(const mcr_encfeat *f, double x) {
    int n = f->nq;
    const double *q = f->q;
    double p;
    if (x - BOUNDS < q[0] || x + BOUNDS > q[n - 1]) {
        /* At a bound, scikit-learn sends every value to p = 0 or 1 (z = -+5.2), however many
         * rows share it. A column clipped at its range (age 95, spo2 100, a lab's detection
         * limit) then puts a point mass 2-3 sd away from its other values, and the denoiser
         * spreads mass into that gap, which decodes to the bound: synthetic rows piled up at
         * the columns' min and max (twice the real share). Tied bounds get the middle of
         * their quantile range instead, as interior ties do; a lone bound stays at 0 or 1. */
        int j = 0;
        if (x - BOUNDS < q[0]) {
            while (j + 1 < n && q[j + 1] == q[0]) j++;
            p = 0.5 * ref(j, n);
        } else {
            j = n - 1;
            while (j > 0 && q[j - 1] == q[n - 1]) j--;
            p = 0.5 * (ref(j, n) + 1);
        }
    } else {
        /* left and right interpolation averaged, as scikit-learn does for repeated quantiles */
        int lo = 0, hi = n - 1;
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (q[mid] <= x) lo = mid;
            else hi = mid;
        }
        double right = q[lo + 1] == q[lo] ? ref(lo, n)
                                          : ref(lo, n) + (x - q[lo]) * (ref(lo + 1, n) - ref(lo, n)) /
                                                             (q[lo + 1] - q[lo]);
        lo = 0, hi = n - 1; /* first j with q[j] >= x */
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (q[mid] >= x) hi = mid;
            else lo = mid;
        }
        double left = q[hi] == q[lo] ? ref(hi, n)
                                     : ref(lo, n) + (x - q[lo]) * (ref(hi, n) - ref(lo, n)) /
                                                        (q[hi] - q[lo]);
        p = 0.5 * (left + right);
    }
    double z = mcr_norm_ppf(p);
    if (z < ZLIM) z = ZLIM;
    if (z > -ZLIM) z = -ZLIM;
    return z;
}

double mcr_quantile_inverse(const mcr_encfeat *f, double z) {
    double p = mcr_norm_cdf(z);
    int n = f->nq;
    if (isnan(p)) return NAN; /* a NaN from a damaged model: written as missing, never cast to int */
    if (p - BOUNDS < 0) return f->q[0];
    if (p + BOUNDS > 1) return f->q[n - 1];
    /* interp(p, references, quantiles): references are evenly spaced */
    double pos = p * (n - 1);
    int k = (int)pos;
    if (k >= n - 1) return f->q[n - 1];
    double fr = pos - k;
    return f->q[k] + fr * (f->q[k + 1] - f->q[k]);
}

void mcr_encoder_free(mcr_encoder *e) {
    if (!e) return;
    for (int i = 0; i < e->nfeat; i++) {
        free(e->f[i].q);
        free(e->f[i].lmap);
        free(e->f[i].inv);
        free(e->f[i].rare);
        free(e->f[i].rcum);
    }
    free(e->f);
    free(e->boff);
    free(e->bK);
    free(e);
}

int mcr_encoder_width(const mcr_encoder *e) { return e->d; }

static double encode_num(const mcr_encfeat *f, double x) {
    switch (f->kind) {
    case MCR_NUM_STANDARD: return (x - f->mean) / f->sd;
    case MCR_NUM_MINMAX: return f->hi > f->lo ? 2 * (x - f->lo) / (f->hi - f->lo) - 1 : 0;
    default: return mcr_quantile_forward(f, x);
    }
}

static double decode_num(const mcr_encfeat *f, double z) {
    double x;
    switch (f->kind) {
    case MCR_NUM_STANDARD: x = z * f->sd + f->mean; break;
    case MCR_NUM_MINMAX: x = (z + 1) * 0.5 * (f->hi - f->lo) + f->lo; break;
    default: x = mcr_quantile_inverse(f, z);
    }
    if (x < f->lo) x = f->lo;
    if (x > f->hi) x = f->hi;
    if (f->type == MCR_COL_INTEGER) x = round(x);
    return x;
}

/* encoded index of a categorical level code (-1 = missing) */
static int cat_index(const mcr_encfeat *f, int code) {
    if (code < 0) return f->has_missing ? f->width - 1 : -1;
    return f->lmap[code];
}

int mcr_encoder_layout(mcr_encoder *e) {
    int off = 0, nblk = 0;
    if (e->split)
        for (int a = 0; a < e->nfeat; a++)
            if (e->f[a].type != MCR_COL_CATEGORICAL) e->f[a].offset = off++;
    e->ng = e->split ? off : 0;
    for (int a = 0; a < e->nfeat; a++) {
        mcr_encfeat *f = &e->f[a];
        if (f->type == MCR_COL_CATEGORICAL) {
            /* width = the indices lmap uses (kept levels, then other) + missing */
            int used = f->other + 1;
            for (int k = 0; k < f->nlevels; k++)
                if (f->lmap[k] + 1 > used) used = f->lmap[k] + 1;
            f->width = used + f->has_missing;
            if (f->width == 0) f->width = 1;
            f->offset = off;
            off += f->width;
            nblk++;
            free(f->inv);
            if (!(f->inv = malloc((size_t)f->width * sizeof(int)))) return MCR_NOMEM();
            for (int k = 0; k < f->width; k++) f->inv[k] = -1;
            for (int k = 0; k < f->nlevels; k++)
                if (f->lmap[k] != f->other) f->inv[f->lmap[k]] = k;
            f->moff = -1;
        } else if (e->split) {
            f->width = 1;
            f->moff = f->has_missing ? off : -1;
            if (f->has_missing) off += 2, nblk++;
        } else {
            f->offset = off;
            f->width = 1 + f->has_missing;
            f->moff = f->has_missing ? off + 1 : -1;
            off += f->width;
        }
    }
    e->d = off;
    free(e->boff);
    free(e->bK);
    e->boff = e->bK = NULL;
    e->nblk = 0;
    if (!e->split) return MCR_OK;
    e->boff = malloc((size_t)(nblk ? nblk : 1) * sizeof(int));
    e->bK = malloc((size_t)(nblk ? nblk : 1) * sizeof(int));
    if (!e->boff || !e->bK) return MCR_NOMEM();
    for (int a = 0; a < e->nfeat; a++) {
        const mcr_encfeat *f = &e->f[a];
        if (f->type == MCR_COL_CATEGORICAL) e->boff[e->nblk] = f->offset, e->bK[e->nblk++] = f->width;
        else if (f->moff >= 0) e->boff[e->nblk] = f->moff, e->bK[e->nblk++] = 2;
    }
    return MCR_OK;
}

typedef struct {
    size_t n;
    int k;
} lcount;
static int cmp_lcount(const void *a, const void *b) { /* count descending, then code */
    const lcount *x = a, *y = b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return (x->k > y->k) - (x->k < y->k);
}

/* level map of a categorical feature: kept levels in code order, then other, then missing */
static int fit_levels(mcr_encfeat *f, const mcr_column *c, const size_t *rows, size_t nrows,
                      int min_count) {
    f->nlevels = c->nlevels;
    f->other = -1;
    size_t *cnt = calloc((size_t)(c->nlevels ? c->nlevels : 1), sizeof(size_t));
    f->lmap = malloc((size_t)(c->nlevels ? c->nlevels : 1) * sizeof(int));
    if (!cnt || !f->lmap) return free(cnt), MCR_NOMEM();
    for (size_t r = 0; r < nrows; r++) {
        int code = c->cat[rows ? rows[r] : r];
        if (code < 0) f->has_missing = 1;
        else cnt[code]++;
    }
    /* pooled: the levels seen 1..min_count-1 times; once there are any, levels never seen in
     * the training rows join them (else they keep an index of their own, never active) */
    int nrare = 0;
    for (int k = 0; k < c->nlevels; k++) nrare += min_count > 1 && cnt[k] > 0 && cnt[k] < (size_t)min_count;
    int kept = 0;
    for (int k = 0; k < c->nlevels; k++) f->lmap[k] = nrare && cnt[k] < (size_t)min_count ? -1 : kept++;
    if (nrare) {
        f->other = kept;
        lcount *lc = malloc((size_t)nrare * sizeof(lcount));
        f->rare = malloc((size_t)nrare * sizeof(int));
        f->rcum = malloc((size_t)nrare * sizeof(double));
        if (!lc || !f->rare || !f->rcum) return free(lc), free(cnt), MCR_NOMEM();
        int n = 0;
        for (int k = 0; k < c->nlevels; k++) {
            if (f->lmap[k] >= 0) continue;
            f->lmap[k] = f->other;
            if (cnt[k] > 0) lc[n].n = cnt[k], lc[n++].k = k;
        }
        qsort(lc, (size_t)n, sizeof(lcount), cmp_lcount);
        double cum = 0;
        for (int i = 0; i < n; i++) {
            f->rare[i] = lc[i].k;
            cum += (double)lc[i].n;
            f->rcum[i] = cum;
        }
        f->nrare = n;
        free(lc);
    }
    free(cnt);
    return MCR_OK;
}

/* A numeric column's mean, sd, range and median over rows[0..nrows) (NaN left out) in O(n),
 * without sorting: the statistics of the standard and min-max transforms. buf: nrows doubles. */
typedef struct {
    size_t m;
    double mean, sd, lo, hi, median;
} numstat;

static void num_stats(const mcr_column *c, const size_t *rows, size_t nrows, double *buf, numstat *st) {
    size_t m = 0;
    for (size_t r = 0; r < nrows; r++) {
        double v = c->num[rows ? rows[r] : r];
        if (!isnan(v)) buf[m++] = v;
    }
    memset(st, 0, sizeof *st);
    if ((st->m = m) == 0) return;
    double s = 0, s2 = 0, lo = buf[0], hi = buf[0];
    for (size_t i = 0; i < m; i++) s += buf[i];
    st->mean = s / m;
    for (size_t i = 0; i < m; i++) {
        s2 += (buf[i] - st->mean) * (buf[i] - st->mean);
        lo = buf[i] < lo ? buf[i] : lo, hi = buf[i] > hi ? buf[i] : hi;
    }
    st->sd = sqrt(s2 / m);
    st->lo = lo, st->hi = hi;
    double med = mcr_select_double(buf, m, m / 2);
    if (m % 2 == 0) { /* the largest of the lower half, which select left below m/2 */
        double b = buf[0];
        for (size_t i = 1; i < m / 2; i++) b = buf[i] > b ? buf[i] : b;
        med = 0.5 * (b + med);
    }
    st->median = med;
}

/* A part table's encoder: each feature fitted on its column gathered from every rank (the
 * whole file's column), one column at a time, so that every rank fits what one process
 * reading the whole file fits, bit for bit. */
static int encoder_fit_part(const mcr_table *t, const int *cols, int ncols, mcr_numeric_transform kind,
                            int split, int min_count, mcr_encoder **out) {
    mcr_encoder *e = calloc(1, sizeof *e);
    int rc = MCR_OK;
    if (!e || !(e->f = calloc((size_t)(ncols ? ncols : 1), sizeof(mcr_encfeat)))) {
        free(e);
        return MCR_NOMEM();
    }
    e->split = split;
    for (int a = 0; a < ncols && !rc; a++) {
        mcr_table *g = NULL;
        mcr_encoder *e1 = NULL;
        int zero = 0;
        if ((rc = mcr_table_gather_column(t, cols[a], &g))) break;
        rc = mcr_encoder_fit_ex(g, &zero, 1, NULL, 0, kind, split, min_count, &e1);
        mcr_table_free_gathered(g);
        if (rc) break;
        e->f[a] = e1->f[0];
        e->f[a].col = cols[a];
        e->nfeat = a + 1;
        memset(&e1->f[0], 0, sizeof e1->f[0]);
        mcr_encoder_free(e1);
    }
    if (!rc && mcr_encoder_layout(e)) rc = MCR_NOMEM();
    if (rc) {
        mcr_encoder_free(e);
        return rc;
    }
    *out = e;
    return MCR_OK;
}

int mcr_encoder_fit_ex(const mcr_table *t, const int *cols, int ncols, const size_t *rows,
                       size_t nrows, mcr_numeric_transform kind, int split, int min_count,
                       mcr_encoder **out) {
    *out = NULL;
    if (t->part && !rows) return encoder_fit_part(t, cols, ncols, kind, split, min_count, out);
    if (!rows) nrows = t->nrows;
    mcr_encoder *e = calloc(1, sizeof *e);
    double *buf = mcr_malloc_big((nrows ? nrows : 1) * sizeof(double));
    if (!e || !buf || !(e->f = calloc((size_t)(ncols ? ncols : 1), sizeof(mcr_encfeat)))) {
        free(buf);
        mcr_encoder_free(e);
        return MCR_NOMEM();
    }
    e->split = split;
    /* the standard and min-max transforms need no quantiles: their statistics in O(n) per
     * column, the columns in parallel */
    numstat *ns = NULL;
    if (kind != MCR_NUM_QUANTILE) {
        if (!(ns = calloc((size_t)(ncols ? ncols : 1), sizeof(numstat)))) goto nomem;
        int fail = 0;
#pragma omp parallel if ((size_t)ncols * nrows > 200000)
        {
            double *b = omp_get_thread_num() == 0 ? buf : mcr_malloc_big((nrows ? nrows : 1) * sizeof(double));
            if (!b) {
#pragma omp atomic write
                fail = 1;
            }
#pragma omp for schedule(dynamic)
            for (int a = 0; a < ncols; a++)
                if (b && t->cols[cols[a]].type != MCR_COL_CATEGORICAL) num_stats(&t->cols[cols[a]], rows, nrows, b, &ns[a]);
            if (b != buf) free(b);
        }
        if (fail) goto nomem;
    }
    for (int a = 0; a < ncols; a++) {
        const mcr_column *c = &t->cols[cols[a]];
        mcr_encfeat *f = &e->f[a];
        e->nfeat = a + 1;
        f->col = cols[a];
        f->type = c->type;
        f->kind = kind;
        f->other = -1;
        if (c->type == MCR_COL_CATEGORICAL) {
            if (fit_levels(f, c, rows, nrows, min_count)) goto nomem;
        } else if (ns && ns[a].m) {
            const numstat *st = &ns[a];
            f->has_missing = st->m < nrows;
            f->lo = st->lo, f->hi = st->hi, f->mean = st->mean;
            f->sd = st->sd > 0 ? st->sd : 1;
            f->nq = 2; /* kept for the model file's layout: the range */
            if (!(f->q = malloc(2 * sizeof(double)))) goto nomem;
            f->q[0] = st->lo, f->q[1] = st->hi;
            f->fill = encode_num(f, st->median);
        } else {
            size_t m = 0;
            for (size_t r = 0; r < nrows; r++) {
                double v = c->num[rows ? rows[r] : r];
                if (!isnan(v)) buf[m++] = v;
            }
            f->has_missing = m < nrows;
            if (m == 0) { /* all missing: a constant, never emitted */
                f->lo = f->hi = f->mean = f->fill = 0;
                f->sd = 1;
                f->nq = 1;
                f->all_missing = 1;
                if (!(f->q = calloc(1, sizeof(double)))) goto nomem;
                continue;
            }
            mcr_sort_doubles(buf, m);
            f->lo = buf[0];
            f->hi = buf[m - 1];
            double s = 0, s2 = 0;
            for (size_t i = 0; i < m; i++) s += buf[i];
            f->mean = s / m;
            for (size_t i = 0; i < m; i++) s2 += (buf[i] - f->mean) * (buf[i] - f->mean);
            f->sd = sqrt(s2 / m);
            if (!(f->sd > 0)) f->sd = 1;
            size_t nq = m / 30;
            if (nq < 10) nq = 10;
            if (nq > 1000) nq = 1000;
            if (nq > m) nq = m;
            f->nq = (int)nq;
            if (!(f->q = malloc(nq * sizeof(double)))) goto nomem;
            for (size_t k = 0; k < nq; k++) {
                double pos = ref((int)k, (int)nq) * (double)(m - 1);
                size_t lo = (size_t)pos;
                if (lo >= m - 1) f->q[k] = buf[m - 1];
                else f->q[k] = buf[lo] + (pos - lo) * (buf[lo + 1] - buf[lo]);
                if (k && f->q[k] < f->q[k - 1]) f->q[k] = f->q[k - 1];
            }
            double median = (m % 2) ? buf[m / 2] : 0.5 * (buf[m / 2 - 1] + buf[m / 2]);
            f->fill = encode_num(f, median);
        }
    }
    free(ns);
    ns = NULL;
    free(buf);
    buf = NULL;
    if (mcr_encoder_layout(e)) goto nomem;
    *out = e;
    return MCR_OK;
nomem:
    free(ns);
    free(buf);
    mcr_encoder_free(e);
    return MCR_NOMEM();
}

int mcr_encoder_fit(const mcr_table *t, const int *cols, int ncols, const size_t *rows,
                    size_t nrows, mcr_numeric_transform kind, mcr_encoder **out) {
    return mcr_encoder_fit_ex(t, cols, ncols, rows, nrows, kind, 0, 1, out);
}

static int check_col(const mcr_encfeat *f, const mcr_column *c, int code) {
    if (c->type != f->type)
        return mcr_err(MCR_EINVAL, "column '%s' has another type than the fitted one", c->name);
    if (code >= f->nlevels)
        return mcr_err(MCR_EINVAL, "column '%s': level '%s' was not seen in fitting", c->name,
                       c->levels[code]);
    return MCR_OK;
}

int mcr_encoder_transform(const mcr_encoder *e, const mcr_table *t, const size_t *rows,
                          size_t nrows, double *x) {
    int d = e->d, rc;
    for (int a = 0; a < e->nfeat; a++) {
        const mcr_encfeat *f = &e->f[a];
        const mcr_column *c = &t->cols[f->col];
        if ((rc = check_col(f, c, -1))) return rc;
        for (size_t r = 0; r < nrows; r++) {
            size_t i = rows ? rows[r] : r;
            double *o = x + r * (size_t)d;
            if (f->type == MCR_COL_CATEGORICAL) {
                for (int k = 0; k < f->width; k++) o[f->offset + k] = 0;
                int code = c->cat[i];
                if ((rc = check_col(f, c, code))) return rc;
                int idx = cat_index(f, code);
                if (idx >= 0) o[f->offset + idx] = 1;
            } else {
                double v = c->num[i];
                int miss = isnan(v);
                o[f->offset] = miss ? f->fill : encode_num(f, v);
                if (f->moff >= 0) {
                    if (e->split) o[f->moff] = !miss, o[f->moff + 1] = miss;
                    else o[f->moff] = miss;
                }
            }
        }
    }
    return MCR_OK;
}

int mcr_encoder_codes(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t nrows,
                      float *num, int32_t *codes) {
    MCR_ASSERT(e->split);
    int ng = e->ng, nb = e->nblk, rc;
    for (int a = 0, b = 0; a < e->nfeat; a++) {
        const mcr_encfeat *f = &e->f[a];
        const mcr_column *c = &t->cols[f->col];
        if ((rc = check_col(f, c, -1))) return rc;
        for (size_t r = 0; r < nrows; r++) {
            size_t i = rows ? rows[r] : r;
            if (f->type == MCR_COL_CATEGORICAL) {
                int code = c->cat[i];
                if ((rc = check_col(f, c, code))) return rc;
                int idx = cat_index(f, code);
                codes[r * nb + b] = idx >= 0 ? idx : 0;
            } else {
                double v = c->num[i];
                num[r * ng + f->offset] = (float)(isnan(v) ? f->fill : encode_num(f, v));
                if (f->moff >= 0) codes[r * nb + b] = isnan(v);
            }
        }
        if (f->type == MCR_COL_CATEGORICAL || f->moff >= 0) b++;
    }
    return MCR_OK;
}

static double pow10i(int k) {
    double p = 1;
    while (k-- > 0) p *= 10;
    return p;
}

/* rows x[0..nrows) into table rows rows[r] (rows != NULL) or first + r */
static int inverse_impl(const mcr_encoder *e, const double *x, size_t nrows, mcr_table *t,
                        const size_t *rows, mcr_rng *rng, size_t first, int may_par) {
    int d = e->d;
    /* rows in chunks (a chunk's encodings stay in cache while its columns are written), the
     * chunks in parallel; one chunk, column after column, when pooled levels draw from rng (its
     * stream in that order) or rows[] places them (in the caller's order) */
    int par = may_par && !rng && !rows && nrows * (size_t)e->nfeat > 100000;
    size_t CH = par ? 1024 : (nrows ? nrows : 1), nch = (nrows + CH - 1) / CH;
#pragma omp parallel for schedule(static) if (par)
    for (size_t ch = 0; ch < nch; ch++) {
        size_t r0 = ch * CH, r1 = r0 + CH < nrows ? r0 + CH : nrows;
        for (int a = 0; a < e->nfeat; a++) {
            const mcr_encfeat *f = &e->f[a];
            mcr_column *c = &t->cols[f->col];
            MCR_ASSERT(c->type == f->type);
            for (size_t r = r0; r < r1; r++) {
                size_t i = rows ? rows[r] : first + r;
                const double *o = x + r * (size_t)d;
                if (f->type == MCR_COL_CATEGORICAL) {
                    int best = 0;
                    for (int k = 1; k < f->width; k++)
                        if (o[f->offset + k] > o[f->offset + best]) best = k;
                    int code = f->inv[best];
                    if (best == f->other && f->nrare > 0) {
                        code = f->rare[0];
                        if (rng) { /* a pooled level, in proportion to its training count */
                            double u = mcr_rng_uniform(rng) * f->rcum[f->nrare - 1];
                            int lo = 0, hi = f->nrare - 1;
                            while (lo < hi) {
                                int mid = (lo + hi) / 2;
                                if (f->rcum[mid] > u) hi = mid;
                                else lo = mid + 1;
                            }
                            code = f->rare[lo];
                        }
                    }
                    c->cat[i] = code;
                } else {
                    int miss = f->moff >= 0 && (e->split ? o[f->moff + 1] > o[f->moff] : o[f->moff] > 0.5);
                    double v = (miss || f->all_missing) ? NAN : decode_num(f, o[f->offset]);
                    /* numeric values at the column's usual precision (integers are rounded above) */
                    if (c->type == MCR_COL_NUMERIC && c->decimals >= 0 && c->decimals <= 12 && isfinite(v))
                        v = round(v * pow10i(c->decimals)) / pow10i(c->decimals);
                    c->num[i] = v;
                }
            }
        }
    }
    return MCR_OK;
}

int mcr_encoder_inverse_ex(const mcr_encoder *e, const double *x, size_t nrows, mcr_table *t,
                           const size_t *rows, mcr_rng *rng) {
    return inverse_impl(e, x, nrows, t, rows, rng, 0, 1);
}

int mcr_encoder_inverse_at(const mcr_encoder *e, const double *x, size_t nrows, mcr_table *t, size_t first) {
    return inverse_impl(e, x, nrows, t, NULL, NULL, first, 0);
}

int mcr_encoder_inverse(const mcr_encoder *e, const double *x, size_t nrows, mcr_table *t,
                        const size_t *rows) {
    return mcr_encoder_inverse_ex(e, x, nrows, t, rows, NULL);
}

int mcr_encoder_transform_float(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n,
                                float **out) {
    /* through a double buffer of a few rows at a time: the result is the only n x d array */
    const size_t CH = 256;
    int d = e->d, rc = MCR_OK;
    double *xd = malloc(CH * (size_t)(d ? d : 1) * sizeof(double));
    float *x = mcr_malloc_big((n ? n : 1) * (size_t)d * sizeof(float));
    size_t *seq = rows ? NULL : malloc(CH * sizeof(size_t)); /* rows r0 .. when rows == NULL */
    if (!xd || !x || (!rows && !seq)) return free(xd), free(x), free(seq), MCR_NOMEM();
    for (size_t r0 = 0; r0 < n && !rc; r0 += CH) {
        size_t m = n - r0 < CH ? n - r0 : CH;
        for (size_t i = 0; seq && i < m; i++) seq[i] = r0 + i;
        rc = mcr_encoder_transform(e, t, rows ? rows + r0 : seq, m, xd);
        for (size_t i = 0; !rc && i < m * (size_t)d; i++) x[r0 * d + i] = (float)xd[i];
    }
    free(xd), free(seq);
    if (rc) return free(x), rc;
    *out = x;
    return MCR_OK;
}

void mcr_csr_free(mcr_csr *m) {
    if (!m) return;
    free(m->ptr), free(m->idx), free(m->val), free(m->implicit);
    memset(m, 0, sizeof *m);
}

int mcr_csr_stack(const mcr_csr *a, const mcr_csr *b, const size_t *pick, size_t np, mcr_csr *out) {
    memset(out, 0, sizeof *out);
    if (a->d != b->d) return mcr_err(MCR_EINVAL, "stacking encoded rows of %d and %d dims", a->d, b->d);
    size_t nnz = a->ptr[a->n];
    for (size_t i = 0; i < np; i++) nnz += b->ptr[pick[i] + 1] - b->ptr[pick[i]];
    out->n = a->n + np, out->d = a->d;
    out->ptr = malloc((out->n + 1) * sizeof(size_t));
    out->idx = malloc((nnz + 1) * sizeof(int32_t));
    out->val = malloc((nnz + 1) * sizeof(float));
    out->implicit = malloc((size_t)(a->d ? a->d : 1));
    if (!out->ptr || !out->idx || !out->val || !out->implicit) return mcr_csr_free(out), MCR_NOMEM();
    memcpy(out->implicit, a->implicit, (size_t)a->d);
    memcpy(out->ptr, a->ptr, (a->n + 1) * sizeof(size_t));
    memcpy(out->idx, a->idx, a->ptr[a->n] * sizeof(int32_t));
    memcpy(out->val, a->val, a->ptr[a->n] * sizeof(float));
    size_t k = a->ptr[a->n];
    for (size_t i = 0; i < np; i++) {
        size_t lo = b->ptr[pick[i]], len = b->ptr[pick[i] + 1] - lo;
        memcpy(out->idx + k, b->idx + lo, len * sizeof(int32_t));
        memcpy(out->val + k, b->val + lo, len * sizeof(float));
        k += len;
        out->ptr[a->n + i + 1] = k;
    }
    return MCR_OK;
}

int mcr_encoder_transform_csr(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n,
                              mcr_csr *out) {
    memset(out, 0, sizeof *out);
    MCR_ASSERT(!e->split);
    int d = e->d, rc;
    /* at most two entries a feature: a numeric value and its missing indicator, or one level */
    size_t cap = 0;
    for (int a = 0; a < e->nfeat; a++) cap += e->f[a].type == MCR_COL_CATEGORICAL ? 1 : 1 + (e->f[a].moff >= 0);
    out->n = n, out->d = d;
    out->ptr = malloc((n + 1) * sizeof(size_t));
    out->idx = mcr_malloc_big((n ? n : 1) * (cap ? cap : 1) * sizeof(int32_t));
    out->val = mcr_malloc_big((n ? n : 1) * (cap ? cap : 1) * sizeof(float));
    out->implicit = calloc((size_t)(d ? d : 1), 1);
    if (!out->ptr || !out->idx || !out->val || !out->implicit) return mcr_csr_free(out), MCR_NOMEM();
    for (int a = 0; a < e->nfeat; a++) {
        const mcr_encfeat *f = &e->f[a];
        if ((rc = check_col(f, &t->cols[f->col], -1))) return mcr_csr_free(out), rc;
        if (f->type == MCR_COL_CATEGORICAL) memset(out->implicit + f->offset, 1, (size_t)f->width);
        else if (f->moff >= 0) out->implicit[f->moff] = 1;
    }
    size_t k = 0;
    out->ptr[0] = 0;
    for (size_t r = 0; r < n; r++) { /* a row's entries in increasing dim order (features in order) */
        size_t i = rows ? rows[r] : r;
        for (int a = 0; a < e->nfeat; a++) {
            const mcr_encfeat *f = &e->f[a];
            const mcr_column *c = &t->cols[f->col];
            if (f->type == MCR_COL_CATEGORICAL) {
                int code = c->cat[i];
                if ((rc = check_col(f, c, code))) return mcr_csr_free(out), rc;
                int idx = cat_index(f, code);
                if (idx >= 0) out->idx[k] = f->offset + idx, out->val[k++] = 1;
            } else {
                double v = c->num[i];
                int miss = isnan(v);
                out->idx[k] = f->offset, out->val[k++] = (float)(miss ? f->fill : encode_num(f, v));
                if (f->moff >= 0 && miss) out->idx[k] = f->moff, out->val[k++] = 1;
            }
        }
        out->ptr[r + 1] = k;
    }
    return MCR_OK;
}

int mcr_csr_dense(const mcr_csr *m, size_t r0, size_t r1, float *x) {
    int d = m->d;
    memset(x, 0, (r1 - r0) * (size_t)d * sizeof(float));
    for (size_t r = r0; r < r1; r++)
        for (size_t q = m->ptr[r]; q < m->ptr[r + 1]; q++) x[(r - r0) * d + m->idx[q]] = m->val[q];
    return MCR_OK;
}

void mcr_mixed_free(mcr_mixed *m) {
    if (!m) return;
    free(m->N), free(m->L), free(m->ndim), free(m->cfeat);
    memset(m, 0, sizeof *m);
}

static int mixed_alloc(mcr_mixed *m, size_t n, int dn, int nc) {
    memset(m, 0, sizeof *m);
    m->n = n, m->dn = dn, m->nc = nc;
    m->N = mcr_malloc_big((n ? n : 1) * (size_t)(dn ? dn : 1) * sizeof(float));
    m->L = mcr_malloc_big((n ? n : 1) * (size_t)(nc ? nc : 1) * sizeof(int32_t));
    m->ndim = malloc((size_t)(dn ? dn : 1) * sizeof(int));
    m->cfeat = malloc((size_t)(nc ? nc : 1) * sizeof(int));
    if (!m->N || !m->L || !m->ndim || !m->cfeat) return mcr_mixed_free(m), MCR_NOMEM();
    return MCR_OK;
}

/* the compact layout's widths: numeric dims (values and missing indicators), categoricals */
static void mixed_widths(const mcr_encoder *e, int *dn, int *nc) {
    *dn = *nc = 0;
    for (int a = 0; a < e->nfeat; a++) {
        if (e->f[a].type == MCR_COL_CATEGORICAL) ++*nc;
        else *dn += 1 + (e->f[a].moff >= 0);
    }
}

int mcr_encoder_is_wide(const mcr_encoder *e) {
    int dn, nc;
    mixed_widths(e, &dn, &nc);
    return !e->split && nc > 0 && 2 * (dn + nc) <= e->d;
}

int mcr_encoder_transform_mixed(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n,
                                mcr_mixed *out) {
    MCR_ASSERT(!e->split);
    int dn, nc, rc;
    mixed_widths(e, &dn, &nc);
    for (int a = 0; a < e->nfeat; a++)
        if ((rc = check_col(&e->f[a], &t->cols[e->f[a].col], -1))) return rc;
    if ((rc = mixed_alloc(out, n, dn, nc))) return rc;
    for (int a = 0, q = 0, c = 0; a < e->nfeat; a++) {
        const mcr_encfeat *f = &e->f[a];
        if (f->type == MCR_COL_CATEGORICAL) out->cfeat[c++] = a;
        else {
            out->ndim[q++] = f->offset;
            if (f->moff >= 0) out->ndim[q++] = f->moff;
        }
    }
    for (int a = 0, q = 0, c = 0; a < e->nfeat; a++) {
        const mcr_encfeat *f = &e->f[a];
        const mcr_column *col = &t->cols[f->col];
        for (size_t r = 0; r < n; r++) {
            size_t i = rows ? rows[r] : r;
            if (f->type == MCR_COL_CATEGORICAL) {
                int code = col->cat[i];
                if ((rc = check_col(f, col, code))) return mcr_mixed_free(out), rc;
                out->L[r * nc + c] = cat_index(f, code);
            } else {
                double v = col->num[i];
                int miss = isnan(v);
                out->N[r * dn + q] = (float)(miss ? f->fill : encode_num(f, v));
                if (f->moff >= 0) out->N[r * dn + q + 1] = (float)miss;
            }
        }
        if (f->type == MCR_COL_CATEGORICAL) c++;
        else q += 1 + (f->moff >= 0);
    }
    return MCR_OK;
}

int mcr_mixed_take(const mcr_mixed *m, const size_t *rows, size_t n, mcr_mixed *out) {
    int rc = mixed_alloc(out, n, m->dn, m->nc);
    if (rc) return rc;
    memcpy(out->ndim, m->ndim, (size_t)m->dn * sizeof(int));
    memcpy(out->cfeat, m->cfeat, (size_t)m->nc * sizeof(int));
    for (size_t r = 0; r < n; r++) {
        size_t i = rows ? rows[r] : r;
        memcpy(out->N + r * m->dn, m->N + i * m->dn, (size_t)m->dn * sizeof(float));
        memcpy(out->L + r * m->nc, m->L + i * m->nc, (size_t)m->nc * sizeof(int32_t));
    }
    return MCR_OK;
}

/* ------------------------------------------------------------------ model file section */
/* The encoder (ENCD): nfeat i32, d i32, split i32, then per feature: col, type, kind, nq i32,
 * q f64[nq] (numeric), mean, sd, lo, hi, fill f64, has_missing, all_missing, nlevels i32, and
 * for a categorical: other i32, lmap i32[nlevels], nrare i32, rare i32[nrare], rcum f64[nrare]. */
void mcr_encoder_put(mcr_wbuf *w, const mcr_encoder *e) {
    mcr_put_i32(w, e->nfeat);
    mcr_put_i32(w, e->d);
    mcr_put_i32(w, e->split);
    for (int a = 0; a < e->nfeat; a++) {
        const mcr_encfeat *f = &e->f[a];
        mcr_put_i32(w, f->col);
        mcr_put_i32(w, f->type);
        mcr_put_i32(w, f->kind);
        mcr_put_i32(w, f->nq);
        for (int q = 0; q < (f->type == MCR_COL_CATEGORICAL ? 0 : f->nq); q++) mcr_put_f64(w, f->q[q]);
        mcr_put_f64(w, f->mean);
        mcr_put_f64(w, f->sd);
        mcr_put_f64(w, f->lo);
        mcr_put_f64(w, f->hi);
        mcr_put_f64(w, f->fill);
        mcr_put_i32(w, f->has_missing);
        mcr_put_i32(w, f->all_missing);
        mcr_put_i32(w, f->nlevels);
        if (f->type != MCR_COL_CATEGORICAL) continue;
        mcr_put_i32(w, f->other);
        for (int k = 0; k < f->nlevels; k++) mcr_put_i32(w, f->lmap[k]);
        mcr_put_i32(w, f->nrare);
        for (int k = 0; k < f->nrare; k++) mcr_put_i32(w, f->rare[k]);
        for (int k = 0; k < f->nrare; k++) mcr_put_f64(w, f->rcum[k]);
    }
}

#define BAD(...) do { rc = mcr_err(MCR_ECORRUPT, __VA_ARGS__); goto fail; } while (0)

int mcr_encoder_get(mcr_rbuf *r, const char *path, const mcr_table *s, mcr_encoder **out) {
    *out = NULL;
    int rc = MCR_OK, ncols = s->ncols;
    mcr_encoder *e = calloc(1, sizeof *e);
    if (!e) return MCR_NOMEM();
    int nfeat = mcr_get_i32(r);
    int dstored = mcr_get_i32(r);
    e->split = mcr_get_i32(r);
    if (r->bad || nfeat < 1 || nfeat > ncols || dstored < 1 || dstored > 100000000 ||
        (e->split != 0 && e->split != 1))
        BAD("%s: damaged encoder block", path);
    if (!(e->f = calloc((size_t)nfeat, sizeof(mcr_encfeat)))) goto nomem;
    for (int a = 0; a < nfeat; a++) {
        mcr_encfeat *f = &e->f[a];
        e->nfeat = a + 1;
        f->col = mcr_get_i32(r);
        f->type = mcr_get_i32(r);
        f->kind = mcr_get_i32(r);
        f->nq = mcr_get_i32(r);
        f->other = -1;
        if (r->bad || f->col < 0 || f->col >= ncols || (int)f->type != (int)s->cols[f->col].type ||
            f->kind < 0 || f->kind > 2 ||
            (f->type != MCR_COL_CATEGORICAL && (f->nq < 1 || (size_t)f->nq * 8 > mcr_rbuf_left(r))))
            BAD("%s: damaged encoder entry %d", path, a + 1);
        if (f->type != MCR_COL_CATEGORICAL) {
            if (!(f->q = malloc((size_t)f->nq * sizeof(double)))) goto nomem;
            for (int q = 0; q < f->nq; q++) f->q[q] = mcr_get_f64(r);
        }
        f->mean = mcr_get_f64(r);
        f->sd = mcr_get_f64(r);
        f->lo = mcr_get_f64(r);
        f->hi = mcr_get_f64(r);
        f->fill = mcr_get_f64(r);
        f->has_missing = mcr_get_i32(r);
        f->all_missing = mcr_get_i32(r);
        f->nlevels = mcr_get_i32(r);
        if (r->bad || (f->has_missing != 0 && f->has_missing != 1) || f->nlevels < 0 ||
            f->nlevels > s->cols[f->col].nlevels)
            BAD("%s: damaged encoder entry %d", path, a + 1);
        if (f->type != MCR_COL_CATEGORICAL) continue;
        int L = f->nlevels;
        f->other = mcr_get_i32(r);
        if (r->bad || f->other < -1 || f->other > L || (size_t)L * 4 > mcr_rbuf_left(r))
            BAD("%s: damaged encoder entry %d", path, a + 1);
        if (!(f->lmap = malloc((size_t)(L ? L : 1) * sizeof(int)))) goto nomem;
        for (int k = 0; k < L; k++) {
            f->lmap[k] = mcr_get_i32(r);
            if (f->lmap[k] < 0 || f->lmap[k] >= (f->other >= 0 ? f->other + 1 : L))
                BAD("%s: damaged encoder entry %d (level map)", path, a + 1);
        }
        f->nrare = mcr_get_i32(r);
        if (r->bad || f->nrare < 0 || f->nrare > L || (f->other < 0 && f->nrare) ||
            (size_t)f->nrare * 12 > mcr_rbuf_left(r))
            BAD("%s: damaged encoder entry %d", path, a + 1);
        f->rare = malloc((size_t)(f->nrare ? f->nrare : 1) * sizeof(int));
        f->rcum = malloc((size_t)(f->nrare ? f->nrare : 1) * sizeof(double));
        if (!f->rare || !f->rcum) goto nomem;
        for (int k = 0; k < f->nrare; k++) {
            f->rare[k] = mcr_get_i32(r);
            if (f->rare[k] < 0 || f->rare[k] >= L) BAD("%s: damaged encoder entry %d (pooled levels)", path, a + 1);
        }
        for (int k = 0; k < f->nrare; k++) {
            f->rcum[k] = mcr_get_f64(r);
            if (!(f->rcum[k] > (k ? f->rcum[k - 1] : 0)) || !isfinite(f->rcum[k]))
                BAD("%s: damaged encoder entry %d (pooled counts)", path, a + 1);
        }
    }
    if (r->bad) BAD("%s: damaged encoder block", path);
    if ((rc = mcr_encoder_layout(e))) goto fail;
    if (e->d != dstored) BAD("%s: damaged encoder (width %d != %d)", path, e->d, dstored);
    *out = e;
    return MCR_OK;
nomem:
    rc = MCR_NOMEM();
fail:
    mcr_encoder_free(e);
    return rc;
}
#undef BAD
