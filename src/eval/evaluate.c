/* evaluate.c — "does rebalancing make my classifier better and fairer?" in one call.
 *
 * For each seed: a stratified split (or a split by --group, or the given test table), optional
 * thinning of one class in the training part, each method applied to the training part only,
 * each classifier trained on the result (features encoded by an encoder fitted on the real
 * training rows: numerics standardised, categoricals one-hot) and scored on the untouched test
 * part, overall and per sensitive group. Summaries are mean +- 95% CI (Student t over seeds);
 * paired comparisons use the per-seed differences against `none` and `smote`.
 */
#include "eval/eval.h"
#include <time.h>

typedef struct {
    int method, clf;
    uint64_t seed;
    size_t ntrain, nsynth, ntest;
    double seconds;
    double threshold;    /* the tuned decision threshold (NaN: arg-max) */
    double bin_p[10], bin_y[10]; /* reliability: sums of p and of y per tenth of p (test rows) */
    size_t bin_n[10];
    mcr_metrics m;
    mcr_fairness f;
    mcr_metrics *groups; /* [G] */
} eval_run;

struct mcr_eval_result {
    mcr_eval_config cfg;
    char *source, *target, *sensitive, *positive_name, *thin;
    char *ids;               /* identifier-like columns left out of the features ("" if none) */
    size_t nrows;
    int K, G;
    char **group_names;
    eval_run *runs;
    int nruns;
    /* the first seed's example for reports: its training rows, the rows the example method
     * (mcrage if run, else the first method that adds rows) added, the test rows, the model */
    mcr_table *ex_train, *ex_synth, *ex_test;
    mcr_aug_method ex_method;
    mcr_model *ex_model;
    mcr_auto_result **autos; /* [seeds] mcrage-auto's choice in each seed's training part */
};

void mcr_eval_config_default(mcr_eval_config *c) {
    memset(c, 0, sizeof *c);
    c->test_frac = 0.3;
    c->seeds = 5;
    c->seed = 1;
    c->methods[0] = MCR_AUG_NONE, c->methods[1] = MCR_AUG_ROS, c->methods[2] = MCR_AUG_SMOTE,
    c->methods[3] = MCR_AUG_MCRAGE;
    c->nmethods = 4;
    c->classifiers[0] = MCR_CLF_LOGREG, c->classifiers[1] = MCR_CLF_XGB;
    c->nclassifiers = 2;
    mcr_augment_config_default(&c->aug);
}

void mcr_eval_free(mcr_eval_result *r) {
    if (!r) return;
    for (int i = 0; i < r->nruns; i++) free(r->runs[i].groups);
    free(r->runs);
    mcr_table_free(r->ex_train), mcr_table_free(r->ex_synth), mcr_table_free(r->ex_test);
    mcr_model_free(r->ex_model);
    for (int s = 0; r->autos && s < r->cfg.seeds; s++) mcr_auto_result_free(r->autos[s]);
    free(r->autos);
    if (r->group_names)
        for (int g = 0; g < r->G; g++) free(r->group_names[g]);
    free(r->group_names);
    free(r->source), free(r->target), free(r->sensitive), free(r->positive_name), free(r->thin), free(r->ids);
    free(r);
}

/* ---- statistics -------------------------------------------------------------------------- */
static double t975(int df) {
    static const double t[] = {0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262,
                               2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101,
                               2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052,
                               2.048, 2.045, 2.042};
    return df < 1 ? NAN : df <= 30 ? t[df] : 1.96;
}

/* mean and half-width of the 95% CI of the finite values */
static void mean_ci(const double *v, int n, double *mean, double *half) {
    double s = 0;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) s += v[i], m++;
    *mean = m ? s / m : NAN;
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) ss += (v[i] - *mean) * (v[i] - *mean);
    *half = m > 1 ? t975(m - 1) * sqrt(ss / (m - 1)) / sqrt((double)m) : NAN;
}

void mcr_mean_ci95(const double *v, int n, double *mean, double *half) { mean_ci(v, n, mean, half); }

/* ---- metric table ---------------------------------------------------------------------- */
typedef struct {
    const char *key, *label;
    int lower_better;
} metric_def;
static const metric_def METRICS[] = {
    {"accuracy", "accuracy", 0},          {"balanced_accuracy", "bal. acc", 0},
    {"f1_macro", "macro F1", 0},          {"f1_minority", "minority F1", 0},
    {"auroc", "AUROC", 0},                {"auprc", "AUPRC", 0},
    {"log_loss", "log loss", 1},          {"brier", "Brier", 1},
    {"worst_group_accuracy", "worst-grp acc", 0}, {"worst_group_recall", "worst-grp rec", 0},
    {"dp_difference", "DPD", 1},          {"eo_difference", "EOD", 1},
    {"accuracy_gap", "acc gap", 1},       {"auroc_gap", "AUROC gap", 1},
    {"calibration_slope", "cal. slope", 0}, {"calibration_intercept", "cal. icpt", 0},
    {"ece", "ECE", 1}};
#define NMETRICS (int)(sizeof METRICS / sizeof METRICS[0])

static double metric_value(const eval_run *r, int k) {
    switch (k) {
    case 0: return r->m.accuracy;
    case 1: return r->m.balanced_accuracy;
    case 2: return r->m.f1_macro;
    case 3: return r->m.f1_minority;
    case 4: return r->m.auroc;
    case 5: return r->m.auprc;
    case 6: return r->m.log_loss;
    case 7: return r->m.brier;
    case 8: return r->f.worst_group_accuracy;
    case 9: return r->f.worst_group_recall;
    case 10: return r->f.dp_difference;
    case 11: return r->f.eo_difference;
    case 12: return r->f.accuracy_gap;
    case 13: return r->f.auroc_gap;
    case 14: return r->m.calibration_slope;
    case 15: return r->m.calibration_intercept;
    default: return r->m.ece;
    }
}

/* values of metric k for (method, clf) over seeds, in seed order */
static int collect(const mcr_eval_result *r, int method, int clf, int k, double *v) {
    int n = 0;
    for (int i = 0; i < r->nruns; i++)
        if (r->runs[i].method == method && r->runs[i].clf == clf) v[n++] = metric_value(&r->runs[i], k);
    return n;
}

/* ---- the protocol ------------------------------------------------------------------------ */
#define say(c, ...) mcr_say((c)->progress, (c)->progress_ctx, __VA_ARGS__)

/* the diffusion model's fit progress, relayed every 10% of its steps */
typedef struct {
    const mcr_eval_config *c;
    int seed_i;
} fit_relay;
static int relay_fit_progress(void *ctx, int step, int steps, float loss, double rows_per_s) {
    fit_relay *f = ctx;
    int tenth = steps / 10 > 0 ? steps / 10 : 1;
    if (step % tenth == 0 || step == steps)
        say(f->c, "seed %d/%d: mcrage fitting: step %d/%d, loss %.4f, %.0f rows/s", f->seed_i + 1,
            f->c->seeds, step, steps, loss, rows_per_s);
    return 0;
}

/* strategy auto's stage lines, under the seed they belong to */
static void relay_message(void *ctx, const char *msg) {
    fit_relay *f = ctx;
    say(f->c, "seed %d/%d: %s", f->seed_i + 1, f->c->seeds, msg);
}



/* group key of a row: categorical code, or the numeric value's bits; missing -> unique */
static uint64_t group_key(const mcr_column *g, size_t i) {
    if (g->type == MCR_COL_CATEGORICAL) return g->cat[i] >= 0 ? (uint64_t)g->cat[i] : ((uint64_t)1 << 63) | i;
    double v = g->num[i];
    if (isnan(v)) return ((uint64_t)1 << 63) | i;
    uint64_t u;
    memcpy(&u, &v, 8);
    return u & ~((uint64_t)1 << 63) ? u : 0;
}

typedef struct {
    uint64_t key;
    size_t row;
} keyrow;
static int cmp_keyrow(const void *a, const void *b) {
    const keyrow *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Split labelled rows [0, n) into train/test. */
static int split_rows(const mcr_table *t, int jt, int jgrp, size_t n, double frac, mcr_rng *r,
                      size_t *train, size_t *ntr, size_t *test, size_t *nte) {
    *ntr = *nte = 0;
    const mcr_column *y = &t->cols[jt];
    if (jgrp >= 0) { /* whole groups to one side: shuffle the groups, fill the test share */
        keyrow *kr = malloc((n ? n : 1) * sizeof *kr);
        if (!kr) return MCR_NOMEM();
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (y->cat[i] >= 0) kr[m].key = group_key(&t->cols[jgrp], i), kr[m].row = i, m++;
        qsort(kr, m, sizeof *kr, cmp_keyrow);
        size_t ng = 0, *gs = malloc((m + 1) * sizeof(size_t));
        if (!gs) return free(kr), MCR_NOMEM();
        for (size_t i = 0; i < m; i++)
            if (i == 0 || kr[i].key != kr[i - 1].key) gs[ng++] = i;
        gs[ng] = m;
        size_t *order = malloc((ng ? ng : 1) * sizeof(size_t));
        if (!order) return free(kr), free(gs), MCR_NOMEM();
        for (size_t g = 0; g < ng; g++) order[g] = g;
        mcr_rng_shuffle(r, order, ng);
        size_t want = (size_t)llround(frac * m);
        for (size_t a = 0; a < ng; a++) {
            size_t g = order[a];
            int to_test = *nte < want;
            for (size_t i = gs[g]; i < gs[g + 1]; i++) {
                if (to_test) test[(*nte)++] = kr[i].row;
                else train[(*ntr)++] = kr[i].row;
            }
        }
        free(kr), free(gs), free(order);
    } else { /* stratified: each class's rows shuffled, round(frac n_k) to the test side */
        size_t *rows = malloc((n ? n : 1) * sizeof(size_t));
        if (!rows) return MCR_NOMEM();
        for (int k = 0; k < y->nlevels; k++) {
            size_t m = 0;
            for (size_t i = 0; i < n; i++)
                if (y->cat[i] == k) rows[m++] = i;
            mcr_rng_shuffle(r, rows, m);
            size_t nt = (size_t)llround(frac * m);
            for (size_t i = 0; i < m; i++) {
                if (i < nt) test[(*nte)++] = rows[i];
                else train[(*ntr)++] = rows[i];
            }
        }
        free(rows);
    }
    qsort(train, *ntr, sizeof(size_t), mcr_cmp_size);
    qsort(test, *nte, sizeof(size_t), mcr_cmp_size);
    return MCR_OK;
}


static int keep_example(mcr_eval_result *res, const mcr_table *t, const size_t *testr, size_t nte,
                        const mcr_table *A, size_t nsyn, mcr_aug_method method, mcr_model **model) {
    size_t nreal = A->nrows - nsyn;
    size_t *idx = malloc((A->nrows + 1) * sizeof(size_t));
    if (!idx) return MCR_NOMEM();
    for (size_t i = 0; i < A->nrows; i++) idx[i] = i;
    mcr_table_free(res->ex_train), mcr_table_free(res->ex_synth), mcr_table_free(res->ex_test);
    mcr_model_free(res->ex_model);
    res->ex_train = res->ex_synth = res->ex_test = NULL;
    res->ex_model = *model;
    *model = NULL;
    res->ex_method = method;
    int rc = mcr_table_take(A, idx, nreal, &res->ex_train);
    if (!rc) rc = mcr_table_take(A, idx + nreal, nsyn, &res->ex_synth);
    if (!rc) rc = mcr_table_take(t, testr, nte, &res->ex_test);
    free(idx);
    if (rc) return rc;
    char buf[512];
    mcr_table *tabs[3] = {res->ex_train, res->ex_synth, res->ex_test};
    for (int k = 0; k < 3; k++) {
        if (k == 1) snprintf(buf, sizeof buf, "synthetic rows (%s, seed %llu)", mcr_aug_method_name(method), (unsigned long long)res->cfg.seed);
        else snprintf(buf, sizeof buf, "%s (%s part, seed %llu)", mcr_table_source(t), k ? "test" : "training", (unsigned long long)res->cfg.seed);
        char *d = mcr_strdup(buf);
        if (!d) return MCR_NOMEM();
        free(tabs[k]->source);
        tabs[k]->source = d;
    }
    return MCR_OK;
}

/* ---- data preparation ---------------------------------------------------------------------- */
/* one table: the data, then the test rows (levels merged by spelling) */
static int join_test(const mcr_table *data, const mcr_table *test, mcr_table **out) {
    mcr_table *t = NULL;
    int rc = mcr_table_take(data, NULL, data->nrows, &t);
    if (rc || !test) return *out = t, rc;
    if (test->ncols != t->ncols)
        rc = mcr_err(MCR_EINVAL, "test table %s has %d columns, %s has %d", mcr_table_source(test),
                     test->ncols, mcr_table_source(data), t->ncols);
    for (int j = 0; j < t->ncols && !rc; j++)
        if (strcmp(t->cols[j].name, test->cols[j].name) ||
            (t->cols[j].type == MCR_COL_CATEGORICAL) != (test->cols[j].type == MCR_COL_CATEGORICAL))
            rc = mcr_err(MCR_EINVAL, "test table: column %d of %s ('%s') does not match '%s' of %s "
                         "(name or type; use `categorical`/`numeric`)", j + 1, mcr_table_source(test),
                         test->cols[j].name, t->cols[j].name, mcr_table_source(data));
    mcr_table *tt = NULL; /* numeric/integer may differ: align the test copy's types */
    if (!rc) rc = mcr_table_take(test, NULL, test->nrows, &tt);
    for (int j = 0; !rc && j < t->ncols; j++) tt->cols[j].type = t->cols[j].type;
    if (!rc) rc = mcr_table_append(t, tt);
    mcr_table_free(tt);
    if (rc) return mcr_table_free(t), rc;
    *out = t;
    return MCR_OK;
}

/* target (binarised with positive), sensitive (banded, integer codes as levels), group */
static int prepare_roles(mcr_table *t, const mcr_eval_config *c, int *jt, int *js, int *jg) {
    int rc;
    if ((rc = mcr_role_column(t, "target", c->target, MCR_ROLE_LEVELS, jt))) return rc;
    if ((rc = mcr_table_codes_to_levels(t, *jt))) return rc;
    if (c->positive && (rc = mcr_table_binarize(t, *jt, c->positive))) return rc;
    if (c->bands && !c->sensitive) return mcr_err(MCR_EINVAL, "bands need a sensitive column");
    if (c->sensitive) {
        if ((rc = mcr_role_column(t, "sensitive", c->sensitive, 0, js))) return rc;
        if (c->bands && (rc = mcr_table_band(t, *js, c->bands))) return rc;
        if ((rc = mcr_role_column(t, "sensitive", c->sensitive, MCR_ROLE_LEVELS | MCR_ROLE_BANDS | MCR_ROLE_VALUES, js)))
            return rc;
        if ((rc = mcr_table_codes_to_levels(t, *js))) return rc;
    }
    return mcr_role_column(t, "group", c->group, 0, jg);
}

/* thin "CLASS:P" -> the class and the share kept */
static int parse_thin(const mcr_table *t, int jt, const mcr_eval_config *c, int *thin_class, double *thin_p) {
    *thin_class = -1;
    *thin_p = 1;
    if (!c->thin) return MCR_OK;
    const char *colon = strrchr(c->thin, ':');
    char cls[256];
    if (!colon || (size_t)(colon - c->thin) >= sizeof cls ||
        !mcr_parse_number(colon + 1, strlen(colon + 1), thin_p, NULL) || !(*thin_p > 0 && *thin_p <= 1))
        return mcr_err(MCR_EINVAL, "`thin` expects CLASS:P with P in (0, 1], got '%s'", c->thin);
    memcpy(cls, c->thin, (size_t)(colon - c->thin));
    cls[colon - c->thin] = 0;
    if ((*thin_class = mcr_table_level_find(t, jt, cls)) < 0)
        return mcr_err(MCR_EINVAL, "`thin`: '%s' is not a class of '%s'", cls, c->target);
    return MCR_OK;
}

/* ---- one seed, one method, one classifier ------------------------------------------------- */
typedef struct {
    const mcr_eval_config *c;
    mcr_eval_result *res;
    mcr_table *t;            /* the data (then the fixed test rows), roles prepared */
    int jt, js, K, G;
    const int *feat;
    int nfeat;
    int s;                   /* seed index */
    uint64_t seed;
    int pos;                 /* the positive (minority) class of this seed */
    size_t *train;
    size_t ntr;
    size_t *testr;
    size_t nte;
    int *yte, *gte;          /* test classes and groups */
    mcr_encoder *enc;        /* fitted on this seed's real training rows */
    mcr_csr Xte;       /* encoded test rows, sparse (one-hot held as indices) */
    int jg;                  /* the grouping column of splits (-1 = none) */
    size_t *val, nval;       /* tune_threshold: validation rows (kept out of the training part) */
    int *yval;
    mcr_csr Xval;
    mcr_model *mc_model;     /* this seed's mcrage model, shared by mcrage and its selections */
} eval_ctx;

/* this seed's training and test rows: the fixed test table's rows (rows from `ndata` on), or a
 * split; then the thinning of one class in the training part */
static int seed_rows(eval_ctx *x, size_t ndata, int thin_class, double thin_p, size_t *kept, mcr_rng *r) {
    const mcr_table *t = x->t;
    int jt = x->jt;
    size_t n = t->nrows, *train = x->train;
    x->ntr = x->nte = 0;
    if (ndata) {
        for (size_t i = 0; i < n; i++)
            if (t->cols[jt].cat[i] >= 0) {
                if (i < ndata) train[x->ntr++] = i;
                else x->testr[x->nte++] = i;
            }
    } else {
        int rc = split_rows(t, jt, x->jg, n, x->c->test_frac, r, train, &x->ntr, x->testr, &x->nte);
        if (rc) return rc;
    }
    if (thin_class >= 0) { /* keep round(P n) rows of the class in the training part */
        size_t m = 0, nk = 0;
        for (size_t i = 0; i < x->ntr; i++)
            if (t->cols[jt].cat[train[i]] == thin_class) kept[m++] = train[i];
        mcr_rng_shuffle(r, kept, m);
        size_t keepn = (size_t)llround(thin_p * m);
        qsort(kept, keepn, sizeof(size_t), mcr_cmp_size);
        size_t a = 0;
        for (size_t i = 0; i < x->ntr; i++) {
            size_t row = train[i];
            if (t->cols[jt].cat[row] != thin_class) train[nk++] = row;
            else {
                while (a < keepn && kept[a] < row) a++;
                if (a < keepn && kept[a] == row) train[nk++] = row;
            }
        }
        x->ntr = nk;
    }
    if (x->ntr < 2 || x->nte < 1)
        return mcr_err(MCR_EINVAL, "split left %zu training and %zu test rows", x->ntr, x->nte);
    return MCR_OK;
}

/* the positive class: the positive value when the target was binarised, else the training
 * part's rarest class (the first of a tie); -1 when out of memory */
static int positive_class(const eval_ctx *x) {
    if (x->c->positive) return 1;
    size_t *cnt = calloc((size_t)x->K, sizeof(size_t));
    if (!cnt) return -1;
    for (size_t i = 0; i < x->ntr; i++) cnt[x->t->cols[x->jt].cat[x->train[i]]]++;
    int pos = mcr_minority_class(cnt, x->K, NULL);
    free(cnt);
    return pos < 0 ? 0 : pos;
}

/* tune_threshold: move a stratified 20% of this seed's training rows to the front of x->train
 * (x->nval of them: the validation rows), their classes in x->yval */
static int tuning_split(eval_ctx *x) {
    if (x->K != 2) return mcr_err(MCR_EINVAL, "a tuned threshold needs a binary target (use `positive` VALUE)");
    mcr_rng r;
    mcr_rng_seed(&r, x->seed, MCR_STREAM_EVALUATE_TUNE);
    size_t *tmp = malloc((x->ntr ? x->ntr : 1) * sizeof(size_t)), nv = 0, nr = 0;
    if (!tmp) return MCR_NOMEM();
    for (int k = 0; k < x->K; k++) { /* per class: shuffle its rows, the first 20% validate */
        size_t m = 0, *rows = tmp + nr;
        for (size_t i = 0; i < x->ntr; i++)
            if (x->t->cols[x->jt].cat[x->train[i]] == k) rows[m++] = x->train[i];
        for (size_t i = m; i > 1; i--) {
            size_t j = (size_t)mcr_rng_below(&r, i), v = rows[i - 1];
            rows[i - 1] = rows[j], rows[j] = v;
        }
        nr += m;
    }
    /* validation: the first 20% of each class's shuffled rows */
    size_t *out = malloc((x->ntr ? x->ntr : 1) * sizeof(size_t)), at = 0, o = 0;
    if (!out) return free(tmp), MCR_NOMEM();
    size_t start[2], cnt[2];
    for (int k = 0; k < 2; k++) {
        start[k] = at;
        cnt[k] = 0;
        for (size_t i = at; i < nr && x->t->cols[x->jt].cat[tmp[i]] == k; i++) cnt[k]++;
        at += cnt[k];
    }
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < (cnt[k] + 4) / 5; i++) out[o++] = tmp[start[k] + i];
    nv = o;
    for (int k = 0; k < 2; k++)
        for (size_t i = (cnt[k] + 4) / 5; i < cnt[k]; i++) out[o++] = tmp[start[k] + i];
    memcpy(x->train, out, o * sizeof(size_t));
    x->ntr = o;
    free(tmp), free(out);
    x->nval = nv;
    if (!(x->yval = malloc((nv ? nv : 1) * sizeof(int)))) return MCR_NOMEM();
    for (size_t i = 0; i < nv; i++) x->yval[i] = x->t->cols[x->jt].cat[x->train[i]];
    return MCR_OK;
}

/* the threshold on the positive class's probability that maximises its F1 on (p, y) (ties: the
 * lowest), among the midpoints between consecutive distinct scores; 0.5 without positives */
double mcr_best_threshold(const double *prob, const int *y, size_t n, int K, int pos) {
    mcr_scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return 0.5;
    size_t np = 0;
    for (size_t i = 0; i < n; i++) v[i].s = prob[i * K + pos], v[i].y = y[i] == pos, np += v[i].y;
    if (np == 0) return free(v), 0.5;
    qsort(v, n, sizeof *v, mcr_cmp_scored_desc);
    double best = -1, thr = 0.5;
    size_t tp = 0;
    for (size_t i = 0; i < n; i++) { /* predict positive for the i+1 highest scores */
        tp += v[i].y;
        if (i + 1 < n && v[i + 1].s == v[i].s) continue;
        double f1 = 2.0 * tp / (double)(i + 1 + np);
        if (f1 > best) best = f1, thr = i + 1 < n ? 0.5 * (v[i].s + v[i + 1].s) : v[i].s;
    }
    free(v);
    return thr;
}

/* metrics with decisions p_pos >= thr: the threshold-dependent ones from the decisions, the
 * probability-based ones (AUROC, AUPRC, log loss, Brier, calibration) from prob */
static int metrics_at(const int *y, const double *prob, const int *g, size_t n, int K, int pos, int G, double thr,
                      mcr_metrics *m, mcr_metrics *groups, mcr_fairness *f) {
    int rc = mcr_metrics_compute(y, prob, n, K, pos, m);
    if (!rc && G) rc = mcr_fairness_compute(y, prob, g, n, K, pos, G, groups, f);
    if (rc || thr != thr) return rc;
    double *dec = malloc((n ? n : 1) * (size_t)K * sizeof(double));
    mcr_metrics *dg = calloc((size_t)(G ? G : 1), sizeof(mcr_metrics));
    if (!dec || !dg) return free(dec), free(dg), MCR_NOMEM();
    for (size_t i = 0; i < n; i++) {
        int d = prob[i * K + pos] >= thr;
        for (int k = 0; k < K; k++) dec[i * K + k] = d ? k == pos : k == 1 - pos;
    }
    mcr_metrics md;
    mcr_fairness fd;
    rc = mcr_metrics_compute(y, dec, n, K, pos, &md);
    if (!rc && G) rc = mcr_fairness_compute(y, dec, g, n, K, pos, G, dg, &fd);
    for (int q = 0; !rc && q <= G; q++) {
        mcr_metrics *to = q < G ? &groups[q] : m;
        const mcr_metrics *fr = q < G ? &dg[q] : &md;
        if (q < G && !G) break;
        to->accuracy = fr->accuracy, to->balanced_accuracy = fr->balanced_accuracy, to->f1_macro = fr->f1_macro;
        to->f1_minority = fr->f1_minority, to->precision_minority = fr->precision_minority;
        to->recall_minority = fr->recall_minority, to->selection_rate = fr->selection_rate;
        to->tpr = fr->tpr, to->fpr = fr->fpr;
    }
    if (!rc && G) {
        double auroc_gap = f->auroc_gap;
        *f = fd;
        f->auroc_gap = auroc_gap;
    }
    free(dec), free(dg);
    return rc;
}

/* one (seed, method, classifier) run: train on Xa / ya, score on the test rows */
static int eval_run_one(eval_ctx *x, mcr_aug_method method, mcr_clf_kind kind, const mcr_csr *Xa,
                        const int *ya, size_t na, size_t nsyn, double aug_s) {
    const mcr_eval_config *c = x->c;
    mcr_eval_result *res = x->res;
    double t1 = mcr_now();
    mcr_clf_config cc;
    mcr_clf_config_default(&cc, kind);
    cc.balanced = c->balanced;
    cc.focal_gamma = c->focal_gamma;
    cc.seed = x->seed;
    mcr_classifier *clf = NULL;
    double *prob = malloc((x->nte ? x->nte : 1) * (size_t)x->K * sizeof(double));
    int rc = prob ? MCR_OK : MCR_NOMEM();
    if (!rc) rc = mcr_clf_fit_csr(&cc, Xa, ya, x->K, &clf);
    if (!rc) rc = mcr_clf_predict_csr(clf, &x->Xte, prob);
    double thr = NAN;
    if (!rc && c->tune_threshold && x->nval) { /* chosen on the validation rows */
        double *pv = malloc(x->nval * (size_t)x->K * sizeof(double));
        rc = pv ? mcr_clf_predict_csr(clf, &x->Xval, pv) : MCR_NOMEM();
        if (!rc) thr = mcr_best_threshold(pv, x->yval, x->nval, x->K, x->pos);
        free(pv);
    }
    eval_run *run = &res->runs[res->nruns];
    if (!rc) {
        run->method = method;
        run->clf = kind;
        run->seed = x->seed;
        run->ntrain = na;
        run->nsynth = nsyn;
        run->ntest = x->nte;
        run->groups = calloc((size_t)(x->G ? x->G : 1), sizeof(mcr_metrics));
        if (!run->groups) rc = MCR_NOMEM();
    }
    if (!rc) {
        run->threshold = thr;
        memset(run->bin_p, 0, sizeof run->bin_p), memset(run->bin_y, 0, sizeof run->bin_y);
        memset(run->bin_n, 0, sizeof run->bin_n);
        for (size_t i = 0; i < x->nte; i++) {
            double pp = prob[i * x->K + x->pos];
            int b = (int)(pp * 10);
            b = b < 0 ? 0 : b > 9 ? 9 : b;
            run->bin_p[b] += pp, run->bin_y[b] += x->yte[i] == x->pos, run->bin_n[b]++;
        }
    }
    if (!rc) rc = metrics_at(x->yte, prob, x->gte, x->nte, x->K, x->pos, x->G, thr, &run->m, run->groups, &run->f);
    if (!rc && !x->G) {
        run->f.dp_difference = run->f.eo_difference = run->f.accuracy_gap = run->f.auroc_gap = NAN;
        run->f.worst_group_accuracy = run->f.worst_group_recall = NAN;
    }
    if (!rc) {
        run->seconds = mcr_now() - t1 + aug_s;
        res->nruns++;
        say(c, "seed %d/%d: %s + %s: minority F1 %.3f, AUROC %.3f", x->s + 1, c->seeds,
            mcr_aug_method_name(method), mcr_clf_name(cc.kind), run->m.f1_minority, run->m.auroc);
    } else if (run->groups) {
        free(run->groups);
        run->groups = NULL;
    }
    free(prob);
    mcr_clf_free(clf);
    return rc;
}

/* one (seed, method): rebalance the training part, keep the first seed's example, then each
 * classifier */
static int eval_method(eval_ctx *x, mcr_aug_method method) {
    const mcr_eval_config *c = x->c;
    mcr_eval_result *res = x->res;
    double t0 = mcr_now();
    mcr_augment_config ac = c->aug;
    ac.target = c->target;
    ac.sensitive = c->sensitive;
    ac.method = method;
    ac.seed = x->seed;
    if (ac.strategy == MCR_STRAT_AUTO) ac.strategy = MCR_STRAT_BALANCE; /* auto is the method mcrage-auto */
    if (ac.auto_classifier < 0) ac.auto_classifier = c->classifiers[0]; /* mcrage-auto scores evaluate's first */
    ac.auto_tuned = c->tune_threshold; /* and with tuned thresholds, scores them tuned */
    ac.drop = c->group; /* an id is not a feature for the rebalancers either */
    ac.keep_model = mcr_aug_is_mcrage(method) && !x->mc_model; /* fitted once per seed */
    ac.prefit = mcr_aug_is_mcrage(method) ? x->mc_model : NULL;
    ac.dcr_check = 0;
    fit_relay relay = {c, x->s};
    ac.fit.progress = c->progress ? relay_fit_progress : NULL;
    ac.fit.progress_ctx = &relay;
    ac.fit.progress_every = 1;
    ac.progress = c->progress ? relay_message : NULL;
    ac.progress_ctx = &relay;
    mcr_augment_result *ar = NULL;
    const size_t *trows = x->train;
    size_t ntr = x->ntr;
    if (c->tune_threshold) trows = x->train + x->nval, ntr = x->ntr - x->nval; /* validation rows first */
    say(c, "seed %d/%d: %s on %zu training rows", x->s + 1, c->seeds, mcr_aug_method_name(method), ntr);
    int rc = mcr_augment_run(x->t, trows, ntr, &ac, &ar);
    if (rc) return rc;
    double aug_s = mcr_now() - t0;
    if (ar->model && mcr_aug_is_mcrage(method)) x->mc_model = ar->model, ar->model = NULL;
    if (ar->autochoice) { /* kept per seed */
        mcr_auto_result_free(res->autos[x->s]);
        res->autos[x->s] = ar->autochoice;
        ar->autochoice = NULL;
        const mcr_auto_point *p = &res->autos[x->s]->points[res->autos[x->s]->chosen];
        char lab[128];
        mcr_auto_point_label(p, lab, sizeof lab);
        say(c, "seed %d/%d: mcrage-auto chose %s (CV %s %.3f)", x->s + 1, c->seeds, lab,
            mcr_auto_metric_name(res->autos[x->s]->optimize), p->mean);
    }
    const mcr_table *A = ar->table;
    size_t nsyn = ar->nsynth;
    if (x->s == 0 && nsyn > 0 && (!res->ex_synth || (method == MCR_AUG_MCRAGE && res->ex_method != MCR_AUG_MCRAGE)))
        rc = keep_example(res, x->t, x->testr, x->nte, A, nsyn, method, &ar->model); /* the model: at the seed's end */
    /* labelled rows of the augmented part */
    size_t na = 0;
    size_t *arows = malloc((A->nrows ? A->nrows : 1) * sizeof(size_t));
    int *ya = malloc((A->nrows ? A->nrows : 1) * sizeof(int));
    mcr_csr Xa = {0};
    if (!rc && (!arows || !ya)) rc = MCR_NOMEM();
    for (size_t i = 0; !rc && i < A->nrows; i++)
        if (A->cols[x->jt].cat[i] >= 0) arows[na] = i, ya[na] = A->cols[x->jt].cat[i], na++;
    if (!rc) rc = mcr_encoder_transform_csr(x->enc, A, arows, na, &Xa);
    for (int ci = 0; ci < c->nclassifiers && !rc; ci++)
        rc = eval_run_one(x, method, c->classifiers[ci], &Xa, ya, na, nsyn, aug_s);
    free(arows), free(ya), mcr_csr_free(&Xa);
    mcr_augment_result_free(ar);
    return rc;
}

int mcr_evaluate(const mcr_table *data, const mcr_table *test, const mcr_eval_config *c,
                 mcr_eval_result **out) {
    *out = NULL;
    if (!c->target) return mcr_err(MCR_EINVAL, "a target column is required");
    if (c->seeds < 1 || c->seeds > 1000) return mcr_err(MCR_EINVAL, "seeds must be in 1..1000");
    if (!test && !(c->test_frac > 0 && c->test_frac < 1))
        return mcr_err(MCR_EINVAL, "test fraction must be in (0, 1)");
    if (c->nmethods < 1 || c->nclassifiers < 1) return mcr_err(MCR_EINVAL, "no methods or classifiers");
    int rc;
    mcr_table *t = NULL;
    mcr_eval_result *res = calloc(1, sizeof *res);
    size_t *train = NULL, *testr = NULL, *kept = NULL;
    int *yte = NULL, *gte = NULL, *feat = NULL;
    if (!res) return MCR_NOMEM();
    size_t ndata = data->nrows;
    int jt = -1, js = -1, jg = -1, thin_class = -1;
    double thin_p = 1;
    if ((rc = join_test(data, test, &t)) || (rc = prepare_roles(t, c, &jt, &js, &jg)) ||
        (rc = parse_thin(t, jt, c, &thin_class, &thin_p)))
        goto fail;
    int K = t->cols[jt].nlevels, G = js >= 0 ? t->cols[js].nlevels : 0;
    if (K < 2) {
        rc = mcr_err(MCR_EINVAL, "target column '%s' has a single class", c->target);
        goto fail;
    }
    res->cfg = *c;
    res->cfg.progress = NULL;
    res->source = mcr_strdup(mcr_table_source(data));
    res->target = mcr_strdup(c->target);
    res->sensitive = mcr_strdup(c->sensitive ? c->sensitive : "");
    res->thin = mcr_strdup(c->thin ? c->thin : "");
    res->nrows = t->nrows;
    res->K = K;
    res->G = G;
    res->group_names = calloc((size_t)(G ? G : 1), sizeof(char *));
    res->runs = calloc((size_t)c->seeds * c->nmethods * c->nclassifiers, sizeof(eval_run));
    res->autos = calloc((size_t)c->seeds, sizeof(mcr_auto_result *));
    size_t n = t->nrows;
    train = malloc((n ? n : 1) * sizeof(size_t));
    testr = malloc((n ? n : 1) * sizeof(size_t));
    kept = malloc((n ? n : 1) * sizeof(size_t));
    yte = malloc((n ? n : 1) * sizeof(int));
    gte = malloc((n ? n : 1) * sizeof(int));
    feat = malloc((size_t)t->ncols * sizeof(int));
    if (!res->source || !res->group_names || !res->runs || !res->autos || !train || !testr || !kept ||
        !yte || !gte || !feat) {
        rc = MCR_NOMEM();
        goto fail;
    }
    for (int g = 0; g < G; g++)
        if (!(res->group_names[g] = mcr_strdup(t->cols[js].levels[g]))) {
            rc = MCR_NOMEM();
            goto fail;
        }
    /* classifier features: everything but the target, the grouping id and identifier-like
     * columns (a record number predicts nothing about new patients; `features` forces one in) */
    int *why = calloc((size_t)t->ncols + 1, sizeof(int));
    mcr_fit_config fc = c->aug.fit;
    fc.target = c->target, fc.sensitive = c->sensitive, fc.drop = c->group;
    if (!why || (rc = mcr_fit_identifiers(t, &fc, why))) {
        free(why);
        if (!rc) rc = MCR_NOMEM();
        goto fail;
    }
    size_t idlen = 1;
    for (int j = 0; j < t->ncols; j++) idlen += why[j] ? strlen(t->cols[j].name) + 40 : 0;
    if (!(res->ids = calloc(idlen, 1))) {
        free(why);
        rc = MCR_NOMEM();
        goto fail;
    }
    int nfeat = 0;
    for (int j = 0; j < t->ncols; j++) {
        if (why[j] && j != jg) {
            snprintf(res->ids + strlen(res->ids), idlen - strlen(res->ids), "%s%s (%s)", *res->ids ? ", " : "",
                     t->cols[j].name, mcr_identifier_reason(why[j]));
            continue;
        }
        if (j != jt && j != jg) feat[nfeat++] = j;
    }
    free(why);
    if (nfeat == 0) {
        rc = mcr_err(MCR_EINVAL, "%s: no feature columns besides the target", mcr_table_source(data));
        goto fail;
    }
    eval_ctx x = {.c = c, .res = res, .t = t, .jt = jt, .js = js, .K = K, .G = G, .feat = feat,
                  .nfeat = nfeat, .train = train, .testr = testr, .yte = yte, .gte = gte, .jg = jg};
    for (int s = 0; s < c->seeds && !rc; s++) {
        x.s = s;
        x.seed = c->seed + (uint64_t)s;
        mcr_rng r;
        mcr_rng_seed(&r, x.seed, MCR_STREAM_EVALUATE);
        if ((rc = seed_rows(&x, test ? ndata : 0, thin_class, thin_p, kept, &r))) break;
        x.pos = positive_class(&x);
        if (x.pos < 0) {
            rc = MCR_NOMEM();
            break;
        }
        if (s == 0 && !(res->positive_name = mcr_strdup(t->cols[jt].levels[x.pos]))) {
            rc = MCR_NOMEM();
            break;
        }
        x.nval = 0;
        if (c->tune_threshold && (rc = tuning_split(&x))) break;
        /* the encoder sees the rows classifiers train on (without the validation rows) */
        if (!(rc = mcr_encoder_fit(t, feat, nfeat, train + x.nval, x.ntr - x.nval, MCR_NUM_STANDARD, &x.enc)))
            rc = mcr_encoder_transform_csr(x.enc, t, testr, x.nte, &x.Xte);
        if (!rc && x.nval) rc = mcr_encoder_transform_csr(x.enc, t, train, x.nval, &x.Xval);
        for (size_t i = 0; !rc && i < x.nte; i++) {
            yte[i] = t->cols[jt].cat[testr[i]];
            gte[i] = js >= 0 ? t->cols[js].cat[testr[i]] : 0;
        }
        for (int mi = 0; mi < c->nmethods && !rc; mi++) rc = eval_method(&x, c->methods[mi]);
        if (s == 0 && !res->ex_model && mcr_aug_is_mcrage(res->ex_method)) res->ex_model = x.mc_model, x.mc_model = NULL;
        mcr_model_free(x.mc_model);
        x.mc_model = NULL;
        mcr_encoder_free(x.enc);
        mcr_csr_free(&x.Xte), mcr_csr_free(&x.Xval), free(x.yval);
        x.enc = NULL, x.yval = NULL;
    }
    mcr_csr_free(&x.Xte), mcr_csr_free(&x.Xval), free(x.yval);
    if (rc) goto fail;
    free(train), free(testr), free(kept), free(yte), free(gte), free(feat);
    mcr_table_free(t);
    *out = res;
    return MCR_OK;
fail:
    free(train), free(testr), free(kept), free(yte), free(gte), free(feat);
    mcr_table_free(t);
    mcr_eval_free(res);
    return rc;
}

/* ---- output --------------------------------------------------------------------------------- */
static const int TABLE_METRICS[] = {0, 2, 3, 4, 9, 11}; /* accuracy, macro F1, minority F1, AUROC, worst-group recall, EOD */
#define NTABLE 6
static const int PAIRED_METRICS[] = {3, 4, 9};

const char *mcr_eval_col_label(int a) { return a >= 0 && a < NTABLE ? METRICS[TABLE_METRICS[a]].label : ""; }
int mcr_eval_col_lower_better(int a) { return a >= 0 && a < NTABLE ? METRICS[TABLE_METRICS[a]].lower_better : 0; }

int mcr_eval_cells(const mcr_eval_result *r, mcr_eval_cell **out, int *ncells) {
    const mcr_eval_config *c = &r->cfg;
    int n = c->nmethods * c->nclassifiers;
    mcr_eval_cell *cells = calloc((size_t)n + 1, sizeof *cells);
    double *v = malloc((size_t)c->seeds * sizeof(double));
    if (!cells || !v) return free(cells), free(v), MCR_NOMEM();
    for (int mi = 0, i = 0; mi < c->nmethods; mi++)
        for (int ci = 0; ci < c->nclassifiers; ci++, i++) {
            mcr_eval_cell *e = &cells[i];
            e->method = c->methods[mi], e->clf = c->classifiers[ci];
            for (int a = 0; a < NTABLE; a++) mean_ci(v, collect(r, e->method, e->clf, TABLE_METRICS[a], v), &e->mean[a], &e->half[a]);
        }
    for (int a = 0; a < NTABLE; a++) { /* best per column (ties all marked) */
        int lower = METRICS[TABLE_METRICS[a]].lower_better;
        double best = lower ? INFINITY : -INFINITY;
        for (int i = 0; i < n; i++)
            if (isfinite(cells[i].mean[a]) && (lower ? cells[i].mean[a] < best : cells[i].mean[a] > best)) best = cells[i].mean[a];
        for (int i = 0; i < n; i++) cells[i].best[a] = cells[i].mean[a] == best;
    }
    free(v);
    *out = cells;
    *ncells = n;
    return MCR_OK;
}

const mcr_auto_result *mcr_eval_auto(const mcr_eval_result *r, int s) {
    return r->autos && s >= 0 && s < r->cfg.seeds ? r->autos[s] : NULL;
}

void mcr_eval_info(const mcr_eval_result *r, mcr_eval_info_t *i) {
    i->source = r->source, i->target = r->target, i->positive = r->positive_name ? r->positive_name : "";
    i->sensitive = r->sensitive, i->thin = r->thin;
    i->nrows = r->nrows, i->seeds = r->cfg.seeds, i->groups = r->G;
}

int mcr_eval_example(const mcr_eval_result *r, const mcr_table **train, const mcr_table **synth,
                     const mcr_table **test, mcr_aug_method *method, const mcr_model **model) {
    *train = r->ex_train, *synth = r->ex_synth, *test = r->ex_test;
    *method = r->ex_method;
    *model = r->ex_model;
    return r->ex_synth != NULL;
}

/* paired per-seed differences (a - b) of metric k for classifier clf: mean, 95% interval */
static int paired(const mcr_eval_result *r, int a, int b, int clf, int k, double *mean, double *lo, double *hi) {
    int S = r->cfg.seeds;
    double *v = malloc((size_t)S * sizeof(double)), *w = malloc((size_t)S * sizeof(double));
    if (!v || !w) return free(v), free(w), 0;
    int n1 = collect(r, a, clf, k, v), n2 = collect(r, b, clf, k, w), n = n1 < n2 ? n1 : n2;
    for (int q = 0; q < n; q++) v[q] -= w[q];
    double half;
    mean_ci(v, n, mean, &half);
    *lo = *mean - half, *hi = *mean + half;
    free(v), free(w);
    return n;
}

int mcr_eval_reliability(const mcr_eval_result *r, int method, int clf, double mean_p[10], double frac[10],
                         size_t count[10]) {
    double sp[10] = {0}, sy[10] = {0};
    size_t sn[10] = {0};
    int runs = 0;
    for (int i = 0; i < r->nruns; i++) {
        const eval_run *u = &r->runs[i];
        if (u->method != method || u->clf != clf) continue;
        runs++;
        for (int b = 0; b < 10; b++) sp[b] += u->bin_p[b], sy[b] += u->bin_y[b], sn[b] += u->bin_n[b];
    }
    for (int b = 0; b < 10; b++) {
        count[b] = sn[b];
        mean_p[b] = sn[b] ? sp[b] / (double)sn[b] : NAN;
        frac[b] = sn[b] ? sy[b] / (double)sn[b] : NAN;
    }
    return runs;
}

static int has_method(const mcr_eval_config *c, mcr_aug_method m) {
    for (int mi = 0; mi < c->nmethods; mi++)
        if (c->methods[mi] == m) return 1;
    return 0;
}

int mcr_eval_verdict(const mcr_eval_result *r, int i, char *buf, size_t n) {
    return mcr_eval_verdict_method(r, i, has_method(&r->cfg, MCR_AUG_MCRAGE) || !has_method(&r->cfg, MCR_AUG_MCRAGE_AUTO)
                                             ? MCR_AUG_MCRAGE : MCR_AUG_MCRAGE_AUTO, buf, n);
}

/* the minority F1 of flagging every test row as the minority, 2 pi / (1 + pi) with pi the
 * minority's share of the test rows, averaged over the seeds of (method, clf); NaN if unknown */
static double trivial_f1(const mcr_eval_result *r, int method, int clf) {
    double s = 0;
    int m = 0;
    for (int i = 0; i < r->nruns; i++) {
        const eval_run *u = &r->runs[i];
        if (u->method != method || u->clf != clf || !u->ntest) continue;
        double pos = 0;
        for (int b = 0; b < 10; b++) pos += u->bin_y[b];
        double pi = pos / (double)u->ntest;
        s += 2 * pi / (1 + pi), m++;
    }
    return m ? s / m : NAN;
}

/* the verdict on `subject` (mcrage or mcrage-auto); the classical methods exclude both */
int mcr_eval_verdict_method(const mcr_eval_result *r, int i, mcr_aug_method subject, char *buf, size_t n) {
    const mcr_eval_config *c = &r->cfg;
    if (n) buf[0] = 0;
    if (i < 0 || i >= c->nclassifiers) return -2;
    int clf = c->classifiers[i], has_m = 0, has_n = 0, best = -1;
    double best_f1 = -INFINITY;
    for (int mi = 0; mi < c->nmethods; mi++) {
        int m = c->methods[mi];
        has_m |= m == (int)subject, has_n |= m == MCR_AUG_NONE;
        if (mcr_aug_is_mcrage(m) || m == MCR_AUG_MCRAGE_AUTO || m == MCR_AUG_NONE) continue;
        double mean, half, *v = malloc((size_t)c->seeds * sizeof(double)); /* its mean minority F1 */
        if (!v) return -2;
        mean_ci(v, collect(r, m, clf, 3, v), &mean, &half);
        free(v);
        if (isfinite(mean) && mean > best_f1) best_f1 = mean, best = m;
    }
    char cn[64];
    snprintf(cn, sizeof cn, "%s%s", mcr_clf_name(clf), subject == MCR_AUG_MCRAGE_AUTO ? " (mcrage-auto)" : "");
    if (!has_m || !has_n) {
        snprintf(buf, n, "%s: no verdict (needs methods none and %s)", cn, mcr_aug_method_name(subject));
        return -2;
    }
    double fm, flo, fhi, am, alo, ahi;
    int S = paired(r, subject, MCR_AUG_NONE, clf, 3, &fm, &flo, &fhi);
    paired(r, subject, MCR_AUG_NONE, clf, 4, &am, &alo, &ahi);
    if (S < 2 || !isfinite(flo)) {
        snprintf(buf, n, "%s: no verdict from %d seed%s (no interval; run 3 or more seeds)", cn, S, S == 1 ? "" : "s");
        return -2;
    }
    /* hurt: minority F1 lower (its whole interval below 0), or AUROC lower by more than 0.005 (the
     * issue's tolerance) with its whole interval below 0 — a drop of 0.0003 whose tight interval
     * excludes 0 on a large test part is no reason to give up rebalancing */
    int v = fhi < 0 || (isfinite(ahi) && ahi < 0 && am < -0.005) ? -1 : flo > 0 ? 1 : 0;
    /* A minority F1 above none's is no benefit when it is no better than flagging every test row
     * as the minority (F1 2 pi / (1 + pi), pi its share of the test rows): at the 0.5 threshold a
     * classifier that never predicts the minority scores 0, and any shift of the threshold gains
     * that much on a table whose features say nothing of the class. */
    double floor_f1 = trivial_f1(r, subject, clf), sf, shalf;
    {
        double *w = malloc((size_t)c->seeds * sizeof(double));
        if (!w) return -2;
        mean_ci(w, collect(r, subject, clf, 3, w), &sf, &shalf);
        free(w);
    }
    int at_floor = v > 0 && isfinite(floor_f1) && !(sf - (isfinite(shalf) ? shalf : 0) > floor_f1);
    if (at_floor) v = 0;
    const char *word = v > 0 ? "helped" : v < 0 ? "hurt" : "no evidence of benefit";
    int len = snprintf(buf, n, "%s: %s: minority F1 %+.3f [%+.3f, %+.3f] against none, AUROC %+.3f [%+.3f, %+.3f]", cn, word,
                       fm, flo, fhi, am, alo, ahi);
    if (r->G > 0 && len >= 0 && (size_t)len < n) {
        double gm, glo, ghi;
        paired(r, subject, MCR_AUG_NONE, clf, 9, &gm, &glo, &ghi);
        if (isfinite(gm)) len += snprintf(buf + len, n - (size_t)len, ", worst-group recall %+.3f [%+.3f, %+.3f]", gm, glo, ghi);
    }
    if (best >= 0 && len >= 0 && (size_t)len < n) {
        double bm, blo, bhi;
        paired(r, subject, best, clf, 3, &bm, &blo, &bhi);
        const char *cmp = !isfinite(blo) ? "against" : blo > 0 ? "beats" : bhi < 0 ? "trails" : "on par with";
        len += snprintf(buf + len, n - (size_t)len, "; %s %s on minority F1 (%+.3f [%+.3f, %+.3f])", cmp,
                        mcr_aug_method_name((mcr_aug_method)best), bm, blo, bhi);
    }
    if (len >= 0 && (size_t)len < n) { /* calibration: mean slopes (rebalancing moves the threshold
                                         * and usually over-states the minority's risk) */
        double sm, sn, half, *w = malloc((size_t)c->seeds * sizeof(double));
        if (w) {
            mean_ci(w, collect(r, subject, clf, 14, w), &sm, &half);
            mean_ci(w, collect(r, MCR_AUG_NONE, clf, 14, w), &sn, &half);
            free(w);
            if (isfinite(sm) && isfinite(sn))
                len += snprintf(buf + len, n - (size_t)len, "; calibration slope %.2f (none %.2f)", sm, sn);
        }
    }
    if (subject == MCR_AUG_MCRAGE_AUTO && r->autos && len >= 0 && (size_t)len < n) { /* what it chose */
        int none = 0, nseed = 0;
        for (int s = 0; s < c->seeds; s++)
            if (r->autos[s]) nseed++, none += r->autos[s]->points[r->autos[s]->chosen].share == 0;
        len += snprintf(buf + len, n - (size_t)len, "; chose no synthetic rows in %d of %d seeds", none, nseed);
    }
    if (at_floor && len >= 0 && (size_t)len < n)
        len += snprintf(buf + len, n - (size_t)len, "; its minority F1 %.3f [%.3f, %.3f] is no better than flagging every row (%.3f)",
                        sf, sf - shalf, sf + shalf, floor_f1);
    if (v < 0 && len >= 0 && (size_t)len < n) snprintf(buf + len, n - (size_t)len, "; use no rebalancing");
    return v;
}

/* mcrage-auto's grid: one row per point, one column per seed (CV mean +- sd, * chosen) */
static void print_autos(const mcr_eval_result *r, FILE *f) {
    const mcr_auto_result *a0 = NULL;
    for (int s = 0; s < r->cfg.seeds && !a0; s++) a0 = r->autos ? r->autos[s] : NULL;
    if (!a0) return;
    fprintf(f, "\nmcrage-auto: %d-fold cross-validation inside each seed's training part, %s of %s "
               "(mean +- sd over folds; * chosen)\n%-40s", a0->folds, mcr_auto_metric_name(a0->optimize),
            mcr_clf_kind_name((mcr_clf_kind)a0->classifier), "grid point");
    for (int s = 0; s < r->cfg.seeds; s++) fprintf(f, " seed %-12llu", (unsigned long long)(r->cfg.seed + (uint64_t)s));
    fputc('\n', f);
    for (int i = 0; i < a0->npoints; i++) {
        char lab[128];
        mcr_auto_point_label(&a0->points[i], lab, sizeof lab);
        fprintf(f, "%-40s", lab);
        for (int s = 0; s < r->cfg.seeds; s++) {
            const mcr_auto_result *a = r->autos[s];
            char cell[64] = "n/a";
            if (a && i < a->npoints)
                snprintf(cell, sizeof cell, "%.3f+-%.3f%s", a->points[i].mean, a->points[i].sd, i == a->chosen ? "*" : "");
            fprintf(f, " %-17s", cell);
        }
        fputc('\n', f);
    }
}

int mcr_eval_print(const mcr_eval_result *r, FILE *f) {
    const mcr_eval_config *c = &r->cfg;
    int S = c->seeds;
    double *v = malloc((size_t)S * sizeof(double)), *w = malloc((size_t)S * sizeof(double));
    if (!v || !w) return free(v), free(w), MCR_NOMEM();
    fprintf(f, "%s: %zu rows, target '%s' (minority/positive class '%s'), %d seed%s", r->source,
            r->nrows, r->target, r->positive_name ? r->positive_name : "?", S, S > 1 ? "s" : "");
    if (r->sensitive[0]) fprintf(f, ", groups by '%s' (%d)", r->sensitive, r->G);
    if (r->thin[0]) fprintf(f, ", training part thinned %s", r->thin);
    if (c->tune_threshold) fprintf(f, ", thresholds tuned by minority F1 on a 20%% validation split");
    if (r->ids && r->ids[0]) fprintf(f, "\nidentifier-like columns left out of the features: %s", r->ids);
    fprintf(f, "\nmean +- 95%% CI over seeds (Student t); * best in column%s\n\n",
            r->G ? "; EOD: lower is better" : "");
    mcr_eval_cell *cells = NULL;
    int ncells = 0;
    if (mcr_eval_cells(r, &cells, &ncells)) return free(v), free(w), MCR_NOMEM();
    int mw = 9; /* the method column's width */
    for (int mi = 0; mi < c->nmethods; mi++)
        if ((int)strlen(mcr_aug_method_name(c->methods[mi])) + 2 > mw) mw = (int)strlen(mcr_aug_method_name(c->methods[mi])) + 2;
    fprintf(f, "%-*s %-7s", mw, "method", "clf");
    for (int a = 0; a < NTABLE; a++) fprintf(f, " %-16s", METRICS[TABLE_METRICS[a]].label);
    fputc('\n', f);
    for (int i = 0; i < ncells; i++) {
        const mcr_eval_cell *e = &cells[i];
        fprintf(f, "%-*s %-7s", mw, mcr_aug_method_name(e->method), mcr_clf_name(e->clf));
        for (int a = 0; a < NTABLE; a++) {
            char cell[64];
            if (!isfinite(e->mean[a])) snprintf(cell, sizeof cell, "n/a");
            else if (!isfinite(e->half[a])) snprintf(cell, sizeof cell, "%.3f%s", e->mean[a], e->best[a] ? "*" : "");
            else snprintf(cell, sizeof cell, "%.3f+-%.3f%s", e->mean[a], e->half[a], e->best[a] ? "*" : "");
            fprintf(f, " %-16s", cell);
        }
        fputc('\n', f);
    }
    free(cells);
    /* paired comparisons */
    static const mcr_aug_method bases[2] = {MCR_AUG_NONE, MCR_AUG_SMOTE};
    for (int b = 0; b < 2; b++) {
        int has = 0;
        for (int mi = 0; mi < c->nmethods; mi++) has |= c->methods[mi] == bases[b];
        if (!has || c->nmethods < 2) continue;
        fprintf(f, "\npaired difference vs %s (mean +- 95%% CI of per-seed differences):\n%-*s %-7s",
                mcr_aug_method_name(bases[b]), mw, "method", "clf");
        for (int a = 0; a < 3; a++) fprintf(f, " %-18s", METRICS[PAIRED_METRICS[a]].label);
        fputc('\n', f);
        for (int mi = 0; mi < c->nmethods; mi++) {
            if (c->methods[mi] == bases[b]) continue;
            for (int ci = 0; ci < c->nclassifiers; ci++) {
                fprintf(f, "%-*s %-7s", mw, mcr_aug_method_name(c->methods[mi]), mcr_clf_name(c->classifiers[ci]));
                for (int a = 0; a < 3; a++) {
                    int n1 = collect(r, c->methods[mi], c->classifiers[ci], PAIRED_METRICS[a], v);
                    int n2 = collect(r, bases[b], c->classifiers[ci], PAIRED_METRICS[a], w);
                    int n = n1 < n2 ? n1 : n2;
                    for (int q = 0; q < n; q++) v[q] -= w[q];
                    double mean, half;
                    mean_ci(v, n, &mean, &half);
                    char cell[64];
                    if (!isfinite(mean)) snprintf(cell, sizeof cell, "n/a");
                    else if (!isfinite(half)) snprintf(cell, sizeof cell, "%+.3f", mean);
                    else snprintf(cell, sizeof cell, "%+.3f+-%.3f", mean, half);
                    fprintf(f, " %-18s", cell);
                }
                fputc('\n', f);
            }
        }
    }
    free(v), free(w);
    char line[1024];
    int any = 0, both = has_method(c, MCR_AUG_MCRAGE) && has_method(c, MCR_AUG_MCRAGE_AUTO);
    for (int ci = 0; ci < c->nclassifiers; ci++) {
        if (mcr_eval_verdict(r, ci, line, sizeof line) != -2 || ci == 0) {
            if (!any++) fprintf(f, "\ndid rebalancing with mcrage help? (paired per-seed differences, 95%% intervals)\n");
            fprintf(f, "  %s\n", line);
        }
        if (both && mcr_eval_verdict_method(r, ci, MCR_AUG_MCRAGE_AUTO, line, sizeof line) != -2) fprintf(f, "  %s\n", line);
    }
    print_autos(r, f);
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}

static void json_metrics(FILE *f, const mcr_metrics *m) {
    const char *k[] = {"n", "accuracy", "balanced_accuracy", "f1_macro", "f1_minority", "precision_minority",
                       "recall_minority", "auroc", "auprc", "log_loss", "brier", "selection_rate", "tpr", "fpr",
                       "calibration_slope", "calibration_intercept", "ece"};
    double v[] = {(double)m->n, m->accuracy, m->balanced_accuracy, m->f1_macro, m->f1_minority,
                  m->precision_minority, m->recall_minority, m->auroc, m->auprc, m->log_loss,
                  m->brier, m->selection_rate, m->tpr, m->fpr, m->calibration_slope, m->calibration_intercept, m->ece};
    for (int i = 0; i < 17; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", k[i]);
        mcr_json_num(f, v[i]);
    }
}

int mcr_eval_write_json(const mcr_eval_result *r, const char *path) {
    const mcr_eval_config *c = &r->cfg;
    mcr_afile a;
    int rc = mcr_afile_open(&a, path);
    if (rc) return rc;
    FILE *f = a.f;
    fputs("{\"data\":", f);
    mcr_json_str(f, r->source);
    fprintf(f, ",\"rows\":%zu,\"target\":", r->nrows);
    mcr_json_str(f, r->target);
    fputs(",\"positive\":", f);
    mcr_json_str(f, r->positive_name ? r->positive_name : "");
    fputs(",\"sensitive\":", f);
    mcr_json_str(f, r->sensitive);
    fputs(",\"thin\":", f);
    mcr_json_str(f, r->thin);
    fprintf(f, ",\"threshold\":\"%s\"", c->tune_threshold ? "tuned" : "0.5");
    fputs(",\"identifiers_left_out\":", f);
    mcr_json_str(f, r->ids ? r->ids : "");
    fprintf(f, ",\"seeds\":%d,\"test_frac\":", c->seeds);
    mcr_json_num(f, c->test_frac);
    fputs(",\"runs\":[", f);
    for (int i = 0; i < r->nruns; i++) {
        const eval_run *u = &r->runs[i];
        fprintf(f, "%s{\"method\":\"%s\",\"classifier\":\"%s\",\"seed\":%llu,\"train_rows\":%zu,"
                   "\"synthetic_rows\":%zu,\"test_rows\":%zu,\"seconds\":",
                i ? "," : "", mcr_aug_method_name(u->method), mcr_clf_name(u->clf),
                (unsigned long long)u->seed, u->ntrain, u->nsynth, u->ntest);
        mcr_json_num(f, u->seconds);
        fputs(",\"threshold\":", f);
        mcr_json_num(f, u->threshold);
        fputc(',', f);
        json_metrics(f, &u->m);
        for (int k = 8; k < 14; k++) { /* the fairness metrics (the rest are in json_metrics) */
            fprintf(f, ",\"%s\":", METRICS[k].key);
            mcr_json_num(f, metric_value(u, k));
        }
        fputs(",\"groups\":{", f);
        for (int g = 0; g < r->G; g++) {
            fputs(g ? "," : "", f);
            mcr_json_str(f, r->group_names[g]);
            fputs(":{", f);
            json_metrics(f, &u->groups[g]);
            fputc('}', f);
        }
        fputs("}}", f);
    }
    fputs("],\"summary\":[", f);
    double *v = malloc((size_t)c->seeds * sizeof(double) + 8), *w = malloc((size_t)c->seeds * sizeof(double) + 8);
    int first = 1;
    for (int mi = 0; v && w && mi < c->nmethods; mi++)
        for (int ci = 0; ci < c->nclassifiers; ci++) {
            fprintf(f, "%s{\"method\":\"%s\",\"classifier\":\"%s\"", first ? "" : ",",
                    mcr_aug_method_name(c->methods[mi]), mcr_clf_name(c->classifiers[ci]));
            first = 0;
            for (int k = 0; k < NMETRICS; k++) {
                double mean, half;
                int n = collect(r, c->methods[mi], c->classifiers[ci], k, v);
                mean_ci(v, n, &mean, &half);
                fprintf(f, ",\"%s\":{\"mean\":", METRICS[k].key);
                mcr_json_num(f, mean);
                fputs(",\"ci95\":", f);
                mcr_json_num(f, half);
                fputc('}', f);
            }
            fputc('}', f);
        }
    fputs("],\"paired\":[", f);
    first = 1;
    static const mcr_aug_method bases[2] = {MCR_AUG_NONE, MCR_AUG_SMOTE};
    for (int b = 0; v && w && b < 2; b++)
        for (int mi = 0; mi < c->nmethods; mi++)
            for (int ci = 0; ci < c->nclassifiers; ci++) {
                if (c->methods[mi] == bases[b]) continue;
                int n2 = collect(r, bases[b], c->classifiers[ci], 0, w);
                if (n2 == 0) continue;
                fprintf(f, "%s{\"method\":\"%s\",\"versus\":\"%s\",\"classifier\":\"%s\"", first ? "" : ",",
                        mcr_aug_method_name(c->methods[mi]), mcr_aug_method_name(bases[b]),
                        mcr_clf_name(c->classifiers[ci]));
                first = 0;
                for (int k = 0; k < NMETRICS; k++) {
                    int n1 = collect(r, c->methods[mi], c->classifiers[ci], k, v);
                    n2 = collect(r, bases[b], c->classifiers[ci], k, w);
                    int n = n1 < n2 ? n1 : n2;
                    for (int q = 0; q < n; q++) v[q] -= w[q];
                    double mean, half;
                    mean_ci(v, n, &mean, &half);
                    fprintf(f, ",\"%s\":{\"mean_difference\":", METRICS[k].key);
                    mcr_json_num(f, mean);
                    fputs(",\"ci95\":", f);
                    mcr_json_num(f, half);
                    fputc('}', f);
                }
                fputc('}', f);
            }
    fputs("],\"verdicts\":[", f);
    int both = has_method(c, MCR_AUG_MCRAGE) && has_method(c, MCR_AUG_MCRAGE_AUTO);
    first = 1;
    for (int ci = 0; ci < c->nclassifiers; ci++)
        for (int pass = 0; pass < 1 + both; pass++) {
            char line[1024];
            mcr_aug_method subj = pass ? MCR_AUG_MCRAGE_AUTO
                                       : has_method(c, MCR_AUG_MCRAGE) || !has_method(c, MCR_AUG_MCRAGE_AUTO) ? MCR_AUG_MCRAGE
                                                                                                         : MCR_AUG_MCRAGE_AUTO;
            int k = mcr_eval_verdict_method(r, ci, subj, line, sizeof line);
            fprintf(f, "%s{\"classifier\":\"%s\",\"method\":\"%s\",\"verdict\":\"%s\",\"reading\":", first ? "" : ",",
                    mcr_clf_name(c->classifiers[ci]), mcr_aug_method_name(subj),
                    k == 1 ? "helped" : k == -1 ? "hurt" : k == 0 ? "no evidence" : "none");
            first = 0;
            mcr_json_string(f, line);
            fputc('}', f);
        }
    fputs("],\"auto\":[", f);
    first = 1;
    for (int s = 0; r->autos && s < c->seeds; s++) {
        if (!r->autos[s]) continue;
        fprintf(f, "%s{\"seed\":%llu,\"choice\":", first ? "" : ",", (unsigned long long)(c->seed + (uint64_t)s));
        first = 0;
        mcr_auto_write_json(r->autos[s], f);
        fputc('}', f);
    }
    fputs("]}\n", f);
    free(v), free(w);
    return mcr_afile_commit(&a);
}
