/* core.h — private: what every module shares (cf. sqliteInt.h): assertions, errors and
 * messages, allocation helpers, atomic output files, a string map, JSON writing, RNG helpers,
 * comparators, a monotonic clock, threads. Folders above it: nn/ (kernels, optimiser,
 * trainer), diffusion/ (schedules, samplers, multinomial), tabular/, eval/, cli/. */
#ifndef MCR_CORE_H
#define MCR_CORE_H
#include "mcrage/mcrage.h"
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Programmer errors between our own modules (never data or user errors). */
#define MCR_ASSERT(x)                                                                  \
    do {                                                                               \
        if (!(x)) {                                                                    \
            fprintf(stderr, "mcrage: internal assertion failed: %s at %s:%d\n", #x,     \
                    __FILE__, __LINE__);                                               \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* err.c: set the thread-local message, return `code` (so `return mcr_err(...)` works). */
int mcr_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define MCR_NOMEM() mcr_err(MCR_ENOMEM, "out of memory at %s:%d", __FILE__, __LINE__)

/* A progress line formatted with printf's rules, passed to cb (nothing when cb is NULL). */
void mcr_say(void (*cb)(void *, const char *), void *ctx, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void *mcr_xcalloc(size_t n, size_t size); /* calloc that checks n*size overflow */
char *mcr_strdup(const char *s);

/* Split "a,b,c" into a NULL-terminated array of strings (one allocation; free the array). */
char **mcr_split_list(const char *s, int *count);

/* atomic.c: outputs written to a temporary file beside the target, fsync'd, renamed. */
typedef struct mcr_afile {
    FILE *f;
    char *path;
    char *tmp;
} mcr_afile;
int mcr_afile_open(mcr_afile *a, const char *path);
int mcr_afile_commit(mcr_afile *a);  /* flush, fsync, close, rename; aborts on failure */
void mcr_afile_abort(mcr_afile *a);  /* close and unlink the temporary file */

/* string -> int map (open addressing, FNV-1a) */
typedef struct mcr_strmap mcr_strmap;
mcr_strmap *mcr_strmap_new(void);
void mcr_strmap_free(mcr_strmap *m);
/* Returns the value for key or -1; keys are copied on insert. */
int mcr_strmap_get(const mcr_strmap *m, const char *key, size_t len);
int mcr_strmap_put(mcr_strmap *m, const char *key, size_t len, int value);

/* rng.c: Fisher-Yates shuffle (draws below(n), below(n-1), ..., below(2)) */
void mcr_rng_shuffle(mcr_rng *r, size_t *a, size_t n);

/* threads */
int mcr_threads(void);

/* json.c: minimal JSON writing helpers */
void mcr_json_str(FILE *f, const char *s);
void mcr_json_num(FILE *f, double v); /* null for NaN/inf */

/* qsort comparators (ascending) */
int mcr_cmp_size(const void *a, const void *b);   /* size_t */
int mcr_cmp_double(const void *a, const void *b); /* double, NaN not allowed */
int mcr_cmp_float(const void *a, const void *b);  /* float, NaN not allowed */

/* seconds on a monotonic clock (differences only) */
double mcr_now(void);

#endif /* MCR_CORE_H */
