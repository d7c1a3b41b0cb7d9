/* dist.h — private: the collective interface of data-parallel fit and sample (rank, size,
 * allreduce of the flat gradient, broadcast, allgather, barrier, error agreement).
 *
 * One communicator per process, reached with mcr_dist_get(): the single-process one
 * (dist_single.c, always built: rank 0 of 1, every collective a copy or nothing) unless the
 * library was built with `make MPI=1` and the process was started by an MPI launcher
 * (mpirun, srun), in which case mcr_dist_init installs the MPI one (dist_mpi.c, the only
 * file that includes <mpi.h>). Callers never test which: they call the collectives, and with
 * size 1 every collective leaves its buffers as they are, so a single process computes
 * bit-identically whichever build it runs.
 *
 * Every collective is called by every rank, in the same order, with the same sizes (MPI's
 * rule). A rank that fails between two collectives must still reach the next one (or the
 * agreement below) so the others do not wait forever; a failure that cannot (a crash, a
 * rank killed) is Open MPI's to handle: it aborts the job (see mcr_dist_abort).
 *
 * Status agreement: mcr_dist_agree(rc) is a collective that returns, on every rank, the
 * status of the lowest-numbered rank that failed (MCR_OK when none did), and copies that
 * rank's message (mcr_last_error) to every rank, prefixed "rank R: " when R != 0: any rank's
 * error becomes every rank's error, before anyone writes output. */
#ifndef MCR_DIST_H
#define MCR_DIST_H
#include "core/core.h"

typedef struct mcr_dist mcr_dist;
struct mcr_dist {
    int rank, size;
    const char *name; /* "single" or "mpi" */
    /* buf [n] summed over ranks, in place; the same bits on every rank */
    int (*allreduce_sum)(mcr_dist *d, float *buf, size_t n);
    /* buf [n] doubles, summed (small buffers: counts, losses) */
    int (*allreduce_sum_f64)(mcr_dist *d, double *buf, size_t n);
    /* v = min over ranks of v (ints) */
    int (*allreduce_min_i32)(mcr_dist *d, int *v, size_t n);
    /* buf [nbytes] from root to every rank */
    int (*bcast)(mcr_dist *d, void *buf, size_t nbytes, int root);
    /* recv [size * nbytes] = each rank's send [nbytes], in rank order (send may not alias recv) */
    int (*allgather)(mcr_dist *d, const void *send, size_t nbytes, void *recv);
    int (*barrier)(mcr_dist *d);
    /* end the whole job now with this exit code (MPI_Abort); never returns */
    void (*abort)(mcr_dist *d, int code);
    void (*finalize)(mcr_dist *d);
};

/* The process's communicator (the single-process one until mcr_dist_init installs another). */
mcr_dist *mcr_dist_get(void);
/* The single-process communicator: rank 0 of 1. */
mcr_dist *mcr_dist_single(void);
#ifdef MCR_WITH_MPI
/* dist_mpi.c: MPI_Init (MPI_THREAD_FUNNELED) and a communicator over MPI_COMM_WORLD; *out
 * static. Only called when a launcher's environment is present. */
int mcr_dist_mpi_open(int *argc, char ***argv, mcr_dist **out);
#endif

/* Collective helpers over mcr_dist_get() (dist.c) */
int dist_agree(mcr_dist *d, int rc);                 /* see above */
/* [lo, hi) of n items (rows of a batch) for rank r of size: contiguous, in rank order,
 * sizes differ by at most one */
void dist_range(size_t n, int r, int size, size_t *lo, size_t *hi);
/* weighted mean over ranks: buf = sum_r w_r buf_r (w_r = this rank's weight, e.g. its share
 * of the batch's rows), in place; buf is scaled by w first. With size 1: nothing (w must be
 * 1 there). */
int dist_allreduce_weighted(mcr_dist *d, float *buf, size_t n, float w);
/* Allgather of a different number of bytes from each rank: *out (owned, free it) holds every
 * rank's send bytes one after another in rank order, *off (owned, size + 1 entries) where each
 * rank's bytes start (off[size] = total). Two collectives: the sizes, then the buffers padded
 * to the largest. With size 1: a copy. */
int dist_allgatherv(mcr_dist *d, const void *send, size_t nbytes, char **out, size_t **off);
#endif /* MCR_DIST_H */
