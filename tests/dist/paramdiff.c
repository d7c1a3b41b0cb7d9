/* paramdiff.c — the weights of two model files compared, for tests/cli/test_mpi.sh: prints
 * "nparams N max_abs A rel_l2 R" (R = |a - b| / |a| over the EMA weights) and exits 0 when
 * max_abs <= TOL (argv[3], default 0). Reads the files with the library's own loader.
 * paramdiff --schema A B: exits 0 when everything the data decides besides the weights is the
 * same bytes in both (schema with its levels, encoder with its quantiles, the sampling
 * bounds, the condition counts); prints "schema same" or "schema differs". */
#include "tabular/tabular.h"

/* the data-decided parts of a model as bytes */
static void fingerprint(const mcr_model *m, mcr_wbuf *w) {
    mcr_schema_put(w, m->schema);
    mcr_encoder_put(w, m->enc);
    mcr_put(w, m->xlo, (size_t)m->enc->d * sizeof(float));
    mcr_put(w, m->xhi, (size_t)m->enc->d * sizeof(float));
    for (int c = 0; c < m->ncond; c++) mcr_put_u64(w, m->cond_count[c]), mcr_put_str(w, m->cond_names[c]);
}

static int schema_diff(const char *pa, const char *pb) {
    mcr_model *a = NULL, *b = NULL;
    if (mcr_model_load(pa, &a) || mcr_model_load(pb, &b)) {
        fprintf(stderr, "paramdiff: %s\n", mcr_last_error());
        return 2;
    }
    mcr_wbuf wa, wb;
    memset(&wa, 0, sizeof wa), memset(&wb, 0, sizeof wb);
    fingerprint(a, &wa), fingerprint(b, &wb);
    int same = !wa.oom && !wb.oom && wa.n == wb.n && memcmp(wa.p, wb.p, wa.n) == 0;
    printf("schema %s (%zu bytes)\n", same ? "same" : "differs", wa.n);
    free(wa.p), free(wb.p);
    mcr_model_free(a);
    mcr_model_free(b);
    return same ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--schema")) return schema_diff(argv[2], argv[3]);
    if (argc < 3) {
        fprintf(stderr, "usage: paramdiff A.mcrg B.mcrg [TOL]\n");
        return 2;
    }
    double tol = argc > 3 ? atof(argv[3]) : 0;
    mcr_model *a = NULL, *b = NULL;
    if (mcr_model_load(argv[1], &a) || mcr_model_load(argv[2], &b)) {
        fprintf(stderr, "paramdiff: %s\n", mcr_last_error());
        return 2;
    }
    size_t n = a->net.nparams;
    if (b->net.nparams != n) {
        fprintf(stderr, "paramdiff: %zu vs %zu parameters\n", n, b->net.nparams);
        return 1;
    }
    double mx = 0, d2 = 0, a2 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a->ema[i] - b->ema[i];
        if (fabs(d) > mx) mx = fabs(d);
        d2 += d * d, a2 += (double)a->ema[i] * a->ema[i];
    }
    printf("nparams %zu max_abs %.3g rel_l2 %.3g\n", n, mx, a2 > 0 ? sqrt(d2 / a2) : 0);
    mcr_model_free(a);
    mcr_model_free(b);
    return mx <= tol ? 0 : 1;
}
