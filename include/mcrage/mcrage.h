/*
 * mcrage.h — Minority Class Rebalancing through Augmentation by Generative modelling.
 *
 * The only public header of libmcrage. Read it top to bottom: it is the table of contents.
 *
 *   1. Status codes and errors     every call returns int (MCR_OK = 0, negative on failure);
 *                                  mcr_last_error() has the detailed, printable message.
 *   2. Random numbers              xoshiro256** seeded by splitmix64, one stream per purpose.
 *   3. Tables and CSV              RFC 4180 reading/writing, type inference, NA tokens.
 *   4. Column transforms           quantile-normal / standard / min-max, one-hot, missingness.
 *   5. Simulated cohort            built-in demo data with a documented generating process.
 *   6. Describe                    column summary, class counts, group x class table.
 *   7. The diffusion model         fit / sample / save / load / inspect a conditional DDPM.
 *   8. Rebalancing                 augment: none / ros / rus / smote / smote-nc / adasyn / mcrage.
 *   9. Metrics and fairness;       9b. fidelity (column shapes, pair trends);
 *                                  9c. assessing synthetic data (detection, utility, privacy).
 *  10. Evaluate;                   10b. the HTML report.
 *  11. Benchmark helpers
 *  12. Images                     image sets from .npz (MedMNIST) or PNG + manifest; PNG, grid, .npz out;
 *                                 12b. the conditional image diffusion model (fit, sample, file);
 *                                 12c. an image classifier (small ResNet) and the quality protocol;
 *                                 12d. the multi-site benchmark and RandAugment-style augmentation;
 *                                 12e. image evaluation (methods x ratios x seeds, ID / OOD, fairness).
 *
 * Ownership: a handle returned through `**out` is owned by the caller and freed with its
 * `_free` function (NULL-safe). A `const char *` returned by a getter is borrowed: valid until
 * the handle is freed or modified; copy before use. The library never calls exit() and never
 * writes to stdout; progress is reported through callbacks.
 */
#ifndef MCRAGE_H
#define MCRAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MCR_VERSION_MAJOR 0
#define MCR_VERSION_MINOR 1
#define MCR_VERSION_PATCH 0
#define MCR_VERSION "0.1.0"

/* Every function below is exported from libmcrage.so; nothing else is (the library is built
 * with -fvisibility=hidden and MCR_BUILDING_LIBRARY). */
#if defined(MCR_BUILDING_LIBRARY) && defined(__GNUC__)
#define MCR_API __attribute__((visibility("default")))
#else
#define MCR_API
#endif

/* ---------------------------------------------------------------- 1. status and errors */
enum {
    MCR_OK = 0,
    MCR_EINVAL = -1,    /* an argument or option is invalid (names the option)            */
    MCR_EPARSE = -2,    /* input data is malformed (names file:line:col)                   */
    MCR_EIO = -3,       /* a file could not be read or written                             */
    MCR_ENOMEM = -4,    /* out of memory                                                   */
    MCR_ECORRUPT = -5,  /* a model file is damaged, truncated or of an unknown version     */
    MCR_ENUMERIC = -6,  /* training diverged (NaN/inf loss)                                 */
    MCR_EINTERNAL = -7, /* a bug in mcrage                                                  */
    MCR_ECANCELED = -8  /* a progress callback asked to stop                                */
};
MCR_API const char *mcr_strerror(int code);  /* static string for a status code */
MCR_API const char *mcr_last_error(void);    /* thread-local message of the last failure on this thread */
MCR_API const char *mcr_version(void);
/* sizeof a public struct by name ("mcr_fit_config", ...; 0 if unknown): lets a binding that
 * mirrors the structs (the Python package) check its layouts against the library it loaded. */
MCR_API size_t mcr_sizeof(const char *type);

/* Threads used by OpenMP loops and OpenBLAS (0 = all cores). Set once, before work. */
MCR_API void mcr_set_threads(int n);
MCR_API int mcr_get_threads(void);

/* ---------------------------------------------------------------- 2. random numbers */
typedef struct mcr_rng {
    uint64_t s[4];
    double spare;   /* cached second Box-Muller normal */
    int has_spare;
} mcr_rng;
/* Seed stream `stream` of `seed`: different streams are independent sequences. */
MCR_API void mcr_rng_seed(mcr_rng *r, uint64_t seed, uint64_t stream);
MCR_API uint64_t mcr_rng_u64(mcr_rng *r);
MCR_API double mcr_rng_uniform(mcr_rng *r);          /* [0, 1), 53 random bits */
MCR_API uint64_t mcr_rng_below(mcr_rng *r, uint64_t n); /* uniform integer in [0, n), unbiased */
MCR_API double mcr_rng_normal(mcr_rng *r);           /* standard normal (Box-Muller, polar form) */

/* ---------------------------------------------------------------- 3. tables and CSV */
typedef enum {
    MCR_COL_NUMERIC = 0,     /* real-valued                               */
    MCR_COL_INTEGER = 1,     /* numeric with integer values only          */
    MCR_COL_CATEGORICAL = 2  /* levels kept as the input spelled them     */
} mcr_coltype;
MCR_API const char *mcr_coltype_name(mcr_coltype t); /* "numeric", "integer" or "categorical" */

typedef struct mcr_table mcr_table;

typedef struct mcr_csv_options {
    char sep;                 /* field separator; 0 = detect among ',' ';' '\t' (default 0)   */
    const char *na_tokens;    /* comma-separated NA tokens; NULL = "", NA, NaN, ?, null        */
    const char *categorical;  /* comma-separated columns forced categorical (NULL = none)      */
    const char *numeric;      /* comma-separated columns forced numeric (NULL = none)          */
    const char *drop;         /* comma-separated columns left out on reading (NULL = none)     */
    int max_levels;           /* refuse a categorical column with more levels (0 = no limit)   */
} mcr_csv_options;
MCR_API void mcr_csv_options_default(mcr_csv_options *opt);

/* Read a CSV file. Errors name "file:line:col: message". */
MCR_API int mcr_table_read_csv(const char *path, const mcr_csv_options *opt, mcr_table **out);
/* Same, from memory; `name` is used in messages. */
MCR_API int mcr_table_read_csv_mem(const char *data, size_t len, const char *name,
                           const mcr_csv_options *opt, mcr_table **out);
/* Across the ranks of an MPI job (mcr_dist_size() > 1; a collective, every rank calls it): each
 * rank reads the header and its byte range of the file, cut at record starts (quoted fields
 * with newlines included), and parses only those rows; column types and categorical levels
 * are agreed over the whole file, so the schema is on every rank what mcr_table_read_csv
 * gives, and errors name the file's line and column. The table holds this rank's rows only
 * (mcr_model_fit trains on every rank's rows). In one process: mcr_table_read_csv. */
MCR_API int mcr_table_read_csv_part(const char *path, const mcr_csv_options *opt, mcr_table **out);
/* Write atomically (temporary file in the same directory, fsync, rename). */
MCR_API int mcr_table_write_csv(const mcr_table *t, const char *path);
MCR_API int mcr_table_write_csv_stream(const mcr_table *t, FILE *f);
MCR_API void mcr_table_free(mcr_table *t);
/* A new table holding rows [first, first + n) of t (same columns). */
MCR_API int mcr_table_slice(const mcr_table *t, size_t first, size_t n, mcr_table **out);

MCR_API size_t mcr_table_nrows(const mcr_table *t);
MCR_API int mcr_table_ncols(const mcr_table *t);
MCR_API const char *mcr_table_colname(const mcr_table *t, int j);
MCR_API mcr_coltype mcr_table_coltype(const mcr_table *t, int j);
MCR_API int mcr_table_find(const mcr_table *t, const char *name);   /* column index or -1 */
MCR_API double mcr_table_num(const mcr_table *t, size_t i, int j);  /* numeric value, NAN if missing */
MCR_API int mcr_table_cat(const mcr_table *t, size_t i, int j);     /* level code, -1 if missing */
MCR_API int mcr_table_nlevels(const mcr_table *t, int j);
MCR_API const char *mcr_table_level(const mcr_table *t, int j, int k);
MCR_API int mcr_table_level_find(const mcr_table *t, int j, const char *s); /* code or -1 */
MCR_API size_t mcr_table_nmissing(const mcr_table *t, int j);
MCR_API const char *mcr_table_source(const mcr_table *t);          /* file name it was read from */
/* digits written after the point for a numeric column (-1: shortest exact; -2: not numeric) */
MCR_API int mcr_table_decimals(const mcr_table *t, int j);

/* Identifier-like columns (a record number, an encounter id, a medical record number): never
 * modelled, since a synthetic row carrying a real identifier links it to a real patient.
 * reason[ncols] gets MCR_IDENT_NONE or why the column looks like one: integers or text distinct
 * in >= 95% of >= 20 non-missing rows, or a name such as id, *_id, *_nbr, mrn, PatientID with
 * >= 50% distinct values (admission_type_id with 8 codes stays a feature). */
enum { MCR_IDENT_NONE = 0, MCR_IDENT_UNIQUE = 1, MCR_IDENT_NAME = 2, MCR_IDENT_GROUP = 3 };
MCR_API int mcr_table_identifiers(const mcr_table *t, int *reason);
MCR_API const char *mcr_identifier_reason(int reason);
MCR_API int mcr_identifier_name(const char *name); /* 1 if the name reads like an identifier */

/* Tables from memory, column by column (values are copied; `stride` counts elements, so a
 * column of a C-order [n, k] float array is (base + j, stride k) and a Fortran-order one
 * (base + j * n, stride 1)). NaN marks a missing number, code -1 a missing level. Integer
 * columns must hold whole numbers; `decimals` is the precision written (-1: shortest exact). */
typedef enum { MCR_F32 = 0, MCR_F64 = 1 } mcr_dtype;
MCR_API int mcr_table_new(size_t nrows, mcr_table **out); /* no columns yet; source "<memory>" */
MCR_API int mcr_table_add_numeric(mcr_table *t, const char *name, const void *values, mcr_dtype dtype,
                                  ptrdiff_t stride, mcr_coltype type, int decimals);
MCR_API int mcr_table_add_categorical(mcr_table *t, const char *name, const int32_t *codes, ptrdiff_t stride,
                                      const char *const *levels, int nlevels);
/* Copy a column out: numbers (NaN = missing) or level codes (-1 = missing; spellings from
 * mcr_table_level). */
MCR_API int mcr_table_get_numeric(const mcr_table *t, int j, void *values, mcr_dtype dtype, ptrdiff_t stride);
MCR_API int mcr_table_get_codes(const mcr_table *t, int j, int32_t *codes, ptrdiff_t stride);

/* ---------------------------------------------------------------- 4. column transforms */
typedef enum {
    MCR_NUM_QUANTILE = 0,   /* quantile transform to a standard normal (default) */
    MCR_NUM_STANDARD = 1,   /* (x - mean) / sd                                    */
    MCR_NUM_MINMAX = 2      /* to [-1, 1]                                         */
} mcr_numeric_transform;

typedef struct mcr_encoder mcr_encoder;

/* Fit an encoder on rows `rows[0..nrows)` of `t` (NULL = all rows) for columns `cols[0..ncols)`.
 * Numeric columns: the chosen transform, plus a 0/1 missing indicator where the column has
 * missing values (fill = the transformed median). Categorical columns: one-hot, with missing
 * as a level of its own. */
MCR_API int mcr_encoder_fit(const mcr_table *t, const int *cols, int ncols, const size_t *rows,
                    size_t nrows, mcr_numeric_transform kind, mcr_encoder **out);
MCR_API void mcr_encoder_free(mcr_encoder *e);
MCR_API int mcr_encoder_width(const mcr_encoder *e);   /* encoded width d */
/* Encode rows into x[nrows * d] (row-major, double). */
MCR_API int mcr_encoder_transform(const mcr_encoder *e, const mcr_table *t, const size_t *rows,
                          size_t nrows, double *x);
/* Decode x[nrows * d] into rows `rows` of `t` (which must have the fitted columns): numerics
 * clipped to the fitted range and rounded for integer columns; categoricals by arg-max. */
MCR_API int mcr_encoder_inverse(const mcr_encoder *e, const double *x, size_t nrows, mcr_table *t,
                        const size_t *rows);

/* ---------------------------------------------------------------- 5. simulated cohort */
typedef struct mcr_sim_config {
    size_t rows;            /* number of patients (default 5000)                        */
    uint64_t seed;          /* default 1                                                */
    double minority_rate;   /* overall outcome rate, <= 0.5 (default 0.08)              */
} mcr_sim_config;
MCR_API void mcr_sim_config_default(mcr_sim_config *c);
MCR_API int mcr_simulate(const mcr_sim_config *c, mcr_table **out);
/* Exact counts the simulation produces for a config: race group sizes and positives per group
 * (arrays of mcr_sim_ngroups() entries); names through mcr_sim_group_name(). */
MCR_API int mcr_sim_ngroups(void);
MCR_API const char *mcr_sim_group_name(int g);
MCR_API void mcr_sim_counts(const mcr_sim_config *c, size_t *group_rows, size_t *group_pos);

/* ---------------------------------------------------------------- 6. describe */
/* Summary of `t`: each column's type, missing count and range or levels; the class counts of
 * `target` with the minority (the rarest class; none when the rarest classes tie); the group x
 * class table of `sensitive`. target / sensitive may be NULL; either may be categorical or a
 * numeric column of at most 20 integer codes (then its levels are the values as written).
 * The result borrows `t`: free it first. */
typedef struct mcr_describe_result mcr_describe_result;
MCR_API int mcr_describe_compute(const mcr_table *t, const char *target, const char *sensitive,
                                 mcr_describe_result **out);
MCR_API int mcr_describe_print(const mcr_describe_result *r, FILE *f);
MCR_API int mcr_describe_write_json(const mcr_describe_result *r, FILE *f);
/* the minority class (borrowed), NULL without a target or when the rarest classes tie */
MCR_API const char *mcr_describe_minority(const mcr_describe_result *r);
MCR_API void mcr_describe_free(mcr_describe_result *r);
/* compute, then write as text or JSON to `f`, and free */
MCR_API int mcr_describe(const mcr_table *t, const char *target, const char *sensitive, int json, FILE *f);

/* ---------------------------------------------------------------- 7. the diffusion model */
typedef enum { MCR_COND_TARGET = 0, MCR_COND_SENSITIVE = 1, MCR_COND_BOTH = 2 } mcr_condition;
typedef enum { MCR_SCHED_LINEAR = 0, MCR_SCHED_COSINE = 1 } mcr_schedule;
/* DDPM: all T ancestral steps; DDIM (Song et al. 2021) and DPM-Solver++(2M) (Lu et al. 2022, its
 * SDE form with eta) on the grid t = k T / K of sample_steps K */
typedef enum { MCR_SAMPLER_DDPM = 0, MCR_SAMPLER_DDIM = 1, MCR_SAMPLER_DPMPP = 2 } mcr_sampler;
/* Precision of the denoiser's matrix products (hidden and output layers): fp32 (OpenBLAS, the
 * default and the reference), bf16 (oneDNN: bf16 inputs, fp32 accumulation, fp32 master
 * weights and optimiser state; only on CPUs with AVX512-BF16 or AMX, else MCR_EINVAL), auto
 * (bf16 where the CPU has it, else fp32). */
typedef enum { MCR_PRECISION_FP32 = 0, MCR_PRECISION_BF16 = 1, MCR_PRECISION_AUTO = 2 } mcr_precision;
/* 1 when this CPU multiplies bf16 natively (what auto picks) */
MCR_API int mcr_cpu_has_bf16(void);
typedef enum { MCR_ACT_RELU = 0, MCR_ACT_SILU = 1 } mcr_activation;
/* categorical columns (and numeric missing-value indicators) in the diffusion model */
typedef enum {
    MCR_CAT_ONEHOT = 0,      /* one-hot dims under Gaussian diffusion, decoded by arg-max   */
    MCR_CAT_MULTINOMIAL = 1  /* multinomial diffusion per column (default)                 */
} mcr_catmode;

#define MCR_MAX_LAYERS 16

typedef struct mcr_model mcr_model;

typedef struct mcr_fit_config {
    const char *target;          /* column to rebalance (required)                         */
    const char *sensitive;       /* sensitive attribute (optional)                         */
    const char *drop;            /* comma-separated columns not modelled (optional)        */
    const char *features;        /* comma-separated columns modelled even if identifier-like:
                                    by default identifier-like columns (mcr_table_identifiers)
                                    are not modelled and synthetic rows leave them empty      */
    mcr_condition condition;     /* what the model is conditioned on (default target)      */
    int widths[MCR_MAX_LAYERS];  /* hidden widths (default 256,512,512,256)                */
    int nwidths;
    int dim_t;                   /* embedding width (default 128)                          */
    mcr_activation act;          /* default ReLU                                           */
    float dropout;               /* default 0                                              */
    int T;                       /* diffusion steps (default 1000)                         */
    mcr_schedule schedule;       /* default cosine                                         */
    int steps;                   /* optimiser steps (default 3000)                         */
    int batch;                   /* default 1024 (capped at the row count)                 */
    float lr;                    /* default 2e-3                                           */
    float weight_decay;          /* default 1e-4                                           */
    int warmup;                  /* linear warm-up steps (default 0)                       */
    float grad_clip;             /* global-norm clip, 0 = off (default 1.0)                */
    float ema_decay;             /* default 0.999                                          */
    float p_uncond;              /* condition dropped with this probability (default 0.1) */
    mcr_numeric_transform numeric; /* default quantile                                     */
    mcr_catmode catmode;         /* default multinomial                                    */
    int min_level_count;         /* levels seen fewer times are pooled (default 1: none)   */
    uint64_t seed;               /* default 1                                              */
    /* progress: called every `progress_every` steps (default 10) and at the end; a non-zero
     * return stops the fit with MCR_ECANCELED ("cancelled at step N", nothing is returned) */
    int (*progress)(void *ctx, int step, int steps, float loss, double rows_per_s);
    void *progress_ctx;
    int progress_every;
    /* checkpoints: every `checkpoint_every` steps (0 = never) the model file at
     * `checkpoint_path` is rewritten (atomically) with the full training state */
    int checkpoint_every;
    const char *checkpoint_path;
    /* continue the training state of this checkpoint (loaded with mcr_model_load); the data
     * and settings must be the ones it was made with (checked by checksums) */
    const struct mcr_model *resume;
    /* matrix products in training (default fp32); the model file records the one used */
    mcr_precision precision;
} mcr_fit_config;
MCR_API void mcr_fit_config_default(mcr_fit_config *c);

/* Fit a conditional DDPM on all rows of t (or rows[0..nrows) if rows != NULL). */
/* The columns a fit with config c leaves out as identifier-like: reason[ncols] gets MCR_IDENT_*
 * (MCR_IDENT_NONE for modelled, condition, dropped and c->features columns). */
MCR_API int mcr_fit_identifiers(const mcr_table *t, const mcr_fit_config *c, int *reason);
MCR_API int mcr_model_fit(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_fit_config *c,
                  mcr_model **out);
MCR_API void mcr_model_free(mcr_model *m);

typedef struct mcr_sample_config {
    float guidance;         /* w in eps = (1+w) eps_cond - w eps_uncond (default 0)           */
    mcr_sampler sampler;    /* default DPM-Solver++(2M) (25 steps: DDIM-100's fidelity)        */
    int sample_steps;       /* DDIM / DPM-Solver++ steps on the grid t = k T / K (default 25);
                               DDPM uses all T                                                   */
    float eta;              /* noise: 0 deterministic, 1 (default) the DDPM posterior on the grid
                               (deterministic DDIM over-spreads tables' tails); both samplers
                               agree at 0 and 1                                                   */
    uint64_t seed;          /* default 1                                                      */
    int chunk;              /* rows generated per batch (default 2048)                        */
    mcr_precision precision; /* matrix products while sampling (default fp32)                 */
} mcr_sample_config;
MCR_API void mcr_sample_config_default(mcr_sample_config *c);

/* What the model is conditioned on; the target and sensitive columns' names (borrowed; NULL
 * when the model has none), either pointer may be NULL. */
MCR_API mcr_condition mcr_model_condition(const mcr_model *m, const char **target, const char **sensitive);
/* Number of condition values and their printable names ("in", or "in|F" for both: target
 * value, then sensitive value). */
MCR_API int mcr_model_ncond(const mcr_model *m);
MCR_API const char *mcr_model_cond_name(const mcr_model *m, int c);
MCR_API int mcr_model_cond_find(const mcr_model *m, const char *name);  /* index or -1 */
/* Training-set count of each condition value. */
MCR_API size_t mcr_model_cond_count(const mcr_model *m, int c);

/* Sample counts[c] rows for each condition c (counts has mcr_model_ncond() entries).
 * The result has the training CSV's columns, order and spellings. */
MCR_API int mcr_model_sample(const mcr_model *m, const size_t *counts, const mcr_sample_config *c,
                     mcr_table **out);

MCR_API int mcr_model_save(const mcr_model *m, const char *path);
/* Training steps done and planned, if the file is a checkpoint (else *done = -1). */
MCR_API void mcr_model_progress(const mcr_model *m, int *done, int *planned);
MCR_API int mcr_model_load(const char *path, mcr_model **out);
/* Same, from memory; `name` is used in messages. */
MCR_API int mcr_model_load_mem(const void *data, size_t len, const char *name, mcr_model **out);
/* Human-readable description: architecture, schema, training settings, loss, parameters. */
MCR_API int mcr_model_inspect(const mcr_model *m, FILE *f);
MCR_API size_t mcr_model_nparams(const mcr_model *m);
MCR_API float mcr_model_final_loss(const mcr_model *m);
/* Training loss, averaged over windows of *every steps: *n values (borrowed). */
MCR_API const float *mcr_model_loss_curve(const mcr_model *m, int *n, int *every);

/* ---------------------------------------------------------------- 8. rebalancing */
typedef enum {
    MCR_AUG_NONE = 0, MCR_AUG_ROS, MCR_AUG_RUS, MCR_AUG_SMOTE, MCR_AUG_SMOTENC, MCR_AUG_ADASYN,
    MCR_AUG_MCRAGE, MCR_AUG_MCRAGE_AUTO, /* mcrage-auto: mcrage with strategy auto (evaluate) */
    MCR_AUG_MCRAGE_PLAUSIBLE, /* mcrage-plausible: select_pool candidates per new row sampled, the
                                 ones with the lowest denoising loss under the model kept (the
                                 rows the model itself finds most typical of their condition) */
    MCR_AUG_MCRAGE_BOUNDARY,  /* mcrage-boundary: select_pool candidates per new row, the ones a
                                 class-weighted logistic regression on the real rows finds
                                 closest to the class boundary kept (smallest margin between
                                 their class's probability and the next one's) */
    MCR_AUG_NMETHODS
} mcr_aug_method;
typedef enum {
    MCR_STRAT_BALANCE = 0,       /* every class up to the majority count (MCRAGE's rule)        */
    MCR_STRAT_RATIO = 1,         /* minority / majority = ratio                                 */
    MCR_STRAT_GROUP_BALANCE = 2, /* per (group, label) cell: groups equal in size, each keeping
                                    the overall label prevalence (Ktena et al.)                 */
    MCR_STRAT_COUNTS = 3,        /* `counts`: "CLASS=N,..." rows to add to each class (rus: rows
                                    to keep), as imbalanced-learn's sampling_strategy dict     */
    MCR_STRAT_AUTO = 4           /* mcrage: the amount (share of the balancing rows, 0 = none), the
                                    group policy (balance / group-balance) and the guidance weight
                                    chosen by stratified K-fold cross-validation inside the rows
                                    (mcr_auto_choose), then applied to all of them               */
} mcr_aug_strategy;
/* What strategy auto maximises (`optimize`), on the held-out fold with arg-max decisions (or
 * tuned thresholds, auto_tuned). */
typedef enum {
    MCR_AUTO_MINORITY_F1 = 0, MCR_AUTO_WORST_GROUP_RECALL = 1, MCR_AUTO_AUROC = 2,
    MCR_AUTO_BALANCED_ACCURACY = 3, MCR_AUTO_NMETRICS
} mcr_auto_metric;
MCR_API const char *mcr_auto_metric_name(mcr_auto_metric m); /* "minority-f1", ... */
MCR_API int mcr_auto_metric_parse(const char *s, mcr_auto_metric *out); /* 0 or MCR_EINVAL */

typedef struct mcr_augment_config {
    const char *target, *sensitive, *drop;
    mcr_aug_method method;
    mcr_aug_strategy strategy;
    double ratio;               /* for MCR_STRAT_RATIO */
    const char *counts;         /* for MCR_STRAT_COUNTS: "CLASS=N,..." (classes not named: kept) */
    double synthetic_fraction;  /* share of synthetic rows in the result; < 0 = off (default) */
    int k;                      /* SMOTE / ADASYN neighbours (default 5) */
    const char *mark_synthetic; /* add a column of this name: 1 for synthetic rows, else 0 */
    int keep_copies;            /* mcrage: keep synthetic rows that exactly copy a training row
                                   (default 0: they are resampled, up to 10 rounds) */
    int keep_model;             /* mcrage: keep the fitted model in the result (default 0) */
    int dcr_check;              /* mcrage: count synthetic rows whose distance to the closest
                                   record (DCR, on the standardised / one-hot encoding) is below
                                   the 1st percentile of real holdout rows' DCR (a random 20% of
                                   the training rows held out, distances to the other 80%)
                                   (default 1) */
    uint64_t seed;
    mcr_fit_config fit;         /* for method mcrage (target / sensitive / drop set from above) */
    mcr_sample_config sample;
    int synthetic_only;         /* the result table holds the synthetic rows alone (nreal = 0),
                                   for callers that keep the real rows (the Python samplers);
                                   ignored by none and rus (default 0) */
    const char *synthetic_id_prefix; /* identifier-like columns (mcr_fit_identifiers) of the
                                   synthetic rows get PREFIX1, PREFIX2, ... (the column is then
                                   written as text; refused if a token equals a real value);
                                   NULL (default): left empty. Every method: an identifier is
                                   never copied, interpolated or generated into a new row */
    double amount;              /* share of each cell's synthetic rows made, in (0, 1]; 0
                                   (default) = all of them (strategy auto's "share") */
    int condition_both;         /* mcrage with a sensitive column: condition the model on (class,
                                   group) with any strategy; balance then splits each class's
                                   new rows over groups as its rows are (auto sets it) */
    int folds;                  /* strategy auto: K of the stratified K-fold CV (default 3) */
    mcr_auto_metric optimize;   /* strategy auto: the metric (default minority F1) */
    int auto_classifier;        /* strategy auto: the mcr_clf_kind scored (default -1: logreg;
                                   evaluate: its first classifier) */
    int auto_tuned;             /* strategy auto, binary targets: decisions on each held-out fold
                                   at a tuned threshold (chosen by minority F1 on the fold's other
                                   half, both ways), not at 0.5; evaluate sets it with
                                   tune_threshold (default 0) */
    double select_pool;         /* mcrage-plausible / mcrage-boundary: candidates sampled per new
                                   row, 1 to 20 (default 2: half are kept) */
    const struct mcr_model *prefit; /* mcrage and its selections: a model already fitted on these
                                   rows with these settings (seed included), used instead of
                                   fitting one (borrowed; evaluate shares one across the three
                                   methods of a seed); NULL (default): fit */
    void (*progress)(void *ctx, const char *msg); /* strategy auto: a line per fold's stage (its
                                   fit, each sample, the scoring); NULL (default): silent */
    void *progress_ctx;
} mcr_augment_config;
MCR_API void mcr_augment_config_default(mcr_augment_config *c);
MCR_API const char *mcr_aug_method_name(mcr_aug_method m);
MCR_API int mcr_aug_method_parse(const char *s, mcr_aug_method *out); /* 0 or MCR_EINVAL */
/* What augment did. The table holds the real rows (or, for rus, the kept ones) followed by
 * nsynth synthetic rows, with t's schema (a target / sensitive column of integer codes becomes
 * categorical, written as before). Everything is owned by the result. */
typedef struct mcr_augment_result {
    mcr_table *table;
    size_t nreal, nsynth;        /* real rows kept, synthetic rows added                       */
    mcr_aug_method method;
    char *source;                /* the input's file name                                      */
    /* mcrage only: */
    int copies_resampled;        /* 1: exact copies of training rows were resampled            */
    size_t copies_found;         /* exact copies among the first samples                       */
    size_t copies_left;          /* exact copies remaining in the result                       */
    size_t dcr_close;            /* synthetic rows below the DCR threshold (dcr_check)         */
    double dcr_threshold;        /* the holdout rows' 1st percentile DCR; NaN if not computed  */
    struct mcr_model *model;     /* the fitted model (keep_model), else NULL                   */
    struct mcr_auto_result *autochoice; /* strategy auto: the grid, its CV scores, the choice */
} mcr_augment_result;
/* Strategy auto (mcr_auto_choose). The grid: share of the strategy's synthetic rows {0, 0.25,
 * 0.5, 1} x guidance {0, 1.5} x policy {balance, group-balance (with a sensitive column)}, share
 * 0 once (no rebalancing). Per fold one diffusion model is fitted on the fold's training part
 * (conditioned on class and group when there is a sensitive column) and the largest amount is
 * sampled once per (policy, guidance); smaller shares take nested prefixes of those rows in
 * each condition. The choice: the highest CV mean; ties go to the earlier (simpler) point. */
typedef struct mcr_auto_point {
    double share;               /* of the full balancing amount (0: no synthetic rows)        */
    mcr_aug_strategy strategy;  /* MCR_STRAT_BALANCE or MCR_STRAT_GROUP_BALANCE               */
    float guidance;
    double mean, sd;            /* the metric over folds (sd: sample sd; NaN below 2 folds)   */
    int nfolds;                 /* folds with a finite score                                  */
} mcr_auto_point;
typedef struct mcr_auto_result {
    mcr_auto_point *points;     /* [npoints], simplest first                                  */
    int npoints, chosen;
    mcr_auto_metric optimize;
    int classifier;             /* mcr_clf_kind */
    int folds;
    size_t nrows;               /* labelled rows cross-validated                              */
} mcr_auto_result;
/* Choose on rows[0..nrows) of t (NULL = all) for config c (target, sensitive, drop, fit,
 * sample, seed, folds, optimize, auto_classifier). Same data, config and seed: same choice.
 * Refused (MCR_EINVAL): folds outside 2..20, a class with fewer rows than folds, worst-group
 * recall without a sensitive column. */
MCR_API int mcr_auto_choose(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                            mcr_auto_result **out);
MCR_API void mcr_auto_result_free(mcr_auto_result *r);
/* "share 0.25, balance, guidance 1.5" */
MCR_API void mcr_auto_point_label(const mcr_auto_point *p, char *buf, size_t n);
/* the grid as text lines (each with prefix; the choice marked) / as one JSON object */
MCR_API int mcr_auto_print(const mcr_auto_result *r, const char *prefix, FILE *f);
MCR_API int mcr_auto_write_json(const mcr_auto_result *r, FILE *f);
/* Rebalance rows[0..nrows) of t (NULL = all). Refused (MCR_EINVAL): no rows, a target with a
 * single class. */
MCR_API int mcr_augment_run(const mcr_table *t, const size_t *rows, size_t nrows,
                            const mcr_augment_config *c, mcr_augment_result **out);
MCR_API void mcr_augment_result_free(mcr_augment_result *r);
/* The summary as text lines, each starting with `prefix` (e.g. "mcrage: augment: "); output
 * is the file the table was written to (may be NULL). */
MCR_API int mcr_augment_print(const mcr_augment_result *r, const char *prefix, const char *output, FILE *f);
/* {"data", "output", "method", "rows", "synthetic_rows", and for mcrage the copy and DCR
 * checks}; data / output: the file names to record */
MCR_API int mcr_augment_write_json(const mcr_augment_result *r, const char *data, const char *output, FILE *f);
/* Rows per condition of a model (counts has mcr_model_ncond() entries), for mcr_model_sample:
 * spec "VALUE=N,..." (N summed per value; cls and n ignored), or n rows of condition `cls`, or
 * (both NULL) n rows split like the training data, largest remainder. */
MCR_API int mcr_sample_counts(const struct mcr_model *m, const char *spec, const char *cls, size_t n,
                              size_t *counts);
/* mcr_augment_run keeping only the table: *out, and the synthetic row count in *nsynth */
MCR_API int mcr_augment(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                mcr_table **out, size_t *nsynth);

/* ---------------------------------------------------------------- 9. metrics and fairness */
/* Classification metrics from predicted probabilities prob[n * K] (rows sum to 1) and true
 * classes y[n] in [0, K). `positive` is the class the binary quantities refer to (the
 * minority): precision/recall/F1 of it, selection rate (share predicted positive), TPR, FPR,
 * AUROC (binary: P(score_pos > score_neg) with ties counted 1/2; K > 2: one-vs-rest macro),
 * AUPRC (average precision of the positive class, ties grouped as scikit-learn does).
 * Predictions are the arg-max class. Undefined quantities (no positives, one class only) are
 * NaN; F1/precision with an empty denominator are 0 (scikit-learn's zero_division=0). */
/* Calibration of the positive class's probability p (van den Goorbergh et al. 2022): the slope
 * and intercept of the logistic recalibration logit P(y) = a + b logit(p) fitted by maximum
 * likelihood (1 and 0 when calibrated; slope < 1: over-confident), and the expected calibration
 * error over 10 equal-width bins of p (sum of n_b/n |mean y - mean p|). NaN when undefined. */
typedef struct mcr_metrics {
    size_t n;
    double accuracy, balanced_accuracy, f1_macro, f1_minority, precision_minority,
        recall_minority, auroc, auprc, log_loss, brier, selection_rate, tpr, fpr;
    double calibration_slope, calibration_intercept, ece;
} mcr_metrics;
/* the calibration fields alone, from scores p[n] in [0, 1] and labels y[n] in {0, 1} */
MCR_API void mcr_calibration(const double *p, const int *y, size_t n, double *slope, double *intercept, double *ece);
MCR_API int mcr_metrics_compute(const int *y, const double *prob, size_t n, int K, int positive,
                        mcr_metrics *out);
/* Binary AUROC of scores for labels 0/1 (Mann-Whitney with mid-ranks); NaN if a class is absent. */
MCR_API double mcr_auroc(const double *score, const int *label, size_t n);
MCR_API double mcr_average_precision(const double *score, const int *label, size_t n);

/* Fairness over groups g[n] in [0, G) (-1 = unknown, left out), as fairlearn defines them:
 * demographic parity difference = max - min selection rate; equalized odds difference =
 * max(TPR gap, FPR gap); worst-group accuracy / recall; best - worst gaps for accuracy and
 * AUROC. Groups where a quantity is undefined (e.g. no positives) are skipped for it.
 * per_group[G] receives each group's metrics (may be NULL). */
typedef struct mcr_fairness {
    double dp_difference, eo_difference, worst_group_accuracy, worst_group_recall,
        accuracy_gap, auroc_gap;
} mcr_fairness;
MCR_API int mcr_fairness_compute(const int *y, const double *prob, const int *g, size_t n, int K,
                         int positive, int G, mcr_metrics *per_group, mcr_fairness *out);

/* ---------------------------------------------------------------- 9b. fidelity (column shapes) */
/* Per column of `real` (matched by name in `synth`): the two-sample Kolmogorov-Smirnov
 * statistic for numerics, the total variation distance between level frequencies (matched by
 * spelling, missing excluded) for categoricals, and both missing rates. With filter_col, only
 * rows whose filter_col equals filter_value are compared (e.g. the minority class). Scores as
 * SDMetrics defines them are 1 - KS and 1 - TV. `name` is borrowed from `real`. */
typedef struct mcr_colfid {
    const char *name;
    int categorical;
    double stat, real_missing, synth_missing;
    size_t nreal, nsynth;
} mcr_colfid;
/* Write n bytes to path atomically (temporary file beside it, fsync, rename). */
MCR_API int mcr_write_file_atomic(const char *path, const void *data, size_t n);
/* Write s as a JSON string literal (RFC 8259 escapes). */
MCR_API void mcr_json_string(FILE *f, const char *s);
/* Write v as a JSON number (shortest round trip), null for NaN or infinity. */
MCR_API void mcr_json_number(FILE *f, double v);
MCR_API int mcr_fidelity_columns(const mcr_table *real, const mcr_table *synth, const char *filter_col,
                         const char *filter_value, mcr_colfid **out, int *ncols);

/* Column pair trends (SDMetrics): for each pair of compared columns, numeric x numeric:
 * correlation similarity 1 - |rho_real - rho_synth| / 2 (Pearson, rows with both present);
 * any pair with a categorical: contingency similarity 1 - TVD of the two normalised
 * contingency tables, numerics binned into 10 equal-width bins over the real range, missing
 * as a category of its own. Same row filter as mcr_fidelity_columns. Names are borrowed. */
typedef struct mcr_pairfid {
    const char *a, *b;
    int correlation;         /* 1: correlation similarity, 0: contingency similarity */
    double real, synth;      /* rho of each table (correlation pairs; NAN otherwise)  */
    double score;
} mcr_pairfid;
MCR_API int mcr_fidelity_pairs(const mcr_table *real, const mcr_table *synth, const char *filter_col,
                       const char *filter_value, mcr_pairfid **out, int *npairs);

/* ---------------------------------------------------------------- 9c. assess synthetic data */
/* Fidelity, detection, utility and privacy of a synthetic table against the real rows it was
 * made from (and, for the privacy baselines, real rows it never saw: the holdout). Columns are
 * matched by name (the real table's columns present in the synthetic one); categorical levels by
 * spelling. Rows are encoded for distances and classifiers as in evaluate: numerics
 * standardised on the real rows (missing: median plus an indicator), categoricals one-hot.
 *
 * Every metric is computed per scope: all rows, each class of `target`, each group of
 * `sensitive`. In a scope only the real, synthetic and holdout rows of that class / group take
 * part; the reference sets of the distance metrics stay the whole training / synthetic sample.
 *   column shapes, column pair trends   as mcr_fidelity_columns / mcr_fidelity_pairs
 *   detection AUROC   logreg and xgb trained to tell real from synthetic rows (equal numbers of
 *                     each, at most max_rows) under `folds`-fold stratified cross-validation;
 *                     AUROC of the out-of-fold scores (0.5: indistinguishable, 1: separable)
 *   exact-copy rate   share of synthetic rows equal, on every column, to a real training row
 *   DCR               distance to the closest training record of each synthetic row and of each
 *                     holdout row; quantiles, the ratio of the medians (synthetic / holdout;
 *                     < 1: synthetic rows sit closer to the training patients than new patients
 *                     do) and the share of synthetic rows closer than the holdout's 5th percentile
 *   membership inference AUROC   training rows (members) vs holdout rows (non-members), scored
 *                     by minus their distance to the nearest synthetic row (0.5: no leak)
 * Utility (all rows, needs target): each classifier trained on real training rows (TRTR) and on
 * the synthetic rows (TSTR), both tested on the holdout (without one: on a stratified 30% of
 * the real rows kept out of TRTR's training; the generator may have seen them). */
typedef struct mcr_assess_config {
    const char *target;          /* class column (optional): per-class scopes and utility      */
    const char *sensitive;       /* group column (optional): per-group scopes                  */
    const char *minority;        /* the class reported as minority (default: the rarest real)  */
    const char *drop;            /* comma-separated columns left out (an id, unmodelled ones)  */
    const mcr_table *holdout;    /* real rows the generator never saw (optional)               */
    int folds;                   /* detection cross-validation folds (default 5)               */
    size_t max_rows;             /* rows per side sampled per scope (default 5000); reference
                                    sets for distances hold up to 4 x max_rows rows            */
    int detection, utility, privacy; /* parts computed (default all 1)                         */
    uint64_t seed;               /* default 1                                                  */
    void (*progress)(void *ctx, const char *msg);
    void *progress_ctx;
    int baseline;                /* with a holdout: the same fidelity and detection scores of
                                    the holdout against the real rows, and of the synthetic rows
                                    subsampled to the holdout's size (mcr_assess_baseline), so a
                                    score can be read against what real data gets (default 1) */
} mcr_assess_config;
MCR_API void mcr_assess_config_default(mcr_assess_config *c);

#define MCR_NQ 5 /* DCR quantiles: 5th, 25th, 50th, 75th, 95th percentile */
typedef struct mcr_assess_scope {
    const char *kind;            /* "all", "class" or "group"                                  */
    const char *value;           /* the class or group ("" for all)                            */
    size_t nreal, nsynth, nholdout;
    double column_shapes, pair_trends;
    double detect_logreg, detect_xgb;   /* detection AUROC (NaN: too few rows)                 */
    double copy_rate;                   /* exact copies of training rows among synthetic rows  */
    double dcr_synth[MCR_NQ], dcr_holdout[MCR_NQ];
    double dcr_ratio, dcr_close;        /* median ratio; share below the holdout's 5th pct     */
    double mia_auroc;
    /* 95% intervals: membership AUROC by its Hanley-McNeil standard error (A +- 1.96 SE,
     * within [0, 1]); DCR median ratio by a percentile bootstrap (1,000 resamples of both
     * sides, fixed seed). NaN where the value is. */
    double mia_lo, mia_hi, dcr_ratio_lo, dcr_ratio_hi;
} mcr_assess_scope;

typedef struct mcr_assess_utility {
    int clf;                     /* classifier (an mcr_clf_kind)                               */
    size_t ntrain_real, ntrain_synth, ntest;
    double acc[2], f1_macro[2], auroc[2];       /* [0] TRTR, [1] TSTR                          */
    double *f1_class[2], *recall_class[2];      /* [K] per class                               */
} mcr_assess_utility;

typedef struct mcr_assess_result mcr_assess_result;
MCR_API int mcr_assess(const mcr_table *real, const mcr_table *synth, const mcr_assess_config *c,
               mcr_assess_result **out);
MCR_API int mcr_assess_nscopes(const mcr_assess_result *r);
MCR_API const mcr_assess_scope *mcr_assess_scope_at(const mcr_assess_result *r, int i);
/* the scope of the minority class (or all rows without a target) */
MCR_API const mcr_assess_scope *mcr_assess_minority(const mcr_assess_result *r);
/* utility: number of classifiers, their results; classes (names borrowed) */
MCR_API int mcr_assess_nutility(const mcr_assess_result *r);
/* why utility was not computed ("" when it was) */
MCR_API const char *mcr_assess_utility_note(const mcr_assess_result *r);
MCR_API const mcr_assess_utility *mcr_assess_utility_at(const mcr_assess_result *r, int i);
MCR_API int mcr_assess_nclasses(const mcr_assess_result *r);
/* Real rows left out because their class has no synthetic rows (a table of added minority rows
 * is compared with the real minority rows): the "all" and group scopes then cover only the
 * synthetic table's classes; holdout rows are filtered the same way. */
MCR_API size_t mcr_assess_real_left_out(const mcr_assess_result *r);
MCR_API const char *mcr_assess_class_name(const mcr_assess_result *r, int k);
/* Column shapes of all rows (scope 0) and of the minority scope (names borrowed). */
MCR_API const mcr_colfid *mcr_assess_columns(const mcr_assess_result *r, int minority, int *n);
/* Text: the per-column table, the scope table, utility; with one-line readings. */
MCR_API int mcr_assess_print(const mcr_assess_result *r, FILE *f);
/* The baselines of an assessment made with a holdout and `baseline` (else NULL): which 0, the
 * real holdout (of the classes the synthetic table has) assessed as if it were synthetic;
 * which 1, the synthetic rows subsampled to the holdout's size. Fidelity and detection only;
 * scopes are matched by kind and value (mcr_assess_scope_find). */
MCR_API const mcr_assess_result *mcr_assess_baseline(const mcr_assess_result *r, int which);
MCR_API const mcr_assess_scope *mcr_assess_scope_find(const mcr_assess_result *r, const char *kind, const char *value);
/* A one-line reading of a value (static string; thresholds documented in assess.c). */
typedef enum {
    MCR_READ_SHAPES, MCR_READ_PAIRS, MCR_READ_DETECT, MCR_READ_COPIES, MCR_READ_DCR, MCR_READ_MIA,
    MCR_READ_TSTR /* value: TSTR - TRTR macro F1 */
} mcr_assess_metric;
MCR_API const char *mcr_assess_reading(mcr_assess_metric m, double v);
/* The reading of a privacy value with its 95% interval [lo, hi] (MCR_READ_MIA, MCR_READ_DCR;
 * other metrics as mcr_assess_reading): "no evidence" only when the interval allows it,
 * evidence when it lies wholly on the leaking side, "cannot tell" when it is too wide
 * (thresholds in assess.c). */
MCR_API const char *mcr_assess_reading_interval(mcr_assess_metric m, double v, double lo, double hi);
MCR_API int mcr_assess_write_json(const mcr_assess_result *r, FILE *f);
MCR_API void mcr_assess_free(mcr_assess_result *r);

/* ---------------------------------------------------------------- 10. evaluate */
typedef enum { MCR_CLF_LOGREG = 0, MCR_CLF_RF = 1, MCR_CLF_XGB = 2, MCR_CLF_MLP = 3, MCR_CLF_N = 4 } mcr_clf_kind;
MCR_API const char *mcr_clf_kind_name(mcr_clf_kind k);
MCR_API int mcr_clf_kind_parse(const char *s, mcr_clf_kind *out);

typedef struct mcr_eval_config {
    const char *target;         /* required */
    const char *sensitive;      /* groups for fairness metrics (optional) */
    const char *group;          /* rows sharing this column's value stay on one side of a split */
    const char *positive;       /* VALUE: the target becomes VALUE vs rest */
    const char *bands;          /* "40,65": a numeric sensitive column is banded */
    const char *thin;           /* "CLASS:P": keep a share P of CLASS in each training part */
    double test_frac;           /* stratified test share (default 0.3) */
    int seeds;                  /* repetitions (default 5) */
    uint64_t seed;              /* first seed (default 1) */
    mcr_aug_method methods[MCR_AUG_NMETHODS];
    int nmethods;               /* default: none, ros, smote, mcrage */
    mcr_clf_kind classifiers[MCR_CLF_N];
    int nclassifiers;           /* default: logreg, xgb (also rf, mlp) */
    int balanced;               /* class-weighted classifiers */
    double focal_gamma;         /* logreg / mlp: focal loss with this gamma (0 = cross-entropy) */
    mcr_augment_config aug;     /* strategy, ratio, k, and the diffusion model's settings */
    void (*progress)(void *ctx, const char *msg);
    void *progress_ctx;
    int tune_threshold;         /* binary targets: each (seed, method, classifier) picks its
                                   decision threshold on an inner validation split (a stratified
                                   20% of the real training rows, kept out of rebalancing and
                                   training) by minority F1, so no method wins by moving the
                                   threshold alone; 0 (default): the arg-max (0.5) */
} mcr_eval_config;
MCR_API void mcr_eval_config_default(mcr_eval_config *c);

typedef struct mcr_eval_result mcr_eval_result;
/* Run the protocol on `data` (and a fixed `test` table when not NULL; same columns). */
MCR_API int mcr_evaluate(const mcr_table *data, const mcr_table *test, const mcr_eval_config *c,
                 mcr_eval_result **out);
/* The results table (mean +- 95% CI over seeds, best marked) and paired comparisons. */
MCR_API int mcr_eval_print(const mcr_eval_result *r, FILE *f);
/* Every (seed, method, classifier) run with all metrics and per-group metrics, the summary
 * and the paired comparisons, written atomically. */
MCR_API int mcr_eval_write_json(const mcr_eval_result *r, const char *path);
MCR_API void mcr_eval_free(mcr_eval_result *r);
/* The results table as numbers: one cell per (method, classifier) in the configured order, with
 * mean and 95% CI half-width over seeds of the columns MCR_EVAL_* and the best of each column
 * marked (NaN half-width with one seed). */
enum { MCR_EVAL_ACC, MCR_EVAL_F1, MCR_EVAL_F1MIN, MCR_EVAL_AUROC, MCR_EVAL_WGREC, MCR_EVAL_EOD, MCR_EVAL_NCOL };
typedef struct mcr_eval_cell {
    mcr_aug_method method;
    mcr_clf_kind clf;
    double mean[MCR_EVAL_NCOL], half[MCR_EVAL_NCOL];
    int best[MCR_EVAL_NCOL];
} mcr_eval_cell;
MCR_API int mcr_eval_cells(const mcr_eval_result *r, mcr_eval_cell **out, int *n); /* free(*out) */
/* "Did it help?" for classifier i of the configuration (0 .. nclassifiers-1): mcrage against
 * `none` and against the best classical method run (by mean minority F1), on paired per-seed
 * differences with 95% t intervals. Returns 1 helped (minority F1 interval above 0 against
 * none, AUROC not lower beyond its interval), -1 hurt (minority F1 interval below 0, or AUROC
 * lower by its whole interval), 0 no evidence, -2 no verdict (mcrage or none not run, or one
 * seed); the one-sentence reading goes to buf[n]. */
MCR_API int mcr_eval_verdict(const mcr_eval_result *r, int i, char *buf, size_t n);
/* The same verdict on `subject`: mcrage, or mcrage-auto (whose choice, share 0 included, was
 * made inside each seed's training part, so its differences are honest). mcr_eval_verdict
 * judges mcrage when it ran, else mcrage-auto; the classical methods exclude both. */
MCR_API int mcr_eval_verdict_method(const mcr_eval_result *r, int i, mcr_aug_method subject, char *buf, size_t n);
/* Reliability of (method, classifier), pooled over seeds: for each tenth of the minority class's
 * predicted probability, its test rows' mean prediction, observed minority share and count
 * (NaN, NaN, 0 for an empty bin). Returns the number of runs pooled. */
MCR_API int mcr_eval_reliability(const mcr_eval_result *r, int method, int clf, double mean_p[10], double frac[10],
                                 size_t count[10]);
MCR_API const char *mcr_eval_col_label(int col);
MCR_API int mcr_eval_col_lower_better(int col);
typedef struct mcr_eval_info_t {
    const char *source, *target, *positive, *sensitive, *thin;   /* borrowed */
    size_t nrows;
    int seeds, groups;
} mcr_eval_info_t;
MCR_API void mcr_eval_info(const mcr_eval_result *r, mcr_eval_info_t *info);
/* mcrage-auto's choice in seed index s (0 .. seeds-1; borrowed), NULL when it did not run */
MCR_API const mcr_auto_result *mcr_eval_auto(const mcr_eval_result *r, int s);
/* The first seed's example (borrowed): its training rows, the rows the example method added
 * (mcrage when it ran, else the first method that adds rows), the test rows and, for mcrage,
 * the fitted model (else NULL). Returns 0 (and NULLs) when no method added rows. */
MCR_API int mcr_eval_example(const mcr_eval_result *r, const mcr_table **train, const mcr_table **synth,
                     const mcr_table **test, mcr_aug_method *method, const mcr_model **model);

/* ---------------------------------------------------------------- 10b. HTML report */
/* One self-contained HTML page (inline CSS and SVG charts, no scripts, fonts or links), built
 * section by section and written atomically. Headings and text are HTML-escaped. */
typedef struct mcr_report mcr_report;
MCR_API int mcr_report_new(const char *title, mcr_report **out);
MCR_API void mcr_report_free(mcr_report *r);
/* a heading and/or a paragraph (either may be NULL) */
MCR_API void mcr_report_text(mcr_report *r, const char *heading, const char *text);
/* rows, columns by kind, missing cells, class counts of target */
MCR_API int mcr_report_dataset(mcr_report *r, const char *heading, const mcr_table *t, const char *target,
                       const char *sensitive);
/* group x class counts (and shares within each group) before and after rebalancing: the rows of
 * `after` plus those of `added` (may be NULL); levels matched by spelling */
MCR_API int mcr_report_balance(mcr_report *r, const char *heading, const mcr_table *before,
                       const mcr_table *after, const mcr_table *added, const char *target,
                       const char *sensitive);
/* results table with CIs and the best marked; bar chart of minority F1 and worst-group recall;
 * fairness-accuracy scatter (AUROC against equalized-odds difference) */
MCR_API int mcr_report_eval(mcr_report *r, const mcr_eval_result *e);
/* the diffusion model's training loss (mcr_model_loss_curve) */
MCR_API int mcr_report_loss(mcr_report *r, const char *heading, const float *loss, int n, int every);
/* real vs synthetic: a histogram per numeric column, bar pairs per categorical column, for the
 * rows with target = cls (all rows when cls is NULL) */
MCR_API int mcr_report_distributions(mcr_report *r, const char *heading, const mcr_table *real,
                             const mcr_table *synth, const char *target, const char *cls);
/* fidelity, detection, privacy and utility scores with one-line readings; DCR box plots */
MCR_API int mcr_report_assess(mcr_report *r, const char *heading, const mcr_assess_result *a);
/* the closing sections: real vs synthetic distributions (rows with target = cls; all rows when
 * cls is NULL; skipped without real or synth), the assessment (if a), the command line (if
 * not NULL: the caller's, e.g. the quoted argv) */
MCR_API int mcr_report_finish(mcr_report *r, const mcr_assess_result *a, const mcr_table *real,
                              const mcr_table *synth, const char *target, const char *cls,
                              const char *command_line);
/* Whole reports, ready for mcr_report_write (progress: the assessment's messages, may be NULL).
 * augment: the data, counts before and after, the loss curve (with the model kept), the added
 * rows against the real ones. */
MCR_API int mcr_report_augment(const mcr_table *t, const mcr_augment_result *r, const mcr_augment_config *c,
                               const char *command_line, void (*progress)(void *, const char *),
                               void *ctx, mcr_report **out);
/* evaluate: the data, the first seed's rebalancing, the results, the loss curve, the first
 * seed's synthetic rows against its training rows (its test part as holdout). */
MCR_API int mcr_report_evaluate(const mcr_eval_result *r, const mcr_table *data, const mcr_eval_config *c,
                                const char *command_line, void (*progress)(void *, const char *),
                                void *ctx, mcr_report **out);
/* fidelity: both tables, the minority class's distributions, the assessment a. */
MCR_API int mcr_report_fidelity(const mcr_table *real, const mcr_table *synth, const mcr_assess_result *a,
                                const char *target, const char *sensitive, const char *command_line,
                                mcr_report **out);
MCR_API int mcr_report_ncharts(const mcr_report *r);  /* <svg> charts so far */
MCR_API int mcr_report_write(mcr_report *r, const char *path);

/* ---------------------------------------------------------------- 11. benchmark helpers */
typedef struct mcr_bench_result {
    double train_rows_per_s, train_gflops, sgemm_gflops, sample_rows_per_s, peak_rss_mb;
    size_t nparams;
} mcr_bench_result;
/* Train the denoiser `steps` steps on random data of width d, then time DDIM-100 sampling of
 * `sample_rows` rows, and measure the BLAS sgemm rate on the largest layer's shape. */
MCR_API int mcr_bench_denoiser(int d, const int *widths, int nwidths, int batch, int steps,
                       int sample_rows, mcr_bench_result *r);
/* The same with the precision of training and sampling, and the sampler (sample_steps on
 * its grid; DDPM uses all T) to time. */
MCR_API int mcr_bench_denoiser_ex(int d, const int *widths, int nwidths, int batch, int steps,
                                  int sample_rows, mcr_precision precision, mcr_sampler sampler,
                                  int sample_steps, mcr_bench_result *r);

/* The image model's default UNet (mcrage image fit's: channels 32-64-128, 2 residual blocks
 * per level, attention at the lowest level; 2 labels, 2 attributes) on random channels x H x W
 * images: `steps` timed training steps of `batch` images (mcr_imodel_fit's step: noise,
 * forward, MSE, backward, clip + AdamW + EMA; two more untimed warm-up steps), then
 * mcr_imodel_sample of sample_images images (0: none) with DDIM of sample_steps steps and
 * guidance 1 + 1 (three network rows per image). Flops are counted analytically (convolutions,
 * FiLM projections, attention products; the step = 3 x forward); sgemm_gflops is this
 * process's sgemm at the 64-channel 3x3 GEMM shape (M 64, K 576, N batch x H/2 x W/2). */
typedef struct mcr_ibench_result {
    size_t nparams;
    double train_images_per_s, train_gflop_per_image, train_gflops, sgemm_gflops;
    double conv_gflops;        /* the convolutions' flops over their own time (fwd + bwd)  */
    double conv_seconds_share; /* of the timed steps' wall time: convolutions, attention,   */
    double attn_seconds_share, gn_seconds_share; /* group norms                               */
    double sample_images_per_s, peak_rss_mb;
} mcr_ibench_result;
MCR_API int mcr_bench_unet(int channels, int H, int W, int batch, int steps, int sample_images,
                           int sample_steps, mcr_ibench_result *r);
/* The same with the convolutions' engine: 0 im2col + sgemm (mcr_bench_unet's), 1 oneDNN fp32,
 * 2 oneDNN bf16 (MCR_EINVAL on a CPU without bf16). The sampling part runs the model's own
 * engine (mcr_ifit_config.precision). */
MCR_API int mcr_bench_unet_engine(int engine, int channels, int H, int W, int batch, int steps,
                                  int sample_images, int sample_steps, mcr_ibench_result *r);

/* ---------------------------------------------------------------- 12. images */
/* An image set: n images of h x w x c (c = 1 grey or 3 RGB) 8-bit pixels, each with a label
 * (or none: unlabelled), an attribute (or none: unknown) and a split (train, val, test).
 * Read from
 *   - a NumPy .npz in the MedMNIST layout: train_images (N,H,W) or (N,H,W,C) uint8 and
 *     train_labels (N,1) or (N,) of an integer dtype, the same for val_ and test_ (each split
 *     optional, at least one); optional *_attributes like the labels; negative = none;
 *     label_names / attribute_names (|S bytes) when written by mcrage. Members stored or
 *     deflated, ZIP64 fields read, CRC-32 checked.
 *   - a CSV manifest with columns file,label[,attribute][,split] (file relative to the
 *     manifest's folder; empty label = unlabelled, empty attribute = unknown; split train,
 *     val or test, any case; without a split column all are train), each file a PNG of one size
 *     and channel count.
 * Errors (MCR_EIO, MCR_EPARSE, MCR_EINVAL) name the file, and file:line for a manifest row. */
typedef struct mcr_imageset mcr_imageset;
MCR_API int mcr_imageset_read(const char *path, mcr_imageset **out); /* by content: ZIP or CSV */
MCR_API int mcr_imageset_read_npz_mem(const void *data, size_t len, const char *name, mcr_imageset **out);
MCR_API void mcr_imageset_free(mcr_imageset *s);
MCR_API void mcr_imageset_dims(const mcr_imageset *s, int *n, int *h, int *w, int *c);
/* pixels [n, h, w, c], borrowed */
MCR_API const uint8_t *mcr_imageset_pixels(const mcr_imageset *s);
MCR_API int mcr_imageset_label(const mcr_imageset *s, int i);  /* level, -1 = unlabelled */
MCR_API int mcr_imageset_attr(const mcr_imageset *s, int i);   /* level, -1 = unknown */
MCR_API char mcr_imageset_split(const mcr_imageset *s, int i); /* 't' train, 'v' val, 's' test */
MCR_API int mcr_imageset_nlabels(const mcr_imageset *s);
MCR_API int mcr_imageset_nattrs(const mcr_imageset *s);
MCR_API const char *mcr_imageset_label_name(const mcr_imageset *s, int k); /* borrowed */
MCR_API const char *mcr_imageset_attr_name(const mcr_imageset *s, int k);  /* borrowed */
/* Images of split (0 = all) per label x attribute: counts[(nlabels + 1) * (nattrs + 1)], row
 * nlabels = unlabelled, column nattrs = unknown attribute. Returns the images counted. */
MCR_API size_t mcr_imageset_counts(const mcr_imageset *s, char split, size_t *counts);
/* Sizes, channels, and per split the label x attribute counts (text, or JSON with json = 1). */
MCR_API int mcr_imageset_describe(const mcr_imageset *s, int json, FILE *f);
/* One image (pix [h, w, c], c = 1 or 3) as a PNG file, written atomically. */
MCR_API int mcr_image_write_png(const char *path, const uint8_t *pix, int h, int w, int c);
/* A PNG grid: one row per (label, attribute) pair with images in split (0 = all), in label
 * order then attribute order (unlabelled / unknown last), the first per_cell images of each,
 * separated by 2 px lines of grey 128. Written atomically; *nrows = rows drawn (may be NULL). */
MCR_API int mcr_imageset_write_grid(const mcr_imageset *s, const char *path, int per_cell, char split,
                                    int *nrows);
/* The set as a MedMNIST-layout .npz (members stored): <split>_images uint8 (N,H,W[,C]),
 * <split>_labels int64 (N,1) with -1 = unlabelled, <split>_attributes when any attribute is
 * known, label_names / attribute_names; written atomically, readable by numpy.load. */
MCR_API int mcr_imageset_write_npz(const mcr_imageset *s, const char *path);
/* The set as a folder of PNGs (DIR/<split>_<i>.png, created if absent) with DIR/manifest.csv
 * (file,label,attribute,split; empty = unlabelled / unknown), which mcr_imageset_read reads back. */
MCR_API int mcr_imageset_write_dir(const mcr_imageset *s, const char *dir);

/* ---------------------------------------------------------------- 12b. the image diffusion model */
/* A conditional image DDPM (Ktena et al. 2024): a UNet predicting the noise (eps), conditioned
 * on time, the label and the attribute, each with a learned null token; cosine schedule. fit
 * trains on the train split as float NCHW in [-1, 1]: each step a minibatch in epoch order, t
 * uniform in [0, T), eps ~ N(0, 1), x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, loss the MSE
 * of the predicted eps; AdamW, gradient clipping and EMA (the EMA weights are saved). The label
 * and the attribute are replaced by the null token independently with probability cond_drop,
 * and always where the image has none: unlabelled images train the null-label path.
 * Everything is deterministic for a seed and a thread count. */
typedef struct mcr_imodel mcr_imodel;
typedef struct mcr_ifit_config {
    int steps;                   /* optimiser steps (default 2000)                            */
    int batch;                   /* images per step (default 32)                              */
    float lr;                    /* peak AdamW rate, linear warm-up then decay to 0 (2e-4)   */
    int warmup;                  /* warm-up steps (default 0 = steps / 20)                    */
    float weight_decay;          /* AdamW (default 0)                                         */
    float grad_clip;             /* global norm clip (default 1)                              */
    float ema_decay;             /* EMA decay of the saved weights (default 0.999)            */
    float cond_drop;             /* label / attribute dropped to null, each (default 0.1)     */
    int T;                       /* diffusion steps (default 1000)                            */
    int nlevels;                 /* UNet resolutions (default 3)                              */
    int channels[6];             /* channels per resolution (default 32, 64, 128); each a     */
                                 /* multiple of channels[0] and of groups                     */
    int nres;                    /* residual blocks per level (default 2)                     */
    int attn;                    /* self-attention at the lowest level (default 1)            */
    int groups;                  /* GroupNorm groups (default 8)                              */
    uint64_t seed;               /* default 1                                                 */
    int checkpoint_every;        /* write checkpoint_path every N steps (0 = never)           */
    const char *checkpoint_path; /* the model file a checkpoint is written to                 */
    const mcr_imodel *resume;    /* a checkpoint to continue (same data and settings)        */
    /* called every step; non-zero stops the fit with MCR_ECANCELED */
    int (*progress)(void *ctx, int step, int steps, float loss, double images_per_s);
    void *progress_ctx;
    /* the convolutions in training (default fp32): fp32 runs im2col + sgemm (results the same
     * for every thread count); bf16 runs oneDNN with bf16 inputs, fp32 accumulation and fp32
     * master weights (AVX512-BF16 / AMX only; deterministic for a given thread count); auto:
     * bf16 where the CPU has it. The file records what ran; sampling stays fp32. */
    mcr_precision precision;
} mcr_ifit_config;
MCR_API void mcr_ifit_config_default(mcr_ifit_config *c);
/* Fit on the train split of s (sizes must be divisible by 2^(nlevels-1)). MCR_EINVAL names the
 * field (steps, batch, lr, cond-drop, channels, ...). */
MCR_API int mcr_imodel_fit(const mcr_imageset *s, const mcr_ifit_config *c, mcr_imodel **out);
MCR_API void mcr_imodel_free(mcr_imodel *m);
/* The file: the saved-model container with magic "MCRGIMDL" and sections ICFG (image size,
 * settings, final loss), LEVL (label / attribute names and training counts), SCHD (schedule),
 * WGHT (EMA weights), TRST (trainer state, checkpoints only). A damaged file is refused
 * (MCR_ECORRUPT), and so is a table model, with a message saying so. */
MCR_API int mcr_imodel_save(const mcr_imodel *m, const char *path);
MCR_API int mcr_imodel_load(const char *path, mcr_imodel **out);
MCR_API int mcr_imodel_inspect(const mcr_imodel *m, FILE *f);
MCR_API size_t mcr_imodel_nparams(const mcr_imodel *m);
MCR_API float mcr_imodel_final_loss(const mcr_imodel *m);
MCR_API void mcr_imodel_progress(const mcr_imodel *m, int *done, int *planned); /* -1: finished */
MCR_API int mcr_imodel_nlabels(const mcr_imodel *m);
MCR_API int mcr_imodel_nattrs(const mcr_imodel *m);
MCR_API const char *mcr_imodel_label_name(const mcr_imodel *m, int k); /* borrowed */
MCR_API const char *mcr_imodel_attr_name(const mcr_imodel *m, int k);  /* borrowed */
/* 1 if the file at path starts with the image model's magic, 0 if not (or unreadable). */
MCR_API int mcr_imodel_is_file(const char *path);

/* Counts per cell: counts[(nlabels + 1) * (nattrs + 1)], cell l * (nattrs + 1) + a; l = nlabels
 * is the null label (sampled without a label), a = nattrs the null attribute. */
typedef enum { MCR_IPOLICY_BALANCE = 0, MCR_IPOLICY_GROUP_BALANCE = 1 } mcr_ipolicy;
/* From a spec "label=1,attribute=B:500;label=0:200": cells separated by ';', each a
 * comma-separated list of label=LEVEL and/or attribute=LEVEL (the attribute also by its column
 * name) then ':' and a count; a factor left out is null. Repeated cells add up. MCR_EINVAL
 * naming --counts on a bad spec or an unknown level. */
MCR_API int mcr_imodel_counts_parse(const mcr_imodel *m, const char *spec, size_t *counts);
/* n images by policy, exact (largest remainder): balance = labels uniform, each label's
 * attributes as in its training images; group-balance = attributes uniform (over the attributes
 * with training images, labelled or not), the training label prevalence kept in each (known
 * attributes only count). Without attributes it is null. */
MCR_API int mcr_imodel_counts_policy(const mcr_imodel *m, mcr_ipolicy policy, size_t n, size_t *counts);

typedef struct mcr_isample_config {
    mcr_sampler sampler;     /* DDIM (default) or DDPM (all T steps)                          */
    int sample_steps;        /* DDIM steps on the grid t = (k+1) T / K - 1 (default 50)       */
    float eta;               /* DDIM noise, 0 deterministic (default 0)                       */
    /* classifier-free guidance, composed (Liu et al. 2022):
     *   eps = eps(0,0) + w_label (eps(l,0) - eps(0,0)) + w_attr (eps(0,a) - eps(0,0))
     * with 0 the null token; weights 0 give the unconditional model, w_label = w_attr = 1 the
     * product of the two conditionals over the marginal (defaults 1, 1). A null factor of a
     * cell drops its term. */
    float w_label, w_attr;
    int batch;               /* images per batch, x3 network rows with guidance (default 16)   */
    uint64_t seed;           /* default 1                                                     */
    int joint;               /* 1: no guidance, one network pass per step: eps(l, a), the cell's
                                label and attribute together (w_label, w_attr ignored); a third
                                of the guided cost (default 0)                                */
    mcr_precision precision; /* the convolutions: fp32 (default: im2col + sgemm) | bf16 (oneDNN,
                                CPUs with AVX512-BF16 or AMX; refused elsewhere) | auto       */
} mcr_isample_config;
MCR_API void mcr_isample_config_default(mcr_isample_config *c);
/* Exactly counts[cell] images per cell, in cell order, as an image set (split train, labels
 * and attributes of the cell, -1 for null; level names of the model). */
MCR_API int mcr_imodel_sample(const mcr_imodel *m, const size_t *counts, const mcr_isample_config *c,
                              mcr_imageset **out);

/* ---------------------------------------------------------------- 12c. image classifier, quality */
/* A small ResNet-style classifier (src/image/cnn.c): a 3x3 stem convolution to widths[0]
 * channels, then per stage `blocks` pre-activation residual blocks
 *   x + conv3x3(silu(gn(conv3x3(silu(gn(x))))))
 * with a stride-2 3x3 convolution (after GroupNorm + SiLU) into each later stage's width,
 * then GroupNorm, SiLU, global average pooling and a linear head to K logits. Trained on
 * minibatches in epoch order with AdamW (linear warm-up over 5% of the steps, then linear
 * decay), loss the softmax cross-entropy, optionally class-weighted and/or focal
 * (-(1 - p_y)^gamma log p_y, Lin et al. 2017), averaged over the batch. Images are uint8
 * [n, h, w, c] (scaled to [-1, 1]) or float [n, c, h, w]; any size. The same seed and thread
 * count give the same weights and probabilities. */
#define MCR_CNN_MAX_STAGES 6
typedef struct mcr_cnn mcr_cnn;
typedef struct mcr_cnn_config {
    int nstages;                 /* stages (default 3)                                        */
    int widths[MCR_CNN_MAX_STAGES]; /* channels per stage (16, 32, 64), each divisible by groups */
    int blocks;                  /* residual blocks per stage (default 1)                     */
    int groups;                  /* GroupNorm groups (default 8)                              */
    int epochs;                  /* passes over the data when steps = 0 (default 10)          */
    int steps;                   /* optimiser steps; 0 = epochs * ceil(n / batch) (default 0) */
    int batch;                   /* images per step (default 64)                              */
    float lr;                    /* peak AdamW rate (default 2e-3)                            */
    float weight_decay;          /* AdamW decoupled decay (default 1e-4)                      */
    float grad_clip;             /* global gradient norm clip, 0 = off (default 1)            */
    const double *class_weights; /* [K] loss weight per class, NULL = 1 (borrowed during fit) */
    int balanced;                /* class weights n / (K_present n_k) when class_weights NULL */
    double focal_gamma;          /* 0 = cross-entropy (default 0)                             */
    uint64_t seed;               /* default 1                                                 */
    int threads;                 /* OpenMP threads during the call, 0 = as set (default 0)    */
} mcr_cnn_config;
MCR_API void mcr_cnn_config_default(mcr_cnn_config *c);
/* Fit on n uint8 images pix [n, h, w, c] with labels y [n] in [0, K). MCR_EINVAL (naming the
 * field) on no images, a label out of range, bad sizes or settings; MCR_ENUMERIC if the loss
 * diverges. */
MCR_API int mcr_cnn_fit_u8(const mcr_cnn_config *c, const uint8_t *pix, const int *y, size_t n, int h,
                           int w, int ch, int K, mcr_cnn **out);
/* The same for float images x [n, c, h, w]. */
MCR_API int mcr_cnn_fit(const mcr_cnn_config *c, const float *x, const int *y, size_t n, int h, int w,
                        int ch, int K, mcr_cnn **out);
/* Class probabilities prob [n, K] (softmax of the logits) for uint8 [n, h, w, c] or float
 * [n, c, h, w] images of the size the model was fitted on. */
MCR_API int mcr_cnn_predict_proba_u8(const mcr_cnn *m, const uint8_t *pix, size_t n, double *prob);
MCR_API int mcr_cnn_predict_proba(const mcr_cnn *m, const float *x, size_t n, double *prob);
MCR_API size_t mcr_cnn_nparams(const mcr_cnn *m);
MCR_API int mcr_cnn_nclasses(const mcr_cnn *m);
MCR_API float mcr_cnn_final_loss(const mcr_cnn *m); /* mean loss of the last epoch's steps   */
MCR_API void mcr_cnn_free(mcr_cnn *m);

/* The quality protocol for synthetic images (issue 13), src/image/quality.c. REAL is a set with
 * train and test splits (MedMNIST), SYNTH the output of mcr_imodel_sample (labels by level name;
 * every split of it is used). Per label and overall:
 *   (a) utility: the CNN trained on REAL's train split, its accuracy on REAL's test split and on
 *       the labelled synthetic images (does a real-trained classifier recognise the label?);
 *       and train-synthetic-test-real (TSTR): the CNN trained on the synthetic images, its
 *       accuracy on REAL's test split;
 *   (b) detection: the CNN trained to tell real (all of REAL's images) from synthetic, on a
 *       stratified split of equal numbers of each (the larger side subsampled), its AUROC on
 *       the held-out part (0.5: indistinguishable; 1: always told apart);
 *   (c) intensity: the 256-bin pixel-intensity histograms of REAL's train split and of SYNTH,
 *       their total variation distance (0..1) and Wasserstein-1 distance (in grey levels), and
 *       the mean and standard deviation of the pixels. */
typedef struct mcr_iquality_config {
    mcr_cnn_config cnn;          /* the classifiers (its seed and threads are overridden)     */
    double detect_test;          /* held-out fraction of the detection split (default 0.3)    */
    int tstr;                    /* also train on synthetic, test on real (default 1)         */
    uint64_t seed;               /* default 1                                                 */
    int threads;                 /* 0 = as set                                                */
    void (*progress)(void *ctx, const char *msg); /* a line per stage; NULL = silent          */
    void *progress_ctx;
} mcr_iquality_config;
typedef struct mcr_iquality_group {
    char *name;                  /* the label's level name, or "all"                          */
    size_t n_real_train, n_real_test, n_synth;
    double acc_real, acc_synth, acc_tstr; /* NaN where there are no images (or no TSTR)        */
    double tv, w1;               /* intensity histogram distances                             */
    double mean_real, sd_real, mean_synth, sd_synth; /* pixel intensity, 0..255               */
} mcr_iquality_group;
typedef struct mcr_iquality {
    int ngroups;                 /* labels + 1: group[0..nlabels) per label, the last "all"   */
    mcr_iquality_group *group;
    double detect_auroc;         /* held-out AUROC of the real-vs-synthetic detector          */
    double detect_acc;           /* its accuracy at 0.5                                       */
    size_t detect_train, detect_test; /* images in the detector's train / held-out parts      */
    size_t cnn_params;           /* parameters of one classifier                              */
    double seconds;              /* wall time                                                 */
    char *real_path, *synth_path;
} mcr_iquality;
MCR_API void mcr_iquality_config_default(mcr_iquality_config *c);
/* MCR_EINVAL (naming the set) when sizes or channels differ, REAL lacks labelled train or test
 * images, or a synthetic label is not one of REAL's levels. */
MCR_API int mcr_image_quality(const mcr_imageset *real, const mcr_imageset *synth,
                              const mcr_iquality_config *c, mcr_iquality **out);
MCR_API int mcr_iquality_print(const mcr_iquality *q, FILE *f);      /* text table */
MCR_API int mcr_iquality_write_json(const mcr_iquality *q, FILE *f); /* one JSON object */
MCR_API void mcr_iquality_free(mcr_iquality *q);

/* ---------------------------------------------------------------- 12d. sites benchmark, heuristic augmentation */
/* A multi-site benchmark built from a real image set with a binary label (PneumoniaMNIST;
 * src/image/sites.c). The source's images (every split pooled, unlabelled ones skipped) are
 * dealt without replacement to "hospital sites" from one table of parameters (mcr_sites_spec):
 * per site and split a fixed number of images of which round(n * prevalence) have label level
 * 1, and every image of a site goes through the site's acquisition: Gaussian blur (sigma, px),
 * then on x in [0, 1] gamma x^g, contrast about mid-grey 0.5 + c (x - 0.5), offset (grey
 * levels), Gaussian noise (sd in grey levels), clipped and rounded to 8 bits. The OOD site's
 * train images carry no label (-1): they are the unlabelled images of the Ktena protocol; its
 * test images are labelled (the OOD test split). The output is an ordinary image set with
 * the site as attribute (levels = site names) and train / val / test splits: what real
 * multi-site data read from an .npz or a manifest (file,label,attribute,split) gives. The
 * same source, seed, sites and scale give the same set. */
typedef struct mcr_site_spec {
    const char *name;            /* attribute level                                           */
    double gamma, contrast, offset; /* intensity: gamma, contrast about 0.5, grey levels added */
    double ramp;                 /* left-to-right intensity ramp (heel effect): grey levels
                                    added from -ramp/2 at the left edge to +ramp/2 at the right */
    double blur;                 /* Gaussian sigma in pixels (0 = none)                        */
    double noise;                /* Gaussian noise sd in grey levels (0 = none)                */
    double prevalence;           /* fraction of label 1 in each split                          */
    int n_train, n_val, n_test;  /* images per split (before --scale)                          */
    int ood;                     /* 1: train / val images unlabelled; labelled only in test    */
    const char *role;            /* a few words for the README and the CLI                     */
} mcr_site_spec;
MCR_API int mcr_sites_count(void);                     /* rows of the table                  */
MCR_API const mcr_site_spec *mcr_sites_spec(int k);    /* row k (borrowed), NULL out of range */
typedef struct mcr_sites_config {
    uint64_t seed;               /* default 1                                                 */
    const char *sites;           /* comma-separated names of the table to build; NULL = all    */
    double scale;                /* every count times scale, rounded (default 1)               */
    int reveal;                  /* 1: the OOD site keeps its labels (the oracle's set; the same
                                    images and order as with 0) (default 0)                     */
} mcr_sites_config;
MCR_API void mcr_sites_config_default(mcr_sites_config *c);
/* Build the sites from src (nlabels = 2) with settings c (NULL = defaults). *out: the set; *truth (may be NULL): malloc'd [n]
 * true label of every image, also of those left unlabelled (for the oracle; free with free).
 * MCR_EINVAL naming the site for an unknown or repeated name, no labelled site, a source
 * without 2 label levels, or a source too small for the counts. */
MCR_API int mcr_sites_build(const mcr_imageset *src, const mcr_sites_config *c, mcr_imageset **out,
                            int **truth);
/* One site's acquisition on images pix [n, h, w, ch] in place; noise drawn from r in image
 * order. MCR_ENOMEM only. */
/* Per site (attribute level): images per split, labelled train images, label-1 share of the
 * labelled images, mean / sd / hf (mcr_image_stats) of all its images, its role. */
MCR_API int mcr_sites_print(const mcr_imageset *s, FILE *f);
MCR_API int mcr_site_apply(const mcr_site_spec *s, uint8_t *pix, size_t n, int h, int w, int ch, mcr_rng *r);
/* Intensity statistics of images pix [n, h, w, ch]: mean and sd of the pixels (grey levels),
 * and hf, the mean absolute Laplacian |4 x - (up + down + left + right)| / 4 over interior
 * pixels (blur lowers it, noise raises it). */
MCR_API void mcr_image_stats(const uint8_t *pix, size_t n, int h, int w, int ch, double *mean, double *sd,
                             double *hf);
/* The calibration check: classifier "base" trained on the labelled train images (every
 * labelled site), "oracle" on those and the OOD site's train images with their true labels;
 * accuracy of each on the test images of the labelled sites (id), of the clean site (the
 * one whose acquisition is the identity; NaN if absent) and of the OOD site(s) (ood). The
 * benchmark wants base.id - base.ood >= 0.10 and oracle.clean - oracle.ood <= 0.03. */
typedef struct mcr_sites_check {
    double base_id, base_clean, base_ood;
    double oracle_id, oracle_clean, oracle_ood;
    size_t n_base_train, n_oracle_train, n_id, n_clean, n_ood;
    double seconds;
} mcr_sites_check;
MCR_API int mcr_sites_run_check(const mcr_imageset *sites, const int *truth, const mcr_cnn_config *cnn,
                                mcr_sites_check *out);

/* RandAugment-style heuristic augmentation (Cubuk et al. 2020): per image n_ops operations
 * drawn uniformly with replacement from the enabled ones, each at magnitude M (0..10; m =
 * M / 10) with a random sign: rotation +-15 m degrees and shifts +-0.1 m of the width /
 * height (bilinear, borders replicated), contrast 1 +- 0.5 m about the image mean, gamma
 * 1.6^(+-m), brightness +-40 m grey levels, Gaussian blur of sigma 1.2 m, Gaussian noise of sd
 * 16 m, and a horizontal flip (off by default: chest X-rays are not left-right symmetric;
 * skipped at M = 0). M = 0 is the identity. Image i draws from its own stream of seed, so the
 * result does not depend on how the images are batched or on threads. */
enum {
    MCR_RA_ROTATE = 1 << 0, MCR_RA_SHIFT_X = 1 << 1, MCR_RA_SHIFT_Y = 1 << 2, MCR_RA_CONTRAST = 1 << 3,
    MCR_RA_GAMMA = 1 << 4, MCR_RA_BRIGHTNESS = 1 << 5, MCR_RA_BLUR = 1 << 6, MCR_RA_NOISE = 1 << 7,
    MCR_RA_FLIP = 1 << 8,
    MCR_RA_DEFAULT = 0xff        /* every operation but the flip                              */
};
typedef struct mcr_randaug_config {
    int n_ops;                   /* operations per image (default 2)                          */
    double magnitude;            /* M in [0, 10] (default 5)                                   */
    unsigned ops;                /* MCR_RA_* bits (default MCR_RA_DEFAULT)                     */
    uint64_t seed;               /* default 1                                                 */
} mcr_randaug_config;
MCR_API void mcr_randaug_config_default(mcr_randaug_config *c);
/* out [n, h, w, ch] = the augmented in [n, h, w, ch] (in == out allowed). first: the index of
 * in[0] in the caller's numbering (image i uses stream first + i). MCR_EINVAL for n_ops < 0,
 * M outside [0, 10], no operation enabled with n_ops > 0, or bad sizes. */
MCR_API int mcr_randaugment(const mcr_randaug_config *c, const uint8_t *in, uint8_t *out, size_t n, size_t first,
                            int h, int w, int ch);
/* `copies` augmented copies of every image of split (0 = all) as a new set (labels,
 * attributes and splits kept; copy r of the k-th image is image r * n + k, from stream r * n + k). */
MCR_API int mcr_imageset_randaugment(const mcr_imageset *s, const mcr_randaug_config *c, int copies, char split,
                                     mcr_imageset **out);

/* ---------------------------------------------------------------- 12e. image evaluation (the Ktena protocol) */
/* `mcrage image evaluate` (src/image/ieval.c): on a multi-site image set (the site as attribute,
 * binary label; what mcr_sites_build writes or real data in the same form), for each seed and
 * method train the CNN on the labelled train images plus what the method adds, and score it on
 * the test split. ID sites are the sites with labelled train images; OOD sites those whose
 * train images are all unlabelled but whose test images are labelled. Metrics: accuracy (class
 * 1 when its probability > 0.5) and AUROC (of class 1's probability) on the ID and the OOD test
 * images, the same per site, the worst site's accuracy and the gap (max - min accuracy) over
 * every site with labelled test images. Methods:
 *   none         the labelled train images;
 *   oversample   every non-empty (label, ID site) cell duplicated up to the largest cell;
 *   focal        focal loss (gamma 2) with balanced class weights;
 *   randaugment  plus ra_copies RandAugment copies of every labelled train image (N 2, M 9);
 *   diffusion    plus synthetic images from an image model conditioned on label + site
 *                (c->model, or fitted here on the train split: labelled and unlabelled images;
 *                the unlabelled ones reach the generator only), by c->policy (group-balance:
 *                sites uniform, label prevalence kept; or balance), so that they are a share R
 *                of the training set (round(R n / (1 - R)) images for n real ones), one row
 *                "diffusion@R" per R of `ratios`; per seed and generator the images are sampled
 *                once (per cell the most any R asks for) and each R takes each (label, site)
 *                cell's first images of that sample (exact policy counts; the sets nest);
 *   diffusion-label-only     the same with a generator conditioned on the label only;
 *   diffusion-no-unlabelled  the same with a generator fitted without the unlabelled images;
 *                each generator is fitted once with fit.seed = c->seed and used by every seed
 *                (c->refit: per seed with its seed);
 *   oracle       the ceiling: plus the OOD sites' train images with their true labels, taken
 *                from c->oracle (the same set with them labelled: `image sites --oracle`); not
 *                a baseline.
 * Run s uses seed c->seed + s for the CNN (the same for every method: paired differences) and
 * for what the methods draw. The generator checks (c->checks), on the first seed's synthetic
 * images of each generator: the none arm's CNN against the intended label per (label, site)
 * cell, a site classifier (the CNN trained on the real train images' sites) against the
 * intended site, a real-vs-synthetic detector's held-out AUROC. Defaults of `fit` / `sample`
 * here (not the image model's): UNet channels 16, 32, bf16 where the CPU has it; 25 DDIM steps
 * of one pass (sample.joint). */
typedef struct mcr_ieval mcr_ieval;
typedef struct mcr_ieval_config {
    const char *methods;         /* comma-separated (default "none,oversample,focal,randaugment,diffusion") */
    const char *ratios;          /* diffusion shares, comma-separated, each in (0, 1) (default "0.25,0.5,0.75") */
    int seeds;                   /* runs per method (default 3)                               */
    uint64_t seed;               /* first seed (default 1)                                    */
    mcr_cnn_config cnn;          /* the classifier (default 2 stages 16, 32; 5 epochs)        */
    double focal_gamma;          /* focal: gamma (default 2)                                  */
    mcr_randaug_config randaug;  /* randaugment: N, M (default 2, 9; seed overridden)         */
    int ra_copies;               /* randaugment copies per image (default 1)                  */
    const mcr_imodel *model;     /* diffusion: this model (borrowed), or NULL: fit with `fit` */
    mcr_ifit_config fit;         /* diffusion: the generator's fit when model is NULL          */
    mcr_isample_config sample;   /* diffusion: sampling (seed overridden per run)             */
    const mcr_imageset *oracle;  /* oracle: the set with the OOD train labels (borrowed)       */
    int policy;                  /* the synthetic set: MCR_IPOLICY_GROUP_BALANCE (default) or
                                    MCR_IPOLICY_BALANCE                                         */
    int refit;                   /* 0: each generator fitted once (fit.seed = seed) and used by
                                    every seed (default); 1: refitted per seed with its seed    */
    int checks;                  /* the generator checks (default 1)                           */
    int threads;                 /* 0 = as set                                                */
    void (*progress)(void *ctx, const char *msg); /* a line per stage; NULL = silent          */
    void *progress_ctx;
} mcr_ieval_config;
MCR_API void mcr_ieval_config_default(mcr_ieval_config *c);
/* MCR_EINVAL for an unknown method, a ratio outside (0, 1) (naming --ratios), a label that is
 * not binary, an image without a site, no ID or no labelled test image, an image model of
 * another size or channel count, or one whose sites or labels differ from the set's; oracle
 * without c->oracle or with an oracle set that is not the same images. */
MCR_API int mcr_image_evaluate(const mcr_imageset *s, const mcr_ieval_config *c, mcr_ieval **out);
/* the table (mean +- 95% CI over seeds) and paired differences vs none and the best baseline */
MCR_API int mcr_ieval_print(const mcr_ieval *r, FILE *f);
/* per-seed rows, the summary and the paired differences as one JSON object */
MCR_API int mcr_ieval_write_json(const mcr_ieval *r, FILE *f);
/* An HTML report (10b's page): the benchmark and generator settings, the table and paired
 * differences, ID / OOD accuracy and gap charts with CIs, the ratio sweep, real (from s, the
 * evaluated set; may be NULL) against synthetic images per (label, site), the generator checks,
 * the command line (may be NULL). Write it with mcr_report_write. */
MCR_API int mcr_ieval_report(const mcr_ieval *r, const mcr_imageset *s, const char *command_line, mcr_report **out);
MCR_API void mcr_ieval_free(mcr_ieval *r);

/* ---------------------------------------------------------------- 13. processes (MPI)
 * Data-parallel fit and sample across processes: with a library built by `make MPI=1` and a
 * process started by an MPI launcher (mpirun, srun), mcr_dist_init joins the job and
 * mcr_model_fit / mcr_model_sample / mcr_augment_run split their work across its ranks (the
 * same model and rows on every rank, whatever the count); otherwise there is one process of
 * rank 0 and nothing changes. Every rank calls the same functions in the same order; rank 0
 * alone writes files. */
MCR_API int mcr_dist_init(int *argc, char ***argv); /* once, first; argc/argv may be NULL */
MCR_API int mcr_dist_rank(void);                    /* 0-based; 0 without MPI */
MCR_API int mcr_dist_size(void);                    /* ranks; 1 without MPI */
/* Collective: every rank's rc becomes every rank's: returns the status of the lowest rank
 * that failed (MCR_OK if none), whose message (prefixed "rank R of N: ") mcr_last_error
 * then gives on every rank. */
MCR_API int mcr_dist_agree(int rc);
/* End every rank of the job with this exit code (a failure the others cannot agree on);
 * returns only with one process. */
MCR_API void mcr_dist_abort(int code);
/* Last, on every rank, with the exit code: 0 or a failure mcr_dist_agree gave every rank
 * leaves the job cleanly and returns code; any other failure (this rank's alone: the others
 * may be waiting on it) ends every rank of the job with code (mcr_dist_abort). */
MCR_API int mcr_dist_finalize(int code);

#ifdef __cplusplus
}
#endif
#endif /* MCRAGE_H */
