"""evaluation.py — mcrage.evaluate (the CLI's `evaluate` protocol) and mcrage.fidelity (its
`fidelity`), from DataFrames, with results as DataFrames and the same HTML report."""
import ctypes
import json
import os
import tempfile

from . import _config
from ._lib import MCR_AUG_NMETHODS, AssessConfig, EvalConfig, InvalidArgumentError, check, lib

MCR_AUG_MCRAGE_AUTO = 7
from ._table import to_table

try:
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None


def _command_line(fn, **kw):
    shown = ", ".join(f"{k}={v!r}" for k, v in kw.items() if v is not None)
    return f"mcrage.{fn}({shown})  # Python"


def _write_report(path, build):
    """build(&report) makes an mcr_report; it is written (atomically) to path and freed."""
    rep = ctypes.c_void_p()
    check(build(ctypes.byref(rep)))
    try:
        check(lib.mcr_report_write(rep, _config.fspath(path)))
    finally:
        lib.mcr_report_free(rep)


def _table_of(data, what):
    if pd is not None and isinstance(data, (str, os.PathLike)):
        raise InvalidArgumentError(f"{what}: give a DataFrame (read files with mcrage.read_csv)")
    table, _ = to_table(data)
    return table


class EvaluationResult:
    """What mcrage.evaluate returns.

    runs     one row per method x classifier x seed: every metric (accuracy, f1_macro,
             f1_minority, auroc, auprc, ..., worst_group_recall, eo_difference, ...)
    groups   one row per method x classifier x seed x group: the per-group metrics
    summary  one row per method x classifier: mean and 95% CI half-width over seeds
    paired   paired differences of each method against none and smote (mean, 95% CI)
    verdicts one row per classifier (and subject, mcrage / mcrage-auto): did it help (helped /
             no evidence / hurt / none) and the sentence that says by how much
    auto     mcrage-auto's grid per seed: share, strategy, guidance, CV mean and sd, chosen
    text     the CLI's printed table
    """

    def __init__(self, doc, text):
        self.json = doc
        self.text = text
        runs, groups = [], []
        for r in doc.get("runs", []):
            row = {k: v for k, v in r.items() if k != "groups"}
            runs.append(row)
            for g, m in (r.get("groups") or {}).items():
                groups.append({"method": r["method"], "classifier": r["classifier"],
                               "seed": r["seed"], "group": g, **m})
        self.runs = pd.DataFrame(runs)
        self.groups = pd.DataFrame(groups)
        self.summary = pd.DataFrame([_flatten(s, "mean", "ci95") for s in doc.get("summary", [])])
        self.paired = pd.DataFrame([_flatten(s, "mean_difference", "ci95")
                                    for s in doc.get("paired", [])])
        self.verdicts = pd.DataFrame(doc.get("verdicts", []))
        self.auto = pd.DataFrame([{"seed": a["seed"], **p, "chosen": p == a["choice"]["chosen"]}
                                  for a in doc.get("auto", []) for p in a["choice"]["grid"]])

    def __repr__(self):
        return self.text


def _flatten(entry, mean_key, ci_key):
    out = {}
    for k, v in entry.items():
        if isinstance(v, dict) and mean_key in v:
            out[k] = v[mean_key]
            out[k + "_ci95"] = v.get(ci_key)
        else:
            out[k] = v
    return out


def _parse_names(names, parse, out, what, known):
    """names -> their enum values in the C array `out` (through the library's parser)."""
    if len(names) > len(out):
        raise InvalidArgumentError(f"{what}s: at most {len(out)}, got {len(names)}")
    for i, name in enumerate(names):
        v = ctypes.c_int()
        if parse(str(name).encode(), ctypes.byref(v)) < 0:
            raise InvalidArgumentError(f"{what}s: unknown {what} '{name}' ({known})")
        out[i] = v.value
    return len(names)


def evaluate(data, target, *, sensitive=None, methods=("none", "ros", "smote", "mcrage"),
             classifiers=("logreg", "xgb"), seeds=5, random_state=1, test_size=0.3, test=None,
             group=None, positive=None, bands=None, thin=None, balanced=False, focal_gamma=0.0,
             threshold="0.5",
             strategy=None, optimize=None, folds=None, auto_classifier=None, ratio=None, synthetic_fraction=None, k_neighbors=None, drop=None,
             features=None, report=None, n_jobs=None, progress=None, **model):
    """Compare rebalancing methods x classifiers over seeds, per group (the CLI's `evaluate`):
    for each seed split the data (stratified, or by `group`), rebalance the training part with
    each method, train each classifier and score it on the untouched test part. `model`: the
    diffusion model's keywords (steps, widths, lr, ...; see Synthesizer; evaluate's default
    steps is 2000 as in the CLI). threshold="tuned": each run's decision threshold chosen by
    minority F1 on a stratified 20% of its training part (binary targets). strategy="auto" (or
    "mcrage-auto" in methods): mcrage whose share of synthetic rows (0 included), group policy
    and guidance are chosen by `folds`-fold CV inside each training part for `optimize`
    (minority-f1, worst-group-recall, auroc, balanced-accuracy) with `auto_classifier` (default
    the first classifier); the choices are in .auto. report: path of the HTML report. Returns an
    EvaluationResult (runs, groups, summary, paired as DataFrames; text)."""
    table = _table_of(data, "data")
    test_table = _table_of(test, "test") if test is not None else None
    ec = EvalConfig()
    lib.mcr_eval_config_default(ctypes.byref(ec))
    ec.target, ec.sensitive, ec.group = map(_config.cstr, (target, sensitive, group))
    ec.positive, ec.bands, ec.thin = map(_config.cstr, (positive, bands, thin))
    ec.test_frac, ec.seeds, ec.seed = float(test_size), int(seeds), _config.seed_of(random_state)
    ec.balanced, ec.focal_gamma = int(bool(balanced)), float(focal_gamma)
    if str(threshold) not in ("0.5", "tuned"):
        raise InvalidArgumentError(f"threshold must be '0.5' or 'tuned', got {threshold!r}")
    ec.tune_threshold = int(str(threshold) == "tuned")
    ec.nmethods = _parse_names(methods, lib.mcr_aug_method_parse, ec.methods, "method",
                               "none, ros, rus, smote, smote-nc, adasyn, mcrage, mcrage-auto, "
                               "mcrage-plausible, mcrage-boundary")
    ec.nclassifiers = _parse_names(classifiers, lib.mcr_clf_kind_parse, ec.classifiers,
                                   "classifier", "logreg, rf, xgb, mlp")
    ac = ec.aug
    if strategy == "auto":  # as the CLI: the method mcrage-auto beside the others
        if "mcrage-auto" not in methods:
            ec.methods[ec.nmethods] = MCR_AUG_MCRAGE_AUTO
            ec.nmethods += 1
    elif strategy is not None:
        ac.strategy = {"balance": 0, "ratio": 1, "group-balance": 2}.get(strategy, -1)
        if ac.strategy < 0:
            raise InvalidArgumentError(f"strategy must be balance, ratio, group-balance or auto, "
                                       f"got {strategy!r}")
    if optimize is not None:
        v = ctypes.c_int()
        if lib.mcr_auto_metric_parse(str(optimize).encode(), ctypes.byref(v)) < 0:
            raise InvalidArgumentError(f"optimize: unknown metric {optimize!r} (minority-f1, "
                                       "worst-group-recall, auroc, balanced-accuracy)")
        ac.optimize = v.value
    if folds is not None:
        if not 2 <= int(folds) <= 20:
            raise InvalidArgumentError(f"folds must be in 2..20, got {folds!r}")
        ac.folds = int(folds)
    if auto_classifier is not None:
        one = (ctypes.c_int * 1)()
        _parse_names([auto_classifier], lib.mcr_clf_kind_parse, one, "classifier", "logreg, rf, xgb, mlp")
        ac.auto_classifier = one[0]
    if ratio is not None:
        ac.strategy, ac.ratio = 1, float(ratio)
    if synthetic_fraction is not None:
        ac.synthetic_fraction = float(synthetic_fraction)
    if k_neighbors is not None:
        ac.k = int(k_neighbors)
    ac.drop = _config.cstr(drop)
    ac.fit.features = _config.cstr(features)
    unknown = set(model) - set(_config.FIT_KEYS) - set(_config.SAMPLE_KEYS) - {"widths"}
    if unknown:
        raise InvalidArgumentError(f"evaluate: unknown keyword(s) {', '.join(sorted(unknown))}")
    _config.fill_fit(ac.fit, model)
    _config.fill_sample(ac.sample, model)
    prog = _config.MsgProgress(progress)
    ec.progress = prog.cfunc
    out = ctypes.c_void_p()
    with _config.set_threads(n_jobs):
        check(lib.mcr_evaluate(table.handle, test_table.handle if test_table else None,
                               ctypes.byref(ec), ctypes.byref(out)))
    try:
        text = _config.capture(lib.mcr_eval_print, out)
        with tempfile.TemporaryDirectory(prefix="mcrage-") as d:
            path = os.path.join(d, "eval.json")
            check(lib.mcr_eval_write_json(out, path.encode()))
            with open(path) as f:
                doc = json.load(f)
        if report is not None:
            cmd = _command_line("evaluate", target=target, sensitive=sensitive,
                                methods=list(methods), classifiers=list(classifiers),
                                seeds=seeds, random_state=random_state)
            with _config.set_threads(n_jobs):
                _write_report(report, lambda rep: lib.mcr_report_evaluate(
                    out, table.handle, ctypes.byref(ec), cmd.encode(), prog.cfunc, None, rep))
    finally:
        lib.mcr_eval_free(out)
    return EvaluationResult(doc, text)


class FidelityResult:
    """What mcrage.fidelity returns.

    scores   one row per scope (all rows, each class, each group): column shapes, pair trends,
             detection AUROCs, exact-copy rate, DCR ratio, membership-inference AUROC, ...
    columns  per column of all rows: KS / TV statistic, score, missing rates
    utility  one row per classifier: TRTR and TSTR accuracy, macro F1, AUROC
    baseline one row per scope (with a holdout): shapes, pair trends and detection of the
             synthetic rows, of the synthetic rows at the holdout's size, of the real holdout
    json     everything, as `mcrage fidelity --json` writes it; text: the CLI's printout
    """

    def __init__(self, doc, text):
        self.json = doc
        self.text = text
        rows = []
        for s in doc.get("scopes", []):
            row = {}
            for k, v in s.items():
                if isinstance(v, dict):
                    row.update({f"{k}_{q}": x for q, x in v.items()})
                else:
                    row[k] = v
            rows.append(row)
        self.scores = pd.DataFrame(rows)
        self.columns = pd.DataFrame(doc.get("columns", []))
        self.minority_columns = pd.DataFrame(doc.get("minority_columns", []))
        util = []
        for c in (doc.get("utility") or {}).get("classifiers", []):
            row = {"classifier": c.get("classifier"), "test_rows": c.get("test_rows")}
            for side in ("trtr", "tstr"):
                for k in ("train_rows", "accuracy", "f1_macro", "auroc"):
                    row[f"{side}_{k}"] = (c.get(side) or {}).get(k)
            util.append(row)
        self.utility = pd.DataFrame(util)
        base = []
        for sc in (doc.get("baseline") or {}).get("scopes", []):
            row = {"kind": sc["kind"], "value": sc["value"]}
            for side in ("synthetic", "synthetic_at_holdout_size", "real_holdout"):
                for k, v in (sc.get(side) or {}).items():
                    row[f"{side}_{k}"] = v
            base.append(row)
        self.baseline = pd.DataFrame(base)

    def __getitem__(self, key):
        return self.json[key]

    def __repr__(self):
        return self.text


def fidelity(real, synthetic, *, target=None, sensitive=None, minority=None, holdout=None,
             drop=None, folds=5, max_rows=5000, detection=True, utility=True, privacy=True,
             baseline=True, random_state=1, report=None, n_jobs=None, progress=None):
    """How realistic, useful and private `synthetic` rows are against the `real` rows the
    generator was trained on (and, for the privacy baselines, `holdout` rows it never saw):
    the CLI's `fidelity`. Columns are matched by name, levels by spelling. Returns a
    FidelityResult (scores, columns, utility as DataFrames; json; text)."""
    rt, st = _table_of(real, "real"), _table_of(synthetic, "synthetic")
    ht = _table_of(holdout, "holdout") if holdout is not None else None
    c = AssessConfig()
    lib.mcr_assess_config_default(ctypes.byref(c))
    c.target, c.sensitive = _config.cstr(target), _config.cstr(sensitive)
    c.minority, c.drop = _config.cstr(minority), _config.cstr(drop)
    c.holdout = ht.handle if ht else None
    c.folds, c.max_rows = int(folds), int(max_rows)
    c.detection, c.utility, c.privacy = int(bool(detection)), int(bool(utility)), \
        int(bool(privacy))
    c.seed = _config.seed_of(random_state)
    c.baseline = int(bool(baseline))
    prog = _config.MsgProgress(progress)
    c.progress = prog.cfunc
    out = ctypes.c_void_p()
    with _config.set_threads(n_jobs):
        check(lib.mcr_assess(rt.handle, st.handle, ctypes.byref(c), ctypes.byref(out)))
    try:
        text = _config.capture(lib.mcr_assess_print, out)
        doc = json.loads(_config.capture(lib.mcr_assess_write_json, out))
        if report is not None:
            cmd = _command_line("fidelity", target=target, sensitive=sensitive)
            _write_report(report, lambda rep: lib.mcr_report_fidelity(
                rt.handle, st.handle, out, c.target, c.sensitive, cmd.encode(), rep))
    finally:
        lib.mcr_assess_free(out)
    return FidelityResult(doc, text)
