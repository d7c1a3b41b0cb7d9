/* report.c — one self-contained HTML page (inline CSS and SVG; no scripts, fonts or links) that
 * shows a reviewer the data, what rebalancing did, whether it helped which group, and whether
 * the synthetic rows are realistic and private. Sections are appended by the caller in the order
 * it wants; every chart is one <svg class="chart"> element (counted by mcr_report_ncharts). */
#include "eval/eval.h"

struct mcr_report {
    FILE *f;
    char *buf;
    size_t len;
    int ncharts;
    char *title;
};

#define C_REAL "#3b6ea8"
#define C_SYN "#e07b39"
#define C_ALT "#6a9f58"

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
}

/* a number for a table cell ("n/a" for NaN) */
static void num(FILE *f, const char *fmt, double v) {
    if (v != v) fputs("n/a", f);
    else fprintf(f, fmt, v);
}

int mcr_report_new(const char *title, mcr_report **out) {
    *out = NULL;
    mcr_report *r = calloc(1, sizeof *r);
    if (!r || !(r->title = mcr_strdup(title ? title : "mcrage report"))) return free(r), MCR_NOMEM();
    if (!(r->f = open_memstream(&r->buf, &r->len))) return free(r->title), free(r), MCR_NOMEM();
    *out = r;
    return MCR_OK;
}

void mcr_report_free(mcr_report *r) {
    if (!r) return;
    if (r->f) fclose(r->f);
    free(r->buf), free(r->title), free(r);
}

int mcr_report_ncharts(const mcr_report *r) { return r->ncharts; }

void mcr_report_text(mcr_report *r, const char *heading, const char *text) {
    if (heading) fputs("<h2>", r->f), esc(r->f, heading), fputs("</h2>\n", r->f);
    if (text) fputs("<p>", r->f), esc(r->f, text), fputs("</p>\n", r->f);
}

/* ---- SVG primitives ----------------------------------------------------------------------- */
typedef struct {
    double x0, x1, y0, y1;  /* data range */
    double L, T, W, H;      /* plot area in pixels */
} frame;

static double px(const frame *fr, double x) { return fr->L + (x - fr->x0) / (fr->x1 - fr->x0) * fr->W; }
static double py(const frame *fr, double y) { return fr->T + fr->H - (y - fr->y0) / (fr->y1 - fr->y0) * fr->H; }

/* tick step giving about n ticks over [lo, hi]: 1, 2 or 5 times a power of ten */
static double nice_step(double lo, double hi, int n) {
    double raw = (hi - lo) / n, p = pow(10, floor(log10(raw > 0 ? raw : 1))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void svg_open(mcr_report *r, int w, int h, const char *label) {
    r->ncharts++;
    fprintf(r->f, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                  "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", w, h, w, h);
    esc(r->f, label);
    fprintf(r->f, "\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", w, h);
}

static void svg_text(FILE *f, double x, double y, const char *anchor, int size, const char *s) {
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\">", x, y, anchor, size);
    esc(f, s);
    fputs("</text>\n", f);
}

/* axes with ticks; ylabel/xlabel may be NULL; xticks = 0 leaves the x axis unlabelled */
static void svg_axes(FILE *f, const frame *fr, int xticks, const char *xlabel, const char *ylabel) {
    fprintf(f, "<g stroke=\"#888\" stroke-width=\"1\" fill=\"none\"><path d=\"M%.1f %.1f V%.1f H%.1f\"/></g>\n",
            fr->L, fr->T, fr->T + fr->H, fr->L + fr->W);
    char b[64];
    double st = nice_step(fr->y0, fr->y1, 4);
    for (double v = ceil(fr->y0 / st) * st; v <= fr->y1 + 1e-9 * st; v += st) {
        double y = py(fr, v);
        fprintf(f, "<path d=\"M%.1f %.1f H%.1f\" stroke=\"#eee\"/>\n", fr->L + 1, y, fr->L + fr->W);
        snprintf(b, sizeof b, "%g", fabs(v) < 1e-12 * st ? 0 : v);
        svg_text(f, fr->L - 4, y + 3, "end", 10, b);
    }
    if (xticks) {
        double sx = nice_step(fr->x0, fr->x1, xticks);
        for (double v = ceil(fr->x0 / sx) * sx; v <= fr->x1 + 1e-9 * sx; v += sx) {
            double x = px(fr, v);
            fprintf(f, "<path d=\"M%.1f %.1f v4\" stroke=\"#888\"/>\n", x, fr->T + fr->H);
            snprintf(b, sizeof b, "%g", fabs(v) < 1e-12 * sx ? 0 : v);
            svg_text(f, x, fr->T + fr->H + 14, "middle", 10, b);
        }
    }
    if (xlabel) svg_text(f, fr->L + fr->W / 2, fr->T + fr->H + 30, "middle", 11, xlabel);
    if (ylabel) {
        fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" font-size=\"11\">",
                fr->L - 38, fr->T + fr->H / 2);
        esc(f, ylabel);
        fputs("</text>\n", f);
    }
}

static void svg_legend(FILE *f, double x, double y, const char *const *names, const char *const *colors, int n) {
    for (int i = 0; i < n; i++) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", x, y - 9, colors[i]);
        svg_text(f, x + 14, y, "start", 10, names[i]);
        x += 18 + 6.5 * (double)strlen(names[i]);
    }
}

/* ---- dataset and balance ------------------------------------------------------------------ */
/* add the (group, class) counts of table t to cnt[(G + 1) x K] (row G: all groups), with t's
 * levels mapped by spelling onto those of `ref`'s columns jt / jg (unknown spellings skipped) */
static int count_cells(const mcr_table *ref, int jt, int jg, const mcr_table *t, size_t *cnt) {
    int K = ref->cols[jt].nlevels, G = jg >= 0 ? ref->cols[jg].nlevels : 0;
    int tt = mcr_table_find(t, ref->cols[jt].name), tg = jg >= 0 ? mcr_table_find(t, ref->cols[jg].name) : -1;
    if (tt < 0 || t->cols[tt].type != MCR_COL_CATEGORICAL || (jg >= 0 && (tg < 0 || t->cols[tg].type != MCR_COL_CATEGORICAL)))
        return mcr_err(MCR_EINVAL, "report: %s lacks the columns of the group x class table", mcr_table_source(t));
    int *my = malloc(((size_t)t->cols[tt].nlevels + 1) * sizeof(int));
    int *mg = malloc(((size_t)(tg >= 0 ? t->cols[tg].nlevels : 0) + 1) * sizeof(int));
    if (!my || !mg) return free(my), free(mg), MCR_NOMEM();
    for (int k = 0; k < t->cols[tt].nlevels; k++) my[k] = mcr_table_level_find(ref, jt, t->cols[tt].levels[k]);
    for (int k = 0; tg >= 0 && k < t->cols[tg].nlevels; k++) mg[k] = mcr_table_level_find(ref, jg, t->cols[tg].levels[k]);
    for (size_t i = 0; i < t->nrows; i++) {
        int y = t->cols[tt].cat[i], g = tg >= 0 ? t->cols[tg].cat[i] : -1;
        if (y < 0 || my[y] < 0) continue;
        cnt[(size_t)G * K + my[y]]++;
        if (g >= 0 && mg[g] >= 0) cnt[(size_t)mg[g] * K + my[y]]++;
    }
    free(my), free(mg);
    return MCR_OK;
}

int mcr_report_dataset(mcr_report *r, const char *heading, const mcr_table *t, const char *target,
                       const char *sensitive) {
    FILE *f = r->f;
    int nnum = 0, ncat = 0;
    size_t miss = 0;
    for (int j = 0; j < t->ncols; j++) {
        t->cols[j].type == MCR_COL_CATEGORICAL ? ncat++ : nnum++;
        miss += mcr_table_nmissing(t, j);
    }
    fputs("<h2>", f), esc(f, heading), fputs("</h2>\n<p>", f);
    esc(f, mcr_table_source(t));
    fprintf(f, ": %zu rows, %d columns (%d numeric, %d categorical), %.2f%% of cells missing.", t->nrows,
            t->ncols, nnum, ncat, t->nrows && t->ncols ? 100.0 * (double)miss / ((double)t->nrows * t->ncols) : 0.0);
    int jt = target ? mcr_table_find(t, target) : -1;
    if (jt >= 0 && t->cols[jt].type == MCR_COL_CATEGORICAL) {
        fputs(" Classes of <b>", f), esc(f, target), fputs("</b>:", f);
        size_t *cnt = calloc((size_t)t->cols[jt].nlevels + 1, sizeof(size_t));
        if (!cnt) return MCR_NOMEM();
        for (size_t i = 0; i < t->nrows; i++)
            if (t->cols[jt].cat[i] >= 0) cnt[t->cols[jt].cat[i]]++;
        for (int k = 0; k < t->cols[jt].nlevels; k++) {
            fputs(k ? ", " : " ", f), esc(f, t->cols[jt].levels[k]);
            fprintf(f, " %zu (%.1f%%)", cnt[k], t->nrows ? 100.0 * (double)cnt[k] / (double)t->nrows : 0.0);
        }
        fputc('.', f);
        free(cnt);
    }
    if (sensitive && mcr_table_find(t, sensitive) >= 0) {
        fputs(" Sensitive attribute: <b>", f), esc(f, sensitive), fputs("</b>.", f);
    }
    fputs("</p>\n", f);
    return MCR_OK;
}

/* one HTML table: rows = groups (+ all), columns = classes, cells "n (share of the group)" */
static void balance_table(FILE *f, const mcr_table *t, int jt, int jg, const size_t *cnt, const char *caption) {
    int K = t->cols[jt].nlevels, G = jg >= 0 ? t->cols[jg].nlevels : 0;
    fputs("<table class=\"num\"><caption>", f), esc(f, caption), fputs("</caption><tr><th>", f);
    esc(f, jg >= 0 ? t->cols[jg].name : "");
    fputs("</th>", f);
    for (int k = 0; k < K; k++) fputs("<th>", f), esc(f, t->cols[jt].levels[k]), fputs("</th>", f);
    fputs("<th>rows</th></tr>\n", f);
    for (int g = 0; g <= G; g++) {
        size_t tot = 0;
        for (int k = 0; k < K; k++) tot += cnt[(size_t)g * K + k];
        fputs(g == G ? "<tr class=\"total\"><td>all</td>" : "<tr><td>", f);
        if (g < G) esc(f, t->cols[jg].levels[g]), fputs("</td>", f);
        for (int k = 0; k < K; k++)
            fprintf(f, "<td>%zu <small>(%.1f%%)</small></td>", cnt[(size_t)g * K + k],
                    tot ? 100.0 * (double)cnt[(size_t)g * K + k] / (double)tot : 0.0);
        fprintf(f, "<td>%zu</td></tr>\n", tot);
    }
    fputs("</table>\n", f);
}

int mcr_report_balance(mcr_report *r, const char *heading, const mcr_table *before,
                       const mcr_table *after, const mcr_table *added, const char *target,
                       const char *sensitive) {
    FILE *f = r->f;
    int jt = target ? mcr_table_find(before, target) : -1;
    if (jt < 0 || before->cols[jt].type != MCR_COL_CATEGORICAL)
        return mcr_err(MCR_EINVAL, "report: no categorical target '%s' in %s", target ? target : "", mcr_table_source(before));
    int jg = sensitive ? mcr_table_find(before, sensitive) : -1;
    if (jg >= 0 && before->cols[jg].type != MCR_COL_CATEGORICAL) jg = -1;
    size_t K = (size_t)before->cols[jt].nlevels, G = jg >= 0 ? (size_t)before->cols[jg].nlevels : 0;
    size_t *cb = calloc(K * (G + 1) + 1, sizeof(size_t)), *ca = calloc(K * (G + 1) + 1, sizeof(size_t));
    int rc = !cb || !ca ? MCR_NOMEM() : MCR_OK;
    if (!rc) rc = count_cells(before, jt, jg, before, cb);
    if (!rc) rc = count_cells(before, jt, jg, after, ca);
    if (!rc && added) rc = count_cells(before, jt, jg, added, ca);
    if (!rc) {
        fputs("<h2>", f), esc(f, heading), fputs("</h2>\n<div class=\"row\">", f);
        balance_table(f, before, jt, jg, cb, "before (real rows)");
        balance_table(f, before, jt, jg, ca, "after rebalancing");
        fputs("</div>\n", f);
    }
    free(cb), free(ca);
    return rc;
}

/* ---- evaluate ----------------------------------------------------------------------------- */
static const char *PALETTE[] = {"#3b6ea8", "#e07b39", "#6a9f58", "#b5475b", "#8a6bb8", "#9c7a4a", "#4aa3a3", "#c7a020"};

int mcr_report_eval(mcr_report *r, const mcr_eval_result *e) {
    FILE *f = r->f;
    mcr_eval_info_t info;
    mcr_eval_info(e, &info);
    mcr_eval_cell *cells = NULL;
    int n = 0, rc = mcr_eval_cells(e, &cells, &n);
    if (rc) return rc;
    fputs("<h2>Results</h2>\n<p>", f);
    esc(f, info.source);
    fprintf(f, ": %zu rows; target <b>", info.nrows);
    esc(f, info.target);
    fputs("</b>, minority (positive) class <b>", f);
    esc(f, info.positive);
    fprintf(f, "</b>; %d seed%s (split, rebalancing and classifier re-drawn per seed); mean &plusmn; 95%% CI "
               "(Student t over seeds), <b>bold</b> = best in column", info.seeds, info.seeds > 1 ? "s" : "");
    if (info.groups) fputs("; groups by <b>", f), esc(f, info.sensitive), fputs("</b>; EOD: equalized-odds difference, lower is better", f);
    if (*info.thin) fputs("; training part thinned ", f), esc(f, info.thin);
    fputs(".</p>\n<table class=\"num\"><tr><th>method</th><th>classifier</th>", f);
    for (int a = 0; a < MCR_EVAL_NCOL; a++) fputs("<th>", f), esc(f, mcr_eval_col_label(a)), fputs("</th>", f);
    fputs("</tr>\n", f);
    for (int i = 0; i < n; i++) {
        fprintf(f, "<tr><td>%s</td><td>%s</td>", mcr_aug_method_name(cells[i].method), mcr_clf_kind_name(cells[i].clf));
        for (int a = 0; a < MCR_EVAL_NCOL; a++) {
            fputs(cells[i].best[a] ? "<td class=\"best\">" : "<td>", f);
            num(f, "%.3f", cells[i].mean[a]);
            if (cells[i].half[a] == cells[i].half[a] && cells[i].mean[a] == cells[i].mean[a]) fprintf(f, " <small>&plusmn;%.3f</small>", cells[i].half[a]);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n<div class=\"row\">\n", f);
    /* grouped bars: minority F1 and worst-group recall per method x classifier, CI whiskers */
    int W = 60 + 46 * n + 20, H = 260;
    if (W < 360) W = 360;
    svg_open(r, W, H, "minority-class F1 and worst-group recall per method and classifier");
    frame fr = {0, 1, 0, 1, 50, 30, W - 70, H - 100};
    svg_axes(f, &fr, 0, NULL, "score");
    double bw = fr.W / (n ? n : 1);
    for (int i = 0; i < n; i++) {
        int cols[2] = {MCR_EVAL_F1MIN, MCR_EVAL_WGREC};
        for (int b = 0; b < 2; b++) {
            double v = cells[i].mean[cols[b]], h = cells[i].half[cols[b]];
            if (v != v) continue;
            double x = fr.L + i * bw + bw * 0.12 + b * bw * 0.38;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%.3f</title></rect>\n",
                    x, py(&fr, v), bw * 0.36, fr.T + fr.H - py(&fr, v), b ? C_ALT : C_REAL, v);
            if (h == h) {
                double lo = v - h < 0 ? 0 : v - h, hi = v + h > 1 ? 1 : v + h, cx = x + bw * 0.18;
                fprintf(f, "<path d=\"M%.1f %.1f V%.1f M%.1f %.1f h6 M%.1f %.1f h6\" stroke=\"#333\"/>\n", cx,
                        py(&fr, lo), py(&fr, hi), cx - 3, py(&fr, lo), cx - 3, py(&fr, hi));
            }
        }
        char lab[64];
        snprintf(lab, sizeof lab, "%s", mcr_aug_method_name(cells[i].method));
        double cx = fr.L + (i + 0.5) * bw;
        svg_text(f, cx, fr.T + fr.H + 14, "middle", 10, lab);
        svg_text(f, cx, fr.T + fr.H + 26, "middle", 9, mcr_clf_kind_name(cells[i].clf));
    }
    const char *ln[2] = {"minority F1", "worst-group recall"}, *lc[2] = {C_REAL, C_ALT};
    svg_legend(f, fr.L, 16, ln, lc, info.groups ? 2 : 1);
    svg_text(f, fr.L + fr.W / 2, H - 8, "middle", 10, "whiskers: 95% CI over seeds");
    fputs("</svg>\n", f);
    /* fairness-accuracy scatter: x AUROC, y EOD, one point per method (colour) x classifier */
    W = 420, H = 300;
    svg_open(r, W, H, "fairness-accuracy: AUROC against equalized-odds difference");
    double x0 = INFINITY, x1 = -INFINITY, y1 = 0;
    for (int i = 0; i < n; i++) {
        double x = cells[i].mean[MCR_EVAL_AUROC], y = cells[i].mean[MCR_EVAL_EOD];
        if (x == x) x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
        if (y == y && y > y1) y1 = y;
    }
    if (!(x0 < x1)) x0 = (x0 == x0 ? x0 : 0.5) - 0.05, x1 = x0 + 0.1;
    double pad = (x1 - x0) * 0.15;
    frame fs = {x0 - pad, x1 + pad, 0, y1 > 0 ? y1 * 1.2 : 1, 56, 30, W - 80, H - 90};
    svg_axes(f, &fs, 4, "AUROC (higher is better)", "EOD (lower is fairer)");
    int nleg = 0, nlab = 0;
    const char *mn[MCR_AUG_NMETHODS], *mc[MCR_AUG_NMETHODS];
    double labx[64], laby[64];
    for (int i = 0; i < n; i++) {
        double x = cells[i].mean[MCR_EVAL_AUROC], y = cells[i].mean[MCR_EVAL_EOD];
        int mi = 0;
        while (mi < nleg && strcmp(mn[mi], mcr_aug_method_name(cells[i].method))) mi++;
        if (mi == nleg) mn[nleg] = mcr_aug_method_name(cells[i].method), mc[nleg] = PALETTE[nleg % 8], nleg++;
        if (x != x || y != y) continue;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>%s + %s: AUROC %.3f, EOD %.3f</title></circle>\n",
                px(&fs, x), py(&fs, y), mc[mi], mcr_aug_method_name(cells[i].method), mcr_clf_kind_name(cells[i].clf), x, y);
        /* the label moves down past labels already placed where it would overlap them */
        double lx = px(&fs, x) + 7, ly = py(&fs, y) + 3;
        for (int again = 1; again;) {
            again = 0;
            for (int q = 0; q < nlab; q++)
                if (fabs(labx[q] - lx) < 40 && fabs(laby[q] - ly) < 10) ly = laby[q] + 10, again = 1;
        }
        if (nlab < 64) labx[nlab] = lx, laby[nlab++] = ly;
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" fill=\"%s\">%s</text>\n", lx, ly, mc[mi],
                mcr_clf_kind_name(cells[i].clf)); /* in the point's colour */
    }
    svg_legend(f, fs.L, 16, mn, mc, nleg);
    if (!info.groups) svg_text(f, fs.L + fs.W / 2, fs.T + fs.H / 2, "middle", 11, "no --sensitive groups: EOD undefined");
    fputs("</svg>\n", f);
    /* reliability: observed minority share against mean predicted probability, per tenth of p,
     * one line per method, the first classifier, pooled over seeds */
    if (n > 0) {
        int clf = cells[0].clf;
        W = 420, H = 320;
        svg_open(r, W, H, "reliability: observed minority share against predicted probability");
        frame fc = {0, 1, 0, 1, 56, 30, W - 80, H - 90};
        svg_axes(f, &fc, 5, "predicted probability of the minority class", "observed share");
        fprintf(f, "<path d=\"M%.1f %.1f L%.1f %.1f\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n", px(&fc, 0),
                py(&fc, 0), px(&fc, 1), py(&fc, 1));
        const char *rn[MCR_AUG_NMETHODS], *rcol[MCR_AUG_NMETHODS];
        int nr = 0;
        for (int i = 0; i < n && nr < MCR_AUG_NMETHODS; i++) {
            if ((int)cells[i].clf != clf) continue;
            double mp[10], fy[10];
            size_t cnt[10];
            if (!mcr_eval_reliability(e, cells[i].method, clf, mp, fy, cnt)) continue;
            rn[nr] = mcr_aug_method_name(cells[i].method), rcol[nr] = PALETTE[nr % 8];
            fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" d=\"", rcol[nr]);
            int first = 1;
            for (int b = 0; b < 10; b++)
                if (cnt[b]) fprintf(f, "%s%.1f %.1f ", first ? "M" : "L", px(&fc, mp[b]), py(&fc, fy[b])), first = 0;
            fputs("\"/>\n", f);
            for (int b = 0; b < 10; b++)
                if (cnt[b])
                    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>%s: %zu rows, mean p %.3f, "
                               "observed %.3f</title></circle>\n", px(&fc, mp[b]), py(&fc, fy[b]), rcol[nr], rn[nr], cnt[b],
                            mp[b], fy[b]);
            nr++;
        }
        svg_legend(f, fc.L, 16, rn, rcol, nr);
        char cap[96];
        snprintf(cap, sizeof cap, "%s, test rows pooled over seeds; dashed: perfect calibration", mcr_clf_kind_name((mcr_clf_kind)clf));
        svg_text(f, fc.L + fc.W / 2, H - 8, "middle", 10, cap);
        fputs("</svg>\n", f);
    }
    fputs("</div>\n", f);
    free(cells);
    return MCR_OK;
}

/* ---- training loss ------------------------------------------------------------------------ */
int mcr_report_loss(mcr_report *r, const char *heading, const float *loss, int n, int every) {
    FILE *f = r->f;
    fputs("<h2>", f), esc(f, heading), fputs("</h2>\n", f);
    if (n < 1) return fputs("<p>no loss recorded</p>\n", f), MCR_OK;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < n; i++) lo = loss[i] < lo ? loss[i] : lo, hi = loss[i] > hi ? loss[i] : hi;
    if (!(hi > lo)) hi = lo + 1;
    int W = 520, H = 260;
    svg_open(r, W, H, "training loss of the diffusion model");
    frame fr = {0, (double)n * every, lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo), 56, 20, W - 80, H - 70};
    if (fr.y0 > 0 && lo < 0.3 * hi) fr.y0 = 0;
    svg_axes(f, &fr, 5, "optimiser step", "loss (window mean)");
    fputs("<path fill=\"none\" stroke=\"" C_REAL "\" stroke-width=\"1.5\" d=\"", f);
    for (int i = 0; i < n; i++) fprintf(f, "%s%.1f %.1f", i ? " L" : "M", px(&fr, (double)(i + 1) * every), py(&fr, loss[i]));
    fputs("\"/>\n</svg>\n", f);
    fprintf(f, "<p class=\"note\">%d points, each the mean loss of %d steps; last %.4f.</p>\n", n, every, loss[n - 1]);
    return MCR_OK;
}

/* ---- real vs synthetic distributions ------------------------------------------------------ */
#define HB 20
#define TOPL 10

static int cmp_desc_count(const void *a, const void *b) {
    const double *x = a, *y = b; /* pairs (count, code) */
    return (x[0] < y[0]) - (x[0] > y[0]);
}

static void dist_numeric(mcr_report *r, const mcr_column *c, const size_t *rr, size_t nr,
                         const mcr_column *d, const size_t *rs, size_t ns) {
    FILE *f = r->f;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < nr; i++) {
        double v = c->num[rr[i]];
        if (v == v) lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    for (size_t i = 0; i < ns; i++) {
        double v = d->num[rs[i]];
        if (v == v) lo = v < lo ? v : lo, hi = v > hi ? v : hi;
    }
    if (!(hi > lo)) lo = lo == lo && isfinite(lo) ? lo - 0.5 : 0, hi = lo + 1;
    int nb = HB;
    if (c->type == MCR_COL_INTEGER && hi - lo < 30) { /* one bin per integer value */
        nb = (int)(hi - lo) + 1;
        lo -= 0.5, hi += 0.5;
    }
    double h[2][HB + 30] = {{0}}, m[2] = {0}, tot[2] = {(double)nr, (double)ns};
    for (int s = 0; s < 2; s++) {
        const mcr_column *col = s ? d : c;
        const size_t *rows = s ? rs : rr;
        for (size_t i = 0, nn = s ? ns : nr; i < nn; i++) {
            double v = col->num[rows[i]];
            if (v != v) continue;
            int b = (int)((v - lo) / (hi - lo) * nb);
            h[s][b < 0 ? 0 : b >= nb ? nb - 1 : b]++;
            m[s]++;
        }
    }
    double top = 0;
    for (int s = 0; s < 2; s++)
        for (int b = 0; b < nb; b++) {
            h[s][b] = m[s] ? h[s][b] / m[s] : 0;
            top = h[s][b] > top ? h[s][b] : top;
        }
    int W = 300, H = 190;
    svg_open(r, W, H, c->name);
    frame fr = {lo, hi, 0, top > 0 ? top * 1.1 : 1, 46, 24, W - 60, H - 64};
    svg_text(f, W / 2.0, 14, "middle", 11, c->name);
    svg_axes(f, &fr, 4, NULL, NULL);
    double bw = fr.W / nb;
    for (int b = 0; b < nb; b++) {
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"" C_REAL "\" fill-opacity=\"0.55\"/>\n",
                fr.L + b * bw, py(&fr, h[0][b]), bw, fr.T + fr.H - py(&fr, h[0][b]));
    }
    fputs("<path fill=\"none\" stroke=\"" C_SYN "\" stroke-width=\"2\" d=\"", f);
    fprintf(f, "M%.1f %.1f", fr.L, py(&fr, 0));
    for (int b = 0; b < nb; b++) fprintf(f, " V%.1f H%.1f", py(&fr, h[1][b]), fr.L + (b + 1) * bw);
    fprintf(f, " V%.1f", py(&fr, 0));
    fputs("\"/>\n", f);
    char cap[128];
    snprintf(cap, sizeof cap, "missing: real %.1f%%, synthetic %.1f%%", tot[0] ? 100 * (1 - m[0] / tot[0]) : 0.0,
             tot[1] ? 100 * (1 - m[1] / tot[1]) : 0.0);
    svg_text(f, W / 2.0, H - 8, "middle", 9, cap);
    fputs("</svg>\n", f);
}

static int dist_categorical(mcr_report *r, const mcr_table *real, int j, const size_t *rr, size_t nr,
                            const mcr_column *d, const size_t *rs, size_t ns) {
    FILE *f = r->f;
    const mcr_column *c = &real->cols[j];
    int K = c->nlevels;
    double *ord = calloc((size_t)(K + 1) * 2, sizeof(double)), *pr = calloc((size_t)K + 3, sizeof(double)),
           *ps = calloc((size_t)K + 3, sizeof(double));
    int *rank = malloc(((size_t)K + 1) * sizeof(int)), *map = malloc(((size_t)d->nlevels + 1) * sizeof(int));
    if (!ord || !pr || !ps || !rank || !map) {
        free(ord), free(pr), free(ps), free(rank), free(map);
        return MCR_NOMEM();
    }
    for (size_t i = 0; i < nr; i++)
        if (c->cat[rr[i]] >= 0) ord[2 * c->cat[rr[i]]]++;
    for (int k = 0; k < K; k++) ord[2 * k + 1] = k;
    qsort(ord, (size_t)K, 2 * sizeof(double), cmp_desc_count);
    int shown = K < TOPL ? K : TOPL; /* bars: the most frequent real levels, "other", missing */
    for (int k = 0; k < K; k++) rank[(int)ord[2 * k + 1]] = k < shown ? k : shown;
    for (int q = 0; q < d->nlevels; q++) {
        int m = mcr_table_level_find(real, j, d->levels[q]);
        map[q] = m >= 0 ? rank[m] : shown;
    }
    int nb = shown + 2;
    for (size_t i = 0; i < nr; i++) pr[c->cat[rr[i]] >= 0 ? rank[c->cat[rr[i]]] : shown + 1]++;
    for (size_t i = 0; i < ns; i++) ps[d->cat[rs[i]] >= 0 ? map[d->cat[rs[i]]] : shown + 1]++;
    double top = 0;
    for (int b = 0; b < nb; b++) {
        pr[b] = nr ? pr[b] / nr : 0, ps[b] = ns ? ps[b] / ns : 0;
        top = pr[b] > top ? pr[b] : top, top = ps[b] > top ? ps[b] : top;
    }
    int W = 300, H = 190;
    svg_open(r, W, H, c->name);
    frame fr = {0, 1, 0, top > 0 ? top * 1.1 : 1, 46, 24, W - 60, H - 70};
    svg_text(f, W / 2.0, 14, "middle", 11, c->name);
    svg_axes(f, &fr, 0, NULL, NULL);
    double bw = fr.W / nb;
    for (int b = 0; b < nb; b++) {
        if (b == shown && shown == K) continue; /* no "other" */
        for (int s = 0; s < 2; s++) {
            double v = s ? ps[b] : pr[b];
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                    fr.L + b * bw + bw * (0.1 + 0.4 * s), py(&fr, v), bw * 0.4, fr.T + fr.H - py(&fr, v), s ? C_SYN : C_REAL);
        }
        char lab[16];
        const char *name = b < shown ? c->levels[(int)ord[2 * b + 1]] : b == shown ? "other" : "missing";
        snprintf(lab, sizeof lab, "%.8s", name);
        fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-40)\" text-anchor=\"end\" font-size=\"9\">",
                fr.L + (b + 0.5) * bw, fr.T + fr.H + 10);
        esc(f, lab);
        fputs("</text>\n", f);
    }
    fputs("</svg>\n", f);
    free(ord), free(pr), free(ps), free(rank), free(map);
    return MCR_OK;
}

int mcr_report_distributions(mcr_report *r, const char *heading, const mcr_table *real,
                             const mcr_table *synth, const char *target, const char *cls) {
    FILE *f = r->f;
    size_t *rr = malloc((real->nrows + 1) * sizeof(size_t)), *rs = malloc((synth->nrows + 1) * sizeof(size_t));
    if (!rr || !rs) return free(rr), free(rs), MCR_NOMEM();
    int jt = target ? mcr_table_find(real, target) : -1, js = target ? mcr_table_find(synth, target) : -1;
    int cr = -1, cs = -1;
    if (cls && jt >= 0 && js >= 0 && real->cols[jt].type == MCR_COL_CATEGORICAL && synth->cols[js].type == MCR_COL_CATEGORICAL) {
        cr = mcr_table_level_find(real, jt, cls);
        cs = mcr_table_level_find(synth, js, cls);
    }
    int filt = cls && cr >= 0;
    size_t nr = 0, ns = 0;
    for (size_t i = 0; i < real->nrows; i++)
        if (!filt || real->cols[jt].cat[i] == cr) rr[nr++] = i;
    for (size_t i = 0; i < synth->nrows; i++)
        if (!filt || (cs >= 0 && synth->cols[js].cat[i] == cs)) rs[ns++] = i;
    fputs("<h2>", f), esc(f, heading), fputs("</h2>\n<p>", f);
    fprintf(f, "%zu real and %zu synthetic rows", nr, ns);
    if (filt) fputs(" with ", f), esc(f, target), fputs(" = ", f), esc(f, cls);
    fputs(". Numeric columns: share of rows per bin (20 bins over the joint range); categorical: share "
          "per level (the 10 most frequent real levels, the rest as other); integer columns with few values: one bin per value.</p>\n<p class=\"legend\">"
          "<span style=\"color:" C_REAL "\">&#9632; real</span> &nbsp; <span style=\"color:" C_SYN
          "\">&#9632; synthetic</span></p>\n<div class=\"grid\">\n", f);
    int rc = MCR_OK;
    for (int j = 0; j < real->ncols && !rc; j++) {
        if (filt && j == jt) continue;
        int k = mcr_table_find(synth, real->cols[j].name);
        if (k < 0) continue;
        int cat = real->cols[j].type == MCR_COL_CATEGORICAL;
        if (cat != (synth->cols[k].type == MCR_COL_CATEGORICAL)) continue;
        if (cat) rc = dist_categorical(r, real, j, rr, nr, &synth->cols[k], rs, ns);
        else dist_numeric(r, &real->cols[j], rr, nr, &synth->cols[k], rs, ns);
    }
    fputs("</div>\n", f);
    free(rr), free(rs);
    return rc;
}

/* ---- fidelity and privacy ----------------------------------------------------------------- */
static void reading_row(FILE *f, const char *name, const char *fmt, double v, mcr_assess_metric m) {
    fputs("<tr><td>", f), esc(f, name), fputs("</td><td>", f);
    num(f, fmt, v);
    fputs("</td><td class=\"left\">", f), esc(f, mcr_assess_reading(m, v)), fputs("</td></tr>\n", f);
}

static void interval_row(FILE *f, const char *name, double v, double lo, double hi, mcr_assess_metric m) {
    fputs("<tr><td>", f), esc(f, name), fputs("</td><td>", f);
    num(f, "%.3f", v);
    if (lo == lo && hi == hi) fprintf(f, " [%.3f, %.3f]", lo, hi);
    fputs("</td><td class=\"left\">", f), esc(f, mcr_assess_reading_interval(m, v, lo, hi)), fputs("</td></tr>\n", f);
}

int mcr_report_assess(mcr_report *r, const char *heading, const mcr_assess_result *a) {
    FILE *f = r->f;
    const mcr_assess_scope *s0 = mcr_assess_scope_at(a, 0), *sm = mcr_assess_minority(a);
    fputs("<h2>", f), esc(f, heading), fputs("</h2>\n", f);
    int nscope = mcr_assess_nscopes(a);
    for (int pass = 0; pass < (sm != s0 ? 2 : 1); pass++) {
        const mcr_assess_scope *s = pass ? sm : s0;
        fputs("<table class=\"num\"><caption>", f);
        if (pass) fputs("minority class ", f), esc(f, s->value);
        else fputs(mcr_assess_real_left_out(a) ? "all rows of the classes in the synthetic table" : "all rows", f);
        fprintf(f, " (%zu real, %zu synthetic rows)</caption><tr><th>metric</th><th>value</th><th>reading</th></tr>\n",
                s->nreal, s->nsynth);
        double det = mcr_assess_detection(s);
        reading_row(f, "column shapes (mean 1 - KS / 1 - TV)", "%.3f", s->column_shapes, MCR_READ_SHAPES);
        reading_row(f, "column pair trends", "%.3f", s->pair_trends, MCR_READ_PAIRS);
        reading_row(f, "detection AUROC (higher of logreg, xgb)", "%.3f", det, MCR_READ_DETECT);
        reading_row(f, "exact copies of training rows", "%.4f", s->copy_rate, MCR_READ_COPIES);
        interval_row(f, "DCR median ratio (synthetic / holdout), 95% interval", s->dcr_ratio, s->dcr_ratio_lo,
                     s->dcr_ratio_hi, MCR_READ_DCR);
        interval_row(f, "membership inference AUROC, 95% interval", s->mia_auroc, s->mia_lo, s->mia_hi, MCR_READ_MIA);
        if (!pass && mcr_assess_nutility(a) > 0) {
            const mcr_assess_utility *u = mcr_assess_utility_at(a, mcr_assess_nutility(a) - 1);
            char name[96];
            snprintf(name, sizeof name, "TSTR - TRTR macro F1 (%s)", mcr_clf_kind_name((mcr_clf_kind)u->clf));
            reading_row(f, name, "%+.3f", u->f1_macro[1] - u->f1_macro[0], MCR_READ_TSTR);
        }
        fputs("</table>\n", f);
    }
    /* per scope */
    fputs("<table class=\"num\"><caption>per scope</caption><tr><th>scope</th><th>real</th><th>synthetic</th>"
          "<th>holdout</th><th>shapes</th><th>pairs</th><th>detect logreg</th><th>detect xgb</th><th>copies</th>"
          "<th>DCR ratio</th><th>MIA AUROC</th></tr>\n", f);
    for (int i = 0; i < nscope; i++) {
        const mcr_assess_scope *s = mcr_assess_scope_at(a, i);
        fputs("<tr><td>", f);
        esc(f, s->kind);
        if (*s->value) fputc(' ', f), esc(f, s->value);
        fprintf(f, "%s</td><td>%zu</td><td>%zu</td><td>%zu</td>", s == sm && i ? " (minority)" : "", s->nreal, s->nsynth, s->nholdout);
        double v[7] = {s->column_shapes, s->pair_trends, s->detect_logreg, s->detect_xgb, s->copy_rate, s->dcr_ratio, s->mia_auroc};
        for (int k = 0; k < 7; k++) fputs("<td>", f), num(f, k == 4 ? "%.4f" : "%.3f", v[k]), fputs("</td>", f);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    /* DCR quantiles: synthetic -> train against holdout -> train, as two box plots per scope */
    if (s0->dcr_synth[2] == s0->dcr_synth[2]) {
        int rows = 0;
        double hi = 0;
        for (int i = 0; i < nscope; i++) {
            const mcr_assess_scope *s = mcr_assess_scope_at(a, i);
            if (s->dcr_synth[2] != s->dcr_synth[2]) continue;
            rows++;
            for (int q = 0; q < MCR_NQ; q++) {
                if (s->dcr_synth[q] > hi) hi = s->dcr_synth[q];
                if (s->dcr_holdout[q] > hi) hi = s->dcr_holdout[q];
            }
        }
        int W = 560, H = 60 + 40 * rows;
        svg_open(r, W, H, "distance to closest training record: synthetic rows and holdout rows");
        frame fr = {0, hi > 0 ? hi * 1.05 : 1, 0, 1, 150, 26, W - 170, H - 66};
        fprintf(f, "<path d=\"M%.1f %.1f H%.1f\" stroke=\"#888\"/>\n", fr.L, fr.T + fr.H, fr.L + fr.W);
        double st = nice_step(0, fr.x1, 5);
        char b[64];
        for (double x = 0; x <= fr.x1; x += st) {
            snprintf(b, sizeof b, "%g", x);
            svg_text(f, px(&fr, x), fr.T + fr.H + 14, "middle", 10, b);
        }
        svg_text(f, fr.L + fr.W / 2, H - 8, "middle", 10, "distance to the closest training row (boxes: 25-75th pct, whiskers: 5-95th, line: median)");
        int row = 0;
        for (int i = 0; i < nscope; i++) {
            const mcr_assess_scope *s = mcr_assess_scope_at(a, i);
            if (s->dcr_synth[2] != s->dcr_synth[2]) continue;
            double y = fr.T + 6 + 40 * row++;
            char lab[64];
            snprintf(lab, sizeof lab, "%s%s%.20s", s->kind, *s->value ? " " : "", s->value);
            svg_text(f, fr.L - 8, y + 16, "end", 10, lab);
            for (int side = 0; side < 2; side++) {
                const double *q = side ? s->dcr_holdout : s->dcr_synth;
                if (q[2] != q[2]) continue;
                double yy = y + side * 16;
                fprintf(f, "<path d=\"M%.1f %.1f H%.1f\" stroke=\"#555\"/><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                           "height=\"12\" fill=\"%s\" fill-opacity=\"0.7\"/><path d=\"M%.1f %.1f v12\" stroke=\"#000\" stroke-width=\"2\"/>\n",
                        px(&fr, q[0]), yy + 6, px(&fr, q[4]), px(&fr, q[1]), yy, px(&fr, q[3]) - px(&fr, q[1]),
                        side ? C_REAL : C_SYN, px(&fr, q[2]), yy);
            }
        }
        const char *ln[2] = {"synthetic -> train", "holdout -> train"}, *lc[2] = {C_SYN, C_REAL};
        svg_legend(f, fr.L, 14, ln, lc, s0->dcr_holdout[2] == s0->dcr_holdout[2] ? 2 : 1);
        fputs("</svg>\n", f);
    }
    /* utility */
    int nu = mcr_assess_nutility(a), K = mcr_assess_nclasses(a);
    if (nu > 0) {
        fputs("<table class=\"num\"><caption>utility: train on synthetic, test on real (TSTR) against train on real "
              "(TRTR)</caption><tr><th>classifier</th><th>trained on</th><th>accuracy</th><th>macro F1</th><th>AUROC</th>", f);
        for (int k = 0; k < K; k++) fputs("<th>F1 / recall ", f), esc(f, mcr_assess_class_name(a, k)), fputs("</th>", f);
        fputs("</tr>\n", f);
        for (int u = 0; u < nu; u++)
            for (int s = 0; s < 2; s++) {
                const mcr_assess_utility *ut = mcr_assess_utility_at(a, u);
                fprintf(f, "<tr><td>%s</td><td>%s (%zu rows)</td>", mcr_clf_kind_name((mcr_clf_kind)ut->clf),
                        s ? "synthetic" : "real", s ? ut->ntrain_synth : ut->ntrain_real);
                double v[3] = {ut->acc[s], ut->f1_macro[s], ut->auroc[s]};
                for (int k = 0; k < 3; k++) fputs("<td>", f), num(f, "%.3f", v[k]), fputs("</td>", f);
                for (int k = 0; k < K; k++) {
                    fputs("<td>", f), num(f, "%.2f", ut->f1_class[s][k]), fputs(" / ", f);
                    num(f, "%.2f", ut->recall_class[s][k]), fputs("</td>", f);
                }
                fputs("</tr>\n", f);
            }
        fputs("</table>\n", f);
    } else {
        fputs("<p class=\"note\">Utility (train on synthetic, test on real) not computed: ", f);
        esc(f, mcr_assess_utility_note(a));
        fputs(".</p>\n", f);
    }
    const mcr_assess_result *hb = mcr_assess_baseline(a, 0), *sb = mcr_assess_baseline(a, 1);
    if (hb && sb) { /* each score beside what real data gets at the holdout's size */
        fprintf(f, "<table class=\"num\"><caption>baseline: the real holdout (%zu rows) scored as if synthetic, beside "
                   "the synthetic rows at that size</caption><tr><th>scope</th><th>shapes syn</th><th>syn@n</th>"
                   "<th>real</th><th>pairs syn</th><th>syn@n</th><th>real</th><th>detection syn</th><th>syn@n</th>"
                   "<th>real</th></tr>\n", mcr_assess_scope_at(hb, 0)->nsynth);
        for (int i = 0; i < nscope; i++) {
            const mcr_assess_scope *s = mcr_assess_scope_at(a, i);
            const mcr_assess_scope *x[3] = {s, mcr_assess_scope_find(sb, s->kind, s->value),
                                            mcr_assess_scope_find(hb, s->kind, s->value)};
            fputs("<tr><td class=\"left\">", f), esc(f, s->kind), fputs(" ", f), esc(f, s->value), fputs("</td>", f);
            for (int m = 0; m < 3; m++)
                for (int k = 0; k < 3; k++) {
                    double v = !x[k] ? NAN : m == 0 ? x[k]->column_shapes : m == 1 ? x[k]->pair_trends : mcr_assess_detection(x[k]);
                    fputs("<td>", f), num(f, "%.3f", v), fputs("</td>", f);
                }
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    return MCR_OK;
}

/* ---- pieces for other modules' pages (eval.h) --------------------------------------------- */
FILE *mcr_report_stream(mcr_report *r) { return r->f; }
void mcr_report_escape(FILE *f, const char *s) { esc(f, s); }

/* a PNG as an inline data: URL (base64), drawn at `scale` times its w x h pixels */
void mcr_report_png(mcr_report *r, const unsigned char *png, size_t len, int w, int h, int scale, const char *alt) {
    static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *f = r->f;
    fprintf(f, "<img width=\"%d\" height=\"%d\" style=\"image-rendering:pixelated\" alt=\"", w * scale, h * scale);
    esc(f, alt);
    fputs("\" src=\"data:image/png;base64,", f);
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)png[i] << 16 | (i + 1 < len ? (unsigned)png[i + 1] << 8 : 0) | (i + 2 < len ? png[i + 2] : 0);
        fputc(B64[v >> 18 & 63], f), fputc(B64[v >> 12 & 63], f);
        fputc(i + 1 < len ? B64[v >> 6 & 63] : '=', f), fputc(i + 2 < len ? B64[v & 63] : '=', f);
    }
    fputs("\">", f);
}

/* grouped bars: per category c (x axis) one bar per series k, mean[k * ncat + c] with a 95% CI
 * whisker of half-width half[] (NaN: no whisker; NaN mean: no bar), y from y0 to y1 */
void mcr_report_bars_ci(mcr_report *r, const char *label, int ncat, const char *const *cats, int nser,
                        const char *const *series, const double *mean, const double *half, const char *ylabel, double y0,
                        double y1, const char *note) {
    FILE *f = r->f;
    int W = 70 + 24 * nser * ncat + 14 * ncat, H = 300;
    if (W < 380) W = 380;
    svg_open(r, W, H, label);
    frame fr = {0, 1, y0, y1, 56, 30, W - 76, H - 130};
    svg_axes(f, &fr, 0, NULL, ylabel);
    double bw = fr.W / (ncat ? ncat : 1);
    for (int c = 0; c < ncat; c++) {
        for (int k = 0; k < nser; k++) {
            double v = mean[k * ncat + c], h = half[k * ncat + c];
            if (v != v) continue;
            double vv = v < y0 ? y0 : v > y1 ? y1 : v, bx = bw * 0.8 / nser;
            double x = fr.L + c * bw + bw * 0.1 + k * bx;
            fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s, %s: %.4f",
                    x, py(&fr, vv), bx * 0.92, fr.T + fr.H - py(&fr, vv), PALETTE[k % 8], cats[c], series[k], v);
            if (h == h) fprintf(f, " &#177; %.4f", h);
            fputs("</title></rect>\n", f);
            if (h == h) {
                double lo = v - h < y0 ? y0 : v - h, hi = v + h > y1 ? y1 : v + h, cx = x + bx * 0.46;
                fprintf(f, "<path d=\"M%.1f %.1f V%.1f M%.1f %.1f h6 M%.1f %.1f h6\" stroke=\"#333\"/>\n", cx, py(&fr, lo),
                        py(&fr, hi), cx - 3, py(&fr, lo), cx - 3, py(&fr, hi));
            }
        }
        double cx = fr.L + (c + 0.5) * bw, cy = fr.T + fr.H + 8;
        fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(35)\" text-anchor=\"start\" font-size=\"10\">", cx, cy);
        esc(f, cats[c]);
        fputs("</text>\n", f);
    }
    svg_legend(f, fr.L, 16, series, (const char *const *)PALETTE, nser < 8 ? nser : 8);
    if (note) svg_text(f, fr.L + fr.W / 2, H - 6, "middle", 10, note);
    fputs("</svg>\n", f);
}

/* lines: series k has npts[k] points (x, y, half) after the previous series' (NaN y: skipped),
 * whiskers of half-width half; nref horizontal dashed reference lines */
void mcr_report_lines_ci(mcr_report *r, const char *label, int nser, const char *const *series, const int *npts,
                         const double *x, const double *y, const double *half, int nref, const char *const *refname,
                         const double *refval, const char *xlabel, const char *ylabel) {
    FILE *f = r->f;
    int W = 460, H = 320, tot = 0;
    for (int k = 0; k < nser; k++) tot += npts[k];
    double x0 = INFINITY, x1 = -INFINITY, lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < tot; i++) {
        if (y[i] != y[i]) continue;
        double h = half[i] == half[i] ? half[i] : 0;
        x0 = fmin(x0, x[i]), x1 = fmax(x1, x[i]), lo = fmin(lo, y[i] - h), hi = fmax(hi, y[i] + h);
    }
    for (int k = 0; k < nref; k++)
        if (refval[k] == refval[k]) lo = fmin(lo, refval[k]), hi = fmax(hi, refval[k]);
    if (!(x0 < x1)) x0 = (x0 == x0 && isfinite(x0) ? x0 : 0.5) - 0.1, x1 = x0 + 0.2;
    if (!(lo < hi)) lo = (isfinite(lo) ? lo : 0.5) - 0.05, hi = lo + 0.1;
    double pad = (hi - lo) * 0.1, xp = (x1 - x0) * 0.08;
    svg_open(r, W, H, label);
    frame fr = {x0 - xp, x1 + xp, lo - pad, hi + pad, 56, 30, W - 80, H - 90};
    svg_axes(f, &fr, 4, xlabel, ylabel);
    const char *names[16], *cols[16];
    int nl = 0;
    for (int k = 0; k < nref; k++) {
        if (refval[k] != refval[k]) continue;
        const char *col = k == 0 ? "#777" : "#b5475b";
        fprintf(f, "<path d=\"M%.1f %.1f H%.1f\" stroke=\"%s\" stroke-dasharray=\"5 3\"><title>", fr.L, py(&fr, refval[k]),
                fr.L + fr.W, col);
        esc(f, refname[k]);
        fprintf(f, ": %.4f</title></path>\n", refval[k]);
        if (nl < 16) names[nl] = refname[k], cols[nl++] = col;
    }
    for (int k = 0, at = 0; k < nser; at += npts[k++]) {
        const char *col = PALETTE[k % 8];
        fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" d=\"", col);
        int first = 1;
        for (int i = at; i < at + npts[k]; i++)
            if (y[i] == y[i]) fprintf(f, "%s%.1f %.1f ", first ? "M" : "L", px(&fr, x[i]), py(&fr, y[i])), first = 0;
        fputs("\"/>\n", f);
        for (int i = at; i < at + npts[k]; i++) {
            if (y[i] != y[i]) continue;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>", px(&fr, x[i]), py(&fr, y[i]), col);
            esc(f, series[k]);
            fprintf(f, " at %g: %.4f</title></circle>\n", x[i], y[i]);
            if (half[i] == half[i])
                fprintf(f, "<path d=\"M%.1f %.1f V%.1f\" stroke=\"%s\"/>\n", px(&fr, x[i]), py(&fr, y[i] - half[i]),
                        py(&fr, y[i] + half[i]), col);
        }
        if (nl < 16) names[nl] = series[k], cols[nl++] = col;
    }
    svg_legend(f, fr.L, 16, names, cols, nl);
    fputs("</svg>\n", f);
}

/* ---- the page ----------------------------------------------------------------------------- */
static const char *CSS =
    "body{font-family:sans-serif;margin:24px auto;max-width:1180px;color:#222;line-height:1.4}"
    "h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}"
    "table{border-collapse:collapse;margin:8px 16px 8px 0;font-size:13px}"
    "caption{text-align:left;font-weight:bold;padding:4px 0}"
    "th,td{border:1px solid #ccc;padding:3px 7px}th{background:#f3f3f3}"
    "table.num td{text-align:right}table.num td:first-child,table.num td.left{text-align:left}"
    "td.best{font-weight:bold;background:#eef6ea}tr.total td{font-weight:bold}"
    ".row{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}"
    ".grid{display:flex;flex-wrap:wrap;gap:8px}svg.chart{border:1px solid #e4e4e4}"
    "p.note,p.legend{font-size:12px;color:#555}small{color:#666}";

int mcr_report_write(mcr_report *r, const char *path) {
    if (fflush(r->f) != 0) return mcr_err(MCR_ENOMEM, "report: out of memory");
    char *head = NULL, *page = NULL;
    size_t hl = 0, pl = 0;
    FILE *h = open_memstream(&head, &hl);
    if (!h) return MCR_NOMEM();
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>", h);
    esc(h, r->title);
    fprintf(h, "</title><style>%s</style></head>\n<body>\n<h1>", CSS);
    esc(h, r->title);
    fprintf(h, "</h1>\n<p class=\"note\">Written by mcrage %s. Every number on this page comes from the command "
               "shown at its end; rerunning it with the same seed and thread count gives the same page.</p>\n",
            mcr_version());
    fclose(h);
    FILE *p = open_memstream(&page, &pl);
    if (!p) return free(head), MCR_NOMEM();
    fwrite(head, 1, hl, p);
    fwrite(r->buf, 1, r->len, p);
    fputs("</body></html>\n", p);
    fclose(p);
    free(head);
    int rc = mcr_write_file_atomic(path, page, pl);
    free(page);
    return rc;
}

/* ---- whole reports of augment, evaluate and fidelity ------------------------------------------ */
int mcr_report_finish(mcr_report *rep, const mcr_assess_result *a, const mcr_table *real,
                      const mcr_table *synth, const char *target, const char *cls, const char *command_line) {
    int rc = MCR_OK;
    if (real && synth) {
        char h[256];
        snprintf(h, sizeof h, "Real and synthetic distributions%s%s%s%s", cls ? " (" : "", cls ? target : "",
                 cls ? " = " : "", cls ? cls : "");
        if (cls) strncat(h, ")", sizeof h - strlen(h) - 1);
        rc = mcr_report_distributions(rep, h, real, synth, target, cls);
    }
    if (!rc && a) rc = mcr_report_assess(rep, "Fidelity, privacy and utility of the synthetic rows", a);
    if (!rc && command_line) mcr_report_text(rep, "Command", command_line);
    return rc;
}

/* augment: the data, before/after counts, the loss curve (mcrage), the added rows against the
 * real ones (fidelity and privacy; no holdout, so no DCR ratio or membership inference) */
int mcr_report_augment(const mcr_table *t0, const mcr_augment_result *ar, const mcr_augment_config *a,
                       const char *command_line, void (*progress)(void *, const char *), void *ctx,
                       mcr_report **out) {
    *out = NULL;
    int roles[2] = {a->target ? mcr_table_find(t0, a->target) : -1, a->sensitive ? mcr_table_find(t0, a->sensitive) : -1};
    mcr_table *lv = NULL; /* integer-code target / sensitive as levels, as augment saw them */
    int rc = mcr_table_levelled(t0, roles, 2, &lv);
    if (rc) return rc;
    const mcr_table *t = lv ? lv : t0, *res = ar->table;
    size_t ns = ar->nsynth;
    char title[512];
    snprintf(title, sizeof title, "mcrage augment: %s (%s)", mcr_table_source(t), mcr_aug_method_name(ar->method));
    mcr_report *rep = NULL;
    mcr_table *synth = NULL;
    mcr_assess_result *as = NULL;
    rc = mcr_report_new(title, &rep);
    if (!rc) rc = mcr_report_dataset(rep, "Data", t, a->target, a->sensitive);
    if (!rc) rc = mcr_report_balance(rep, "Rebalancing", t, res, NULL, a->target, a->sensitive);
    if (!rc && ar->autochoice) { /* strategy auto: the grid and the choice */
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f) rc = MCR_NOMEM();
        else {
            mcr_auto_print(ar->autochoice, "", f);
            fclose(f);
            mcr_report_text(rep, "The amount, chosen by cross-validation (strategy auto)", buf);
            free(buf);
        }
    }
    if (!rc && ar->model) {
        int n, every;
        const float *loss = mcr_model_loss_curve(ar->model, &n, &every);
        rc = mcr_report_loss(rep, "Training loss of the diffusion model", loss, n, every);
    }
    if (!rc && ns > 0) rc = mcr_table_slice(res, mcr_table_nrows(res) - ns, ns, &synth);
    const char *minority = NULL;
    if (!rc && synth) {
        mcr_assess_config ac;
        mcr_assess_config_default(&ac);
        ac.target = a->target;
        ac.sensitive = a->sensitive;
        ac.drop = a->drop;
        ac.seed = a->seed;
        ac.progress = progress, ac.progress_ctx = ctx;
        rc = mcr_assess(t, synth, &ac, &as);
        if (!rc && *mcr_assess_minority(as)->value) minority = mcr_assess_minority(as)->value;
    }
    if (!rc) rc = mcr_report_finish(rep, as, synth ? t : NULL, synth, a->target, minority, command_line);
    mcr_assess_free(as);
    mcr_table_free(synth);
    mcr_table_free(lv);
    if (rc) return mcr_report_free(rep), rc;
    *out = rep;
    return MCR_OK;
}

/* evaluate: the data, the first seed's rebalancing, the results, the diffusion model's loss,
 * the example's synthetic rows against the real training rows (fidelity and privacy with the
 * test part as holdout) */
int mcr_report_evaluate(const mcr_eval_result *r, const mcr_table *data, const mcr_eval_config *c,
                        const char *command_line, void (*progress)(void *, const char *), void *ctx,
                        mcr_report **out) {
    *out = NULL;
    mcr_eval_info_t info;
    mcr_eval_info(r, &info);
    char title[512];
    snprintf(title, sizeof title, "mcrage evaluate: %s", info.source);
    mcr_report *rep = NULL;
    int rc = mcr_report_new(title, &rep);
    if (rc) return rc;
    { /* the verdict first: did rebalancing with mcrage help, per classifier */
        char para[4096] = "", line[1024];
        size_t used = 0;
        int both = 0, hasm = 0;
        for (int mi = 0; mi < c->nmethods; mi++) hasm |= c->methods[mi] == MCR_AUG_MCRAGE, both |= c->methods[mi] == MCR_AUG_MCRAGE_AUTO;
        both &= hasm;
        for (int ci = 0; ci < c->nclassifiers && used < sizeof para - 2; ci++) {
            mcr_eval_verdict(r, ci, line, sizeof line);
            used += (size_t)snprintf(para + used, sizeof para - used, "%s%s.", ci ? " " : "", line);
            if (both && used < sizeof para - 2 && mcr_eval_verdict_method(r, ci, MCR_AUG_MCRAGE_AUTO, line, sizeof line) != -2)
                used += (size_t)snprintf(para + used, sizeof para - used, " %s.", line);
        }
        mcr_report_text(rep, "Did rebalancing with mcrage help?", para);
        /* mcrage-auto's choice per seed */
        used = 0;
        para[0] = 0;
        for (int s = 0; s < info.seeds && used < sizeof para - 2; s++) {
            const mcr_auto_result *a = mcr_eval_auto(r, s);
            if (!a) continue;
            mcr_auto_point_label(&a->points[a->chosen], line, sizeof line);
            used += (size_t)snprintf(para + used, sizeof para - used, "%sseed %llu: %s (CV %s %.3f +- %.3f of %d points)",
                                     used ? "; " : "", (unsigned long long)(c->seed + (uint64_t)s), line,
                                     mcr_auto_metric_name(a->optimize), a->points[a->chosen].mean, a->points[a->chosen].sd,
                                     a->npoints);
        }
        if (used) mcr_report_text(rep, "What mcrage-auto chose (cross-validation inside each training part)", para);
    }
    rc = mcr_report_dataset(rep, "Data", data, c->target, c->sensitive);
    const mcr_table *train = NULL, *synth = NULL, *test = NULL;
    const mcr_model *model = NULL;
    mcr_aug_method method = MCR_AUG_NONE;
    int has = mcr_eval_example(r, &train, &synth, &test, &method, &model);
    char h[256];
    if (!rc && has) {
        snprintf(h, sizeof h, "Rebalancing with %s (seed %llu, training part)", mcr_aug_method_name(method), (unsigned long long)c->seed);
        rc = mcr_report_balance(rep, h, train, train, synth, c->target, c->sensitive);
    }
    if (!rc) rc = mcr_report_eval(rep, r);
    if (!rc && model) {
        int n, every;
        const float *loss = mcr_model_loss_curve(model, &n, &every);
        rc = mcr_report_loss(rep, "Training loss of the diffusion model (seed 1)", loss, n, every);
    }
    mcr_assess_result *a = NULL;
    if (!rc && has) {
        mcr_assess_config ac;
        mcr_assess_config_default(&ac);
        ac.target = c->target;
        ac.sensitive = c->sensitive;
        ac.minority = info.positive;
        ac.holdout = test;
        ac.drop = c->group;
        ac.seed = c->seed;
        ac.progress = progress, ac.progress_ctx = ctx;
        rc = mcr_assess(train, synth, &ac, &a);
    }
    if (!rc) rc = mcr_report_finish(rep, a, has ? train : NULL, synth, c->target, info.positive, command_line);
    mcr_assess_free(a);
    if (rc) return mcr_report_free(rep), rc;
    *out = rep;
    return MCR_OK;
}

/* fidelity: both tables, the distributions of the minority class (all rows without a target)
 * and the assessment */
int mcr_report_fidelity(const mcr_table *real, const mcr_table *synth, const mcr_assess_result *a,
                        const char *target, const char *sensitive, const char *command_line,
                        mcr_report **out) {
    *out = NULL;
    mcr_report *rep = NULL;
    char title[512];
    snprintf(title, sizeof title, "mcrage fidelity: %s vs %s", mcr_table_source(real), mcr_table_source(synth));
    int rc = mcr_report_new(title, &rep);
    if (rc) return rc;
    const mcr_assess_scope *m = mcr_assess_minority(a);
    rc = mcr_report_dataset(rep, "Real data", real, target, sensitive);
    if (!rc) rc = mcr_report_dataset(rep, "Synthetic data", synth, target, sensitive);
    if (!rc) rc = mcr_report_finish(rep, a, real, synth, target, *m->value ? m->value : NULL, command_line);
    if (rc) return mcr_report_free(rep), rc;
    *out = rep;
    return MCR_OK;
}
