/* libFuzzer target: the model loader must refuse damaged files, never crash. The checksum would
 * hide most mutations from the parser, so the target also re-seals each input with a correct
 * CRC-32 half of the time (first byte odd) to reach the payload parser. */
#include <mcrage/mcrage.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int reseal = data[0] & 1;
    data++, size--;
    uint8_t *buf = malloc(size + 28);
    if (!buf) return 0;
    size_t n = size;
    if (reseal) { /* header + this payload with its true length and CRC */
        uint32_t ver = 3, flags = 0, crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), data, (uInt)size);
        uint64_t len = size;
        memcpy(buf, "MCRGMODL", 8);
        memcpy(buf + 8, &ver, 4);
        memcpy(buf + 12, &flags, 4);
        memcpy(buf + 16, &len, 8);
        memcpy(buf + 24, &crc, 4);
        memcpy(buf + 28, data, size);
        n = size + 28;
    } else
        memcpy(buf, data, size);
    mcr_model *m = NULL;
    if (mcr_model_load_mem(buf, n, "fuzz.mcrg", &m) == MCR_OK) {
        size_t counts[64] = {0};
        int k = mcr_model_ncond(m);
        if (k <= 64 && mcr_model_nparams(m) < 2000000) {
            counts[0] = 3;
            mcr_sample_config sc;
            mcr_sample_config_default(&sc);
            sc.sample_steps = 2;
            mcr_table *t = NULL;
            mcr_model_sample(m, counts, &sc, &t);
            mcr_table_free(t);
        }
        mcr_model_free(m);
    }
    free(buf);
    return 0;
}
