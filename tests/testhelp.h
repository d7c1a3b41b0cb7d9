/* testhelp.h — a 30-line harness in the spirit of redis's testhelp.h.
 * CHECK(cond, fmt, ...) records a failed check with a message; TEST(fn) runs one test
 * function and counts it passed when none of its checks failed; DONE() prints
 * "<file>: N passed, N failed" and returns the exit status. */
#ifndef TESTHELP_H
#define TESTHELP_H
#include <stdio.h>
#include <stdlib.h>
static int th_tests_passed, th_tests_failed, th_cur_failed, th_tests_skipped, th_cur_skipped;
/* SKIP(fmt, ...): leave the current test, counted as skipped (e.g. a shared data file is absent) */
#define SKIP(...)                                                                              \
    do {                                                                                       \
        th_cur_skipped = 1;                                                                    \
        printf("skip ");                                                                       \
        printf(__VA_ARGS__);                                                                   \
        printf("\n");                                                                          \
        return;                                                                                \
    } while (0)
#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            th_cur_failed++;                                                                   \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                  \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
        }                                                                                      \
    } while (0)
#define TEST(fn)                                                                               \
    do {                                                                                       \
        th_cur_failed = th_cur_skipped = 0;                                                    \
        fn();                                                                                  \
        if (th_cur_failed) th_tests_failed++, printf("FAIL %s\n", #fn);                        \
        else if (th_cur_skipped) th_tests_skipped++;                                           \
        else th_tests_passed++, printf("ok   %s\n", #fn);                                      \
        fflush(stdout);                                                                        \
    } while (0)
#define DONE()                                                                                 \
    (th_tests_skipped ? printf("%s: %d passed, %d failed, %d skipped\n", __FILE__, th_tests_passed, \
                               th_tests_failed, th_tests_skipped)                               \
                      : printf("%s: %d passed, %d failed\n", __FILE__, th_tests_passed, th_tests_failed), \
     th_tests_failed ? 1 : 0)
/* path of a shared data file: $MCR_DATA/name, else ../shared/datasets/name (tests that read
 * one skip with a message when it is absent: `make test` needs nothing outside the repo) */
static inline const char *th_data(const char *name) {
    static char buf[4096];
    const char *dir = getenv("MCR_DATA");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "../shared/datasets", name);
    return buf;
}
#ifdef MCRAGE_H
/* a small model: `target`, two hidden layers of `width`, batch 256, `steps` steps, the rest default */
static inline mcr_fit_config th_fit_config(const char *target, int width, int steps) {
    mcr_fit_config c;
    mcr_fit_config_default(&c);
    c.target = target;
    c.widths[0] = c.widths[1] = width;
    c.nwidths = 2;
    c.steps = steps;
    c.batch = 256;
    return c;
}
/* fit on t, then sample counts[] with the default sampler: the synthetic rows (NULL on failure,
 * with the library's message printed); the model in *m when m is not NULL */
static inline mcr_table *th_fit_sample(const mcr_table *t, const mcr_fit_config *c, const size_t *counts,
                                       mcr_model **m) {
    mcr_model *mm = NULL;
    mcr_table *s = NULL;
    mcr_sample_config sc;
    mcr_sample_config_default(&sc);
    if (mcr_model_fit(t, NULL, 0, c, &mm) || mcr_model_sample(mm, counts, &sc, &s))
        fprintf(stderr, "  fit/sample: %s\n", mcr_last_error());
    if (m) *m = mm;
    else mcr_model_free(mm);
    return s;
}
/* what a table writes as CSV, as a string (the caller frees it) */
static inline char *th_csv(const mcr_table *t) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    mcr_table_write_csv_stream(t, f);
    fclose(f);
    return buf;
}
/* the simulated cohort of `rows` patients drawn with `seed` (NULL on failure) */
static inline mcr_table *th_cohort(size_t rows, uint64_t seed) {
    mcr_sim_config c;
    mcr_sim_config_default(&c);
    c.rows = rows;
    c.seed = seed;
    mcr_table *t = NULL;
    return mcr_simulate(&c, &t) ? NULL : t;
}
#endif
#endif
