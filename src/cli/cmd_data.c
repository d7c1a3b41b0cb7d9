/* cmd_data.c — `simulate` and `describe`. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

int cmd_simulate(int argc, char **argv) {
    const char *cmd = "simulate", *out = NULL;
    mcr_sim_config c;
    mcr_sim_config_default(&c);
    static const struct option lo[] = {{"rows", required_argument, 0, 'n'},
                                       {"seed", required_argument, 0, 's'},
                                       {"minority-rate", required_argument, 0, 'r'},
                                       {"output", required_argument, 0, 'o'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    int ch;
    long long v;
    double d;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "n:s:r:o:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'n':
            if (cli_long(cmd, "--rows", optarg, 10, 100000000, &v)) return EXIT_USAGE;
            c.rows = (size_t)v;
            break;
        case 's':
            if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE;
            c.seed = (uint64_t)v;
            break;
        case 'r':
            if (cli_double(cmd, "--minority-rate", optarg, 1e-6, 0.5, &d)) return EXIT_USAGE;
            c.minority_rate = d;
            break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: mcrage simulate [--rows N] [--seed S] [--minority-rate R] -o FILE.csv\n\n"
                   "Write the built-in simulated cohort: age, sex, age band, race (skewed group\n"
                   "sizes), admission type, ten labs/vitals with missing values, and a binary\n"
                   "outcome whose rate differs by race group (process documented in README).\n\n"
                   "  -n, --rows N            patients (default %zu)\n"
                   "  -s, --seed S            random seed (default %llu)\n"
                   "  -r, --minority-rate R   overall outcome rate, <= 0.5 (default %g)\n"
                   "  -o, --output FILE       output CSV (written atomically); '-' = stdout\n\n"
                   "example: mcrage simulate --rows 5000 --seed 1 -o cohort.csv\n",
                   c.rows, (unsigned long long)c.seed, c.minority_rate);
            return EXIT_OK;
        default:
            return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (!out) return cli_usage(cmd, "missing -o FILE.csv");
    mcr_table *t;
    int rc = mcr_simulate(&c, &t);
    if (rc) return rc == MCR_EINVAL ? cli_usage(cmd, "%s", cli_error()) : cli_fail(cmd, rc);
    rc = strcmp(out, "-") ? mcr_table_write_csv(t, out) : mcr_table_write_csv_stream(t, stdout);
    mcr_table_free(t);
    if (rc) return cli_fail(cmd, rc);
    if (strcmp(out, "-")) fprintf(stderr, "mcrage: wrote %zu rows to %s\n", c.rows, out);
    return EXIT_OK;
}

int cmd_describe(int argc, char **argv) {
    const char *cmd = "describe", *target = NULL, *sensitive = NULL;
    int json = 0;
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    static const struct option lo[] = {{"target", required_argument, 0, 't'},
                                       {"sensitive", required_argument, 0, 'g'},
                                       {"json", no_argument, 0, 'j'},
                                       {"help", no_argument, 0, 'h'},
                                       CLI_CSV_LONGOPTS,
                                       {0, 0, 0, 0}};
    int ch, err;
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "t:g:jh", lo, NULL)) != -1) {
        if (cli_csv_option(cmd, ch, optarg, &o, &err)) {
            if (err) return err;
            continue;
        }
        switch (ch) {
        case 't': target = optarg; break;
        case 'g': sensitive = optarg; break;
        case 'j': json = 1; break;
        case 'h':
            printf("usage: mcrage describe DATA.csv [--target COL] [--sensitive COL] [--json]\n\n"
                   "Print each column's inferred type, missing count and range or levels, the\n"
                   "target's class counts and the sensitive group x class table.\n\n"
                   "  -t, --target COL       class column to summarise (default: none)\n"
                   "  -g, --sensitive COL    group column for the group x class table\n"
                   "  -j, --json             JSON instead of text\n" CLI_CSV_HELP
                   "\nexample: mcrage describe cohort.csv --target outcome --sensitive race\n");
            return EXIT_OK;
        default:
            return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA.csv");
    if (sensitive && !target) return cli_usage(cmd, "--sensitive needs --target");
    mcr_table *t;
    int rc = mcr_table_read_csv(argv[optind], &o, &t);
    if (rc) return cli_fail(cmd, rc);
    rc = mcr_describe(t, target, sensitive, json, stdout);
    mcr_table_free(t);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

/* Read a synthetic or holdout table with the real table's column kinds: a short synthetic
 * sample may hold two values of a numeric column, which alone reads as a 0/1 flag. Columns
 * whose kind differs from the real one's are read again with --numeric / --categorical. */
static int read_like(const char *path, const mcr_csv_options *o, const mcr_table *real, mcr_table **out) {
    int rc = mcr_table_read_csv(path, o, out);
    if (rc) return rc;
    char *lists[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    FILE *f[2] = {open_memstream(&lists[0], &len[0]), open_memstream(&lists[1], &len[1])};
    if (!f[0] || !f[1]) return MCR_ENOMEM;
    const char *user[2] = {o->numeric, o->categorical};
    for (int k = 0; k < 2; k++)
        if (user[k]) fputs(user[k], f[k]);
    int redo = 0;
    for (int j = 0; j < mcr_table_ncols(*out); j++) {
        const char *name = mcr_table_colname(*out, j);
        int jr = mcr_table_find(real, name);
        if (jr < 0 || strchr(name, ',')) continue;
        int cr = mcr_table_coltype(real, jr) == MCR_COL_CATEGORICAL, co = mcr_table_coltype(*out, j) == MCR_COL_CATEGORICAL;
        if (cr == co) continue;
        fprintf(f[cr], "%s%s", ftell(f[cr]) ? "," : "", name);
        redo = 1;
    }
    fclose(f[0]), fclose(f[1]);
    if (redo) {
        mcr_csv_options o2 = *o;
        o2.numeric = *lists[0] ? lists[0] : NULL;
        o2.categorical = *lists[1] ? lists[1] : NULL;
        mcr_table_free(*out);
        *out = NULL;
        rc = mcr_table_read_csv(path, &o2, out);
    }
    free(lists[0]), free(lists[1]);
    return rc;
}

int cmd_fidelity(int argc, char **argv) {
    const char *cmd = "fidelity", *json = NULL, *report = NULL, *holdpath = NULL;
    int ch, err, quiet = 0, threads = 0;
    long long v;
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    mcr_assess_config ac;
    mcr_assess_config_default(&ac);
    enum { F_HOLDOUT = 5000, F_REPORT, F_FOLDS, F_MAXROWS, F_SEED, F_THREADS, F_NOBASE };
    static const struct option lo[] = {{"target", required_argument, 0, 't'},
                                       {"class", required_argument, 0, 'c'},
                                       {"sensitive", required_argument, 0, 'g'},
                                       {"holdout", required_argument, 0, F_HOLDOUT},
                                       {"json", required_argument, 0, 'j'},
                                       {"report", required_argument, 0, F_REPORT},
                                       {"folds", required_argument, 0, F_FOLDS},
                                       {"max-rows", required_argument, 0, F_MAXROWS},
                                       {"seed", required_argument, 0, F_SEED},
                                       {"threads", required_argument, 0, F_THREADS},
                                       {"no-baseline", no_argument, 0, F_NOBASE},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"help", no_argument, 0, 'h'},
                                       CLI_CSV_LONGOPTS,
                                       {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "t:c:g:j:qh", lo, NULL)) != -1) {
        if (cli_csv_option(cmd, ch, optarg, &o, &err)) {
            if (err) return err;
            continue;
        }
        switch (ch) {
        case 't': ac.target = optarg; break;
        case 'c': ac.minority = optarg; break;
        case 'g': ac.sensitive = optarg; break;
        case 'j': json = optarg; break;
        case 'q': quiet = 1; break;
        case F_HOLDOUT: holdpath = optarg; break;
        case F_REPORT: report = optarg; break;
        case F_FOLDS: if (cli_long(cmd, "--folds", optarg, 2, 20, &v)) return EXIT_USAGE; ac.folds = (int)v; break;
        case F_MAXROWS: if (cli_long(cmd, "--max-rows", optarg, 10, 100000000, &v)) return EXIT_USAGE; ac.max_rows = (size_t)v; break;
        case F_SEED: if (cli_long(cmd, "--seed", optarg, 0, INT64_MAX, &v)) return EXIT_USAGE; ac.seed = (uint64_t)v; break;
        case F_THREADS: if (cli_long(cmd, "--threads", optarg, 0, 1024, &v)) return EXIT_USAGE; threads = (int)v; break;
        case F_NOBASE: ac.baseline = 0; break;
        case 'h':
            printf("usage: mcrage fidelity REAL.csv SYNTH.csv [--holdout HOLDOUT.csv] [--target COL [--class VALUE]]\n"
                   "                        [--sensitive COL] [--json OUT] [--report REPORT.html]\n\n"
                   "How realistic, useful and private synthetic rows are, against the real rows the generator\n"
                   "was trained on (REAL) and, for the privacy baselines, real rows it never saw (HOLDOUT).\n"
                   "Every metric is given for all rows, per class of --target and per group of --sensitive:\n"
                   "  column shapes       1 - KS (numerics), 1 - TV (categoricals), missing rates (SDMetrics)\n"
                   "  column pair trends  correlation similarity for numeric pairs, contingency similarity\n"
                   "                      otherwise (numerics in 10 equal-width bins, missing as a value)\n"
                   "  detection           AUROC of logreg and xgb telling real from synthetic rows under\n"
                   "                      cross-validation (0.5: indistinguishable)\n"
                   "  privacy             exact-copy rate; distance to the closest training record (DCR) of\n"
                   "                      synthetic and of holdout rows, ratio of the medians; membership-\n"
                   "                      inference AUROC (training vs holdout rows by distance to the nearest\n"
                   "                      synthetic row; 0.5: no leak)\n"
                   "  utility             train on synthetic, test on real (TSTR) vs train on real (TRTR),\n"
                   "                      per class (needs --target)\n"
                   "  baseline            with --holdout: shapes, pair trends and detection of the holdout\n"
                   "                      scored as if synthetic, beside the synthetic rows at its size\n\n"
                   "  -t, --target COL        class column\n"
                   "  -c, --class VALUE       the minority class reported in detail (default: the rarest)\n"
                   "  -g, --sensitive COL     group column\n"
                   "      --holdout FILE      real rows not used to train the generator\n"
                   "      --no-baseline       skip the real-vs-real baseline (with --holdout)\n"
                   "      --folds K           detection cross-validation folds (default %d)\n"
                   "      --max-rows N        rows per side sampled per scope (default %zu)\n"
                   "      --seed S            sampling and fold seed (default 1)\n"
                   "      --threads N         threads, 0 = all cores (default 0)\n"
                   "  -j, --json OUT          everything as JSON to OUT ('-': standard output)\n"
                   "      --report FILE       HTML report (self-contained, inline SVG)\n"
                   "  -q, --quiet             no progress output\n" CLI_CSV_HELP
                   "\nexample: mcrage fidelity data.csv synth.csv --target SOURCE --class in --holdout test.csv\n",
                   ac.folds, ac.max_rows);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 2) return cli_usage(cmd, "expects REAL.csv and SYNTH.csv");
    if (ac.minority && !ac.target) return cli_usage(cmd, "--class needs --target");
    mcr_set_threads(threads);
    if (!quiet) ac.progress = cli_progress_line, ac.progress_ctx = (void *)cmd;
    mcr_table *r = NULL, *s = NULL, *h = NULL;
    int rc = mcr_table_read_csv(argv[optind], &o, &r);
    if (!rc) rc = read_like(argv[optind + 1], &o, r, &s);
    if (!rc && holdpath) rc = read_like(holdpath, &o, r, &h);
    ac.holdout = h;
    mcr_assess_result *a = NULL;
    if (!rc) rc = mcr_assess(r, s, &ac, &a);
    if (!rc && !(json && !strcmp(json, "-"))) rc = mcr_assess_print(a, stdout);
    if (!rc && json) rc = cli_write_json(json, (int (*)(const void *, FILE *))mcr_assess_write_json, a);
    if (!rc && report) {
        mcr_report *rep = NULL;
        char *line = cli_command_line(argc, argv);
        rc = line ? mcr_report_fidelity(r, s, a, ac.target, ac.sensitive, line, &rep) : MCR_ENOMEM;
        free(line);
        rc = cli_report_write(rc, rep, report, cmd);
    }
    mcr_assess_free(a);
    mcr_table_free(r), mcr_table_free(s), mcr_table_free(h);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}
