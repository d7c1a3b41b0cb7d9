/* test_golden.c — the denoiser against PyTorch (llm.c's test_gpt2.c): outputs, MSE loss, every
 * parameter gradient, the input gradient and a 10-step AdamW loss trajectory, read from
 * tests/data/golden_mlp.bin, written by dev/golden_mlp.py (python3-torch 1.13; not needed here).
 *
 * Reference file layout (little-endian; i32 = int32, f32 = float32; see dev/golden_mlp.py):
 *   char magic[8] = "MCRGOLD1"; i32 version = 1; i32 nvariants; then per variant:
 *   i32 act (0 ReLU, 1 SiLU), d, dt, ncond, nl, widths[nl], B, nparams, nsteps
 *   f32 lr, beta1, beta2, eps, weight_decay, grad_clip
 *   i32 t[B], y[B];  f32 x[B*d], target[B*d], params[nparams] (mcr_net_layout order)
 *   f32 out[B*d], loss, dx[B*d], grad[nparams], losses[nsteps], params_final[nparams]
 * The trajectory repeats nsteps times on the same batch: forward, loss (recorded), backward,
 * clip the global gradient norm to grad_clip (grad_norm + scale_inplace, as the trainer does),
 * adamw_update at a constant lr. No dropout.
 *
 * Variants: ReLU and SiLU at the trainer's defaults (lr 2e-3, weight decay 1e-4, clip 1), and
 * SiLU at lr 1e-2, weight decay 0.1, clip 0.2 (clipping active on 6 of 10 steps, decay visible).
 *
 * Tolerances (float32 on both sides, different summation orders; measured diffs in brackets):
 *   out, dx, every gradient: max abs diff <= 1e-6 [<= 3e-8; values are O(1e-3..1)];
 *   loss and each trajectory loss: relative 1e-6 [~1e-7];
 *   params after the steps: abs 1e-5 [<= 1.2e-6 at lr 2e-3; a step moves a parameter by ~lr]. */
#include "nn/nn.h"
#include "testhelp.h"

#define GOLDEN "tests/data/golden_mlp.bin"

typedef struct {
    int act, d, dt, ncond, nl, widths[MCR_MAX_LAYERS], B, np, nsteps;
    float lr, beta1, beta2, eps, wd, clip;
    int *t, *y;
    float *x, *target, *params, *out, loss, *dx, *grad, *losses, *final;
} golden;

static int rd(FILE *f, void *p, size_t sz, size_t n) { return fread(p, sz, n, f) == n; }

static float *rdf(FILE *f, size_t n, int *ok) {
    float *a = malloc((n ? n : 1) * sizeof(float));
    if (!a || !rd(f, a, sizeof(float), n)) *ok = 0;
    return a;
}

static int read_variant(FILE *f, golden *g) {
    int ok = rd(f, &g->act, 4, 1) && rd(f, &g->d, 4, 1) && rd(f, &g->dt, 4, 1) &&
             rd(f, &g->ncond, 4, 1) && rd(f, &g->nl, 4, 1);
    if (!ok || g->nl < 0 || g->nl > MCR_MAX_LAYERS) return 0;
    ok = rd(f, g->widths, 4, (size_t)g->nl) && rd(f, &g->B, 4, 1) && rd(f, &g->np, 4, 1) &&
         rd(f, &g->nsteps, 4, 1) && rd(f, &g->lr, 4, 1) && rd(f, &g->beta1, 4, 1) &&
         rd(f, &g->beta2, 4, 1) && rd(f, &g->eps, 4, 1) && rd(f, &g->wd, 4, 1) &&
         rd(f, &g->clip, 4, 1);
    if (!ok || g->B < 1 || g->B > 1000 || g->np < 1 || g->nsteps < 1 || g->nsteps > 1000) return 0;
    size_t Bd = (size_t)g->B * g->d;
    g->t = malloc((size_t)g->B * sizeof(int)), g->y = malloc((size_t)g->B * sizeof(int));
    ok = g->t && g->y && rd(f, g->t, 4, (size_t)g->B) && rd(f, g->y, 4, (size_t)g->B);
    g->x = rdf(f, Bd, &ok), g->target = rdf(f, Bd, &ok), g->params = rdf(f, (size_t)g->np, &ok);
    g->out = rdf(f, Bd, &ok);
    ok = ok && rd(f, &g->loss, 4, 1);
    g->dx = rdf(f, Bd, &ok), g->grad = rdf(f, (size_t)g->np, &ok);
    g->losses = rdf(f, (size_t)g->nsteps, &ok), g->final = rdf(f, (size_t)g->np, &ok);
    return ok;
}

static void free_variant(golden *g) {
    free(g->t), free(g->y), free(g->x), free(g->target), free(g->params), free(g->out);
    free(g->dx), free(g->grad), free(g->losses), free(g->final);
}

/* llm.c's check_tensor: the first pairs, the max abs diff, OK / NOT OK; returns ok */
static int check_tensor(const char *name, const float *a, const float *ref, size_t n, float tol) {
    double maxd = 0;
    for (size_t i = 0; i < n; i++) maxd = fmax(maxd, fabs((double)a[i] - ref[i]));
    int ok = maxd <= tol;
    printf("  %-6s n=%-4zu [0] %+.6f vs %+.6f  max abs diff %.2e  %s\n", name, n, a[0], ref[0],
           maxd, ok ? "OK" : "NOT OK");
    return ok;
}

typedef struct { const char *name; size_t off, len; } tensor;

static void check_variant(const golden *gd) {
    const char *an = gd->act ? "silu" : "relu";
    printf(" %s: d %d dt %d ncond %d, %d hidden layers, B %d, %d params; lr %g wd %g clip %g\n",
           an, gd->d, gd->dt, gd->ncond, gd->nl, gd->B, gd->np, gd->lr, gd->wd, gd->clip);
    mcr_net n;
    mcr_net_layout(&n, gd->d, gd->dt, gd->ncond, gd->widths, gd->nl, gd->act, 0);
    CHECK(n.nparams == (size_t)gd->np, "%s: layout has %zu params, file %d", an, n.nparams, gd->np);
    if (n.nparams != (size_t)gd->np || mcr_net_alloc(&n, gd->B)) return;
    size_t np = n.nparams, Bd = (size_t)gd->B * gd->d;
    float *p = malloc(np * sizeof(float)), *g = calloc(np, sizeof(float)),
          *m = calloc(np, sizeof(float)), *v = calloc(np, sizeof(float)),
          *gr = calloc(np, sizeof(float)), *dout = malloc(Bd * sizeof(float)),
          *drow = malloc(Bd * sizeof(float)), *dx = calloc(Bd, sizeof(float)),
          *losses = malloc((size_t)gd->nsteps * sizeof(float));
    memcpy(p, gd->params, np * sizeof(float));

    /* forward, loss, backward */
    mcr_net_forward(&n, p, gd->x, gd->t, gd->y, gd->B, 0, 0, 0);
    CHECK(check_tensor("out", n.out, gd->out, Bd, 1e-6f), "%s: output", an);
    float loss = (float)mse_forward_backward(dout, n.out, gd->target, Bd);
    printf("  loss   %.7f vs %.7f\n", loss, gd->loss);
    CHECK(fabsf(loss - gd->loss) <= 1e-6f * gd->loss, "%s: loss %.7f vs %.7f", an, loss, gd->loss);
    mcr_net_backward(&n, p, g, dout, gd->x, gd->y, gd->B);
    /* every parameter tensor, named as in the layout */
    tensor tens[8 + 2 * (MCR_MAX_LAYERS + 1)];
    int nt = 0, dt = gd->dt;
    tens[nt++] = (tensor){"wt1", n.wt1, (size_t)dt * dt};
    tens[nt++] = (tensor){"bt1", n.bt1, (size_t)dt};
    tens[nt++] = (tensor){"wt2", n.wt2, (size_t)dt * dt};
    tens[nt++] = (tensor){"bt2", n.bt2, (size_t)dt};
    tens[nt++] = (tensor){"emb", n.emb, (size_t)(gd->ncond + 1) * dt};
    tens[nt++] = (tensor){"win", n.win, (size_t)dt * gd->d};
    tens[nt++] = (tensor){"bin", n.bin, (size_t)dt};
    static char names[2 * (MCR_MAX_LAYERS + 1)][8];
    for (int l = 0; l <= gd->nl; l++) {
        size_t end_w = n.b[l], end_b = l < gd->nl ? n.w[l + 1] : np;
        snprintf(names[2 * l], 8, "w%d", l), snprintf(names[2 * l + 1], 8, "b%d", l);
        tens[nt++] = (tensor){names[2 * l], n.w[l], end_w - n.w[l]};
        tens[nt++] = (tensor){names[2 * l + 1], n.b[l], end_b - n.b[l]};
    }
    size_t covered = 0;
    for (int k = 0; k < nt; k++) {
        covered += tens[k].len;
        CHECK(check_tensor(tens[k].name, g + tens[k].off, gd->grad + tens[k].off, tens[k].len, 1e-6f),
              "%s: gradient of %s", an, tens[k].name);
    }
    CHECK(covered == np, "%s: the named tensors cover %zu of %zu params", an, covered, np);
    /* input gradient: h0 is affine in x, so dx[r] = dh0[r] @ Win, and dh0[r] is the gradient
     * of bin when only row r of dout is kept (the backward of one forward may be rerun) */
    for (int r = 0; r < gd->B; r++) {
        memset(drow, 0, Bd * sizeof(float));
        memcpy(drow + (size_t)r * gd->d, dout + (size_t)r * gd->d, (size_t)gd->d * sizeof(float));
        memset(gr, 0, np * sizeof(float));
        mcr_net_backward(&n, p, gr, drow, gd->x, gd->y, gd->B);
        for (int c = 0; c < gd->d; c++) {
            double s = 0;
            for (int k = 0; k < dt; k++) s += (double)gr[n.bin + k] * p[n.win + (size_t)k * gd->d + c];
            dx[(size_t)r * gd->d + c] = (float)s;
        }
    }
    CHECK(check_tensor("dx", dx, gd->dx, Bd, 1e-6f), "%s: input gradient", an);

    /* AdamW trajectory */
    mcr_adamw o = {gd->lr, gd->beta1, gd->beta2, gd->eps, gd->wd, 0};
    for (int s = 0; s < gd->nsteps; s++) {
        mcr_net_forward(&n, p, gd->x, gd->t, gd->y, gd->B, 0, 0, 0);
        losses[s] = (float)mse_forward_backward(dout, n.out, gd->target, Bd);
        memset(g, 0, np * sizeof(float));
        mcr_net_backward(&n, p, g, dout, gd->x, gd->y, gd->B);
        double gn = grad_norm(g, np);
        if (gn > gd->clip) scale_inplace(g, np, (float)(gd->clip / gn));
        adamw_update(&o, p, g, m, v, np, gd->lr);
    }
    int tok = 1;
    for (int s = 0; s < gd->nsteps; s++) {
        int ok = fabsf(losses[s] - gd->losses[s]) <= 1e-6f * gd->losses[s];
        printf("  step %d loss %.7f vs %.7f %s\n", s, losses[s], gd->losses[s], ok ? "OK" : "NOT OK");
        tok &= ok;
    }
    CHECK(tok, "%s: loss trajectory", an);
    CHECK(gd->losses[gd->nsteps - 1] < gd->losses[0], "%s: the reference loss decreases", an);
    CHECK(check_tensor("params", p, gd->final, np, 1e-5f), "%s: parameters after %d steps", an,
          gd->nsteps);
    free(p), free(g), free(m), free(v), free(gr), free(dout), free(drow), free(dx), free(losses);
    mcr_net_free(&n);
}

static void test_golden_mlp(void) {
    FILE *f = fopen(GOLDEN, "rb");
    CHECK(f != NULL, "cannot open %s (run from the repository root)", GOLDEN);
    if (!f) return;
    char magic[8];
    int version = 0, nv = 0;
    int ok = rd(f, magic, 1, 8) && !memcmp(magic, "MCRGOLD1", 8) && rd(f, &version, 4, 1) &&
             version == 1 && rd(f, &nv, 4, 1) && nv >= 1 && nv <= 16;
    CHECK(ok, "%s: bad header", GOLDEN);
    int acts = 0; /* bit per activation seen */
    for (int k = 0; ok && k < nv; k++) {
        golden gd;
        memset(&gd, 0, sizeof gd);
        ok = read_variant(f, &gd);
        CHECK(ok, "%s: variant %d truncated or malformed", GOLDEN, k);
        if (ok) check_variant(&gd), acts |= 1 << gd.act;
        free_variant(&gd);
    }
    CHECK(ok && fgetc(f) == EOF, "%s: trailing bytes", GOLDEN);
    CHECK(acts == 3, "both ReLU and SiLU variants present");
    fclose(f);
}

int main(void) {
    mcr_set_threads(2);
    TEST(test_golden_mlp);
    return DONE();
}
