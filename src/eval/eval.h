/* eval.h — private: downstream classifiers on encoded rows (numerics standardised, one-hot).
 *   logreg  multinomial logistic regression, L2 (scikit-learn's C = 1 objective:
 *           sum_i w_i CE_i + ||W||^2 / (2C), bias unpenalised), solved by L-BFGS to a
 *           max-norm gradient below 1e-5 of the initial one (or 1000 iterations)
 *   xgb     gradient boosting, libxgboost (100 rounds, depth 6, eta 0.3, hist)
 *   rf      xgboost's random-forest mode: one round of 100 parallel trees, row subsample
 *           0.632, sqrt(d) columns per split, depth 12, eta 1
 *   mlp     d -> 128 -> 64 -> K, ReLU, our linear kernels (nn.h); Adam (lr 1e-3, weight decay
 *           1e-4), batches of 256, 20 epochs capped at 3000 steps
 * logreg and mlp minimise the (class-weighted) cross-entropy, or with focal_gamma > 0 the focal
 * loss -(1 - p_t)^gamma log p_t (Lin et al. 2017).
 * Class weights: 'balanced' gives each class total weight n / K (as scikit-learn). */
#ifndef MCR_EVAL_H
#define MCR_EVAL_H
#include "tabular/tabular.h"

/* assess.c: the higher of a scope's two detection AUROCs, NaN ignored */
double mcr_assess_detection(const mcr_assess_scope *s);
/* a score and its 0/1 label; qsort comparator by score, highest first (AUROC, AP, thresholds) */
typedef struct {
    double s;
    int y;
} mcr_scored;
int mcr_cmp_scored_desc(const void *a, const void *b);
/* Hanley & McNeil (1982): the standard error of an AUROC A from n1 positives, n2 negatives */
double mcr_auroc_se(double A, size_t n1, size_t n2);
/* the index of the largest of p[0..K) (ties: the first): the predicted class of a probability row */
int mcr_argmax(const double *p, int K);
/* rebalance.c: the columns a downstream classifier (or SMOTE's interpolation) sees: all but the
 * target jt, the dropped and the identifier-like ones (and js, the sensitive column, with
 * group-balance, where it defines the cells; -1: none). feat[t->ncols]. If the identifiers
 * cannot be told (a bad `feature` name), every other column is listed and that error returned. */
int mcr_augment_features(const mcr_table *t, int jt, int js, const mcr_augment_config *c, int *feat, int *nfeat);
/* mcrage and its selections (mcrage-plausible, mcrage-boundary): one fitted model, sampled
 * (mcrage-auto, which chooses its own amount and fits its own models, is not one of them) */
static inline int mcr_aug_is_mcrage(mcr_aug_method m) {
    return m == MCR_AUG_MCRAGE || m == MCR_AUG_MCRAGE_PLAUSIBLE || m == MCR_AUG_MCRAGE_BOUNDARY;
}
/* evaluate.c: the threshold on class pos's probability (prob[n, K]) that maximises its F1 on
 * labels y (ties: the lowest), among midpoints of consecutive distinct scores; 0.5 without
 * positives */
double mcr_best_threshold(const double *prob, const int *y, size_t n, int K, int pos);
/* evaluate.c: mean of the finite values of v[n] and the half-width of its 95% Student-t
 * interval (NaN with fewer than 2); image evaluation (ieval.c) uses it too */
void mcr_mean_ci95(const double *v, int n, double *mean, double *half);



typedef struct mcr_clf_config {
    mcr_clf_kind kind;
    int balanced;      /* class weights n / (K n_k) */
    double C;          /* logreg inverse regularisation (default 1) */
    int rounds;        /* xgb boosting rounds (default 100) */
    double focal_gamma; /* logreg / mlp: 0 = cross-entropy */
    uint64_t seed;
    int threads;
} mcr_clf_config;

typedef struct mcr_classifier {
    mcr_clf_kind kind;
    int d, K;
    double *W;         /* logreg: [K, d + 1] (last column: bias) */
    float *P;          /* mlp parameters */
    size_t nparams;
    void *booster;     /* xgb / rf */
    int sparse;        /* xgb / rf fitted on sparse rows: predicts on sparse rows only */
} mcr_classifier;

void mcr_clf_config_default(mcr_clf_config *c, mcr_clf_kind kind);
const char *mcr_clf_name(mcr_clf_kind k);
int mcr_clf_fit(const mcr_clf_config *c, const float *X, const int *y, size_t n, int d, int K,
                mcr_classifier **out);
/* prob [n, K] */
int mcr_clf_predict(const mcr_classifier *m, const float *X, size_t n, double *prob);
/* The same on encoded sparse rows: xgb and rf take them as they are (a one-hot 0 is "missing",
 * the same split; a booster so fitted predicts from sparse rows only); logreg and mlp fit on
 * the rows made dense, and predict on dense chunks of them. */
int mcr_clf_fit_csr(const mcr_clf_config *c, const mcr_csr *S, const int *y, int K, mcr_classifier **out);
int mcr_clf_predict_csr(const mcr_classifier *m, const mcr_csr *S, double *prob);
void mcr_clf_free(mcr_classifier *m);

/* Loss of one row with logits z[K], class y, weight w: cross-entropy (gamma = 0) or focal;
 * writes d loss / d z into g[K]. */
double mcr_softmax_loss(const double *z, int K, int y, double w, double gamma, double *g);

/* clf_xgb.c */
/* dense rows X[n, d] (NaN missing), or with S != NULL its sparse rows (X unused) */
int mcr_xgb_fit(const mcr_clf_config *c, const float *X, const mcr_csr *S, const float *y, const float *w,
                size_t n, int d, int K, void **booster);
int mcr_xgb_predict(void *booster, const float *X, const mcr_csr *S, size_t n, int d, int K, double *prob);
void mcr_xgb_free(void *booster);
/* report.c: pieces for other modules' HTML pages (image evaluate's report). The stream of a page
 * and HTML escaping, for the caller's own tables; a PNG inline (base64) at scale x its w x h;
 * grouped bars with 95% CI whiskers (mean / half [nser * ncat], series-major); lines of
 * (x, y, half) per series (npts[k] points each, concatenated) with dashed reference lines. */
FILE *mcr_report_stream(mcr_report *r);
void mcr_report_escape(FILE *f, const char *s);
void mcr_report_png(mcr_report *r, const unsigned char *png, size_t len, int w, int h, int scale, const char *alt);
void mcr_report_bars_ci(mcr_report *r, const char *label, int ncat, const char *const *cats, int nser,
                        const char *const *series, const double *mean, const double *half, const char *ylabel, double y0,
                        double y1, const char *note);
void mcr_report_lines_ci(mcr_report *r, const char *label, int nser, const char *const *series, const int *npts,
                         const double *x, const double *y, const double *half, int nref, const char *const *refname,
                         const double *refval, const char *xlabel, const char *ylabel);

#endif
