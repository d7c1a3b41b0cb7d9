"""mcrage.evaluate and mcrage.fidelity: one row per method x classifier x seed, the CLI's numbers
on the same data and seed, the HTML report."""
import json
import subprocess

import numpy as np
import pytest

import mcrage
from conftest import SMALL

MODEL = dict(steps=60, widths=(32, 32), dim_t=16, T=100, sample_steps=10, batch=256)


def test_evaluate_runs_summary_report(cohort, tmp_path):
    res = mcrage.evaluate(cohort, target="outcome", sensitive="race",
                          methods=["none", "smote", "mcrage"], classifiers=["logreg"], seeds=2,
                          report=tmp_path / "r.html", **MODEL)
    assert len(res.runs) == 3 * 1 * 2
    assert set(res.runs["method"]) == {"none", "smote", "mcrage"}
    assert res.runs[["accuracy", "f1_minority", "auroc"]].notna().all().all()
    assert (res.runs.loc[res.runs.method == "none", "synthetic_rows"] == 0).all()
    assert (res.runs.loc[res.runs.method == "mcrage", "synthetic_rows"] > 0).all()
    assert set(res.groups["group"]) == set(cohort["race"].cat.categories)
    assert len(res.summary) == 3 and "f1_minority_ci95" in res.summary
    # summary mean = mean of the runs (the table is made from them)
    for m in ("none", "smote", "mcrage"):
        want = res.runs.loc[res.runs.method == m, "auroc"].mean()
        got = res.summary.loc[res.summary.method == m, "auroc"].item()
        assert abs(want - got) < 1e-5
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 3
    assert "minority F1" in res.text
    assert list(res.verdicts["classifier"]) == ["logreg"]
    assert res.verdicts["verdict"].iloc[0] in ("helped", "no evidence", "hurt")
    assert "did rebalancing with mcrage help?" in res.text


def test_evaluate_equals_cli(cli, tmp_path):
    data = tmp_path / "c.csv"
    subprocess.run([cli, "simulate", "--rows", "900", "--seed", "4", "-o", str(data)],
                   check=True, capture_output=True)
    subprocess.run([cli, "evaluate", str(data), "--target", "outcome", "--sensitive", "race",
                    "--methods", "none,ros,mcrage", "--classifiers", "logreg,xgb", "--seeds",
                    "2", "--steps", "60", "--widths", "32,32", "--dim-t", "16", "--T", "100",
                    "--batch", "256", "--sample-steps", "10", "-q", "--json",
                    str(tmp_path / "cli.json")], check=True, capture_output=True)
    ref = json.loads((tmp_path / "cli.json").read_text())
    res = mcrage.evaluate(mcrage.read_csv(data), target="outcome", sensitive="race",
                          methods=["none", "ros", "mcrage"], classifiers=["logreg", "xgb"],
                          seeds=2, **MODEL)
    drop = ("seconds",)
    ours = [{k: v for k, v in r.items() if k not in drop} for r in res.json["runs"]]
    theirs = [{k: v for k, v in r.items() if k not in drop} for r in ref["runs"]]
    assert ours == theirs
    assert res.json["summary"] == ref["summary"]


def test_evaluate_tuned_threshold(cohort):
    res = mcrage.evaluate(cohort, target="outcome", methods=["none", "ros"], classifiers=["logreg"],
                          seeds=2, threshold="tuned")
    assert res.runs["threshold"].between(0, 1).all() and res.json["threshold"] == "tuned"
    with pytest.raises(mcrage.InvalidArgumentError, match="threshold"):
        mcrage.evaluate(cohort, target="outcome", threshold="0.3")


def test_evaluate_bad_names(cohort):
    with pytest.raises(mcrage.InvalidArgumentError, match="unknown method 'smoteish'"):
        mcrage.evaluate(cohort, target="outcome", methods=["smoteish"])
    with pytest.raises(mcrage.InvalidArgumentError, match="unknown keyword"):
        mcrage.evaluate(cohort, target="outcome", stepz=3)
    with pytest.raises(mcrage.InvalidArgumentError, match="nosuch"):
        mcrage.evaluate(cohort, target="nosuch", methods=["none"], classifiers=["logreg"])


def test_fidelity_scores(cohort, tmp_path):
    train, hold = cohort.iloc[:1000], cohort.iloc[1000:]
    syn = mcrage.Synthesizer(random_state=0, **SMALL).fit(train, target="outcome")
    fake = syn.sample(500)
    res = mcrage.fidelity(train, fake, target="outcome", sensitive="race", holdout=hold,
                          report=tmp_path / "f.html")
    s = res.scores
    assert {"all", "class", "group"} <= set(s["kind"])
    allrow = s[s.kind == "all"].iloc[0]
    assert 0 <= allrow["column_shapes"] <= 1 and 0.5 <= allrow["detection_auroc_xgb"] <= 1
    assert set(res.columns["name"]) >= {"age", "race", "lactate"}
    assert len(res.utility) >= 1 and res.utility["tstr_auroc"].notna().all()
    assert (tmp_path / "f.html").read_text().count("<svg") >= 2
    b = res.baseline
    assert len(b) == len(s) and b["real_holdout_rows"].iloc[0] == 500
    assert b["synthetic_at_holdout_size_rows"].iloc[0] == 500
    assert "real_holdout_column_shapes" in b and b["real_holdout_column_shapes"].between(0.8, 1).all()
    assert "membership_inference_auroc_ci95_lo" in s
    # real against itself: columns identical, detection at chance
    same = mcrage.fidelity(train, train.copy(), target="outcome", utility=False, privacy=False)
    assert np.allclose(same.columns["score"], 1.0)
    assert same.scores.iloc[0]["detection_auroc_logreg"] < 0.6


def test_evaluate_strategy_auto(cohort):
    # strategy="auto" adds mcrage-auto; its grid per seed (7 points without a sensitive column)
    # is in .auto with one choice per seed, the same as naming mcrage-auto in methods
    kw = dict(target="outcome", classifiers=["logreg"], seeds=2, folds=2, random_state=3, **MODEL)
    res = mcrage.evaluate(cohort, methods=["none"], strategy="auto", **kw)
    assert set(res.runs["method"]) == {"none", "mcrage-auto"}
    assert len(res.auto) == 2 * 7 and res.auto.groupby("seed")["chosen"].sum().tolist() == [1, 1]
    assert set(res.auto["share"]) == {0, 0.25, 0.5, 1} and res.auto["mean"].between(0, 1).all()
    assert res.verdicts["method"].tolist() == ["mcrage-auto"]
    again = mcrage.evaluate(cohort, methods=["none", "mcrage-auto"], **kw)
    assert again.auto.equals(res.auto)
    with pytest.raises(mcrage.InvalidArgumentError, match="optimize"):
        mcrage.evaluate(cohort, target="outcome", strategy="auto", optimize="nope")
    with pytest.raises(mcrage.InvalidArgumentError, match="folds"):
        mcrage.evaluate(cohort, target="outcome", strategy="auto", folds=1)
