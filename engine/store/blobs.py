"""Originals and issued files, content-addressed by sha256 (files under var/blobs/)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from engine.store.models import Blob


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore(Protocol):
    def put(self, data: bytes) -> str: ...
    def get(self, sha256: str) -> bytes: ...
    def exists(self, sha256: str) -> bool: ...


class FileBlobStore:
    """Write-once files in a two-level fan-out; written atomically (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = sha256_of(data)
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return digest

    def get(self, sha256: str) -> bytes:
        return self._path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()


class DatabaseBlobStore:
    """Blobs in the `blobs` table: every worker on any machine sees them, no shared disk."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def put(self, data: bytes) -> str:
        digest = sha256_of(data)
        with self.sessions.begin() as session:
            if session.get(Blob, digest) is None:
                session.add(Blob(sha256=digest, data=data))
        return digest

    def get(self, sha256: str) -> bytes:
        with self.sessions() as session:
            blob = session.get(Blob, sha256)
            if blob is None:
                raise FileNotFoundError(f"no blob {sha256}")
            return blob.data

    def exists(self, sha256: str) -> bool:
        with self.sessions() as session:
            return session.get(Blob, sha256) is not None


class MemoryBlobStore:
    """For unit tests."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def put(self, data: bytes) -> str:
        digest = sha256_of(data)
        self.data.setdefault(digest, data)
        return digest

    def get(self, sha256: str) -> bytes:
        return self.data[sha256]

    def exists(self, sha256: str) -> bool:
        return sha256 in self.data
