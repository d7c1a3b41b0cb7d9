/* test_imgio.c — image data: the float layout and back, .npy/.npz reading (numpy's own files,
 * stored and deflated members, ZIP64 fields, damaged and truncated archives), the .npz writer,
 * PNG decoding and encoding (grey, RGB, 16-bit, palette, alpha, corrupt files), the manifest
 * reader and its errors, and the grid writer. */
#include "image/image.h"
#include "testhelp.h"
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char g_dir[256];
static const char *tmp(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}
static void write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) fwrite(p, 1, n, f), fclose(f);
}
static void write_text(const char *path, const char *s) { write_bytes(path, s, strlen(s)); }
static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* ------------------------------------------------------------------ float layout */
static void test_float_layout(void) {
    /* odd sizes: 3 images of 5 x 7 x 3; the NCHW index of pixel (i, y, x, ch) written out */
    int n = 3, h = 5, w = 7, c = 3;
    size_t N = (size_t)n * h * w * c;
    uint8_t *pix = malloc(N), *back = malloc(N);
    float *x = malloc(N * sizeof *x);
    for (size_t k = 0; k < N; k++) pix[k] = (uint8_t)((k * 97 + 13) % 256);
    mcr_image_to_float(x, pix, n, h, w, c);
    int bad = 0;
    for (int i = 0; i < n; i++)
        for (int y = 0; y < h; y++)
            for (int xx = 0; xx < w; xx++)
                for (int ch = 0; ch < c; ch++) {
                    uint8_t p = pix[(((size_t)i * h + y) * w + xx) * c + ch];
                    float v = x[(((size_t)i * c + ch) * h + y) * w + xx];
                    bad += fabsf(v - ((float)p / 127.5f - 1.0f)) > 0;
                    bad += v < -1.0f || v > 1.0f;
                }
    CHECK(bad == 0, "%d pixels misplaced or outside [-1, 1]", bad);
    mcr_image_from_float(back, x, n, h, w, c);
    CHECK(!memcmp(back, pix, N), "pixels do not survive the round trip");
    free(pix), free(back), free(x);
    /* every 8-bit value, closed forms at the ends */
    uint8_t all[256], again[256];
    float f[256];
    for (int k = 0; k < 256; k++) all[k] = (uint8_t)k;
    mcr_image_to_float(f, all, 256, 1, 1, 1);
    CHECK(f[0] == -1.0f && f[255] == 1.0f, "0 -> %g, 255 -> %g (want -1, 1)", f[0], f[255]);
    CHECK(fabsf(f[128] - (128 / 127.5f - 1)) < 1e-7f, "128 -> %g", f[128]);
    mcr_image_from_float(again, f, 256, 1, 1, 1);
    CHECK(!memcmp(all, again, 256), "some 8-bit value does not come back");
    /* clipping, NaN, rounding to nearest (half up) */
    float v[8] = {-1.5f, 2.0f, NAN, 0.0f, -1.0f + 0.49f / 127.5f, -1.0f + 0.51f / 127.5f, 1.0f - 0.4f / 127.5f, INFINITY};
    uint8_t o[8];
    mcr_image_from_float(o, v, 8, 1, 1, 1);
    /* 0.0 -> 127.5 -> 128 (half up) */
    CHECK(o[0] == 0 && o[1] == 255 && o[2] == 0 && o[3] == 128 && o[4] == 0 && o[5] == 1 && o[6] == 255 && o[7] == 255,
          "got %d %d %d %d %d %d %d %d", o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]);
}

/* ------------------------------------------------------------------ npz fixtures */
/* the pixel formula of dev/make_npz_fixture.py */
static int fixture_pixel(int g, int y, int x, int c) { return (37 * g + 11 * y + 5 * x + 3 * c + 7) % 256; }

static void check_mixed(const mcr_imageset *s, const char *what) {
    CHECK(s->n == 10 && s->h == 4 && s->w == 6 && s->c == 3, "%s: %d images of %dx%dx%d", what, s->n, s->h, s->w, s->c);
    if (s->n != 10 || s->h != 4 || s->w != 6 || s->c != 3) return;
    static const int label[10] = {0, 1, 2, -1, 1, 2, 0, 1, 1, 0};
    static const int attr[10] = {0, 1, 0, 1, -1, -1, -1, -1, -1, -1};
    static const char split[] = "tttttvvsss";
    int bad = 0;
    for (int i = 0; i < 10; i++) {
        CHECK(s->label[i] == label[i] && s->attr[i] == attr[i] && s->split[i] == split[i],
              "%s: image %d: label %d attr %d split %c", what, i, s->label[i], s->attr[i], s->split[i]);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 6; x++)
                for (int c = 0; c < 3; c++) bad += s->pix[((i * 4 + y) * 6 + x) * 3 + c] != fixture_pixel(i, y, x, c);
    }
    CHECK(bad == 0, "%s: %d pixels differ from the formula", what, bad);
    CHECK(s->nlabels == 3 && !strcmp(s->label_names[2], "2"), "%s: %d labels", what, s->nlabels);
    CHECK(s->nattrs == 2, "%s: %d attributes", what, s->nattrs);
    /* counts of train: label 0: attr 0 x1; label 1: attr 1 x1, unknown x1; label 2: attr 0; unlabelled: attr 1 */
    size_t cnt[4 * 3];
    size_t tot = mcr_imageset_counts(s, 't', cnt);
    CHECK(tot == 5 && cnt[0 * 3 + 0] == 1 && cnt[1 * 3 + 1] == 1 && cnt[1 * 3 + 2] == 1 && cnt[2 * 3 + 0] == 1 &&
              cnt[3 * 3 + 1] == 1,
          "%s: train counts wrong (total %zu)", what, tot);
    CHECK(mcr_imageset_counts(s, 0, cnt) == 10 && cnt[1 * 3 + 2] == 3 && cnt[0 * 3 + 2] == 2,
          "%s: all-split counts wrong", what);
}

static void test_npz_fixture(void) {
    mcr_imageset *s = NULL;
    int rc = mcr_imageset_read("tests/data/img_mixed.npz", &s);
    CHECK(rc == MCR_OK, "read: %s", mcr_last_error());
    if (rc) return;
    check_mixed(s, "img_mixed.npz");
    mcr_imageset_free(s);
    /* numpy's own np.savez_compressed: every member deflated, grey */
    rc = mcr_imageset_read("tests/data/img_savez.npz", &s);
    CHECK(rc == MCR_OK, "savez: %s", mcr_last_error());
    if (rc) return;
    CHECK(s->n == 3 && s->h == 2 && s->w == 2 && s->c == 1, "savez: %dx%dx%dx%d", s->n, s->h, s->w, s->c);
    int bad = 0;
    for (int k = 0; k < 12; k++) bad += s->pix[k] != k * 20;
    CHECK(bad == 0 && s->label[0] == 1 && s->label[1] == 0 && s->label[2] == 1 && s->nlabels == 2,
          "savez: pixels or labels wrong");
    mcr_imageset_free(s);
}

/* The real PneumoniaMNIST. Expected values computed once with numpy 1.24.2 (Debian), not with
 * this code:
 *   d = np.load("pneumoniamnist.npz"); x = d["train_images"]; y = d["train_labels"]
 *   x.shape, np.bincount(y.ravel()), x.astype(np.int64).sum(), x[0,0,0], x[0,14,14], x[-1,27,27],
 *   x[5,10,20]   (and the same for val and test)
 * train (2428,28,28) [1214 1214] 273679017 26 175 135 135
 * val   (270,28,28)  [135 135]   30537618 121 208 152 193
 * test  (468,28,28)  [234 234]   52669370  62 178 111 163 */
static void test_pneumoniamnist(void) {
    const char *path = th_data("images/pneumoniamnist.npz");
    if (access(path, R_OK)) SKIP("%s absent", path);
    mcr_imageset *s = NULL;
    int rc = mcr_imageset_read(path, &s);
    CHECK(rc == MCR_OK, "%s", mcr_last_error());
    if (rc) return;
    CHECK(s->n == 2428 + 270 + 468 && s->h == 28 && s->w == 28 && s->c == 1, "%d images of %dx%dx%d", s->n, s->h,
          s->w, s->c);
    static const struct {
        char split;
        int n, per_label;
        long long sum;
        int p000, p01414, plast, p51020;
    } want[3] = {{'t', 2428, 1214, 273679017LL, 26, 175, 135, 135},
                 {'v', 270, 135, 30537618LL, 121, 208, 152, 193},
                 {'s', 468, 234, 52669370LL, 62, 178, 111, 163}};
    int first = 0;
    for (int k = 0; k < 3; k++) {
        int n = 0, lab[2] = {0, 0};
        long long sum = 0;
        for (int i = 0; i < s->n; i++) {
            if (s->split[i] != want[k].split) continue;
            n++;
            if (s->label[i] == 0 || s->label[i] == 1) lab[s->label[i]]++;
            for (int p = 0; p < 28 * 28; p++) sum += s->pix[(size_t)i * 784 + p];
        }
        const uint8_t *x0 = s->pix + (size_t)first * 784, *xl = s->pix + (size_t)(first + n - 1) * 784,
                      *x5 = s->pix + (size_t)(first + 5) * 784;
        CHECK(n == want[k].n && lab[0] == want[k].per_label && lab[1] == want[k].per_label,
              "split %c: %d images, labels %d/%d", want[k].split, n, lab[0], lab[1]);
        CHECK(sum == want[k].sum, "split %c: pixel sum %lld, numpy says %lld", want[k].split, sum, want[k].sum);
        CHECK(x0[0] == want[k].p000 && x0[14 * 28 + 14] == want[k].p01414 && xl[27 * 28 + 27] == want[k].plast &&
                  x5[10 * 28 + 20] == want[k].p51020,
              "split %c: pixels %d %d %d %d", want[k].split, x0[0], x0[14 * 28 + 14], xl[27 * 28 + 27], x5[10 * 28 + 20]);
        first += n;
    }
    CHECK(s->nlabels == 2 && s->nattrs == 0, "%d labels, %d attributes", s->nlabels, s->nattrs);
    mcr_imageset_free(s);
}

static unsigned char *slurp(const char *path, size_t *n) {
    unsigned char *d = NULL;
    if (mcr_file_read(path, &d, n)) return NULL;
    return d;
}

/* every truncation and single-byte damage is refused with a message (or, for bytes that carry
 * no data, such as the date field, read the same); never a crash or a leak */
static void test_npz_damaged(void) {
    size_t n;
    unsigned char *d = slurp("tests/data/img_mixed.npz", &n);
    CHECK(d != NULL, "fixture missing");
    if (!d) return;
    mcr_imageset *s = NULL;
    int refused = 0;
    for (size_t len = 0; len < n; len++) {
        int rc = mcr_imageset_read_npz_mem(d, len, "cut.npz", &s);
        refused += rc != MCR_OK;
        if (!rc) mcr_imageset_free(s);
    }
    CHECK(refused == (int)n, "%d of %zu truncations read", (int)n - refused, n);
    /* a flipped byte inside the stored pixels: CRC mismatch naming the member */
    unsigned char *e = malloc(n);
    memcpy(e, d, n);
    const unsigned char *hit = memmem(d, n, "\x93NUMPY", 6); /* train_images.npy data follows */
    size_t at = (size_t)(hit - d) + 200;
    e[at] ^= 0x10;
    int rc = mcr_imageset_read_npz_mem(e, n, "flip.npz", &s);
    CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "CRC-32 mismatch") &&
              contains(mcr_last_error(), "train_images.npy"),
          "stored flip: rc %d: %s", rc, mcr_last_error());
    /* every byte flipped in turn: refused or equal to the original reading */
    int crashes_avoided = 0, accepted_diff = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(e, d, n);
        e[k] ^= 0x5a;
        rc = mcr_imageset_read_npz_mem(e, n, "flip.npz", &s);
        if (rc) {
            crashes_avoided++;
            continue;
        }
        /* what is accepted must be the fixture itself (the byte was a date, a version, padding) */
        static const int label[10] = {0, 1, 2, -1, 1, 2, 0, 1, 1, 0};
        int same = s->n == 10 && s->h == 4 && s->w == 6 && s->c == 3 && s->nlabels == 3 && s->nattrs == 2;
        for (int i = 0; same && i < 10 * 72; i++) same = s->pix[i] == fixture_pixel(i / 72, (i / 18) % 4, (i / 3) % 6, i % 3);
        for (int i = 0; same && i < 10; i++) same = s->label[i] == label[i] && s->split[i] == "tttttvvsss"[i];
        if (!same) fprintf(stderr, "  flip at byte %zu read as another set\n", k);
        accepted_diff += !same;
        mcr_imageset_free(s);
    }
    CHECK(accepted_diff == 0, "%d damaged archives read with different pixels", accepted_diff);
    CHECK(crashes_avoided > (int)n / 2, "only %d of %zu flips refused", crashes_avoided, n);
    free(e);
    free(d);
    /* not an archive at all, an empty file, a missing file */
    write_text(tmp("text.npz"), "hello, not a zip file at all, just text that is long enough");
    rc = mcr_imageset_read(tmp("text.npz"), &s);
    CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "text.npz"), "text: %d %s", rc, mcr_last_error());
    rc = mcr_imageset_read(tmp("none.npz"), &s);
    CHECK(rc == MCR_EIO && contains(mcr_last_error(), "none.npz"), "missing: %d %s", rc, mcr_last_error());
}

/* ------------------------------------------------------------------ hand-built archives */
typedef struct {
    const char *name;
    const unsigned char *data;
    size_t n;
    int deflate;
} member;
static void p16(mcr_wbuf *w, uint32_t v) { unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)}; mcr_put(w, b, 2); }
static void p32(mcr_wbuf *w, uint32_t v) { p16(w, v & 0xFFFF), p16(w, v >> 16); }
static void p64(mcr_wbuf *w, uint64_t v) { p32(w, (uint32_t)v), p32(w, (uint32_t)(v >> 32)); }

/* A ZIP written by this test, independently of npz.c's writer: zip64 = 1 puts every central
 * size and offset in a ZIP64 extra field (0xFFFFFFFF in the fixed fields) and ends with a ZIP64
 * end record and locator, as zipfile does for archives over 4 GiB. */
static void build_zip(mcr_wbuf *w, const member *m, int nm, int zip64) {
    mcr_wbuf cd = {0};
    uint64_t offs[16];
    for (int i = 0; i < nm; i++) {
        unsigned char *z = NULL;
        size_t zn = m[i].n;
        const unsigned char *body = m[i].data;
        if (m[i].deflate) {
            z_stream s;
            memset(&s, 0, sizeof s);
            deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
            z = malloc(deflateBound(&s, m[i].n));
            s.next_in = (unsigned char *)m[i].data, s.avail_in = (uInt)m[i].n;
            s.next_out = z, s.avail_out = (uInt)deflateBound(&s, m[i].n);
            deflate(&s, Z_FINISH);
            zn = s.total_out;
            deflateEnd(&s);
            body = z;
        }
        uint32_t crc = (uint32_t)crc32(crc32(0, Z_NULL, 0), m[i].data, (uInt)m[i].n);
        size_t nl = strlen(m[i].name);
        offs[i] = w->n;
        p32(w, 0x04034b50), p16(w, 45), p16(w, 0), p16(w, m[i].deflate ? 8 : 0), p16(w, 0), p16(w, 0x21);
        p32(w, crc), p32(w, 0xFFFFFFFF), p32(w, 0xFFFFFFFF), p16(w, (uint32_t)nl), p16(w, 20);
        mcr_put(w, m[i].name, nl);
        p16(w, 1), p16(w, 16), p64(w, m[i].n), p64(w, zn); /* local ZIP64 extra (numpy's kind) */
        mcr_put(w, body, zn);
        p32(&cd, 0x02014b50), p16(&cd, 45), p16(&cd, 45), p16(&cd, 0), p16(&cd, m[i].deflate ? 8 : 0);
        p16(&cd, 0), p16(&cd, 0x21), p32(&cd, crc);
        p32(&cd, zip64 ? 0xFFFFFFFF : (uint32_t)zn), p32(&cd, zip64 ? 0xFFFFFFFF : (uint32_t)m[i].n);
        p16(&cd, (uint32_t)nl), p16(&cd, zip64 ? 28 : 0), p16(&cd, 0), p16(&cd, 0), p16(&cd, 0), p32(&cd, 0);
        p32(&cd, zip64 ? 0xFFFFFFFF : (uint32_t)offs[i]);
        mcr_put(&cd, m[i].name, nl);
        if (zip64) p16(&cd, 1), p16(&cd, 24), p64(&cd, m[i].n), p64(&cd, zn), p64(&cd, offs[i]);
        free(z);
    }
    uint64_t cdoff = w->n;
    mcr_put(w, cd.p, cd.n);
    if (zip64) {
        uint64_t e64 = w->n;
        p32(w, 0x06064b50), p64(w, 44), p16(w, 45), p16(w, 45), p32(w, 0), p32(w, 0);
        p64(w, (uint64_t)nm), p64(w, (uint64_t)nm), p64(w, cd.n), p64(w, cdoff);
        p32(w, 0x07064b50), p32(w, 0), p64(w, e64), p32(w, 1);
    }
    p32(w, 0x06054b50), p16(w, 0), p16(w, 0);
    p16(w, zip64 ? 0xFFFF : (uint32_t)nm), p16(w, zip64 ? 0xFFFF : (uint32_t)nm);
    p32(w, zip64 ? 0xFFFFFFFF : (uint32_t)cd.n), p32(w, zip64 ? 0xFFFFFFFF : (uint32_t)cdoff), p16(w, 0);
    mcr_wbuf_free(&cd);
}

/* an .npy v1.0 of `descr` and `shape` text, header padded to 64 */
static size_t npy(unsigned char *out, const char *descr, const char *shape, const void *data, size_t n) {
    char h[256];
    int k = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    while ((10 + k + 1) % 64) h[k++] = ' ';
    h[k++] = '\n';
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char)k, out[9] = 0;
    memcpy(out + 10, h, (size_t)k);
    memcpy(out + 10 + k, data, n);
    return 10 + (size_t)k + n;
}

static void test_zip64(void) {
    unsigned char img[200], lab[200];
    uint8_t px[2 * 3 * 2];
    for (int k = 0; k < 12; k++) px[k] = (uint8_t)(200 - k * 7);
    int32_t codes[2] = {1, 0};
    size_t ni = npy(img, "|u1", "(2, 3, 2)", px, sizeof px), nl = npy(lab, "<i4", "(2,)", codes, sizeof codes);
    member m[2] = {{"test_images.npy", img, ni, 1}, {"test_labels.npy", lab, nl, 0}};
    for (int z64 = 0; z64 < 2; z64++) {
        mcr_wbuf w = {0};
        build_zip(&w, m, 2, z64);
        mcr_imageset *s = NULL;
        int rc = mcr_imageset_read_npz_mem(w.p, w.n, "z64.npz", &s);
        CHECK(rc == MCR_OK, "zip64=%d: %s", z64, mcr_last_error());
        if (!rc) {
            CHECK(s->n == 2 && s->h == 3 && s->w == 2 && s->c == 1 && !memcmp(s->pix, px, 12) && s->label[0] == 1 &&
                      s->label[1] == 0 && s->split[0] == 's',
                  "zip64=%d: contents differ", z64);
            mcr_imageset_free(s);
        }
        if (z64) {
            /* the locator pointing one byte off: refused, named ZIP64 */
            size_t loc = w.n - 22 - 20;
            w.p[loc + 8]++;
            rc = mcr_imageset_read_npz_mem(w.p, w.n, "z64.npz", &s);
            CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "ZIP64"), "bad locator: %d %s", rc, mcr_last_error());
            w.p[loc + 8]--;
            /* a ZIP64 extra too short for the fields marked 0xFFFFFFFF */
            unsigned char *x = memmem(w.p, w.n, "\x01\x00\x18\x00", 4);
            if (x) {
                x[2] = 8;
                rc = mcr_imageset_read_npz_mem(w.p, w.n, "z64.npz", &s);
                CHECK(rc == MCR_EPARSE, "short ZIP64 extra accepted");
                if (!rc) mcr_imageset_free(s);
            }
        }
        mcr_wbuf_free(&w);
    }
}

static void test_npy_header(void) {
    unsigned char buf[512];
    uint8_t v8[6] = {1, 2, 3, 4, 5, 6};
    int64_t be = 0;
    mcr_npy a;
    size_t n = npy(buf, "<u1", "(2, 3)", v8, 6);
    CHECK(mcr_npy_parse(buf, n, "a", &a) == MCR_OK && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 &&
              a.count == 6 && mcr_npy_int(&a, 5) == 6,
          "<u1 (2, 3): %s", mcr_last_error());
    mcr_npy_free(&a);
    /* big-endian int16 -2 and a scalar */
    unsigned char b2[2] = {0xFF, 0xFE};
    n = npy(buf, ">i2", "()", b2, 2);
    CHECK(mcr_npy_parse(buf, n, "a", &a) == MCR_OK && a.ndim == 0 && a.count == 1 && mcr_npy_int(&a, 0) == -2,
          ">i2 scalar: %s", mcr_last_error());
    mcr_npy_free(&a);
    n = npy(buf, "<i8", "(1,)", &be, 8);
    buf[n - 1] = 0x80; /* INT64_MIN */
    CHECK(mcr_npy_parse(buf, n, "a", &a) == MCR_OK && mcr_npy_int(&a, 0) == INT64_MIN, "<i8");
    mcr_npy_free(&a);
    /* refused: float, Fortran order, short data, long data, structured, garbage */
    n = npy(buf, "<f4", "(1,)", v8, 4);
    CHECK(mcr_npy_parse(buf, n, "f.npy", &a) == MCR_EPARSE && contains(mcr_last_error(), "'<f4' not supported"),
          "float: %s", mcr_last_error());
    n = npy(buf, "|u1", "(2, 3)", v8, 5);
    CHECK(mcr_npy_parse(buf, n, "s.npy", &a) == MCR_EPARSE && contains(mcr_last_error(), "need 6"), "short: %s",
          mcr_last_error());
    n = npy(buf, "|u1", "(2, 2)", v8, 6);
    CHECK(mcr_npy_parse(buf, n, "l.npy", &a) == MCR_EPARSE, "long data accepted");
    n = npy(buf, "|u1", "(6,)", v8, 6);
    memcpy(buf + 10, "{'descr': '|u1', 'fortran_order': True , 'shape': (6,), }", 58);
    CHECK(mcr_npy_parse(buf, n, "fo.npy", &a) == MCR_EPARSE && contains(mcr_last_error(), "Fortran"), "fortran: %s",
          mcr_last_error());
    n = npy(buf, "|u1", "(6,)", v8, 6);
    memcpy(buf + 10, "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (6,), }", 66);
    CHECK(mcr_npy_parse(buf, n, "st.npy", &a) == MCR_EPARSE, "structured accepted");
    n = npy(buf, "|u1", "(6,)", v8, 6);
    buf[12] = 'x';
    CHECK(mcr_npy_parse(buf, n, "g.npy", &a) == MCR_EPARSE && contains(mcr_last_error(), "malformed"), "garbage");
    /* images that are not uint8, and multi-label labels, inside an archive */
    unsigned char img[256], lab[256];
    int32_t px32[4] = {0};
    uint8_t multi[4] = {0, 1, 1, 0};
    member m[2] = {{"train_images.npy", img, npy(img, "<i4", "(1, 2, 2)", px32, 16), 0},
                   {"train_labels.npy", lab, npy(lab, "|u1", "(2, 2)", multi, 4), 0}};
    mcr_wbuf w = {0};
    build_zip(&w, m, 1, 0);
    mcr_imageset *s;
    CHECK(mcr_imageset_read_npz_mem(w.p, w.n, "i4.npz", &s) == MCR_EPARSE && contains(mcr_last_error(), "uint8"),
          "int32 images: %s", mcr_last_error());
    mcr_wbuf_free(&w);
    m[0].n = npy(img, "|u1", "(2, 1, 1)", v8, 2);
    build_zip(&w, m, 2, 0);
    CHECK(mcr_imageset_read_npz_mem(w.p, w.n, "ml.npz", &s) == MCR_EPARSE && contains(mcr_last_error(), "multi-label"),
          "multi-label: %s", mcr_last_error());
    mcr_wbuf_free(&w);
    /* no image member at all: the members are listed */
    member only[1] = {{"x_train.npy", img, m[0].n, 0}};
    build_zip(&w, only, 1, 0);
    CHECK(mcr_imageset_read_npz_mem(w.p, w.n, "none.npz", &s) == MCR_EPARSE && contains(mcr_last_error(), "x_train.npy"),
          "no images: %s", mcr_last_error());
    mcr_wbuf_free(&w);
}


/* labels that are not labels, names that do not fit, splits of different sizes, in .npz */
static void test_npz_label_errors(void) {
    unsigned char img[256], img2[256], lab[256], names[256];
    uint8_t px[8] = {0};
    int64_t big[2] = {0, 5000000}, ok2[2] = {0, 2};
    size_t ni = npy(img, "|u1", "(2, 2, 2)", px, 8);
    member m[3] = {{"train_images.npy", img, ni, 0}, {"train_labels.npy", lab, npy(lab, "<i8", "(2, 1)", big, 16), 1},
                   {"label_names.npy", names, 0, 0}};
    mcr_wbuf w = {0};
    mcr_imageset *s = NULL;
    build_zip(&w, m, 2, 0);
    int rc = mcr_imageset_read_npz_mem(w.p, w.n, "big.npz", &s);
    CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "train_labels") && contains(mcr_last_error(), "not a class code"),
          "label 5000000: %s", mcr_last_error());
    mcr_wbuf_free(&w);
    /* code 2 with two names */
    m[1].n = npy(lab, "<i8", "(2, 1)", ok2, 16);
    m[2].n = npy(names, "|S6", "(2,)", "normal" "pneumo", 12);
    build_zip(&w, m, 3, 0);
    rc = mcr_imageset_read_npz_mem(w.p, w.n, "names.npz", &s);
    CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "label code 2 but only 2 names"), "names: %s", mcr_last_error());
    mcr_wbuf_free(&w);
    /* duplicate names */
    ok2[1] = 1;
    m[1].n = npy(lab, "<i8", "(2, 1)", ok2, 16);
    m[2].n = npy(names, "|S3", "(2,)", "abcabc", 6);
    build_zip(&w, m, 3, 0);
    rc = mcr_imageset_read_npz_mem(w.p, w.n, "dup.npz", &s);
    CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "'abc' appears twice"), "dup names: %s", mcr_last_error());
    mcr_wbuf_free(&w);
    /* names shorter than the field are NUL-padded, as numpy pads |S */
    m[2].n = npy(names, "|S4", "(2,)", "ab\0\0wxyz", 8);
    build_zip(&w, m, 3, 0);
    rc = mcr_imageset_read_npz_mem(w.p, w.n, "pad.npz", &s);
    CHECK(rc == MCR_OK && s->nlabels == 2 && !strcmp(s->label_names[0], "ab") && !strcmp(s->label_names[1], "wxyz"),
          "padded names: %s", rc ? mcr_last_error() : "wrong");
    if (!rc) mcr_imageset_free(s);
    mcr_wbuf_free(&w);
    /* test images of another size than the training images: both members named */
    member two[2] = {{"train_images.npy", img, ni, 0}, {"test_images.npy", img2, npy(img2, "|u1", "(1, 2, 4)", px, 8), 0}};
    build_zip(&w, two, 2, 0);
    rc = mcr_imageset_read_npz_mem(w.p, w.n, "sizes.npz", &s);
    CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "train_images are 2x2x1 but test_images are 2x4x1"),
          "sizes: %s", mcr_last_error());
    mcr_wbuf_free(&w);
    /* labels with fewer rows than images */
    int64_t one[1] = {0};
    m[1].n = npy(lab, "<i8", "(1,)", one, 8);
    build_zip(&w, m, 2, 0);
    rc = mcr_imageset_read_npz_mem(w.p, w.n, "rows.npz", &s);
    CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "1 rows for 2 images"), "rows: %s", mcr_last_error());
    mcr_wbuf_free(&w);
}

/* a set whose names need CSV quoting goes to a folder and comes back */
static void test_write_dir(void) {
    mcr_imageset *s = NULL, *t = NULL;
    if (mcr_imageset_alloc(3, 2, 2, 3, &s)) return;
    for (int k = 0; k < 3 * 12; k++) s->pix[k] = (uint8_t)(k * 5);
    mcr_imageset_add_level(s, 0, "a,b");
    mcr_imageset_add_level(s, 0, "say \"hi\"");
    mcr_imageset_add_level(s, 1, "site 1");
    s->label[0] = 1, s->label[2] = 0, s->attr[1] = 0, s->split[2] = MCR_SPLIT_TEST;
    int rc = mcr_imageset_write_dir(s, tmp("dir"));
    CHECK(rc == MCR_OK, "%s", mcr_last_error());
    rc = rc ? rc : mcr_imageset_read(tmp("dir/manifest.csv"), &t);
    CHECK(rc == MCR_OK, "read back: %s", mcr_last_error());
    if (!rc) {
        CHECK(t->n == 3 && !memcmp(t->pix, s->pix, 36), "pixels");
        CHECK(t->nlabels == 2 && t->nattrs == 1 && !strcmp(t->attr_names[0], "site 1"), "levels %d %d", t->nlabels,
              t->nattrs);
        for (int i = 0; i < 3; i++) {
            const char *a = s->label[i] < 0 ? "" : s->label_names[s->label[i]];
            const char *b = t->label[i] < 0 ? "" : t->label_names[t->label[i]];
            CHECK(!strcmp(a, b) && s->attr[i] == t->attr[i] && s->split[i] == t->split[i], "image %d: '%s' vs '%s'", i,
                  a, b);
        }
    }
    mcr_imageset_free(s), mcr_imageset_free(t);
}

static void test_npz_write_roundtrip(void) {
    mcr_imageset *s = NULL, *t = NULL;
    if (mcr_imageset_read("tests/data/img_mixed.npz", &s)) {
        CHECK(0, "%s", mcr_last_error());
        return;
    }
    free(s->attr_names[0]);
    s->attr_names[0] = mcr_strdup("site A"); /* names travel as label_names / attribute_names */
    int rc = mcr_imageset_write_npz(s, tmp("out.npz"));
    CHECK(rc == MCR_OK, "write: %s", mcr_last_error());
    rc = rc ? rc : mcr_imageset_read(tmp("out.npz"), &t);
    CHECK(rc == MCR_OK, "read back: %s", mcr_last_error());
    if (!rc) {
        check_mixed(t, "written");
        CHECK(t->nattrs == 2 && !strcmp(t->attr_names[0], "site A") && !strcmp(t->attr_names[1], "1"),
              "attribute names: %s", t->nattrs ? t->attr_names[0] : "none");
    }
    mcr_imageset_free(t);
    /* the writer's headers, field by field: a stored member's local header and the end record */
    size_t n;
    unsigned char *d = slurp(tmp("out.npz"), &n);
    if (d) {
        CHECK(!memcmp(d, "PK\x03\x04", 4) && d[8] == 0 && !memcmp(d + 30, "train_images.npy", 16) &&
                  !memcmp(d + 46, "\x93NUMPY\x01\x00", 8) && (10 + d[54] + 256 * d[55]) % 64 == 0,
              "first member's header");
        CHECK(!memcmp(d + n - 22, "PK\x05\x06", 4) && d[n - 22 + 10] == 11, "end record: %d entries", d[n - 22 + 10]);
        free(d);
    }
    mcr_imageset_free(s);
}

/* ------------------------------------------------------------------ PNG */
/* a PNG written by libpng directly (independently of png.c): grey 16-bit, palette, alpha */
static void png_raw(const char *path, int w, int h, int ctype, int depth, const unsigned char *rows_data, int rowbytes,
                    const png_color *pal, int npal) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, ctype, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, rows_data + (size_t)y * (size_t)rowbytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static int decode_file(const char *path, uint8_t **pix, int *h, int *w, int *c) {
    size_t n;
    unsigned char *d = slurp(path, &n);
    if (!d) return MCR_EIO;
    int rc = mcr_png_decode(d, n, path, pix, h, w, c);
    free(d);
    return rc;
}

static void test_png_roundtrip(void) {
    for (int c = 1; c <= 3; c += 2) {
        int h = 7, w = 5;
        uint8_t *pix = malloc((size_t)h * w * c), *back = NULL;
        for (int k = 0; k < h * w * c; k++) pix[k] = (uint8_t)(k * 41 + 3);
        int rc = mcr_image_write_png(tmp("rt.png"), pix, h, w, c);
        CHECK(rc == MCR_OK, "write c=%d: %s", c, mcr_last_error());
        int hh, ww, cc;
        rc = decode_file(tmp("rt.png"), &back, &hh, &ww, &cc);
        CHECK(rc == MCR_OK && hh == h && ww == w && cc == c && !memcmp(pix, back, (size_t)h * w * c),
              "c=%d: round trip differs (%s)", c, rc ? mcr_last_error() : "");
        free(pix), free(back);
    }
    /* 16-bit grey: rounded to 8 bits, (v * 255 + 32767) / 65535 */
    unsigned char g16[2 * 4];
    uint16_t vals[4] = {0, 65535, 32896, 129}; /* 32896 = 128.5 * 256: rounds to 128; 129 -> 0.5 -> 1 */
    for (int k = 0; k < 4; k++) g16[2 * k] = (unsigned char)(vals[k] >> 8), g16[2 * k + 1] = (unsigned char)vals[k];
    png_raw(tmp("g16.png"), 4, 1, PNG_COLOR_TYPE_GRAY, 16, g16, 8, NULL, 0);
    uint8_t *p = NULL;
    int h, w, c;
    int rc = decode_file(tmp("g16.png"), &p, &h, &w, &c);
    CHECK(rc == MCR_OK && c == 1 && w == 4, "16-bit: %s", mcr_last_error());
    if (!rc) {
        for (int k = 0; k < 4; k++) {
            int want = (int)(((uint32_t)vals[k] * 255 + 32767) / 65535);
            CHECK(p[k] == want, "16-bit %u -> %d, want %d", vals[k], p[k], want);
        }
        free(p);
    }
    /* palette: expanded to RGB */
    png_color pal[2] = {{10, 20, 30}, {200, 150, 100}};
    unsigned char idx[3] = {1, 0, 1};
    png_raw(tmp("pal.png"), 3, 1, PNG_COLOR_TYPE_PALETTE, 8, idx, 3, pal, 2);
    rc = decode_file(tmp("pal.png"), &p, &h, &w, &c);
    CHECK(rc == MCR_OK && c == 3 && p[0] == 200 && p[3] == 10 && p[5] == 30 && p[8] == 100, "palette: %s",
          mcr_last_error());
    if (!rc) free(p);
    /* alpha: opaque is dropped, transparent refused */
    unsigned char ga[4] = {77, 255, 99, 255};
    png_raw(tmp("ga.png"), 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, ga, 4, NULL, 0);
    rc = decode_file(tmp("ga.png"), &p, &h, &w, &c);
    CHECK(rc == MCR_OK && c == 1 && p[0] == 77 && p[1] == 99, "opaque alpha: %s", mcr_last_error());
    if (!rc) free(p);
    ga[3] = 0;
    png_raw(tmp("ga0.png"), 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, ga, 4, NULL, 0);
    rc = decode_file(tmp("ga0.png"), &p, &h, &w, &c);
    CHECK(rc == MCR_EPARSE && contains(mcr_last_error(), "transparent") && contains(mcr_last_error(), "ga0.png"),
          "transparent: %s", mcr_last_error());
    /* 1-bit grey expanded to 0 / 255 */
    unsigned char bits[1] = {0xA0}; /* 1 0 1 */
    png_raw(tmp("g1.png"), 3, 1, PNG_COLOR_TYPE_GRAY, 1, bits, 1, NULL, 0);
    rc = decode_file(tmp("g1.png"), &p, &h, &w, &c);
    CHECK(rc == MCR_OK && p[0] == 255 && p[1] == 0 && p[2] == 255, "1-bit: %s", mcr_last_error());
    if (!rc) free(p);
}

static void test_png_corrupt(void) {
    uint8_t pix[16 * 16];
    for (int k = 0; k < 256; k++) pix[k] = (uint8_t)(k * 7);
    unsigned char *d;
    size_t n;
    CHECK(mcr_png_encode(pix, 16, 16, 1, &d, &n) == MCR_OK, "encode");
    int refused = 0;
    uint8_t *p;
    int h, w, c;
    for (size_t len = 0; len < n; len++) {
        int rc = mcr_png_decode(d, len, "cut.png", &p, &h, &w, &c);
        refused += rc == MCR_EPARSE;
        if (!rc) free(p);
    }
    /* libpng may accept a file cut inside the IEND chunk (the image is complete by then) */
    CHECK(refused >= (int)n - 12, "%d of %zu truncations refused", refused, n);
    /* a damaged byte in each position: libpng's chunk CRCs refuse it, through longjmp */
    int bad = 0;
    for (size_t k = 8; k < n; k++) {
        d[k] ^= 0x21;
        int rc = mcr_png_decode(d, n, "flip.png", &p, &h, &w, &c);
        if (!rc) {
            bad += memcmp(p, pix, sizeof pix) != 0 && h == 16 && w == 16;
            free(p);
        } else {
            bad += !contains(mcr_last_error(), "flip.png");
        }
        d[k] ^= 0x21;
    }
    CHECK(bad == 0, "%d flips read with other pixels or unnamed errors", bad);
    free(d);
    write_text(tmp("nopng.png"), "not a png");
    CHECK(decode_file(tmp("nopng.png"), &p, &h, &w, &c) == MCR_EPARSE && contains(mcr_last_error(), "not a PNG"),
          "text as PNG: %s", mcr_last_error());
}

/* ------------------------------------------------------------------ manifest */
static void small_png(const char *name, int h, int w, int c, int v) {
    uint8_t pix[64 * 3];
    for (int k = 0; k < h * w * c; k++) pix[k] = (uint8_t)(v + k);
    mcr_image_write_png(tmp(name), pix, h, w, c);
}

static void test_manifest(void) {
    small_png("a.png", 2, 3, 1, 10);
    small_png("b.png", 2, 3, 1, 20);
    small_png("c.png", 2, 3, 1, 30);
    mkdir(tmp("sub"), 0755);
    small_png("sub/d.png", 2, 3, 1, 40);
    write_text(tmp("m.csv"), "file,label,attribute,split\n"
                             "a.png,pneumonia,site A,train\n"
                             "b.png,,site B,train\n"
                             "c.png,normal,,val\n"
                             "sub/d.png,pneumonia,site B,test\n"
                             "a.png,,,Train\n");
    mcr_imageset *s = NULL;
    int rc = mcr_imageset_read(tmp("m.csv"), &s);
    CHECK(rc == MCR_OK, "%s", mcr_last_error());
    if (rc) return;
    CHECK(s->n == 5 && s->h == 2 && s->w == 3 && s->c == 1, "%d images", s->n);
    /* levels in the CSV reader's order (sorted spellings) */
    CHECK(s->nlabels == 2 && !strcmp(s->label_names[0], "normal") && !strcmp(s->label_names[1], "pneumonia"),
          "labels: %d", s->nlabels);
    static const int lab[5] = {1, -1, 0, 1, -1}, att[5] = {0, 1, -1, 1, -1};
    static const char sp[] = "ttvst";
    for (int i = 0; i < 5; i++)
        CHECK(s->label[i] == lab[i] && s->attr[i] == att[i] && s->split[i] == sp[i], "row %d: %d %d %c", i, s->label[i],
              s->attr[i], s->split[i]);
    CHECK(s->pix[0] == 10 && s->pix[6] == 20 && s->pix[3 * 6 + 5] == 45 && s->pix[4 * 6] == 10, "pixels");
    size_t cnt[3 * 3];
    mcr_imageset_counts(s, 't', cnt);
    CHECK(cnt[2 * 3 + 1] == 1 && cnt[2 * 3 + 2] == 1 && cnt[1 * 3 + 0] == 1, "unlabelled counted per attribute");
    mcr_imageset_free(s);
    /* integer codes as labels: levels in numeric order */
    write_text(tmp("codes.csv"), "file,label\na.png,10\nb.png,2\nc.png,3\n");
    rc = mcr_imageset_read(tmp("codes.csv"), &s);
    CHECK(rc == MCR_OK && s->nlabels == 3 && !strcmp(s->label_names[0], "2") && s->label[0] == 2, "codes: %s",
          mcr_last_error());
    if (!rc) mcr_imageset_free(s);
}

static void expect_fail(const char *manifest, const char *body, int code, const char *f1, const char *f2) {
    write_text(tmp(manifest), body);
    mcr_imageset *s = NULL;
    int rc = mcr_imageset_read(tmp(manifest), &s);
    const char *m = mcr_last_error();
    CHECK(rc == code && contains(m, f1) && (!f2 || contains(m, f2)), "%s: rc %d (want %d): %s", manifest, rc, code, m);
    if (!rc) mcr_imageset_free(s);
}

static void test_manifest_errors(void) {
    small_png("a.png", 2, 3, 1, 10);
    small_png("big.png", 3, 3, 1, 10);
    small_png("rgb.png", 2, 3, 3, 10);
    static const char broken[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\2\0\0\0\3\x08\0\0\0\0garbage";
    write_bytes(tmp("broken.png"), broken, sizeof broken - 1);
    expect_fail("e1.csv", "file,label\na.png,0\nmissing.png,1\n", MCR_EIO, "e1.csv:3", "missing.png");
    expect_fail("e2.csv", "file,label\na.png,0\nbroken.png,1\n", MCR_EPARSE, "e2.csv:3", "broken.png");
    expect_fail("e3.csv", "file,label\na.png,0\nbig.png,1\n", MCR_EPARSE, "big.png", "a.png");
    expect_fail("e4.csv", "file,label\na.png,0\nrgb.png,1\n", MCR_EPARSE, "rgb.png", "a.png (line 2)");
    expect_fail("e5.csv", "file,label\na.png,0.25\na.png,1.75\n", MCR_EPARSE, "is not a label", "continuous");
    expect_fail("e6.csv", "file,label,split\na.png,0,train\na.png,1,holdout\n", MCR_EPARSE, "e6.csv:3",
                "unknown split 'holdout'");
    expect_fail("e7.csv", "file,label\na.png,0\na.png,\"x\n", MCR_EPARSE, "e7.csv:3:", "unterminated");
    expect_fail("e8.csv", "path,label\na.png,0\n", MCR_EPARSE, "no 'file' column", NULL);
    char many[2048] = "file,label\n";
    for (int k = 0; k < 30; k++) snprintf(many + strlen(many), sizeof many - strlen(many), "a.png,%d\n", k * 3);
    expect_fail("e9.csv", many, MCR_EPARSE, "more than 20 distinct integers", NULL);
    expect_fail("e10.csv", "file,label\n,0\n", MCR_EPARSE, "e10.csv:2: empty file name", NULL);
    mcr_imageset *s;
    CHECK(mcr_imageset_read(tmp("a.png"), &s) == MCR_EINVAL && contains(mcr_last_error(), "a PNG image"),
          "PNG as set: %s", mcr_last_error());
}

/* ------------------------------------------------------------------ grid */
static void test_grid(void) {
    mcr_imageset *s = NULL;
    if (mcr_imageset_read("tests/data/img_mixed.npz", &s)) {
        CHECK(0, "%s", mcr_last_error());
        return;
    }
    int R = 0;
    int rc = mcr_imageset_write_grid(s, tmp("grid.png"), 2, 't', &R);
    CHECK(rc == MCR_OK, "%s", mcr_last_error());
    /* train: (0, a0) img 0, (1, a1) img 1, (1, ?) img 4, (2, a0) img 2, (unlabelled, a1) img 3 */
    CHECK(R == 5, "%d rows", R);
    uint8_t *g = NULL;
    int h, w, c;
    rc = rc ? rc : decode_file(tmp("grid.png"), &g, &h, &w, &c);
    CHECK(rc == MCR_OK && h == 5 * 4 + 6 * 2 && w == 2 * 6 + 3 * 2 && c == 3, "grid %dx%dx%d", h, w, c);
    if (!rc && h == 32 && w == 18) {
        static const int img_of_row[5] = {0, 1, 4, 2, 3};
        int bad = 0;
        for (int r = 0; r < 5; r++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 6; x++)
                    for (int ch = 0; ch < 3; ch++) {
                        int gy = 2 + r * 6 + y;
                        bad += g[((gy * w) + 2 + x) * 3 + ch] != fixture_pixel(img_of_row[r], y, x, ch);
                        bad += g[((gy * w) + 2 + 8 + x) * 3 + ch] != 0; /* the second slot: empty, black */
                    }
        for (int x = 0; x < w; x++) bad += g[(0 * w + x) * 3] != 128 || g[(7 * w + x) * 3] != 128;
        CHECK(bad == 0, "%d grid pixels wrong", bad);
    }
    free(g);
    rc = mcr_imageset_write_grid(s, tmp("g0.png"), 0, 't', NULL);
    CHECK(rc == MCR_EINVAL, "per_cell 0 accepted");
    mcr_imageset_free(s);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/test_imgio.XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    TEST(test_float_layout);
    TEST(test_npz_fixture);
    TEST(test_pneumoniamnist);
    TEST(test_npz_damaged);
    TEST(test_zip64);
    TEST(test_npy_header);
    TEST(test_npz_label_errors);
    TEST(test_npz_write_roundtrip);
    TEST(test_write_dir);
    TEST(test_png_roundtrip);
    TEST(test_png_corrupt);
    TEST(test_manifest);
    TEST(test_manifest_errors);
    TEST(test_grid);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", g_dir);
    return DONE();
}
