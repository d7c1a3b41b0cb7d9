#!/usr/bin/python3
"""bench_csv.py — mcrage's CSV reader against pandas' C reader, in one run.

    /usr/bin/python3 bench/bench_csv.py [--rows 1000000] [--threads 1,2] [--repeat 2] [FILE ...]

Reads each file with the library's reader (mcr_table_read_csv through ctypes: the C reader
alone, no DataFrame conversion) at each thread count, and with pandas.read_csv (single-threaded
C engine, default options), best of --repeat each. Without FILE it writes a random numeric file
(--rows x 30 floats at 3 decimals, one 0/1 column) to a temporary folder and reads
../shared/datasets/diabetes_130.csv when it is there. One JSON line per file: seconds for each
reader, the ratio pandas / mcrage (> 1: mcrage is faster) and each reader's peak RSS (a child
process per reader: its VmHWM, and the same after the imports alone as `base`).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

ap = argparse.ArgumentParser()
ap.add_argument("files", nargs="*")
ap.add_argument("--rows", type=int, default=1000000)
ap.add_argument("--threads", default="1,2")
ap.add_argument("--repeat", type=int, default=2)
ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # READER THREADS FILE
args = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))

if args.child:  # one reader in a fresh process: time (best of repeat) and RSS growth
    reader, threads, path = args.child
    os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = threads
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import ctypes
    import time

    def hwm_mb():  # peak RSS of this process image (ru_maxrss would include the parent's)
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
    sys.path.insert(0, os.path.join(here, os.pardir, "python"))
    if reader == "mcrage":
        import mcrage  # noqa: F401
        from mcrage._lib import lib, CsvOptions
        lib.mcr_set_threads(int(threads))

        def read():
            opt, out = CsvOptions(), ctypes.c_void_p()
            lib.mcr_csv_options_default(ctypes.byref(opt))
            rc = lib.mcr_table_read_csv(path.encode(), ctypes.byref(opt), ctypes.byref(out))
            assert rc == 0, lib.mcr_last_error()
            n = lib.mcr_table_nrows(out)
            lib.mcr_table_free(out)
            return n
    else:
        import pandas as pd

        def read():
            return len(pd.read_csv(path, low_memory=False))
    rss0 = hwm_mb()
    best, n = float("inf"), 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        n = read()
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"s": best, "rows": n, "rss_mb": hwm_mb(), "base_mb": rss0}))
    sys.exit(0)


def child(reader, threads, path):
    out = subprocess.run([sys.executable, __file__, "--repeat", str(args.repeat), "--child",
                          reader, str(threads), path], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


files = list(args.files)
tmp = None
if not files:
    import numpy as np
    tmp = tempfile.TemporaryDirectory()
    path = os.path.join(tmp.name, f"numeric_{args.rows}x31.csv")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, 30)) * (10.0 ** (np.arange(30) % 4))
    y = (rng.random(args.rows) < 0.1).astype(int)
    with open(path, "w") as f:
        f.write(",".join([f"x{i}" for i in range(30)] + ["y"]) + "\n")
        np.savetxt(f, np.column_stack([X, y]), fmt=["%.3f"] * 30 + ["%d"], delimiter=",")
    files.append(path)
    diab = os.path.join(here, os.pardir, os.pardir, "shared", "datasets", "diabetes_130.csv")
    if os.path.exists(diab):
        files.append(os.path.normpath(diab))

for path in files:
    pd_res = child("pandas", 1, path)
    for th in [int(t) for t in args.threads.split(",")]:
        mc = child("mcrage", th, path)
        assert mc["rows"] == pd_res["rows"], (mc, pd_res)
        print(json.dumps({"bench": "csv_read", "file": os.path.basename(path),
                          "bytes": os.path.getsize(path), "rows": mc["rows"], "threads": th,
                          "mcrage_s": round(mc["s"], 3), "pandas_s": round(pd_res["s"], 3),
                          "ratio": round(pd_res["s"] / mc["s"], 2),
                          "mcrage_peak_rss_mb": round(mc["rss_mb"]), "mcrage_base_mb": round(mc["base_mb"]),
                          "pandas_peak_rss_mb": round(pd_res["rss_mb"]), "pandas_base_mb": round(pd_res["base_mb"])}),
              flush=True)
