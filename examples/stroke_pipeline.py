#!/usr/bin/python3
"""The MCRAGE sampler where SMOTE sits today: an imbalanced-learn Pipeline inside
cross_val_score on the stroke table (4.9% positive), against the same pipeline without
rebalancing and with random over-sampling. Stratified 5-fold CV, seed 0; the sampler sees
only each training fold.

    /usr/bin/python3 examples/stroke_pipeline.py [../shared/datasets/stroke.csv]
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python"))
import mcrage  # noqa: E402  (first: see python/mcrage/_lib.py)

import numpy as np  # noqa: E402
from imblearn.pipeline import Pipeline  # noqa: E402
from sklearn.compose import ColumnTransformer, make_column_selector  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score, make_scorer  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_validate  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402

path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "shared", "datasets",
    "stroke.csv")
df = mcrage.read_csv(path, na_values=["", "N/A"])
X, y = df.drop(columns=["id", "stroke"]), df["stroke"].astype(str)
print(f"{path}: {len(df)} rows, {int((y == '1').sum())} strokes ({(y == '1').mean():.1%})")

prep = ColumnTransformer([
    ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
     make_column_selector(dtype_include="number")),
    ("cat", OneHotEncoder(handle_unknown="ignore"), make_column_selector(dtype_include="category")),
])
samplers = {
    "none": None,
    "ros (mcrage)": mcrage.RandomOverSampler(random_state=0),
    "mcrage": mcrage.MCRAGESampler(random_state=0, steps=1500, widths=(256, 256), batch=512),
}
cv = StratifiedKFold(5, shuffle=True, random_state=0)
scoring = {"f1": make_scorer(f1_score, pos_label="1"), "auroc": "roc_auc"}
print(f"{'sampler':<14} {'minority F1':>18} {'AUROC':>18}")
for name, sampler in samplers.items():
    steps = ([("rebalance", sampler)] if sampler is not None else []) + \
        [("prep", prep), ("clf", LogisticRegression(max_iter=2000))]
    res = cross_validate(Pipeline(steps), X, y, cv=cv, scoring=scoring)
    f1, auc = res["test_f1"], res["test_auroc"]
    half = lambda v: 2.776 * v.std(ddof=1) / np.sqrt(len(v))  # noqa: E731  t(0.975, 4)
    print(f"{name:<14} {f1.mean():.3f} +- {half(f1):.3f}    {auc.mean():.3f} +- {half(auc):.3f}",
          flush=True)
