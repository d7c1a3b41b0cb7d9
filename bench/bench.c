/* bench.c — `make bench`: the same benchmark as `mcrage bench`, as a standalone program. */
#include "cli.h"

int main(int argc, char **argv) {
    cli_blas_fast_path(argv);
    return cmd_bench(argc, argv);
}
