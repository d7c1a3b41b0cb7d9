/* cmd_image.c — `mcrage image <sub-command>`: image sets (.npz in the MedMNIST layout, or a CSV
 * manifest of PNG files). Sub-commands are a table, so fit / sample / inspect join it as rows. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *IMAGE_DATA_HELP =
    "DATA is an .npz in the MedMNIST layout (train_images (N,H,W) or (N,H,W,3) uint8, train_labels\n"
    "(N,1), the same for val_ and test_; stored or deflated members) or a CSV manifest with columns\n"
    "file,label[,attribute][,split] listing PNG files (relative to the manifest's folder; an empty\n"
    "label is unlabelled, an empty attribute unknown; split train|val|test;\n"
    "without a split column every image is train).\n";

static int image_describe(int argc, char **argv) {
    const char *cmd = "image describe";
    int json = 0, ch;
    static const struct option lo[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 'h':
            printf("usage: mcrage image describe DATA [--json]\n\n"
                   "Print the image size and channels, the label and attribute levels, and per split\n"
                   "(train, val, test) the label x attribute counts and the unlabelled images.\n\n"
                   "  -j, --json   JSON instead of text (default: text)\n\n%s\n"
                   "example: mcrage image describe ../shared/datasets/images/pneumoniamnist.npz\n",
                   IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    mcr_imageset *s;
    int rc = mcr_imageset_read(argv[optind], &s);
    if (rc) return cli_fail(cmd, rc);
    rc = mcr_imageset_describe(s, json, stdout);
    mcr_imageset_free(s);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

static int parse_split(const char *s, char *out) {
    if (!strcmp(s, "all")) *out = 0;
    else if (!strcmp(s, "train")) *out = 't';
    else if (!strcmp(s, "val")) *out = 'v';
    else if (!strcmp(s, "test")) *out = 's';
    else return -1;
    return 0;
}

static int image_grid(int argc, char **argv) {
    const char *cmd = "image grid", *out = NULL, *split_arg = "all";
    int ch;
    long long per_cell = 8;
    char split = 0;
    static const struct option lo[] = {{"output", required_argument, 0, 'o'},
                                       {"per-cell", required_argument, 0, 'k'},
                                       {"split", required_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:k:s:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'k':
            if (cli_long(cmd, "--per-cell", optarg, 1, 1000, &per_cell)) return EXIT_USAGE;
            break;
        case 's':
            split_arg = optarg;
            if (parse_split(optarg, &split))
                return cli_usage(cmd, "--split expects train, val, test or all, got '%s'", optarg);
            break;
        case 'h':
            printf("usage: mcrage image grid DATA -o GRID.png [--per-cell K] [--split train|val|test|all]\n\n"
                   "Write a PNG grid for a quick look: one row per (label, attribute) pair, in level order\n"
                   "(unlabelled and unknown last), the first K images of each, 2 px grey separators.\n"
                   "The rows are listed on stderr.\n\n"
                   "  -o, --output FILE   the PNG to write (atomically)\n"
                   "  -k, --per-cell K    images per row, 1 to 1000 (default 8)\n"
                   "  -s, --split S       train, val, test or all (default all)\n\n%s\n"
                   "example: mcrage image grid pneumoniamnist.npz --split train --per-cell 10 -o grid.png\n",
                   IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    if (!out) return cli_usage(cmd, "missing -o GRID.png");
    mcr_imageset *s;
    int rc = mcr_imageset_read(argv[optind], &s);
    if (rc) return cli_fail(cmd, rc);
    int nrows = 0;
    rc = mcr_imageset_write_grid(s, out, (int)per_cell, split, &nrows);
    if (rc) {
        mcr_imageset_free(s);
        return cli_fail(cmd, rc);
    }
    /* the legend: the same rows, in the same order, as the library drew them */
    int L = mcr_imageset_nlabels(s), A = mcr_imageset_nattrs(s), row = 0;
    size_t *counts = calloc((size_t)(L + 1) * (size_t)(A + 1), sizeof *counts);
    if (counts) {
        mcr_imageset_counts(s, split, counts);
        for (int l = 0; l <= L; l++)
            for (int a = 0; a <= A; a++) {
                size_t m = counts[(size_t)l * (size_t)(A + 1) + (size_t)a];
                if (!m) continue;
                fprintf(stderr, "mcrage: row %d: label %s", ++row, l < L ? mcr_imageset_label_name(s, l) : "(unlabelled)");
                if (A) fprintf(stderr, ", attribute %s", a < A ? mcr_imageset_attr_name(s, a) : "(unknown)");
                fprintf(stderr, " (%zu images)\n", m);
            }
        free(counts);
    }
    fprintf(stderr, "mcrage: wrote %s: %d rows of up to %lld images (split %s)\n", out, nrows, per_cell, split_arg);
    mcr_imageset_free(s);
    return EXIT_OK;
}

static int image_convert(int argc, char **argv) {
    const char *cmd = "image convert", *out = NULL;
    int ch;
    static const struct option lo[] = {{"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: mcrage image convert DATA -o OUT.npz | -o DIR/\n\n"
                   "Write the image set as a MedMNIST-layout .npz (members stored; labels int64 (N,1), -1 =\n"
                   "unlabelled; *_attributes when known; label_names / attribute_names), or, for an -o\n"
                   "ending in '/', as DIR/<split>_<i>.png with DIR/manifest.csv. Outputs are written\n"
                   "atomically.\n\n"
                   "  -o, --output OUT    OUT.npz or DIR/\n\n%s\n"
                   "example: mcrage image convert pneumoniamnist.npz -o pngs/ && mcrage image describe pngs/manifest.csv\n",
                   IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    if (!out || !*out) return cli_usage(cmd, "missing -o OUT.npz or -o DIR/");
    size_t ol = strlen(out);
    int dir = out[ol - 1] == '/';
    if (!dir && (ol < 4 || strcmp(out + ol - 4, ".npz")))
        return cli_usage(cmd, "-o expects a name ending in .npz or a folder ending in '/', got '%s'", out);
    mcr_imageset *s;
    int rc = mcr_imageset_read(argv[optind], &s);
    if (rc) return cli_fail(cmd, rc);
    int n;
    mcr_imageset_dims(s, &n, NULL, NULL, NULL);
    rc = dir ? mcr_imageset_write_dir(s, out) : mcr_imageset_write_npz(s, out);
    mcr_imageset_free(s);
    if (rc) return cli_fail(cmd, rc);
    fprintf(stderr, "mcrage: wrote %d images to %s%s\n", n, out, dir ? "manifest.csv" : "");
    return EXIT_OK;
}

/* ------------------------------------------------------------------ fit / sample / inspect */
static int parse_channels(const char *cmd, const char *s, mcr_ifit_config *c) {
    int n = 0;
    const char *p = s;
    while (*p) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || v < 1 || v > 4096 || (*e && *e != ',') || n == 6)
            return cli_usage(cmd, "--channels expects 1 to 6 comma-separated widths from 1 to 4096 (e.g. 32,64,128), got '%s'", s);
        c->channels[n++] = (int)v;
        p = *e ? e + 1 : e;
        if (*e && !*p) return cli_usage(cmd, "--channels: trailing comma in '%s'", s);
    }
    if (!n) return cli_usage(cmd, "--channels expects widths such as 32,64,128");
    c->nlevels = n;
    return 0;
}

static int image_fit(int argc, char **argv) {
    const char *cmd = "image fit", *out = NULL, *resume = NULL;
    int quiet = 0, threads = 0, ch;
    long long v;
    double d;
    mcr_ifit_config c;
    mcr_ifit_config_default(&c);
    enum { F_STEPS = 4000, F_BATCH, F_LR, F_CHAN, F_DROP, F_SEED, F_THREADS, F_CKPT, F_RESUME, F_T, F_NRES, F_ATTN,
           F_GROUPS, F_EMA, F_WARM, F_CLIP, F_PREC };
    static const struct option lo[] = {
        {"steps", required_argument, 0, F_STEPS}, {"batch", required_argument, 0, F_BATCH},
        {"lr", required_argument, 0, F_LR}, {"channels", required_argument, 0, F_CHAN},
        {"cond-drop", required_argument, 0, F_DROP}, {"seed", required_argument, 0, F_SEED},
        {"threads", required_argument, 0, F_THREADS}, {"checkpoint-every", required_argument, 0, F_CKPT},
        {"resume", required_argument, 0, F_RESUME}, {"T", required_argument, 0, F_T},
        {"res-blocks", required_argument, 0, F_NRES}, {"attention", required_argument, 0, F_ATTN},
        {"groups", required_argument, 0, F_GROUPS}, {"ema", required_argument, 0, F_EMA},
        {"warmup", required_argument, 0, F_WARM}, {"grad-clip", required_argument, 0, F_CLIP},
        {"precision", required_argument, 0, F_PREC},
        {"quiet", no_argument, 0, 'q'}, {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:qh", lo, NULL)) != -1) {
        switch (ch) {
        case F_STEPS: if (cli_long(cmd, "--steps", optarg, 1, 100000000, &v)) return EXIT_USAGE; c.steps = (int)v; break;
        case F_BATCH: if (cli_long(cmd, "--batch", optarg, 1, 65536, &v)) return EXIT_USAGE; c.batch = (int)v; break;
        case F_LR: if (cli_double(cmd, "--lr", optarg, 1e-8, 0.999, &d)) return EXIT_USAGE; c.lr = (float)d; break;
        case F_CHAN: if (parse_channels(cmd, optarg, &c)) return EXIT_USAGE; break;
        case F_DROP: if (cli_double(cmd, "--cond-drop", optarg, 0, 1, &d)) return EXIT_USAGE; c.cond_drop = (float)d; break;
        case F_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; c.seed = (uint64_t)v; break;
        case F_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case F_CKPT: if (cli_long(cmd, "--checkpoint-every", optarg, 1, 100000000, &v)) return EXIT_USAGE; c.checkpoint_every = (int)v; break;
        case F_RESUME: resume = optarg; break;
        case F_T: if (cli_long(cmd, "--T", optarg, 2, 100000, &v)) return EXIT_USAGE; c.T = (int)v; break;
        case F_NRES: if (cli_long(cmd, "--res-blocks", optarg, 1, 8, &v)) return EXIT_USAGE; c.nres = (int)v; break;
        case F_ATTN: if (cli_long(cmd, "--attention", optarg, 0, 1, &v)) return EXIT_USAGE; c.attn = (int)v; break;
        case F_GROUPS: if (cli_long(cmd, "--groups", optarg, 1, 4096, &v)) return EXIT_USAGE; c.groups = (int)v; break;
        case F_EMA: if (cli_double(cmd, "--ema", optarg, 0, 0.999999, &d)) return EXIT_USAGE; c.ema_decay = (float)d; break;
        case F_WARM: if (cli_long(cmd, "--warmup", optarg, 0, 100000000, &v)) return EXIT_USAGE; c.warmup = (int)v; break;
        case F_CLIP: if (cli_double(cmd, "--grad-clip", optarg, 0, 1e6, &d)) return EXIT_USAGE; c.grad_clip = (float)d; break;
        case F_PREC: if (cli_precision(cmd, optarg, &c.precision)) return EXIT_USAGE; break;
        case 'q': quiet = 1; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: mcrage image fit DATA -o MODEL.mcrg [options]\n\n"
                   "Train a conditional image diffusion model (UNet, eps-prediction, cosine schedule) on the\n"
                   "train split of DATA, conditioned on the label and the attribute, each with a null token:\n"
                   "each is dropped to null with probability --cond-drop, and is always null where an image\n"
                   "has none (unlabelled images train the null-label path).\n\n"
                   "      --steps N            optimiser steps (default %d)\n"
                   "      --batch B            images per step (default %d)\n"
                   "      --lr LR              AdamW peak rate, warm-up then linear decay to 0 (default %g)\n"
                   "      --warmup N           warm-up steps, 0 = steps/20 (default 0)\n"
                   "      --channels C1,C2,... UNet channels per resolution, multiples of the first\n"
                   "                           (default 32,64,128); image sides divisible by 2^(levels-1)\n"
                   "      --res-blocks N       residual blocks per level (default %d)\n"
                   "      --attention 0|1      self-attention at the lowest level (default %d)\n"
                   "      --groups G           GroupNorm groups; every width divisible by G (default %d)\n"
                   "      --cond-drop P        label / attribute dropped to null, each (default %g)\n"
                   "      --T N                diffusion steps (default %d)\n"
                   "      --ema D              EMA decay of the saved weights (default %g)\n"
                   "      --grad-clip G        clip the gradient norm, 0 = off (default %g)\n"
                   "      --seed S             random seed (default %llu)\n"
                   "      --precision P        fp32 | bf16 | auto: the convolutions in training (default fp32:\n"
                   "                           im2col + sgemm, the same bits for every thread count; bf16:\n"
                   "                           oneDNN, bf16 inputs, fp32 accumulation and master weights, on\n"
                   "                           CPUs with AVX512-BF16 or AMX, the same bits for a given\n"
                   "                           thread count; auto: bf16 where the CPU has it)\n"
                   "      --threads N          threads, 0 = all cores (default 0)\n"
                   "      --checkpoint-every N rewrite -o with the full training state every N steps\n"
                   "      --resume FILE        continue a checkpoint; same DATA and options give the result\n"
                   "                           of an uninterrupted run (same thread count)\n"
                   "  -q, --quiet              no progress output\n"
                   "  -o, --output FILE        model file (written atomically)\n\n%s\n"
                   "example: mcrage image fit pneumoniamnist.npz --steps 3000 --channels 32,64 -o pneu.mcrg\n",
                   c.steps, c.batch, (double)c.lr, c.nres, c.attn, c.groups, (double)c.cond_drop, c.T,
                   (double)c.ema_decay, (double)c.grad_clip, (unsigned long long)c.seed, IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    if (!out) return cli_usage(cmd, "missing -o MODEL.mcrg");
    if (c.warmup >= c.steps) return cli_usage(cmd, "--warmup must be smaller than --steps");
    for (int l = 0; l < c.nlevels; l++)
        if (c.channels[l] % c.channels[0] || c.channels[l] % c.groups)
            return cli_usage(cmd, "--channels: %d is not a multiple of the first width (%d) and of --groups (%d)",
                             c.channels[l], c.channels[0], c.groups);
    mcr_set_threads(threads);
    mcr_imodel *ck = NULL;
    if (resume) {
        int rr = mcr_imodel_load(resume, &ck);
        if (rr) return cli_fail(cmd, rr);
        int done, planned;
        mcr_imodel_progress(ck, &done, &planned);
        if (!quiet && done >= 0) fprintf(stderr, "mcrage: image fit: resuming %s at step %d of %d\n", resume, done, planned);
        c.resume = ck;
    }
    c.checkpoint_path = out;
    mcr_imageset *s;
    int rc = mcr_imageset_read(argv[optind], &s);
    if (rc) {
        mcr_imodel_free(ck);
        return cli_fail(cmd, rc);
    }
    cli_progress pc = {!quiet && isatty(2), cli_wall()};
    c.progress = cli_progress_bar;
    c.progress_ctx = &pc;
    mcr_imodel *m;
    rc = mcr_imodel_fit(s, &c, &m);
    mcr_imageset_free(s);
    mcr_imodel_free(ck);
    if (rc == MCR_EINVAL) return cli_usage(cmd, "%s", cli_error());
    if (rc) return cli_fail(cmd, rc);
    rc = mcr_imodel_save(m, out);
    if (!rc && !quiet)
        fprintf(stderr, "mcrage: image fit: %d steps in %.1f s, final loss %.4f, %zu parameters -> %s\n", c.steps,
                cli_wall() - pc.t0, (double)mcr_imodel_final_loss(m), mcr_imodel_nparams(m), out);
    mcr_imodel_free(m);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

/* --guidance sets both weights, --guidance-label / --guidance-attr one each and take precedence
 * whatever the order on the command line (negative: not given) */
static void set_guidance(mcr_isample_config *sc, double both, double label, double attr) {
    if (both >= 0) sc->w_label = sc->w_attr = (float)both;
    if (label >= 0) sc->w_label = (float)label;
    if (attr >= 0) sc->w_attr = (float)attr;
}

static int image_sample(int argc, char **argv) {
    const char *cmd = "image sample", *out = NULL, *counts_s = NULL, *policy_s = NULL, *grid = NULL;
    long long n = -1, v;
    int threads = 0, ch;
    double d, guid = -1, guid_l = -1, guid_a = -1;
    mcr_isample_config sc;
    mcr_isample_config_default(&sc);
    enum { S_COUNTS = 4100, S_POLICY, S_GUID, S_GL, S_GA, S_SAMPLER, S_STEPS, S_ETA, S_SEED, S_THREADS, S_GRID, S_BATCH, S_PREC };
    static const struct option lo[] = {
        {"counts", required_argument, 0, S_COUNTS}, {"policy", required_argument, 0, S_POLICY},
        {"n", required_argument, 0, 'n'}, {"guidance", required_argument, 0, S_GUID},
        {"guidance-label", required_argument, 0, S_GL}, {"guidance-attr", required_argument, 0, S_GA},
        {"sampler", required_argument, 0, S_SAMPLER}, {"sample-steps", required_argument, 0, S_STEPS},
        {"eta", required_argument, 0, S_ETA}, {"seed", required_argument, 0, S_SEED},
        {"threads", required_argument, 0, S_THREADS}, {"grid", required_argument, 0, S_GRID},
        {"batch", required_argument, 0, S_BATCH}, {"precision", required_argument, 0, S_PREC},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "n:o:h", lo, NULL)) != -1) {
        switch (ch) {
        case S_COUNTS: counts_s = optarg; break;
        case S_POLICY:
            if (strcmp(optarg, "balance") && strcmp(optarg, "group-balance"))
                return cli_usage(cmd, "--policy expects balance or group-balance, got '%s'", optarg);
            policy_s = optarg;
            break;
        case 'n': if (cli_long(cmd, "--n", optarg, 0, 100000000, &n)) return EXIT_USAGE; break;
        case S_GUID: if (cli_double(cmd, "--guidance", optarg, 0, 100, &guid)) return EXIT_USAGE; break;
        case S_GL: if (cli_double(cmd, "--guidance-label", optarg, 0, 100, &guid_l)) return EXIT_USAGE; break;
        case S_GA: if (cli_double(cmd, "--guidance-attr", optarg, 0, 100, &guid_a)) return EXIT_USAGE; break;
        case S_SAMPLER:
            if (!strcmp(optarg, "ddim")) sc.sampler = MCR_SAMPLER_DDIM;
            else if (!strcmp(optarg, "ddpm")) sc.sampler = MCR_SAMPLER_DDPM;
            else return cli_usage(cmd, "--sampler expects ddim or ddpm, got '%s'", optarg);
            break;
        case S_STEPS: if (cli_long(cmd, "--sample-steps", optarg, 1, 100000, &v)) return EXIT_USAGE; sc.sample_steps = (int)v; break;
        case S_ETA: if (cli_double(cmd, "--eta", optarg, 0, 1, &d)) return EXIT_USAGE; sc.eta = (float)d; break;
        case S_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; sc.seed = (uint64_t)v; break;
        case S_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case S_BATCH: if (cli_long(cmd, "--batch", optarg, 1, 4096, &v)) return EXIT_USAGE; sc.batch = (int)v; break;
        case S_PREC: if (cli_precision(cmd, optarg, &sc.precision)) return EXIT_USAGE; break;
        case S_GRID: grid = optarg; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: mcrage image sample MODEL.mcrg (--counts SPEC | --policy P --n N) -o OUT.npz|DIR/\n"
                   "                          [--grid GRID.png] [options]\n\n"
                   "Generate images per (label, attribute) cell, exactly the counts asked for.\n\n"
                   "      --counts SPEC        cells separated by ';', each KEY=LEVEL[,KEY=LEVEL]:N with keys\n"
                   "                           label and attribute (or the attribute's column name); a key\n"
                   "                           left out is sampled with the null token, e.g.\n"
                   "                           --counts 'label=1,attribute=B:500;label=0:200'\n"
                   "      --policy P --n N     balance: labels uniform, each label's attributes as in its\n"
                   "                           training images; group-balance: attributes uniform, the\n"
                   "                           training label prevalence kept in each (exact counts)\n"
                   "      --guidance W         both guidance weights (default 1)\n"
                   "      --guidance-label W   label weight; --guidance-attr W attribute weight (these two\n"
                   "                           take precedence over --guidance, whatever the order):\n"
                   "                           eps = eps(0,0) + wl (eps(l,0) - eps(0,0)) + wa (eps(0,a) - eps(0,0)),\n"
                   "                           0 = null token; weights 0 sample the unconditional model\n"
                   "      --sampler S          ddim | ddpm (all T steps) (default ddim)\n"
                   "      --sample-steps K     DDIM steps (default %d)\n"
                   "      --eta E              DDIM noise, 0 deterministic (default %g)\n"
                   "      --batch B            images per network call (default %d)\n"
                   "      --precision P        fp32 | bf16 | auto: the convolutions (default fp32: im2col +\n"
                   "                           sgemm; bf16: oneDNN, CPUs with AVX512-BF16 or AMX)\n"
                   "      --seed S             random seed (default 1)\n"
                   "      --threads N          threads, 0 = all cores (default 0)\n"
                   "      --grid FILE          also a PNG grid, one row per cell (up to 16 images each)\n"
                   "  -o, --output OUT         OUT.npz (MedMNIST layout) or DIR/ (PNGs + manifest.csv), atomic\n"
                   "\nexample: mcrage image sample pneu.mcrg --policy balance --n 1000 -o synth.npz --grid synth.png\n",
                   sc.sample_steps, (double)sc.eta, sc.batch);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one MODEL.mcrg");
    if (!out || !*out) return cli_usage(cmd, "missing -o OUT.npz or -o DIR/");
    size_t ol = strlen(out);
    int dir = out[ol - 1] == '/';
    if (!dir && (ol < 4 || strcmp(out + ol - 4, ".npz")))
        return cli_usage(cmd, "-o expects a name ending in .npz or a folder ending in '/', got '%s'", out);
    if (counts_s && (policy_s || n >= 0)) return cli_usage(cmd, "--counts excludes --policy and --n");
    if (!counts_s && !policy_s) return cli_usage(cmd, "missing --counts SPEC or --policy P --n N");
    if (policy_s && n < 0) return cli_usage(cmd, "--policy needs --n N");
    if (!policy_s && n >= 0) return cli_usage(cmd, "--n needs --policy P");
    set_guidance(&sc, guid, guid_l, guid_a);
    mcr_set_threads(threads);
    mcr_imodel *m;
    int rc = mcr_imodel_load(argv[optind], &m);
    if (rc) return cli_fail(cmd, rc);
    int code = EXIT_OK;
    size_t nc = (size_t)(mcr_imodel_nlabels(m) + 1) * (size_t)(mcr_imodel_nattrs(m) + 1);
    size_t *counts = calloc(nc, sizeof *counts);
    if (!counts) {
        mcr_imodel_free(m);
        return EXIT_RUNTIME;
    }
    if (counts_s) rc = mcr_imodel_counts_parse(m, counts_s, counts);
    else rc = mcr_imodel_counts_policy(m, strcmp(policy_s, "balance") ? MCR_IPOLICY_GROUP_BALANCE : MCR_IPOLICY_BALANCE,
                                       (size_t)n, counts);
    if (rc == MCR_EINVAL) code = cli_usage(cmd, "%s", cli_error());
    else if (rc) code = cli_fail(cmd, rc);
    mcr_imageset *s = NULL;
    if (!code) {
        rc = mcr_imodel_sample(m, counts, &sc, &s);
        if (rc == MCR_EINVAL) code = cli_usage(cmd, "%s", cli_error());
        else if (rc) code = cli_fail(cmd, rc);
    }
    if (!code) {
        rc = dir ? mcr_imageset_write_dir(s, out) : mcr_imageset_write_npz(s, out);
        if (!rc && grid) rc = mcr_imageset_write_grid(s, grid, 16, 0, NULL);
        if (rc) code = cli_fail(cmd, rc);
        else {
            int ni;
            mcr_imageset_dims(s, &ni, NULL, NULL, NULL);
            int L = mcr_imodel_nlabels(m), A = mcr_imodel_nattrs(m);
            for (int l = 0; l <= L; l++)
                for (int a = 0; a <= A; a++) {
                    size_t k = counts[(size_t)l * (size_t)(A + 1) + (size_t)a];
                    if (!k) continue;
                    fprintf(stderr, "mcrage: image sample: label %s", l < L ? mcr_imodel_label_name(m, l) : "(null)");
                    if (A) fprintf(stderr, ", attribute %s", a < A ? mcr_imodel_attr_name(m, a) : "(null)");
                    fprintf(stderr, ": %zu images\n", k);
                }
            fprintf(stderr, "mcrage: image sample: wrote %d images to %s%s%s%s\n", ni, out, dir ? "manifest.csv" : "",
                    grid ? " and a grid to " : "", grid ? grid : "");
        }
    }
    mcr_imageset_free(s);
    free(counts);
    mcr_imodel_free(m);
    return code;
}

static int image_inspect(int argc, char **argv) {
    const char *cmd = "image inspect";
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: mcrage image inspect MODEL.mcrg\n\nPrint the image size, the UNet, the schedule, the training "
               "settings,\nthe final loss (or the checkpoint's step), the label and attribute levels and the\n"
               "training images per cell.\n\nexample: mcrage image inspect pneu.mcrg\n");
        return EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-') return cli_usage(cmd, "expects exactly one MODEL.mcrg");
    mcr_imodel *m;
    int rc = mcr_imodel_load(argv[1], &m);
    if (rc) return cli_fail(cmd, rc);
    rc = mcr_imodel_inspect(m, stdout);
    mcr_imodel_free(m);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

static void quality_say(void *ctx, const char *msg) {
    if (ctx) fprintf(stderr, "mcrage: image quality: %s\n", msg);
}

/* --widths W1,W2,... of the CNN classifier (image quality, image evaluate): 0, or the exit code */
static int cnn_widths_option(const char *cmd, const char *arg, mcr_cnn_config *cnn) {
    int n = 0;
    long long v;
    char *dup = strdup(arg), *save = NULL;
    for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
        if (n == MCR_CNN_MAX_STAGES || cli_long(cmd, "--widths", t, 1, 4096, &v)) {
            free(dup);
            return n == MCR_CNN_MAX_STAGES ? cli_usage(cmd, "--widths takes at most %d widths", MCR_CNN_MAX_STAGES)
                                           : EXIT_USAGE;
        }
        cnn->widths[n++] = (int)v;
    }
    free(dup);
    if (!n) return cli_usage(cmd, "--widths expects W1,W2,...");
    cnn->nstages = n;
    return 0;
}

static int image_quality(int argc, char **argv) {
    const char *cmd = "image quality", *json = NULL;
    int quiet = 0, threads = 0, ch;
    long long v;
    double d;
    mcr_iquality_config c;
    mcr_iquality_config_default(&c);
    enum { Q_JSON = 4100, Q_SEED, Q_THREADS, Q_WIDTHS, Q_BLOCKS, Q_EPOCHS, Q_BATCH, Q_LR, Q_DTEST, Q_NOTSTR };
    static const struct option lo[] = {
        {"json", required_argument, 0, Q_JSON}, {"seed", required_argument, 0, Q_SEED},
        {"threads", required_argument, 0, Q_THREADS}, {"widths", required_argument, 0, Q_WIDTHS},
        {"blocks", required_argument, 0, Q_BLOCKS}, {"epochs", required_argument, 0, Q_EPOCHS},
        {"batch", required_argument, 0, Q_BATCH}, {"lr", required_argument, 0, Q_LR},
        {"detect-test", required_argument, 0, Q_DTEST}, {"no-tstr", no_argument, 0, Q_NOTSTR},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
        switch (ch) {
        case Q_JSON: json = optarg; break;
        case Q_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; c.seed = (uint64_t)v; break;
        case Q_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case Q_WIDTHS: {
            int rc = cnn_widths_option(cmd, optarg, &c.cnn);
            if (rc) return rc;
            break;
        }
        case Q_BLOCKS: if (cli_long(cmd, "--blocks", optarg, 0, 16, &v)) return EXIT_USAGE; c.cnn.blocks = (int)v; break;
        case Q_EPOCHS: if (cli_long(cmd, "--epochs", optarg, 1, 100000, &v)) return EXIT_USAGE; c.cnn.epochs = (int)v; break;
        case Q_BATCH: if (cli_long(cmd, "--batch", optarg, 1, 65536, &v)) return EXIT_USAGE; c.cnn.batch = (int)v; break;
        case Q_LR: if (cli_double(cmd, "--lr", optarg, 1e-8, 0.999, &d)) return EXIT_USAGE; c.cnn.lr = (float)d; break;
        case Q_DTEST: if (cli_double(cmd, "--detect-test", optarg, 0.01, 0.99, &d)) return EXIT_USAGE; c.detect_test = d; break;
        case Q_NOTSTR: c.tstr = 0; break;
        case 'q': quiet = 1; break;
        case 'h':
            printf("usage: mcrage image quality REAL SYNTH [options]\n\n"
                   "Judge synthetic images (SYNTH, e.g. the .npz of `mcrage image sample`, labels by level name)\n"
                   "against REAL (train and test splits) with a small CNN classifier (ResNet-style, GroupNorm,\n"
                   "SiLU, global average pool; AdamW):\n"
                   "  (a) trained on REAL's train split: accuracy on REAL's test split and on SYNTH, per label;\n"
                   "      trained on SYNTH: accuracy on REAL's test split (TSTR);\n"
                   "  (b) a real-vs-synthetic detector on equal numbers of each: held-out AUROC;\n"
                   "  (c) pixel-intensity histograms, REAL's train split vs SYNTH: total variation, Wasserstein-1,\n"
                   "      mean and sd, per label.\n\n"
                   "      --widths W1,W2,...   CNN channels per stage, divisible by 8 (default %d,%d,%d)\n"
                   "      --blocks N           residual blocks per stage (default %d)\n"
                   "      --epochs N           training epochs of each CNN (default %d)\n"
                   "      --batch B            images per step (default %d)\n"
                   "      --lr LR              AdamW peak rate (default %g)\n"
                   "      --detect-test F      held-out fraction of the detection images (default %g)\n"
                   "      --no-tstr            skip train-synthetic-test-real\n"
                   "      --json OUT           also write the results as JSON (- = stdout)\n"
                   "      --seed S             random seed (default %llu)\n"
                   "      --threads N          threads, 0 = all cores (default 0)\n"
                   "  -q, --quiet              no progress lines\n\n%s\n"
                   "example: mcrage image quality pneumoniamnist.npz synth.npz --json quality.json\n",
                   c.cnn.widths[0], c.cnn.widths[1], c.cnn.widths[2], c.cnn.blocks, c.cnn.epochs, c.cnn.batch,
                   (double)c.cnn.lr, c.detect_test, (unsigned long long)c.seed, IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 2) return cli_usage(cmd, "expects REAL and SYNTH (.npz or manifest .csv)");
    for (int k = 0; k < c.cnn.nstages; k++)
        if (c.cnn.widths[k] % c.cnn.groups)
            return cli_usage(cmd, "--widths: %d is not divisible by %d (GroupNorm groups)", c.cnn.widths[k], c.cnn.groups);
    mcr_set_threads(threads);
    c.progress = quality_say;
    c.progress_ctx = quiet ? NULL : (void *)cmd;
    mcr_imageset *real = NULL, *synth = NULL;
    mcr_iquality *q = NULL;
    int rc = mcr_imageset_read(argv[optind], &real);
    if (!rc) rc = mcr_imageset_read(argv[optind + 1], &synth);
    if (!rc) rc = mcr_image_quality(real, synth, &c, &q);
    mcr_imageset_free(real);
    mcr_imageset_free(synth);
    if (rc) return cli_fail(cmd, rc); /* data that do not fit together: exit 2 */
    if (!json || strcmp(json, "-")) rc = mcr_iquality_print(q, stdout);
    if (!rc && json) rc = cli_write_json(json, (int (*)(const void *, FILE *))mcr_iquality_write_json, q);
    mcr_iquality_free(q);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

/* ------------------------------------------------------------------ sites */
static int image_sites(int argc, char **argv) {
    const char *cmd = "image sites", *out = NULL, *oracle = NULL;
    int check = 0, threads = 0, ch;
    long long v;
    double d;
    mcr_sites_config c;
    mcr_sites_config_default(&c);
    mcr_cnn_config cnn;
    mcr_cnn_config_default(&cnn);
    cnn.nstages = 2, cnn.widths[0] = 16, cnn.widths[1] = 32, cnn.epochs = 5;
    enum { S_SEED = 4200, S_SITES, S_SCALE, S_CHECK, S_THREADS, S_WIDTHS, S_EPOCHS, S_ORACLE };
    static const struct option lo[] = {
        {"output", required_argument, 0, 'o'}, {"seed", required_argument, 0, S_SEED},
        {"sites", required_argument, 0, S_SITES}, {"scale", required_argument, 0, S_SCALE},
        {"check", no_argument, 0, S_CHECK}, {"threads", required_argument, 0, S_THREADS},
        {"widths", required_argument, 0, S_WIDTHS}, {"epochs", required_argument, 0, S_EPOCHS},
        {"oracle", required_argument, 0, S_ORACLE}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case S_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; c.seed = (uint64_t)v; break;
        case S_SITES: c.sites = optarg; break;
        case S_SCALE: if (cli_double(cmd, "--scale", optarg, 1e-6, 100, &d)) return EXIT_USAGE; c.scale = d; break;
        case S_CHECK: check = 1; break;
        case S_ORACLE: oracle = optarg; break;
        case S_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case S_EPOCHS: if (cli_long(cmd, "--epochs", optarg, 1, 10000, &v)) return EXIT_USAGE; cnn.epochs = (int)v; break;
        case S_WIDTHS: {
            int n = 0;
            char *dup = strdup(optarg), *save = NULL;
            for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
                if (n == MCR_CNN_MAX_STAGES || cli_long(cmd, "--widths", t, 1, 4096, &v)) {
                    free(dup);
                    return n == MCR_CNN_MAX_STAGES ? cli_usage(cmd, "--widths takes at most %d widths", MCR_CNN_MAX_STAGES)
                                                   : EXIT_USAGE;
                }
                cnn.widths[n++] = (int)v;
            }
            free(dup);
            if (!n) return cli_usage(cmd, "--widths expects W1,W2,...");
            cnn.nstages = n;
            break;
        }
        case 'h': {
            printf("usage: mcrage image sites DATA -o OUT.npz | -o DIR/ [--seed S] [--sites A,B,...] [--scale F] [--oracle OUT2] [--check]\n\n"
                   "Build the multi-site benchmark of the Ktena protocol from a real image set with a binary label\n"
                   "(PneumoniaMNIST): every split of DATA pooled, its images dealt without replacement to the\n"
                   "sites of the table below (per site and split a fixed count, a fixed share of label 1), each\n"
                   "site's images through its acquisition: Gaussian blur, then gamma, contrast about mid-grey,\n"
                   "an offset, Gaussian noise. The OOD site's train images are written unlabelled (label -1 /\n"
                   "empty); its test images are labelled (the OOD test split). The output is an image set with\n"
                   "the site as attribute and train / val / test splits (what real multi-site data would be).\n"
                   "The same DATA, seed, sites and scale give the same bytes.\n\n"
                   "  site  gamma contrast offset blur noise  prev  train  val test  role\n");
            for (int k = 0; k < mcr_sites_count(); k++) {
                const mcr_site_spec *sp = mcr_sites_spec(k);
                printf("  %-4s %5.2f %8.2f %6.1f %4.1f %5.1f %5.2f %6d %4d %4d  %s\n", sp->name, sp->gamma, sp->contrast,
                       sp->offset, sp->blur, sp->noise, sp->prevalence, sp->n_train, sp->n_val, sp->n_test, sp->role);
            }
            printf("\n  -o, --output OUT     OUT.npz (MedMNIST layout with *_attributes, attribute_names) or DIR/\n"
                   "                       (PNGs + manifest.csv: file,label,attribute,split)\n"
                   "      --seed S         which images go where, and the noise (default %llu)\n"
                   "      --sites LIST     build only these sites of the table (default: all)\n"
                   "      --scale F        every count times F, rounded (default %g); for small trials\n"
                   "      --oracle OUT2    also write the oracle's set: the same images with the OOD site's\n"
                   "                       train labels kept (.npz or DIR/, as -o)\n"
                   "      --check          also train the calibration classifiers and print their accuracies:\n"
                   "                       base (labelled sites) and oracle (plus the OOD site's true labels)\n"
                   "                       on the labelled sites' test images (ID), the clean site's and the\n"
                   "                       OOD site's; the benchmark wants base ID - OOD >= 10 points and\n"
                   "                       oracle clean - OOD <= 3 points\n"
                   "      --widths W,...   the check's CNN channels per stage (default %d,%d)\n"
                   "      --epochs N       the check's CNN epochs (default %d)\n"
                   "      --threads N      threads, 0 = all cores (default 0)\n\n"
                   "example: mcrage image sites ../shared/datasets/images/pneumoniamnist.npz -o sites.npz --check\n",
                   (unsigned long long)c.seed, c.scale, cnn.widths[0], cnn.widths[1], cnn.epochs);
            return EXIT_OK;
        }
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    if (!out || !*out) return cli_usage(cmd, "missing -o OUT.npz or -o DIR/");
    size_t ol = strlen(out);
    int dir = out[ol - 1] == '/';
    if (!dir && (ol < 4 || strcmp(out + ol - 4, ".npz")))
        return cli_usage(cmd, "-o expects a name ending in .npz or a folder ending in '/', got '%s'", out);
    size_t orl = oracle ? strlen(oracle) : 0;
    int odir = orl && oracle[orl - 1] == '/';
    if (oracle && !odir && (orl < 4 || strcmp(oracle + orl - 4, ".npz")))
        return cli_usage(cmd, "--oracle expects a name ending in .npz or a folder ending in '/', got '%s'", oracle);
    for (int k = 0; k < cnn.nstages; k++)
        if (cnn.widths[k] % cnn.groups)
            return cli_usage(cmd, "--widths: %d is not divisible by %d (GroupNorm groups)", cnn.widths[k], cnn.groups);
    if (c.sites) { /* option errors exit 1 before any file is read; the library checks the same */
        char *dup = strdup(c.sites), *save = NULL;
        for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
            int k = 0;
            while (k < mcr_sites_count() && strcmp(mcr_sites_spec(k)->name, t)) k++;
            if (k == mcr_sites_count()) {
                char known[256] = "";
                for (int j = 0; j < mcr_sites_count() && strlen(known) < 200; j++)
                    strcat(known, j ? ", " : ""), strcat(known, mcr_sites_spec(j)->name);
                int r = cli_usage(cmd, "--sites: unknown site '%s' (the table has %s)", t, known);
                free(dup);
                return r;
            }
        }
        free(dup);
    }
    mcr_set_threads(threads);
    cnn.threads = threads;
    cnn.seed = c.seed; /* --seed moves the check's classifiers too */
    mcr_imageset *src = NULL, *s = NULL;
    int *truth = NULL;
    int rc = mcr_imageset_read(argv[optind], &src);
    if (!rc) rc = mcr_sites_build(src, &c, &s, &truth);
    if (!rc && oracle) { /* first, so that a failure leaves no -o output either */
        mcr_imageset *so = NULL;
        c.reveal = 1;
        rc = mcr_sites_build(src, &c, &so, NULL);
        if (!rc) rc = odir ? mcr_imageset_write_dir(so, oracle) : mcr_imageset_write_npz(so, oracle);
        if (!rc) fprintf(stderr, "mcrage: image sites: wrote the oracle's set to %s%s\n", oracle, odir ? "manifest.csv" : "");
        mcr_imageset_free(so);
    }
    mcr_imageset_free(src);
    if (!rc) rc = dir ? mcr_imageset_write_dir(s, out) : mcr_imageset_write_npz(s, out);
    if (!rc) {
        int n;
        mcr_imageset_dims(s, &n, NULL, NULL, NULL);
        fprintf(stderr, "mcrage: image sites: wrote %d images to %s%s\n", n, out, dir ? "manifest.csv" : "");
        rc = mcr_sites_print(s, stdout);
    }
    if (!rc && check) {
        mcr_sites_check k;
        fprintf(stderr, "mcrage: image sites: training the base and oracle classifiers (%d epochs)\n", cnn.epochs);
        rc = mcr_sites_run_check(s, truth, &cnn, &k);
        if (!rc) {
            printf("check       %8s %8s %8s  (train images; test images: ID %zu, clean %zu, OOD %zu)\n", "ID", "clean", "OOD",
                   k.n_id, k.n_clean, k.n_ood);
            printf("base        %8.4f %8.4f %8.4f  (%zu)\n", k.base_id, k.base_clean, k.base_ood, k.n_base_train);
            printf("oracle      %8.4f %8.4f %8.4f  (%zu)\n", k.oracle_id, k.oracle_clean, k.oracle_ood, k.n_oracle_train);
            printf("base ID - OOD: %.1f points (want >= 10): %s\n", 100 * (k.base_id - k.base_ood),
                   k.base_id - k.base_ood >= 0.10 ? "yes" : "no");
            printf("oracle clean - OOD: %.1f points (want <= 3): %s\n", 100 * (k.oracle_clean - k.oracle_ood),
                   k.oracle_clean - k.oracle_ood <= 0.03 ? "yes" : "no");
            printf("time %.1f s\n", k.seconds);
        }
    }
    free(truth);
    mcr_imageset_free(s);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

/* ------------------------------------------------------------------ augment (RandAugment) */
static int image_augment(int argc, char **argv) {
    const char *cmd = "image augment", *out = NULL, *split_arg = "train";
    int ch;
    long long v, copies = 1;
    double d;
    char split = 't';
    mcr_randaug_config c;
    mcr_randaug_config_default(&c);
    static const struct {
        const char *name;
        unsigned bit;
    } opn[] = {{"rotate", MCR_RA_ROTATE}, {"shift-x", MCR_RA_SHIFT_X}, {"shift-y", MCR_RA_SHIFT_Y},
               {"contrast", MCR_RA_CONTRAST}, {"gamma", MCR_RA_GAMMA}, {"brightness", MCR_RA_BRIGHTNESS},
               {"blur", MCR_RA_BLUR}, {"noise", MCR_RA_NOISE}, {"flip", MCR_RA_FLIP}};
    enum { A_NOPS = 4300, A_MAG, A_OPS, A_FLIP, A_COPIES, A_SPLIT, A_SEED, A_THREADS };
    int threads = 0;
    static const struct option lo[] = {
        {"output", required_argument, 0, 'o'}, {"n-ops", required_argument, 0, A_NOPS},
        {"magnitude", required_argument, 0, A_MAG}, {"ops", required_argument, 0, A_OPS},
        {"flip", no_argument, 0, A_FLIP}, {"copies", required_argument, 0, A_COPIES},
        {"split", required_argument, 0, A_SPLIT}, {"seed", required_argument, 0, A_SEED},
        {"threads", required_argument, 0, A_THREADS}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case A_NOPS: if (cli_long(cmd, "--n-ops", optarg, 0, 100, &v)) return EXIT_USAGE; c.n_ops = (int)v; break;
        case A_MAG: if (cli_double(cmd, "--magnitude", optarg, 0, 10, &d)) return EXIT_USAGE; c.magnitude = d; break;
        case A_OPS: {
            c.ops = 0;
            char *dup = strdup(optarg), *save = NULL;
            for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
                size_t k = 0;
                while (k < sizeof opn / sizeof opn[0] && strcmp(opn[k].name, t)) k++;
                if (k == sizeof opn / sizeof opn[0]) {
                    int r = cli_usage(cmd, "--ops: unknown operation '%s' (rotate, shift-x, shift-y, contrast, gamma, "
                                           "brightness, blur, noise, flip)", t);
                    free(dup);
                    return r;
                }
                c.ops |= opn[k].bit;
            }
            free(dup);
            if (!c.ops) return cli_usage(cmd, "--ops expects a list of operations");
            break;
        }
        case A_FLIP: c.ops |= MCR_RA_FLIP; break;
        case A_COPIES: if (cli_long(cmd, "--copies", optarg, 1, 1000, &copies)) return EXIT_USAGE; break;
        case A_SPLIT:
            split_arg = optarg;
            if (parse_split(optarg, &split)) return cli_usage(cmd, "--split expects train, val, test or all, got '%s'", optarg);
            break;
        case A_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; c.seed = (uint64_t)v; break;
        case A_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case 'h':
            printf("usage: mcrage image augment DATA -o OUT.npz | -o DIR/ [--n-ops N] [--magnitude M] [--ops LIST]\n"
                   "                            [--flip] [--copies K] [--split S] [--seed S]\n\n"
                   "Heuristic augmentation, RandAugment-style (the baseline of the Ktena protocol): per image N\n"
                   "operations drawn with replacement from LIST, each at magnitude M (0..10, m = M/10) with a\n"
                   "random sign: rotate +-15m degrees, shift-x / shift-y +-0.1m of the size (bilinear, borders\n"
                   "replicated), contrast 1 +- 0.5m about the image mean, gamma 1.6^(+-m), brightness +-40m grey\n"
                   "levels, blur (Gaussian sigma 1.2m), noise (Gaussian sd 16m), flip (horizontal; off by\n"
                   "default: chest X-rays are not left-right symmetric). M = 0 is the identity. Writes K\n"
                   "augmented copies of every image of the split, labels, attributes and splits kept.\n\n"
                   "  -o, --output OUT     OUT.npz or DIR/\n"
                   "      --n-ops N        operations per image (default %d)\n"
                   "      --magnitude M    0..10 (default %g)\n"
                   "      --ops LIST       comma-separated (default: all but flip)\n"
                   "      --flip           add the horizontal flip\n"
                   "      --copies K       augmented copies per image (default %lld)\n"
                   "      --split S        train, val, test or all (default %s)\n"
                   "      --seed S         random seed (default %llu)\n"
                   "      --threads N      threads, 0 = all cores (default 0)\n\n%s\n"
                   "example: mcrage image augment pneumoniamnist.npz --magnitude 7 --copies 2 -o aug.npz\n",
                   c.n_ops, c.magnitude, copies, split_arg, (unsigned long long)c.seed, IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    if (!out || !*out) return cli_usage(cmd, "missing -o OUT.npz or -o DIR/");
    size_t ol = strlen(out);
    int dir = out[ol - 1] == '/';
    if (!dir && (ol < 4 || strcmp(out + ol - 4, ".npz")))
        return cli_usage(cmd, "-o expects a name ending in .npz or a folder ending in '/', got '%s'", out);
    mcr_set_threads(threads);
    mcr_imageset *s = NULL, *a = NULL;
    int rc = mcr_imageset_read(argv[optind], &s);
    if (!rc) rc = mcr_imageset_randaugment(s, &c, (int)copies, split, &a);
    mcr_imageset_free(s);
    if (!rc) rc = dir ? mcr_imageset_write_dir(a, out) : mcr_imageset_write_npz(a, out);
    if (!rc) {
        int n;
        mcr_imageset_dims(a, &n, NULL, NULL, NULL);
        fprintf(stderr, "mcrage: image augment: wrote %d images to %s%s\n", n, out, dir ? "manifest.csv" : "");
    }
    mcr_imageset_free(a);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

/* ------------------------------------------------------------------ evaluate (the Ktena protocol) */
static void evaluate_say(void *ctx, const char *msg) {
    if (ctx) fprintf(stderr, "mcrage: image evaluate: %s\n", msg);
}

static int image_evaluate(int argc, char **argv) {
    const char *cmd = "image evaluate", *json = NULL, *model_path = NULL, *channels = NULL, *oracle_path = NULL, *report = NULL;
    int quiet = 0, quick = 0, threads = 0, methods_given = 0, ch;
    double guidance = -1, guid_label = -1, guid_attr = -1;
    long long v, steps = -1, epochs = -1, sample_steps = -1, fbatch = -1;
    mcr_ieval_config c;
    mcr_ieval_config_default(&c);
    enum { E_METHODS = 4400, E_RATIOS, E_SEEDS, E_SEED, E_MODEL, E_STEPS, E_CHAN, E_FBATCH, E_SSTEPS, E_WIDTHS,
           E_EPOCHS, E_JSON, E_THREADS, E_QUICK, E_RACOPIES, E_ORACLE, E_POLICY, E_REFIT, E_NOCHECKS, E_GUID, E_GL, E_GA, E_REPORT, E_ONEPASS, E_PREC };
    static const struct option lo[] = {
        {"methods", required_argument, 0, E_METHODS}, {"ratios", required_argument, 0, E_RATIOS},
        {"seeds", required_argument, 0, E_SEEDS}, {"seed", required_argument, 0, E_SEED},
        {"model", required_argument, 0, E_MODEL}, {"steps", required_argument, 0, E_STEPS},
        {"channels", required_argument, 0, E_CHAN}, {"fit-batch", required_argument, 0, E_FBATCH},
        {"sample-steps", required_argument, 0, E_SSTEPS}, {"widths", required_argument, 0, E_WIDTHS},
        {"epochs", required_argument, 0, E_EPOCHS}, {"json", required_argument, 0, E_JSON},
        {"threads", required_argument, 0, E_THREADS}, {"quick", no_argument, 0, E_QUICK},
        {"ra-copies", required_argument, 0, E_RACOPIES}, {"oracle", required_argument, 0, E_ORACLE},
        {"policy", required_argument, 0, E_POLICY}, {"refit-per-seed", no_argument, 0, E_REFIT},
        {"no-checks", no_argument, 0, E_NOCHECKS}, {"guidance", required_argument, 0, E_GUID},
        {"guidance-label", required_argument, 0, E_GL}, {"guidance-attr", required_argument, 0, E_GA},
        {"report", required_argument, 0, E_REPORT}, {"one-pass", no_argument, 0, E_ONEPASS},
        {"precision", required_argument, 0, E_PREC},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
        switch (ch) {
        case E_METHODS: c.methods = optarg, methods_given = 1; break;
        case E_RATIOS: c.ratios = optarg; break;
        case E_SEEDS: if (cli_long(cmd, "--seeds", optarg, 1, 256, &v)) return EXIT_USAGE; c.seeds = (int)v; break;
        case E_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; c.seed = (uint64_t)v; break;
        case E_MODEL: model_path = optarg; break;
        case E_STEPS: if (cli_long(cmd, "--steps", optarg, 1, 100000000, &steps)) return EXIT_USAGE; break;
        case E_CHAN: channels = optarg; break;
        case E_FBATCH: if (cli_long(cmd, "--fit-batch", optarg, 1, 65536, &fbatch)) return EXIT_USAGE; break;
        case E_SSTEPS: if (cli_long(cmd, "--sample-steps", optarg, 1, 10000, &sample_steps)) return EXIT_USAGE; break;
        case E_WIDTHS: {
            int rc = cnn_widths_option(cmd, optarg, &c.cnn);
            if (rc) return rc;
            break;
        }
        case E_EPOCHS: if (cli_long(cmd, "--epochs", optarg, 1, 100000, &epochs)) return EXIT_USAGE; break;
        case E_JSON: json = optarg; break;
        case E_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case E_QUICK: quick = 1; break;
        case E_ORACLE: oracle_path = optarg; break;
        case E_POLICY:
            if (!strcmp(optarg, "balance")) c.policy = MCR_IPOLICY_BALANCE;
            else if (!strcmp(optarg, "group-balance")) c.policy = MCR_IPOLICY_GROUP_BALANCE;
            else return cli_usage(cmd, "--policy expects balance or group-balance, got '%s'", optarg);
            break;
        case E_REFIT: c.refit = 1; break;
        case E_NOCHECKS: c.checks = 0; break;
        case E_GUID: if (cli_double(cmd, "--guidance", optarg, 0, 100, &guidance)) return EXIT_USAGE; break;
        case E_GL: if (cli_double(cmd, "--guidance-label", optarg, 0, 100, &guid_label)) return EXIT_USAGE; break;
        case E_GA: if (cli_double(cmd, "--guidance-attr", optarg, 0, 100, &guid_attr)) return EXIT_USAGE; break;
        case E_REPORT: report = optarg; break;
        case E_ONEPASS: c.sample.joint = 1; break;
        case E_PREC:
            if (cli_precision(cmd, optarg, &c.fit.precision)) return EXIT_USAGE;
            c.sample.precision = c.fit.precision;
            break;
        case E_RACOPIES: if (cli_long(cmd, "--ra-copies", optarg, 1, 100, &v)) return EXIT_USAGE; c.ra_copies = (int)v; break;
        case 'q': quiet = 1; break;
        case 'h':
            printf("usage: mcrage image evaluate SITES [--methods LIST] [--ratios R1,R2,...] [--seeds N]\n"
                   "                             [--model MODEL.mcrg | --steps N --channels C1,...] [--policy P]\n"
                   "                             [--json OUT] [--report OUT.html] [--quick] [--threads N]\n\n"
                   "The Ktena et al. (2024) protocol on a multi-site image set (the site as attribute, a binary\n"
                   "label; `mcrage image sites` writes one, real data in the same form works too). For each seed\n"
                   "and method, train the CNN on the labelled train images plus what the method adds, and score\n"
                   "it on the test split: ID sites (with labelled train images) and OOD sites (train images all\n"
                   "unlabelled, test images labelled): accuracy and AUROC, per site, the worst site's accuracy\n"
                   "and the gap (max - min accuracy over the sites with test images). Methods:\n"
                   "  none         the labelled train images\n"
                   "  oversample   every (label, site) cell duplicated up to the largest cell\n"
                   "  focal        focal loss, gamma 2, balanced class weights\n"
                   "  randaugment  plus RandAugment copies (N 2, M 9) of every labelled train image\n"
                   "  diffusion    plus synthetic images of a generator conditioned on label + site and\n"
                   "               fitted on the train split: labelled and unlabelled images (which reach\n"
                   "               only the generator); --model: this one instead. Sampled by --policy, a\n"
                   "               share R of the training set for each R of --ratios (rows diffusion@R)\n"
                   "  diffusion-label-only     the same with a generator conditioned on the label only\n"
                   "  diffusion-no-unlabelled  the same with a generator fitted without the unlabelled images\n"
                   "               (it never sees the OOD site: group-balance spreads over the sites it saw)\n"
                   "  oracle       (named only) plus the OOD site's train images with their true labels,\n"
                   "               from --oracle (the set `image sites --oracle` writes): the ceiling\n"
                   "Cost: each generator is fitted once (seed --seed) and used by every seed (--refit-per-seed:\n"
                   "once per seed); per seed and generator the images are sampled once, at the largest ratio\n"
                   "(per cell the most any ratio asks for), and every ratio takes each cell's first images of\n"
                   "that sample, so the ratios' synthetic sets nest. Generator checks (the none arm's CNN on\n"
                   "the synthetic images per (label, site), a site classifier, a real-vs-synthetic detector)\n"
                   "are printed beside the table. Prints mean +- 95%% CI over seeds per method and paired\n"
                   "per-seed differences against none and the best baseline of each metric; progress on stderr.\n\n"
                   "      --methods LIST       comma-separated (default %s)\n"
                   "      --ratios LIST        synthetic shares, each in (0, 1) (default %s)\n"
                   "      --seeds N            runs per method, seeds S, S+1, ... (default %d)\n"
                   "      --seed S             first seed (default %llu)\n"
                   "      --policy P           the synthetic set: group-balance (sites uniform, the label\n"
                   "                           prevalence kept) or balance (labels uniform) (default group-balance)\n"
                   "      --model FILE         diffusion's generator (an `mcrage image fit` model of the same\n"
                   "                           size, sites and labels); without it one is fitted in the run\n"
                   "      --refit-per-seed     fit the generators again for every seed, with its seed\n"
                   "      --steps N            the fitted generators' steps (default %d; --quick 300)\n"
                   "      --channels C1,...    their UNet channels (default %d,%d; --quick 16,32)\n"
                   "      --fit-batch B        their images per step (default %d)\n"
                   "      --sample-steps K     DDIM steps when sampling (default %d; --quick 10)\n"
                   "      --guidance W         both weights of the composed guidance, 3 network passes a step:\n"
                   "                           eps(0,0) + W (eps(label,0) - eps(0,0)) + W (eps(0,site) - eps(0,0))\n"
                   "                           (default 1): label and site combine though the OOD site's cells\n"
                   "                           never occur in training (its train images are unlabelled)\n"
                   "      --guidance-label W   the label's weight alone; --guidance-attr W the site's alone\n"
                   "                           (each over --guidance, whatever the order)\n"
                   "      --one-pass           no guidance: one pass eps(label, site), a third of the cost; poor\n"
                   "                           for cells never seen in training (the OOD site's)\n"
                   "      --precision P        fp32 | bf16 | auto: the generator's convolutions, fitting and\n"
                   "                           sampling (default fp32; bf16: oneDNN, CPUs with AVX512-BF16 or AMX)\n"
                   "      --widths W1,...      CNN channels per stage, divisible by 8 (default %d,%d)\n"
                   "      --epochs N           CNN epochs (default %d; --quick 3)\n"
                   "      --ra-copies K        RandAugment copies per image (default %d)\n"
                   "      --oracle SET         the oracle's set (the same images, OOD train labels kept);\n"
                   "                           adds the method oracle unless --methods is given\n"
                   "      --no-checks          skip the generator checks\n"
                   "      --quick              small settings for a first look (values above)\n"
                   "      --json OUT           also write per-seed rows, summary, paired differences and the\n"
                   "                           generator checks as JSON (written atomically; - = stdout)\n"
                   "      --report OUT.html    an HTML report: the table, ID / OOD and gap charts with CIs, the\n"
                   "                           ratio sweep, real vs synthetic grids per (label, site), the\n"
                   "                           generator checks, the command line (written atomically)\n"
                   "      --threads N          threads, 0 = all cores (default 0)\n"
                   "  -q, --quiet              no progress lines\n\n"
                   "Default cost: one seed of the default methods on the sites benchmark: under 30 minutes on\n"
                   "one thread of a shared 2-core machine (README, \"Image evaluation\").\n\n"
                   "example: mcrage image sites pneumoniamnist.npz -o sites.npz\n"
                   "         mcrage image evaluate sites.npz --seeds 3 --json eval.json --report eval.html\n",
                   c.methods, c.ratios, c.seeds, (unsigned long long)c.seed, c.fit.steps, c.fit.channels[0], c.fit.channels[1],
                   c.fit.batch, c.sample.sample_steps, c.cnn.widths[0], c.cnn.widths[1], c.cnn.epochs, c.ra_copies);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one SITES set (.npz or manifest .csv)");
    { /* methods and ratios before any file is read (the library checks the same) */
        static const char *known[] = {"none", "oversample", "focal", "randaugment", "diffusion", "oracle",
                                       "diffusion-label-only", "diffusion-no-unlabelled"};
        char *dup = strdup(c.methods), *save = NULL;
        for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
            size_t k = 0;
            while (k < 8 && strcmp(t, known[k])) k++;
            if (k == 8) {
                int r = cli_usage(cmd, "--methods: unknown method '%s' (none, oversample, focal, randaugment, diffusion, "
                                       "diffusion-label-only, diffusion-no-unlabelled, oracle)", t);
                free(dup);
                return r;
            }
        }
        free(dup);
        dup = strdup(c.ratios), save = NULL;
        for (char *t = dup ? strtok_r(dup, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
            char *e;
            double r = strtod(t, &e);
            if (e == t || *e || !(r > 0 && r < 1)) {
                int u = cli_usage(cmd, "--ratios: '%s' is not a share of synthetic images in (0, 1)", t);
                free(dup);
                return u;
            }
        }
        free(dup);
    }
    if (oracle_path && !methods_given) c.methods = "none,oversample,focal,randaugment,diffusion,oracle";
    if (quick) {
        c.fit.steps = 300, c.fit.nlevels = 2, c.fit.channels[0] = 16, c.fit.channels[1] = 32;
        c.sample.sample_steps = 10, c.cnn.epochs = 3;
    }
    if (steps > 0) c.fit.steps = (int)steps;
    if (fbatch > 0) c.fit.batch = (int)fbatch;
    if (sample_steps > 0) c.sample.sample_steps = (int)sample_steps;
    set_guidance(&c.sample, guidance, guid_label, guid_attr);
    if ((guidance >= 0 || guid_label >= 0 || guid_attr >= 0) && c.sample.joint)
        return cli_usage(cmd, "--guidance, --guidance-label and --guidance-attr exclude --one-pass");
    if (epochs > 0) c.cnn.epochs = (int)epochs;
    if (channels && parse_channels(cmd, channels, &c.fit)) return EXIT_USAGE;
    for (int l = 0; l < c.fit.nlevels; l++)
        if (c.fit.channels[l] % c.fit.channels[0] || c.fit.channels[l] % c.fit.groups)
            return cli_usage(cmd, "--channels: %d is not a multiple of the first width (%d) and of GroupNorm's %d groups",
                             c.fit.channels[l], c.fit.channels[0], c.fit.groups);
    for (int k = 0; k < c.cnn.nstages; k++)
        if (c.cnn.widths[k] % c.cnn.groups)
            return cli_usage(cmd, "--widths: %d is not divisible by %d (GroupNorm groups)", c.cnn.widths[k], c.cnn.groups);
    mcr_set_threads(threads);
    c.threads = threads;
    c.cnn.threads = threads;
    c.progress = evaluate_say;
    c.progress_ctx = quiet ? NULL : (void *)cmd;
    cli_progress pc = {!quiet && isatty(2), cli_wall()}; /* the generator's fit: a bar on a terminal */
    c.fit.progress = cli_progress_bar;
    c.fit.progress_ctx = &pc;
    mcr_imodel *m = NULL;
    mcr_imageset *s = NULL, *os = NULL;
    mcr_ieval *r = NULL;
    int rc = model_path ? mcr_imodel_load(model_path, &m) : MCR_OK;
    c.model = m;
    if (!rc) rc = mcr_imageset_read(argv[optind], &s);
    if (!rc && oracle_path) rc = mcr_imageset_read(oracle_path, &os);
    c.oracle = os;
    if (!rc) rc = mcr_image_evaluate(s, &c, &r);
    mcr_imageset_free(os);
    mcr_imodel_free(m);
    if (rc) {
        mcr_imageset_free(s);
        return cli_fail(cmd, rc);
    }
    if (!json || strcmp(json, "-")) rc = mcr_ieval_print(r, stdout);
    if (!rc && json) rc = cli_write_json(json, (int (*)(const void *, FILE *))mcr_ieval_write_json, r);
    if (!rc && report) {
        mcr_report *rep = NULL;
        char *line = cli_command_line(argc + 1, argv - 1);
        rc = line ? mcr_ieval_report(r, s, line, &rep) : MCR_ENOMEM;
        free(line);
        rc = cli_report_write(rc, rep, report, cmd);
    }
    mcr_imageset_free(s);
    mcr_ieval_free(r);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} subs[] = {
    {"describe", image_describe, "sizes, channels, per split label x attribute counts"},
    {"grid", image_grid, "a PNG grid of images, one row per label x attribute"},
    {"convert", image_convert, "write the set as .npz or as a folder of PNGs with a manifest"},
    {"fit", image_fit, "train a conditional image diffusion model (label, attribute, null tokens)"},
    {"sample", image_sample, "generate images per label x attribute cell (--counts or --policy)"},
    {"inspect", image_inspect, "print an image model's settings, levels and training counts"},
    {"quality", image_quality, "judge synthetic images: CNN accuracy, TSTR, detector AUROC, histograms"},
    {"sites", image_sites, "build the multi-site benchmark (acquisition shifts, an unlabelled OOD site)"},
    {"augment", image_augment, "heuristic augmentation, RandAugment-style (N ops of magnitude M)"},
    {"evaluate", image_evaluate, "methods x ratios x seeds: ID / OOD accuracy, AUROC, worst site, gap"},
};
#define NSUB (int)(sizeof subs / sizeof subs[0])

static void image_usage(FILE *f) {
    fprintf(f, "usage: mcrage image <sub-command> [options]\n       mcrage image <sub-command> --help\n\n"
               "sub-commands:\n");
    for (int i = 0; i < NSUB; i++) fprintf(f, "  %-10s %s\n", subs[i].name, subs[i].help);
    fprintf(f, "\n%s\nexample: mcrage image describe pneumoniamnist.npz\n", IMAGE_DATA_HELP);
}

int cmd_image(int argc, char **argv) {
    if (argc < 2) {
        image_usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        image_usage(stdout);
        return EXIT_OK;
    }
    for (int i = 0; i < NSUB; i++)
        if (!strcmp(argv[1], subs[i].name)) return subs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mcrage: image: unknown sub-command '%s'\n\n", argv[1]);
    image_usage(stderr);
    return EXIT_USAGE;
}
