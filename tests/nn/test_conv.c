/* test_conv.c — the image kernels of conv.c: every backward against central finite
 * differences (loss L = sum(out * R) with a fixed random R, accumulated and differenced in
 * double; the kernels themselves are float), the im2col + sgemm convolution against its naive
 * direct twin at awkward sizes, im2col/col2im as adjoints, closed forms, 1 vs 2 threads
 * giving identical bits, and PyTorch golden values for the conventions.
 *
 * Tolerances: a loss that is linear in the perturbed tensor (convolution, resampling, FiLM in
 * each of its inputs) has no truncation error, so a large step h = 0.25 keeps float rounding
 * small and the bound is 1e-3 relative (floor 1e-2). Group norm and attention are smooth but
 * not linear: h = 1e-2, bound 3e-3 relative (floor 1e-2). None of these kernels has a kink,
 * so no point is skipped. */
#include "nn/nn.h"
#include "testhelp.h"
#include <omp.h>

static void fill(float *a, size_t n, mcr_rng *r, float scale) {
    for (size_t i = 0; i < n; i++) a[i] = (float)(scale * mcr_rng_normal(r));
}
static float *rnd(size_t n, mcr_rng *r, float scale) {
    float *a = malloc(sizeof(float) * (n ? n : 1));
    fill(a, n, r, scale);
    return a;
}
static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }
static double relerr(double a, double b, double floor_) {
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), floor_);
}
static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}
/* max over i of relerr(a[i], b[i], floor) */
static double maxrel(const float *a, const float *b, size_t n, double floor_) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, relerr(a[i], b[i], floor_));
    return m;
}

/* Per-element central differences of loss(ctx) in t [n] against the analytic gradient g [n]:
 * the largest relative error. */
typedef double (*loss_fn)(void *ctx);
static double fd_check(loss_fn loss, void *ctx, float *t, const float *g, size_t n, float h) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = t[i];
        t[i] = keep + h;
        double lp = loss(ctx);
        t[i] = keep - h;
        double lm = loss(ctx);
        t[i] = keep;
        worst = fmax(worst, relerr((lp - lm) / (2.0 * (double)h), g[i], 1e-2));
    }
    return worst;
}
#define H_LIN 0.25f
#define TOL_LIN 1e-3
#define H_NL 1e-2f
#define TOL_NL 3e-3

/* ------------------------------------------------------------------ convolution */
typedef struct {
    int N, C, H, W, OC, k, s, p;
} cshape;
static int c_ho(cshape c) { return conv_out_size(c.H, c.k, c.s, c.p); }
static int c_wo(cshape c) { return conv_out_size(c.W, c.k, c.s, c.p); }
static size_t c_in(cshape c) { return (size_t)c.N * c.C * c.H * c.W; }
static size_t c_out(cshape c) { return (size_t)c.N * c.OC * c_ho(c) * c_wo(c); }
static size_t c_w(cshape c) { return (size_t)c.OC * c.C * c.k * c.k; }

/* awkward sizes: odd H/W, C and OC not multiples of anything, N = 1, stride 2 with odd sizes,
 * padding 0, 1 and 2, 1x1 (both the pointwise fast path and 1x1 with stride 2), k = 5, and
 * batches whose small images share one GEMM */
static const cshape SHAPES[] = {
    {1, 3, 7, 5, 4, 3, 1, 1},  {2, 5, 9, 7, 7, 3, 2, 1},  {3, 4, 8, 8, 5, 1, 1, 0},
    {1, 2, 5, 7, 3, 3, 2, 0},  {2, 3, 7, 5, 2, 1, 2, 0},  {2, 1, 6, 6, 3, 5, 1, 2},
    {4, 17, 11, 13, 9, 3, 1, 1}, {9, 6, 10, 9, 11, 3, 2, 1}, {1, 1, 3, 3, 1, 3, 1, 0},
    {3, 7, 6, 5, 5, 3, 1, 0},
    /* batches beyond CONV_DW_CHUNKS: several small images per GEMM (sub-batches of 2 and 3) */
    {20, 3, 5, 7, 4, 3, 1, 1}, {19, 5, 4, 6, 3, 1, 1, 0}, {17, 2, 7, 7, 3, 3, 2, 1},
};
#define NSHAPES ((int)(sizeof SHAPES / sizeof SHAPES[0]))

static size_t ws_for(cshape c) { return conv2d_workspace(c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p, omp_get_max_threads()); }

static void test_conv_twin(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 11, 0);
    for (int si = 0; si < NSHAPES; si++) {
        cshape c = SHAPES[si];
        size_t ni = c_in(c), no = c_out(c), nw = c_w(c), wsn = ws_for(c);
        float *x = rnd(ni, &r, 1), *w = rnd(nw, &r, 1), *b = rnd(c.OC, &r, 1), *ws = zeros(wsn);
        float *o1 = zeros(no), *o2 = zeros(no), *g = rnd(no, &r, 1);
        conv2d_forward(o1, x, w, b, ws, wsn, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        conv2d_forward_naive(o2, x, w, b, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        /* floors: the natural size of each sum (sqrt of its number of unit-variance terms), so
         * the bound means "float rounding of a sum of that length", whatever BLAS kernel and
         * summation order runs: out sums C*k*k terms, dinp OC*k*k, dw and db N*Ho*Wo */
        double fo = sqrt((double)c.C * c.k * c.k), fi = sqrt((double)c.OC * c.k * c.k),
               fw = sqrt((double)c.N * c_ho(c) * c_wo(c));
        double ef = maxrel(o1, o2, no, fo);
        /* no bias */
        conv2d_forward(o1, x, w, NULL, ws, wsn, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        conv2d_forward_naive(o2, x, w, NULL, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        ef = fmax(ef, maxrel(o1, o2, no, fo));
        /* backward onto the same non-zero start: both must accumulate */
        float *dx1 = rnd(ni, &r, 1), *dw1 = rnd(nw, &r, 1), *db1 = rnd(c.OC, &r, 1);
        float *dx2 = malloc(sizeof(float) * ni), *dw2 = malloc(sizeof(float) * nw),
              *db2 = malloc(sizeof(float) * c.OC);
        memcpy(dx2, dx1, sizeof(float) * ni), memcpy(dw2, dw1, sizeof(float) * nw),
            memcpy(db2, db1, sizeof(float) * c.OC);
        conv2d_backward(dx1, dw1, db1, g, x, w, ws, wsn, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        conv2d_backward_naive(dx2, dw2, db2, g, x, w, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        double ex = maxrel(dx1, dx2, ni, fi), ew = maxrel(dw1, dw2, nw, fw), eb = maxrel(db1, db2, c.OC, fw);
        CHECK(ef < 1e-5 && ex < 1e-5 && ew < 1e-5 && eb < 1e-5,
              "shape %d (N%d C%d %dx%d OC%d k%d s%d p%d): fwd %g dinp %g dw %g db %g", si, c.N,
              c.C, c.H, c.W, c.OC, c.k, c.s, c.p, ef, ex, ew, eb);
        /* dinp = NULL and db = NULL leave dw unchanged in value */
        float *dw3 = rnd(nw, &r, 1), *dw4 = malloc(sizeof(float) * nw);
        memcpy(dw4, dw3, sizeof(float) * nw);
        conv2d_backward(NULL, dw3, NULL, g, x, w, ws, wsn, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        conv2d_backward_naive(NULL, dw4, NULL, g, x, w, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        double ew3 = maxrel(dw3, dw4, nw, fw);
        CHECK(ew3 < 1e-5, "shape %d: dw with NULL dinp/db: %g", si, ew3);
        free(x), free(w), free(b), free(ws), free(o1), free(o2), free(g), free(dx1), free(dw1),
            free(db1), free(dx2), free(dw2), free(db2), free(dw3), free(dw4);
    }
}

/* the naive twin itself against a hand-worked case: 1 channel 3x3 image, 3x3 kernel of ones,
 * padding 1: each output is the sum of its 3x3 neighbourhood */
static void test_conv_naive_closed_form(void) {
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[9], o[9], ws[81];
    for (int i = 0; i < 9; i++) w[i] = 1;
    float want[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
    conv2d_forward_naive(o, x, w, NULL, 1, 1, 3, 3, 1, 3, 1, 1);
    CHECK(memcmp(o, want, sizeof want) == 0, "naive neighbourhood sums");
    conv2d_forward(o, x, w, NULL, ws, 81, 1, 1, 3, 3, 1, 3, 1, 1);
    CHECK(memcmp(o, want, sizeof want) == 0, "im2col neighbourhood sums");
    /* stride 2, padding 1 on the same image: outputs at (0,0), (0,2), (2,0), (2,2) */
    float o2[4], want2[4] = {12, 16, 24, 28};
    conv2d_forward(o2, x, w, NULL, ws, 81, 1, 1, 3, 3, 1, 3, 2, 1);
    CHECK(memcmp(o2, want2, sizeof want2) == 0, "stride 2 corners %g %g %g %g", o2[0], o2[1], o2[2], o2[3]);
}

/* <col2im(c), x> == <c, im2col(x)>: col2im is im2col's adjoint (what backward relies on) */
static void test_im2col_adjoint(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 12, 0);
    for (int si = 0; si < NSHAPES; si++) {
        cshape c = SHAPES[si];
        size_t ni = (size_t)c.C * c.H * c.W, nc = (size_t)c.C * c.k * c.k * c_ho(c) * c_wo(c);
        float *x = rnd(ni, &r, 1), *cc = rnd(nc, &r, 1), *col = zeros(nc), *img = zeros(ni);
        im2col(col, x, c.C, c.H, c.W, c.k, c.s, c.p);
        col2im(img, cc, c.C, c.H, c.W, c.k, c.s, c.p);
        double a = dot(img, x, ni), b = dot(cc, col, nc);
        CHECK(relerr(a, b, 1) < 1e-5, "shape %d: <col2im c, x> %g vs <c, im2col x> %g", si, a, b);
        free(x), free(cc), free(col), free(img);
    }
}

typedef struct {
    cshape c;
    float *x, *w, *b, *out, *R, *ws;
    size_t wsn;
} conv_ctx;
static double conv_loss(void *p) {
    conv_ctx *k = p;
    cshape c = k->c;
    conv2d_forward(k->out, k->x, k->w, k->b, k->ws, k->wsn, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
    return dot(k->out, k->R, c_out(c));
}

static void test_conv_grad(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 13, 0);
    const cshape sh[] = {{2, 3, 5, 4, 2, 3, 1, 1}, {1, 2, 7, 5, 3, 3, 2, 1}, {2, 3, 4, 3, 4, 1, 1, 0},
                         {2, 2, 5, 5, 2, 3, 2, 0}, {11, 2, 3, 4, 3, 3, 1, 1}, {12, 2, 3, 3, 2, 1, 1, 0}};
    for (int si = 0; si < 6; si++) {
        cshape c = sh[si];
        conv_ctx k = {c, rnd(c_in(c), &r, 1), rnd(c_w(c), &r, 1), rnd(c.OC, &r, 1), zeros(c_out(c)),
                      rnd(c_out(c), &r, 1), NULL, ws_for(c)};
        k.ws = zeros(k.wsn);
        float *dx = zeros(c_in(c)), *dw = zeros(c_w(c)), *db = zeros(c.OC);
        conv2d_backward(dx, dw, db, k.R, k.x, k.w, k.ws, k.wsn, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        double ex = fd_check(conv_loss, &k, k.x, dx, c_in(c), H_LIN);
        double ew = fd_check(conv_loss, &k, k.w, dw, c_w(c), H_LIN);
        double eb = fd_check(conv_loss, &k, k.b, db, c.OC, H_LIN);
        CHECK(ex < TOL_LIN && ew < TOL_LIN && eb < TOL_LIN, "shape %d: dinp %g dw %g db %g", si, ex, ew, eb);
        free(k.x), free(k.w), free(k.b), free(k.out), free(k.R), free(k.ws), free(dx), free(dw), free(db);
    }
}

/* 1 vs 2 threads: forward, dinp, dw and db are the same bits (per-image work; dw/db summed in
 * fixed batch chunks; the last two shapes have one chunk, whose GEMMs run on BLAS threads) */
static void test_conv_threads(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 14, 0);
    const cshape sh[] = {{5, 6, 9, 8, 7, 3, 1, 1}, {11, 4, 9, 9, 6, 3, 2, 1}, {3, 5, 6, 7, 4, 1, 1, 0},
                         {21, 3, 7, 7, 5, 3, 1, 1}, {5, 3, 5, 5, 4, 3, 1, 1}, {9, 4, 3, 3, 6, 1, 1, 0}};
    int keep = omp_get_max_threads();
    for (int si = 0; si < 6; si++) {
        cshape c = sh[si];
        size_t ni = c_in(c), no = c_out(c), nw = c_w(c);
        size_t wsn = conv2d_workspace(c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p, 2);
        float *x = rnd(ni, &r, 1), *w = rnd(nw, &r, 1), *b = rnd(c.OC, &r, 1), *g = rnd(no, &r, 1);
        float *ws = zeros(wsn), *o[2], *dx[2], *dw[2], *db[2];
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            o[t] = zeros(no), dx[t] = zeros(ni), dw[t] = zeros(nw), db[t] = zeros(c.OC);
            conv2d_forward(o[t], x, w, b, ws, wsn, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
            conv2d_backward(dx[t], dw[t], db[t], g, x, w, ws, wsn, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        }
        /* a workspace sized for one thread at 2 threads: the kernel runs fewer threads, same bits */
        {
            size_t wsn1 = conv2d_workspace(c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p, 1);
            float *ws1 = zeros(wsn1), *o1 = zeros(no), *dx1 = zeros(ni), *dw1 = zeros(nw), *db1 = zeros(c.OC);
            omp_set_num_threads(2);
            conv2d_forward(o1, x, w, b, ws1, wsn1, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
            conv2d_backward(dx1, dw1, db1, g, x, w, ws1, wsn1, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
            CHECK(!memcmp(o1, o[0], no * sizeof(float)) && !memcmp(dx1, dx[0], ni * sizeof(float)) &&
                      !memcmp(dw1, dw[0], nw * sizeof(float)) && !memcmp(db1, db[0], c.OC * sizeof(float)),
                  "shape %d: one-thread workspace at 2 threads differs", si);
            free(ws1), free(o1), free(dx1), free(dw1), free(db1);
        }
        CHECK(!memcmp(o[0], o[1], no * sizeof(float)), "shape %d: forward differs", si);
        CHECK(!memcmp(dx[0], dx[1], ni * sizeof(float)), "shape %d: dinp differs", si);
        CHECK(!memcmp(dw[0], dw[1], nw * sizeof(float)), "shape %d: dw differs", si);
        CHECK(!memcmp(db[0], db[1], c.OC * sizeof(float)), "shape %d: db differs", si);
        free(x), free(w), free(b), free(g), free(ws);
        for (int t = 0; t < 2; t++) free(o[t]), free(dx[t]), free(dw[t]), free(db[t]);
    }
    omp_set_num_threads(keep);
}

/* ------------------------------------------------------------------ oneDNN convolutions
 * dconv.c against the naive twin. fp32: the twin test's bound (1e-5 relative, floors the
 * natural size of each sum). bf16: src, weights and dout are rounded to bf16 (|relative
 * change| <= 2^-8 each), so a product of two rounded inputs is off by at most
 * (1+2^-8)^2 - 1 = 2^-7 + 2^-16 relative, and a sum of K products by at most
 * TOL_BF16 * sum|terms| plus the f32 accumulation's K 2^-23 sum|terms|; db is a sum of rounded
 * dout values (2^-8 <= TOL_BF16). sum|terms| per output comes from the naive twin run on the
 * absolute values. A slack of 1e-6 (1 + |ref|) covers the f32 bias and the final add. */
#define TOL_BF16 (0x1p-7 + 0x1p-15)
static const cshape DSHAPES[] = { /* the UNet's kinds of convolution at small sizes */
    {2, 8, 12, 12, 16, 3, 1, 1}, {3, 16, 12, 12, 16, 3, 2, 1}, {2, 24, 6, 6, 8, 1, 1, 0},
    {2, 32, 7, 7, 32, 3, 1, 1},  {2, 16, 14, 14, 48, 1, 1, 0},
    {2, 12, 10, 10, 20, 3, 1, 1}, /* channels and positions not multiples of 8: the transposes' edges */
};
#define NDSHAPES ((int)(sizeof DSHAPES / sizeof DSHAPES[0]))

static void absv(float *o, const float *a, size_t n) {
    for (size_t i = 0; i < n; i++) o[i] = fabsf(a[i]);
}
/* worst |got - ref| / bound over n values; mag the sums of |terms|, K terms each */
static double bf16_ratio(const float *got, const float *ref, const float *mag, size_t n, double K) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double bound = (TOL_BF16 + K * 0x1p-23) * mag[i] + 1e-6 * (1 + fabs(ref[i]));
        worst = fmax(worst, fabs((double)got[i] - ref[i]) / bound);
    }
    return worst;
}

static void dnnl_twin(int bf16, const cshape *shapes, int nsh) {
    mcr_dconv *x_;
    CHECK(mcr_dconv_new(&x_, bf16) == MCR_OK, "oneDNN context (%s)", bf16 ? "bf16" : "fp32");
    mcr_rng r;
    mcr_rng_seed(&r, 21 + bf16, 0);
    double worst[4] = {0};
    for (int si = 0; si < nsh; si++) {
        cshape c = shapes[si];
        size_t ni = c_in(c), no = c_out(c), nw = c_w(c);
        float *x = rnd(ni, &r, 1), *w = rnd(nw, &r, 1), *b = rnd(c.OC, &r, 1), *g = rnd(no, &r, 1);
        float *o1 = zeros(no), *o2 = zeros(no);
        int rc = conv2d_forward_dnnl(x_, o1, x, w, b, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        CHECK(rc == MCR_OK, "shape %d: forward rc %d (%s)", si, rc, mcr_last_error());
        conv2d_forward_naive(o2, x, w, b, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        float *dx1 = rnd(ni, &r, 1), *dw1 = rnd(nw, &r, 1), *db1 = rnd(c.OC, &r, 1);
        float *dx2 = malloc(sizeof(float) * ni), *dw2 = malloc(sizeof(float) * nw),
              *db2 = malloc(sizeof(float) * c.OC);
        memcpy(dx2, dx1, sizeof(float) * ni), memcpy(dw2, dw1, sizeof(float) * nw),
            memcpy(db2, db1, sizeof(float) * c.OC);
        rc = conv2d_backward_dnnl(x_, dx1, dw1, db1, g, x, w, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        CHECK(rc == MCR_OK, "shape %d: backward rc %d (%s)", si, rc, mcr_last_error());
        conv2d_backward_naive(dx2, dw2, db2, g, x, w, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        double e[4];
        if (!bf16) {
            double fo = sqrt((double)c.C * c.k * c.k), fi = sqrt((double)c.OC * c.k * c.k),
                   fw = sqrt((double)c.N * c_ho(c) * c_wo(c));
            e[0] = maxrel(o1, o2, no, fo), e[1] = maxrel(dx1, dx2, ni, fi);
            e[2] = maxrel(dw1, dw2, nw, fw), e[3] = maxrel(db1, db2, c.OC, fw);
            CHECK(e[0] < 1e-5 && e[1] < 1e-5 && e[2] < 1e-5 && e[3] < 1e-5,
                  "fp32 shape %d (N%d C%d %dx%d OC%d k%d s%d p%d): fwd %g dinp %g dw %g db %g", si,
                  c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p, e[0], e[1], e[2], e[3]);
        } else {
            /* sums of |terms|: the twin on absolute values (the start values hold no rounding) */
            float *ax = malloc(sizeof(float) * ni), *aw = malloc(sizeof(float) * nw),
                  *ag = malloc(sizeof(float) * no);
            float *mo = zeros(no), *mx = zeros(ni), *mw = zeros(nw), *mb = zeros(c.OC);
            absv(ax, x, ni), absv(aw, w, nw), absv(ag, g, no);
            conv2d_forward_naive(mo, ax, aw, NULL, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
            conv2d_backward_naive(mx, mw, mb, ag, ax, aw, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
            double Kw = (double)c.N * c_ho(c) * c_wo(c);
            e[0] = bf16_ratio(o1, o2, mo, no, c.C * c.k * c.k);
            e[1] = bf16_ratio(dx1, dx2, mx, ni, c.OC * c.k * c.k);
            e[2] = bf16_ratio(dw1, dw2, mw, nw, Kw);
            e[3] = bf16_ratio(db1, db2, mb, c.OC, Kw);
            CHECK(e[0] <= 1 && e[1] <= 1 && e[2] <= 1 && e[3] <= 1,
                  "bf16 shape %d (N%d C%d %dx%d OC%d k%d s%d p%d): err / bound fwd %g dinp %g dw %g db %g",
                  si, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p, e[0], e[1], e[2], e[3]);
            free(ax), free(aw), free(ag), free(mo), free(mx), free(mw), free(mb);
        }
        for (int i = 0; i < 4; i++) worst[i] = fmax(worst[i], e[i]);
        /* no bias, dinp and db NULL */
        conv2d_forward_naive(o2, x, w, NULL, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        rc = conv2d_forward_dnnl(x_, o1, x, w, NULL, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        float *dw3 = zeros(nw);
        rc |= conv2d_backward_dnnl(x_, NULL, dw3, NULL, g, x, w, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        float *dw4 = zeros(nw);
        conv2d_backward_naive(NULL, dw4, NULL, g, x, w, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
        double tol = bf16 ? 2 * TOL_BF16 * sqrt((double)c.N * c_ho(c) * c_wo(c)) : 1e-5;
        double en = maxrel(o1, o2, no, sqrt((double)c.C * c.k * c.k)),
               ew = maxrel(dw3, dw4, nw, sqrt((double)c.N * c_ho(c) * c_wo(c)));
        CHECK(rc == MCR_OK && en < (bf16 ? 2 * TOL_BF16 * sqrt((double)c.C * c.k * c.k) : 1e-5) && ew < tol,
              "shape %d: no bias %g, dw alone %g", si, en, ew);
        free(x), free(w), free(b), free(g), free(o1), free(o2), free(dx1), free(dw1), free(db1),
            free(dx2), free(dw2), free(db2), free(dw3), free(dw4);
    }
    printf("     %s: worst %s fwd %.3g dinp %.3g dw %.3g db %.3g; %d shapes cached\n", bf16 ? "bf16" : "fp32",
           bf16 ? "err/bound" : "relative", worst[0], worst[1], worst[2], worst[3], mcr_dconv_nprims(x_));
    int np = mcr_dconv_nprims(x_);
    float *o = zeros(c_out(shapes[0])), *xx = zeros(c_in(shapes[0])), *ww = zeros(c_w(shapes[0]));
    cshape c = shapes[0];
    CHECK(conv2d_forward_dnnl(x_, o, xx, ww, NULL, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p) == MCR_OK &&
              mcr_dconv_nprims(x_) == np, "a cached shape adds no primitive");
    free(o), free(xx), free(ww);
    mcr_dconv_free(x_);
}

static void test_dnnl_fp32(void) {
    dnnl_twin(0, SHAPES, NSHAPES);
    dnnl_twin(0, DSHAPES, NDSHAPES);
}

static void test_dnnl_bf16(void) {
    if (!mcr_bf16_supported()) SKIP("no AVX512-BF16 / AMX on this CPU");
    dnnl_twin(1, SHAPES, NSHAPES);
    dnnl_twin(1, DSHAPES, NDSHAPES);
}

typedef struct {
    conv_ctx k;
    mcr_dconv *x;
} dconv_ctx;
static double dconv_loss(void *p) {
    dconv_ctx *d = p;
    cshape c = d->k.c;
    conv2d_forward_dnnl(d->x, d->k.out, d->k.x, d->k.w, d->k.b, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p);
    return dot(d->k.out, d->k.R, c_out(c));
}

/* fp32 oneDNN gradients against finite differences of the oneDNN forward */
static void test_dnnl_grad(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 23, 0);
    const cshape sh[] = {{2, 3, 5, 4, 2, 3, 1, 1}, {1, 2, 7, 5, 3, 3, 2, 1}, {2, 3, 4, 3, 4, 1, 1, 0},
                         {2, 2, 5, 5, 2, 3, 2, 0}, {2, 8, 4, 4, 8, 3, 2, 1}};
    dconv_ctx d;
    CHECK(mcr_dconv_new(&d.x, 0) == MCR_OK, "context");
    for (int si = 0; si < 5; si++) {
        cshape c = sh[si];
        d.k = (conv_ctx){c, rnd(c_in(c), &r, 1), rnd(c_w(c), &r, 1), rnd(c.OC, &r, 1), zeros(c_out(c)),
                         rnd(c_out(c), &r, 1), NULL, 0};
        float *dx = zeros(c_in(c)), *dw = zeros(c_w(c)), *db = zeros(c.OC);
        CHECK(conv2d_backward_dnnl(d.x, dx, dw, db, d.k.R, d.k.x, d.k.w, c.N, c.C, c.H, c.W, c.OC, c.k,
                                   c.s, c.p) == MCR_OK, "backward");
        double ex = fd_check(dconv_loss, &d, d.k.x, dx, c_in(c), H_LIN);
        double ew = fd_check(dconv_loss, &d, d.k.w, dw, c_w(c), H_LIN);
        double eb = fd_check(dconv_loss, &d, d.k.b, db, c.OC, H_LIN);
        CHECK(ex < TOL_LIN && ew < TOL_LIN && eb < TOL_LIN, "shape %d: dinp %g dw %g db %g", si, ex, ew, eb);
        free(d.k.x), free(d.k.w), free(d.k.b), free(d.k.out), free(d.k.R), free(dx), free(dw), free(db);
    }
    mcr_dconv_free(d.x);
}

/* the same inputs twice at the same thread count: the same bits (fp32 and bf16) */
static void test_dnnl_repeat(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 24, 0);
    for (int bf = 0; bf < 2; bf++) {
        if (bf && !mcr_bf16_supported()) break;
        mcr_dconv *x;
        CHECK(mcr_dconv_new(&x, bf) == MCR_OK, "context");
        for (int si = 0; si < NDSHAPES; si++) {
            cshape c = DSHAPES[si];
            size_t ni = c_in(c), no = c_out(c), nw = c_w(c);
            float *in = rnd(ni, &r, 1), *w = rnd(nw, &r, 1), *b = rnd(c.OC, &r, 1), *g = rnd(no, &r, 1);
            float *o[2], *dx[2], *dw[2], *db[2];
            for (int t = 0; t < 2; t++) {
                o[t] = zeros(no), dx[t] = zeros(ni), dw[t] = zeros(nw), db[t] = zeros(c.OC);
                CHECK(conv2d_forward_dnnl(x, o[t], in, w, b, c.N, c.C, c.H, c.W, c.OC, c.k, c.s, c.p) == MCR_OK &&
                          conv2d_backward_dnnl(x, dx[t], dw[t], db[t], g, in, w, c.N, c.C, c.H, c.W, c.OC,
                                               c.k, c.s, c.p) == MCR_OK, "run");
            }
            CHECK(!memcmp(o[0], o[1], no * 4) && !memcmp(dx[0], dx[1], ni * 4) &&
                      !memcmp(dw[0], dw[1], nw * 4) && !memcmp(db[0], db[1], c.OC * 4),
                  "%s shape %d: a second run differs", bf ? "bf16" : "fp32", si);
            free(in), free(w), free(b), free(g);
            for (int t = 0; t < 2; t++) free(o[t]), free(dx[t]), free(dw[t]), free(db[t]);
        }
        mcr_dconv_free(x);
    }
}

/* ------------------------------------------------------------------ group norm */
typedef struct {
    int N, C, HW, G;
    float *x, *gamma, *beta, *out, *mean, *rstd, *R;
} gn_ctx;
static double gn_loss(void *p) {
    gn_ctx *k = p;
    groupnorm_forward(k->out, k->mean, k->rstd, k->x, k->gamma, k->beta, k->N, k->C, k->HW, k->G);
    return dot(k->out, k->R, (size_t)k->N * k->C * k->HW);
}

static void test_groupnorm(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 15, 0);
    int cases[][4] = {{2, 6, 5, 3}, {1, 4, 7, 1}, {3, 3, 4, 3}, {2, 8, 9, 2}}; /* N C HW G */
    for (int ci = 0; ci < 4; ci++) {
        int N = cases[ci][0], C = cases[ci][1], HW = cases[ci][2], G = cases[ci][3];
        size_t n = (size_t)N * C * HW;
        gn_ctx k = {N, C, HW, G, rnd(n, &r, 2), rnd(C, &r, 1), rnd(C, &r, 1), zeros(n),
                    zeros((size_t)N * G), zeros((size_t)N * G), rnd(n, &r, 1)};
        for (size_t i = 0; i < n; i++) k.x[i] += 0.5f; /* a non-zero mean */
        gn_loss(&k);
        float *dx = zeros(n), *dg = zeros(C), *dbt = zeros(C);
        groupnorm_backward(dx, dg, dbt, k.R, k.x, k.mean, k.rstd, k.gamma, N, C, HW, G);
        double ex = fd_check(gn_loss, &k, k.x, dx, n, H_NL);
        double eg = fd_check(gn_loss, &k, k.gamma, dg, C, H_LIN);
        double eb = fd_check(gn_loss, &k, k.beta, dbt, C, H_LIN);
        CHECK(ex < TOL_NL && eg < TOL_LIN && eb < TOL_LIN, "case %d: dinp %g dgamma %g dbeta %g", ci,
              ex, eg, eb);
        free(k.x), free(k.gamma), free(k.beta), free(k.out), free(k.mean), free(k.rstd), free(k.R),
            free(dx), free(dg), free(dbt);
    }
    /* closed form: gamma 1, beta 0 -> each group has mean 0 and variance v/(v+eps) */
    int N = 2, C = 4, HW = 6, G = 2;
    float x[48], gm[4] = {1, 1, 1, 1}, bt[4] = {0}, o[48], m[4], rs[4];
    fill(x, 48, &r, 3);
    groupnorm_forward(o, m, rs, x, gm, bt, N, C, HW, G);
    for (int g = 0; g < N * G; g++) {
        double s = 0, s2 = 0, xm = 0, xv = 0;
        for (int i = 0; i < 12; i++) xm += x[g * 12 + i] / 12.0;
        for (int i = 0; i < 12; i++) xv += (x[g * 12 + i] - xm) * (x[g * 12 + i] - xm) / 12.0;
        for (int i = 0; i < 12; i++) s += o[g * 12 + i], s2 += (double)o[g * 12 + i] * o[g * 12 + i];
        CHECK(fabs(s / 12) < 1e-5 && fabs(s2 / 12 - xv / (xv + 1e-5)) < 1e-5, "group %d: mean %g var %g", g,
              s / 12, s2 / 12);
        CHECK(fabs(m[g] - xm) < 1e-5, "group %d: cached mean %g vs %g", g, m[g], xm);
    }
}

/* ------------------------------------------------------------------ resampling */
typedef struct {
    int N, C, H, W, up;
    float *x, *out, *R;
} rs_ctx;
static size_t rs_out(const rs_ctx *k) {
    return k->up ? (size_t)k->N * k->C * 4 * k->H * k->W : (size_t)k->N * k->C * (k->H / 2) * (k->W / 2);
}
static double rs_loss(void *p) {
    rs_ctx *k = p;
    if (k->up) upsample2x_forward(k->out, k->x, k->N, k->C, k->H, k->W);
    else avgpool2x_forward(k->out, k->x, k->N, k->C, k->H, k->W);
    return dot(k->out, k->R, rs_out(k));
}

static void test_resample(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 16, 0);
    int cases[][4] = {{2, 3, 4, 5}, {1, 2, 5, 7}, {3, 1, 3, 3}}; /* odd sizes: pooling drops a row */
    for (int ci = 0; ci < 3; ci++)
        for (int up = 0; up < 2; up++) {
            rs_ctx k = {cases[ci][0], cases[ci][1], cases[ci][2], cases[ci][3], up, NULL, NULL, NULL};
            size_t ni = (size_t)k.N * k.C * k.H * k.W, no = rs_out(&k);
            k.x = rnd(ni, &r, 1), k.out = zeros(no), k.R = rnd(no, &r, 1);
            float *dx = zeros(ni);
            if (up) upsample2x_backward(dx, k.R, k.N, k.C, k.H, k.W);
            else avgpool2x_backward(dx, k.R, k.N, k.C, k.H, k.W);
            double e = fd_check(rs_loss, &k, k.x, dx, ni, H_LIN);
            CHECK(e < TOL_LIN, "%s case %d: dinp %g", up ? "upsample" : "avgpool", ci, e);
            free(k.x), free(k.out), free(k.R), free(dx);
        }
    /* closed forms: pooling an upsampled image gives it back exactly; upsampling copies */
    float x[2 * 3 * 5], u[2 * 12 * 5 * 2], p[30];
    fill(x, 30, &r, 1);
    upsample2x_forward(u, x, 2, 1, 3, 5);
    avgpool2x_forward(p, u, 2, 1, 6, 10);
    CHECK(!memcmp(p, x, sizeof x), "avgpool(upsample(x)) == x");
    CHECK(u[0] == x[0] && u[1] == x[0] && u[10] == x[0] && u[11] == x[0] && u[2] == x[1] &&
              u[20] == x[5],
          "upsample copies");
    float y[9] = {1, 2, 100, 3, 4, 100, 100, 100, 100}, q;
    avgpool2x_forward(&q, y, 1, 1, 3, 3);
    CHECK(q == 2.5f, "odd pool drops the last row/column: %g", q);
}

/* ------------------------------------------------------------------ FiLM */
typedef struct {
    int N, C, HW;
    float *x, *ss, *out, *R;
} film_ctx;
static double film_loss(void *p) {
    film_ctx *k = p;
    film_forward(k->out, k->x, k->ss, k->N, k->C, k->HW);
    return dot(k->out, k->R, (size_t)k->N * k->C * k->HW);
}

static void test_film(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 17, 0);
    film_ctx k = {3, 5, 7, NULL, NULL, NULL, NULL};
    size_t n = (size_t)k.N * k.C * k.HW, ns = (size_t)k.N * 2 * k.C;
    k.x = rnd(n, &r, 1), k.ss = rnd(ns, &r, 1), k.out = zeros(n), k.R = rnd(n, &r, 1);
    float *dx = zeros(n), *dss = zeros(ns);
    film_backward(dx, dss, k.R, k.x, k.ss, k.N, k.C, k.HW);
    double ex = fd_check(film_loss, &k, k.x, dx, n, H_LIN), es = fd_check(film_loss, &k, k.ss, dss, ns, H_LIN);
    CHECK(ex < TOL_LIN && es < TOL_LIN, "dinp %g dss %g", ex, es);
    /* closed form: out = x (1 + scale) + shift at one point; in place gives the same */
    film_loss(&k);
    float want = k.x[2 * 35 + 3 * 7 + 4] * (1 + k.ss[2 * 10 + 3]) + k.ss[2 * 10 + 5 + 3];
    CHECK(fabsf(k.out[2 * 35 + 3 * 7 + 4] - want) < 1e-6, "value");
    film_forward(k.x, k.x, k.ss, k.N, k.C, k.HW);
    CHECK(!memcmp(k.x, k.out, n * sizeof(float)), "in place");
    free(k.x), free(k.ss), free(k.out), free(k.R), free(dx), free(dss);
}

/* ------------------------------------------------------------------ attention */
typedef struct {
    int N, C, HW, nh;
    float *qkv, *att, *out, *R;
} att_ctx;
static double att_loss(void *p) {
    att_ctx *k = p;
    attention_forward(k->out, k->att, k->qkv, k->N, k->C, k->HW, k->nh);
    return dot(k->out, k->R, (size_t)k->N * k->C * k->HW);
}

static void test_attention(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 18, 0);
    int cases[][4] = {{2, 4, 6, 1}, {1, 6, 5, 2}, {2, 6, 9, 3}}; /* N C HW heads */
    for (int ci = 0; ci < 3; ci++) {
        att_ctx k = {cases[ci][0], cases[ci][1], cases[ci][2], cases[ci][3], NULL, NULL, NULL, NULL};
        size_t nq = (size_t)k.N * 3 * k.C * k.HW, no = (size_t)k.N * k.C * k.HW;
        size_t na = (size_t)k.N * k.nh * k.HW * k.HW;
        size_t wsn = attention_workspace(k.N, k.HW, k.nh, omp_get_max_threads());
        k.qkv = rnd(nq, &r, 1), k.att = zeros(na), k.out = zeros(no), k.R = rnd(no, &r, 1);
        float *ws = zeros(wsn), *dq = zeros(nq);
        att_loss(&k);
        /* rows of att sum to 1 */
        double rowerr = 0;
        for (size_t i = 0; i < na / k.HW; i++) {
            double s = 0;
            for (int j = 0; j < k.HW; j++) s += k.att[i * k.HW + j];
            rowerr = fmax(rowerr, fabs(s - 1));
        }
        CHECK(rowerr < 1e-6, "case %d: softmax rows sum to 1 (err %g)", ci, rowerr);
        attention_backward(dq, k.R, k.qkv, k.att, ws, wsn, k.N, k.C, k.HW, k.nh);
        double e = fd_check(att_loss, &k, k.qkv, dq, nq, H_NL);
        CHECK(e < TOL_NL, "case %d: dqkv %g", ci, e);
        free(k.qkv), free(k.att), free(k.out), free(k.R), free(ws), free(dq);
    }
    /* closed forms: q = 0 -> uniform attention, out = mean of v over positions; large logits
     * (q.k ~ 1e4) stay finite thanks to the row-max subtraction */
    int C = 2, HW = 4;
    float qkv[3 * 2 * 4] = {0}, att[16], out[8];
    for (int i = 0; i < 8; i++) qkv[16 + i] = (float)i;
    attention_forward(out, att, qkv, 1, C, HW, 1);
    CHECK(fabsf(out[0] - 1.5f) < 1e-6 && fabsf(out[7] - 5.5f) < 1e-6, "uniform: %g %g", out[0], out[7]);
    for (int i = 0; i < 16; i++) qkv[i] = 100.0f * (float)(i % 3);
    attention_forward(out, att, qkv, 1, C, HW, 1);
    int finite = 1;
    for (int i = 0; i < 8; i++) finite &= isfinite(out[i]);
    CHECK(finite, "large logits stay finite");
}

static void test_attention_threads(void) {
    mcr_rng r;
    mcr_rng_seed(&r, 19, 0);
    int N = 3, C = 8, HW = 10, nh = 2, keep = omp_get_max_threads();
    size_t nq = (size_t)N * 3 * C * HW, no = (size_t)N * C * HW, na = (size_t)N * nh * HW * HW;
    size_t wsn = attention_workspace(N, HW, nh, 2);
    float *qkv = rnd(nq, &r, 1), *g = rnd(no, &r, 1), *ws = zeros(wsn), *o[2], *a[2], *d[2];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        o[t] = zeros(no), a[t] = zeros(na), d[t] = zeros(nq);
        attention_forward(o[t], a[t], qkv, N, C, HW, nh);
        attention_backward(d[t], g, qkv, a[t], ws, wsn, N, C, HW, nh);
    }
    CHECK(!memcmp(o[0], o[1], no * sizeof(float)) && !memcmp(d[0], d[1], nq * sizeof(float)),
          "1 vs 2 threads differ");
    for (int t = 0; t < 2; t++) free(o[t]), free(a[t]), free(d[t]);
    free(qkv), free(g), free(ws);
    omp_set_num_threads(keep);
}

/* ------------------------------------------------------------------ PyTorch golden values
 * Independent reference for the conventions (OIHW weights, padding, GroupNorm's biased
 * variance and eps, attention's 1/sqrt(d) and row orientation): PyTorch 1.13 in float64 on
 * inputs given by formulas, printed by this script (run with Debian's python3-torch; no
 * PyTorch is needed to run the test):
 * import math, torch
 * torch.set_default_dtype(torch.float64)
 * def seq(n, f): return torch.tensor([f(i) for i in range(n)])
 * def carr(name, t):
 *     v = t.detach().flatten().tolist()
 *     body = ", ".join("%.9g" % x for x in v)
 *     print("static const double %s[%d] = {%s};" % (name, len(v), body))
 * # convolution N2 C3 H5 W4 -> OC2, k3, stride 2, pad 1
 * x = seq(120, lambda i: math.sin(0.37 * i + 0.1)).reshape(2, 3, 5, 4).requires_grad_()
 * w = seq(54, lambda i: math.cos(0.23 * i)).reshape(2, 3, 3, 3).requires_grad_()
 * b = torch.tensor([0.1, -0.2]).requires_grad_()
 * o = torch.nn.functional.conv2d(x, w, b, stride=2, padding=1)
 * R = seq(o.numel(), lambda i: math.sin(0.11 * i + 0.5)).reshape(o.shape)
 * (o * R).sum().backward()
 * carr("G_CONV_OUT", o); carr("G_CONV_DW", w.grad); carr("G_CONV_DB", b.grad)
 * print("static const double G_CONV_DX_DOT = %.12g;" % float((x.grad.flatten() * seq(120, lambda i: math.sin(0.05 * i))).sum()))
 * # group norm N2 C4 HW3 G2
 * x = seq(24, lambda i: 2 * math.sin(0.7 * i) + 0.3).reshape(2, 4, 3).requires_grad_()
 * g = seq(4, lambda i: 1 + 0.1 * i).requires_grad_()
 * be = seq(4, lambda i: 0.05 * i).requires_grad_()
 * o = torch.nn.functional.group_norm(x, 2, g, be, eps=1e-5)
 * R = seq(24, lambda i: math.cos(0.3 * i)).reshape(2, 4, 3)
 * (o * R).sum().backward()
 * carr("G_GN_OUT", o); carr("G_GN_DX", x.grad); carr("G_GN_DGAMMA", g.grad); carr("G_GN_DBETA", be.grad)
 * # attention N1 C4 HW3, 2 heads of d = 2: qkv [1, 12, 3]
 * q = seq(36, lambda i: math.sin(0.9 * i + 0.2)).reshape(1, 12, 3).requires_grad_()
 * Q, K, V = (q[:, 0:4].reshape(1, 2, 2, 3), q[:, 4:8].reshape(1, 2, 2, 3), q[:, 8:12].reshape(1, 2, 2, 3))
 * A = torch.softmax(torch.einsum('nhci,nhcj->nhij', Q, K) / math.sqrt(2), -1)
 * Y = torch.einsum('nhij,nhcj->nhci', A, V).reshape(1, 4, 3)
 * R = seq(12, lambda i: math.cos(0.4 * i)).reshape(1, 4, 3)
 * (Y * R).sum().backward()
 * carr("G_ATT_OUT", Y); carr("G_ATT_DQKV", q.grad)
 */
static const double G_CONV_OUT[24] = {
    -3.17032561, -3.1296895, 5.14306015, 7.52694002, -2.47342837, -5.26148532, -3.33598211,
    -2.98490167, 4.94325119, 7.01036498, -3.05733247, -5.72672835, 3.2275505, 2.5188646,
    -5.17495163, -6.60410486, 3.07415785, 5.37436721, 2.72952721, 1.72744638, -5.49902188,
    -6.58626815, 3.01389292, 5.14156979
};
static const double G_CONV_DW[54] = {
    -0.220883616, -0.410738585, -0.317846239, -0.263044329, -0.489624351, -0.494544386,
    -0.201605767, -0.369139603, -0.25535284, -0.0198325232, -0.018346443, 0.144927623,
    -0.106482619, -0.309298039, -0.145934183, 0.0205741944, 0.0588210115, 0.213751586, 0.203488616,
    0.394647018, 0.444961482, 0.169648993, 0.218340694, 0.366546294, 0.219651283, 0.420731198,
    0.442833213, -0.213700123, -0.413539114, -0.405148136, 0.0463083344, 0.0702618342, 0.466923478,
    -0.227080146, -0.433486626, -0.394593697, -0.127847364, -0.230053416, -0.0886834046,
    0.607212701, 1.02843708, 1.11204596, -0.0958761476, -0.166350943, -0.0100246167, 0.101565884,
    0.211760493, 0.327364396, 0.486274681, 0.831774833, 0.508446091, 0.142987689, 0.287581104,
    0.385801159
};
static const double G_CONV_DB[2] = {9.22773439, 8.06288827};
static const double G_CONV_DX_DOT = -6.70896776206;
static const double G_GN_OUT[24] = {
    -0.872336262, 0.488881128, 1.20989671, 1.09676615, -0.130965272, -1.72488661, -1.06741966,
    -1.24368298, -0.685395009, 0.415278764, 1.51778325, 2.08814378, 1.71554991, 0.904640019,
    -0.133531792, -0.951766805, -1.11747719, -0.516079956, -0.84377676, 0.750459852, 1.5552598,
    1.33312253, -0.140535575, -2.00135842
};
static const double G_GN_DX[24] = {
    0.524296531, 0.224760869, -0.0462489949, -0.147927168, -0.242302189, -0.312579048, 0.214426151,
    -0.0384516999, -0.12133924, -0.125560535, -0.013693114, 0.0846184371, 0.0360738392,
    -0.0632548108, -0.177571679, -0.201088971, 0.00486987833, 0.400971743, -0.270424069,
    -0.133779563, -0.0341100671, 0.146058071, 0.17600084, 0.116254787
};
static const double G_GN_DGAMMA[4] = {-1.53639527, 0.322368303, 2.38664554, -3.35064787};
static const double G_GN_DBETA[4] = {0.667720562, 1.30938585, 0.960134033, -0.11572808};
static const double G_ATT_OUT[12] = {
    -0.498817583, -0.686100448, -0.722024417, 0.211658534, 0.469593046, 0.520954084, 0.0485621462,
    0.102403613, 0.199405435, -0.378954276, -0.409195708, -0.476189991
};
static const double G_ATT_DQKV[36] = {
    -0.0843226589, -0.145450408, -0.182369239, 0.041334703, 0.0839821312, 0.108546716,
    -0.00978908104, -0.00143024538, 0.0011624354, 0.00668157713, 0.0498316014, 0.0994294912,
    0.238672694, 0.0215162901, -0.260188984, -0.179252894, -0.0358103321, 0.215063226,
    -0.150135979, -0.00486383916, 0.154999818, 0.0711781156, 0.0190115549, -0.0901896705,
    0.616019038, 0.716212956, 1.28553571, 0.0405085938, 0.0248272903, -0.148324488, -0.892907827,
    -0.87307689, -0.911926115, -0.546411529, -0.670852803, -0.640470576
};

static double golden_err(const float *got, const double *want, size_t n) {
    double mx = 0, e = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(want[i]));
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs(got[i] - want[i]));
    return e / fmax(mx, 1e-30);
}

/* the same formulas as the script */
static void seqf(float *a, size_t n, double s, double o, double amp, double add, int cosine) {
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(amp * (cosine ? cos(s * (double)i + o) : sin(s * (double)i + o)) + add);
}

static void test_torch_golden(void) {
    /* bound: float kernels against float64, relative to the largest value */
    const double TOL = 2e-6;
    {
        float x[120], w[54], b[2] = {0.1f, -0.2f}, o[24], R[24], dx[120] = {0}, dw[54] = {0}, db[2] = {0};
        seqf(x, 120, 0.37, 0.1, 1, 0, 0), seqf(w, 54, 0.23, 0, 1, 0, 1), seqf(R, 24, 0.11, 0.5, 1, 0, 0);
        size_t wsn = conv2d_workspace(2, 3, 5, 4, 2, 3, 2, 1, omp_get_max_threads());
        float *ws = zeros(wsn);
        conv2d_forward(o, x, w, b, ws, wsn, 2, 3, 5, 4, 2, 3, 2, 1);
        conv2d_backward(dx, dw, db, R, x, w, ws, wsn, 2, 3, 5, 4, 2, 3, 2, 1);
        double dot_ = 0;
        for (int i = 0; i < 120; i++) dot_ += dx[i] * sin(0.05 * i);
        double eo = golden_err(o, G_CONV_OUT, 24), ew = golden_err(dw, G_CONV_DW, 54),
               eb = golden_err(db, G_CONV_DB, 2), ex = relerr(dot_, G_CONV_DX_DOT, 1);
        CHECK(eo < TOL && ew < TOL && eb < TOL && ex < TOL, "conv: out %g dw %g db %g dinp %g", eo, ew, eb, ex);
        free(ws);
    }
    {
        float x[24], g[4], be[4], o[24], R[24], m[4], rs[4], dx[24] = {0}, dg[4] = {0}, db[4] = {0};
        seqf(x, 24, 0.7, 0, 2, 0.3, 0), seqf(R, 24, 0.3, 0, 1, 0, 1);
        for (int i = 0; i < 4; i++) g[i] = (float)(1 + 0.1 * i), be[i] = (float)(0.05 * i);
        groupnorm_forward(o, m, rs, x, g, be, 2, 4, 3, 2);
        groupnorm_backward(dx, dg, db, R, x, m, rs, g, 2, 4, 3, 2);
        double eo = golden_err(o, G_GN_OUT, 24), ex = golden_err(dx, G_GN_DX, 24),
               eg = golden_err(dg, G_GN_DGAMMA, 4), eb = golden_err(db, G_GN_DBETA, 4);
        CHECK(eo < TOL && ex < TOL && eg < TOL && eb < TOL, "groupnorm: out %g dinp %g dgamma %g dbeta %g",
              eo, ex, eg, eb);
    }
    {
        float q[36], R[12], o[12], att[18], dq[36] = {0}, ws[18];
        seqf(q, 36, 0.9, 0.2, 1, 0, 0), seqf(R, 12, 0.4, 0, 1, 0, 1);
        attention_forward(o, att, q, 1, 4, 3, 2);
        attention_backward(dq, R, q, att, ws, 18, 1, 4, 3, 2);
        double eo = golden_err(o, G_ATT_OUT, 12), eq = golden_err(dq, G_ATT_DQKV, 36);
        CHECK(eo < TOL && eq < TOL, "attention: out %g dqkv %g", eo, eq);
    }
}

int main(void) {
    TEST(test_conv_naive_closed_form);
    TEST(test_conv_twin);
    TEST(test_im2col_adjoint);
    TEST(test_conv_grad);
    TEST(test_conv_threads);
    TEST(test_dnnl_fp32);
    TEST(test_dnnl_bf16);
    TEST(test_dnnl_grad);
    TEST(test_dnnl_repeat);
    TEST(test_groupnorm);
    TEST(test_resample);
    TEST(test_film);
    TEST(test_attention);
    TEST(test_attention_threads);
    TEST(test_torch_golden);
    return DONE();
}
