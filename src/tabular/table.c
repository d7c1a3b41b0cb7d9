/* table.c — CSV (RFC 4180) to typed columns and back.
 *
 * Reading is one pass over the file held in memory: fields are unquoted in place and recorded
 * as (offset, length); then each column is typed (numeric / integer / categorical) and filled.
 * Linear in the file size; level lookup through a hash map. Errors name file:line:col.
 * A table keeps the input's category spellings and each numeric column's decimal count, so
 * a table written back looks like the input.
 */
#include "tabular/tabular.h"
#include "dist/dist.h"
#include <errno.h>
#include <float.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ string map */

/* ------------------------------------------------------------------ numbers */
/* Exact powers of ten representable in a double (10^22 is the largest). */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* Returns 1 for a finite number, 2 for a number that overflows a double, 0 otherwise.
 * Most fields take Clinger's fast path: with the significant digits m < 2^53 and the decimal
 * exponent e in [-22, 22], m and 10^|e| are exact doubles and one multiplication or division
 * rounds correctly, so the value is the one strtod gives; anything else goes to strtod. */
static int parse_number(const char *s, size_t len, double *v, int *decimals) {
    size_t i = 0;
    int dec = 0, ndig = 0, neg = 0, sig = 0, exp10 = 0, over = 0;
    unsigned nz = 0; /* a nonzero digit seen: the digits from there on are significant */
    uint64_t m = 0;
    if (len == 0 || len > 400) return 0;
    if (s[i] == '+' || s[i] == '-') neg = s[i] == '-', i++;
    size_t int_start = i;
    /* digits accumulate into m (leading zeros leave it 0 and are not significant); past 19
     * significant digits m may wrap (10^19 < 2^64 before that), and `over` sends the field
     * to strtod */
    for (unsigned d; i < len && (d = (unsigned)(s[i] - '0')) < 10; i++) {
        m = m * 10 + d;
        nz |= d;
        sig += nz != 0;
    }
    ndig = (int)(i - int_start);
    /* "007" is an identifier, not the number 7: keep it as a category */
    if (i - int_start > 1 && s[int_start] == '0') return 0;
    if (i < len && s[i] == '.') {
        size_t f0 = ++i;
        for (unsigned d; i < len && (d = (unsigned)(s[i] - '0')) < 10; i++) {
            m = m * 10 + d;
            sig += m != 0;
        }
        dec = (int)(i - f0);
        ndig += dec;
        exp10 = -dec;
    }
    over = sig > 19;
    if (ndig == 0) return 0;
    int has_exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-')) i++;
        size_t e0 = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++;
        if (i == e0) return 0;
        dec = -1;
        has_exp = 1;
    }
    if (i != len) return 0;
    if (!has_exp && !over && m <= ((uint64_t)1 << 53) && exp10 >= -22) {
        double x = (double)m / pow10_exact[-exp10];
        *v = neg ? -x : x;
        if (decimals) *decimals = dec;
        return 1;
    }
    char tmp[408];
    memcpy(tmp, s, len);
    tmp[len] = 0;
    errno = 0;
    double x = strtod(tmp, NULL);
    if (!isfinite(x)) return 2;
    *v = x;
    if (decimals) *decimals = dec;
    return 1;
}

int mcr_parse_number(const char *s, size_t len, double *v, int *decimals) {
    return parse_number(s, len, v, decimals) == 1;
}

/* The canonical spelling of number v read from s: "%.17g", which for a plain integer spelling
 * (digits, maybe a '-', no leading zero, at most 15 digits) is the spelling itself. */
static size_t numeric_key_of(double v, const char *s, size_t len, char *buf) {
    if (v == 0) v = 0; /* -0 and 0 are one level */
    size_t i = s[0] == '-' && v != 0;
    int plain = len - i >= 1 && len - i <= 15;
    for (size_t k = i; plain && k < len; k++) plain = s[k] >= '0' && s[k] <= '9';
    if (plain) {
        memcpy(buf, s, len);
        buf[len] = 0;
        return len;
    }
    return (size_t)snprintf(buf, 64, "%.17g", v);
}

size_t mcr_numeric_key(const char *s, size_t len, char *buf) {
    double v;
    if (parse_number(s, len, &v, NULL) != 1) return 0;
    return numeric_key_of(v, s, len, buf);
}

static int is_nonfinite_word(const char *s, size_t len) {
    if (len && (s[0] == '+' || s[0] == '-')) s++, len--;
    return (len == 3 && strncasecmp(s, "inf", 3) == 0) ||
           (len == 8 && strncasecmp(s, "infinity", 8) == 0) ||
           (len == 3 && strncasecmp(s, "nan", 3) == 0);
}

/* ------------------------------------------------------------------ columns */
int mcr_column_find_level(mcr_column *c, const char *s, size_t len) {
    if (!c->map) return -1;
    return mcr_strmap_get(c->map, s, len);
}

/* Add level `s` found under lookup key `key` (the spelling itself, or the canonical form of a
 * number so that "1" and "1.0" are one level); returns its code or a negative status. */
static int add_level_keyed(mcr_column *c, const char *key, size_t klen, const char *s, size_t len) {
    if (!c->map && !(c->map = mcr_strmap_new())) return MCR_NOMEM();
    int k = mcr_strmap_get(c->map, key, klen);
    if (k >= 0) return k;
    if (c->nlevels == c->cap_levels) {
        int ncap = c->cap_levels ? c->cap_levels * 2 : 8;
        char **nl = realloc(c->levels, (size_t)ncap * sizeof(char *));
        if (!nl) return MCR_NOMEM();
        c->levels = nl;
        c->cap_levels = ncap;
    }
    char *p = malloc(len + 1);
    if (!p) return MCR_NOMEM();
    memcpy(p, s, len);
    p[len] = 0;
    int rc = mcr_strmap_put(c->map, key, klen, c->nlevels);
    if (rc) {
        free(p);
        return rc;
    }
    c->levels[c->nlevels] = p;
    return c->nlevels++;
}

int mcr_column_add_level(mcr_column *c, const char *s, size_t len) {
    return add_level_keyed(c, s, len, s, len);
}

static void column_free(mcr_column *c) {
    free(c->name);
    free(c->num);
    free(c->cat);
    for (int k = 0; k < c->nlevels; k++) free(c->levels[k]);
    free(c->levels);
    mcr_strmap_free(c->map);
}

void mcr_table_free(mcr_table *t) {
    if (!t) return;
    for (int j = 0; j < t->ncols; j++) column_free(&t->cols[j]);
    free(t->cols);
    free(t->source);
    free(t);
}

/* ------------------------------------------------------------------ CSV parsing */
void mcr_csv_options_default(mcr_csv_options *o) {
    memset(o, 0, sizeof *o);
}

typedef struct {
    const char *name;
    char *buf;         /* writable copy of the file */
    size_t len;
    uint32_t *foff;    /* field offsets from the start of their record (rstart) */
    uint32_t *flen;    /* field lengths */
    size_t nf, capf;
    size_t *rline;     /* line number of each record */
    size_t *rstart;    /* byte offset where each record starts */
    size_t nr, capr;
    const struct csvpart *part; /* one rank's region of the file after its header, or NULL */
} csvparse;

/* One rank's share of a file read across ranks: its buffer is the file's header bytes
 * [0, hdr) followed by its region (whole records); the region's first line in the file, as
 * the tokenizer counts lines (tline) and as '\n' bytes count them (nline), so that messages
 * name the file's line. */
typedef struct csvpart {
    mcr_dist *d;
    size_t hdr, tline, nline;
} csvpart;

/* Grow the field arrays to hold at least `want` fields (doubling when want is 0). */
static int reserve_fields(csvparse *p, size_t want) {
    size_t nc = want ? want : (p->capf ? p->capf * 2 : 1024);
    uint32_t *o = mcr_realloc_big(p->foff, nc * sizeof(uint32_t));
    if (!o) return MCR_NOMEM();
    p->foff = o;
    uint32_t *l = mcr_realloc_big(p->flen, nc * sizeof(uint32_t));
    if (!l) return MCR_NOMEM();
    p->flen = l;
    p->capf = nc;
    return MCR_OK;
}

static int push_field(csvparse *p, size_t rec_start, size_t off, size_t len) {
    int rc;
    if (p->nf == p->capf && (rc = reserve_fields(p, 0))) return rc;
    if (off - rec_start + len > UINT32_MAX)
        return mcr_err(MCR_EPARSE, "%s: a record longer than 4 GiB", p->name);
    p->foff[p->nf] = (uint32_t)(off - rec_start);
    p->flen[p->nf] = (uint32_t)len;
    p->nf++;
    return MCR_OK;
}

static int reserve_records(csvparse *p, size_t want) {
    size_t nc = want ? want : (p->capr ? p->capr * 2 : 256);
    size_t *a = mcr_realloc_big(p->rline, nc * sizeof(size_t));
    if (!a) return MCR_NOMEM();
    p->rline = a;
    size_t *b = mcr_realloc_big(p->rstart, nc * sizeof(size_t));
    if (!b) return MCR_NOMEM();
    p->rstart = b;
    p->capr = nc;
    return MCR_OK;
}

static int push_record(csvparse *p, size_t line, size_t start) {
    int rc;
    if (p->nr == p->capr && (rc = reserve_records(p, 0))) return rc;
    p->rline[p->nr] = line;
    p->rstart[p->nr] = start;
    p->nr++;
    return MCR_OK;
}

/* 1-based line and column of byte offset `off` */
static void locate(const char *buf, size_t off, size_t *line, size_t *col) {
    size_t l = 1, c = 1;
    for (size_t i = 0; i < off; i++) {
        if (buf[i] == '\n') l++, c = 1;
        else c++;
    }
    *line = l;
    *col = c;
}

/* locate within a rank's buffer: offsets past the header count lines from the region's
 * first line (columns from the region's start when no '\n' precedes them there) */
static void locate_p(const csvparse *p, const char *buf, size_t off, size_t *line, size_t *col) {
    if (!p->part || off < p->part->hdr) {
        locate(buf, off, line, col);
        return;
    }
    size_t l = p->part->nline, c = 1;
    for (size_t i = p->part->hdr; i < off; i++) {
        if (buf[i] == '\n') l++, c = 1;
        else c++;
    }
    *line = l;
    *col = c;
}

static int utf8_check(const unsigned char *s, size_t n, size_t *bad) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        int k;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) k = 1, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0) k = 2, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0) k = 3, cp = c & 0x07;
        else { *bad = i; return 0; }
        for (int j = 1; j <= k; j++) {
            if (i + (size_t)j >= n || (s[i + j] & 0xC0) != 0x80) { *bad = i; return 0; }
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { *bad = i; return 0; }
        i += (size_t)k + 1;
    }
    return 1;
}

/* the separator most frequent outside quotes on the header: the first non-blank line */
static char detect_sep(const char *b, size_t n) {
    size_t cnt[3] = {0, 0, 0};
    int inq = 0;
    size_t i0 = 0;
    if (n >= 3 && (unsigned char)b[0] == 0xEF && (unsigned char)b[1] == 0xBB && (unsigned char)b[2] == 0xBF) i0 = 3;
    while (i0 < n && (b[i0] == '\n' || b[i0] == '\r' || b[i0] == ' ')) i0++;
    for (size_t i = i0; i < n; i++) {
        char c = b[i];
        if (c == '"') inq = !inq;
        else if (!inq && (c == '\n' || c == '\r')) break;
        else if (!inq && c == ',') cnt[0]++;
        else if (!inq && c == ';') cnt[1]++;
        else if (!inq && c == '\t') cnt[2]++;
    }
    if (cnt[1] > cnt[0] && cnt[1] >= cnt[2]) return ';';
    if (cnt[2] > cnt[0] && cnt[2] > cnt[1]) return '\t';
    return ',';
}

static int csv_tokenize(csvparse *p, char sep, int *ncols_out) {
    char *b = p->buf;
    /* lstart: where the current line starts, for the column of a message (the buffer before
     * pos is unquoted in place, so its newlines cannot be counted again there) */
    size_t n = p->len, pos = 0, line = 1, lstart = 0;
    if (n >= 3 && (unsigned char)b[0] == 0xEF && (unsigned char)b[1] == 0xBB &&
        (unsigned char)b[2] == 0xBF)
        pos = 3;
    int ncols = -1;
    unsigned char stop[256] = {0}; /* bytes that end an unquoted field */
    stop[(unsigned char)sep] = stop['\n'] = stop['\r'] = 1;
    while (pos < n) {
        if (p->part && pos == p->part->hdr) line = p->part->tline, lstart = pos; /* the rank's region */
        size_t rec_start = pos, rec_line = line, f0 = p->nf;
        int rc;
        int was_quoted = 0;
        for (;;) {
            while (pos < n && b[pos] == ' ' && sep != ' ') pos++;
            if (pos < n && b[pos] == '"') {
                size_t qline = line, qcol = pos - lstart + 1;
                size_t w = ++pos, fstart = pos;
                was_quoted = 1;
                for (;;) {
                    if (pos >= n)
                        return mcr_err(MCR_EPARSE,
                                       "%s:%zu:%zu: unterminated quoted field (the quote "
                                       "opened here is never closed)",
                                       p->name, qline, qcol);
                    char c = b[pos];
                    if (c == '"') {
                        if (pos + 1 < n && b[pos + 1] == '"') {
                            b[w++] = '"';
                            pos += 2;
                            continue;
                        }
                        pos++;
                        break;
                    }
                    if (c == '\n') line++, lstart = pos + 1;
                    b[w++] = c;
                    pos++;
                }
                size_t flen = w - fstart;
                while (pos < n && b[pos] == ' ' && sep != ' ') pos++;
                if (pos < n && b[pos] != sep && b[pos] != '\n' && b[pos] != '\r')
                    return mcr_err(MCR_EPARSE,
                                   "%s:%zu:%zu: unexpected character '%c' after a closing quote",
                                   p->name, line, pos - lstart + 1, b[pos]);
                if ((rc = push_field(p, rec_start, fstart, flen))) return rc;
            } else {
                size_t fstart = pos;
                while (pos < n && !stop[(unsigned char)b[pos]]) pos++;
                size_t e = pos;
                while (e > fstart && b[e - 1] == ' ') e--;
                if ((rc = push_field(p, rec_start, fstart, e - fstart))) return rc;
            }
            if (pos < n && b[pos] == sep) {
                pos++;
                continue;
            }
            if (pos < n && b[pos] == '\r') pos++;
            if (pos < n && b[pos] == '\n') pos++;
            line++;
            lstart = pos;
            break;
        }
        size_t nfields = p->nf - f0;
        if (nfields == 1 && p->flen[f0] == 0 && !was_quoted) { /* blank line */
            p->nf = f0;
            continue;
        }
        if (ncols < 0) {
            ncols = (int)nfields;
            /* one allocation for the whole file: as many records as lines are left (quoted
             * newlines only make this an overestimate), ncols fields each */
            size_t lines = 1;
            for (const char *q = b + pos; (q = memchr(q, '\n', (size_t)(b + n - q))); q++) lines++;
            if (lines < ((size_t)1 << 40) / (size_t)ncols &&
                ((rc = reserve_fields(p, p->nf + lines * (size_t)ncols)) ||
                 (rc = reserve_records(p, p->nr + lines + 1))))
                return rc;
        } else if ((int)nfields != ncols) {
            size_t col = nfields > (size_t)ncols ? p->foff[f0 + (size_t)ncols] + (size_t)1
                                                 : pos - rec_start;
            return mcr_err(MCR_EPARSE, "%s:%zu:%zu: expected %d fields, found %zu (ragged row)",
                           p->name, rec_line, col, ncols, nfields);
        }
        if ((rc = push_record(p, rec_line, rec_start))) return rc;
    }
    if (ncols < 0) return mcr_err(MCR_EPARSE, "%s: empty file (no header row)", p->name);
    *ncols_out = ncols;
    return MCR_OK;
}

static int in_list(char **list, int n, const char *s, size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0) return 1;
    return 0;
}

/* in_list for the per-field NA test: token lengths computed once per column (at most 64
 * tokens take this path; more fall back to in_list) */
typedef struct {
    char **tok;
    int n;
    size_t len[64];
    uint64_t lenmask; /* bit L set when some token has length L < 64 */
} na_set;
static void na_set_init(na_set *z, char **tok, int n) {
    z->tok = tok, z->n = n, z->lenmask = 0;
    for (int i = 0; i < n && i < 64; i++) {
        z->len[i] = strlen(tok[i]);
        if (z->len[i] < 64) z->lenmask |= (uint64_t)1 << z->len[i];
    }
}
static int na_has(const na_set *z, const char *s, size_t len) {
    if (z->n > 64) return in_list(z->tok, z->n, s, len);
    if (len < 64 && !((z->lenmask >> len) & 1)) return 0; /* no token of this length */
    for (int i = 0; i < z->n; i++)
        if (z->len[i] == len && memcmp(z->tok[i], s, len) == 0) return 1;
    return 0;
}

/* (two comparators, no shared flag: columns are built on several threads) */
static int cmp_levels_numeric(const void *a, const void *b) {
    double u = strtod(*(char *const *)a, NULL), v = strtod(*(char *const *)b, NULL);
    return (u > v) - (u < v);
}
static int cmp_levels_text(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort levels (numerically when all are numbers) and remap codes, so that a schema does not
 * depend on row order. */
static int sort_levels(mcr_column *c, size_t nrows, int numeric) {
    int K = c->nlevels;
    if (K < 2) return MCR_OK;
    char **sorted = malloc((size_t)K * sizeof(char *));
    int *remap = malloc((size_t)K * sizeof(int));
    if (!sorted || !remap) {
        free(sorted);
        free(remap);
        return MCR_NOMEM();
    }
    memcpy(sorted, c->levels, (size_t)K * sizeof(char *));
    qsort(sorted, (size_t)K, sizeof(char *), numeric ? cmp_levels_numeric : cmp_levels_text);
    for (int k = 0; k < K; k++) {
        const char *s = sorted[k];
        char key[64];
        size_t kl = numeric ? mcr_numeric_key(s, strlen(s), key) : 0;
        int old = kl ? mcr_strmap_get(c->map, key, kl) : mcr_strmap_get(c->map, s, strlen(s));
        MCR_ASSERT(old >= 0);
        remap[old] = k;
    }
    for (int k = 0; k < K; k++) {
        const char *s = sorted[k];
        char key[64];
        size_t kl = numeric ? mcr_numeric_key(s, strlen(s), key) : 0;
        int rc = kl ? mcr_strmap_put(c->map, key, kl, k) : mcr_strmap_put(c->map, s, strlen(s), k);
        if (rc) {
            free(sorted);
            free(remap);
            return rc;
        }
    }
    memcpy(c->levels, sorted, (size_t)K * sizeof(char *));
    for (size_t i = 0; i < nrows; i++)
        if (c->cat[i] >= 0) c->cat[i] = remap[c->cat[i]];
    free(sorted);
    free(remap);
    return MCR_OK;
}

/* What field j of the records looks like: counts by kind of value, the first value that is
 * not a finite number, and up to two distinct values of an all-integer column (ndist 3: more).
 * Counts of several ranks' records add up to the whole file's (colstat_add). */
typedef struct colstat {
    uint64_t n_num, n_na, n_int, n_nonfinite, n_other, n_exp;
    uint64_t dech[18];  /* values by digits after the point (17: more); n_exp: with an exponent */
    uint64_t first_bad; /* row of the first non-number or non-finite value, UINT64_MAX = none */
    int64_t ndist;
    double dv[2];
} colstat;

/* pass 1: each field parsed once; its value (NaN when missing or not a number) into val
 * [nrows] serves the numeric column, the flag test and the categorical keys */
static void col_scan(const csvparse *p, int j, int ncols, const na_set *nas, double *val, colstat *st) {
    size_t nrows = p->nr - 1;
    const char *b = p->buf;
    memset(st, 0, sizeof *st);
    st->first_bad = UINT64_MAX;
    for (size_t i = 0; i < nrows; i++) {
        size_t k = (i + 1) * (size_t)ncols + (size_t)j;
        const char *s = b + p->rstart[i + 1] + p->foff[k];
        size_t len = p->flen[k];
        double v = NAN;
        val[i] = NAN;
        if (na_has(nas, s, len)) { st->n_na++; continue; }
        int dec;
        int r = parse_number(s, len, &v, &dec);
        if (r == 1) {
            val[i] = v;
            st->n_num++;
            if (v == floor(v)) st->n_int++;
            if (dec < 0) st->n_exp++;
            else st->dech[dec < 17 ? dec : 17]++;
        } else if (r == 2 || is_nonfinite_word(s, len)) {
            st->n_nonfinite++;
            if (st->first_bad == UINT64_MAX) st->first_bad = i;
        } else {
            st->n_other++;
            if (st->first_bad == UINT64_MAX) st->first_bad = i;
        }
    }
    /* distinct values of an integral column: at most two make it a flag */
    if (st->n_num > 0 && st->n_int == st->n_num)
        for (size_t i = 0; i < nrows && st->ndist <= 2; i++) {
            double v = val[i];
            if (isnan(v)) continue;
            if (st->ndist == 0) st->dv[0] = v, st->ndist = 1;
            else if (v != st->dv[0] && (st->ndist == 1 || v != st->dv[1])) {
                if (st->ndist == 1) st->dv[1] = v;
                st->ndist++;
            }
        }
}

/* a's counts += b's (b's records follow a's); first_bad is left to the caller */
static void colstat_add(colstat *a, const colstat *b) {
    a->n_num += b->n_num, a->n_na += b->n_na, a->n_int += b->n_int;
    a->n_nonfinite += b->n_nonfinite, a->n_other += b->n_other, a->n_exp += b->n_exp;
    for (int k = 0; k < 18; k++) a->dech[k] += b->dech[k];
    for (int i = 0; i < b->ndist && i < 2 && a->ndist <= 2; i++) { /* ndist 3: two kept, more seen */
        double v = b->dv[i];
        if (a->ndist == 0) a->dv[0] = v, a->ndist = 1;
        else if (v != a->dv[0] && (a->ndist == 1 || v != a->dv[1])) {
            if (a->ndist == 1) a->dv[1] = v;
            a->ndist++;
        }
    }
    if (b->ndist > 2) a->ndist = 3;
}

/* The column's kind from its counts: 1 numeric, 0 categorical, -1 declared or looking numeric
 * with a value that is not a finite number (an error: col_bad). */
static int col_kind(const colstat *st, int force_cat, int force_num) {
    /* a column with no observed value is categorical (with no levels) unless declared numeric */
    int numeric = !force_cat && (force_num || (st->n_other == 0 && (st->n_num > 0 || st->n_nonfinite > 0)));
    if (numeric && (st->n_other > 0 || st->n_nonfinite > 0)) return -1;
    /* integral numeric columns with at most two values are flags: categorical */
    if (numeric && !force_num && st->n_num > 0 && st->n_int == st->n_num && st->ndist <= 2) numeric = 0;
    return numeric;
}

/* the error of col_kind -1 at this buffer's row `row` (nonfinite: the column has such values) */
static int col_bad(const csvparse *p, const mcr_column *c, int j, int ncols, size_t row, int nonfinite) {
    size_t k = (row + 1) * (size_t)ncols + (size_t)j;
    return mcr_err(MCR_EPARSE, "%s:%zu:%zu: column '%s': '%.*s' is not a finite number%s", p->name,
                   p->rline[row + 1], (size_t)p->foff[k] + 1, c->name, (int)(p->flen[k] > 40 ? 40 : p->flen[k]),
                   p->buf + p->rstart[row + 1] + p->foff[k],
                   nonfinite ? " (inf, nan and out-of-range numbers are refused; use an "
                               "NA token for missing values)"
                             : "");
}

/* a numeric column: its type and usual precision from the counts; takes val over */
static void col_numeric(mcr_column *c, const colstat *st, double *val) {
    c->type = (st->n_int == st->n_num) ? MCR_COL_INTEGER : MCR_COL_NUMERIC;
    /* the column's usual precision: the most common count of digits after the point
     * (ties: the larger). Synthetic values are rounded to it and values are written with
     * it when that is exact; a value with more digits (one 14-digit lambda in flchain)
     * keeps its own shortest exact form instead of setting the width of every value. */
    int usual = 0;
    for (int k = 1; k < 18; k++)
        if (st->dech[k] >= st->dech[usual]) usual = k;
    c->decimals = (st->n_exp > 0 || usual > 12) ? -1 : usual;
    c->num = val;
}

/* A categorical column's levels in order of first appearance and its codes. Numbers spelled
 * differently ("1", "1.0") are one level when every value of the column is a number
 * (all_numbers). More than max_levels levels (> 0) is an error at the row of the first level
 * too many; with first (a rank's part: the file's count decides), no error: the row where
 * each level first appears goes into first[level], and filling stops at max_levels + 1
 * levels (the file has too many then). */
static int col_fill_cat(const csvparse *p, mcr_column *c, int j, int ncols, const na_set *nas,
                        const double *val, int all_numbers, int max_levels, size_t **first) {
    size_t nrows = p->nr - 1, capf = 0;
    const char *b = p->buf;
    c->type = MCR_COL_CATEGORICAL;
    c->decimals = 0;
    c->cat = mcr_malloc_big((nrows ? nrows : 1) * sizeof(int32_t));
    if (!c->cat || !(c->map = mcr_strmap_new())) return MCR_NOMEM();
    for (size_t i = 0; i < nrows; i++) {
        size_t k = (i + 1) * (size_t)ncols + (size_t)j;
        const char *s = b + p->rstart[i + 1] + p->foff[k];
        size_t len = p->flen[k];
        if (na_has(nas, s, len)) {
            c->cat[i] = -1;
            continue;
        }
        char key[64];
        const char *ks = s;
        size_t kl = len;
        if (all_numbers) {
            kl = numeric_key_of(val[i], s, len, key);
            ks = key;
        }
        int code = mcr_strmap_get(c->map, ks, kl);
        if (code < 0) {
            if (max_levels > 0 && c->nlevels >= max_levels) {
                if (first && c->nlevels == max_levels + 1) return MCR_OK; /* too many: known */
                if (!first) {
                    size_t line = p->rline[i + 1], col = (size_t)p->foff[k] + 1;
                    return mcr_err(MCR_EPARSE,
                                   "%s:%zu:%zu: column '%s' has more than %d distinct levels; "
                                   "drop it (`drop`) or declare it numeric (`numeric`)",
                                   p->name, line, col, c->name, max_levels);
                }
            }
            code = add_level_keyed(c, ks, kl, s, len);
            if (code < 0) return code;
            if (first) {
                if ((size_t)code >= capf) {
                    size_t nc = capf ? 2 * capf : 64;
                    size_t *nf = realloc(*first, nc * sizeof(size_t));
                    if (!nf) return MCR_NOMEM();
                    *first = nf, capf = nc;
                }
                (*first)[code] = i;
            }
        }
        c->cat[i] = code;
    }
    return MCR_OK;
}

/* Type and fill column `c` from field j of every record after the header. */
static int build_column(csvparse *p, mcr_column *c, int j, int ncols, char **na, int nna,
                        int force_cat, int force_num, int max_levels) {
    size_t nrows = p->nr - 1;
    na_set nas;
    na_set_init(&nas, na, nna);
    colstat st;
    double *val = mcr_malloc_big((nrows ? nrows : 1) * sizeof(double));
    if (!val) return MCR_NOMEM();
    col_scan(p, j, ncols, &nas, val, &st);
    int kind = col_kind(&st, force_cat, force_num);
    if (kind < 0) {
        free(val);
        return col_bad(p, c, j, ncols, (size_t)st.first_bad, st.n_nonfinite > 0);
    }
    if (kind) {
        col_numeric(c, &st, val);
        return MCR_OK;
    }
    int all_numbers = st.n_other == 0 && st.n_nonfinite == 0 && st.n_num > 0;
    int rc = col_fill_cat(p, c, j, ncols, &nas, val, all_numbers, max_levels, NULL);
    free(val);
    return rc ? rc : sort_levels(c, nrows, all_numbers);
}

/* A rank's levels of a categorical column (col_fill_cat with first) merged with every other
 * rank's, in rank order: the file's levels in order of first appearance, spelled as they
 * first appear, then its codes remapped; more than max_levels is the error a single reader
 * gives, at the row where the file's first level too many appears. The same on every rank. */
static int col_merge_levels(mcr_dist *d, const csvparse *p, mcr_column *c, int j, int ncols,
                            const size_t *first, int all_numbers, int max_levels) {
    size_t nrows = p->nr - 1, nb = 0;
    for (int k = 0; k < c->nlevels; k++) nb += 20 + strlen(c->levels[k]);
    char *send = malloc(nb + 1), *all = NULL, *q = send;
    size_t *off = NULL;
    int *remap = NULL, rc;
    mcr_column m;
    memset(&m, 0, sizeof m);
    if (!send) return MCR_NOMEM();
    for (int k = 0; k < c->nlevels; k++) { /* line u64, column u64, length u32, bytes */
        size_t f = (size_t)(first[k] + 1) * (size_t)ncols + (size_t)j;
        uint64_t line = p->rline[first[k] + 1], col = (uint64_t)p->foff[f] + 1;
        uint32_t len = (uint32_t)strlen(c->levels[k]);
        memcpy(q, &line, 8), memcpy(q + 8, &col, 8), memcpy(q + 16, &len, 4);
        memcpy(q + 20, c->levels[k], len);
        q += 20 + len;
    }
    if ((rc = dist_allgatherv(d, send, nb, &all, &off))) goto done;
    if (!(m.map = mcr_strmap_new())) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (size_t at = 0; at < off[d->size]; ) {
        uint64_t line, col;
        uint32_t len;
        memcpy(&line, all + at, 8), memcpy(&col, all + at + 8, 8), memcpy(&len, all + at + 16, 4);
        const char *s = all + at + 20;
        at += 20 + (size_t)len;
        char key[64];
        const char *ks = s;
        size_t kl = len;
        if (all_numbers) kl = mcr_numeric_key(s, len, key), ks = key;
        if (mcr_strmap_get(m.map, ks, kl) >= 0) continue;
        if (max_levels > 0 && m.nlevels >= max_levels) {
            rc = mcr_err(MCR_EPARSE,
                         "%s:%llu:%llu: column '%s' has more than %d distinct levels; "
                         "drop it (`drop`) or declare it numeric (`numeric`)",
                         p->name, (unsigned long long)line, (unsigned long long)col, c->name, max_levels);
            goto done;
        }
        if ((rc = add_level_keyed(&m, ks, kl, s, len)) < 0) goto done;
        rc = MCR_OK;
    }
    if (!(remap = malloc(((size_t)c->nlevels + 1) * sizeof(int)))) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int k = 0; k < c->nlevels; k++) {
        const char *s = c->levels[k];
        char key[64];
        size_t kl = all_numbers ? mcr_numeric_key(s, strlen(s), key) : 0;
        remap[k] = kl ? mcr_strmap_get(m.map, key, kl) : mcr_strmap_get(m.map, s, strlen(s));
        MCR_ASSERT(remap[k] >= 0);
    }
    for (size_t i = 0; i < nrows; i++)
        if (c->cat[i] >= 0) c->cat[i] = remap[c->cat[i]];
    for (int k = 0; k < c->nlevels; k++) free(c->levels[k]);
    free(c->levels);
    mcr_strmap_free(c->map);
    c->levels = m.levels, c->map = m.map, c->nlevels = m.nlevels, c->cap_levels = m.cap_levels;
    memset(&m, 0, sizeof m);
done:
    for (int k = 0; k < m.nlevels; k++) free(m.levels[k]);
    free(m.levels);
    mcr_strmap_free(m.map);
    free(remap);
    free(send);
    free(all);
    free(off);
    return rc;
}

/* The columns of a rank's part (build_column across ranks): each rank scans its records,
 * the counts of every rank are gathered so that every rank types each column as the whole
 * file would be typed, categorical levels are merged in rank order (= file order), and the
 * first error in column order is the one a single reader reports, from the rank that holds
 * its row. Every rank returns the same status (dist_agree). */
static int build_columns_part(const csvpart *part, csvparse *p, mcr_table *t, const int *src, int ncols,
                              char **na, int nna, char **fcat, int nfcat, char **fnum, int nfnum,
                              int max_levels) {
    mcr_dist *d = part->d;
    int nk = t->ncols, P = d->size, rc = MCR_OK;
    size_t nrows = p->nr - 1;
    na_set nas;
    na_set_init(&nas, na, nna);
    size_t blob = sizeof(uint64_t) + (size_t)nk * sizeof(colstat);
    char *mine = calloc(1, blob), *all = malloc((size_t)P * blob);
    double **val = calloc((size_t)(nk ? nk : 1), sizeof(double *));
    colstat *g = calloc((size_t)(nk ? nk : 1), sizeof(colstat));
    int *kind = calloc((size_t)(nk ? nk : 1), sizeof(int));
    size_t *first = NULL;
    if (!mine || !all || !val || !g || !kind) rc = MCR_NOMEM();
    for (int q = 0; q < nk && !rc; q++)
        if (!(val[q] = mcr_malloc_big((nrows ? nrows : 1) * sizeof(double)))) rc = MCR_NOMEM();
    if ((rc = dist_agree(d, rc))) goto done;
    uint64_t nr64 = nrows;
    memcpy(mine, &nr64, sizeof nr64);
    colstat *st = (colstat *)(void *)(mine + sizeof(uint64_t));
#pragma omp parallel for schedule(dynamic, 1) if ((double)nrows * nk > 200000.0)
    for (int q = 0; q < nk; q++) col_scan(p, src[q], ncols, &nas, val[q], &st[q]);
    if ((rc = d->allgather(d, mine, blob, all))) goto done;
    /* rows before this rank's, rows in all; each column's counts over the file */
    t->part = 1;
    t->row0 = t->ntotal = 0;
    for (int r = 0; r < P; r++) {
        uint64_t n;
        memcpy(&n, all + (size_t)r * blob, sizeof n);
        if (r < d->rank) t->row0 += (size_t)n;
        t->ntotal += (size_t)n;
    }
    int qbad = nk, rbad = -1; /* the first column that cannot be typed, the rank of its first bad row */
    for (int q = 0; q < nk; q++) {
        memset(&g[q], 0, sizeof g[q]);
        g[q].first_bad = UINT64_MAX;
        for (int r = 0; r < P; r++) {
            colstat s;
            memcpy(&s, all + (size_t)r * blob + sizeof(uint64_t) + (size_t)q * sizeof(colstat), sizeof s);
            colstat_add(&g[q], &s);
        }
        const char *name = t->cols[q].name;
        kind[q] = col_kind(&g[q], in_list(fcat, nfcat, name, strlen(name)), in_list(fnum, nfnum, name, strlen(name)));
        if (kind[q] < 0 && qbad == nk) {
            qbad = q;
            for (int r = 0; r < P && rbad < 0; r++) {
                colstat s;
                memcpy(&s, all + (size_t)r * blob + sizeof(uint64_t) + (size_t)q * sizeof(colstat), sizeof s);
                if (s.first_bad != UINT64_MAX) rbad = r;
            }
        }
    }
    /* the columns before the first untypeable one, in column order: a level error there comes
     * first (the same on every rank) */
    for (int q = 0; q < qbad && !rc; q++) {
        mcr_column *c = &t->cols[q];
        if (kind[q]) {
            col_numeric(c, &g[q], val[q]);
            val[q] = NULL;
            continue;
        }
        int all_numbers = g[q].n_other == 0 && g[q].n_nonfinite == 0 && g[q].n_num > 0;
        free(first);
        first = NULL;
        rc = col_fill_cat(p, c, src[q], ncols, &nas, val[q], all_numbers, max_levels, &first);
        rc = dist_agree(d, rc); /* out of memory somewhere: every rank stops here */
        if (!rc) rc = col_merge_levels(d, p, c, src[q], ncols, first, all_numbers, max_levels);
        if (!rc) rc = sort_levels(c, nrows, all_numbers);
        rc = dist_agree(d, rc);
    }
    if (!rc && qbad < nk) {
        rc = d->rank == rbad ? col_bad(p, &t->cols[qbad], src[qbad], ncols, (size_t)st[qbad].first_bad,
                                      g[qbad].n_nonfinite > 0)
                             : MCR_OK;
        rc = dist_agree(d, rc);
    }
done:
    for (int q = 0; val && q < nk; q++) free(val[q]);
    free(val);
    free(mine);
    free(all);
    free(g);
    free(kind);
    free(first);
    return rc;
}

/* Read the CSV text buf[0..len) (buf has room for len + 1 bytes and is taken over: unquoted in
 * place, then freed). */
static int read_csv_buf(char *buf, size_t len, const char *name, const mcr_csv_options *opt,
                        const csvpart *part, mcr_table **out) {
    *out = NULL;
    const char *data = buf;
    mcr_csv_options dflt;
    if (!opt) {
        mcr_csv_options_default(&dflt);
        opt = &dflt;
    }
    csvparse p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.part = part;
    mcr_dist *d = part ? part->d : NULL; /* across ranks: each phase's first error, agreed */
    mcr_table *t = NULL;
    char **na = NULL, **fcat = NULL, **fnum = NULL, **drop = NULL;
    int nna = 0, nfcat = 0, nfnum = 0, ndrop = 0, rc = MCR_OK;
    char *keep = NULL;
    int *src = NULL, *crc = NULL; /* source field of each kept column; its build status */
    if (len == 0) {
        rc = mcr_err(MCR_EPARSE, "%s: empty file (no header row)", name);
        goto fail;
    }
    const void *nul = memchr(data, 0, len);
    if (nul) {
        size_t l, c;
        locate_p(&p, data, (size_t)((const char *)nul - data), &l, &c);
        rc = mcr_err(MCR_EPARSE, "%s:%zu:%zu: NUL byte in a text file (is this a CSV file?)",
                     name, l, c);
    }
    if (d && (rc = dist_agree(d, rc))) goto fail;
    if (rc) goto fail;
    size_t bad;
    if (!utf8_check((const unsigned char *)data, len, &bad)) {
        size_t l, c;
        locate_p(&p, data, bad, &l, &c);
        rc = mcr_err(MCR_EPARSE, "%s:%zu:%zu: invalid UTF-8 byte 0x%02X (save the file as UTF-8)",
                     name, l, c, (unsigned char)data[bad]);
    }
    if (d && (rc = dist_agree(d, rc))) goto fail;
    if (rc) goto fail;
    p.buf = buf;
    buf = NULL;
    p.buf[len] = 0;
    p.len = len;
    char sep = opt->sep ? opt->sep : detect_sep(p.buf, len);
    int ncols = 0;
    rc = csv_tokenize(&p, sep, &ncols);
    if (d) rc = dist_agree(d, rc);
    if (rc) goto fail;

    na = mcr_split_list(opt->na_tokens ? opt->na_tokens : ",NA,NaN,?,null", &nna);
    fcat = mcr_split_list(opt->categorical, &nfcat);
    fnum = mcr_split_list(opt->numeric, &nfnum);
    drop = mcr_split_list(opt->drop, &ndrop);
    if (!na) {
        rc = MCR_NOMEM();
        goto fail;
    }
    /* header: names must be unique; option lists must name existing columns */
    keep = calloc((size_t)ncols, 1);
    if (!keep) {
        rc = MCR_NOMEM();
        goto fail;
    }
    for (int j = 0; j < ncols; j++) {
        keep[j] = 1;
        const char *s = p.buf + p.rstart[0] + p.foff[j];
        for (int k = 0; k < j; k++)
            if (p.flen[k] == p.flen[j] && memcmp(p.buf + p.rstart[0] + p.foff[k], s, p.flen[j]) == 0) {
                rc = mcr_err(MCR_EPARSE, "%s:%zu:%zu: duplicate column name '%.*s'", name,
                             p.rline[0], (size_t)p.foff[j] + 1, (int)p.flen[j], s);
                goto fail;
            }
        if (in_list(drop, ndrop, s, p.flen[j])) keep[j] = 0;
    }
    char **lists[3] = {fcat, fnum, drop};
    int nlists[3] = {nfcat, nfnum, ndrop};
    const char *optname[3] = {"`categorical`", "`numeric`", "`drop`"};
    for (int L = 0; L < 3; L++)
        for (int i = 0; i < nlists[L]; i++) {
            int found = 0;
            for (int j = 0; j < ncols && !found; j++)
                found = p.flen[j] == strlen(lists[L][i]) &&
                        memcmp(p.buf + p.rstart[0] + p.foff[j], lists[L][i], p.flen[j]) == 0;
            if (!found) {
                rc = mcr_err(MCR_EINVAL, "%s: %s names column '%s', which %s does not have",
                             optname[L], optname[L], lists[L][i], name);
                goto fail;
            }
        }

    t = calloc(1, sizeof *t);
    if (!t) {
        rc = MCR_NOMEM();
        goto fail;
    }
    t->sep = sep;
    t->source = mcr_strdup(name);
    t->nrows = t->cap = p.nr - 1;
    int nkeep = 0;
    for (int j = 0; j < ncols; j++) nkeep += keep[j];
    t->cols = calloc((size_t)(nkeep ? nkeep : 1), sizeof(mcr_column));
    if (!t->cols || !t->source) {
        rc = MCR_NOMEM();
        goto fail;
    }
    src = malloc((size_t)(nkeep ? nkeep : 1) * sizeof(int));
    crc = calloc((size_t)(nkeep ? nkeep : 1), sizeof(int));
    if (!src || !crc) {
        rc = MCR_NOMEM();
        goto fail;
    }
    for (int j = 0; j < ncols; j++) {
        if (!keep[j]) continue;
        src[t->ncols] = j;
        mcr_column *c = &t->cols[t->ncols++];
        c->name = malloc(p.flen[j] + 1);
        if (!c->name) {
            rc = MCR_NOMEM();
            goto fail;
        }
        memcpy(c->name, p.buf + p.rstart[0] + p.foff[j], p.flen[j]);
        c->name[p.flen[j]] = 0;
    }
    if (part) {
        rc = build_columns_part(part, &p, t, src, ncols, na, nna, fcat, nfcat, fnum, nfnum, opt->max_levels);
        if (rc) goto fail;
        goto done;
    }
    /* columns are typed and filled independently, on several threads for a large table; the
     * first failing column (in column order) is built again on this thread for its message, so
     * the error is the first column's whatever the thread count or schedule */
    {
        int nk = t->ncols;
        int par = (double)(p.nr - 1) * nk > 200000.0;
#pragma omp parallel for schedule(dynamic, 1) if (par)
        for (int q = 0; q < nk; q++) {
            mcr_column *c = &t->cols[q];
            int fc = in_list(fcat, nfcat, c->name, strlen(c->name));
            int fn = in_list(fnum, nfnum, c->name, strlen(c->name));
            crc[q] = build_column(&p, c, src[q], ncols, na, nna, fc, fn, opt->max_levels);
        }
        for (int q = 0; q < nk; q++) {
            if (!crc[q]) continue;
            rc = crc[q];
            mcr_column again = {.name = t->cols[q].name};
            int fc = in_list(fcat, nfcat, again.name, strlen(again.name));
            int fn = in_list(fnum, nfnum, again.name, strlen(again.name));
            int rc2 = build_column(&p, &again, src[q], ncols, na, nna, fc, fn, opt->max_levels);
            again.name = NULL;
            column_free(&again);
            if (rc2 != rc) rc = MCR_NOMEM();
            goto fail;
        }
    }
    goto done;
fail:
    mcr_table_free(t);
    t = NULL;
done:
    free(buf);
    free(p.buf);
    free(p.foff);
    free(p.flen);
    free(p.rline);
    free(p.rstart);
    free(na);
    free(fcat);
    free(fnum);
    free(drop);
    free(keep);
    free(src);
    free(crc);
    *out = t;
    return rc;
}

int mcr_table_read_csv_mem(const char *data, size_t len, const char *name,
                           const mcr_csv_options *opt, mcr_table **out) {
    *out = NULL;
    char *buf = malloc(len + 1);
    if (!buf) return MCR_NOMEM();
    memcpy(buf, data, len);
    return read_csv_buf(buf, len, name, opt, NULL, out);
}

int mcr_table_read_csv(const char *path, const mcr_csv_options *opt, mcr_table **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mcr_err(MCR_EIO, "%s: cannot open: %s", path, strerror(errno));
    char *data = NULL;
    size_t len = 0, cap = 0, want = 1 << 20;
    struct stat st; /* a regular file is read into one buffer of its size */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
        want = (size_t)st.st_size + 65536;
    for (;;) {
        if (cap - len < 65536) {
            size_t nc = cap ? cap * 2 : want;
            char *nd = mcr_realloc_big(data, nc);
            if (!nd) {
                free(data);
                fclose(f);
                return MCR_NOMEM();
            }
            data = nd;
            cap = nc;
        }
        size_t r = fread(data + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(data);
        return mcr_err(MCR_EIO, "%s: read error", path);
    }
    return read_csv_buf(data, len, path, opt, NULL, out); /* cap - len >= 65536: room for the NUL */
}

/* ------------------------------------------------------------------ writing */
static void write_field(FILE *f, const char *s, char sep) {
    size_t n = strlen(s);
    int q = n > 0 && (s[0] == ' ' || s[n - 1] == ' ');
    /* any candidate separator is quoted too, so that detection reads the file back the same */
    for (size_t i = 0; i < n && !q; i++)
        q = s[i] == sep || s[i] == '"' || s[i] == '\n' || s[i] == '\r' || s[i] == ',' ||
            s[i] == ';' || s[i] == '\t';
    if (!q) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

static void write_number(FILE *f, double v, mcr_coltype type, int decimals) {
    if (isnan(v)) return;
    if (type == MCR_COL_INTEGER && decimals <= 0) {
        fprintf(f, "%.0f", v);
        return;
    }
    char buf[64];
    if (decimals >= 0) { /* the column's precision when exact, else the value's shortest form */
        snprintf(buf, sizeof buf, "%.*f", decimals, v);
        if (strtod(buf, NULL) == v) {
            fputs(buf, f);
            return;
        }
    }
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, f);
}

int mcr_table_write_csv_stream(const mcr_table *t, FILE *f) {
    char sep = t->sep ? t->sep : ',';
    /* with one column an empty field would make a blank line, which readers skip: quote it */
    int one = t->ncols == 1;
    for (int j = 0; j < t->ncols; j++) {
        if (j) fputc(sep, f);
        const char *nm = t->cols[j].name;
        if (one && !nm[0]) fputs("\"\"", f);
        else if (j == 0 && !strncmp(nm, "\xEF\xBB\xBF", 3)) { /* would read back as a BOM */
            fputc('"', f);
            for (const char *q = nm; *q; q++) {
                if (*q == '"') fputc('"', f);
                fputc(*q, f);
            }
            fputc('"', f);
        } else
            write_field(f, nm, sep);
    }
    fputc('\n', f);
    for (size_t i = 0; i < t->nrows; i++) {
        for (int j = 0; j < t->ncols; j++) {
            const mcr_column *c = &t->cols[j];
            if (j) fputc(sep, f);
            if (one && (c->type == MCR_COL_CATEGORICAL ? c->cat[i] < 0 || !c->levels[c->cat[i]][0]
                                                       : isnan(c->num[i]))) {
                fputs("\"\"", f);
                continue;
            }
            if (c->type == MCR_COL_CATEGORICAL) {
                if (c->cat[i] >= 0) write_field(f, c->levels[c->cat[i]], sep);
            } else {
                write_number(f, c->num[i], c->type, c->decimals);
            }
        }
        fputc('\n', f);
    }
    return ferror(f) ? mcr_err(MCR_EIO, "write error") : MCR_OK;
}

int mcr_table_write_csv(const mcr_table *t, const char *path) {
    mcr_afile a;
    int rc = mcr_afile_open(&a, path);
    if (rc) return rc;
    rc = mcr_table_write_csv_stream(t, a.f);
    if (rc) {
        mcr_afile_abort(&a);
        return mcr_err(MCR_EIO, "%s: write error", path);
    }
    return mcr_afile_commit(&a);
}

/* ------------------------------------------------------------------ accessors */
const char *mcr_coltype_name(mcr_coltype t) {
    return t == MCR_COL_CATEGORICAL ? "categorical" : t == MCR_COL_INTEGER ? "integer" : "numeric";
}

size_t mcr_table_nrows(const mcr_table *t) { return t->nrows; }
int mcr_table_ncols(const mcr_table *t) { return t->ncols; }
const char *mcr_table_colname(const mcr_table *t, int j) { return t->cols[j].name; }
mcr_coltype mcr_table_coltype(const mcr_table *t, int j) { return t->cols[j].type; }
const char *mcr_table_source(const mcr_table *t) { return t->source ? t->source : ""; }

int mcr_table_find(const mcr_table *t, const char *name) {
    for (int j = 0; j < t->ncols; j++)
        if (strcmp(t->cols[j].name, name) == 0) return j;
    return -1;
}

double mcr_table_num(const mcr_table *t, size_t i, int j) {
    const mcr_column *c = &t->cols[j];
    if (c->type == MCR_COL_CATEGORICAL) return NAN;
    return c->num[i];
}

int mcr_table_cat(const mcr_table *t, size_t i, int j) {
    const mcr_column *c = &t->cols[j];
    return c->type == MCR_COL_CATEGORICAL ? c->cat[i] : -1;
}

int mcr_table_nlevels(const mcr_table *t, int j) { return t->cols[j].nlevels; }
const char *mcr_table_level(const mcr_table *t, int j, int k) { return t->cols[j].levels[k]; }

int mcr_table_level_find(const mcr_table *t, int j, const char *s) {
    const mcr_column *c = &t->cols[j];
    for (int k = 0; k < c->nlevels; k++)
        if (strcmp(c->levels[k], s) == 0) return k;
    char key[64];
    size_t kl = mcr_numeric_key(s, strlen(s), key);
    if (kl) {
        for (int k = 0; k < c->nlevels; k++) {
            char key2[64];
            size_t kl2 = mcr_numeric_key(c->levels[k], strlen(c->levels[k]), key2);
            if (kl2 == kl && memcmp(key, key2, kl) == 0) return k;
        }
    }
    return -1;
}

size_t mcr_table_nmissing(const mcr_table *t, int j) {
    const mcr_column *c = &t->cols[j];
    size_t n = 0;
    for (size_t i = 0; i < t->nrows; i++)
        n += c->type == MCR_COL_CATEGORICAL ? c->cat[i] < 0 : isnan(c->num[i]);
    return n;
}

/* ------------------------------------------------------------------ building tables */
int mcr_table_new_like(const mcr_table *like, size_t nrows, mcr_table **out) {
    *out = NULL;
    mcr_table *t = calloc(1, sizeof *t);
    if (!t) return MCR_NOMEM();
    t->sep = like->sep;
    t->source = mcr_strdup(like->source ? like->source : "");
    t->cols = calloc((size_t)(like->ncols ? like->ncols : 1), sizeof(mcr_column));
    if (!t->cols || !t->source) goto nomem;
    t->nrows = t->cap = nrows;
    for (int j = 0; j < like->ncols; j++) {
        const mcr_column *s = &like->cols[j];
        mcr_column *c = &t->cols[j];
        t->ncols = j + 1;
        c->type = s->type;
        c->decimals = s->decimals;
        if (!(c->name = mcr_strdup(s->name))) goto nomem;
        if (s->type == MCR_COL_CATEGORICAL) {
            if (!(c->cat = mcr_malloc_big((nrows ? nrows : 1) * sizeof(int32_t)))) goto nomem;
            for (int k = 0; k < s->nlevels; k++)
                if (mcr_column_add_level(c, s->levels[k], strlen(s->levels[k])) < 0) goto nomem;
        } else if (!(c->num = mcr_malloc_big((nrows ? nrows : 1) * sizeof(double)))) {
            goto nomem;
        }
    }
    /* every value missing; the pages first touched by several threads (first touch is what
     * costs here: a column of 800k doubles, 6.4 MB) */
#pragma omp parallel for schedule(dynamic) if ((size_t)t->ncols * nrows > 1000000)
    for (int j = 0; j < t->ncols; j++) {
        mcr_column *c = &t->cols[j];
        if (c->type == MCR_COL_CATEGORICAL)
            for (size_t i = 0; i < nrows; i++) c->cat[i] = -1;
        else
            for (size_t i = 0; i < nrows; i++) c->num[i] = NAN;
    }
    *out = t;
    return MCR_OK;
nomem:
    mcr_table_free(t);
    return MCR_NOMEM();
}

int mcr_table_append(mcr_table *dst, const mcr_table *src) {
    MCR_ASSERT(dst->ncols == src->ncols);
    size_t n = dst->nrows + src->nrows;
    if (n > dst->cap) {
        size_t nc = dst->cap * 2 > n ? dst->cap * 2 : n;
        for (int j = 0; j < dst->ncols; j++) {
            mcr_column *c = &dst->cols[j];
            if (c->type == MCR_COL_CATEGORICAL) {
                int32_t *p = mcr_realloc_big(c->cat, nc * sizeof(int32_t));
                if (!p) return MCR_NOMEM();
                c->cat = p;
            } else {
                double *p = mcr_realloc_big(c->num, nc * sizeof(double));
                if (!p) return MCR_NOMEM();
                c->num = p;
            }
        }
        dst->cap = nc;
    }
    for (int j = 0; j < dst->ncols; j++) {
        mcr_column *c = &dst->cols[j];
        const mcr_column *s = &src->cols[j];
        MCR_ASSERT(c->type == s->type);
        if (c->type == MCR_COL_CATEGORICAL) {
            for (size_t i = 0; i < src->nrows; i++) {
                int code = s->cat[i];
                if (code >= 0) {
                    const char *lv = s->levels[code];
                    code = mcr_column_add_level(c, lv, strlen(lv));
                    if (code < 0) return code;
                }
                c->cat[dst->nrows + i] = code;
            }
        } else {
            memcpy(c->num + dst->nrows, s->num, src->nrows * sizeof(double));
        }
    }
    dst->nrows = n;
    return MCR_OK;
}

mcr_table *mcr_table_empty(size_t nrows, char sep) {
    mcr_table *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->nrows = t->cap = nrows;
    t->sep = sep ? sep : ',';
    t->source = mcr_strdup("");
    if (!t->source) {
        free(t);
        return NULL;
    }
    return t;
}

/* Add a column of missing values; returns its index or a negative status. */
int mcr_table_add_column(mcr_table *t, const char *name, mcr_coltype type, int decimals) {
    mcr_column *nc = realloc(t->cols, (size_t)(t->ncols + 1) * sizeof(mcr_column));
    if (!nc) return MCR_NOMEM();
    t->cols = nc;
    mcr_column *c = &t->cols[t->ncols];
    memset(c, 0, sizeof *c);
    c->type = type;
    c->decimals = decimals;
    size_t cap = t->cap ? t->cap : 1;
    if (!(c->name = mcr_strdup(name))) return MCR_NOMEM();
    if (type == MCR_COL_CATEGORICAL) {
        if (!(c->cat = mcr_malloc_big(cap * sizeof(int32_t)))) return free(c->name), MCR_NOMEM();
        for (size_t i = 0; i < cap; i++) c->cat[i] = -1;
    } else {
        if (!(c->num = mcr_malloc_big(cap * sizeof(double)))) return free(c->name), MCR_NOMEM();
#pragma omp parallel for schedule(static) if (cap > 200000) /* first touch by every thread */
        for (size_t i = 0; i < cap; i++) c->num[i] = NAN;
    }
    return t->ncols++;
}

int mcr_table_take(const mcr_table *t, const size_t *rows, size_t n, mcr_table **out) {
    int rc = mcr_table_new_like(t, n, out);
    if (rc) return rc;
    mcr_table *o = *out;
    for (int j = 0; j < t->ncols; j++) {
        const mcr_column *s = &t->cols[j];
        mcr_column *c = &o->cols[j];
        for (size_t i = 0; i < n; i++) {
            size_t r = rows ? rows[i] : i;
            if (s->type == MCR_COL_CATEGORICAL) c->cat[i] = s->cat[r];
            else c->num[i] = s->num[r];
        }
    }
    return MCR_OK;
}

/* ---- row identity (exact-copy checks) ------------------------------------------------------ */
int mcr_hrow_cmp(const void *a, const void *b) {
    const mcr_hrow *x = a, *y = b;
    return x->h != y->h ? (x->h < y->h ? -1 : 1) : (x->row > y->row) - (x->row < y->row);
}

uint64_t mcr_table_row_hash(const mcr_table *t, size_t i, const int *cols, int nc) {
    uint64_t h = 1469598103934665603ull;
    for (int a = 0; a < nc; a++) {
        const mcr_column *c = &t->cols[cols[a]];
        uint64_t v;
        if (c->type == MCR_COL_CATEGORICAL) {
            const char *s = c->cat[i] >= 0 ? c->levels[c->cat[i]] : "\x01";
            v = 1469598103934665603ull;
            for (; *s; s++) v = (v ^ (unsigned char)*s) * 1099511628211ull;
        } else {
            double x = c->num[i];
            if (x == 0) x = 0;
            if (isnan(x)) x = NAN;
            memcpy(&v, &x, 8);
        }
        h = (h ^ v) * 1099511628211ull;
        h ^= h >> 29;
    }
    return h;
}

int mcr_table_rows_equal(const mcr_table *a, size_t i, const mcr_table *b, size_t j, const int *cols,
                         int nc) {
    for (int q = 0; q < nc; q++) {
        const mcr_column *x = &a->cols[cols[q]], *y = &b->cols[cols[q]];
        if (x->type == MCR_COL_CATEGORICAL) {
            if ((x->cat[i] < 0) != (y->cat[j] < 0)) return 0;
            if (x->cat[i] >= 0 && strcmp(x->levels[x->cat[i]], y->levels[y->cat[j]])) return 0;
        } else {
            double u = x->num[i], v = y->num[j];
            if (!(u == v || (isnan(u) && isnan(v)))) return 0;
        }
    }
    return 1;
}

int mcr_table_slice(const mcr_table *t, size_t first, size_t n, mcr_table **out) {
    *out = NULL;
    if (first > t->nrows || n > t->nrows - first) return mcr_err(MCR_EINVAL, "slice [%zu, +%zu) outside %zu rows", first, n, t->nrows);
    size_t *idx = malloc((n + 1) * sizeof(size_t));
    if (!idx) return MCR_NOMEM();
    for (size_t i = 0; i < n; i++) idx[i] = first + i;
    int rc = mcr_table_take(t, idx, n, out);
    free(idx);
    return rc;
}

/* ------------------------------------------------------------------ model file section */
/* The schema (SCHM): sep i32, ncols i32, per column: name str, type i32, decimals i32,
 * nlevels i32, levels str[nlevels]. */
void mcr_schema_put(mcr_wbuf *w, const mcr_table *s) {
    mcr_put_i32(w, s->sep);
    mcr_put_i32(w, s->ncols);
    for (int j = 0; j < s->ncols; j++) {
        const mcr_column *c = &s->cols[j];
        mcr_put_str(w, c->name);
        mcr_put_i32(w, c->type);
        mcr_put_i32(w, c->decimals);
        mcr_put_i32(w, c->nlevels);
        for (int k = 0; k < c->nlevels; k++) mcr_put_str(w, c->levels[k]);
    }
}

int mcr_schema_get(mcr_rbuf *r, const char *path, mcr_table **out) {
    *out = NULL;
    int rc = MCR_OK;
    mcr_table *s = mcr_table_empty(0, ',');
    if (!s) return MCR_NOMEM();
    s->sep = (char)mcr_get_i32(r);
    int ncols = mcr_get_i32(r);
    if (r->bad || ncols < 1 || ncols > 1000000) {
        rc = mcr_err(MCR_ECORRUPT, "%s: damaged schema (column count)", path);
        goto fail;
    }
    for (int j = 0; j < ncols; j++) {
        char *name = mcr_get_str(r);
        int type = mcr_get_i32(r), dec = mcr_get_i32(r), nl = mcr_get_i32(r);
        if (r->bad || !name || type < 0 || type > 2 || nl < 0 || nl > 100000000) {
            free(name);
            rc = mcr_err(MCR_ECORRUPT, "%s: damaged schema (column %d)", path, j + 1);
            goto fail;
        }
        int idx = mcr_table_add_column(s, name, type, dec);
        free(name);
        if (idx < 0) {
            rc = MCR_NOMEM();
            goto fail;
        }
        for (int k = 0; k < nl; k++) {
            char *lv = mcr_get_str(r);
            if (!lv || mcr_column_add_level(&s->cols[idx], lv, strlen(lv)) != k) {
                free(lv);
                rc = mcr_err(MCR_ECORRUPT, "%s: damaged schema (levels of column %d)", path, j + 1);
                goto fail;
            }
            free(lv);
        }
    }
    *out = s;
    return MCR_OK;
fail:
    mcr_table_free(s);
    return rc;
}

/* ------------------------------------------------------------------ column roles, levels, bands
 * What describe, augment, evaluate and assess share: one check of a target / sensitive / group
 * column, turning a column of a few integer codes into levels, banding a numeric column,
 * binarising a class column, and the rarest class. */

/* number of distinct values of column j if it is numeric with only integer values and at most
 * MCR_MAX_CODES of them (0 otherwise, or for a column with no values) */
int mcr_int_codes(const mcr_table *t, int j) {
    const mcr_column *c = &t->cols[j];
    if (c->type == MCR_COL_CATEGORICAL) return 0;
    if (t->part) { /* the whole file's codes (a collective) */
        mcr_table *g;
        if (mcr_table_gather_column(t, j, &g)) return 0;
        int n = mcr_int_codes(g, 0);
        mcr_table_free_gathered(g);
        return n;
    }
    double seen[MCR_MAX_CODES];
    int n = 0;
    for (size_t i = 0; i < t->nrows; i++) {
        double v = c->num[i];
        if (isnan(v)) continue;
        if (v != floor(v) || fabs(v) > 1e15) return 0;
        int k = 0;
        while (k < n && seen[k] != v) k++;
        if (k == n) {
            if (n == MCR_MAX_CODES) return 0;
            seen[n++] = v;
        }
    }
    return n;
}

int mcr_role_column(const mcr_table *t, const char *role, const char *name, int flags, int *j) {
    *j = -1;
    if (!name) return MCR_OK;
    int k = mcr_table_find(t, name);
    if (k < 0) return mcr_err(MCR_EINVAL, "%s column '%s' does not exist in %s", role, name, mcr_table_source(t));
    if ((flags & MCR_ROLE_LEVELS) && t->cols[k].type != MCR_COL_CATEGORICAL && !mcr_int_codes(t, k)) {
        if (flags & MCR_ROLE_BANDS)
            return mcr_err(MCR_EINVAL, "%s column '%s' is numeric with more than %d distinct values; band it "
                           "with `bands` A,B,... or declare it with `categorical` %s", role, name, MCR_MAX_CODES, name);
        return mcr_err(MCR_EINVAL, "%s column '%s' is numeric with more than %d distinct values; declare it "
                       "with `categorical` %s", role, name, MCR_MAX_CODES, name);
    }
    if ((flags & MCR_ROLE_VALUES) && mcr_table_nmissing(t, k) == t->nrows)
        return mcr_err(MCR_EINVAL, "%s column '%s' has no values (all missing)", role, name);
    *j = k;
    return MCR_OK;
}

/* a numeric column (integer values) -> levels spelled as the CSV writes them, in numeric order */
int mcr_table_codes_to_levels(mcr_table *t, int j) {
    mcr_column *c = &t->cols[j];
    if (c->type == MCR_COL_CATEGORICAL) return MCR_OK;
    size_t n = t->nrows;
    /* the levels come from the whole column: a part table's gathered from every rank */
    mcr_table *g = NULL;
    int rc = t->part ? mcr_table_gather_column(t, j, &g) : MCR_OK;
    if (rc) return rc;
    const double *src = g ? g->cols[0].num : c->num;
    size_t ns = g ? g->nrows : n;
    double *v = malloc((ns ? ns : 1) * sizeof(double));
    int32_t *cat = malloc((t->cap ? t->cap : 1) * sizeof(int32_t));
    if (!v || !cat) return free(v), free(cat), mcr_table_free_gathered(g), MCR_NOMEM();
    size_t m = 0;
    for (size_t i = 0; i < ns; i++)
        if (!isnan(src[i])) {
            if (src[i] != floor(src[i])) {
                free(v), free(cat), mcr_table_free_gathered(g);
                return mcr_err(MCR_EINVAL, "column '%s' has a value that is not an integer (%g)", c->name, src[i]);
            }
            v[m++] = src[i];
        }
    mcr_table_free_gathered(g);
    mcr_sort_doubles(v, m);
    for (size_t i = 0; i < m && !rc; i++) {
        if (i && v[i] == v[i - 1]) continue;
        char name[64];
        snprintf(name, sizeof name, "%.0f", v[i] == 0 ? 0.0 : v[i]); /* -0 spelled 0 */
        if (mcr_column_add_level(c, name, strlen(name)) < 0) rc = MCR_NOMEM();
    }
    free(v);
    if (rc) return free(cat), rc;
    for (size_t i = 0; i < n; i++) {
        if (isnan(c->num[i])) {
            cat[i] = -1;
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "%.0f", c->num[i] == 0 ? 0.0 : c->num[i]);
        cat[i] = mcr_table_level_find(t, j, name);
    }
    free(c->num);
    c->num = NULL;
    c->cat = cat;
    c->type = MCR_COL_CATEGORICAL;
    return MCR_OK;
}

int mcr_table_levelled(const mcr_table *t, const int *cols, int n, mcr_table **out) {
    *out = NULL;
    int need = 0;
    for (int a = 0; a < n; a++) need |= cols[a] >= 0 && t->cols[cols[a]].type != MCR_COL_CATEGORICAL;
    if (!need) return MCR_OK;
    mcr_table *c = NULL;
    int rc = mcr_table_take(t, NULL, t->nrows, &c);
    if (!rc) c->part = t->part, c->row0 = t->row0, c->ntotal = t->ntotal; /* still a part */
    for (int a = 0; a < n && !rc; a++)
        if (cols[a] >= 0) rc = mcr_table_codes_to_levels(c, cols[a]);
    if (rc) return mcr_table_free(c), rc;
    *out = c;
    return MCR_OK;
}

static void reset_levels(mcr_column *c) {
    for (int k = 0; k < c->nlevels; k++) free(c->levels[k]);
    c->nlevels = 0;
    mcr_strmap_free(c->map);
    c->map = NULL;
}

int mcr_table_binarize(mcr_table *t, int j, const char *value) {
    mcr_column *c = &t->cols[j];
    int v = mcr_table_level_find(t, j, value);
    if (v < 0) {
        char lv[512] = "";
        for (int k = 0; k < c->nlevels && strlen(lv) < 400; k++)
            snprintf(lv + strlen(lv), sizeof lv - strlen(lv), "%s'%s'", k ? ", " : "", c->levels[k]);
        return mcr_err(MCR_EINVAL, "positive class '%s' is not a value of '%s' (values: %s)", value, c->name, lv);
    }
    char *keep = mcr_strdup(c->levels[v]);
    if (!keep) return MCR_NOMEM();
    for (size_t i = 0; i < t->nrows; i++)
        if (c->cat[i] >= 0) c->cat[i] = c->cat[i] == v;
    reset_levels(c);
    int rc = mcr_column_add_level(c, "rest", 4) < 0 || mcr_column_add_level(c, keep, strlen(keep)) < 0;
    free(keep);
    return rc ? MCR_NOMEM() : MCR_OK;
}

int mcr_table_band(mcr_table *t, int j, const char *spec) {
    mcr_column *c = &t->cols[j];
    if (c->type == MCR_COL_CATEGORICAL)
        return mcr_err(MCR_EINVAL, "bands of column '%s': the column is already categorical", c->name);
    int nb = 0;
    char **cuts = mcr_split_list(spec, &nb);
    double e[32];
    if (!cuts || nb < 1 || nb > 30) {
        free(cuts);
        return mcr_err(MCR_EINVAL, "bands of column '%s': expected 1 to 30 comma-separated cut points, got '%s'",
                       c->name, spec);
    }
    for (int b = 0; b < nb; b++) {
        if (!mcr_parse_number(cuts[b], strlen(cuts[b]), &e[b], NULL) || (b && e[b] <= e[b - 1])) {
            free(cuts);
            return mcr_err(MCR_EINVAL, "bands of column '%s': cut points must be increasing numbers, got '%s'",
                           c->name, spec);
        }
    }
    int32_t *cat = malloc((t->cap ? t->cap : 1) * sizeof(int32_t));
    if (!cat) return free(cuts), MCR_NOMEM();
    char name[128];
    snprintf(name, sizeof name, "<%s", cuts[0]);
    int rc = mcr_column_add_level(c, name, strlen(name)) < 0;
    for (int b = 1; b < nb && !rc; b++) {
        snprintf(name, sizeof name, "%s-%s", cuts[b - 1], cuts[b]);
        rc = mcr_column_add_level(c, name, strlen(name)) < 0;
    }
    snprintf(name, sizeof name, ">=%s", cuts[nb - 1]);
    rc = rc || mcr_column_add_level(c, name, strlen(name)) < 0;
    free(cuts);
    if (rc) return free(cat), MCR_NOMEM();
    for (size_t i = 0; i < t->nrows; i++) {
        double v = c->num[i];
        int b = 0;
        if (isnan(v)) b = -1;
        else
            while (b < nb && v >= e[b]) b++;
        cat[i] = b;
    }
    free(c->num);
    c->num = NULL;
    c->cat = cat;
    c->type = MCR_COL_CATEGORICAL;
    return MCR_OK;
}

int mcr_minority_class(const size_t *counts, int K, int *unique) {
    int m = -1;
    for (int k = 0; k < K; k++)
        if (counts[k] > 0 && (m < 0 || counts[k] < counts[m])) m = k;
    if (unique) {
        *unique = m >= 0;
        for (int k = 0; k < K && m >= 0; k++)
            if (k != m && counts[k] == counts[m]) *unique = 0;
    }
    return m;
}

/* ------------------------------------------------------------------ reading across ranks */
/* The tokenizer's state between two bytes, as far as record boundaries go (csv_tokenize):
 * REC at a record start, FLD at a field start (spaces before a quote are skipped there), UNQ
 * in an unquoted field, QUO in a quoted one, QQ on a quote in a quoted field (closing, or the
 * first of a doubled one), AFT after a closing quote, CR after a '\r' that ends a record (a
 * '\n' next is part of the same line end). A quote opens a field only at a field start; a
 * byte the tokenizer refuses (after a closing quote) continues as UNQ: the tokenizer reports
 * it, and boundaries after it do not matter. */
static int cs_step(int s, unsigned char ch, char sep) {
    int sp = ch == ' ' && sep != ' ';
    switch (s) {
    case MCR_CS_QUO: return ch == '"' ? MCR_CS_QQ : MCR_CS_QUO;
    case MCR_CS_QQ:
        if (ch == '"') return MCR_CS_QUO;
        /* the quote closed the field */
        /* fall through */
    case MCR_CS_AFT:
        if (ch == (unsigned char)sep) return MCR_CS_FLD;
        if (sp) return MCR_CS_AFT;
        if (ch == '\n') return MCR_CS_REC;
        if (ch == '\r') return MCR_CS_CR;
        return MCR_CS_UNQ;
    case MCR_CS_UNQ:
        if (ch == (unsigned char)sep) return MCR_CS_FLD;
        if (ch == '\n') return MCR_CS_REC;
        if (ch == '\r') return MCR_CS_CR;
        return MCR_CS_UNQ;
    case MCR_CS_CR:
        if (ch == '\n') return MCR_CS_REC;
        /* a record starts at this byte */
        /* fall through */
    default: /* REC, FLD */
        if (ch == (unsigned char)sep || sp) return MCR_CS_FLD;
        if (ch == '"') return MCR_CS_QUO;
        if (ch == '\n') return MCR_CS_REC;
        if (ch == '\r') return MCR_CS_CR;
        return MCR_CS_UNQ;
    }
}

typedef struct {
    unsigned char next[MCR_CS_N][256];
} cs_table;
static void cs_table_init(cs_table *T, char sep) {
    for (int s = 0; s < MCR_CS_N; s++)
        for (int c = 0; c < 256; c++) T->next[s][c] = (unsigned char)cs_step(s, (unsigned char)c, sep);
}

/* Every start state at once: the distinct current states only (after a line end outside
 * quotes they are two: inside a quoted field or not), merged every 4 KiB. */
void mcr_csv_range_map(const char *b, size_t n, char sep, unsigned char map[MCR_CS_N]) {
    cs_table T;
    cs_table_init(&T, sep);
    unsigned char u[MCR_CS_N], idx[MCR_CS_N];
    int nu = MCR_CS_N;
    for (int s = 0; s < MCR_CS_N; s++) u[s] = (unsigned char)s, idx[s] = (unsigned char)s;
    for (size_t i0 = 0; i0 < n; i0 += 4096) {
        size_t i1 = n - i0 < 4096 ? n : i0 + 4096;
        for (int k = 0; k < nu; k++) {
            unsigned char st = u[k];
            for (size_t i = i0; i < i1; i++) st = T.next[st][(unsigned char)b[i]];
            u[k] = st;
        }
        int m = 0; /* merge equal states */
        unsigned char v[MCR_CS_N], w[MCR_CS_N];
        for (int k = 0; k < nu; k++) {
            int f = 0;
            while (f < m && v[f] != u[k]) f++;
            if (f == m) v[m++] = u[k];
            w[k] = (unsigned char)f;
        }
        for (int s = 0; s < MCR_CS_N; s++) idx[s] = w[idx[s]];
        memcpy(u, v, (size_t)m);
        nu = m;
    }
    for (int s = 0; s < MCR_CS_N; s++) map[s] = u[idx[s]];
}

/* a record starts at b[i] when the state before it is REC, or CR and b[i] is not the '\n' of
 * a "\r\n" */
size_t mcr_csv_first_start(const char *b, size_t n, char sep, int s) {
    cs_table T;
    cs_table_init(&T, sep);
    for (size_t i = 0; i < n; i++) {
        if (s == MCR_CS_REC || (s == MCR_CS_CR && b[i] != '\n')) return i;
        s = T.next[s][(unsigned char)b[i]];
    }
    return n;
}

/* lines in b[0, n) (whole records) as the tokenizer counts them (every '\n', and a '\r' that
 * ends a record alone) and as '\n' bytes */
static void count_lines(const char *b, size_t n, char sep, uint64_t *tl, uint64_t *nl) {
    cs_table T;
    cs_table_init(&T, sep);
    uint64_t t = 0, l = 0;
    int s = MCR_CS_REC;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b[i];
        if (ch == '\n') l++;
        else if (ch == '\r' && s != MCR_CS_QUO && (i + 1 == n || b[i + 1] != '\n')) t++;
        s = T.next[s][ch];
    }
    *tl = t + l, *nl = l;
}

static int pread_all(int fd, char *buf, size_t n, uint64_t at, const char *path) {
    while (n) {
        ssize_t r = pread(fd, buf, n, (off_t)at);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return mcr_err(MCR_EIO, "%s: read error%s", path, r < 0 ? "" : " (the file shrank)");
        buf += r, n -= (size_t)r, at += (uint64_t)r;
    }
    return MCR_OK;
}

/* The header: [0, *hdr) holds the BOM, blank lines and the first non-blank record (the
 * header row), read from the start of the file in growing pieces until the header row and
 * the separator's line (detect_sep) are whole. *hb (owned) holds those bytes. */
static int read_header(int fd, uint64_t size, const mcr_csv_options *opt, const char *path, char **hb,
                       size_t *hdr, char *sepo) {
    size_t have = 0, want = 65536;
    char *b = NULL;
    *hb = NULL;
    for (;;) {
        if (want > size) want = (size_t)size;
        char *nb = realloc(b, want + 1);
        if (!nb) return free(b), MCR_NOMEM();
        b = nb;
        int rc = pread_all(fd, b + have, want - have, have, path);
        if (rc) return free(b), rc;
        have = want;
        int eof = have == size;
        /* the separator's line: the first non-blank line must end inside the buffer */
        size_t i0 = 0;
        if (have >= 3 && (unsigned char)b[0] == 0xEF && (unsigned char)b[1] == 0xBB && (unsigned char)b[2] == 0xBF) i0 = 3;
        size_t i = i0;
        while (i < have && (b[i] == '\n' || b[i] == '\r' || b[i] == ' ')) i++;
        int inq = 0, line_whole = 0;
        for (; i < have && !line_whole; i++) {
            if (b[i] == '"') inq = !inq;
            else if (!inq && (b[i] == '\n' || b[i] == '\r')) line_whole = 1;
        }
        char sep = opt && opt->sep ? opt->sep : detect_sep(b, have);
        /* the header row's end: the record start after the first non-blank record */
        cs_table T;
        cs_table_init(&T, sep);
        int s = MCR_CS_REC, nonblank = 0;
        size_t end = (size_t)-1;
        for (size_t k = i0; k < have; k++) {
            unsigned char ch = (unsigned char)b[k];
            if (s == MCR_CS_REC || (s == MCR_CS_CR && ch != '\n')) {
                if (nonblank) {
                    end = k;
                    break;
                }
            }
            if (ch != '\n' && ch != '\r' && !(ch == ' ' && sep != ' ')) nonblank = 1;
            s = T.next[s][ch];
        }
        if (end == (size_t)-1 && eof) end = have; /* the header is the whole file */
        if (end != (size_t)-1 && (line_whole || opt->sep || eof)) {
            *hb = b, *hdr = end, *sepo = sep;
            return MCR_OK;
        }
        want = have * 2;
    }
}

int mcr_table_read_csv_part(const char *path, const mcr_csv_options *opt, mcr_table **out) {
    *out = NULL;
    mcr_dist *d = mcr_dist_get();
    if (d->size == 1) return mcr_table_read_csv(path, opt, out);
    mcr_csv_options dflt;
    if (!opt) {
        mcr_csv_options_default(&dflt);
        opt = &dflt;
    }
    int P = d->size, rank = d->rank, rc = MCR_OK;
    char *hb = NULL, *rb = NULL, *buf = NULL;
    uint64_t *all = NULL;
    size_t H = 0;
    char sep = ',';
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0) rc = mcr_err(MCR_EIO, "%s: cannot open: %s", path, strerror(errno));
    else if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        rc = mcr_err(MCR_EINVAL, "%s: reading across ranks needs a regular file (each rank reads its byte range)", path);
    if (!rc && st.st_size > 0) rc = read_header(fd, (uint64_t)st.st_size, opt, path, &hb, &H, &sep);
    if ((rc = dist_agree(d, rc))) goto done;
    uint64_t S = (uint64_t)st.st_size;
    if (S == 0) { /* the single reader's message */
        if (fd >= 0) close(fd);
        char *e = malloc(1);
        return e ? read_csv_buf(e, 0, path, opt, NULL, out) : MCR_NOMEM();
    }
    /* 1. this rank's byte range of the data [H, S), and the state map over it */
    uint64_t D = S - H, lo = H + D * (uint64_t)rank / (uint64_t)P, hi = H + D * (uint64_t)(rank + 1) / (uint64_t)P;
    size_t rn = (size_t)(hi - lo);
    if (!(rb = mcr_malloc_big(rn + 1)) || !(all = malloc((size_t)P * 2 * sizeof(uint64_t)))) rc = MCR_NOMEM();
    if (!rc) rc = pread_all(fd, rb, rn, lo, path);
    unsigned char map[8] = {0}, *maps = NULL;
    if (!rc) mcr_csv_range_map(rb, rn, sep, map);
    if (!rc && !(maps = malloc((size_t)P * 8))) rc = MCR_NOMEM();
    if ((rc = dist_agree(d, rc))) goto done_maps;
    if ((rc = d->allgather(d, map, 8, maps))) goto done_maps;
    /* 2. the state where the range starts (the header ends at a record start), the first
     * record start in it; every rank's, gathered: a region ends where the next one starts */
    int s0 = MCR_CS_REC;
    for (int r = 0; r < rank; r++) s0 = maps[(size_t)r * 8 + (size_t)s0];
    size_t f = mcr_csv_first_start(rb, rn, sep, s0);
    uint64_t mine[2] = {f < rn ? lo + f : UINT64_MAX, 0};
    free(rb);
    rb = NULL;
    if ((rc = d->allgather(d, mine, 2 * sizeof(uint64_t), all))) goto done_maps;
    uint64_t end = S;
    for (int r = P - 1; r > rank; r--)
        if (all[2 * (size_t)r] != UINT64_MAX) end = all[2 * (size_t)r];
    uint64_t start = mine[0] != UINT64_MAX ? mine[0] : end;
    /* 3. header + region in one buffer; lines before the region (gathered) */
    size_t len = H + (size_t)(end - start);
    if (!(buf = mcr_malloc_big(len + 1))) rc = MCR_NOMEM();
    if (!rc) {
        memcpy(buf, hb, H);
        rc = pread_all(fd, buf + H, (size_t)(end - start), start, path);
    }
    uint64_t cnt[2] = {0, 0}, htl, hnl;
    if (!rc) count_lines(buf + H, len - H, sep, &cnt[0], &cnt[1]);
    if ((rc = dist_agree(d, rc))) goto done_maps;
    if ((rc = d->allgather(d, cnt, sizeof cnt, all))) goto done_maps;
    count_lines(hb, H, sep, &htl, &hnl);
    csvpart part = {d, H, 1 + (size_t)htl, 1 + (size_t)hnl};
    for (int r = 0; r < rank; r++) part.tline += (size_t)all[2 * (size_t)r], part.nline += (size_t)all[2 * (size_t)r + 1];
    close(fd);
    fd = -1;
    free(maps);
    free(hb);
    free(all);
    return read_csv_buf(buf, len, path, opt, &part, out); /* takes buf over */
done_maps:
    free(maps);
done:
    if (fd >= 0) close(fd);
    free(hb);
    free(rb);
    free(buf);
    free(all);
    return rc;
}
