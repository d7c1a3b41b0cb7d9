/* strmap.c — string -> int map (open addressing, FNV-1a); keys are copied on insert. */
#include "core/core.h"

struct mcr_strmap {
    size_t cap, n;
    char **keys;
    size_t *lens;
    int *vals;
};

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

mcr_strmap *mcr_strmap_new(void) {
    mcr_strmap *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->cap = 64;
    m->keys = calloc(m->cap, sizeof(char *));
    m->lens = calloc(m->cap, sizeof(size_t));
    m->vals = calloc(m->cap, sizeof(int));
    if (!m->keys || !m->lens || !m->vals) {
        mcr_strmap_free(m);
        return NULL;
    }
    return m;
}

void mcr_strmap_free(mcr_strmap *m) {
    if (!m) return;
    if (m->keys)
        for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->lens);
    free(m->vals);
    free(m);
}

int mcr_strmap_get(const mcr_strmap *m, const char *key, size_t len) {
    size_t mask = m->cap - 1, i = fnv1a(key, len) & mask;
    while (m->keys[i]) {
        if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0) return m->vals[i];
        i = (i + 1) & mask;
    }
    return -1;
}

static int strmap_grow(mcr_strmap *m) {
    size_t ncap = m->cap * 2;
    char **k = calloc(ncap, sizeof(char *));
    size_t *l = calloc(ncap, sizeof(size_t));
    int *v = calloc(ncap, sizeof(int));
    if (!k || !l || !v) {
        free(k);
        free(l);
        free(v);
        return MCR_NOMEM();
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = fnv1a(m->keys[i], m->lens[i]) & (ncap - 1);
        while (k[j]) j = (j + 1) & (ncap - 1);
        k[j] = m->keys[i];
        l[j] = m->lens[i];
        v[j] = m->vals[i];
    }
    free(m->keys);
    free(m->lens);
    free(m->vals);
    m->keys = k;
    m->lens = l;
    m->vals = v;
    m->cap = ncap;
    return MCR_OK;
}

int mcr_strmap_put(mcr_strmap *m, const char *key, size_t len, int value) {
    if ((m->n + 1) * 2 > m->cap) {
        int rc = strmap_grow(m);
        if (rc) return rc;
    }
    size_t mask = m->cap - 1, i = fnv1a(key, len) & mask;
    while (m->keys[i]) {
        if (m->lens[i] == len && memcmp(m->keys[i], key, len) == 0) {
            m->vals[i] = value;
            return MCR_OK;
        }
        i = (i + 1) & mask;
    }
    char *k = malloc(len + 1);
    if (!k) return MCR_NOMEM();
    memcpy(k, key, len);
    k[len] = 0;
    m->keys[i] = k;
    m->lens[i] = len;
    m->vals[i] = value;
    m->n++;
    return MCR_OK;
}
