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
    mcr_ifit_config_default(&c->fit);
    mcr_isample_config_default(&c->sample);
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
    } else if (kind == MCR_IEVAL_DIFFUSION) {
        if (!model) return mcr_err(MCR_EINVAL, "image evaluate: diffusion needs an image model");
        if (!(ratio > 0 && ratio < 1))
            return mcr_err(MCR_EINVAL, "--ratios: %g is not a share in (0, 1)", ratio);
        extra = (size_t)llround(ratio * (double)nr / (1 - ratio));
        int ML = mcr_imodel_nlabels(model), MA = mcr_imodel_nattrs(model);
        ncell = (size_t)(ML + 1) * (size_t)(MA + 1);
        if (!(counts = calloc(ncell, sizeof *counts))) return MCR_NOMEM();
        if ((rc = mcr_imodel_counts_policy(model, MCR_IPOLICY_GROUP_BALANCE, extra, counts))) goto fail;
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
    } else if (kind == MCR_IEVAL_DIFFUSION && syn) {
        for (int j = 0; j < syn->n; j++) {
            int l = syn->label[j] >= 0 ? find_level(s->label_names, L, syn->label_names[syn->label[j]]) : -1;
            int a = syn->attr[j] >= 0 ? find_level(s->attr_names, A, syn->attr_names[syn->attr[j]]) : -1;
            if (l < 0 || a < 0) {
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

int mcr_ieval_pool(const mcr_imageset *s, double ratio, const mcr_ieval_config *c, const mcr_imodel *model, uint64_t seed,
                   mcr_imageset **pool) {
    *pool = NULL;
    size_t nr = 0;
    for (int i = 0; i < s->n; i++) nr += s->split[i] == MCR_SPLIT_TRAIN && s->label[i] >= 0;
    size_t extra = (size_t)llround(ratio * (double)nr / (1 - ratio));
    size_t ncell = (size_t)(mcr_imodel_nlabels(model) + 1) * (size_t)(mcr_imodel_nattrs(model) + 1);
    size_t *counts = calloc(ncell, sizeof *counts);
    if (!counts) return MCR_NOMEM();
    int rc = mcr_imodel_counts_policy(model, MCR_IPOLICY_GROUP_BALANCE, extra, counts);
    mcr_isample_config sc = c->sample;
    sc.seed = seed;
    if (!rc && extra) rc = mcr_imodel_sample(model, counts, &sc, pool);
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

/* methods "a,b,diffusion" with diffusion expanded per ratio */
static int parse_methods(const mcr_ieval_config *c, mcr_ieval *r) {
    static const char *names[] = {"none", "oversample", "focal", "randaugment", "diffusion", "oracle"};
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
        rc = mcr_err(MCR_EINVAL, "--methods: no method (none, oversample, focal, randaugment, diffusion, oracle)");
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
        while (k < 6 && strcmp(ms[i], names[k])) k++;
        if (k == 6) {
            rc = mcr_err(MCR_EINVAL, "--methods: unknown method '%s' (none, oversample, focal, randaugment, diffusion, oracle)",
                         ms[i]);
            goto done;
        }
        for (int q = 0; q < r->nmethods; q++)
            if (r->kind[q] == k) {
                rc = mcr_err(MCR_EINVAL, "--methods: '%s' named twice", ms[i]);
                goto done;
            }
        if (k == MCR_IEVAL_DIFFUSION && !nr) {
            rc = mcr_err(MCR_EINVAL, "--ratios: diffusion needs at least one share in (0, 1)");
            goto done;
        }
        for (int j = 0; j < (k == MCR_IEVAL_DIFFUSION ? nr : 1); j++) {
            char buf[64];
            if (k == MCR_IEVAL_DIFFUSION) snprintf(buf, sizeof buf, "diffusion@%g", ratios[j]);
            else snprintf(buf, sizeof buf, "%s", names[k]);
            int q = r->nmethods++;
            r->kind[q] = k, r->ratio[q] = k == MCR_IEVAL_DIFFUSION ? ratios[j] : 0;
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
    for (int i = 0; r->runs && i < r->nmethods * r->seeds; i++) free(r->runs[i].site_acc), free(r->runs[i].site_auroc);
    free(r->methods), free(r->kind), free(r->ratio), free(r->sites), free(r->ood), free(r->site_ntest), free(r->runs);
    free(r->source);
    free(r);
}

/* ------------------------------------------------------------------ the run */
MCR_API int mcr_image_evaluate(const mcr_imageset *s, const mcr_ieval_config *c, mcr_ieval **out) {
    *out = NULL;
    double t0 = now_s();
    if (c->seeds < 1 || c->seeds > 256) return mcr_err(MCR_EINVAL, "--seeds: %d, want 1 to 256", c->seeds);
    if (c->ra_copies < 1) return mcr_err(MCR_EINVAL, "randaugment copies: %d, want at least 1", c->ra_copies);
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
    int rc = parse_methods(c, r), A = s->nattrs;
    mcr_imodel *fitted = NULL;
    mcr_imageset *pool = NULL;
    const mcr_imodel *model = c->model;
    uint8_t *tpix = NULL;
    int *ty = NULL, *tsite = NULL;
    double *prob = NULL;
    if (rc) goto fail;
    r->seeds = c->seeds, r->seed = c->seed, r->nsites = A;
    r->sites = calloc((size_t)A, sizeof *r->sites);
    r->ood = calloc((size_t)A, sizeof *r->ood);
    r->site_ntest = calloc((size_t)A, sizeof *r->site_ntest);
    r->runs = calloc((size_t)(r->nmethods * r->seeds), sizeof *r->runs);
    r->source = mcr_strdup(src);
    if (!r->sites || !r->ood || !r->site_ntest || !r->runs || !r->source) goto nomem;
    for (int a = 0; a < A; a++)
        if (!(r->sites[a] = mcr_strdup(s->attr_names[a]))) goto nomem;
    /* ID / OOD sites and the test images */
    size_t *ntr = calloc((size_t)A, sizeof *ntr), nt = 0, plane = (size_t)s->h * s->w * s->c;
    if (!ntr) goto nomem;
    for (int i = 0; i < s->n; i++) {
        if (s->label[i] < 0) continue;
        if (s->split[i] == MCR_SPLIT_TRAIN) ntr[s->attr[i]]++;
        if (s->split[i] == MCR_SPLIT_TEST) r->site_ntest[s->attr[i]]++, nt++;
    }
    for (int a = 0; a < A; a++) r->ood[a] = !r->site_ntest[a] ? -1 : ntr[a] ? 0 : 1;
    size_t nid = 0;
    for (int a = 0; a < A; a++) nid += ntr[a];
    free(ntr);
    if (!nid) {
        rc = mcr_err(MCR_EINVAL, "image evaluate: %s has no labelled train image", src);
        goto fail;
    }
    if (!nt) {
        rc = mcr_err(MCR_EINVAL, "image evaluate: %s has no labelled test image", src);
        goto fail;
    }
    tpix = malloc(nt * plane), ty = malloc(nt * sizeof *ty), tsite = malloc(nt * sizeof *tsite);
    prob = malloc(nt * 2 * sizeof *prob);
    if (!tpix || !ty || !tsite || !prob) goto nomem;
    size_t k = 0;
    for (int i = 0; i < s->n; i++)
        if (s->split[i] == MCR_SPLIT_TEST && s->label[i] >= 0) {
            memcpy(tpix + k * plane, s->pix + (size_t)i * plane, plane);
            ty[k] = s->label[i], tsite[k] = s->attr[i], k++;
        }
    for (int a = 0; a < A; a++) r->n_id += r->ood[a] == 0 ? r->site_ntest[a] : 0, r->n_ood += r->ood[a] == 1 ? r->site_ntest[a] : 0;
    /* the generator */
    int need_model = 0;
    for (int q = 0; q < r->nmethods; q++) need_model |= r->kind[q] == MCR_IEVAL_DIFFUSION;
    if (need_model && model && (rc = check_model(s, model))) goto fail;
    for (int q = 0; q < r->nmethods; q++)
        if (r->kind[q] == MCR_IEVAL_ORACLE) { /* checked before any training */
            mcr_itrain t;
            if ((rc = mcr_ieval_trainset(s, MCR_IEVAL_ORACLE, 0, c, NULL, NULL, c->seed, &t))) goto fail;
            mcr_itrain_free(&t);
        }
    if (need_model && !model) {
        double t1 = now_s();
        mcr_say(c->progress, c->progress_ctx, "fitting the image model on the %s train split (%d steps)", src, c->fit.steps);
        if ((rc = mcr_imodel_fit(s, &c->fit, &fitted))) goto fail;
        model = fitted;
        r->model_fitted = 1, r->fit_seconds = now_s() - t1;
        mcr_say(c->progress, c->progress_ctx, "image model fitted in %.1f s (final loss %.4f)", r->fit_seconds,
                (double)mcr_imodel_final_loss(fitted));
    }
    /* with several ratios, one sample per seed at the largest; the smaller take its cells' first images */
    double rmax = 0;
    int nd = 0;
    for (int q = 0; q < r->nmethods; q++)
        if (r->kind[q] == MCR_IEVAL_DIFFUSION) nd++, rmax = fmax(rmax, r->ratio[q]);
    for (int sd = 0; sd < r->seeds; sd++) {
        uint64_t seed = c->seed + (uint64_t)sd;
        if (nd > 1) {
            double t1 = now_s();
            mcr_say(c->progress, c->progress_ctx, "seed %d/%d: sampling the synthetic images of ratio %g", sd + 1, r->seeds, rmax);
            if ((rc = mcr_ieval_pool(s, rmax, c, model, seed, &pool))) goto fail;
            mcr_say(c->progress, c->progress_ctx, "seed %d/%d: %d synthetic images in %.1f s", sd + 1, r->seeds, pool ? pool->n : 0,
                    now_s() - t1);
        }
        for (int q = 0; q < r->nmethods; q++) {
            struct mcr_ieval_run *u = &r->runs[q * r->seeds + sd];
            double t1 = now_s();
            mcr_itrain tr;
            if ((rc = mcr_ieval_trainset(s, r->kind[q], r->ratio[q], c, model, pool, seed, &tr))) goto fail;
            mcr_cnn_config cc = c->cnn;
            cc.seed = seed;
            if (c->threads) cc.threads = c->threads;
            if (r->kind[q] == MCR_IEVAL_FOCAL) cc.focal_gamma = c->focal_gamma, cc.balanced = 1;
            mcr_cnn *net = NULL;
            rc = mcr_cnn_fit_u8(&cc, tr.pix, tr.y, tr.n, s->h, s->w, s->c, 2, &net);
            u->n_train = tr.n, u->n_real = tr.n_real;
            mcr_itrain_free(&tr);
            if (!rc) rc = mcr_cnn_predict_proba_u8(net, tpix, nt, prob);
            mcr_cnn_free(net);
            if (rc) goto fail;
            for (size_t i = 0; i < nt; i++) prob[i] = prob[2 * i + 1];
            u->site_acc = malloc((size_t)A * sizeof(double)), u->site_auroc = malloc((size_t)A * sizeof(double));
            if (!u->site_acc || !u->site_auroc) goto nomem;
            if ((rc = mcr_ieval_score(ty, prob, tsite, nt, A, r->ood, &u->m, u->site_acc, u->site_auroc))) goto fail;
            u->seconds = now_s() - t1;
            mcr_say(c->progress, c->progress_ctx,
                    "seed %d/%d %-16s %6zu train images: ID acc %.4f, OOD acc %.4f, worst site %.4f, gap %.4f (%.1f s)",
                    sd + 1, r->seeds, r->methods[q], u->n_train, u->m.id_acc, u->m.ood_acc, u->m.worst_acc, u->m.gap,
                    u->seconds);
        }
        mcr_imageset_free(pool);
        pool = NULL;
    }
    r->seconds = now_s() - t0;
    mcr_imodel_free(fitted);
    free(tpix), free(ty), free(tsite), free(prob);
    *out = r;
    return MCR_OK;
nomem:
    rc = MCR_NOMEM();
fail:
    mcr_imageset_free(pool);
    mcr_imodel_free(fitted);
    free(tpix), free(ty), free(tsite), free(prob);
    mcr_ieval_free(r);
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
            if (r->kind[q] == MCR_IEVAL_DIFFUSION || r->kind[q] == MCR_IEVAL_ORACLE) continue;
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

MCR_API int mcr_ieval_print(const mcr_ieval *r, FILE *f) {
    fprintf(f, "image evaluate: %s, %d seed%s from %llu; test images: ID %zu, OOD %zu\n", r->source, r->seeds,
            r->seeds == 1 ? "" : "s", (unsigned long long)r->seed, r->n_id, r->n_ood);
    fprintf(f, "sites:");
    for (int a = 0; a < r->nsites; a++)
        fprintf(f, " %s (%s, %zu test)", r->sites[a], r->ood[a] == 1 ? "OOD" : r->ood[a] == 0 ? "ID" : "no test",
                r->site_ntest[a]);
    fprintf(f, "\n\nmean ± 95%% CI over seeds (Student t; worst acc and gap over every site with test images)\n");
    fprintf(f, "%-16s %7s", "method", "train");
    for (int k = 0; k < NMET; k++) fprintf(f, " %15s", MET_LABEL[k]);
    fputc('\n', f);
    for (int q = 0; q < r->nmethods; q++) {
        fprintf(f, "%-16s %7zu", r->methods[q], r->runs[q * r->seeds].n_train);
        for (int k = 0; k < NMET; k++) {
            double m, h;
            summary(r, q, k, &m, &h);
            cell(f, m, h);
        }
        fputc('\n', f);
    }
    fprintf(f, "\nper-site accuracy (mean over seeds)\n%-16s", "method");
    for (int a = 0; a < r->nsites; a++) fprintf(f, " %8s", r->sites[a]);
    fputc('\n', f);
    for (int q = 0; q < r->nmethods; q++) {
        fprintf(f, "%-16s", r->methods[q]);
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
        fprintf(f, "\npaired difference vs none (mean ± 95%% CI of per-seed differences)\n%-16s", "method");
        for (int k = 0; k < NMET; k++) fprintf(f, " %15s", MET_LABEL[k]);
        fputc('\n', f);
        for (int q = 0; q < r->nmethods; q++) {
            if (q == none) continue;
            fprintf(f, "%-16s", r->methods[q]);
            for (int k = 0; k < NMET; k++) {
                double m, h;
                paired(r, q, none, k, &m, &h);
                cell(f, m, h);
            }
            fputc('\n', f);
        }
    }
    int anyd = 0;
    for (int q = 0; q < r->nmethods; q++) anyd |= r->kind[q] == MCR_IEVAL_DIFFUSION;
    if (anyd && best[0] >= 0) {
        fprintf(f, "\npaired difference vs the best baseline of each metric (");
        for (int k = 0; k < NMET; k++) fprintf(f, "%s%s: %s", k ? ", " : "", MET_LABEL[k], best[k] >= 0 ? r->methods[best[k]] : "-");
        fprintf(f, "; gap: lowest)\n%-16s", "method");
        for (int k = 0; k < NMET; k++) fprintf(f, " %15s", MET_LABEL[k]);
        fputc('\n', f);
        for (int q = 0; q < r->nmethods; q++) {
            if (r->kind[q] != MCR_IEVAL_DIFFUSION) continue;
            fprintf(f, "%-16s", r->methods[q]);
            for (int k = 0; k < NMET; k++) {
                double m = NAN, h = NAN;
                if (best[k] >= 0) paired(r, q, best[k], k, &m, &h);
                cell(f, m, h);
            }
            fputc('\n', f);
        }
    }
    if (r->model_fitted) fprintf(f, "\nimage model fitted in the run: %.1f s\n", r->fit_seconds);
    fprintf(f, "%stime %.1f s\n", r->model_fitted ? "" : "\n", r->seconds);
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
                if (b < 0 || b == q || (w && r->kind[q] != MCR_IEVAL_DIFFUSION)) continue;
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
    fprintf(f, "],\"model_fitted\":%s,\"fit_seconds\":%.3f,\"seconds\":%.3f}\n", r->model_fitted ? "true" : "false",
            r->fit_seconds, r->seconds);
    return ferror(f) ? mcr_err(MCR_EIO, "image evaluate: write error") : MCR_OK;
}
