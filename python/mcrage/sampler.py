"""sampler.py — imbalanced-learn over-samplers over the library's rebalancing (mcr_augment_run):
MCRAGESampler (the diffusion model) and SMOTE / RandomOverSampler / ADASYN (the classical ones,
in C). `sampling_strategy` means exactly what it means in imbalanced-learn: imbalanced-learn
turns it into rows to add per class (sampling_strategy_), and the library adds exactly those."""
import ctypes

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from sklearn.utils import check_consistent_length

from . import _config
from ._lib import AugmentConfig, AugmentResult, InvalidArgumentError, lib
from ._table import Table, from_table, to_table

try:
    import pandas as pd
except ImportError:  # pragma: no cover
    pd = None
try:
    from scipy import sparse
except ImportError:  # pragma: no cover
    sparse = None

MCR_STRAT_COUNTS = 3
_METHODS = {"ros": 1, "smote": 3, "smote-nc": 4, "adasyn": 5, "mcrage": 6, "mcrage-plausible": 8,
            "mcrage-boundary": 9}
_SELECT = (None, "plausible", "boundary")
TARGET = "__mcrage_y__"  # the class column's name inside the library's table


class _LibrarySampler(BaseOverSampler):
    """Shared machinery: X (array, DataFrame, sparse, list) + y -> a table with a class column,
    mcr_augment_run with strategy counts, the synthetic rows back in X's type."""

    _method = None
    # the over-sampler's constraint on sampling_strategy is imbalanced-learn's own
    _parameter_constraints = dict(BaseOverSampler._parameter_constraints)

    def _check_X_y(self, X, y, accept_sparse=None):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        if pd is not None and isinstance(X, pd.DataFrame):
            # kept as a DataFrame: categorical and string columns go to the library as levels
            check_consistent_length(X, y)
            self._check_n_features(X, reset=True)
            self._check_feature_names(X, reset=True)
            return X, np.asarray(y), binarize_y
        X, y = self._validate_data(X, y, reset=True, accept_sparse=["csr", "csc"], dtype=None,
                                   force_all_finite=False)
        if X.dtype.kind not in "fiubOUS":
            raise InvalidArgumentError(f"X of dtype {X.dtype} is not supported")
        return X, y, binarize_y

    def _more_tags(self):
        return {"X_types": ["2darray", "sparse", "dataframe", "string"], "allow_nan": True}

    def _configure(self, ac):
        """Method-specific settings of the augment config."""

    def _method_name(self):
        return self._method

    def _fit_resample(self, X, y):
        fmt = None
        if sparse is not None and sparse.issparse(X):
            fmt = X.format
            X = X.toarray()
        classes, y_idx = np.unique(y, return_inverse=True)
        add = {k: int(self.sampling_strategy_.get(c, 0)) for k, c in enumerate(classes)}
        if not any(add.values()):
            return (sparse.csr_matrix(X).asformat(fmt) if fmt else X), y
        levels = [str(k) for k in range(len(classes))]
        y_codes = y_idx.astype(np.int32)
        table, schema = to_table(X, extra=[])
        table.add_categorical(TARGET, y_codes, levels)
        ac = AugmentConfig()
        lib.mcr_augment_config_default(ctypes.byref(ac))
        ac.target = TARGET.encode()
        ac.method = _METHODS[self._method_name()]
        ac.strategy = MCR_STRAT_COUNTS
        counts = ",".join(f"{k}={n}" for k, n in add.items() if n > 0)
        ac.counts = counts.encode()
        ac.seed = _config.seed_of(self.random_state)
        ac.synthetic_only = 1  # X's rows are kept here as they came in
        # every column of X is a feature, identifier-like or not: a sampler returns rows as
        # wide as X, with values in every column
        names = [str(c) for c in X.columns] if schema.frame else schema.names()
        features = ",".join(names).encode()
        ac.fit.features = features
        self._configure(ac)
        res = ctypes.POINTER(AugmentResult)()
        prog = _config.FitProgress(getattr(self, "progress", None))
        if self._method == "mcrage":
            prog.install(ac.fit)
        with _config.set_threads(self.n_jobs):
            prog.run(lambda: lib.mcr_augment_run(table.handle, None, 0, ctypes.byref(ac),
                                                 ctypes.byref(res)))
        try:
            r = res.contents
            syn = Table(r.table)
            r.table = None  # owned by `syn` now
            nsynth = r.nsynth
        finally:
            lib.mcr_augment_result_free(res)
        tail = None
        if not schema.frame:  # the result allocated once, the new rows written into its tail
            X_res = np.empty((len(X) + nsynth, X.shape[1]), dtype=X.dtype)
            tail = X_res[len(X):]
        X_new = from_table(syn, schema, out=tail)
        y_new = classes[syn.codes(syn.find(TARGET)).astype(np.int64)]
        if schema.frame:
            X_new.index = pd.RangeIndex(len(X), len(X) + nsynth)
            X_res = pd.concat([X, X_new], axis=0)
            if not isinstance(X.index, pd.RangeIndex):
                X_res = X_res.reset_index(drop=True)
            X_res = X_res.astype(X.dtypes.to_dict())
        else:
            X_res[:len(X)] = X
            if X_new is not tail:
                tail[...] = X_new
            if fmt:
                X_res = sparse.csr_matrix(X_res).asformat(fmt)
        y_res = np.concatenate([np.asarray(y), y_new.astype(np.asarray(y).dtype, copy=False)])
        return X_res, y_res


class MCRAGESampler(_LibrarySampler):
    """Over-sample with synthetic rows from a conditional diffusion model (MCRAGE).

    An imbalanced-learn sampler: ``fit_resample(X, y)`` returns X and y with the rows asked
    by ``sampling_strategy`` (str, float, dict or callable, as in imbalanced-learn) added; X
    may be a numpy array (float, int, bool, str/object columns; NaN missing), a sparse matrix or
    a DataFrame (numeric, categorical and string columns; the result keeps its dtypes and
    categories). The model is trained on all of X's columns (as features: a sampler keeps X's
    width) conditioned on y. Other keywords are the diffusion model's (see
    mcrage.Synthesizer); None keeps the library's default. random_state: an int makes the
    result reproducible (same thread count); n_jobs: threads (None: all cores); progress:
    f(step, steps, loss), True stops the fit. select: None (every sampled row kept), "plausible"
    (select_pool candidates sampled per new row, the ones with the lowest denoising loss under
    the model kept) or "boundary" (the candidates a class-weighted logistic regression on X puts
    nearest the class boundary kept); select_pool: candidates per new row, 1..20 (None: 2).
    Measured on the shared tables (doc/issue18_matrix.md) plain sampling does better than
    either selection; they are here to be tried on other data.
    """

    _method = "mcrage"

    def __init__(self, *, sampling_strategy="auto", random_state=None, n_jobs=None, steps=None,
                 batch=None, lr=None, weight_decay=None, widths=None, dim_t=None, act=None,
                 dropout=None, T=None, schedule=None, p_uncond=None, ema_decay=None,
                 numeric_transform=None, categorical_mode=None, guidance=None, sampler=None,
                 sample_steps=None, eta=None, keep_copies=False, progress=None, select=None,
                 select_pool=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.steps, self.batch, self.lr, self.weight_decay = steps, batch, lr, weight_decay
        self.widths, self.dim_t, self.act, self.dropout = widths, dim_t, act, dropout
        self.T, self.schedule, self.p_uncond, self.ema_decay = T, schedule, p_uncond, ema_decay
        self.numeric_transform, self.categorical_mode = numeric_transform, categorical_mode
        self.guidance, self.sampler, self.sample_steps, self.eta = guidance, sampler, \
            sample_steps, eta
        self.keep_copies = keep_copies
        self.progress = progress
        self.select, self.select_pool = select, select_pool

    def _method_name(self):
        if self.select not in _SELECT:
            raise InvalidArgumentError(f"select: expected None, 'plausible' or 'boundary', got {self.select!r}")
        return "mcrage" if self.select is None else "mcrage-" + self.select

    def _configure(self, ac):
        params = self.get_params()
        _config.fill_fit(ac.fit, params)
        _config.fill_sample(ac.sample, params)
        ac.fit.seed = ac.sample.seed = ac.seed
        ac.keep_copies = int(bool(self.keep_copies))
        if self.select_pool is not None:
            ac.select_pool = float(self.select_pool)  # the library checks 1..20
        ac.dcr_check = 0  # the privacy check is for shared tables: `mcrage augment`, fidelity


class _Classical(_LibrarySampler):
    def __init__(self, *, sampling_strategy="auto", random_state=None, k_neighbors=5,
                 n_jobs=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors
        self.n_jobs = n_jobs

    def _configure(self, ac):
        if not isinstance(self.k_neighbors, int) or not 1 <= self.k_neighbors <= 50:
            raise InvalidArgumentError(f"k_neighbors must be an int in 1..50, "
                                       f"got {self.k_neighbors!r}")
        ac.k = self.k_neighbors


class SMOTE(_Classical):
    """SMOTE in C (mcrage's): new minority rows on segments between a row and one of its
    k_neighbors nearest same-class rows (exact neighbours by BLAS; numerics standardised,
    categorical columns voted as in SMOTE-NC)."""

    _method = "smote"


class ADASYN(_Classical):
    """ADASYN in C: SMOTE with more new rows where a class's rows have more neighbours of
    other classes."""

    _method = "adasyn"


class RandomOverSampler(_Classical):
    """Random over-sampling in C: copies of randomly chosen rows of each class."""

    _method = "ros"
