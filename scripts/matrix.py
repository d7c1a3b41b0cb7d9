#!/usr/bin/python3
"""matrix.py — issue 18's measurement matrix from `mcrage evaluate --json` files.

usage: /usr/bin/python3 scripts/matrix.py [--tolerance T] RUN.json [RUN.json ...]

Each file is one table at one threshold (0.5 or tuned). Printed, as Markdown:
  1. per table, threshold and classifier: mean +- 95% CI over seeds (Student t) of minority F1,
     worst-group recall, AUROC and calibration slope for every method;
  2. paired per-seed differences of mcrage, its selections and mcrage-auto against none and
     against the better of none and SMOTE(-NC) on minority F1 (the issue's "best of none and
     SMOTE"), with 95% CIs;
  3. the verdicts evaluate wrote;
  4. the issue's targets, checked: (a) mcrage or mcrage-auto >= the best of none and SMOTE(-NC)
     on mean minority F1 and on mean worst-group recall with every classifier, counted per
     table (target: 3 of 4 tables); (b) its AUROC no more than 0.005 below none's (mean paired
     difference); (c) mcrage-auto never more than one CI below none (the mean paired difference
     of minority F1, worst-group recall and AUROC at least minus its own 95% half-width).
Runs of one (table, threshold) may be split over files (e.g. the selections run apart, or one
evaluate per seed: `--seed S --seeds 1` gives seed S of a `--seeds N` run): their runs are merged
by (method, classifier, seed); a run seen twice must agree, which checks that the same seed gives
the same numbers (to --tolerance T, default 0: files run at different thread counts differ in the
last digits; the largest such difference is printed and the first file's run kept). A method run
on fewer seeds is labelled with them and compared on them only; single-seed files bring no
verdicts (evaluate gives none without an interval).
"""
import json
import math
import sys
from collections import defaultdict

T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
        2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086]
METRICS = [("f1_minority", "minority F1"), ("worst_group_recall", "worst-grp recall"),
           ("auroc", "AUROC"), ("calibration_slope", "cal. slope")]
SUBJECTS = ["mcrage", "mcrage-plausible", "mcrage-boundary", "mcrage-auto"]
ORDER = ["none", "ros", "smote", "smote-nc", "adasyn", "mcrage", "mcrage-plausible",
         "mcrage-boundary", "mcrage-auto"]


def mean_ci(v):
    v = [x for x in v if x is not None and math.isfinite(x)]
    if not v:
        return float("nan"), float("nan")
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, float("nan")
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    t = T975[min(len(v) - 2, len(T975) - 1)]
    return m, t * sd / math.sqrt(len(v))


def fmt(m, h, signed=False):
    if not math.isfinite(m):
        return "n/a"
    s = f"{m:+.3f}" if signed else f"{m:.3f}"
    return s + (f" ± {h:.3f}" if math.isfinite(h) else "")


def short(path):
    name = path.rsplit("/", 1)[-1]
    return name[:-4] if name.endswith(".csv") else name


def load(paths):
    tables = {}  # (data, threshold) -> {"runs": {(method, clf, seed): run}, "verdicts": [...], ...}
    for p in paths:
        with open(p) as f:
            j = json.load(f)
        key = (short(j["data"]) + (f" (thin {j['thin']})" if j.get("thin") else ""), j["threshold"])
        e = tables.setdefault(key, {"runs": {}, "verdicts": [], "auto": {}, "files": [], "drift": (0.0, "")})
        e["files"].append(p)
        for r in j["runs"]:
            k = (r["method"], r["classifier"], r["seed"])
            if k in e["runs"]:
                a, b = e["runs"][k], r
                for m, _ in METRICS:
                    x, y = a.get(m), b.get(m)
                    if not (x == y or (x is None and y is None) or
                            (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))):
                        d = abs(x - y) if isinstance(x, float) and isinstance(y, float) else math.inf
                        if not d <= TOLERANCE:
                            sys.exit(f"{p}: {k} {m} {y} differs from an earlier file's {x}")
                        if d > e["drift"][0]:
                            e["drift"] = (d, f"{k[0]} + {k[1]}, seed {k[2]}, {m}: {x} vs {y} in {p}")
                continue  # the first file's run is kept
            e["runs"][k] = r
        for v in j.get("verdicts", []) if j.get("seeds", 0) > 1 else []:  # one seed: no interval, no verdict
            if v not in e["verdicts"]:
                e["verdicts"].append(v)
        for a in j.get("auto", []):
            e["auto"][a["seed"]] = a["choice"]["chosen"]
    return tables


def series(e, method, clf, metric):
    out = {}
    for (m, c, s), r in e["runs"].items():
        if m == method and c == clf:
            v = r.get(metric)
            out[s] = v if isinstance(v, (int, float)) else float("nan")
    return out


def paired(e, a, b, clf, metric):
    x, y = series(e, a, clf, metric), series(e, b, clf, metric)
    return mean_ci([x[s] - y[s] for s in x if s in y])


def main(paths):
    tables = load(paths)
    target_a = defaultdict(dict)  # subject -> table -> passes with every classifier
    misses = defaultdict(list)  # (subject, table, threshold) -> where it falls short
    sig_below = {}  # (subject, table, threshold) -> below the best by a whole CI somewhere
    no_ci = set()  # (subject, table, threshold) run on one seed: no interval
    notes = []
    for (tab, thr), e in sorted(tables.items()):
        methods = sorted({m for m, _, _ in e["runs"]}, key=lambda m: ORDER.index(m) if m in ORDER else 99)
        clfs = sorted({c for _, c, _ in e["runs"]}, key=lambda c: ["logreg", "rf", "xgb", "mlp"].index(c))
        seeds = sorted({s for _, _, s in e["runs"]})
        smote = "smote-nc" if "smote-nc" in methods else "smote"
        print(f"\n### {tab}, threshold {thr} (seeds {seeds[0]}-{seeds[-1]}; {', '.join(e['files'])})\n")
        if e["drift"][0] > 0:
            print(f"Runs held by two files differ by up to {e['drift'][0]:.1e} ({e['drift'][1]}), within "
                  f"--tolerance {TOLERANCE:g}; the first file's run is used.\n")
        print("| classifier | method | " + " | ".join(l for _, l in METRICS) + " |")
        print("| --- | --- | " + " | ".join("---" for _ in METRICS) + " |")
        for c in clfs:
            for m in methods:
                cells = [fmt(*mean_ci(list(series(e, m, c, k).values()))) for k, _ in METRICS]
                ms = sorted(series(e, m, c, "f1_minority"))
                label = m if ms == seeds else f"{m} (seeds {', '.join(map(str, ms))})"
                print(f"| {c} | {label} | " + " | ".join(cells) + " |")
        print("\nPaired differences (mean ± 95% CI over seeds); 'best' is the better of none and "
              f"{smote} on mean minority F1 for that classifier:\n")
        print("| classifier | method | minority F1 vs none | vs best | worst-grp recall vs none | vs best | AUROC vs none |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for c in clfs:
            mn = mean_ci(list(series(e, "none", c, "f1_minority").values()))[0]
            ms = mean_ci(list(series(e, smote, c, "f1_minority").values()))[0]
            best = smote if ms > mn else "none"
            for subj in [s for s in SUBJECTS if s in methods]:
                cells = [fmt(*paired(e, subj, "none", c, "f1_minority"), True),
                         fmt(*paired(e, subj, best, c, "f1_minority"), True) + f" ({best})",
                         fmt(*paired(e, subj, "none", c, "worst_group_recall"), True),
                         fmt(*paired(e, subj, best, c, "worst_group_recall"), True),
                         fmt(*paired(e, subj, "none", c, "auroc"), True)]
                print(f"| {c} | {subj} | " + " | ".join(cells) + " |")
        if e["verdicts"]:
            print("\nVerdicts:\n")
            for v in e["verdicts"]:
                head, reading = f"{v['classifier']} ({v['method']})", v["reading"]
                for pre in (head + ": ", v["classifier"] + ": "):  # evaluate's sentence names them already
                    if reading.startswith(pre):
                        reading = reading[len(pre):]
                        break
                print(f"- {head}: {reading}")
        if e["auto"]:
            ch = []
            for s in sorted(e["auto"]):
                p = e["auto"][s]
                ch.append(f"seed {s}: " + ("share 0" if p["share"] == 0 else
                                          f"share {p['share']:g}, {p['strategy']}, guidance {p['guidance']:g}")
                          + f" (CV {p['mean']:.3f})")
            print("\nmcrage-auto's choices: " + "; ".join(ch) + ".")
        # the targets
        for subj in [s for s in ("mcrage", "mcrage-plausible", "mcrage-boundary", "mcrage-auto") if s in methods]:
            ok_all = True
            for c in clfs:
                for k in ("f1_minority", "worst_group_recall"):
                    ss = series(e, subj, c, k)  # compared on the subject's seeds (a subject may have run fewer)
                    sv = mean_ci(list(ss.values()))[0]
                    b, bm = max((mean_ci([v for s, v in series(e, m, c, k).items() if s in ss])[0], m)
                                for m in ("none", smote) if m in methods)
                    d, h = paired(e, subj, bm, c, k)
                    if not math.isfinite(h):  # one seed: no interval to read
                        no_ci.add((subj, tab, thr))
                    elif d + h < 0:
                        sig_below[(subj, tab, thr)] = True
                    if not sv >= b:
                        ok_all = False
                        misses[(subj, tab, thr)].append(f"{c} {k} {sv:.4f} < {bm} {b:.4f} (paired {d:+.4f} ± {h:.4f})")
                auc = paired(e, subj, "none", c, "auroc")[0]
                if not auc >= -0.005:
                    notes.append(f"{tab} {thr} {c}: {subj} AUROC {auc:+.4f} vs none (target: >= -0.005)")
                if subj == "mcrage-auto":
                    for k in ("f1_minority", "worst_group_recall", "auroc"):
                        d, h = paired(e, subj, "none", c, k)
                        if math.isfinite(h) and d < -h:
                            notes.append(f"{tab} {thr} {c}: mcrage-auto {k} {d:+.3f} ± {h:.3f} vs none: more than one CI below")
            target_a[subj][(tab, thr)] = ok_all
    print("\n### The issue's targets\n")
    for subj, per in target_a.items():
        for thr in ("0.5", "tuned"):
            got = [t for (t, th), ok in per.items() if th == thr and ok]
            n = sum(1 for (_, th) in per if th == thr)
            if n:
                print(f"- {subj}, threshold {thr}: >= the best of none and SMOTE(-NC) on minority F1 and "
                      f"worst-group recall with every classifier on {len(got)} of {n} tables"
                      + (f" ({', '.join(got)})" if got else ""))
    for subj, per in target_a.items():
        for thr in ("0.5", "tuned"):
            n = [t for (t, th) in per if th == thr]
            if n:
                lone = [t for t in n if (subj, t, thr) in no_ci]
                n = [t for t in n if t not in lone]
                ok = [t for t in n if not sig_below.get((subj, t, thr))]
                print(f"- {subj}, threshold {thr}, read with intervals (no paired difference against the best of "
                      f"none and SMOTE(-NC) below 0 by its whole 95% CI, every classifier, both metrics): "
                      f"{len(ok)} of {len(n)} tables" + (f" ({', '.join(ok)})" if ok else "")
                      + (f"; not read on {', '.join(lone)} (one seed, no interval)" if lone else ""))
    either = defaultdict(int)
    keys = set()
    for subj in ("mcrage", "mcrage-auto"):
        for k, ok in target_a.get(subj, {}).items():
            keys.add(k)
            either[k] |= ok
    for thr in ("0.5", "tuned"):
        n = sum(1 for k in keys if k[1] == thr)
        if n:
            print(f"- mcrage or mcrage-auto, threshold {thr}: {sum(1 for k in keys if k[1] == thr and either[k])} of {n} tables")
    for (subj, tab, thr), m in sorted(misses.items()):
        print(f"- {subj} short on {tab}, {thr}: " + "; ".join(m))
    for n in notes:
        print(f"- {n}")
    if not notes:
        print("- AUROC within 0.005 of none and mcrage-auto within one CI of none everywhere")


TOLERANCE = 0.0


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--tolerance"]:
        try:
            TOLERANCE = float(args[1])
        except (IndexError, ValueError):
            sys.exit(f"matrix.py: --tolerance expects a number >= 0, got {args[1] if len(args) > 1 else 'nothing'}")
        if not TOLERANCE >= 0:
            sys.exit(f"matrix.py: --tolerance expects a number >= 0, got {args[1]}")
        args = args[2:]
    if not args:
        sys.exit(__doc__)
    main(args)
