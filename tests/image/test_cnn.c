/* test_cnn.c — the image classifier (src/image/cnn.c): the whole network's loss gradient
 * against central finite differences, per element over every parameter and every input
 * value of a tiny network (2 stages of widths 4, 8, odd image sizes so the stride-2
 * convolution rounds up), for the class-weighted cross-entropy and for the focal loss; a
 * learning test with a known answer (a bright square on the left or the right half); same
 * seed => identical probabilities (and uint8 input = the same images as floats); bad input
 * gives an error code with a message.
 * As in tests/nn/test_unet.c: the network runs in float, the loss is summed in double,
 * every difference is Richardson-extrapolated from h and h/2; per element relative error
 * (floor 1e-2) below 1e-2 for at least 95% of the entries and below 3e-2 for all. Everything
 * is smooth (SiLU, GroupNorm, softmax, focal with gamma 2): no kink skipping. */
#include "image/cnn.h"
#include "image/image.h"
#include "testhelp.h"

static double relerr(double a, double b, double floor_) {
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), floor_);
}
static double richardson(const double D[2]) { return (4 * D[1] - D[0]) / 3; }

enum { NB = 3, TC = 2, TH = 7, TW = 5, TK = 3 };
static const int Y_[NB] = {0, 2, 1};
static const double CW_[TK] = {0.5, 1.0, 2.0};

static void tiny(mcr_cnn_config *c) {
    mcr_cnn_config_default(c);
    c->nstages = 2;
    c->widths[0] = 4, c->widths[1] = 8;
    c->groups = 2;
    c->blocks = 1;
}

static double loss_at(mcr_cnn *m, const float *p, const float *x, double gamma) {
    cnn_forward(m, p, x, NB);
    return cnn_loss(NULL, m->tens[m->t_out].v, Y_, NB, TK, CW_, gamma);
}

static void grad_check(double gamma) {
    mcr_cnn_config c;
    tiny(&c);
    mcr_cnn m;
    CHECK(cnn_layout(&m, &c, TC, TH, TW, TK) == MCR_OK, "layout: %s", mcr_last_error());
    CHECK(cnn_alloc(&m, 4) == MCR_OK, "alloc");
    size_t P = m.nparams, NX = (size_t)NB * TC * TH * TW;
    float *p = malloc(P * sizeof(float)), *g = calloc(P, sizeof(float)), *x = malloc(NX * sizeof(float));
    float dl[NB * TK];
    cnn_init_params(&m, p, 7);
    mcr_rng r;
    mcr_rng_seed(&r, 9, 0);
    /* GroupNorm's gamma/beta off 1/0, so that every path carries gradient */
    for (int i = 0; i < m.nmods; i++)
        if (m.mods[i].type == CM_GN)
            for (int k = 0; k < m.tens[m.mods[i].in0].C; k++)
                p[m.mods[i].w + k] += (float)(0.3 * mcr_rng_normal(&r)),
                    p[m.mods[i].b + k] = (float)(0.3 * mcr_rng_normal(&r));
    for (size_t i = 0; i < NX; i++) x[i] = (float)mcr_rng_normal(&r);
    cnn_forward(&m, p, x, NB);
    double L = cnn_loss(dl, m.tens[m.t_out].v, Y_, NB, TK, CW_, gamma);
    cnn_backward(&m, p, g, dl, NB);
    float *dx = malloc(NX * sizeof(float));
    memcpy(dx, m.tens[0].g, NX * sizeof(float));
    /* backward accumulates into g: a second pass doubles it */
    float *g2 = malloc(P * sizeof(float));
    memcpy(g2, g, P * sizeof(float));
    cnn_backward(&m, p, g2, dl, NB);
    double acc = 0;
    for (size_t i = 0; i < P; i++) acc = fmax(acc, fabs(g2[i] - 2 * g[i]));
    CHECK(acc < 1e-5, "second backward accumulates (max |g2 - 2g| %g)", acc);
    int bad = 0, n = 0;
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < P + NX; i++, n++) { /* every parameter, then every input value */
        float *v = i < P ? &p[i] : &x[i - P];
        float keep = *v;
        double D[2];
        for (int s = 0; s < 2; s++) {
            float h = s ? 1e-2f : 2e-2f;
            *v = keep + h;
            double lp = loss_at(&m, p, x, gamma);
            *v = keep - h;
            double lm = loss_at(&m, p, x, gamma);
            *v = keep;
            D[s] = (lp - lm) / (2.0 * h);
        }
        double an = i < P ? g[i] : dx[i - P];
        double e = relerr(richardson(D), an, 1e-2);
        if (e > 1e-2) bad++;
        if (e > worst) worst = e, wi = i;
    }
    CHECK(bad <= n / 20, "gamma %g: %d of %d entries above 1e-2", gamma, bad, n);
    CHECK(worst < 3e-2, "gamma %g: worst rel err %g at %s %zu", gamma, worst, wi < P ? "param" : "input",
          wi < P ? wi : wi - P);
    printf("     cnn (gamma %g): %zu params + %zu inputs, loss %.4f, per-element worst %.2e (%d above 1e-2)\n",
           gamma, P, NX, L, worst, bad);
    free(p), free(g), free(g2), free(x), free(dx);
    cnn_release(&m);
}

static void test_cnn_grad_ce(void) { grad_check(0); }
static void test_cnn_grad_focal(void) { grad_check(2); }

/* The loss against a hand computation: logits (0, ln 3) for class 1 with weight 2: p = 3/4,
 * CE = 2 (-ln 3/4); focal gamma 2: 2 (1/4)^2 (-ln 3/4). */
static void test_cnn_loss_values(void) {
    float z[2] = {0.0f, (float)log(3.0)}, d[2];
    int y = 1;
    double w[2] = {1, 2};
    double ce = cnn_loss(d, z, &y, 1, 2, w, 0), fo = cnn_loss(NULL, z, &y, 1, 2, w, 2);
    CHECK(fabs(ce - 2 * -log(0.75)) < 1e-6, "ce %g", ce);
    CHECK(fabs(fo - 2 * 0.0625 * -log(0.75)) < 1e-6, "focal %g", fo);
    CHECK(fabs(d[0] - 2 * 0.25) < 1e-6 && fabs(d[1] + 2 * 0.25) < 1e-6, "dce %g %g", d[0], d[1]);
}

/* 16 x 16 grey images: noise around 60, a 4 x 4 square of 220 at a random place in the left
 * half (label 0) or the right half (label 1). */
static void squares(uint8_t *pix, int *y, int n, uint64_t seed) {
    mcr_rng r;
    mcr_rng_seed(&r, seed, 0);
    for (int i = 0; i < n; i++) {
        uint8_t *im = pix + (size_t)i * 256;
        y[i] = (int)mcr_rng_below(&r, 2);
        for (int k = 0; k < 256; k++) im[k] = (uint8_t)(40 + mcr_rng_below(&r, 40));
        int oy = (int)mcr_rng_below(&r, 13), ox = (int)mcr_rng_below(&r, 5) + (y[i] ? 8 : 0);
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) im[(oy + a) * 16 + ox + b] = 220;
    }
}

static void small_config(mcr_cnn_config *c) {
    mcr_cnn_config_default(c);
    c->nstages = 2;
    c->widths[0] = 8, c->widths[1] = 16;
    c->groups = 4;
    c->batch = 32;
    c->epochs = 4;
    c->lr = 3e-3f;
}

static void test_cnn_learns_squares(void) {
    enum { NTR = 320, NTE = 200 };
    uint8_t *tr = malloc(NTR * 256), *te = malloc(NTE * 256);
    int ytr[NTR], yte[NTE];
    squares(tr, ytr, NTR, 1);
    squares(te, yte, NTE, 2);
    mcr_cnn_config c;
    small_config(&c);
    mcr_cnn *m = NULL;
    double t0 = mcr_now();
    int rc = mcr_cnn_fit_u8(&c, tr, ytr, NTR, 16, 16, 1, 2, &m);
    CHECK(rc == MCR_OK && m, "fit: %s", mcr_last_error());
    double *prob = malloc(NTE * 2 * sizeof(double));
    if (!rc) {
        CHECK(mcr_cnn_predict_proba_u8(m, te, NTE, prob) == MCR_OK, "predict");
        int right = 0;
        for (int i = 0; i < NTE; i++) right += (prob[2 * i + 1] > prob[2 * i]) == yte[i];
        double acc = right / (double)NTE;
        CHECK(acc >= 0.95, "test accuracy %.3f", acc);
        printf("     squares: %zu params, %d steps, final loss %.4f, test accuracy %.3f, %.1f s\n",
               mcr_cnn_nparams(m), c.epochs * NTR / c.batch, mcr_cnn_final_loss(m), acc, mcr_now() - t0);
    }
    mcr_cnn_free(m);
    free(prob), free(tr), free(te);
}

/* same seed => identical probabilities; another seed differs; uint8 = the same images as floats */
static void test_cnn_deterministic(void) {
    enum { N = 96 };
    uint8_t *pix = malloc(N * 256);
    int y[N];
    squares(pix, y, N, 5);
    float *x = malloc(N * 256 * sizeof(float));
    mcr_image_to_float(x, pix, N, 16, 16, 1);
    mcr_cnn_config c;
    small_config(&c);
    c.epochs = 1;
    c.focal_gamma = 1.5;
    c.balanced = 1;
    mcr_cnn *a = NULL, *b = NULL, *f = NULL, *s = NULL;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, N, 16, 16, 1, 2, &a) == MCR_OK, "fit a: %s", mcr_last_error());
    CHECK(mcr_cnn_fit_u8(&c, pix, y, N, 16, 16, 1, 2, &b) == MCR_OK, "fit b");
    CHECK(mcr_cnn_fit(&c, x, y, N, 16, 16, 1, 2, &f) == MCR_OK, "fit float");
    c.seed = 2;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, N, 16, 16, 1, 2, &s) == MCR_OK, "fit seed 2");
    double *P[4];
    for (int k = 0; k < 4; k++) P[k] = calloc(2 * N, sizeof(double));
    mcr_cnn *M[4] = {a, b, f, s};
    for (int k = 0; k < 4; k++)
        if (M[k]) CHECK(mcr_cnn_predict_proba_u8(M[k], pix, N, P[k]) == MCR_OK, "predict %d", k);
    CHECK(!memcmp(P[0], P[1], 2 * N * sizeof(double)), "same seed: identical probabilities");
    CHECK(!memcmp(P[0], P[2], 2 * N * sizeof(double)), "uint8 and float input: identical probabilities");
    CHECK(memcmp(P[0], P[3], 2 * N * sizeof(double)), "another seed: different probabilities");
    double sum = 0;
    for (int i = 0; i < N; i++) sum = fmax(sum, fabs(P[0][2 * i] + P[0][2 * i + 1] - 1));
    CHECK(sum < 1e-12, "probabilities sum to 1 (max error %g)", sum);
    /* two threads: the same probabilities on a second run */
    c.seed = 1;
    c.threads = 2;
    mcr_cnn *t1 = NULL, *t2 = NULL;
    double *q1 = calloc(2 * N, sizeof(double)), *q2 = calloc(2 * N, sizeof(double));
    CHECK(mcr_cnn_fit_u8(&c, pix, y, N, 16, 16, 1, 2, &t1) == MCR_OK &&
              mcr_cnn_fit_u8(&c, pix, y, N, 16, 16, 1, 2, &t2) == MCR_OK,
          "fit with 2 threads: %s", mcr_last_error());
    if (t1 && t2) {
        mcr_cnn_predict_proba_u8(t1, pix, N, q1);
        mcr_cnn_predict_proba_u8(t2, pix, N, q2);
        CHECK(!memcmp(q1, q2, 2 * N * sizeof(double)), "2 threads: identical probabilities twice");
    }
    mcr_cnn_free(t1), mcr_cnn_free(t2);
    free(q1), free(q2);
    /* float predict equals uint8 predict */
    double *pq = calloc(2 * N, sizeof(double));
    if (a) CHECK(mcr_cnn_predict_proba(a, x, N, pq) == MCR_OK && !memcmp(pq, P[0], 2 * N * sizeof(double)),
                 "float predict");
    for (int k = 0; k < 4; k++) free(P[k]), mcr_cnn_free(M[k]);
    free(pq), free(pix), free(x);
}

static void test_cnn_bad_input(void) {
    uint8_t pix[4 * 64] = {0};
    int y[4] = {0, 1, 0, 1};
    mcr_cnn_config c;
    small_config(&c);
    mcr_cnn *m = (mcr_cnn *)&c; /* must come back NULL */
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 0, 8, 8, 1, 2, &m) == MCR_EINVAL && !m, "zero images");
    CHECK(strstr(mcr_last_error(), "no training images") != NULL, "message: %s", mcr_last_error());
    y[2] = 2;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 4, 8, 8, 1, 2, &m) == MCR_EINVAL && !m, "label out of range");
    CHECK(strstr(mcr_last_error(), "label 2 of image 2") != NULL, "message: %s", mcr_last_error());
    y[2] = -1;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 4, 8, 8, 1, 2, &m) == MCR_EINVAL, "negative label");
    y[2] = 0;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 4, 8, 8, 1, 1, &m) == MCR_EINVAL, "one class");
    c.widths[1] = 10; /* not divisible by 4 groups */
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 4, 8, 8, 1, 2, &m) == MCR_EINVAL, "widths vs groups");
    CHECK(strstr(mcr_last_error(), "widths") != NULL, "message: %s", mcr_last_error());
    small_config(&c);
    c.lr = 0;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 4, 8, 8, 1, 2, &m) == MCR_EINVAL, "lr 0");
    small_config(&c);
    double cw[2] = {1, -1};
    c.class_weights = cw;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 4, 8, 8, 1, 2, &m) == MCR_EINVAL, "negative class weight");
    small_config(&c);
    c.focal_gamma = -1;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 4, 8, 8, 1, 2, &m) == MCR_EINVAL, "negative gamma");
    double prob[2];
    CHECK(mcr_cnn_predict_proba_u8(NULL, pix, 1, prob) == MCR_EINVAL, "predict without a model");
    /* a fit on 4 images (batch larger than n) works */
    small_config(&c);
    c.steps = 3;
    CHECK(mcr_cnn_fit_u8(&c, pix, y, 4, 8, 8, 1, 2, &m) == MCR_OK && m, "fit on 4 images: %s", mcr_last_error());
    mcr_cnn_free(m);
    mcr_cnn_free(NULL);
}

int main(void) {
    TEST(test_cnn_loss_values);
    TEST(test_cnn_grad_ce);
    TEST(test_cnn_grad_focal);
    TEST(test_cnn_bad_input);
    TEST(test_cnn_deterministic);
    TEST(test_cnn_learns_squares);
    return DONE();
}
