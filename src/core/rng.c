/* rng.c — xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64.
 * mcr_rng_seed(r, seed, stream) gives independent streams for each purpose (data shuffling,
 * noise, dropout, per-thread work) so that results depend only on (seed, stream). */
#include "core/core.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void mcr_rng_seed(mcr_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
    uint64_t mixed = splitmix64(&x);
    x = mixed ^ seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
    r->has_spare = 0;
    r->spare = 0;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mcr_rng_u64(mcr_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mcr_rng_uniform(mcr_rng *r) { return (double)(mcr_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t mcr_rng_below(mcr_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t lim = -n % n; /* 2^64 mod n */
    for (;;) {
        uint64_t x = mcr_rng_u64(r);
        if (x >= lim) return x % n;
    }
}

double mcr_rng_normal(mcr_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * mcr_rng_uniform(r) - 1.0;
        v = 2.0 * mcr_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = sqrt(-2.0 * log(s) / s);
    r->spare = v * m;
    r->has_spare = 1;
    return u * m;
}

void mcr_rng_shuffle(mcr_rng *r, size_t *a, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)mcr_rng_below(r, i), t = a[i - 1];
        a[i - 1] = a[j], a[j] = t;
    }
}
