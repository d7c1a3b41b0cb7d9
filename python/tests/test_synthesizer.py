"""mcrage.Synthesizer: exact counts per class and group, DataFrame round trip, save / load /
pickle, seeds, loss values, identifiers, and results equal to the CLI's."""
import pickle
import subprocess

import numpy as np
import pandas as pd
import pytest

import mcrage
from conftest import SMALL, shared


@pytest.fixture(scope="module")
def fitted(cohort):
    return mcrage.Synthesizer(random_state=4, **SMALL).fit(cohort, target="outcome")


def test_exact_counts(fitted, cohort):
    out = fitted.sample(conditions={"outcome": {"0": 7, "1": 93}})
    assert out["outcome"].value_counts().to_dict() == {"1": 93, "0": 7}
    out = fitted.sample(50, conditions={"outcome": "1"})
    assert len(out) == 50 and (out["outcome"] == "1").all()
    out = fitted.sample(200)  # split like the training classes, largest remainder
    share = (cohort["outcome"] == "1").mean()
    assert abs((out["outcome"] == "1").sum() - 200 * share) <= 1


def test_both_conditions_exact(cohort):
    syn = mcrage.Synthesizer(condition="both", random_state=1, **SMALL)
    syn.fit(cohort, target="outcome", sensitive="race")
    out = syn.sample(conditions={"outcome": "1", "race": {"Black": 30, "Asian": 12}})
    assert len(out) == 42 and (out["outcome"] == "1").all()
    assert out["race"].value_counts()[["Black", "Asian"]].tolist() == [30, 12]
    assert "1|Black" in syn.conditions_()


def test_round_trip_dtypes_categories_missing():
    rng = np.random.default_rng(2)
    n = 600
    df = pd.DataFrame({
        "age": rng.integers(20, 90, n).astype(np.int32),
        "score": rng.normal(0, 1, n).astype(np.float32),
        "lab": np.where(rng.random(n) < 0.25, np.nan, rng.gamma(2, 1, n)),
        "grade": pd.Categorical(rng.choice(["low", "mid", "high"], n),
                                categories=["low", "mid", "high"], ordered=True),
        "site": rng.choice(["A", "B", None], n).astype(object),
        "smoker": rng.random(n) < 0.4,
        "y": rng.choice([0, 1], n, p=[0.85, 0.15]),
    })
    syn = mcrage.Synthesizer(random_state=0, **SMALL).fit(df, target="y")
    out = syn.sample(300)
    assert list(out.columns) == list(df.columns)
    assert (out.dtypes == df.dtypes).all(), pd.concat([out.dtypes, df.dtypes], axis=1)
    assert out["grade"].cat.ordered and list(out["grade"].cat.categories) == ["low", "mid", "high"]
    assert set(out["site"].dropna()) <= {"A", "B"} and out["site"].isna().any()
    assert out["lab"].isna().any() and out["lab"].notna().any()
    assert set(out["y"]) <= {0, 1} and out["y"].dtype == df["y"].dtype


def test_numpy_in_numpy_out():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    X[:, 2] = rng.integers(0, 2, 300)
    out = mcrage.Synthesizer(random_state=0, **SMALL).fit(X, target="x2").sample(40)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["x0", "x1", "x2"]
    assert out["x0"].dtype == np.float32


def test_seed_determinism(cohort):
    a = mcrage.Synthesizer(random_state=9, **SMALL).fit(cohort, target="outcome")
    b = mcrage.Synthesizer(random_state=9, **SMALL).fit(cohort, target="outcome")
    pd.testing.assert_frame_equal(a.sample(100), b.sample(100))
    pd.testing.assert_frame_equal(a.sample(100), b.sample(100))  # second calls too
    first = a.sample(100, random_state=9)
    a.reset_sampling()
    pd.testing.assert_frame_equal(a.sample(100), first)
    assert not a.sample(100).equals(first)  # a later call gives new rows


def test_pickle_and_save_load(fitted, tmp_path):
    again = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(again.sample(80, random_state=3),
                                  fitted.sample(80, random_state=3))
    path = tmp_path / "m.mcrg"
    fitted.save(path)
    loaded = mcrage.Synthesizer.load(path, sample_steps=SMALL["sample_steps"])
    a = loaded.sample(80, random_state=3)
    b = fitted.sample(80, random_state=3)
    assert list(a.columns) == list(b.columns)
    for c in a.columns:  # the file keeps values and levels; the pickle keeps dtypes too
        assert list(a[c].astype(str)) == list(b[c].astype(str)), c
    assert loaded.target_ == "outcome" and loaded.condition_ == "target"


def test_loss_values(fitted):
    lv = fitted.loss_values_
    assert list(lv.columns) == ["step", "loss"] and len(lv) > 0
    assert np.isfinite(lv["loss"]).all() and lv["step"].iloc[-1] <= SMALL["steps"]
    assert lv["loss"].iloc[-5:].mean() < lv["loss"].iloc[:5].mean()  # it learned something


def test_identifiers_left_empty():
    """A unique patient number is not modelled: synthetic rows leave it empty, never a real
    patient's number (issue 19's rule, in Python)."""
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame({"patient_id": rng.permutation(100000)[:n] + 1000,
                       "x": rng.normal(size=n), "y": rng.choice(["a", "b"], n, p=[0.8, 0.2])})
    syn = mcrage.Synthesizer(random_state=0, **SMALL).fit(df, target="y")
    assert "patient_id" in syn.identifiers_
    out = syn.sample(200)
    assert out["patient_id"].isna().all() and str(out["patient_id"].dtype) == "Int64"
    forced = mcrage.Synthesizer(random_state=0, **SMALL).fit(df, target="y",
                                                             features=["patient_id"])
    assert forced.identifiers_ == {} and forced.sample(20)["patient_id"].notna().all()


def test_equal_to_cli(cli, tmp_path):
    """Same data, settings and seed: the Python package writes the CLI's bytes."""
    data = tmp_path / "c.csv"
    subprocess.run([cli, "simulate", "--rows", "800", "--seed", "2", "-o", str(data)],
                   check=True, capture_output=True)
    args = ["--steps", "60", "--widths", "32,32", "--dim-t", "16", "--T", "100", "--batch",
            "256", "--seed", "7"]
    subprocess.run([cli, "fit", str(data), "--target", "outcome", "-q", "-o",
                    str(tmp_path / "m.mcrg"), *args], check=True, capture_output=True)
    subprocess.run([cli, "sample", str(tmp_path / "m.mcrg"), "--n", "300", "--sample-steps",
                    "10", "--seed", "7", "-o", str(tmp_path / "cli.csv")], check=True,
                   capture_output=True)
    df = mcrage.read_csv(data)
    syn = mcrage.Synthesizer(random_state=7, **SMALL).fit(df, target="outcome")
    mcrage.write_csv(syn.sample(300), tmp_path / "py.csv")
    assert (tmp_path / "py.csv").read_bytes() == (tmp_path / "cli.csv").read_bytes()
    # and the model files are the same bytes
    syn.save(tmp_path / "py.mcrg")
    assert (tmp_path / "py.mcrg").read_bytes() == (tmp_path / "m.mcrg").read_bytes()


def test_read_write_csv_round_trip(tmp_path):
    p = shared("stroke.csv")
    df = mcrage.read_csv(p, na_values=["", "N/A"])
    assert df["bmi"].dtype == np.float64 and df["bmi"].isna().sum() == 201
    assert df["gender"].dtype == "category" and df["id"].dtype == np.int64
    mcrage.write_csv(df, tmp_path / "s.csv")
    again = mcrage.read_csv(tmp_path / "s.csv")
    pd.testing.assert_frame_equal(again, df)
    # the same bytes as the CLI writes for that table (its own reader and writer)
    text = (tmp_path / "s.csv").read_text().splitlines()
    assert text[0] == p.read_text().splitlines()[0] and len(text) == len(df) + 1
