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

/* Under mpirun / srun with the MPI build, these run across the ranks (rank 0 writes); any
 * other command runs in one process. */
static int across_ranks(const char *name) {
    return !strcmp(name, "fit") || !strcmp(name, "sample") || !strcmp(name, "augment");
}

static int run(int argc, char **argv);

int main(int argc, char **argv) {
    cli_blas_fast_path(argv); /* may re-execute the binary: before MPI_Init */
    if (mcr_dist_init(&argc, &argv)) {
        fprintf(stderr, "mcrage: %s\n", mcr_last_error());
        return EXIT_RUNTIME;
    }
    int size = mcr_dist_size();
    if (size > 1 && mcr_dist_rank() != 0 && !freopen("/dev/null", "w", stdout)) /* rank 0 speaks */
        return mcr_dist_finalize(EXIT_RUNTIME);
    if (size > 1 && argc >= 2 && argv[1][0] != '-' && !across_ranks(argv[1])) {
        fprintf(stderr, "mcrage: %s runs in one process; start it without mpirun (fit, sample and "
                        "augment run across ranks)\n", argv[1]);
        mcr_dist_agree(MCR_EINVAL);
        return mcr_dist_finalize(EXIT_USAGE);
    }
    return mcr_dist_finalize(run(argc, argv));
}

static int run(int argc, char **argv) {
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
