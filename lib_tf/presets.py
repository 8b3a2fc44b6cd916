"""The shipped presets (``presets.json``): settings found by ``lib-tf tune`` per data set.

A module of its own, below both ``LabelEnhancer`` (``from_preset``) and the tuning module
that writes and validates them, so that neither needs the other to read one.
"""
from __future__ import annotations

import json
from pathlib import Path

PRESETS_FILE = Path(__file__).resolve().parent / "presets.json"


def load_presets(path=PRESETS_FILE) -> dict:
    """All shipped presets: ``{name: {"hparams": {...}, "command": ..., ...}}``."""
    return json.loads(Path(path).read_text())["presets"]


def preset_hparams(name: str) -> dict:
    """The LabelEnhancer arguments stored for preset ``name`` (e.g. ``"SJAFFE"``), as stored;
    :func:`lib_tf.tuning.preset_params` validates them."""
    presets = load_presets()
    if name not in presets:
        raise ValueError(f"no preset named {name!r}; presets: {sorted(presets)}")
    return dict(presets[name]["hparams"])
