/* cmd_image.c — `mcrage image <sub-command>`: image sets (.npz in the MedMNIST layout, or a CSV
 * manifest of PNG files). Sub-commands are a table, so fit / sample / inspect join it as rows. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

static const char *IMAGE_DATA_HELP =
    "DATA is an .npz in the MedMNIST layout (train_images (N,H,W) or (N,H,W,3) uint8, train_labels\n"
    "(N,1), the same for val_ and test_; stored or deflated members) or a CSV manifest with columns\n"
    "file,label[,attribute][,split] listing PNG files (relative to the manifest's folder; an empty\n"
    "label is unlabelled, an empty attribute unknown; split train|val|test;\n"
    "without a split column every image is train).\n";

static int image_describe(int argc, char **argv) {
    const char *cmd = "image describe";
    int json = 0, ch;
    static const struct option lo[] = {{"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 'h':
            printf("usage: mcrage image describe DATA [--json]\n\n"
                   "Print the image size and channels, the label and attribute levels, and per split\n"
                   "(train, val, test) the label x attribute counts and the unlabelled images.\n\n"
                   "  -j, --json   JSON instead of text (default: text)\n\n%s\n"
                   "example: mcrage image describe ../shared/datasets/images/pneumoniamnist.npz\n",
                   IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    mcr_imageset *s;
    int rc = mcr_imageset_read(argv[optind], &s);
    if (rc) return cli_fail(cmd, rc);
    rc = mcr_imageset_describe(s, json, stdout);
    mcr_imageset_free(s);
    return rc ? cli_fail(cmd, rc) : EXIT_OK;
}

static int parse_split(const char *s, char *out) {
    if (!strcmp(s, "all")) *out = 0;
    else if (!strcmp(s, "train")) *out = 't';
    else if (!strcmp(s, "val")) *out = 'v';
    else if (!strcmp(s, "test")) *out = 's';
    else return -1;
    return 0;
}

static int image_grid(int argc, char **argv) {
    const char *cmd = "image grid", *out = NULL, *split_arg = "all";
    int ch;
    long long per_cell = 8;
    char split = 0;
    static const struct option lo[] = {{"output", required_argument, 0, 'o'},
                                       {"per-cell", required_argument, 0, 'k'},
                                       {"split", required_argument, 0, 's'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:k:s:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'k':
            if (cli_long(cmd, "--per-cell", optarg, 1, 1000, &per_cell)) return EXIT_USAGE;
            break;
        case 's':
            split_arg = optarg;
            if (parse_split(optarg, &split))
                return cli_usage(cmd, "--split expects train, val, test or all, got '%s'", optarg);
            break;
        case 'h':
            printf("usage: mcrage image grid DATA -o GRID.png [--per-cell K] [--split train|val|test|all]\n\n"
                   "Write a PNG grid for a quick look: one row per (label, attribute) pair, in level order\n"
                   "(unlabelled and unknown last), the first K images of each, 2 px grey separators.\n"
                   "The rows are listed on stderr.\n\n"
                   "  -o, --output FILE   the PNG to write (atomically)\n"
                   "  -k, --per-cell K    images per row, 1 to 1000 (default 8)\n"
                   "  -s, --split S       train, val, test or all (default all)\n\n%s\n"
                   "example: mcrage image grid pneumoniamnist.npz --split train --per-cell 10 -o grid.png\n",
                   IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    if (!out) return cli_usage(cmd, "missing -o GRID.png");
    mcr_imageset *s;
    int rc = mcr_imageset_read(argv[optind], &s);
    if (rc) return cli_fail(cmd, rc);
    int nrows = 0;
    rc = mcr_imageset_write_grid(s, out, (int)per_cell, split, &nrows);
    if (rc) {
        mcr_imageset_free(s);
        return cli_fail(cmd, rc);
    }
    /* the legend: the same rows, in the same order, as the library drew them */
    int L = mcr_imageset_nlabels(s), A = mcr_imageset_nattrs(s), row = 0;
    size_t *counts = calloc((size_t)(L + 1) * (size_t)(A + 1), sizeof *counts);
    if (counts) {
        mcr_imageset_counts(s, split, counts);
        for (int l = 0; l <= L; l++)
            for (int a = 0; a <= A; a++) {
                size_t m = counts[(size_t)l * (size_t)(A + 1) + (size_t)a];
                if (!m) continue;
                fprintf(stderr, "mcrage: row %d: label %s", ++row, l < L ? mcr_imageset_label_name(s, l) : "(unlabelled)");
                if (A) fprintf(stderr, ", attribute %s", a < A ? mcr_imageset_attr_name(s, a) : "(unknown)");
                fprintf(stderr, " (%zu images)\n", m);
            }
        free(counts);
    }
    fprintf(stderr, "mcrage: wrote %s: %d rows of up to %lld images (split %s)\n", out, nrows, per_cell, split_arg);
    mcr_imageset_free(s);
    return EXIT_OK;
}

static int image_convert(int argc, char **argv) {
    const char *cmd = "image convert", *out = NULL;
    int ch;
    static const struct option lo[] = {{"output", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    optind = 1;
    opterr = 0;
    while ((ch = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: mcrage image convert DATA -o OUT.npz | -o DIR/\n\n"
                   "Write the image set as a MedMNIST-layout .npz (members stored; labels int64 (N,1), -1 =\n"
                   "unlabelled; *_attributes when known; label_names / attribute_names), or, for an -o\n"
                   "ending in '/', as DIR/<split>_<i>.png with DIR/manifest.csv. Outputs are written\n"
                   "atomically.\n\n"
                   "  -o, --output OUT    OUT.npz or DIR/\n\n%s\n"
                   "example: mcrage image convert pneumoniamnist.npz -o pngs/ && mcrage image describe pngs/manifest.csv\n",
                   IMAGE_DATA_HELP);
            return EXIT_OK;
        default: return cli_usage(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return cli_usage(cmd, "expects exactly one DATA (.npz or manifest .csv)");
    if (!out || !*out) return cli_usage(cmd, "missing -o OUT.npz or -o DIR/");
    size_t ol = strlen(out);
    int dir = out[ol - 1] == '/';
    if (!dir && (ol < 4 || strcmp(out + ol - 4, ".npz")))
        return cli_usage(cmd, "-o expects a name ending in .npz or a folder ending in '/', got '%s'", out);
    mcr_imageset *s;
    int rc = mcr_imageset_read(argv[optind], &s);
    if (rc) return cli_fail(cmd, rc);
    int n;
    mcr_imageset_dims(s, &n, NULL, NULL, NULL);
    rc = dir ? mcr_imageset_write_dir(s, out) : mcr_imageset_write_npz(s, out);
    mcr_imageset_free(s);
    if (rc) return cli_fail(cmd, rc);
    fprintf(stderr, "mcrage: wrote %d images to %s%s\n", n, out, dir ? "manifest.csv" : "");
    return EXIT_OK;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} subs[] = {
    {"describe", image_describe, "sizes, channels, per split label x attribute counts"},
    {"grid", image_grid, "a PNG grid of images, one row per label x attribute"},
    {"convert", image_convert, "write the set as .npz or as a folder of PNGs with a manifest"},
};
#define NSUB (int)(sizeof subs / sizeof subs[0])

static void image_usage(FILE *f) {
    fprintf(f, "usage: mcrage image <sub-command> [options]\n       mcrage image <sub-command> --help\n\n"
               "sub-commands:\n");
    for (int i = 0; i < NSUB; i++) fprintf(f, "  %-10s %s\n", subs[i].name, subs[i].help);
    fprintf(f, "\n%s\nexample: mcrage image describe pneumoniamnist.npz\n", IMAGE_DATA_HELP);
}

int cmd_image(int argc, char **argv) {
    if (argc < 2) {
        image_usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        image_usage(stdout);
        return EXIT_OK;
    }
    for (int i = 0; i < NSUB; i++)
        if (!strcmp(argv[1], subs[i].name)) return subs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mcrage: image: unknown sub-command '%s'\n\n", argv[1]);
    image_usage(stderr);
    return EXIT_USAGE;
}
