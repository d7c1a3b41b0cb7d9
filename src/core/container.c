/* container.c — the checksummed, sectioned file every saved model uses (the tabular model
 * today, the image model next, each with its own magic, version and sections).
 *
 *   offset 0   8 bytes  magic (e.g. "MCRGMODL")
 *          8   u32      format version
 *         12   u32      flags (0)
 *         16   u64      payload length in bytes
 *         24   u32      CRC-32 (zlib) of the payload
 *         28   ...      payload: sections, each  tag[4]  u64 length  payload[length]
 * Integers are stored in the host's byte order (little-endian on every supported host).
 * Writing goes through mcr_afile (temporary file, fsync, rename). Opening checks, in this order,
 * the magic, the header length, the version, the payload length and the checksum; a failure
 * is MCR_ECORRUPT with a message saying which. The put/get helpers never read or write past
 * their buffer: a short read zero-fills, marks the reader bad and the caller refuses the file. */
#include "core/core.h"
#include <errno.h>
#include <zlib.h>

#define HDR 28

/* ------------------------------------------------------------------ writing */
void mcr_put(mcr_wbuf *w, const void *src, size_t n) {
    if (w->oom || n == 0) return;
    if (n > SIZE_MAX / 2 - w->n) {
        w->oom = 1;
        return;
    }
    if (w->n + n > w->cap) {
        size_t nc = w->cap ? w->cap : 4096;
        while (nc < w->n + n) nc *= 2;
        unsigned char *q = realloc(w->p, nc);
        if (!q) {
            w->oom = 1;
            return;
        }
        w->p = q;
        w->cap = nc;
    }
    memcpy(w->p + w->n, src, n);
    w->n += n;
}
void mcr_put_u32(mcr_wbuf *w, uint32_t v) { mcr_put(w, &v, 4); }
void mcr_put_i32(mcr_wbuf *w, int32_t v) { mcr_put(w, &v, 4); }
void mcr_put_u64(mcr_wbuf *w, uint64_t v) { mcr_put(w, &v, 8); }
void mcr_put_f32(mcr_wbuf *w, float v) { mcr_put(w, &v, 4); }
void mcr_put_f64(mcr_wbuf *w, double v) { mcr_put(w, &v, 8); }
void mcr_put_str(mcr_wbuf *w, const char *s) {
    uint32_t n = (uint32_t)strlen(s);
    mcr_put_u32(w, n);
    mcr_put(w, s, n);
}

size_t mcr_put_section(mcr_wbuf *w, const char *tag) {
    mcr_put(w, tag, 4);
    size_t at = w->n;
    mcr_put_u64(w, 0); /* patched by mcr_end_section */
    return at;
}

void mcr_end_section(mcr_wbuf *w, size_t at) {
    if (w->oom) return;
    uint64_t len = w->n - at - 8;
    memcpy(w->p + at, &len, 8);
}

void mcr_wbuf_free(mcr_wbuf *w) {
    free(w->p);
    memset(w, 0, sizeof *w);
}

/* ------------------------------------------------------------------ reading */
int mcr_get(mcr_rbuf *r, void *dst, size_t n) {
    if (r->bad || n > r->n - r->pos) {
        r->bad = 1;
        if (n) memset(dst, 0, n);
        return 0;
    }
    if (n) memcpy(dst, r->p + r->pos, n);
    r->pos += n;
    return 1;
}
uint32_t mcr_get_u32(mcr_rbuf *r) { uint32_t v; mcr_get(r, &v, 4); return v; }
int32_t mcr_get_i32(mcr_rbuf *r) { int32_t v; mcr_get(r, &v, 4); return v; }
uint64_t mcr_get_u64(mcr_rbuf *r) { uint64_t v; mcr_get(r, &v, 8); return v; }
float mcr_get_f32(mcr_rbuf *r) { float v; mcr_get(r, &v, 4); return v; }
double mcr_get_f64(mcr_rbuf *r) { double v; mcr_get(r, &v, 8); return v; }
char *mcr_get_str(mcr_rbuf *r) {
    uint32_t n = mcr_get_u32(r);
    if (r->bad || n > r->n - r->pos) {
        r->bad = 1;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->bad = 1;
        return NULL;
    }
    mcr_get(r, s, n);
    s[n] = 0;
    return s;
}

size_t mcr_rbuf_left(const mcr_rbuf *r) { return r->bad ? 0 : r->n - r->pos; }

int mcr_peek_section(const mcr_rbuf *r, const char *tag) {
    return !r->bad && r->n - r->pos >= 12 && memcmp(r->p + r->pos, tag, 4) == 0;
}

int mcr_get_section(mcr_rbuf *r, const char *tag, mcr_rbuf *sec) {
    memset(sec, 0, sizeof *sec);
    sec->bad = 1;
    if (!mcr_peek_section(r, tag)) return r->bad = 1, 0;
    uint64_t len;
    memcpy(&len, r->p + r->pos + 4, 8);
    if (len > r->n - r->pos - 12) return r->bad = 1, 0;
    sec->p = r->p + r->pos + 12;
    sec->n = (size_t)len;
    sec->pos = 0;
    sec->bad = 0;
    r->pos += 12 + (size_t)len;
    return 1;
}

/* ------------------------------------------------------------------ files */
static uint32_t crc_of(const unsigned char *p, size_t n) {
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) { /* zlib takes uInt lengths */
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, k);
        p += k, n -= k;
    }
    return (uint32_t)c;
}

int mcr_container_write(const char *path, const char *magic, uint32_t version,
                        const mcr_wbuf *payload) {
    if (payload->oom) return MCR_NOMEM();
    unsigned char hdr[HDR];
    uint32_t flags = 0, crc = crc_of(payload->p, payload->n);
    uint64_t len = payload->n;
    memcpy(hdr, magic, 8);
    memcpy(hdr + 8, &version, 4);
    memcpy(hdr + 12, &flags, 4);
    memcpy(hdr + 16, &len, 8);
    memcpy(hdr + 24, &crc, 4);
    mcr_afile a;
    int rc = mcr_afile_open(&a, path);
    if (rc) return rc;
    if (fwrite(hdr, 1, HDR, a.f) != HDR || fwrite(payload->p, 1, payload->n, a.f) != payload->n) {
        mcr_afile_abort(&a);
        return mcr_err(MCR_EIO, "%s: write error", path);
    }
    return mcr_afile_commit(&a);
}

int mcr_container_open(const void *data, size_t n, const char *path, const mcr_container *k,
                       uint32_t *version, mcr_rbuf *payload) {
    const unsigned char *hdr = data;
    memset(payload, 0, sizeof *payload);
    payload->bad = 1;
    if (n < 8 || memcmp(hdr, k->magic, 8) != 0)
        return mcr_err(MCR_ECORRUPT, "%s: not an mcrage %s file (bad magic)", path, k->what);
    if (n < HDR) return mcr_err(MCR_ECORRUPT, "%s: truncated %s file (short header)", path, k->what);
    uint32_t ver, crc;
    uint64_t len;
    memcpy(&ver, hdr + 8, 4);
    memcpy(&len, hdr + 16, 8);
    memcpy(&crc, hdr + 24, 4);
    if (ver < k->oldest && ver > 0)
        return mcr_err(MCR_ECORRUPT,
                       "%s: %s file format version %u was written by an older mcrage; this one "
                       "(%s) reads versions %u to %u: %s",
                       path, k->what, ver, MCR_VERSION, k->oldest, k->version, k->remedy);
    if (ver > k->version || ver == 0)
        return mcr_err(MCR_ECORRUPT,
                       "%s: %s file format version %u; this mcrage (%s) reads versions %u to %u "
                       "(upgrade mcrage, or %s)",
                       path, k->what, ver, MCR_VERSION, k->oldest, k->version, k->remedy);
    if (len > n - HDR)
        return mcr_err(MCR_ECORRUPT, "%s: truncated %s file (%zu of %llu payload bytes)", path,
                       k->what, n - HDR, (unsigned long long)len);
    if (len < n - HDR)
        return mcr_err(MCR_ECORRUPT, "%s: trailing bytes after the %s payload", path, k->what);
    if (crc_of(hdr + HDR, (size_t)len) != crc)
        return mcr_err(MCR_ECORRUPT, "%s: checksum mismatch: the %s file is damaged", path, k->what);
    *version = ver;
    payload->p = hdr + HDR;
    payload->n = (size_t)len;
    payload->pos = 0;
    payload->bad = 0;
    return MCR_OK;
}

int mcr_file_read(const char *path, unsigned char **data, size_t *n) {
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return mcr_err(MCR_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return MCR_NOMEM();
        }
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap || cap > ((size_t)1 << 40)) break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb) free(buf);
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return mcr_err(MCR_EIO, "%s: read error", path);
    }
    *data = buf;
    *n = len;
    return MCR_OK;
}
