/* knn.c — exact k nearest neighbours by tiles: distances |q|^2 + |r|^2 - 2 q.r, the q.r of a
 * tile of KQB queries x KRB references by one (single-threaded) sgemm into a thread's own
 * buffer that stays in cache, then the tile's rows scanned for the k smallest. 512 x 256 was
 * the fastest of 9 shapes tried on SMOTE at 1M x 30 (a wide query tile packs each reference
 * block once for many queries). Query tiles are shared out among threads (OpenMP, dynamic).
 * Time is O(nq * nr * D) at BLAS speed plus the scan (one branch-free pass per row and tile
 * when the k-th best is already below the tile's distances); memory O(threads * KQB * KRB).
 * SMOTE and ADASYN query the minority cells, so nq and nr are the cell sizes; the distance
 * checks query whole tables. Results do not depend on the thread count or tiling: each
 * distance is the same sum (K = D is never split) and candidates are met in index order (ties
 * keep the lower index). */
#include "tabular/tabular.h"
#include <cblas.h>
#include <omp.h>

#define KQB 512
#define KRB 256
#define KMAX 64

/* fold candidates row[0..n) (reference indexes j0 + i) into the sorted lists best/out; built
 * for AVX-512, AVX2 and the baseline, picked at load time (the build is portable) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void knn_scan(const float *row, const float *rn, size_t j0, int n, float qq, long skip, int k,
                     float *best, int *out, int *cnt) {
    float thr = *cnt == k ? best[k - 1] : INFINITY;
    if (*cnt == k) { /* most rows hold no better candidate: one branch-free pass tells */
        int any = 0;
        for (int i = 0; i < n; i++) any |= row[i] + rn[i] + qq < thr;
        if (!any) return;
    }
    for (int i0 = 0; i0 < n; i0 += 16) {
        int ie = i0 + 16 < n ? i0 + 16 : n, hit = 0;
        for (int i = i0; i < ie; i++) hit |= row[i] + rn[i] + qq < thr;
        if (!hit) continue;
        for (int i = i0; i < ie; i++) {
            size_t j = j0 + (size_t)i;
            if ((long)j == skip) continue;
            float dj = row[i] + rn[i] + qq;
            if (*cnt == k && !(dj < best[k - 1])) continue;
            int pos = *cnt < k ? (*cnt)++ : k - 1; /* insertion keeps the list sorted */
            while (pos > 0 && dj < best[pos - 1]) {
                best[pos] = best[pos - 1];
                out[pos] = out[pos - 1];
                pos--;
            }
            best[pos] = dj;
            out[pos] = (int)j;
        }
        thr = *cnt == k ? best[k - 1] : INFINITY;
    }
}

int mcr_knn(const float *Q, size_t nq, const float *R, size_t nr, int D, int k, long self_offset,
            int *idx) {
    if (k < 1 || k > KMAX) return mcr_err(MCR_EINTERNAL, "knn: k = %d outside 1..%d", k, KMAX);
    float *rn = malloc((nr ? nr : 1) * sizeof(float));
    if (!rn) return MCR_NOMEM();
#pragma omp parallel for schedule(static)
    for (size_t j = 0; j < nr; j++) {
        double s = 0;
        for (int d = 0; d < D; d++) s += (double)R[j * D + d] * R[j * D + d];
        rn[j] = (float)s;
    }
    long ntiles = (long)((nq + KQB - 1) / KQB);
    int failed = 0;
#pragma omp parallel
    {
        float *dist = malloc((size_t)KQB * KRB * sizeof(float));
        float *best = malloc((size_t)KQB * k * sizeof(float));
        float qq[KQB];
        int cnt[KQB];
        if (!dist || !best) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic)
        for (long tq = 0; tq < ntiles; tq++) {
            if (!dist || !best) continue;
            size_t q0 = (size_t)tq * KQB;
            int b = (int)(nq - q0 < KQB ? nq - q0 : KQB);
            for (int qi = 0; qi < b; qi++) {
                size_t q = q0 + (size_t)qi;
                double s = 0;
                for (int d = 0; d < D; d++) s += (double)Q[q * D + d] * Q[q * D + d];
                qq[qi] = (float)s;
                cnt[qi] = 0;
                for (int a = 0; a < k; a++) idx[q * k + a] = -1;
            }
            for (size_t r0 = 0; r0 < nr; r0 += KRB) {
                int rb = (int)(nr - r0 < KRB ? nr - r0 : KRB);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, rb, D, -2.0f, Q + q0 * D, D,
                            R + r0 * D, D, 0.0f, dist, rb);
                for (int qi = 0; qi < b; qi++) {
                    size_t q = q0 + (size_t)qi;
                    knn_scan(dist + (size_t)qi * rb, rn + r0, r0, rb, qq[qi],
                             self_offset >= 0 ? (long)q + self_offset : -1, k, best + (size_t)qi * k,
                             idx + q * k, &cnt[qi]);
                }
            }
        }
        free(dist), free(best);
    }
    free(rn);
    return failed ? MCR_NOMEM() : MCR_OK;
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
