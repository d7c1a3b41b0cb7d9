/* test_evaluate.c — the evaluate protocol end to end on the simulated cohort: deterministic for
 * a seed, every run in the JSON, preparation options (--positive, --bands, --group, --test) and
 * their errors. */
#include "eval/eval.h"
#include "eval/evalhelp.h"
#include "testhelp.h"
#include <unistd.h>


static char *printed(const mcr_eval_result *r) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    mcr_eval_print(r, f);
    fclose(f);
    return buf;
}

static mcr_eval_config base(void) {
    mcr_eval_config c;
    mcr_eval_config_default(&c);
    c.target = "outcome";
    c.sensitive = "race";
    c.seeds = 2;
    c.methods[0] = MCR_AUG_NONE, c.methods[1] = MCR_AUG_ROS, c.methods[2] = MCR_AUG_SMOTENC;
    c.nmethods = 3;
    return c;
}

/* base() with methods m0 and m1 and the classifier logreg alone */
static mcr_eval_config two_methods_logreg(mcr_aug_method m0, mcr_aug_method m1) {
    mcr_eval_config c = base();
    c.methods[0] = m0, c.methods[1] = m1;
    c.nmethods = 2;
    c.classifiers[0] = MCR_CLF_LOGREG;
    c.nclassifiers = 1;
    return c;
}

static void test_deterministic_and_complete(void) {
    mcr_table *t = th_cohort(3000, 5);
    mcr_eval_config c = base();
    mcr_eval_result *a = NULL, *b = NULL;
    CHECK(mcr_evaluate(t, NULL, &c, &a) == 0, "evaluate: %s", mcr_last_error());
    CHECK(mcr_evaluate(t, NULL, &c, &b) == 0, "evaluate again");
    if (!a || !b) return;
    char *pa = printed(a), *pb = printed(b);
    CHECK(strcmp(pa, pb) == 0, "same seed, different tables");
    CHECK(strstr(pa, "paired difference vs none") && strstr(pa, "smote-nc"), "table content:\n%s", pa);
    char path[] = "/tmp/mcr_eval_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(mcr_eval_write_json(a, path) == 0, "json");
    FILE *f = fopen(path, "rb");
    char *js = calloc(1, 1 << 22);
    size_t n = fread(js, 1, (1 << 22) - 1, f);
    fclose(f);
    unlink(path);
    int runs = 0;
    for (char *p = js; (p = strstr(p, "\"classifier\":")); p++) runs++;
    /* 12 runs + 6 summary rows + paired rows (4 vs none) + verdicts (2) each name a classifier */
    CHECK(n > 0 && runs == 12 + 6 + 4 + 2, "classifier entries %d", runs);
    const char *keys[] = {"\"method\":\"ros\"", "\"seed\":2", "\"accuracy\":", "\"balanced_accuracy\":",
                          "\"f1_macro\":", "\"f1_minority\":", "\"auroc\":", "\"auprc\":",
                          "\"worst_group_recall\":", "\"dp_difference\":", "\"eo_difference\":",
                          "\"Asian\":{\"n\":", "\"summary\":", "\"paired\":", "\"verdicts\":"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) CHECK(strstr(js, keys[k]) != NULL, "json lacks %s", keys[k]);
    free(js), free(pa), free(pb);
    mcr_eval_free(a), mcr_eval_free(b);
    mcr_table_free(t);
}

static void test_preparation_options(void) {
    mcr_table *t = th_cohort(2000, 6);
    mcr_eval_config c = base();
    c.nmethods = 2;
    c.sensitive = "age";
    c.bands = "45,65";
    c.group = "admission_type"; /* whole admission types to one side: still runs */
    c.test_frac = 0.4;
    mcr_eval_result *r = NULL;
    int rc = mcr_evaluate(t, NULL, &c, &r);
    CHECK(rc == 0, "bands + group: %s", mcr_last_error());
    if (r) {
        char *p = printed(r);
        CHECK(strstr(p, "groups by 'age' (3)") != NULL, "three age bands:\n%s", p);
        free(p);
    }
    mcr_eval_free(r);
    /* a fixed test table */
    mcr_table *te = th_cohort(800, 7);
    c = base();
    c.nmethods = 1;
    c.seeds = 1;
    r = NULL;
    CHECK(mcr_evaluate(t, te, &c, &r) == 0, "--test: %s", mcr_last_error());
    mcr_eval_free(r);
    /* multi-class target made binary */
    c = base();
    c.target = "admission_type";
    c.positive = "Urgent";
    c.nmethods = 1;
    c.seeds = 1;
    r = NULL;
    CHECK(mcr_evaluate(t, NULL, &c, &r) == 0, "--positive: %s", mcr_last_error());
    if (r) {
        char *p = printed(r);
        CHECK(strstr(p, "positive class 'Urgent'") != NULL, "positive named:\n%s", p);
        free(p);
    }
    mcr_eval_free(r);
    mcr_table_free(te);
    mcr_table_free(t);
}

static void test_errors(void) {
    mcr_table *t = th_cohort(500, 8);
    mcr_eval_result *r = NULL;
    mcr_eval_config c = base();
    c.positive = "maybe";
    CHECK(mcr_evaluate(t, NULL, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "values: '0', '1'"), "positive: %s", mcr_last_error());
    c = base();
    c.thin = "1:1.5";
    CHECK(mcr_evaluate(t, NULL, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "`thin`"), "thin: %s", mcr_last_error());
    c = base();
    c.bands = "40,65";
    CHECK(mcr_evaluate(t, NULL, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "already categorical"), "bands: %s", mcr_last_error());
    c = base();
    c.sensitive = "age";
    CHECK(mcr_evaluate(t, NULL, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "`bands`") &&
              strstr(mcr_last_error(), "`categorical` age"), "numeric sensitive: %s", mcr_last_error());
    c = base();
    c.target = "heart_rate";
    CHECK(mcr_evaluate(t, NULL, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "numeric"), "numeric target");
    mcr_table_free(t);
}

static char *described(const mcr_describe_result *d, int json) {
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    json ? mcr_describe_write_json(d, f) : mcr_describe_print(d, f);
    fclose(f);
    return buf;
}

/* a sensitive column of four integer codes ("stage") is groups in evaluate and describe; tied
 * classes have no minority in describe */
static void test_integer_groups_and_ties(void) {
    char buf[16384], *p = buf;
    p += sprintf(p, "x,stage,y\n");
    mcr_rng r;
    mcr_rng_seed(&r, 5, 0);
    for (int i = 0; i < 300; i++) {
        int b = i % 4 == 0;
        p += sprintf(p, "%.4f,%d,%s\n", (b ? 1.5 : 0) + mcr_rng_normal(&r), 1 + (i / 3) % 4, b ? "B" : "A");
    }
    mcr_table *t = NULL;
    CHECK(mcr_table_read_csv_mem(buf, (size_t)(p - buf), "st.csv", NULL, &t) == 0, "read");
    mcr_eval_config c = eval_none_vs("y", MCR_AUG_ROS, 1);
    c.sensitive = "stage";
    mcr_eval_result *e = NULL;
    CHECK(mcr_evaluate(t, NULL, &c, &e) == 0, "integer groups: %s", mcr_last_error());
    if (e) {
        char *s = printed(e);
        CHECK(strstr(s, "groups by 'stage' (4)") != NULL, "four stages:\n%s", s);
        free(s);
    }
    mcr_eval_free(e);
    mcr_describe_result *d = NULL;
    CHECK(mcr_describe_compute(t, "y", "stage", &d) == 0, "describe: %s", mcr_last_error());
    if (d) {
        char *s = described(d, 0);
        CHECK(mcr_describe_minority(d) && !strcmp(mcr_describe_minority(d), "B") && strstr(s, "<- minority") &&
                  strstr(s, "group x class ('stage' x 'y')") && strstr(s, "stage                        integer"),
              "describe:\n%s", s);
        free(s);
    }
    mcr_describe_free(d);
    mcr_table_free(t);
    /* tied classes */
    const char *tie = "x,y\n1,a\n2,b\n3,a\n4,b\n";
    CHECK(mcr_table_read_csv_mem(tie, strlen(tie), "tie.csv", NULL, &t) == 0, "read tie");
    d = NULL;
    CHECK(mcr_describe_compute(t, "y", NULL, &d) == 0, "describe tie");
    if (d) {
        char *s = described(d, 0), *j = described(d, 1);
        CHECK(!mcr_describe_minority(d) && !strstr(s, "<- minority") && strstr(j, "\"minority\":null"), "tie:\n%s\n%s", s, j);
        free(s), free(j);
    }
    mcr_describe_free(d);
    /* a continuous column is refused as groups, naming --categorical */
    CHECK(mcr_describe_compute(t, "y", "x", &d) == 0 && d, "x has four integer values: groups");
    mcr_describe_free(d);
    mcr_table_free(t);
}

static void test_identifiers_not_features(void) {
    /* a record number that alone gives the label away (positives numbered from 50000) is not a
     * classifier feature: AUROC stays at chance on pure-noise features; `features` forces it in */
    char *buf = malloc(200000), *p = buf;
    p += sprintf(p, "record_id,x1,x2,y\n");
    mcr_rng rg;
    mcr_rng_seed(&rg, 5, 0);
    for (int i = 0; i < 1000; i++) {
        int y = i % 5 == 0;
        p += sprintf(p, "%d,%.4f,%.4f,%d\n", (y ? 50000 : 1000) + i, mcr_rng_normal(&rg), mcr_rng_normal(&rg), y);
    }
    mcr_table *t = NULL;
    CHECK(mcr_table_read_csv_mem(buf, (size_t)(p - buf), "ids.csv", NULL, &t) == 0, "%s", mcr_last_error());
    free(buf);
    if (!t) return;
    mcr_eval_config c;
    mcr_eval_config_default(&c);
    c.target = "y";
    c.seeds = 2;
    c.methods[0] = MCR_AUG_NONE;
    c.nmethods = 1;
    c.classifiers[0] = MCR_CLF_LOGREG;
    c.nclassifiers = 1;
    double auroc[2] = {0, 0};
    for (int forced = 0; forced < 2; forced++) {
        c.aug.fit.features = forced ? "record_id" : NULL;
        mcr_eval_result *r = NULL;
        CHECK(mcr_evaluate(t, NULL, &c, &r) == 0, "%s", mcr_last_error());
        if (!r) continue;
        mcr_eval_cell *cells = NULL;
        int n = 0;
        mcr_eval_cells(r, &cells, &n);
        if (n) auroc[forced] = cells[0].mean[MCR_EVAL_AUROC];
        char *txt = printed(r);
        CHECK(forced ? !strstr(txt, "left out of the features") : strstr(txt, "left out of the features: record_id") != NULL,
              "printed: %.300s", txt);
        free(txt), free(cells);
        mcr_eval_free(r);
    }
    CHECK(auroc[0] < 0.65, "record_id used as a feature: AUROC %g", auroc[0]);
    CHECK(auroc[1] > 0.95, "forced in, it gives the label away: AUROC %g", auroc[1]);
    mcr_table_free(t);
}

static void test_verdict(void) {
    /* the verdict follows its rule on the paired differences it reports: helped when the minority
     * F1 interval against none lies above 0 (AUROC not lower by its whole interval and by more than
     * 0.005), hurt when it lies below 0 (or AUROC is), else no evidence; one seed gives no verdict */
    mcr_table *t = th_cohort(800, 7);
    if (!t) return;
    mcr_eval_config c = base();
    c.methods[0] = MCR_AUG_NONE, c.methods[1] = MCR_AUG_SMOTENC, c.methods[2] = MCR_AUG_MCRAGE;
    c.nmethods = 3;
    c.classifiers[0] = MCR_CLF_LOGREG, c.classifiers[1] = MCR_CLF_XGB;
    c.nclassifiers = 2;
    c.seeds = 3;
    c.aug.fit.steps = 40;
    c.aug.fit.widths[0] = c.aug.fit.widths[1] = 32;
    c.aug.fit.nwidths = 2;
    mcr_eval_result *r = NULL;
    CHECK(mcr_evaluate(t, NULL, &c, &r) == 0, "%s", mcr_last_error());
    if (r) {
        for (int ci = 0; ci < 2; ci++) {
            char line[1024];
            int k = mcr_eval_verdict(r, ci, line, sizeof line);
            double fm, flo, fhi, am, alo, ahi;
            const char *p = strstr(line, "minority F1 ");
            CHECK(p && sscanf(p, "minority F1 %lf [%lf, %lf] against none, AUROC %lf [%lf, %lf]", &fm, &flo, &fhi, &am,
                              &alo, &ahi) == 6, "sentence: %s", line);
            int want = fhi < 0 || (ahi < 0 && am < -0.005) ? -1 : flo > 0 ? 1 : 0;
            CHECK(k == want, "verdict %d, rule gives %d: %s", k, want, line);
            CHECK(strstr(line, "smote-nc") != NULL, "compared with the best classical method: %s", line);
        }
        char *txt = printed(r);
        CHECK(strstr(txt, "did rebalancing with mcrage help?") != NULL, "printed");
        free(txt);
        mcr_eval_free(r);
    }
    c.seeds = 1;
    r = NULL;
    CHECK(mcr_evaluate(t, NULL, &c, &r) == 0, "%s", mcr_last_error());
    if (r) {
        char line[256];
        CHECK(mcr_eval_verdict(r, 0, line, sizeof line) == -2 && strstr(line, "no verdict from 1 seed"), "%s", line);
        mcr_eval_free(r);
    }
    mcr_table_free(t);
}

static void test_tuned_threshold(void) {
    /* --threshold tuned: each run's threshold comes from a stratified 20% of its training part
     * (so it trains on 80%), lies in (0, 1), and is written to the JSON; a target with more than
     * two classes is refused */
    mcr_table *t = th_cohort(1500, 9);
    if (!t) return;
    mcr_eval_config c = two_methods_logreg(MCR_AUG_NONE, MCR_AUG_ROS);
    mcr_eval_result *plain = NULL, *tuned = NULL;
    CHECK(mcr_evaluate(t, NULL, &c, &plain) == 0, "%s", mcr_last_error());
    c.tune_threshold = 1;
    CHECK(mcr_evaluate(t, NULL, &c, &tuned) == 0, "%s", mcr_last_error());
    if (plain && tuned) {
        char path[] = "/tmp/mcr_tune_XXXXXX";
        int fd = mkstemp(path);
        close(fd);
        mcr_eval_write_json(tuned, path);
        FILE *f = fopen(path, "rb");
        char *js = calloc(1, 1 << 21);
        size_t n = f ? fread(js, 1, (1 << 21) - 1, f) : 0;
        if (f) fclose(f);
        unlink(path);
        int nthr = 0, inrange = 1;
        for (char *p = js; (p = strstr(p, "\"threshold\":")); p++) {
            double v = atof(p + 12);
            if (p[12] == '"') continue; /* the top-level "threshold":"tuned" */
            nthr++;
            inrange &= v > 0 && v < 1;
        }
        CHECK(n > 0 && nthr == 4 && inrange, "thresholds in the runs: %d, in (0, 1): %d", nthr, inrange);
        CHECK(strstr(js, "\"threshold\":\"tuned\"") != NULL, "tuned recorded");
        free(js);
        char *txt = printed(tuned);
        CHECK(strstr(txt, "thresholds tuned") != NULL, "printed");
        free(txt);
    }
    mcr_eval_free(plain), mcr_eval_free(tuned);
    c.target = "race"; /* five classes */
    c.sensitive = NULL;
    mcr_eval_result *r = NULL;
    CHECK(mcr_evaluate(t, NULL, &c, &r) == MCR_EINVAL && strstr(mcr_last_error(), "binary target"), "%s",
          mcr_last_error());
    mcr_eval_free(r);
    mcr_table_free(t);
}

/* mcrage's selections share the seed's mcrage model: mcrage's cells are the same with or without
 * them beside it (one fit, sampled three ways), and the selections' cells exist */
static void test_selections_share_the_model(void) {
    mcr_table *t = th_cohort(2000, 7);
    mcr_eval_config c = two_methods_logreg(MCR_AUG_NONE, MCR_AUG_MCRAGE);
    c.aug.fit.steps = 60;
    c.aug.fit.widths[0] = c.aug.fit.widths[1] = 32;
    c.aug.fit.nwidths = 2;
    mcr_eval_result *a = NULL, *b = NULL;
    CHECK(mcr_evaluate(t, NULL, &c, &a) == 0, "evaluate: %s", mcr_last_error());
    c.methods[2] = MCR_AUG_MCRAGE_PLAUSIBLE, c.methods[3] = MCR_AUG_MCRAGE_BOUNDARY;
    c.nmethods = 4;
    CHECK(mcr_evaluate(t, NULL, &c, &b) == 0, "evaluate with selections: %s", mcr_last_error());
    mcr_eval_cell *ca = NULL, *cb = NULL;
    int na = 0, nb = 0;
    if (a && b && !mcr_eval_cells(a, &ca, &na) && !mcr_eval_cells(b, &cb, &nb)) {
        CHECK(na == 2 && nb == 4, "cells %d and %d", na, nb);
        int same = 1, found = 0;
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
                if (ca[i].method == cb[j].method && ca[i].clf == cb[j].clf) {
                    found++;
                    for (int k = 0; k < 6; k++) same &= ca[i].mean[k] == cb[j].mean[k] || (isnan(ca[i].mean[k]) && isnan(cb[j].mean[k]));
                }
        CHECK(found == 2 && same, "none and mcrage differ when the selections run beside them");
        int sel = 0;
        for (int j = 0; j < nb; j++) sel += (cb[j].method == MCR_AUG_MCRAGE_PLAUSIBLE || cb[j].method == MCR_AUG_MCRAGE_BOUNDARY) && isfinite(cb[j].mean[2]);
        CHECK(sel == 2, "the selections' cells: %d", sel);
    }
    free(ca), free(cb);
    mcr_eval_free(a), mcr_eval_free(b);
    mcr_table_free(t);
}

int main(void) {
    mcr_set_threads(2);
    TEST(test_integer_groups_and_ties);
    TEST(test_deterministic_and_complete);
    TEST(test_preparation_options);
    TEST(test_errors);
    TEST(test_identifiers_not_features);
    TEST(test_verdict);
    TEST(test_tuned_threshold);
    TEST(test_selections_share_the_model);
    return DONE();
}
