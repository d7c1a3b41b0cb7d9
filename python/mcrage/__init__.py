"""mcrage — Minority Class Rebalancing through Augmentation by Generative modelling, in Python.

A pure-Python package (ctypes) over libmcrage.so:

    import mcrage
    df = mcrage.simulate(rows=5000)                       # the built-in cohort
    X_res, y_res = mcrage.MCRAGESampler(random_state=0).fit_resample(
        df.drop(columns="outcome"), df["outcome"])        # an imbalanced-learn sampler

    mcrage.Synthesizer(...).fit(df, target="outcome").sample(100, conditions={"outcome": 1})
    mcrage.evaluate(df, target="outcome", sensitive="race")   # the CLI's evaluate
    mcrage.fidelity(real, synthetic, target="outcome")        # the CLI's fidelity

The library is found through MCRAGE_LIB, beside this package, in the build tree
(build/rel/libmcrage.so) or on the system. Errors are MCRAGEError subclasses (also ValueError,
OSError, MemoryError, ... as fits) carrying the library's message.
"""
import ctypes

# first: libmcrage and the OpenBLAS build it is linked with (OpenMP), before numpy loads
# another one under the same soname (see _lib._blas_check)
from ._lib import lib  # noqa: I001
from . import _config
from ._lib import (CancelledError, CorruptModelError, FileError, InternalError,
                   InvalidArgumentError, MCRAGEError, NumericalError, OutOfMemoryError,
                   ParseError, CsvOptions, SimConfig, check, lib)
from ._table import Table, from_table, to_table

__version__ = "0.1.0"
__all__ = ["MCRAGESampler", "SMOTE", "ADASYN", "RandomOverSampler", "Synthesizer", "evaluate",
           "fidelity", "read_csv", "write_csv", "simulate", "library_version", "library_path",
           "blas_info",
           "MCRAGEError", "InvalidArgumentError", "ParseError", "FileError", "OutOfMemoryError",
           "CorruptModelError", "NumericalError", "InternalError", "CancelledError"]


def library_version():
    """The loaded libmcrage's version."""
    return lib.mcr_version().decode()


def blas_info():
    """(kernel, threading) of the OpenBLAS libmcrage runs on, e.g. ("SkylakeX", "openmp")."""
    from ._lib import blas_info as info
    return info()


def library_path():
    """The file libmcrage was loaded from."""
    return lib._mcrage_path


def _frame_of(table):
    """A DataFrame of a library table: numeric columns float64 (integer columns int64 when
    complete), categorical columns pandas categoricals in the library's level order; the
    library's column kinds and written precision kept in df.attrs["mcrage"], so that the frame
    goes back to the library (fit, write_csv) as the same table."""
    import numpy as np
    import pandas as pd
    data, hints = {}, {}
    for j, name in enumerate(table.names()):
        kind = table.coltype(j)
        if kind == 2:
            levels = table.levels(j)
            data[name] = pd.Categorical.from_codes(table.codes(j), categories=levels)
            continue
        v = table.numeric(j)
        dec = lib.mcr_table_decimals(table.handle, j)
        hints[name] = {"integer": kind == 1, "decimals": dec}
        if kind == 1 and not np.isnan(v).any() and np.all(np.abs(v) < 2**53):
            data[name] = v.astype(np.int64)
        else:
            data[name] = v
    df = pd.DataFrame(data, columns=table.names())
    df.attrs["mcrage"] = hints
    return df


def read_csv(path, *, sep=None, na_values=None, categorical=None, numeric=None, drop=None,
             max_levels=0):
    """Read a CSV file with the library's reader (the CLI's types, levels and precision), as a
    DataFrame. Errors name file:line:col (ParseError)."""
    opt = CsvOptions()
    lib.mcr_csv_options_default(ctypes.byref(opt))
    if sep is not None:
        if len(sep) != 1:
            raise InvalidArgumentError(f"sep must be one character, got {sep!r}")
        opt.sep = sep.encode()
    opt.na_tokens = _config.cstr(na_values)
    opt.categorical, opt.numeric = _config.cstr(categorical), _config.cstr(numeric)
    opt.drop, opt.max_levels = _config.cstr(drop), int(max_levels)
    out = ctypes.c_void_p()
    check(lib.mcr_table_read_csv(_config.fspath(path), ctypes.byref(opt), ctypes.byref(out)))
    return _frame_of(Table(out.value))


def write_csv(data, path):
    """Write a DataFrame or array as CSV with the library's writer (atomically: a temporary file
    renamed into place); a frame from read_csv is written as the CLI writes that table."""
    table, _ = to_table(data)
    check(lib.mcr_table_write_csv(table.handle, _config.fspath(path)))


def simulate(rows=5000, *, random_state=1, minority_rate=0.08):
    """The built-in simulated cohort (the CLI's `simulate`): patients with vitals and labs, a
    race group, a binary outcome with a known imbalance."""
    c = SimConfig()
    lib.mcr_sim_config_default(ctypes.byref(c))
    c.rows, c.seed, c.minority_rate = int(rows), _config.seed_of(random_state), \
        float(minority_rate)
    out = ctypes.c_void_p()
    check(lib.mcr_simulate(ctypes.byref(c), ctypes.byref(out)))
    return _frame_of(Table(out.value))


def __getattr__(name):
    # the samplers need imbalanced-learn; the rest of the package does not
    if name in ("MCRAGESampler", "SMOTE", "ADASYN", "RandomOverSampler"):
        from . import sampler
        return getattr(sampler, name)
    if name == "Synthesizer":
        from .synthesizer import Synthesizer
        return Synthesizer
    if name in ("evaluate", "fidelity"):
        from . import evaluation
        return getattr(evaluation, name)
    raise AttributeError(f"module 'mcrage' has no attribute '{name}'")
