/* dist_single.c — the single-process communicator: rank 0 of 1. A sum over one rank is the
 * buffer itself, a broadcast from rank 0 to itself is nothing, an allgather is a copy. Always
 * built; the default build knows no other. */
#include "dist/dist.h"

static int s_sum(mcr_dist *d, float *buf, size_t n) { return MCR_OK; }
static int s_sum64(mcr_dist *d, double *buf, size_t n) { return MCR_OK; }
static int s_min(mcr_dist *d, int *v, size_t n) { return MCR_OK; }
static int s_bcast(mcr_dist *d, void *buf, size_t nbytes, int root) {
    return root == 0 ? MCR_OK : mcr_err(MCR_EINVAL, "broadcast from rank %d of 1", root);
}
static int s_allgather(mcr_dist *d, const void *send, size_t nbytes, void *recv) {
    if (nbytes) memcpy(recv, send, nbytes);
    return MCR_OK;
}
static int s_barrier(mcr_dist *d) { return MCR_OK; }
static void s_abort(mcr_dist *d, int code) { exit(code); }
static void s_finalize(mcr_dist *d) {}

mcr_dist *mcr_dist_single(void) {
    static mcr_dist one = {0, 1, "single", s_sum, s_sum64, s_min, s_bcast, s_allgather,
                           s_barrier, s_abort, s_finalize};
    return &one;
}
