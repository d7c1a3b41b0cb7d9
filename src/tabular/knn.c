/* knn.c — exact k nearest neighbours by tiles: distances |q|^2 + |r|^2 - 2 q.r, the q.r of a
 * tile of KQB queries x KRB references by one (single-threaded) sgemm into a thread's own
 * buffer that stays in cache, then the tile's rows scanned for the k smallest. 512 x 256 was
 * the fastest of 9 shapes tried on SMOTE at 1M x 30 (a wide query tile packs each reference
 * block once for many queries). Query tiles are shared out among threads (OpenMP, dynamic).
 * Time is O(nq * nr * D) at BLAS speed plus the scan (one branch-free pass per row and tile
 * when the k-th best is already below the tile's distances); memory O(threads * KQB * KRB).
 * SMOTE and ADASYN query the minority cells, so nq and nr are the cell sizes; those self queries
 * (Q == R, self_offset 0) take knn_self below, which computes each pair once. The distance
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

/* ---- a table's own neighbours (SMOTE, ADASYN's cells): each pair once ------------------------
 * d(i, j) = -2 x_i.x_j + (|x_i|^2 + |x_j|^2) is symmetric, so the tiles (I, J) with I <= J are
 * enough: one sgemm per tile, its rows offered to the rows of I and its columns to the rows of
 * J. Half the sgemm work of the general path. Each thread keeps its own lists for every row (no
 * locks; memory threads * n * (k + 1) * 8 bytes), merged at the end. Candidates are ordered by
 * (distance, index), so the lists do not depend on which thread met them first: the same result
 * for any thread count (each pair's distance is computed once, by one tile of a fixed tiling). */
#define SB 256

static inline int knn_before(float d, int j, float bd, int bj) { return d < bd || (d == bd && j < bj); }

static inline void knn_insert(float *best, int *out, int *cnt, int k, float d, int j) {
    if (*cnt == k && !knn_before(d, j, best[k - 1], out[k - 1])) return;
    int pos = *cnt < k ? (*cnt)++ : k - 1;
    while (pos > 0 && knn_before(d, j, best[pos - 1], out[pos - 1])) {
        best[pos] = best[pos - 1];
        out[pos] = out[pos - 1];
        pos--;
    }
    best[pos] = d;
    out[pos] = j;
}

/* rows a of tile (I0.., J0..): offer row a's candidates (columns b) to row I0 + a, and, when
 * `cols`, each (a, b) to row J0 + b as well; `skip`: the diagonal (I0 == J0) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void knn_tile(const float *dist, int bi, int bj, size_t I0, size_t J0, const float *rn, int cols,
                     int k, float *best, int *out, int *cnt, float *thrj) {
    const float *rj = rn + J0;
    if (cols)
        for (int b = 0; b < bj; b++) {
            size_t j = J0 + (size_t)b;
            thrj[b] = cnt[j] == k ? best[j * k + k - 1] : INFINITY;
        }
    for (int a = 0; a < bi; a++) {
        const float *row = dist + (size_t)a * bj;
        size_t i = I0 + (size_t)a;
        float ri = rn[i], *bi_ = best + i * k;
        int *oi = out + i * k;
        float thr = cnt[i] == k ? bi_[k - 1] : INFINITY;
        int anyr = 0, anyc = 0; /* one branch-free pass: does row a hold a candidate for anyone? */
        if (cols)
            for (int b = 0; b < bj; b++) {
                float d = row[b] + (ri + rj[b]);
                anyr |= d <= thr;
                anyc |= d <= thrj[b];
            }
        else
            for (int b = 0; b < bj; b++) anyr |= row[b] + (ri + rj[b]) <= thr;
        for (int b0 = 0; anyr && b0 < bj; b0 += 16) {
            int be = b0 + 16 < bj ? b0 + 16 : bj, hit = 0;
            for (int b = b0; b < be; b++) hit |= row[b] + (ri + rj[b]) <= thr;
            if (!hit) continue;
            for (int b = b0; b < be; b++) {
                float d = row[b] + (ri + rj[b]);
                if (d <= thr && (cols || b != a)) {
                    knn_insert(bi_, oi, &cnt[i], k, d, (int)(J0 + (size_t)b));
                    thr = cnt[i] == k ? bi_[k - 1] : INFINITY;
                }
            }
        }
        for (int b0 = 0; anyc && b0 < bj; b0 += 16) {
            int be = b0 + 16 < bj ? b0 + 16 : bj, hit = 0;
            for (int b = b0; b < be; b++) hit |= row[b] + (ri + rj[b]) <= thrj[b];
            if (!hit) continue;
            for (int b = b0; b < be; b++) {
                float d = row[b] + (ri + rj[b]);
                if (!(d <= thrj[b])) continue;
                size_t j = J0 + (size_t)b;
                knn_insert(best + j * k, out + j * k, &cnt[j], k, d, (int)i);
                thrj[b] = cnt[j] == k ? best[j * k + k - 1] : INFINITY;
            }
        }
    }
}

static int knn_self(const float *X, size_t n, int D, int k, const float *rn, int *idx) {
    size_t nb = (n + SB - 1) / SB;
    long ntask = (long)(nb * (nb + 1) / 2);
    int nth = omp_get_max_threads(), failed = 0;
    float **bests = calloc((size_t)nth, sizeof(float *));
    int **outs = calloc((size_t)nth, sizeof(int *)), **cnts = calloc((size_t)nth, sizeof(int *));
    if (!bests || !outs || !cnts) return free(bests), free(outs), free(cnts), MCR_NOMEM();
    int used = 1;
#pragma omp parallel num_threads(nth)
    {
        int t = omp_get_thread_num();
#pragma omp single
        used = omp_get_num_threads();
        float *dist = malloc((size_t)SB * SB * sizeof(float)), thrj[SB];
        float *best = bests[t] = mcr_malloc_big(n * (size_t)k * sizeof(float));
        int *out = outs[t] = mcr_malloc_big(n * (size_t)k * sizeof(int));
        int *cnt = cnts[t] = calloc(n, sizeof(int));
        if (!dist || !best || !out || !cnt) {
#pragma omp atomic write
            failed = 1;
        }
        /* tasks in row-major order of the upper triangle: consecutive tasks share block I */
#pragma omp for schedule(dynamic, 4)
        for (long task = 0; task < ntask; task++) {
            if (!dist || !best || !out || !cnt) continue;
            /* task -> (I, J), J >= I: row I starts at I*nb - I*(I-1)/2 */
            size_t bI = 0, rem = (size_t)task;
            while (rem >= nb - bI) rem -= nb - bI, bI++;
            size_t bJ = bI + rem, I0 = bI * SB, J0 = bJ * SB;
            int bi = (int)(n - I0 < SB ? n - I0 : SB), bj = (int)(n - J0 < SB ? n - J0 : SB);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi, bj, D, -2.0f, X + I0 * D, D,
                        X + J0 * D, D, 0.0f, dist, bj);
            knn_tile(dist, bi, bj, I0, J0, rn, bI != bJ, k, best, out, cnt, thrj);
        }
        free(dist);
    }
    if (!failed) {
#pragma omp parallel for schedule(static)
        for (size_t q = 0; q < n; q++) {
            float mb[KMAX];
            int mo[KMAX], mc = 0;
            for (int t = 0; t < used; t++)
                for (int a = 0; a < cnts[t][q]; a++)
                    knn_insert(mb, mo, &mc, k, bests[t][q * k + a], outs[t][q * k + a]);
            for (int a = 0; a < k; a++) idx[q * k + a] = a < mc ? mo[a] : -1;
        }
    }
    for (int t = 0; t < nth; t++) free(bests[t]), free(outs[t]), free(cnts[t]);
    free(bests), free(outs), free(cnts);
    return failed ? MCR_NOMEM() : MCR_OK;
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
    if (self_offset == 0 && Q == R && nq == nr) { /* a table's own neighbours */
        int rc = knn_self(R, nr, D, k, rn, idx);
        free(rn);
        return rc;
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

/* ---- compact rows: numeric dims + level indexes ------------------------------------------
 * References in blocks of MB rows, transposed (a feature's values of the block contiguous), so
 * that one query's distances to a block are a few vector passes: the squared differences of
 * each numeric dim, then w * mismatch of each level column. A block (MB * (dn + nc) * 4 bytes)
 * stays in cache while a tile of MQ queries passes over it. */
#define MB 256
#define MQ 64

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void mixed_dist(const float *qn, const int32_t *ql, const float *bn, const int32_t *bl, int dn, int nc,
                       int nb, float w, float *out) {
    for (int b = 0; b < nb; b++) out[b] = 0;
    for (int f = 0; f < dn; f++) {
        const float *col = bn + (size_t)f * MB;
        float v = qn[f];
        for (int b = 0; b < nb; b++) {
            float t = v - col[b];
            out[b] += t * t;
        }
    }
    float w1 = w, w2 = 2 * w;
    for (int c = 0; c < nc; c++) {
        const int32_t *col = bl + (size_t)c * MB;
        int32_t l = ql[c];
        for (int b = 0; b < nb; b++) {
            int32_t m = col[b];
            out[b] += m == l ? 0.0f : (m < 0 || l < 0) ? w1 : w2;
        }
    }
}

int mcr_knn_mixed(const mcr_mixed *Q, const mcr_mixed *R, float w, int k, int self, int *idx, float *dist) {
    if (k < 1 || k > KMAX) return mcr_err(MCR_EINTERNAL, "knn: k = %d outside 1..%d", k, KMAX);
    int dn = R->dn, nc = R->nc;
    size_t nr = R->n, nq = Q->n, nblk = (nr + MB - 1) / MB;
    float *BN = mcr_malloc_big((nblk ? nblk : 1) * MB * (size_t)(dn ? dn : 1) * sizeof(float));
    int32_t *BL = mcr_malloc_big((nblk ? nblk : 1) * MB * (size_t)(nc ? nc : 1) * sizeof(int32_t));
    if (!BN || !BL) return free(BN), free(BL), MCR_NOMEM();
#pragma omp parallel for schedule(static)
    for (size_t bk = 0; bk < nblk; bk++) {
        size_t j0 = bk * MB;
        int nb = (int)(nr - j0 < MB ? nr - j0 : MB);
        float *bn = BN + bk * MB * (size_t)dn;
        int32_t *bl = BL + bk * MB * (size_t)nc;
        for (int b = 0; b < nb; b++) {
            for (int f = 0; f < dn; f++) bn[(size_t)f * MB + b] = R->N[(j0 + b) * dn + f];
            for (int c = 0; c < nc; c++) bl[(size_t)c * MB + b] = R->L[(j0 + b) * nc + c];
        }
    }
    long ntiles = (long)((nq + MQ - 1) / MQ);
    int failed = 0;
#pragma omp parallel
    {
        float *dd = malloc((size_t)MB * sizeof(float)), *best = malloc((size_t)MQ * k * sizeof(float));
        int *out = malloc((size_t)MQ * k * sizeof(int)), cnt[MQ];
        if (!dd || !best || !out) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic)
        for (long tq = 0; tq < ntiles; tq++) {
            if (!dd || !best || !out) continue;
            size_t q0 = (size_t)tq * MQ;
            int nqt = (int)(nq - q0 < MQ ? nq - q0 : MQ);
            for (int a = 0; a < nqt; a++) cnt[a] = 0;
            for (size_t bk = 0; bk < nblk; bk++) {
                size_t j0 = bk * MB;
                int nb = (int)(nr - j0 < MB ? nr - j0 : MB);
                for (int a = 0; a < nqt; a++) {
                    size_t q = q0 + (size_t)a;
                    mixed_dist(Q->N + q * dn, Q->L + q * nc, BN + bk * MB * (size_t)dn, BL + bk * MB * (size_t)nc,
                               dn, nc, nb, w, dd);
                    float *bq = best + (size_t)a * k;
                    int *oq = out + (size_t)a * k;
                    for (int b = 0; b < nb; b++) {
                        size_t j = j0 + (size_t)b;
                        if (self && j == q) continue;
                        if (cnt[a] == k && !(dd[b] < bq[k - 1])) continue; /* j ascending: ties keep the lower */
                        knn_insert(bq, oq, &cnt[a], k, dd[b], (int)j);
                    }
                }
            }
            for (int a = 0; a < nqt; a++)
                for (int c = 0; c < k; c++) {
                    size_t q = q0 + (size_t)a;
                    idx[q * k + c] = c < cnt[a] ? out[(size_t)a * k + c] : -1;
                    if (dist) dist[q * k + c] = c < cnt[a] ? best[(size_t)a * k + c] : INFINITY;
                }
        }
        free(dd), free(best), free(out);
    }
    free(BN), free(BL);
    return failed ? MCR_NOMEM() : MCR_OK;
}

int mcr_nnref_make(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n, mcr_nnref *out) {
    memset(out, 0, sizeof *out);
    out->compact = mcr_encoder_is_wide(e), out->n = n, out->d = e->d;
    return out->compact ? mcr_encoder_transform_mixed(e, t, rows, n, &out->M)
                        : mcr_encoder_transform_float(e, t, rows, n, &out->X);
}

void mcr_nnref_free(mcr_nnref *r) {
    free(r->X);
    mcr_mixed_free(&r->M);
    memset(r, 0, sizeof *r);
}

int mcr_nnref_dist(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n, const mcr_nnref *ref,
                   double *out) {
    mcr_nnref q;
    int rc = mcr_nnref_make(e, t, rows, n, &q);
    if (rc) return rc;
    if (!ref->compact) rc = mcr_nn_dist(q.X, n, ref->X, ref->n, ref->d, out);
    else {
        int *i1 = malloc((n ? n : 1) * sizeof(int));
        float *d1 = malloc((n ? n : 1) * sizeof(float));
        rc = i1 && d1 ? mcr_knn_mixed(&q.M, &ref->M, 1, 1, 0, i1, d1) : MCR_NOMEM();
        for (size_t i = 0; !rc && i < n; i++) out[i] = sqrt((double)d1[i]);
        free(i1), free(d1);
    }
    mcr_nnref_free(&q);
    return rc;
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
