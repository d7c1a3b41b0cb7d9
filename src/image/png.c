/* png.c — PNG files through libpng (Debian libpng-dev): decoding from memory to 8-bit grey or
 * RGB, encoding to memory, single images and grids written atomically, and the image set of a
 * folder of PNGs listed by a CSV manifest.
 *
 * libpng reports errors by longjmp to the setjmp point of the call: everything allocated
 * after setjmp is held in volatile pointers and freed on that path, so a corrupt file leaks
 * nothing (the tests run under ASan with leak detection). */
#include "image/image.h"
#include "tabular/tabular.h"
#include <ctype.h>
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct {
    const unsigned char *p;
    size_t n, pos;
} png_src;

static void on_read(png_structp png, png_bytep out, size_t len) {
    png_src *r = png_get_io_ptr(png);
    if (len > r->n - r->pos) png_error(png, "file ends early (truncated)");
    memcpy(out, r->p + r->pos, len);
    r->pos += len;
}
static void on_write(png_structp png, png_bytep data, size_t len) { mcr_put(png_get_io_ptr(png), data, len); }
static void on_flush(png_structp png) { (void)png; }
static void on_error(png_structp png, png_const_charp msg) {
    char *buf = png_get_error_ptr(png);
    snprintf(buf, 256, "%s", msg);
    png_longjmp(png, 1);
}
static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

int mcr_png_decode(const unsigned char *p, size_t n, const char *what, uint8_t **pix, int *h, int *w, int *c) {
    *pix = NULL;
    *h = *w = *c = 0;
    if (n < 8 || png_sig_cmp(p, 0, 8)) return mcr_err(MCR_EPARSE, "%s: not a PNG file (no PNG signature)", what);
    char msg[256] = "";
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, msg, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return MCR_NOMEM();
    }
    png_src src = {p, n, 0};
    unsigned char *volatile img = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(img);
        free(rows);
        return mcr_err(MCR_EPARSE, "%s: corrupt PNG: %s", what, msg);
    }
    png_set_read_fn(png, &src, on_read);
    png_set_user_limits(png, 16384, 16384);
    png_read_info(png, info);
    png_uint_32 W, H;
    int depth, ctype;
    png_get_IHDR(png, info, &W, &H, &depth, &ctype, NULL, NULL, NULL);
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png); /* (v * 255 + 32767) / 65535: rounded, not truncated */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if ((uint64_t)W * H > ((uint64_t)1 << 26)) png_error(png, "image over 64 megapixels");
    int ch = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || ch < 1 || ch > 4 || rowbytes != (size_t)W * (size_t)ch)
        png_error(png, "unsupported pixel layout");
    img = malloc((size_t)H * rowbytes);
    rows = malloc((size_t)H * sizeof *rows);
    if (!img || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < H; y++) rows[y] = img + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    unsigned char *out = img;
    /* alpha: accepted when every pixel is opaque, then dropped */
    if (ch == 2 || ch == 4) {
        size_t np = (size_t)W * H;
        for (size_t i = 0; i < np; i++)
            if (out[i * (size_t)ch + (size_t)ch - 1] != 255) {
                free(out);
                return mcr_err(MCR_EPARSE, "%s: has transparent pixels (alpha < 255 at x=%zu, y=%zu); flatten it "
                               "onto a background first", what, i % W, i / W);
            }
        int k = ch - 1;
        for (size_t i = 0; i < np; i++)
            for (int j = 0; j < k; j++) out[i * (size_t)k + (size_t)j] = out[i * (size_t)ch + (size_t)j];
        ch = k;
    }
    *pix = out;
    *h = (int)H, *w = (int)W, *c = ch;
    return MCR_OK;
}

int mcr_png_encode(const uint8_t *pix, int h, int w, int c, unsigned char **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (h < 1 || w < 1 || h > 1000000 || w > 1000000 || (c != 1 && c != 3))
        return mcr_err(MCR_EINVAL, "PNG of %dx%dx%d: invalid size (1 or 3 channels)", h, w, c);
    char msg[256] = "";
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, msg, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return MCR_NOMEM();
    }
    mcr_wbuf *volatile buf = calloc(1, sizeof(mcr_wbuf));
    png_bytep *volatile rows = malloc((size_t)h * sizeof *rows);
    if (!buf || !rows) {
        png_destroy_write_struct(&png, &info);
        free(buf);
        free(rows);
        return MCR_NOMEM();
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        mcr_wbuf_free(buf);
        free(buf);
        free(rows);
        return mcr_err(MCR_EINTERNAL, "PNG encoding failed: %s", msg);
    }
    png_set_write_fn(png, buf, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)pix + (size_t)y * (size_t)w * (size_t)c;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    if (buf->oom) {
        mcr_wbuf_free(buf);
        free(buf);
        return MCR_NOMEM();
    }
    *out = buf->p;
    *len = buf->n;
    free(buf);
    return MCR_OK;
}

MCR_API int mcr_image_write_png(const char *path, const uint8_t *pix, int h, int w, int c) {
    unsigned char *data;
    size_t n;
    int rc = mcr_png_encode(pix, h, w, c, &data, &n);
    if (rc) return rc;
    rc = mcr_write_file_atomic(path, data, n);
    free(data);
    return rc;
}

/* ------------------------------------------------------------------ grid */
#define GRID_SEP 2
#define GRID_SEP_VALUE 128

MCR_API int mcr_imageset_write_grid(const mcr_imageset *s, const char *path, int per_cell, char split, int *nrows) {
    unsigned char *png = NULL;
    size_t len = 0;
    int rc = mcr_imageset_grid_png(s, per_cell, split, &png, &len, nrows, NULL, NULL);
    if (!rc) rc = mcr_write_file_atomic(path, png, len);
    if (rc && nrows) *nrows = 0;
    free(png);
    return rc;
}

int mcr_imageset_grid_png(const mcr_imageset *s, int per_cell, char split, unsigned char **png, size_t *len, int *nrows,
                          int *gw, int *gh) {
    *png = NULL, *len = 0;
    if (nrows) *nrows = 0;
    if (per_cell < 1 || per_cell > 1000) return mcr_err(MCR_EINVAL, "`per_cell` must be from 1 to 1000, got %d", per_cell);
    mcr_grid_row *rows;
    int R;
    int rc = mcr_imageset_grid_rows(s, split, &rows, &R);
    if (rc) return rc;
    if (!R) {
        free(rows);
        return mcr_err(MCR_EINVAL, "%s: no images%s%s to draw", s->source ? s->source : "image set",
                       split ? " in split " : "", split == MCR_SPLIT_TRAIN ? "train" : split == MCR_SPLIT_VAL ? "val"
                                                                           : split == MCR_SPLIT_TEST ? "test" : "");
    }
    size_t K = (size_t)per_cell, c = (size_t)s->c;
    size_t GW = K * (size_t)s->w + (K + 1) * GRID_SEP, GH = (size_t)R * (size_t)s->h + ((size_t)R + 1) * GRID_SEP;
    if (GW > 100000 || GH > 100000 || GW * GH > ((size_t)1 << 26)) {
        free(rows);
        return mcr_err(MCR_EINVAL, "grid of %zux%zu pixels is too large: draw fewer images per cell or one split", GW, GH);
    }
    int L = s->nlabels + 1, A = s->nattrs + 1;
    int *rowof = malloc((size_t)L * (size_t)A * sizeof *rowof), *filled = mcr_xcalloc((size_t)R, sizeof *filled);
    uint8_t *g = malloc(GW * GH * c);
    if (!rowof || !filled || !g) {
        free(rows), free(rowof), free(filled), free(g);
        return MCR_NOMEM();
    }
    memset(g, GRID_SEP_VALUE, GW * GH * c);
    for (int k = 0; k < L * A; k++) rowof[k] = -1;
    for (int r = 0; r < R; r++) {
        int l = rows[r].label < 0 ? s->nlabels : rows[r].label, a = rows[r].attr < 0 ? s->nattrs : rows[r].attr;
        rowof[l * A + a] = r;
        /* the cells of the row black, so that an empty slot reads as empty */
        for (size_t k = 0; k < K; k++)
            for (int y = 0; y < s->h; y++) {
                size_t gy = GRID_SEP + (size_t)r * ((size_t)s->h + GRID_SEP) + (size_t)y;
                size_t gx = GRID_SEP + k * ((size_t)s->w + GRID_SEP);
                memset(g + (gy * GW + gx) * c, 0, (size_t)s->w * c);
            }
    }
    size_t plane = (size_t)s->h * (size_t)s->w * c;
    for (int i = 0; i < s->n; i++) {
        if (split && s->split[i] != split) continue;
        int l = s->label[i] < 0 ? s->nlabels : s->label[i], a = s->attr[i] < 0 ? s->nattrs : s->attr[i];
        int r = rowof[l * A + a];
        if (r < 0 || (size_t)filled[r] >= K) continue;
        size_t k = (size_t)filled[r]++;
        for (int y = 0; y < s->h; y++) {
            size_t gy = GRID_SEP + (size_t)r * ((size_t)s->h + GRID_SEP) + (size_t)y;
            size_t gx = GRID_SEP + k * ((size_t)s->w + GRID_SEP);
            memcpy(g + (gy * GW + gx) * c, s->pix + (size_t)i * plane + (size_t)y * (size_t)s->w * c, (size_t)s->w * c);
        }
    }
    rc = mcr_png_encode(g, (int)GH, (int)GW, (int)c, png, len);
    free(rows), free(rowof), free(filled), free(g);
    if (!rc && nrows) *nrows = R;
    if (!rc && gw) *gw = (int)GW;
    if (!rc && gh) *gh = (int)GH;
    return rc;
}

/* ------------------------------------------------------------------ manifest */
static int split_code(const char *v) {
    if (!strcasecmp(v, "train") || !strcasecmp(v, "t")) return MCR_SPLIT_TRAIN;
    if (!strcasecmp(v, "val") || !strcasecmp(v, "valid") || !strcasecmp(v, "validation") || !strcasecmp(v, "v"))
        return MCR_SPLIT_VAL;
    if (!strcasecmp(v, "test") || !strcasecmp(v, "s")) return MCR_SPLIT_TEST;
    return 0;
}

/* a label or attribute column: text levels, or a few integer codes turned into levels */
static int class_column(mcr_table *t, const char *path, const char *role, int j) {
    if (mcr_table_coltype(t, j) == MCR_COL_CATEGORICAL) return MCR_OK;
    size_t n = mcr_table_nrows(t);
    if (mcr_table_nmissing(t, j) == n || mcr_int_codes(t, j)) return mcr_table_codes_to_levels(t, j);
    for (size_t i = 0; i < n; i++) {
        double v = mcr_table_num(t, i, j);
        if (!isnan(v) && v != floor(v))
            return mcr_err(MCR_EPARSE, "%s:%zu: column '%s' is not a %s: it holds continuous numbers (%g); a %s is a "
                           "class name or one of at most %d integer codes", path, i + 2, mcr_table_colname(t, j), role,
                           v, role, MCR_MAX_CODES);
    }
    return mcr_err(MCR_EPARSE, "%s: column '%s' is not a %s: it holds more than %d distinct integers; a %s is a class "
                   "name or one of at most %d integer codes", path, mcr_table_colname(t, j), role, MCR_MAX_CODES, role,
                   MCR_MAX_CODES);
}

int mcr_imageset_read_manifest(const char *path, mcr_imageset **out) {
    *out = NULL;
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    mcr_table *t = NULL;
    int rc = mcr_table_read_csv(path, &o, &t);
    if (rc) return rc;
    mcr_imageset *s = NULL;
    uint8_t *pix = NULL;
    char *full = NULL, first[4096] = "";
    size_t firstline = 0;
    int jf = mcr_table_find(t, "file"), jl = mcr_table_find(t, "label"), ja = mcr_table_find(t, "attribute"),
        js = mcr_table_find(t, "split");
    size_t n = mcr_table_nrows(t);
    if (jf < 0 || jl < 0) {
        rc = mcr_err(MCR_EPARSE, "%s: a manifest needs columns file,label (optional: attribute, split); no '%s' column",
                     path, jf < 0 ? "file" : "label");
        goto done;
    }
    if (mcr_table_coltype(t, jf) != MCR_COL_CATEGORICAL) {
        rc = mcr_err(MCR_EPARSE, "%s: column 'file' holds numbers, not file names", path);
        goto done;
    }
    if (!n) {
        rc = mcr_err(MCR_EPARSE, "%s: the manifest lists no images", path);
        goto done;
    }
    if (n > 100000000) {
        rc = mcr_err(MCR_EPARSE, "%s: too many rows (%zu)", path, n);
        goto done;
    }
    if ((rc = class_column(t, path, "label", jl)) || (ja >= 0 && (rc = class_column(t, path, "attribute", ja))))
        goto done;
    if (js >= 0 && mcr_table_coltype(t, js) != MCR_COL_CATEGORICAL && (rc = mcr_table_codes_to_levels(t, js)))
        goto done;
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    for (size_t i = 0; i < n; i++) {
        size_t line = i + 2; /* the header is line 1; one line per row */
        int fk = mcr_table_cat(t, i, jf);
        if (fk < 0) {
            rc = mcr_err(MCR_EPARSE, "%s:%zu: empty file name", path, line);
            goto done;
        }
        char sp = MCR_SPLIT_TRAIN;
        if (js >= 0) {
            int sk = mcr_table_cat(t, i, js);
            const char *v = sk < 0 ? "" : mcr_table_level(t, js, sk);
            if (!(sp = (char)split_code(v))) {
                rc = mcr_err(MCR_EPARSE, "%s:%zu: unknown split '%s' (train, val or test)", path, line, v);
                goto done;
            }
        }
        const char *file = mcr_table_level(t, jf, fk);
        size_t fl = strlen(file);
        free(full);
        full = malloc(dirlen + fl + 1);
        if (!full) {
            rc = MCR_NOMEM();
            goto done;
        }
        size_t d = file[0] == '/' ? 0 : dirlen;
        memcpy(full, path, d);
        memcpy(full + d, file, fl + 1);
        unsigned char *data;
        size_t len;
        FILE *f = fopen(full, "rb");
        if (!f) {
            rc = mcr_err(MCR_EIO, "%s:%zu: cannot open image %s: %s", path, line, full, strerror(errno));
            goto done;
        }
        fclose(f);
        if ((rc = mcr_file_read(full, &data, &len))) goto done;
        int h, w, c;
        rc = mcr_png_decode(data, len, full, &pix, &h, &w, &c);
        free(data);
        if (rc) {
            char m[1024];
            snprintf(m, sizeof m, "%s", mcr_last_error());
            rc = mcr_err(rc, "%s:%zu: %s", path, line, m);
            goto done;
        }
        if (!s) {
            if ((rc = mcr_imageset_alloc((int)n, h, w, c, &s))) goto done;
            snprintf(first, sizeof first, "%s", full);
            firstline = line;
        } else if (h != s->h || w != s->w || c != s->c) {
            rc = mcr_err(MCR_EPARSE, "%s:%zu: %s is %dx%d with %d channel%s but %s (line %zu) is %dx%d with %d "
                         "channel%s: all images must have one size and channel count", path, line, full, h, w, c,
                         c == 1 ? "" : "s", first, firstline, s->h, s->w, s->c, s->c == 1 ? "" : "s");
            goto done;
        }
        size_t plane = (size_t)h * (size_t)w * (size_t)c;
        memcpy(s->pix + i * plane, pix, plane);
        free(pix);
        pix = NULL;
        s->label[i] = mcr_table_cat(t, i, jl);
        s->attr[i] = ja >= 0 ? mcr_table_cat(t, i, ja) : -1;
        s->split[i] = sp;
    }
    for (int k = 0; k < mcr_table_nlevels(t, jl) && rc >= 0; k++) rc = mcr_imageset_add_level(s, 0, mcr_table_level(t, jl, k));
    for (int k = 0; ja >= 0 && k < mcr_table_nlevels(t, ja) && rc >= 0; k++)
        rc = mcr_imageset_add_level(s, 1, mcr_table_level(t, ja, k));
    if (rc < 0) goto done;
    rc = MCR_OK;
    s->source = mcr_strdup(path);
    s->label_col = mcr_strdup("label");
    s->attr_col = mcr_strdup(ja >= 0 ? "attribute" : "");
    if (!s->source || !s->label_col || !s->attr_col) rc = MCR_NOMEM();
done:
    free(full);
    free(pix);
    mcr_table_free(t);
    if (rc) {
        mcr_imageset_free(s);
        return rc;
    }
    *out = s;
    return MCR_OK;
}

/* ------------------------------------------------------------------ a folder of PNGs */
static void csv_field(FILE *f, const char *v) {
    if (!strpbrk(v, ",\"\r\n") && v[0] != ' ') {
        fputs(v, f);
        return;
    }
    fputc('"', f);
    for (; *v; v++) {
        if (*v == '"') fputc('"', f);
        fputc(*v, f);
    }
    fputc('"', f);
}

MCR_API int mcr_imageset_write_dir(const mcr_imageset *s, const char *dir) {
    if (mkdir(dir, 0755) && errno != EEXIST) return mcr_err(MCR_EIO, "%s: cannot create folder: %s", dir, strerror(errno));
    size_t dl = strlen(dir);
    char *path = malloc(dl + 64);
    if (!path) return MCR_NOMEM();
    int digits = 1;
    for (int m = s->n; m >= 10; m /= 10) digits++;
    size_t plane = (size_t)s->h * (size_t)s->w * (size_t)s->c;
    mcr_afile a;
    snprintf(path, dl + 64, "%s/manifest.csv", dir);
    int rc = mcr_afile_open(&a, path);
    if (rc) return free(path), rc;
    fprintf(a.f, "file,label,attribute,split\n");
    for (int i = 0; i < s->n && !rc; i++) {
        const char *sp = s->split[i] == MCR_SPLIT_VAL ? "val" : s->split[i] == MCR_SPLIT_TEST ? "test" : "train";
        char num[24], pad[24] = "";
        int nd = snprintf(num, sizeof num, "%d", i);
        for (int z = nd; z < digits && z < 20; z++) strcat(pad, "0");
        snprintf(path, dl + 64, "%s/%s_%s%s.png", dir, sp, pad, num);
        rc = mcr_image_write_png(path, s->pix + (size_t)i * plane, s->h, s->w, s->c);
        fprintf(a.f, "%s,", strrchr(path, '/') + 1);
        if (s->label[i] >= 0) csv_field(a.f, s->label_names[s->label[i]]);
        fputc(',', a.f);
        if (s->attr[i] >= 0) csv_field(a.f, s->attr_names[s->attr[i]]);
        fprintf(a.f, ",%s\n", sp);
    }
    free(path);
    if (rc) {
        mcr_afile_abort(&a);
        return rc;
    }
    return mcr_afile_commit(&a);
}
