"""scripts/image_pool.py (issue 14's pooled measurement): pooled means and intervals on hand-made
files, paired differences against none and the best baseline, and the refusal of a seed that two
files both hold."""
import json
import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "image_pool.py")
METRICS = ("id_acc", "ood_acc", "ood_auroc", "worst_acc", "gap")


def run_file(tmp_path, name, rows, label_acc):
    """rows: (method, seed, ood_acc); the other metrics follow from it (gap = 1 - ood_acc)"""
    runs = []
    for method, seed, ood in rows:
        r = {k: 0.9 for k in METRICS}
        r.update(method=method, seed=seed, ood_acc=ood, worst_acc=ood, gap=round(1 - ood, 6))
        runs.append(r)
    p = tmp_path / name
    p.write_text(json.dumps({"runs": runs, "generator": {"arms": [{"label_acc": label_acc}]}}))
    return str(p)


def pool(*files):
    return subprocess.run([sys.executable, SCRIPT, *files], capture_output=True, text=True)


def test_pooled_means_and_paired_differences(tmp_path):
    a = run_file(tmp_path, "a.json", [("none", 1, 0.7), ("none", 2, 0.8), ("oversample", 1, 0.75),
                                      ("oversample", 2, 0.85), ("diffusion@0.75", 1, 0.8),
                                      ("diffusion@0.75", 2, 0.8)], 0.68)
    b = run_file(tmp_path, "b.json", [("none", 3, 0.9), ("oversample", 3, 0.95), ("diffusion@0.75", 3, 0.8)], 0.6)
    out = pool(a, b)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    # none's OOD accuracy over seeds 1-3: 0.7, 0.8, 0.9 -> 0.800, sd 0.1, t(2) 4.303: +-0.248
    none = next(ln for ln in lines if ln.startswith("| none |"))
    assert none.split(" | ")[2] == "0.800 ± 0.248", none
    # diffusion - oversample (the best baseline on OOD accuracy): +0.05, -0.05, -0.15 -> -0.050
    # +- 4.303 * 0.1 / sqrt(3); over the two files' means (0.0, -0.15): -0.075 +- 12.706 * 0.106 / sqrt(2)
    tables = out.stdout.split("Paired differences against ")
    assert len(tables) == 3 and tables[1].startswith("none") and tables[2].startswith("the best baseline")
    row = next(ln for ln in tables[2].splitlines() if ln.startswith("| diffusion@0.75 |"))
    assert row.split(" | ")[2] == "-0.050 ± 0.248 [-0.075 ± 0.953] (oversample)", row
    # the gap is lowest-best: oversample's 1 - OOD is the lowest, so the same pairs, signs flipped
    assert row.split(" | ")[5].rstrip(" |") == "+0.050 ± 0.248 [+0.075 ± 0.953] (oversample)", row
    # per file: the mean paired OOD difference beside the generator's label check
    assert "- a.json (seeds 1, 2): diffusion@0.75 +0.000; label check 0.680" in lines
    assert "- b.json (seeds 3): diffusion@0.75 -0.150; label check 0.600" in lines


def test_a_seed_in_two_files_is_refused(tmp_path):
    a = run_file(tmp_path, "a.json", [("none", 1, 0.7), ("diffusion@0.75", 1, 0.8)], 0.6)
    b = run_file(tmp_path, "b.json", [("none", 1, 0.7), ("diffusion@0.75", 1, 0.8)], 0.6)
    out = pool(a, b)
    assert out.returncode != 0 and out.stdout == ""
    assert "b.json: seed 1 of none is also in" in out.stderr and "disjoint seeds" in out.stderr
    # the same seed under another method in the second file is still the same CNN seed
    c = run_file(tmp_path, "c.json", [("oversample", 1, 0.7)], 0.6)
    out = pool(a, c)
    assert out.returncode != 0 and "c.json: seed 1 of oversample is also in" in out.stderr


def test_bad_files_and_options_are_refused(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{}")
    out = pool(str(p))
    assert out.returncode != 0 and "x.json: not an image evaluate JSON file" in out.stderr
    p.write_text('{"runs": []}')
    out = pool(str(p))
    assert out.returncode != 0 and "x.json: not an image evaluate JSON file (it holds no runs)" in out.stderr
    p.write_text('{"runs": [{"method": "none", "seed": 1}]}')
    out = pool(str(p))
    assert out.returncode != 0 and "x.json: not an image evaluate JSON file (no 'id_acc' field)" in out.stderr
    out = pool(str(tmp_path / "absent.json"))
    assert out.returncode != 0 and "absent.json: cannot read it" in out.stderr
    out = pool("--tolerance", str(p))
    assert out.returncode != 0 and "unknown option --tolerance" in out.stderr and out.stdout == ""
