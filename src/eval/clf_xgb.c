/* clf_xgb.c — the only file that includes libxgboost's C API. Borrowed outputs are copied
 * before the next call, and every failure's XGBGetLastError() becomes our error message. */
#include "eval/eval.h"
#include <xgboost/c_api.h>

#define XGB_CHECK(call)                                                                        \
    do {                                                                                       \
        if ((call) != 0) {                                                                     \
            rc = mcr_err(MCR_EINTERNAL, "xgboost: %s", XGBGetLastError());                     \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

/* dense rows (NaN missing) or, with S, its sparse rows (absent entries missing) */
static int make_dmatrix(const float *X, const mcr_csr *S, size_t n, int d, DMatrixHandle *dm) {
    int rc = MCR_OK;
    if (S)
        XGB_CHECK(XGDMatrixCreateFromCSREx(S->ptr, (const unsigned *)S->idx, S->val, n + 1, S->ptr[n],
                                           (size_t)d, dm));
    else
        XGB_CHECK(XGDMatrixCreateFromMat(X, (bst_ulong)n, (bst_ulong)d, NAN, dm));
done:
    return rc;
}

int mcr_xgb_fit(const mcr_clf_config *c, const float *X, const mcr_csr *S, const float *y, const float *w,
                size_t n, int d, int K, void **out) {
    int rc = MCR_OK;
    DMatrixHandle dm = NULL;
    BoosterHandle b = NULL;
    char buf[64];
    *out = NULL;
    if ((rc = make_dmatrix(X, S, n, d, &dm))) goto done;
    XGB_CHECK(XGDMatrixSetFloatInfo(dm, "label", y, (bst_ulong)n));
    if (w) XGB_CHECK(XGDMatrixSetFloatInfo(dm, "weight", w, (bst_ulong)n));
    XGB_CHECK(XGBoosterCreate(&dm, 1, &b));
    XGB_CHECK(XGBoosterSetParam(b, "verbosity", "0"));
    XGB_CHECK(XGBoosterSetParam(b, "tree_method", "hist"));
    snprintf(buf, sizeof buf, "%d", c->threads > 0 ? c->threads : mcr_threads());
    XGB_CHECK(XGBoosterSetParam(b, "nthread", buf));
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)(c->seed % 2147483647ull));
    XGB_CHECK(XGBoosterSetParam(b, "seed", buf));
    if (K == 2) {
        XGB_CHECK(XGBoosterSetParam(b, "objective", "binary:logistic"));
    } else {
        XGB_CHECK(XGBoosterSetParam(b, "objective", "multi:softprob"));
        snprintf(buf, sizeof buf, "%d", K);
        XGB_CHECK(XGBoosterSetParam(b, "num_class", buf));
    }
    int rounds = c->rounds;
    if (c->kind == MCR_CLF_RF) {
        XGB_CHECK(XGBoosterSetParam(b, "num_parallel_tree", "100"));
        XGB_CHECK(XGBoosterSetParam(b, "subsample", "0.632"));
        snprintf(buf, sizeof buf, "%g", d > 0 ? sqrt((double)d) / d : 1.0);
        XGB_CHECK(XGBoosterSetParam(b, "colsample_bynode", buf));
        XGB_CHECK(XGBoosterSetParam(b, "learning_rate", "1"));
        XGB_CHECK(XGBoosterSetParam(b, "max_depth", "12"));
        rounds = 1;
    } else {
        XGB_CHECK(XGBoosterSetParam(b, "max_depth", "6"));
        XGB_CHECK(XGBoosterSetParam(b, "learning_rate", "0.3"));
    }
    for (int it = 0; it < rounds; it++) XGB_CHECK(XGBoosterUpdateOneIter(b, it, dm));
    *out = b;
    b = NULL;
done:
    if (b) XGBoosterFree(b);
    if (dm) XGDMatrixFree(dm);
    return rc;
}

int mcr_xgb_predict(void *booster, const float *X, const mcr_csr *S, size_t n, int d, int K, double *prob) {
    int rc = MCR_OK;
    DMatrixHandle dm = NULL;
    const bst_ulong *shape;
    bst_ulong dim;
    const float *res;
    if ((rc = make_dmatrix(X, S, n, d, &dm))) goto done;
    XGB_CHECK(XGBoosterPredictFromDMatrix(
        (BoosterHandle)booster, dm,
        "{\"type\": 0, \"training\": false, \"iteration_begin\": 0, \"iteration_end\": 0, "
        "\"strict_shape\": false}",
        &shape, &dim, &res));
    for (size_t i = 0; i < n; i++) { /* copy the borrowed result before anything else */
        if (K == 2) {
            prob[2 * i + 1] = res[i];
            prob[2 * i] = 1.0 - res[i];
        } else
            for (int k = 0; k < K; k++) prob[i * K + k] = res[i * K + k];
    }
done:
    if (dm) XGDMatrixFree(dm);
    return rc;
}

void mcr_xgb_free(void *booster) {
    if (booster) XGBoosterFree((BoosterHandle)booster);
}
