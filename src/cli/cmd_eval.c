/* cmd_eval.c — `augment` and `evaluate`. */
#include "cli.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --strategy balance | ratio:R | group-balance | auto */
static int parse_strategy(const char *cmd, const char *s, mcr_augment_config *a) {
    if (!strcmp(s, "balance")) a->strategy = MCR_STRAT_BALANCE;
    else if (!strcmp(s, "auto")) a->strategy = MCR_STRAT_AUTO;
    else if (!strcmp(s, "group-balance")) a->strategy = MCR_STRAT_GROUP_BALANCE;
    else if (!strncmp(s, "ratio:", 6)) {
        a->strategy = MCR_STRAT_RATIO;
        if (cli_double(cmd, "--strategy ratio:R", s + 6, 1e-6, 1, &a->ratio)) return EXIT_USAGE;
    } else
        return cli_usage(cmd, "--strategy expects balance, ratio:R, group-balance or auto, got '%s'", s);
    return 0;
}

enum { E_METHOD = 4000, E_STRATEGY, E_RATIO, E_FRAC, E_K, E_SEED, E_THREADS, E_MARK, E_SSTEPS,
       E_GUID, E_METHODS, E_CLFS, E_SEEDS, E_TESTFRAC, E_TEST, E_THIN, E_JSON, E_POSITIVE,
       E_BANDS, E_GROUP, E_BALANCED, E_FOCAL, E_KEEPCOPIES, E_AJSON, E_REPORT, E_ETA, E_SAMPLER, E_IDPREFIX, E_THRESH,
       E_OPTIMIZE, E_FOLDS, E_AUTOCLF, E_PREC, E_POOL };

/* options shared by augment and evaluate; returns 1 if handled */
static int aug_option(const char *cmd, int ch, const char *arg, mcr_augment_config *a, int *threads, int *err) {
    long long v;
    double d;
    *err = 0;
    switch (ch) {
    case E_STRATEGY: *err = parse_strategy(cmd, arg, a); return 1;
    case E_RATIO:
        if (cli_double(cmd, "--ratio", arg, 1e-6, 1, &d)) *err = EXIT_USAGE;
        else a->strategy = MCR_STRAT_RATIO, a->ratio = d;
        return 1;
    case E_FRAC: if (cli_double(cmd, "--synthetic-fraction", arg, 0, 0.99, &d)) *err = EXIT_USAGE; else a->synthetic_fraction = d; return 1;
    case E_K: if (cli_long(cmd, "--k", arg, 1, 50, &v)) *err = EXIT_USAGE; else a->k = (int)v; return 1;
    case E_THREADS: if (cli_long(cmd, "--threads", arg, 0, 1024, &v)) *err = EXIT_USAGE; else *threads = (int)v; return 1;
    case E_SSTEPS: if (cli_long(cmd, "--sample-steps", arg, 1, 100000, &v)) *err = EXIT_USAGE; else a->sample.sample_steps = (int)v; return 1;
    case E_GUID: if (cli_double(cmd, "--guidance", arg, 0, 100, &d)) *err = EXIT_USAGE; else a->sample.guidance = (float)d; return 1;
    case E_POOL: if (cli_double(cmd, "--select-pool", arg, 1, 20, &d)) *err = EXIT_USAGE; else a->select_pool = d; return 1;
    case E_ETA: if (cli_double(cmd, "--eta", arg, 0, 1, &d)) *err = EXIT_USAGE; else a->sample.eta = (float)d; return 1;
    case E_SAMPLER:
        if (!strcmp(arg, "dpmpp")) a->sample.sampler = MCR_SAMPLER_DPMPP;
        else if (!strcmp(arg, "ddim")) a->sample.sampler = MCR_SAMPLER_DDIM;
        else if (!strcmp(arg, "ddpm")) a->sample.sampler = MCR_SAMPLER_DDPM;
        else *err = cli_usage(cmd, "--sampler expects ddim, ddpm or dpmpp, got '%s'", arg);
        return 1;
    case E_OPTIMIZE:
        if (mcr_auto_metric_parse(arg, &a->optimize))
            *err = cli_usage(cmd, "--optimize expects minority-f1, worst-group-recall, auroc or balanced-accuracy, got '%s'", arg);
        return 1;
    case E_FOLDS: if (cli_long(cmd, "--folds", arg, 2, 20, &v)) *err = EXIT_USAGE; else a->folds = (int)v; return 1;
    case E_AUTOCLF: {
        mcr_clf_kind k;
        if (mcr_clf_kind_parse(arg, &k)) *err = cli_usage(cmd, "--auto-classifier: %s", cli_error());
        else a->auto_classifier = (int)k;
        return 1;
    }
    case E_PREC: /* training and sampling */
        if (cli_precision(cmd, arg, &a->fit.precision)) *err = EXIT_USAGE;
        else a->sample.precision = a->fit.precision;
        return 1;
    }
    return 0;
}
#define AUG_LONGOPTS                                                                           \
    {"strategy", required_argument, 0, E_STRATEGY}, {"ratio", required_argument, 0, E_RATIO},  \
        {"synthetic-fraction", required_argument, 0, E_FRAC}, {"k", required_argument, 0, E_K}, \
        {"threads", required_argument, 0, E_THREADS},                                          \
        {"sample-steps", required_argument, 0, E_SSTEPS}, {"guidance", required_argument, 0, E_GUID}, \
        {"eta", required_argument, 0, E_ETA}, {"sampler", required_argument, 0, E_SAMPLER},      \
        {"optimize", required_argument, 0, E_OPTIMIZE}, {"folds", required_argument, 0, E_FOLDS}, \
        {"auto-classifier", required_argument, 0, E_AUTOCLF}, {"precision", required_argument, 0, E_PREC}, \
        {"select-pool", required_argument, 0, E_POOL}
#define AUG_HELP                                                                               \
    "      --strategy S           balance | ratio:R | group-balance | auto (default balance)\n"  \
    "                             auto (mcrage): the share of new rows (0 = none), balance or\n"  \
    "                             group-balance and the guidance chosen by K-fold CV inside the\n" \
    "                             rows (evaluate: the method mcrage-auto)\n"                       \
    "      --optimize M           auto's metric: minority-f1 | worst-group-recall | auroc |\n"    \
    "                             balanced-accuracy (default minority-f1)\n"                       \
    "      --folds K              auto's stratified folds, 2..20 (default 3)\n"                    \
    "      --auto-classifier C    auto's classifier (default logreg; evaluate: its first)\n"       \
    "      --ratio R              same as --strategy ratio:R (minority/majority = R)\n"          \
    "      --synthetic-fraction F share of synthetic rows in the result (default: off)\n"         \
    "      --k K                  SMOTE/ADASYN neighbours (default 5)\n"                          \
    "      --select-pool F        mcrage-plausible / mcrage-boundary: candidates sampled per new\n" \
    "                             row, 1..20 (default 2: the better half kept)\n"                 \
    "      --sampler S            dpmpp | ddim | ddpm (default dpmpp)\n"                          \
    "      --sample-steps K       sampler steps (default 25)\n"                                  \
    "      --eta E                sampling noise, 0 (deterministic) to 1 (default 1)\n"       \
    "      --guidance W           classifier-free guidance weight (default 0)\n"                  \
    CLI_PRECISION_HELP                                                                         \
    "      --threads N            threads, 0 = all cores (default 0)\n"

static void progress_line(void *ctx, const char *msg) {
    (void)ctx;
    fprintf(stderr, "mcrage: %s\n", msg);
}

/* augment --json FILE: the result as JSON, written atomically */
static int write_augment_json(const char *path, const mcr_augment_result *r, const char *data, const char *out) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return MCR_ENOMEM;
    int rc = mcr_augment_write_json(r, data, out, f);
    fclose(f);
    if (!rc) rc = mcr_write_file_atomic(path, buf, n);
    free(buf);
    return rc;
}

int cmd_augment(int argc, char **argv) {
    const char *cmd = "augment", *out = NULL, *json = NULL, *report = NULL;
    int threads = 0, quiet = 0, ch, err;
    long long v;
    mcr_augment_config a;
    mcr_augment_config_default(&a);
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    static const struct option lo[] = {
        {"target", required_argument, 0, 't'}, {"sensitive", required_argument, 0, 'g'},
        {"method", required_argument, 0, E_METHOD}, {"seed", required_argument, 0, E_SEED},
        {"mark-synthetic", required_argument, 0, E_MARK}, {"quiet", no_argument, 0, 'q'},
        {"keep-copies", no_argument, 0, E_KEEPCOPIES}, {"json", required_argument, 0, E_AJSON},
        {"synthetic-id-prefix", required_argument, 0, E_IDPREFIX},
        {"report", required_argument, 0, E_REPORT},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'},
        AUG_LONGOPTS, CLI_CSV_LONGOPTS, CLI_FIT_LONGOPTS, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "t:g:o:qh", lo, NULL)) != -1) {
        if (cli_csv_option(cmd, ch, optarg, &o, &err) || cli_fit_option(cmd, ch, optarg, &a.fit, &err) ||
            aug_option(cmd, ch, optarg, &a, &threads, &err)) {
            if (err) return err;
            continue;
        }
        switch (ch) {
        case 't': a.target = optarg; break;
        case 'g': a.sensitive = optarg; break;
        case 'o': out = optarg; break;
        case 'q': quiet = 1; break;
        case E_MARK: a.mark_synthetic = optarg; break;
        case E_KEEPCOPIES: a.keep_copies = 1; break;
        case E_IDPREFIX:
            if (!*optarg) return cli_usage(cmd, "--synthetic-id-prefix expects a non-empty prefix");
            a.synthetic_id_prefix = optarg;
            break;
        case E_AJSON: json = optarg; break;
        case E_REPORT: report = optarg; break;
        case E_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; a.seed = (uint64_t)v; break;
        case E_METHOD:
            if (mcr_aug_method_parse(optarg, &a.method)) return cli_usage(cmd, "--method: %s", cli_error());
            break;
        case 'h':
            printf("usage: mcrage augment DATA.csv --target COL --method M -o AUGMENTED.csv [options]\n\n"
                   "Write the real rows plus synthetic (or, for rus, fewer) rows that rebalance the\n"
                   "target classes, or with group-balance the (group, class) cells.\n\n"
                   "  -t, --target COL           class column (required)\n"
                   "  -g, --sensitive COL        group column (needed by group-balance)\n"
                   "      --method M             none | ros | rus | smote | smote-nc | adasyn | mcrage |\n"
                   "                             mcrage-auto (= mcrage --strategy auto) |\n"
                   "                             mcrage-plausible (candidates with the lowest denoising\n"
                   "                             loss under the model kept) | mcrage-boundary (candidates\n"
                   "                             nearest the class boundary of a class-weighted logreg)\n"
                   "                             (default mcrage)\n" AUG_HELP
                   "      --mark-synthetic COL   add a column COL: 1 for synthetic rows, 0 for real\n"
                   "      --synthetic-id-prefix P identifier-like columns of synthetic rows get P1, P2, ...\n"
                   "                             (default: left empty; never a real patient's id)\n"
                   "      --keep-copies          mcrage: keep synthetic rows that exactly copy a training\n"
                   "                             row (default: resample them; the counts are printed)\n"
                   "      --seed S               random seed (default 1)\n"
                   "      --json FILE            counts and privacy checks as JSON\n"
                   "      --report FILE          HTML report: data, counts before and after, loss curve,\n"
                   "                             real vs synthetic distributions, fidelity and privacy\n"
                   "  -q, --quiet                no progress output\n"
                   "  -o, --output FILE          output CSV (written atomically)\n" CLI_CSV_HELP CLI_FIT_HELP
                   "\nexample: mcrage augment cohort.csv --target outcome --method smote -o balanced.csv\n");
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA.csv");
    if (!a.target) return cli_usage(cmd, "missing --target COL");
    if (!out) return cli_usage(cmd, "missing -o AUGMENTED.csv");
    if ((a.strategy == MCR_STRAT_AUTO || a.method == MCR_AUG_MCRAGE_AUTO) && a.method != MCR_AUG_MCRAGE &&
        a.method != MCR_AUG_MCRAGE_AUTO)
        return cli_usage(cmd, "--strategy auto chooses the amount of mcrage's rows; it needs --method mcrage (got %s)",
                         mcr_aug_method_name(a.method));
    if (a.optimize == MCR_AUTO_WORST_GROUP_RECALL && !a.sensitive)
        return cli_usage(cmd, "--optimize worst-group-recall needs --sensitive COL");
    if (a.strategy == MCR_STRAT_GROUP_BALANCE && !a.sensitive) {
        fprintf(stderr, "mcrage: %s: --strategy group-balance needs --sensitive COL\n", cmd);
        return EXIT_INPUT;
    }
    a.drop = o.drop; /* dropped columns are kept in the output, not modelled */
    o.drop = NULL;
    mcr_set_threads(threads);
    if (mcr_dist_rank() != 0) quiet = 1; /* across ranks (mpirun), rank 0 reports */
    mcr_table *t;
    int rc = mcr_table_read_csv(argv[optind], &o, &t);
    if (rc) return cli_fail(cmd, rc);
    cli_progress pc = {!quiet && isatty(2), cli_wall()};
    a.fit.progress = cli_progress_bar;
    a.fit.progress_ctx = &pc;
    if (!quiet) a.progress = cli_progress_line, a.progress_ctx = (void *)cmd; /* auto's folds, a line a stage */
    a.keep_model = report != NULL;
    if (a.method != MCR_AUG_NONE && a.method != MCR_AUG_RUS) { /* no method writes a real id into a new row */
        mcr_fit_config fc = a.fit;
        fc.target = a.target, fc.sensitive = a.sensitive, fc.drop = a.drop;
        if ((rc = cli_say_identifiers(cmd, t, &fc, a.synthetic_id_prefix))) return mcr_table_free(t), cli_fail(cmd, rc);
    }
    if (!quiet && (a.strategy == MCR_STRAT_AUTO || a.method == MCR_AUG_MCRAGE_AUTO))
        fprintf(stderr, "mcrage: augment: strategy auto: %d-fold cross-validation (up to %d diffusion fits of %d steps), then the chosen amount\n",
                a.folds, a.folds + 1, a.fit.steps);
    else if (!quiet && a.method == MCR_AUG_MCRAGE) fprintf(stderr, "mcrage: augment: fitting the diffusion model (%d steps)\n", a.fit.steps);
    mcr_augment_result *r = NULL;
    rc = mcr_augment_run(t, NULL, 0, &a, &r);
    if (rc) return mcr_table_free(t), cli_fail(cmd, rc);
    int r0 = mcr_dist_rank() == 0; /* across ranks (mpirun), rank 0 writes the outputs */
    rc = r0 ? mcr_table_write_csv(r->table, out) : MCR_OK;
    if (!rc && !quiet) rc = mcr_augment_print(r, "mcrage: augment: ", out, stderr);
    if (!rc && json && r0) rc = write_augment_json(json, r, argv[optind], out);
    if (!rc && report && r0) {
        mcr_report *rep = NULL;
        char *line = cli_command_line(argc, argv);
        rc = line ? mcr_report_augment(t, r, &a, line, quiet ? NULL : cli_progress_line, (void *)cmd, &rep) : MCR_ENOMEM;
        free(line);
        rc = cli_report_write(rc, rep, report, cmd);
    }
    rc = mcr_dist_agree(rc);
    mcr_augment_result_free(r);
    mcr_table_free(t);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

int cmd_evaluate(int argc, char **argv) {
    const char *cmd = "evaluate", *json = NULL, *testpath = NULL, *report = NULL;
    int threads = 0, quiet = 0, ch, err;
    long long v;
    double d;
    mcr_eval_config c;
    mcr_eval_config_default(&c);
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    static const struct option lo[] = {
        {"target", required_argument, 0, 't'}, {"sensitive", required_argument, 0, 'g'},
        {"methods", required_argument, 0, E_METHODS}, {"classifiers", required_argument, 0, E_CLFS},
        {"seeds", required_argument, 0, E_SEEDS}, {"seed", required_argument, 0, E_SEED},
        {"test-frac", required_argument, 0, E_TESTFRAC}, {"test", required_argument, 0, E_TEST},
        {"thin", required_argument, 0, E_THIN}, {"json", required_argument, 0, E_JSON},
        {"positive", required_argument, 0, E_POSITIVE}, {"bands", required_argument, 0, E_BANDS},
        {"group", required_argument, 0, E_GROUP}, {"balanced", no_argument, 0, E_BALANCED},
        {"threshold", required_argument, 0, E_THRESH},
        {"focal", required_argument, 0, E_FOCAL}, {"report", required_argument, 0, E_REPORT},
        {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
        AUG_LONGOPTS, CLI_CSV_LONGOPTS, CLI_FIT_LONGOPTS, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    c.aug.fit.steps = 2000;
    while ((ch = getopt_long(argc, argv, "t:g:qh", lo, NULL)) != -1) {
        if (cli_csv_option(cmd, ch, optarg, &o, &err) || cli_fit_option(cmd, ch, optarg, &c.aug.fit, &err) ||
            aug_option(cmd, ch, optarg, &c.aug, &threads, &err)) {
            if (err) return err;
            continue;
        }
        switch (ch) {
        case 't': c.target = optarg; break;
        case 'g': c.sensitive = optarg; break;
        case 'q': quiet = 1; break;
        case E_JSON: json = optarg; break;
        case E_REPORT: report = optarg; break;
        case E_TEST: testpath = optarg; break;
        case E_THIN: c.thin = optarg; break;
        case E_POSITIVE: c.positive = optarg; break;
        case E_BANDS: c.bands = optarg; break;
        case E_GROUP: c.group = optarg; break;
        case E_BALANCED: c.balanced = 1; break;
        case E_THRESH:
            if (!strcmp(optarg, "tuned")) c.tune_threshold = 1;
            else if (!strcmp(optarg, "0.5")) c.tune_threshold = 0;
            else return cli_usage(cmd, "--threshold expects 0.5 or tuned, got '%s'", optarg);
            break;
        case E_FOCAL: if (cli_double(cmd, "--focal", optarg, 0, 10, &d)) return EXIT_USAGE; c.focal_gamma = d; break;
        case E_SEEDS: if (cli_long(cmd, "--seeds", optarg, 1, 1000, &v)) return EXIT_USAGE; c.seeds = (int)v; break;
        case E_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; c.seed = (uint64_t)v; break;
        case E_TESTFRAC: if (cli_double(cmd, "--test-frac", optarg, 0.01, 0.99, &d)) return EXIT_USAGE; c.test_frac = d; break;
        case E_METHODS:
        case E_CLFS: {
            char *dup = strdup(optarg), *save = NULL;
            int n = 0, bad = 0;
            for (char *tok = strtok_r(dup, ",", &save); tok && !bad; tok = strtok_r(NULL, ",", &save)) {
                if (ch == E_METHODS) {
                    if (n == MCR_AUG_NMETHODS || mcr_aug_method_parse(tok, &c.methods[n])) bad = 1;
                    else n++;
                } else {
                    if (n == MCR_CLF_N || mcr_clf_kind_parse(tok, &c.classifiers[n])) bad = 1;
                    else n++;
                }
            }
            free(dup);
            if (bad || n == 0)
                return cli_usage(cmd, "%s: %s", ch == E_METHODS ? "--methods" : "--classifiers",
                                 n == 0 && !bad ? "empty list" : cli_error());
            if (ch == E_METHODS) c.nmethods = n;
            else c.nclassifiers = n;
            break;
        }
        case 'h':
            printf("usage: mcrage evaluate DATA.csv --target COL [options]\n\n"
                   "For each seed: split (stratified, or by --group), thin the training part if asked,\n"
                   "rebalance it with each method, train each classifier, score it on the untouched\n"
                   "test part overall and per sensitive group. Prints mean +- 95%% CI over seeds and\n"
                   "paired differences against none and smote.\n\n"
                   "  -t, --target COL         class column (required)\n"
                   "      --positive VALUE     VALUE vs rest (e.g. --positive '<30')\n"
                   "  -g, --sensitive COL      groups for fairness metrics\n"
                   "      --bands A,B,...      band a numeric sensitive column (<A, A-B, ..., >=Z)\n"
                   "      --group COL          keep rows sharing COL (a patient id) on one side of a split\n"
                   "      --test-frac F        test share (default %g)\n"
                   "      --test FILE.csv      a fixed test table instead of splits\n"
                   "      --thin CLASS:P       keep a share P of CLASS in each training part\n"
                   "      --methods LIST       none,ros,rus,smote,smote-nc,adasyn,mcrage,mcrage-auto,\n"
                   "                           mcrage-plausible,mcrage-boundary (the last two sample the\n"
                   "                           seed's mcrage model: one fit for the three)\n"
                   "                           (default none,ros,smote,mcrage); mcrage-auto chooses its\n"
                   "                           amount, policy and guidance by CV inside each training part\n"
                   "                           (--strategy auto adds it; --optimize, --folds, --auto-classifier)\n"
                   "      --classifiers LIST   logreg,rf,xgb,mlp (default logreg,xgb)\n"
                   "      --balanced           class-weighted classifiers\n"
                   "      --threshold T        0.5 (arg-max, default) | tuned: each method's threshold chosen\n"
                   "                           by minority F1 on a stratified 20%% of its training part,\n"
                   "                           kept out of rebalancing and training (binary targets)\n"
                   "      --focal GAMMA        logreg/mlp: focal loss -(1-p)^GAMMA log p (default 0: cross-entropy)\n"
                   "      --seeds N            repetitions (default %d)\n"
                   "      --seed S             first seed (default %llu)\n"
                   "      --json FILE          every run, the summary and the comparisons as JSON\n"
                   "      --report FILE        HTML report: data, rebalancing (first seed), results with\n"
                   "                           charts, loss curve, real vs synthetic distributions, fidelity\n"
                   "                           and privacy of the first seed's synthetic rows (test part as\n"
                   "                           holdout)\n"
                   "  -q, --quiet              no progress output\n" AUG_HELP CLI_CSV_HELP CLI_FIT_HELP
                   "      (evaluate's default --steps is 2000)\n"
                   "\nexample: mcrage evaluate cohort.csv --target outcome --sensitive race --seeds 3\n",
                   c.test_frac, c.seeds, (unsigned long long)c.seed);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA.csv");
    if (!c.target) return cli_usage(cmd, "missing --target COL");
    if (c.aug.strategy == MCR_STRAT_AUTO) { /* auto is a method here: mcrage-auto beside the others */
        int has = 0;
        for (int i = 0; i < c.nmethods; i++) has |= c.methods[i] == MCR_AUG_MCRAGE_AUTO;
        if (!has && c.nmethods < MCR_AUG_NMETHODS) c.methods[c.nmethods++] = MCR_AUG_MCRAGE_AUTO;
        c.aug.strategy = MCR_STRAT_BALANCE;
    }
    if (c.aug.optimize == MCR_AUTO_WORST_GROUP_RECALL && !c.sensitive)
        return cli_usage(cmd, "--optimize worst-group-recall needs --sensitive COL");
    mcr_set_threads(threads);
    if (!quiet) {
        c.progress = progress_line;
        c.progress_ctx = NULL;
    }
    mcr_table *t = NULL, *te = NULL;
    int rc = mcr_table_read_csv(argv[optind], &o, &t);
    if (!rc && testpath) rc = mcr_table_read_csv(testpath, &o, &te);
    if (rc) {
        mcr_table_free(t);
        return cli_fail(cmd, rc);
    }
    mcr_eval_result *r = NULL;
    rc = mcr_evaluate(t, te, &c, &r);
    mcr_table_free(te);
    if (rc) return mcr_table_free(t), cli_fail(cmd, rc);
    rc = mcr_eval_print(r, stdout);
    if (!rc && json) {
        rc = mcr_eval_write_json(r, json);
        if (!rc && !quiet) fprintf(stderr, "mcrage: evaluate: wrote %s\n", json);
    }
    if (!rc && report) {
        mcr_report *rep = NULL;
        char *line = cli_command_line(argc, argv);
        rc = line ? mcr_report_evaluate(r, t, &c, line, quiet ? NULL : cli_progress_line, (void *)cmd, &rep) : MCR_ENOMEM;
        free(line);
        rc = cli_report_write(rc, rep, report, cmd);
    }
    mcr_table_free(t);
    mcr_eval_free(r);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}
