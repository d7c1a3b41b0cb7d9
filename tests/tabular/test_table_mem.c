/* test_table_mem.c — tables built from arrays and read back into arrays: strides (C and
 * Fortran order), float32/float64, missing values, the CSV they write, and the errors. */
#include "tabular/tabular.h"
#include "testhelp.h"

static void test_columns_from_arrays(void) {
    /* a C-order [3, 2] float32 block: column 0 at (base, stride 2), column 1 at (base + 1, 2) */
    float block[6] = {1.5f, 10, 2.25f, NAN, -3, 30};
    double f64[3] = {0.1, 0.2, 0.30000000000000004};
    int32_t codes[3] = {1, -1, 0};
    const char *levels[2] = {"no", "yes, really"};
    mcr_table *t = NULL;
    CHECK(mcr_table_new(3, &t) == 0, "new");
    if (!t) return;
    CHECK(mcr_table_add_numeric(t, "a", block, MCR_F32, 2, MCR_COL_NUMERIC, 2) == 0, "%s", mcr_last_error());
    CHECK(mcr_table_add_numeric(t, "b", block + 1, MCR_F32, 2, MCR_COL_INTEGER, -1) == 0, "%s", mcr_last_error());
    CHECK(mcr_table_add_numeric(t, "c", f64, MCR_F64, 1, MCR_COL_NUMERIC, -1) == 0, "%s", mcr_last_error());
    CHECK(mcr_table_add_categorical(t, "d", codes, 1, levels, 2) == 0, "%s", mcr_last_error());
    CHECK(mcr_table_ncols(t) == 4 && mcr_table_nrows(t) == 3, "shape");
    CHECK(mcr_table_decimals(t, 0) == 2 && mcr_table_decimals(t, 1) == 0 && mcr_table_decimals(t, 2) == -1 &&
              mcr_table_decimals(t, 3) == -2 && mcr_table_decimals(t, 9) == -2,
          "decimals %d %d %d %d", mcr_table_decimals(t, 0), mcr_table_decimals(t, 1), mcr_table_decimals(t, 2),
          mcr_table_decimals(t, 3));
    CHECK(!strcmp(mcr_table_source(t), "<memory>"), "source %s", mcr_table_source(t));
    char *s = th_csv(t);
    CHECK(s && !strcmp(s, "a,b,c,d\n1.50,10,0.1,\"yes, really\"\n2.25,,0.2,\n-3.00,30,0.30000000000000004,no\n"),
          "csv: %s", s);
    /* the CSV reads back to the same values */
    mcr_table *r = NULL;
    CHECK(mcr_table_read_csv_mem(s, strlen(s), "back.csv", NULL, &r) == 0, "%s", mcr_last_error());
    if (r) {
        CHECK(mcr_table_num(r, 0, 0) == 1.5 && mcr_table_num(r, 2, 2) == 0.30000000000000004, "values");
        CHECK(isnan(mcr_table_num(r, 1, 1)) && mcr_table_cat(r, 1, 3) == -1, "missing");
        CHECK(!strcmp(mcr_table_level(r, 3, mcr_table_cat(r, 0, 3)), "yes, really"), "level");
    }
    mcr_table_free(r);
    free(s);
    /* out again: float64 into a Fortran-order [3, 2] block (column 1 at base + 3, stride 1) */
    double fo[6] = {0};
    CHECK(mcr_table_get_numeric(t, 0, fo + 3, MCR_F64, 1) == 0, "get");
    CHECK(fo[3] == 1.5 && fo[4] == 2.25 && fo[5] == -3 && fo[0] == 0, "got %g %g %g", fo[3], fo[4], fo[5]);
    float back[3];
    CHECK(mcr_table_get_numeric(t, 1, back, MCR_F32, 1) == 0 && back[0] == 10 && isnan(back[1]), "float32 out");
    int32_t cb[6] = {7, 7, 7, 7, 7, 7};
    CHECK(mcr_table_get_codes(t, 3, cb, 2) == 0 && cb[0] == 1 && cb[2] == -1 && cb[4] == 0 && cb[1] == 7, "codes");
    mcr_table_free(t);
}

static void test_errors(void) {
    mcr_table *t = NULL;
    mcr_table_new(2, &t);
    if (!t) return;
    double v[2] = {1, 2.5}, inf[2] = {1, INFINITY};
    int32_t bad[2] = {0, 2}, ok[2] = {0, 1};
    const char *lv[2] = {"x", "y"}, *dup[2] = {"x", "x"};
    CHECK(mcr_table_add_numeric(t, "v", v, MCR_F64, 1, MCR_COL_INTEGER, 0) == MCR_EINVAL &&
              strstr(mcr_last_error(), "row 1: 2.5 is not a whole number"), "%s", mcr_last_error());
    CHECK(mcr_table_add_numeric(t, "v", inf, MCR_F64, 1, MCR_COL_NUMERIC, -1) == MCR_EINVAL &&
              strstr(mcr_last_error(), "infinite"), "%s", mcr_last_error());
    CHECK(mcr_table_add_numeric(t, "v", v, MCR_F64, 1, MCR_COL_NUMERIC, -1) == 0, "%s", mcr_last_error());
    CHECK(mcr_table_add_numeric(t, "v", v, MCR_F64, 1, MCR_COL_NUMERIC, -1) == MCR_EINVAL &&
              strstr(mcr_last_error(), "column 'v' is given twice"), "%s", mcr_last_error());
    CHECK(mcr_table_add_categorical(t, "g", bad, 1, lv, 2) == MCR_EINVAL &&
              strstr(mcr_last_error(), "row 1: code 2 is not a level"), "%s", mcr_last_error());
    CHECK(mcr_table_add_categorical(t, "g", ok, 1, dup, 2) == MCR_EINVAL &&
              strstr(mcr_last_error(), "level 'x' is given twice"), "%s", mcr_last_error());
    CHECK(mcr_table_ncols(t) == 1, "failed adds leave no column: %d", mcr_table_ncols(t));
    CHECK(mcr_table_get_codes(t, 0, ok, 1) == MCR_EINVAL, "codes of a numeric column");
    mcr_table_free(t);
}

int main(void) {
    TEST(test_columns_from_arrays);
    TEST(test_errors);
    return DONE();
}
