"""_config.py — the library's settings from Python keywords, seeds, progress callbacks, FILE *.

Keywords left at None keep the library's defaults (the CLI's), so the same keywords as the
CLI's options give the same model.
"""
import ctypes
import numbers
import os
import signal
import threading

import numpy as np

from ._lib import (PROGRESS_FIT, PROGRESS_MSG, FitConfig, InvalidArgumentError, SampleConfig,
                   check, lib)

_ENUMS = {
    "act": {"relu": 0, "silu": 1},
    "schedule": {"linear": 0, "cosine": 1},
    "numeric_transform": {"quantile": 0, "standard": 1, "minmax": 2},
    "categorical_mode": {"onehot": 0, "multinomial": 1},
    "condition": {"target": 0, "sensitive": 1, "both": 2},
    "sampler": {"ddpm": 0, "ddim": 1, "dpmpp": 2},
}
# Python keyword -> FitConfig field
FIT_KEYS = {"steps": "steps", "batch": "batch", "lr": "lr", "weight_decay": "weight_decay",
            "warmup": "warmup", "grad_clip": "grad_clip", "dim_t": "dim_t", "act": "act",
            "dropout": "dropout", "T": "T", "schedule": "schedule", "p_uncond": "p_uncond",
            "ema_decay": "ema_decay", "numeric_transform": "numeric",
            "categorical_mode": "catmode", "min_level_count": "min_level_count"}
SAMPLE_KEYS = {"guidance": "guidance", "sampler": "sampler", "sample_steps": "sample_steps",
               "eta": "eta", "chunk": "chunk"}


def enum(kind, value):
    if isinstance(value, numbers.Integral):
        return int(value)
    try:
        return _ENUMS[kind][str(value).lower()]
    except KeyError:
        raise InvalidArgumentError(f"{kind} must be one of {sorted(_ENUMS[kind])}, "
                                   f"got {value!r}") from None


def seed_of(random_state):
    """A 64-bit seed: an int as given; None or a RandomState draws one (scikit-learn's rule)."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        rs = random_state if random_state is not None else np.random.mtrand._rand
        return int(rs.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise InvalidArgumentError(f"random_state must be >= 0, got {random_state}")
        return int(random_state) & (2**64 - 1)
    raise InvalidArgumentError(f"random_state must be None, an int or a RandomState, "
                               f"got {random_state!r}")


def cstr(s):
    if s is None:
        return None
    if isinstance(s, (list, tuple)):
        s = ",".join(str(x) for x in s)
    return str(s).encode()


def fill_fit(fc, params):
    """Set the FitConfig fields named in params (None = keep the default)."""
    for key, field in FIT_KEYS.items():
        v = params.get(key)
        if v is None:
            continue
        if key in ("act", "schedule", "numeric_transform", "categorical_mode"):
            v = enum(key, v)
        setattr(fc, field, v)
    widths = params.get("widths")
    if widths is not None:
        widths = [int(w) for w in (widths.split(",") if isinstance(widths, str) else widths)]
        if not 1 <= len(widths) <= len(fc.widths):
            raise InvalidArgumentError(f"widths: 1 to {len(fc.widths)} hidden layers, got "
                                       f"{len(widths)}")
        for i, w in enumerate(widths):
            fc.widths[i] = w
        fc.nwidths = len(widths)
    if params.get("condition") is not None:
        fc.condition = enum("condition", params["condition"])


def fill_sample(sc, params):
    for key, field in SAMPLE_KEYS.items():
        v = params.get(key)
        if v is None:
            continue
        if key == "sampler":
            v = enum("sampler", v)
        setattr(sc, field, v)


def fit_config(params):
    fc = FitConfig()
    lib.mcr_fit_config_default(ctypes.byref(fc))
    fill_fit(fc, params)
    return fc


def sample_config(params):
    sc = SampleConfig()
    lib.mcr_sample_config_default(ctypes.byref(sc))
    fill_sample(sc, params)
    return sc


class set_threads:
    """n_jobs for the duration of a call: None keeps the library's setting (all cores unless
    set), -1 all cores, n > 0 that many threads."""

    def __init__(self, n_jobs):
        self.n = n_jobs

    def __enter__(self):
        self.old = lib.mcr_get_threads()
        if self.n is not None:
            if not isinstance(self.n, numbers.Integral) or self.n == 0 or self.n < -1:
                raise InvalidArgumentError(f"n_jobs must be None, -1 or a positive int, "
                                           f"got {self.n!r}")
            lib.mcr_set_threads(0 if self.n == -1 else int(self.n))
        return self

    def __exit__(self, *exc):
        if self.n is not None:
            lib.mcr_set_threads(self.old)
        return False


class FitProgress:
    """The fit's progress callback: calls `user(step, steps, loss)` (its return value True stops
    the fit) and turns Ctrl-C during a fit into a clean stop: the fit is cancelled at the next
    report and KeyboardInterrupt is raised once the library has returned."""

    def __init__(self, user=None):
        self.user = user
        self.interrupted = False
        self.error = None
        self.losses = []
        self.cfunc = PROGRESS_FIT(self._call)

    def _call(self, ctx, step, steps, loss, rows_per_s):
        try:
            if self.interrupted:
                return 1
            if self.user is not None and self.user(step, steps, loss):
                return 1
            return 0
        except KeyboardInterrupt:
            self.interrupted = True
            return 1
        except BaseException as e:  # an exception in the user's callback stops the fit
            self.error = e
            return 1

    def install(self, fc, every=None):
        fc.progress = self.cfunc
        if every:
            fc.progress_every = every

    def run(self, fn):
        """Run fn() (a library call reporting through this callback; ctypes releases the GIL for
        it), then raise what the callback caught: KeyboardInterrupt, the user's exception, the
        status. On the main thread, Ctrl-C during the call only sets a flag (a SIGINT handler of
        ours, delivered at the next progress report): the callback then asks the library to
        stop, and KeyboardInterrupt is raised once it has returned, nothing half-built."""
        old = None
        if threading.current_thread() is threading.main_thread():
            try:
                old = signal.signal(signal.SIGINT, self._on_sigint)
            except (ValueError, TypeError):  # pragma: no cover - embedded interpreters
                old = None
        try:
            rc = fn()
        finally:
            if old is not None:
                signal.signal(signal.SIGINT, old)
        if self.interrupted:
            if callable(old) and old is not signal.default_int_handler:
                old(signal.SIGINT, None)
            raise KeyboardInterrupt("mcrage: fit cancelled by Ctrl-C; nothing was returned")
        if self.error is not None:
            raise self.error
        return check(rc)

    def _on_sigint(self, signum, frame):
        self.interrupted = True


class MsgProgress:
    """A progress(msg) callback for evaluate / fidelity (messages as str)."""

    def __init__(self, user=None):
        self.user = user
        self.cfunc = PROGRESS_MSG(self._call) if user else PROGRESS_MSG()

    def _call(self, ctx, msg):
        try:
            self.user(msg.decode("utf-8", "replace"))
        except Exception:  # a progress printer must not break the run
            pass


_libc = ctypes.CDLL(None)
_libc.open_memstream.restype = ctypes.c_void_p
_libc.open_memstream.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
_libc.fclose.argtypes = [ctypes.c_void_p]
_libc.free.argtypes = [ctypes.c_void_p]


def capture(fn, *args):
    """Call fn(*args, FILE *) on an in-memory stream; return what it wrote (str)."""
    buf, size = ctypes.c_void_p(), ctypes.c_size_t()
    f = _libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
    if not f:
        raise MemoryError("open_memstream failed")
    try:
        rc = fn(*args, f)
    finally:
        _libc.fclose(f)
        text = ctypes.string_at(buf, size.value).decode("utf-8", "replace") if buf else ""
        _libc.free(buf)
    check(rc if isinstance(rc, int) else 0)
    return text


def fspath(path):
    return os.fsencode(os.fspath(path))
