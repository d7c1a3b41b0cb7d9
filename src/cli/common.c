/* common.c — option parsing and error reporting shared by the subcommands. */
#include "cli.h"
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The library's last message with its field names (`min_level_count`) written as this tool's
 * options (--min-level-count): the library names fields, each client maps them. */
const char *cli_error(void) {
    static char buf[4096];
    const char *s = mcr_last_error();
    size_t o = 0;
    while (*s && o + 40 < sizeof buf) {
        const char *e = *s == '`' ? strchr(s + 1, '`') : NULL;
        if (!e) {
            buf[o++] = *s++;
            continue;
        }
        size_t n = (size_t)(e - s - 1);
        if (n == 9 && !strncmp(s + 1, "ema_decay", 9)) n = 3; /* the one field named unlike its option */
        buf[o++] = '-', buf[o++] = '-';
        for (size_t i = 0; i < n && o + 2 < sizeof buf; i++) buf[o++] = s[1 + i] == '_' ? '-' : s[1 + i];
        s = e + 1;
    }
    buf[o] = 0;
    return buf;
}

int cli_fail(const char *cmd, int rc) {
    fprintf(stderr, "mcrage: %s: %s\n", cmd, cli_error());
    switch (rc) {
    case MCR_ENOMEM:
    case MCR_ENUMERIC:
    case MCR_EINTERNAL: return EXIT_RUNTIME;
    default: return EXIT_INPUT;
    }
}

int cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "mcrage: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'mcrage %s --help')\n", cmd);
    return EXIT_USAGE;
}

int cli_long(const char *cmd, const char *opt, const char *s, long long lo, long long hi,
             long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_usage(cmd, "%s expects an integer from %lld to %lld, got '%s'", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
               double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        cli_usage(cmd, "%s expects a number from %g to %g, got '%s'", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_csv_option(const char *cmd, int c, const char *arg, mcr_csv_options *o, int *err) {
    *err = 0;
    switch (c) {
    case 1001:
        if (strcmp(arg, "tab") == 0 || strcmp(arg, "\\t") == 0) o->sep = '\t';
        else if (strlen(arg) == 1 && arg[0] != '"' && arg[0] != '\n' && arg[0] != '\r')
            o->sep = arg[0];
        else *err = cli_usage(cmd, "--sep expects one character or 'tab', got '%s'", arg);
        return 1;
    case 1002: o->na_tokens = arg; return 1;
    case 1003: o->categorical = arg; return 1;
    case 1004: o->numeric = arg; return 1;
    case 1005: o->drop = arg; return 1;
    }
    return 0;
}

/* OpenBLAS picks its kernel when it is loaded, from OPENBLAS_CORETYPE or the CPU. Debian's 0.3.21
 * on an AVX-512 machine is often left on the Haswell (AVX2) kernel, by a machine-wide
 * OPENBLAS_CORETYPE=Haswell or by detection (AMD Zen 4): about half the sgemm rate. By default
 * mcrage re-executes itself once with OPENBLAS_CORETYPE=SkylakeX when the CPU has AVX-512 and
 * the loaded kernel is Haswell/Zen. MCRAGE_BLAS_CORETYPE=keep leaves OpenBLAS as it is;
 * MCRAGE_BLAS_CORETYPE=NAME forces kernel NAME. */
void cli_blas_fast_path(char **argv) {
#if defined(__x86_64__)
    if (getenv("MCRAGE_BLAS_REEXEC")) return; /* already re-executed once */
    const char *pref = getenv("MCRAGE_BLAS_CORETYPE");
    const char *core = openblas_get_corename();
    const char *want = NULL;
    if (pref && strcmp(pref, "auto") != 0) {
        if (strcmp(pref, "keep") == 0 || (core && strcasecmp(core, pref) == 0)) return;
        want = pref;
    } else {
        __builtin_cpu_init();
        if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")))
            return;
        if (!core || (strcasecmp(core, "haswell") != 0 && strcasecmp(core, "zen") != 0)) return;
        want = "SkylakeX";
    }
    setenv("OPENBLAS_CORETYPE", want, 1);
    setenv("MCRAGE_BLAS_REEXEC", "1", 1);
    execv("/proc/self/exe", argv); /* on failure, go on with the kernel we have */
#else
    (void)argv;
#endif
}

static int parse_widths(const char *cmd, const char *s, mcr_fit_config *c) {
    c->nwidths = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 65536 || c->nwidths == MCR_MAX_LAYERS || (*end && *end != ','))
            return cli_usage(cmd, "--widths expects up to %d comma-separated widths in 1..65536, got '%s'",
                             MCR_MAX_LAYERS, s);
        c->widths[c->nwidths++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (c->nwidths == 0) return cli_usage(cmd, "--widths is empty");
    return 0;
}

/* one keyword among names[] -> its index into *out */
static int pick(const char *cmd, const char *opt, const char *arg, const char *const *names, int n,
                int *out) {
    for (int i = 0; i < n; i++)
        if (!strcmp(arg, names[i])) {
            *out = i;
            return 0;
        }
    char list[256] = "";
    for (int i = 0; i < n; i++) snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
    return cli_usage(cmd, "%s expects one of %s, got '%s'", opt, list, arg);
}

int cli_precision(const char *cmd, const char *arg, mcr_precision *out) {
    static const char *const names[] = {"fp32", "bf16", "auto"}; /* MCR_PRECISION_* order */
    int k = 0;
    if (pick(cmd, "--precision", arg, names, 3, &k)) return EXIT_USAGE;
    *out = (mcr_precision)k;
    return 0;
}

int cli_fit_option(const char *cmd, int c, const char *arg, mcr_fit_config *f, int *err) {
    long long v;
    double d;
    int k;
    static const char *const acts[] = {"relu", "silu"}, *const scheds[] = {"linear", "cosine"},
                             *const trans[] = {"quantile", "standard", "minmax"},
                             *const cmodes[] = {"onehot", "multinomial"};
    *err = 0;
    switch (c) {
    case O_STEPS: if (!(*err = cli_long(cmd, "--steps", arg, 1, 100000000, &v) ? EXIT_USAGE : 0)) f->steps = (int)v; return 1;
    case O_BATCH: if (!(*err = cli_long(cmd, "--batch", arg, 1, 1 << 20, &v) ? EXIT_USAGE : 0)) f->batch = (int)v; return 1;
    case O_LR: if (!(*err = cli_double(cmd, "--lr", arg, 1e-8, 1, &d) ? EXIT_USAGE : 0)) f->lr = (float)d; return 1;
    case O_WIDTHS: *err = parse_widths(cmd, arg, f) ? EXIT_USAGE : 0; return 1;
    case O_DIMT:
        if (cli_long(cmd, "--dim-t", arg, 2, 4096, &v)) *err = EXIT_USAGE;
        else if (v % 2) *err = cli_usage(cmd, "--dim-t must be even, got %lld", v);
        else f->dim_t = (int)v;
        return 1;
    case O_ACT: if (!(*err = pick(cmd, "--act", arg, acts, 2, &k))) f->act = (mcr_activation)k; return 1;
    case O_DROPOUT: if (!(*err = cli_double(cmd, "--dropout", arg, 0, 0.95, &d) ? EXIT_USAGE : 0)) f->dropout = (float)d; return 1;
    case O_T: if (!(*err = cli_long(cmd, "--T", arg, 2, 100000, &v) ? EXIT_USAGE : 0)) f->T = (int)v; return 1;
    case O_SCHED: if (!(*err = pick(cmd, "--schedule", arg, scheds, 2, &k))) f->schedule = (mcr_schedule)k; return 1;
    case O_PUNC: if (!(*err = cli_double(cmd, "--p-uncond", arg, 0, 0.99, &d) ? EXIT_USAGE : 0)) f->p_uncond = (float)d; return 1;
    case O_EMA: if (!(*err = cli_double(cmd, "--ema", arg, 0, 0.999999, &d) ? EXIT_USAGE : 0)) f->ema_decay = (float)d; return 1;
    case O_WARM: if (!(*err = cli_long(cmd, "--warmup", arg, 0, 100000000, &v) ? EXIT_USAGE : 0)) f->warmup = (int)v; return 1;
    case O_CLIP: if (!(*err = cli_double(cmd, "--grad-clip", arg, 0, 1e6, &d) ? EXIT_USAGE : 0)) f->grad_clip = (float)d; return 1;
    case O_WD: if (!(*err = cli_double(cmd, "--weight-decay", arg, 0, 10, &d) ? EXIT_USAGE : 0)) f->weight_decay = (float)d; return 1;
    case O_TRANSFORM: if (!(*err = pick(cmd, "--transform", arg, trans, 3, &k))) f->numeric = (mcr_numeric_transform)k; return 1;
    case O_CATMODE: if (!(*err = pick(cmd, "--categorical-mode", arg, cmodes, 2, &k))) f->catmode = (mcr_catmode)k; return 1;
    case O_FEATURE: f->features = arg; return 1;
    case O_MINLEVEL: if (!(*err = cli_long(cmd, "--min-level-count", arg, 1, 1000000000, &v) ? EXIT_USAGE : 0)) f->min_level_count = (int)v; return 1;
    }
    return 0;
}


double cli_wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int cli_progress_bar(void *ctx, int step, int steps, float loss, double rows_per_s) {
    cli_progress *p = ctx;
    if (!p->tty) return 0;
    double el = cli_wall() - p->t0, eta = step ? el * (steps - step) / step : 0;
    int w = 24, fill = (int)((double)w * step / steps);
    char bar[32];
    for (int i = 0; i < w; i++) bar[i] = i < fill ? '=' : ' ';
    bar[w] = 0;
    fprintf(stderr, "\r  [%s] step %d/%d  loss %.4f  %.1fk rows/s  ETA %d:%02d ", bar, step, steps,
            loss, rows_per_s / 1000, (int)eta / 60, (int)eta % 60);
    if (step == steps) fputc('\n', stderr);
    fflush(stderr);
    return 0;
}


int cli_say_identifiers(const char *cmd, const mcr_table *t, const mcr_fit_config *c, const char *prefix) {
    int n = mcr_table_ncols(t), *why = calloc((size_t)n + 1, sizeof(int));
    if (!why) return MCR_ENOMEM;
    int rc = mcr_fit_identifiers(t, c, why);
    for (int j = 0; j < n && !rc; j++)
        if (why[j] && mcr_dist_rank() == 0) /* across ranks, rank 0 says it */
            fprintf(stderr, "mcrage: %s: column '%s' is not modelled: identifier-like (%s); synthetic rows "
                            "%s%s%s%s%s (--feature %s models it)\n",
                    cmd, mcr_table_colname(t, j), mcr_identifier_reason(why[j]), prefix ? "get " : "leave it empty",
                    prefix ? prefix : "", prefix ? "1, " : "", prefix ? prefix : "", prefix ? "2, ..." : "",
                    mcr_table_colname(t, j));
    free(why);
    return rc;
}
