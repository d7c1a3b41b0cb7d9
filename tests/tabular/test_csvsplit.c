/* test_csvsplit.c — the record boundaries of a CSV file read across ranks (table.c:
 * mcr_csv_range_map, mcr_csv_first_start), checked in one process by a fake multi-rank loop:
 * for every split of the data bytes between 2 ranks and many between 3 and 4, each rank's
 * state map over its byte range is composed in rank order, each finds its first record
 * start, and its region runs to the next rank's; parsing header + region of every rank with
 * the real tokenizer must give exactly the file's records, in order, none twice, none lost. */
#include "tabular/tabular.h"
#include "testhelp.h"

/* quoted fields with separators, doubled quotes and newlines; CRLF and a lone CR; spaces
 * before a quote; a quote inside an unquoted field; blank lines; no final newline */
static const char *texts[] = {
    "a,b,c\n1,\"x, y\",2\n3,\"line\nbreak\",4\r\n5,\"q \"\"z\"\"\n,\",6\n\n7,ab\"c,8\r9, \"s\" ,10\n11,\"\n\n\",12",
    "name;v\n\"a;\nb\";1\n\"\"\"\";2\nplain;3\n\"x\r\ny\";4\r\n\"end\"\"\n\";5\n",
    "h1,h2\n\"\",\"\"\n,\n\"multi\nline\nfield, with, commas\",\"\"\"\"\nlast,\"one\"\n",
};

/* every cell's spelling of a table read with every column categorical, row by row */
static char *cells(const mcr_table *t, size_t *n) {
    size_t cap = 1024, len = 0;
    char *s = malloc(cap);
    for (size_t i = 0; i < t->nrows; i++)
        for (int j = 0; j < t->ncols; j++) {
            int k = t->cols[j].cat[i];
            const char *v = k >= 0 ? t->cols[j].levels[k] : "<NA>";
            size_t l = strlen(v);
            while (len + l + 2 > cap) s = realloc(s, cap *= 2);
            memcpy(s + len, v, l);
            len += l;
            s[len++] = '\x1f';
        }
    *n = len;
    return s;
}

static mcr_table *read_cat(const char *buf, size_t len, const char *cols, char sep) {
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    o.categorical = cols;
    o.sep = sep;
    o.na_tokens = "<none>";
    mcr_table *t = NULL;
    int rc = mcr_table_read_csv_mem(buf, len, "split.csv", &o, &t);
    return rc ? NULL : t;
}

/* one text split at lo[1..P-1] (lo[0] = H, lo[P] = S): regions by the fake ranks, their
 * records parsed and compared with the whole file's */
static int check_split(const char *b, size_t H, size_t S, const size_t *lo, int P, const char *cols, char sep,
                       const char *whole, size_t nwhole) {
    unsigned char maps[8][MCR_CS_N];
    for (int r = 0; r < P; r++) mcr_csv_range_map(b + lo[r], lo[r + 1] - lo[r], sep, maps[r]);
    size_t f[8];
    for (int r = 0; r < P; r++) {
        int s = MCR_CS_REC;
        for (int q = 0; q < r; q++) s = maps[q][s];
        size_t k = mcr_csv_first_start(b + lo[r], lo[r + 1] - lo[r], sep, s);
        f[r] = k < lo[r + 1] - lo[r] ? lo[r] + k : (size_t)-1;
    }
    char *got = malloc(nwhole + 1);
    size_t ngot = 0;
    int ok = 1;
    for (int r = 0; r < P && ok; r++) {
        size_t end = S;
        for (int q = P - 1; q > r; q--)
            if (f[q] != (size_t)-1) end = f[q];
        size_t start = f[r] != (size_t)-1 ? f[r] : end;
        char *buf = malloc(H + (end - start) + 1);
        memcpy(buf, b, H);
        memcpy(buf + H, b + start, end - start);
        mcr_table *t = read_cat(buf, H + (end - start), cols, sep);
        free(buf);
        if (!t) {
            ok = 0;
            break;
        }
        size_t n;
        char *c = cells(t, &n);
        if (ngot + n > nwhole || memcmp(whole + ngot, c, n)) ok = 0;
        ngot += n;
        free(c);
        mcr_table_free(t);
    }
    free(got);
    return ok && ngot == nwhole;
}

static void test_all_splits(void) {
    for (size_t x = 0; x < sizeof texts / sizeof *texts; x++) {
        const char *b = texts[x];
        size_t S = strlen(b);
        char sep = x == 1 ? ';' : ',';
        size_t H = strchr(b, '\n') - b + 1; /* the header rows here are one plain line */
        const char *cols = x == 0 ? "a,b,c" : x == 1 ? "name,v" : "h1,h2";
        mcr_table *w = read_cat(b, S, cols, sep);
        CHECK(w != NULL, "text %zu: %s", x, mcr_last_error());
        if (!w) continue;
        size_t nwhole;
        char *whole = cells(w, &nwhole);
        int bad2 = 0, bad3 = 0, bad4 = 0, n3 = 0;
        for (size_t k = H; k <= S; k++) { /* 2 ranks: every split point */
            size_t lo[3] = {H, k, S};
            if (!check_split(b, H, S, lo, 2, cols, sep, whole, nwhole)) bad2++;
        }
        for (size_t k1 = H; k1 <= S; k1++) /* 3 ranks: every pair of split points */
            for (size_t k2 = k1; k2 <= S; k2++) {
                size_t lo[4] = {H, k1, k2, S};
                n3++;
                if (!check_split(b, H, S, lo, 3, cols, sep, whole, nwhole)) bad3++;
            }
        for (size_t k = H; k + 2 <= S; k += 3) { /* 4 ranks: a sliding window of short ranges */
            size_t lo[5] = {H, k, k + 1, k + 2, S};
            if (!check_split(b, H, S, lo, 4, cols, sep, whole, nwhole)) bad4++;
        }
        CHECK(!bad2 && !bad3 && !bad4, "text %zu (%zu rows): bad splits: %d of %zu (2 ranks), %d of %d (3), %d (4)",
              x, w->nrows, bad2, S - H + 1, bad3, n3, bad4);
        free(whole);
        mcr_table_free(w);
    }
}

/* the state map of a range is the composition of its pieces' maps */
static void test_map_composes(void) {
    const char *b = texts[0];
    size_t S = strlen(b);
    unsigned char whole[MCR_CS_N], a[MCR_CS_N], c[MCR_CS_N];
    mcr_csv_range_map(b, S, ',', whole);
    int bad = 0;
    for (size_t k = 0; k <= S; k++) {
        mcr_csv_range_map(b, k, ',', a);
        mcr_csv_range_map(b + k, S - k, ',', c);
        for (int s = 0; s < MCR_CS_N; s++) bad += c[a[s]] != whole[s];
    }
    CHECK(bad == 0, "%d compositions differ", bad);
}

int main(void) {
    TEST(test_all_splits);
    TEST(test_map_composes);
    return DONE();
}
