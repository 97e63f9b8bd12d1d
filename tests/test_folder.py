"""The watched folder (engine.services.folder) on SQLite and PostgreSQL: files become
documents and move to processed/ or failed/ (with the reason beside them); files still
being written wait; links are not followed; hostile names stay inside the folder."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.runtime import Runtime
from engine.services import folder as watched
from engine.services.folder import FolderError, scan, scan_configured
from engine.settings import load_config
from engine.store.db import upgrade
from engine.store.models import Document, DocumentArrival
from tests.conftest import write_config
from tests.test_extract import po

TODAY = date(2026, 9, 2)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "share" / "eingang"
    path.mkdir(parents=True)
    return path


def drop(folder: Path, name: str | bytes, data: bytes, age: float = 60) -> Path:
    """A file written `age` seconds ago (names may be bytes: not every name is UTF-8)."""
    raw = os.path.join(os.fsencode(folder), name if isinstance(name, bytes) else
                       os.fsencode(name))
    with open(raw, "wb") as handle:
        handle.write(data)
    then = time.time() - age
    os.utime(raw, (then, then))
    return Path(os.fsdecode(raw))


def documents(rt: Runtime) -> list[Document]:
    with rt.db.unit_of_work() as s:
        found = list(s.scalars(select(Document).order_by(Document.id)))
        s.expunge_all()
        return found


def listing(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def test_a_dropped_order_becomes_a_document_and_moves(runtime: Runtime, inbox: Path) -> None:
    pdf = po("de")
    drop(inbox, "Bestellung B-2026-4711.pdf", pdf)
    result = scan(runtime, inbox, TODAY)
    assert result == {"files": 1, "documents": 1, "processed": 1, "failed": 0, "waiting": 0,
                      "errors": []}
    [doc] = documents(runtime)
    assert (doc.origin, doc.filename, doc.kind) == ("folder", "Bestellung B-2026-4711.pdf",
                                                    "purchase_order")
    assert runtime.blobs.get(doc.sha256) == pdf
    assert listing(inbox) == ["processed"]
    assert listing(inbox / "processed") == ["Bestellung B-2026-4711.pdf"]
    assert not any(scan(runtime, inbox, TODAY).values())

    drop(inbox, "Bestellung B-2026-4711.pdf", pdf)  # the same file again: one document
    assert scan(runtime, inbox, TODAY)["documents"] == 0
    assert listing(inbox / "processed") == ["Bestellung B-2026-4711 (2).pdf",
                                            "Bestellung B-2026-4711.pdf"]
    with runtime.db.unit_of_work() as s:
        assert len(list(s.scalars(select(DocumentArrival)))) == 2


def test_files_being_written_wait_for_the_next_scan(runtime: Runtime, inbox: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = drop(inbox, "gerade.pdf", po("en"), age=0)
    drop(inbox, "kopie.pdf.part", b"%PDF-1.4 half", age=600)
    drop(inbox, ".versteckt.pdf", b"%PDF-1.4 hidden", age=600)
    drop(inbox, "~$entwurf.docx", b"lock", age=600)
    assert scan(runtime, inbox, TODAY)["waiting"] == 1
    assert documents(runtime) == []
    assert listing(inbox) == [".versteckt.pdf", "gerade.pdf", "kopie.pdf.part",
                              "~$entwurf.docx"]

    # older than two seconds, but it grows between the first look and the read
    then = time.time() - 60
    os.utime(fresh, (then, then))
    real = watched._look
    monkeypatch.setattr(watched, "_look", lambda p: watched._Look(real(p).size + 1,
                                                                  real(p).mtime_ns))
    assert scan(runtime, inbox, TODAY)["waiting"] == 1
    monkeypatch.undo()
    assert scan(runtime, inbox, TODAY)["processed"] == 1
    assert listing(inbox / "processed") == ["gerade.pdf"]


def test_unreadable_empty_and_linked_files_fail_with_the_reason_beside_them(
        runtime: Runtime, inbox: Path, tmp_path: Path) -> None:
    drop(inbox, "kaputt.pdf", b"%PDF-1.4 this is not really a pdf")
    drop(inbox, "leer.pdf", b"")
    secret = tmp_path / "geheim.txt"
    secret.write_text("Passwort: 1234", "utf-8")
    os.symlink(secret, inbox / "link.pdf")
    result = scan(runtime, inbox, TODAY)
    assert (result["failed"], result["processed"], result["errors"]) == (3, 0, [])
    failed = inbox / "failed"
    assert listing(failed) == ["kaputt.pdf", "kaputt.pdf.error.txt", "leer.pdf",
                               "leer.pdf.error.txt", "link.pdf", "link.pdf.error.txt"]
    assert (failed / "kaputt.pdf.error.txt").read_text("utf-8").startswith(
        "kaputt.pdf: not a readable PDF")
    assert "is empty" in (failed / "leer.pdf.error.txt").read_text("utf-8")
    assert "not a regular file" in (failed / "link.pdf.error.txt").read_text("utf-8")
    assert (failed / "link.pdf").is_symlink() and secret.read_text("utf-8") == "Passwort: 1234"
    # the broken PDF is kept (stored and failed); the link's target was never read
    [doc] = documents(runtime)
    assert doc.status == "failed" and doc.filename == "kaputt.pdf"


def test_hostile_names_stay_inside_the_folder(runtime: Runtime, inbox: Path) -> None:
    pdf = po("en")
    drop(inbox, b"Bestellung\n\x07\x1b[31m\xff\xfe.pdf", pdf)
    drop(inbox, " ..", b"%PDF-1.4 dots")
    drop(inbox, "-rf --no-preserve-root.pdf", b"%PDF-1.4 option")
    drop(inbox, "a" * 240 + ".pdf", b"%PDF-1.4 long")
    drop(inbox, "ü" * 120 + ".pdf", b"%PDF-1.4 umlauts")  # 244 bytes of UTF-8
    before = listing(inbox.parent)
    result = scan(runtime, inbox, TODAY)
    assert result["errors"] == [] and result["processed"] + result["failed"] == 5
    assert listing(inbox.parent) == before
    assert listing(inbox) == ["failed", "processed"]
    names = {d.filename for d in documents(runtime)}
    assert "Bestellung[31m.pdf" in names and "unnamed" in names
    assert "-rf --no-preserve-root.pdf" in names
    assert all(n.isprintable() and "/" not in n and len(n) <= 200 for n in names)
    assert listing(inbox / "processed") == ["Bestellung[31m.pdf"]
    moved = listing(inbox / "failed")
    assert all(len(n.encode()) <= 255 for n in moved) and "unnamed" in moved
    assert "ü" * 108 + ".pdf" in moved and "ü" * 108 + ".pdf.error.txt" in moved


def test_too_large_files_are_not_read(tmp_path: Path, database_url: str, inbox: Path) -> None:
    config = write_config(tmp_path / "ws", database_url, limits={"upload_mb": 1})
    rt = Runtime.open(load_config(config))
    upgrade(rt.config.database_url)
    try:
        drop(inbox, "riesig.pdf", b"%PDF-1.4 " + b"x" * 1_100_000)
        assert scan(rt, inbox, TODAY)["failed"] == 1
        assert "more than the limit of 1 MB" in (
            inbox / "failed" / "riesig.pdf.error.txt").read_text("utf-8")
        assert documents(rt) == []
    finally:
        rt.close()


def test_off_until_configured_and_a_missing_folder_is_an_error(runtime: Runtime,
                                                               tmp_path: Path) -> None:
    assert scan_configured(runtime, TODAY) == {}
    with pytest.raises(FolderError, match="does not exist"):
        scan(runtime, tmp_path / "nicht-da", TODAY)


@pytest.fixture
def many(inbox: Path) -> Iterator[Path]:
    for n in range(30):
        drop(inbox, f"beleg-{n:02d}.pdf", b"%%PDF-1.4 beleg %d" % n, age=120 - n)
    yield inbox


def test_oldest_files_first_and_each_once(runtime: Runtime, many: Path) -> None:
    assert scan(runtime, many, TODAY)["failed"] == 30
    assert [d.filename for d in documents(runtime)] == [f"beleg-{n:02d}.pdf"
                                                         for n in range(30)]
    assert not any(scan(runtime, many, TODAY).values())
