/* tabular.h — private: tables and CSV internals, the encoder, neighbour search, row identity,
 * and the tabular diffusion model (the MLP denoiser's model handle, its trainer, the model file). */
#ifndef MCR_TABULAR_H
#define MCR_TABULAR_H
#include "core/core.h"
#include "diffusion/diffusion.h"
#include "nn/nn.h"

/* table internals ------------------------------------------------------------------ */
typedef struct mcr_column {
    char *name;
    mcr_coltype type;
    double *num;        /* [cap] numeric value, NAN = missing (numeric/integer columns) */
    int32_t *cat;       /* [cap] level code, -1 = missing (categorical columns)         */
    char **levels;      /* [nlevels] spellings as in the input                          */
    int nlevels, cap_levels;
    int decimals;       /* digits after the point when written; -1 = shortest round trip */
    struct mcr_strmap *map; /* level lookup, built lazily */
} mcr_column;

struct mcr_table {
    size_t nrows, cap;
    int ncols;
    mcr_column *cols;
    char sep;
    char *source;
    /* One rank's part of a table read across ranks (mcr_table_read_csv_part with more than one
     * rank): its rows are rows [row0, row0 + nrows) of the file's ntotal, the schema (types,
     * levels and their codes) is the whole file's on every rank. part = 0: the whole table. */
    int part;
    size_t row0, ntotal;
};

/* ---- tables read across ranks (table_part.c) ----
 * A column of a part table gathered from every rank, in row order: a table of that one column
 * (the schema's, sharing its name and levels: free with mcr_table_free_gathered) with ntotal
 * rows. A collective: every rank calls it for the same column. */
int mcr_table_gather_column(const mcr_table *t, int j, mcr_table **out);
void mcr_table_free_gathered(mcr_table *g);
/* Record starts of a CSV byte range (exported for the unit test): the tokenizer's state
 * machine over bytes, with sep the field separator. */
enum { MCR_CS_REC, MCR_CS_FLD, MCR_CS_UNQ, MCR_CS_QUO, MCR_CS_QQ, MCR_CS_AFT, MCR_CS_CR, MCR_CS_N };
/* the state after bytes b[0, n) from each start state: map[s] */
void mcr_csv_range_map(const char *b, size_t n, char sep, unsigned char map[MCR_CS_N]);
/* the first record start in b[0, n) when the state before b[0] is s: its offset, or n when
 * none */
size_t mcr_csv_first_start(const char *b, size_t n, char sep, int s);

/* A table with the same columns, types, levels and formats as `like`, with `nrows` rows of
 * missing values. */
int mcr_table_new_like(const mcr_table *like, size_t nrows, mcr_table **out);
/* Append all rows of `src` (same schema as `dst`) to `dst`. */
int mcr_table_append(mcr_table *dst, const mcr_table *src);
/* Add a level to a categorical column; returns its code or a negative status. */
int mcr_column_add_level(mcr_column *c, const char *s, size_t len);
int mcr_column_find_level(mcr_column *c, const char *s, size_t len);

/* Canonical numeric form of a category spelling: "1.0" and "1" are one level. Writes the
 * canonical key into buf (size >= 64) and returns its length, or 0 if s is not a number. */
size_t mcr_numeric_key(const char *s, size_t len, char *buf);
/* Strict number grammar: [+-]digits[.digits][(e|E)[+-]digits]; value in *v. Returns 1 if s is
 * a finite number, 0 otherwise; *decimals = digits after the point (-1 with an exponent). */
int mcr_parse_number(const char *s, size_t len, double *v, int *decimals);

/* normal distribution helpers (transform.c) */
double mcr_norm_cdf(double x);
double mcr_norm_ppf(double p);

/* encoder internals (transform.c), exposed for model_io.c and model.c
 *
 * Two layouts of the encoded row:
 *   interleaved (classifiers, SMOTE): each feature in column order — a numeric value then, if
 *     the column has missing values, a 0/1 indicator; a categorical's one-hot block.
 *   split (the diffusion model): all numeric values first (dims [0, ng)), then one categorical
 *     block per categorical feature and one two-level block [present, missing] per numeric
 *     feature with missing values, in feature order. Gaussian diffusion runs on [0, ng), and
 *     each block is one multinomial variable.
 * Categorical levels: level code -> encoded index through lmap; with pooling, the levels seen
 * fewer than min_count times share one "__other__" index, decoded by a draw among them in
 * proportion to their training counts; a missing value is an index of its own (the last). */
typedef struct mcr_encfeat {
    int col;            /* column index in the table the encoder was fitted on            */
    mcr_coltype type;
    int offset, width;  /* numeric: value dim (width 1, +1 interleaved indicator);
                           categorical: first dim of its block of `width` levels          */
    int moff;           /* numeric with missing values: indicator dim (interleaved) or first
                           dim of its [present, missing] block (split); -1 = none          */
    /* numeric */
    int kind;           /* mcr_numeric_transform */
    int nq;             /* quantiles */
    double *q;          /* [nq] quantile values (references are linspace(0,1,nq))        */
    double mean, sd, lo, hi, fill;
    int has_missing;    /* numeric: an indicator; categorical: one extra level            */
    int all_missing;    /* numeric column with no observed value */
    /* categorical */
    int nlevels;        /* levels of the column when fitted */
    int *lmap;          /* [nlevels] encoded index of each level */
    int *inv;           /* [width] level code of each encoded index (-1: other / missing) */
    int other;          /* encoded index of the pooled rare levels, -1 = none */
    int nrare;          /* pooled levels seen in training, most frequent first */
    int *rare;          /* [nrare] their level codes */
    double *rcum;       /* [nrare] cumulative training counts */
} mcr_encfeat;

struct mcr_encoder {
    int nfeat, d;
    int split;          /* layout (see above) */
    int ng;             /* split: numeric dims [0, ng) */
    int nblk;           /* split: categorical blocks */
    int *boff, *bK;     /* [nblk] first dim and number of levels of each block */
    mcr_encfeat *f;
};
/* Fit with a layout and a pooling threshold (min_count <= 1 pools nothing). */
int mcr_encoder_fit_ex(const mcr_table *t, const int *cols, int ncols, const size_t *rows,
                       size_t nrows, mcr_numeric_transform kind, int split, int min_count,
                       mcr_encoder **out);
/* Offsets, widths, blocks and inverse maps from the fitted fields (fit and model loading). */
int mcr_encoder_layout(mcr_encoder *e);
/* Split layout only: numeric values num[nrows, ng] and block indices codes[nrows, nblk]. */
int mcr_encoder_codes(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t nrows,
                      float *num, int32_t *codes);
/* Decode as mcr_encoder_inverse; an "__other__" index draws one of the pooled levels with r
 * (r == NULL: the most frequent pooled level). */
int mcr_encoder_inverse_ex(const mcr_encoder *e, const double *x, size_t nrows, mcr_table *t,
                           const size_t *rows, mcr_rng *r);
/* Decode x[nrows, d] into table rows first .. first + nrows - 1 (one thread: for callers that
 * decode chunks in parallel; the most frequent pooled level for "__other__"). */
int mcr_encoder_inverse_at(const mcr_encoder *e, const double *x, size_t nrows, mcr_table *t, size_t first);
/* mcr_encoder_transform into a new float array out[n * d] (the caller frees it) */
int mcr_encoder_transform_float(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n,
                                float **out);
/* Encoded rows (interleaved layout) in compressed sparse rows: row r's entries are
 * idx/val[ptr[r] .. ptr[r + 1]), in increasing dim order. Numeric values are always stored (a 0
 * is a value); one-hot dims and missing indicators (implicit[dim] = 1) are stored only where 1,
 * so an absent entry of an implicit dim is a 0 — which XGBoost reads as "missing", the same
 * split for a 0/1 feature. Held once: ~2 entries a feature instead of d a row. */
typedef struct mcr_csr {
    size_t n;
    int d;
    size_t *ptr;             /* [n + 1] */
    int32_t *idx;            /* [ptr[n]] */
    float *val;              /* [ptr[n]] */
    unsigned char *implicit; /* [d] */
} mcr_csr;
int mcr_encoder_transform_csr(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n,
                              mcr_csr *out);
/* rows r0 .. r1 - 1 as dense rows x[(r1 - r0) * d] */
int mcr_csr_dense(const mcr_csr *m, size_t r0, size_t r1, float *x);
void mcr_csr_free(mcr_csr *m);
/* out: a's rows, then b's rows pick[0 .. np) (both of one encoder: the same d and implicit dims) */
int mcr_csr_stack(const mcr_csr *a, const mcr_csr *b, const size_t *pick, size_t np, mcr_csr *out);
/* Encoded rows (interleaved layout) held compact for distances on wide one-hot data: the dn
 * numeric dims (values and missing indicators, in dim order) as floats N[n, dn], and one encoded
 * level index per categorical feature L[n, nc] (-1: no level, an all-zero block). ndim[dn] is
 * the encoded dim of each numeric dim, cfeat[nc] the encoder feature of each level column. The
 * one-hot rows' squared distance, one-hot dims scaled by s, is that of N plus s^2 times 2 per
 * categorical whose levels differ (1 where one side has none): see mcr_knn_mixed. */
typedef struct mcr_mixed {
    size_t n;
    int dn, nc;
    float *N;   /* [n, dn] */
    int32_t *L; /* [n, nc] */
    int *ndim;  /* [dn] */
    int *cfeat; /* [nc] */
} mcr_mixed;
/* 1 when one-hot blocks make the encoding at least twice as wide as one value per numeric dim
 * and one level index per categorical: then compact rows (mcr_mixed) pay for distances */
int mcr_encoder_is_wide(const mcr_encoder *e);
int mcr_encoder_transform_mixed(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n,
                                mcr_mixed *out);
/* rows[0..n) of m (NULL: all) into a new mixed set sharing m's layout */
int mcr_mixed_take(const mcr_mixed *m, const size_t *rows, size_t n, mcr_mixed *out);
void mcr_mixed_free(mcr_mixed *m);
double mcr_quantile_forward(const mcr_encfeat *f, double x);
double mcr_quantile_inverse(const mcr_encfeat *f, double z);

/* table builder helpers (table.c) */
int mcr_table_add_column(mcr_table *t, const char *name, mcr_coltype type, int decimals);
mcr_table *mcr_table_empty(size_t nrows, char sep);

/* table.c: a new table holding rows[0..n) of t (same schema) */
int mcr_table_take(const mcr_table *t, const size_t *rows, size_t n, mcr_table **out);

/* knn.c: for each query row, the k nearest reference rows (squared euclidean), nearest first.
 * Blocked over queries with sgemm: memory O(block * nr), never nq * nr. If self_offset >= 0,
 * query q is reference row q + self_offset and is excluded. idx [nq, k]; fewer than k
 * references leave -1. */
int mcr_knn(const float *Q, size_t nq, const float *R, size_t nr, int D, int k, long self_offset,
            int *idx);
/* knn.c: the same on compact rows (mcr_mixed): squared distance = sum of squared numeric
 * differences + w * (2 per categorical whose levels differ, 1 where one side has no level), the
 * one-hot encoding's with its dims scaled by sqrt(w). O(nq * nr * (dn + nc)), however many
 * levels. With self (Q == R), row q never counts itself. Ties go to the lower reference index;
 * the same result for any thread count. idx [nq, k] (-1 past the references); dist [nq, k]
 * (squared distances) when not NULL. */
int mcr_knn_mixed(const mcr_mixed *Q, const mcr_mixed *R, float w, int k, int self, int *idx, float *dist);
/* Reference rows for nearest-row distances (DCR, membership inference): dense float rows, or
 * compact ones when the encoding is wide (mcr_encoder_is_wide). mcr_nnref_dist: the Euclidean
 * distance of each of rows[0..n) of t (NULL: the first n) to its nearest reference row. */
typedef struct mcr_nnref {
    int compact;
    size_t n;
    int d;
    float *X;    /* dense: [n, d] */
    mcr_mixed M; /* compact */
} mcr_nnref;
int mcr_nnref_make(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n, mcr_nnref *out);
int mcr_nnref_dist(const mcr_encoder *e, const mcr_table *t, const size_t *rows, size_t n, const mcr_nnref *ref,
                   double *out);
void mcr_nnref_free(mcr_nnref *r);
/* Euclidean distance of each query row to its nearest reference row: out[nq]. */
int mcr_nn_dist(const float *Q, size_t nq, const float *R, size_t nr, int D, double *out);

/* table.c: row identity over columns cols (numbers by value, -0 == 0, NaN == NaN; levels by
 * spelling, so rows of two tables with different level codes compare correctly) */
typedef struct mcr_hrow {
    uint64_t h;
    size_t row;
} mcr_hrow;
int mcr_hrow_cmp(const void *a, const void *b); /* by hash, then row */
uint64_t mcr_table_row_hash(const mcr_table *t, size_t i, const int *cols, int nc);
int mcr_table_rows_equal(const mcr_table *a, size_t i, const mcr_table *b, size_t j, const int *cols,
                         int nc);

/* The model file (model_io.c): a container (core/container.c) with magic "MCRGMODL", read
 * back to version 2 (the same chunks without section framing). Sections, in order, each
 * written and read by the module of its struct:
 *   SCHM  schema: columns, types, levels, formats        table.c      mcr_schema_put/get
 *   COND  conditions: target, sensitive, names, counts   model_io.c
 *   ENCD  encoder                                        transform.c  mcr_encoder_put/get
 *   CONF  settings, final loss, loss curve, sampling bounds  model_io.c
 *   WGHT  EMA weights                                    train.c      mcr_params_put/get
 *   TRST  trainer state (checkpoints only)               train.c      mcr_train_put/get */
#define MCR_MODEL_VERSION 3
#define MCR_MODEL_OLDEST 2
#define MCR_MAX_ONEHOT 5000 /* levels of one categorical feature */

void mcr_schema_put(mcr_wbuf *w, const mcr_table *s);
int mcr_schema_get(mcr_rbuf *r, const char *path, mcr_table **out);
void mcr_encoder_put(mcr_wbuf *w, const mcr_encoder *e);
/* Reads an encoder fitted on `schema` (checks every index against it). */
int mcr_encoder_get(mcr_rbuf *r, const char *path, const mcr_table *schema, mcr_encoder **out);

struct mcr_model {
    mcr_table *schema;      /* 0 rows: the training CSV's columns, types, levels, formats */
    int target, sensitive;  /* schema column indexes, -1 = none */
    int condition;          /* mcr_condition */
    int ncond;
    char **cond_names;      /* [ncond] "in", "F", or "in|F" */
    size_t *cond_count;     /* [ncond] training rows */
    int *cond_tlevel;       /* [ncond] target level written for condition c (-1: generated) */
    int *cond_glevel;       /* [ncond] sensitive level written (-1: generated) */
    int *feat, nfeat;       /* modelled columns */
    mcr_encoder *enc;
    mcr_fit_config cfg;     /* settings used (pointers cleared) */
    mcr_net net;            /* layout only (no activations) */
    float *ema;             /* [nparams] EMA weights used for sampling (NULL while training) */
    float *xlo, *xhi;       /* [d] encoded training range: x0_hat is clipped to it */
    float final_loss;
    int nloss;
    float *loss_curve;
    double train_seconds;
    int version;            /* file format it was read from (MCR_MODEL_VERSION when fitted) */
    mcr_train_state *state; /* the trainer state of a loaded checkpoint (owned), else NULL */
};

/* Write m with weights `ema` and, for a checkpoint, the trainer state st (NULL: none). */
int mcr_model_write(const mcr_model *m, const float *ema, const mcr_train_state *st,
                    const char *path);

/* Trainer of the mixed diffusion: Gaussian on columns [0, dg) of each row, multinomial on
 * nblk one-hot blocks (boff[b], bK[b]) (nblk = 0: every column is Gaussian). A step is
 * mcr_trainer_grad (t and noise drawn, forward, loss, backward into st.opt.g) then
 * mcr_optim_apply(&st.opt, step). */
typedef struct mcr_trainer {
    mcr_net net;
    mcr_sched sched;
    mcr_train_state st;           /* weights, optimiser, step, RNG, epoch order, loss sums */
    float *x0, *xt, *dout;        /* [B, d] each */
    float *eps;                   /* [B, dg] */
    float *gp;                    /* [B, dg] scratch: the Gaussian columns of the output */
    int *t, *y;                   /* [B] */
    int B, dg, nblk, Kmax;
    const int *boff, *bK;         /* [nblk], borrowed */
    int32_t *c0;                  /* [B, nblk] the batch's level indices (set with x0) */
    int32_t *ct;                  /* [B, nblk] their noised indices (drawn with xt) */
    float *scratch;               /* [threads, 4 Kmax] */
    double *rowloss;              /* [B] */
} mcr_trainer;

/* Network, schedule, optimiser arrays (weights initialised from seed), an epoch order over n
 * examples and the loop's RNG (seed, MCR_STREAM_FIT); optimiser settings from c. */
int mcr_trainer_init(mcr_trainer *tr, const mcr_net *layout, int B, const mcr_fit_config *c,
                     size_t n, int dg, int nblk, const int *boff, const int *bK);
void mcr_trainer_free(mcr_trainer *tr);
/* First half of step `step` on the batch in x0 / c0 / y: time steps drawn from r, noise from
 * (seed, step), forward, loss, backward. Returns the loss; the gradient is in st.opt.g unless
 * the loss is not finite. */
double mcr_trainer_grad(mcr_trainer *tr, uint64_t seed, int step, mcr_rng *r);
/* n standard normals from (seed, stream), generated in fixed chunks: thread-count independent */
void mcr_fill_normal(float *buf, size_t n, uint64_t seed, uint64_t stream);
/* n uniforms in (0, 1), the same way */
void mcr_fill_uniform(float *buf, size_t n, uint64_t seed, uint64_t stream);

/* ---- table.c: column roles, integer codes, bands, the rarest class (describe, augment,
 * evaluate, assess share them) */
#define MCR_MAX_CODES 20 /* a numeric column of at most this many integer values can be groups */
enum {
    MCR_ROLE_LEVELS = 1, /* the column must hold classes/groups: categorical or integer codes */
    MCR_ROLE_BANDS = 2,  /* a continuous column's message suggests --bands                  */
    MCR_ROLE_VALUES = 4  /* the column must have a value somewhere                          */
};
/* The one check of a column with a role ("target", "sensitive", "group"): it exists and, with
 * MCR_ROLE_LEVELS, is categorical or a few integer codes (mcr_int_codes). *j = -1 when name is
 * NULL. Messages name the role and the column: "sensitive column 'x' ...". */
int mcr_role_column(const mcr_table *t, const char *role, const char *name, int flags, int *j);
int mcr_int_codes(const mcr_table *t, int j);
/* integer column -> categorical, levels spelled as written ("1", "10"), in numeric order */
int mcr_table_codes_to_levels(mcr_table *t, int j);
/* a copy of t with the non-categorical columns among cols[0..n) (-1 skipped) turned into
 * levels; *out = NULL when none needs it */
int mcr_table_levelled(const mcr_table *t, const int *cols, int n, mcr_table **out);
/* numeric column -> bands "<a", "a-b", ..., ">=z" (spec "a,b,...,z") */
int mcr_table_band(mcr_table *t, int j, const char *spec);
/* class column -> levels "rest", VALUE */
int mcr_table_binarize(mcr_table *t, int j, const char *value);
/* the rarest class with rows (the first of a tie; -1 if none); *unique = 0 on a tie */
int mcr_minority_class(const size_t *counts, int K, int *unique);
/* rebalance.c: the synthetic rows per condition of model m (counts[mcr_model_ncond(m)]) that
 * augment with config c (strategy, amount) on rows[0..nrows) of t (NULL = all) would sample */
int mcr_augment_cond_counts(const mcr_table *t, const size_t *rows, size_t nrows, const mcr_augment_config *c,
                            const mcr_model *m, size_t *counts);
/* model.c: the denoising loss of each row of S (the model's columns) under m, averaged over nt
 * time steps spread evenly over [0, T) (the same ones for every row), as the model was trained
 * on it (Gaussian columns' mean squared noise error + weighted multinomial KL), with the EMA
 * weights and no dropout; noise from seed. loss[S->nrows]. Lower: more typical of the row's
 * condition. */
int mcr_model_row_loss(const mcr_model *m, const mcr_table *S, int nt, uint64_t seed, double *loss);
/* knn.c: quantile q of sorted v[n], linear interpolation (numpy's default); NaN for n = 0.
 * The one rule of augment's DCR threshold and assess's DCR quantiles. */
double mcr_quantile_sorted(const double *v, size_t n, double q);
#endif /* MCR_TABULAR_H */
