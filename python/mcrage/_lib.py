"""_lib.py — loading libmcrage.so, its symbols, its structs and its errors (ctypes, no extension).

The library is found through, in order: the MCRAGE_LIB environment variable (a path), a copy
beside this package, the build tree this package sits in (build/rel/libmcrage.so), the system
(ctypes.util.find_library). Every exported function is declared below with its argtypes and
restype; the struct mirrors are checked against the loaded library's own sizes (mcr_sizeof), so
a package and a library that disagree on a layout refuse to work together instead of corrupting
memory. ctypes releases the GIL for the duration of each call.
"""
import ctypes
import ctypes.util
import os

from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int,
                    c_int32, c_size_t, c_ssize_t, c_uint64, c_void_p)

__all__ = ["lib", "check", "MCRAGEError"]

VERSION = "0.1.0"  # the library version this package was written for (major.minor must match)

# ------------------------------------------------------------------------------ errors
MCR_OK, MCR_EINVAL, MCR_EPARSE, MCR_EIO, MCR_ENOMEM = 0, -1, -2, -3, -4
MCR_ECORRUPT, MCR_ENUMERIC, MCR_EINTERNAL, MCR_ECANCELED = -5, -6, -7, -8


class MCRAGEError(Exception):
    """An error reported by libmcrage: `code` is its status, the message is the library's."""

    def __init__(self, message, code=MCR_EINTERNAL):
        Exception.__init__(self, message)
        self.code = code
        self.message = message

    def __str__(self):
        return self.message


class InvalidArgumentError(MCRAGEError, ValueError):
    """An argument or option is invalid (MCR_EINVAL)."""


class ParseError(MCRAGEError, ValueError):
    """Input data is malformed; the message names file:line:col (MCR_EPARSE)."""


class FileError(MCRAGEError, OSError):
    """A file could not be read or written (MCR_EIO)."""

    def __init__(self, message, code=MCR_EIO):
        MCRAGEError.__init__(self, message, code)


class OutOfMemoryError(MCRAGEError, MemoryError):
    """The library ran out of memory (MCR_ENOMEM)."""


class CorruptModelError(MCRAGEError, ValueError):
    """A model file is damaged, truncated or of an unknown version (MCR_ECORRUPT)."""


class NumericalError(MCRAGEError, ArithmeticError):
    """Training diverged (MCR_ENUMERIC)."""


class InternalError(MCRAGEError, RuntimeError):
    """A bug in mcrage (MCR_EINTERNAL)."""


class CancelledError(MCRAGEError):
    """A progress callback asked the library to stop (MCR_ECANCELED)."""


_ERRORS = {MCR_EINVAL: InvalidArgumentError, MCR_EPARSE: ParseError, MCR_EIO: FileError,
           MCR_ENOMEM: OutOfMemoryError, MCR_ECORRUPT: CorruptModelError,
           MCR_ENUMERIC: NumericalError, MCR_EINTERNAL: InternalError,
           MCR_ECANCELED: CancelledError}


def error_for(code):
    """The exception for status `code`, with the calling thread's last library message."""
    msg = lib.mcr_last_error().decode("utf-8", "replace") or lib.mcr_strerror(code).decode()
    return _ERRORS.get(code, MCRAGEError)(msg, code)


def check(code):
    """Raise the matching MCRAGEError subclass for a negative status; return it otherwise."""
    if code < 0:
        raise error_for(code)
    return code


# ------------------------------------------------------------------------------ structs
PROGRESS_FIT = CFUNCTYPE(c_int, c_void_p, c_int, c_int, c_float, c_double)
PROGRESS_MSG = CFUNCTYPE(None, c_void_p, c_char_p)
MCR_MAX_LAYERS = 16
MCR_AUG_NMETHODS = 10
MCR_CLF_N = 4
MCR_EVAL_NCOL = 6


class CsvOptions(Structure):
    _fields_ = [("sep", c_char), ("na_tokens", c_char_p), ("categorical", c_char_p),
                ("numeric", c_char_p), ("drop", c_char_p), ("max_levels", c_int)]


class SimConfig(Structure):
    _fields_ = [("rows", c_size_t), ("seed", c_uint64), ("minority_rate", c_double)]


class FitConfig(Structure):
    _fields_ = [("target", c_char_p), ("sensitive", c_char_p), ("drop", c_char_p),
                ("features", c_char_p), ("condition", c_int), ("widths", c_int * MCR_MAX_LAYERS),
                ("nwidths", c_int), ("dim_t", c_int), ("act", c_int), ("dropout", c_float),
                ("T", c_int), ("schedule", c_int), ("steps", c_int), ("batch", c_int),
                ("lr", c_float), ("weight_decay", c_float), ("warmup", c_int),
                ("grad_clip", c_float), ("ema_decay", c_float), ("p_uncond", c_float),
                ("numeric", c_int), ("catmode", c_int), ("min_level_count", c_int),
                ("seed", c_uint64), ("progress", PROGRESS_FIT), ("progress_ctx", c_void_p),
                ("progress_every", c_int), ("checkpoint_every", c_int),
                ("checkpoint_path", c_char_p), ("resume", c_void_p), ("precision", c_int)]


class SampleConfig(Structure):
    _fields_ = [("guidance", c_float), ("sampler", c_int), ("sample_steps", c_int),
                ("eta", c_float), ("seed", c_uint64), ("chunk", c_int), ("precision", c_int)]


class AugmentConfig(Structure):
    _fields_ = [("target", c_char_p), ("sensitive", c_char_p), ("drop", c_char_p),
                ("method", c_int), ("strategy", c_int), ("ratio", c_double),
                ("counts", c_char_p), ("synthetic_fraction", c_double), ("k", c_int),
                ("mark_synthetic", c_char_p), ("keep_copies", c_int), ("keep_model", c_int),
                ("dcr_check", c_int), ("seed", c_uint64), ("fit", FitConfig),
                ("sample", SampleConfig), ("synthetic_only", c_int),
                ("synthetic_id_prefix", c_char_p), ("amount", c_double), ("condition_both", c_int),
                ("folds", c_int), ("optimize", c_int), ("auto_classifier", c_int),
                ("auto_tuned", c_int), ("select_pool", c_double), ("prefit", c_void_p),
                ("progress", c_void_p), ("progress_ctx", c_void_p)]


class AugmentResult(Structure):
    _fields_ = [("table", c_void_p), ("nreal", c_size_t), ("nsynth", c_size_t),
                ("method", c_int), ("source", c_char_p), ("copies_resampled", c_int),
                ("copies_found", c_size_t), ("copies_left", c_size_t), ("dcr_close", c_size_t),
                ("dcr_threshold", c_double), ("model", c_void_p), ("autochoice", c_void_p)]


class Metrics(Structure):
    _fields_ = [("n", c_size_t)] + [(f, c_double) for f in (
        "accuracy", "balanced_accuracy", "f1_macro", "f1_minority", "precision_minority",
        "recall_minority", "auroc", "auprc", "log_loss", "brier", "selection_rate", "tpr", "fpr",
        "calibration_slope", "calibration_intercept", "ece")]


class Fairness(Structure):
    _fields_ = [(f, c_double) for f in ("dp_difference", "eo_difference", "worst_group_accuracy",
                                        "worst_group_recall", "accuracy_gap", "auroc_gap")]


class ColFid(Structure):
    _fields_ = [("name", c_char_p), ("categorical", c_int), ("stat", c_double),
                ("real_missing", c_double), ("synth_missing", c_double), ("nreal", c_size_t),
                ("nsynth", c_size_t)]


class PairFid(Structure):
    _fields_ = [("a", c_char_p), ("b", c_char_p), ("correlation", c_int), ("real", c_double),
                ("synth", c_double), ("score", c_double)]


class AssessConfig(Structure):
    _fields_ = [("target", c_char_p), ("sensitive", c_char_p), ("minority", c_char_p),
                ("drop", c_char_p), ("holdout", c_void_p), ("folds", c_int),
                ("max_rows", c_size_t), ("detection", c_int), ("utility", c_int),
                ("privacy", c_int), ("seed", c_uint64), ("progress", PROGRESS_MSG),
                ("progress_ctx", c_void_p), ("baseline", c_int)]


class EvalConfig(Structure):
    _fields_ = [("target", c_char_p), ("sensitive", c_char_p), ("group", c_char_p),
                ("positive", c_char_p), ("bands", c_char_p), ("thin", c_char_p),
                ("test_frac", c_double), ("seeds", c_int), ("seed", c_uint64),
                ("methods", c_int * MCR_AUG_NMETHODS), ("nmethods", c_int),
                ("classifiers", c_int * MCR_CLF_N), ("nclassifiers", c_int),
                ("balanced", c_int), ("focal_gamma", c_double), ("aug", AugmentConfig),
                ("progress", PROGRESS_MSG), ("progress_ctx", c_void_p),
                ("tune_threshold", c_int)]


class EvalCell(Structure):
    _fields_ = [("method", c_int), ("clf", c_int), ("mean", c_double * MCR_EVAL_NCOL),
                ("half", c_double * MCR_EVAL_NCOL), ("best", c_int * MCR_EVAL_NCOL)]


class EvalInfo(Structure):
    _fields_ = [("source", c_char_p), ("target", c_char_p), ("positive", c_char_p),
                ("sensitive", c_char_p), ("thin", c_char_p), ("nrows", c_size_t),
                ("seeds", c_int), ("groups", c_int)]


class Rng(Structure):
    _fields_ = [("s", c_uint64 * 4), ("spare", c_double), ("has_spare", c_int)]


class BenchResult(Structure):
    _fields_ = [("train_rows_per_s", c_double), ("train_gflops", c_double),
                ("sgemm_gflops", c_double), ("sample_rows_per_s", c_double),
                ("peak_rss_mb", c_double), ("nparams", c_size_t)]


# the public structs this module mirrors, by their C names (checked with mcr_sizeof on load)
STRUCTS = {"mcr_rng": Rng, "mcr_csv_options": CsvOptions, "mcr_sim_config": SimConfig,
           "mcr_fit_config": FitConfig, "mcr_sample_config": SampleConfig,
           "mcr_augment_config": AugmentConfig, "mcr_augment_result": AugmentResult,
           "mcr_metrics": Metrics, "mcr_fairness": Fairness, "mcr_colfid": ColFid,
           "mcr_pairfid": PairFid, "mcr_assess_config": AssessConfig,
           "mcr_eval_config": EvalConfig, "mcr_eval_cell": EvalCell,
           "mcr_eval_info_t": EvalInfo, "mcr_bench_result": BenchResult}

# ------------------------------------------------------------------------------ symbols
P = c_void_p            # an opaque handle (mcr_table *, mcr_model *, FILE *, ...)
PP = POINTER(c_void_p)  # a handle returned through **out
S = c_char_p
I, Z, D, F = c_int, c_size_t, c_double, c_float
PZ, PI, PD = POINTER(c_size_t), POINTER(c_int), POINTER(c_double)

# name: (restype, argtypes) for every function of mcrage.h
SIGNATURES = {
    "mcr_strerror": (S, [I]), "mcr_last_error": (S, []), "mcr_version": (S, []),
    "mcr_sizeof": (Z, [S]), "mcr_set_threads": (None, [I]), "mcr_get_threads": (I, []),
    "mcr_rng_seed": (None, [POINTER(Rng), c_uint64, c_uint64]),
    "mcr_rng_u64": (c_uint64, [POINTER(Rng)]), "mcr_rng_uniform": (D, [POINTER(Rng)]),
    "mcr_rng_below": (c_uint64, [POINTER(Rng), c_uint64]), "mcr_rng_normal": (D, [POINTER(Rng)]),
    "mcr_coltype_name": (S, [I]),
    "mcr_csv_options_default": (None, [POINTER(CsvOptions)]),
    "mcr_table_read_csv": (I, [S, POINTER(CsvOptions), PP]),
    "mcr_table_read_csv_part": (I, [S, POINTER(CsvOptions), PP]),
    "mcr_table_read_csv_mem": (I, [c_char_p, Z, S, POINTER(CsvOptions), PP]),
    "mcr_table_write_csv": (I, [P, S]), "mcr_table_write_csv_stream": (I, [P, P]),
    "mcr_table_free": (None, [P]), "mcr_table_slice": (I, [P, Z, Z, PP]),
    "mcr_table_nrows": (Z, [P]), "mcr_table_ncols": (I, [P]), "mcr_table_colname": (S, [P, I]),
    "mcr_table_coltype": (I, [P, I]), "mcr_table_find": (I, [P, S]),
    "mcr_table_num": (D, [P, Z, I]), "mcr_table_cat": (I, [P, Z, I]),
    "mcr_table_nlevels": (I, [P, I]), "mcr_table_level": (S, [P, I, I]),
    "mcr_table_level_find": (I, [P, I, S]), "mcr_table_nmissing": (Z, [P, I]),
    "mcr_table_source": (S, [P]), "mcr_table_decimals": (I, [P, I]),
    "mcr_table_identifiers": (I, [P, PI]), "mcr_identifier_reason": (S, [I]),
    "mcr_identifier_name": (I, [S]),
    "mcr_table_new": (I, [Z, PP]),
    "mcr_table_add_numeric": (I, [P, S, c_void_p, I, c_ssize_t, I, I]),
    "mcr_table_add_categorical": (I, [P, S, c_void_p, c_ssize_t, POINTER(c_char_p), I]),
    "mcr_table_get_numeric": (I, [P, I, c_void_p, I, c_ssize_t]),
    "mcr_table_get_codes": (I, [P, I, c_void_p, c_ssize_t]),
    "mcr_encoder_fit": (I, [P, PI, I, PZ, Z, I, PP]), "mcr_encoder_free": (None, [P]),
    "mcr_encoder_width": (I, [P]), "mcr_encoder_transform": (I, [P, P, PZ, Z, PD]),
    "mcr_encoder_inverse": (I, [P, PD, Z, P, PZ]),
    "mcr_sim_config_default": (None, [POINTER(SimConfig)]),
    "mcr_simulate": (I, [POINTER(SimConfig), PP]), "mcr_sim_ngroups": (I, []),
    "mcr_sim_group_name": (S, [I]), "mcr_sim_counts": (None, [POINTER(SimConfig), PZ, PZ]),
    "mcr_describe_compute": (I, [P, S, S, PP]), "mcr_describe_print": (I, [P, P]),
    "mcr_describe_write_json": (I, [P, P]), "mcr_describe_minority": (S, [P]),
    "mcr_describe_free": (None, [P]), "mcr_describe": (I, [P, S, S, I, P]),
    "mcr_fit_config_default": (None, [POINTER(FitConfig)]),
    "mcr_fit_identifiers": (I, [P, POINTER(FitConfig), PI]),
    "mcr_model_fit": (I, [P, PZ, Z, POINTER(FitConfig), PP]), "mcr_model_free": (None, [P]),
    "mcr_sample_config_default": (None, [POINTER(SampleConfig)]),
    "mcr_model_condition": (I, [P, POINTER(c_char_p), POINTER(c_char_p)]),
    "mcr_model_ncond": (I, [P]), "mcr_model_cond_name": (S, [P, I]),
    "mcr_model_cond_find": (I, [P, S]), "mcr_model_cond_count": (Z, [P, I]),
    "mcr_model_sample": (I, [P, PZ, POINTER(SampleConfig), PP]),
    "mcr_model_save": (I, [P, S]), "mcr_model_progress": (None, [P, PI, PI]),
    "mcr_model_load": (I, [S, PP]), "mcr_model_load_mem": (I, [c_char_p, Z, S, PP]),
    "mcr_model_inspect": (I, [P, P]), "mcr_model_nparams": (Z, [P]),
    "mcr_model_final_loss": (F, [P]),
    "mcr_model_loss_curve": (POINTER(c_float), [P, PI, PI]),
    "mcr_augment_config_default": (None, [POINTER(AugmentConfig)]),
    "mcr_aug_method_name": (S, [I]), "mcr_aug_method_parse": (I, [S, PI]), "mcr_auto_metric_parse": (I, [S, PI]),
    "mcr_auto_metric_name": (S, [I]), "mcr_auto_result_free": (None, [P]),
    "mcr_auto_choose": (I, [P, PZ, Z, POINTER(AugmentConfig), PP]),
    "mcr_auto_point_label": (None, [P, c_char_p, Z]), "mcr_auto_print": (I, [P, S, P]),
    "mcr_auto_write_json": (I, [P, P]),
    "mcr_augment_run": (I, [P, PZ, Z, POINTER(AugmentConfig), POINTER(POINTER(AugmentResult))]),
    "mcr_augment_result_free": (None, [POINTER(AugmentResult)]),
    "mcr_augment_print": (I, [POINTER(AugmentResult), S, S, P]),
    "mcr_augment_write_json": (I, [POINTER(AugmentResult), S, S, P]),
    "mcr_sample_counts": (I, [P, S, S, Z, PZ]),
    "mcr_augment": (I, [P, PZ, Z, POINTER(AugmentConfig), PP, PZ]),
    "mcr_metrics_compute": (I, [PI, PD, Z, I, I, POINTER(Metrics)]),
    "mcr_calibration": (None, [PD, PI, Z, PD, PD, PD]),
    "mcr_auroc": (D, [PD, PI, Z]), "mcr_average_precision": (D, [PD, PI, Z]),
    "mcr_fairness_compute": (I, [PI, PD, PI, Z, I, I, I, POINTER(Metrics), POINTER(Fairness)]),
    "mcr_write_file_atomic": (I, [S, c_char_p, Z]),
    "mcr_json_string": (None, [P, S]), "mcr_json_number": (None, [P, D]),
    "mcr_fidelity_columns": (I, [P, P, S, S, POINTER(POINTER(ColFid)), PI]),
    "mcr_fidelity_pairs": (I, [P, P, S, S, POINTER(POINTER(PairFid)), PI]),
    "mcr_assess_config_default": (None, [POINTER(AssessConfig)]),
    "mcr_assess": (I, [P, P, POINTER(AssessConfig), PP]),
    "mcr_assess_nscopes": (I, [P]), "mcr_assess_scope_at": (P, [P, I]),
    "mcr_assess_minority": (P, [P]), "mcr_assess_nutility": (I, [P]),
    "mcr_assess_utility_note": (S, [P]), "mcr_assess_utility_at": (P, [P, I]),
    "mcr_assess_nclasses": (I, [P]), "mcr_assess_real_left_out": (Z, [P]),
    "mcr_assess_class_name": (S, [P, I]),
    "mcr_assess_columns": (POINTER(ColFid), [P, I, PI]), "mcr_assess_print": (I, [P, P]),
    "mcr_assess_baseline": (P, [P, I]), "mcr_assess_scope_find": (P, [P, S, S]),
    "mcr_assess_reading": (S, [I, D]), "mcr_assess_reading_interval": (S, [I, D, D, D]), "mcr_assess_write_json": (I, [P, P]),
    "mcr_assess_free": (None, [P]),
    "mcr_clf_kind_name": (S, [I]), "mcr_clf_kind_parse": (I, [S, PI]),
    "mcr_eval_config_default": (None, [POINTER(EvalConfig)]),
    "mcr_evaluate": (I, [P, P, POINTER(EvalConfig), PP]), "mcr_eval_print": (I, [P, P]),
    "mcr_eval_write_json": (I, [P, S]), "mcr_eval_free": (None, [P]),
    "mcr_eval_cells": (I, [P, POINTER(POINTER(EvalCell)), PI]),
    "mcr_eval_col_label": (S, [I]), "mcr_eval_verdict": (I, [P, I, c_char_p, Z]),
    "mcr_eval_verdict_method": (I, [P, I, I, c_char_p, Z]), "mcr_eval_auto": (P, [P, I]),
    "mcr_eval_reliability": (I, [P, I, I, PD, PD, PZ]), "mcr_eval_col_lower_better": (I, [I]),
    "mcr_eval_info": (None, [P, POINTER(EvalInfo)]),
    "mcr_eval_example": (I, [P, PP, PP, PP, PI, PP]),
    "mcr_report_new": (I, [S, PP]), "mcr_report_free": (None, [P]),
    "mcr_report_text": (None, [P, S, S]), "mcr_report_dataset": (I, [P, S, P, S, S]),
    "mcr_report_balance": (I, [P, S, P, P, P, S, S]), "mcr_report_eval": (I, [P, P]),
    "mcr_report_loss": (I, [P, S, POINTER(c_float), I, I]),
    "mcr_report_distributions": (I, [P, S, P, P, S, S]), "mcr_report_assess": (I, [P, S, P]),
    "mcr_report_finish": (I, [P, P, P, P, S, S, S]),
    "mcr_report_augment": (I, [P, POINTER(AugmentResult), POINTER(AugmentConfig), S,
                               PROGRESS_MSG, c_void_p, PP]),
    "mcr_report_evaluate": (I, [P, P, POINTER(EvalConfig), S, PROGRESS_MSG, c_void_p, PP]),
    "mcr_report_fidelity": (I, [P, P, P, S, S, S, PP]), "mcr_report_ncharts": (I, [P]),
    "mcr_report_write": (I, [P, S]),
    "mcr_bench_denoiser": (I, [I, PI, I, I, I, I, POINTER(BenchResult)]),
    # 12. images
    "mcr_imageset_read": (I, [S, PP]), "mcr_imageset_read_npz_mem": (I, [c_char_p, Z, S, PP]),
    "mcr_imageset_free": (None, [P]), "mcr_imageset_dims": (None, [P, PI, PI, PI, PI]),
    "mcr_imageset_pixels": (POINTER(ctypes.c_uint8), [P]), "mcr_imageset_label": (I, [P, I]),
    "mcr_imageset_attr": (I, [P, I]), "mcr_imageset_split": (ctypes.c_char, [P, I]),
    "mcr_imageset_nlabels": (I, [P]), "mcr_imageset_nattrs": (I, [P]),
    "mcr_imageset_label_name": (S, [P, I]), "mcr_imageset_attr_name": (S, [P, I]),
    "mcr_imageset_counts": (Z, [P, ctypes.c_char, PZ]), "mcr_imageset_describe": (I, [P, I, P]),
    "mcr_image_write_png": (I, [S, POINTER(ctypes.c_uint8), I, I, I]),
    "mcr_imageset_write_grid": (I, [P, S, I, ctypes.c_char, PI]),
    "mcr_imageset_write_npz": (I, [P, S]), "mcr_imageset_write_dir": (I, [P, S]),
    # 12b. the image model (mcr_ifit_config / mcr_isample_config not mirrored yet: passed as P)
    "mcr_ifit_config_default": (None, [P]), "mcr_imodel_fit": (I, [P, P, PP]),
    "mcr_imodel_free": (None, [P]), "mcr_imodel_save": (I, [P, S]), "mcr_imodel_load": (I, [S, PP]),
    "mcr_imodel_inspect": (I, [P, P]), "mcr_imodel_nparams": (Z, [P]),
    "mcr_imodel_final_loss": (c_float, [P]), "mcr_imodel_progress": (None, [P, PI, PI]),
    "mcr_imodel_nlabels": (I, [P]), "mcr_imodel_nattrs": (I, [P]),
    "mcr_imodel_label_name": (S, [P, I]), "mcr_imodel_attr_name": (S, [P, I]),
    "mcr_imodel_is_file": (I, [S]), "mcr_imodel_counts_parse": (I, [P, S, PZ]),
    "mcr_imodel_counts_policy": (I, [P, I, Z, PZ]),
    "mcr_isample_config_default": (None, [P]), "mcr_imodel_sample": (I, [P, PZ, P, PP]),
    # 12c. the image classifier and the quality protocol (configs not mirrored yet: passed as P)
    "mcr_cnn_config_default": (None, [P]),
    "mcr_cnn_fit_u8": (I, [P, POINTER(ctypes.c_uint8), PI, Z, I, I, I, I, PP]),
    "mcr_cnn_fit": (I, [P, POINTER(c_float), PI, Z, I, I, I, I, PP]),
    "mcr_cnn_predict_proba_u8": (I, [P, POINTER(ctypes.c_uint8), Z, PD]),
    "mcr_cnn_predict_proba": (I, [P, POINTER(c_float), Z, PD]),
    "mcr_cnn_nparams": (Z, [P]), "mcr_cnn_nclasses": (I, [P]), "mcr_cnn_final_loss": (c_float, [P]),
    "mcr_cnn_free": (None, [P]),
    "mcr_iquality_config_default": (None, [P]), "mcr_image_quality": (I, [P, P, P, PP]),
    "mcr_iquality_print": (I, [P, P]), "mcr_iquality_write_json": (I, [P, P]),
    "mcr_iquality_free": (None, [P]),
    # 12d. the sites benchmark and RandAugment (configs and results not mirrored yet: passed as P)
    "mcr_sites_count": (I, []), "mcr_sites_spec": (P, [I]), "mcr_sites_config_default": (None, [P]),
    "mcr_sites_build": (I, [P, P, PP, POINTER(PI)]), "mcr_sites_print": (I, [P, P]),
    "mcr_site_apply": (I, [P, POINTER(ctypes.c_uint8), Z, I, I, I, POINTER(Rng)]),
    "mcr_image_stats": (None, [POINTER(ctypes.c_uint8), Z, I, I, I, PD, PD, PD]),
    "mcr_sites_run_check": (I, [P, PI, P, P]),
    "mcr_randaug_config_default": (None, [P]),
    "mcr_randaugment": (I, [P, POINTER(ctypes.c_uint8), POINTER(ctypes.c_uint8), Z, Z, I, I, I]),
    "mcr_imageset_randaugment": (I, [P, P, I, ctypes.c_char, PP]),
    # 12e. image evaluation (the config not mirrored yet: passed as P)
    "mcr_ieval_config_default": (None, [P]), "mcr_image_evaluate": (I, [P, P, PP]),
    "mcr_ieval_print": (I, [P, P]), "mcr_ieval_write_json": (I, [P, P]), "mcr_ieval_free": (None, [P]),
    "mcr_ieval_report": (I, [P, P, S, PP]),
    # 13. processes (MPI): a Python process is one rank of 1 unless started by mpirun
    "mcr_dist_init": (I, [P, P]), "mcr_dist_rank": (I, []), "mcr_dist_size": (I, []),
    "mcr_dist_agree": (I, [I]), "mcr_dist_abort": (None, [I]), "mcr_dist_finalize": (I, [I]),
    "mcr_bench_denoiser_ex": (I, [I, PI, I, I, I, I, I, I, I, POINTER(BenchResult)]),
    "mcr_bench_unet": (I, [I, I, I, I, I, I, I, P]),  # mcr_ibench_result not mirrored: P
    "mcr_bench_unet_engine": (I, [I, I, I, I, I, I, I, I, P]),
    "mcr_cpu_has_bf16": (I, []),
}


def _candidates():
    env = os.environ.get("MCRAGE_LIB")
    if env:
        return [env]  # an explicit choice is not second-guessed
    here = os.path.dirname(os.path.abspath(__file__))
    out = [os.path.join(here, "libmcrage.so"),
           os.path.join(here, os.pardir, os.pardir, "build", "rel", "libmcrage.so")]
    found = ctypes.util.find_library("mcrage")
    if found:
        out.append(found)
    return out


def _blas_kernel():
    """Pick OpenBLAS's kernel as the mcrage CLI does (see cli_blas_fast_path in src/cli/common.c),
    before the library (and with it OpenBLAS) is loaded: on a CPU with AVX-512, SkylakeX in place
    of the AVX2 kernels (Haswell, Zen: half the sgemm rate), unless MCRAGE_BLAS_CORETYPE=keep;
    MCRAGE_BLAS_CORETYPE=NAME forces NAME. Same kernel, same thread count: the CLI's numbers."""
    pref = os.environ.get("MCRAGE_BLAS_CORETYPE", "auto")
    if pref == "keep":
        return
    if pref != "auto":
        os.environ["OPENBLAS_CORETYPE"] = pref
        return
    if os.environ.get("OPENBLAS_CORETYPE", "haswell").lower() not in ("haswell", "zen"):
        return  # a kernel chosen on purpose
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    except OSError:
        return
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= set(flags):
        os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"


def blas_info(handle=None):
    """(kernel, threading) of the OpenBLAS libmcrage runs on: threading "openmp" (the build
    libmcrage is linked with), "pthreads" or "sequential"."""
    h = handle or lib
    try:
        core, par = h.openblas_get_corename, h.openblas_get_parallel
    except AttributeError:
        return None, None
    core.restype, core.argtypes, par.restype, par.argtypes = c_char_p, [], c_int, []
    return core().decode(), {0: "sequential", 1: "pthreads", 2: "openmp"}.get(par(), "?")


def _blas_check(handle):
    """numpy imported before mcrage has loaded its own OpenBLAS (Debian's default, the pthreads
    build) under the same soname, and libmcrage then runs on that one: its threads contend
    with OpenMP's (slower), and its kernel may not be the CLI's (last bits differ). Say so."""
    core, threading = blas_info(handle)
    if threading not in (None, "openmp"):
        import warnings
        warnings.warn(f"mcrage: libmcrage runs on an OpenBLAS built for {threading} "
                      f"(kernel {core}), loaded before mcrage (by numpy or scipy): import mcrage "
                      "before numpy for the OpenMP build it is made for (faster training, the "
                      "CLI's exact numbers)", RuntimeWarning, stacklevel=4)


def _load():
    _blas_kernel()
    errors = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            errors.append(f"{path}: no such file")
            continue
        try:
            handle = ctypes.CDLL(path)
        except OSError as e:
            errors.append(f"{path}: {e}")
            continue
        handle._mcrage_path = os.path.abspath(path) if os.path.sep in path else path
        _blas_check(handle)
        return handle
    raise ImportError("mcrage: libmcrage.so not found; build it with `make` in the repository, or "
                      "set MCRAGE_LIB to its path. Tried: " + "; ".join(errors))


def _declare(handle):
    for name, (restype, argtypes) in SIGNATURES.items():
        try:
            fn = getattr(handle, name)
        except AttributeError:
            raise ImportError(f"mcrage: {handle._mcrage_path} has no symbol {name}: "
                              "the library is older than this package") from None
        fn.restype = restype
        fn.argtypes = argtypes
    version = handle.mcr_version().decode()
    if version.split(".")[:2] != VERSION.split(".")[:2]:
        raise ImportError(f"mcrage: {handle._mcrage_path} is version {version}; this package "
                          f"needs {VERSION.rsplit('.', 1)[0]}.x")
    for cname, py in STRUCTS.items():
        size = handle.mcr_sizeof(cname.encode())
        if size != ctypes.sizeof(py):
            raise ImportError(f"mcrage: struct {cname} is {size} bytes in "
                              f"{handle._mcrage_path} but {ctypes.sizeof(py)} in this package: "
                              "library and package do not match")
    return handle


lib = _declare(_load())
