"""_table.py — numpy arrays and pandas DataFrames to and from the library's tables.

In: a float32/float64 column is handed to the library by pointer and stride (C or Fortran order,
any row stride: no copy on the Python side; the library copies it once into its table). Integer
and boolean columns are converted to float64 (the library stores numbers as doubles);
categoricals go as their codes plus their levels' spellings; strings and objects are factorised
in order of first appearance, as the library's CSV reader orders levels. NaN / None / pd.NA are
missing values.

Out: a Schema remembers each input column's dtype, categories and values, so the rows that come
back (synthetic or resampled) have the same column names, dtypes and categories. An integer
column that comes back with missing values (an identifier the model leaves empty) becomes the
nullable integer dtype of the same width (int64 -> Int64).
"""
import ctypes

import numpy as np

from ._lib import InvalidArgumentError, check, lib

try:
    import pandas as pd
except ImportError:  # pragma: no cover - pandas is a dependency of the package's tests
    pd = None

MCR_COL_NUMERIC, MCR_COL_INTEGER, MCR_COL_CATEGORICAL = 0, 1, 2
MCR_F32, MCR_F64 = 0, 1


class Table:
    """Owns an mcr_table handle (freed with the object)."""

    def __init__(self, handle):
        if not handle:
            raise InvalidArgumentError("mcrage: no table")
        self.handle = handle

    def __del__(self):
        h, self.handle = getattr(self, "handle", None), None
        if h:
            lib.mcr_table_free(h)

    @property
    def _as_parameter_(self):
        return self.handle

    @classmethod
    def empty(cls, nrows):
        out = ctypes.c_void_p()
        check(lib.mcr_table_new(nrows, ctypes.byref(out)))
        return cls(out.value)

    @property
    def nrows(self):
        return lib.mcr_table_nrows(self.handle)

    @property
    def ncols(self):
        return lib.mcr_table_ncols(self.handle)

    def names(self):
        return [lib.mcr_table_colname(self.handle, j).decode() for j in range(self.ncols)]

    def find(self, name):
        return lib.mcr_table_find(self.handle, name.encode())

    def coltype(self, j):
        return lib.mcr_table_coltype(self.handle, j)

    def levels(self, j):
        return [lib.mcr_table_level(self.handle, j, k).decode()
                for k in range(lib.mcr_table_nlevels(self.handle, j))]

    def numeric(self, j, dtype=np.float64):
        out = np.empty(self.nrows, dtype=dtype)
        code = MCR_F32 if out.dtype == np.float32 else MCR_F64
        check(lib.mcr_table_get_numeric(self.handle, j, out.ctypes.data, code, 1))
        return out

    def codes(self, j):
        out = np.empty(self.nrows, dtype=np.int32)
        check(lib.mcr_table_get_codes(self.handle, j, out.ctypes.data, 1))
        return out

    def slice(self, first, n):
        out = ctypes.c_void_p()
        check(lib.mcr_table_slice(self.handle, first, n, ctypes.byref(out)))
        return Table(out.value)

    # ---- building, column by column
    def add_numeric(self, name, values, integer=False, decimals=-1):
        """values: a 1-D float32/float64 array or view (any stride); not copied here."""
        if values.dtype not in (np.float32, np.float64) or not values.dtype.isnative \
                or values.strides[0] % values.itemsize:
            values = np.ascontiguousarray(values, dtype=np.float64)
        code = MCR_F32 if values.dtype == np.float32 else MCR_F64
        check(lib.mcr_table_add_numeric(self.handle, name.encode(), values.ctypes.data, code,
                                        values.strides[0] // values.itemsize,
                                        MCR_COL_INTEGER if integer else MCR_COL_NUMERIC, decimals))
        return values  # the caller keeps it alive until the call returned (it has)

    def add_categorical(self, name, codes, levels):
        codes = np.asarray(codes)
        if codes.dtype != np.int32 or codes.strides[0] % 4:
            codes = np.ascontiguousarray(codes, dtype=np.int32)
        enc = [str(s).encode() for s in levels]
        arr = (ctypes.c_char_p * max(len(enc), 1))(*enc)
        check(lib.mcr_table_add_categorical(self.handle, name.encode(), codes.ctypes.data,
                                            codes.strides[0] // 4, arr, len(enc)))


class Column:
    """What one input column was, to give rows back in its type."""

    def __init__(self, label, name, kind, dtype=None, categories=None, ordered=False,
                 values=None, decimals=-1, integer=False):
        self.label = label            # the column label as the caller had it (may be an int)
        self.name = name              # its name in the library's table (str)
        self.kind = kind              # "float", "int", "bool", "category", "object"
        self.dtype = dtype            # numpy / pandas dtype to return
        self.categories = categories  # category: the pandas categories; object: level values
        self.ordered = ordered
        self.values = values          # level spelling -> original value (object columns)
        self.decimals = decimals
        self.integer = integer


class Schema:
    """Columns of an input table, in order; `frame` is True when a DataFrame came in."""

    def __init__(self, columns, frame, index_name=None):
        self.columns = columns
        self.frame = frame
        self.index_name = index_name

    def names(self):
        return [c.name for c in self.columns]


def _level_strings(values, colname):
    levels = [v if isinstance(v, str) else str(v) for v in values]
    if len(set(levels)) != len(levels):
        raise InvalidArgumentError(f"column '{colname}': distinct values with the same spelling "
                                   f"({levels}); make them strings first")
    return levels


def _column_in(table, label, name, values, hint=None):
    """Add one column (a numpy array or pandas Series) to table; return its Column."""
    hint = hint or {}
    if pd is not None and isinstance(values, pd.Series):
        dt = values.dtype
        if isinstance(dt, pd.CategoricalDtype):
            cats = dt.categories
            table.add_categorical(name, values.cat.codes.to_numpy(), _level_strings(cats, name))
            return Column(label, name, "category", dt, cats, dt.ordered)
        if pd.api.types.is_bool_dtype(dt) and not isinstance(dt, np.dtype):
            values = values.astype(object)  # nullable boolean: as objects (True/False/NA)
        elif isinstance(dt, pd.api.extensions.ExtensionDtype) and \
                pd.api.types.is_integer_dtype(dt):
            table.add_numeric(name, values.to_numpy(dtype=np.float64, na_value=np.nan), True, 0)
            return Column(label, name, "int", dt, integer=True, decimals=0)
        elif isinstance(dt, pd.api.extensions.ExtensionDtype) and \
                pd.api.types.is_float_dtype(dt):
            table.add_numeric(name, values.to_numpy(dtype=np.float64, na_value=np.nan))
            return Column(label, name, "float", dt)
        values = values.to_numpy()  # a view of the frame's block for numpy dtypes
    values = np.asarray(values)
    dt = values.dtype
    if dt.kind == "f":
        integer = hint.get("integer", False)
        dec = hint.get("decimals", 0 if integer else -1)
        table.add_numeric(name, values, integer, dec)
        return Column(label, name, "float", dt, integer=integer, decimals=dec)
    if dt.kind in "iu":
        uniq = np.unique(values[:4096]) if len(values) else values
        if len(uniq) <= 2 and len(np.unique(values)) <= 2:
            # integral columns with at most two values are flags, categorical, as the CSV
            # reader types them (so a frame and its CSV give the same model)
            uniq = np.unique(values)
            codes = np.searchsorted(uniq, values).astype(np.int32)
            table.add_categorical(name, codes, [str(int(v)) for v in uniq])
            return Column(label, name, "int", dt, integer=True, decimals=0)
        table.add_numeric(name, values.astype(np.float64), True, 0)
        return Column(label, name, "int", dt, integer=True, decimals=0)
    if dt.kind == "b":
        table.add_categorical(name, values.astype(np.int32), ["False", "True"])
        return Column(label, name, "bool", dt)
    if dt.kind in "OUS":
        obj = values.astype(object) if dt.kind != "O" else values
        missing = np.array([v is None or (isinstance(v, float) and v != v) or
                            (pd is not None and v is pd.NA) for v in obj], dtype=bool)
        if pd is not None:
            codes, uniques = pd.factorize(obj, use_na_sentinel=True)
            uniques = list(uniques)
        else:  # first-appearance order without pandas
            seen, codes = {}, np.empty(len(obj), dtype=np.int32)
            for i, v in enumerate(obj):
                codes[i] = -1 if missing[i] else seen.setdefault(v, len(seen))
            uniques = list(seen)
        codes = np.where(missing, -1, codes).astype(np.int32)
        levels = _level_strings(uniques, name)
        table.add_categorical(name, codes, levels)
        return Column(label, name, "object", dt, values=dict(zip(levels, uniques)))
    raise InvalidArgumentError(f"column '{name}': dtype {dt} is not supported; convert it to "
                               "numbers, strings or a categorical")


def to_table(X, names=None, extra=None):
    """A Table from a 2-D numpy array / list of rows / DataFrame; `extra` is a list of
    (name, 1-D values) columns appended after X's (e.g. the target). Returns (Table, Schema)."""
    frame = pd is not None and isinstance(X, pd.DataFrame)
    if frame:
        nrows = len(X)
        labels = list(X.columns)
        names = [str(c) for c in labels]
        hints = X.attrs.get("mcrage", {}) if hasattr(X, "attrs") else {}
        getcol = lambda k: X.iloc[:, k]  # noqa: E731
    else:
        X = np.asarray(X)
        if X.ndim != 2:
            raise InvalidArgumentError(f"X must be 2-D (rows x columns), got shape {X.shape}")
        nrows = X.shape[0]
        labels = list(range(X.shape[1]))
        names = list(names) if names is not None else [f"x{j}" for j in labels]
        hints = {}
        getcol = lambda k: X[:, k]  # noqa: E731
    if len(set(names)) != len(names):
        raise InvalidArgumentError(f"column names must be unique, got {names}")
    table = Table.empty(nrows)
    cols = [_column_in(table, labels[k], names[k], getcol(k), hints.get(names[k]))
            for k in range(len(names))]
    for name, values in extra or []:
        if name in names:
            raise InvalidArgumentError(f"column '{name}' is both in X and given separately")
        if len(values) != nrows:
            raise InvalidArgumentError(f"'{name}' has {len(values)} values for {nrows} rows")
        cols.append(_column_in(table, name, name, values))
    return table, Schema(cols, frame, X.index.name if frame else None)


def _spelling_values(col, table, j):
    """Level codes of column j of table mapped to the input's values (object array)."""
    codes = table.codes(j)
    levels = table.levels(j)
    lookup = np.empty(len(levels) + 1, dtype=object)
    lookup[-1] = None
    for k, s in enumerate(levels):
        lookup[k] = col.values.get(s, s) if col.values is not None else s
    return lookup[codes]  # code -1 picks the trailing None


def column_out(col, table, j):
    """Column j of table as values of the input column `col`'s type."""
    if col.kind in ("float", "int") and table.coltype(j) == MCR_COL_CATEGORICAL:
        # numbers the library holds as levels (integer flags / codes): spellings -> numbers
        levels = table.levels(j)
        nums = np.array([float(s) for s in levels] + [np.nan])
        v = nums[table.codes(j)]
        return _numbers_out(col, v)
    if col.kind == "float" and not (pd is not None and
                                    isinstance(col.dtype, pd.api.extensions.ExtensionDtype)):
        return table.numeric(j, np.float32 if col.dtype == np.float32 else np.float64)
    if col.kind in ("float", "int"):
        return _numbers_out(col, table.numeric(j))
    return _levels_out(col, table, j)


def _numbers_out(col, v):
    """float64 values (NaN missing) as the input column's numeric dtype."""
    if col.kind == "float":
        if pd is not None and isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
            return pd.array(v, dtype=col.dtype)
        return v.astype(col.dtype)
    miss = np.isnan(v)
    if pd is not None and isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
        out = pd.array(np.where(miss, 0, v).astype(np.int64), dtype=col.dtype)
        out[miss] = pd.NA
        return out
    if not miss.any():
        return v.astype(col.dtype)
    if pd is None:
        return v
    nullable = {"i": "Int", "u": "UInt"}[col.dtype.kind] + str(8 * col.dtype.itemsize)
    out = pd.array(np.where(miss, 0, v).astype(col.dtype), dtype=nullable)
    out[miss] = pd.NA
    return out


def _levels_out(col, table, j):
    """A categorical column of table as the input's bool / category / object values."""
    if col.kind == "bool":
        codes = table.codes(j)
        levels = table.levels(j)
        truth = np.array([s == "True" for s in levels] + [False])
        if (codes < 0).any():
            vals = np.array([bool(truth[c]) if c >= 0 else None for c in codes], dtype=object)
            return vals
        return truth[codes].astype(col.dtype)
    if col.kind == "category":
        spell = {s: k for k, s in enumerate(_level_strings(col.categories, col.name))}
        levels = table.levels(j)
        cats = list(col.categories)
        remap = np.empty(len(levels) + 1, dtype=np.int64)
        remap[-1] = -1
        for k, s in enumerate(levels):
            if s not in spell:  # a level the input's categories lack: appended
                spell[s] = len(cats)
                cats.append(s)
            remap[k] = spell[s]
        codes = remap[table.codes(j)]
        return pd.Categorical.from_codes(codes, categories=cats, ordered=col.ordered)
    vals = _spelling_values(col, table, j)
    if col.dtype is not None and col.dtype.kind in "US" and not any(v is None for v in vals):
        return vals.astype(col.dtype)
    return vals


def from_table(table, schema, columns=None, out=None):
    """Rows of `table` as the schema's input type: a DataFrame (same labels, dtypes and
    categories) when a DataFrame came in, else a 2-D numpy array of the input's dtype.
    columns: the schema columns to return (default all). out: a C-contiguous array of the
    result's shape and dtype to write float columns into (returned when it was used)."""
    cols = columns if columns is not None else schema.columns
    idx = []
    for c in cols:
        j = table.find(c.name)
        if j < 0:
            raise InvalidArgumentError(f"mcrage: column '{c.name}' missing from the result")
        idx.append(j)
    if schema.frame:
        data = {c.label: column_out(c, table, j) for c, j in zip(cols, idx)}
        out = pd.DataFrame(data, columns=[c.label for c in cols])
        # the written precision of each numeric column, so write_csv writes what the CLI would
        out.attrs["mcrage"] = {c.name: {"integer": table.coltype(j) == MCR_COL_INTEGER,
                                        "decimals": lib.mcr_table_decimals(table.handle, j)}
                               for c, j in zip(cols, idx) if table.coltype(j) != MCR_COL_CATEGORICAL}
        return out
    if not cols:
        return np.empty((table.nrows, 0))
    dts = {c.dtype for c in cols}
    if len(dts) == 1 and all(c.kind == "float" for c in cols) and \
            all(table.coltype(j) != MCR_COL_CATEGORICAL for j in idx) and \
            next(iter(dts)) in (np.float32, np.float64):
        # numbers only, one float dtype: each column straight into its place (one copy)
        dt = next(iter(dts))
        if out is None or out.shape != (table.nrows, len(cols)) or out.dtype != dt or \
                not out.flags.c_contiguous:
            out = np.empty((table.nrows, len(cols)), dtype=dt)
        code = MCR_F32 if out.dtype == np.float32 else MCR_F64
        for k, j in enumerate(idx):
            check(lib.mcr_table_get_numeric(table.handle, j, out.ctypes.data + k * out.itemsize,
                                            code, len(cols)))
        return out
    parts = [column_out(c, table, j) for c, j in zip(cols, idx)]
    kinds = {c.kind for c in cols}
    dtype = cols[0].dtype if len({str(c.dtype) for c in cols}) == 1 and kinds <= {"float", "int"} \
        else (object if kinds & {"object", "bool"} else np.float64)
    out = np.empty((table.nrows, len(parts)), dtype=dtype)
    for k, p in enumerate(parts):
        out[:, k] = np.asarray(p, dtype=object if dtype is object else None)
    return out


def spelling(col, value):
    """The library's spelling of `value` in column `col` (a condition value)."""
    if col.kind in ("category", "object", "bool"):
        if col.values is not None:
            for s, v in col.values.items():
                if v == value or s == value:
                    return s
        return str(value)
    if col.integer or col.kind == "int":
        try:
            if float(value) == int(float(value)):
                return str(int(float(value)))
        except (TypeError, ValueError):
            pass
    return str(value)
