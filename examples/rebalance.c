/* rebalance.c — a program using only <mcrage/mcrage.h>: read a CSV, fill the minority class of
 * COL up to the majority count with the diffusion model, write the result.
 *   cc rebalance.c $(pkg-config --cflags --libs --static mcrage) -o rebalance
 *   ./rebalance data.csv TARGET out.csv */
#include <mcrage/mcrage.h>
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s DATA.csv TARGET OUT.csv\n", argv[0]);
        return 1;
    }
    mcr_table *t = NULL, *out = NULL;
    int rc = mcr_table_read_csv(argv[1], NULL, &t);
    if (rc == MCR_OK) {
        mcr_augment_config c;
        mcr_augment_config_default(&c); /* method mcrage, strategy balance */
        c.target = argv[2];
        c.fit.steps = 1000;
        size_t added = 0;
        rc = mcr_augment(t, NULL, 0, &c, &out, &added);
        if (rc == MCR_OK) rc = mcr_table_write_csv(out, argv[3]);
        if (rc == MCR_OK) printf("%zu synthetic rows added\n", added);
    }
    if (rc != MCR_OK) fprintf(stderr, "error: %s\n", mcr_last_error());
    mcr_table_free(out);
    mcr_table_free(t);
    return rc == MCR_OK ? 0 : 2;
}
