/* image.h — private: image sets (pixels, labels, attributes, splits) and their files. What
 * reads and writes them (npz.c: NumPy .npy/.npz over zlib; png.c: PNG through libpng, a folder
 * of PNGs with a CSV manifest, grids), the per-split counts (image.c) and the conversion to the
 * network's float layout and back (image.c). The model (imodel.c: fit, sample, counts, file;
 * public in mcrage.h 12b) uses what is declared here, in core.h, nn.h (the UNet, mcr_optim,
 * mcr_train_state) and diffusion.h (schedule, q_sample, ddim_step, ddpm_step). The classifier
 * (cnn.c, its network in cnn.h) and the quality protocol (quality.c) are public in mcrage.h 12c;
 * the multi-site benchmark and RandAugment (sites.c) in 12d, the evaluation (ieval.c) in 12e. */
#ifndef MCR_IMAGE_H
#define MCR_IMAGE_H
#include "core/core.h"

/* Splits as stored in mcr_imageset.split */
#define MCR_SPLIT_TRAIN 't'
#define MCR_SPLIT_VAL 'v'
#define MCR_SPLIT_TEST 's'

struct mcr_imageset {
    int n, h, w, c;          /* images, height, width, channels (1 grey, 3 RGB)                */
    uint8_t *pix;            /* [n, h, w, c] as read (row-major, channels last)                */
    int *label;              /* [n] label level, -1 = unlabelled                               */
    int *attr;               /* [n] attribute level, -1 = unknown                              */
    char *split;             /* [n] MCR_SPLIT_TRAIN / _VAL / _TEST                             */
    int nlabels, nattrs;
    char **label_names;      /* [nlabels] level spellings ("0", "1" for MedMNIST codes)        */
    char **attr_names;       /* [nattrs]                                                       */
    char *label_col, *attr_col; /* column names of the manifest ("label", "attribute")         */
    char *source;            /* the file it was read from                                      */
};

/* An empty set of n images of h x w x c (pixels zero, labels and attributes -1, split train,
 * no level names). */
int mcr_imageset_alloc(int n, int h, int w, int c, mcr_imageset **out);
/* Append a level name to a set's label (which = 0) or attribute (1) names (the caller keeps
 * names distinct); returns its index or a negative status. */
int mcr_imageset_add_level(mcr_imageset *s, int which, const char *name);

/* Pixels to the network's layout: out[n, c, h, w] = pix[n, h, w, c] / 127.5 - 1, in [-1, 1]. */
void mcr_image_to_float(float *out, const uint8_t *pix, int n, int h, int w, int c);
/* And back: pix[n, h, w, c] = clip(floor((x[n, c, h, w] + 1) * 127.5 + 0.5), 0, 255); NaN -> 0.
 * Exact inverse of mcr_image_to_float for every 8-bit value. */
void mcr_image_from_float(uint8_t *pix, const float *x, int n, int h, int w, int c);

/* npz.c: a .npy array from memory. Integer and unsigned dtypes of 1, 2, 4 and 8 bytes, either
 * byte order ('|', '<', '>'), C order only, up to 8 dimensions. Data is copied. */
typedef struct mcr_npy {
    char kind;               /* 'u' unsigned, 'i' signed, 'b' bool, 'S' bytes                  */
    int size;                /* bytes per element                                              */
    int big;                 /* big-endian                                                     */
    int ndim;
    int64_t shape[8];
    size_t count;            /* elements                                                       */
    unsigned char *data;     /* [count * size], malloc'd, as in the file                       */
} mcr_npy;
int mcr_npy_parse(const unsigned char *p, size_t n, const char *what, mcr_npy *out);
void mcr_npy_free(mcr_npy *a);
int64_t mcr_npy_int(const mcr_npy *a, size_t i); /* element i as an integer (kind u/i/b)      */

/* A ZIP archive in memory (what np.savez / np.savez_compressed write): members listed from
 * the central directory (ZIP64 end record and extra fields read), read stored or deflated,
 * CRC-32 checked. Borrows the bytes. */
typedef struct mcr_zipent {
    char *name;
    int method;              /* 0 stored, 8 deflated                                           */
    uint32_t crc;
    uint64_t csize, usize, offset; /* offset of the local header                               */
} mcr_zipent;
typedef struct mcr_zip {
    const unsigned char *p;
    size_t n;
    const char *path;        /* in messages                                                    */
    int nent;
    mcr_zipent *ent;
} mcr_zip;
int mcr_zip_open(const unsigned char *p, size_t n, const char *path, mcr_zip *z);
void mcr_zip_close(mcr_zip *z);
int mcr_zip_find(const mcr_zip *z, const char *name); /* entry index or -1                    */
/* The bytes of entry i (malloc'd, *len bytes): inflated if deflated, CRC checked. */
int mcr_zip_read(const mcr_zip *z, int i, unsigned char **data, size_t *len);

/* An .npz writer: members stored (no compression), CRC-32 in every header, written atomically. */
typedef struct mcr_npzw {
    mcr_wbuf buf;            /* the archive so far                                             */
    mcr_wbuf cdir;           /* its central directory                                          */
    int nent;
} mcr_npzw;
/* Append member name.npy: an array of `descr` ("|u1", "<i8", "|S12") and shape[ndim]. */
int mcr_npzw_add(mcr_npzw *w, const char *name, const char *descr, const int64_t *shape, int ndim,
                 const void *data, size_t nbytes);
int mcr_npzw_finish(mcr_npzw *w, const char *path); /* writes the file; frees w either way */
void mcr_npzw_free(mcr_npzw *w);

/* png.c: an 8-bit PNG from memory: grey or RGB (palette expanded, 1/2/4-bit grey expanded,
 * 16-bit scaled to 8 by rounding, an alpha channel accepted only when every pixel is opaque).
 * *pix [h, w, c] malloc'd. `what` names the file in messages. */
int mcr_png_decode(const unsigned char *p, size_t n, const char *what, uint8_t **pix, int *h, int *w,
                   int *c);
/* pix [h, w, c] (c = 1 or 3) as PNG bytes (*out malloc'd, *len bytes). */
int mcr_png_encode(const uint8_t *pix, int h, int w, int c, unsigned char **out, size_t *len);

/* A folder of PNGs listed by a CSV manifest (columns file,label[,attribute][,split]), read with
 * the tabular CSV reader (malformed CSV: file:line:col); row errors name manifest:line. */
int mcr_imageset_read_manifest(const char *path, mcr_imageset **out);

/* grid layout (png.c): the cells of mcr_imageset_write_grid, row r = (label, attribute) pair */
typedef struct mcr_grid_row {
    int label, attr;         /* -1: unlabelled / unknown                                       */
    int count;               /* images of the split in this cell                               */
} mcr_grid_row;
/* The non-empty (label, attribute) pairs of split (0 = all) in label-major order, unlabelled
 * and unknown last. *rows malloc'd. */
int mcr_imageset_grid_rows(const mcr_imageset *s, char split, mcr_grid_row **rows, int *nrows);

/* quality.c: the real-vs-synthetic detector of mcr_image_quality (b) on real [nr, h, w, ch] and
 * synth [ns, h, w, ch]: min(nr, ns) of each (shuffled with seed), round(test_frac x that) of
 * each held out, the CNN of cc (its seed set to seed) trained on the rest; the held-out AUROC
 * and accuracy of P(synthetic) (NaN with fewer than 2 images a side), the image counts. */
int mcr_image_detect(const mcr_cnn_config *cc, const uint8_t *real, size_t nr, const uint8_t *synth, size_t ns, int h,
                     int w, int ch, double test_frac, uint64_t seed, double *auroc, double *acc, size_t *ntrain,
                     size_t *ntest);

/* mcr_imageset_write_grid's picture as PNG bytes (*png malloc'd, *len bytes; *nrows rows,
 * *gw x *gh pixels; any of the three may be NULL). */
int mcr_imageset_grid_png(const mcr_imageset *s, int per_cell, char split, unsigned char **png, size_t *len, int *nrows,
                          int *gw, int *gh);

/* imodel.c, for tests: the EMA weights of a model and the UNet configuration they are laid out
 * by (nn.h's mcr_unet_layout gives the offsets). */
struct mcr_unet_config;
const float *mcr_imodel_weights(const mcr_imodel *m, struct mcr_unet_config *cfg);

/* ieval.c (mcr_image_evaluate, public in mcrage.h 12e), for tests: the metrics of one run and
 * the training set of one method. */
typedef struct mcr_ieval_metrics {
    double id_acc, ood_acc, id_auroc, ood_auroc; /* NaN where there is no image (or one class) */
    double worst_acc, gap;       /* min and max - min of the per-site accuracies               */
    size_t n_id, n_ood;
} mcr_ieval_metrics;
/* y[n] in {0, 1}, p1[n] the probability of class 1 (predicted 1 when > 0.5), site[n] in
 * [0, nsites), ood[nsites] 1 for an OOD site; site_acc / site_auroc [nsites] (NaN for a site
 * without images; AUROC NaN with one class). */
int mcr_ieval_score(const int *y, const double *p1, const int *site, size_t n, int nsites, const int *ood,
                    mcr_ieval_metrics *m, double *site_acc, double *site_auroc);
enum { MCR_IEVAL_NONE = 0, MCR_IEVAL_OVERSAMPLE, MCR_IEVAL_FOCAL, MCR_IEVAL_RANDAUG, MCR_IEVAL_DIFFUSION, MCR_IEVAL_ORACLE,
       MCR_IEVAL_DIFF_LABEL,     /* diffusion-label-only: the generator conditioned on the label only       */
       MCR_IEVAL_DIFF_NOUNL,     /* diffusion-no-unlabelled: label + site, without the unlabelled images    */
       MCR_IEVAL_NKINDS };
/* the generator arms: 0 diffusion, 1 label-only, 2 no-unlabelled (-1: not a diffusion method) */
#define MCR_IEVAL_NARMS 3
static inline int mcr_ieval_arm(int kind) {
    return kind == MCR_IEVAL_DIFFUSION ? 0 : kind == MCR_IEVAL_DIFF_LABEL ? 1 : kind == MCR_IEVAL_DIFF_NOUNL ? 2 : -1;
}
static inline int mcr_ieval_is_diffusion(int kind) { return mcr_ieval_arm(kind) >= 0; }
/* A training set: n images pix [n, h, w, c] with labels y and sites site, the first n_real of
 * them the labelled train images of s in set order. */
typedef struct mcr_itrain {
    uint8_t *pix;
    int *y, *site;
    size_t n, n_real;
} mcr_itrain;
/* The training set of method `kind` (ratio: a diffusion method's share) for the run of `seed`;
 * model: that method's generator (sites and labels matched to s's by name; a label-only
 * generator's images get site -1); pool (may be NULL): its images sampled before
 * (mcr_ieval_pool), of which each cell's first ones are taken when the pool has enough of
 * every cell (else the images are sampled); the counts per cell are c->policy's. */
int mcr_ieval_trainset(const mcr_imageset *s, int kind, double ratio, const mcr_ieval_config *c,
                       const mcr_imodel *model, const mcr_imageset *pool, uint64_t seed, mcr_itrain *out);
/* The synthetic images of diffusion for the run of `seed`, sampled once for every ratio: per
 * (label, site) cell the most that any of ratios[nratios] asks for under c->policy, so that
 * each ratio's set is each cell's first images (*pool NULL when none). */
int mcr_ieval_pool(const mcr_imageset *s, const double *ratios, int nratios, const mcr_ieval_config *c,
                   const mcr_imodel *model, uint64_t seed, mcr_imageset **pool);
void mcr_itrain_free(mcr_itrain *t);

struct mcr_ieval {
    int nmethods;
    char **methods;              /* "none", ..., "diffusion@0.25"                              */
    int *kind;                   /* MCR_IEVAL_*                                                */
    double *ratio;               /* diffusion's share, else 0                                  */
    int seeds;
    uint64_t seed;
    int nsites;
    char **sites;                /* attribute level names                                      */
    int *ood;                    /* [nsites] 1 OOD, 0 ID, -1 no labelled test image            */
    size_t *site_ntest;          /* labelled test images per site                              */
    size_t n_id, n_ood;
    struct mcr_ieval_run {
        size_t n_train, n_real;
        mcr_ieval_metrics m;
        double *site_acc, *site_auroc; /* [nsites] */
        double seconds;
    } *runs;                     /* [nmethods * seeds], method-major                           */
    int model_fitted;            /* 1: the generator was fitted in the run                     */
    double fit_seconds, seconds;
    char *source;
    /* the generators and their checks (arms of the diffusion methods named) */
    int policy, refit, joint;    /* the synthetic set's policy, fitted per seed, one-pass sampling */
    char *generator;             /* its settings in words                                      */
    int nlabels;
    char **labels;               /* [nlabels] label level names                                */
    double site_real_acc;        /* the site classifier's accuracy on the real test images     */
    struct mcr_ieval_gen {
        int used;
        double fit_seconds, sample_seconds; /* summed over fits / seeds                        */
        size_t n_pool;           /* images sampled per seed (the largest ratio's, per cell)     */
        int checked;             /* 1: the checks below were run (the first seed's images)     */
        double label_acc;        /* the none-arm classifier's accuracy on them (intended label) */
        double *cell_acc;        /* [nlabels * (nsites + 1)], column nsites: no site            */
        size_t *cell_n;
        double site_acc;         /* the site classifier's accuracy (intended site; NaN: none)   */
        double *site_acc_per;    /* [nsites]                                                   */
        double detect_auroc, detect_acc; /* real train images vs these                         */
        size_t detect_n;         /* held-out images of the detector                            */
        mcr_imageset *grid;      /* up to MCR_IEVAL_GRID images per cell, for the report      */
    } gen[MCR_IEVAL_NARMS];
};
#define MCR_IEVAL_GRID 8

#endif /* MCR_IMAGE_H */
