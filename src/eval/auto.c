/* auto.c — strategy auto: how many synthetic rows mcrage adds, with which group policy and which
 * guidance weight, chosen on the data by stratified K-fold cross-validation inside the rows it
 * is given (evaluate: each seed's training part, so the test part never votes).
 *
 * The grid (simplest first; ties go to the earlier point):
 *   share 0                      no synthetic rows: the choice "do not rebalance" must be on
 *                                the table, since on well-separated data any rebalancing hurts
 *   share {0.25, 0.5, 1}         of the full balancing amount (1 = MCRAGE's rule: every class up
 *                                to the majority). Rebalancing mostly moves the decision
 *                                threshold (van den Goorbergh et al. 2022), and the best
 *                                correction is often partial; three roughly geometric steps
 *                                cover "a little", "half" and "all" at 3x the cost of one
 *   x guidance {0, 1.5}          unguided (the default sampler) against a moderate
 *                                classifier-free guidance, which sharpens class-conditional rows
 *                                towards the class without collapsing their spread (TabDDPM-like
 *                                tables go bad beyond w ~ 3)
 *   x policy {balance, group-balance}  the second only with a sensitive column
 * = 7 points (13 with a sensitive column). Cost per fold: one diffusion fit on the fold's
 * training part (conditioned on class and group when there is a sensitive column, so both
 * policies sample the same model), one sample of the largest amount per (policy, guidance),
 * and one classifier fit per point: smaller shares are nested prefixes of the largest sample
 * in each condition. Scores: the metric on the held-out fold with arg-max decisions, or (auto_tuned,
 * evaluate's tuned thresholds) at thresholds cross-fitted on the fold's two halves, so that
 * auto does not pay for rows that only move the threshold. Fold
 * models are seeded from the seed and the fold, so the same seed gives the same choice.
 */
#include "eval/eval.h"

static const char *AUTO_NAMES[MCR_AUTO_NMETRICS] = {"minority-f1", "worst-group-recall", "auroc", "balanced-accuracy"};
static const double SHARES[] = {0.25, 0.5, 1.0};
static const float GUIDANCE[] = {0.0f, 1.5f};
#define NSHARE 3
#define NGUID 2

const char *mcr_auto_metric_name(mcr_auto_metric m) {
    return (int)m >= 0 && m < MCR_AUTO_NMETRICS ? AUTO_NAMES[m] : "?";
}

int mcr_auto_metric_parse(const char *s, mcr_auto_metric *out) {
    for (int m = 0; m < MCR_AUTO_NMETRICS; m++)
        if (!strcmp(s, AUTO_NAMES[m])) {
            *out = (mcr_auto_metric)m;
            return MCR_OK;
        }
    return mcr_err(MCR_EINVAL, "unknown metric '%s' (minority-f1, worst-group-recall, auroc, balanced-accuracy)", s);
}

void mcr_auto_result_free(mcr_auto_result *r) {
    if (!r) return;
    free(r->points);
    free(r);
}

void mcr_auto_point_label(const mcr_auto_point *p, char *buf, size_t n) {
    if (p->share == 0) snprintf(buf, n, "share 0 (no synthetic rows)");
    else
        snprintf(buf, n, "share %.2f, %s, guidance %.1f", p->share,
                 p->strategy == MCR_STRAT_GROUP_BALANCE ? "group-balance" : "balance", (double)p->guidance);
}

/* prob[n, 2] -> one-hot decisions: rows of each parity get the threshold that maximises the
 * minority F1 on the rows of the other parity (the validation rows come class by class in
 * shuffled order, so the halves are stratified) */
static int tuned_decisions(double *prob, const int *y, size_t n, int K, int pos) {
    double *hp = malloc((n / 2 + 1) * (size_t)K * sizeof(double)), thr[2];
    int *hy = malloc((n / 2 + 1) * sizeof(int));
    if (!hp || !hy) return free(hp), free(hy), MCR_NOMEM();
    for (int h = 0; h < 2; h++) { /* thr[h]: chosen on the other half */
        size_t m = 0;
        for (size_t i = (size_t)(1 - h); i < n; i += 2, m++) {
            memcpy(hp + m * K, prob + i * K, (size_t)K * sizeof(double));
            hy[m] = y[i];
        }
        thr[h] = mcr_best_threshold(hp, hy, m, K, pos);
    }
    for (size_t i = 0; i < n; i++) {
        int d = prob[i * K + pos] >= thr[i % 2];
        for (int k = 0; k < K; k++) prob[i * K + k] = d ? k == pos : k != pos;
    }
    free(hp), free(hy);
    return MCR_OK;
}

/* the metric of classifier `kind` trained on the encoded rows X / y, on the validation rows Xv
 * (sparse, as evaluate's own classifiers get them: one-hot dims held as indices) */
static int fold_score(const mcr_augment_config *c, mcr_clf_kind kind, const mcr_csr *X, const int *y, int K,
                      const mcr_csr *Xv, const int *yv, const int *gv, int pos, int G, double *score) {
    mcr_clf_config cc;
    mcr_clf_config_default(&cc, kind);
    cc.seed = c->seed;
    mcr_classifier *clf = NULL;
    size_t nv = Xv->n;
    double *prob = malloc((nv ? nv : 1) * (size_t)K * sizeof(double));
    mcr_metrics *pg = calloc((size_t)(G ? G : 1), sizeof(mcr_metrics));
    int rc = prob && pg ? MCR_OK : MCR_NOMEM();
    if (!rc) rc = mcr_clf_fit_csr(&cc, X, y, K, &clf);
    if (!rc) rc = mcr_clf_predict_csr(clf, Xv, prob);
    mcr_metrics m;
    mcr_fairness f;
    double auroc = NAN;
    if (!rc && c->auto_tuned && K == 2) { /* decisions at thresholds cross-fitted on the fold's halves */
        rc = mcr_metrics_compute(yv, prob, nv, K, pos, &m);
        auroc = m.auroc;
        if (!rc) rc = tuned_decisions(prob, yv, nv, K, pos);
    }
    if (!rc) rc = mcr_metrics_compute(yv, prob, nv, K, pos, &m);
    if (!rc && isfinite(auroc)) m.auroc = auroc;
    if (!rc && c->optimize == MCR_AUTO_WORST_GROUP_RECALL) rc = mcr_fairness_compute(yv, prob, gv, nv, K, pos, G, pg, &f);
    if (!rc) switch (c->optimize) {
        case MCR_AUTO_WORST_GROUP_RECALL: *score = f.worst_group_recall; break;
        case MCR_AUTO_AUROC: *score = m.auroc; break;
        case MCR_AUTO_BALANCED_ACCURACY: *score = m.balanced_accuracy; break;
        default: *score = m.f1_minority; break;
        }
    mcr_clf_free(clf);
    free(prob), free(pg);
    return rc;
}

/* Xa: the real rows' encodings, then the chosen synthetic ones; ya their classes */
static int stack_rows(const mcr_csr *Xr, const int *yr, const mcr_csr *Xs, const int *ys, const size_t *pick,
                      size_t np, mcr_csr *Xa, int **ya) {
    size_t nr = Xr->n;
    if (!(*ya = malloc((nr + np + 1) * sizeof(int)))) return MCR_NOMEM();
    memcpy(*ya, yr, nr * sizeof(int));
    for (size_t i = 0; i < np; i++) (*ya)[nr + i] = ys[pick[i]];
    int rc = mcr_csr_stack(Xr, Xs, pick, np, Xa);
    if (rc) free(*ya), *ya = NULL;
    return rc;
}

/* One fold: the real training rows tr[ntr], the validation rows va[nva] (table rows); fills
 * sc[pt] (the fold's score of each grid point). */
typedef struct {
    const mcr_table *t;
    const mcr_augment_config *c;
    int jt, js, K, G, pos, P, np, F;
    const int *feat;
    int nfeat;
    mcr_clf_kind kind;
} auto_ctx;

static int auto_fold(const auto_ctx *x, int fold, const size_t *tr, size_t ntr, const size_t *va, size_t nva,
                     double *sc) {
    const mcr_table *t = x->t;
    const mcr_augment_config *c = x->c;
    mcr_encoder *enc = NULL;
    mcr_csr Xtr = {0}, Xva = {0}, Xs = {0}, Xa = {0};
    int *ytr = malloc((ntr + 1) * sizeof(int)), *yva = malloc((nva + 1) * sizeof(int)), *gva = malloc((nva + 1) * sizeof(int));
    int *ys = NULL, *ya = NULL;
    size_t *full = NULL, *part = NULL, *pick = NULL;
    mcr_model *m = NULL;
    mcr_table *S = NULL;
    int rc = ytr && yva && gva ? MCR_OK : MCR_NOMEM();
    if (!rc) rc = mcr_encoder_fit(t, x->feat, x->nfeat, tr, ntr, MCR_NUM_STANDARD, &enc);
    if (!rc) rc = mcr_encoder_transform_csr(enc, t, tr, ntr, &Xtr);
    if (!rc) rc = mcr_encoder_transform_csr(enc, t, va, nva, &Xva);
    if (rc) goto done;
    for (size_t i = 0; i < ntr; i++) ytr[i] = t->cols[x->jt].cat[tr[i]];
    for (size_t i = 0; i < nva; i++)
        yva[i] = t->cols[x->jt].cat[va[i]], gva[i] = x->js >= 0 ? t->cols[x->js].cat[va[i]] : 0;
    /* share 0: the real rows alone */
    if ((rc = fold_score(c, x->kind, &Xtr, ytr, x->K, &Xva, yva, gva, x->pos, x->G, &sc[0]))) goto done;
    /* one model for the fold */
    mcr_fit_config fc = c->fit;
    fc.target = c->target, fc.sensitive = c->sensitive, fc.drop = c->drop;
    fc.seed = c->seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(fold + 1));
    fc.condition = x->js >= 0 ? MCR_COND_BOTH : MCR_COND_TARGET;
    fc.checkpoint_every = 0, fc.checkpoint_path = NULL, fc.resume = NULL;
    mcr_say(c->progress, c->progress_ctx, "strategy auto: fold %d/%d: fitting the diffusion model on %zu rows",
            fold + 1, x->F, ntr);
    if ((rc = mcr_model_fit(t, tr, ntr, &fc, &m))) goto done;
    int nc = mcr_model_ncond(m);
    full = calloc((size_t)nc, sizeof(size_t));
    part = calloc((size_t)nc * NSHARE, sizeof(size_t));
    if (!full || !part) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int p = 0; p < x->P; p++) {
        mcr_augment_config ac = *c;
        ac.method = MCR_AUG_MCRAGE;
        ac.strategy = p ? MCR_STRAT_GROUP_BALANCE : MCR_STRAT_BALANCE;
        ac.synthetic_fraction = -1;
        ac.condition_both = 1;
        ac.amount = 0;
        if ((rc = mcr_augment_cond_counts(t, tr, ntr, &ac, m, full))) goto done;
        size_t tot = 0;
        for (int k = 0; k < nc; k++) tot += full[k];
        for (int s = 0; s < NSHARE; s++) {
            ac.amount = SHARES[s] < 1 ? SHARES[s] : 0;
            if ((rc = mcr_augment_cond_counts(t, tr, ntr, &ac, m, part + (size_t)s * nc))) goto done;
            for (int k = 0; k < nc; k++)
                if (part[(size_t)s * nc + k] > full[k]) part[(size_t)s * nc + k] = full[k];
        }
        for (int g = 0; g < NGUID; g++) {
            if (tot == 0) { /* nothing to add (already balanced): every share is share 0 */
                for (int s = 0; s < NSHARE; s++) sc[1 + (s * NGUID + g) * x->P + p] = sc[0];
                continue;
            }
            mcr_sample_config smp = c->sample;
            smp.guidance = GUIDANCE[g];
            smp.seed = fc.seed;
            mcr_say(c->progress, c->progress_ctx, "strategy auto: fold %d/%d: sampling %zu rows (%s, guidance %.1f), "
                    "then %d classifier fits", fold + 1, x->F, tot, p ? "group-balance" : "balance", (double)GUIDANCE[g], NSHARE);
            if ((rc = mcr_model_sample(m, full, &smp, &S))) goto done;
            if ((rc = mcr_encoder_transform_csr(enc, S, NULL, S->nrows, &Xs))) goto done;
            if (!(ys = malloc((S->nrows + 1) * sizeof(int))) || !(pick = malloc((S->nrows + 1) * sizeof(size_t)))) {
                rc = MCR_NOMEM();
                goto done;
            }
            for (size_t i = 0; i < S->nrows; i++) ys[i] = S->cols[x->jt].cat[i];
            for (int s = 0; s < NSHARE; s++) { /* the first part[k] rows of each condition's block */
                size_t npk = 0, start = 0;
                for (int k = 0; k < nc; k++) {
                    for (size_t a = 0; a < part[(size_t)s * nc + k]; a++) pick[npk++] = start + a;
                    start += full[k];
                }
                if ((rc = stack_rows(&Xtr, ytr, &Xs, ys, pick, npk, &Xa, &ya))) goto done;
                rc = fold_score(c, x->kind, &Xa, ya, x->K, &Xva, yva, gva, x->pos, x->G,
                                &sc[1 + (s * NGUID + g) * x->P + p]);
                mcr_csr_free(&Xa), free(ya);
                ya = NULL;
                if (rc) goto done;
            }
            mcr_table_free(S), mcr_csr_free(&Xs), free(ys), free(pick);
            S = NULL, ys = NULL, pick = NULL;
        }
    }
done:
    mcr_table_free(S);
    mcr_model_free(m);
    mcr_encoder_free(enc);
    mcr_csr_free(&Xtr), mcr_csr_free(&Xva), mcr_csr_free(&Xs), mcr_csr_free(&Xa);
    free(ytr), free(yva), free(gva), free(ys), free(ya);
    free(full), free(part), free(pick);
    return rc;
}

int mcr_auto_choose(const mcr_table *t0, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                    mcr_auto_result **out) {
    *out = NULL;
    if (!c->target) return mcr_err(MCR_EINVAL, "a target column is required");
    if (c->folds < 2 || c->folds > 20)
        return mcr_err(MCR_EINVAL, "`folds` of strategy auto must be in 2..20 (got %d)", c->folds);
    if ((int)c->optimize < 0 || c->optimize >= MCR_AUTO_NMETRICS)
        return mcr_err(MCR_EINVAL, "`optimize`: unknown metric %d", (int)c->optimize);
    int kind = c->auto_classifier < 0 ? MCR_CLF_LOGREG : c->auto_classifier;
    if (kind >= MCR_CLF_N) return mcr_err(MCR_EINVAL, "`auto_classifier`: unknown classifier %d", kind);
    if (c->optimize == MCR_AUTO_WORST_GROUP_RECALL && !c->sensitive)
        return mcr_err(MCR_EINVAL, "`optimize` worst-group-recall needs a sensitive column");
    int jt, js, rc;
    if ((rc = mcr_role_column(t0, "target", c->target, MCR_ROLE_LEVELS, &jt))) return rc;
    if ((rc = mcr_role_column(t0, "sensitive", c->sensitive, MCR_ROLE_LEVELS, &js))) return rc;
    int roles[2] = {jt, js};
    mcr_table *lv = NULL;
    if ((rc = mcr_table_levelled(t0, roles, 2, &lv))) return rc;
    const mcr_table *t = lv ? lv : t0;
    if (!rows) nrows = t->nrows;
    int K = t->cols[jt].nlevels, G = js >= 0 ? t->cols[js].nlevels : 0, P = js >= 0 ? 2 : 1, F = c->folds;
    int np = 1 + NSHARE * NGUID * P, nfeat = 0;
    size_t *lab = malloc((nrows + 1) * sizeof(size_t)), *cnt = calloc((size_t)K + 1, sizeof(size_t));
    size_t *tr = malloc((nrows + 1) * sizeof(size_t)), *va = malloc((nrows + 1) * sizeof(size_t));
    int *fold = malloc((nrows + 1) * sizeof(int)), *feat = malloc(((size_t)t->ncols + 1) * sizeof(int));
    double *sc = malloc((size_t)np * F * sizeof(double));
    mcr_auto_result *r = calloc(1, sizeof *r);
    if (r) r->points = calloc((size_t)np, sizeof(mcr_auto_point));
    if (!lab || !cnt || !tr || !va || !fold || !feat || !sc || !r || !r->points) {
        rc = MCR_NOMEM();
        goto fail;
    }
    /* stratified folds: each class's labelled rows shuffled, dealt round-robin */
    size_t nl = 0;
    for (size_t q = 0; q < nrows; q++) {
        size_t i = rows ? rows[q] : q;
        int y = t->cols[jt].cat[i];
        if (y >= 0) lab[nl++] = i, cnt[y]++;
    }
    int nclass = 0;
    for (int k = 0; k < K; k++) {
        nclass += cnt[k] > 0;
        if (cnt[k] > 0 && cnt[k] < (size_t)F) {
            rc = mcr_err(MCR_EINVAL, "strategy auto: class '%s' has %zu row%s, fewer than the %d folds (lower `folds`)",
                         t->cols[jt].levels[k], cnt[k], cnt[k] == 1 ? "" : "s", F);
            goto fail;
        }
    }
    if (nclass < 2) {
        rc = mcr_err(MCR_EINVAL, "strategy auto: target '%s' needs two classes with rows", c->target);
        goto fail;
    }
    int pos = mcr_minority_class(cnt, K, NULL);
    mcr_rng rg;
    mcr_rng_seed(&rg, c->seed, MCR_STREAM_AUTO_FOLDS);
    size_t at = 0; /* va: the labelled rows class by class, each class shuffled; lab <- va */
    for (int k = 0; k < K; k++) {
        size_t m = 0;
        for (size_t a = 0; a < nl; a++)
            if (t->cols[jt].cat[lab[a]] == k) va[at + m++] = lab[a];
        mcr_rng_shuffle(&rg, va + at, m);
        for (size_t a = 0; a < m; a++) fold[at + a] = (int)(a % (size_t)F);
        at += m;
    }
    memcpy(lab, va, nl * sizeof(size_t));
    if ((rc = mcr_augment_features(t, jt, -1, c, feat, &nfeat))) goto fail;
    if (nfeat == 0) {
        rc = mcr_err(MCR_EINVAL, "strategy auto: no feature columns besides the target");
        goto fail;
    }
    auto_ctx x = {t, c, jt, js, K, G, pos, P, np, F, feat, nfeat, (mcr_clf_kind)kind};
    for (int i = 0; i < np * F; i++) sc[i] = NAN;
    double *fs = malloc((size_t)np * sizeof(double));
    if (!fs) {
        rc = MCR_NOMEM();
        goto fail;
    }
    for (int f = 0; f < F && !rc; f++) {
        size_t ntr = 0, nva = 0;
        for (size_t a = 0; a < nl; a++) {
            if (fold[a] == f) va[nva++] = lab[a];
            else tr[ntr++] = lab[a];
        }
        for (int p = 0; p < np; p++) fs[p] = NAN;
        rc = auto_fold(&x, f, tr, ntr, va, nva, fs);
        for (int p = 0; p < np; p++) sc[(size_t)p * F + f] = fs[p];
    }
    free(fs);
    if (rc) goto fail;
    r->npoints = np, r->optimize = c->optimize, r->classifier = kind, r->folds = F, r->nrows = nl;
    double best = -INFINITY;
    r->chosen = 0;
    for (int p = 0; p < np; p++) {
        mcr_auto_point *q = &r->points[p];
        int s = p ? (p - 1) / (NGUID * P) : -1, g = p ? (p - 1) / P % NGUID : 0, pp = p ? (p - 1) % P : 0;
        q->share = p ? SHARES[s] : 0;
        q->guidance = p ? GUIDANCE[g] : 0;
        q->strategy = pp ? MCR_STRAT_GROUP_BALANCE : MCR_STRAT_BALANCE;
        double sum = 0, ss = 0;
        int n = 0;
        for (int f = 0; f < F; f++)
            if (isfinite(sc[(size_t)p * F + f])) sum += sc[(size_t)p * F + f], n++;
        q->nfolds = n;
        q->mean = n ? sum / n : NAN;
        for (int f = 0; f < F; f++)
            if (isfinite(sc[(size_t)p * F + f])) ss += (sc[(size_t)p * F + f] - q->mean) * (sc[(size_t)p * F + f] - q->mean);
        q->sd = n > 1 ? sqrt(ss / (n - 1)) : NAN;
        if (isfinite(q->mean) && q->mean > best + 1e-12) best = q->mean, r->chosen = p; /* ties: the simpler */
    }
    free(lab), free(cnt), free(tr), free(va), free(fold), free(feat), free(sc);
    mcr_table_free(lv);
    *out = r;
    return MCR_OK;
fail:
    free(lab), free(cnt), free(tr), free(va), free(fold), free(feat), free(sc);
    mcr_table_free(lv);
    mcr_auto_result_free(r);
    return rc;
}

int mcr_auto_print(const mcr_auto_result *r, const char *prefix, FILE *f) {
    const char *p = prefix ? prefix : "";
    fprintf(f, "%sstrategy auto: %d-fold cross-validation on %zu rows, %s of %s (mean +- sd over folds):\n", p,
            r->folds, r->nrows, mcr_auto_metric_name(r->optimize), mcr_clf_kind_name((mcr_clf_kind)r->classifier));
    for (int i = 0; i < r->npoints; i++) {
        char lab[128];
        mcr_auto_point_label(&r->points[i], lab, sizeof lab);
        fprintf(f, "%s  %-40s %.4f +- %.4f%s\n", p, lab, r->points[i].mean, r->points[i].sd,
                i == r->chosen ? "  <- chosen" : "");
    }
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}

static void json_point(FILE *f, const mcr_auto_point *q) {
    fprintf(f, "{\"share\":%.4g,\"strategy\":\"%s\",\"guidance\":%.4g,\"mean\":", q->share,
            q->strategy == MCR_STRAT_GROUP_BALANCE ? "group-balance" : "balance", (double)q->guidance);
    mcr_json_num(f, q->mean);
    fputs(",\"sd\":", f);
    mcr_json_num(f, q->sd);
    fprintf(f, ",\"folds_scored\":%d}", q->nfolds);
}

int mcr_auto_write_json(const mcr_auto_result *r, FILE *f) {
    fprintf(f, "{\"folds\":%d,\"optimize\":\"%s\",\"classifier\":\"%s\",\"rows\":%zu,\"chosen\":", r->folds,
            mcr_auto_metric_name(r->optimize), mcr_clf_kind_name((mcr_clf_kind)r->classifier), r->nrows);
    json_point(f, &r->points[r->chosen]);
    fputs(",\"grid\":[", f);
    for (int i = 0; i < r->npoints; i++) {
        fputs(i ? "," : "", f);
        json_point(f, &r->points[i]);
    }
    fputs("]}", f);
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}
