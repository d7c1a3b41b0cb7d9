/* table_part.c — what needs the whole column of a table read across ranks (a part table,
 * mcr_table_read_csv_part): the column gathered from every rank in row order, one column at a
 * time, for the statistics that are not sums (distinct values, quantiles, medians), so that
 * identifiers, encoders and integer-coded roles come out on every rank exactly as one process
 * reading the whole file computes them. The cost: while one column is gathered, every rank
 * holds it whole (8 bytes a row for a number, 4 for a level code). */
#include "tabular/tabular.h"
#include "dist/dist.h"

int mcr_table_gather_column(const mcr_table *t, int j, mcr_table **out) {
    *out = NULL;
    mcr_dist *d = mcr_dist_get();
    const mcr_column *c = &t->cols[j];
    int cat = c->type == MCR_COL_CATEGORICAL;
    size_t w = cat ? sizeof(int32_t) : sizeof(double), *off = NULL;
    char *all = NULL;
    const void *mine = cat ? (const void *)c->cat : (const void *)c->num;
    int rc = dist_allgatherv(d, mine, t->nrows * w, &all, &off);
    if (rc) return rc;
    mcr_table *g = calloc(1, sizeof *g);
    if (!g || !(g->cols = calloc(1, sizeof(mcr_column)))) {
        free(g);
        free(all);
        free(off);
        return MCR_NOMEM();
    }
    g->cols[0] = *c; /* name, levels and map shared with t's column */
    g->cols[0].num = cat ? NULL : (double *)(void *)all;
    g->cols[0].cat = cat ? (int32_t *)(void *)all : NULL;
    g->ncols = 1;
    g->nrows = g->cap = off[d->size] / w;
    g->sep = t->sep;
    g->source = t->source;
    free(off);
    *out = g;
    return MCR_OK;
}

void mcr_table_free_gathered(mcr_table *g) {
    if (!g) return;
    free(g->cols[0].num);
    free(g->cols[0].cat);
    free(g->cols);
    free(g);
}
