"""Train LIB on a data set and export it as a new SavedModel version for TensorFlow Serving:
what ``lib-tf export`` runs (the SavedModel itself: :mod:`lib_tf.export`)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .contract import DEFAULT_FEATURE_KEY
from .enhancer import LABEL_AWARE_DEFAULTS, LabelEnhancer
from .export import export
from .export.card import reproducible_build
from .export.versions import VersionExistsError, next_version, remove_abandoned_staging
from .export.writer import folder_size
from .metrics import score


@dataclass
class Published:
    """What :func:`train_and_export` wrote.

    Attributes
    ----------
    path : Path
        The version folder (``<base>/<version>``).
    metrics : dict or None
        The six measures of the training set's recovery (None without ground truth).
    train_seconds, export_seconds : float
        Wall times of the training and of the export.
    size_bytes : int
        Bytes of the version folder.
    """

    path: Path
    metrics: Optional[dict]
    train_seconds: float
    export_seconds: float
    size_bytes: int


def train_and_export(dataset, base_dir, params: dict, *, model: str = "paper", version: Optional[int] = None,
                     feature_key=DEFAULT_FEATURE_KEY, label_names=None, verbose: int = 0) -> Published:
    """Fit a LabelEnhancer on ``dataset`` and export it as a new version under ``base_dir``.

    Parameters
    ----------
    dataset : lib_tf.LDLDataset
        Features (n, d), logical labels (n, c), optionally ground truth (n, c).
    base_dir : path
        Model base folder (TF Serving's ``--model_base_path``). A killed export's leftovers
        in it are removed first.
    params : dict
        LabelEnhancer arguments on top of the model's shipped settings (``random_state`` 0 unless given).
    model : {"paper", "label-aware"}
        Which model; ``"label-aware"`` starts from :data:`lib_tf.enhancer.LABEL_AWARE_DEFAULTS`.
    version : int, optional
        Version number (default: the next free one). An existing version is never
        overwritten.
    feature_key : str or list of str
        ``tf.Example`` key(s) of the features for the ``serving_examples`` signature.
    label_names : list of str, optional
        c label names for the model card.
    verbose : int
        0 silent, 1 a progress bar over the epochs.

    Returns
    -------
    Published
    """
    base_dir = Path(base_dir)
    remove_abandoned_staging(base_dir)  # before anything can fail: a killed run's leftovers go at once
    if version is not None and version < 1:
        raise ValueError(f"--version must be a positive integer, got {version}")
    version = version or next_version(base_dir)
    if (base_dir / str(version)).exists():
        raise ValueError(f"version {version} already exists at {base_dir / str(version)}; versions are never "
                         f"overwritten (the next free one is {next_version(base_dir)})")
    if label_names is not None and len(label_names) != dataset.n_labels:
        raise ValueError(f"--label-names has {len(label_names)} names but {dataset.name} has {dataset.n_labels} labels")
    shipped = LABEL_AWARE_DEFAULTS if model == "label-aware" else {}
    enhancer = LabelEnhancer(random_state=0, **shipped).set_params(**params)  # unknown names: a clear ValueError
    enhancer.set_params(verbose=verbose)
    start = time.perf_counter()
    enhancer.fit(dataset.features, dataset.logical_labels)
    trained = time.perf_counter() - start
    metrics = None
    if dataset.distributions is not None:
        metrics = {name: float(value) for name, value in score(dataset.distributions, enhancer.distributions_).items()}
    start = time.perf_counter()
    try:
        path = export(enhancer, base_dir, version, feature_key=feature_key, label_names=label_names,
                      data_name=dataset.name, metrics=metrics,
                      # the wall time differs on every run: left out of a reproducible build's card
                      card_extra={"n_train": dataset.n_instances,
                                  **({} if reproducible_build() else {"train_seconds": round(trained, 2)})})
    except VersionExistsError as error:
        raise ValueError(str(error)) from None
    return Published(path, metrics, trained, time.perf_counter() - start, folder_size(path))
