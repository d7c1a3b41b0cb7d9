/* bench_conv.c — the UNet's 3x3 convolutions: our im2col + sgemm (conv.c) against the plain
 * sgemm rate at the equivalent GEMM shape, measured in the same run, and against oneDNN's
 * convolution primitive (Debian libdnnl-dev, the library PyTorch's CPU build uses). One JSON
 * line per (shape, threads):
 *   ours_fwd / ours_bwd      conv2d_forward, conv2d_backward (dinp + dw + db: twice the flops)
 *   sgemm_big                one sgemm M = OC, N = batch*Ho*Wo, K = C*k*k, BLAS threads
 *   sgemm_img                the per-image sgemms ours runs (M = OC, N = Ho*Wo, K = C*k*k),
 *                            images over the OpenMP threads as in conv2d_forward, no im2col
 *   ratio_fwd, ratio_bwd     ours / sgemm_big
 *   onednn_fwd               oneDNN forward (inference) in the layouts it picks (blocked),
 *                            inputs already in them: its best case
 *   onednn_fwd_nchw          the same plus the reorders from and to our NCHW tensors
 *   onednn_fwd_plain         a primitive made for plain nchw/oihw tensors (no reorders; its
 *                            implementation's name in onednn_plain_impl)
 *   onednn_bwd               oneDNN backward data + backward weights (with bias), blocked
 *                            layouts, inputs already in them
 * all in GFLOP/s (2 * N * OC * C * k * k * Ho * Wo flops per forward), best of the repeats.
 *
 *   build/rel/bench/bench_conv [--quick] [--threads 1,2] [--batch N]   (make bench-conv)
 *
 * Then one line per (UNet size, threads): the default UNet's forward and forward + backward
 * times, images/s, parameters, activation memory, the GFLOP/s achieved (convolutions,
 * projections and attention products; backward counted as twice the forward) and the same
 * run's sgemm rate at the UNet's 64-channel 3x3 GEMM shape, and the peak RSS so far
 * (bench "unet"; run with --no-conv for the UNet's own).
 *
 * The library does not link oneDNN (see conv.c's header: im2col + sgemm was kept); this
 * program links it alone. */
#include "nn/nn.h"
#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <sys/resource.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* best time of at least `min_reps` runs after one warm-up, repeating until `budget` s */
#define TIME_BEST(best, budget, min_reps, stmt)                                                  \
    do {                                                                                         \
        stmt;                                                                                    \
        double t_start_ = now();                                                                 \
        (best) = 1e30;                                                                           \
        for (int rep_ = 0; rep_ < (min_reps) || now() - t_start_ < (budget); rep_++) {          \
            double t0_ = now();                                                                  \
            stmt;                                                                                \
            double dt_ = now() - t0_;                                                            \
            if (dt_ < (best)) (best) = dt_;                                                      \
            if (rep_ > 50) break;                                                                \
        }                                                                                        \
    } while (0)

static float *frand(size_t n, mcr_rng *r) {
    float *a = malloc(sizeof(float) * (n ? n : 1));
    if (!a) {
        fprintf(stderr, "bench_conv: out of memory\n");
        exit(3);
    }
    for (size_t i = 0; i < n; i++) a[i] = (float)(mcr_rng_uniform(r) - 0.5);
    return a;
}

#define DN(call)                                                                                 \
    do {                                                                                         \
        dnnl_status_t s_ = (call);                                                               \
        if (s_ != dnnl_success) {                                                                \
            fprintf(stderr, "bench_conv: oneDNN: %s failed (%d)\n", #call, (int)s_);             \
            return -1;                                                                           \
        }                                                                                        \
    } while (0)

/* oneDNN forward: best seconds for the primitive alone (blocked layouts) and with reorders */
static int onednn_conv(const float *x, const float *w, const float *b, float *y, int N, int C,
                       int H, int W, int OC, int k, int s, int p, double budget, double *t_prim,
                       double *t_nchw, double *t_plain, char *plain_impl) {
    int Ho = conv_out_size(H, k, s, p), Wo = conv_out_size(W, k, s, p);
    dnnl_engine_t eng;
    dnnl_stream_t st;
    DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
    DN(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    dnnl_dims_t sd = {N, C, H, W}, wd = {OC, C, k, k}, bd = {OC}, dd = {N, OC, Ho, Wo};
    dnnl_dims_t strides = {s, s}, pl = {p, p}, pr = {p, p};
    dnnl_memory_desc_t src_any, w_any, b_md, dst_any, src_u, w_u, dst_u;
    DN(dnnl_memory_desc_init_by_tag(&src_any, 4, sd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x));
    DN(dnnl_memory_desc_init_by_tag(&dst_any, 4, dd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&src_u, 4, sd, dnnl_f32, dnnl_nchw));
    DN(dnnl_memory_desc_init_by_tag(&w_u, 4, wd, dnnl_f32, dnnl_oihw));
    DN(dnnl_memory_desc_init_by_tag(&dst_u, 4, dd, dnnl_f32, dnnl_nchw));
    dnnl_convolution_desc_t cd;
    DN(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct,
                                          &src_any, &w_any, &b_md, &dst_any, strides, pl, pr));
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, &cd, NULL, eng, NULL));
    const dnnl_memory_desc_t *src_md = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *w_md = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *dst_md = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t mx_u, mw_u, my_u, mb, mx, mw, my;
    DN(dnnl_memory_create(&mx_u, &src_u, eng, (void *)x));
    DN(dnnl_memory_create(&mw_u, &w_u, eng, (void *)w));
    DN(dnnl_memory_create(&my_u, &dst_u, eng, y));
    DN(dnnl_memory_create(&mb, &b_md, eng, (void *)b));
    DN(dnnl_memory_create(&mx, src_md, eng, DNNL_MEMORY_ALLOCATE));
    DN(dnnl_memory_create(&mw, w_md, eng, DNNL_MEMORY_ALLOCATE));
    DN(dnnl_memory_create(&my, dst_md, eng, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_desc_t rpd_x, rpd_w, rpd_y;
    dnnl_primitive_t conv, r_x, r_w, r_y;
    DN(dnnl_reorder_primitive_desc_create(&rpd_x, &src_u, eng, src_md, eng, NULL));
    DN(dnnl_reorder_primitive_desc_create(&rpd_w, &w_u, eng, w_md, eng, NULL));
    DN(dnnl_reorder_primitive_desc_create(&rpd_y, dst_md, eng, &dst_u, eng, NULL));
    DN(dnnl_primitive_create(&r_x, rpd_x));
    DN(dnnl_primitive_create(&r_w, rpd_w));
    DN(dnnl_primitive_create(&r_y, rpd_y));
    DN(dnnl_primitive_create(&conv, pd));
    dnnl_exec_arg_t ax[2] = {{DNNL_ARG_FROM, mx_u}, {DNNL_ARG_TO, mx}};
    dnnl_exec_arg_t aw[2] = {{DNNL_ARG_FROM, mw_u}, {DNNL_ARG_TO, mw}};
    dnnl_exec_arg_t ay[2] = {{DNNL_ARG_FROM, my}, {DNNL_ARG_TO, my_u}};
    dnnl_exec_arg_t ac[4] = {{DNNL_ARG_SRC, mx}, {DNNL_ARG_WEIGHTS, mw}, {DNNL_ARG_BIAS, mb},
                             {DNNL_ARG_DST, my}};
    DN(dnnl_primitive_execute(r_w, st, 2, aw)); /* weights once, as a model would */
    DN(dnnl_stream_wait(st));
    TIME_BEST(*t_prim, budget, 2, (dnnl_primitive_execute(conv, st, 4, ac), dnnl_stream_wait(st)));
    TIME_BEST(*t_nchw, budget, 2,
              (dnnl_primitive_execute(r_x, st, 2, ax), dnnl_primitive_execute(conv, st, 4, ac),
               dnnl_primitive_execute(r_y, st, 2, ay), dnnl_stream_wait(st)));
    /* a primitive made for plain nchw / oihw tensors (what a drop-in for conv2d_forward would
     * run: no reorders, oneDNN picks an implementation for those layouts) */
    {
        dnnl_convolution_desc_t cd2;
        dnnl_primitive_desc_t pd2;
        dnnl_primitive_t conv2;
        DN(dnnl_convolution_forward_desc_init(&cd2, dnnl_forward_inference, dnnl_convolution_direct,
                                              &src_u, &w_u, &b_md, &dst_u, strides, pl, pr));
        DN(dnnl_primitive_desc_create(&pd2, &cd2, NULL, eng, NULL));
        DN(dnnl_primitive_create(&conv2, pd2));
        dnnl_exec_arg_t a2[4] = {{DNNL_ARG_SRC, mx_u}, {DNNL_ARG_WEIGHTS, mw_u}, {DNNL_ARG_BIAS, mb},
                                 {DNNL_ARG_DST, my_u}};
        TIME_BEST(*t_plain, budget, 2, (dnnl_primitive_execute(conv2, st, 4, a2), dnnl_stream_wait(st)));
        const char *impl = NULL;
        if (dnnl_primitive_desc_query(pd2, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
            snprintf(plain_impl, 64, "%s", impl);
        dnnl_primitive_destroy(conv2);
        dnnl_primitive_desc_destroy(pd2);
    }
    dnnl_primitive_destroy(conv), dnnl_primitive_destroy(r_x), dnnl_primitive_destroy(r_w),
        dnnl_primitive_destroy(r_y);
    dnnl_primitive_desc_destroy(pd), dnnl_primitive_desc_destroy(rpd_x),
        dnnl_primitive_desc_destroy(rpd_w), dnnl_primitive_desc_destroy(rpd_y);
    dnnl_memory_destroy(mx_u), dnnl_memory_destroy(mw_u), dnnl_memory_destroy(my_u),
        dnnl_memory_destroy(mb), dnnl_memory_destroy(mx), dnnl_memory_destroy(mw),
        dnnl_memory_destroy(my);
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    return 0;
}

/* a oneDNN memory in the layout the primitive wants (md), filled from our NCHW/OIHW buffer */
static int dn_mem(dnnl_memory_t *out, const dnnl_memory_desc_t *md, const dnnl_memory_desc_t *user_md,
                  const float *user, dnnl_engine_t eng, dnnl_stream_t st) {
    dnnl_memory_t mu;
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t rp;
    DN(dnnl_memory_create(out, md, eng, DNNL_MEMORY_ALLOCATE));
    DN(dnnl_memory_create(&mu, user_md, eng, (void *)user));
    DN(dnnl_reorder_primitive_desc_create(&rpd, user_md, eng, md, eng, NULL));
    DN(dnnl_primitive_create(&rp, rpd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, mu}, {DNNL_ARG_TO, *out}};
    DN(dnnl_primitive_execute(rp, st, 2, args));
    DN(dnnl_stream_wait(st));
    dnnl_primitive_destroy(rp), dnnl_primitive_desc_destroy(rpd), dnnl_memory_destroy(mu);
    return 0;
}

/* oneDNN backward (data + weights with bias), in the layouts it picks: best seconds */
static int onednn_conv_bwd(const float *x, const float *w, const float *g, int N, int C, int H,
                           int W, int OC, int k, int s, int p, double budget, double *t_bwd) {
    int Ho = conv_out_size(H, k, s, p), Wo = conv_out_size(W, k, s, p);
    dnnl_engine_t eng;
    dnnl_stream_t st;
    DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
    DN(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    dnnl_dims_t sd = {N, C, H, W}, wd = {OC, C, k, k}, bd = {OC}, dd = {N, OC, Ho, Wo};
    dnnl_dims_t strides = {s, s}, pl = {p, p}, pr = {p, p};
    dnnl_memory_desc_t src_any, w_any, b_md, dst_any, src_u, w_u, dst_u;
    DN(dnnl_memory_desc_init_by_tag(&src_any, 4, sd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&w_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&b_md, 1, bd, dnnl_f32, dnnl_x));
    DN(dnnl_memory_desc_init_by_tag(&dst_any, 4, dd, dnnl_f32, dnnl_format_tag_any));
    DN(dnnl_memory_desc_init_by_tag(&src_u, 4, sd, dnnl_f32, dnnl_nchw));
    DN(dnnl_memory_desc_init_by_tag(&w_u, 4, wd, dnnl_f32, dnnl_oihw));
    DN(dnnl_memory_desc_init_by_tag(&dst_u, 4, dd, dnnl_f32, dnnl_nchw));
    dnnl_convolution_desc_t fd, bdd, bwd;
    DN(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                          &src_any, &w_any, &b_md, &dst_any, strides, pl, pr));
    DN(dnnl_convolution_backward_data_desc_init(&bdd, dnnl_convolution_direct, &src_any, &w_any,
                                                &dst_any, strides, pl, pr));
    DN(dnnl_convolution_backward_weights_desc_init(&bwd, dnnl_convolution_direct, &src_any, &w_any,
                                                   &b_md, &dst_any, strides, pl, pr));
    dnnl_primitive_desc_t fpd, dpd, wpd;
    DN(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    DN(dnnl_primitive_desc_create(&dpd, &bdd, NULL, eng, fpd));
    DN(dnnl_primitive_desc_create(&wpd, &bwd, NULL, eng, fpd));
    dnnl_memory_t m_dst_d, m_w_d, m_dsrc, m_src_w, m_dst_w, m_dw, m_db;
    if (dn_mem(&m_dst_d, dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_dst_md, 0), &dst_u, g, eng, st) ||
        dn_mem(&m_w_d, dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0), &w_u, w, eng, st) ||
        dn_mem(&m_src_w, dnnl_primitive_desc_query_md(wpd, dnnl_query_src_md, 0), &src_u, x, eng, st) ||
        dn_mem(&m_dst_w, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_dst_md, 0), &dst_u, g, eng, st))
        return -1;
    DN(dnnl_memory_create(&m_dsrc, dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_src_md, 0), eng,
                          DNNL_MEMORY_ALLOCATE));
    DN(dnnl_memory_create(&m_dw, dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0), eng,
                          DNNL_MEMORY_ALLOCATE));
    DN(dnnl_memory_create(&m_db, &b_md, eng, DNNL_MEMORY_ALLOCATE));
    dnnl_primitive_t pd_, pw_;
    DN(dnnl_primitive_create(&pd_, dpd));
    DN(dnnl_primitive_create(&pw_, wpd));
    dnnl_exec_arg_t ad[3] = {{DNNL_ARG_DIFF_DST, m_dst_d}, {DNNL_ARG_WEIGHTS, m_w_d}, {DNNL_ARG_DIFF_SRC, m_dsrc}};
    dnnl_exec_arg_t aw[4] = {{DNNL_ARG_SRC, m_src_w}, {DNNL_ARG_DIFF_DST, m_dst_w},
                             {DNNL_ARG_DIFF_WEIGHTS, m_dw}, {DNNL_ARG_DIFF_BIAS, m_db}};
    TIME_BEST(*t_bwd, budget, 2,
              (dnnl_primitive_execute(pd_, st, 3, ad), dnnl_primitive_execute(pw_, st, 4, aw),
               dnnl_stream_wait(st)));
    dnnl_primitive_destroy(pd_), dnnl_primitive_destroy(pw_);
    dnnl_primitive_desc_destroy(fpd), dnnl_primitive_desc_destroy(dpd), dnnl_primitive_desc_destroy(wpd);
    dnnl_memory_destroy(m_dst_d), dnnl_memory_destroy(m_w_d), dnnl_memory_destroy(m_dsrc),
        dnnl_memory_destroy(m_src_w), dnnl_memory_destroy(m_dst_w), dnnl_memory_destroy(m_dw),
        dnnl_memory_destroy(m_db);
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    return 0;
}

/* the per-image sgemms of conv2d_forward without im2col: images over the OpenMP threads */
static void sgemm_images(float *out, const float *w, const float *cols, int N, int OC, int K,
                         int HoWo, int T) {
    size_t csz = (size_t)K * HoWo;
#pragma omp parallel for schedule(static) num_threads(T) if (T > 1)
    for (int n = 0; n < N; n++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, HoWo, K, 1.0f, w, K,
                    cols + (size_t)(omp_get_thread_num() % N) * csz, HoWo, 0.0f,
                    out + (size_t)n * OC * HoWo, HoWo);
}

static void bench_shape(int N, int C, int H, int OC, int k, int s, int p, int T, double budget,
                        mcr_rng *r) {
    int W = H, Ho = conv_out_size(H, k, s, p), Wo = conv_out_size(W, k, s, p);
    int K = C * k * k, HoWo = Ho * Wo;
    size_t ni = (size_t)N * C * H * W, no = (size_t)N * OC * HoWo, nw = (size_t)OC * K;
    double flops = 2.0 * N * OC * (double)K * HoWo;
    omp_set_num_threads(T);
    openblas_set_num_threads(T);
    size_t wsn = conv2d_workspace(N, C, H, W, OC, k, s, p, T);
    float *x = frand(ni, r), *w = frand(nw, r), *b = frand(OC, r), *y = frand(no, r),
          *g = frand(no, r), *dx = frand(ni, r), *dw = frand(nw, r), *db = frand(OC, r),
          *ws = frand(wsn, r);
    double t_f, t_b, t_big, t_img, t_dp = 0, t_dn = 0, t_pl = 0;
    char impl[64] = "?";
    TIME_BEST(t_f, budget, 2, conv2d_forward(y, x, w, b, ws, wsn, N, C, H, W, OC, k, s, p));
    TIME_BEST(t_b, budget, 2, conv2d_backward(dx, dw, db, g, x, w, ws, wsn, N, C, H, W, OC, k, s, p));
    /* sgemm_big: B = [K, N*HoWo] (the batch's columns side by side) */
    float *bigB = frand((size_t)K * N * HoWo, r), *bigC = frand((size_t)OC * N * HoWo, r);
    TIME_BEST(t_big, budget, 2,
              cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, N * HoWo, K, 1.0f, w, K,
                          bigB, N * HoWo, 0.0f, bigC, N * HoWo));
    TIME_BEST(t_img, budget, 2, sgemm_images(y, w, bigB, N, OC, K, HoWo, T));
    free(bigB), free(bigC);
    int dn = onednn_conv(x, w, b, y, N, C, H, W, OC, k, s, p, budget, &t_dp, &t_dn, &t_pl, impl);
    double t_db = 0;
    int dnb = onednn_conv_bwd(x, w, g, N, C, H, W, OC, k, s, p, budget, &t_db);
    double gf = flops * 1e-9;
    printf("{\"bench\":\"conv2d\",\"N\":%d,\"C\":%d,\"H\":%d,\"W\":%d,\"OC\":%d,\"k\":%d,"
           "\"stride\":%d,\"pad\":%d,\"threads\":%d,\"ours_fwd_gflops\":%.2f,"
           "\"ours_bwd_gflops\":%.2f,\"sgemm_big_gflops\":%.2f,\"sgemm_img_gflops\":%.2f,"
           "\"ratio_fwd\":%.3f,\"ratio_bwd\":%.3f",
           N, C, H, W, OC, k, s, p, T, gf / t_f, 2 * gf / t_b, gf / t_big, gf / t_img,
           (gf / t_f) / (gf / t_big), (2 * gf / t_b) / (gf / t_big));
    if (dn == 0)
        printf(",\"onednn_fwd_gflops\":%.2f,\"onednn_fwd_nchw_gflops\":%.2f,"
               "\"onednn_fwd_plain_gflops\":%.2f,\"onednn_plain_impl\":\"%s\"",
               gf / t_dp, gf / t_dn, gf / t_pl, impl);
    else printf(",\"onednn_fwd_gflops\":null,\"onednn_fwd_nchw_gflops\":null");
    if (dnb == 0) printf(",\"onednn_bwd_gflops\":%.2f", 2 * gf / t_db);
    else printf(",\"onednn_bwd_gflops\":null");
    printf("}\n");
    fflush(stdout);
    free(x), free(w), free(b), free(y), free(g), free(dx), free(dw), free(db), free(ws);
}

/* the process's peak resident set so far (the run's largest UNet dominates it) */
static double peak_rss_mb(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024.0;
}

/* multiply-add flops of one forward of N images: convolutions, the embedding projections,
 * attention's two products (the time MLP is negligible); backward is twice that */
static double unet_flops(const mcr_unet *n, int N) {
    double f = 0;
    for (int i = 0; i < n->nmods; i++) {
        const mcr_umod *m = &n->mods[i];
        const mcr_utensor *in = &n->tens[m->in0], *out = &n->tens[m->out];
        double hw = (double)out->H * out->W;
        if (m->type == UM_CONV) f += 2.0 * out->C * in->C * m->k * m->k * hw;
        if (m->type == UM_PROJ) f += 2.0 * out->C * in->C;
        if (m->type == UM_ATTN) f += 2.0 * 2.0 * out->C * hw * hw;
    }
    return f * N;
}

/* the default UNet (32-64-128, two blocks per level, attention at the lowest level): one
 * forward, and one forward + backward (a training step without the optimiser), N images */
static void bench_unet(int H, int in_ch, int N, int T, double budget, mcr_rng *r) {
    omp_set_num_threads(T);
    openblas_set_num_threads(T);
    mcr_unet_config c;
    mcr_unet_config_default(&c, in_ch, H, H, 2, 4);
    mcr_unet n;
    if (mcr_unet_layout(&n, &c) || mcr_unet_alloc(&n, N)) {
        fprintf(stderr, "bench_conv: unet %dx%d: %s\n", H, H, mcr_last_error());
        return;
    }
    float *p = malloc(n.nparams * sizeof(float)), *g = calloc(n.nparams, sizeof(float));
    size_t nx = (size_t)N * in_ch * H * H;
    float *x = frand(nx, r), *d = frand(nx, r);
    int *t = malloc(sizeof(int) * N), *y = malloc(sizeof(int) * N), *a = malloc(sizeof(int) * N);
    for (int i = 0; i < N; i++) t[i] = (int)mcr_rng_below(r, 1000), y[i] = i % 3, a[i] = i % 5;
    mcr_unet_init_params(&n, p, 1);
    double t_f, t_fb, t_g, fl = unet_flops(&n, N);
    TIME_BEST(t_f, budget, 2, mcr_unet_forward(&n, p, x, t, y, a, N));
    /* the run's own sgemm rate at the UNet's middle shape (64 -> 64 channels, 3x3, at H/2) */
    {
        int M = 64, K = 64 * 9, Nc = N * (H / 2) * (H / 2);
        float *A = frand((size_t)M * K, r), *B = frand((size_t)K * Nc, r), *Cm = frand((size_t)M * Nc, r);
        TIME_BEST(t_g, budget, 2,
                  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, Nc, K, 1.0f, A, K, B, Nc,
                              0.0f, Cm, Nc));
        t_g = 2.0 * M * K * Nc / t_g * 1e-9;
        free(A), free(B), free(Cm);
    }
    TIME_BEST(t_fb, budget, 2,
              (mcr_unet_forward(&n, p, x, t, y, a, N), mcr_unet_backward(&n, p, g, d, y, a, N)));
    printf("{\"bench\":\"unet\",\"H\":%d,\"W\":%d,\"in_ch\":%d,\"N\":%d,\"threads\":%d,"
           "\"params\":%zu,\"modules\":%d,\"activation_mb\":%.1f,\"fwd_ms\":%.1f,"
           "\"fwd_bwd_ms\":%.1f,\"sample_images_per_s\":%.1f,\"train_images_per_s\":%.1f,"
           "\"fwd_gflops\":%.2f,\"fwd_bwd_gflops\":%.2f,\"sgemm_gflops\":%.2f,"
           "\"ratio_fwd_bwd\":%.3f,\"peak_rss_mb\":%.1f}\n",
           H, H, in_ch, N, T, n.nparams, n.nmods, mcr_unet_activation_floats(&n) * 4e-6,
           1e3 * t_f, 1e3 * t_fb, N / t_f, N / t_fb, fl / t_f * 1e-9, 3 * fl / t_fb * 1e-9, t_g,
           3 * fl / t_fb * 1e-9 / t_g, peak_rss_mb());
    fflush(stdout);
    free(p), free(g), free(x), free(d), free(t), free(y), free(a);
    mcr_unet_free(&n);
}

int main(int argc, char **argv) {
    int quick = 0, N = 32, threads[8] = {1, 2}, nt = 2, conv = 1, unet = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--no-unet")) unet = 0;
        else if (!strcmp(argv[i], "--no-conv")) conv = 0;
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) N = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            nt = 0;
            for (char *t = strtok(argv[++i], ","); t && nt < 8; t = strtok(NULL, ","))
                threads[nt++] = atoi(t);
        } else {
            fprintf(stderr, "usage: bench_conv [--quick] [--threads 1,2] [--batch 32] [--no-conv] [--no-unet]\n"
                            "  3x3 convolutions of the UNet at 28x28 and 64x64, C = 32, 64, 128,\n"
                            "  stride 1 pad 1 and a stride-2 downsampling; --quick: batch 8;\n"
                            "  then the default UNet's forward and forward+backward at 28x28x1\n"
                            "  (batch 8) and 64x64x3 (batch 4; --quick: 2 and 1)\n");
            return 1;
        }
    }
    if (quick) N = N < 8 ? N : 8;
    if (N < 1) N = 1;
    double budget = quick ? 0.1 : 0.3;
    mcr_rng r;
    mcr_rng_seed(&r, 1, 0);
    const int sizes[2] = {28, 64}, chans[3] = {32, 64, 128};
    for (int ti = 0; ti < nt && conv; ti++)
        for (int si = 0; si < 2; si++) {
            for (int ci = 0; ci < 3; ci++)
                bench_shape(N, chans[ci], sizes[si], chans[ci], 3, 1, 1, threads[ti], budget, &r);
            bench_shape(N, 32, sizes[si], 32, 3, 2, 1, threads[ti], budget, &r);
        }
    for (int ti = 0; ti < nt && unet; ti++) {
        bench_unet(28, 1, quick ? 2 : 8, threads[ti], budget, &r);
        bench_unet(64, 3, quick ? 1 : 4, threads[ti], budget, &r);
    }
    return 0;
}
