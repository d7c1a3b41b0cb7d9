/* classify.h — downstream classifiers on encoded rows (numerics standardised, one-hot).
 *   logreg  multinomial logistic regression, L2 (scikit-learn's C = 1 objective:
 *           sum_i w_i CE_i + ||W||^2 / (2C), bias unpenalised), solved by L-BFGS to a
 *           max-norm gradient below 1e-5 of the initial one (or 1000 iterations)
 *   xgb     gradient boosting, libxgboost (100 rounds, depth 6, eta 0.3, hist)
 *   rf      xgboost's random-forest mode: one round of 100 parallel trees, row subsample
 *           0.632, sqrt(d) columns per split, depth 12, eta 1
 * Class weights: 'balanced' gives each class total weight n / K (as scikit-learn). */
#ifndef MCR_CLASSIFY_H
#define MCR_CLASSIFY_H
#include "mcr_int.h"


typedef struct mcr_clf_config {
    mcr_clf_kind kind;
    int balanced;      /* class weights n / (K n_k) */
    double C;          /* logreg inverse regularisation (default 1) */
    int rounds;        /* xgb boosting rounds (default 100) */
    uint64_t seed;
    int threads;
} mcr_clf_config;

typedef struct mcr_classifier {
    mcr_clf_kind kind;
    int d, K;
    double *W;         /* logreg: [K, d + 1] (last column: bias) */
    void *booster;     /* xgb / rf */
} mcr_classifier;

void mcr_clf_config_default(mcr_clf_config *c, mcr_clf_kind kind);
const char *mcr_clf_name(mcr_clf_kind k);
int mcr_clf_fit(const mcr_clf_config *c, const float *X, const int *y, size_t n, int d, int K,
                mcr_classifier **out);
/* prob [n, K] */
int mcr_clf_predict(const mcr_classifier *m, const float *X, size_t n, double *prob);
void mcr_clf_free(mcr_classifier *m);

/* clf_xgb.c */
int mcr_xgb_fit(const mcr_clf_config *c, const float *X, const float *y, const float *w, size_t n,
                int d, int K, void **booster);
int mcr_xgb_predict(void *booster, const float *X, size_t n, int d, int K, double *prob);
void mcr_xgb_free(void *booster);
#endif
