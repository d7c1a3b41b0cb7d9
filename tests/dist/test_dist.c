/* test_dist.c — the single-process communicator (src/dist/dist_single.c) and the helpers of
 * dist.c: with size 1 every collective leaves its buffers as they are (so a single process
 * computes what it computed before the collectives existed), broadcast from a rank that does
 * not exist fails, allgather is an exact copy, the status agreement returns the status and
 * keeps the message, and the row ranges of a batch partition it. The MPI communicator is
 * tested under mpirun by tests/cli/test_mpi.sh. */
#include "dist/dist.h"
#include "tabular/tabular.h"
#include "testhelp.h"

static void test_single_identity(void) {
    mcr_dist *d = mcr_dist_single();
    CHECK(d->rank == 0 && d->size == 1, "rank %d size %d", d->rank, d->size);
    CHECK(!strcmp(d->name, "single"), "name %s", d->name);
    CHECK(mcr_dist_get() == d, "the process's communicator before init is the single one");
}

static void test_allreduce_leaves_buffer(void) {
    mcr_dist *d = mcr_dist_single();
    enum { N = 1037 };
    float a[N], b[N];
    double x[7] = {1, -2, 3.5, 1e300, -0.0, 5, 6}, y[7];
    mcr_fill_normal(a, N, 3, 9);
    memcpy(b, a, sizeof a);
    memcpy(y, x, sizeof x);
    CHECK(d->allreduce_sum(d, a, N) == MCR_OK, "sum");
    CHECK(!memcmp(a, b, sizeof a), "a sum over one rank changed the buffer");
    CHECK(dist_allreduce_weighted(d, a, N, 1.0f) == MCR_OK, "weighted");
    CHECK(!memcmp(a, b, sizeof a), "a weighted mean over one rank changed the buffer");
    CHECK(d->allreduce_sum_f64(d, x, 7) == MCR_OK && !memcmp(x, y, sizeof x), "f64 sum");
    int v[3] = {5, -1, 7};
    CHECK(d->allreduce_min_i32(d, v, 3) == MCR_OK && v[0] == 5 && v[1] == -1 && v[2] == 7, "min");
    CHECK(d->allreduce_sum(d, a, 0) == MCR_OK, "empty sum");
}

static void test_bcast(void) {
    mcr_dist *d = mcr_dist_single();
    char buf[13] = "hello, ranks";
    CHECK(d->bcast(d, buf, sizeof buf, 0) == MCR_OK && !strcmp(buf, "hello, ranks"), "bcast from 0");
    CHECK(d->bcast(d, buf, sizeof buf, 1) == MCR_EINVAL, "bcast from rank 1 of 1 must fail");
    CHECK(strstr(mcr_last_error(), "rank 1") != NULL, "message: %s", mcr_last_error());
}

static void test_allgather(void) {
    mcr_dist *d = mcr_dist_single();
    unsigned char send[11], recv[16];
    for (int i = 0; i < 11; i++) send[i] = (unsigned char)(3 * i + 1);
    memset(recv, 0xAB, sizeof recv);
    CHECK(d->allgather(d, send, sizeof send, recv) == MCR_OK, "allgather");
    CHECK(!memcmp(send, recv, sizeof send), "rank 0's part is its send buffer");
    int untouched = 1;
    for (size_t i = sizeof send; i < sizeof recv; i++) untouched &= recv[i] == 0xAB;
    CHECK(untouched, "allgather wrote past size * nbytes");
    CHECK(d->barrier(d) == MCR_OK, "barrier");
}

/* the variable-size allgather over one rank: the bytes themselves, offsets {0, n}; zero bytes too */
static void test_allgatherv(void) {
    mcr_dist *d = mcr_dist_single();
    const char msg[] = "levels: a,b";
    char *all = NULL;
    size_t *off = NULL;
    int rc = dist_allgatherv(d, msg, sizeof msg, &all, &off);
    CHECK(rc == 0 && off[0] == 0 && off[1] == sizeof msg && !memcmp(all, msg, sizeof msg), "rc %d", rc);
    free(all), free(off);
    rc = dist_allgatherv(d, NULL, 0, &all, &off);
    CHECK(rc == 0 && off[1] == 0 && all, "empty: rc %d", rc);
    free(all), free(off);
}

static void test_agree(void) {
    mcr_dist *d = mcr_dist_single();
    CHECK(dist_agree(d, MCR_OK) == MCR_OK, "ok stays ok");
    mcr_err(MCR_EIO, "disk full at out.csv");
    CHECK(dist_agree(d, MCR_EIO) == MCR_EIO, "a failure stays that failure");
    CHECK(!strcmp(mcr_last_error(), "disk full at out.csv"), "message kept: %s", mcr_last_error());
    /* the public face: one process of rank 0 */
    CHECK(mcr_dist_init(NULL, NULL) == MCR_OK, "init");
    CHECK(mcr_dist_rank() == 0 && mcr_dist_size() == 1, "rank/size");
    CHECK(mcr_dist_agree(MCR_ENOMEM) == MCR_ENOMEM, "public agree");
    CHECK(mcr_dist_finalize(0) == 0, "finalize(0)");
    CHECK(mcr_dist_finalize(3) == 3, "finalize keeps a failure's exit code (and does not exit)");
}

static void test_ranges(void) {
    static const size_t ns[] = {0, 1, 2, 5, 255, 256, 1023, 1024, 100003};
    static const int sizes[] = {1, 2, 3, 4, 7, 16};
    int ok = 1;
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof sizes / sizeof sizes[0]; b++) {
            size_t n = ns[a], next = 0, mn = (size_t)-1, mx = 0;
            int P = sizes[b];
            for (int r = 0; r < P; r++) {
                size_t lo, hi;
                dist_range(n, r, P, &lo, &hi);
                ok &= lo == next && hi >= lo;
                next = hi;
                if (hi - lo < mn) mn = hi - lo;
                if (hi - lo > mx) mx = hi - lo;
            }
            ok &= next == n && mx - mn <= 1;
            CHECK(ok, "n %zu size %d: not a balanced partition", n, P);
            if (!ok) return;
        }
    size_t lo, hi;
    dist_range(1024, 0, 1, &lo, &hi);
    CHECK(lo == 0 && hi == 1024, "one rank takes the whole batch");
}

int main(void) {
    TEST(test_single_identity);
    TEST(test_allreduce_leaves_buffer);
    TEST(test_bcast);
    TEST(test_allgather);
    TEST(test_allgatherv);
    TEST(test_agree);
    TEST(test_ranges);
    return DONE();
}
