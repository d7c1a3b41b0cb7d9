#!/usr/bin/python3
"""bench_python.py — the Python package against imbalanced-learn, in one run, same threads.

    /usr/bin/python3 bench/bench_python.py [--sizes 100000,1000000] [--threads N] [--repeat R]

1. SMOTE on random float32 data, 30 columns, 10% minority, balanced to 50/50 (k = 5):
   mcrage.SMOTE (the library's, through the package) vs imblearn.over_sampling.SMOTE. Both run
   in this process with the same thread count: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS pinned
   before numpy loads, n_jobs for both samplers. Prints seconds (best of --repeat) and the ratio.
2. The binding's overhead on a tiny input (100 x 5): mcrage.SMOTE().fit_resample against the
   library call it makes (mcr_augment_run on a prepared table, through ctypes), median of 200.

One JSON line per measurement; the ratios are what the README quotes.
"""
import argparse
import json
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--sizes", default="100000,1000000")
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--repeat", type=int, default=2)
args = ap.parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[var] = str(args.threads)
os.environ.setdefault("OMP_WAIT_POLICY", "passive")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "python"))

import mcrage  # noqa: E402  first: its OpenMP OpenBLAS serves numpy too (see mcrage/_lib.py)
import ctypes  # noqa: E402

import imblearn  # noqa: E402
import numpy as np  # noqa: E402
from imblearn.over_sampling import SMOTE as ImbSMOTE  # noqa: E402

from mcrage import _lib  # noqa: E402
from mcrage._table import to_table  # noqa: E402


def best(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def data(n, d=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = (rng.random(n) < 0.10).astype(np.int64)
    X[y == 1] += 0.5
    return X, y


def emit(**kw):
    print(json.dumps(kw), flush=True)


blas = mcrage.blas_info()
emit(bench="setup", threads=args.threads, mcrage=mcrage.library_version(),
     imblearn=imblearn.__version__, numpy=np.__version__, blas_kernel=blas[0],
     blas_threading=blas[1])

for n in [int(s) for s in args.sizes.split(",")]:
    X, y = data(n)
    t_ours, (Xo, yo) = best(lambda: mcrage.SMOTE(random_state=0, n_jobs=args.threads)
                            .fit_resample(X, y), args.repeat)
    t_ref, (Xr, yr) = best(lambda: ImbSMOTE(random_state=0, k_neighbors=5, n_jobs=args.threads)
                           .fit_resample(X, y), args.repeat)
    assert Xo.shape == Xr.shape and np.bincount(yo).tolist() == np.bincount(yr).tolist()
    emit(bench="smote", rows=n, cols=X.shape[1], added=int(len(yo) - n),
         mcrage_s=round(t_ours, 3), imblearn_s=round(t_ref, 3),
         speedup=round(t_ref / t_ours, 2))

# overhead on a tiny input: the whole fit_resample vs the library call alone
X, y = data(100, d=5, seed=1)
sampler = mcrage.SMOTE(random_state=0)
table, _ = to_table(X)
table.add_categorical("__y__", y.astype(np.int32), ["0", "1"])
ac = _lib.AugmentConfig()
_lib.lib.mcr_augment_config_default(ctypes.byref(ac))
ac.target, ac.method, ac.strategy = b"__y__", 3, 3
ac.counts = f"1={int((y == 0).sum() - (y == 1).sum())}".encode()
res = ctypes.POINTER(_lib.AugmentResult)()


def c_call():
    _lib.check(_lib.lib.mcr_augment_run(table.handle, None, 0, ctypes.byref(ac),
                                        ctypes.byref(res)))
    _lib.lib.mcr_augment_result_free(res)


def py_call():
    sampler.fit_resample(X, y)


for fn in (c_call, py_call):  # warm up
    fn()
ts = {}
for name, fn in (("c", c_call), ("py", py_call)):
    runs = []
    for _ in range(200):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    ts[name] = float(np.median(runs))
emit(bench="binding_overhead", rows=100, cols=5, c_call_ms=round(ts["c"] * 1e3, 4),
     fit_resample_ms=round(ts["py"] * 1e3, 4), overhead_ms=round((ts["py"] - ts["c"]) * 1e3, 4))
