"""The binding itself: every library function declared, errors as exceptions with the library's
messages, zero-copy input, the GIL released during a fit, cancelling a fit (callback, Ctrl-C)."""
import ctypes
import os
import re
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

import mcrage
from mcrage import _lib
from conftest import ROOT, SMALL


def test_every_header_function_declared():
    header = (ROOT / "include" / "mcrage" / "mcrage.h").read_text()
    header = re.sub(r"/\*.*?\*/", "", header, flags=re.S)
    names = set(re.findall(r"MCR_API\s+[^;(]*?\b(mcr_\w+)\s*\(", header))
    assert len(names) > 100
    assert names == set(_lib.SIGNATURES), (names ^ set(_lib.SIGNATURES))
    for name in names:
        fn = getattr(_lib.lib, name)
        assert fn.argtypes is not None, name


def test_struct_layouts_match_library():
    for cname, py in _lib.STRUCTS.items():
        assert _lib.lib.mcr_sizeof(cname.encode()) == ctypes.sizeof(py), cname
    assert _lib.lib.mcr_sizeof(b"no_such_struct") == 0


def test_version():
    assert mcrage.library_version().split(".")[:2] == mcrage.__version__.split(".")[:2]


def test_error_classes():
    assert issubclass(mcrage.InvalidArgumentError, ValueError)
    assert issubclass(mcrage.ParseError, ValueError)
    assert issubclass(mcrage.FileError, OSError)
    assert issubclass(mcrage.OutOfMemoryError, MemoryError)
    assert issubclass(mcrage.CorruptModelError, ValueError)
    for cls in (mcrage.InvalidArgumentError, mcrage.FileError, mcrage.CancelledError):
        assert issubclass(cls, mcrage.MCRAGEError)


def test_parse_error_names_file_line_column(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text('a,b\n1,2\n3,"x\n')
    with pytest.raises(mcrage.ParseError, match=r"bad\.csv:3:\d+") as e:
        mcrage.read_csv(p)
    assert e.value.code == _lib.MCR_EPARSE


def test_missing_file_is_oserror(tmp_path):
    with pytest.raises(OSError, match="nope.csv"):
        mcrage.read_csv(tmp_path / "nope.csv")


def test_damaged_model_refused(tmp_path, cohort):
    syn = mcrage.Synthesizer(random_state=0, **SMALL).fit(cohort, target="outcome")
    path = tmp_path / "m.mcrg"
    syn.save(path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(mcrage.CorruptModelError, match="m.mcrg"):
        mcrage.Synthesizer.load(path)
    path.write_bytes(b"MCRGMODL")
    with pytest.raises(mcrage.CorruptModelError):
        mcrage.Synthesizer.load(path)


def test_bad_input_messages(cohort):
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = np.array([0] * 40 + [1] * 10)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        mcrage.SMOTE().fit_resample(X, y[:-1])
    with pytest.raises(ValueError, match="2D array"):
        mcrage.SMOTE().fit_resample(X[:, 0], y)
    with pytest.raises(ValueError, match="class"):
        mcrage.MCRAGESampler(**SMALL).fit_resample(X, np.zeros(50))
    with pytest.raises(ValueError, match="NaN|nan"):
        mcrage.SMOTE().fit_resample(X, np.where(np.arange(50) < 40, 0.0, np.nan))
    with pytest.raises(mcrage.InvalidArgumentError, match="no column 'nosuch'"):
        mcrage.Synthesizer(**SMALL).fit(cohort, target="nosuch")
    one = cohort.assign(outcome=pd.Categorical(["0"] * len(cohort)))
    with pytest.raises(mcrage.InvalidArgumentError, match="single class"):
        mcrage.Synthesizer(**SMALL).fit(one, target="outcome")
    with pytest.raises(mcrage.InvalidArgumentError, match="`steps`"):
        mcrage.Synthesizer(steps=0).fit(cohort, target="outcome")
    with pytest.raises(mcrage.InvalidArgumentError, match="k_neighbors"):
        mcrage.SMOTE(k_neighbors=0).fit_resample(X, y)
    with pytest.raises(mcrage.InvalidArgumentError, match="act must be one of"):
        mcrage.Synthesizer(act="tanh").fit(cohort, target="outcome")
    syn = mcrage.Synthesizer(random_state=0, **SMALL).fit(cohort, target="outcome")
    with pytest.raises(mcrage.InvalidArgumentError, match="no condition '7'"):
        syn.sample(5, conditions={"outcome": "7"})
    with pytest.raises(mcrage.InvalidArgumentError, match="not 'race'"):
        syn.sample(5, conditions={"race": "Black"})
    with pytest.raises(mcrage.InvalidArgumentError, match="not fitted"):
        mcrage.Synthesizer().sample(5)
    with pytest.raises(mcrage.InvalidArgumentError, match="dtype"):
        mcrage.Synthesizer(**SMALL).fit(cohort.assign(t=pd.Timestamp("2020-01-01")),
                                        target="outcome")


def _recording(monkeypatch):
    seen = []
    real = _lib.lib.mcr_table_add_numeric

    def record(t, name, values, dtype, stride, kind, decimals):
        seen.append((name.decode(), values, dtype, stride))
        return real(t, name, values, dtype, stride, kind, decimals)
    monkeypatch.setattr(_lib.lib, "mcr_table_add_numeric", record)
    return seen


@pytest.mark.parametrize("order", ["C", "F", "strided"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_copy(monkeypatch, order, dtype):
    """The pointer the library sees is the array's own memory, with its stride: no copy."""
    base = np.asfortranarray(np.random.default_rng(0).normal(size=(400, 6)).astype(dtype)) \
        if order == "F" else np.random.default_rng(0).normal(size=(400, 6)).astype(dtype)
    X = base[::2, ::2] if order == "strided" else base
    seen = _recording(monkeypatch)
    from mcrage._table import to_table
    table, _ = to_table(X)
    assert len(seen) == X.shape[1]
    for j, (name, ptr, code, stride) in enumerate(seen):
        assert ptr == X.ctypes.data + j * X.strides[1], name
        assert stride == X.strides[0] // X.itemsize and code == (0 if dtype == np.float32 else 1)
        assert np.array_equal(table.numeric(j, dtype), X[:, j])
    # a DataFrame's float columns go by pointer into its block too
    df = pd.DataFrame(np.ascontiguousarray(X), columns=[f"c{j}" for j in range(X.shape[1])])
    seen.clear()
    to_table(df)
    for j, (name, ptr, _, _) in enumerate(seen):
        assert ptr == df[name].to_numpy().ctypes.data


def test_fit_releases_the_gil(cohort):
    """Another Python thread runs while fit runs (ctypes releases the GIL)."""
    ticks = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    during = []

    def progress(step, steps, loss):
        during.append(len(ticks))
    t = threading.Thread(target=tick)
    t.start()
    try:
        mcrage.Synthesizer(random_state=0, progress=progress, **{**SMALL, "steps": 400,
                                                              "widths": (256, 256)}
                           ).fit(cohort, target="outcome")
    finally:
        stop.set()
        t.join()
    assert len(during) >= 10 and during[-1] - during[0] > 10, during


def test_cancel_from_progress(cohort):
    calls = []

    def progress(step, steps, loss):
        calls.append(step)
        return step >= 30
    syn = mcrage.Synthesizer(random_state=0, progress=progress, **{**SMALL, "steps": 1000})
    with pytest.raises(mcrage.CancelledError, match="cancelled at step 30 of 1000"):
        syn.fit(cohort, target="outcome")
    assert calls[-1] == 30 and syn._model is None


def test_exception_in_progress_stops_fit(cohort):
    def progress(step, steps, loss):
        raise RuntimeError("printer broke")
    with pytest.raises(RuntimeError, match="printer broke"):
        mcrage.Synthesizer(progress=progress, **SMALL).fit(cohort, target="outcome")


def test_ctrl_c_stops_fit_cleanly(cohort):
    """SIGINT during a long fit: the fit stops at its next progress report and
    KeyboardInterrupt reaches the caller; the library stays usable."""
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        mcrage.Synthesizer(random_state=0, **{**SMALL, "steps": 10**6}).fit(cohort,
                                                                           target="outcome")
    timer.cancel()
    assert time.perf_counter() - t0 < 10
    assert len(mcrage.Synthesizer(random_state=0, **SMALL).fit(cohort, target="outcome")
               .sample(10)) == 10


def test_n_jobs_restored_and_same_result():
    before = _lib.lib.mcr_get_threads()
    X = np.random.default_rng(0).normal(size=(300, 4))
    y = np.array([0] * 270 + [1] * 30)
    a = mcrage.MCRAGESampler(random_state=1, n_jobs=1, **SMALL).fit_resample(X, y)[0]
    assert _lib.lib.mcr_get_threads() == before
    b = mcrage.MCRAGESampler(random_state=1, n_jobs=1, **SMALL).fit_resample(X, y)[0]
    assert np.array_equal(a, b)
    with pytest.raises(mcrage.InvalidArgumentError, match="n_jobs"):
        mcrage.MCRAGESampler(n_jobs=0, **SMALL).fit_resample(X, y)
