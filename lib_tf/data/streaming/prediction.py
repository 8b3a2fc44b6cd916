"""Prediction shard by shard: any callable from a feature batch (or a batch of features and
logical labels) to an output batch, applied to every shard in file order, one ``.npy`` of
outputs per input shard."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..validation import check_logical_labels
from .readers import shard_dataset
from .shards import PREDICTION_SUFFIX, as_shard_set

def predict_to_shards(predict: Callable, shards, out_dir, batch_size: int = 8192, suffix: str = PREDICTION_SUFFIX,
                      progress: Optional[Callable[[int], None]] = None, labels: bool = False) -> list:
    """Apply ``predict`` (a float32 feature batch -> an output batch (b, k)) to every shard in
    file order and write one ``<stem><suffix>`` float32 ``.npy`` per input shard into
    ``out_dir``; returns the written paths. Memory: one batch (plus, for shards whose row
    count is unknown, nothing more: rows go to a raw file that becomes the ``.npy``).
    ``progress(rows)`` is called after every batch.

    ``labels``: ``predict`` takes the pair ``(features, logical_labels)`` of each batch (a
    read-out that reads the labels); the labels are checked first (0 or 1, a 1 in every row:
    a ``ValueError`` names the shard and its row)."""
    shards = as_shard_set(shards)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path, stem in zip(shards.paths, shards.stems()):
        target = out_dir / f"{stem}{suffix}"
        raw = out_dir / f".{stem}{suffix}.part"
        rows, width = 0, None
        with open(raw, "wb") as sink:
            # checked here, not in the reader: a ValueError naming the shard's row, for the CLI
            for batch in shard_dataset(shards, batch_size, labels=labels, files=[path], check_labels=False):
                if labels:
                    check_logical_labels(batch[1].numpy(), f"logical_labels of {path}", first_row=rows)
                output = np.ascontiguousarray(np.asarray(predict(batch), dtype=np.float32))
                if width is None:
                    width = output.shape[1]
                sink.write(output.tobytes())
                rows += output.shape[0]
                if progress is not None:
                    progress(output.shape[0])
        _raw_to_npy(raw, target, rows, width or 0)
        written.append(str(target))
    return written


def _raw_to_npy(raw: Path, target: Path, rows: int, width: int, block_bytes: int = 1 << 24):
    """Prefix the float32 rows in ``raw`` with an .npy header (copied in blocks)."""
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as out, open(raw, "rb") as src:
        np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False, "shape": (rows, width)})
        while True:
            block = src.read(block_bytes)
            if not block:
                break
            out.write(block)
    os.replace(tmp, target)
    raw.unlink()


def read_prediction_shards(paths, mmap: bool = True) -> np.ndarray:
    """Concatenate prediction shards (small outputs / tests); ``mmap`` opens each lazily."""
    return np.concatenate([np.load(p, mmap_mode="r" if mmap else None) for p in paths])

