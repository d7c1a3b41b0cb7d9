/* classify.c — logistic regression (L-BFGS) of our own and the dispatch to xgboost. */
#include "classify.h"
#include <cblas.h>

void mcr_clf_config_default(mcr_clf_config *c, mcr_clf_kind kind) {
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->C = 1.0;
    c->rounds = 100;
    c->seed = 1;
}

const char *mcr_clf_name(mcr_clf_kind k) {
    return k == MCR_CLF_LOGREG ? "logreg" : k == MCR_CLF_RF ? "rf" : "xgb";
}
const char *mcr_clf_kind_name(mcr_clf_kind k) { return mcr_clf_name(k); }
int mcr_clf_kind_parse(const char *s, mcr_clf_kind *out) {
    for (int k = 0; k < MCR_CLF_N; k++)
        if (!strcmp(s, mcr_clf_name((mcr_clf_kind)k))) {
            *out = (mcr_clf_kind)k;
            return MCR_OK;
        }
    return mcr_err(MCR_EINVAL, "unknown classifier '%s' (logreg, rf, xgb)", s);
}

void mcr_clf_free(mcr_classifier *m) {
    if (!m) return;
    free(m->W);
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
    float *Wf, *Z;   /* [K, d], [n, K] scratch */
    float *G;        /* [n, K] residuals */
    float *GW;       /* [K, d] */
} lr_problem;

/* f(W) = sum_i w_i CE_i + lambda/2 ||W_{:, :d}||^2, gradient into g; W is [K, d+1] */
static double lr_eval(lr_problem *p, const double *W, double *g) {
    int d = p->d, K = p->K, D = d + 1;
    for (int k = 0; k < K; k++)
        for (int j = 0; j < d; j++) p->Wf[(size_t)k * d + j] = (float)W[(size_t)k * D + j];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p->n, K, d, 1.0f, p->X, d, p->Wf, d,
                0.0f, p->Z, K);
    double f = 0;
    double *gb = calloc((size_t)K, sizeof(double));
    for (size_t i = 0; i < p->n; i++) {
        double z[64], mx = -INFINITY, s = 0;
        double *zz = K <= 64 ? z : malloc((size_t)K * sizeof(double));
        for (int k = 0; k < K; k++) {
            zz[k] = p->Z[i * K + k] + W[(size_t)k * D + d];
            if (zz[k] > mx) mx = zz[k];
        }
        for (int k = 0; k < K; k++) s += exp(zz[k] - mx);
        double lse = mx + log(s), wi = p->w ? p->w[i] : 1.0;
        f += wi * (lse - zz[p->y[i]]);
        for (int k = 0; k < K; k++) {
            double r = wi * (exp(zz[k] - lse) - (k == p->y[i]));
            p->G[i * K + k] = (float)r;
            gb[k] += r;
        }
        if (zz != z) free(zz);
    }
    /* GW [K, d] = G^T X */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, d, (int)p->n, 1.0f, p->G, K, p->X, d,
                0.0f, p->GW, d);
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

int mcr_clf_fit(const mcr_clf_config *c, const float *X, const int *y, size_t n, int d, int K,
                mcr_classifier **out) {
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
    if (c->kind == MCR_CLF_LOGREG) {
        size_t N = (size_t)K * (d + 1);
        lr_problem p = {X, y, w, n, d, K, 1.0 / c->C, NULL, NULL, NULL, NULL};
        p.Wf = malloc((size_t)K * d * sizeof(float) + 1);
        p.Z = malloc(n * K * sizeof(float));
        p.G = malloc(n * K * sizeof(float));
        p.GW = malloc((size_t)K * d * sizeof(float) + 1);
        m->W = calloc(N, sizeof(double));
        if (!p.Wf || !p.Z || !p.G || !p.GW || !m->W) rc = MCR_NOMEM();
        else rc = lbfgs(&p, m->W, N, 1000, 1e-5);
        free(p.Wf), free(p.Z), free(p.G), free(p.GW);
    } else {
        yf = malloc(n * sizeof(float));
        if (w && !(wf = malloc(n * sizeof(float)))) rc = MCR_NOMEM();
        if (!yf) rc = MCR_NOMEM();
        if (!rc) {
            for (size_t i = 0; i < n; i++) yf[i] = (float)y[i];
            if (w)
                for (size_t i = 0; i < n; i++) wf[i] = (float)w[i];
            rc = mcr_xgb_fit(c, X, yf, wf, n, d, K, &m->booster);
        }
    }
done:
    free(w), free(wf), free(yf);
    if (rc) mcr_clf_free(m);
    else *out = m;
    return rc;
}

int mcr_clf_predict(const mcr_classifier *m, const float *X, size_t n, double *prob) {
    int d = m->d, K = m->K, D = d + 1;
    if (m->kind != MCR_CLF_LOGREG) return mcr_xgb_predict(m->booster, X, n, d, K, prob);
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
