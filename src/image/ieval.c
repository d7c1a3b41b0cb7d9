/* ieval.c — `mcrage image evaluate`: the Ktena et al. (2024) protocol on a multi-site image set.
 * For each seed and method the CNN (cnn.c) is trained on the labelled train images plus what
 * the method adds (oversampled cells, RandAugment copies, synthetic images of the image model
 * sampled with policy group-balance), and scored on the test split: ID and OOD accuracy and
 * AUROC, per site, worst site and gap. Summaries are means with 95% Student-t intervals over
 * seeds (evaluate.c's mcr_mean_ci95), and paired per-seed differences against none and against
 * the best baseline of each metric. An oracle arm (the OOD train images with their true labels)
 * gives the ceiling. Public in mcrage.h 12e. */
#include "eval/eval.h"
#include "image/image.h"
#include "nn/nn.h"
#include <math.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

MCR_API void mcr_ieval_config_default(mcr_ieval_config *c) {
    memset(c, 0, sizeof *c);
    c->methods = "none,oversample,focal,randaugment,diffusion";
    c->ratios = "0.25,0.5,0.75";
    c->seeds = 3;
    c->seed = 1;
    mcr_cnn_config_default(&c->cnn);
    c->cnn.nstages = 2, c->cnn.widths[0] = 16, c->cnn.widths[1] = 32, c->cnn.epochs = 5;
    c->focal_gamma = 2;
    mcr_randaug_config_default(&c->randaug);
    c->randaug.n_ops = 2, c->randaug.magnitude = 9;
    c->ra_copies = 1;
    /* the generator, sized for the 30-minute budget of one seed on 2 cores (README): a 2-level
     * UNet of 16, 32 channels, bf16 convolutions where the CPU has them; 10 DDIM steps with the
     * composed guidance (3 passes a step), which the OOD site needs: its (label, site) cells
     * never occur in training (its images are unlabelled), so the joint one-pass eps(l, a) is
     * asked for a pair it never saw (README: one pass put label 1's D images at 3% label
     * accuracy; sample.joint = 1 still gives it) */
    mcr_ifit_config_default(&c->fit);
    c->fit.nlevels = 2, c->fit.channels[0] = 16, c->fit.channels[1] = 32;
    c->fit.precision = MCR_PRECISION_AUTO;
    mcr_isample_config_default(&c->sample);
    c->sample.sample_steps = 10;
    c->policy = MCR_IPOLICY_GROUP_BALANCE;
    c->checks = 1;
}

/* ------------------------------------------------------------------ metrics */
int mcr_ieval_score(const int *y, const double *p1, const int *site, size_t n, int nsites, const int *ood,
                    mcr_ieval_metrics *m, double *site_acc, double *site_auroc) {
    memset(m, 0, sizeof *m);
    double *sc = malloc((n ? n : 1) * sizeof *sc);
    int *lab = malloc((n ? n : 1) * sizeof *lab);
    if (!sc || !lab) {
        free(sc), free(lab);
        return MCR_NOMEM();
    }
    /* g = -1: ID, -2: OOD, else one site */
    for (int g = -2; g < nsites; g++) {
        size_t k = 0, right = 0;
        for (size_t i = 0; i < n; i++) {
            int in = g >= 0 ? site[i] == g : (ood[site[i]] == 1) == (g == -2);
            if (!in) continue;
            sc[k] = p1[i], lab[k] = y[i], k++;
            right += (p1[i] > 0.5) == (y[i] == 1);
        }
        double acc = k ? (double)right / (double)k : NAN, auc = k ? mcr_auroc(sc, lab, k) : NAN;
        if (g == -1) m->id_acc = acc, m->id_auroc = auc, m->n_id = k;
        else if (g == -2) m->ood_acc = acc, m->ood_auroc = auc, m->n_ood = k;
        else site_acc[g] = acc, site_auroc[g] = auc;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (int g = 0; g < nsites; g++)
        if (isfinite(site_acc[g])) lo = fmin(lo, site_acc[g]), hi = fmax(hi, site_acc[g]);
    m->worst_acc = isfinite(lo) ? lo : NAN;
    m->gap = isfinite(lo) ? hi - lo : NAN;
    free(sc), free(lab);
    return MCR_OK;
}

/* ------------------------------------------------------------------ training sets */
void mcr_itrain_free(mcr_itrain *t) {
    if (!t) return;
    free(t->pix), free(t->y), free(t->site);
    memset(t, 0, sizeof *t);
}

static int itrain_alloc(mcr_itrain *t, size_t n, size_t plane) {
    t->pix = malloc((n ? n : 1) * plane);
    t->y = malloc((n ? n : 1) * sizeof(int));
    t->site = malloc((n ? n : 1) * sizeof(int));
    t->n = n;
    if (!t->pix || !t->y || !t->site) {
        mcr_itrain_free(t);
        return MCR_NOMEM();
    }
    return MCR_OK;
}

static int find_level(char **names, int k, const char *s) {
    for (int i = 0; i < k; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

/* round(R n / (1 - R)): the synthetic images that make a share R of n real + them */
static size_t n_synthetic(double ratio, size_t nr) { return (size_t)llround(ratio * (double)nr / (1 - ratio)); }

int mcr_ieval_trainset(const mcr_imageset *s, int kind, double ratio, const mcr_ieval_config *c,
                       const mcr_imodel *model, const mcr_imageset *pool, uint64_t seed, mcr_itrain *out) {
    memset(out, 0, sizeof *out);
    size_t plane = (size_t)s->h * s->w * s->c, nr = 0;
    for (int i = 0; i < s->n; i++) nr += s->split[i] == MCR_SPLIT_TRAIN && s->label[i] >= 0;
    if (!nr) return mcr_err(MCR_EINVAL, "image evaluate: %s has no labelled train image", s->source ? s->source : "the set");
    size_t extra = 0;
    int L = s->nlabels, A = s->nattrs, rc;
    size_t *cell = NULL, *counts = NULL, ncell = 0;
    mcr_imageset *syn = NULL;
    if (kind == MCR_IEVAL_OVERSAMPLE) {
        if (!(cell = calloc((size_t)L * (size_t)(A ? A : 1), sizeof *cell))) return MCR_NOMEM();
        size_t big = 0;
        for (int i = 0; i < s->n; i++)
            if (s->split[i] == MCR_SPLIT_TRAIN && s->label[i] >= 0) cell[s->label[i] * A + s->attr[i]]++;
        for (int k = 0; k < L * A; k++) big = cell[k] > big ? cell[k] : big;
        for (int k = 0; k < L * A; k++) extra += cell[k] ? big - cell[k] : 0;
    } else if (kind == MCR_IEVAL_RANDAUG) {
        extra = nr * (size_t)c->ra_copies;
    } else if (kind == MCR_IEVAL_ORACLE) {
        const mcr_imageset *o = c->oracle;
        if (!o || o->n != s->n || o->h != s->h || o->w != s->w || o->c != s->c || o->nlabels != s->nlabels)
            return mcr_err(MCR_EINVAL, "image evaluate: oracle needs the oracle's set of the same images (--oracle)");
        for (int i = 0; i < s->n; i++) {
            if (o->split[i] != s->split[i] || o->attr[i] != s->attr[i] || (s->label[i] >= 0 && o->label[i] != s->label[i]) ||
                memcmp(o->pix + (size_t)i * plane, s->pix + (size_t)i * plane, plane))
                return mcr_err(MCR_EINVAL, "image evaluate: the oracle's set differs from the data at image %d (not the "
                                           "same images: build both with one `image sites --oracle` command)", i);
            extra += s->split[i] == MCR_SPLIT_TRAIN && s->label[i] < 0 && o->label[i] >= 0;
        }
    } else if (mcr_ieval_is_diffusion(kind)) {
        if (!model) return mcr_err(MCR_EINVAL, "image evaluate: diffusion needs an image model");
        if (!(ratio > 0 && ratio < 1))
            return mcr_err(MCR_EINVAL, "--ratios: %g is not a share in (0, 1)", ratio);
        extra = n_synthetic(ratio, nr);
        int ML = mcr_imodel_nlabels(model), MA = mcr_imodel_nattrs(model);
        ncell = (size_t)(ML + 1) * (size_t)(MA + 1);
        if (!(counts = calloc(ncell, sizeof *counts))) return MCR_NOMEM();
        if ((rc = mcr_imodel_counts_policy(model, (mcr_ipolicy)c->policy, extra, counts))) goto fail;
        if (pool && extra) { /* the first counts[cell] images of each cell of the pool, if it has them */
            size_t *have = calloc(ncell, sizeof *have), *take = calloc(ncell, sizeof *take), m = 0;
            if (!have || !take) {
                free(have), free(take);
                rc = MCR_NOMEM();
                goto fail;
            }
            for (int j = 0; j < pool->n; j++) {
                int l = pool->label[j] < 0 ? ML : pool->label[j], a = pool->attr[j] < 0 ? MA : pool->attr[j];
                have[(size_t)l * (size_t)(MA + 1) + (size_t)a]++;
            }
            int fits = 1;
            for (size_t q = 0; q < ncell; q++) fits &= counts[q] <= have[q];
            if (fits && !(rc = mcr_imageset_alloc((int)extra, pool->h, pool->w, pool->c, &syn))) {
                for (int l = 0; l < pool->nlabels && !rc; l++) rc = mcr_imageset_add_level(syn, 0, pool->label_names[l]) < 0;
                for (int a = 0; a < pool->nattrs && !rc; a++) rc = mcr_imageset_add_level(syn, 1, pool->attr_names[a]) < 0;
                for (int j = 0; j < pool->n && !rc; j++) {
                    int l = pool->label[j] < 0 ? ML : pool->label[j], a = pool->attr[j] < 0 ? MA : pool->attr[j];
                    size_t q = (size_t)l * (size_t)(MA + 1) + (size_t)a;
                    if (take[q] == counts[q]) continue;
                    take[q]++;
                    memcpy(syn->pix + m * plane, pool->pix + (size_t)j * plane, plane);
                    syn->label[m] = pool->label[j], syn->attr[m] = pool->attr[j], m++;
                }
                if (rc) rc = MCR_NOMEM();
            }
            free(have), free(take);
            if (rc) goto fail;
        }
        mcr_isample_config sc = c->sample;
        sc.seed = seed;
        if (extra && !syn && (rc = mcr_imodel_sample(model, counts, &sc, &syn))) goto fail;
    }
    if ((rc = itrain_alloc(out, nr + extra, plane))) goto fail;
    out->n_real = nr;
    size_t k = 0;
    for (int i = 0; i < s->n; i++)
        if (s->split[i] == MCR_SPLIT_TRAIN && s->label[i] >= 0) {
            memcpy(out->pix + k * plane, s->pix + (size_t)i * plane, plane);
            out->y[k] = s->label[i], out->site[k] = s->attr[i], k++;
        }
    if (kind == MCR_IEVAL_OVERSAMPLE) {
        /* each cell's duplicates cycle through a shuffled order of its images */
        size_t big = 0, *idx = malloc(nr * sizeof *idx);
        if (!idx) {
            rc = MCR_NOMEM();
            goto fail;
        }
        for (int q = 0; q < L * A; q++) big = cell[q] > big ? cell[q] : big;
        mcr_rng r;
        mcr_rng_seed(&r, seed, MCR_STREAM_IEVAL);
        for (int q = 0; q < L * A; q++) {
            if (!cell[q] || cell[q] == big) continue;
            size_t m = 0;
            for (size_t j = 0; j < nr; j++)
                if (out->y[j] * A + out->site[j] == q) idx[m++] = j;
            mcr_rng_shuffle(&r, idx, m);
            for (size_t d = 0; d < big - m; d++) {
                size_t j = idx[d % m];
                memcpy(out->pix + k * plane, out->pix + j * plane, plane);
                out->y[k] = out->y[j], out->site[k] = out->site[j], k++;
            }
        }
        free(idx);
    } else if (kind == MCR_IEVAL_RANDAUG) {
        mcr_randaug_config ra = c->randaug;
        ra.seed = seed;
        for (int r = 0; r < c->ra_copies; r++) {
            if ((rc = mcr_randaugment(&ra, out->pix, out->pix + k * plane, nr, (size_t)r * nr, s->h, s->w, s->c)))
                goto fail;
            for (size_t j = 0; j < nr; j++) out->y[k + j] = out->y[j], out->site[k + j] = out->site[j];
            k += nr;
        }
    } else if (kind == MCR_IEVAL_ORACLE) {
        const mcr_imageset *o = c->oracle;
        for (int i = 0; i < s->n; i++)
            if (s->split[i] == MCR_SPLIT_TRAIN && s->label[i] < 0 && o->label[i] >= 0) {
                memcpy(out->pix + k * plane, o->pix + (size_t)i * plane, plane);
                out->y[k] = o->label[i], out->site[k] = o->attr[i], k++;
            }
    } else if (mcr_ieval_is_diffusion(kind) && syn) {
        for (int j = 0; j < syn->n; j++) {
            int l = syn->label[j] >= 0 ? find_level(s->label_names, L, syn->label_names[syn->label[j]]) : -1;
            int a = syn->attr[j] >= 0 ? find_level(s->attr_names, A, syn->attr_names[syn->attr[j]]) : -1;
            if (l < 0 || (a < 0 && syn->nattrs > 0)) { /* a label-only generator's images have no site (-1) */
                rc = mcr_err(MCR_EINVAL, "image evaluate: a synthetic image of label '%s', site '%s' matches no level of %s",
                             syn->label[j] >= 0 ? syn->label_names[syn->label[j]] : "(null)",
                             syn->attr[j] >= 0 ? syn->attr_names[syn->attr[j]] : "(null)", s->source ? s->source : "the set");
                goto fail;
            }
            memcpy(out->pix + k * plane, syn->pix + (size_t)j * plane, plane);
            out->y[k] = l, out->site[k] = a, k++;
        }
    }
    MCR_ASSERT(k == out->n);
    free(cell), free(counts);
    mcr_imageset_free(syn);
    return MCR_OK;
fail:
    free(cell), free(counts);
    mcr_imageset_free(syn);
    mcr_itrain_free(out);
    return rc;
}

/* the pool: per cell the most any ratio asks for, so that every ratio's images are each cell's
 * first ones (the sets nest: a smaller ratio's images are a subset of a larger one's) */
int mcr_ieval_pool(const mcr_imageset *s, const double *ratios, int nratios, const mcr_ieval_config *c,
                   const mcr_imodel *model, uint64_t seed, mcr_imageset **pool) {
    *pool = NULL;
    size_t nr = 0;
    for (int i = 0; i < s->n; i++) nr += s->split[i] == MCR_SPLIT_TRAIN && s->label[i] >= 0;
    size_t ncell = (size_t)(mcr_imodel_nlabels(model) + 1) * (size_t)(mcr_imodel_nattrs(model) + 1), total = 0;
    size_t *counts = calloc(2 * ncell, sizeof *counts), *one = counts + ncell;
    if (!counts) return MCR_NOMEM();
    int rc = MCR_OK;
    for (int k = 0; k < nratios && !rc; k++) {
        if ((rc = mcr_imodel_counts_policy(model, (mcr_ipolicy)c->policy, n_synthetic(ratios[k], nr), one))) break;
        for (size_t q = 0; q < ncell; q++) counts[q] = one[q] > counts[q] ? one[q] : counts[q];
    }
    for (size_t q = 0; q < ncell; q++) total += counts[q];
    mcr_isample_config sc = c->sample;
    sc.seed = seed;
    if (!rc && total) rc = mcr_imodel_sample(model, counts, &sc, pool);
    free(counts);
    return rc;
}

/* ------------------------------------------------------------------ checks */
static int check_model(const mcr_imageset *s, const mcr_imodel *m) {
    mcr_unet_config u;
    mcr_imodel_weights(m, &u);
    int h = u.H, w = u.W, ch = u.in_ch;
    if (h != s->h || w != s->w || ch != s->c)
        return mcr_err(MCR_EINVAL, "image evaluate: the image model makes %dx%dx%d images, the data has %dx%dx%d", h, w, ch,
                       s->h, s->w, s->c);
    for (int l = 0; l < mcr_imodel_nlabels(m); l++)
        if (find_level(s->label_names, s->nlabels, mcr_imodel_label_name(m, l)) < 0)
            return mcr_err(MCR_EINVAL, "image evaluate: the image model's label '%s' is not a label of the data",
                           mcr_imodel_label_name(m, l));
    for (int a = 0; a < mcr_imodel_nattrs(m); a++)
        if (find_level(s->attr_names, s->nattrs, mcr_imodel_attr_name(m, a)) < 0)
            return mcr_err(MCR_EINVAL, "image evaluate: the image model's site '%s' is not a site of the data",
                           mcr_imodel_attr_name(m, a));
    for (int a = 0; a < s->nattrs; a++) {
        int k = 0;
        while (k < mcr_imodel_nattrs(m) && strcmp(mcr_imodel_attr_name(m, k), s->attr_names[a])) k++;
        if (k == mcr_imodel_nattrs(m))
            return mcr_err(MCR_EINVAL, "image evaluate: site '%s' of the data is unknown to the image model", s->attr_names[a]);
    }
    return MCR_OK;
}

#define METHOD_LIST "none, oversample, focal, randaugment, diffusion, diffusion-label-only, diffusion-no-unlabelled, oracle"

/* methods "a,b,diffusion" with each diffusion method expanded per ratio */
static int parse_methods(const mcr_ieval_config *c, mcr_ieval *r) {
    static const char *names[MCR_IEVAL_NKINDS] = {"none", "oversample", "focal", "randaugment", "diffusion", "oracle",
                                                  "diffusion-label-only", "diffusion-no-unlabelled"};
    int nm = 0, nr = 0, rc = MCR_OK;
    char **ms = mcr_split_list(c->methods ? c->methods : "", &nm);
    char **rs = mcr_split_list(c->ratios ? c->ratios : "", &nr);
    double *ratios = malloc(((size_t)nr + 1) * sizeof *ratios);
    if (!ms || !rs || !ratios) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int j = 0; j < nr; j++) {
        char *e;
        ratios[j] = strtod(rs[j], &e);
        if (e == rs[j] || *e || !(ratios[j] > 0 && ratios[j] < 1)) {
            rc = mcr_err(MCR_EINVAL, "--ratios: '%s' is not a share of synthetic images in (0, 1)", rs[j]);
            goto done;
        }
    }
    if (!nm) {
        rc = mcr_err(MCR_EINVAL, "--methods: no method (%s)", METHOD_LIST);
        goto done;
    }
    int cap = nm * (nr ? nr : 1);
    r->methods = calloc((size_t)cap, sizeof *r->methods);
    r->kind = calloc((size_t)cap, sizeof *r->kind);
    r->ratio = calloc((size_t)cap, sizeof *r->ratio);
    if (!r->methods || !r->kind || !r->ratio) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (int i = 0; i < nm; i++) {
        int k = 0;
        while (k < MCR_IEVAL_NKINDS && strcmp(ms[i], names[k])) k++;
        if (k == MCR_IEVAL_NKINDS) {
            rc = mcr_err(MCR_EINVAL, "--methods: unknown method '%s' (%s)", ms[i], METHOD_LIST);
            goto done;
        }
        for (int q = 0; q < r->nmethods; q++)
            if (r->kind[q] == k) {
                rc = mcr_err(MCR_EINVAL, "--methods: '%s' named twice", ms[i]);
                goto done;
            }
        int diff = mcr_ieval_is_diffusion(k);
        if (diff && !nr) {
            rc = mcr_err(MCR_EINVAL, "--ratios: %s needs at least one share in (0, 1)", names[k]);
            goto done;
        }
        for (int j = 0; j < (diff ? nr : 1); j++) {
            char buf[64];
            if (diff) snprintf(buf, sizeof buf, "%s@%g", names[k], ratios[j]);
            else snprintf(buf, sizeof buf, "%s", names[k]);
            int q = r->nmethods++;
            r->kind[q] = k, r->ratio[q] = diff ? ratios[j] : 0;
            if (!(r->methods[q] = mcr_strdup(buf))) {
                rc = MCR_NOMEM();
                goto done;
            }
        }
    }
done:
    free(ms), free(rs), free(ratios);
    return rc;
}

MCR_API void mcr_ieval_free(mcr_ieval *r) {
    if (!r) return;
    for (int i = 0; r->methods && i < r->nmethods; i++) free(r->methods[i]);
    for (int i = 0; r->sites && i < r->nsites; i++) free(r->sites[i]);
    for (int i = 0; r->labels && i < r->nlabels; i++) free(r->labels[i]);
    for (int i = 0; r->runs && i < r->nmethods * r->seeds; i++) free(r->runs[i].site_acc), free(r->runs[i].site_auroc);
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
        struct mcr_ieval_gen *G = &r->gen[g];
        free(G->cell_acc), free(G->cell_n), free(G->site_acc_per);
        mcr_imageset_free(G->grid);
    }
    free(r->methods), free(r->kind), free(r->ratio), free(r->sites), free(r->ood), free(r->site_ntest), free(r->runs);
    free(r->labels), free(r->generator), free(r->source);
    free(r);
}

/* ------------------------------------------------------------------ the generators */
static const char *ARM_NAME[MCR_IEVAL_NARMS] = {"diffusion", "diffusion-label-only", "diffusion-no-unlabelled"};

/* The set an arm's generator is fitted on, a view of s sharing its pixels, labels and names:
 * arm 0 s as it is (labelled and unlabelled train images, label + site); 1 (label-only) no site
 * at all (attr -1, no site level): the generator is conditioned on the label only; 2 (no
 * unlabelled) the unlabelled train images moved to the val split, which the fit skips. */
typedef struct ieval_view {
    mcr_imageset v;
    int *attr;
    char *split;
} ieval_view;

static int view_make(const mcr_imageset *s, int arm, ieval_view *o) {
    memset(o, 0, sizeof *o);
    o->v = *s;
    if (arm == 1) {
        if (!(o->attr = malloc(((size_t)s->n + 1) * sizeof *o->attr))) return MCR_NOMEM();
        for (int i = 0; i < s->n; i++) o->attr[i] = -1;
        o->v.attr = o->attr, o->v.nattrs = 0, o->v.attr_names = NULL;
    } else if (arm == 2) {
        if (!(o->split = malloc((size_t)s->n + 1))) return MCR_NOMEM();
        for (int i = 0; i < s->n; i++) o->split[i] = s->split[i] == MCR_SPLIT_TRAIN && s->label[i] < 0 ? MCR_SPLIT_VAL : s->split[i];
        o->v.split = o->split;
    }
    return MCR_OK;
}

static void view_free(ieval_view *o) { free(o->attr), free(o->split); }

static int fit_arm(const mcr_imageset *s, int arm, const mcr_ieval_config *c, uint64_t seed, mcr_imodel **out) {
    ieval_view v;
    int rc = view_make(s, arm, &v);
    mcr_ifit_config fc = c->fit;
    fc.seed = seed;
    if (!rc) rc = mcr_imodel_fit(&v.v, &fc, out);
    view_free(&v);
    return rc;
}

/* the first MCR_IEVAL_GRID images of every cell of pool, for the report's grids */
static int keep_grid(const mcr_imageset *pool, mcr_imageset **out) {
    *out = NULL;
    int L = pool->nlabels + 1, A = pool->nattrs + 1, n = 0, rc;
    int *cnt = calloc((size_t)L * (size_t)A, sizeof *cnt);
    if (!cnt) return MCR_NOMEM();
    for (int j = 0; j < pool->n; j++) {
        int q = (pool->label[j] < 0 ? L - 1 : pool->label[j]) * A + (pool->attr[j] < 0 ? A - 1 : pool->attr[j]);
        if (cnt[q] < MCR_IEVAL_GRID) cnt[q]++, n++;
    }
    mcr_imageset *g = NULL;
    if ((rc = mcr_imageset_alloc(n, pool->h, pool->w, pool->c, &g))) goto done;
    for (int l = 0; l < pool->nlabels && !rc; l++) rc = mcr_imageset_add_level(g, 0, pool->label_names[l]) < 0;
    for (int a = 0; a < pool->nattrs && !rc; a++) rc = mcr_imageset_add_level(g, 1, pool->attr_names[a]) < 0;
    if (rc) {
        rc = MCR_NOMEM();
        goto done;
    }
    memset(cnt, 0, (size_t)L * (size_t)A * sizeof *cnt);
    size_t plane = (size_t)pool->h * pool->w * pool->c, m = 0;
    for (int j = 0; j < pool->n; j++) {
        int q = (pool->label[j] < 0 ? L - 1 : pool->label[j]) * A + (pool->attr[j] < 0 ? A - 1 : pool->attr[j]);
        if (cnt[q] >= MCR_IEVAL_GRID) continue;
        cnt[q]++;
        memcpy(g->pix + m * plane, pool->pix + (size_t)j * plane, plane);
        g->label[m] = pool->label[j], g->attr[m] = pool->attr[j], m++;
    }
done:
    free(cnt);
    if (rc) mcr_imageset_free(g);
    else *out = g;
    return rc;
}

/* ------------------------------------------------------------------ the generator checks */
/* On an arm's synthetic images (pool; the first seed's, every cell at the largest ratio): the
 * none-arm classifier's accuracy against the intended label, per (label, site) cell and
 * overall; the site classifier's against the intended site, per site and overall (NaN for a
 * label-only generator, whose images have no site); the real-vs-synthetic detector's held-out
 * AUROC (quality.c's mcr_image_detect) against the real train images. */
static int gen_checks(const mcr_imageset *s, const mcr_imageset *pool, const mcr_cnn *label_net, const mcr_cnn *site_net,
                      const uint8_t *real, size_t nreal, const mcr_ieval_config *c, uint64_t seed, struct mcr_ieval_gen *G) {
    int L = s->nlabels, A = s->nattrs, rc = MCR_OK;
    size_t n = (size_t)pool->n;
    G->cell_acc = malloc((size_t)L * (size_t)(A + 1) * sizeof *G->cell_acc);
    G->cell_n = calloc((size_t)L * (size_t)(A + 1), sizeof *G->cell_n);
    G->site_acc_per = malloc((size_t)A * sizeof *G->site_acc_per);
    size_t *right = calloc((size_t)L * (size_t)(A + 1) + 2 * (size_t)A, sizeof *right), *sright = right + (size_t)L * (A + 1),
           *sn = sright + A;
    int *y = malloc((n + 1) * sizeof *y), *a = malloc((n + 1) * sizeof *a);
    double *prob = malloc((n + 1) * (size_t)(A > L ? A : L) * sizeof *prob);
    if (!G->cell_acc || !G->cell_n || !G->site_acc_per || !right || !y || !a || !prob) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (size_t j = 0; j < n; j++) {
        y[j] = pool->label[j] >= 0 ? find_level(s->label_names, L, pool->label_names[pool->label[j]]) : -1;
        a[j] = pool->attr[j] >= 0 ? find_level(s->attr_names, A, pool->attr_names[pool->attr[j]]) : -1;
    }
    /* the intended label */
    if ((rc = mcr_cnn_predict_proba_u8(label_net, pool->pix, n, prob))) goto done;
    size_t tot = 0, tr = 0;
    for (size_t j = 0; j < n; j++) {
        if (y[j] < 0) continue;
        int best = mcr_argmax(prob + j * L, L);
        size_t q = (size_t)y[j] * (size_t)(A + 1) + (size_t)(a[j] < 0 ? A : a[j]);
        G->cell_n[q]++, tot++;
        if (best == y[j]) right[q]++, tr++;
    }
    for (size_t q = 0; q < (size_t)L * (size_t)(A + 1); q++) G->cell_acc[q] = G->cell_n[q] ? (double)right[q] / (double)G->cell_n[q] : NAN;
    G->label_acc = tot ? (double)tr / (double)tot : NAN;
    /* the intended site */
    G->site_acc = NAN;
    for (int k = 0; k < A; k++) G->site_acc_per[k] = NAN;
    if (site_net && pool->nattrs > 0) {
        if ((rc = mcr_cnn_predict_proba_u8(site_net, pool->pix, n, prob))) goto done;
        size_t st = 0, sr = 0;
        for (size_t j = 0; j < n; j++) {
            if (a[j] < 0) continue;
            int best = mcr_argmax(prob + j * A, A);
            sn[a[j]]++, st++;
            if (best == a[j]) sright[a[j]]++, sr++;
        }
        for (int k = 0; k < A; k++) G->site_acc_per[k] = sn[k] ? (double)sright[k] / (double)sn[k] : NAN;
        G->site_acc = st ? (double)sr / (double)st : NAN;
    }
    /* real against synthetic */
    size_t dtrain;
    rc = mcr_image_detect(&c->cnn, real, nreal, pool->pix, n, s->h, s->w, s->c, 0.3, seed, &G->detect_auroc, &G->detect_acc,
                          &dtrain, &G->detect_n);
    G->checked = !rc;
done:
    free(right), free(y), free(a), free(prob);
    return rc;
}

/* ------------------------------------------------------------------ the run */
MCR_API int mcr_image_evaluate(const mcr_imageset *s, const mcr_ieval_config *c, mcr_ieval **out) {
    *out = NULL;
    double t0 = now_s();
    if (c->seeds < 1 || c->seeds > 256) return mcr_err(MCR_EINVAL, "--seeds: %d, want 1 to 256", c->seeds);
    if (c->ra_copies < 1) return mcr_err(MCR_EINVAL, "randaugment copies: %d, want at least 1", c->ra_copies);
    if (c->policy != MCR_IPOLICY_BALANCE && c->policy != MCR_IPOLICY_GROUP_BALANCE)
        return mcr_err(MCR_EINVAL, "--policy: %d, want balance or group-balance", c->policy);
    const char *src = s->source ? s->source : "the set";
    if (s->nlabels != 2)
        return mcr_err(MCR_EINVAL, "image evaluate: %s has %d label levels; the evaluation needs a binary label", src,
                       s->nlabels);
    if (s->nattrs < 1) return mcr_err(MCR_EINVAL, "image evaluate: %s has no site (attribute) column", src);
    for (int i = 0; i < s->n; i++)
        if (s->attr[i] < 0)
            return mcr_err(MCR_EINVAL, "image evaluate: image %d of %s (split %s) has no site; every image needs one", i, src,
                           s->split[i] == MCR_SPLIT_TRAIN ? "train" : s->split[i] == MCR_SPLIT_VAL ? "val" : "test");
    mcr_ieval *r = calloc(1, sizeof *r);
    if (!r) return MCR_NOMEM();
    int rc = parse_methods(c, r), A = s->nattrs, L = s->nlabels;
    mcr_imodel *fitted[MCR_IEVAL_NARMS] = {0};
    const mcr_imodel *model[MCR_IEVAL_NARMS] = {0};
    mcr_imageset *pool[MCR_IEVAL_NARMS] = {0};
    mcr_cnn *none_net = NULL, *site_net = NULL;
    uint8_t *tpix = NULL, *rpix = NULL;
    int *ty = NULL, *tsite = NULL, *rsite = NULL;
    double *prob = NULL, *ratios = NULL;
    size_t *ntr = NULL;
    if (rc) goto fail;
    r->seeds = c->seeds, r->seed = c->seed, r->nsites = A, r->nlabels = L;
    r->policy = c->policy, r->refit = c->refit, r->joint = c->sample.joint, r->site_real_acc = NAN;
    r->sites = calloc((size_t)A, sizeof *r->sites);
    r->labels = calloc((size_t)L, sizeof *r->labels);
    r->ood = calloc((size_t)A, sizeof *r->ood);
    r->site_ntest = calloc((size_t)A, sizeof *r->site_ntest);
    r->runs = calloc((size_t)(r->nmethods * r->seeds), sizeof *r->runs);
    r->source = mcr_strdup(src);
    ratios = malloc(((size_t)r->nmethods + 1) * sizeof *ratios);
    if (!r->sites || !r->labels || !r->ood || !r->site_ntest || !r->runs || !r->source || !ratios) goto nomem;
    for (int a = 0; a < A; a++)
        if (!(r->sites[a] = mcr_strdup(s->attr_names[a]))) goto nomem;
    for (int l = 0; l < L; l++)
        if (!(r->labels[l] = mcr_strdup(s->label_names[l]))) goto nomem;
    /* ID / OOD sites and the test images */
    ntr = calloc((size_t)A, sizeof *ntr);
    size_t nt = 0, plane = (size_t)s->h * s->w * s->c, nrall = 0;
    if (!ntr) goto nomem;
    for (int i = 0; i < s->n; i++) {
        nrall += s->split[i] == MCR_SPLIT_TRAIN;
        if (s->label[i] < 0) continue;
        if (s->split[i] == MCR_SPLIT_TRAIN) ntr[s->attr[i]]++;
        if (s->split[i] == MCR_SPLIT_TEST) r->site_ntest[s->attr[i]]++, nt++;
    }
    for (int a = 0; a < A; a++) r->ood[a] = !r->site_ntest[a] ? -1 : ntr[a] ? 0 : 1;
    size_t nid = 0;
    for (int a = 0; a < A; a++) nid += ntr[a];
    if (!nid) {
        rc = mcr_err(MCR_EINVAL, "image evaluate: %s has no labelled train image", src);
        goto fail;
    }
    if (!nt) {
        rc = mcr_err(MCR_EINVAL, "image evaluate: %s has no labelled test image", src);
        goto fail;
    }
    tpix = malloc(nt * plane), ty = malloc(nt * sizeof *ty), tsite = malloc(nt * sizeof *tsite);
    prob = malloc(nt * (size_t)(A > 2 ? A : 2) * sizeof *prob);
    rpix = malloc((nrall + 1) * plane), rsite = malloc((nrall + 1) * sizeof *rsite);
    if (!tpix || !ty || !tsite || !prob || !rpix || !rsite) goto nomem;
    size_t k = 0, kr = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->split[i] == MCR_SPLIT_TEST && s->label[i] >= 0) {
            memcpy(tpix + k * plane, s->pix + (size_t)i * plane, plane);
            ty[k] = s->label[i], tsite[k] = s->attr[i], k++;
        }
        if (s->split[i] == MCR_SPLIT_TRAIN) /* every train image, for the site classifier and the detector */
            memcpy(rpix + kr * plane, s->pix + (size_t)i * plane, plane), rsite[kr++] = s->attr[i];
    }
    for (int a = 0; a < A; a++) r->n_id += r->ood[a] == 0 ? r->site_ntest[a] : 0, r->n_ood += r->ood[a] == 1 ? r->site_ntest[a] : 0;
    /* the generators: which arms, their ratios */
    int narms = 0, nratios = 0;
    for (int q = 0; q < r->nmethods; q++) {
        int g = mcr_ieval_arm(r->kind[q]);
        if (g < 0) continue;
        narms += !r->gen[g].used, r->gen[g].used = 1;
        int seen = 0;
        for (int j = 0; j < nratios; j++) seen |= ratios[j] == r->ratio[q];
        if (!seen) ratios[nratios++] = r->ratio[q];
    }
    if (r->gen[0].used && c->model && (rc = check_model(s, c->model))) goto fail;
    for (int q = 0; q < r->nmethods; q++)
        if (r->kind[q] == MCR_IEVAL_ORACLE) { /* checked before any training */
            mcr_itrain t;
            if ((rc = mcr_ieval_trainset(s, MCR_IEVAL_ORACLE, 0, c, NULL, NULL, c->seed, &t))) goto fail;
            mcr_itrain_free(&t);
        }
    if (narms) {
        char ch[64] = "";
        for (int l = 0; l < c->fit.nlevels; l++)
            snprintf(ch + strlen(ch), sizeof ch - strlen(ch), "%s%d", l ? "," : "", c->fit.channels[l]);
        char buf[640], how[96];
        snprintf(how, sizeof how, "fitted once (seed %llu), used by every seed", (unsigned long long)c->seed);
        snprintf(buf, sizeof buf,
                 "%s; UNet channels %s, %d residual block%s per level%s, %d steps of %d images, %s convolutions; "
                 "DDIM %d steps, %s; policy %s",
                 c->model ? "diffusion: the given model (the other arms fitted here)"
                 : c->refit ? "fitted per seed (seed = the run's)" : how,
                 ch, c->fit.nres, c->fit.nres == 1 ? "" : "s", c->fit.attn ? ", attention at the lowest" : "", c->fit.steps,
                 c->fit.batch, c->fit.precision == MCR_PRECISION_BF16 ? "bf16" : c->fit.precision == MCR_PRECISION_AUTO ? "auto (bf16 where the CPU has it)" : "fp32",
                 c->sample.sample_steps,
                 c->sample.joint ? "one network pass per step, eps(label, site), no guidance" : "composed guidance (3 network passes per step)",
                 c->policy == MCR_IPOLICY_BALANCE ? "balance" : "group-balance");
        if (c->sample.joint == 0) {
            size_t u = strlen(buf);
            snprintf(buf + u, sizeof buf - u, "; guidance weights label %g, site %g", (double)c->sample.w_label, (double)c->sample.w_attr);
        }
        if (!(r->generator = mcr_strdup(buf))) goto nomem;
    }
    /* the site classifier: every train image (labelled or not) with its site */
    if (narms && c->checks) {
        mcr_say(c->progress, c->progress_ctx, "checks: the site classifier on %zu train images", nrall);
        mcr_cnn_config cc = c->cnn;
        cc.seed = c->seed;
        if (c->threads) cc.threads = c->threads;
        if ((rc = mcr_cnn_fit_u8(&cc, rpix, rsite, nrall, s->h, s->w, s->c, A, &site_net))) goto fail;
        if ((rc = mcr_cnn_predict_proba_u8(site_net, tpix, nt, prob))) goto fail;
        size_t right = 0;
        for (size_t i = 0; i < nt; i++) right += mcr_argmax(prob + i * A, A) == tsite[i];
        r->site_real_acc = (double)right / (double)nt;
    }
    for (int sd = 0; sd < r->seeds; sd++) {
        uint64_t seed = c->seed + (uint64_t)sd;
        /* the generators: fitted once (the first seed, seed --seed) or per seed */
        for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
            if (!r->gen[g].used || (g == 0 && c->model)) {
                if (g == 0 && c->model) model[0] = c->model;
                continue;
            }
            if (sd > 0 && !c->refit) continue;
            mcr_imodel_free(fitted[g]);
            fitted[g] = NULL;
            double t1 = now_s();
            mcr_say(c->progress, c->progress_ctx, "seed %d/%d: fitting the %s generator (%d steps)", sd + 1, r->seeds, ARM_NAME[g],
                    c->fit.steps);
            if ((rc = fit_arm(s, g, c, c->refit ? seed : c->seed, &fitted[g]))) goto fail;
            model[g] = fitted[g];
            double dt = now_s() - t1;
            r->gen[g].fit_seconds += dt, r->fit_seconds += dt, r->model_fitted = 1;
            mcr_say(c->progress, c->progress_ctx, "%s generator fitted in %.1f s (final loss %.4f)", ARM_NAME[g], dt,
                    (double)mcr_imodel_final_loss(fitted[g]));
        }
        /* one sample per arm and seed; each ratio takes each cell's first images of it */
        for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
            if (!r->gen[g].used) continue;
            double t1 = now_s();
            if ((rc = mcr_ieval_pool(s, ratios, nratios, c, model[g], seed, &pool[g]))) goto fail;
            double dt = now_s() - t1;
            r->gen[g].sample_seconds += dt, r->gen[g].n_pool = pool[g] ? (size_t)pool[g]->n : 0;
            mcr_say(c->progress, c->progress_ctx, "seed %d/%d: %d synthetic images of %s in %.1f s", sd + 1, r->seeds,
                    pool[g] ? pool[g]->n : 0, ARM_NAME[g], dt);
            if (sd == 0 && pool[g] && (rc = keep_grid(pool[g], &r->gen[g].grid))) goto fail;
        }
        for (int q = 0; q < r->nmethods; q++) {
            struct mcr_ieval_run *u = &r->runs[q * r->seeds + sd];
            double t1 = now_s();
            mcr_itrain tr;
            int g = mcr_ieval_arm(r->kind[q]);
            if ((rc = mcr_ieval_trainset(s, r->kind[q], r->ratio[q], c, g >= 0 ? model[g] : NULL, g >= 0 ? pool[g] : NULL, seed,
                                         &tr)))
                goto fail;
            mcr_cnn_config cc = c->cnn;
            cc.seed = seed;
            if (c->threads) cc.threads = c->threads;
            if (r->kind[q] == MCR_IEVAL_FOCAL) cc.focal_gamma = c->focal_gamma, cc.balanced = 1;
            mcr_cnn *net = NULL;
            rc = mcr_cnn_fit_u8(&cc, tr.pix, tr.y, tr.n, s->h, s->w, s->c, 2, &net);
            u->n_train = tr.n, u->n_real = tr.n_real;
            mcr_itrain_free(&tr);
            if (!rc) rc = mcr_cnn_predict_proba_u8(net, tpix, nt, prob);
            if (!rc && sd == 0 && r->kind[q] == MCR_IEVAL_NONE && !none_net) none_net = net, net = NULL;
            mcr_cnn_free(net);
            if (rc) goto fail;
            for (size_t i = 0; i < nt; i++) prob[i] = prob[2 * i + 1];
            u->site_acc = malloc((size_t)A * sizeof(double)), u->site_auroc = malloc((size_t)A * sizeof(double));
            if (!u->site_acc || !u->site_auroc) goto nomem;
            if ((rc = mcr_ieval_score(ty, prob, tsite, nt, A, r->ood, &u->m, u->site_acc, u->site_auroc))) goto fail;
            u->seconds = now_s() - t1;
            mcr_say(c->progress, c->progress_ctx,
                    "seed %d/%d %-28s %6zu train images: ID acc %.4f, OOD acc %.4f, worst site %.4f, gap %.4f (%.1f s)",
                    sd + 1, r->seeds, r->methods[q], u->n_train, u->m.id_acc, u->m.ood_acc, u->m.worst_acc, u->m.gap,
                    u->seconds);
        }
        /* the generator checks on the first seed's images */
        if (sd == 0 && narms && c->checks) {
            if (!none_net) { /* the none arm's classifier, when none was not among the methods */
                mcr_itrain tr;
                if ((rc = mcr_ieval_trainset(s, MCR_IEVAL_NONE, 0, c, NULL, NULL, seed, &tr))) goto fail;
                mcr_cnn_config cc = c->cnn;
                cc.seed = seed;
                if (c->threads) cc.threads = c->threads;
                rc = mcr_cnn_fit_u8(&cc, tr.pix, tr.y, tr.n, s->h, s->w, s->c, 2, &none_net);
                mcr_itrain_free(&tr);
                if (rc) goto fail;
            }
            for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
                if (!r->gen[g].used || !pool[g]) continue;
                double t1 = now_s();
                mcr_ieval_config cx = *c;
                if (c->threads) cx.cnn.threads = c->threads;
                if ((rc = gen_checks(s, pool[g], none_net, site_net, rpix, nrall, &cx, seed, &r->gen[g]))) goto fail;
                mcr_say(c->progress, c->progress_ctx,
                        "checks of %s: label acc %.4f, site acc %.4f, detection AUROC %.4f (%.1f s)", ARM_NAME[g],
                        r->gen[g].label_acc, r->gen[g].site_acc, r->gen[g].detect_auroc, now_s() - t1);
            }
        }
        for (int g = 0; g < MCR_IEVAL_NARMS; g++) mcr_imageset_free(pool[g]), pool[g] = NULL;
    }
    r->seconds = now_s() - t0;
    rc = MCR_OK;
    goto done;
nomem:
    rc = MCR_NOMEM();
fail:
    mcr_ieval_free(r);
    r = NULL;
done:
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) mcr_imageset_free(pool[g]), mcr_imodel_free(fitted[g]);
    mcr_cnn_free(none_net), mcr_cnn_free(site_net);
    free(tpix), free(ty), free(tsite), free(prob), free(rpix), free(rsite), free(ratios), free(ntr);
    *out = r;
    return rc;
}

/* ------------------------------------------------------------------ summaries */
enum { NMET = 6 };
static const char *MET_KEY[NMET] = {"id_acc", "ood_acc", "id_auroc", "ood_auroc", "worst_acc", "gap"};
static const char *MET_LABEL[NMET] = {"ID acc", "OOD acc", "ID AUROC", "OOD AUROC", "worst acc", "gap"};

static double metric(const struct mcr_ieval_run *u, int k) {
    const mcr_ieval_metrics *m = &u->m;
    return k == 0 ? m->id_acc : k == 1 ? m->ood_acc : k == 2 ? m->id_auroc : k == 3 ? m->ood_auroc : k == 4 ? m->worst_acc : m->gap;
}

static void summary(const mcr_ieval *r, int q, int k, double *mean, double *half) {
    double v[256];
    int n = r->seeds < 256 ? r->seeds : 256;
    for (int s = 0; s < n; s++) v[s] = metric(&r->runs[q * r->seeds + s], k);
    mcr_mean_ci95(v, n, mean, half);
}

static int paired(const mcr_ieval *r, int a, int b, int k, double *mean, double *half) {
    double v[256];
    int n = r->seeds < 256 ? r->seeds : 256;
    for (int s = 0; s < n; s++) v[s] = metric(&r->runs[a * r->seeds + s], k) - metric(&r->runs[b * r->seeds + s], k);
    mcr_mean_ci95(v, n, mean, half);
    return n;
}

/* the method index of `none` (-1 if absent) and, per metric, the best baseline (-1 if none) */
static int baselines(const mcr_ieval *r, int best[NMET]) {
    int none = -1;
    for (int q = 0; q < r->nmethods; q++)
        if (r->kind[q] == MCR_IEVAL_NONE) none = q;
    for (int k = 0; k < NMET; k++) {
        best[k] = -1;
        double bv = 0;
        for (int q = 0; q < r->nmethods; q++) {
            if (mcr_ieval_is_diffusion(r->kind[q]) || r->kind[q] == MCR_IEVAL_ORACLE) continue;
            double m, h;
            summary(r, q, k, &m, &h);
            if (!isfinite(m)) continue;
            if (best[k] < 0 || (k == 5 ? m < bv : m > bv)) best[k] = q, bv = m;
        }
    }
    return none;
}

static void cell(FILE *f, double m, double h) {
    if (!isfinite(m)) fprintf(f, " %15s", "-");
    else if (!isfinite(h)) fprintf(f, " %15.4f", m);
    else fprintf(f, "   %.4f ± %.4f", m, h);
}

/* "0.912" or "-" for NaN, in width w */
static void fnum(FILE *f, int w, double v) {
    if (isfinite(v)) fprintf(f, " %*.4f", w, v);
    else fprintf(f, " %*s", w, "-");
}

/* the generator checks: per arm the synthetic images, the label / site / detection scores, and
 * the label accuracy per (label, site) cell */
static void print_checks(const mcr_ieval *r, FILE *f) {
    int any = 0, A = r->nsites, L = r->nlabels;
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) any |= r->gen[g].checked;
    for (int g = 0; g < MCR_IEVAL_NARMS; g++)
        if (r->gen[g].used)
            fprintf(f, "  %-24s fit %.1f s, %zu images sampled per seed (%.1f s in all)\n", ARM_NAME[g], r->gen[g].fit_seconds,
                    r->gen[g].n_pool, r->gen[g].sample_seconds);
    if (!any) return;
    fprintf(f, "\ngenerator checks (seed %llu's synthetic images, every cell at the largest ratio; classifiers trained on\n"
               "real train images: label = the none arm's CNN, site = a CNN of the train images' sites (real test\n"
               "accuracy %.4f); detection = real train vs synthetic, held-out AUROC, 0.5 = indistinguishable)\n",
            (unsigned long long)r->seed, r->site_real_acc);
    fprintf(f, "%-24s %9s %9s %9s %12s\n", "generator", "images", "label acc", "site acc", "detect AUROC");
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
        const struct mcr_ieval_gen *G = &r->gen[g];
        if (!G->checked) continue;
        fprintf(f, "%-24s %9zu", ARM_NAME[g], G->n_pool);
        fnum(f, 9, G->label_acc), fnum(f, 9, G->site_acc), fnum(f, 12, G->detect_auroc);
        fputc('\n', f);
    }
    fprintf(f, "\nlabel accuracy on synthetic images per (label, site) cell (label/site; '-' = none sampled)\n%-24s", "generator");
    for (int l = 0; l < L; l++)
        for (int a = 0; a <= A; a++) {
            char h[64];
            snprintf(h, sizeof h, "%s/%s", r->labels[l], a < A ? r->sites[a] : "none");
            fprintf(f, " %7s", h);
        }
    fputc('\n', f);
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
        const struct mcr_ieval_gen *G = &r->gen[g];
        if (!G->checked) continue;
        fprintf(f, "%-24s", ARM_NAME[g]);
        for (int q = 0; q < L * (A + 1); q++)
            if (G->cell_n[q]) fprintf(f, " %7.3f", G->cell_acc[q]);
            else fprintf(f, " %7s", "-");
        fputc('\n', f);
    }
    fprintf(f, "\nsite accuracy on synthetic images per intended site\n%-24s", "generator");
    for (int a = 0; a < A; a++) fprintf(f, " %7s", r->sites[a]);
    fputc('\n', f);
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
        const struct mcr_ieval_gen *G = &r->gen[g];
        if (!G->checked || !isfinite(G->site_acc)) continue;
        fprintf(f, "%-24s", ARM_NAME[g]);
        for (int a = 0; a < A; a++)
            if (isfinite(G->site_acc_per[a])) fprintf(f, " %7.3f", G->site_acc_per[a]);
            else fprintf(f, " %7s", "-");
        fputc('\n', f);
    }
}

MCR_API int mcr_ieval_print(const mcr_ieval *r, FILE *f) {
    int mw = 16;
    for (int q = 0; q < r->nmethods; q++) mw = (int)strlen(r->methods[q]) > mw ? (int)strlen(r->methods[q]) : mw;
    fprintf(f, "image evaluate: %s, %d seed%s from %llu; test images: ID %zu, OOD %zu\n", r->source, r->seeds,
            r->seeds == 1 ? "" : "s", (unsigned long long)r->seed, r->n_id, r->n_ood);
    fprintf(f, "sites:");
    for (int a = 0; a < r->nsites; a++)
        fprintf(f, " %s (%s, %zu test)", r->sites[a], r->ood[a] == 1 ? "OOD" : r->ood[a] == 0 ? "ID" : "no test",
                r->site_ntest[a]);
    fprintf(f, "\n\nmean ± 95%% CI over seeds (Student t; worst acc and gap over every site with test images)\n");
    fprintf(f, "%-*s %7s", mw, "method", "train");
    for (int k = 0; k < NMET; k++) fprintf(f, " %15s", MET_LABEL[k]);
    fputc('\n', f);
    for (int q = 0; q < r->nmethods; q++) {
        fprintf(f, "%-*s %7zu", mw, r->methods[q], r->runs[q * r->seeds].n_train);
        for (int k = 0; k < NMET; k++) {
            double m, h;
            summary(r, q, k, &m, &h);
            cell(f, m, h);
        }
        fputc('\n', f);
    }
    fprintf(f, "\nper-site accuracy (mean over seeds)\n%-*s", mw, "method");
    for (int a = 0; a < r->nsites; a++) fprintf(f, " %8s", r->sites[a]);
    fputc('\n', f);
    for (int q = 0; q < r->nmethods; q++) {
        fprintf(f, "%-*s", mw, r->methods[q]);
        for (int a = 0; a < r->nsites; a++) {
            double s = 0;
            int n = 0;
            for (int sd = 0; sd < r->seeds; sd++) {
                double v = r->runs[q * r->seeds + sd].site_acc[a];
                if (isfinite(v)) s += v, n++;
            }
            if (n) fprintf(f, " %8.4f", s / n);
            else fprintf(f, " %8s", "-");
        }
        fputc('\n', f);
    }
    int best[NMET], none = baselines(r, best);
    if (none >= 0 && r->nmethods > 1) {
        fprintf(f, "\npaired difference vs none (mean ± 95%% CI of per-seed differences)\n%-*s", mw, "method");
        for (int k = 0; k < NMET; k++) fprintf(f, " %15s", MET_LABEL[k]);
        fputc('\n', f);
        for (int q = 0; q < r->nmethods; q++) {
            if (q == none) continue;
            fprintf(f, "%-*s", mw, r->methods[q]);
            for (int k = 0; k < NMET; k++) {
                double m, h;
                paired(r, q, none, k, &m, &h);
                cell(f, m, h);
            }
            fputc('\n', f);
        }
    }
    int anyd = 0;
    for (int q = 0; q < r->nmethods; q++) anyd |= mcr_ieval_is_diffusion(r->kind[q]);
    if (anyd && best[0] >= 0) {
        fprintf(f, "\npaired difference vs the best baseline of each metric (");
        for (int k = 0; k < NMET; k++) fprintf(f, "%s%s: %s", k ? ", " : "", MET_LABEL[k], best[k] >= 0 ? r->methods[best[k]] : "-");
        fprintf(f, "; gap: lowest)\n%-*s", mw, "method");
        for (int k = 0; k < NMET; k++) fprintf(f, " %15s", MET_LABEL[k]);
        fputc('\n', f);
        for (int q = 0; q < r->nmethods; q++) {
            if (!mcr_ieval_is_diffusion(r->kind[q])) continue;
            fprintf(f, "%-*s", mw, r->methods[q]);
            for (int k = 0; k < NMET; k++) {
                double m = NAN, h = NAN;
                if (best[k] >= 0) paired(r, q, best[k], k, &m, &h);
                cell(f, m, h);
            }
            fputc('\n', f);
        }
    }
    if (r->generator) {
        fprintf(f, "\ngenerator: %s\n", r->generator);
        print_checks(r, f);
    }
    double samp = 0;
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) samp += r->gen[g].sample_seconds;
    fputc('\n', f);
    if (r->model_fitted) fprintf(f, "generators fitted in the run: %.1f s; ", r->fit_seconds);
    if (samp > 0) fprintf(f, "sampling: %.1f s; ", samp);
    fprintf(f, "time %.1f s\n", r->seconds);
    return ferror(f) ? mcr_err(MCR_EIO, "image evaluate: write error") : MCR_OK;
}

static void json_mh(FILE *f, const char *key, double m, double h) {
    fprintf(f, "\"%s\":{\"mean\":", key);
    mcr_json_num(f, m);
    fputs(",\"lo\":", f);
    mcr_json_num(f, m - h);
    fputs(",\"hi\":", f);
    mcr_json_num(f, m + h);
    fputc('}', f);
}

MCR_API int mcr_ieval_write_json(const mcr_ieval *r, FILE *f) {
    fputs("{\"source\":", f);
    mcr_json_str(f, r->source);
    fprintf(f, ",\"seeds\":%d,\"seed\":%llu,\"n_id\":%zu,\"n_ood\":%zu,\"sites\":[", r->seeds, (unsigned long long)r->seed,
            r->n_id, r->n_ood);
    for (int a = 0; a < r->nsites; a++) {
        fputs(a ? ",{\"name\":" : "{\"name\":", f);
        mcr_json_str(f, r->sites[a]);
        fprintf(f, ",\"role\":\"%s\",\"n_test\":%zu}", r->ood[a] == 1 ? "ood" : r->ood[a] == 0 ? "id" : "none",
                r->site_ntest[a]);
    }
    fputs("],\"runs\":[", f);
    int first = 1;
    for (int sd = 0; sd < r->seeds; sd++)
        for (int q = 0; q < r->nmethods; q++) {
            const struct mcr_ieval_run *u = &r->runs[q * r->seeds + sd];
            fputs(first ? "{\"method\":" : ",{\"method\":", f);
            first = 0;
            mcr_json_str(f, r->methods[q]);
            if (mcr_ieval_is_diffusion(r->kind[q]))
                fprintf(f, ",\"generator\":\"%s\",\"ratio\":%g", ARM_NAME[mcr_ieval_arm(r->kind[q])], r->ratio[q]);
            fprintf(f, ",\"seed\":%llu,\"n_train\":%zu,\"n_real\":%zu", (unsigned long long)(r->seed + (uint64_t)sd), u->n_train,
                    u->n_real);
            for (int k = 0; k < NMET; k++) {
                fprintf(f, ",\"%s\":", MET_KEY[k]);
                mcr_json_num(f, metric(u, k));
            }
            fputs(",\"per_site\":{", f);
            for (int a = 0; a < r->nsites; a++) {
                if (a) fputc(',', f);
                mcr_json_str(f, r->sites[a]);
                fputs(":{\"acc\":", f);
                mcr_json_num(f, u->site_acc[a]);
                fputs(",\"auroc\":", f);
                mcr_json_num(f, u->site_auroc[a]);
                fputc('}', f);
            }
            fprintf(f, "},\"seconds\":%.3f}", u->seconds);
        }
    fputs("],\"summary\":[", f);
    for (int q = 0; q < r->nmethods; q++) {
        fputs(q ? ",{\"method\":" : "{\"method\":", f);
        mcr_json_str(f, r->methods[q]);
        if (mcr_ieval_is_diffusion(r->kind[q]))
            fprintf(f, ",\"generator\":\"%s\",\"ratio\":%g", ARM_NAME[mcr_ieval_arm(r->kind[q])], r->ratio[q]);
        for (int k = 0; k < NMET; k++) {
            double m, h;
            summary(r, q, k, &m, &h);
            fputc(',', f);
            json_mh(f, MET_KEY[k], m, h);
        }
        fputc('}', f);
    }
    fputs("],\"paired\":[", f);
    int best[NMET], none = baselines(r, best);
    first = 1;
    for (int q = 0; q < r->nmethods; q++)
        for (int k = 0; k < NMET; k++)
            for (int w = 0; w < 2; w++) {
                int b = w ? best[k] : none;
                if (b < 0 || b == q || (w && !mcr_ieval_is_diffusion(r->kind[q]))) continue;
                double m, h;
                paired(r, q, b, k, &m, &h);
                fputs(first ? "{\"method\":" : ",{\"method\":", f);
                first = 0;
                mcr_json_str(f, r->methods[q]);
                fputs(",\"vs\":", f);
                mcr_json_str(f, r->methods[b]);
                fprintf(f, ",\"baseline\":\"%s\",\"metric\":\"%s\",", w ? "best" : "none", MET_KEY[k]);
                json_mh(f, "diff", m, h);
                fputc('}', f);
            }
    fputs("],\"generator\":", f);
    if (!r->generator) fputs("null", f);
    else {
        fputs("{\"settings\":", f);
        mcr_json_str(f, r->generator);
        fprintf(f, ",\"policy\":\"%s\",\"refit_per_seed\":%s,\"one_pass\":%s,\"site_classifier_real_acc\":",
                r->policy == MCR_IPOLICY_BALANCE ? "balance" : "group-balance", r->refit ? "true" : "false",
                r->joint ? "true" : "false");
        mcr_json_num(f, r->site_real_acc);
        fputs(",\"arms\":[", f);
        int fa = 1;
        for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
            const struct mcr_ieval_gen *G = &r->gen[g];
            if (!G->used) continue;
            fprintf(f, "%s{\"arm\":\"%s\",\"fit_seconds\":%.3f,\"sample_seconds\":%.3f,\"n_synthetic\":%zu,\"checked\":%s",
                    fa ? "" : ",", ARM_NAME[g], G->fit_seconds, G->sample_seconds, G->n_pool, G->checked ? "true" : "false");
            fa = 0;
            if (G->checked) {
                fputs(",\"label_acc\":", f), mcr_json_num(f, G->label_acc);
                fputs(",\"site_acc\":", f), mcr_json_num(f, G->site_acc);
                fputs(",\"detect_auroc\":", f), mcr_json_num(f, G->detect_auroc);
                fputs(",\"detect_acc\":", f), mcr_json_num(f, G->detect_acc);
                fprintf(f, ",\"detect_test\":%zu,\"cells\":[", G->detect_n);
                int fc = 1;
                for (int l = 0; l < r->nlabels; l++)
                    for (int a = 0; a <= r->nsites; a++) {
                        size_t q = (size_t)l * (size_t)(r->nsites + 1) + (size_t)a;
                        if (!G->cell_n[q]) continue;
                        fputs(fc ? "{\"label\":" : ",{\"label\":", f);
                        fc = 0;
                        mcr_json_str(f, r->labels[l]);
                        fputs(",\"site\":", f);
                        if (a < r->nsites) mcr_json_str(f, r->sites[a]);
                        else fputs("null", f);
                        fprintf(f, ",\"n\":%zu,\"acc\":", G->cell_n[q]);
                        mcr_json_num(f, G->cell_acc[q]);
                        fputc('}', f);
                    }
                fputs("],\"site_acc_per_site\":{", f);
                for (int a = 0; a < r->nsites; a++) {
                    if (a) fputc(',', f);
                    mcr_json_str(f, r->sites[a]);
                    fputc(':', f);
                    mcr_json_num(f, G->site_acc_per[a]);
                }
                fputc('}', f);
            }
            fputc('}', f);
        }
        fputs("]}", f);
    }
    fprintf(f, ",\"model_fitted\":%s,\"fit_seconds\":%.3f,\"seconds\":%.3f}\n", r->model_fitted ? "true" : "false",
            r->fit_seconds, r->seconds);
    return ferror(f) ? mcr_err(MCR_EIO, "image evaluate: write error") : MCR_OK;
}

/* ------------------------------------------------------------------ the HTML report */
/* up to MCR_IEVAL_GRID images of `from` with label name `lab` and site name `site` (NULL: no
 * site) in split (0: any), as one row of png.c's grid; *png NULL when there is none */
static int strip_png(const mcr_imageset *from, const char *lab, const char *site, char split, unsigned char **png, size_t *len,
                     int *gw, int *gh) {
    *png = NULL, *len = 0;
    int l = find_level(from->label_names, from->nlabels, lab), a = site ? find_level(from->attr_names, from->nattrs, site) : -1;
    if (l < 0 || (site && a < 0)) return MCR_OK;
    int n = 0;
    for (int i = 0; i < from->n && n < MCR_IEVAL_GRID; i++)
        n += from->label[i] == l && from->attr[i] == a && (!split || from->split[i] == split);
    if (!n) return MCR_OK;
    mcr_imageset *g = NULL;
    int rc = mcr_imageset_alloc(n, from->h, from->w, from->c, &g);
    if (rc) return rc;
    size_t plane = (size_t)from->h * from->w * from->c, m = 0;
    for (int i = 0; i < from->n && (int)m < n; i++)
        if (from->label[i] == l && from->attr[i] == a && (!split || from->split[i] == split))
            memcpy(g->pix + m * plane, from->pix + (size_t)i * plane, plane), m++;
    rc = mcr_imageset_grid_png(g, MCR_IEVAL_GRID, 0, png, len, NULL, gw, gh);
    mcr_imageset_free(g);
    return rc;
}

static void html_mh(FILE *f, double m, double h) {
    if (!isfinite(m)) fputs("<td>-</td>", f);
    else if (!isfinite(h)) fprintf(f, "<td>%.4f</td>", m);
    else fprintf(f, "<td>%.4f <small>&#177;%.4f</small></td>", m, h);
}

MCR_API int mcr_ieval_report(const mcr_ieval *r, const mcr_imageset *s, const char *command_line, mcr_report **out) {
    *out = NULL;
    char title[512];
    snprintf(title, sizeof title, "mcrage image evaluate: %s", r->source);
    mcr_report *rep = NULL;
    int rc = mcr_report_new(title, &rep), M = r->nmethods, A = r->nsites, L = r->nlabels;
    if (rc) return rc;
    FILE *f = mcr_report_stream(rep);
    double *mean = calloc((size_t)(4 * M + 8 * (M + 2)), sizeof *mean), *half = mean + 2 * M, *px = half + 2 * M,
           *py = px + 2 * (M + 2), *ph = py + 2 * (M + 2);
    const char **names = calloc((size_t)M + 8, sizeof *names);
    if (!mean || !names) {
        rc = MCR_NOMEM();
        goto done;
    }
    /* the benchmark */
    fputs("<h2>The benchmark</h2>\n<p>", f);
    mcr_report_escape(f, r->source);
    fprintf(f, ": %d seed%s from %llu; test images: ID %zu, OOD %zu. Sites:", r->seeds, r->seeds == 1 ? "" : "s",
            (unsigned long long)r->seed, r->n_id, r->n_ood);
    for (int a = 0; a < A; a++) {
        fputs(a ? ", <b>" : " <b>", f), mcr_report_escape(f, r->sites[a]);
        fprintf(f, "</b> (%s, %zu test)", r->ood[a] == 1 ? "OOD" : r->ood[a] == 0 ? "ID" : "no test", r->site_ntest[a]);
    }
    fputs(".</p>\n", f);
    if (r->generator) fputs("<p>Generator: ", f), mcr_report_escape(f, r->generator), fputs(".</p>\n", f);
    /* the table */
    fputs("<h2>Results</h2>\n<p class=\"note\">mean &#177; 95% CI over seeds (Student t); worst acc and gap over every site "
          "with test images; per-site columns: accuracy, mean over seeds.</p>\n<table class=\"num\"><tr><th>method</th>"
          "<th>train images</th>", f);
    for (int k = 0; k < NMET; k++) fprintf(f, "<th>%s</th>", MET_LABEL[k]);
    for (int a = 0; a < A; a++) fputs("<th>", f), mcr_report_escape(f, r->sites[a]), fputs("</th>", f);
    fputs("</tr>\n", f);
    for (int q = 0; q < M; q++) {
        fputs("<tr><td>", f), mcr_report_escape(f, r->methods[q]);
        fprintf(f, "</td><td>%zu</td>", r->runs[q * r->seeds].n_train);
        for (int k = 0; k < NMET; k++) {
            double m, h;
            summary(r, q, k, &m, &h);
            html_mh(f, m, h);
        }
        for (int a = 0; a < A; a++) {
            double sum = 0;
            int n = 0;
            for (int sd = 0; sd < r->seeds; sd++) {
                double v = r->runs[q * r->seeds + sd].site_acc[a];
                if (isfinite(v)) sum += v, n++;
            }
            html_mh(f, n ? sum / n : NAN, NAN);
        }
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    int best[NMET], none = baselines(r, best), anyd = 0;
    for (int q = 0; q < M; q++) anyd |= mcr_ieval_is_diffusion(r->kind[q]);
    if (anyd && (none >= 0 || best[0] >= 0)) {
        fputs("<p class=\"note\">paired per-seed differences (mean &#177; 95% CI) of each diffusion row against none and "
              "against the best baseline of each metric (gap: the lowest)</p>\n<table class=\"num\"><tr><th>method</th>"
              "<th>against</th>", f);
        for (int k = 0; k < NMET; k++) fprintf(f, "<th>%s</th>", MET_LABEL[k]);
        fputs("</tr>\n", f);
        for (int q = 0; q < M; q++)
            for (int w = 0; w < 2 && mcr_ieval_is_diffusion(r->kind[q]); w++) {
                if (!w && none < 0) continue;
                fputs("<tr><td>", f), mcr_report_escape(f, r->methods[q]);
                fprintf(f, "</td><td>%s</td>", w ? "best baseline" : "none");
                for (int k = 0; k < NMET; k++) {
                    int b = w ? best[k] : none;
                    double m = NAN, h = NAN;
                    if (b >= 0) paired(r, q, b, k, &m, &h);
                    html_mh(f, m, h);
                }
                fputs("</tr>\n", f);
            }
        fputs("</table>\n", f);
    }
    /* ID / OOD accuracy and the gap, per method */
    mcr_report_text(rep, "ID and OOD accuracy", NULL);
    fputs("<div class=\"row\">\n", f);
    double ymin = 1;
    for (int q = 0; q < M; q++) {
        names[q] = r->methods[q];
        for (int k = 0; k < 2; k++) {
            summary(r, q, k, &mean[k * M + q], &half[k * M + q]);
            if (isfinite(mean[k * M + q])) ymin = fmin(ymin, mean[k * M + q] - (isfinite(half[k * M + q]) ? half[k * M + q] : 0));
        }
    }
    const char *acc_ser[2] = {"ID accuracy", "OOD accuracy"};
    mcr_report_bars_ci(rep, "ID and OOD accuracy per method", M, names, 2, acc_ser, mean, half, "accuracy",
                       fmax(0, floor(ymin * 10 - 0.5) / 10), 1, "whiskers: 95% CI over seeds");
    double gmax = 0;
    for (int q = 0; q < M; q++) {
        summary(r, q, 5, &mean[q], &half[q]);
        if (isfinite(mean[q])) gmax = fmax(gmax, mean[q] + (isfinite(half[q]) ? half[q] : 0));
    }
    fputs("</div>\n", f);
    mcr_report_text(rep, "Fairness gap", NULL);
    const char *gap_ser[1] = {"gap (max - min site accuracy)"};
    mcr_report_bars_ci(rep, "the fairness gap per method", M, names, 1, gap_ser, mean, half, "gap",
                       0, gmax > 0 ? ceil(gmax * 20 + 0.5) / 20 : 0.1, "lower is fairer; whiskers: 95% CI over seeds");
    /* the ratio sweep: OOD accuracy and gap against the ratio, one line per generator */
    if (anyd) {
        mcr_report_text(rep, "Ratio sweep", "OOD accuracy and the gap against the synthetic share R, one line per "
                                            "generator; dashed: none and the best baseline.");
        fputs("<div class=\"row\">\n", f);
        for (int pass = 0; pass < 2; pass++) {
            int k = pass ? 5 : 1, ns = 0, np[MCR_IEVAL_NARMS], at = 0;
            const char *sn[MCR_IEVAL_NARMS];
            for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
                if (!r->gen[g].used) continue;
                np[ns] = 0, sn[ns] = ARM_NAME[g];
                for (int q = 0; q < M; q++)
                    if (mcr_ieval_arm(r->kind[q]) == g) {
                        px[at] = r->ratio[q];
                        summary(r, q, k, &py[at], &ph[at]);
                        at++, np[ns]++;
                    }
                ns++;
            }
            const char *rn[2] = {"none", "best baseline"};
            double rv[2] = {NAN, NAN}, h;
            if (none >= 0) summary(r, none, k, &rv[0], &h);
            if (best[k] >= 0) summary(r, best[k], k, &rv[1], &h), rn[1] = r->methods[best[k]];
            mcr_report_lines_ci(rep, pass ? "the gap against the synthetic share" : "OOD accuracy against the synthetic share", ns,
                                sn, np, px, py, ph, 2, rn, rv, "synthetic share R", pass ? "gap" : "OOD accuracy");
        }
        fputs("</div>\n", f);
    }
    /* real against synthetic images per (label, site) */
    int anyg = 0;
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) anyg |= r->gen[g].grid != NULL;
    if (anyg && s) {
        mcr_report_text(rep, "Real and synthetic images per (label, site)",
                        "Up to 8 images a cell: real train images (a site without labelled train images: its labelled "
                        "test images), and the first seed's synthetic images of each generator (a label-only "
                        "generator's images have no site: shown in the rows 'no site').");
        fputs("<table><tr><th>label</th><th>site</th><th>real</th>", f);
        for (int g = 0; g < MCR_IEVAL_NARMS; g++)
            if (r->gen[g].grid) fprintf(f, "<th>%s</th>", ARM_NAME[g]);
        fputs("</tr>\n", f);
        for (int l = 0; l < L && !rc; l++)
            for (int a = 0; a <= A && !rc; a++) {
                const char *site = a < A ? r->sites[a] : NULL;
                fputs("<tr><td>", f), mcr_report_escape(f, r->labels[l]), fputs("</td><td>", f);
                mcr_report_escape(f, site ? site : "no site");
                fputs("</td>", f);
                for (int col = -1; col < MCR_IEVAL_NARMS && !rc; col++) {
                    if (col >= 0 && !r->gen[col].grid) continue;
                    unsigned char *png = NULL;
                    size_t len = 0;
                    int gw = 0, gh = 0;
                    char alt[160];
                    if (col < 0) {
                        if (site && !(rc = strip_png(s, r->labels[l], site, MCR_SPLIT_TRAIN, &png, &len, &gw, &gh)) && !png)
                            rc = strip_png(s, r->labels[l], site, MCR_SPLIT_TEST, &png, &len, &gw, &gh);
                    } else
                        rc = strip_png(r->gen[col].grid, r->labels[l], site, 0, &png, &len, &gw, &gh);
                    snprintf(alt, sizeof alt, "%s, label %s, site %s", col < 0 ? "real" : ARM_NAME[col], r->labels[l],
                             site ? site : "none");
                    fputs("<td>", f);
                    if (png) mcr_report_png(rep, png, len, gw, gh, 2, alt);
                    else fputs("-", f);
                    fputs("</td>", f);
                    free(png);
                }
                fputs("</tr>\n", f);
            }
        fputs("</table>\n", f);
        if (rc) goto done;
    }
    /* the generator checks */
    int anyc = 0;
    for (int g = 0; g < MCR_IEVAL_NARMS; g++) anyc |= r->gen[g].checked;
    if (anyc) {
        char para[512];
        snprintf(para, sizeof para,
                 "On seed %llu's synthetic images (every cell at the largest ratio): label acc = the none arm's CNN "
                 "(trained on the real labelled train images) against the intended label; site acc = a CNN trained on the "
                 "real train images' sites (its accuracy on the real test images: %.4f) against the intended site; detection "
                 "AUROC = a CNN telling real train images from synthetic ones, held-out AUROC (0.5: indistinguishable).",
                 (unsigned long long)r->seed, r->site_real_acc);
        mcr_report_text(rep, "Generator checks", para);
        fputs("<table class=\"num\"><tr><th>generator</th><th>images</th><th>label acc</th><th>site acc</th>"
              "<th>detection AUROC</th><th>fit s</th><th>sampling s</th></tr>\n", f);
        for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
            const struct mcr_ieval_gen *G = &r->gen[g];
            if (!G->checked) continue;
            fprintf(f, "<tr><td>%s</td><td>%zu</td>", ARM_NAME[g], G->n_pool);
            html_mh(f, G->label_acc, NAN), html_mh(f, G->site_acc, NAN), html_mh(f, G->detect_auroc, NAN);
            fprintf(f, "<td>%.1f</td><td>%.1f</td></tr>\n", G->fit_seconds, G->sample_seconds);
        }
        fputs("</table>\n<table class=\"num\"><caption>label accuracy per (label, site) cell of the synthetic images"
              "</caption><tr><th>generator</th>", f);
        for (int l = 0; l < L; l++)
            for (int a = 0; a <= A; a++) {
                fputs("<th>", f), mcr_report_escape(f, r->labels[l]), fputs(" / ", f);
                mcr_report_escape(f, a < A ? r->sites[a] : "no site");
                fputs("</th>", f);
            }
        fputs("</tr>\n", f);
        for (int g = 0; g < MCR_IEVAL_NARMS; g++) {
            const struct mcr_ieval_gen *G = &r->gen[g];
            if (!G->checked) continue;
            fprintf(f, "<tr><td>%s</td>", ARM_NAME[g]);
            for (int q = 0; q < L * (A + 1); q++)
                if (G->cell_n[q]) fprintf(f, "<td>%.3f <small>(%zu)</small></td>", G->cell_acc[q], G->cell_n[q]);
                else fputs("<td>-</td>", f);
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fprintf(f, "<p class=\"note\">time %.1f s (generators fitted in the run: %.1f s).</p>\n", r->seconds, r->fit_seconds);
    if (command_line) mcr_report_text(rep, "Command", command_line);
done:
    free(mean), free(names);
    if (rc) mcr_report_free(rep);
    else *out = rep;
    return rc;
}
