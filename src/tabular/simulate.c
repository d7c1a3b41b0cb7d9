/* simulate.c — the built-in demo cohort, a simulated patient table with a known process.
 *
 * Per patient: race group with fixed shares (exact sizes by largest remainder, then
 * shuffled); sex F with p = 0.52; age ~ N(58, 17) rounded, clipped to [18, 95]; age band;
 * admission type (Emergency .55, Elective .30, Urgent .15); a latent severity s ~ N(0,1).
 * Outcome: group g gets exactly k_g = round(n_g * rate_g) positives, rate_g = R * m_g / sum(p m)
 * with multipliers m (White .8, Black 1.6, Hispanic 1.2, Asian .7, Other 1.3); within the group
 * the positives are drawn without replacement with probability proportional to
 * exp(1.2 s + 0.03 (age - 58) + 0.5 [Emergency] + 0.3 [male]) (Gumbel top-k).
 * Ten labs/vitals then depend on s, the outcome y and covariates (see README); creatinine is
 * missing completely at random (6%), lactate missing at random (40% for elective admissions,
 * 15% otherwise).
 */
#include "tabular/tabular.h"

static const char *RACE[] = {"White", "Black", "Hispanic", "Asian", "Other"};
static const double RACE_P[] = {0.62, 0.17, 0.12, 0.05, 0.04};
static const double RACE_M[] = {0.8, 1.6, 1.2, 0.7, 1.3};
#define NG 5

void mcr_sim_config_default(mcr_sim_config *c) {
    c->rows = 5000;
    c->seed = 1;
    c->minority_rate = 0.08;
}

int mcr_sim_ngroups(void) { return NG; }
const char *mcr_sim_group_name(int g) { return (g >= 0 && g < NG) ? RACE[g] : NULL; }

void mcr_sim_counts(const mcr_sim_config *c, size_t *group_rows, size_t *group_pos) {
    size_t n = c->rows, used = 0;
    double rem[NG];
    for (int g = 0; g < NG; g++) {
        double x = n * RACE_P[g];
        group_rows[g] = (size_t)floor(x);
        rem[g] = x - floor(x);
        used += group_rows[g];
    }
    while (used < n) { /* largest remainder, lowest index first on ties */
        int best = 0;
        for (int g = 1; g < NG; g++)
            if (rem[g] > rem[best]) best = g;
        group_rows[best]++;
        rem[best] = -1;
        used++;
    }
    double norm = 0;
    for (int g = 0; g < NG; g++) norm += RACE_P[g] * RACE_M[g];
    for (int g = 0; g < NG; g++) {
        double rate = c->minority_rate * RACE_M[g] / norm;
        if (rate > 1) rate = 1;
        group_pos[g] = (size_t)llround(group_rows[g] * rate);
    }
}

struct keyidx {
    double key;
    size_t i;
};
static int cmp_key_desc(const void *a, const void *b) {
    const struct keyidx *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

static double rnd(double v, int dec) {
    double s = pow(10, dec);
    return round(v * s) / s;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

int mcr_simulate(const mcr_sim_config *cfg, mcr_table **out) {
    *out = NULL;
    if (cfg->rows < 10 || cfg->rows > 100000000)
        return mcr_err(MCR_EINVAL, "`rows` must be between 10 and 100000000 (got %zu)", cfg->rows);
    if (!(cfg->minority_rate > 0 && cfg->minority_rate <= 0.5))
        return mcr_err(MCR_EINVAL, "`minority_rate` must be in (0, 0.5] (got %g)",
                       cfg->minority_rate);
    size_t n = cfg->rows;
    mcr_table *t = mcr_table_empty(n, ',');
    int *grp = malloc(n * sizeof(int));
    double *sev = malloc(n * sizeof(double)), *key = malloc(n * sizeof(double));
    struct keyidx *kp = malloc(n * sizeof *kp);
    int rc = MCR_OK;
    if (!t || !grp || !sev || !key || !kp) {
        rc = MCR_NOMEM();
        goto done;
    }
    enum { AGE, SEX, BAND, RACEC, ADM, HR, SBP, DBP, RR, TEMP, SPO2, WBC, CREA, GLU, LACT, HB, Y };
    static const struct { const char *name; mcr_coltype type; int dec; } spec[] = {
        {"age", MCR_COL_INTEGER, 0},      {"sex", MCR_COL_CATEGORICAL, 0},
        {"age_band", MCR_COL_CATEGORICAL, 0}, {"race", MCR_COL_CATEGORICAL, 0},
        {"admission_type", MCR_COL_CATEGORICAL, 0}, {"heart_rate", MCR_COL_INTEGER, 0},
        {"sbp", MCR_COL_INTEGER, 0},      {"dbp", MCR_COL_INTEGER, 0},
        {"resp_rate", MCR_COL_INTEGER, 0}, {"temperature", MCR_COL_NUMERIC, 1},
        {"spo2", MCR_COL_INTEGER, 0},     {"wbc", MCR_COL_NUMERIC, 1},
        {"creatinine", MCR_COL_NUMERIC, 2}, {"glucose", MCR_COL_INTEGER, 0},
        {"lactate", MCR_COL_NUMERIC, 1},  {"hemoglobin", MCR_COL_NUMERIC, 1},
        {"outcome", MCR_COL_CATEGORICAL, 0}};
    for (int j = 0; j <= Y; j++)
        if ((rc = mcr_table_add_column(t, spec[j].name, spec[j].type, spec[j].dec)) < 0) goto done;
    rc = MCR_OK;
    static const char *sexl[] = {"F", "M"}, *bandl[] = {"18-44", "45-64", "65+"},
                      *adml[] = {"Elective", "Emergency", "Urgent"}, *yl[] = {"0", "1"};
    const char **lv[] = {sexl, bandl, RACE, adml, yl};
    int nlv[] = {2, 3, NG, 3, 2}, cj[] = {SEX, BAND, RACEC, ADM, Y};
    for (int a = 0; a < 5; a++)
        for (int k = 0; k < nlv[a]; k++)
            if ((rc = mcr_column_add_level(&t->cols[cj[a]], lv[a][k], strlen(lv[a][k]))) < 0)
                goto done;
    rc = MCR_OK;

    size_t grows[NG], gpos[NG];
    mcr_sim_counts(cfg, grows, gpos);
    mcr_rng r;
    mcr_rng_seed(&r, cfg->seed, MCR_STREAM_SIMULATE);
    size_t p = 0;
    for (int g = 0; g < NG; g++)
        for (size_t i = 0; i < grows[g]; i++) grp[p++] = g;
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)mcr_rng_below(&r, i + 1);
        int tmp = grp[i];
        grp[i] = grp[j];
        grp[j] = tmp;
    }
    mcr_column *C = t->cols;
    for (size_t i = 0; i < n; i++) {
        int male = mcr_rng_uniform(&r) >= 0.52;
        double age = clampd(round(58 + 17 * mcr_rng_normal(&r)), 18, 95);
        double u = mcr_rng_uniform(&r);
        int adm = u < 0.55 ? 1 : u < 0.85 ? 0 : 2; /* Emergency, Elective, Urgent */
        sev[i] = mcr_rng_normal(&r);
        C[SEX].cat[i] = male;
        C[AGE].num[i] = age;
        C[BAND].cat[i] = age < 45 ? 0 : age < 65 ? 1 : 2;
        C[RACEC].cat[i] = grp[i];
        C[ADM].cat[i] = adm;
        double logit = 1.2 * sev[i] + 0.03 * (age - 58) + 0.5 * (adm == 1) + 0.3 * male;
        double g = -log(-log(mcr_rng_uniform(&r) * (1 - 1e-12) + 1e-12));
        key[i] = logit + g;
        C[Y].cat[i] = 0;
    }
    /* Gumbel top-k within each group: sort the group's keys, the k largest are positive */
    for (int g = 0; g < NG; g++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (grp[i] == g) kp[m].key = key[i], kp[m].i = i, m++;
        qsort(kp, m, sizeof *kp, cmp_key_desc);
        for (size_t k = 0; k < gpos[g] && k < m; k++) C[Y].cat[kp[k].i] = 1;
    }
    for (size_t i = 0; i < n; i++) {
        double s = sev[i], y = C[Y].cat[i], age = C[AGE].num[i];
        int male = C[SEX].cat[i], adm = C[ADM].cat[i];
        C[HR].num[i] = round(clampd(80 + 8 * s + 6 * y + 10 * mcr_rng_normal(&r), 35, 190));
        C[SBP].num[i] = round(clampd(125 - 6 * s - 8 * y + 15 * mcr_rng_normal(&r), 60, 230));
        C[DBP].num[i] = round(clampd(75 - 3 * s + 9 * mcr_rng_normal(&r), 30, 130));
        C[RR].num[i] = round(clampd(17 + 2 * s + 2 * y + 3 * mcr_rng_normal(&r), 6, 50));
        C[TEMP].num[i] = rnd(clampd(37 + 0.3 * s + 0.3 * y + 0.4 * mcr_rng_normal(&r), 34, 42), 1);
        C[SPO2].num[i] = round(clampd(97 - s - 1.5 * y + 1.5 * mcr_rng_normal(&r), 70, 100));
        C[WBC].num[i] = rnd(exp(log(8) + 0.15 * s + 0.2 * y + 0.3 * mcr_rng_normal(&r)), 1);
        double crea = rnd(exp(0.15 * s + 0.25 * y + 0.004 * (age - 58) +
                              0.35 * mcr_rng_normal(&r)), 2);
        C[CREA].num[i] = mcr_rng_uniform(&r) < 0.06 ? NAN : crea;
        C[GLU].num[i] = round(clampd(110 + 10 * s + 30 * mcr_rng_normal(&r), 50, 400));
        double lact = rnd(exp(log(1.5) + 0.25 * s + 0.35 * y + 0.4 * mcr_rng_normal(&r)), 1);
        C[LACT].num[i] = mcr_rng_uniform(&r) < (adm == 0 ? 0.40 : 0.15) ? NAN : lact;
        C[HB].num[i] = rnd(13.5 - 0.5 * s - 0.5 * y + 1.2 * male + 1.5 * mcr_rng_normal(&r), 1);
    }
    *out = t;
    t = NULL;
done:
    mcr_table_free(t);
    free(grp);
    free(sev);
    free(key);
    free(kp);
    return rc;
}
