/* main.c — `mcrage <command> [options]`: dispatch only. */
#include "cli.h"
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} commands[] = {
    {"simulate", cmd_simulate, "write the built-in simulated patient cohort"},
    {"describe", cmd_describe, "column types, missingness, class and group x class counts"},
    {"fit", cmd_fit, "train the conditional diffusion model on a CSV table"},
    {"sample", cmd_sample, "generate synthetic rows from a model file"},
    {"augment", cmd_augment, "rebalance a table: real rows plus synthetic ones (or fewer)"},
    {"evaluate", cmd_evaluate, "compare rebalancing methods x classifiers over seeds, per group"},
    {"fidelity", cmd_fidelity, "compare synthetic with real columns (KS, TV, missing rates)"},
    {"inspect", cmd_inspect, "print a model file's architecture, schema and settings"},
    {"bench", cmd_bench, "benchmark the denoiser's training and sampling speed"},
    {"image", cmd_image, "image sets (.npz, PNGs + manifest): describe, grid, convert"},
};
#define NCMD (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f,
            "mcrage %s - minority class rebalancing by conditional diffusion\n\n"
            "usage: mcrage <command> [options]\n"
            "       mcrage <command> --help\n\ncommands:\n",
            mcr_version());
    for (int i = 0; i < NCMD; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nexit codes: 0 ok, 1 usage error, 2 input error (data, files, model), "
               "3 runtime failure\n"
               "example: mcrage simulate --rows 5000 -o cohort.csv && "
               "mcrage describe cohort.csv --target outcome --sensitive race\n");
}

int main(int argc, char **argv) {
    cli_blas_fast_path(argv);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("mcrage %s\n", mcr_version());
        return EXIT_OK;
    }
    for (int i = 0; i < NCMD; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mcrage: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
