"""The archive of issued files (GoBD): every file `publish.store_file` writes is recorded
as an `ArchiveEntry` in a hash chain, so a later change to any archived document, or to
the archive itself, is detectable (`o2c archive verify`).

Canonical encoding of an entry's chain hash (documented here, never to change):

    chain_hash = sha256( UTF-8( JSON array
        [previous_hash, sha256, kind, filename, archived_at] ) ).hexdigest()

where the JSON is written with `json.dumps(..., separators=(",", ":"), ensure_ascii=False)`
(no spaces, no escaping of non-ASCII), every element is a string, and `archived_at` is the
naive UTC time as `datetime.isoformat(timespec="microseconds")`, e.g.
`2026-09-02T10:15:00.000000`. `previous_hash` is the chain hash of the entry before, or
`GENESIS` (64 zeros) for the first entry. `sha256` is the hex digest of the file's bytes.

Appending is serialised so two concurrent transactions never fork the chain: on PostgreSQL
a transaction-scoped advisory lock is taken before the last entry is read (held until the
caller's commit or rollback); on SQLite the unit of work begins IMMEDIATE, which already
gives one writer at a time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.store.blobs import BlobStore, sha256_of
from engine.store.models import (
    ArchiveEntry,
    CreditNote,
    Delivery,
    DunningLetter,
    Invoice,
    Quote,
    utcnow,
)

GENESIS = "0" * 64
# The PostgreSQL advisory lock key of the archive chain (a fixed, arbitrary 63-bit number).
ARCHIVE_LOCK_KEY = 0x6F32_635F_6172_6368  # "o2c_arch"

# Rows that name the sha256 of an issued file: each such file must be in the archive, which
# also reveals an entry removed from the end of the chain (where no later entry points back).
_ISSUED: tuple[tuple[str, Any, Any, Any], ...] = (
    ("invoice", Invoice, Invoice.number, Invoice.pdf_sha256),
    ("invoice", Invoice, Invoice.number, Invoice.xml_sha256),
    ("credit note", CreditNote, CreditNote.number, CreditNote.pdf_sha256),
    ("credit note", CreditNote, CreditNote.number, CreditNote.xml_sha256),
    ("quote", Quote, Quote.number, Quote.pdf_sha256),
    ("delivery note", Delivery, Delivery.number, Delivery.note_sha256),
    ("dunning letter", DunningLetter, DunningLetter.id, DunningLetter.pdf_sha256),
)


def canonical(previous_hash: str, sha256: str, kind: str, filename: str,
              archived_at: datetime) -> bytes:
    """The bytes the chain hash is taken over (see the module docstring)."""
    fields = [previous_hash, sha256, kind, filename,
              archived_at.isoformat(timespec="microseconds")]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(previous_hash: str, sha256: str, kind: str, filename: str,
               archived_at: datetime) -> str:
    """The chain hash of an entry with these fields."""
    return hashlib.sha256(canonical(previous_hash, sha256, kind, filename,
                                    archived_at)).hexdigest()


def _lock(session: Session) -> None:
    """Serialise appends: PostgreSQL advisory lock until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ARCHIVE_LOCK_KEY})


def _last_hash(session: Session) -> str:
    """The chain hash of the newest entry, or GENESIS for an empty archive."""
    last = session.scalar(select(ArchiveEntry.chain_hash)
                          .order_by(ArchiveEntry.id.desc()).limit(1))
    return last or GENESIS


def archive_file(session: Session, kind: str, filename: str, data: bytes) -> ArchiveEntry:
    """Append a file to the chain in the caller's transaction; returns the flushed entry.

    The bytes themselves belong in the blob store (under their sha256) before this call.
    """
    _lock(session)
    previous = _last_hash(session)
    digest = sha256_of(data)
    at = utcnow()
    entry = ArchiveEntry(kind=kind, filename=filename, sha256=digest, previous_hash=previous,
                         chain_hash=chain_hash(previous, digest, kind, filename, at),
                         archived_at=at)
    session.add(entry)
    session.flush()
    return entry


def entries(session: Session, kind: str | None = None) -> list[ArchiveEntry]:
    """The archive in chain order, optionally of one kind."""
    query = select(ArchiveEntry).order_by(ArchiveEntry.id)
    if kind:
        query = query.where(ArchiveEntry.kind == kind)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Report:
    """What `verify` found: the number of entries, the head of the chain, the problems."""

    count: int
    head: str
    problems: list[str]


def verify(session: Session, blobs: BlobStore) -> list[str]:
    """Re-read every archived file and recompute the chain; the problems, or [] if intact."""
    return check(session, blobs).problems


def check(session: Session, blobs: BlobStore) -> Report:
    """Like `verify`, with the count and head chain hash (to note down outside the system:
    an anchor kept elsewhere also reveals a chain rewritten from some entry onward)."""
    rows = entries(session)
    problems: list[str] = []
    previous: ArchiveEntry | None = None
    for entry in rows:
        problems.extend(_check_entry(entry, previous, blobs))
        previous = entry
    if rows:
        problems.extend(_unarchived(session, rows))
    return Report(len(rows), rows[-1].chain_hash if rows else GENESIS, problems)


def _name(entry: ArchiveEntry) -> str:
    return f"entry {entry.id} ({entry.filename})"


def _check_entry(entry: ArchiveEntry, previous: ArchiveEntry | None,
                 blobs: BlobStore) -> Iterable[str]:
    expected = previous.chain_hash if previous else GENESIS
    if entry.previous_hash != expected:
        before = f"{_name(previous)}" if previous else "the start of the archive"
        yield (f"{_name(entry)}: chain broken: it does not follow {before}; an entry in "
               f"between was removed or altered")
    recomputed = chain_hash(entry.previous_hash, entry.sha256, entry.kind, entry.filename,
                            entry.archived_at)
    if recomputed != entry.chain_hash:
        yield f"{_name(entry)}: entry altered: its chain hash does not match its fields"
        return  # its recorded sha256 cannot be trusted: the file check would only repeat it
    if not blobs.exists(entry.sha256):
        yield f"{_name(entry)}: file missing: no stored file with sha256 {entry.sha256}"
        return
    actual = sha256_of(blobs.get(entry.sha256))
    if actual != entry.sha256:
        yield (f"{_name(entry)}: file changed: its bytes hash to {actual}, archived as "
               f"{entry.sha256}")


def _unarchived(session: Session, rows: list[ArchiveEntry]) -> Iterable[str]:
    """Issued documents (since archiving began) whose file has no archive entry."""
    archived = {e.sha256 for e in rows}
    since = rows[0].archived_at
    for label, model, name, column in _ISSUED:
        query = select(name, column).where(column.is_not(None), model.created_at >= since)
        for number, digest in session.execute(query):
            if digest not in archived:
                yield (f"{label} {number}: its file {digest} is not in the archive (its "
                       f"entry was removed)")
