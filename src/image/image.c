/* image.c — the image set: allocation, level names, getters, counts per split x label x
 * attribute, the text/JSON description, reading by content (ZIP / .npy / CSV manifest), and the
 * conversion of pixels to the network's float layout and back. */
#include "image/image.h"
#include <errno.h>
#include <limits.h>

int mcr_imageset_alloc(int n, int h, int w, int c, mcr_imageset **out) {
    *out = NULL;
    if (n < 0 || h < 1 || w < 1 || (c != 1 && c != 3))
        return mcr_err(MCR_EINVAL, "image set of %d images of %dx%dx%d: invalid size", n, h, w, c);
    mcr_imageset *s = calloc(1, sizeof *s);
    if (!s) return MCR_NOMEM();
    s->n = n, s->h = h, s->w = w, s->c = c;
    size_t plane = (size_t)h * (size_t)w * (size_t)c;
    s->pix = (size_t)n > SIZE_MAX / plane ? NULL : mcr_xcalloc((size_t)n * plane, 1);
    s->label = mcr_xcalloc((size_t)n, sizeof(int));
    s->attr = mcr_xcalloc((size_t)n, sizeof(int));
    s->split = mcr_xcalloc((size_t)n, 1);
    if (!s->pix || !s->label || !s->attr || !s->split) {
        mcr_imageset_free(s);
        return MCR_NOMEM();
    }
    for (int i = 0; i < n; i++) s->label[i] = s->attr[i] = -1, s->split[i] = MCR_SPLIT_TRAIN;
    *out = s;
    return MCR_OK;
}

MCR_API void mcr_imageset_free(mcr_imageset *s) {
    if (!s) return;
    for (int k = 0; k < s->nlabels; k++) free(s->label_names[k]);
    for (int k = 0; k < s->nattrs; k++) free(s->attr_names[k]);
    free(s->label_names), free(s->attr_names);
    free(s->label_col), free(s->attr_col), free(s->source);
    free(s->pix), free(s->label), free(s->attr), free(s->split);
    free(s);
}

int mcr_imageset_add_level(mcr_imageset *s, int which, const char *name) {
    char ***names = which ? &s->attr_names : &s->label_names;
    int *k = which ? &s->nattrs : &s->nlabels;
    if (*k >= 100000) return mcr_err(MCR_EINVAL, "more than 100000 %s levels", which ? "attribute" : "label");
    char **p = realloc(*names, (size_t)(*k + 1) * sizeof *p);
    if (!p) return MCR_NOMEM();
    *names = p;
    if (!(p[*k] = mcr_strdup(name))) return MCR_NOMEM();
    return (*k)++;
}

/* ------------------------------------------------------------------ getters */
MCR_API void mcr_imageset_dims(const mcr_imageset *s, int *n, int *h, int *w, int *c) {
    if (n) *n = s->n;
    if (h) *h = s->h;
    if (w) *w = s->w;
    if (c) *c = s->c;
}
MCR_API const uint8_t *mcr_imageset_pixels(const mcr_imageset *s) { return s->pix; }
MCR_API int mcr_imageset_label(const mcr_imageset *s, int i) { return i >= 0 && i < s->n ? s->label[i] : -1; }
MCR_API int mcr_imageset_attr(const mcr_imageset *s, int i) { return i >= 0 && i < s->n ? s->attr[i] : -1; }
MCR_API char mcr_imageset_split(const mcr_imageset *s, int i) { return i >= 0 && i < s->n ? s->split[i] : 0; }
MCR_API int mcr_imageset_nlabels(const mcr_imageset *s) { return s->nlabels; }
MCR_API int mcr_imageset_nattrs(const mcr_imageset *s) { return s->nattrs; }
MCR_API const char *mcr_imageset_label_name(const mcr_imageset *s, int k) {
    return k >= 0 && k < s->nlabels ? s->label_names[k] : NULL;
}
MCR_API const char *mcr_imageset_attr_name(const mcr_imageset *s, int k) {
    return k >= 0 && k < s->nattrs ? s->attr_names[k] : NULL;
}

MCR_API size_t mcr_imageset_counts(const mcr_imageset *s, char split, size_t *counts) {
    int A = s->nattrs + 1;
    memset(counts, 0, (size_t)(s->nlabels + 1) * (size_t)A * sizeof *counts);
    size_t total = 0;
    for (int i = 0; i < s->n; i++) {
        if (split && s->split[i] != split) continue;
        int l = s->label[i] < 0 ? s->nlabels : s->label[i], a = s->attr[i] < 0 ? s->nattrs : s->attr[i];
        counts[(size_t)l * (size_t)A + (size_t)a]++;
        total++;
    }
    return total;
}

int mcr_imageset_grid_rows(const mcr_imageset *s, char split, mcr_grid_row **rows, int *nrows) {
    *rows = NULL;
    *nrows = 0;
    int L = s->nlabels + 1, A = s->nattrs + 1;
    size_t *counts = mcr_xcalloc((size_t)L * (size_t)A, sizeof *counts);
    mcr_grid_row *r = mcr_xcalloc((size_t)L * (size_t)A, sizeof *r);
    if (!counts || !r) return free(counts), free(r), MCR_NOMEM();
    mcr_imageset_counts(s, split, counts);
    int k = 0;
    for (int l = 0; l < L; l++)
        for (int a = 0; a < A; a++) {
            size_t m = counts[(size_t)l * (size_t)A + (size_t)a];
            if (!m) continue;
            r[k].label = l == s->nlabels ? -1 : l;
            r[k].attr = a == s->nattrs ? -1 : a;
            r[k].count = m > INT_MAX ? INT_MAX : (int)m;
            k++;
        }
    free(counts);
    *rows = r;
    *nrows = k;
    return MCR_OK;
}

/* ------------------------------------------------------------------ describe */
static const char *split_name(char c) {
    return c == MCR_SPLIT_TRAIN ? "train" : c == MCR_SPLIT_VAL ? "val" : c == MCR_SPLIT_TEST ? "test" : "?";
}

MCR_API int mcr_imageset_describe(const mcr_imageset *s, int json, FILE *f) {
    static const char codes[3] = {MCR_SPLIT_TRAIN, MCR_SPLIT_VAL, MCR_SPLIT_TEST};
    int L = s->nlabels + 1, A = s->nattrs + 1;
    size_t *counts = mcr_xcalloc((size_t)L * (size_t)A, sizeof *counts);
    if (!counts) return MCR_NOMEM();
    size_t unl = 0;
    for (int i = 0; i < s->n; i++) unl += s->label[i] < 0;
    const char *src = s->source ? s->source : "<memory>";
    if (json) {
        fputs("{\"source\": ", f);
        mcr_json_str(f, src);
        fprintf(f, ", \"images\": %d, \"height\": %d, \"width\": %d, \"channels\": %d, \"unlabelled\": %zu", s->n,
                s->h, s->w, s->c, unl);
        for (int w = 0; w < 2; w++) {
            fprintf(f, ", \"%s\": [", w ? "attributes" : "labels");
            for (int k = 0; k < (w ? s->nattrs : s->nlabels); k++) {
                if (k) fputs(", ", f);
                mcr_json_str(f, w ? s->attr_names[k] : s->label_names[k]);
            }
            fputc(']', f);
        }
        fputs(", \"splits\": {", f);
        int firsts = 1;
        for (int k = 0; k < 3; k++) {
            size_t tot = mcr_imageset_counts(s, codes[k], counts);
            if (!tot) continue;
            size_t u = 0;
            for (int a = 0; a < A; a++) u += counts[(size_t)s->nlabels * (size_t)A + (size_t)a];
            fprintf(f, "%s\"%s\": {\"images\": %zu, \"unlabelled\": %zu, \"per_label\": {", firsts ? "" : ", ",
                    split_name(codes[k]), tot, u);
            firsts = 0;
            for (int l = 0; l < s->nlabels; l++) {
                size_t m = 0;
                for (int a = 0; a < A; a++) m += counts[(size_t)l * (size_t)A + (size_t)a];
                if (l) fputs(", ", f);
                mcr_json_str(f, s->label_names[l]);
                fprintf(f, ": %zu", m);
            }
            fputs("}, \"cells\": [", f);
            int firstc = 1;
            for (int l = 0; l < L; l++)
                for (int a = 0; a < A; a++) {
                    size_t m = counts[(size_t)l * (size_t)A + (size_t)a];
                    if (!m) continue;
                    fputs(firstc ? "{\"label\": " : ", {\"label\": ", f);
                    firstc = 0;
                    if (l < s->nlabels) mcr_json_str(f, s->label_names[l]);
                    else fputs("null", f);
                    fputs(", \"attribute\": ", f);
                    if (a < s->nattrs) mcr_json_str(f, s->attr_names[a]);
                    else fputs("null", f);
                    fprintf(f, ", \"images\": %zu}", m);
                }
            fputs("]}", f);
        }
        fputs("}}\n", f);
    } else {
        fprintf(f, "source: %s\nimages: %d of %dx%d, %d channel%s (%s)\n", src, s->n, s->h, s->w, s->c,
                s->c == 1 ? "" : "s", s->c == 1 ? "grey" : "RGB");
        for (int w = 0; w < 2; w++) {
            int K = w ? s->nattrs : s->nlabels;
            fprintf(f, "%s (%d):", w ? "attributes" : "labels", K);
            for (int k = 0; k < K && k < 50; k++) fprintf(f, " %s", w ? s->attr_names[k] : s->label_names[k]);
            fputs(K > 50 ? " ...\n" : K ? "\n" : " none\n", f);
        }
        fprintf(f, "unlabelled: %zu\n", unl);
        for (int k = 0; k < 3; k++) {
            size_t tot = mcr_imageset_counts(s, codes[k], counts);
            if (!tot) continue;
            size_t u = 0;
            for (int a = 0; a < A; a++) u += counts[(size_t)s->nlabels * (size_t)A + (size_t)a];
            fprintf(f, "\n%s: %zu images, %zu unlabelled\n  %-18s", split_name(codes[k]), tot, u,
                    s->nattrs ? "label \\ attribute" : "label");
            int show_unknown = 0;
            for (int l = 0; l < L; l++) show_unknown |= counts[(size_t)l * (size_t)A + (size_t)s->nattrs] != 0;
            for (int a = 0; a < s->nattrs; a++) fprintf(f, " %10.10s", s->attr_names[a]);
            if (s->nattrs && show_unknown) fprintf(f, " %10s", "unknown");
            fprintf(f, " %10s\n", s->nattrs ? "total" : "images");
            for (int l = 0; l < L; l++) {
                size_t m = 0;
                for (int a = 0; a < A; a++) m += counts[(size_t)l * (size_t)A + (size_t)a];
                if (l == s->nlabels && !m) continue;
                fprintf(f, "  %-18.18s", l < s->nlabels ? s->label_names[l] : "(unlabelled)");
                if (s->nattrs) {
                    for (int a = 0; a < s->nattrs; a++) fprintf(f, " %10zu", counts[(size_t)l * (size_t)A + (size_t)a]);
                    if (show_unknown) fprintf(f, " %10zu", counts[(size_t)l * (size_t)A + (size_t)s->nattrs]);
                }
                fprintf(f, " %10zu\n", m);
            }
        }
    }
    free(counts);
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}

/* ------------------------------------------------------------------ float layout */
void mcr_image_to_float(float *out, const uint8_t *pix, int n, int h, int w, int c) {
    size_t hw = (size_t)h * (size_t)w;
    for (int i = 0; i < n; i++) {
        const uint8_t *src = pix + (size_t)i * hw * (size_t)c; /* [h, w, c] */
        float *dst = out + (size_t)i * hw * (size_t)c;        /* [c, h, w] */
        for (size_t p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++) dst[(size_t)ch * hw + p] = (float)src[p * (size_t)c + (size_t)ch] / 127.5f - 1.0f;
    }
}

void mcr_image_from_float(uint8_t *pix, const float *x, int n, int h, int w, int c) {
    size_t hw = (size_t)h * (size_t)w;
    for (int i = 0; i < n; i++) {
        const float *src = x + (size_t)i * hw * (size_t)c; /* [c, h, w] */
        uint8_t *dst = pix + (size_t)i * hw * (size_t)c;   /* [h, w, c] */
        for (size_t p = 0; p < hw; p++)
            for (int ch = 0; ch < c; ch++) {
                float v = floorf((src[(size_t)ch * hw + p] + 1.0f) * 127.5f + 0.5f);
                dst[p * (size_t)c + (size_t)ch] = v >= 255.0f ? 255 : v > 0.0f ? (uint8_t)v : 0; /* NaN -> 0 */
            }
    }
}

/* ------------------------------------------------------------------ reading by content */
MCR_API int mcr_imageset_read(const char *path, mcr_imageset **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mcr_err(MCR_EIO, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[6] = {0};
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if ((got >= 4 && !memcmp(head, "PK", 2)) || (got >= 6 && !memcmp(head, "\x93NUMPY", 6))) {
        unsigned char *data;
        size_t n;
        int rc = mcr_file_read(path, &data, &n);
        if (rc) return rc;
        rc = mcr_imageset_read_npz_mem(data, n, path, out);
        free(data);
        return rc;
    }
    size_t len = strlen(path);
    if (len >= 4 && (!strcmp(path + len - 4, ".npz") || !strcmp(path + len - 4, ".npy")))
        return mcr_err(MCR_EPARSE, "%s: not a ZIP/.npz archive or .npy array (damaged?)", path);
    if (got >= 4 && !memcmp(head, "\x89PNG", 4))
        return mcr_err(MCR_EINVAL, "%s: a PNG image; an image set is an .npz or a CSV manifest (file,label,...)", path);
    return mcr_imageset_read_manifest(path, out);
}
