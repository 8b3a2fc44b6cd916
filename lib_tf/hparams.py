"""Hyper-parameter files: plain JSON dicts of LabelEnhancer constructor arguments, validated.

Written by ``lib-tf tune`` (``best_hparams.json``), read by ``lib-tf enhance --hparams`` and
``lib-tf export --hparams``; :func:`preset_params` reads the shipped ``presets.json``.
"""
from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

from .presets import PRESETS_FILE, load_presets, preset_hparams  # noqa: F401 (PRESETS_FILE, load_presets: re-exported)


def _enhancer_arguments(enhancer_class=None):
    if enhancer_class is None:
        from .enhancer import LabelEnhancer as enhancer_class
    return [p for p in inspect.signature(enhancer_class.__init__).parameters if p != "self"]


_POSITIVE_FLOATS = ("temperature", "learning_rate")
_NON_NEGATIVE_FLOATS = ("alpha", "beta")
_POSITIVE_INTS = ("batch_size", "latent_dim", "hidden_units", "depth")


def validate_hparams(params, enhancer_class=None) -> dict:
    """Check a dict of LabelEnhancer constructor arguments and return a clean copy.

    Unknown names, wrong types and out-of-range values raise ValueError with the name.
    """
    if not isinstance(params, dict):
        raise ValueError(f"hyper-parameters must be a JSON object (a dict of LabelEnhancer arguments), got {type(params).__name__}")
    known = _enhancer_arguments(enhancer_class)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"unknown LabelEnhancer arguments {unknown}; known: {known}")
    clean = {}
    for name, value in params.items():
        if name in _POSITIVE_FLOATS + _NON_NEGATIVE_FLOATS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if value < 0 or (name in _POSITIVE_FLOATS and value == 0):
                raise ValueError(f"{name} must be {'positive' if name in _POSITIVE_FLOATS else 'non-negative'}, got {value!r}")
            value = float(value)
        elif name in _POSITIVE_INTS or name == "epochs":
            if value is None and name == "epochs":
                pass
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer{' or null' if name == 'epochs' else ''}, got {value!r}")
        elif name in ("seed",):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"seed must be an integer or null, got {value!r}")
        clean[name] = value
    return clean


def save_hparams(params: dict, path) -> Path:
    """Write LabelEnhancer arguments as a plain JSON dict (validated first)."""
    path = Path(path)
    clean = validate_hparams(params)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean, indent=2, sort_keys=True) + "\n")
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


def preset_params(name: str) -> dict:
    """LabelEnhancer arguments of the shipped preset ``name`` (e.g. ``"SJAFFE"``), validated."""
    return validate_hparams(preset_hparams(name))

