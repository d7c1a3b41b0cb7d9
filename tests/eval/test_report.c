/* test_report.c — the HTML report: self-contained, escaped, atomic, and rendered by Chromium
 * (headless, Debian's `chromium`) into a DOM with one <svg> per chart and a screenshot that is
 * not blank and shows the chart colours. The PNG is decoded here with zlib (8-bit RGB/RGBA,
 * non-interlaced, the five PNG filters). CHROMIUM names the browser (default: chromium). */
#include "eval/eval.h"
#include "testhelp.h"
#include <unistd.h>
#include <zlib.h>


static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) free(b), b = NULL;
    if (b) b[len] = 0, *n = (size_t)len;
    fclose(f);
    return b;
}

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* decode an 8-bit RGB or RGBA PNG into rgb[w * h * 3]; 0 on success */
static int png_decode(const unsigned char *b, size_t n, int *w, int *h, unsigned char **rgb) {
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    if (n < 8 || memcmp(b, sig, 8)) return -1;
    size_t pos = 8, zl = 0;
    unsigned char *z = malloc(n);
    int ct = -1;
    while (z && pos + 12 <= n) {
        uint32_t len = be32(b + pos);
        const unsigned char *type = b + pos + 4, *d = b + pos + 8;
        if (pos + 12 + len > n) break;
        if (!memcmp(type, "IHDR", 4)) {
            *w = (int)be32(d), *h = (int)be32(d + 4);
            if (d[8] != 8 || d[12] != 0) return free(z), -2; /* 8-bit, non-interlaced */
            ct = d[9];
        } else if (!memcmp(type, "IDAT", 4)) {
            memcpy(z + zl, d, len), zl += len;
        } else if (!memcmp(type, "IEND", 4))
            break;
        pos += 12 + len;
    }
    if (!z || (ct != 2 && ct != 6)) return free(z), -3;
    int bpp = ct == 6 ? 4 : 3;
    size_t stride = (size_t)*w * bpp, raw_n = (stride + 1) * (size_t)*h;
    unsigned char *raw = malloc(raw_n), *img = malloc(stride * (size_t)*h);
    uLongf out = raw_n;
    if (!raw || !img || uncompress(raw, &out, z, zl) != Z_OK || out != raw_n) return free(z), free(raw), free(img), -4;
    for (int y = 0; y < *h; y++) {
        unsigned char f = raw[(size_t)y * (stride + 1)], *src = raw + (size_t)y * (stride + 1) + 1, *dst = img + (size_t)y * stride;
        const unsigned char *up = y ? img + (size_t)(y - 1) * stride : NULL;
        for (size_t x = 0; x < stride; x++) {
            int a = x >= (size_t)bpp ? dst[x - bpp] : 0, u = up ? up[x] : 0, c = up && x >= (size_t)bpp ? up[x - bpp] : 0;
            int p = a + u - c, pa = abs(p - a), pb = abs(p - u), pc = abs(p - c);
            int pred = f == 0 ? 0 : f == 1 ? a : f == 2 ? u : f == 3 ? (a + u) / 2 : (pa <= pb && pa <= pc ? a : pb <= pc ? u : c);
            dst[x] = (unsigned char)(src[x] + pred);
        }
    }
    *rgb = malloc((size_t)*w * *h * 3);
    for (size_t i = 0; *rgb && i < (size_t)*w * *h; i++) memcpy(*rgb + 3 * i, img + bpp * i, 3);
    free(z), free(raw), free(img);
    return *rgb ? 0 : -5;
}

static void test_report_render(void) {
    mcr_set_threads(2);
    mcr_table *real = th_cohort(700, 1), *syn = th_cohort(700, 2), *hold = th_cohort(300, 3);
    CHECK(real && syn && hold, "simulate");
    /* a hostile column name must come out escaped */
    mcr_table *all[3] = {real, syn, hold};
    for (int k = 0; k < 3; k++) {
        free(all[k]->cols[1].name);
        all[k]->cols[1].name = mcr_strdup("<script>alert(1)</script>");
    }
    /* a quick evaluation (no diffusion) for the results section */
    mcr_eval_config ec;
    mcr_eval_config_default(&ec);
    ec.target = "outcome";
    ec.sensitive = "race";
    ec.seeds = 2;
    ec.methods[0] = MCR_AUG_NONE, ec.methods[1] = MCR_AUG_ROS, ec.methods[2] = MCR_AUG_SMOTENC;
    ec.nmethods = 3;
    ec.classifiers[0] = MCR_CLF_LOGREG;
    ec.nclassifiers = 1;
    mcr_eval_result *er = NULL;
    CHECK(mcr_evaluate(real, NULL, &ec, &er) == 0, "evaluate: %s", mcr_last_error());
    mcr_assess_config ac;
    mcr_assess_config_default(&ac);
    ac.target = "outcome", ac.sensitive = "race", ac.holdout = hold, ac.folds = 3;
    mcr_assess_result *as = NULL;
    CHECK(mcr_assess(real, syn, &ac, &as) == 0, "assess: %s", mcr_last_error());
    float loss[50];
    for (int i = 0; i < 50; i++) loss[i] = 1.0f + 1.0f / (1 + i);
    mcr_report *r = NULL;
    CHECK(mcr_report_new("test report <&>", &r) == 0, "new");
    if (!r || !er || !as) goto done;
    int rc = mcr_report_dataset(r, "Data", real, "outcome", "race");
    if (!rc) rc = mcr_report_balance(r, "Balance", real, real, syn, "outcome", "race");
    int n0 = mcr_report_ncharts(r);
    if (!rc) rc = mcr_report_eval(r, er);
    CHECK(mcr_report_ncharts(r) == n0 + 3, "eval section: bar chart, scatter, reliability (%d)", mcr_report_ncharts(r) - n0);
    { /* the reliability bins: every test row of every seed in one bin, means inside their tenth */
        double mp[10], fy[10];
        size_t cnt[10], tot = 0;
        int runs = mcr_eval_reliability(er, ec.methods[0], ec.classifiers[0], mp, fy, cnt);
        int inside = 1;
        for (int b = 0; b < 10; b++) {
            tot += cnt[b];
            if (cnt[b]) inside &= mp[b] >= b / 10.0 - 1e-12 && mp[b] <= (b + 1) / 10.0 + 1e-12 && fy[b] >= 0 && fy[b] <= 1;
        }
        mcr_eval_info_t info;
        mcr_eval_info(er, &info);
        CHECK(runs == ec.seeds && inside && tot > 0 && tot % (size_t)ec.seeds == 0, "reliability: %d runs, %zu rows", runs, tot);
    }
    if (!rc) rc = mcr_report_loss(r, "Loss", loss, 50, 10);
    n0 = mcr_report_ncharts(r);
    if (!rc) rc = mcr_report_distributions(r, "Distributions", real, syn, "outcome", "1");
    /* one chart per compared column except the class column: 17 - 1 */
    CHECK(mcr_report_ncharts(r) == n0 + 16, "distribution charts %d", mcr_report_ncharts(r) - n0);
    if (!rc) rc = mcr_report_assess(r, "Fidelity", as);
    mcr_report_text(r, "Command", "mcrage test 'quoted' <b>");
    char dir[] = "/tmp/mcr_reportXXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256], png[256], dom[256], cmd[1024];
    snprintf(path, sizeof path, "%s/report.html", dir);
    snprintf(png, sizeof png, "%s/report.png", dir);
    snprintf(dom, sizeof dom, "%s/dom.html", dir);
    if (!rc) rc = mcr_report_write(r, path);
    CHECK(rc == 0, "report: %s", mcr_last_error());
    int ncharts = mcr_report_ncharts(r);
    CHECK(ncharts == 3 + 1 + 16 + 1, "charts: %d", ncharts); /* eval 3, loss 1, columns 16, DCR 1 */
    size_t len = 0;
    char *html = slurp(path, &len);
    CHECK(html != NULL, "read back");
    if (!html) goto done;
    CHECK(count(html, "<svg") == ncharts, "svg elements in the file %d vs %d", count(html, "<svg"), ncharts);
    CHECK(!strstr(html, "<script") && strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), "column name escaped");
    CHECK(!strstr(html, "src=") && !strstr(html, "href=") && !strstr(html, "@import") && !strstr(html, "url("),
          "self-contained: no external resources");
    CHECK(strstr(html, "test report &lt;&amp;&gt;") != NULL, "title escaped");
    /* atomic: no temporary file left beside it */
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | wc -l) -eq 1", dir);
    CHECK(system(cmd) == 0, "one file in %s", dir);
    free(html);
    /* render */
    const char *chrome = getenv("CHROMIUM") ? getenv("CHROMIUM") : "chromium";
    const char *flags = "--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars "
                        "--no-first-run --user-data-dir=";
    snprintf(cmd, sizeof cmd, "timeout 120 %s %s%s/profile --dump-dom file://%s > %s 2>/dev/null", chrome, flags, dir, path, dom);
    int src = system(cmd);
    CHECK(src == 0, "%s --dump-dom failed (%d): install Debian's chromium (./scripts/deps.sh --tests)", chrome, src);
    char *d = slurp(dom, &len);
    CHECK(d && count(d, "<svg") == ncharts, "svg elements in Chromium's DOM: %d of %d", d ? count(d, "<svg") : -1, ncharts);
    CHECK(d && count(d, "<table") >= 6, "tables in the DOM: %d", d ? count(d, "<table") : -1);
    free(d);
    snprintf(cmd, sizeof cmd, "timeout 120 %s %s%s/profile --window-size=1200,2400 --screenshot=%s file://%s >/dev/null 2>&1",
             chrome, flags, dir, png, path);
    CHECK(system(cmd) == 0, "screenshot");
    unsigned char *pngb = (unsigned char *)slurp(png, &len), *rgb = NULL;
    int w = 0, h = 0;
    CHECK(pngb && png_decode(pngb, len, &w, &h, &rgb) == 0, "decode %s", png);
    if (rgb) {
        size_t nonwhite = 0, real_c = 0, syn_c = 0, npx = (size_t)w * h;
        for (size_t i = 0; i < npx; i++) {
            const unsigned char *p = rgb + 3 * i;
            nonwhite += p[0] < 240 || p[1] < 240 || p[2] < 240;
            real_c += abs(p[0] - 0x3b) < 8 && abs(p[1] - 0x6e) < 8 && abs(p[2] - 0xa8) < 8;
            syn_c += abs(p[0] - 0xe0) < 8 && abs(p[1] - 0x7b) < 8 && abs(p[2] - 0x39) < 8;
        }
        CHECK(w == 1200 && h == 2400, "size %dx%d", w, h);
        CHECK(nonwhite > npx / 50, "not blank: %zu of %zu pixels drawn", nonwhite, npx);
        CHECK(real_c > 2000 && syn_c > 2000, "chart colours drawn: real %zu, synthetic %zu pixels", real_c, syn_c);
        printf("  rendered %dx%d: %.1f%% drawn, %zu real-colour and %zu synthetic-colour pixels, %d charts\n", w, h,
               100.0 * nonwhite / npx, real_c, syn_c, ncharts);
    }
    free(pngb), free(rgb);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
done:
    mcr_report_free(r);
    mcr_eval_free(er);
    mcr_assess_free(as);
    mcr_table_free(real), mcr_table_free(syn), mcr_table_free(hold);
}

int main(void) {
    TEST(test_report_render);
    return DONE();
}
