/* cnn.h — private: the image classifier's network (cnn.c), for the quality protocol
 * (quality.c) and the tests. Public use goes through mcrage.h 12c (mcr_cnn_fit*,
 * mcr_cnn_predict_proba*).
 *
 * The network is a list of modules over a list of tensors, built once by cnn_layout:
 *   t0 = x                                   [N, C, H, W]
 *   stem: conv3x3(C -> w0)
 *   stage s (s > 0 first: gn, silu, conv3x3 stride 2 (w_{s-1} -> w_s), i.e. ceil(H/2));
 *     `blocks` times:  h = conv3x3(silu(gn(t))); h = conv3x3(silu(gn(h))); t = t + h
 *   head: gn, silu, global average pool [N, w_last], linear -> logits [N, K]
 * Forward runs the list; backward zeroes every tensor's gradient and runs the list in
 * reverse, each kernel accumulating into its inputs' gradients (the residual's input is read
 * twice, so both paths sum). While fitting, parameters, gradients and Adam moments are the
 * flat arrays of one mcr_optim (nn.h); activations are one allocation for maxN images. */
#ifndef MCR_CNN_H
#define MCR_CNN_H
#include "nn/nn.h"

#define CNN_MAX_MODS 256
#define CNN_MAX_TENS 256
enum { CM_CONV, CM_GN, CM_SILU, CM_ADD, CM_POOL, CM_LINEAR };
typedef struct cnn_mod {
    int type, in0, in1, out;      /* tensor indices (in1: ADD's second input)                  */
    int k, stride, pad;           /* CM_CONV                                                  */
    int G;                        /* CM_GN groups                                             */
    size_t w, b;                  /* parameter offsets: conv w [OC, C, k, k] b [OC]; gn gamma,
                                     beta [C]; linear w [K, C] b [K]                          */
    float *mean, *rstd;           /* CM_GN cache [maxN, G] each                               */
} cnn_mod;
typedef struct cnn_tensor {
    int C, H, W;
    float *v, *g;                 /* [maxN, C, H, W] value and gradient                       */
} cnn_tensor;

struct mcr_cnn {
    mcr_cnn_config cfg;           /* class_weights not kept (NULL)                            */
    int C, H, W, K;               /* input channels and size, classes                         */
    size_t nparams;
    int nmods, ntens;
    cnn_mod mods[CNN_MAX_MODS];
    cnn_tensor tens[CNN_MAX_TENS];
    int t_out;                    /* the logits [N, K, 1, 1]                                  */
    int maxN;
    float *mem;                   /* activations, caches and the workspace                    */
    float *ws;                    /* [wsn] convolution workspace                              */
    size_t wsn;
    float *p;                     /* [nparams] the fitted weights (owned)                     */
    float final_loss;
};

/* Validate the settings (MCR_EINVAL naming the field) and build the module list and the
 * parameter layout for C x H x W inputs and K classes; no allocation. */
int cnn_layout(mcr_cnn *m, const mcr_cnn_config *c, int C, int H, int W, int K);
/* Activations, caches and the convolution workspace for up to maxN images, sized for the
 * current thread count (m->mem; the weights are not touched). */
int cnn_alloc(mcr_cnn *m, int maxN);
void cnn_release(mcr_cnn *m); /* frees what cnn_alloc holds (not m, not m->p) */
/* PyTorch-style initial weights p [nparams] from seed: conv and linear U(+-1/sqrt(fan_in)) for
 * weights and biases, GroupNorm gamma 1, beta 0. */
void cnn_init_params(const mcr_cnn *m, float *p, uint64_t seed);
/* Forward of N <= maxN images x [N, C, H, W] with weights p: logits in m->tens[m->t_out].v. */
void cnn_forward(mcr_cnn *m, const float *p, const float *x, int N);
/* Backward of the last forward from dlogits [N, K]: ACCUMULATES into g [nparams]; the
 * input's gradient is left in m->tens[0].g [N, C, H, W]. */
void cnn_backward(mcr_cnn *m, const float *p, float *g, const float *dlogits, int N);
/* The batch loss: (1/N) sum_i cw[y_i] l_i with l the cross-entropy (gamma = 0) or focal loss
 * of logits [N, K]; dlogits [N, K] written with its gradient (if not NULL). cw NULL = 1. */
double cnn_loss(float *dlogits, const float *logits, const int *y, int N, int K, const double *cw,
                double gamma);
#endif /* MCR_CNN_H */
