/* libFuzzer target: the .npz / .npy reader (ZIP directory, ZIP64 fields, inflate, CRC, .npy
 * headers, the MedMNIST layout) must return a status, never crash or leak, on any bytes; what it
 * accepts must be a consistent image set. Each run parses at most one small archive, so 100,000
 * runs stay cheap. */
#include "image/image.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mcr_imageset *s = NULL;
    if (mcr_imageset_read_npz_mem(data, size, "fuzz.npz", &s) != MCR_OK) return 0;
    if (s->h < 1 || s->w < 1 || (s->c != 1 && s->c != 3) || s->n < 0) abort();
    for (int i = 0; i < s->n; i++) {
        if (s->label[i] < -1 || s->label[i] >= s->nlabels) abort();
        if (s->attr[i] < -1 || s->attr[i] >= s->nattrs) abort();
        if (s->split[i] != MCR_SPLIT_TRAIN && s->split[i] != MCR_SPLIT_VAL && s->split[i] != MCR_SPLIT_TEST) abort();
    }
    /* the last pixel is readable (ASan checks the size of the allocation) */
    size_t np = (size_t)s->n * (size_t)s->h * (size_t)s->w * (size_t)s->c;
    volatile uint8_t last = np ? s->pix[np - 1] : 0;
    (void)last;
    mcr_imageset_free(s);
    return 0;
}
