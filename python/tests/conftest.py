"""Shared fixtures: the repository root, the CLI built beside the library, small model settings
(tests check behaviour, not model quality), the shared datasets."""
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # python/: the package
import mcrage  # noqa: F401  first: before numpy loads another OpenBLAS (see mcrage/_lib.py)
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CLI = ROOT / "build" / "rel" / "mcrage"
SHARED = ROOT.parent / "shared" / "datasets"
# a few seconds per fit on 2 cores
SMALL = dict(steps=60, widths=(32, 32), dim_t=16, T=100, sample_steps=10, batch=256)


@pytest.fixture(scope="session")
def cli():
    if not CLI.exists():
        pytest.fail(f"{CLI} is missing: run `make` first")
    return str(CLI)


@pytest.fixture(scope="session")
def cohort():
    import mcrage
    return mcrage.simulate(1500, random_state=3)


def shared(name):
    p = SHARED / name
    if not p.exists():
        pytest.skip(f"{p} not present")
    return p


os.environ.setdefault("OMP_WAIT_POLICY", "passive")
