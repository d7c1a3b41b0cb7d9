/* describe.c — what a user needs to see before rebalancing: column types, missingness,
 * ranges and levels, the target's class counts and the group x class table. */
#include "tabular/tabular.h"

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

struct mcr_describe_result {
    const mcr_table *t;      /* the described table (borrowed): the column listing      */
    mcr_table *lv;           /* t with integer-code target / sensitive as levels, or NULL */
    char *target, *sensitive;
    int jt, js, K, G;
    size_t *counts;          /* [K + 1] class counts, last: missing                      */
    size_t *cross;           /* [(G + 1) (K + 1)] group x class counts                    */
    int minority, rarest, majority; /* minority: the rarest class, -1 on a tie           */
    int *ident;              /* [ncols] MCR_IDENT_*: identifier-like columns               */
};

void mcr_describe_free(mcr_describe_result *r) {
    if (!r) return;
    mcr_table_free(r->lv);
    free(r->target), free(r->sensitive), free(r->counts), free(r->cross), free(r->ident);
    free(r);
}

int mcr_describe_compute(const mcr_table *t, const char *target, const char *sensitive,
                         mcr_describe_result **out) {
    *out = NULL;
    int jt = -1, js = -1, rc;
    if ((rc = mcr_role_column(t, "target", target, MCR_ROLE_LEVELS, &jt))) return rc;
    if ((rc = mcr_role_column(t, "sensitive", sensitive, MCR_ROLE_LEVELS, &js))) return rc;
    mcr_describe_result *r = calloc(1, sizeof *r);
    if (!r) return MCR_NOMEM();
    r->t = t, r->jt = jt, r->js = js;
    int roles[2] = {jt, js};
    if ((rc = mcr_table_levelled(t, roles, 2, &r->lv))) return mcr_describe_free(r), rc;
    const mcr_table *u = r->lv ? r->lv : t;
    int K = r->K = jt >= 0 ? u->cols[jt].nlevels : 0, G = r->G = js >= 0 ? u->cols[js].nlevels : 0;
    r->target = mcr_strdup(target ? target : "");
    r->sensitive = mcr_strdup(sensitive ? sensitive : "");
    r->counts = calloc((size_t)K + 1, sizeof(size_t));
    r->cross = calloc(((size_t)G + 1) * ((size_t)K + 1), sizeof(size_t));
    r->ident = calloc((size_t)t->ncols + 1, sizeof(int));
    if (!r->target || !r->sensitive || !r->counts || !r->cross || !r->ident) return mcr_describe_free(r), MCR_NOMEM();
    if ((rc = mcr_table_identifiers(t, r->ident))) return mcr_describe_free(r), rc;
    if (jt >= 0) r->ident[jt] = MCR_IDENT_NONE;
    if (js >= 0) r->ident[js] = MCR_IDENT_NONE;
    for (size_t i = 0; i < u->nrows; i++) {
        int y = jt >= 0 ? u->cols[jt].cat[i] : -1;
        int g = js >= 0 ? u->cols[js].cat[i] : -1;
        int yk = y < 0 ? K : y, gk = g < 0 ? G : g;
        if (jt >= 0) r->counts[yk]++;
        if (jt >= 0 && js >= 0) r->cross[(size_t)gk * (K + 1) + yk]++;
    }
    int unique = 0;
    r->rarest = mcr_minority_class(r->counts, K, &unique);
    r->minority = unique ? r->rarest : -1;
    r->majority = -1;
    for (int k = 0; k < K; k++)
        if (r->majority < 0 || r->counts[k] > r->counts[r->majority]) r->majority = k;
    *out = r;
    return MCR_OK;
}

const char *mcr_describe_minority(const mcr_describe_result *r) {
    return r->minority >= 0 ? (r->lv ? r->lv : r->t)->cols[r->jt].levels[r->minority] : NULL;
}

int mcr_describe(const mcr_table *t, const char *target, const char *sensitive, int json, FILE *f) {
    mcr_describe_result *r = NULL;
    int rc = mcr_describe_compute(t, target, sensitive, &r);
    if (!rc) rc = json ? mcr_describe_write_json(r, f) : mcr_describe_print(r, f);
    mcr_describe_free(r);
    return rc;
}

/* the JSON object of the columns, the target's class counts and the group x class table */
int mcr_describe_write_json(const mcr_describe_result *r, FILE *f) {
    const mcr_table *t = r->t, *u = r->lv ? r->lv : r->t;
    int jt = r->jt, js = r->js, K = r->K, G = r->G;
    const size_t *counts = r->counts, *cross = r->cross;
    size_t n = t->nrows;
    fputs("{\"file\":", f);
    mcr_json_str(f, mcr_table_source(t));
    fprintf(f, ",\"rows\":%zu,\"columns\":[", n);
    for (int j = 0; j < t->ncols; j++) {
        const mcr_column *c = &t->cols[j];
        fputs(j ? ",{\"name\":" : "{\"name\":", f);
        mcr_json_str(f, c->name);
        fprintf(f, ",\"type\":\"%s\",\"missing\":%zu", mcr_coltype_name(c->type),
                mcr_table_nmissing(t, j));
        if (r->ident[j]) {
            fputs(",\"identifier\":", f);
            mcr_json_str(f, mcr_identifier_reason(r->ident[j]));
        }
        if (c->type == MCR_COL_CATEGORICAL) {
            size_t *lc = calloc((size_t)c->nlevels + 1, sizeof(size_t));
            if (!lc) return MCR_NOMEM();
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
        mcr_json_str(f, r->target);
        fputs(",\"counts\":{", f);
        for (int k = 0; k < K; k++) {
            if (k) fputc(',', f);
            mcr_json_str(f, u->cols[jt].levels[k]);
            fprintf(f, ":%zu", counts[k]);
        }
        fprintf(f, "},\"missing\":%zu", counts[K]);
        if (r->rarest >= 0) { /* "minority": null when the rarest classes tie */
            fputs(",\"minority\":", f);
            if (r->minority >= 0) mcr_json_str(f, u->cols[jt].levels[r->minority]);
            else fputs("null", f);
            fputs(",\"imbalance_ratio\":", f);
            mcr_json_num(f, (double)counts[r->majority] / counts[r->rarest]);
        }
        fputc('}', f);
    }
    if (jt >= 0 && js >= 0) {
        fputs(",\"sensitive\":{\"column\":", f);
        mcr_json_str(f, r->sensitive);
        fputs(",\"groups\":{", f);
        for (int g = 0; g <= G; g++) {
            size_t tot = 0;
            for (int k = 0; k <= K; k++) tot += cross[(size_t)g * (K + 1) + k];
            if (g == G && tot == 0) break;
            if (g) fputc(',', f);
            mcr_json_str(f, g < G ? u->cols[js].levels[g] : "(missing)");
            fputs(":{", f);
            for (int k = 0; k < K; k++) {
                if (k) fputc(',', f);
                mcr_json_str(f, u->cols[jt].levels[k]);
                fprintf(f, ":%zu", cross[(size_t)g * (K + 1) + k]);
            }
            fprintf(f, ",\"total\":%zu}", tot);
        }
        fputs("}}", f);
    }
    fputs("}\n", f);
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}

/* the text: one line per column, the class counts (the minority marked unless classes tie),
 * the group x class table */
int mcr_describe_print(const mcr_describe_result *r, FILE *f) {
    const mcr_table *t = r->t, *u = r->lv ? r->lv : r->t;
    int jt = r->jt, js = r->js, K = r->K, G = r->G, minority = r->minority, majority = r->majority;
    const size_t *counts = r->counts, *cross = r->cross;
    const char *target = r->target, *sensitive = r->sensitive;
    size_t n = t->nrows;
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
        if (r->ident[j]) fprintf(f, "  <- identifier-like (%s): not modelled", mcr_identifier_reason(r->ident[j]));
        fputc('\n', f);
    }
    if (jt >= 0) {
        fprintf(f, "\ntarget '%s':\n", target);
        for (int k = 0; k < K; k++)
            fprintf(f, "  %-20s %10zu  (%5.1f%%)%s\n", u->cols[jt].levels[k], counts[k],
                    n ? 100.0 * counts[k] / n : 0.0, k == minority ? "  <- minority" : "");
        if (counts[K]) fprintf(f, "  %-20s %10zu\n", "(missing)", counts[K]);
        if (minority < 0 && r->rarest >= 0) fputs("  (no minority: the rarest classes are tied)\n", f);
        if (r->rarest >= 0)
            fprintf(f, "  imbalance ratio (majority/minority): %.2f\n",
                    (double)counts[majority] / counts[r->rarest]);
    }
    if (jt >= 0 && js >= 0) {
        fprintf(f, "\ngroup x class ('%s' x '%s'):\n  %-20s", sensitive, target, "");
        for (int k = 0; k < K; k++) fprintf(f, " %10s", u->cols[jt].levels[k]);
        char rate[256] = "rate of minority"; /* on a tie: of the first of the rarest classes */
        if (minority < 0 && r->rarest >= 0) snprintf(rate, sizeof rate, "rate of '%s'", u->cols[jt].levels[r->rarest]);
        fprintf(f, " %10s  %s\n", "total", rate);
        for (int g = 0; g <= G; g++) {
            size_t tot = 0;
            for (int k = 0; k <= K; k++) tot += cross[(size_t)g * (K + 1) + k];
            if (g == G && tot == 0) break;
            fprintf(f, "  %-20s", g < G ? u->cols[js].levels[g] : "(missing)");
            for (int k = 0; k < K; k++) fprintf(f, " %10zu", cross[(size_t)g * (K + 1) + k]);
            fprintf(f, " %10zu  %.1f%%\n", tot,
                    tot && r->rarest >= 0
                        ? 100.0 * cross[(size_t)g * (K + 1) + r->rarest] / tot
                        : 0.0);
        }
    }
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}
