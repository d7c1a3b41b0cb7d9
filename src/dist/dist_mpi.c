/* dist_mpi.c — the MPI communicator (MPI_COMM_WORLD), built only with `make MPI=1`; the only
 * file that includes <mpi.h>. Errors of MPI itself abort the job (MPI_ERRORS_ARE_FATAL, the
 * default): a lost peer ends every rank, so no collective here returns a failure to wait on.
 * Buffers over INT_MAX elements go in INT_MAX-sized pieces (MPI counts are int). */
#include "dist/dist.h"
#include <limits.h>
#include <mpi.h>

#define PIECE ((size_t)1 << 30)

static int m_sum(mcr_dist *d, float *buf, size_t n) {
    for (size_t i = 0; i < n; i += PIECE) {
        size_t k = n - i < PIECE ? n - i : PIECE;
        MPI_Allreduce(MPI_IN_PLACE, buf + i, (int)k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    }
    return MCR_OK;
}

static int m_sum64(mcr_dist *d, double *buf, size_t n) {
    for (size_t i = 0; i < n; i += PIECE) {
        size_t k = n - i < PIECE ? n - i : PIECE;
        MPI_Allreduce(MPI_IN_PLACE, buf + i, (int)k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    }
    return MCR_OK;
}

static int m_min(mcr_dist *d, int *v, size_t n) {
    MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return MCR_OK;
}

static int m_bcast(mcr_dist *d, void *buf, size_t nbytes, int root) {
    for (size_t i = 0; i < nbytes; i += PIECE) {
        size_t k = nbytes - i < PIECE ? nbytes - i : PIECE;
        MPI_Bcast((char *)buf + i, (int)k, MPI_BYTE, root, MPI_COMM_WORLD);
    }
    return MCR_OK;
}

static int m_allgather(mcr_dist *d, const void *send, size_t nbytes, void *recv) {
    if (nbytes > INT_MAX)
        return mcr_err(MCR_EINVAL, "allgather of %zu bytes per rank (at most %d)", nbytes, INT_MAX);
    MPI_Allgather(send, (int)nbytes, MPI_BYTE, recv, (int)nbytes, MPI_BYTE, MPI_COMM_WORLD);
    return MCR_OK;
}

static int m_barrier(mcr_dist *d) {
    MPI_Barrier(MPI_COMM_WORLD);
    return MCR_OK;
}

static void m_abort(mcr_dist *d, int code) {
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
    exit(code ? code : 1); /* not reached */
}

static void m_finalize(mcr_dist *d) {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
}

int mcr_dist_mpi_open(int *argc, char ***argv, mcr_dist **out) {
    static mcr_dist w = {0, 1, "mpi", m_sum, m_sum64, m_min, m_bcast, m_allgather,
                         m_barrier, m_abort, m_finalize};
    int provided = 0, init = 0;
    MPI_Initialized(&init);
    /* FUNNELED: OpenMP threads compute, only the main thread calls MPI */
    if (!init && MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return mcr_err(MCR_EINTERNAL, "MPI_Init_thread failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w.size);
    *out = &w;
    return MCR_OK;
}
