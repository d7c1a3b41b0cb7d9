/* describe.c — what a user needs to see before rebalancing: column types, missingness,
 * ranges and levels, the target's class counts and the group x class table. */
#include "tabular/tabular.h"

static int need_categorical(const mcr_table *t, const char *name, const char *what, int *out) {
    int j = mcr_table_find(t, name);
    if (j < 0)
        return mcr_err(MCR_EINVAL, "%s: the %s column '%s' does not exist", mcr_table_source(t),
                       what, name);
    if (t->cols[j].type != MCR_COL_CATEGORICAL)
        return mcr_err(MCR_EINVAL,
                       "%s: the %s column '%s' is numeric; declare it categorical with "
                       "--categorical %s",
                       mcr_table_source(t), what, name, name);
    *out = j;
    return MCR_OK;
}

static void num_stats(const mcr_column *c, size_t n, double *mn, double *mx, double *mean) {
    double lo = INFINITY, hi = -INFINITY, s = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double v = c->num[i];
        if (isnan(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        s += v;
        m++;
    }
    *mn = m ? lo : NAN;
    *mx = m ? hi : NAN;
    *mean = m ? s / m : NAN;
}

int mcr_describe(const mcr_table *t, const char *target, const char *sensitive, int json,
                 FILE *f) {
    int jt = -1, js = -1, rc;
    if (target && (rc = need_categorical(t, target, "target", &jt))) return rc;
    if (sensitive && (rc = need_categorical(t, sensitive, "sensitive", &js))) return rc;
    size_t n = t->nrows;
    size_t *counts = NULL, *cross = NULL;
    int K = jt >= 0 ? t->cols[jt].nlevels : 0, G = js >= 0 ? t->cols[js].nlevels : 0;
    /* class counts (last slot: missing) and group x class counts */
    counts = calloc((size_t)K + 1, sizeof(size_t));
    cross = calloc(((size_t)G + 1) * ((size_t)K + 1), sizeof(size_t));
    if (!counts || !cross) {
        free(counts);
        free(cross);
        return MCR_NOMEM();
    }
    for (size_t i = 0; i < n; i++) {
        int y = jt >= 0 ? t->cols[jt].cat[i] : -1;
        int g = js >= 0 ? t->cols[js].cat[i] : -1;
        int yk = y < 0 ? K : y, gk = g < 0 ? G : g;
        if (jt >= 0) counts[yk]++;
        if (jt >= 0 && js >= 0) cross[(size_t)gk * (K + 1) + yk]++;
    }
    int minority = -1, majority = -1;
    for (int k = 0; k < K; k++) {
        if (minority < 0 || counts[k] < counts[minority]) minority = k;
        if (majority < 0 || counts[k] > counts[majority]) majority = k;
    }
    if (json) {
        fputs("{\"file\":", f);
        mcr_json_str(f, mcr_table_source(t));
        fprintf(f, ",\"rows\":%zu,\"columns\":[", n);
        for (int j = 0; j < t->ncols; j++) {
            const mcr_column *c = &t->cols[j];
            fputs(j ? ",{\"name\":" : "{\"name\":", f);
            mcr_json_str(f, c->name);
            fprintf(f, ",\"type\":\"%s\",\"missing\":%zu", mcr_coltype_name(c->type),
                    mcr_table_nmissing(t, j));
            if (c->type == MCR_COL_CATEGORICAL) {
                size_t *lc = calloc((size_t)c->nlevels + 1, sizeof(size_t));
                if (!lc) return free(counts), free(cross), MCR_NOMEM();
                for (size_t i = 0; i < n; i++)
                    if (c->cat[i] >= 0) lc[c->cat[i]]++;
                fprintf(f, ",\"nlevels\":%d,\"levels\":{", c->nlevels);
                for (int k = 0; k < c->nlevels; k++) {
                    if (k) fputc(',', f);
                    mcr_json_str(f, c->levels[k]);
                    fprintf(f, ":%zu", lc[k]);
                }
                fputc('}', f);
                free(lc);
            } else {
                double mn, mx, mean;
                num_stats(c, n, &mn, &mx, &mean);
                fputs(",\"min\":", f);
                mcr_json_num(f, mn);
                fputs(",\"max\":", f);
                mcr_json_num(f, mx);
                fputs(",\"mean\":", f);
                mcr_json_num(f, mean);
            }
            fputc('}', f);
        }
        fputc(']', f);
        if (jt >= 0) {
            fputs(",\"target\":{\"column\":", f);
            mcr_json_str(f, target);
            fputs(",\"counts\":{", f);
            for (int k = 0; k < K; k++) {
                if (k) fputc(',', f);
                mcr_json_str(f, t->cols[jt].levels[k]);
                fprintf(f, ":%zu", counts[k]);
            }
            fprintf(f, "},\"missing\":%zu", counts[K]);
            if (minority >= 0) {
                fputs(",\"minority\":", f);
                mcr_json_str(f, t->cols[jt].levels[minority]);
                fputs(",\"imbalance_ratio\":", f);
                mcr_json_num(f, counts[minority] ? (double)counts[majority] / counts[minority]
                                                 : NAN);
            }
            fputc('}', f);
        }
        if (jt >= 0 && js >= 0) {
            fputs(",\"sensitive\":{\"column\":", f);
            mcr_json_str(f, sensitive);
            fputs(",\"groups\":{", f);
            for (int g = 0; g <= G; g++) {
                size_t tot = 0;
                for (int k = 0; k <= K; k++) tot += cross[(size_t)g * (K + 1) + k];
                if (g == G && tot == 0) break;
                if (g) fputc(',', f);
                mcr_json_str(f, g < G ? t->cols[js].levels[g] : "(missing)");
                fputs(":{", f);
                for (int k = 0; k < K; k++) {
                    if (k) fputc(',', f);
                    mcr_json_str(f, t->cols[jt].levels[k]);
                    fprintf(f, ":%zu", cross[(size_t)g * (K + 1) + k]);
                }
                fprintf(f, ",\"total\":%zu}", tot);
            }
            fputs("}}", f);
        }
        fputs("}\n", f);
    } else {
        fprintf(f, "%s: %zu rows, %d columns\n\n", mcr_table_source(t), n, t->ncols);
        fprintf(f, "%-28s %-12s %8s  %s\n", "column", "type", "missing", "range / levels");
        for (int j = 0; j < t->ncols; j++) {
            const mcr_column *c = &t->cols[j];
            fprintf(f, "%-28s %-12s %8zu  ", c->name, mcr_coltype_name(c->type), mcr_table_nmissing(t, j));
            if (c->type == MCR_COL_CATEGORICAL) {
                fprintf(f, "%d levels:", c->nlevels);
                for (int k = 0; k < c->nlevels && k < 8; k++)
                    fprintf(f, " %s%s", c->levels[k], k + 1 < c->nlevels ? "," : "");
                if (c->nlevels > 8) fputs(" ...", f);
            } else {
                double mn, mx, mean;
                num_stats(c, n, &mn, &mx, &mean);
                fprintf(f, "[%g, %g], mean %.4g", mn, mx, mean);
            }
            fputc('\n', f);
        }
        if (jt >= 0) {
            fprintf(f, "\ntarget '%s':\n", target);
            for (int k = 0; k < K; k++)
                fprintf(f, "  %-20s %10zu  (%5.1f%%)%s\n", t->cols[jt].levels[k], counts[k],
                        n ? 100.0 * counts[k] / n : 0.0, k == minority ? "  <- minority" : "");
            if (counts[K]) fprintf(f, "  %-20s %10zu\n", "(missing)", counts[K]);
            if (minority >= 0 && counts[minority])
                fprintf(f, "  imbalance ratio (majority/minority): %.2f\n",
                        (double)counts[majority] / counts[minority]);
        }
        if (jt >= 0 && js >= 0) {
            fprintf(f, "\ngroup x class ('%s' x '%s'):\n  %-20s", sensitive, target, "");
            for (int k = 0; k < K; k++) fprintf(f, " %10s", t->cols[jt].levels[k]);
            fprintf(f, " %10s  %s\n", "total", "rate of minority");
            for (int g = 0; g <= G; g++) {
                size_t tot = 0;
                for (int k = 0; k <= K; k++) tot += cross[(size_t)g * (K + 1) + k];
                if (g == G && tot == 0) break;
                fprintf(f, "  %-20s", g < G ? t->cols[js].levels[g] : "(missing)");
                for (int k = 0; k < K; k++) fprintf(f, " %10zu", cross[(size_t)g * (K + 1) + k]);
                fprintf(f, " %10zu  %.1f%%\n", tot,
                        tot && minority >= 0
                            ? 100.0 * cross[(size_t)g * (K + 1) + minority] / tot
                            : 0.0);
            }
        }
    }
    free(counts);
    free(cross);
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}
