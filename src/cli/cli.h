/* cli.h — helpers shared by the subcommands. The CLI includes only the public header. */
#ifndef MCR_CLI_H
#define MCR_CLI_H
#include <mcrage/mcrage.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

/* exit codes */
enum { EXIT_OK = 0, EXIT_USAGE = 1, EXIT_INPUT = 2, EXIT_RUNTIME = 3 };

/* Print "mcrage: CMD: <last error>" and map a library status to an exit code. */
int cli_fail(const char *cmd, int rc);
const char *cli_error(void); /* mcr_last_error() with `field` names written as --options */
/* Print "mcrage: CMD: message" plus a --help hint; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Strict option parsing: the whole string must be a number in [lo, hi]. 0 on success. */
int cli_long(const char *cmd, const char *opt, const char *s, long long lo, long long hi,
             long long *out);
int cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi,
               double *out);
/* Common CSV options: --sep, --na, --categorical, --numeric, --drop. Returns 1 if handled. */
int cli_csv_option(const char *cmd, int c, const char *arg, mcr_csv_options *o, int *err);
#define CLI_CSV_LONGOPTS                                                                       \
    {"sep", required_argument, 0, 1001}, {"na", required_argument, 0, 1002},                  \
        {"categorical", required_argument, 0, 1003}, {"numeric", required_argument, 0, 1004}, \
        {"drop", required_argument, 0, 1005}
#define CLI_CSV_HELP                                                                           \
    "  --sep C              field separator: ',' ';' 'tab' (default: detected)\n"              \
    "  --na TOKENS          comma-separated missing-value tokens (default: '',NA,NaN,?,null)\n" \
    "  --categorical COLS   treat these columns as categorical\n"                              \
    "  --numeric COLS       treat these columns as numeric\n"                                  \
    "  --drop COLS          leave these columns out\n"

/* Model options shared by fit, augment and evaluate: --steps --batch --lr --widths --dim-t --act
 * --dropout --T --schedule --p-uncond --ema --warmup --grad-clip --weight-decay --transform
 * --categorical-mode --min-level-count.
 * Returns 1 if handled (with *err set to an exit code on a bad value). */
int cli_fit_option(const char *cmd, int c, const char *arg, mcr_fit_config *f, int *err);
/* --precision fp32|bf16|auto (fit, sample, augment, evaluate, bench); EXIT_USAGE on others */
int cli_precision(const char *cmd, const char *arg, mcr_precision *out);
#define CLI_PRECISION_HELP                                                                     \
    "      --precision P          matrix products: fp32 (default) | bf16 (CPUs with AVX512-BF16\n" \
    "                             or AMX) | auto (bf16 where the CPU has it)\n"
enum { O_STEPS = 2000, O_BATCH, O_LR, O_WIDTHS, O_DIMT, O_ACT, O_DROPOUT, O_T, O_SCHED, O_PUNC,
       O_EMA, O_WARM, O_CLIP, O_WD, O_TRANSFORM, O_CATMODE, O_MINLEVEL, O_FEATURE };
#define CLI_FIT_LONGOPTS                                                                       \
    {"steps", required_argument, 0, O_STEPS}, {"batch", required_argument, 0, O_BATCH},       \
        {"lr", required_argument, 0, O_LR}, {"widths", required_argument, 0, O_WIDTHS},        \
        {"dim-t", required_argument, 0, O_DIMT}, {"act", required_argument, 0, O_ACT},         \
        {"dropout", required_argument, 0, O_DROPOUT}, {"T", required_argument, 0, O_T},        \
        {"schedule", required_argument, 0, O_SCHED}, {"p-uncond", required_argument, 0, O_PUNC}, \
        {"ema", required_argument, 0, O_EMA}, {"warmup", required_argument, 0, O_WARM},        \
        {"grad-clip", required_argument, 0, O_CLIP},                                           \
        {"weight-decay", required_argument, 0, O_WD}, {"transform", required_argument, 0, O_TRANSFORM},    \
        {"categorical-mode", required_argument, 0, O_CATMODE},                                 \
        {"min-level-count", required_argument, 0, O_MINLEVEL}, {"feature", required_argument, 0, O_FEATURE}
#define CLI_FIT_HELP                                                                           \
    "  diffusion model (method mcrage):\n"                                                     \
    "      --steps N --batch B --lr LR --widths W1,W2,... --T N --schedule cosine|linear\n"    \
    "      --dim-t N --act relu|silu --dropout P --p-uncond P --ema D --warmup N\n"           \
    "      --grad-clip G --weight-decay W --transform quantile|standard|minmax\n"             \
    "      --categorical-mode multinomial|onehot --min-level-count N\n"                      \
    "      --feature COLS         model these identifier-like columns after all\n"            \
    "      (defaults as in 'mcrage fit --help')\n"

/* one line on stderr for each identifier-like column the fit leaves out (nothing if none) */
int cli_say_identifiers(const char *cmd, const mcr_table *t, const mcr_fit_config *c, const char *prefix);

/* progress bar on stderr for fit_config.progress (silent when stderr is not a terminal) */
typedef struct {
    int tty;
    double t0;
} cli_progress;
int cli_progress_bar(void *ctx, int step, int steps, float loss, double rows_per_s); /* returns 0 */
double cli_wall(void);

/* --json OUT / --report FILE (cmd_report.c) */
void cli_progress_line(void *ctx, const char *msg);  /* ctx: the command name */
/* write fn(obj) to path atomically, or to stdout for "-" */
int cli_write_json(const char *path, int (*fn)(const void *, FILE *), const void *obj);
/* the command line, quoted so that a POSIX shell reruns it (malloc'd; NULL: out of memory) */
char *cli_command_line(int argc, char **argv);
/* unless rc: write the report built by the library to path and print "wrote report PATH";
 * frees rep; returns the status */
int cli_report_write(int rc, mcr_report *rep, const char *path, const char *cmd);

int cmd_simulate(int argc, char **argv);
int cmd_augment(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_describe(int argc, char **argv);
int cmd_fidelity(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_image(int argc, char **argv); /* cmd_image.c: `image <sub-command>` */

/* Re-execute with OPENBLAS_CORETYPE=SkylakeX on AVX-512 CPUs where OpenBLAS picked a slower
 * kernel (Debian's 0.3.21 runs Haswell kernels on AMD Zen 4). */
void cli_blas_fast_path(char **argv);
#endif
