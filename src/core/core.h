/* core.h — private: what every module shares (cf. sqliteInt.h): assertions, errors and
 * messages, allocation helpers, atomic output files, a string map, JSON writing, RNG helpers,
 * comparators, a monotonic clock, threads, the saved-model container (container.c) and the
 * registry of RNG streams (enum mcr_stream). Folders above it: nn/ (kernels, optimiser,
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
/* malloc for large buffers (columns, encoded rows): from 4 MiB on, the pages are marked for
 * transparent huge pages (madvise). On the virtual machines measured, first touch of 4 KiB
 * pages ran at ~0.4 GB/s (a 192 MB column: 0.50 s) and 0.15 s with huge pages; free() as usual. */
void *mcr_malloc_big(size_t n);
void *mcr_realloc_big(void *p, size_t n);
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

/* Largest-remainder split of `total` in proportion to w[0..n) (w >= 0): out sums to total,
 * ties go to the lower index; all weights 0 gives all zeros. */
void mcr_apportion(size_t total, const double *w, int n, size_t *out);

/* qsort comparators (ascending) */
int mcr_cmp_size(const void *a, const void *b);   /* size_t */
int mcr_cmp_double(const void *a, const void *b); /* double, NaN not allowed */
int mcr_cmp_float(const void *a, const void *b);  /* float, NaN not allowed */
/* sort doubles ascending (no NaN): a radix sort, several times qsort's speed on large arrays */
void mcr_sort_doubles(double *a, size_t n);
/* The k-th smallest (0-based) of a[0..n), n > k, NaN-free; reorders a (quickselect, O(n)). */
double mcr_select_double(double *a, size_t n, size_t k);

/* seconds on a monotonic clock (differences only) */
double mcr_now(void);

/* container.c: the checksummed, sectioned model file (layout in container.c). Writers append
 * to a growing buffer (an allocation failure sets oom; checked once at the end); readers
 * never pass their end (a short read zero-fills and sets bad; checked by the caller). */
typedef struct mcr_wbuf {
    unsigned char *p;
    size_t n, cap;
    int oom;
} mcr_wbuf;
void mcr_put(mcr_wbuf *w, const void *src, size_t n);
void mcr_put_u32(mcr_wbuf *w, uint32_t v);
void mcr_put_i32(mcr_wbuf *w, int32_t v);
void mcr_put_u64(mcr_wbuf *w, uint64_t v);
void mcr_put_f32(mcr_wbuf *w, float v);
void mcr_put_f64(mcr_wbuf *w, double v);
void mcr_put_str(mcr_wbuf *w, const char *s); /* u32 length, bytes (no terminator) */
/* A section: tag[4], u64 length, payload. Begin returns where the length goes; end fills it. */
size_t mcr_put_section(mcr_wbuf *w, const char *tag);
void mcr_end_section(mcr_wbuf *w, size_t at);
void mcr_wbuf_free(mcr_wbuf *w);

typedef struct mcr_rbuf {
    const unsigned char *p;
    size_t n, pos;
    int bad;
} mcr_rbuf;
int mcr_get(mcr_rbuf *r, void *dst, size_t n); /* 1, or 0 (dst zeroed, r->bad set) */
uint32_t mcr_get_u32(mcr_rbuf *r);
int32_t mcr_get_i32(mcr_rbuf *r);
uint64_t mcr_get_u64(mcr_rbuf *r);
float mcr_get_f32(mcr_rbuf *r);
double mcr_get_f64(mcr_rbuf *r);
char *mcr_get_str(mcr_rbuf *r); /* malloc'd, NULL (r->bad set) if short */
size_t mcr_rbuf_left(const mcr_rbuf *r);
/* The next section of r, if it has this tag and fits: *sec reads its payload, r moves past it.
 * Returns 1, or 0 with r->bad set. */
int mcr_get_section(mcr_rbuf *r, const char *tag, mcr_rbuf *sec);
int mcr_peek_section(const mcr_rbuf *r, const char *tag); /* the next section has this tag */

/* What a kind of file is: magic, name in messages, versions read, what to do about old ones. */
typedef struct mcr_container {
    const char *magic;   /* 8 bytes */
    const char *what;    /* "model": "not an mcrage model file" */
    uint32_t version;    /* written, and the newest read */
    uint32_t oldest;     /* the oldest read */
    const char *remedy;  /* "refit the model" */
} mcr_container;
/* Header + payload, written atomically (mcr_afile). */
int mcr_container_write(const char *path, const char *magic, uint32_t version,
                        const mcr_wbuf *payload);
/* Check magic, header, version, length and CRC of an in-memory file; *payload reads the
 * payload (borrowing data). MCR_ECORRUPT with a message naming the fault. */
int mcr_container_open(const void *data, size_t n, const char *path, const mcr_container *k,
                       uint32_t *version, mcr_rbuf *payload);
/* A whole file into memory (*data malloc'd). */
int mcr_file_read(const char *path, unsigned char **data, size_t *n);

/* Random streams: every stream number the library gives mcr_rng_seed, directly or through
 * mcr_fill_normal / mcr_fill_uniform / dropout_forward, in one registry. fit, sample, augment
 * and evaluate all draw from the user's --seed, so every purpose shares one number space.
 * Expansions: mcr_fill_normal, mcr_fill_uniform and dropout_forward turn stream s into the
 * generator streams 16 s + chunk (chunk < 16); mcr_net_forward gives hidden layer l the
 * dropout stream 17 s + l; mcr_fill_uniform seeds with seed ^ a constant, so its streams
 * never meet the others. Ranges of generator streams, disjoint per purpose:
 *   [0, 16000)              single streams of fixed purposes (below)
 *   16 (1000 + s) + chunk   fit: Gaussian noise of step s        [16000, 10^6) for s < 61500
 *   10^6 + k                sample: initial levels of batch k    [10^6, 1.6 10^6) for k < 600000
 *   16 (100003 k + t) + ch  sample: Gaussian noise, batch k >= 1, time t   >= 1600048
 *   2 10^6 + s              fit: multinomial noise of step s (meets the sample noise of
 *                           batch 1 only if T > 24997)
 *   272 (2^30 + s) + ...    fit: dropout of step s               >= 2.9 10^11
 *   2^52 + i                randaugment: image i (sites.c, MCR_STREAM_RANDAUG)
 * Every purpose also has its own use of the seed: a new stream goes into a free range here. */
#define MCR_STREAM_RANDAUG (UINT64_C(1) << 52)
enum mcr_stream {
    MCR_STREAM_SIMULATE = 0,          /* simulate.c: the synthetic cohort                     */
    MCR_STREAM_FIT = 1,               /* fit: epoch order, time steps, condition dropout      */
    MCR_STREAM_ASSESS_FOLDS = 71,     /* assess.c: detection cross-validation folds           */
    MCR_STREAM_ASSESS_ENCODER = 72,   /* assess.c: rows the shared encoder is fitted on       */
    MCR_STREAM_ASSESS_SPLIT = 73,     /* assess.c: utility (TSTR) split                       */
    MCR_STREAM_ASSESS_SUBSAMPLE = 74, /* assess.c: capped samples of a scope                  */
    MCR_STREAM_ASSESS_BOOT = 75,      /* assess.c: bootstrap of the DCR median ratio          */
    MCR_STREAM_ASSESS_BASE = 76,      /* assess.c: synthetic rows at the holdout's size       */
    MCR_STREAM_AUGMENT = 77,          /* rebalance.c: baseline row picks (ROS, RUS, SMOTE...) */
    MCR_STREAM_SAMPLE_RARE = 78,      /* sample: pooled rare levels (was 77, augment's)       */
    MCR_STREAM_DCR = 991,             /* rebalance.c: the DCR hold-out split                  */
    MCR_STREAM_CLASSIFY = 0xC1F,      /* classify.c: the MLP classifier's weights and batches */
    MCR_STREAM_EVALUATE = 4242,       /* evaluate.c: the train/test split of each seed        */
    MCR_STREAM_EVALUATE_TUNE = 4243,  /* evaluate.c: the threshold-tuning validation split    */
    MCR_STREAM_AUTO_FOLDS = 4244,     /* auto.c: strategy auto's cross-validation folds        */
    MCR_STREAM_IMAGE_FIT = 4245,      /* imodel.c: image fit's epoch order, t, dropout, noise  */
    MCR_STREAM_IMAGE_INIT = 4246,     /* imodel.c: the UNet's initial weights                  */
    MCR_STREAM_IMAGE_SAMPLE = 4247,   /* imodel.c: image sample's initial and step noise       */
    MCR_STREAM_CNN_INIT = 4248,       /* cnn.c: the image classifier's initial weights         */
    MCR_STREAM_CNN_ORDER = 4249,      /* cnn.c: the image classifier's epoch order             */
    MCR_STREAM_QUALITY = 4250,        /* quality.c: the detector's subsample and split         */
    MCR_STREAM_SITES = 4251,          /* sites.c: which source image goes to which site/split  */
    MCR_STREAM_SITES_NOISE = 4252,    /* sites.c: the acquisition noise, in output image order */
    MCR_STREAM_IEVAL = 4253,          /* ieval.c: oversampling's duplicates                    */
    MCR_STREAM_INIT = 0x1417,         /* fit: initial weights (mcr_net_init_params)           */
    MCR_STREAM_FIT_NOISE = 1000,      /* + step: fit's Gaussian noise (x16 chunks)            */
    MCR_STREAM_SAMPLE_LEVELS = 1000000, /* + batch: sample's initial levels                   */
    MCR_STREAM_SAMPLE_NOISE = 100003, /* x batch + t: sample's Gaussian and Gumbel noise      */
    MCR_STREAM_FIT_LEVELS = 2000000,  /* + step: fit's multinomial noise                      */
    MCR_STREAM_DROPOUT = 1 << 30,     /* + step: fit's dropout masks (x17 layers, x16 chunks) */
};

#endif /* MCR_CORE_H */
