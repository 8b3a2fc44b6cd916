"""Writing result files so that a process killed at any moment leaves the old file or the
new one, never a part of one that looks finished.

A file is written under a hidden temporary name beside it (``.<name>.<pid>.partial``), flushed
to disk and renamed over the target (``os.replace``: atomic on one file system). A kill leaves
at most that hidden file; the next write of the same target removes the ones whose process is
gone.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Union

PARTIAL_SUFFIX = ".partial"


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine (POSIX; elsewhere assumed alive)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)  # signal 0: an existence check, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _remove_abandoned_partials(target: Path) -> None:
    prefix = f".{target.name}."
    for leftover in target.parent.glob(f"{prefix}*{PARTIAL_SUFFIX}"):
        pid = leftover.name[len(prefix):-len(PARTIAL_SUFFIX)]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            leftover.unlink(missing_ok=True)


def write_atomic(path: Union[str, os.PathLike], data: Union[bytes, str]) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned_partials(target)
    partial = target.with_name(f".{target.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    try:
        with open(partial, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def save_npy_atomic(path: Union[str, os.PathLike], array) -> Path:
    """``numpy.save`` to ``path`` (which should end in ``.npy``), atomically."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return write_atomic(path, buffer.getvalue())


def read_json_lines(path: Union[str, os.PathLike]) -> list:
    """The records of a JSON-lines file, oldest first. A last line without its newline is a
    record cut off by a kill mid-append: it is not a record and is skipped."""
    import json

    path = Path(path)
    if not path.is_file():
        return []
    text = path.read_text()
    complete = text if text.endswith("\n") else text[: text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def append_json_line(path: Union[str, os.PathLike], record) -> None:
    """Append ``record`` as one JSON line and flush it to disk. A record cut off by an earlier
    kill (a last line without its newline) is cut away first, so the new one stays whole."""
    import json

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size:
            handle.seek(size - 1)
            if handle.read(1) != b"\n":
                handle.seek(0)
                content = handle.read()
                handle.truncate(content.rfind(b"\n") + 1)
        handle.seek(0, os.SEEK_END)
        handle.write((json.dumps(record) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
