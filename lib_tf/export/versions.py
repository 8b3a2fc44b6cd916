"""The TF Serving version layout and the staging that keeps every version whole.

A version is written into a hidden staging folder beside it and renamed into place when it is
complete, so a crash never leaves a half-written version (TF Serving ignores folders whose
names are not integers). A process killed outright cannot remove its staging folder: the next
export into the same folder does (:func:`remove_abandoned_staging`; the folder's name records
the host and process that wrote it, and one whose process still runs is left alone). An
existing version is never overwritten.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .._files import process_alive

STAGING_PREFIX = ".staging-"
_VERSION_NAME = re.compile(r"^[0-9]+$")
#: ``.staging-<target>-<host>-<pid>-<token>``: who wrote it, so a later export can tell an
#: abandoned folder (its process is gone) from one being written now.
_STAGING_NAME = re.compile(rf"^{re.escape(STAGING_PREFIX)}.+-(?P<host>[A-Za-z0-9_]+)-(?P<pid>[0-9]+)-[0-9a-f]{{8}}$")


class VersionExistsError(FileExistsError):
    """The requested model version already exists (versions are never overwritten)."""


def existing_versions(base_dir: Union[str, os.PathLike]) -> list:
    """Integer version folders under ``base_dir`` (sorted); staging folders do not count."""
    base = Path(base_dir)
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.is_dir() and _VERSION_NAME.match(p.name))


def next_version(base_dir: Union[str, os.PathLike]) -> int:
    """The next free version number: one more than the highest existing version, or 1."""
    versions = existing_versions(base_dir)
    return versions[-1] + 1 if versions else 1


def version_folder(base_dir: Union[str, os.PathLike], version: Optional[int] = None) -> Path:
    """``base_dir/<version>``, checked to be free; ``version`` defaults to :func:`next_version`.

    Raises
    ------
    ValueError
        If ``version`` is not a positive integer.
    VersionExistsError
        If that version exists.
    """
    base = Path(base_dir)
    if version is None:
        version = next_version(base)
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    target = base / str(int(version))
    if target.exists():
        raise VersionExistsError(f"version {int(version)} already exists at {target}; versions are never "
                                 f"overwritten (the next free one is {next_version(base)})")
    return target


def check_free(target: Path) -> None:
    """Refuse a ``target`` that exists and is not an empty folder (never overwritten)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise VersionExistsError(f"{target} already exists and is not empty; exported models are never overwritten")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname()) or "host"


def staging_folder(target: Path) -> Path:
    """A fresh hidden folder beside ``target`` named after it, this host and this process."""
    return target.parent / f"{STAGING_PREFIX}{target.name}-{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def remove_abandoned_staging(base_dir: Union[str, os.PathLike]) -> list:
    """Remove the staging folders under ``base_dir`` whose exporting process was on this host
    and no longer runs (killed before it could clean up); returns the removed paths. Folders
    of a running export, of another host or not named by this module are left alone."""
    base = Path(base_dir)
    if os.name != "posix" or not base.is_dir():
        return []
    removed = []
    for folder in base.iterdir():
        match = _STAGING_NAME.match(folder.name)
        if (match and folder.is_dir() and match["host"] == _host() and int(match["pid"]) != os.getpid()
                and not process_alive(int(match["pid"]))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def publish(staging: Path, target: Path) -> None:
    """Rename the finished staging folder to ``target`` (atomic on one file system)."""
    if target.exists():
        if not target.is_dir() or any(target.iterdir()):
            raise VersionExistsError(f"{target} appeared while exporting; it is left as it was")
        target.rmdir()  # an empty placeholder (e.g. a serving_model_dir made in advance)
    os.rename(staging, target)
