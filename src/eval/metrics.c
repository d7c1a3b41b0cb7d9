/* metrics.c — classification metrics from probabilities, and group fairness summaries. */
#include "eval/eval.h"

int mcr_cmp_scored_desc(const void *a, const void *b) {
    double x = ((const mcr_scored *)a)->s, y = ((const mcr_scored *)b)->s;
    return (x < y) - (x > y);
}

double mcr_auroc(const double *score, const int *label, size_t n) {
    mcr_scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return NAN;
    size_t np = 0;
    for (size_t i = 0; i < n; i++) v[i].s = score[i], v[i].y = label[i] != 0, np += v[i].y;
    size_t nn = n - np;
    if (np == 0 || nn == 0) {
        free(v);
        return NAN;
    }
    qsort(v, n, sizeof *v, mcr_cmp_scored_desc);
    /* walk from the highest score: each tie block contributes pos_in_block * neg_below +
     * pos_in_block * neg_in_block / 2 */
    double u = 0;
    size_t neg_seen = 0, i = 0;
    while (i < n) {
        size_t j = i, p = 0, q = 0;
        while (j < n && v[j].s == v[i].s) p += v[j].y, q += !v[j].y, j++;
        u += (double)p * (double)(nn - neg_seen - q) + 0.5 * (double)p * (double)q;
        neg_seen += q;
        i = j;
    }
    free(v);
    return u / ((double)np * (double)nn);
}

double mcr_average_precision(const double *score, const int *label, size_t n) {
    mcr_scored *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return NAN;
    size_t np = 0;
    for (size_t i = 0; i < n; i++) v[i].s = score[i], v[i].y = label[i] != 0, np += v[i].y;
    if (np == 0) {
        free(v);
        return NAN;
    }
    qsort(v, n, sizeof *v, mcr_cmp_scored_desc);
    double ap = 0, prev_r = 0;
    size_t tp = 0, i = 0;
    while (i < n) { /* one threshold per distinct score */
        size_t j = i;
        while (j < n && v[j].s == v[i].s) tp += v[j].y, j++;
        double r = (double)tp / np, p = (double)tp / j;
        ap += (r - prev_r) * p;
        prev_r = r;
        i = j;
    }
    free(v);
    return ap;
}

int mcr_argmax(const double *p, int K) {
    int b = 0;
    for (int k = 1; k < K; k++)
        if (p[k] > p[b]) b = k;
    return b;
}

int mcr_metrics_compute(const int *y, const double *prob, size_t n, int K, int positive,
                        mcr_metrics *m) {
    memset(m, 0, sizeof *m);
    m->n = n;
    if (K < 2 || positive < 0 || positive >= K) return mcr_err(MCR_EINVAL, "metrics: bad K or positive class");
    size_t *conf = calloc((size_t)K * K, sizeof(size_t)); /* [true][pred] */
    double *sc = malloc((n ? n : 1) * sizeof(double));
    int *lb = malloc((n ? n : 1) * sizeof(int));
    if (!conf || !sc || !lb) {
        free(conf), free(sc), free(lb);
        return MCR_NOMEM();
    }
    double ll = 0, br = 0;
    for (size_t i = 0; i < n; i++) {
        const double *p = prob + i * K;
        int pr = mcr_argmax(p, K);
        conf[(size_t)y[i] * K + pr]++;
        double pt = p[y[i]];
        ll -= log(pt < 1e-15 ? 1e-15 : pt > 1 - 1e-15 ? 1 - 1e-15 : pt);
        if (K == 2) {
            double e = p[positive] - (y[i] == positive);
            br += e * e;
        } else
            for (int k = 0; k < K; k++) {
                double e = p[k] - (y[i] == k);
                br += e * e;
            }
    }
    size_t correct = 0;
    double f1sum = 0, recsum = 0;
    int ncls = 0;
    for (int k = 0; k < K; k++) {
        size_t tp = conf[(size_t)k * K + k], fn = 0, fp = 0;
        for (int j = 0; j < K; j++)
            if (j != k) fn += conf[(size_t)k * K + j], fp += conf[(size_t)j * K + k];
        correct += tp;
        double prec = tp + fp ? (double)tp / (tp + fp) : 0, rec = tp + fn ? (double)tp / (tp + fn) : 0;
        double f1 = prec + rec > 0 ? 2 * prec * rec / (prec + rec) : 0;
        f1sum += f1;
        if (tp + fn > 0) recsum += rec, ncls++;
        if (k == positive) {
            m->precision_minority = prec;
            m->recall_minority = tp + fn ? rec : NAN;
            m->f1_minority = f1;
            m->tpr = m->recall_minority;
            size_t neg = n - (tp + fn);
            m->fpr = neg ? (double)fp / neg : NAN;
            m->selection_rate = n ? (double)(tp + fp) / n : NAN;
        }
    }
    m->accuracy = n ? (double)correct / n : NAN;
    m->balanced_accuracy = ncls ? recsum / ncls : NAN;
    m->f1_macro = f1sum / K;
    m->log_loss = n ? ll / n : NAN;
    m->brier = n ? br / n : NAN;
    /* AUROC: binary on the positive class's probability; K > 2: one-vs-rest macro */
    if (K == 2) {
        for (size_t i = 0; i < n; i++) sc[i] = prob[i * K + positive], lb[i] = y[i] == positive;
        m->auroc = mcr_auroc(sc, lb, n);
    } else {
        double s = 0;
        int cnt = 0;
        for (int k = 0; k < K; k++) {
            for (size_t i = 0; i < n; i++) sc[i] = prob[i * K + k], lb[i] = y[i] == k;
            double a = mcr_auroc(sc, lb, n);
            if (!isnan(a)) s += a, cnt++;
        }
        m->auroc = cnt ? s / cnt : NAN;
    }
    for (size_t i = 0; i < n; i++) sc[i] = prob[i * K + positive], lb[i] = y[i] == positive;
    m->auprc = mcr_average_precision(sc, lb, n);
    mcr_calibration(sc, lb, n, &m->calibration_slope, &m->calibration_intercept, &m->ece);
    free(conf), free(sc), free(lb);
    return MCR_OK;
}

/* the log-likelihood of labels y under sigmoid(a + b z) */
static double calib_ll(const double *z, const int *y, size_t n, double a, double b) {
    double ll = 0;
    for (size_t i = 0; i < n; i++) {
        double t = a + b * z[i]; /* log sigmoid(t) = -log1p(exp(-t)), stably */
        double lp = t >= 0 ? -log1p(exp(-t)) : t - log1p(exp(t)), lq = lp - t;
        ll += y[i] != 0 ? lp : lq;
    }
    return ll;
}

void mcr_calibration(const double *p, const int *y, size_t n, double *slope, double *intercept, double *ece) {
    *slope = *intercept = *ece = NAN;
    if (n == 0) return;
    double bn[10] = {0}, by[10] = {0}, bp[10] = {0};
    size_t npos = 0;
    for (size_t i = 0; i < n; i++) {
        int b = (int)(p[i] * 10);
        b = b < 0 ? 0 : b > 9 ? 9 : b;
        bn[b]++, by[b] += y[i] != 0, bp[b] += p[i], npos += y[i] != 0;
    }
    double e = 0;
    for (int b = 0; b < 10; b++)
        if (bn[b] > 0) e += bn[b] / (double)n * fabs(by[b] / bn[b] - bp[b] / bn[b]);
    *ece = e;
    if (npos == 0 || npos == n) return;
    /* logistic regression of y on z = logit(p) (p clipped to [1e-12, 1 - 1e-12]): Newton with
     * step halving until the log-likelihood does not fall (plain Newton from slope 1 overshoots
     * on over-confident scores, e.g. boosted trees' near 0 / 1, and diverged to NaN there) */
    double *z = malloc(n * sizeof(double));
    if (!z) return;
    for (size_t i = 0; i < n; i++) {
        double q = p[i] < 1e-12 ? 1e-12 : p[i] > 1 - 1e-12 ? 1 - 1e-12 : p[i];
        z[i] = log(q / (1 - q));
    }
    double a = 0, b = 1, ll = calib_ll(z, y, n, a, b);
    int ok = 0;
    for (int it = 0; it < 100 && isfinite(ll); it++) {
        double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0;
        for (size_t i = 0; i < n; i++) {
            double t = a + b * z[i], s = 1 / (1 + exp(-t)), r = (y[i] != 0) - s, w = s * (1 - s);
            g0 += r, g1 += r * z[i], h00 += w, h01 += w * z[i], h11 += w * z[i] * z[i];
        }
        double det = h00 * h11 - h01 * h01;
        if (!(det > 1e-300)) break; /* separable or constant scores: no finite fit */
        double da = (h11 * g0 - h01 * g1) / det, db = (h00 * g1 - h01 * g0) / det, f = 1, l2 = -INFINITY;
        if (fabs(da) < 1e-10 && fabs(db) < 1e-10) { /* the full Newton step is nil: converged */
            a += da, b += db, ok = 1;
            break;
        }
        for (int h = 0; h < 40; h++, f *= 0.5)
            if ((l2 = calib_ll(z, y, n, a + f * da, b + f * db)) >= ll - 1e-12 * fabs(ll)) break;
        if (!(l2 >= ll - 1e-12 * fabs(ll))) break;
        a += f * da, b += f * db, ll = l2;
        if (!isfinite(a) || !isfinite(b) || fabs(a) > 1e6 || fabs(b) > 1e6) break;
    }
    free(z);
    if (!ok) return;
    *slope = b, *intercept = a;
}

int mcr_fairness_compute(const int *y, const double *prob, const int *g, size_t n, int K,
                         int positive, int G, mcr_metrics *per_group, mcr_fairness *f) {
    int rc = MCR_OK;
    mcr_metrics *pg = per_group ? per_group : calloc((size_t)(G ? G : 1), sizeof(mcr_metrics));
    int *yy = malloc((n ? n : 1) * sizeof(int));
    double *pp = malloc((n ? n : 1) * (size_t)K * sizeof(double));
    if (!pg || !yy || !pp) {
        rc = MCR_NOMEM();
        goto done;
    }
    double sr[2] = {INFINITY, -INFINITY}, tp[2] = {INFINITY, -INFINITY}, fp[2] = {INFINITY, -INFINITY},
           ac[2] = {INFINITY, -INFINITY}, au[2] = {INFINITY, -INFINITY}, rec_min = INFINITY;
#define UPD(a, v) do { if (!isnan(v)) { if ((v) < a[0]) a[0] = (v); if ((v) > a[1]) a[1] = (v); } } while (0)
    for (int k = 0; k < G; k++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (g[i] == k) {
                yy[m] = y[i];
                memcpy(pp + m * K, prob + i * K, (size_t)K * sizeof(double));
                m++;
            }
        if (m == 0) {
            memset(&pg[k], 0, sizeof pg[k]);
            pg[k].accuracy = pg[k].tpr = pg[k].fpr = pg[k].auroc = pg[k].selection_rate = NAN;
            pg[k].recall_minority = NAN;
            continue;
        }
        if ((rc = mcr_metrics_compute(yy, pp, m, K, positive, &pg[k]))) goto done;
        UPD(sr, pg[k].selection_rate);
        UPD(tp, pg[k].tpr);
        UPD(fp, pg[k].fpr);
        UPD(ac, pg[k].accuracy);
        UPD(au, pg[k].auroc);
        if (!isnan(pg[k].recall_minority) && pg[k].recall_minority < rec_min) rec_min = pg[k].recall_minority;
    }
#undef UPD
#define GAP(a) (isfinite(a[0]) ? a[1] - a[0] : NAN)
    f->dp_difference = GAP(sr);
    double tg = GAP(tp), fg = GAP(fp);
    f->eo_difference = isnan(tg) ? fg : isnan(fg) ? tg : (tg > fg ? tg : fg);
    f->worst_group_accuracy = isfinite(ac[0]) ? ac[0] : NAN;
    f->worst_group_recall = isfinite(rec_min) ? rec_min : NAN;
    f->accuracy_gap = GAP(ac);
    f->auroc_gap = GAP(au);
#undef GAP
done:
    if (!per_group) free(pg);
    free(yy), free(pp);
    return rc;
}
