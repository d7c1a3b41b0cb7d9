/* libFuzzer target: the CSV reader must return a status, never crash, on any bytes. */
#include <mcrage/mcrage.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mcr_table *t = NULL;
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    o.max_levels = 5000;
    if (mcr_table_read_csv_mem((const char *)data, size, "fuzz.csv", &o, &t) == MCR_OK) {
        /* what was read must write back, and what is written must read again */
        char *buf = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&buf, &n);
        if (f) {
            mcr_table_write_csv_stream(t, f);
            fclose(f);
            mcr_table *u = NULL;
            if (mcr_table_read_csv_mem(buf, n, "again.csv", &o, &u) != MCR_OK && mcr_table_nrows(t) > 0) {
                fprintf(stderr, "written table does not read back: %s\n", mcr_last_error());
                abort();
            }
            mcr_table_free(u);
            free(buf);
        }
        mcr_table_free(t);
    }
    return 0;
}
