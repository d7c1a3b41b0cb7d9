/* dist.c — the process's communicator, the public mcr_dist_* functions and the helpers built
 * on the collectives (status agreement, row ranges, weighted allreduce). See dist.h. */
#include "dist/dist.h"

static mcr_dist *g_dist;
static int g_agreed; /* a failure was agreed by every rank (dist_agree returned it) */

mcr_dist *mcr_dist_get(void) { return g_dist ? g_dist : mcr_dist_single(); }

/* A launcher's environment: Open MPI's mpirun, PMIx (srun --mpi=pmix), PMI-1/2 (srun, MPICH). */
static int launched(void) {
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int mcr_dist_init(int *argc, char ***argv) {
    if (g_dist) return MCR_OK;
#ifdef MCR_WITH_MPI
    if (launched()) return mcr_dist_mpi_open(argc, argv, &g_dist);
#else
    (void)launched;
#endif
    g_dist = mcr_dist_single();
    return MCR_OK;
}

int mcr_dist_rank(void) { return mcr_dist_get()->rank; }
int mcr_dist_size(void) { return mcr_dist_get()->size; }
int mcr_dist_agree(int rc) { return dist_agree(mcr_dist_get(), rc); }

void mcr_dist_abort(int code) {
    mcr_dist *d = mcr_dist_get();
    if (d->size > 1) d->abort(d, code); /* never returns */
}

int mcr_dist_finalize(int code) {
    mcr_dist *d = mcr_dist_get();
    if (d->size > 1 && code != 0 && !g_agreed) d->abort(d, code);
    d->finalize(d);
    g_dist = NULL;
    return code;
}

/* Two collectives: the lowest failing rank (min over ranks of rank-or-size), then its status
 * and message broadcast from it. */
int dist_agree(mcr_dist *d, int rc) {
    if (d->size == 1) return rc;
    int first = rc ? d->rank : d->size;
    if (d->allreduce_min_i32(d, &first, 1)) return MCR_EINTERNAL; /* MPI errors abort */
    if (first == d->size) return MCR_OK;
    g_agreed = 1;
    struct {
        int32_t rc;
        char msg[1000];
    } m;
    memset(&m, 0, sizeof m);
    if (d->rank == first) {
        m.rc = rc;
        snprintf(m.msg, sizeof m.msg, "%s", mcr_last_error());
    }
    if (d->bcast(d, &m, sizeof m, first)) return MCR_EINTERNAL;
    m.msg[sizeof m.msg - 1] = 0;
    if (first == 0) return mcr_err(m.rc, "%s", m.msg);
    return mcr_err(m.rc, "rank %d of %d: %s", first, d->size, m.msg);
}

void dist_range(size_t n, int r, int size, size_t *lo, size_t *hi) {
    *lo = n * (size_t)r / (size_t)size;
    *hi = n * (size_t)(r + 1) / (size_t)size;
}

int dist_allreduce_weighted(mcr_dist *d, float *buf, size_t n, float w) {
    if (d->size == 1) return MCR_OK;
    for (size_t i = 0; i < n; i++) buf[i] *= w;
    return d->allreduce_sum(d, buf, n);
}

int dist_allgatherv(mcr_dist *d, const void *send, size_t nbytes, char **out, size_t **off) {
    int P = d->size, rc;
    *out = NULL, *off = NULL;
    uint64_t mine = nbytes, *sz = malloc((size_t)P * sizeof(uint64_t));
    size_t *o = malloc(((size_t)P + 1) * sizeof(size_t));
    char *pad = NULL, *res = NULL;
    if (!sz || !o) {
        rc = MCR_NOMEM();
        goto done;
    }
    if ((rc = d->allgather(d, &mine, sizeof mine, sz))) goto done;
    size_t mx = 0;
    o[0] = 0;
    for (int r = 0; r < P; r++) {
        if (sz[r] > mx) mx = (size_t)sz[r];
        o[r + 1] = o[r] + (size_t)sz[r];
    }
    res = malloc(o[P] + 1);
    if (!res) {
        rc = MCR_NOMEM();
        goto done;
    }
    if (P == 1) {
        if (nbytes) memcpy(res, send, nbytes);
    } else {
        char *mybuf = calloc(mx + 1, 1);
        pad = mcr_malloc_big((size_t)P * mx + 1);
        if (!mybuf || !pad) {
            free(mybuf);
            rc = MCR_NOMEM();
            goto done;
        }
        if (nbytes) memcpy(mybuf, send, nbytes);
        rc = d->allgather(d, mybuf, mx, pad);
        free(mybuf);
        if (rc) goto done;
        for (int r = 0; r < P; r++)
            if (sz[r]) memcpy(res + o[r], pad + (size_t)r * mx, (size_t)sz[r]);
    }
    *out = res, *off = o;
    res = NULL, o = NULL;
done:
    free(sz);
    free(o);
    free(pad);
    free(res);
    return rc;
}
