/* util.c — comparators, the largest-remainder split and the monotonic clock shared by every
 * module. */
#include "core/core.h"
#include <math.h>
#include <time.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static void *huge_hint(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
    if (p && n >= ((size_t)4 << 20)) {
        static long pg;
        if (!pg) pg = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
        uintptr_t a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
        uintptr_t e = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
        if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE); /* a hint: failure is harmless */
    }
#endif
    return p;
}

void *mcr_malloc_big(size_t n) { return huge_hint(malloc(n ? n : 1), n); }
void *mcr_realloc_big(void *p, size_t n) { return huge_hint(realloc(p, n ? n : 1), n); }

double mcr_select_double(double *a, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (hi > lo) {
        if (hi - lo < 16) { /* insertion sort of the last few */
            for (size_t i = lo + 1; i <= hi; i++) {
                double v = a[i];
                size_t j = i;
                while (j > lo && a[j - 1] > v) a[j] = a[j - 1], j--;
                a[j] = v;
            }
            break;
        }
        size_t mid = lo + (hi - lo) / 2; /* median of three as the pivot */
        double x = a[lo], y = a[mid], z = a[hi];
        double piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = lo, j = hi;
        while (i <= j) { /* Hoare partition: a[lo..j] <= piv <= a[i..hi] */
            while (a[i] < piv) i++;
            while (a[j] > piv) j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j], a[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return a[k]; /* between the parts: equal to the pivot */
    }
    return a[k];
}

void mcr_apportion(size_t total, const double *w, int n, size_t *out) {
    double s = 0, stack[64];
    for (int i = 0; i < n; i++) s += w[i];
    double *rem = n <= 64 ? stack : malloc((size_t)n * sizeof(double));
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        double x = s > 0 ? total * w[i] / s : 0;
        out[i] = (size_t)floor(x);
        if (rem) rem[i] = x - floor(x);
        used += out[i];
    }
    while (used < total && s > 0) { /* (without memory for the remainders: the first index) */
        int b = 0;
        for (int i = 1; rem && i < n; i++)
            if (rem[i] > rem[b]) b = i;
        out[b]++, used++;
        if (rem) rem[b] = -1;
    }
    if (rem != stack) free(rem);
}

int mcr_cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int mcr_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int mcr_cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

double mcr_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* LSD radix sort of doubles on their bit patterns mapped to unsigned order (sign bit flipped
 * for positives, all bits for negatives): 8 passes of 8 bits, O(n), passes over a byte that is
 * the same in every key skipped. Ties keep no particular order (they are equal values). */
static uint64_t dkey(double v) {
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return (u >> 63) ? ~u : u | 0x8000000000000000ull;
}
static double dval(uint64_t k) {
    uint64_t u = (k >> 63) ? k & ~0x8000000000000000ull : ~k;
    double v;
    memcpy(&v, &u, sizeof v);
    return v;
}

void mcr_sort_doubles(double *a, size_t n) {
    if (n < 256) {
        for (size_t i = 1; i < n; i++) { /* insertion sort */
            double v = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1] > v) a[j] = a[j - 1], j--;
            a[j] = v;
        }
        return;
    }
    uint64_t *k = malloc(n * sizeof(uint64_t)), *tmp = malloc(n * sizeof(uint64_t));
    if (!k || !tmp) { /* no memory for the fast path: the library sort */
        free(k), free(tmp);
        qsort(a, n, sizeof(double), mcr_cmp_double);
        return;
    }
    size_t count[8][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = k[i] = dkey(a[i]);
        for (int b = 0; b < 8; b++) count[b][(x >> (8 * b)) & 255]++;
    }
    uint64_t *src = k, *dst = tmp;
    for (int b = 0; b < 8; b++) {
        size_t *c = count[b], sum = 0;
        if (c[(src[0] >> (8 * b)) & 255] == n) continue; /* one value of this byte: nothing moves */
        for (int v = 0; v < 256; v++) {
            size_t t = c[v];
            c[v] = sum;
            sum += t;
        }
        for (size_t i = 0; i < n; i++) dst[c[(src[i] >> (8 * b)) & 255]++] = src[i];
        uint64_t *sw = src;
        src = dst, dst = sw;
    }
    for (size_t i = 0; i < n; i++) a[i] = dval(src[i]);
    free(k), free(tmp);
}
