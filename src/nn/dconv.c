/* dconv.c — 2-D convolutions through oneDNN's convolution primitives (forward, backward-data,
 * backward-weights), fp32 or bf16 (bf16 source/weights/output gradient, f32 accumulation and
 * f32 results), with the same NCHW float32 interface as conv.c's conv2d_forward/backward.
 * See nn.h ("oneDNN convolutions").
 *
 * Per shape (N, C, H, W, OC, k, stride, pad) one cache entry holds the three primitives, made
 * with format_tag any so that oneDNN picks its direct kernels and their (blocked) layouts, and
 * for each primitive argument whose layout or data type differs from the caller's plain f32
 * NCHW/OIHW a reorder (which converts to bf16 on the way in). Results that the interface
 * ACCUMULATES (dinp, dw) come back through a reorder with a sum post-op (dst += src); db is
 * added by a loop. Scratch buffers for the reordered tensors are shared by all entries (slots
 * grown to the largest shape; primitives run one after another). oneDNN's results are
 * deterministic for a thread count, not across thread counts. */
#include "nn/nn.h"
#include <oneapi/dnnl/dnnl.h>

#define NENT 96 /* cached shapes per context */

enum { S_SRC, S_WEI, S_DST, S_DDST, S_DDST2, S_WEI2, S_DSRC, S_SRC2, S_DW, S_DB, NSLOT };

/* one primitive argument: the primitive's memory and, when it differs from the user's plain
 * f32 tensor, a reorder between the two (user -> primitive for inputs, primitive -> user with
 * dst += for accumulated outputs, plain copy for the forward's output) */
typedef struct port {
    dnnl_memory_t user, mem; /* mem == user when no reorder is needed */
    dnnl_primitive_t rd;
    int slot;
    size_t bytes;
    dnnl_memory_desc_t md;   /* the primitive's */
    int nhwc, dir, bf16;     /* nhwc: the primitive's layout is NHWC (acdb): our own transpose */
    int n, c, hw;            /* the user tensor's dims for it */
} port;

typedef struct dent {
    int key[8];
    dnnl_primitive_t fwd, bwdd, bwdw;
    port f_src, f_wei, f_dst, d_ddst, d_wei, d_dsrc, w_src, w_ddst, w_dw, w_db;
    dnnl_memory_t f_bias;
} dent;

struct mcr_dconv {
    int bf16;
    dnnl_engine_t eng;
    dnnl_stream_t st;
    dent e[NENT];
    int ne, next;
    void *slot[NSLOT];
    size_t slotsz[NSLOT];
};

/* NCHW f32 <-> NHWC (f32 or bf16) in 16 x 16 tiles: oneDNN 2.7's jit:uni reorders for this
 * transpose ran at a fraction of the memory rate (as long as the convolutions themselves in the
 * UNet's bf16 step). Pure copies (and one add per element), so any thread count gives the
 * same bits. */
#define TILE 16
static inline uint16_t to_bf16(float f) { /* round to nearest even, as bf16.c */
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16, q = (u >> 16) | 0x40u;
    return (uint16_t)((u & 0x7fffffffu) > 0x7f800000u ? q : r);
}
/* One image's transpose. The scalar loops in 16 x 16 tiles are the reference and take the
 * edges; on CPUs with AVX2 the inner 8 x 8 blocks go through registers (eight row loads, the
 * unpack / shuffle / lane-permute transpose, eight row stores; bf16 rounded with the same
 * integer formula as to_bf16). Copies, one rounding and one add per element: the same bits
 * either way, checked by tests/nn/test_conv.c through the bf16 and fp32 engines. */
static void to_nhwc_ref(void *dst, const float *s, int C, int HW, int bf16, int cs, int ps) {
    /* the part outside [0, cs) x [0, ps) (cs = ps = 0: all of it): channels cs.. for every
     * position, then positions ps.. of channels 0..cs-1 */
    for (int part = 0; part < 2; part++) {
        int ca = part ? 0 : cs, cb = part ? cs : C, pa = part ? ps : 0;
        for (int c0 = ca; c0 < cb; c0 += TILE)
            for (int p0 = pa; p0 < HW; p0 += TILE) {
                int c1 = c0 + TILE < cb ? c0 + TILE : cb, p1 = p0 + TILE < HW ? p0 + TILE : HW;
                if (bf16) {
                    uint16_t *d = (uint16_t *)dst;
                    for (int q = p0; q < p1; q++)
                        for (int c = c0; c < c1; c++) d[(size_t)q * C + c] = to_bf16(s[(size_t)c * HW + q]);
                } else {
                    float *d = (float *)dst;
                    for (int q = p0; q < p1; q++)
                        for (int c = c0; c < c1; c++) d[(size_t)q * C + c] = s[(size_t)c * HW + q];
                }
            }
    }
}
static void from_nhwc_ref(float *d, const float *s, int C, int HW, int add, int cs, int ps) {
    for (int part = 0; part < 2; part++) {
        int ca = part ? 0 : cs, cb = part ? cs : C, pa = part ? ps : 0;
        for (int c0 = ca; c0 < cb; c0 += TILE)
            for (int p0 = pa; p0 < HW; p0 += TILE) {
                int c1 = c0 + TILE < cb ? c0 + TILE : cb, p1 = p0 + TILE < HW ? p0 + TILE : HW;
                if (add)
                    for (int c = c0; c < c1; c++)
                        for (int q = p0; q < p1; q++) d[(size_t)c * HW + q] += s[(size_t)q * C + c];
                else
                    for (int c = c0; c < c1; c++)
                        for (int q = p0; q < p1; q++) d[(size_t)c * HW + q] = s[(size_t)q * C + c];
            }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AVX2 __attribute__((target("avx2")))
/* r[i] = row i of an 8 x 8 block -> r[j] = column j */
AVX2 static inline void tr8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) { /* rows 0-3, rows 4-7 */
        __m256 *tt = t + 4 * h, *uu = u + 4 * h;
        uu[0] = _mm256_shuffle_ps(tt[0], tt[2], _MM_SHUFFLE(1, 0, 1, 0));
        uu[1] = _mm256_shuffle_ps(tt[0], tt[2], _MM_SHUFFLE(3, 2, 3, 2));
        uu[2] = _mm256_shuffle_ps(tt[1], tt[3], _MM_SHUFFLE(1, 0, 1, 0));
        uu[3] = _mm256_shuffle_ps(tt[1], tt[3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
        r[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
    }
}
AVX2 static inline __m128i bf16x8(__m256 v) { /* to_bf16 on eight lanes */
    __m256i u = _mm256_castps_si256(v), one = _mm256_set1_epi32(1);
    __m256i r = _mm256_srli_epi32(
        _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), _mm256_and_si256(_mm256_srli_epi32(u, 16), one)), 16);
    __m256i q = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    __m256i w = _mm256_blendv_epi8(r, q, nan);
    __m256i pk = _mm256_permute4x64_epi64(_mm256_packus_epi32(w, w), 0x08);
    return _mm256_castsi256_si128(pk);
}
AVX2 static void to_nhwc_avx2(void *dst, const float *s, int C, int HW, int bf16) {
    int cs = C - C % 8, ps = HW - HW % 8;
    for (int c0 = 0; c0 < cs; c0 += 8)
        for (int p0 = 0; p0 < ps; p0 += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s + (size_t)(c0 + i) * HW + p0);
            tr8(r);
            for (int j = 0; j < 8; j++) {
                size_t o = (size_t)(p0 + j) * C + c0;
                if (bf16) _mm_storeu_si128((__m128i *)((uint16_t *)dst + o), bf16x8(r[j]));
                else _mm256_storeu_ps((float *)dst + o, r[j]);
            }
        }
    if (cs < C || ps < HW) to_nhwc_ref(dst, s, C, HW, bf16, cs, ps);
}
AVX2 static void from_nhwc_avx2(float *d, const float *s, int C, int HW, int add) {
    int cs = C - C % 8, ps = HW - HW % 8;
    for (int c0 = 0; c0 < cs; c0 += 8)
        for (int p0 = 0; p0 < ps; p0 += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) r[i] = _mm256_loadu_ps(s + (size_t)(p0 + i) * C + c0);
            tr8(r);
            for (int j = 0; j < 8; j++) {
                float *o = d + (size_t)(c0 + j) * HW + p0;
                _mm256_storeu_ps(o, add ? _mm256_add_ps(_mm256_loadu_ps(o), r[j]) : r[j]);
            }
        }
    if (cs < C || ps < HW) from_nhwc_ref(d, s, C, HW, add, cs, ps);
}
static int use_avx2(void) {
    static int v = -1;
    if (v < 0) v = getenv("MCR_NO_SIMD_TRANSPOSE") ? 0 : __builtin_cpu_supports("avx2") ? 1 : 0;
    return v;
}
#else
static int use_avx2(void) { return 0; }
static void to_nhwc_avx2(void *dst, const float *s, int C, int HW, int bf16) { (void)dst, (void)s, (void)C, (void)HW, (void)bf16; }
static void from_nhwc_avx2(float *d, const float *s, int C, int HW, int add) { (void)d, (void)s, (void)C, (void)HW, (void)add; }
#endif
static void to_nhwc_one(void *dst, const float *s, int C, int HW, int bf16) {
    if (use_avx2()) to_nhwc_avx2(dst, s, C, HW, bf16);
    else to_nhwc_ref(dst, s, C, HW, bf16, 0, 0);
}
static void from_nhwc_one(float *d, const float *s, int C, int HW, int add) {
    if (use_avx2()) from_nhwc_avx2(d, s, C, HW, add);
    else from_nhwc_ref(d, s, C, HW, add, 0, 0);
}
static void to_nhwc(void *dst, const float *src, int N, int C, int HW, int bf16) {
    size_t es = bf16 ? 2 : 4;
#pragma omp parallel for schedule(static) if ((size_t)N * C * HW > 65536)
    for (int n = 0; n < N; n++)
        to_nhwc_one((char *)dst + (size_t)n * C * HW * es, src + (size_t)n * C * HW, C, HW, bf16);
}
static void from_nhwc(float *dst, const float *src, int N, int C, int HW, int add) {
#pragma omp parallel for schedule(static) if ((size_t)N * C * HW > 65536)
    for (int n = 0; n < N; n++)
        from_nhwc_one(dst + (size_t)n * C * HW, src + (size_t)n * C * HW, C, HW, add);
}

static void port_free(port *p) {
    if (p->rd) dnnl_primitive_destroy(p->rd);
    if (p->mem && p->mem != p->user) dnnl_memory_destroy(p->mem);
    if (p->user) dnnl_memory_destroy(p->user);
    memset(p, 0, sizeof *p);
}

static void dent_free(dent *e) {
    if (e->fwd) dnnl_primitive_destroy(e->fwd);
    if (e->bwdd) dnnl_primitive_destroy(e->bwdd);
    if (e->bwdw) dnnl_primitive_destroy(e->bwdw);
    port *ps[] = {&e->f_src, &e->f_wei, &e->f_dst, &e->d_ddst, &e->d_wei,
                  &e->d_dsrc, &e->w_src, &e->w_ddst, &e->w_dw, &e->w_db};
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) port_free(ps[i]);
    if (e->f_bias) dnnl_memory_destroy(e->f_bias);
    memset(e, 0, sizeof *e);
}

int mcr_dconv_new(mcr_dconv **out, int bf16) {
    *out = NULL;
    if (bf16 && !mcr_bf16_supported())
        return mcr_err(MCR_EINVAL, "bf16 convolutions: this CPU has neither AVX512-BF16 nor AMX");
    mcr_dconv *x = calloc(1, sizeof *x);
    if (!x) return MCR_NOMEM();
    x->bf16 = bf16;
    if (dnnl_engine_create(&x->eng, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&x->st, x->eng, dnnl_stream_default_flags) != dnnl_success) {
        mcr_dconv_free(x);
        return mcr_err(MCR_EINVAL, "oneDNN: could not create a CPU engine");
    }
    *out = x;
    return MCR_OK;
}

void mcr_dconv_free(mcr_dconv *x) {
    if (!x) return;
    for (int i = 0; i < x->ne; i++) dent_free(&x->e[i]);
    for (int i = 0; i < NSLOT; i++) free(x->slot[i]);
    if (x->st) dnnl_stream_destroy(x->st);
    if (x->eng) dnnl_engine_destroy(x->eng);
    free(x);
}

int mcr_dconv_nprims(const mcr_dconv *x) { return x->ne; }
int mcr_dconv_is_bf16(const mcr_dconv *x) { return x->bf16; }

/* the port between the user's plain f32 tensor `umd` and the primitive's `pmd`; dir 0: user ->
 * primitive; 1: primitive -> user, dst +=; 2: primitive -> user, written */
static int port_init(mcr_dconv *x, port *p, const dnnl_memory_desc_t *umd,
                     const dnnl_memory_desc_t *pmd, int dir, int slot) {
    if (dnnl_memory_create(&p->user, umd, x->eng, DNNL_MEMORY_NONE) != dnnl_success) return 0;
    if (dnnl_memory_desc_equal(umd, pmd) && dir != 1) {
        p->mem = p->user;
        return 1;
    }
    p->slot = slot;
    p->md = *pmd;
    p->dir = dir;
    p->bytes = dnnl_memory_desc_get_size(pmd);
    if (dnnl_memory_create(&p->mem, pmd, x->eng, DNNL_MEMORY_NONE) != dnnl_success) return 0;
    dnnl_memory_desc_t nhwc;
    if (umd->ndims == 4 && (pmd->data_type == dnnl_f32 || pmd->data_type == dnnl_bf16) &&
        dnnl_memory_desc_init_by_tag(&nhwc, 4, umd->dims, pmd->data_type, dnnl_acdb) == dnnl_success &&
        dnnl_memory_desc_equal(&nhwc, pmd)) {
        p->nhwc = 1, p->bf16 = pmd->data_type == dnnl_bf16;
        p->n = (int)umd->dims[0], p->c = (int)umd->dims[1], p->hw = (int)(umd->dims[2] * umd->dims[3]);
        if (x->slotsz[slot] < p->bytes) {
            free(x->slot[slot]);
            x->slot[slot] = malloc(p->bytes);
            x->slotsz[slot] = x->slot[slot] ? p->bytes : 0;
        }
        return x->slot[slot] != NULL && !(p->dir != 0 && p->bf16); /* outputs are f32 */
    }
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    int ok = dnnl_primitive_attr_create(&attr) == dnnl_success;
    if (ok && dir == 1)
        ok = dnnl_post_ops_create(&po) == dnnl_success && dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
    ok = ok && (dir == 0 ? dnnl_reorder_primitive_desc_create(&pd, umd, x->eng, pmd, x->eng, attr)
                         : dnnl_reorder_primitive_desc_create(&pd, pmd, x->eng, umd, x->eng, attr)) == dnnl_success &&
         dnnl_primitive_create(&p->rd, pd) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (ok && x->slotsz[slot] < p->bytes) {
        free(x->slot[slot]);
        x->slot[slot] = malloc(p->bytes);
        x->slotsz[slot] = x->slot[slot] ? p->bytes : 0;
        ok = x->slot[slot] != NULL;
    }
    return ok;
}

/* bind the user's buffer (and the slot) to a port; for inputs run the reorder */
static int port_in(mcr_dconv *x, port *p, const void *data) {
    if (dnnl_memory_set_data_handle(p->user, (void *)data) != dnnl_success) return 0;
    if (p->mem == p->user) return 1;
    if (dnnl_memory_set_data_handle(p->mem, x->slot[p->slot]) != dnnl_success) return 0;
    if (p->nhwc) {
        to_nhwc(x->slot[p->slot], data, p->n, p->c, p->hw, p->bf16);
        return 1;
    }
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->user}, {DNNL_ARG_TO, p->mem}};
    return dnnl_primitive_execute(p->rd, x->st, 2, a) == dnnl_success;
}
static int port_bind(mcr_dconv *x, port *p, void *data) {
    if (dnnl_memory_set_data_handle(p->user, data) != dnnl_success) return 0;
    return p->mem == p->user || dnnl_memory_set_data_handle(p->mem, x->slot[p->slot]) == dnnl_success;
}
static int port_out(mcr_dconv *x, port *p) {
    if (p->mem == p->user) return 1;
    if (p->nhwc) { /* the primitive must have finished */
        if (dnnl_stream_wait(x->st) != dnnl_success) return 0;
        void *u = NULL;
        if (dnnl_memory_get_data_handle(p->user, &u) != dnnl_success) return 0;
        from_nhwc(u, x->slot[p->slot], p->n, p->c, p->hw, p->dir == 1);
        return 1;
    }
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->mem}, {DNNL_ARG_TO, p->user}};
    return dnnl_primitive_execute(p->rd, x->st, 2, a) == dnnl_success;
}

static const dnnl_memory_desc_t *qmd(const_dnnl_primitive_desc_t pd, dnnl_query_t q) {
    return dnnl_primitive_desc_query_md(pd, q, 0);
}

static int make_prim(dnnl_primitive_t *p, const_dnnl_primitive_desc_t pd) {
    return dnnl_primitive_create(p, pd) == dnnl_success;
}

static int dent_init(mcr_dconv *x, dent *e, int N, int C, int H, int W, int OC, int k, int s, int p) {
    int Ho = conv_out_size(H, k, s, p), Wo = conv_out_size(W, k, s, p);
    dnnl_data_type_t lo = x->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_dims_t ds = {N, C, H, W}, dw = {OC, C, k, k}, db = {OC}, dd = {N, OC, Ho, Wo};
    dnnl_dims_t strides = {s, s}, pl = {p, p};
    int prh = (Ho - 1) * s + k - H - p, prw = (Wo - 1) * s + k - W - p;
    dnnl_dims_t pr = {prh < 0 ? 0 : prh, prw < 0 ? 0 : prw};
    dnnl_memory_desc_t u_src, u_wei, u_bias, u_dst, a_src, a_wei, a_dst, a_dsrc, a_dwei, a_ddst;
    int ok = dnnl_memory_desc_init_by_tag(&u_src, 4, ds, dnnl_f32, dnnl_nchw) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&u_wei, 4, dw, dnnl_f32, dnnl_oihw) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&u_bias, 1, db, dnnl_f32, dnnl_x) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&u_dst, 4, dd, dnnl_f32, dnnl_nchw) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&a_src, 4, ds, lo, dnnl_format_tag_any) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&a_wei, 4, dw, lo, dnnl_format_tag_any) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&a_dst, 4, dd, dnnl_f32, dnnl_format_tag_any) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&a_dsrc, 4, ds, dnnl_f32, dnnl_format_tag_any) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&a_dwei, 4, dw, dnnl_f32, dnnl_format_tag_any) == dnnl_success &&
             dnnl_memory_desc_init_by_tag(&a_ddst, 4, dd, lo, dnnl_format_tag_any) == dnnl_success;
    if (!ok) return 0;
    dnnl_convolution_desc_t fd, hd, bd, wd;
    dnnl_primitive_desc_t fpd = NULL, hpd = NULL, bpd = NULL, wpd = NULL;
    ok = dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &a_src,
                                            &a_wei, &u_bias, &a_dst, strides, pl, pr) == dnnl_success &&
         dnnl_primitive_desc_create(&fpd, &fd, NULL, x->eng, NULL) == dnnl_success &&
         /* the hint for the backward primitives: a forward whose output has the gradient's type */
         dnnl_convolution_forward_desc_init(&hd, dnnl_forward_training, dnnl_convolution_direct, &a_src,
                                            &a_wei, &u_bias, &a_ddst, strides, pl, pr) == dnnl_success &&
         dnnl_primitive_desc_create(&hpd, &hd, NULL, x->eng, NULL) == dnnl_success &&
         dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &a_dsrc, &a_wei, &a_ddst,
                                                  strides, pl, pr) == dnnl_success &&
         dnnl_primitive_desc_create(&bpd, &bd, NULL, x->eng, hpd) == dnnl_success &&
         dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &a_src, &a_dwei, &u_bias,
                                                     &a_ddst, strides, pl, pr) == dnnl_success &&
         dnnl_primitive_desc_create(&wpd, &wd, NULL, x->eng, hpd) == dnnl_success;
    ok = ok && make_prim(&e->fwd, fpd) && make_prim(&e->bwdd, bpd) && make_prim(&e->bwdw, wpd) &&
         port_init(x, &e->f_src, &u_src, qmd(fpd, dnnl_query_src_md), 0, S_SRC) &&
         port_init(x, &e->f_wei, &u_wei, qmd(fpd, dnnl_query_weights_md), 0, S_WEI) &&
         port_init(x, &e->f_dst, &u_dst, qmd(fpd, dnnl_query_dst_md), 2, S_DST) &&
         dnnl_memory_create(&e->f_bias, &u_bias, x->eng, DNNL_MEMORY_NONE) == dnnl_success &&
         port_init(x, &e->d_ddst, &u_dst, qmd(bpd, dnnl_query_diff_dst_md), 0, S_DDST) &&
         port_init(x, &e->d_wei, &u_wei, qmd(bpd, dnnl_query_weights_md), 0, S_WEI2) &&
         port_init(x, &e->d_dsrc, &u_src, qmd(bpd, dnnl_query_diff_src_md), 1, S_DSRC) &&
         port_init(x, &e->w_src, &u_src, qmd(wpd, dnnl_query_src_md), 0, S_SRC2) &&
         port_init(x, &e->w_ddst, &u_dst, qmd(wpd, dnnl_query_diff_dst_md), 0, S_DDST2) &&
         port_init(x, &e->w_dw, &u_wei, qmd(wpd, dnnl_query_diff_weights_md), 1, S_DW) &&
         dnnl_memory_create(&e->w_db.user, &u_bias, x->eng, DNNL_MEMORY_NONE) == dnnl_success;
    if (ok && x->slotsz[S_DB] < (size_t)OC * sizeof(float)) { /* db: f32 [OC], added by a loop */
        free(x->slot[S_DB]);
        x->slot[S_DB] = malloc((size_t)OC * sizeof(float));
        x->slotsz[S_DB] = x->slot[S_DB] ? (size_t)OC * sizeof(float) : 0;
        ok = x->slot[S_DB] != NULL;
    }
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (hpd) dnnl_primitive_desc_destroy(hpd);
    if (bpd) dnnl_primitive_desc_destroy(bpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    return ok;
}

static dent *get_ent(mcr_dconv *x, int N, int C, int H, int W, int OC, int k, int s, int p) {
    int key[8] = {N, C, H, W, OC, k, s, p};
    for (int i = 0; i < x->ne; i++)
        if (!memcmp(x->e[i].key, key, sizeof key)) return &x->e[i];
    dent *e;
    if (x->ne < NENT) e = &x->e[x->ne++];
    else {
        e = &x->e[x->next];
        x->next = (x->next + 1) % NENT;
        dent_free(e);
    }
    if (!dent_init(x, e, N, C, H, W, OC, k, s, p)) {
        dent_free(e);
        if (e == &x->e[x->ne - 1]) x->ne--;
        return NULL;
    }
    memcpy(e->key, key, sizeof key);
    return e;
}

static int fail(const char *what, int N, int C, int H, int W, int OC, int k, int s, int p) {
    return mcr_err(MCR_EINVAL, "oneDNN: %s failed for the convolution N %d C %d H %d W %d OC %d k %d "
                               "stride %d pad %d", what, N, C, H, W, OC, k, s, p);
}

/* the input as backward-weights reads it, kept from the forward (NHWC layouts only) */
static int keep_ok(const dent *e) {
    return e->f_src.nhwc && e->w_src.nhwc && dnnl_memory_desc_equal(&e->f_src.md, &e->w_src.md);
}

void mcr_dconv_keep_free(mcr_dconv_keep *k) {
    if (!k) return;
    free(k->p);
    memset(k, 0, sizeof *k);
}

int conv2d_forward_dnnl(mcr_dconv *x, float *out, const float *inp, const float *w, const float *b,
                        int N, int C, int H, int W, int OC, int k, int stride, int pad) {
    return conv2d_forward_dnnl_keep(x, NULL, out, inp, w, b, N, C, H, W, OC, k, stride, pad);
}

int conv2d_forward_dnnl_keep(mcr_dconv *x, mcr_dconv_keep *kp, float *out, const float *inp,
                             const float *w, const float *b, int N, int C, int H, int W, int OC,
                             int k, int stride, int pad) {
    dent *e = get_ent(x, N, C, H, W, OC, k, stride, pad);
    if (!e) return fail("creating the primitives", N, C, H, W, OC, k, stride, pad);
    float *zb = NULL;
    if (!b) { /* no bias: a zero one (the primitive was made with one) */
        if (!(zb = calloc((size_t)OC, sizeof(float)))) return MCR_NOMEM();
        b = zb;
    }
    int ok;
    if (kp) kp->valid = 0;
    if (kp && keep_ok(e)) { /* the input converted into the keep buffer, read from there */
        if (kp->cap < e->f_src.bytes) {
            free(kp->p);
            kp->p = malloc(e->f_src.bytes);
            kp->cap = kp->p ? e->f_src.bytes : 0;
            if (!kp->p) return MCR_NOMEM();
        }
        to_nhwc(kp->p, inp, e->f_src.n, e->f_src.c, e->f_src.hw, e->f_src.bf16);
        ok = dnnl_memory_set_data_handle(e->f_src.user, (void *)inp) == dnnl_success &&
             dnnl_memory_set_data_handle(e->f_src.mem, kp->p) == dnnl_success;
        memcpy(kp->key, e->key, sizeof kp->key);
        kp->valid = ok;
    } else ok = port_in(x, &e->f_src, inp);
    ok = ok && port_in(x, &e->f_wei, w) && port_bind(x, &e->f_dst, out) &&
             dnnl_memory_set_data_handle(e->f_bias, (void *)b) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, e->f_src.mem}, {DNNL_ARG_WEIGHTS, e->f_wei.mem},
                                {DNNL_ARG_BIAS, e->f_bias}, {DNNL_ARG_DST, e->f_dst.mem}};
        ok = dnnl_primitive_execute(e->fwd, x->st, 4, a) == dnnl_success && port_out(x, &e->f_dst) &&
             dnnl_stream_wait(x->st) == dnnl_success;
    }
    free(zb);
    return ok ? MCR_OK : fail("the forward", N, C, H, W, OC, k, stride, pad);
}

int conv2d_backward_dnnl(mcr_dconv *x, float *dinp, float *dw, float *db, const float *dout,
                         const float *inp, const float *w, int N, int C, int H, int W, int OC,
                         int k, int stride, int pad) {
    return conv2d_backward_dnnl_keep(x, NULL, dinp, dw, db, dout, inp, w, N, C, H, W, OC, k, stride, pad);
}

int conv2d_backward_dnnl_keep(mcr_dconv *x, mcr_dconv_keep *kp, float *dinp, float *dw, float *db,
                              const float *dout, const float *inp, const float *w, int N, int C,
                              int H, int W, int OC, int k, int stride, int pad) {
    dent *e = get_ent(x, N, C, H, W, OC, k, stride, pad);
    if (!e) return fail("creating the primitives", N, C, H, W, OC, k, stride, pad);
    int ok = 1;
    if (dinp) {
        ok = port_in(x, &e->d_ddst, dout) && port_in(x, &e->d_wei, w) && port_bind(x, &e->d_dsrc, dinp);
        if (ok) {
            dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, e->d_ddst.mem}, {DNNL_ARG_WEIGHTS, e->d_wei.mem},
                                    {DNNL_ARG_DIFF_SRC, e->d_dsrc.mem}};
            ok = dnnl_primitive_execute(e->bwdd, x->st, 3, a) == dnnl_success && port_out(x, &e->d_dsrc);
        }
    }
    float *dbt = x->slot[S_DB];
    /* dout in the layout backward-data just made: no second reorder */
    int same = dinp && e->w_ddst.mem != e->w_ddst.user && e->d_ddst.mem != e->d_ddst.user &&
               dnnl_memory_desc_equal(&e->w_ddst.md, &e->d_ddst.md);
    if (same) ok = ok && dnnl_memory_set_data_handle(e->w_ddst.mem, x->slot[e->d_ddst.slot]) == dnnl_success;
    else ok = ok && port_in(x, &e->w_ddst, dout);
    if (kp && kp->valid && !memcmp(kp->key, e->key, sizeof kp->key) && keep_ok(e))
        ok = ok && dnnl_memory_set_data_handle(e->w_src.user, (void *)inp) == dnnl_success &&
             dnnl_memory_set_data_handle(e->w_src.mem, kp->p) == dnnl_success;
    else ok = ok && port_in(x, &e->w_src, inp);
    ok = ok && port_bind(x, &e->w_dw, dw) &&
         dnnl_memory_set_data_handle(e->w_db.user, dbt) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, e->w_src.mem}, {DNNL_ARG_DIFF_DST, e->w_ddst.mem},
                                {DNNL_ARG_DIFF_WEIGHTS, e->w_dw.mem}, {DNNL_ARG_DIFF_BIAS, e->w_db.user}};
        ok = dnnl_primitive_execute(e->bwdw, x->st, 4, a) == dnnl_success && port_out(x, &e->w_dw) &&
             dnnl_stream_wait(x->st) == dnnl_success;
    }
    if (ok && db)
        for (int o = 0; o < OC; o++) db[o] += dbt[o];
    return ok ? MCR_OK : fail("the backward", N, C, H, W, OC, k, stride, pad);
}
