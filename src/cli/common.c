/* common.c — option parsing and error reporting shared by the subcommands. */
#include "cli.h"
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_fail(const char *cmd, int rc) {
    fprintf(stderr, "mcrage: %s: %s\n", cmd, mcr_last_error());
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
