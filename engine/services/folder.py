"""Watched-folder intake: every file dropped into the folder becomes a document.

Each regular file at the top of the folder is stored (origin `folder`) and processed like
an upload, then moved to `processed/` inside the folder, or to `failed/` with a
`<name>.error.txt` beside it that says why. Files still being written are left for the
next scan: modified less than `settle_seconds` ago, or changed between the first look
and the read. Names that copy tools use while writing (`.part`, `.tmp`, `~$…`, hidden
files) are not touched. Hostile names are expected: the file is opened by its exact name
and never through a symbolic link (a link is moved to `failed/`); it is stored and moved
under a safe name (no path parts, no control characters, at most 200 characters).
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from engine.runtime import Runtime
from engine.services import intake
from engine.store.models import Document

PROCESSED = "processed"
FAILED = "failed"
SETTLE_SECONDS = 2.0
MAX_NAME_BYTES = 220  # file systems allow 255; room for " (12)" and ".error.txt"
MAX_FILES = 500  # per scan, so a flood of files does not hold one job run for long
PARTIAL_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart",
                    ".download", ".swp")


class FolderError(Exception):
    """The watched folder cannot be used; the message names it."""


@dataclass(frozen=True)
class _Look:
    size: int
    mtime_ns: int


def scan_configured(rt: Runtime, today: date) -> dict[str, Any]:
    """The job: scan `folders.watched` when it is set (off by default)."""
    if not rt.config["folders.watched"]:
        return {}
    return scan(rt, rt.config.path("folders.watched"), today,
                settle_seconds=rt.config["folders.settle_seconds"])


def scan(rt: Runtime, folder: Path, today: date, *, settle_seconds: float = SETTLE_SECONDS,
         now: float | None = None) -> dict[str, Any]:
    """Receive and process every settled file in `folder` once; counts and errors."""
    if not folder.is_dir():
        raise FolderError(f"watched folder {folder}: does not exist or is not a folder")
    result: dict[str, Any] = {"files": 0, "documents": 0, "processed": 0, "failed": 0,
                              "waiting": 0, "errors": []}
    clock = time.time() if now is None else now
    limit = rt.config["limits.upload_mb"] * 1024 * 1024
    for path, first in _candidates(folder)[:MAX_FILES]:
        name = intake.safe_filename(path.name)
        try:
            if not stat.S_ISREG(first.st_mode):
                _fail(folder, path, name, f"{name}: not a regular file (a link, a device or "
                      "a pipe); it was not read")
                result["failed"] += 1
                continue
            if clock - first.st_mtime < settle_seconds:
                result["waiting"] += 1
                continue
            if first.st_size > limit:
                _fail(folder, path, name, f"{name}: {first.st_size} bytes, more than the "
                      f"limit of {rt.config['limits.upload_mb']} MB (limits.upload_mb)")
                result["failed"] += 1
                continue
            data = _read_settled(path, _Look(first.st_size, first.st_mtime_ns))
            if data is None:
                result["waiting"] += 1
                continue
            result["files"] += 1
            outcome = _take(rt, data, name, today)
        except FileNotFoundError:  # taken meanwhile (another worker, or a person)
            continue
        except OSError as exc:
            result["errors"].append(f"{folder / name}: {exc.strerror or exc}")
            continue
        if outcome.error is not None:
            try:
                _fail(folder, path, name, outcome.error)
            except OSError as exc:
                result["errors"].append(f"{folder / name}: cannot be moved to {FAILED}/: {exc}")
            result["failed"] += 1
        else:
            try:
                _move(path, folder / PROCESSED, name)
            except OSError as exc:
                result["errors"].append(f"{folder / name}: stored as document "
                                        f"{outcome.document_id}, but cannot be moved to "
                                        f"{PROCESSED}/: {exc}")
            result["processed"] += 1
        result["documents"] += int(outcome.new)
    return result


@dataclass(frozen=True)
class _Outcome:
    document_id: int | None
    new: bool
    error: str | None


def _take(rt: Runtime, data: bytes, name: str, today: date) -> _Outcome:
    """Store first; then process. A failed document's reason becomes the error text."""
    try:
        received = intake.receive(rt, data, name, "folder")
    except intake.RejectedFile as exc:
        return _Outcome(None, False, str(exc))
    try:
        status = intake.process(rt, received.document_id, today)
    except Exception as exc:  # stored: the intake job resumes it; the person sees why
        return _Outcome(received.document_id, received.new,
                        f"{name}: stored as document {received.document_id}, but reading it "
                        f"failed ({type(exc).__name__}: {exc}); it will be retried")
    if status != "failed":
        return _Outcome(received.document_id, received.new, None)
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, received.document_id)
        reason = doc.reason if doc is not None else ""
    return _Outcome(received.document_id, received.new,
                    f"{reason or name + ': failed'}\n(stored as document "
                    f"{received.document_id})")


def _candidates(folder: Path) -> list[tuple[Path, os.stat_result]]:
    """The first look: top-level entries that are not folders or partial files, oldest
    first, with their lstat (links are not followed)."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if _partial(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                continue
            found.append((Path(entry.path), info))
    found.sort(key=lambda item: (item[1].st_mtime_ns, item[0].name))
    return found


def _partial(name: str) -> bool:
    lower = name.lower()
    return name.startswith((".", "~$")) or lower.endswith(PARTIAL_SUFFIXES)


def _look(path: Path) -> _Look:
    info = os.stat(path, follow_symlinks=False)
    return _Look(info.st_size, info.st_mtime_ns)


def _read_settled(path: Path, first: _Look) -> bytes | None:
    """The bytes, when the file did not change since the first look nor while it was read;
    never through a symbolic link (O_NOFOLLOW)."""
    if _look(path) != first:
        return None
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        data = handle.read(first.size + 1)
    if len(data) != first.size or _look(path) != first:
        return None
    return data


def _fail(folder: Path, path: Path, name: str, error: str) -> None:
    """Move the file to failed/ and write the reason beside it."""
    target = _move(path, folder / FAILED, name)
    target.with_name(target.name + ".error.txt").write_text(error.rstrip() + "\n", "utf-8")


def _move(path: Path, into: Path, name: str) -> Path:
    """Rename into `into` under a safe, unused name (`x.pdf`, `x (2).pdf`, …)."""
    into.mkdir(exist_ok=True)
    stem, suffix = os.path.splitext(name)
    if len(suffix.encode()) > 20:
        stem, suffix = name, ""
    stem = _fit(stem, MAX_NAME_BYTES - len(suffix.encode()))
    target = into / f"{stem}{suffix}"
    number = 2
    while target.exists() or target.is_symlink() or \
            (into / (target.name + ".error.txt")).exists():
        target = into / f"{stem} ({number}){suffix}"
        number += 1
    os.rename(path, target)
    return target


def _fit(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, cut at a character boundary."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")
