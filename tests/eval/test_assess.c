/* test_assess.c — fidelity, detection, privacy and utility on cases whose answer is known:
 *   a synthetic table that copies the training rows (every copy metric at its extreme, TSTR
 *   identical to TRTR), an independent draw of the same population (detection and membership
 *   AUROC near 0.5, DCR ratio near 1, no copies), a shifted column (detection near 1), and
 *   the quantile and scope bookkeeping. */
#include "eval/eval.h"
#include "testhelp.h"


static void base_config(mcr_assess_config *c, const mcr_table *hold) {
    mcr_assess_config_default(c);
    c->target = "outcome";
    c->sensitive = "race";
    c->holdout = hold;
    c->max_rows = 1500;
    c->folds = 3;
}

/* assess with the base configuration; NULL (and a failed check) on an error */
static mcr_assess_result *assess(const mcr_table *real, const mcr_table *syn, const mcr_table *hold) {
    mcr_assess_config c;
    base_config(&c, hold);
    mcr_assess_result *a = NULL;
    int rc = mcr_assess(real, syn, &c, &a);
    CHECK(rc == 0, "assess: %s", mcr_last_error());
    return a;
}

/* synthetic = the training rows themselves */
static void test_copies(void) {
    mcr_table *real = th_cohort(1200, 1), *hold = th_cohort(600, 2), *syn = th_cohort(1200, 1);
    CHECK(real && hold && syn, "simulate");
    mcr_assess_result *a = assess(real, syn, hold);
    if (!a) goto done;
    const mcr_assess_scope *s = mcr_assess_scope_at(a, 0);
    CHECK(s->copy_rate == 1.0, "every synthetic row copies a training row: %g", s->copy_rate);
    CHECK(s->column_shapes == 1.0 && s->pair_trends == 1.0, "identical tables: shapes %g pairs %g", s->column_shapes, s->pair_trends);
    for (int q = 0; q < MCR_NQ; q++) CHECK(s->dcr_synth[q] == 0, "DCR quantile %d of copies %g", q, s->dcr_synth[q]);
    CHECK(s->dcr_holdout[2] > 0 && s->dcr_ratio == 0 && s->dcr_close == 1, "ratio %g close %g", s->dcr_ratio, s->dcr_close);
    /* members sit at distance 0 from a synthetic row, non-members do not (continuous columns) */
    CHECK(s->mia_auroc == 1.0, "membership AUROC %g", s->mia_auroc);
    /* the same rows in the same order train the same classifier: TSTR == TRTR exactly */
    CHECK(mcr_assess_nutility(a) == 2, "two classifiers");
    for (int u = 0; u < mcr_assess_nutility(a); u++) {
        const mcr_assess_utility *ut = mcr_assess_utility_at(a, u);
        CHECK(ut->acc[0] == ut->acc[1] && ut->f1_macro[0] == ut->f1_macro[1] && ut->auroc[0] == ut->auroc[1],
              "clf %d: TRTR %g/%g vs TSTR %g/%g", ut->clf, ut->f1_macro[0], ut->auroc[0], ut->f1_macro[1], ut->auroc[1]);
        CHECK(ut->ntest == 600 && ut->ntrain_real == 1200 && ut->ntrain_synth == 1200, "rows %zu %zu %zu",
              ut->ntest, ut->ntrain_real, ut->ntrain_synth);
        CHECK(ut->auroc[0] > 0.8, "the simulated outcome is learnable: AUROC %g", ut->auroc[0]);
    }
    /* scopes: all, 2 classes, 5 groups, with the simulated counts */
    CHECK(mcr_assess_nscopes(a) == 1 + 2 + 5, "%d scopes", mcr_assess_nscopes(a));
    size_t nclass = 0, ngroup = 0;
    for (int i = 1; i < mcr_assess_nscopes(a); i++) {
        const mcr_assess_scope *t = mcr_assess_scope_at(a, i);
        if (!strcmp(t->kind, "class")) nclass += t->nreal;
        else ngroup += t->nreal;
        CHECK(t->nreal == t->nsynth && t->copy_rate == 1.0, "scope %s %s", t->kind, t->value);
    }
    CHECK(nclass == 1200 && ngroup == 1200, "scopes partition the rows: %zu %zu", nclass, ngroup);
    const mcr_assess_scope *m = mcr_assess_minority(a);
    CHECK(!strcmp(m->kind, "class") && !strcmp(m->value, "1"), "minority scope %s %s", m->kind, m->value);
done:
    mcr_assess_free(a);
    mcr_table_free(real), mcr_table_free(hold), mcr_table_free(syn);
}

/* synthetic = another draw of the same population: nothing to detect, nothing leaked */
static void test_same_population(void) {
    mcr_table *real = th_cohort(3000, 11), *hold = th_cohort(1500, 12), *syn = th_cohort(3000, 13);
    mcr_assess_result *a = assess(real, syn, hold);
    if (!a) goto done;
    const mcr_assess_scope *s = mcr_assess_scope_at(a, 0);
    /* standard error of an AUROC on 3,000 + 3,000 rows is about 0.0075: 0.5 +- 0.06 is 8 sd
     * for logreg; xgb overfits a little on 2,000 per fold, allow 0.62 */
    CHECK(fabs(s->detect_logreg - 0.5) < 0.06, "detection logreg %g", s->detect_logreg);
    CHECK(s->detect_xgb > 0.4 && s->detect_xgb < 0.62, "detection xgb %g", s->detect_xgb);
    CHECK(s->copy_rate < 0.01, "copies of an independent draw %g", s->copy_rate);
    CHECK(s->dcr_ratio > 0.85 && s->dcr_ratio < 1.15, "DCR ratio %g", s->dcr_ratio);
    CHECK(fabs(s->mia_auroc - 0.5) < 0.05, "membership AUROC %g", s->mia_auroc);
    /* the membership interval covers 0.5; the DCR ratio's holds its estimate, is narrow at these
     * sizes (measured [1.003, 1.032]: synthetic rows no closer than new ones); both read as no
     * evidence */
    CHECK(s->mia_lo < 0.5 && s->mia_hi > 0.5 && s->mia_hi - s->mia_lo < 0.1, "MIA interval [%g, %g]", s->mia_lo, s->mia_hi);
    CHECK(s->dcr_ratio_lo <= s->dcr_ratio && s->dcr_ratio <= s->dcr_ratio_hi && s->dcr_ratio_hi - s->dcr_ratio_lo < 0.1,
          "DCR ratio %g in [%g, %g]", s->dcr_ratio, s->dcr_ratio_lo, s->dcr_ratio_hi);
    CHECK(strstr(mcr_assess_reading_interval(MCR_READ_MIA, s->mia_auroc, s->mia_lo, s->mia_hi), "no evidence") != NULL,
          "MIA reading");
    CHECK(strstr(mcr_assess_reading_interval(MCR_READ_DCR, s->dcr_ratio, s->dcr_ratio_lo, s->dcr_ratio_hi), "no evidence") != NULL,
          "DCR reading");
    CHECK(s->column_shapes > 0.95, "shapes %g", s->column_shapes);
    /* baseline: the holdout scored as synthetic, and the synthetic rows at its size, agree */
    const mcr_assess_result *hb = mcr_assess_baseline(a, 0), *sb = mcr_assess_baseline(a, 1);
    CHECK(hb && sb, "baselines computed");
    if (hb && sb) {
        const mcr_assess_scope *h = mcr_assess_scope_at(hb, 0), *b = mcr_assess_scope_find(sb, "all", "");
        CHECK(h->nsynth == 1500 && b && b->nsynth == 1500, "baseline sizes %zu %zu", h->nsynth, b ? b->nsynth : 0);
        if (b) {
            CHECK(fabs(h->column_shapes - b->column_shapes) < 0.02 && fabs(h->pair_trends - b->pair_trends) < 0.02,
                  "same population: shapes %g vs %g, pairs %g vs %g", b->column_shapes, h->column_shapes, b->pair_trends,
                  h->pair_trends);
            CHECK(fabs(h->detect_logreg - b->detect_logreg) < 0.06, "detection %g vs %g", b->detect_logreg, h->detect_logreg);
        }
        CHECK(isnan(h->mia_auroc) && mcr_assess_nutility(hb) == 0 && !mcr_assess_baseline(hb, 0), "baselines: fidelity only");
    }
    const mcr_assess_utility *ut = mcr_assess_utility_at(a, 0);
    CHECK(ut && fabs(ut->auroc[1] - ut->auroc[0]) < 0.03, "TSTR AUROC %g vs TRTR %g", ut ? ut->auroc[1] : 0, ut ? ut->auroc[0] : 0);
done:
    mcr_assess_free(a);
    mcr_table_free(real), mcr_table_free(hold), mcr_table_free(syn);
}

/* one numeric column shifted by 3 sd: both detectors see it; shapes of that column drop */
static void test_shifted(void) {
    mcr_table *real = th_cohort(1500, 21), *syn = th_cohort(1500, 22);
    int j = mcr_table_find(syn, "heart_rate");
    double mean = 0, sd = 0;
    size_t n = mcr_table_nrows(syn);
    for (size_t i = 0; i < n; i++) mean += syn->cols[j].num[i];
    mean /= n;
    for (size_t i = 0; i < n; i++) sd += (syn->cols[j].num[i] - mean) * (syn->cols[j].num[i] - mean);
    sd = sqrt(sd / n);
    for (size_t i = 0; i < n; i++) syn->cols[j].num[i] += 3 * sd;
    mcr_assess_config c;
    base_config(&c, NULL);
    c.utility = 0;
    mcr_assess_result *a = NULL;
    int rc = mcr_assess(real, syn, &c, &a);
    CHECK(rc == 0, "assess: %s", mcr_last_error());
    if (rc) goto done;
    const mcr_assess_scope *s = mcr_assess_scope_at(a, 0);
    CHECK(s->detect_logreg > 0.95 && s->detect_xgb > 0.95, "detection %g %g", s->detect_logreg, s->detect_xgb);
    int nc = 0;
    const mcr_colfid *f = mcr_assess_columns(a, 0, &nc);
    for (int i = 0; i < nc; i++)
        if (!strcmp(f[i].name, "heart_rate")) CHECK(f[i].stat > 0.8, "KS of the shifted column %g", f[i].stat);
    /* no holdout: the holdout-based numbers are not computed, the rest is */
    CHECK(isnan(s->dcr_ratio) && isnan(s->mia_auroc) && !isnan(s->dcr_synth[2]), "holdout-free privacy");
    CHECK(mcr_assess_nutility(a) == 0, "utility off");
    CHECK(!mcr_assess_baseline(a, 0), "no holdout, no baseline");
    {   /* with a holdout: the shifted synthetic rows score below what real rows get */
        mcr_table *hold = th_cohort(600, 23);
        mcr_assess_free(a), a = NULL;
        c.holdout = hold;
        c.privacy = 0;
        CHECK(mcr_assess(real, syn, &c, &a) == 0, "assess: %s", mcr_last_error());
        const mcr_assess_result *hb = a ? mcr_assess_baseline(a, 0) : NULL, *sb = a ? mcr_assess_baseline(a, 1) : NULL;
        CHECK(hb && sb, "baselines");
        if (hb && sb) {
            const mcr_assess_scope *h = mcr_assess_scope_at(hb, 0), *b = mcr_assess_scope_at(sb, 0);
            CHECK(b->nsynth == 600 && h->nsynth == 600, "at the holdout's size: %zu, %zu", b->nsynth, h->nsynth);
            CHECK(b->column_shapes < h->column_shapes - 0.02 && b->detect_logreg > h->detect_logreg + 0.3,
                  "shifted: shapes %g vs real %g, detection %g vs real %g", b->column_shapes, h->column_shapes,
                  b->detect_logreg, h->detect_logreg);
        }
        mcr_table_free(hold);
    }
done:
    mcr_assess_free(a);
    mcr_table_free(real), mcr_table_free(syn);
}

/* same seed, same output; errors name the option and the file */
static void test_determinism_and_errors(void) {
    mcr_table *real = th_cohort(800, 31), *hold = th_cohort(400, 32), *syn = th_cohort(800, 33);
    mcr_assess_config c;
    base_config(&c, hold);
    mcr_assess_result *a = NULL, *b = NULL;
    CHECK(mcr_assess(real, syn, &c, &a) == 0 && mcr_assess(real, syn, &c, &b) == 0, "assess twice");
    if (a && b) {
        char *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        FILE *fx = open_memstream(&x, &nx), *fy = open_memstream(&y, &ny);
        mcr_assess_write_json(a, fx), mcr_assess_write_json(b, fy);
        fclose(fx), fclose(fy);
        CHECK(nx == ny && !memcmp(x, y, nx), "JSON of two runs differs");
        CHECK(strstr(x, "\"membership_inference_auroc\"") && strstr(x, "\"tstr\"") && strstr(x, "\"dcr_holdout\""), "JSON keys");
        free(x), free(y);
    }
    mcr_assess_free(a), mcr_assess_free(b);
    c.target = "nope";
    CHECK(mcr_assess(real, syn, &c, &a) == MCR_EINVAL && strstr(mcr_last_error(), "target column 'nope'"), "%s", mcr_last_error());
    c.target = "outcome";
    c.minority = "7";
    CHECK(mcr_assess(real, syn, &c, &a) == MCR_EINVAL && strstr(mcr_last_error(), "class '7' is not a value"), "%s", mcr_last_error());
    c.minority = NULL;
    /* a holdout without a compared column */
    mcr_table *h2 = NULL;
    const char *csv = "sex,outcome\nF,0\nM,1\n";
    CHECK(mcr_table_read_csv_mem(csv, strlen(csv), "h2.csv", NULL, &h2) == 0, "read");
    c.holdout = h2;
    CHECK(mcr_assess(real, syn, &c, &a) == MCR_EINVAL && strstr(mcr_last_error(), "h2.csv lacks column 'age'"), "%s", mcr_last_error());
    mcr_table_free(h2);
    mcr_table_free(real), mcr_table_free(hold), mcr_table_free(syn);
}

/* drop leaves columns out; a synthetic table without some real column still compares the rest */
static void test_drop_and_missing_columns(void) {
    const char *r = "id,x,y\n1,0.5,a\n2,1.5,b\n3,2.5,a\n4,3.5,b\n5,4.5,a\n6,5.5,b\n7,6.5,a\n8,7.5,b\n9,8.5,a\n10,9.5,b\n11,1,a\n12,2,b\n";
    const char *s = "x,y\n0.5,a\n1.5,b\n2.5,a\n3.5,b\n4.5,a\n5.5,b\n6.5,a\n7.5,b\n9,a\n9.9,b\n1,a\n2,b\n";
    mcr_table *tr = NULL, *ts = NULL;
    CHECK(mcr_table_read_csv_mem(r, strlen(r), "r.csv", NULL, &tr) == 0 && mcr_table_read_csv_mem(s, strlen(s), "s.csv", NULL, &ts) == 0, "read");
    mcr_assess_config c;
    mcr_assess_config_default(&c);
    c.folds = 2;
    mcr_assess_result *a = NULL;
    CHECK(mcr_assess(tr, ts, &c, &a) == 0, "assess: %s", mcr_last_error());
    int nc = 0;
    if (a) {
        mcr_assess_columns(a, 0, &nc);
        CHECK(nc == 2, "compared columns %d", nc);
        /* 10 of 12 synthetic rows equal a training row on x and y */
        CHECK(fabs(mcr_assess_scope_at(a, 0)->copy_rate - 10.0 / 12) < 1e-12, "copies %g", mcr_assess_scope_at(a, 0)->copy_rate);
    }
    mcr_assess_free(a);
    a = NULL;
    c.drop = "y";
    CHECK(mcr_assess(tr, ts, &c, &a) == 0, "assess: %s", mcr_last_error());
    if (a) {
        mcr_assess_columns(a, 0, &nc);
        CHECK(nc == 1, "with --drop y: %d columns", nc);
        /* on x alone, 10 of 12 rows still copy */
        CHECK(fabs(mcr_assess_scope_at(a, 0)->copy_rate - 10.0 / 12) < 1e-12, "copies %g", mcr_assess_scope_at(a, 0)->copy_rate);
    }
    mcr_assess_free(a);
    mcr_table_free(tr), mcr_table_free(ts);
}

/* a synthetic table of added minority rows is compared with the real minority rows */
static void test_minority_only_synthetic(void) {
    mcr_table *real = th_cohort(1500, 41), *other = th_cohort(3000, 42), *syn = NULL;
    int jt = mcr_table_find(other, "outcome"), one = mcr_table_level_find(other, jt, "1");
    size_t *idx = malloc(3000 * sizeof(size_t)), m = 0, n0 = 0;
    for (size_t i = 0; i < 3000; i++)
        if (other->cols[jt].cat[i] == one) idx[m++] = i;
    CHECK(mcr_table_take(other, idx, m, &syn) == 0, "take");
    int jr = mcr_table_find(real, "outcome"), zero = mcr_table_level_find(real, jr, "0");
    for (size_t i = 0; i < 1500; i++) n0 += real->cols[jr].cat[i] == zero;
    mcr_assess_config c;
    base_config(&c, NULL);
    mcr_assess_result *a = NULL;
    CHECK(mcr_assess(real, syn, &c, &a) == 0, "assess: %s", mcr_last_error());
    if (a) {
        CHECK(mcr_assess_real_left_out(a) == n0, "left out %zu of %zu class-0 rows", mcr_assess_real_left_out(a), n0);
        const mcr_assess_scope *all = mcr_assess_scope_at(a, 0), *mi = mcr_assess_minority(a);
        /* (their column shapes differ only by the class column, compared in "all" alone) */
        CHECK(all->nreal == 1500 - n0 && all->nreal == mi->nreal && all->nsynth == mi->nsynth && all->nsynth == m,
              "all = the minority rows: %zu %zu, %zu %zu", all->nreal, mi->nreal, all->nsynth, mi->nsynth);
        CHECK(mcr_assess_nscopes(a) == 1 + 1 + 5, "no scope for the absent class: %d", mcr_assess_nscopes(a));
        CHECK(mcr_assess_nutility(a) == 0, "one class: no utility");
        CHECK(all->detect_logreg < 0.7, "same population: detection %g", all->detect_logreg);
    }
    mcr_assess_free(a);
    free(idx);
    mcr_table_free(real), mcr_table_free(other), mcr_table_free(syn);
}

static void test_privacy_intervals(void) {
    /* Hanley-McNeil by hand: A = 0.8, 50 + 50 -> 0.0445022; the 0.553 with 369 rows a
     * side -> SE 0.02112, interval [0.512, 0.594]: above 0.5, a weak but real signal */
    CHECK(fabs(mcr_auroc_se(0.8, 50, 50) - 0.0445022) < 1e-6, "SE %g", mcr_auroc_se(0.8, 50, 50));
    double se = mcr_auroc_se(0.553, 369, 369);
    CHECK(fabs(se - 0.0211208) < 1e-6, "SE %g", se);
    CHECK(strstr(mcr_assess_reading_interval(MCR_READ_MIA, 0.553, 0.553 - 1.96 * se, 0.553 + 1.96 * se), "weak but real"),
          "0.553 read as weak but real");
    struct { mcr_assess_metric m; double v, lo, hi; const char *want; } cases[] = {
        {MCR_READ_MIA, 0.52, 0.47, 0.57, "no evidence"},   {MCR_READ_MIA, 0.55, 0.40, 0.70, "too few rows"},
        {MCR_READ_MIA, 0.70, 0.66, 0.74, "membership leaks"}, {MCR_READ_DCR, 0.80, 0.70, 0.90, "memorisation"},
        {MCR_READ_DCR, 0.95, 0.91, 0.99, "slightly closer"}, {MCR_READ_DCR, 1.05, 0.95, 1.15, "no evidence"},
        {MCR_READ_DCR, 1.00, 0.60, 1.30, "too few rows"},     {MCR_READ_MIA, 0.60, NAN, NAN, "cannot tell"},
        {MCR_READ_SHAPES, 0.95, 0.9, 1.0, "closely matches"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *got = mcr_assess_reading_interval(cases[i].m, cases[i].v, cases[i].lo, cases[i].hi);
        CHECK(strstr(got, cases[i].want) != NULL, "case %zu: '%s' lacks '%s'", i, got, cases[i].want);
    }
}

int main(void) {
    mcr_set_threads(2);
    TEST(test_copies);
    TEST(test_privacy_intervals);
    TEST(test_same_population);
    TEST(test_shifted);
    TEST(test_determinism_and_errors);
    TEST(test_drop_and_missing_columns);
    TEST(test_minority_only_synthetic);
    return DONE();
}
