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
    if (rc) return rc == MCR_EINVAL ? cli_usage(cmd, "%s", mcr_last_error()) : cli_fail(cmd, rc);
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
