/* model.h — private: the model handle, the trainer shared by fit and the benchmark. */
#ifndef MCR_MODEL_H
#define MCR_MODEL_H
#include "diffusion.h"
#include "mcr_int.h"
#include "nn.h"

#define MCR_MODEL_VERSION 2
#define MCR_MAX_ONEHOT 5000 /* levels of one categorical feature */

/* full training state carried by a checkpoint */
typedef struct mcr_train_state {
    int step;                 /* steps done */
    uint64_t opt_t;
    mcr_rng rng;
    uint64_t pos, nperm;
    uint64_t *perm;           /* [nperm] epoch order */
    double acc, window;
    int nacc, nwin;
    uint32_t data_crc, cfg_crc;
    float *p, *m, *v;         /* [nparams] weights and Adam moments */
    int owned;                /* arrays freed with the model (loaded checkpoints) */
} mcr_train_state;

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
    float *ema;             /* [nparams] EMA weights used for sampling */
    float *xlo, *xhi;       /* [d] encoded training range: x0_hat is clipped to it */
    float final_loss;
    int nloss;
    float *loss_curve;
    double train_seconds;
    mcr_train_state *state;  /* NULL unless this is a checkpoint */
};
void mcr_train_state_free(mcr_train_state *s);

/* Trainer of the mixed diffusion: Gaussian on columns [0, dg) of each row, multinomial on
 * nblk one-hot blocks (boff[b], bK[b]) (nblk = 0: every column is Gaussian). */
typedef struct mcr_trainer {
    mcr_net net;
    mcr_sched sched;
    float *p, *g, *m, *v, *ema;   /* [nparams] each */
    float *x0, *xt, *dout;        /* [B, d] each */
    float *eps;                   /* [B, dg] */
    int *t, *y;                   /* [B] */
    int B, dg, nblk, Kmax;
    const int *boff, *bK;         /* [nblk], borrowed */
    int32_t *c0;                  /* [B, nblk] the batch's level indices (set with x0) */
    int32_t *ct;                  /* [B, nblk] their noised indices (drawn with xt) */
    float *scratch;               /* [threads, 4 Kmax] */
    double *rowloss;              /* [B] */
    mcr_adamw opt;
} mcr_trainer;

int mcr_trainer_init(mcr_trainer *tr, const mcr_net *layout, int B, int T, mcr_schedule sched,
                     uint64_t seed, int dg, int nblk, const int *boff, const int *bK);
void mcr_trainer_free(mcr_trainer *tr);
double mcr_trainer_step(mcr_trainer *tr, const mcr_fit_config *c, int step, mcr_rng *r);
/* n standard normals from (seed, stream), generated in fixed chunks: thread-count independent */
void mcr_fill_normal(float *buf, size_t n, uint64_t seed, uint64_t stream);
/* n uniforms in (0, 1), the same way */
void mcr_fill_uniform(float *buf, size_t n, uint64_t seed, uint64_t stream);
#endif
