/* cmd_model.c — `fit`, `sample`, `inspect`. */
#include "cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* mcr_model_load, and for an image model a message pointing at the image commands */
static int load_table_model(const char *cmd, const char *path, mcr_model **m) {
    int rc = mcr_model_load(path, m);
    if (rc && mcr_imodel_is_file(path)) {
        fprintf(stderr, "mcrage: %s: %s is an image model (written by mcrage image fit); use mcrage image %s\n", cmd,
                path, cmd);
        return EXIT_INPUT;
    }
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

int cmd_fit(int argc, char **argv) {
    const char *cmd = "fit", *out = NULL;
    int quiet = 0, threads = 0;
    mcr_fit_config c;
    mcr_fit_config_default(&c);
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    enum { O_COND = 2100, O_SEED, O_THREADS, O_CKPT, O_RESUME, O_PREC };
    const char *resume = NULL;
    static const struct option lo[] = {
        {"target", required_argument, 0, 't'}, {"sensitive", required_argument, 0, 'g'},
        {"condition", required_argument, 0, O_COND}, {"seed", required_argument, 0, O_SEED},
        {"threads", required_argument, 0, O_THREADS}, {"quiet", no_argument, 0, 'q'},
        {"checkpoint-every", required_argument, 0, O_CKPT}, {"resume", required_argument, 0, O_RESUME},
        {"precision", required_argument, 0, O_PREC},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        CLI_CSV_LONGOPTS, CLI_FIT_LONGOPTS, {0, 0, 0, 0}};
    int ch, err;
    long long v;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "t:g:o:qh", lo, NULL)) != -1) {
        if (cli_csv_option(cmd, ch, optarg, &o, &err) || cli_fit_option(cmd, ch, optarg, &c, &err)) {
            if (err) return err;
            continue;
        }
        switch (ch) {
        case 't': c.target = optarg; break;
        case 'g': c.sensitive = optarg; break;
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case O_COND:
            if (!strcmp(optarg, "target")) c.condition = MCR_COND_TARGET;
            else if (!strcmp(optarg, "sensitive")) c.condition = MCR_COND_SENSITIVE;
            else if (!strcmp(optarg, "both")) c.condition = MCR_COND_BOTH;
            else return cli_usage(cmd, "--condition expects target, sensitive or both, got '%s'", optarg);
            break;
        case O_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; c.seed = (uint64_t)v; break;
        case O_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case O_CKPT: if (cli_long(cmd, "--checkpoint-every", optarg, 1, 100000000, &v)) return EXIT_USAGE; c.checkpoint_every = (int)v; break;
        case O_RESUME: resume = optarg; break;
        case O_PREC: if (cli_precision(cmd, optarg, &c.precision)) return EXIT_USAGE; break;
        case 'h':
            printf("usage: mcrage fit DATA.csv --target COL -o MODEL.mcrg [options]\n\n"
                   "Train a conditional denoising diffusion model (TabDDPM-style MLP) on the rows\n"
                   "of DATA.csv, conditioned on the target class (MCRAGE), on a sensitive\n"
                   "attribute, or on both.\n\n"
                   "  -t, --target COL         class column (required)\n"
                   "  -g, --sensitive COL      sensitive attribute column\n"
                   "      --condition C        target | sensitive | both (default target)\n"
                   "      --steps N            optimiser steps (default %d)\n"
                   "      --batch B            batch rows (default %d)\n"
                   "      --lr LR              AdamW learning rate, decays linearly to 0 (default %g)\n"
                   "      --weight-decay W     AdamW weight decay (default %g)\n"
                   "      --warmup N           linear warm-up steps (default %d)\n"
                   "      --grad-clip G        clip the gradient norm at G, 0 = off (default %g)\n"
                   "      --widths W1,W2,...   hidden widths (default 256,512,512,256)\n"
                   "      --dim-t N            time/label embedding width (default %d)\n"
                   "      --act relu|silu      hidden activation (default relu)\n"
                   "      --dropout P          dropout on hidden layers (default %g)\n"
                   "      --T N                diffusion steps (default %d)\n"
                   "      --schedule S         cosine | linear (default cosine)\n"
                   "      --p-uncond P         condition dropped with probability P (default %g)\n"
                   "      --ema D              EMA decay of the sampling weights (default %g)\n"
                   "      --transform T        numerics: quantile | standard | minmax (default quantile)\n"
                   "      --categorical-mode M multinomial: multinomial diffusion per categorical column\n"
                   "                           and missing-value indicator (default); onehot: one-hot\n"
                   "                           dims under Gaussian diffusion, decoded by arg-max\n"
                   "      --min-level-count N  pool levels seen fewer than N times into one __other__\n"
                   "                           level, drawn back among them by frequency (default 1)\n"
                   "      --seed S             random seed (default %llu)\n"
                   "      --threads N          threads, 0 = all cores (default 0)\n"
                   "      --precision P        matrix products: fp32 (default) | bf16 (oneDNN, fp32\n"
                   "                           accumulation and master weights; CPUs with AVX512-BF16\n"
                   "                           or AMX) | auto (bf16 where the CPU has it)\n"
                   "      --checkpoint-every N rewrite the model file with the full training state every\n"
                   "                           N steps (a killed run loses at most N steps)\n"
                   "      --resume FILE        continue a checkpoint; give the same CSV and options: the\n"
                   "                           result equals an uninterrupted run (same thread count)\n"
                   "  -q, --quiet              no progress output\n"
                   "  -o, --output FILE        model file (written atomically)\n" CLI_CSV_HELP
                   "\nexample: mcrage fit cohort.csv --target outcome --steps 2000 -o cohort.mcrg\n",
                   c.steps, c.batch, c.lr, c.weight_decay, c.warmup, c.grad_clip, c.dim_t, c.dropout,
                   c.T, c.p_uncond, c.ema_decay, (unsigned long long)c.seed);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA.csv");
    if (!c.target) return cli_usage(cmd, "missing --target COL");
    if (!out) return cli_usage(cmd, "missing -o MODEL.mcrg");
    if (c.warmup >= c.steps) return cli_usage(cmd, "--warmup must be smaller than --steps");
    /* --drop: the columns stay in the schema (written empty by sample) but are not modelled */
    c.drop = o.drop;
    o.drop = NULL;
    mcr_set_threads(threads);
    if (mcr_dist_rank() != 0) quiet = 1; /* across ranks (mpirun), rank 0 reports */
    mcr_model *ck = NULL;
    if (resume) {
        int rr = load_table_model(cmd, resume, &ck);
        if (rr) return rr;
        int done, planned;
        mcr_model_progress(ck, &done, &planned);
        if (!quiet && done >= 0) fprintf(stderr, "mcrage: fit: resuming %s at step %d of %d\n", resume, done, planned);
        c.resume = ck;
    }
    c.checkpoint_path = out;
    mcr_table *t;
    /* across ranks (mpirun) each reads its share of the rows; in one process, the whole file */
    int rc = mcr_table_read_csv_part(argv[optind], &o, &t);
    if (rc) {
        mcr_model_free(ck);
        return cli_fail(cmd, rc);
    }
    if ((rc = cli_say_identifiers(cmd, t, &c, NULL))) {
        mcr_table_free(t);
        mcr_model_free(ck);
        return cli_fail(cmd, rc);
    }
    cli_progress pc = {!quiet && isatty(2), cli_wall()};
    c.progress = cli_progress_bar;
    c.progress_ctx = &pc;
    mcr_model *m;
    rc = mcr_model_fit(t, NULL, 0, &c, &m);
    mcr_table_free(t);
    mcr_model_free(ck);
    if (rc) return cli_fail(cmd, rc);
    rc = mcr_dist_rank() == 0 ? mcr_model_save(m, out) : MCR_OK; /* one file, from rank 0 */
    rc = mcr_dist_agree(rc);
    if (!rc && !quiet)
        fprintf(stderr, "mcrage: fit: %d steps in %.1f s, final loss %.4f, %zu parameters -> %s\n",
                c.steps, cli_wall() - pc.t0, mcr_model_final_loss(m), mcr_model_nparams(m), out);
    mcr_model_free(m);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

int cmd_sample(int argc, char **argv) {
    const char *cmd = "sample", *out = NULL, *cls = NULL, *counts_s = NULL;
    long long n = -1, v;
    int threads = 0;
    double d;
    mcr_sample_config sc;
    mcr_sample_config_default(&sc);
    enum { O_GUID = 3000, O_SSTEPS, O_SAMPLER, O_SEED, O_THREADS, O_COUNTS, O_ETA, O_PREC };
    static const struct option lo[] = {
        {"n", required_argument, 0, 'n'}, {"class", required_argument, 0, 'c'},
        {"counts", required_argument, 0, O_COUNTS}, {"guidance", required_argument, 0, O_GUID},
        {"sample-steps", required_argument, 0, O_SSTEPS}, {"sampler", required_argument, 0, O_SAMPLER},
        {"seed", required_argument, 0, O_SEED}, {"threads", required_argument, 0, O_THREADS},
        {"eta", required_argument, 0, O_ETA}, {"precision", required_argument, 0, O_PREC},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int ch;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "n:c:o:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'n': if (cli_long(cmd, "--n", optarg, 0, 1000000000, &n)) return EXIT_USAGE; break;
        case 'c': cls = optarg; break;
        case O_COUNTS: counts_s = optarg; break;
        case O_GUID: if (cli_double(cmd, "--guidance", optarg, 0, 100, &d)) return EXIT_USAGE; sc.guidance = (float)d; break;
        case O_SSTEPS: if (cli_long(cmd, "--sample-steps", optarg, 1, 100000, &v)) return EXIT_USAGE; sc.sample_steps = (int)v; break;
        case O_ETA: if (cli_double(cmd, "--eta", optarg, 0, 1, &d)) return EXIT_USAGE; sc.eta = (float)d; break;
        case O_SAMPLER:
            if (!strcmp(optarg, "ddim")) sc.sampler = MCR_SAMPLER_DDIM;
            else if (!strcmp(optarg, "ddpm")) sc.sampler = MCR_SAMPLER_DDPM;
            else if (!strcmp(optarg, "dpmpp")) sc.sampler = MCR_SAMPLER_DPMPP;
            else return cli_usage(cmd, "--sampler expects ddim, ddpm or dpmpp, got '%s'", optarg);
            break;
        case O_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; sc.seed = (uint64_t)v; break;
        case O_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case O_PREC: if (cli_precision(cmd, optarg, &sc.precision)) return EXIT_USAGE; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: mcrage sample MODEL.mcrg (--n N [--class VALUE] | --counts V=N,...) -o SYNTH.csv\n\n"
                   "Generate synthetic rows with the training CSV's columns, order and spellings.\n\n"
                   "  -n, --n N              rows; without --class, split like the training classes\n"
                   "  -c, --class VALUE      condition value to sample (e.g. a minority class)\n"
                   "      --counts V=N,...   rows per condition value\n"
                   "      --guidance W       classifier-free guidance weight (default 0)\n"
                   "      --sampler S        dpmpp (DPM-Solver++(2M)) | ddim | ddpm (default dpmpp)\n"
                   "      --sample-steps K   steps on the grid t = k T / K (default %d; ddpm uses all T;\n"
                   "                         dpmpp 25 matched ddim 100 on patient_treatment and flchain)\n"
                   "      --eta E            noise: 0 deterministic, 1 the DDPM posterior on the grid\n"
                   "                         (default %g)\n"
                   "      --seed S           random seed (default 1)\n"
                   "      --threads N        threads, 0 = all cores (default 0)\n"
                   "      --precision P      matrix products: fp32 (default) | bf16 (AVX512-BF16 or\n"
                   "                         AMX CPUs) | auto (bf16 where the CPU has it)\n"
                   "  -o, --output FILE      output CSV (written atomically); '-' = stdout\n"
                   "\nexample: mcrage sample cohort.mcrg --class 1 --n 1000 -o synth.csv\n",
                   sc.sample_steps, (double)sc.eta);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one MODEL.mcrg");
    if (!out) return cli_usage(cmd, "missing -o SYNTH.csv");
    if (counts_s && (cls || n >= 0)) return cli_usage(cmd, "--counts excludes --n and --class");
    if (!counts_s && n < 0) return cli_usage(cmd, "missing --n N (or --counts)");
    mcr_set_threads(threads);
    mcr_model *m;
    int rc = load_table_model(cmd, argv[optind], &m);
    if (rc) return rc;
    int K = mcr_model_ncond(m);
    size_t *counts = calloc((size_t)K, sizeof(size_t));
    if (!counts) {
        mcr_model_free(m);
        return EXIT_RUNTIME;
    }
    int code = EXIT_OK;
    rc = mcr_sample_counts(m, counts_s, cls, n < 0 ? 0 : (size_t)n, counts);
    if (rc == MCR_EINVAL && counts_s) code = cli_usage(cmd, "%s", cli_error());
    else if (rc == MCR_EINVAL) {
        fprintf(stderr, "mcrage: sample: %s\n", cli_error());
        code = EXIT_INPUT;
    } else if (rc) code = cli_fail(cmd, rc);
    if (!code) {
        mcr_table *t;
        rc = mcr_model_sample(m, counts, &sc, &t);
        if (rc) code = rc == MCR_EINVAL ? cli_usage(cmd, "%s", cli_error()) : cli_fail(cmd, rc);
        else {
            int r0 = mcr_dist_rank() == 0; /* across ranks (mpirun), rank 0 writes the file */
            rc = !r0 ? MCR_OK : strcmp(out, "-") ? mcr_table_write_csv(t, out) : mcr_table_write_csv_stream(t, stdout);
            rc = mcr_dist_agree(rc);
            if (rc) code = cli_fail(cmd, rc);
            else if (r0 && strcmp(out, "-")) fprintf(stderr, "mcrage: sample: wrote %zu rows to %s\n", mcr_table_nrows(t), out);
            mcr_table_free(t);
        }
    }
    free(counts);
    mcr_model_free(m);
    return code;
}

int cmd_inspect(int argc, char **argv) {
    const char *cmd = "inspect";
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: mcrage inspect MODEL.mcrg\n\nPrint the architecture, schema, training "
               "settings, final loss and parameter count.\n\nexample: mcrage inspect cohort.mcrg\n");
        return EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') return cli_usage(cmd, "expects exactly one MODEL.mcrg");
    mcr_model *m;
    int rc = load_table_model(cmd, argv[1], &m);
    if (rc) return rc;
    rc = mcr_model_inspect(m, stdout);
    mcr_model_free(m);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}
