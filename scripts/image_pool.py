#!/usr/bin/python3
"""image_pool.py — issue 14's measurement pooled over several `mcrage image evaluate --json` runs.

usage: /usr/bin/python3 scripts/image_pool.py RUN.json [RUN.json ...]

Each file is one `image evaluate` run: one generator (fitted once from the run's --seed) and the
CNN seeds it trained. The files must hold disjoint seeds (a seed seen twice is refused: pooled
seeds would not be independent). Printed, as Markdown:
  1. per method: mean +- 95% CI (Student t) over every seed of ID accuracy, OOD accuracy,
     OOD AUROC, worst-site accuracy and the fairness gap;
  2. for each diffusion ratio: the paired per-seed difference against none and against the best
     baseline of each metric (none / oversample / focal / randaugment, chosen on the pooled means;
     the gap's best is the lowest), mean +- 95% CI over the seeds, and the same over the files'
     means (one value a generator), since seeds that share a generator are not independent draws
     of it;
  3. per file: each diffusion ratio's mean paired OOD-accuracy difference against the best
     baseline, beside the generator's label check from the file.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix import fmt, mean_ci  # noqa: E402  (issue 18's Student-t interval and format)

METRICS = [("id_acc", "ID acc"), ("ood_acc", "OOD acc"), ("ood_auroc", "OOD AUROC"),
           ("worst_acc", "worst site"), ("gap", "gap")]
BASELINES = ["none", "oversample", "focal", "randaugment"]


def main(paths):
    runs, file_of, methods, checks = {}, {}, [], {}
    for p in paths:
        try:
            with open(p) as f:
                d = json.load(f)
            rs = d["runs"]
            if not rs:
                raise ValueError("it holds no runs")
            for r in rs:  # each run names its method and seed and holds every metric
                r["method"], r["seed"], [r[k] for k, _ in METRICS]
            checks[p] = [a.get("label_acc") for a in d.get("generator", {}).get("arms", [])]
        except OSError as e:
            sys.exit(f"image_pool.py: {p}: cannot read it ({e.strerror})")
        except KeyError as e:
            sys.exit(f"image_pool.py: {p}: not an image evaluate JSON file (no {e} field)")
        except (ValueError, TypeError, AttributeError) as e:
            sys.exit(f"image_pool.py: {p}: not an image evaluate JSON file ({e})")
        for r in rs:
            key = (r["method"], r["seed"])
            if key in runs or file_of.get(r["seed"], p) != p:  # a seed belongs to one file (one generator)
                sys.exit(f"image_pool.py: {p}: seed {r['seed']} of {r['method']} is also in "
                         f"{file_of[r['seed']]}: pooled files must hold disjoint seeds")
            runs[key] = r
            file_of[r["seed"]] = p
            if r["method"] not in methods:
                methods.append(r["method"])
    seeds = sorted({s for (_, s) in runs})
    print(f"{len(seeds)} seeds ({', '.join(map(str, seeds))}) from {len(paths)} file(s): "
          + "; ".join(f"{os.path.basename(p)}" for p in paths) + "\n")
    header()
    for m in methods:
        cells = [fmt(*mean_ci([runs[(m, s)][k] for s in seeds if (m, s) in runs])) for k, _ in METRICS]
        print(f"| {m} | " + " | ".join(cells) + " |")
    base = [b for b in BASELINES if all((b, s) in runs for s in seeds)]
    diff = [m for m in methods if m.startswith("diffusion") and all((m, s) in runs for s in seeds)]
    if not base or not diff:
        return
    against = [("the best baseline of each metric", lambda k: best(base, runs, seeds, k))]
    if "none" in base:
        against.insert(0, ("none", lambda k: "none"))
    for title, baseline in against:
        print(f"\nPaired differences against {title} (mean ± 95% CI over the seeds; in brackets "
              "over the files' means, one a generator):\n")
        header()
        for m in diff:
            cells = []
            for k, _ in METRICS:
                b = baseline(k)
                xs = paired(runs, m, b, k, seeds)
                per_file = [[xs[s] for s in seeds if file_of[s] == p] for p in paths]
                gm = [sum(v) / len(v) for v in per_file if v]
                cells.append(f"{fmt(*mean_ci(list(xs.values())), signed=True)} "
                             f"[{fmt(*mean_ci(gm), signed=True)}] ({b})")
            print(f"| {m} | " + " | ".join(cells) + " |")
    k = "ood_acc"
    b = best(base, runs, seeds, k)
    print(f"\nPer file (generator): mean paired OOD accuracy difference against {b}, and the "
          "generator's label check (a real-trained classifier's accuracy on its images):\n")
    for p in paths:
        fs = [s for s in seeds if file_of[s] == p]
        diffs = ", ".join(f"{m} {sum(paired(runs, m, b, k, fs).values()) / len(fs):+.3f}" for m in diff)
        lab = ", ".join(f"{x:.3f}" for x in checks[p] if x is not None) or "n/a"
        print(f"- {os.path.basename(p)} (seeds {', '.join(map(str, fs))}): {diffs}; label check {lab}")


def header():
    print("| method | " + " | ".join(n for _, n in METRICS) + " |")
    print("|---" * (len(METRICS) + 1) + "|")


def paired(runs, m, b, k, seeds):
    """seed -> method m's metric k minus baseline b's, on the same seed"""
    return {s: runs[(m, s)][k] - runs[(b, s)][k] for s in seeds}


def best(base, runs, seeds, k):
    """the baseline with the best pooled mean of metric k (the gap's best is the lowest)"""
    sign = -1 if k == "gap" else 1
    return max(base, key=lambda b: sign * sum(runs[(b, s)][k] for s in seeds))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__.strip().splitlines()[2])
    if any(a.startswith("-") for a in sys.argv[1:]):
        sys.exit(f"image_pool.py: unknown option {next(a for a in sys.argv[1:] if a.startswith('-'))}; "
                 + __doc__.strip().splitlines()[2])
    main(sys.argv[1:])
