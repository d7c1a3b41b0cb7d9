/* ibench.c — the image model's benchmark (`mcrage bench --image`, issue 13's performance
 * part): training and sampling images/s of the default UNet, the GFLOP/s of its training step
 * (and of its convolutions alone) against the same process's sgemm rate, and the peak RSS.
 * bench/bench_torch_image.py is the PyTorch peer (same network, step and sampler).
 *
 * The training step is mcr_imodel_fit's on random images (uniform in [-1, 1]; 2 labels and 2
 * attributes, each dropped to null with p = 0.1): t uniform, eps ~ N(0, 1), q_sample, forward,
 * MSE, backward, mcr_optim_apply (clip 1, AdamW lr 2e-4, EMA 0.999: the fit defaults). The
 * first two steps are warm-up, not timed. The UNet's per-module profile (mcr_unet.timing) gives
 * the convolutions' share of the step's time, so conv GFLOP/s = 3 x forward conv flops / the
 * time spent in conv2d_forward and conv2d_backward.
 *
 * Sampling goes through the public path: a model fitted for one step on one image (the weights
 * do not change the cost), then mcr_imodel_sample of sample_images images of one (label,
 * attribute) cell with the sample defaults (DDIM, eta 0, guidance 1 + 1: three network rows per
 * image, batches of 16 images) and sample_steps steps, timed over the whole call. */
#include "image/image.h"
#include "diffusion/diffusion.h"
#include "nn/nn.h"
#include <cblas.h>
#include <omp.h>
#include <sys/resource.h>

static double peak_rss_mb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

#define IB_LABELS 2
#define IB_ATTRS 2

/* sgemm GFLOP/s at the UNet's 64 -> 64 channel 3x3 GEMM shape at H/2 (M = 64, K = 576,
 * N = batch (H/2)(W/2): bench_conv's figure), best of repeats over >= 0.5 s */
static int sgemm_rate(int batch, int H, int W, double *gflops) {
    int M = 64, K = 64 * 9, Nc = batch * (H / 2) * (W / 2);
    float *A = malloc((size_t)M * K * sizeof(float)), *B = malloc((size_t)K * Nc * sizeof(float));
    float *C = malloc((size_t)M * Nc * sizeof(float));
    if (!A || !B || !C) {
        free(A), free(B), free(C);
        return MCR_NOMEM();
    }
    mcr_rng r;
    mcr_rng_seed(&r, 7, 0);
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(2 * mcr_rng_uniform(&r) - 1);
    for (size_t i = 0; i < (size_t)K * Nc; i++) B[i] = (float)(2 * mcr_rng_uniform(&r) - 1);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, Nc, K, 1.0f, A, K, B, Nc, 0.0f, C, Nc);
    double best = 1e30, t_start = mcr_now();
    for (int rep = 0; rep < 3 || mcr_now() - t_start < 0.5; rep++) {
        double t0 = mcr_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, Nc, K, 1.0f, A, K, B, Nc, 0.0f, C, Nc);
        double dt = mcr_now() - t0;
        if (dt < best) best = dt;
        if (rep > 200) break;
    }
    *gflops = 2.0 * M * K * (double)Nc / best * 1e-9;
    free(A), free(B), free(C);
    return MCR_OK;
}

static int bench_train(int engine, int C, int H, int W, int batch, int steps, mcr_ibench_result *res) {
    mcr_ifit_config fc;
    mcr_ifit_config_default(&fc);
    mcr_unet_config uc;
    mcr_unet_config_default(&uc, C, H, W, IB_LABELS, IB_ATTRS);
    /* mcr_imodel_fit's mapping of the fit defaults (channels 32, 64, 128; 2 blocks; attention) */
    uc.ch = fc.channels[0], uc.nlevels = fc.nlevels, uc.nres = fc.nres, uc.attn = fc.attn, uc.groups = fc.groups;
    for (int l = 0; l < fc.nlevels; l++) uc.mult[l] = fc.channels[l] / fc.channels[0];
    uc.tdim = fc.channels[0] & ~1;
    mcr_unet *net = calloc(1, sizeof *net);
    mcr_train_state *st = calloc(1, sizeof *st);
    mcr_sched sc = {0};
    size_t d = (size_t)C * H * W, nd = (size_t)batch * d;
    float *mem = NULL;
    int *imem = NULL, rc;
    if (!net || !st) {
        rc = MCR_NOMEM();
        goto done;
    }
    if ((rc = mcr_unet_layout(net, &uc)) || (rc = mcr_unet_alloc(net, batch))) goto done;
    if ((rc = mcr_unet_set_engine(net, engine))) goto done;
    if ((rc = mcr_sched_init(&sc, fc.T, MCR_SCHED_COSINE))) goto done;
    if ((rc = mcr_train_init(st, net->nparams, 1, 7, MCR_STREAM_IMAGE_FIT))) goto done;
    mem = malloc(4 * nd * sizeof(float));
    imem = malloc(3 * (size_t)batch * sizeof(int));
    if (!mem || !imem) {
        rc = MCR_NOMEM();
        goto done;
    }
    float *x0 = mem, *xt = mem + nd, *eps = mem + 2 * nd, *dout = mem + 3 * nd;
    int *t = imem, *y = imem + batch, *a = imem + 2 * batch;
    mcr_optim *o = &st->opt;
    int total = steps + 2;
    o->lr = fc.lr, o->steps = total, o->warmup = total / 20;
    o->grad_clip = fc.grad_clip, o->ema_decay = fc.ema_decay, o->adam.weight_decay = fc.weight_decay;
    mcr_unet_init_params(net, o->p, 7);
    memcpy(o->ema, o->p, net->nparams * sizeof(float));
    mcr_rng *r = &st->rng;
    for (size_t k = 0; k < nd; k++) x0[k] = (float)(2 * mcr_rng_uniform(r) - 1);
    double t0 = mcr_now();
    for (int s = 0; s < total; s++) {
        if (s == 2) { /* warm-up done: time and profile from here */
            t0 = mcr_now();
            net->timing = 1;
            memset(net->tsec, 0, sizeof net->tsec);
        }
        for (int i = 0; i < batch; i++) {
            double ul = mcr_rng_uniform(r), ua = mcr_rng_uniform(r);
            y[i] = ul < fc.cond_drop ? IB_LABELS : i % IB_LABELS;
            a[i] = ua < fc.cond_drop ? IB_ATTRS : (i / IB_LABELS) % IB_ATTRS;
            t[i] = (int)mcr_rng_below(r, (uint64_t)fc.T);
        }
        for (size_t k = 0; k < nd; k++) eps[k] = (float)mcr_rng_normal(r);
        q_sample(xt, x0, eps, t, &sc, batch, (int)d, (int)d);
        memset(o->g, 0, net->nparams * sizeof(float));
        mcr_unet_forward(net, o->p, xt, t, y, a, batch);
        double loss = mse_forward_backward(dout, net->tens[net->t_out].v, eps, nd);
        if (!isfinite(loss)) {
            rc = mcr_err(MCR_ENUMERIC, "bench: image training diverged at step %d", s + 1);
            goto done;
        }
        mcr_unet_backward(net, o->p, o->g, dout, y, a, batch);
        mcr_optim_apply(o, s);
    }
    double el = mcr_now() - t0, fconv, f = mcr_unet_flops(net, &fconv);
    res->nparams = net->nparams;
    res->train_images_per_s = (double)steps * batch / el;
    res->train_gflop_per_image = 3 * f * 1e-9;
    res->train_gflops = 3 * f * res->train_images_per_s * 1e-9;
    res->conv_seconds_share = net->tsec[UM_CONV] / el;
    res->conv_gflops = net->tsec[UM_CONV] > 0 ? 3 * fconv * steps * batch / net->tsec[UM_CONV] * 1e-9 : 0;
    res->attn_seconds_share = net->tsec[UM_ATTN] / el;
    res->gn_seconds_share = net->tsec[UM_GN] / el;
    if (net->dnnl_fallbacks) {
        rc = mcr_err(MCR_EINVAL, "bench: %d oneDNN convolutions fell back to im2col", net->dnnl_fallbacks);
        goto done;
    }
    rc = sgemm_rate(batch, H, W, &res->sgemm_gflops);
done:
    free(mem), free(imem);
    mcr_sched_free(&sc);
    if (net) mcr_unet_free(net);
    free(net);
    if (st) mcr_train_free(st);
    free(st);
    return rc;
}

static int bench_sample(int C, int H, int W, int images, int sample_steps, mcr_ibench_result *res) {
    mcr_imageset *s = NULL, *out = NULL;
    mcr_imodel *m = NULL;
    size_t *counts = NULL;
    int rc = mcr_imageset_alloc(1, H, W, C, &s);
    if (rc) return rc;
    for (int k = 0; k < IB_LABELS && !rc; k++) rc = mcr_imageset_add_level(s, 0, k ? "1" : "0") < 0;
    for (int k = 0; k < IB_ATTRS && !rc; k++) rc = mcr_imageset_add_level(s, 1, k ? "B" : "A") < 0;
    if (rc) {
        rc = MCR_NOMEM();
        goto done;
    }
    s->label[0] = 0, s->attr[0] = 0;
    mcr_ifit_config fc;
    mcr_ifit_config_default(&fc);
    fc.steps = 1, fc.batch = 1;
    if ((rc = mcr_imodel_fit(s, &fc, &m))) goto done;
    if (!(counts = calloc((IB_LABELS + 1) * (IB_ATTRS + 1), sizeof *counts))) {
        rc = MCR_NOMEM();
        goto done;
    }
    counts[0] = (size_t)images; /* label 0, attribute 0: all three guidance rows */
    mcr_isample_config sc;
    mcr_isample_config_default(&sc);
    sc.sample_steps = sample_steps;
    double t0 = mcr_now();
    if ((rc = mcr_imodel_sample(m, counts, &sc, &out))) goto done;
    res->sample_images_per_s = images / (mcr_now() - t0);
done:
    mcr_imageset_free(s), mcr_imageset_free(out), mcr_imodel_free(m);
    free(counts);
    return rc;
}

MCR_API int mcr_bench_unet_engine(int engine, int channels, int H, int W, int batch, int steps,
                                  int sample_images, int sample_steps, mcr_ibench_result *res) {
    memset(res, 0, sizeof *res);
    if (channels < 1 || H < 4 || W < 4 || batch < 1 || steps < 1 || sample_images < 0 || sample_steps < 1)
        return mcr_err(MCR_EINVAL, "bench: bad image benchmark arguments");
    int rc = bench_train(engine, channels, H, W, batch, steps, res);
    if (!rc && sample_images) rc = bench_sample(channels, H, W, sample_images, sample_steps, res);
    res->peak_rss_mb = peak_rss_mb();
    return rc;
}

MCR_API int mcr_bench_unet(int channels, int H, int W, int batch, int steps, int sample_images,
                           int sample_steps, mcr_ibench_result *res) {
    return mcr_bench_unet_engine(MCR_UNET_IM2COL, channels, H, W, batch, steps, sample_images,
                                 sample_steps, res);
}
