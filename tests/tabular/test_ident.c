/* test_ident.c — identifier-like columns: stroke-like and diabetes-like fixtures (a unique row
 * number, an encounter id, a patient number repeated across encounters, integer codes named
 * *_id, a unique real-valued measurement, text record numbers), names, and the shared tables. */
#include "tabular/tabular.h"
#include "testhelp.h"
#include <unistd.h>

static mcr_table *fixture(const char *kind, size_t n) {
    char *buf = malloc(n * 128 + 256), *p = buf;
    mcr_rng r;
    mcr_rng_seed(&r, 5, 0);
    if (!strcmp(kind, "stroke")) {
        p += sprintf(p, "id,gender,age,hypertension,avg_glucose_level,bmi,stroke\n");
        for (size_t i = 0; i < n; i++)
            p += sprintf(p, "%zu,%s,%.0f,%d,%.2f,%s,%d\n", 9046 + 37 * i + mcr_rng_below(&r, 30),
                         mcr_rng_uniform(&r) < 0.5 ? "Male" : "Female", 20 + 60 * mcr_rng_uniform(&r),
                         mcr_rng_uniform(&r) < 0.1, 60 + 200 * mcr_rng_uniform(&r),
                         mcr_rng_uniform(&r) < 0.1 ? "N/A" : "28.1", mcr_rng_uniform(&r) < 0.05);
    } else {
        p += sprintf(p, "encounter_id,patient_nbr,admission_type_id,diag_1,MRN,PatientID,time_in_hospital,readmitted\n");
        for (size_t i = 0; i < n; i++)
            p += sprintf(p, "%zu,%zu,%d,%d,MRN-%06zu,%zu,%d,%s\n", 2278392 + 11 * i, 135 + i / 2 * 7 + i % 2,
                         1 + (int)mcr_rng_below(&r, 8), 250 + (int)mcr_rng_below(&r, 40), 1000 + i, 77 + 3 * i,
                         1 + (int)mcr_rng_below(&r, 14), mcr_rng_uniform(&r) < 0.1 ? "<30" : "NO");
    }
    mcr_table *t = NULL;
    mcr_csv_options o;
    mcr_csv_options_default(&o);
    o.na_tokens = "N/A";
    int rc = mcr_table_read_csv_mem(buf, (size_t)(p - buf), kind, &o, &t);
    CHECK(rc == 0, "%s", mcr_last_error());
    free(buf);
    return t;
}

static void expect(const mcr_table *t, const char *const *ids, int nids) {
    int *why = calloc((size_t)mcr_table_ncols(t), sizeof(int));
    CHECK(mcr_table_identifiers(t, why) == 0, "%s", mcr_last_error());
    for (int j = 0; j < mcr_table_ncols(t); j++) {
        int want = 0;
        for (int k = 0; k < nids; k++) want |= !strcmp(mcr_table_colname(t, j), ids[k]);
        CHECK((why[j] != 0) == want, "%s: column '%s' %s (%s)", mcr_table_source(t), mcr_table_colname(t, j),
              want ? "not flagged" : "flagged", mcr_identifier_reason(why[j]));
    }
    free(why);
}

static void test_fixtures(void) {
    mcr_table *t = fixture("stroke", 500);
    const char *s_ids[] = {"id"}; /* avg_glucose_level is unique too, but a measurement */
    if (t) expect(t, s_ids, 1);
    mcr_table_free(t);
    t = fixture("diabetes", 600);
    const char *d_ids[] = {"encounter_id", "patient_nbr", "MRN", "PatientID"};
    if (t) expect(t, d_ids, 4);
    mcr_table_free(t);
    t = fixture("stroke", 12); /* too few rows to tell a unique column from chance */
    int why[7];
    if (t) {
        mcr_table_identifiers(t, why);
        CHECK(why[0] == MCR_IDENT_NONE, "12 rows: id flagged");
    }
    mcr_table_free(t);
}

static void test_names(void) {
    const char *yes[] = {"id", "ID", "patient_id", "encounter_id", "patient_nbr", "mrn", "subject_mrn", "PatientID",
                         "encounterId", "id_visit", "record.id", "uuid"};
    const char *no[] = {"age", "idade", "valid", "fluid_in", "paid", "admission_type", "creatinine", "width"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) CHECK(mcr_identifier_name(yes[i]), "'%s' not an id name", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) CHECK(!mcr_identifier_name(no[i]), "'%s' taken for an id name", no[i]);
}

static void test_shared_tables(void) {
    struct { const char *file; const char *ids[2]; int n; } c[] = {
        {"stroke.csv", {"id"}, 1}, {"diabetes_130.csv", {"encounter_id", "patient_nbr"}, 2},
        {"flchain.csv", {0}, 0}, {"patient_treatment.csv", {0}, 0}};
    if (access(th_data("stroke.csv"), R_OK)) SKIP("%s not found (set MCR_DATA=dir)", th_data("stroke.csv"));
    for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
        mcr_table *t = NULL;
        CHECK(mcr_table_read_csv(th_data(c[i].file), NULL, &t) == 0, "%s", mcr_last_error());
        if (t) expect(t, c[i].ids, c[i].n);
        mcr_table_free(t);
    }
}

static void test_fit_leaves_identifiers_out(void) {
    /* a stroke-like table: the id column is not modelled, synthetic rows leave it empty (so no
     * synthetic row carries a real patient's id); --feature id brings it back */
    mcr_table *t = fixture("stroke", 400);
    if (!t) return;
    mcr_fit_config c = th_fit_config("stroke", 32, 30);
    c.batch = 128;
    int why[7];
    CHECK(mcr_fit_identifiers(t, &c, why) == 0 && why[0] == MCR_IDENT_UNIQUE && why[6] == 0, "identifiers");
    size_t counts[2] = {150, 150};
    mcr_table *s = th_fit_sample(t, &c, counts, NULL);
    CHECK(s != NULL, "fit and sample");
    if (s) {
        size_t with_id = 0;
        for (size_t i = 0; i < mcr_table_nrows(s); i++) with_id += !isnan(mcr_table_num(s, i, 0));
        CHECK(with_id == 0, "%zu synthetic rows carry an id", with_id);
        CHECK(mcr_table_nmissing(s, 2) == 0, "the other columns are generated");
    }
    mcr_table_free(s);
    c.features = "id";
    CHECK(mcr_fit_identifiers(t, &c, why) == 0 && why[0] == MCR_IDENT_NONE, "--feature id");
    c.features = "nosuch";
    CHECK(mcr_fit_identifiers(t, &c, why) == MCR_EINVAL && strstr(mcr_last_error(), "feature column 'nosuch'"),
          "%s", mcr_last_error());
    mcr_table_free(t);
}

int main(void) {
    TEST(test_names);
    TEST(test_fixtures);
    TEST(test_shared_tables);
    TEST(test_fit_leaves_identifiers_out);
    return DONE();
}
