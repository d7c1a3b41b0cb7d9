/* test_table.c — CSV reading/writing edge cases, type inference, overrides, errors. */
#include "tabular/tabular.h"
#include "testhelp.h"
#include <omp.h>
#include <unistd.h>

static mcr_table *rd(const char *s, const mcr_csv_options *o, int *rc) {
    mcr_table *t = NULL;
    *rc = mcr_table_read_csv_mem(s, strlen(s), "t.csv", o, &t);
    return t;
}


static void test_quotes_crlf_bom(void) {
    int rc;
    const char *s = "\xEF\xBB\xBFname,note,x\r\n"
                    "\"Smith, J\",\"said \"\"hi\"\"\",1.5\r\n"
                    "Doe,\"two\nlines\",2\r\n";
    mcr_table *t = rd(s, NULL, &rc);
    CHECK(rc == 0 && t, "read failed: %s", mcr_last_error());
    if (!t) return;
    CHECK(mcr_table_nrows(t) == 2 && mcr_table_ncols(t) == 3, "shape %zu x %d",
          mcr_table_nrows(t), mcr_table_ncols(t));
    CHECK(strcmp(mcr_table_colname(t, 0), "name") == 0, "BOM not stripped: '%s'",
          mcr_table_colname(t, 0));
    int j = mcr_table_find(t, "note");
    CHECK(mcr_table_coltype(t, j) == MCR_COL_CATEGORICAL, "note type");
    const char *a = mcr_table_level(t, j, mcr_table_cat(t, 0, j));
    const char *b = mcr_table_level(t, j, mcr_table_cat(t, 1, j));
    CHECK(strcmp(a, "said \"hi\"") == 0, "escaped quote: '%s'", a);
    CHECK(strcmp(b, "two\nlines") == 0, "embedded newline: '%s'", b);
    CHECK(mcr_table_num(t, 0, 2) == 1.5 && mcr_table_num(t, 1, 2) == 2, "numbers");
    char *out = th_csv(t);
    CHECK(strcmp(out, "name,note,x\n\"Smith, J\",\"said \"\"hi\"\"\",1.5\nDoe,\"two\nlines\",2.0\n") == 0,
          "written: %s", out);
    free(out);
    mcr_table_free(t);
}

static void test_na_tokens_and_empty(void) {
    int rc;
    mcr_table *t = rd("a,b,c\n1,x,\nNA,?,3\n2.5,null,NaN\n,y,4\n", NULL, &rc);
    CHECK(rc == 0, "%s", mcr_last_error());
    if (!t) return;
    CHECK(mcr_table_coltype(t, 0) == MCR_COL_NUMERIC, "a numeric");
    CHECK(isnan(mcr_table_num(t, 1, 0)) && isnan(mcr_table_num(t, 3, 0)), "NA, empty missing");
    CHECK(mcr_table_nmissing(t, 1) == 2, "b missing %zu", mcr_table_nmissing(t, 1));
    CHECK(mcr_table_nmissing(t, 2) == 2, "c missing %zu", mcr_table_nmissing(t, 2));
    CHECK(mcr_table_nlevels(t, 1) == 2, "b levels %d", mcr_table_nlevels(t, 1));
    mcr_table_free(t);
    /* custom NA list replaces the default */
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    o.na_tokens = "N/A,Unknown";
    t = rd("a,b\nN/A,Unknown\n1,NA\n3,z\n", &o, &rc);
    CHECK(rc == 0, "%s", mcr_last_error());
    if (!t) return;
    CHECK(isnan(mcr_table_num(t, 0, 0)), "N/A missing");
    CHECK(mcr_table_cat(t, 0, 1) < 0, "Unknown missing");
    CHECK(mcr_table_cat(t, 1, 1) >= 0, "NA now a level");
    mcr_table_free(t);
}

static void test_separators_and_spaces(void) {
    int rc;
    mcr_table *t = rd("a;b\n1;x\n2; y\n3;x\n", NULL, &rc);
    CHECK(rc == 0 && t && mcr_table_ncols(t) == 2, "semicolon detected: %s", mcr_last_error());
    if (t) {
        CHECK(mcr_table_level_find(t, 1, "y") >= 0, "space after ; trimmed");
        char *o = th_csv(t);
        CHECK(strcmp(o, "a;b\n1;x\n2;y\n3;x\n") == 0, "separator kept: %s", o);
        free(o);
        mcr_table_free(t);
    }
    t = rd("a\tb\n1\tx\n2\ty\n", NULL, &rc);
    CHECK(rc == 0 && t && mcr_table_ncols(t) == 2, "tab detected");
    mcr_table_free(t);
    t = rd("a, b, c\n1, 2, x\n3, 4, y\n5, 6, z\n", NULL, &rc);
    CHECK(rc == 0 && t && mcr_table_find(t, "b") == 1, "header spaces trimmed");
    if (t) CHECK(mcr_table_num(t, 1, 1) == 4, "value after space");
    mcr_table_free(t);
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    o.sep = ';';
    t = rd("a,b;c\n1,5;2\n", &o, &rc);
    CHECK(rc == 0 && t && mcr_table_ncols(t) == 2, "forced separator");
    mcr_table_free(t);
}

static void test_inference_and_overrides(void) {
    int rc;
    const char *s = "i,f,flag,cat,code,mixed\n1,1.5,0,a,007,1\n2,2.25,1,b,010,1.0\n"
                    "3,3,0,a,003,2\n4,-1e3,1,c,001,2.00\n";
    mcr_table *t = rd(s, NULL, &rc);
    CHECK(rc == 0, "%s", mcr_last_error());
    if (!t) return;
    CHECK(mcr_table_coltype(t, 0) == MCR_COL_INTEGER, "i integer");
    CHECK(mcr_table_coltype(t, 1) == MCR_COL_NUMERIC, "f numeric");
    CHECK(mcr_table_coltype(t, 2) == MCR_COL_CATEGORICAL, "0/1 flag categorical");
    CHECK(mcr_table_coltype(t, 3) == MCR_COL_CATEGORICAL, "strings categorical");
    CHECK(mcr_table_coltype(t, 4) == MCR_COL_CATEGORICAL, "leading-zero codes stay categorical");
    CHECK(mcr_table_coltype(t, 5) == MCR_COL_CATEGORICAL, "two distinct values: flag");
    CHECK(mcr_table_nlevels(t, 5) == 2, "'1' and '1.0' are one value: %d levels",
          mcr_table_nlevels(t, 5));
    CHECK(mcr_table_cat(t, 0, 5) == mcr_table_cat(t, 1, 5), "1 == 1.0");
    mcr_table_free(t);

    mcr_csv_options o;
    mcr_csv_options_default(&o);
    o.categorical = "i";
    o.numeric = "flag";
    t = rd(s, &o, &rc);
    CHECK(rc == 0 && t, "%s", mcr_last_error());
    if (t) {
        CHECK(mcr_table_coltype(t, 0) == MCR_COL_CATEGORICAL, "i forced categorical");
        CHECK(mcr_table_coltype(t, 2) == MCR_COL_INTEGER, "flag forced numeric");
        mcr_table_free(t);
    }
    o.categorical = "nosuch";
    o.numeric = NULL;
    t = rd(s, &o, &rc);
    CHECK(rc == MCR_EINVAL && !t && strstr(mcr_last_error(), "nosuch"), "unknown column: %s",
          mcr_last_error());
    mcr_csv_options_default(&o);
    o.numeric = "cat";
    t = rd(s, &o, &rc);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "t.csv:2:"), "forced numeric on text: %s",
          mcr_last_error());
    mcr_csv_options_default(&o);
    o.drop = "cat,code";
    t = rd(s, &o, &rc);
    CHECK(rc == 0 && t && mcr_table_ncols(t) == 4 && mcr_table_find(t, "cat") < 0, "drop");
    mcr_table_free(t);
}

static void test_errors_name_line_col(void) {
    int rc;
    mcr_table *t = rd("a,b\n1,2\n3\n", NULL, &rc);
    CHECK(rc == MCR_EPARSE && !t, "ragged rejected");
    CHECK(strstr(mcr_last_error(), "t.csv:3:") != NULL, "ragged line: %s", mcr_last_error());
    t = rd("a,b\n1,2\n3,4,5\n", NULL, &rc);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "t.csv:3:5:"), "extra field col: %s",
          mcr_last_error());
    t = rd("a,b\n1,2\n3,\"open\n4,5\n", NULL, &rc);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "t.csv:3:3: unterminated"),
          "unterminated quote: %s", mcr_last_error());
    t = rd("", NULL, &rc);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "empty"), "empty file");
    t = rd("a,a\n1,2\n", NULL, &rc);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "duplicate"), "duplicate names");
    t = rd("a,b\n1,\xff\n", NULL, &rc);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "t.csv:2:3: invalid UTF-8"), "utf8: %s",
          mcr_last_error());
    t = rd("a,b\n1,x\n1e309,y\n", NULL, &rc);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "t.csv:3:1:"), "1e309: %s",
          mcr_last_error());
    t = rd("a,b\n1,x\ninf,y\n2,z\n", NULL, &rc);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "finite"), "inf: %s", mcr_last_error());
    const char nul[] = "a,b\n1,\0\n";
    rc = mcr_table_read_csv_mem(nul, sizeof nul - 1, "t.csv", NULL, &t);
    CHECK(rc == MCR_EPARSE && strstr(mcr_last_error(), "NUL"), "NUL byte: %s", mcr_last_error());
    t = rd("a,b\n", NULL, &rc);
    CHECK(rc == 0 && t && mcr_table_nrows(t) == 0, "header only reads as 0 rows");
    mcr_table_free(t);
}

static void test_number_look_preserved(void) {
    int rc;
    const char *s = "x,y,z,w\n1.50,3,-0,1e-3\n2.25,4,5,2.5E2\n7.00,5,6,3\n";
    mcr_table *t = rd(s, NULL, &rc);
    CHECK(rc == 0 && t, "%s", mcr_last_error());
    if (!t) return;
    char *o = th_csv(t);
    CHECK(strcmp(o, "x,y,z,w\n1.50,3,-0,0.001\n2.25,4,5,250\n7.00,5,6,3\n") == 0, "written: %s",
          o);
    free(o);
    mcr_table_free(t);
}

static void test_usual_precision(void) {
    /* y: mostly 2 digits after the point, one value with 14 (as flchain's lambda): the column's
     * precision is the usual 2, not the longest 14. Written back, every value is exact: 2-digit
     * values as read, the long one in its shortest exact form, 5.7 padded to 5.70. */
    int rc;
    const char *s = "x,y\n1,1.25\n2,2.2656803102585168\n3,0.87\n4,5.7\n5,3.10\n";
    mcr_table *t = rd(s, NULL, &rc);
    CHECK(rc == 0 && t, "%s", mcr_last_error());
    if (!t) return;
    CHECK(t->cols[1].decimals == 2, "usual precision %d", t->cols[1].decimals);
    char *o = th_csv(t);
    CHECK(strcmp(o, "x,y\n1,1.25\n2,2.2656803102585168\n3,0.87\n4,5.70\n5,3.10\n") == 0, "written: %s", o);
    free(o);
    /* decoded (synthetic) values come out at that precision */
    int col = 1;
    mcr_encoder *e = NULL;
    CHECK(mcr_encoder_fit(t, &col, 1, NULL, 0, MCR_NUM_STANDARD, &e) == 0, "fit");
    mcr_table *syn = NULL;
    CHECK(mcr_table_new_like(t, 3, &syn) == 0, "new_like");
    if (e && syn) {
        double z[3] = {0.123456789, -0.5, 0.9876};
        CHECK(mcr_encoder_inverse(e, z, 3, syn, NULL) == 0, "inverse");
        for (int i = 0; i < 3; i++) {
            double v = syn->cols[1].num[i];
            CHECK(fabs(v * 100 - round(v * 100)) < 1e-9, "synthetic value %.17g has more than 2 digits", v);
        }
        char *w = th_csv(syn);
        const char *line = strchr(w, '\n') + 1;
        CHECK(strlen(line) < 40, "short synthetic lines: %s", w);
        free(w);
    }
    mcr_table_free(syn);
    mcr_encoder_free(e);
    mcr_table_free(t);
}

/* encoded rows as CSR: made dense again they equal mcr_encoder_transform_float bit for bit, for
 * all rows and for a subset in another order; entries of a row in increasing dim order; one-hot
 * dims and missing indicators marked implicit, numeric values kept even when 0 */
static void test_encoder_csr(void) {
    int rc;
    const char *s = "a,b,c,d\n1.5,x,,0\n,y,3,0\n2.5,,4,1\n0,x,5,1\n-1,z,,0\n3,y,7,1\n";
    mcr_table *t = rd(s, NULL, &rc);
    CHECK(rc == 0 && t, "%s", mcr_last_error());
    if (!t) return;
    int cols[4] = {0, 1, 2, 3};
    mcr_encoder *e = NULL;
    CHECK(mcr_encoder_fit(t, cols, 4, NULL, 0, MCR_NUM_STANDARD, &e) == 0, "fit: %s", mcr_last_error());
    if (!e) return mcr_table_free(t);
    size_t sub[3] = {4, 0, 2};
    for (int pass = 0; pass < 2; pass++) {
        const size_t *rows = pass ? sub : NULL;
        size_t n = pass ? 3 : t->nrows;
        float *X = NULL, *Y = malloc(n * (size_t)e->d * sizeof(float));
        mcr_csr S;
        CHECK(mcr_encoder_transform_float(e, t, rows, n, &X) == 0, "dense");
        CHECK(mcr_encoder_transform_csr(e, t, rows, n, &S) == 0, "csr");
        if (!X || !Y || !S.ptr) {
            free(X), free(Y), mcr_csr_free(&S);
            break;
        }
        CHECK(S.n == n && S.d == e->d, "shape %zu x %d", S.n, S.d);
        mcr_csr_dense(&S, 0, n, Y);
        CHECK(memcmp(X, Y, n * (size_t)e->d * sizeof(float)) == 0, "dense(csr) differs from dense (pass %d)", pass);
        size_t nimp = 0;
        for (int j = 0; j < S.d; j++) nimp += S.implicit[j];
        /* b: 3 levels + missing = 4 one-hot dims; d: a 0/1 flag, categorical (2 dims); a and c
         * have missing values: one indicator each */
        CHECK(nimp == 8, "implicit dims %zu of %d", nimp, S.d);
        for (size_t r = 0; r < n; r++)
            for (size_t q = S.ptr[r]; q + 1 < S.ptr[r + 1]; q++)
                CHECK(S.idx[q] < S.idx[q + 1], "row %zu dims not increasing", r);
        /* row 3 (all rows) has a = 0: a stored value; it is never implicit */
        CHECK(!S.implicit[0], "numeric dim implicit");
        free(X), free(Y), mcr_csr_free(&S);
    }
    { /* mcr_csr_stack: the sub rows, then rows 5, 1, 5 of the whole set, equal the dense
       * encodings of those rows in that order */
        mcr_csr A, B, C = {0}, W = {0};
        size_t pick[3] = {5, 1, 5}, order[6] = {4, 0, 2, 5, 1, 5};
        float *X = NULL, *Y = malloc(6 * (size_t)e->d * sizeof(float));
        CHECK(mcr_encoder_transform_csr(e, t, sub, 3, &A) == 0 && mcr_encoder_transform_csr(e, t, NULL, t->nrows, &B) == 0,
              "csr");
        CHECK(mcr_csr_stack(&A, &B, pick, 3, &C) == 0, "stack: %s", mcr_last_error());
        CHECK(mcr_encoder_transform_float(e, t, order, 6, &X) == 0, "dense");
        if (X && Y && C.ptr) {
            CHECK(C.n == 6 && C.d == e->d && C.ptr[6] == A.ptr[3] + (B.ptr[6] - B.ptr[5]) * 2 + B.ptr[2] - B.ptr[1],
                  "stacked shape %zu x %d, %zu entries", C.n, C.d, C.ptr[C.n]);
            mcr_csr_dense(&C, 0, 6, Y);
            CHECK(memcmp(X, Y, 6 * (size_t)e->d * sizeof(float)) == 0, "stacked rows differ from their dense encodings");
            CHECK(memcmp(C.implicit, A.implicit, (size_t)e->d) == 0, "implicit dims not kept");
        }
        mcr_csr_free(&C);
        W.d = e->d + 1;
        CHECK(mcr_csr_stack(&A, &W, pick, 0, &C) == MCR_EINVAL, "rows of other widths stacked");
        free(X), free(Y), mcr_csr_free(&A), mcr_csr_free(&B), mcr_csr_free(&C);
    }
    mcr_encoder_free(e);
    mcr_table_free(t);
}

static void test_patient_treatment(void) {
    mcr_table *t;
    if (access(th_data("patient_treatment.csv"), R_OK))
        SKIP("%s not found (the shared tables; set MCR_DATA=dir)", th_data("patient_treatment.csv"));
    int rc = mcr_table_read_csv(th_data("patient_treatment.csv"), NULL, &t);
    CHECK(rc == 0, "%s", mcr_last_error());
    if (rc) return;
    CHECK(mcr_table_nrows(t) == 4412 && mcr_table_ncols(t) == 11, "shape %zu x %d",
          mcr_table_nrows(t), mcr_table_ncols(t));
    int j = mcr_table_find(t, "SOURCE");
    CHECK(j >= 0 && mcr_table_coltype(t, j) == MCR_COL_CATEGORICAL, "SOURCE categorical");
    size_t nin = 0;
    int kin = mcr_table_level_find(t, j, "in");
    for (size_t i = 0; i < mcr_table_nrows(t); i++) nin += mcr_table_cat(t, i, j) == kin;
    CHECK(nin == 1784, "in count %zu", nin);
    CHECK(mcr_table_coltype(t, mcr_table_find(t, "AGE")) == MCR_COL_INTEGER, "AGE integer");
    CHECK(mcr_table_coltype(t, mcr_table_find(t, "HAEMATOCRIT")) == MCR_COL_NUMERIC, "numeric");
    mcr_table_free(t);
}

static void test_large_linear(void) {
    /* 200k rows with a categorical of 20k levels: must be quick (hash map, no quadratic scan) */
    size_t n = 200000;
    char *buf = malloc(n * 32 + 32), *p = buf;
    p += sprintf(p, "id,v,code\n");
    for (size_t i = 0; i < n; i++) p += sprintf(p, "%zu,%zu.5,c%zu\n", i, i % 977, i % 20000);
    int rc;
    mcr_table *t = rd(buf, NULL, &rc);
    CHECK(rc == 0 && t && mcr_table_nrows(t) == n, "read big");
    if (t) CHECK(mcr_table_nlevels(t, 2) == 20000, "levels %d", mcr_table_nlevels(t, 2));
    mcr_table_free(t);
    free(buf);
}

static void test_atomic_write(void) {
    int rc;
    mcr_table *t = rd("a,b\n1,x\n2,y\n3,z\n", NULL, &rc);
    if (!t) return;
    rc = mcr_table_write_csv(t, "/nonexistent-dir/out.csv");
    CHECK(rc == MCR_EIO && strstr(mcr_last_error(), "/nonexistent-dir/out.csv"), "unwritable: %s",
          mcr_last_error());
    char path[] = "/tmp/mcr_test_XXXXXX";
    char *dir = mkdtemp(path);
    char file[256];
    snprintf(file, sizeof file, "%s/o.csv", dir);
    rc = mcr_table_write_csv(t, file);
    CHECK(rc == 0, "write: %s", mcr_last_error());
    mcr_table *u = NULL;
    rc = mcr_table_read_csv(file, NULL, &u);
    CHECK(rc == 0 && u && mcr_table_nrows(u) == 3, "read back");
    mcr_table_free(u);
    remove(file);
    rmdir(dir);
    mcr_table_free(t);
}

static void test_fuzz_regressions(void) {
    /* found by fuzz_csv: a blank first line hid the header's tab separator from detection, and a
     * written field holding another candidate separator changed detection on re-reading */
    const char in[] = "\n-0\tbax\ty\n1e3\tfoo\t1\n";
    int rc;
    mcr_table *t = rd(in, NULL, &rc);
    CHECK(rc == 0 && t && mcr_table_ncols(t) == 3, "tab detected after a blank line: %s", mcr_last_error());
    mcr_table_free(t);
    const char in2[] = "a,b\nx\ty;z,1\nw,2\n";
    t = rd(in2, NULL, &rc);
    CHECK(rc == 0 && t, "read");
    if (!t) return;
    char *o = th_csv(t);
    mcr_table *u = rd(o, NULL, &rc);
    CHECK(rc == 0 && u && mcr_table_ncols(u) == 2 && mcr_table_nrows(u) == 2, "reads back: %s\n%s", o, mcr_last_error());
    free(o);
    mcr_table_free(u);
    mcr_table_free(t);
    /* found by fuzz_csv: one column with a missing value wrote a blank line, lost on re-reading */
    t = rd("\"\"\r1\r\r2\rNA\r", NULL, &rc);
    CHECK(rc == 0 && t && mcr_table_nrows(t) == 3, "read one column: %s", mcr_last_error());
    if (!t) return;
    o = th_csv(t);
    u = rd(o, NULL, &rc);
    CHECK(rc == 0 && u && mcr_table_nrows(u) == 3 && isnan(mcr_table_num(u, 2, 0)), "one column keeps its missing row:\n%s", o);
    free(o);
    mcr_table_free(u);
    mcr_table_free(t);
    /* found by fuzz_csv: a first column name starting with U+FEFF (not at the file start) read
     * back as a byte-order mark once written at the start */
    t = rd(" \xef\xbb\xbf;\n;4\r\n", NULL, &rc);
    CHECK(rc == 0 && t && mcr_table_ncols(t) == 2, "read: %s", mcr_last_error());
    if (!t) return;
    o = th_csv(t);
    u = rd(o, NULL, &rc);
    CHECK(rc == 0 && u && !strcmp(mcr_table_colname(u, 0), "\xef\xbb\xbf"), "name kept: %s", mcr_last_error());
    free(o);
    mcr_table_free(u);
    mcr_table_free(t);
}

/* The reader's number parser (a fast exact path for up to 19 significant digits and decimal
 * exponents in [-22, 22], strtod otherwise) gives strtod's double bit for bit, on random
 * spellings that reach both paths: long mantissas, many decimals, exponents, signs, zeros. */
static void test_number_parse_exact(void) {
    uint64_t st = 12345;
    int bad = 0, n = 0;
    char s[128];
    for (int it = 0; it < 300000; it++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = st >> 11;
        int nint = 1 + (int)(r % 12), nfrac = (int)((r >> 4) % 24), form = (int)((r >> 9) % 8);
        size_t k = 0;
        if (form == 1) s[k++] = '-';
        if (form == 2) s[k++] = '+';
        uint64_t q = st;
        for (int d = 0; d < nint; d++) {
            q = q * 6364136223846793005ULL + 1;
            int dig = (int)((q >> 33) % 10);
            if (d == 0 && nint > 1 && dig == 0) dig = 1 + (int)((q >> 40) % 9);
            if (form == 3) dig = 0, nint = 1; /* 0.000ddd */
            s[k++] = (char)('0' + dig);
        }
        if (nfrac) {
            s[k++] = '.';
            for (int d = 0; d < nfrac; d++) {
                q = q * 6364136223846793005ULL + 1;
                s[k++] = (char)('0' + (form == 3 && d < 5 ? 0 : (int)((q >> 33) % 10)));
            }
        }
        if (form == 4) k += (size_t)sprintf(s + k, "e%d", (int)((r >> 20) % 40) - 20);
        s[k] = 0;
        double v = 0, ref = strtod(s, NULL);
        int dec = 0;
        int ok = mcr_parse_number(s, k, &v, &dec);
        n++;
        if (!ok || memcmp(&v, &ref, sizeof v) != 0) {
            if (bad++ < 5) CHECK(0, "'%s': %.17g, strtod %.17g", s, v, ref);
        }
        int want_dec = form == 4 ? -1 : nfrac;
        if (ok && dec != want_dec && bad++ < 5) CHECK(0, "'%s': decimals %d, want %d", s, dec, want_dec);
    }
    CHECK(bad == 0, "%d of %d spellings differ from strtod", bad, n);
    const char *edge[] = {"0", "-0", "-0.0", "9007199254740992", "9007199254740993",
                          "1.7976931348623157", "0.1", "123456789012345678901234", "4.9e-324",
                          "1e22", "1e23", "0.0000000000000000000000001"};
    for (size_t i = 0; i < sizeof edge / sizeof *edge; i++) {
        double v = 0, ref = strtod(edge[i], NULL);
        CHECK(mcr_parse_number(edge[i], strlen(edge[i]), &v, NULL) && memcmp(&v, &ref, sizeof v) == 0,
              "'%s': %.17g vs %.17g", edge[i], v, ref);
    }
    /* a numeric level's key is "%.17g" of its value, also on the plain-integer shortcut */
    const char *keys[] = {"7", "-7", "-0", "+7", "123456789012345", "1234567890123456789", "7.0", "10"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char got[64], want[64];
        size_t kl = mcr_numeric_key(keys[i], strlen(keys[i]), got);
        double v = strtod(keys[i], NULL);
        if (v == 0) v = 0;
        snprintf(want, sizeof want, "%.17g", v);
        CHECK(kl == strlen(want) && strcmp(got, want) == 0, "key of '%s': '%s', want '%s'", keys[i],
              kl ? got : "", want);
    }
}

/* A large table is built column by column on several threads: its content, and the first bad
 * field's message when there is one, are the same at 1 and 2 threads. */
static void test_columns_threads(void) {
    size_t n = 40000; /* 240,000 fields: above the reader's threshold for threads */
    char *buf = malloc(n * 48 + 64), *p = buf;
    p += sprintf(p, "a,b,c,d,e,f\n");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%zu.25,%zu,g%zu,%s,%d,x%zu\n", i % 1001, i * 7, i % 13, i % 9 ? "NA" : "1.5",
                     (int)(i % 2), i % 3);
    mcr_table *t1 = NULL, *t2 = NULL;
    omp_set_num_threads(1);
    int rc1 = mcr_table_read_csv_mem(buf, (size_t)(p - buf), "big.csv", NULL, &t1);
    omp_set_num_threads(2);
    int rc2 = mcr_table_read_csv_mem(buf, (size_t)(p - buf), "big.csv", NULL, &t2);
    CHECK(rc1 == 0 && rc2 == 0 && t1 && t2, "read: %s", mcr_last_error());
    if (t1 && t2) {
        CHECK(mcr_table_ncols(t1) == 6 && mcr_table_nlevels(t1, 2) == 13 && mcr_table_nlevels(t1, 4) == 2,
              "shape");
        int all[6] = {0, 1, 2, 3, 4, 5};
        uint64_t h1 = 0, h2 = 0;
        for (size_t i = 0; i < n; i++) h1 ^= mcr_table_row_hash(t1, i, all, 6) * (i + 1),
                                         h2 ^= mcr_table_row_hash(t2, i, all, 6) * (i + 1);
        CHECK(h1 == h2, "1 and 2 threads read different tables");
    }
    mcr_table_free(t1);
    mcr_table_free(t2);
    /* bad values in columns b (row 20,001) and e (row 10,001): the message names b's, the first
     * failing column, whatever the schedule */
    char *q = buf;
    for (size_t line = 0; line < 10001; line++) q = strchr(q, '\n') + 1;
    char *e = q;
    for (int f = 0; f < 4; f++) e = strchr(e, ',') + 1;
    e[0] = 'z';
    for (size_t line = 10001; line < 20001; line++) q = strchr(q, '\n') + 1;
    char *bb = strchr(q, ',') + 1;
    bb[0] = 'y';
    char msg[2][512];
    for (int th = 1; th <= 2; th++) {
        omp_set_num_threads(th);
        mcr_table *t = NULL;
        int rc = mcr_table_read_csv_mem(buf, (size_t)(p - buf), "big.csv", (mcr_csv_options[]){{.numeric = "b,e"}}, &t);
        CHECK(rc == MCR_EPARSE && !t, "bad field refused (%d)", rc);
        snprintf(msg[th - 1], sizeof msg[0], "%s", mcr_last_error());
        mcr_table_free(t);
    }
    CHECK(strstr(msg[0], "big.csv:20002:") && strstr(msg[0], "column 'b'"), "message: %s", msg[0]);
    CHECK(strcmp(msg[0], msg[1]) == 0, "1 thread: %s / 2 threads: %s", msg[0], msg[1]);
    omp_set_num_threads(1);
    free(buf);
}

int main(void) {
    TEST(test_fuzz_regressions);
    TEST(test_quotes_crlf_bom);
    TEST(test_na_tokens_and_empty);
    TEST(test_separators_and_spaces);
    TEST(test_inference_and_overrides);
    TEST(test_errors_name_line_col);
    TEST(test_number_look_preserved);
    TEST(test_usual_precision);
    TEST(test_patient_treatment);
    TEST(test_large_linear);
    TEST(test_number_parse_exact);
    TEST(test_columns_threads);
    TEST(test_atomic_write);
    TEST(test_encoder_csr);
    return DONE();
}
