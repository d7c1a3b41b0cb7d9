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
char *cli_command_line(int argc, char **argv) {
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

int cli_report_write(int rc, mcr_report *rep, const char *path, const char *cmd) {
    if (!rc) rc = mcr_report_write(rep, path);
    if (!rc) fprintf(stderr, "mcrage: %s: wrote report %s (%d charts)\n", cmd, path, mcr_report_ncharts(rep));
    mcr_report_free(rep);
    return rc;
}
