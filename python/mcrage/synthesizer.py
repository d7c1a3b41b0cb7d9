"""synthesizer.py — mcrage.Synthesizer: fit the conditional diffusion model on a DataFrame, sample
rows with exact per-class / per-group counts, save / load / pickle."""
import ctypes
import os
import tempfile

import numpy as np

from . import _config
from ._lib import InvalidArgumentError, check, lib
from ._table import Table, from_table, spelling, to_table

try:
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None


class Model:
    """Owns an mcr_model handle."""

    def __init__(self, handle):
        self.handle = handle

    def __del__(self):
        h, self.handle = getattr(self, "handle", None), None
        if h:
            lib.mcr_model_free(h)

    def to_bytes(self):
        with tempfile.TemporaryDirectory(prefix="mcrage-") as d:
            path = os.path.join(d, "model.mcrg")
            check(lib.mcr_model_save(self.handle, path.encode()))
            with open(path, "rb") as f:
                return f.read()

    @classmethod
    def from_bytes(cls, data, name="<bytes>"):
        out = ctypes.c_void_p()
        check(lib.mcr_model_load_mem(data, len(data), name.encode(), ctypes.byref(out)))
        return cls(out.value)

    @classmethod
    def load(cls, path):
        out = ctypes.c_void_p()
        check(lib.mcr_model_load(_config.fspath(path), ctypes.byref(out)))
        return cls(out.value)

    def conditions(self):
        return [lib.mcr_model_cond_name(self.handle, c).decode()
                for c in range(lib.mcr_model_ncond(self.handle))]

    def loss_curve(self):
        n, every = ctypes.c_int(), ctypes.c_int()
        p = lib.mcr_model_loss_curve(self.handle, ctypes.byref(n), ctypes.byref(every))
        vals = np.ctypeslib.as_array(p, shape=(n.value,)).copy() if n.value else np.empty(0)
        return vals, every.value

    def sample(self, counts, sc):
        arr = (ctypes.c_size_t * len(counts))(*counts)
        out = ctypes.c_void_p()
        check(lib.mcr_model_sample(self.handle, arr, ctypes.byref(sc), ctypes.byref(out)))
        return Table(out.value)


class Synthesizer:
    """A conditional denoising diffusion model of a table (MCRAGE's CDDPM).

    >>> syn = mcrage.Synthesizer(steps=2000, random_state=0).fit(df, target="outcome")
    >>> syn.sample(500, conditions={"outcome": 1})        # 500 rows of class 1
    >>> syn.sample(conditions={"outcome": {0: 10, 1: 90}}) # exact counts per class

    Keywords are the CLI's options (`mcrage fit --help`), None keeping its default: steps,
    batch, lr, weight_decay, warmup, grad_clip, widths, dim_t, act, dropout, T, schedule,
    p_uncond, ema_decay, numeric_transform, categorical_mode, min_level_count; for sampling: guidance,
    sampler, sample_steps, eta, chunk. condition: "target" (default), "sensitive" or "both".
    random_state: an int gives the CLI's `--seed` (fit and first sample identical to
    `mcrage fit` + `mcrage sample` with that seed and the same thread count).
    n_jobs: threads (None: all cores). progress: f(step, steps, loss) called during fit;
    returning True stops the fit (CancelledError). Ctrl-C stops a fit cleanly.

    Identifier-like columns (a unique record number, *_id, mrn, ...) are not modelled; synthetic
    rows leave them empty (`identifiers_` lists them); `features=[...]` forces some back in.
    """

    def __init__(self, *, condition=None, random_state=None, n_jobs=None, progress=None,
                 steps=None, batch=None, lr=None, weight_decay=None, warmup=None, grad_clip=None,
                 widths=None, dim_t=None, act=None, dropout=None, T=None, schedule=None,
                 p_uncond=None, ema_decay=None, numeric_transform=None, categorical_mode=None,
                 min_level_count=None, guidance=None, sampler=None, sample_steps=None, eta=None,
                 chunk=None):
        self.params = {k: v for k, v in locals().items() if k not in ("self", "progress")}
        self.progress = progress
        self._model = None
        self._schema = None

    # ---- fitting
    def fit(self, data, target, sensitive=None, drop=None, features=None):
        """Fit on a DataFrame (or a 2-D array with column names x0, x1, ...). target: the class
        column to condition on; sensitive: a group column (condition "sensitive"/"both")."""
        if pd is not None and not isinstance(data, pd.DataFrame):
            data = pd.DataFrame(np.asarray(data), columns=None)
            data.columns = [f"x{j}" for j in range(data.shape[1])]
        names = [str(c) for c in data.columns]
        for role, col in (("target", target), ("sensitive", sensitive)):
            if col is not None and str(col) not in names:
                raise InvalidArgumentError(f"{role}: no column '{col}' in the data "
                                           f"(columns: {', '.join(names)})")
        table, schema = to_table(data)
        fc = _config.fit_config(self.params)
        fc.target, fc.sensitive = _config.cstr(target), _config.cstr(sensitive)
        fc.drop, fc.features = _config.cstr(drop), _config.cstr(features)
        fc.seed = self._seed = _config.seed_of(self.params["random_state"])
        reason = (ctypes.c_int * max(table.ncols, 1))()
        check(lib.mcr_fit_identifiers(table.handle, ctypes.byref(fc), reason))
        ids = {schema.columns[j].label: lib.mcr_identifier_reason(reason[j]).decode()
               for j in range(table.ncols) if reason[j]}
        prog = _config.FitProgress(self.progress)
        prog.install(fc)
        out = ctypes.c_void_p()
        with _config.set_threads(self.params["n_jobs"]):
            prog.run(lambda: lib.mcr_model_fit(table.handle, None, 0, ctypes.byref(fc),
                                               ctypes.byref(out)))
        self._model = Model(out.value)
        self._schema = schema
        self.condition_, self.target_, self.sensitive_ = _roles_of_model(self._model)
        self.identifiers_ = ids
        self._calls = 0
        return self

    # ---- sampling
    def _need(self):
        if self._model is None:
            raise InvalidArgumentError("this Synthesizer is not fitted yet: call fit() first")

    def _col(self, name):
        for c in self._schema.columns:
            if c.label == name or c.name == str(name):
                return c
        raise InvalidArgumentError(f"conditions: no column '{name}' in the fitted data")

    def conditions_(self):
        """The model's condition values as the library spells them ("1", or "F|1" for both)."""
        self._need()
        return self._model.conditions()

    def _counts(self, n, conditions):
        m = self._model.handle
        K = lib.mcr_model_ncond(m)
        counts = (ctypes.c_size_t * K)()
        if not conditions:
            if n is None:
                raise InvalidArgumentError("sample: give n, or conditions with counts")
            check(lib.mcr_sample_counts(m, None, None, int(n), counts))
            return list(counts)
        mode = self.condition_
        needed = {"target": [self.target_], "sensitive": [self.sensitive_],
                  "both": [self.target_, self.sensitive_]}[mode]  # "in|F": target|sensitive
        roles = needed
        for key in conditions:
            if self._col(key).label not in roles and self._col(key).name not in map(str, roles):
                raise InvalidArgumentError(f"conditions: the model is conditioned on "
                                           f"{' and '.join(map(str, needed))}, not '{key}'")
        given = {str(self._col(k).name): v for k, v in conditions.items()}
        missing = [c for c in needed if str(c) not in given]
        if missing:
            raise InvalidArgumentError(f"conditions: give a value of {', '.join(map(str, missing))}"
                                       f" too (the model is conditioned on {mode})")
        # one column may carry a {value: count} dict; the others are single values
        dicts = [k for k, v in given.items() if isinstance(v, dict)]
        if len(dicts) > 1:
            raise InvalidArgumentError("conditions: counts ({value: n}) for one column only")
        if dicts:
            key = dicts[0]
            combos = list(given[key].items())
            if n is not None and sum(combos_n for _, combos_n in combos) != n:
                raise InvalidArgumentError(f"conditions: counts sum to "
                                           f"{sum(c for _, c in combos)}, not n = {n}")
        else:
            if n is None:
                raise InvalidArgumentError("sample: give n with single-valued conditions")
            key, combos = None, [(None, int(n))]
        for value, cnt in combos:
            parts = []
            for c in needed:
                v = value if str(c) == key else given[str(c)]
                parts.append(spelling(self._col(c), v))
            name = "|".join(parts)
            k = lib.mcr_model_cond_find(m, name.encode())
            if k < 0:
                raise InvalidArgumentError(f"conditions: the model has no condition '{name}' "
                                           f"(it has {', '.join(self._model.conditions())})")
            if int(cnt) < 0:
                raise InvalidArgumentError(f"conditions: negative count {cnt} for '{name}'")
            counts[k] += int(cnt)
        return list(counts)

    def sample(self, n=None, conditions=None, random_state=None):
        """n rows (split like the training classes), or rows matching `conditions`:
        {column: value} (n rows of that class / group) or {column: {value: count, ...}}
        (exact counts; n optional). The k-th call without random_state uses seed + k, so the
        first call equals `mcrage sample --seed S` and later calls give new rows
        (reset_sampling() starts over). Returns the input's type with its dtypes."""
        self._need()
        counts = self._counts(n, conditions)
        sc = _config.sample_config(self.params)
        if random_state is not None:
            sc.seed = _config.seed_of(random_state)
        else:
            sc.seed = (self._seed + self._calls) & (2**64 - 1)
            self._calls += 1
        with _config.set_threads(self.params["n_jobs"]):
            table = self._model.sample(counts, sc)
        return from_table(table, self._schema)

    def reset_sampling(self):
        self._calls = 0

    @property
    def loss_values_(self):
        """Training loss per window of steps: a DataFrame (step, loss)."""
        self._need()
        vals, every = self._model.loss_curve()
        steps = (np.arange(len(vals)) + 1) * every
        if pd is None:
            return np.column_stack([steps, vals])
        return pd.DataFrame({"step": steps, "loss": vals.astype(np.float64)})

    # ---- persistence
    def save(self, path):
        """The model file (the CLI's format: `mcrage sample` reads it) plus, beside it, nothing:
        column dtypes are kept only by pickling the Synthesizer."""
        self._need()
        check(lib.mcr_model_save(self._model.handle, _config.fspath(path)))

    @classmethod
    def load(cls, path, **params):
        """A Synthesizer over a model file written by save() or `mcrage fit`; sampled rows come
        back as a DataFrame of the file's columns (numbers as float64 / int64, levels as
        categoricals)."""
        self = cls(**params)
        self._model = Model.load(path)
        self._schema = _schema_of_model(self._model)
        self.condition_, self.target_, self.sensitive_ = _roles_of_model(self._model)
        self.identifiers_ = {}
        self._seed = _config.seed_of(self.params["random_state"] if self.params["random_state"]
                                     is not None else 1)
        self._calls = 0
        return self

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_model"] = self._model.to_bytes() if self._model is not None else None
        state["progress"] = None
        return state

    def __setstate__(self, state):
        blob = state.pop("_model")
        self.__dict__.update(state)
        self._model = Model.from_bytes(blob, "<pickle>") if blob is not None else None

    def __repr__(self):
        shown = {k: v for k, v in self.params.items() if v is not None}
        return "Synthesizer(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"


def _schema_of_model(model):
    """The schema of a loaded model's table (from an empty sample)."""
    from ._table import Column, Schema, MCR_COL_CATEGORICAL, MCR_COL_INTEGER
    sc = _config.sample_config({})
    empty = model.sample([0] * len(model.conditions()), sc)
    cols = []
    for j, name in enumerate(empty.names()):
        t = empty.coltype(j)
        if t == MCR_COL_CATEGORICAL:
            levels = empty.levels(j)
            cols.append(Column(name, name, "category", None, levels))
        elif t == MCR_COL_INTEGER:
            cols.append(Column(name, name, "int", np.dtype(np.int64), integer=True, decimals=0))
        else:
            cols.append(Column(name, name, "float", np.dtype(np.float64)))
    return Schema(cols, pd is not None)


def _roles_of_model(model):
    """(condition, target, sensitive) of a model."""
    t, g = ctypes.c_char_p(), ctypes.c_char_p()
    cond = lib.mcr_model_condition(model.handle, ctypes.byref(t), ctypes.byref(g))
    return ({0: "target", 1: "sensitive", 2: "both"}[cond],
            t.value.decode() if t.value else None, g.value.decode() if g.value else None)
