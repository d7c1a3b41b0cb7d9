/* quality.c — the quality protocol for synthetic images (mcrage.h 12c; issue 13): a CNN
 * (cnn.c) trained on the real training images and scored on real test images and on the
 * label-conditioned synthetic ones, the reverse (train on synthetic, test on real), a
 * real-vs-synthetic detector's held-out AUROC, and pixel-intensity histogram distances, per
 * label and overall. The CLI (`mcrage image quality`) only formats what this returns. */
#include "image/image.h"
#include <omp.h>

void mcr_iquality_config_default(mcr_iquality_config *c) {
    memset(c, 0, sizeof *c);
    mcr_cnn_config_default(&c->cnn);
    c->detect_test = 0.3;
    c->tstr = 1;
    c->seed = 1;
}

/* images idx[0..n) of s copied to one buffer [n, h, w, c] (*out malloc'd) */
static int gather(const mcr_imageset *s, const size_t *idx, size_t n, uint8_t **out) {
    size_t sz = (size_t)s->h * s->w * s->c;
    *out = malloc((n ? n : 1) * sz);
    if (!*out) return MCR_NOMEM();
    for (size_t i = 0; i < n; i++) memcpy(*out + i * sz, s->pix + idx[i] * sz, sz);
    return MCR_OK;
}

/* accuracy of m per label over (tpix, ty, tn) into acc[0..L) and overall into acc[L]; NaN where
 * a label has no images */
static int score(const mcr_cnn *m, const uint8_t *tpix, const int *ty, size_t tn, int L, double *acc) {
    double *prob = malloc((tn ? tn : 1) * (size_t)L * sizeof *prob);
    size_t *right = calloc((size_t)L + 1, sizeof *right), *cnt = calloc((size_t)L + 1, sizeof *cnt);
    int rc = !prob || !right || !cnt ? MCR_NOMEM() : mcr_cnn_predict_proba_u8(m, tpix, tn, prob);
    if (!rc) {
        for (size_t i = 0; i < tn; i++) {
            const double *p = prob + i * (size_t)L;
            int best = 0;
            for (int k = 1; k < L; k++)
                if (p[k] > p[best]) best = k;
            cnt[ty[i]]++, cnt[L]++;
            if (best == ty[i]) right[ty[i]]++, right[L]++;
        }
        for (int k = 0; k <= L; k++) acc[k] = cnt[k] ? (double)right[k] / (double)cnt[k] : NAN;
    }
    free(prob), free(right), free(cnt);
    return rc;
}

/* 256-bin histograms of images idx[0..n) of s (every channel's pixels) into h[256] */
static void histogram(const mcr_imageset *s, const size_t *idx, size_t n, double *h) {
    size_t sz = (size_t)s->h * s->w * s->c;
    for (int k = 0; k < 256; k++) h[k] = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = s->pix + idx[i] * sz;
        for (size_t j = 0; j < sz; j++) h[p[j]] += 1;
    }
}

/* total variation (0..1) and Wasserstein-1 (grey levels) between two histograms, and the
 * mean and standard deviation of each; NaN when either is empty */
static void hist_compare(const double *a, const double *b, mcr_iquality_group *g) {
    double na = 0, nb = 0;
    for (int k = 0; k < 256; k++) na += a[k], nb += b[k];
    double ma = 0, mb = 0, va = 0, vb = 0;
    for (int k = 0; k < 256; k++) ma += k * a[k], mb += k * b[k];
    ma = na ? ma / na : NAN, mb = nb ? mb / nb : NAN;
    for (int k = 0; k < 256; k++) va += (k - ma) * (k - ma) * a[k], vb += (k - mb) * (k - mb) * b[k];
    g->mean_real = ma, g->sd_real = na ? sqrt(va / na) : NAN;
    g->mean_synth = mb, g->sd_synth = nb ? sqrt(vb / nb) : NAN;
    if (!na || !nb) {
        g->tv = g->w1 = NAN;
        return;
    }
    double tv = 0, w1 = 0, ca = 0, cb = 0;
    for (int k = 0; k < 256; k++) {
        tv += fabs(a[k] / na - b[k] / nb);
        ca += a[k] / na, cb += b[k] / nb;
        if (k < 255) w1 += fabs(ca - cb); /* integral of |F_a - F_b| over unit bins */
    }
    g->tv = tv / 2, g->w1 = w1;
}

static const char *src_name(const mcr_imageset *s) { return s->source ? s->source : "(in memory)"; }

/* The real-vs-synthetic detector (quality's (b); image evaluate's generator check): equal
 * numbers of each, md = min(nr, ns), drawn by shuffling both lists with (seed,
 * MCR_STREAM_QUALITY); the first round(test_frac md) of each held out, the next trained on
 * (the CNN of cc, label 1 = synthetic); the held-out AUROC of P(synthetic) and accuracy at
 * 0.5. NaN (and 0 images) when md < 2 or nothing would be left to train on. */
int mcr_image_detect(const mcr_cnn_config *cc, const uint8_t *real, size_t nr, const uint8_t *synth, size_t ns, int h,
                     int w, int ch, double test_frac, uint64_t seed, double *auroc, double *acc, size_t *ntrain_out,
                     size_t *ntest_out) {
    *auroc = *acc = NAN, *ntrain_out = *ntest_out = 0;
    size_t md = nr < ns ? nr : ns, mt = (size_t)floor(test_frac * (double)md + 0.5);
    if (mt < 1) mt = 1;
    if (md < 2 || mt >= md) return MCR_OK;
    size_t ntrain = 2 * (md - mt), ntest = 2 * mt, sz = (size_t)h * w * ch;
    size_t *ir = malloc((nr + 1) * sizeof *ir), *is = malloc((ns + 1) * sizeof *is);
    int *ydet = malloc(ntrain * sizeof *ydet), *ydt = malloc(ntest * sizeof *ydt);
    uint8_t *pdet = malloc(ntrain * sz), *pdt = malloc(ntest * sz);
    double *prob = malloc(2 * ntest * sizeof *prob);
    mcr_cnn *det = NULL;
    int rc = MCR_OK;
    if (!ir || !is || !ydet || !ydt || !pdet || !pdt || !prob) {
        rc = MCR_NOMEM();
        goto done;
    }
    for (size_t i = 0; i < nr; i++) ir[i] = i;
    for (size_t i = 0; i < ns; i++) is[i] = i;
    mcr_rng r;
    mcr_rng_seed(&r, seed, MCR_STREAM_QUALITY);
    mcr_rng_shuffle(&r, ir, nr);
    mcr_rng_shuffle(&r, is, ns);
    /* held-out: the first mt of each shuffled list; training: the next md - mt */
    for (size_t i = 0; i < md; i++) {
        const uint8_t *a = real + ir[i] * sz, *b = synth + is[i] * sz;
        if (i < mt) {
            memcpy(pdt + 2 * i * sz, a, sz), ydt[2 * i] = 0;
            memcpy(pdt + (2 * i + 1) * sz, b, sz), ydt[2 * i + 1] = 1;
        } else {
            size_t j = i - mt;
            memcpy(pdet + 2 * j * sz, a, sz), ydet[2 * j] = 0;
            memcpy(pdet + (2 * j + 1) * sz, b, sz), ydet[2 * j + 1] = 1;
        }
    }
    mcr_cnn_config dc = *cc;
    dc.seed = seed;
    if ((rc = mcr_cnn_fit_u8(&dc, pdet, ydet, ntrain, h, w, ch, 2, &det))) goto done;
    if ((rc = mcr_cnn_predict_proba_u8(det, pdt, ntest, prob))) goto done;
    double *score = prob; /* score[i] = P(synthetic) of held-out image i, in place */
    size_t right = 0;
    for (size_t i = 0; i < ntest; i++) {
        score[i] = prob[2 * i + 1];
        right += (score[i] > 0.5) == (ydt[i] == 1);
    }
    *auroc = mcr_auroc(score, ydt, ntest);
    *acc = (double)right / (double)ntest;
    *ntrain_out = ntrain, *ntest_out = ntest;
done:
    mcr_cnn_free(det);
    free(ir), free(is), free(ydet), free(ydt), free(pdet), free(pdt), free(prob);
    return rc;
}

int mcr_image_quality(const mcr_imageset *real, const mcr_imageset *synth, const mcr_iquality_config *c,
                      mcr_iquality **out) {
    *out = NULL;
    double t0 = mcr_now();
    if (real->h != synth->h || real->w != synth->w || real->c != synth->c)
        return mcr_err(MCR_EINVAL, "quality: %s has %dx%dx%d images but %s has %dx%dx%d", src_name(real), real->h,
                       real->w, real->c, src_name(synth), synth->h, synth->w, synth->c);
    int L = real->nlabels;
    if (L < 2) return mcr_err(MCR_EINVAL, "quality: %s has %d label levels; need at least 2", src_name(real), L);
    if (!(c->detect_test > 0 && c->detect_test < 1))
        return mcr_err(MCR_EINVAL, "quality: `detect-test` must be in (0, 1), got %g", c->detect_test);
    int rc = MCR_OK, old_threads = omp_get_max_threads();
    int *map = malloc(((size_t)synth->nlabels + 1) * sizeof *map);
    size_t nr = (size_t)real->n, ns = (size_t)synth->n;
    size_t *itr = malloc((nr + 1) * sizeof(size_t)), *ite = malloc((nr + 1) * sizeof(size_t));
    size_t *isy = malloc((ns + 1) * sizeof(size_t)), *ir = malloc((nr + 1) * sizeof(size_t));
    size_t *is = malloc((ns + 1) * sizeof(size_t));
    int *ytr = malloc((nr + 1) * sizeof(int)), *yte = malloc((nr + 1) * sizeof(int));
    int *ysy = malloc((ns + 1) * sizeof(int));
    uint8_t *ptr = NULL, *pte = NULL, *psy = NULL;
    double *hist = NULL, *acc = NULL;
    mcr_iquality *q = calloc(1, sizeof *q);
    if (!map || !itr || !ite || !isy || !ir || !is || !ytr || !yte || !ysy || !q) {
        rc = MCR_NOMEM();
        goto fail;
    }
    q->ngroups = L + 1;
    q->group = calloc((size_t)L + 1, sizeof *q->group);
    q->real_path = mcr_strdup(src_name(real));
    q->synth_path = mcr_strdup(src_name(synth));
    acc = malloc(3 * ((size_t)L + 1) * sizeof *acc);
    hist = malloc(2 * 256 * sizeof *hist);
    if (!q->group || !q->real_path || !q->synth_path || !acc || !hist) {
        rc = MCR_NOMEM();
        goto fail;
    }
    /* synthetic labels by level name */
    for (int k = 0; k < synth->nlabels; k++) {
        map[k] = -1;
        for (int j = 0; j < L; j++)
            if (!strcmp(synth->label_names[k], real->label_names[j])) map[k] = j;
        if (map[k] < 0) {
            rc = mcr_err(MCR_EINVAL, "quality: label '%s' of %s is not a level of %s", synth->label_names[k],
                         src_name(synth), src_name(real));
            goto fail;
        }
    }
    size_t ntr = 0, nte = 0, nsy = 0;
    for (size_t i = 0; i < nr; i++) {
        ir[i] = i;
        if (real->label[i] < 0) continue;
        if (real->split[i] == MCR_SPLIT_TRAIN) ytr[ntr] = real->label[i], itr[ntr++] = i;
        else if (real->split[i] == MCR_SPLIT_TEST) yte[nte] = real->label[i], ite[nte++] = i;
    }
    for (size_t i = 0; i < ns; i++) {
        is[i] = i;
        if (synth->label[i] >= 0) ysy[nsy] = map[synth->label[i]], isy[nsy++] = i;
    }
    if (!ntr || !nte) {
        rc = mcr_err(MCR_EINVAL, "quality: %s needs labelled train and test images (has %zu and %zu)", src_name(real),
                     ntr, nte);
        goto fail;
    }
    if (!ns) {
        rc = mcr_err(MCR_EINVAL, "quality: %s has no images", src_name(synth));
        goto fail;
    }
    if ((rc = gather(real, itr, ntr, &ptr)) || (rc = gather(real, ite, nte, &pte)) ||
        (rc = gather(synth, isy, nsy, &psy)))
        goto fail;
    mcr_cnn_config cc = c->cnn;
    cc.seed = c->seed;
    cc.threads = c->threads;
    old_threads = omp_get_max_threads();
    if (c->threads > 0) omp_set_num_threads(c->threads);
    for (int k = 0; k <= L; k++) {
        mcr_iquality_group *g = &q->group[k];
        if (!(g->name = mcr_strdup(k < L ? real->label_names[k] : "all"))) {
            rc = MCR_NOMEM();
            goto restore;
        }
        g->acc_real = g->acc_synth = g->acc_tstr = NAN;
    }
    for (size_t i = 0; i < ntr; i++) q->group[ytr[i]].n_real_train++, q->group[L].n_real_train++;
    for (size_t i = 0; i < nte; i++) q->group[yte[i]].n_real_test++, q->group[L].n_real_test++;
    for (size_t i = 0; i < nsy; i++) q->group[ysy[i]].n_synth++, q->group[L].n_synth++;

    /* (a) utility: the real-trained CNN on real test and on synthetic images; TSTR */
    mcr_say(c->progress, c->progress_ctx, "classifier: training on %zu real images", ntr);
    double *ar = acc, *as = acc + L + 1, *at = acc + 2 * (L + 1);
    mcr_cnn *m = NULL;
    rc = mcr_cnn_fit_u8(&cc, ptr, ytr, ntr, real->h, real->w, real->c, L, &m);
    if (!rc) q->cnn_params = mcr_cnn_nparams(m), rc = score(m, pte, yte, nte, L, ar);
    if (!rc && nsy) rc = score(m, psy, ysy, nsy, L, as);
    mcr_cnn_free(m);
    m = NULL;
    if (!rc && c->tstr && nsy) {
        mcr_say(c->progress, c->progress_ctx, "TSTR: training on %zu synthetic images", nsy);
        rc = mcr_cnn_fit_u8(&cc, psy, ysy, nsy, real->h, real->w, real->c, L, &m);
        if (!rc) rc = score(m, pte, yte, nte, L, at);
        mcr_cnn_free(m);
    }
    if (rc) goto restore;
    for (int k = 0; k <= L; k++) {
        q->group[k].acc_real = ar[k];
        if (nsy) q->group[k].acc_synth = as[k];
        if (c->tstr && nsy) q->group[k].acc_tstr = at[k];
    }

    /* (b) detection: equal numbers of real and synthetic images, a stratified held-out part */
    mcr_say(c->progress, c->progress_ctx, "detector: real (%zu images) against synthetic (%zu)", nr, ns);
    if ((rc = mcr_image_detect(&cc, real->pix, nr, synth->pix, ns, real->h, real->w, real->c, c->detect_test, c->seed,
                               &q->detect_auroc, &q->detect_acc, &q->detect_train, &q->detect_test)))
        goto restore;

    /* (c) intensity histograms: real training images vs synthetic, per label and overall */
    for (int k = 0; k <= L; k++) {
        size_t na = 0, nb = 0;
        for (size_t i = 0; i < ntr; i++)
            if (k == L || ytr[i] == k) ite[na++] = itr[i]; /* ite reused as scratch */
        histogram(real, ite, na, hist);
        if (k == L) nb = ns, memcpy(isy, is, ns * sizeof *is); /* every synthetic image */
        else
            for (size_t i = 0; i < ns; i++)
                if (synth->label[i] >= 0 && map[synth->label[i]] == k) isy[nb++] = i;
        histogram(synth, isy, nb, hist + 256);
        hist_compare(hist, hist + 256, &q->group[k]);
    }
    q->seconds = mcr_now() - t0;
restore:
    omp_set_num_threads(old_threads);
    if (rc) goto fail;
    goto done;
fail:
    mcr_iquality_free(q);
    q = NULL;
done:
    free(map), free(itr), free(ite), free(isy), free(ir), free(is), free(ytr), free(yte), free(ysy);
    free(ptr), free(pte), free(psy);
    free(hist), free(acc);
    *out = q;
    return rc;
}

void mcr_iquality_free(mcr_iquality *q) {
    if (!q) return;
    for (int k = 0; q->group && k < q->ngroups; k++) free(q->group[k].name);
    free(q->group);
    free(q->real_path), free(q->synth_path);
    free(q);
}

/* "0.912" or "-" for NaN */
static void num(FILE *f, const char *fmt, double v, int width) {
    if (isnan(v)) fprintf(f, "%*s", width, "-");
    else fprintf(f, fmt, width, v);
}

int mcr_iquality_print(const mcr_iquality *q, FILE *f) {
    fprintf(f, "real: %s\nsynthetic: %s\n", q->real_path, q->synth_path);
    fprintf(f, "classifier: CNN of %zu parameters (trained on the real train split)\n\n", q->cnn_params);
    fprintf(f, "%-8s %6s %6s %6s  %9s %9s %9s  %6s %6s  %13s %13s\n", "label", "train", "test", "synth", "acc_real",
            "acc_synth", "acc_tstr", "TV", "W1", "mean r/s", "sd r/s");
    for (int k = 0; k < q->ngroups; k++) {
        const mcr_iquality_group *g = &q->group[k];
        fprintf(f, "%-8s %6zu %6zu %6zu  ", g->name, g->n_real_train, g->n_real_test, g->n_synth);
        num(f, "%*.3f", g->acc_real, 9), fputc(' ', f);
        num(f, "%*.3f", g->acc_synth, 9), fputc(' ', f);
        num(f, "%*.3f", g->acc_tstr, 9), fputs("  ", f);
        num(f, "%*.3f", g->tv, 6), fputc(' ', f);
        num(f, "%*.2f", g->w1, 6), fputs("  ", f);
        num(f, "%*.1f", g->mean_real, 6), fputc('/', f), num(f, "%-*.1f", g->mean_synth, 6), fputc(' ', f);
        num(f, "%*.1f", g->sd_real, 6), fputc('/', f), num(f, "%-*.1f", g->sd_synth, 6), fputc('\n', f);
    }
    fprintf(f, "\nacc_real: accuracy on the real test split; acc_synth: on the synthetic images of the label\n"
               "(the real-trained CNN); acc_tstr: trained on synthetic, tested on real; TV: total variation\n"
               "and W1: Wasserstein-1 (grey levels) between the pixel-intensity histograms of the real\n"
               "train split and the synthetic images.\n");
    fprintf(f, "detector (real vs synthetic, %zu train / %zu held out): AUROC ", q->detect_train, q->detect_test);
    num(f, "%*.3f", q->detect_auroc, 1);
    fprintf(f, ", accuracy ");
    num(f, "%*.3f", q->detect_acc, 1);
    fprintf(f, " (0.5 = indistinguishable)\ntime: %.1f s\n", q->seconds);
    return ferror(f) ? mcr_err(MCR_EIO, "quality: write error") : MCR_OK;
}

int mcr_iquality_write_json(const mcr_iquality *q, FILE *f) {
    fputs("{\"real\": ", f), mcr_json_str(f, q->real_path);
    fputs(", \"synthetic\": ", f), mcr_json_str(f, q->synth_path);
    fprintf(f, ", \"cnn_params\": %zu, \"detector\": {\"auroc\": ", q->cnn_params);
    mcr_json_num(f, q->detect_auroc);
    fputs(", \"accuracy\": ", f), mcr_json_num(f, q->detect_acc);
    fprintf(f, ", \"train\": %zu, \"held_out\": %zu}, \"groups\": [", q->detect_train, q->detect_test);
    for (int k = 0; k < q->ngroups; k++) {
        const mcr_iquality_group *g = &q->group[k];
        fputs(k ? ", {\"label\": " : "{\"label\": ", f), mcr_json_str(f, g->name);
        fprintf(f, ", \"n_real_train\": %zu, \"n_real_test\": %zu, \"n_synth\": %zu", g->n_real_train,
                g->n_real_test, g->n_synth);
        const char *names[] = {"acc_real", "acc_synth", "acc_tstr", "tv", "w1", "mean_real", "sd_real",
                               "mean_synth", "sd_synth"};
        double v[] = {g->acc_real, g->acc_synth, g->acc_tstr, g->tv, g->w1, g->mean_real, g->sd_real,
                      g->mean_synth, g->sd_synth};
        for (int j = 0; j < 9; j++) fprintf(f, ", \"%s\": ", names[j]), mcr_json_num(f, v[j]);
        fputc('}', f);
    }
    fprintf(f, "], \"seconds\": %.3f}\n", q->seconds);
    return ferror(f) ? mcr_err(MCR_EIO, "quality: write error") : MCR_OK;
}
