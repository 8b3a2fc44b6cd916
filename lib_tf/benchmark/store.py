"""The benchmark's append-only store of finished runs, and the log of the commands that made them.

A run is one fit of one method at one parameter set and seed on one data set, scored for
every read-out of the method (``runs.jsonl``, one JSON object per line):

- ``readouts``: the read-out names, in the method's search order;
- ``all``: the six measures (``METRIC_NAMES`` order) of every read-out on all instances;
- ``revealed_selection``: the selection metric of every read-out on the revealed share;
- ``blind_pick``: the read-out best on the revealed share (ties to the first), and its six
  measures on the revealed share (``revealed``) and on the other instances (``hidden``).

Finished runs can be packed into ``runs.jsonl.gz`` beside it (:func:`archive_runs`: the same
lines, gzip-compressed, about a quarter of the size), which the store reads first and never
writes; new runs are still appended to ``runs.jsonl``.

That is what the three protocols read: ``paper`` and ``zero-truth`` score on all instances,
``blind`` picks on the revealed share and scores on the rest. Measures are stored to six
significant digits (the report prints three decimals).
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Dict, List

import numpy as np

from .._files import append_json_line, read_json_lines, write_atomic
from ..metrics import METRIC_NAMES, score
from ..readout.selection import SELECTION_METRIC, best_candidate

INVOCATIONS_FILE = "invocations.jsonl"


def run_key(method: str, dataset: str, seed: int, params: dict, readouts=None) -> str:
    """The identity of a run; a method's read-out grid is part of it, so a changed grid never
    silently reuses runs scored on the old one."""
    parts = [method, dataset, seed, params] + ([] if readouts is None else [readouts])
    return json.dumps(parts, sort_keys=True)


def _significant(value: float) -> float:
    return float(f"{value:.6g}")


def _measures(D, D_hat) -> List[float]:
    scores = score(D, D_hat)
    return [_significant(scores[m]) for m in METRIC_NAMES]


def score_readouts(D, readouts: Dict[str, np.ndarray], revealed, hidden) -> dict:
    """The run fields for read-outs ``{name: distributions (n, c)}`` against the truth D (n, c)."""
    names = list(readouts)
    selection = METRIC_NAMES.index(SELECTION_METRIC)
    revealed_scores = {name: _measures(D[revealed], readouts[name][revealed]) for name in names}
    blind_pick = best_candidate(names, [revealed_scores[name][selection] for name in names], SELECTION_METRIC)
    return {"readouts": names, "all": [_measures(D, readouts[name]) for name in names],
            "revealed_selection": [revealed_scores[name][selection] for name in names],
            "blind_pick": blind_pick, "revealed": revealed_scores[blind_pick],
            "hidden": _measures(D[hidden], readouts[blind_pick][hidden])}


def _from_first_format(run: dict):
    """A run stored before the read-out grid was part of the key (``by_temperature``: six
    measures per read-out on all, revealed and hidden instances), in today's fields; None
    where a compacted record lacks them (such runs are recomputed under today's keys)."""
    by_readout = run.pop("by_temperature")
    names = list(by_readout)
    try:
        table = {subset: [[by_readout[name][subset][m] for m in METRIC_NAMES] for name in names]
                 for subset in ("all", "revealed", "hidden")}
    except KeyError:
        return None
    selection = METRIC_NAMES.index(SELECTION_METRIC)
    pick = best_candidate(range(len(names)), [row[selection] for row in table["revealed"]], SELECTION_METRIC)
    run.update(readouts=names, all=table["all"], revealed_selection=[row[selection] for row in table["revealed"]],
               blind_pick=names[pick], revealed=table["revealed"][pick], hidden=table["hidden"][pick])
    return run


class RunStore:
    """Append-only JSON-lines file of finished runs, keyed by :func:`run_key`. A line cut off
    by a kill mid-write (the last, without its newline) is not read, and the next append cuts
    it away (:mod:`lib_tf._files`)."""

    def __init__(self, path):
        self.path = Path(path)
        self.runs: Dict[str, dict] = {}
        for run in _read_archive(self.path) + read_json_lines(self.path):
            if "by_temperature" in run:
                run = _from_first_format(run)
                if run is None:
                    continue
            self.runs[run["key"]] = run

    def get(self, key):
        return self.runs.get(key)

    def add(self, run: dict):
        append_json_line(self.path, run)
        self.runs[run["key"]] = run


def _archive_path(path: Path) -> Path:
    return path.with_name(path.name + ".gz")


def _read_archive(path: Path) -> List[dict]:
    archive = _archive_path(path)
    if not archive.is_file():
        return []
    with gzip.open(archive, "rt") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def archive_runs(path) -> Path:
    """Move the runs of the store at ``path`` (``runs.jsonl``) into its archive
    ``runs.jsonl.gz`` (written whole, then the plain file removed); returns the archive."""
    path = Path(path)
    lines = [json.dumps(run) for run in _read_archive(path) + read_json_lines(path)]
    archive = _archive_path(path)
    write_atomic(archive, gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0))
    path.unlink(missing_ok=True)
    return archive


def measures(run: dict, readout: str, subset: str = "all") -> Dict[str, float]:
    """The six measures of ``readout`` in ``run`` on ``subset`` (``all``; or ``revealed`` /
    ``hidden`` for the run's blind pick)."""
    if subset == "all":
        values = run["all"][run["readouts"].index(readout)]
    else:
        if readout != run["blind_pick"]:
            raise KeyError(f"{subset} measures are stored for the blind pick {run['blind_pick']!r} only, not {readout!r}")
        values = run[subset]
    return dict(zip(METRIC_NAMES, values))


def selection_values(run: dict, subset: str) -> List[float]:
    """The selection metric of every read-out of ``run`` on ``all`` or ``revealed`` instances."""
    if subset == "revealed":
        return run["revealed_selection"]
    index = METRIC_NAMES.index(SELECTION_METRIC)
    return [row[index] for row in run["all"]]


def read_invocations(path) -> List[dict]:
    """The commands that computed runs into a results folder, oldest first (one JSON line each)."""
    return read_json_lines(path)
