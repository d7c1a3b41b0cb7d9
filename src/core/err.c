/* err.c — status strings, thread-local last-error message, small allocation helpers. */
#include "core/core.h"
#include <string.h>
#include <errno.h>
#include <omp.h>
#include <cblas.h>

static _Thread_local char g_msg[1024];

const char *mcr_strerror(int code) {
    switch (code) {
    case MCR_OK: return "ok";
    case MCR_EINVAL: return "invalid argument";
    case MCR_EPARSE: return "malformed input";
    case MCR_EIO: return "input/output error";
    case MCR_ENOMEM: return "out of memory";
    case MCR_ECORRUPT: return "damaged or incompatible model file";
    case MCR_ENUMERIC: return "numerical failure";
    case MCR_EINTERNAL: return "internal error";
    case MCR_ECANCELED: return "cancelled";
    default: return "unknown error";
    }
}

const char *mcr_last_error(void) { return g_msg[0] ? g_msg : "no error"; }
const char *mcr_version(void) { return MCR_VERSION; }

size_t mcr_sizeof(const char *type) {
#define MCR_SIZE(T) if (strcmp(type, #T) == 0) return sizeof(T)
    if (!type) return 0;
    MCR_SIZE(mcr_rng);
    MCR_SIZE(mcr_csv_options);
    MCR_SIZE(mcr_sim_config);
    MCR_SIZE(mcr_fit_config);
    MCR_SIZE(mcr_sample_config);
    MCR_SIZE(mcr_augment_config);
    MCR_SIZE(mcr_augment_result);
    MCR_SIZE(mcr_metrics);
    MCR_SIZE(mcr_fairness);
    MCR_SIZE(mcr_colfid);
    MCR_SIZE(mcr_pairfid);
    MCR_SIZE(mcr_assess_config);
    MCR_SIZE(mcr_assess_scope);
    MCR_SIZE(mcr_assess_utility);
    MCR_SIZE(mcr_eval_config);
    MCR_SIZE(mcr_eval_cell);
    MCR_SIZE(mcr_eval_info_t);
    MCR_SIZE(mcr_bench_result);
#undef MCR_SIZE
    return 0;
}

int mcr_err(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return code;
}

void *mcr_xcalloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

char *mcr_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

char **mcr_split_list(const char *s, int *count) {
    *count = 0;
    if (!s) return NULL;
    size_t len = strlen(s);
    int n = 1;
    for (size_t i = 0; i < len; i++) n += s[i] == ',';
    char **arr = malloc((size_t)(n + 1) * sizeof(char *) + len + 1);
    if (!arr) return NULL;
    char *buf = (char *)(arr + n + 1);
    memcpy(buf, s, len + 1);
    int k = 0;
    char *p = buf;
    for (;;) {
        char *q = strchr(p, ',');
        if (q) *q = 0;
        while (*p == ' ') p++;
        char *e = p + strlen(p);
        while (e > p && e[-1] == ' ') *--e = 0;
        arr[k++] = p;
        if (!q) break;
        p = q + 1;
    }
    arr[k] = NULL;
    *count = k;
    return arr;
}

static int g_threads = 0;
void mcr_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    g_threads = n;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}
int mcr_get_threads(void) { return g_threads > 0 ? g_threads : omp_get_max_threads(); }
int mcr_threads(void) { return mcr_get_threads(); }

void mcr_say(void (*cb)(void *, const char *), void *ctx, const char *fmt, ...) {
    if (!cb) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    cb(ctx, buf);
}
