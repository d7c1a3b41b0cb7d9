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

int cmd_fidelity(int argc, char **argv) {
    const char *cmd = "fidelity", *target = NULL, *cls = NULL;
    int json = 0, ch, err;
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    static const struct option lo[] = {{"target", required_argument, 0, 't'},
                                       {"class", required_argument, 0, 'c'},
                                       {"json", no_argument, 0, 'j'},
                                       {"help", no_argument, 0, 'h'},
                                       CLI_CSV_LONGOPTS,
                                       {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "t:c:jh", lo, NULL)) != -1) {
        if (cli_csv_option(cmd, ch, optarg, &o, &err)) {
            if (err) return err;
            continue;
        }
        switch (ch) {
        case 't': target = optarg; break;
        case 'c': cls = optarg; break;
        case 'j': json = 1; break;
        case 'h':
            printf("usage: mcrage fidelity REAL.csv SYNTH.csv [--target COL --class VALUE] [--json]\n\n"
                   "Column shapes: per column the Kolmogorov-Smirnov statistic (numerics) or the\n"
                   "total variation distance (categoricals) between real and synthetic values, and\n"
                   "both missing rates; with --target/--class only that class's rows are compared.\n"
                   "Scores (SDMetrics): 1 - KS, 1 - TV, and their mean. Column pair trends:\n"
                   "correlation similarity 1 - |rho_real - rho_synth|/2 for numeric pairs,\n"
                   "contingency similarity 1 - TVD of the pair's table otherwise (numerics in 10\n"
                   "equal-width bins over the real range, missing as its own value), and their mean.\n\n"
                   "  -t, --target COL    class column\n"
                   "  -c, --class VALUE   compare only rows of this class\n"
                   "  -j, --json          JSON instead of text\n" CLI_CSV_HELP
                   "\nexample: mcrage fidelity data.csv synth.csv --target SOURCE --class in\n");
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 2) return cli_usage(cmd, "expects REAL.csv and SYNTH.csv");
    if (!target != !cls) return cli_usage(cmd, "--target and --class go together");
    mcr_table *r = NULL, *s = NULL;
    int rc = mcr_table_read_csv(argv[optind], &o, &r);
    if (!rc) rc = mcr_table_read_csv(argv[optind + 1], &o, &s);
    mcr_colfid *f = NULL;
    mcr_pairfid *pf = NULL;
    int n = 0, np = 0;
    if (!rc) rc = mcr_fidelity_columns(r, s, target, cls, &f, &n);
    if (!rc) rc = mcr_fidelity_pairs(r, s, target, cls, &pf, &np);
    if (rc) {
        free(f);
        mcr_table_free(r), mcr_table_free(s);
        return cli_fail(cmd, rc);
    }
    double psum = 0;
    int pcnt = 0, *worst = malloc(((size_t)np + 1) * sizeof(int));
    for (int i = 0; i < np; i++)
        if (pf[i].score == pf[i].score) psum += pf[i].score, worst[pcnt++] = i;
    for (int i = 0; i < pcnt && i < 5; i++) /* the five lowest-scoring pairs, by selection */
        for (int k = i + 1; k < pcnt; k++)
            if (pf[worst[k]].score < pf[worst[i]].score) {
                int tmp = worst[i];
                worst[i] = worst[k], worst[k] = tmp;
            }
    double pscore = pcnt ? psum / pcnt : 0.0 / 0.0;
    double sum = 0;
    int cnt = 0;
    for (int i = 0; i < n; i++)
        if (f[i].stat == f[i].stat) sum += 1 - f[i].stat, cnt++;
    if (json) {
        printf("{\"real\":");
        mcr_json_string(stdout, argv[optind]);
        printf(",\"synthetic\":");
        mcr_json_string(stdout, argv[optind + 1]);
        printf(",\"columns\":[");
        for (int i = 0; i < n; i++) {
            printf("%s{\"name\":", i ? "," : "");
            mcr_json_string(stdout, f[i].name);
            printf(",\"type\":\"%s\",\"%s\":%.6g,\"real_missing\":%.6g,\"synthetic_missing\":%.6g}",
                   f[i].categorical ? "categorical" : "numeric", f[i].categorical ? "tv" : "ks",
                   f[i].stat, f[i].real_missing, f[i].synth_missing);
        }
        printf("],\"column_shapes_score\":%.6g,\"pairs\":[", cnt ? sum / cnt : 0.0 / 0.0);
        for (int i = 0; i < np; i++) {
            printf("%s{\"a\":", i ? "," : "");
            mcr_json_string(stdout, pf[i].a);
            printf(",\"b\":");
            mcr_json_string(stdout, pf[i].b);
            printf(",\"metric\":\"%s\",\"score\":", pf[i].correlation ? "correlation" : "contingency");
            mcr_json_number(stdout, pf[i].score);
            if (pf[i].correlation) {
                printf(",\"real_rho\":");
                mcr_json_number(stdout, pf[i].real);
                printf(",\"synthetic_rho\":");
                mcr_json_number(stdout, pf[i].synth);
            }
            printf("}");
        }
        printf("],\"column_pair_trends_score\":");
        mcr_json_number(stdout, pscore);
        printf("}\n");
    } else {
        printf("%s vs %s", argv[optind], argv[optind + 1]);
        if (target) printf(" (rows with %s = %s)", target, cls);
        printf(": %zu real, %zu synthetic rows\n\n%-28s %-12s %8s %8s %10s %10s\n",
               n ? f[0].nreal : (size_t)0, n ? f[0].nsynth : (size_t)0, "column", "type",
               "KS/TV", "score", "miss real", "miss syn");
        for (int i = 0; i < n; i++)
            printf("%-28s %-12s %8.4f %8.4f %9.1f%% %9.1f%%\n", f[i].name,
                   f[i].categorical ? "categorical" : "numeric", f[i].stat, 1 - f[i].stat,
                   100 * f[i].real_missing, 100 * f[i].synth_missing);
        printf("\ncolumn shapes score (mean of 1 - KS / 1 - TV): %.4f\n", cnt ? sum / cnt : 0.0 / 0.0);
        printf("column pair trends score (mean over %d pairs; correlation similarity for numeric\n"
               "pairs, contingency similarity otherwise): %.4f\n", pcnt, pscore);
        if (pcnt) printf("lowest pairs:");
        for (int i = 0; i < pcnt && i < 5; i++)
            printf("%s %s x %s %.4f", i ? "," : "", pf[worst[i]].a, pf[worst[i]].b, pf[worst[i]].score);
        if (pcnt) printf("\n");
    }
    free(worst);
    free(pf);
    free(f);
    mcr_table_free(r), mcr_table_free(s);
    return EXIT_OK;
}
