/* cmd_bench.c — `mcrage bench`: train/sample throughput of the denoiser as JSON lines. */
#include "cli.h"
#include <cblas.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* `mcrage bench --image`: the default UNet at 28x28x1 and 64x64x3. Each (size, threads) runs in
 * a child process, so that its peak RSS (getrusage) is its own. */
static int bench_image(int quick, int only_th, int only_size, int only_engine, int batch, int steps,
                       int sample_images, int ssteps) {
    static const char *const enames[] = {"im2col", "dnnl-fp32", "dnnl-bf16"};
    static const struct { int H, C, steps, sample; } cfg[] = {{28, 1, 6, 16}, {64, 3, 3, 16}};
    const char *core = openblas_get_corename();
    int rc = EXIT_OK;
    for (int th = 1; th <= 2; th++)
        for (int k = 0; k < 2; k++)
        for (int eng = 0; eng < 3; eng++) {
            if ((only_th && th != only_th) || (only_size && cfg[k].H != only_size)) continue;
            if (only_engine >= 0 ? eng != only_engine : eng == 2 && !mcr_cpu_has_bf16()) continue;
            int st = steps > 0 ? steps : quick ? 1 : cfg[k].steps;
            int si = sample_images >= 0 ? sample_images : quick ? 2 : cfg[k].sample;
            int ss = quick ? 2 : ssteps;
            fflush(stdout);
            pid_t pid = fork();
            if (pid < 0) {
                fprintf(stderr, "mcrage: bench: fork: %s\n", strerror(errno));
                return EXIT_RUNTIME;
            }
            if (pid == 0) {
                mcr_set_threads(th);
                mcr_ibench_result r;
                /* sampling runs the im2col engine: timed on the im2col line only */
                int e = mcr_bench_unet_engine(eng, cfg[k].C, cfg[k].H, cfg[k].H, batch, st, eng ? 0 : si, ss, &r);
                if (e) _exit(cli_fail("bench", e));
                double la[3] = {0, 0, 0};
                if (getloadavg(la, 3) < 0) la[0] = la[1] = la[2] = -1;
                printf("{\"impl\":\"mcrage\",\"model\":\"unet\",\"H\":%d,\"W\":%d,\"C\":%d,\"batch\":%d,"
                       "\"threads\":%d,\"params\":%zu,\"train_steps\":%d,\"train_images_per_s\":%.2f,"
                       "\"train_gflop_per_image\":%.3f,\"train_gflops\":%.2f,\"sgemm_gflops\":%.2f,"
                       "\"ratio\":%.3f,\"conv_gflops\":%.2f,\"conv_ratio\":%.3f,\"conv_time_share\":%.3f,"
                       "\"attn_time_share\":%.3f,\"gn_time_share\":%.3f,\"sampler\":\"ddim\","
                       "\"sample_steps\":%d,\"guidance_rows\":3,\"sample_images\":%d,"
                       "\"sample_images_per_s\":%.3f,\"peak_rss_mb\":%.1f,\"loadavg\":%.2f,"
                       "\"blas_core\":\"%s\",\"engine\":\"%s\",\"precision\":\"%s\"}\n",
                       cfg[k].H, cfg[k].H, cfg[k].C, batch, th, r.nparams, st, r.train_images_per_s,
                       r.train_gflop_per_image, r.train_gflops, r.sgemm_gflops, r.train_gflops / r.sgemm_gflops,
                       r.conv_gflops, r.conv_gflops / r.sgemm_gflops, r.conv_seconds_share,
                       r.attn_seconds_share, r.gn_seconds_share, ss, si, r.sample_images_per_s,
                       r.peak_rss_mb, la[0], core ? core : "?", enames[eng], eng == 2 ? "bf16" : "fp32");
                fflush(stdout);
                _exit(EXIT_OK);
            }
            int status = 0;
            if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != EXIT_OK)
                rc = WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_RUNTIME;
        }
    return rc;
}

int cmd_bench(int argc, char **argv) {
    const char *cmd = "bench";
    int quick = 0, only_cfg = 0, only_th = 0, prec = -1, sampler = MCR_SAMPLER_DPMPP, ssteps = -1; /* prec -1: fp32 and bf16 */
    int image = 0, isize = 0, ibatch = 32, isteps = 0, iimages = -1, iengine = -1;
    long long v;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--image")) image = 1;
        else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
            if (cli_long(cmd, "--size", argv[++i], 28, 64, &v) || (v != 28 && v != 64))
                return cli_usage(cmd, "--size expects 28 or 64");
            isize = (int)v;
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            if (cli_long(cmd, "--batch", argv[++i], 1, 4096, &v)) return EXIT_USAGE;
            ibatch = (int)v;
        } else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            if (cli_long(cmd, "--steps", argv[++i], 1, 100000, &v)) return EXIT_USAGE;
            isteps = (int)v;
        } else if (!strcmp(argv[i], "--sample-images") && i + 1 < argc) {
            if (cli_long(cmd, "--sample-images", argv[++i], 0, 100000, &v)) return EXIT_USAGE;
            iimages = (int)v;
        } else if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
            const char *s = argv[++i];
            if (!strcmp(s, "im2col")) iengine = 0;
            else if (!strcmp(s, "dnnl-fp32")) iengine = 1;
            else if (!strcmp(s, "dnnl-bf16")) iengine = 2;
            else return cli_usage(cmd, "--engine expects im2col, dnnl-fp32 or dnnl-bf16, got '%s'", s);
        } else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            if (cli_long(cmd, "--config", argv[++i], 1, 3, &v)) return EXIT_USAGE;
            only_cfg = (int)v;
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (cli_long(cmd, "--threads", argv[++i], 1, 2, &v)) return EXIT_USAGE;
            only_th = (int)v;
        }
        else if (!strcmp(argv[i], "--precision") && i + 1 < argc) {
            mcr_precision p;
            if (cli_precision(cmd, argv[++i], &p)) return EXIT_USAGE;
            prec = p;
        } else if (!strcmp(argv[i], "--sampler") && i + 1 < argc) {
            const char *s = argv[++i];
            if (!strcmp(s, "dpmpp")) sampler = MCR_SAMPLER_DPMPP;
            else if (!strcmp(s, "ddim")) sampler = MCR_SAMPLER_DDIM;
            else return cli_usage(cmd, "--sampler expects ddim or dpmpp, got '%s'", s);
        } else if (!strcmp(argv[i], "--sample-steps") && i + 1 < argc) {
            if (cli_long(cmd, "--sample-steps", argv[++i], 1, 1000, &v)) return EXIT_USAGE;
            ssteps = (int)v;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: mcrage bench [--quick] [--precision P] [--sampler S] [--sample-steps K]\n"
                   "                    [--config 1|2|3] [--threads 1|2]\n"
                   "       mcrage bench --image [--quick] [--size 28|64] [--threads 1|2] [--batch 32]\n"
                   "                    [--steps K] [--sample-images N] [--sample-steps 10]\n"
                   "                    [--engine im2col|dnnl-fp32|dnnl-bf16]\n\n"
                   "Train the denoiser on random data (d = 32) at three configurations, at 1 and 2 threads,\n"
                   "and print one JSON line each: train rows/s, achieved GFLOP/s (6 x params x rows), the\n"
                   "same run's sgemm GFLOP/s at the largest layer's shape, sampling rows/s (2,000 rows)\n"
                   "and peak RSS, with the precision and sampler of the line.\n\n"
                   "  --quick            3 steps per configuration (a smoke run, not a measurement)\n"
                   "  --precision P      fp32 | bf16 | auto (default: fp32, and bf16 beside it where the\n"
                   "                     CPU has AVX512-BF16 or AMX)\n"
                   "  --sampler S        dpmpp (default, 25 steps) | ddim (100 steps)\n"
                   "  --sample-steps K   sampler steps (default 25 for dpmpp, 100 for ddim)\n"
                   "  --config K         only the K-th configuration (for profiling)\n"
                   "  --threads N        only N threads\n\n"
                   "With --image: the image model's default UNet (channels 32-64-128, 2 blocks per level,\n"
                   "attention at the lowest level) at 28x28x1 and 64x64x3, 1 and 2 threads, one JSON line\n"
                   "each (each in its own process): training images/s (--batch 32; 6 steps at 28, 3 at 64,\n"
                   "after 2 warm-up steps), the step's GFLOP/s (analytic) and its convolutions' GFLOP/s over\n"
                   "the same process's sgemm rate, the time shares of convolutions, attention and group norm,\n"
                   "sampling images/s (16 images, DDIM --sample-steps 10, guidance 1 + 1: 3 network rows per\n"
                   "image), peak RSS and the load average. --quick: 1 step, 2 images, 2 sampler steps.\n"
                   "Each with the convolutions' engines (key \"engine\"): im2col + sgemm, oneDNN fp32, and\n"
                   "oneDNN bf16 where the CPU has it (\"precision\" bf16); --engine: one of them. Sampling is\n"
                   "timed on the im2col line only.\n"
                   "bench/bench_torch_image.py is the PyTorch peer.\n\n"
                   "example: mcrage bench | tee bench.jsonl\n");
            return EXIT_OK;
        } else return cli_usage(cmd, "unknown or incomplete option '%s'", argv[i]);
    }
    if (image) return bench_image(quick, only_th, isize, iengine, ibatch, isteps, iimages, ssteps < 0 ? 10 : ssteps);
    if (ssteps < 0) ssteps = sampler == MCR_SAMPLER_DPMPP ? 25 : 100;
    int precs[2], np = 0;
    if (prec >= 0) precs[np++] = prec;
    else {
        precs[np++] = MCR_PRECISION_FP32;
        if (mcr_cpu_has_bf16()) precs[np++] = MCR_PRECISION_BF16;
    }
    static const struct { int w[4], nw, batch, steps; } cfg[] = {
        {{256, 256}, 2, 256, 300}, {{512, 512}, 2, 1024, 60}, {{256, 1024, 1024, 256}, 4, 4096, 12}};
    const char *core = openblas_get_corename();
    for (int k = 0; k < 3; k++)
        for (int th = 1; th <= 2; th++)
            for (int ip = 0; ip < np; ip++) {
                if ((only_cfg && k + 1 != only_cfg) || (only_th && th != only_th)) continue;
                mcr_set_threads(th);
                mcr_bench_result r;
                int steps = quick ? 3 : cfg[k].steps, p = precs[ip];
                if (p == MCR_PRECISION_AUTO) p = mcr_cpu_has_bf16() ? MCR_PRECISION_BF16 : MCR_PRECISION_FP32;
                int rc = mcr_bench_denoiser_ex(32, cfg[k].w, cfg[k].nw, cfg[k].batch, steps, quick ? 200 : 2000,
                                               (mcr_precision)p, (mcr_sampler)sampler, ssteps, &r);
                if (rc) return cli_fail(cmd, rc);
                printf("{\"impl\":\"mcrage\",\"d\":32,\"widths\":[");
                for (int l = 0; l < cfg[k].nw; l++) printf(l ? ",%d" : "%d", cfg[k].w[l]);
                printf("],\"batch\":%d,\"threads\":%d,\"precision\":\"%s\",\"sampler\":\"%s\","
                       "\"sample_steps\":%d,\"params\":%zu,\"train_rows_per_s\":%.0f,"
                       "\"train_gflops\":%.1f,\"sgemm_gflops\":%.1f,\"ratio\":%.3f,"
                       "\"sample_rows_per_s\":%.0f,\"peak_rss_mb\":%.1f,\"blas_core\":\"%s\"}\n",
                       cfg[k].batch, th, p == MCR_PRECISION_BF16 ? "bf16" : "fp32",
                       sampler == MCR_SAMPLER_DPMPP ? "dpmpp" : "ddim", ssteps, r.nparams,
                       r.train_rows_per_s, r.train_gflops, r.sgemm_gflops,
                       r.train_gflops / r.sgemm_gflops, r.sample_rows_per_s, r.peak_rss_mb,
                       core ? core : "?");
                fflush(stdout);
            }
    return EXIT_OK;
}
