"""The samplers: imbalanced-learn's own estimator checks, every sampling_strategy form, DataFrame
in -> DataFrame out, a Pipeline inside cross_val_score."""
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import RandomOverSampler as ImbROS
from imblearn.pipeline import Pipeline
from imblearn.utils.estimator_checks import parametrize_with_checks
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.preprocessing import StandardScaler

import mcrage
from conftest import SMALL


@parametrize_with_checks([
    mcrage.MCRAGESampler(random_state=0, **SMALL),
    mcrage.SMOTE(random_state=0),
    mcrage.ADASYN(random_state=0),
    mcrage.RandomOverSampler(random_state=0),
])
def test_imblearn_checks(estimator, check):
    check(estimator)


def _data():
    X, y = make_classification(n_samples=600, n_classes=3, n_informative=4,
                               weights=[0.15, 0.25, 0.6], random_state=1)
    return X, y


STRATEGIES = ["auto", "not minority", "not majority", "all",
              {0: 300, 1: 200}, lambda y: {0: 250}]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: repr(s)[:20])
@pytest.mark.parametrize("cls", [mcrage.SMOTE, mcrage.MCRAGESampler])
def test_sampling_strategy_forms(cls, strategy):
    """Every form means what it means in imbalanced-learn: the class counts equal those of
    imbalanced-learn's RandomOverSampler with the same strategy."""
    X, y = _data()
    kw = SMALL if cls is mcrage.MCRAGESampler else {}
    _, y_ours = cls(sampling_strategy=strategy, random_state=0, **kw).fit_resample(X, y)
    _, y_ref = ImbROS(sampling_strategy=strategy, random_state=0).fit_resample(X, y)
    assert Counter(y_ours) == Counter(y_ref)


@pytest.mark.parametrize("strategy", ["minority", "majority", 1.5, {0: 10}, "nonsense"])
def test_sampling_strategy_refused_as_imblearn_refuses(strategy):
    X, y = _data()
    with pytest.raises(ValueError) as ref:
        ImbROS(sampling_strategy=strategy).fit_resample(X, y)
    with pytest.raises(ValueError) as ours:
        mcrage.SMOTE(sampling_strategy=strategy).fit_resample(X, y)
    assert type(ours.value) is type(ref.value) and str(ours.value) == \
        str(ref.value).replace("RandomOverSampler", "SMOTE")


def test_float_strategy_binary():
    X, y = make_classification(n_samples=500, weights=[0.9, 0.1], random_state=2)
    for cls, kw in ((mcrage.SMOTE, {}), (mcrage.MCRAGESampler, SMALL)):
        _, y_res = cls(sampling_strategy=0.5, random_state=0, **kw).fit_resample(X, y)
        c = Counter(y_res)
        assert c[1] == int(np.ceil(0.5 * c[0])) or c[1] == int(0.5 * c[0])
        _, y_ref = ImbROS(sampling_strategy=0.5).fit_resample(X, y)
        assert Counter(y_ref) == c


def test_real_rows_first_and_unchanged():
    X, y = _data()
    X_res, y_res = mcrage.MCRAGESampler(random_state=0, **SMALL).fit_resample(X, y)
    assert np.array_equal(X_res[:len(X)], X) and np.array_equal(y_res[:len(y)], y)
    added = X_res[len(X):]
    assert np.isfinite(added).all()
    # synthetic rows are new rows, not copies of real ones
    real = {tuple(r) for r in X}
    assert not any(tuple(r) in real for r in added)


def test_dataframe_mixed_types_kept():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({
        "age": rng.integers(18, 90, n),
        "bmi": rng.normal(27, 4, n).astype(np.float32),
        "sex": pd.Categorical(rng.choice(["F", "M"], n), categories=["M", "F"]),
        "smoking": rng.choice(["never", "former", "current", None], n),
        "lab": np.where(rng.random(n) < 0.2, np.nan, rng.normal(1, 0.3, n)),
        "flag": rng.random(n) < 0.3,
    })
    y = pd.Series(np.where(rng.random(n) < 0.1, "stroke", "none"), name="outcome")
    X_res, y_res = mcrage.MCRAGESampler(random_state=0, **SMALL).fit_resample(df, y)
    assert isinstance(X_res, pd.DataFrame) and isinstance(y_res, pd.Series)
    assert list(X_res.columns) == list(df.columns) and y_res.name == "outcome"
    assert (X_res.dtypes == df.dtypes).all(), (X_res.dtypes, df.dtypes)
    assert list(X_res["sex"].cat.categories) == ["M", "F"]
    assert set(X_res["smoking"].dropna()) <= {"never", "former", "current"}
    assert y_res.value_counts()["stroke"] == y_res.value_counts()["none"]
    syn = X_res.iloc[len(df):]
    assert syn["lab"].isna().any() and syn["lab"].notna().any()  # missingness modelled
    assert syn["age"].between(18, 89).all()


def test_pipeline_cross_val_score():
    X, y = make_classification(n_samples=600, weights=[0.9, 0.1], random_state=3)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("rebalance", mcrage.MCRAGESampler(random_state=0, **SMALL)),
                     ("clf", LogisticRegression(max_iter=500))])
    scores = cross_val_score(pipe, X, y, cv=3, scoring="f1")
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_same_seed_same_rows_other_seed_other_rows():
    X, y = _data()
    a = mcrage.MCRAGESampler(random_state=5, **SMALL).fit_resample(X, y)[0]
    b = mcrage.MCRAGESampler(random_state=5, **SMALL).fit_resample(X, y)[0]
    c = mcrage.MCRAGESampler(random_state=6, **SMALL).fit_resample(X, y)[0]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    s1 = mcrage.SMOTE(random_state=5).fit_resample(X, y)[0]
    s2 = mcrage.SMOTE(random_state=5).fit_resample(X, y)[0]
    assert np.array_equal(s1, s2)


def test_smote_points_on_segments():
    """Each SMOTE row lies on a segment between two real rows of its class (closed form: the
    residual of the best convex combination of two same-class rows is ~0)."""
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(4, 1, (20, 2))])
    y = np.array([0] * 200 + [1] * 20)
    X_res, y_res = mcrage.SMOTE(random_state=0, k_neighbors=3).fit_resample(X, y)
    minority = X[y == 1]
    for p in X_res[len(X):]:
        best = np.inf
        for i in range(len(minority)):
            d = minority - minority[i]
            num = ((p - minority[i]) * d).sum(1)
            den = (d * d).sum(1)
            lam = np.clip(np.divide(num, den, out=np.zeros_like(num), where=den > 0), 0, 1)
            res = np.linalg.norm(minority[i] + lam[:, None] * d - p, axis=1)
            best = min(best, res.min())
        assert best < 1e-6


def test_identifier_like_columns_still_filled():
    """X's columns are all features for a sampler: an integer column unique per row (which
    `mcrage augment` would leave empty in new rows) gets values, for every method."""
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.permutation(10000)[:300] + 100, rng.normal(size=300)]).astype(np.int64)
    y = np.array([0] * 270 + [1] * 30)
    for cls, kw in ((mcrage.SMOTE, {}), (mcrage.RandomOverSampler, {}), (mcrage.MCRAGESampler, SMALL)):
        X_res, _ = cls(random_state=0, **kw).fit_resample(X, y)
        assert X_res.shape == (540, 2) and X_res.dtype == np.int64


def test_selections():
    """select='boundary' keeps the candidates nearest a class-weighted logistic boundary (so
    its new rows sit nearer sklearn's own boundary than plain sampling's), 'plausible' keeps the
    asked counts and other rows; bad settings are refused with the setting's name."""
    X, y = make_classification(n_samples=500, n_features=6, n_informative=4, weights=[0.85, 0.15],
                               class_sep=1.5, random_state=3)
    ref = LogisticRegression(class_weight="balanced", max_iter=1000).fit(StandardScaler().fit_transform(X), y)
    sc = StandardScaler().fit(X)
    out = {}
    for sel in (None, "plausible", "boundary"):
        X_res, y_res = mcrage.MCRAGESampler(random_state=0, select=sel, select_pool=3, **SMALL).fit_resample(X, y)
        assert Counter(y_res) == Counter({0: (y == 0).sum(), 1: (y == 0).sum()})
        out[sel] = X_res[len(X):]
    dist = {k: np.abs(ref.decision_function(sc.transform(v))).mean() for k, v in out.items()}
    assert dist["boundary"] < 0.8 * dist[None], dist
    assert not np.array_equal(out["plausible"], out[None])
    X2, y2 = _data()
    with pytest.raises(mcrage.InvalidArgumentError, match="select"):
        mcrage.MCRAGESampler(select="nearest", **SMALL).fit_resample(X2, y2)
    with pytest.raises(mcrage.InvalidArgumentError, match="select_pool"):
        mcrage.MCRAGESampler(select="plausible", select_pool=25, **SMALL).fit_resample(X2, y2)
