/* paramdiff.c — the weights of two model files compared, for tests/cli/test_mpi.sh: prints
 * "nparams N max_abs A rel_l2 R" (R = |a - b| / |a| over the EMA weights) and exits 0 when
 * max_abs <= TOL (argv[3], default 0). Reads the files with the library's own loader. */
#include "tabular/tabular.h"

int main(int argc, char **argv) {
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
