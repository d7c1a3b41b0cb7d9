/* knn.c — exact k nearest neighbours by blocks: distances |q|^2 + |r|^2 - 2 q.r with one sgemm
 * per block of 256 queries, so memory is O(256 * nr) whatever the number of queries. Time is
 * O(nq * nr * D) (BLAS speed); SMOTE and ADASYN query the minority cells, so nq and nr are
 * the cell sizes. */
#include "tabular/tabular.h"
#include <cblas.h>

#define QB 256

int mcr_knn(const float *Q, size_t nq, const float *R, size_t nr, int D, int k, long self_offset,
            int *idx) {
    float *dist = malloc((size_t)QB * (nr ? nr : 1) * sizeof(float));
    float *rn = malloc((nr ? nr : 1) * sizeof(float));
    if (!dist || !rn) {
        free(dist), free(rn);
        return MCR_NOMEM();
    }
    for (size_t j = 0; j < nr; j++) {
        double s = 0;
        for (int d = 0; d < D; d++) s += (double)R[j * D + d] * R[j * D + d];
        rn[j] = (float)s;
    }
    for (size_t q0 = 0; q0 < nq; q0 += QB) {
        int b = (int)(nq - q0 < QB ? nq - q0 : QB);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, (int)nr, D, -2.0f, Q + q0 * D, D, R,
                    D, 0.0f, dist, (int)nr);
#pragma omp parallel for schedule(static)
        for (int qi = 0; qi < b; qi++) {
            size_t q = q0 + (size_t)qi;
            double qq = 0;
            for (int d = 0; d < D; d++) qq += (double)Q[q * D + d] * Q[q * D + d];
            int *out = idx + q * k;
            float best[64];
            int cnt = 0;
            for (int a = 0; a < k; a++) out[a] = -1;
            const float *row = dist + (size_t)qi * nr;
            for (size_t j = 0; j < nr; j++) {
                if (self_offset >= 0 && (long)j == (long)q + self_offset) continue;
                float dj = row[j] + rn[j] + (float)qq;
                if (cnt == k && !(dj < best[k - 1])) continue;
                int pos = cnt < k ? cnt++ : k - 1; /* insertion keeps the list sorted; ties keep the lower index */
                while (pos > 0 && dj < best[pos - 1]) {
                    best[pos] = best[pos - 1];
                    out[pos] = out[pos - 1];
                    pos--;
                }
                best[pos] = dj;
                out[pos] = (int)j;
            }
        }
    }
    free(dist), free(rn);
    return MCR_OK;
}

int mcr_nn_dist(const float *Q, size_t nq, const float *R, size_t nr, int D, double *out) {
    int *idx = malloc((nq ? nq : 1) * sizeof(int));
    if (!idx) return MCR_NOMEM();
    int rc = mcr_knn(Q, nq, R, nr, D, 1, -1, idx);
    for (size_t i = 0; !rc && i < nq; i++) {
        double s = 0;
        for (int k = 0; k < D; k++) {
            double e = (double)Q[i * D + k] - R[(size_t)idx[i] * D + k];
            s += e * e;
        }
        out[i] = sqrt(s);
    }
    free(idx);
    return rc;
}

/* The one quantile rule of the distance checks (augment's DCR threshold, assess's DCR
 * quantiles): linear interpolation between the order statistics of sorted v[n] (numpy's
 * default); NaN for n = 0. */
double mcr_quantile_sorted(const double *v, size_t n, double q) {
    if (n == 0) return NAN;
    double pos = q * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n) return v[n - 1];
    return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}
