/* cmd_report.c — what fidelity, augment and evaluate share for --json OUT and --report FILE. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

void cli_progress_line(void *ctx, const char *msg) { fprintf(stderr, "mcrage: %s: %s\n", (const char *)ctx, msg); }

int cli_write_json(const char *path, int (*fn)(const void *, FILE *), const void *obj) {
    if (!strcmp(path, "-")) return fn(obj, stdout);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return MCR_ENOMEM;
    int rc = fn(obj, f);
    fclose(f);
    if (!rc) rc = mcr_write_file_atomic(path, buf, n);
    free(buf);
    return rc;
}

/* the command line, quoted so that a POSIX shell reruns it */
static char *command_line(int argc, char **argv) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f) return NULL;
    fputs("mcrage", f);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int plain = *a != 0;
        for (const char *p = a; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%", *p)) plain = 0;
        fputc(' ', f);
        if (plain) fputs(a, f);
        else {
            fputc('\'', f);
            for (const char *p = a; *p; p++) *p == '\'' ? fputs("'\\''", f) : fputc(*p, f);
            fputc('\'', f);
        }
    }
    fclose(f);
    return buf;
}

int cli_report_finish(mcr_report *rep, const mcr_assess_result *a, const mcr_table *real,
                      const mcr_table *synth, const char *target, const char *cls, int argc,
                      char **argv, const char *path, int quiet, const char *cmd) {
    int rc = MCR_OK;
    if (real && synth) {
        char h[256];
        snprintf(h, sizeof h, "Real and synthetic distributions%s%s%s%s", cls ? " (" : "", cls ? target : "",
                 cls ? " = " : "", cls ? cls : "");
        if (cls) strncat(h, ")", sizeof h - strlen(h) - 1);
        rc = mcr_report_distributions(rep, h, real, synth, target, cls);
    }
    if (!rc && a) rc = mcr_report_assess(rep, "Fidelity, privacy and utility of the synthetic rows", a);
    char *line = command_line(argc, argv);
    if (!line) return MCR_ENOMEM;
    if (!rc) mcr_report_text(rep, "Command", line);
    free(line);
    if (!rc) rc = mcr_report_write(rep, path);
    if (!rc) fprintf(stderr, "mcrage: %s: wrote report %s (%d charts)\n", cmd, path, mcr_report_ncharts(rep));
    (void)quiet;
    return rc;
}
