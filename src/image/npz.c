/* npz.c — NumPy .npy arrays and .npz archives, read and written by us over zlib.
 *
 * An .npz is a ZIP archive of .npy members (np.savez: stored; np.savez_compressed: deflated).
 * We read it from the end: the end-of-central-directory record (and, when present, the ZIP64
 * locator and ZIP64 end record, which numpy's zipfile writes for large archives), then the
 * central directory (ZIP64 extra field 0x0001 for sizes and offsets of 0xFFFFFFFF), then each
 * member's local header (numpy writes ZIP64 extras there even for small members, which we skip
 * by its length: the central directory's sizes are the ones used). A member is stored or raw
 * deflate (inflateInit2 with -MAX_WBITS); its CRC-32 is checked, and a deflated member may not
 * claim more than deflate's maximum ratio, so a hostile file cannot make us allocate more than
 * about a thousand times its size.
 *
 * An .npy is "\x93NUMPY", version (1.0: u16 header length; 2.0/3.0: u32), a Python dict literal
 * {'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and '\n',
 * then the data in C order.
 *
 * The image set of the MedMNIST layout (train_images, train_labels, val_*, test_*) is put
 * together here; the writer stores members (no compression) with a plain ZIP header. */
#include "image/image.h"
#include <ctype.h>
#include <limits.h>
#include <zlib.h>

/* ------------------------------------------------------------------ little-endian fields */
static uint32_t rd16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t rd64(const unsigned char *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint32_t crc_of(const unsigned char *p, size_t n) {
    return (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), p, n);
}

/* ------------------------------------------------------------------ ZIP reading */
#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u

void mcr_zip_close(mcr_zip *z) {
    if (!z) return;
    for (int i = 0; i < z->nent; i++) free(z->ent[i].name);
    free(z->ent);
    z->ent = NULL;
    z->nent = 0;
}

int mcr_zip_open(const unsigned char *p, size_t n, const char *path, mcr_zip *z) {
    memset(z, 0, sizeof *z);
    z->p = p, z->n = n, z->path = path;
    if (n < 22) return mcr_err(MCR_EPARSE, "%s: not a ZIP/.npz archive (%zu bytes, too short)", path, n);
    /* the end record: 22 bytes plus a comment of up to 65535 bytes */
    size_t e = n - 22, stop = n - 22 > 65535 ? n - 22 - 65535 : 0;
    for (;; e--) {
        if (rd32(p + e) == SIG_EOCD && e + 22 + rd16(p + e + 20) == n) break;
        if (e == stop) return mcr_err(MCR_EPARSE, "%s: not a ZIP/.npz archive (no end of central directory)", path);
    }
    if (rd16(p + e + 4) != 0 || rd16(p + e + 6) != 0)
        return mcr_err(MCR_EPARSE, "%s: multi-disk ZIP archives are not supported", path);
    uint64_t count = rd16(p + e + 10), cdsize = rd32(p + e + 12), cdoff = rd32(p + e + 16);
    size_t cdend = e; /* the central directory ends where the next record begins */
    if (e >= 20 && rd32(p + e - 20) == SIG_LOC64) {
        uint64_t o = rd64(p + e - 20 + 8);
        if (o > e - 20 || e - 20 - o < 56 || rd32(p + o) != SIG_EOCD64)
            return mcr_err(MCR_EPARSE, "%s: damaged ZIP64 end of central directory", path);
        count = rd64(p + o + 32), cdsize = rd64(p + o + 40), cdoff = rd64(p + o + 48);
        cdend = (size_t)o;
    } else if (count == 0xFFFF || cdsize == 0xFFFFFFFFu || cdoff == 0xFFFFFFFFu) {
        return mcr_err(MCR_EPARSE, "%s: ZIP64 sizes without a ZIP64 end record (truncated?)", path);
    }
    if (cdoff > cdend || cdsize > cdend - cdoff)
        return mcr_err(MCR_EPARSE, "%s: central directory outside the file (truncated?)", path);
    if (count > cdsize / 46) return mcr_err(MCR_EPARSE, "%s: damaged central directory (%llu entries in %llu bytes)",
                                            path, (unsigned long long)count, (unsigned long long)cdsize);
    z->ent = mcr_xcalloc((size_t)count, sizeof *z->ent);
    if (!z->ent) return MCR_NOMEM();
    const unsigned char *q = p + cdoff, *qend = p + cdoff + cdsize;
    for (uint64_t k = 0; k < count; k++) {
        if (qend - q < 46 || rd32(q) != SIG_CENTRAL) {
            mcr_zip_close(z);
            return mcr_err(MCR_EPARSE, "%s: damaged central directory entry %llu", path, (unsigned long long)k);
        }
        mcr_zipent *t = &z->ent[z->nent];
        uint32_t flags = rd16(q + 8), nl = rd16(q + 28), xl = rd16(q + 30), cl = rd16(q + 32);
        t->method = (int)rd16(q + 10);
        t->crc = rd32(q + 16);
        t->csize = rd32(q + 20), t->usize = rd32(q + 24), t->offset = rd32(q + 42);
        if ((size_t)(qend - q) < 46 + (size_t)nl + xl + cl) {
            mcr_zip_close(z);
            return mcr_err(MCR_EPARSE, "%s: damaged central directory entry %llu", path, (unsigned long long)k);
        }
        /* ZIP64 extra: the fields that were 0xFFFFFFFF, in the order usize, csize, offset */
        const unsigned char *x = q + 46 + nl, *xend = x + xl;
        while (xend - x >= 4) {
            uint32_t id = rd16(x), len = rd16(x + 2);
            if ((size_t)(xend - x - 4) < len) break;
            if (id == 0x0001) {
                const unsigned char *f = x + 4, *fend = x + 4 + len;
                uint64_t *fields[3] = {&t->usize, &t->csize, &t->offset};
                for (int j = 0; j < 3; j++) {
                    if (*fields[j] != 0xFFFFFFFFu) continue;
                    if (fend - f < 8) {
                        mcr_zip_close(z);
                        return mcr_err(MCR_EPARSE, "%s: damaged ZIP64 extra field of entry %llu", path,
                                       (unsigned long long)k);
                    }
                    *fields[j] = rd64(f);
                    f += 8;
                }
            }
            x += 4 + len;
        }
        t->name = malloc((size_t)nl + 1);
        if (!t->name) {
            mcr_zip_close(z);
            return MCR_NOMEM();
        }
        memcpy(t->name, q + 46, nl);
        t->name[nl] = 0;
        z->nent++;
        if (flags & 1) {
            int rc = mcr_err(MCR_EPARSE, "%s: member '%s' is encrypted", path, t->name);
            mcr_zip_close(z);
            return rc;
        }
        q += 46 + nl + xl + cl;
    }
    /* every member's local header where the directory says, with the same name: a damaged
     * name in either place would otherwise make a member silently absent */
    for (int i = 0; i < z->nent; i++) {
        const mcr_zipent *t = &z->ent[i];
        size_t nl = strlen(t->name);
        if (t->offset > n || n - t->offset < 30 + nl || rd32(p + t->offset) != SIG_LOCAL ||
            rd16(p + t->offset + 26) != nl || memcmp(p + t->offset + 30, t->name, nl)) {
            int rc = mcr_err(MCR_EPARSE, "%s: member '%s': local header missing or different (damaged)", path, t->name);
            mcr_zip_close(z);
            return rc;
        }
    }
    return MCR_OK;
}

int mcr_zip_find(const mcr_zip *z, const char *name) {
    for (int i = 0; i < z->nent; i++)
        if (!strcmp(z->ent[i].name, name)) return i;
    return -1;
}

int mcr_zip_read(const mcr_zip *z, int i, unsigned char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    const mcr_zipent *t = &z->ent[i];
    const char *path = z->path;
    uint64_t o = t->offset;
    if (o > z->n || z->n - o < 30 || rd32(z->p + o) != SIG_LOCAL)
        return mcr_err(MCR_EPARSE, "%s: member '%s': local header missing (damaged or truncated)", path, t->name);
    uint32_t nl = rd16(z->p + o + 26), xl = rd16(z->p + o + 28);
    if (z->n - o - 30 < (uint64_t)nl + xl || nl != strlen(t->name) || memcmp(z->p + o + 30, t->name, nl))
        return mcr_err(MCR_EPARSE, "%s: member '%s': local header does not match the directory", path, t->name);
    uint64_t start = o + 30 + nl + xl;
    if (t->csize > z->n - start)
        return mcr_err(MCR_EPARSE, "%s: member '%s' runs past the end of the file (truncated?)", path, t->name);
    const unsigned char *src = z->p + start;
    if (t->method == 0) {
        if (t->usize != t->csize)
            return mcr_err(MCR_EPARSE, "%s: member '%s': stored sizes differ", path, t->name);
    } else if (t->method == 8) {
        /* deflate never expands more than 1032:1 */
        if (t->usize / 1032 > t->csize + 1)
            return mcr_err(MCR_EPARSE, "%s: member '%s': impossible sizes (%llu from %llu bytes)", path, t->name,
                           (unsigned long long)t->usize, (unsigned long long)t->csize);
    } else {
        return mcr_err(MCR_EPARSE, "%s: member '%s': compression method %d not supported (stored or deflate)", path,
                       t->name, t->method);
    }
    if (t->usize > SIZE_MAX - 1) return MCR_NOMEM();
    unsigned char *out = malloc((size_t)t->usize + 1);
    if (!out) return MCR_NOMEM();
    if (t->method == 0) {
        memcpy(out, src, (size_t)t->usize);
    } else {
        z_stream s;
        memset(&s, 0, sizeof s);
        if (inflateInit2(&s, -MAX_WBITS) != Z_OK) return free(out), MCR_NOMEM();
        size_t inleft = (size_t)t->csize, outleft = (size_t)t->usize + 1; /* +1: detect overlong */
        s.next_in = (unsigned char *)src;
        s.next_out = out;
        int zr;
        for (;;) {
            if (!s.avail_in && inleft) {
                s.avail_in = inleft > UINT_MAX ? UINT_MAX : (uInt)inleft;
                inleft -= s.avail_in;
            }
            if (!s.avail_out && outleft) {
                s.avail_out = outleft > UINT_MAX ? UINT_MAX : (uInt)outleft;
                outleft -= s.avail_out;
            }
            uLong in0 = s.total_in, out0 = s.total_out;
            zr = inflate(&s, Z_NO_FLUSH);
            /* Z_BUF_ERROR after progress: a chunk ran out, refill; without progress: the input
             * ended early or the output is full */
            if (zr == Z_BUF_ERROR && (s.total_in != in0 || s.total_out != out0)) zr = Z_OK;
            if (zr != Z_OK) break;
        }
        uint64_t got = s.total_out;
        inflateEnd(&s);
        if (zr != Z_STREAM_END || got != t->usize) {
            free(out);
            return mcr_err(MCR_EPARSE, "%s: member '%s': damaged deflate data (%s)", path, t->name,
                           zr == Z_STREAM_END ? "wrong length" : zr == Z_DATA_ERROR ? "invalid stream" : "truncated");
        }
    }
    uint32_t crc = crc_of(out, (size_t)t->usize);
    if (crc != t->crc) {
        free(out);
        return mcr_err(MCR_EPARSE, "%s: member '%s': CRC-32 mismatch (%08x, directory says %08x): the file is damaged",
                       path, t->name, crc, t->crc);
    }
    *data = out;
    *len = (size_t)t->usize;
    return MCR_OK;
}

/* ------------------------------------------------------------------ .npy */
void mcr_npy_free(mcr_npy *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int64_t mcr_npy_int(const mcr_npy *a, size_t i) {
    const unsigned char *p = a->data + i * (size_t)a->size;
    uint64_t v = 0;
    for (int k = 0; k < a->size; k++) v |= (uint64_t)p[a->big ? a->size - 1 - k : k] << (8 * k);
    if (a->kind == 'i' && a->size < 8 && (v >> (8 * a->size - 1)) & 1) v |= ~(uint64_t)0 << (8 * a->size);
    return (int64_t)v;
}

/* the header dict: a tiny parser of the literal numpy writes (keys in any order) */
typedef struct {
    const char *s, *e;
} hcur;
static void hskip(hcur *c) {
    while (c->s < c->e && (*c->s == ' ' || *c->s == '\t' || *c->s == '\n' || *c->s == '\r')) c->s++;
}
static int hchar(hcur *c, char ch) {
    hskip(c);
    if (c->s < c->e && *c->s == ch) return c->s++, 1;
    return 0;
}
/* a quoted string into buf (at most cap-1 chars); 0 on error */
static int hstr(hcur *c, char *buf, size_t cap) {
    hskip(c);
    if (c->s >= c->e || (*c->s != '\'' && *c->s != '"')) return 0;
    char q = *c->s++;
    size_t k = 0;
    while (c->s < c->e && *c->s != q) {
        if (k + 1 >= cap || *c->s == '\\') return 0;
        buf[k++] = *c->s++;
    }
    if (c->s >= c->e) return 0;
    c->s++;
    buf[k] = 0;
    return 1;
}

int mcr_npy_parse(const unsigned char *p, size_t n, const char *what, mcr_npy *a) {
    memset(a, 0, sizeof *a);
    if (n < 10 || memcmp(p, "\x93NUMPY", 6))
        return mcr_err(MCR_EPARSE, "%s: not a NumPy .npy array (no \\x93NUMPY magic)", what);
    int major = p[6];
    size_t hlen, hstart;
    if (major == 1) hlen = rd16(p + 8), hstart = 10;
    else if ((major == 2 || major == 3) && n >= 12) hlen = rd32(p + 8), hstart = 12;
    else return mcr_err(MCR_EPARSE, "%s: .npy format version %d.%d not supported", what, major, p[7]);
    if (hlen > n - hstart) return mcr_err(MCR_EPARSE, "%s: .npy header runs past the end (truncated?)", what);
    hcur c = {(const char *)p + hstart, (const char *)p + hstart + hlen};
    char key[32], descr[32] = "";
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    if (!hchar(&c, '{')) goto bad;
    while (!hchar(&c, '}')) {
        if (!hstr(&c, key, sizeof key) || !hchar(&c, ':')) goto bad;
        if (!strcmp(key, "descr")) {
            if (!hstr(&c, descr, sizeof descr)) {
                hskip(&c);
                if (c.s < c.e && *c.s == '[')
                    return mcr_err(MCR_EPARSE, "%s: structured dtypes are not supported", what);
                goto bad;
            }
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            hskip(&c);
            if (c.e - c.s >= 4 && !memcmp(c.s, "True", 4)) fortran = 1, c.s += 4;
            else if (c.e - c.s >= 5 && !memcmp(c.s, "False", 5)) c.s += 5;
            else goto bad;
            have_order = 1;
        } else if (!strcmp(key, "shape")) {
            if (!hchar(&c, '(')) goto bad;
            a->ndim = 0;
            while (!hchar(&c, ')')) {
                hskip(&c);
                if (c.s >= c.e || !isdigit((unsigned char)*c.s) || a->ndim == 8) goto bad;
                int64_t v = 0;
                while (c.s < c.e && isdigit((unsigned char)*c.s)) {
                    if (v > ((int64_t)1 << 40)) goto bad;
                    v = v * 10 + (*c.s++ - '0');
                }
                a->shape[a->ndim++] = v;
                if (!hchar(&c, ',') && (hskip(&c), c.s >= c.e || *c.s != ')')) goto bad;
            }
            have_shape = 1;
        } else {
            goto bad;
        }
        if (!hchar(&c, ',') && (hskip(&c), c.s >= c.e || *c.s != '}')) goto bad;
    }
    if (!have_descr || !have_order || !have_shape) goto bad;
    if (fortran) return mcr_err(MCR_EPARSE, "%s: Fortran-order arrays are not supported (save with C order)", what);
    /* descr: byte order, kind, size */
    {
        const char *d = descr;
        if (*d == '<' || *d == '|' || *d == '=') d++;
        else if (*d == '>') a->big = 1, d++;
        a->kind = *d ? *d++ : 0;
        char *end;
        long sz = strtol(d, &end, 10);
        if (*end || end == d || !strchr("uibS", a->kind) || sz < 1 ||
            (a->kind != 'S' && sz != 1 && sz != 2 && sz != 4 && sz != 8) || (a->kind == 'b' && sz != 1) || sz > 4096)
            return mcr_err(MCR_EPARSE, "%s: dtype '%s' not supported (integer, uint8, bool or bytes)", what, descr);
        a->size = (int)sz;
    }
    size_t count = 1;
    for (int k = 0; k < a->ndim; k++) {
        if (a->shape[k] && count > SIZE_MAX / 8192 / (size_t)a->shape[k])
            return mcr_err(MCR_EPARSE, "%s: shape too large", what);
        count *= (size_t)a->shape[k];
    }
    a->count = count;
    size_t bytes = count * (size_t)a->size;
    if (n - hstart - hlen != bytes)
        return mcr_err(MCR_EPARSE, "%s: data is %zu bytes, shape and dtype '%s' need %zu (truncated or damaged)", what,
                       n - hstart - hlen, descr, bytes);
    a->data = malloc(bytes ? bytes : 1);
    if (!a->data) return MCR_NOMEM();
    memcpy(a->data, p + hstart + hlen, bytes);
    return MCR_OK;
bad:
    return mcr_err(MCR_EPARSE, "%s: malformed .npy header", what);
}

/* ------------------------------------------------------------------ MedMNIST layout */
static const struct {
    const char *name;
    char code;
} g_splits[] = {{"train", MCR_SPLIT_TRAIN}, {"val", MCR_SPLIT_VAL}, {"test", MCR_SPLIT_TEST}};

/* member `name` (with ".npy" appended as np.savez does; the bare name also accepted) as an
 * array; *found = 0 when absent */
static int zip_array(const mcr_zip *z, const char *name, mcr_npy *a, int *found) {
    char buf[128], what[4200];
    memset(a, 0, sizeof *a);
    snprintf(buf, sizeof buf, "%s.npy", name);
    int i = mcr_zip_find(z, buf);
    if (i < 0) i = mcr_zip_find(z, name);
    *found = i >= 0;
    if (i < 0) return MCR_OK;
    unsigned char *d;
    size_t n;
    int rc = mcr_zip_read(z, i, &d, &n);
    if (rc) return rc;
    snprintf(what, sizeof what, "%s: member '%s'", z->path, z->ent[i].name);
    rc = mcr_npy_parse(d, n, what, a);
    free(d);
    return rc;
}

/* level names from a 1-D bytes array */
static int names_from(mcr_imageset *s, int which, const mcr_npy *a, const char *what) {
    if (a->kind != 'S' || a->ndim != 1 || a->shape[0] > 100000)
        return mcr_err(MCR_EPARSE, "%s: expected a 1-D array of byte strings", what);
    char buf[4097];
    mcr_strmap *seen = mcr_strmap_new();
    if (!seen) return MCR_NOMEM();
    int rc = MCR_OK;
    for (size_t k = 0; k < a->count && !rc; k++) {
        size_t len = 0;
        const char *src = (const char *)a->data + k * (size_t)a->size;
        while (len < (size_t)a->size && src[len]) len++;
        memcpy(buf, src, len);
        buf[len] = 0;
        if (mcr_strmap_get(seen, buf, len) >= 0) rc = mcr_err(MCR_EPARSE, "%s: name '%s' appears twice", what, buf);
        else if (mcr_strmap_put(seen, buf, len, (int)k) < 0) rc = MCR_NOMEM();
        else if ((rc = mcr_imageset_add_level(s, which, buf)) >= 0) rc = MCR_OK;
    }
    mcr_strmap_free(seen);
    return rc;
}

/* labels / attributes of one split: (N,) or (N,1) integers, negative = none */
static int codes_from(const mcr_npy *a, int64_t N, const char *what, int *dst, int64_t *maxv) {
    if (a->kind == 'S') return mcr_err(MCR_EPARSE, "%s: expected integers, found byte strings", what);
    if (!(a->ndim == 1 || (a->ndim == 2 && a->shape[1] == 1))) {
        if (a->ndim == 2)
            return mcr_err(MCR_EPARSE, "%s: %lld columns (multi-label); one label per image is supported", what,
                           (long long)a->shape[1]);
        return mcr_err(MCR_EPARSE, "%s: expected shape (N,) or (N, 1), found %d dimensions", what, a->ndim);
    }
    if (a->shape[0] != N)
        return mcr_err(MCR_EPARSE, "%s: %lld rows for %lld images", what, (long long)a->shape[0], (long long)N);
    for (int64_t i = 0; i < N; i++) {
        int64_t v = mcr_npy_int(a, (size_t)i);
        if (a->kind == 'u' && v < 0) v = INT64_MAX; /* a huge unsigned value */
        if (v >= 100000)
            return mcr_err(MCR_EPARSE, "%s: value %lld at row %lld is not a class code (expected 0 .. 99999, "
                           "negative = none)", what, (long long)v, (long long)i);
        dst[i] = v < 0 ? -1 : (int)v;
        if (v > *maxv) *maxv = v;
    }
    return MCR_OK;
}

static int imageset_from_zip(const mcr_zip *z, mcr_imageset **out) {
    *out = NULL;
    mcr_npy img[3], lab[3], att[3], names[2];
    int has_img[3] = {0}, has_lab[3] = {0}, has_att[3] = {0}, has_names[2] = {0};
    memset(img, 0, sizeof img), memset(lab, 0, sizeof lab), memset(att, 0, sizeof att), memset(names, 0, sizeof names);
    mcr_imageset *s = NULL;
    int rc = MCR_OK, first = -1;
    int64_t N = 0, H = 0, W = 0, C = 0;
    char what[4200], nm[64];
    for (int k = 0; k < 3 && !rc; k++) {
        snprintf(nm, sizeof nm, "%s_images", g_splits[k].name);
        if ((rc = zip_array(z, nm, &img[k], &has_img[k])) || !has_img[k]) continue;
        snprintf(what, sizeof what, "%s: %s", z->path, nm);
        mcr_npy *a = &img[k];
        if (a->kind != 'u' || a->size != 1) {
            rc = mcr_err(MCR_EPARSE, "%s: images must be uint8 (found %c%d)", what, a->kind, a->size);
            break;
        }
        int64_t c = a->ndim == 3 ? 1 : a->ndim == 4 ? a->shape[3] : 0;
        if (c != 1 && c != 3) {
            rc = mcr_err(MCR_EPARSE, "%s: expected shape (N, H, W) or (N, H, W, 1|3), found %d dimensions%s", what,
                         a->ndim, a->ndim == 4 ? " with another channel count" : "");
            break;
        }
        if (a->shape[1] < 1 || a->shape[2] < 1 || a->shape[1] > 16384 || a->shape[2] > 16384) {
            rc = mcr_err(MCR_EPARSE, "%s: image size %lldx%lld out of range (1 .. 16384)", what,
                         (long long)a->shape[1], (long long)a->shape[2]);
            break;
        }
        if (first < 0) {
            first = k, H = a->shape[1], W = a->shape[2], C = c;
        } else if (a->shape[1] != H || a->shape[2] != W || c != C) {
            rc = mcr_err(MCR_EPARSE, "%s: %s_images are %lldx%lldx%lld but %s_images are %lldx%lldx%lld", z->path,
                         g_splits[first].name, (long long)H, (long long)W, (long long)C, g_splits[k].name,
                         (long long)a->shape[1], (long long)a->shape[2], (long long)c);
            break;
        }
        N += a->shape[0];
        snprintf(nm, sizeof nm, "%s_labels", g_splits[k].name);
        if ((rc = zip_array(z, nm, &lab[k], &has_lab[k]))) break;
        snprintf(nm, sizeof nm, "%s_attributes", g_splits[k].name);
        if ((rc = zip_array(z, nm, &att[k], &has_att[k]))) break;
    }
    if (!rc && first < 0) {
        char list[1024] = "";
        for (int i = 0; i < z->nent && strlen(list) < 900; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", z->ent[i].name);
        rc = mcr_err(MCR_EPARSE, "%s: no train_images, val_images or test_images member (found: %s)", z->path,
                     z->nent ? list : "none");
    }
    if (!rc && N > INT_MAX / 2) rc = mcr_err(MCR_EPARSE, "%s: too many images (%lld)", z->path, (long long)N);
    if (!rc) rc = zip_array(z, "label_names", &names[0], &has_names[0]);
    if (!rc) rc = zip_array(z, "attribute_names", &names[1], &has_names[1]);
    if (!rc) rc = mcr_imageset_alloc((int)N, (int)H, (int)W, (int)C, &s);
    if (rc) goto done;
    s->source = mcr_strdup(z->path);
    if (!s->source) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int w = 0; w < 2 && !rc; w++)
        if (has_names[w]) {
            snprintf(what, sizeof what, "%s: %s", z->path, w ? "attribute_names" : "label_names");
            rc = names_from(s, w, &names[w], what);
        }
    int64_t maxv[2] = {-1, -1};
    size_t at = 0, plane = (size_t)H * (size_t)W * (size_t)C;
    for (int k = 0; k < 3 && !rc; k++) {
        if (!has_img[k]) continue;
        int64_t n = img[k].shape[0];
        memcpy(s->pix + at * plane, img[k].data, (size_t)n * plane);
        memset(s->split + at, g_splits[k].code, (size_t)n);
        if (has_lab[k]) {
            snprintf(what, sizeof what, "%s: %s_labels", z->path, g_splits[k].name);
            rc = codes_from(&lab[k], n, what, s->label + at, &maxv[0]);
        }
        if (!rc && has_att[k]) {
            snprintf(what, sizeof what, "%s: %s_attributes", z->path, g_splits[k].name);
            rc = codes_from(&att[k], n, what, s->attr + at, &maxv[1]);
        }
        at += (size_t)n;
    }
    /* levels: the names written beside the codes, else "0" .. max code */
    for (int w = 0; w < 2 && !rc; w++) {
        int have = w ? s->nattrs : s->nlabels;
        if (has_names[w]) {
            if (maxv[w] >= have)
                rc = mcr_err(MCR_EPARSE, "%s: %s code %lld but only %d names", z->path, w ? "attribute" : "label",
                             (long long)maxv[w], have);
            continue;
        }
        for (int64_t v = 0; v <= maxv[w] && !rc; v++) {
            char b[24];
            snprintf(b, sizeof b, "%lld", (long long)v);
            int r = mcr_imageset_add_level(s, w, b);
            if (r < 0) rc = r;
        }
    }
done:
    for (int k = 0; k < 3; k++) mcr_npy_free(&img[k]), mcr_npy_free(&lab[k]), mcr_npy_free(&att[k]);
    mcr_npy_free(&names[0]), mcr_npy_free(&names[1]);
    if (rc) {
        mcr_imageset_free(s);
        return rc;
    }
    *out = s;
    return MCR_OK;
}

/* a lone .npy of images (N, H, W[, C]): unlabelled training images */
static int imageset_from_npy(const unsigned char *p, size_t n, const char *name, mcr_imageset **out) {
    mcr_npy a;
    int rc = mcr_npy_parse(p, n, name, &a);
    if (rc) return rc;
    int64_t c = a.ndim == 3 ? 1 : a.ndim == 4 ? a.shape[3] : 0;
    if (a.kind != 'u' || a.size != 1 || (c != 1 && c != 3) || a.shape[1] < 1 || a.shape[2] < 1 ||
        a.shape[1] > 16384 || a.shape[2] > 16384 || a.shape[0] > INT_MAX / 2) {
        mcr_npy_free(&a);
        return mcr_err(MCR_EPARSE, "%s: expected uint8 images of shape (N, H, W) or (N, H, W, 1|3)", name);
    }
    rc = mcr_imageset_alloc((int)a.shape[0], (int)a.shape[1], (int)a.shape[2], (int)c, out);
    if (!rc) {
        memcpy((*out)->pix, a.data, a.count);
        (*out)->source = mcr_strdup(name);
        if (!(*out)->source) rc = MCR_NOMEM();
    }
    mcr_npy_free(&a);
    if (rc) mcr_imageset_free(*out), *out = NULL;
    return rc;
}

int mcr_imageset_read_npz_mem(const void *data, size_t len, const char *name, mcr_imageset **out) {
    *out = NULL;
    if (!name) name = "<memory>";
    const unsigned char *p = data;
    if (len >= 6 && !memcmp(p, "\x93NUMPY", 6)) return imageset_from_npy(p, len, name, out);
    mcr_zip z;
    int rc = mcr_zip_open(p, len, name, &z);
    if (rc) return rc;
    rc = imageset_from_zip(&z, out);
    mcr_zip_close(&z);
    return rc;
}

/* ------------------------------------------------------------------ writing */
static void put16(mcr_wbuf *w, uint32_t v) {
    unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    mcr_put(w, b, 2);
}
static void put32(mcr_wbuf *w, uint32_t v) {
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    mcr_put(w, b, 4);
}

void mcr_npzw_free(mcr_npzw *w) {
    mcr_wbuf_free(&w->buf);
    mcr_wbuf_free(&w->cdir);
    memset(w, 0, sizeof *w);
}

int mcr_npzw_add(mcr_npzw *w, const char *name, const char *descr, const int64_t *shape, int ndim,
                 const void *data, size_t nbytes) {
    /* the .npy: v1.0 header, padded with spaces so that data starts at a multiple of 64 */
    char hdr[512];
    int k = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int d = 0; d < ndim; d++) k += snprintf(hdr + k, sizeof hdr - (size_t)k, "%lld,%s", (long long)shape[d],
                                                 d + 1 < ndim ? " " : "");
    if (ndim > 1) k--; /* numpy writes (5,) but (5, 28) */
    k += snprintf(hdr + k, sizeof hdr - (size_t)k, "), }");
    int total = 10 + k + 1;
    int pad = (64 - total % 64) % 64;
    if (total + pad > (int)sizeof hdr) return mcr_err(MCR_EINVAL, "npz: header too long");
    memset(hdr + k, ' ', (size_t)pad);
    hdr[k + pad] = '\n';
    size_t hlen = (size_t)k + (size_t)pad + 1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)hlen, (unsigned char)(hlen >> 8)};
    size_t usize = 10 + hlen + nbytes;
    char fname[160];
    snprintf(fname, sizeof fname, "%s.npy", name);
    size_t nl = strlen(fname);
    if (usize > 0xFFFFFFF0u || w->buf.n > 0xFFFFFFF0u - usize - 30 - nl || w->nent == 0xFFFF)
        return mcr_err(MCR_EINVAL, "npz: archive over 4 GiB (this writer keeps to plain ZIP)");
    uint32_t crc = (uint32_t)crc32_z(0L, Z_NULL, 0);
    crc = (uint32_t)crc32_z(crc, pre, 10);
    crc = (uint32_t)crc32_z(crc, (const unsigned char *)hdr, hlen);
    crc = (uint32_t)crc32_z(crc, data, nbytes);
    uint32_t off = (uint32_t)w->buf.n;
    /* local header: version 2.0, no flags, stored, 1980-01-01 00:00 */
    put32(&w->buf, SIG_LOCAL);
    put16(&w->buf, 20), put16(&w->buf, 0), put16(&w->buf, 0), put16(&w->buf, 0), put16(&w->buf, 0x21);
    put32(&w->buf, crc), put32(&w->buf, (uint32_t)usize), put32(&w->buf, (uint32_t)usize);
    put16(&w->buf, (uint32_t)nl), put16(&w->buf, 0);
    mcr_put(&w->buf, fname, nl);
    mcr_put(&w->buf, pre, 10);
    mcr_put(&w->buf, hdr, hlen);
    mcr_put(&w->buf, data, nbytes);
    /* its central directory entry */
    put32(&w->cdir, SIG_CENTRAL);
    put16(&w->cdir, 20), put16(&w->cdir, 20), put16(&w->cdir, 0), put16(&w->cdir, 0), put16(&w->cdir, 0);
    put16(&w->cdir, 0x21);
    put32(&w->cdir, crc), put32(&w->cdir, (uint32_t)usize), put32(&w->cdir, (uint32_t)usize);
    put16(&w->cdir, (uint32_t)nl), put16(&w->cdir, 0), put16(&w->cdir, 0), put16(&w->cdir, 0), put16(&w->cdir, 0);
    put32(&w->cdir, 0), put32(&w->cdir, off);
    mcr_put(&w->cdir, fname, nl);
    w->nent++;
    return w->buf.oom || w->cdir.oom ? MCR_NOMEM() : MCR_OK;
}

int mcr_npzw_finish(mcr_npzw *w, const char *path) {
    int rc = MCR_OK;
    if (w->buf.n > 0xFFFFFFF0u - w->cdir.n) rc = mcr_err(MCR_EINVAL, "%s: archive over 4 GiB", path);
    if (!rc) {
        uint32_t cdoff = (uint32_t)w->buf.n;
        mcr_put(&w->buf, w->cdir.p, w->cdir.n);
        put32(&w->buf, SIG_EOCD);
        put16(&w->buf, 0), put16(&w->buf, 0), put16(&w->buf, (uint32_t)w->nent), put16(&w->buf, (uint32_t)w->nent);
        put32(&w->buf, (uint32_t)w->cdir.n), put32(&w->buf, cdoff), put16(&w->buf, 0);
        rc = w->buf.oom ? MCR_NOMEM() : mcr_write_file_atomic(path, w->buf.p, w->buf.n);
    }
    mcr_npzw_free(w);
    return rc;
}

/* level names as a 1-D |S array */
static int add_names(mcr_npzw *w, const char *name, char **names, int k) {
    size_t width = 1;
    for (int i = 0; i < k; i++)
        if (strlen(names[i]) > width) width = strlen(names[i]);
    char *buf = mcr_xcalloc((size_t)k ? (size_t)k : 1, width);
    if (!buf) return MCR_NOMEM();
    for (int i = 0; i < k; i++) memcpy(buf + (size_t)i * width, names[i], strlen(names[i]));
    char descr[32];
    snprintf(descr, sizeof descr, "|S%zu", width);
    int64_t shape[1] = {k};
    int rc = mcr_npzw_add(w, name, descr, shape, 1, buf, (size_t)k * width);
    free(buf);
    return rc;
}

MCR_API int mcr_imageset_write_npz(const mcr_imageset *s, const char *path) {
    mcr_npzw w;
    memset(&w, 0, sizeof w);
    int rc = MCR_OK, anyattr = 0;
    for (int i = 0; i < s->n; i++) anyattr |= s->attr[i] >= 0;
    size_t plane = (size_t)s->h * (size_t)s->w * (size_t)s->c;
    uint8_t *pix = NULL;
    int64_t *codes = NULL;
    for (int k = 0; k < 3 && !rc; k++) {
        size_t m = 0;
        for (int i = 0; i < s->n; i++) m += s->split[i] == g_splits[k].code;
        if (!m) continue;
        pix = malloc(m * plane);
        codes = malloc(m * sizeof *codes);
        if (!pix || !codes) {
            rc = MCR_NOMEM();
            break;
        }
        size_t j = 0;
        for (int i = 0; i < s->n; i++)
            if (s->split[i] == g_splits[k].code) memcpy(pix + j++ * plane, s->pix + (size_t)i * plane, plane);
        char nm[64];
        int64_t shape[4] = {(int64_t)m, s->h, s->w, s->c};
        snprintf(nm, sizeof nm, "%s_images", g_splits[k].name);
        rc = mcr_npzw_add(&w, nm, "|u1", shape, s->c == 1 ? 3 : 4, pix, m * plane);
        for (int which = 0; which < 2 && !rc; which++) {
            if (which && !anyattr) break;
            const int *src = which ? s->attr : s->label;
            j = 0;
            for (int i = 0; i < s->n; i++)
                if (s->split[i] == g_splits[k].code) codes[j++] = src[i];
            int64_t cshape[2] = {(int64_t)m, 1};
            snprintf(nm, sizeof nm, "%s_%s", g_splits[k].name, which ? "attributes" : "labels");
            rc = mcr_npzw_add(&w, nm, "<i8", cshape, 2, codes, m * sizeof *codes);
        }
        free(pix), free(codes);
        pix = NULL, codes = NULL;
    }
    free(pix), free(codes);
    if (!rc && s->nlabels) rc = add_names(&w, "label_names", s->label_names, s->nlabels);
    if (!rc && s->nattrs) rc = add_names(&w, "attribute_names", s->attr_names, s->nattrs);
    if (rc) {
        mcr_npzw_free(&w);
        return rc;
    }
    return mcr_npzw_finish(&w, path);
}
