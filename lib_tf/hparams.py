"""LabelEnhancer's hyper-parameters: the named choices of LIB's settings, their declared
constraints, the JSON files that hold them and the shipped presets (``presets.json``: settings
found by ``lib-tf tune`` per data set).

Below the Keras models (which check their settings against the named choices), ``LabelEnhancer``
(which declares :data:`LABEL_ENHANCER_CONSTRAINTS` as its ``_parameter_constraints`` and reads
presets) and the tuning, export and command-line code that write and read the files, so that
none of them needs another to check or read settings. It imports neither TensorFlow nor
anything of lib_tf but :mod:`lib_tf.base` (the constraints every estimator shares) and
``lib_tf._files``.

A file is a *plain JSON dict of LabelEnhancer constructor arguments* (written by ``lib-tf
tune``, read by ``lib-tf enhance --hparams`` and ``lib-tf export --hparams``). The seed was
once called ``seed``: files and presets holding it still load, with a FutureWarning, as
``random_state``.
"""
from __future__ import annotations

import json
import math
import warnings
from numbers import Integral, Real
from pathlib import Path

from sklearn.utils._param_validation import Interval, Options, StrOptions, validate_parameter_constraints

from ._files import write_atomic
from .base import NON_NEGATIVE_FINITE, POSITIVE_FINITE, POSITIVE_INT, SEED

ASSIGNMENTS = ("squared", "cross_entropy")
GAP_TARGETS = ("logits", "probabilities")
REDUCTIONS = ("mean", "sum")
NETWORK_DTYPES = ("float32", "mixed_bfloat16")
#: The models ``LabelEnhancer`` fits: the paper's LIB, or LIB whose posterior reads the labels too.
MODELS = ("paper", "label-aware")
#: How LabelEnhancer's read-out is set at fit: as the temperatures given, or chosen without truth
#: by the binarisation posterior (:mod:`lib_tf.readout.posterior`).
READOUTS = ("given", "truth-free")

PRESETS_FILE = Path(__file__).resolve().parent / "presets.json"

#: LabelEnhancer's parameters, the one declaration of each: name -> (default, constraints).
#: LabelEnhancer's signature is made from it, ``fit`` and :func:`validate_hparams` check the
#: constraints (scikit-learn's ``_parameter_constraints``), the model factory passes on the
#: ones a model takes, and the export's card and ``settings.json`` record ``get_params()``.
LABEL_ENHANCER_PARAMETERS = {
    "alpha": (0.001, [NON_NEGATIVE_FINITE]),
    "beta": (1.0, [NON_NEGATIVE_FINITE]),
    "temperature": (1.0, [POSITIVE_FINITE]),
    # inf (or None) drops the labels' term of the read-out
    "label_temperature": (None, [None, Interval(Real, 0, None, closed="neither"), Options(Real, {math.inf})]),
    "epochs": (None, [None, POSITIVE_INT]),
    "batch_size": (128, [POSITIVE_INT]),
    "learning_rate": (1e-3, [POSITIVE_FINITE]),
    "latent_dim": (256, [POSITIVE_INT]),
    "hidden_units": (256, [POSITIVE_INT]),
    "depth": (3, [POSITIVE_INT]),
    "head_units": (None, [None, POSITIVE_INT]),
    "activation": ("sigmoid", [str, callable]),
    "assignment": ("squared", [StrOptions(set(ASSIGNMENTS))]),
    "gap_on": ("logits", [StrOptions(set(GAP_TARGETS))]),
    "reduction": ("mean", [StrOptions(set(REDUCTIONS))]),
    "pretrain_epochs": (0, [Interval(Integral, 0, None, closed="left")]),
    "network_dtype": ("float32", [StrOptions(set(NETWORK_DTYPES))]),
    "random_state": (None, [None, SEED]),
    "verbose": (0, [Interval(Integral, 0, 1, closed="both"), "boolean"]),
    "model": ("paper", [StrOptions(set(MODELS))]),
    "rule_projection": (True, ["boolean"]),
    "label_dropout": (0.0, [Interval(Real, 0, 1, closed="left")]),
    "readout": ("given", [StrOptions(set(READOUTS))]),
    "readout_folds": (3, [Interval(Integral, 2, None, closed="left")]),
}
#: The constraints alone (checked by ``LabelEnhancer.fit`` and :func:`validate_hparams`).
LABEL_ENHANCER_CONSTRAINTS = {name: constraints for name, (_, constraints) in LABEL_ENHANCER_PARAMETERS.items()}

#: Former names of LabelEnhancer arguments, still read (with a FutureWarning): old -> new.
DEPRECATED_NAMES = {"seed": "random_state"}


def rename_deprecated(params: dict, where: str = "LabelEnhancer") -> dict:
    """``params`` with each former argument name (:data:`DEPRECATED_NAMES`) replaced by the
    current one, warning (FutureWarning) once per name; order kept, so of an old and a new name
    given together the later one wins."""
    renamed = {}
    for name, value in params.items():
        if name in DEPRECATED_NAMES:
            new = DEPRECATED_NAMES[name]
            warnings.warn(f"{where}: {name!r} is deprecated and will be removed; it is read as {new!r}={value!r} "
                          f"(rename it to {new!r})", FutureWarning, stacklevel=3)
            renamed.pop(new, None)
            name = new
        renamed[name] = value
    return renamed


def _declared(enhancer_class):
    if enhancer_class is None:
        return LABEL_ENHANCER_CONSTRAINTS
    return enhancer_class._parameter_constraints


def validate_hparams(params, enhancer_class=None) -> dict:
    """Check a dict of LabelEnhancer constructor arguments against the declared constraints
    (:data:`LABEL_ENHANCER_CONSTRAINTS`, or ``enhancer_class._parameter_constraints``) and return
    a clean copy: former names renamed (FutureWarning), integral numbers of float arguments as
    floats.

    Unknown names, wrong types (bools included, where a number is meant) and out-of-range
    values raise ValueError naming the argument.
    """
    if not isinstance(params, dict):
        raise ValueError(f"hyper-parameters must be a JSON object (a dict of LabelEnhancer arguments), "
                         f"got {type(params).__name__}")
    constraints = _declared(enhancer_class)
    name = "LabelEnhancer" if enhancer_class is None else enhancer_class.__name__
    params = rename_deprecated(params, where=f"{name} hyper-parameters")
    known = list(constraints)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"unknown {name} arguments {unknown}; known: {known}")
    for key, value in params.items():
        numeric = [c for c in constraints[key] if isinstance(c, Interval)]
        if isinstance(value, bool) and numeric and "boolean" not in constraints[key]:
            raise ValueError(f"the {key!r} parameter of {name} must be a number, got {value!r}")
    validate_parameter_constraints(constraints, params, caller_name=name)  # InvalidParameterError is a ValueError
    clean = {}
    for key, value in params.items():
        floats = any(isinstance(c, Interval) and c.type is Real for c in constraints[key])
        clean[key] = float(value) if floats and isinstance(value, Integral) and not isinstance(value, bool) else value
    return clean


def save_hparams(params: dict, path) -> Path:
    """Write LabelEnhancer arguments as a plain JSON dict (validated first); returns the path."""
    path = Path(path)
    clean = validate_hparams(params)
    write_atomic(path, json.dumps(clean, indent=2, sort_keys=True) + "\n")  # a kill never leaves half a file
    return path


def load_hparams(path) -> dict:
    """Read and validate a JSON file of LabelEnhancer constructor arguments (a plain dict,
    as written by ``lib-tf tune``, or a keras_tuner ``HyperParameters`` config, as a TFX Tuner
    writes); usable as ``LabelEnhancer(**load_hparams(path))``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no hyper-parameter file at {path}")
    try:
        params = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error
    if isinstance(params, dict) and isinstance(params.get("values"), dict) and "space" in params:
        params = params["values"]
    if isinstance(params, dict):
        params = {k: v for k, v in params.items() if "/" not in k}  # tuner bookkeeping such as "tuner/epochs"
    try:
        return validate_hparams(params)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def load_presets(path=PRESETS_FILE) -> dict:
    """All shipped presets: ``{name: {"hparams": {...}, "command": ..., ...}}``, as stored."""
    return json.loads(Path(path).read_text())["presets"]


def preset_hparams(name: str) -> dict:
    """The LabelEnhancer arguments stored for preset ``name`` (e.g. ``"SJAFFE"``), as stored;
    :func:`preset_params` validates them."""
    presets = load_presets()
    if name not in presets:
        raise ValueError(f"no preset named {name!r}; presets: {sorted(presets)}")
    return dict(presets[name]["hparams"])


def preset_params(name: str) -> dict:
    """LabelEnhancer arguments of the shipped preset ``name`` (e.g. ``"SJAFFE"``), validated."""
    return validate_hparams(preset_hparams(name))
