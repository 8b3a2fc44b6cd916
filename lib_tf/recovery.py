"""Recover the label distributions of a data set or of on-disk shards and write them to a
folder: what ``lib-tf enhance`` runs, whichever way it trains.

Training: :class:`lib_tf.LabelEnhancer` for data in memory (the paper's LIB or the label-aware
model, optionally with the read-out picked on a revealed share of the ground truth), or
:func:`lib_tf.distribute.train_distributed` for shards and for any ``tf.distribute`` strategy
(either model, checkpointed so that a killed run resumes; read out at the settings'
temperatures: a ``readout="truth-free"`` setting, as :meth:`LabelEnhancer.label_aware` gives,
is recorded as ``"given"``, since that choice is an in-memory fit of its own).

The folder holds ``settings.json`` (one shape for both: :data:`SETTINGS_KEYS`) and either
``distributions.npy`` + ``distributions.csv`` (data in memory) or ``predictions/`` with one
``<stem>.distributions.npy`` per input shard. A finished result is marked by the file written
last: ``distributions.npy`` when there is one, else ``settings.json``. The marker is removed
first when a result is replaced and every file is written whole, so a kill at any moment
never leaves a folder that looks finished but is not (a rerun computes it again), and a
finished result is never replaced unless asked.
"""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from ._files import save_npy_atomic, write_atomic
from ._version import __version__
from .baselines.reference import label_shares, label_softmax
from .data import LDLDataset, split_instances
from .data.streaming.shards import as_shard_set
from .distribute import predict_streaming, train_distributed, worker_role
from .enhancer import LabelEnhancer
from .metrics import score
from .readout.selection import select_label_softmax_without_truth, select_readout

DISTRIBUTIONS_FILE = "distributions.npy"
SETTINGS_FILE = "settings.json"
PREDICTIONS_FOLDER = "predictions"
#: The keys of ``settings.json`` besides LabelEnhancer's parameters (``get_params()`` less
#: ``verbose``), the same whichever way the model was trained (None where they do not apply).
SETTINGS_KEYS = ("epochs_run", "train_seconds", "final_loss", "data", "source", "n", "d", "c", "reveal", "n_revealed",
                 "readout_choice",
                 "strategy", "replicas", "workers", "metrics", "prediction_shards", "predict_seconds",
                 "lib_tf_version")


@dataclass
class Recovery:
    """What :func:`recover_to_folder` did.

    Attributes
    ----------
    settings : dict or None
        The contents of ``settings.json`` (None on a worker that is not the chief: it
        trains and writes nothing).
    files : list of Path
        The files written, the marker of the finished result last.
    seconds : float
        Wall time of the training.
    """

    settings: Optional[dict]
    files: list = field(default_factory=list)
    seconds: float = 0.0


def result_marker(out, streamed: bool) -> Path:
    """The file that marks a finished result in ``out``: ``settings.json`` for shards (whose
    distributions are prediction shards), else ``distributions.npy``."""
    return Path(out) / (SETTINGS_FILE if streamed else DISTRIBUTIONS_FILE)


def check_free(out, streamed: bool, overwrite: bool = False) -> None:
    """Raise ValueError if ``out`` holds a finished result and ``overwrite`` is False."""
    marker = result_marker(out, streamed)
    if marker.exists() and not overwrite:
        raise ValueError(f"--out {out} already holds a finished result ({marker.name}); "
                         "choose another folder or pass --overwrite")


def reference_rows(distributions, logical_labels, temperature: float) -> list:
    """The references a recovery is compared with, scored against the ground truth.

    Parameters
    ----------
    distributions : ndarray, shape (n, c)
        Ground truth.
    logical_labels : ndarray, shape (n, c)
        0/1 labels of the same instances.
    temperature : float
        T of the ``softmax(l / T)`` reference.

    Returns
    -------
    list of (str, dict)
        ``("l / sum(l)", metrics)`` and ``("softmax(l / T)", metrics)``.
    """
    return [("l / sum(l)", score(distributions, label_shares(logical_labels))),
            (f"softmax(l / {temperature:g})", score(distributions, label_softmax(logical_labels, temperature)))]


def _check(data, reveal: float, with_labels: bool, figure: bool, distributed: bool) -> None:
    """Refuse settings that cannot work together, before anything is trained (the messages
    name ``lib-tf enhance``'s flags, the way this function is mostly reached)."""
    if distributed:
        if reveal:
            raise ValueError("--reveal is not available with --input/--strategy (it needs ground truth in memory)")
        return
    if not 0 <= reveal < 1:
        raise ValueError(f"--reveal must lie in [0, 1), got {reveal}")
    if reveal and data.distributions is None:
        raise ValueError("--reveal needs ground-truth distributions (a .mat data set or --distributions)")
    if with_labels and not reveal:
        raise ValueError("--with-labels picks its two temperatures on revealed ground truth: give --reveal too")
    if figure and (data.n_labels != 3 or data.distributions is None):
        raise ValueError("--figure draws the toy picture: it needs 3 labels and ground truth")


@dataclass
class _Trained:
    """What :func:`_train` hands :func:`recover_to_folder`, whichever way it trained."""

    model: object
    params: dict  # LabelEnhancer's parameters (less verbose), with the read-out in use
    name: str  # the method's name in the metrics: LIB, LIB+l or LA-LIB
    shape: tuple  # (n, d, c) of the training data
    epochs: int
    seconds: float
    history: dict
    distributions: Optional[np.ndarray] = None  # of every instance, for data in memory
    scored: Optional[np.ndarray] = None  # the rows the metrics are on (those not revealed)
    reference_t: float = 1.0  # T of the softmax(l / T) reference
    n_revealed: int = 0
    readout_choice: Optional[dict] = None  # what the truth-free read-out chose, and why
    strategy: str = "default"
    replicas: int = 1
    workers: int = 1
    chief: bool = True

    def facts(self) -> dict:
        """The training's keys of ``settings.json``."""
        loss = self.history.get("loss") or [None]
        return {"epochs_run": self.epochs, "train_seconds": round(self.seconds, 2), "final_loss": loss[-1],
                "n_revealed": self.n_revealed, "readout_choice": self.readout_choice, "strategy": self.strategy,
                "replicas": self.replicas,
                "workers": self.workers}


def _train(data, params: dict, *, reveal: float, with_labels: bool, strategy, backup_dir, verbose: int) -> _Trained:
    """Train as ``lib-tf enhance`` asked: :func:`lib_tf.distribute.train_distributed` for shards or
    a strategy, else a :class:`LabelEnhancer` (the paper's LIB or the label-aware model, its
    read-out picked on the revealed share if any). ``params``: LabelEnhancer's complete
    parameters, less ``verbose``."""
    if not isinstance(data, LDLDataset) or strategy is not None:
        # no truth-free choice here: the model reads out at the settings' temperatures, and the
        # settings say so (so that they refit this result)
        params = {**params, "readout": "given"}
        in_memory = isinstance(data, LDLDataset)
        arrays = {"features": data.features, "logical_labels": data.logical_labels} if in_memory else {}
        trained = train_distributed(params, shards=None if arrays else data, strategy=strategy or "default",
                                    backup_dir=backup_dir, verbose=2 if verbose else 0, **arrays)
        distributions = None
        if arrays and trained.chief:
            inputs = trained.model.inputs_from(np.asarray(data.features, np.float32),
                                               np.asarray(data.logical_labels, np.float32))
            distributions = trained.model.predict(inputs, batch_size=4096, verbose=0)
        shape = (trained.n_instances, trained.n_features, trained.n_labels)
        name = "LA-LIB" if params["model"] == "label-aware" else "LIB"
        return _Trained(trained.model, params, name, shape, trained.epochs, trained.seconds, trained.history,
                        distributions, np.arange(trained.n_instances), params["temperature"], strategy=trained.strategy,
                        replicas=trained.replicas, workers=trained.workers, chief=trained.chief)
    if reveal:  # the revealed truth picks the read-out: no truth-free choice to make first
        params = {**params, "readout": "given"}
    enhancer = LabelEnhancer(**params, verbose=verbose)
    start = time.perf_counter()
    enhancer.fit(data.features, data.logical_labels)
    seconds = time.perf_counter() - start
    scored, revealed = np.arange(data.n_instances), np.arange(0)
    reference_t = enhancer.temperature_
    if params.get("readout") == "truth-free":  # the reference's T chosen the same way, without truth
        reference_t = select_label_softmax_without_truth(data.logical_labels, random_state=params.get("random_state") or 0)
    if reveal:
        revealed, scored = split_instances(data.n_instances, reveal, params.get("random_state"))
        labels = data.logical_labels[revealed] if with_labels or enhancer.model == "label-aware" else None
        enhancer.select_temperature(data.features[revealed], data.distributions[revealed], L=labels)
        reference_t = select_readout(data.logical_labels[revealed], data.distributions[revealed])
    # with the read-out used (select_temperature's choice), so that the settings refit this result
    params = {**params, "temperature": enhancer.temperature_, "label_temperature": enhancer.label_temperature_}
    name = "LA-LIB" if enhancer.model == "label-aware" else "LIB" if enhancer.label_temperature_ is None else "LIB+l"
    shape = (data.n_instances, data.n_features, data.n_labels)
    return _Trained(enhancer.model_, params, name, shape, enhancer.epochs_, seconds, enhancer.history_,
                    enhancer.distributions_, scored, reference_t, n_revealed=len(revealed),
                    readout_choice=getattr(enhancer, "readout_choice_", None))


def _write_distributions(out: Path, data: LDLDataset, trained: _Trained, settings: dict, figure: bool) -> list:
    """``distributions.csv`` (and the toy picture) of data in memory; the metrics into
    ``settings`` where there is ground truth. Returns the files written."""
    recovered, scored = trained.distributions, trained.scored
    if data.distributions is not None:
        D, L = data.distributions[scored], data.logical_labels[scored]
        rows = [(trained.name, score(D, recovered[scored]))] + reference_rows(D, L, trained.reference_t)
        settings["metrics"] = dict(rows)
    csv = io.StringIO()
    np.savetxt(csv, recovered, delimiter=",", fmt="%.6f")
    write_atomic(out / "distributions.csv", csv.getvalue())
    files = [out / "distributions.csv"]
    if figure:
        from .plots import plot_toy_recovery

        files.append(Path(plot_toy_recovery(
            data.features, {"ground truth": data.distributions, "LIB": recovered,
                            "l / sum(l)": label_shares(data.logical_labels)},
            out / "toy_recovery.png", title=f"{data.name}: label distributions as RGB")))
    return files


def _write_predictions(out: Path, shards, trained: _Trained, settings: dict) -> list:
    """The prediction shards of streamed data (their paths into ``settings``); returns them."""
    start = time.perf_counter()
    written = predict_streaming(trained.model, shards, out / PREDICTIONS_FOLDER)
    settings.update(prediction_shards=[str(Path(p).relative_to(out)) for p in written],
                    predict_seconds=round(time.perf_counter() - start, 2))
    return [Path(p) for p in written]


def recover_to_folder(data, out, params: dict, *, reveal: float = 0.0, with_labels: bool = False,
                      strategy: Optional[str] = None, backup_dir=None, figure: bool = False,
                      overwrite: bool = False, source: Optional[str] = None, verbose: int = 0) -> Recovery:
    """Train LIB on ``data``, recover its label distributions and write them to ``out``.

    Parameters
    ----------
    data : LDLDataset, str or ShardSet
        Features (n, d), logical labels (n, c) and optionally ground truth (n, c) in memory,
        or on-disk shards (a glob pattern, paths or a ShardSet; streamed with bounded memory,
        see :mod:`lib_tf.data.streaming`). Under ``"multi-worker"`` give shards as a pattern:
        the strategy must exist before TensorFlow runs anything, and reading TFRecord shards'
        widths does.
    out : path
        Output folder (see the module docstring for its files).
    params : dict
        LabelEnhancer constructor arguments; missing ones take LabelEnhancer's defaults.
    reveal : float
        Share of the instances whose ground truth picks the read-out temperature(s); the
        metrics are then on the other instances (in memory only; 0: none revealed).
    with_labels : bool
        With ``reveal``: read out ``softmax(z / T + l / T_l)``, both temperatures picked on
        the revealed share.
    strategy : {None, "default", "mirrored", "multi-worker"}
        A ``tf.distribute`` strategy: training then goes through
        :func:`lib_tf.distribute.train_distributed` (as it always does for shards).
    backup_dir : path, optional
        Checkpoints of distributed training (default ``<out>/backup``; removed when
        training ends).
    figure : bool
        Also draw the toy picture (3 labels, ground truth in memory).
    overwrite : bool
        Replace a finished result in ``out``.
    source : str, optional
        Where the data came from, for ``settings.json`` (default: the data set's source;
        for shards, their paths).
    verbose : int
        0 silent; otherwise a progress bar (in memory) or Keras' epoch lines (distributed).

    Returns
    -------
    Recovery
        ``settings`` holds LabelEnhancer's parameters and :data:`SETTINGS_KEYS`; ``metrics``
        maps a method's name (``LIB``, ``LIB+l`` or ``LA-LIB``, then the references) to its
        six measures when there is ground truth.
    """
    out = Path(out)
    streamed = not isinstance(data, LDLDataset)
    # complete, with LabelEnhancer's defaults (an unknown name is a ValueError naming it); the
    # verbosity is the caller's, not a setting of the result
    params = {k: v for k, v in LabelEnhancer().set_params(**params).get_params().items() if k != "verbose"}
    _check(data, reveal, with_labels, figure, streamed or strategy is not None)
    if strategy != "multi-worker" or worker_role()[2]:  # the chief (or the only process) writes
        check_free(out, streamed, overwrite)
    trained = _train(data, params, reveal=reveal, with_labels=with_labels, strategy=strategy, verbose=verbose,
                     backup_dir=Path(backup_dir) if backup_dir else out / "backup")
    if not trained.chief:
        return Recovery(None, [], trained.seconds)
    if streamed:
        data = as_shard_set(data)  # after training: the strategy exists by now
    source = source or (", ".join(map(str, data.paths)) if streamed else data.source)
    n, d, c = trained.shape
    settings = {**trained.params, **trained.facts(), "data": source if streamed else data.name or source,
                "source": source, "n": n, "d": d, "c": c, "reveal": reveal, "metrics": None, "prediction_shards": None,
                "predict_seconds": None, "lib_tf_version": __version__}
    out.mkdir(parents=True, exist_ok=True)
    marker = result_marker(out, streamed)
    marker.unlink(missing_ok=True)  # gone while a result is replaced
    if streamed:
        files = _write_predictions(out, data, trained, settings)
    else:
        files = _write_distributions(out, data, trained, settings, figure)
    write_atomic(out / SETTINGS_FILE, json.dumps(settings, indent=2, default=str))
    files.append(out / SETTINGS_FILE)
    if not streamed:
        save_npy_atomic(out / DISTRIBUTIONS_FILE, trained.distributions)  # last: the result is finished
        files.append(out / DISTRIBUTIONS_FILE)
    return Recovery(settings, files, trained.seconds)
