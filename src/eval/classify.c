/* classify.c — logistic regression (L-BFGS) of our own and the dispatch to xgboost. */
#include "eval/eval.h"
#include "nn/nn.h"
#include <cblas.h>
#include <omp.h>

void mcr_clf_config_default(mcr_clf_config *c, mcr_clf_kind kind) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->C = 1.0;
    c->rounds = 100;
    c->seed = 1;
}

const char *mcr_clf_name(mcr_clf_kind k) {
    return k == MCR_CLF_LOGREG ? "logreg" : k == MCR_CLF_RF ? "rf" : k == MCR_CLF_MLP ? "mlp" : "xgb";
}

double mcr_softmax_loss(const double *z, int K, int y, double w, double gamma, double *g) {
    double mx = z[0], s = 0;
    for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
    for (int k = 0; k < K; k++) s += exp(z[k] - mx);
    double lse = mx + log(s), logp = z[y] - lse, p = exp(logp);
    if (gamma == 0) { /* w (-log p_y); d/dz_k = w (p_k - [k = y]) */
        for (int k = 0; k < K; k++) g[k] = w * (exp(z[k] - lse) - (k == y));
        return -w * logp;
    }
    /* L = -(1-p)^gamma log p; dL/dp = gamma (1-p)^(gamma-1) log p - (1-p)^gamma / p;
     * dp/dz_k = p ([k = y] - p_k)  =>  dL/dz_k = dL/dp * p ([k = y] - p_k) */
    double q = 1 - p;
    double dLdp_p = gamma * pow(q, gamma - 1) * logp * p - pow(q, gamma); /* dL/dp * p */
    for (int k = 0; k < K; k++) g[k] = w * dLdp_p * ((k == y) - exp(z[k] - lse));
    return -w * pow(q, gamma) * logp;
}
const char *mcr_clf_kind_name(mcr_clf_kind k) { return mcr_clf_name(k); }
int mcr_clf_kind_parse(const char *s, mcr_clf_kind *out) {
    for (int k = 0; k < MCR_CLF_N; k++)
        if (!strcmp(s, mcr_clf_name((mcr_clf_kind)k))) {
            *out = (mcr_clf_kind)k;
            return MCR_OK;
        }
    return mcr_err(MCR_EINVAL, "unknown classifier '%s' (logreg, rf, xgb, mlp)", s);
}

void mcr_clf_free(mcr_classifier *m) {
    if (!m) return;
    free(m->W);
    free(m->P);
    mcr_xgb_free(m->booster);
    free(m);
}

/* ---- logistic regression ---------------------------------------------------------------- */
typedef struct {
    const float *X;
    const int *y;
    const double *w;
    size_t n;
    int d, K;
    double lambda;   /* 1 / C */
    double gamma;    /* focal loss (0 = cross-entropy) */
    float *Wf, *Z;   /* [K, d], [n, K] scratch */
    float *G;        /* [n, K] residuals */
    float *GW;       /* [K, d] */
    float *acc;      /* [threads, K, d] per-thread sums of G^T X (K <= LR_SMALLK) */
    /* X in compressed rows when it is mostly zeros (one-hot columns): rp[n + 1], ci / cv[nnz] */
    size_t *rp;
    int *ci;
    float *cv;
} lr_problem;

/* X as compressed rows if at most a quarter of its entries are non-zero (else leaves p dense) */
static int lr_sparsify(lr_problem *p) {
    size_t nnz = 0, total = p->n * (size_t)p->d;
    for (size_t q = 0; q < total; q++) nnz += p->X[q] != 0;
    if (nnz * 4 > total) return MCR_OK;
    p->rp = malloc((p->n + 1) * sizeof(size_t));
    p->ci = malloc((nnz + 1) * sizeof(int));
    p->cv = malloc((nnz + 1) * sizeof(float));
    if (!p->rp || !p->ci || !p->cv) return MCR_NOMEM();
    size_t at = 0;
    for (size_t i = 0; i < p->n; i++) {
        p->rp[i] = at;
        const float *x = p->X + i * p->d;
        for (int j = 0; j < p->d; j++)
            if (x[j] != 0) p->ci[at] = j, p->cv[at++] = x[j];
    }
    p->rp[p->n] = at;
    return MCR_OK;
}

/* For a few classes, Z = X W^T and GW = G^T X in one pass over X each: sgemm would copy all of
 * X into its packed layout on every L-BFGS iteration to produce two or three output columns
 * (measured: 55% of a wide table's assessment time in OpenBLAS's copy routines). Rows are split
 * statically over threads and the per-thread sums added in thread order, so a thread count
 * gives one result. */
#define LR_SMALLK 8
/* x . w summed in 8 fixed lanes, then the lanes in order: the compiler vectorises the lanes at
 * any vector width without reordering a sum, so every CPU and build gives the same result
 * (an `omp simd` reduction sums in as many lanes as the vector unit has). */
static float dot8(const float *x, const float *w, int d) {
    float acc[8] = {0};
    int j = 0;
    for (; j + 8 <= d; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[j + l] * w[j + l];
    float s = 0;
    for (int l = 0; l < 8; l++) s += acc[l];
    for (; j < d; j++) s += x[j] * w[j];
    return s;
}

static void lr_forward_small(const lr_problem *p) {
    int d = p->d, K = p->K;
#pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)p->n; i++) {
        if (p->rp) {
            for (int k = 0; k < K; k++) {
                const float *w = p->Wf + (size_t)k * d;
                float s = 0;
                for (size_t q = p->rp[i]; q < p->rp[i + 1]; q++) s += p->cv[q] * w[p->ci[q]];
                p->Z[(size_t)i * K + k] = s;
            }
            continue;
        }
        const float *x = p->X + (size_t)i * d;
        for (int k = 0; k < K; k++) {
            const float *w = p->Wf + (size_t)k * d;
            p->Z[(size_t)i * K + k] = dot8(x, w, d);
        }
    }
}

static void lr_backward_small(const lr_problem *p) {
    int d = p->d, K = p->K, T = omp_get_max_threads();
    float *acc = p->acc;
    memset(acc, 0, (size_t)T * K * d * sizeof(float));
#pragma omp parallel
    {
        float *a = acc + (size_t)omp_get_thread_num() * K * d;
#pragma omp for schedule(static)
        for (long i = 0; i < (long)p->n; i++) {
            const float *x = p->X + (size_t)i * d;
            for (int k = 0; k < K; k++) {
                float g = p->G[(size_t)i * K + k];
                float *ak = a + (size_t)k * d;
                if (g == 0) continue;
                if (p->rp)
                    for (size_t q = p->rp[i]; q < p->rp[i + 1]; q++) ak[p->ci[q]] += g * p->cv[q];
                else
                    for (int j = 0; j < d; j++) ak[j] += g * x[j];
            }
        }
    }
    memcpy(p->GW, acc, (size_t)K * d * sizeof(float));
    for (int t = 1; t < T; t++)
        for (size_t q = 0; q < (size_t)K * d; q++) p->GW[q] += acc[(size_t)t * K * d + q];
}

/* f(W) = sum_i w_i CE_i + lambda/2 ||W_{:, :d}||^2, gradient into g; W is [K, d+1] */
static double lr_eval(lr_problem *p, const double *W, double *g) {
    int d = p->d, K = p->K, D = d + 1;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d; j++) p->Wf[(size_t)k * d + j] = (float)W[(size_t)k * D + j];
    if (K <= LR_SMALLK) lr_forward_small(p);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->n, K, d, 1.0f, p->X, d, p->Wf, d,
                     0.0f, p->Z, K);
    double f = 0;
    double *gb = calloc((size_t)K, sizeof(double));
    double *zz = malloc((size_t)K * 2 * sizeof(double));
    if (!zz || !gb) {
        free(zz), free(gb);
        return NAN;
    }
    for (size_t i = 0; i < p->n; i++) {
        double *gz = zz + K;
        for (int k = 0; k < K; k++) zz[k] = p->Z[i * K + k] + W[(size_t)k * D + d];
        f += mcr_softmax_loss(zz, K, p->y[i], p->w ? p->w[i] : 1.0, p->gamma, gz);
        for (int k = 0; k < K; k++) {
            p->G[i * K + k] = (float)gz[k];
            gb[k] += gz[k];
        }
    }
    free(zz);
    /* GW [K, d] = G^T X */
    if (K > LR_SMALLK)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, d, (int)p->n, 1.0f, p->G, K, p->X, d,
                    0.0f, p->GW, d);
    else
        lr_backward_small(p);
    for (int k = 0; k < K; k++) {
        for (int j = 0; j < d; j++) {
            double wk = W[(size_t)k * D + j];
            f += 0.5 * p->lambda * wk * wk;
            g[(size_t)k * D + j] = p->GW[(size_t)k * d + j] + p->lambda * wk;
        }
        g[(size_t)k * D + d] = gb[k];
    }
    free(gb);
    return f;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static double maxabs(const double *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* L-BFGS (memory 10) with a backtracking Armijo line search. */
static int lbfgs(lr_problem *p, double *W, size_t N, int maxit, double rtol) {
    enum { M = 10 };
    double *g = calloc(N, sizeof(double)), *gn = calloc(N, sizeof(double)), *dir = calloc(N, sizeof(double));
    double *Wn = calloc(N, sizeof(double)), *S = calloc(M * N, sizeof(double)), *Yv = calloc(M * N, sizeof(double));
    double rho[M], alpha[M];
    if (!g || !gn || !dir || !Wn || !S || !Yv) {
        free(g), free(gn), free(dir), free(Wn), free(S), free(Yv);
        return MCR_NOMEM();
    }
    double f = lr_eval(p, W, g), g0 = maxabs(g, N);
    int m = 0, head = 0;
    for (int it = 0; it < maxit && maxabs(g, N) > rtol * fmax(g0, 1e-12); it++) {
        /* two-loop recursion */
        memcpy(dir, g, N * sizeof(double));
        for (int i = 0; i < m; i++) {
            int j = (head - 1 - i + M) % M;
            alpha[j] = rho[j] * dot(S + (size_t)j * N, dir, N);
            for (size_t q = 0; q < N; q++) dir[q] -= alpha[j] * Yv[(size_t)j * N + q];
        }
        double gamma = 1.0;
        if (m > 0) {
            int j = (head - 1 + M) % M;
            gamma = dot(S + (size_t)j * N, Yv + (size_t)j * N, N) / dot(Yv + (size_t)j * N, Yv + (size_t)j * N, N);
        } else {
            gamma = 1.0 / fmax(maxabs(g, N), 1e-12) * 1e-1;
        }
        for (size_t q = 0; q < N; q++) dir[q] *= gamma;
        for (int i = m - 1; i >= 0; i--) {
            int j = (head - 1 - i + M) % M;
            double beta = rho[j] * dot(Yv + (size_t)j * N, dir, N);
            for (size_t q = 0; q < N; q++) dir[q] += S[(size_t)j * N + q] * (alpha[j] - beta);
        }
        double gd = dot(g, dir, N);
        if (gd <= 0) { /* not a descent direction: restart from steepest descent */
            m = 0;
            for (size_t q = 0; q < N; q++) dir[q] = g[q] / fmax(maxabs(g, N), 1e-12) * 1e-1;
            gd = dot(g, dir, N);
        }
        double step = 1.0, fn = 0;
        int ok = 0;
        for (int ls = 0; ls < 40; ls++) {
            for (size_t q = 0; q < N; q++) Wn[q] = W[q] - step * dir[q];
            fn = lr_eval(p, Wn, gn);
            if (fn <= f - 1e-4 * step * gd) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        if (!ok) break; /* no further decrease possible at float precision */
        double *s = S + (size_t)head * N, *yv = Yv + (size_t)head * N;
        for (size_t q = 0; q < N; q++) s[q] = Wn[q] - W[q], yv[q] = gn[q] - g[q];
        double sy = dot(s, yv, N);
        if (sy > 1e-12) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % M;
            if (m < M) m++;
        }
        memcpy(W, Wn, N * sizeof(double));
        memcpy(g, gn, N * sizeof(double));
        double rel = (f - fn) / fmax(fabs(f), 1e-12);
        f = fn;
        if (rel < 1e-12) break;
    }
    free(g), free(gn), free(dir), free(Wn), free(S), free(Yv);
    return MCR_OK;
}

/* ---- MLP: d -> 128 -> 64 -> K on our kernels ------------------------------------------ */
#define MLP_H1 128
#define MLP_H2 64
#define MLP_B 256

static size_t mlp_layout(int d, int K, size_t off[6]) {
    size_t o = 0;
    off[0] = o, o += (size_t)MLP_H1 * d; /* W1 [H1, d] */
    off[1] = o, o += MLP_H1;
    off[2] = o, o += (size_t)MLP_H2 * MLP_H1;
    off[3] = o, o += MLP_H2;
    off[4] = o, o += (size_t)K * MLP_H2;
    off[5] = o, o += (size_t)K;
    return o;
}

/* forward for B rows; z1/h1 [B, H1], z2/h2 [B, H2], out [B, K] */
static void mlp_forward(const float *P, const size_t *off, const float *x, int B, int d, int K,
                        float *z1, float *h1, float *z2, float *h2, float *out) {
    linear_forward(z1, x, P + off[0], P + off[1], B, d, MLP_H1);
    relu_forward(h1, z1, (size_t)B * MLP_H1);
    linear_forward(z2, h1, P + off[2], P + off[3], B, MLP_H1, MLP_H2);
    relu_forward(h2, z2, (size_t)B * MLP_H2);
    linear_forward(out, h2, P + off[4], P + off[5], B, MLP_H2, K);
}

static int mlp_fit(const mcr_clf_config *c, const float *X, const int *y, const double *w, size_t n,
                   int d, int K, mcr_classifier *m) {
    size_t off[6], np = mlp_layout(d, K, off);
    m->nparams = np;
    float *P = m->P = malloc(np * sizeof(float));
    float *G = calloc(np, sizeof(float)), *M1 = calloc(np, sizeof(float)), *V = calloc(np, sizeof(float));
    size_t act = (size_t)MLP_B * (2 * MLP_H1 + 2 * MLP_H2 + 2 * (size_t)K + d + MLP_H1 + 2 * MLP_H2);
    float *mem = malloc(act * sizeof(float));
    size_t *perm = malloc(n * sizeof(size_t));
    double *zz = malloc(2 * (size_t)K * sizeof(double));
    if (!P || !G || !M1 || !V || !mem || !perm || !zz) {
        free(G), free(M1), free(V), free(mem), free(perm), free(zz);
        return MCR_NOMEM();
    }
    float *z1 = mem, *h1 = z1 + MLP_B * MLP_H1, *z2 = h1 + MLP_B * MLP_H1, *h2 = z2 + MLP_B * MLP_H2;
    float *o = h2 + MLP_B * MLP_H2, *dout = o + MLP_B * K, *xb = dout + MLP_B * K;
    float *dh1 = xb + (size_t)MLP_B * d, *dh2 = dh1 + MLP_B * MLP_H1, *dz2 = dh2 + MLP_B * MLP_H2;
    mcr_rng r;
    mcr_rng_seed(&r, c->seed, MCR_STREAM_CLASSIFY);
    /* PyTorch Linear initialisation */
    size_t fan[3] = {(size_t)d, MLP_H1, MLP_H2};
    for (int l = 0; l < 3; l++) {
        float bound = 1.0f / sqrtf((float)fan[l]);
        for (size_t i = off[2 * l]; i < (l < 2 ? off[2 * l + 2] : np); i++)
            P[i] = (float)((2 * mcr_rng_uniform(&r) - 1) * bound);
    }
    for (size_t i = 0; i < n; i++) perm[i] = i;
    size_t steps_per_epoch = (n + MLP_B - 1) / MLP_B, steps = 20 * steps_per_epoch;
    if (steps > 3000) steps = 3000;
    mcr_adamw opt = {1e-3f, 0.9f, 0.999f, 1e-8f, 1e-4f, 0};
    size_t pos = n;
    for (size_t step = 0; step < steps; step++) {
        int B = 0;
        size_t idx[MLP_B];
        while (B < MLP_B && B < (int)n) {
            if (pos == n) {
                mcr_rng_shuffle(&r, perm, n);
                pos = 0;
            }
            idx[B] = perm[pos++];
            memcpy(xb + (size_t)B * d, X + idx[B] * d, (size_t)d * sizeof(float));
            B++;
        }
        mlp_forward(P, off, xb, B, d, K, z1, h1, z2, h2, o);
        for (int b = 0; b < B; b++) {
            for (int k = 0; k < K; k++) zz[k] = o[b * K + k];
            mcr_softmax_loss(zz, K, y[idx[b]], w ? w[idx[b]] : 1.0, c->focal_gamma, zz + K);
            for (int k = 0; k < K; k++) dout[b * K + k] = (float)(zz[K + k] / B);
        }
        memset(G, 0, np * sizeof(float));
        memset(dh2, 0, (size_t)B * MLP_H2 * sizeof(float));
        linear_backward(dh2, G + off[4], G + off[5], dout, h2, P + off[4], B, MLP_H2, K);
        memset(dz2, 0, (size_t)B * MLP_H2 * sizeof(float));
        relu_backward(dz2, dh2, z2, (size_t)B * MLP_H2);
        memset(dh1, 0, (size_t)B * MLP_H1 * sizeof(float));
        linear_backward(dh1, G + off[2], G + off[3], dz2, h1, P + off[2], B, MLP_H1, MLP_H2);
        for (size_t i = 0; i < (size_t)B * MLP_H1; i++) dh1[i] = z1[i] > 0 ? dh1[i] : 0.0f; /* dz1 in place */
        linear_backward(NULL, G + off[0], G + off[1], dh1, xb, P + off[0], B, d, MLP_H1);
        adamw_update(&opt, P, G, M1, V, np, opt.lr);
    }
    free(G), free(M1), free(V), free(mem), free(perm), free(zz);
    return MCR_OK;
}

static int mlp_predict(const mcr_classifier *m, const float *X, size_t n, double *prob) {
    size_t off[6];
    int d = m->d, K = m->K;
    mlp_layout(d, K, off);
    float *mem = malloc((size_t)MLP_B * (2 * MLP_H1 + 2 * MLP_H2 + K) * sizeof(float));
    if (!mem) return MCR_NOMEM();
    float *z1 = mem, *h1 = z1 + MLP_B * MLP_H1, *z2 = h1 + MLP_B * MLP_H1, *h2 = z2 + MLP_B * MLP_H2;
    float *o = h2 + MLP_B * MLP_H2;
    for (size_t i0 = 0; i0 < n; i0 += MLP_B) {
        int B = (int)(n - i0 < MLP_B ? n - i0 : MLP_B);
        mlp_forward(m->P, off, X + i0 * d, B, d, K, z1, h1, z2, h2, o);
        for (int b = 0; b < B; b++) {
            double mx = o[b * K], s = 0, *p = prob + (i0 + b) * K;
            for (int k = 1; k < K; k++) mx = o[b * K + k] > mx ? o[b * K + k] : mx;
            for (int k = 0; k < K; k++) s += (p[k] = exp(o[b * K + k] - mx));
            for (int k = 0; k < K; k++) p[k] /= s;
        }
    }
    free(mem);
    return MCR_OK;
}

static int clf_fit(const mcr_clf_config *c, const float *X, const mcr_csr *S, const int *y, size_t n, int d,
                   int K, mcr_classifier **out) {
    *out = NULL;
    if (n == 0) return mcr_err(MCR_EINVAL, "classifier: no training rows");
    mcr_classifier *m = calloc(1, sizeof *m);
    double *w = NULL;
    float *wf = NULL, *yf = NULL;
    int rc = MCR_OK;
    if (!m) return MCR_NOMEM();
    m->kind = c->kind;
    m->d = d;
    m->K = K;
    if (c->balanced) {
        size_t *cnt = calloc((size_t)K, sizeof(size_t));
        w = malloc(n * sizeof(double));
        if (!cnt || !w) {
            free(cnt);
            rc = MCR_NOMEM();
            goto done;
        }
        for (size_t i = 0; i < n; i++) cnt[y[i]]++;
        int present = 0;
        for (int k = 0; k < K; k++) present += cnt[k] > 0;
        for (size_t i = 0; i < n; i++) w[i] = (double)n / ((double)present * cnt[y[i]]);
        free(cnt);
    }
    if (c->kind == MCR_CLF_MLP) {
        rc = mlp_fit(c, X, y, w, n, d, K, m);
    } else if (c->kind == MCR_CLF_LOGREG) {
        size_t N = (size_t)K * (d + 1);
        lr_problem p = {X, y, w, n, d, K, 1.0 / c->C, c->focal_gamma, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
        p.Wf = malloc((size_t)K * d * sizeof(float) + 1);
        p.Z = malloc(n * K * sizeof(float));
        p.G = malloc(n * K * sizeof(float));
        p.GW = malloc((size_t)K * d * sizeof(float) + 1);
        if (K <= LR_SMALLK) p.acc = malloc((size_t)omp_get_max_threads() * K * d * sizeof(float) + 1);
        m->W = calloc(N, sizeof(double));
        if (!p.Wf || !p.Z || !p.G || !p.GW || !m->W || (K <= LR_SMALLK && !p.acc)) rc = MCR_NOMEM();
        else if (K <= LR_SMALLK) rc = lr_sparsify(&p);
        if (!rc) rc = lbfgs(&p, m->W, N, 1000, 1e-5);
        free(p.Wf), free(p.Z), free(p.G), free(p.GW), free(p.acc), free(p.rp), free(p.ci), free(p.cv);
    } else {
        yf = malloc(n * sizeof(float));
        if (w && !(wf = malloc(n * sizeof(float)))) rc = MCR_NOMEM();
        if (!yf) rc = MCR_NOMEM();
        if (!rc) {
            for (size_t i = 0; i < n; i++) yf[i] = (float)y[i];
            if (w)
                for (size_t i = 0; i < n; i++) wf[i] = (float)w[i];
            rc = mcr_xgb_fit(c, X, S, yf, wf, n, d, K, &m->booster);
            m->sparse = S != NULL;
        }
    }
done:
    free(w), free(wf), free(yf);
    if (rc) mcr_clf_free(m);
    else *out = m;
    return rc;
}

int mcr_clf_fit(const mcr_clf_config *c, const float *X, const int *y, size_t n, int d, int K,
                mcr_classifier **out) {
    return clf_fit(c, X, NULL, y, n, d, K, out);
}

int mcr_clf_fit_csr(const mcr_clf_config *c, const mcr_csr *S, const int *y, int K, mcr_classifier **out) {
    if (c->kind == MCR_CLF_XGB || c->kind == MCR_CLF_RF) return clf_fit(c, NULL, S, y, S->n, S->d, K, out);
    *out = NULL;
    float *X = mcr_malloc_big((S->n ? S->n : 1) * (size_t)S->d * sizeof(float) + 1);
    if (!X) return MCR_NOMEM();
    mcr_csr_dense(S, 0, S->n, X);
    int rc = clf_fit(c, X, NULL, y, S->n, S->d, K, out);
    free(X);
    return rc;
}

int mcr_clf_predict_csr(const mcr_classifier *m, const mcr_csr *S, double *prob) {
    if (S->d != m->d) return mcr_err(MCR_EINVAL, "classifier: rows of %d dims for a model of %d", S->d, m->d);
    if (m->sparse) return mcr_xgb_predict(m->booster, NULL, S, S->n, m->d, m->K, prob);
    const size_t CH = 4096;
    float *X = malloc(CH * (size_t)m->d * sizeof(float) + 1);
    int rc = X ? MCR_OK : MCR_NOMEM();
    for (size_t r0 = 0; r0 < S->n && !rc; r0 += CH) {
        size_t r1 = S->n - r0 < CH ? S->n : r0 + CH;
        mcr_csr_dense(S, r0, r1, X);
        rc = mcr_clf_predict(m, X, r1 - r0, prob + r0 * (size_t)m->K);
    }
    free(X);
    return rc;
}

int mcr_clf_predict(const mcr_classifier *m, const float *X, size_t n, double *prob) {
    int d = m->d, K = m->K, D = d + 1;
    if (m->kind == MCR_CLF_MLP) return mlp_predict(m, X, n, prob);
    if (m->sparse) return mcr_err(MCR_EINVAL, "classifier: a booster fitted on sparse rows predicts from sparse rows");
    if (m->kind != MCR_CLF_LOGREG) return mcr_xgb_predict(m->booster, X, NULL, n, d, K, prob);
    for (size_t i = 0; i < n; i++) {
        double mx = -INFINITY, s = 0;
        double *z = prob + i * K;
        for (int k = 0; k < K; k++) {
            double a = m->W[(size_t)k * D + d];
            const double *wk = m->W + (size_t)k * D;
            const float *x = X + i * d;
            for (int j = 0; j < d; j++) a += wk[j] * x[j];
            z[k] = a;
            if (a > mx) mx = a;
        }
        for (int k = 0; k < K; k++) s += (z[k] = exp(z[k] - mx));
        for (int k = 0; k < K; k++) z[k] /= s;
    }
    return MCR_OK;
}
