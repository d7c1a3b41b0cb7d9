/* bf16.c — bf16 matrix products through oneDNN's matmul primitive (bf16 inputs, f32
 * accumulation, f32 destination), chosen at run time on CPUs with AVX512-BF16 or AMX.
 * The only file that includes <dnnl.h>. See nn.h ("bf16 matrix products"). */
#include "nn/nn.h"
#include <oneapi/dnnl/dnnl.h>
#include <cpuid.h>
#include <omp.h>

#define PAR_MIN 16384
#define NPRIM 48 /* cached primitives per context: (M, N, K, transposes, accumulate) */

/* ------------------------------------------------------------------ CPU detection */
/* AVX512-BF16: CPUID.(7,1):EAX[5]; AMX-BF16: CPUID.(7,0):EDX[22]; with the OS saving the
 * AVX-512 state (XCR0 bits 1, 2, 5, 6, 7) */
static int cpu_bf16(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(1, 0, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    int avx512f = (b >> 16) & 1, amx = (d >> 22) & 1;
    unsigned a1 = 0, b1, c1, d1;
    if (a >= 1) __get_cpuid_count(7, 1, &a1, &b1, &c1, &d1);
    return (avx512f && ((a1 >> 5) & 1)) || amx;
}

int mcr_bf16_supported(void) {
    static int cached = -1;
    if (cached < 0) {
        const char *env = getenv("MCRAGE_BF16"); /* "0": behave as a CPU without bf16 (tests) */
        int ok = cpu_bf16() && !(env && !strcmp(env, "0"));
        /* oneDNN must agree that it has native bf16 kernels here */
        if (ok) ok = dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core_bf16;
        cached = ok;
    }
    return cached;
}

int mcr_cpu_has_bf16(void) { return mcr_bf16_supported(); }

int mcr_bf16_resolve(int precision, int *use_bf16) {
    *use_bf16 = 0;
    switch (precision) {
    case MCR_PRECISION_FP32: return MCR_OK;
    case MCR_PRECISION_AUTO: *use_bf16 = mcr_bf16_supported(); return MCR_OK;
    case MCR_PRECISION_BF16:
        if (!mcr_bf16_supported())
            return mcr_err(MCR_EINVAL, "`precision` bf16: this CPU has neither AVX512-BF16 nor AMX "
                                       "(use fp32, or auto to pick bf16 only where it is native)");
        *use_bf16 = 1;
        return MCR_OK;
    default: return mcr_err(MCR_EINVAL, "`precision` must be fp32, bf16 or auto");
    }
}

const char *mcr_precision_name(int precision) {
    return precision == MCR_PRECISION_BF16 ? "bf16" : precision == MCR_PRECISION_AUTO ? "auto" : "fp32";
}

/* ------------------------------------------------------------------ conversions */
/* round to nearest even; NaN stays a (quiet) NaN; branch-free so that it vectorises */
static inline uint16_t bf16_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16, q = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? q : r);
}

__attribute__((target_clones("avx512f", "default")))
static void to_bf16_chunk(uint16_t *out, const float *inp, size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; i++) out[i] = bf16_round(inp[i]);
}

void f32_to_bf16(uint16_t *out, const float *inp, size_t n) {
    int nth = n > PAR_MIN ? omp_get_max_threads() : 1;
#pragma omp parallel num_threads(nth)
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        to_bf16_chunk(out, inp, n * tid / nt, n * (tid + 1) / nt);
    }
}

void bf16_to_f32(float *out, const uint16_t *inp, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)inp[i] << 16;
        memcpy(out + i, &u, 4);
    }
}

/* ------------------------------------------------------------------ oneDNN context */
typedef struct prim {
    int key[6];               /* M, N, K, ta, tb, acc */
    dnnl_primitive_t p;
    dnnl_memory_t a, b, c;    /* memory objects without data; the handles are set per call */
} prim;

struct mcr_bf16 {
    dnnl_engine_t eng;
    dnnl_stream_t st;
    prim e[NPRIM];
    int ne, next;             /* entries used; the next one to replace when full */
};

static void prim_free(prim *e) {
    if (e->p) dnnl_primitive_destroy(e->p);
    if (e->a) dnnl_memory_destroy(e->a);
    if (e->b) dnnl_memory_destroy(e->b);
    if (e->c) dnnl_memory_destroy(e->c);
    memset(e, 0, sizeof *e);
}

int mcr_bf16_new(mcr_bf16 **out) {
    *out = NULL;
    mcr_bf16 *x = calloc(1, sizeof *x);
    if (!x) return MCR_NOMEM();
    if (dnnl_engine_create(&x->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&x->st, x->eng, dnnl_stream_default_flags) != dnnl_success) {
        mcr_bf16_free(x);
        return mcr_err(MCR_EINVAL, "oneDNN: could not create a CPU engine");
    }
    *out = x;
    return MCR_OK;
}

void mcr_bf16_free(mcr_bf16 *x) {
    if (!x) return;
    for (int i = 0; i < x->ne; i++) prim_free(&x->e[i]);
    if (x->st) dnnl_stream_destroy(x->st);
    if (x->eng) dnnl_engine_destroy(x->eng);
    free(x);
}

/* the cached primitive for this shape, created on first use (NULL if oneDNN refuses) */
static prim *get_prim(mcr_bf16 *x, int M, int N, int K, int ta, int tb, int acc) {
    int key[6] = {M, N, K, ta, tb, acc};
    for (int i = 0; i < x->ne; i++)
        if (!memcmp(x->e[i].key, key, sizeof key)) return &x->e[i];
    prim *e;
    if (x->ne < NPRIM) e = &x->e[x->ne++];
    else {
        e = &x->e[x->next];
        x->next = (x->next + 1) % NPRIM;
        prim_free(e);
    }
    memcpy(e->key, key, sizeof key);
    /* A [M, K] (stored [K, M] when ta), B [K, N] (stored [N, K] when tb), C [M, N] row-major */
    dnnl_memory_desc_t ma, mb, mc;
    dnnl_dims_t da = {M, K}, db = {K, N}, dc = {M, N};
    dnnl_dims_t sa = {ta ? 1 : K, ta ? M : 1}, sb = {tb ? 1 : N, tb ? K : 1}, sc = {N, 1};
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_memory_desc_init_by_strides(&ma, 2, da, dnnl_bf16, sa) == dnnl_success &&
             dnnl_memory_desc_init_by_strides(&mb, 2, db, dnnl_bf16, sb) == dnnl_success &&
             dnnl_memory_desc_init_by_strides(&mc, 2, dc, dnnl_f32, sc) == dnnl_success &&
             dnnl_matmul_desc_init(&md, &ma, &mb, NULL, &mc) == dnnl_success &&
             dnnl_primitive_attr_create(&attr) == dnnl_success;
    if (ok && acc) /* C += A B: the sum post-op */
        ok = dnnl_post_ops_create(&po) == dnnl_success && dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    ok = ok && dnnl_primitive_desc_create(&pd, &md, attr, x->eng, NULL) == dnnl_success &&
         dnnl_primitive_create(&e->p, pd) == dnnl_success &&
         dnnl_memory_create(&e->a, &ma, x->eng, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->b, &mb, x->eng, DNNL_MEMORY_NONE) == dnnl_success &&
         dnnl_memory_create(&e->c, &mc, x->eng, DNNL_MEMORY_NONE) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!ok) {
        prim_free(e);
        if (e == &x->e[x->ne - 1]) x->ne--;
        return NULL;
    }
    return e;
}

int bf16_matmul(mcr_bf16 *x, int ta, int tb, int M, int N, int K, const uint16_t *A,
                const uint16_t *Bm, float *C, int acc) {
    if (M <= 0 || N <= 0) return MCR_OK;
    if (K <= 0) { /* an empty sum */
        if (!acc) memset(C, 0, (size_t)M * N * sizeof(float));
        return MCR_OK;
    }
    prim *e = get_prim(x, M, N, K, ta, tb, acc);
    if (!e) return mcr_err(MCR_EINVAL, "oneDNN: no bf16 matmul for %dx%dx%d", M, N, K);
    if (dnnl_memory_set_data_handle(e->a, (void *)A) != dnnl_success ||
        dnnl_memory_set_data_handle(e->b, (void *)Bm) != dnnl_success ||
        dnnl_memory_set_data_handle(e->c, C) != dnnl_success)
        return mcr_err(MCR_EINVAL, "oneDNN: could not bind the matmul's buffers");
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
    if (dnnl_primitive_execute(e->p, x->st, 3, args) != dnnl_success || dnnl_stream_wait(x->st) != dnnl_success)
        return mcr_err(MCR_EINVAL, "oneDNN: the bf16 matmul failed");
    return MCR_OK;
}

int mcr_bf16_nprims(const mcr_bf16 *x) { return x->ne; }

/* ------------------------------------------------------------------ layer pair */
int linear_forward_bf16(mcr_bf16 *x, float *out, const uint16_t *inp, const uint16_t *w,
                        const float *b, int B, int C, int OC) {
    /* out [B, OC] = inp [B, C] @ w [OC, C]^T (+ b [OC]) */
    if (b) {
#pragma omp parallel for schedule(static) if ((size_t)B * OC > PAR_MIN)
        for (int r = 0; r < B; r++) memcpy(out + (size_t)r * OC, b, (size_t)OC * sizeof(float));
    }
    return bf16_matmul(x, 0, 1, B, OC, C, inp, w, out, b != NULL);
}

int linear_backward_bf16(mcr_bf16 *x, float *dinp, float *dw, float *db, const float *dout,
                         const uint16_t *doutb, const uint16_t *inp, const uint16_t *w, int B,
                         int C, int OC) {
    /* dinp [B, C] = dout [B, OC] @ w [OC, C] (written);  dw [OC, C] += dout^T @ inp [B, C];
     * db [OC] += column sums of dout (f32, row order) */
    int rc = bf16_matmul(x, 1, 0, OC, C, B, doutb, inp, dw, 1);
    if (!rc && dinp) rc = bf16_matmul(x, 0, 0, B, C, OC, doutb, w, dinp, 0);
    if (db) bias_grad(db, dout, B, OC);
    return rc;
}
