/* cmd_bench.c — `mcrage bench`: train/sample throughput of the denoiser as JSON lines. */
#include "cli.h"
#include <cblas.h>
#include <string.h>

int cmd_bench(int argc, char **argv) {
    const char *cmd = "bench";
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: mcrage bench [--quick]\n\nTrain the denoiser on random data (d = 32) at three "
                   "configurations, at 1 and 2 threads,\nand print one JSON line each: train rows/s, "
                   "achieved GFLOP/s (6 x params x rows), the same\nrun's sgemm GFLOP/s at the largest "
                   "layer's shape, DDIM-100 sampling rows/s (2,000 rows)\nand peak RSS.\n\n"
                   "  --quick   3 steps per configuration (a smoke run, not a measurement)\n\n"
                   "example: mcrage bench | tee bench.jsonl\n");
            return EXIT_OK;
        } else return cli_usage(cmd, "unknown option '%s'", argv[i]);
    }
    static const struct { int w[4], nw, batch, steps; } cfg[] = {
        {{256, 256}, 2, 256, 300}, {{512, 512}, 2, 1024, 60}, {{256, 1024, 1024, 256}, 4, 4096, 12}};
    const char *core = openblas_get_corename();
    for (int k = 0; k < 3; k++)
        for (int th = 1; th <= 2; th++) {
            mcr_set_threads(th);
            mcr_bench_result r;
            int steps = quick ? 3 : cfg[k].steps;
            int rc = mcr_bench_denoiser(32, cfg[k].w, cfg[k].nw, cfg[k].batch, steps, quick ? 200 : 2000, &r);
            if (rc) return cli_fail(cmd, rc);
            printf("{\"d\":32,\"widths\":[");
            for (int l = 0; l < cfg[k].nw; l++) printf(l ? ",%d" : "%d", cfg[k].w[l]);
            printf("],\"batch\":%d,\"threads\":%d,\"params\":%zu,\"train_rows_per_s\":%.0f,"
                   "\"train_gflops\":%.1f,\"sgemm_gflops\":%.1f,\"ratio\":%.3f,"
                   "\"sample_rows_per_s\":%.0f,\"peak_rss_mb\":%.1f,\"blas_core\":\"%s\"}\n",
                   cfg[k].batch, th, r.nparams, r.train_rows_per_s, r.train_gflops, r.sgemm_gflops,
                   r.train_gflops / r.sgemm_gflops, r.sample_rows_per_s, r.peak_rss_mb,
                   core ? core : "?");
            fflush(stdout);
        }
    return EXIT_OK;
}
