"""Outbox delivery against a real SMTP server on loopback (aiosmtpd), on SQLite and
PostgreSQL: attachments arrive intact, nothing is sent twice (two runs, two threads, a
worker killed before or after the hand-over, a slow worker whose claim expired), refusals
are retried with growing backoff, and the one unknowable window is reported as
`uncertain` for a person to resolve. Plus the .eml fallback and address validation."""

from __future__ import annotations

import email
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from documents.mail import idempotency_key, message_id
from engine.core.emails import email_problem, valid_email
from engine.runtime import Runtime
from engine.services import outbox
from engine.settings import load_config
from engine.store.db import upgrade
from engine.store.models import AuditEntry, OutboxMessage, utcnow
from tests.conftest import ROOT, write_config

LATER = outbox.LEASE + timedelta(minutes=1)  # every claim of a dead worker has expired


class Recorder:
    """An SMTP handler that keeps what it accepts; `reply` makes it refuse the message,
    `hang_up` makes it take the message and drop the line before answering."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.reply: str | None = None
        self.hang_up = False
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        with self.lock:
            self.messages.append(envelope)
        if self.hang_up:
            server.transport.close()
        return "250 2.0.0 queued as Q1"

    def parsed(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=default)  # type: ignore[misc]
                for e in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> tuple[Controller, Recorder]:
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller, handler


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def smtp(port: int) -> Iterator[Recorder]:
    controller, handler = start_server(port)
    yield handler
    controller.stop()


def open_runtime(folder: Path, database_url: str, port: int | None) -> Runtime:
    sections: dict[str, dict[str, object]] = {}
    if port is not None:
        sections["mail"] = {"smtp": {"host": "127.0.0.1", "port": port, "starttls": False}}
    rt = Runtime.open(load_config(write_config(folder, database_url, **sections)))
    upgrade(rt.config.database_url)
    return rt


@pytest.fixture
def rt(tmp_path: Path, database_url: str, port: int) -> Iterator[Runtime]:
    """A workspace whose mail goes to 127.0.0.1:`port`."""
    runtime = open_runtime(tmp_path / "ws", database_url, port)
    yield runtime
    runtime.close()


def queue(rt: Runtime, key: str, recipient: str = "einkauf@kunde.example",
          attachments: list[dict[str, Any]] | None = None) -> int:
    with rt.db.unit_of_work() as s:
        return outbox.enqueue(s, key=key, kind="invoice", recipient=recipient,
                              subject=f"Rechnung {key}", body="Sehr geehrte Damen und Herren,",
                              attachments=attachments or []).id


def row(rt: Runtime, msg_id: int) -> OutboxMessage:
    with rt.db.unit_of_work() as s:
        found = s.get(OutboxMessage, msg_id)
        assert found is not None
        return found


def test_delivered_with_attachments_intact(rt: Runtime, smtp: Recorder) -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 64 + b"\n.\r\n..\n%%EOF"  # binary, dots at line starts
    xml = "<Rechnung>Größe: 1.234,50 €</Rechnung>".encode()
    files = [{"filename": "RE-2026-00001.pdf", "sha256": rt.blobs.put(pdf),
              "type": "application/pdf"},
             {"filename": "RE-2026-00001.xml", "sha256": rt.blobs.put(xml),
              "type": "application/xml"}]
    msg_id = queue(rt, "invoice-RE-2026-00001", attachments=files)
    assert outbox.deliver(rt) == {"sent": 1, "failed": 0}
    [envelope] = smtp.messages
    assert envelope.rcpt_tos == ["einkauf@kunde.example"]
    [received] = smtp.parsed()
    assert received["Subject"] == "Rechnung invoice-RE-2026-00001"
    assert received["Message-ID"] == message_id("invoice-RE-2026-00001", rt.config["mail.from"])
    assert idempotency_key(received["Message-ID"]) == "invoice-RE-2026-00001"
    got = {part.get_filename(): part.get_content() for part in received.iter_attachments()}
    assert got == {"RE-2026-00001.pdf": pdf, "RE-2026-00001.xml": xml}
    sent = row(rt, msg_id)
    assert sent.status == "sent" and sent.sent_at is not None and sent.last_error == ""
    assert sent.attempts == 1


def test_two_runs_and_two_threads_send_each_message_once(rt: Runtime, smtp: Recorder) -> None:
    keys = [f"reminder-{n}" for n in range(8)]
    for key in keys:
        queue(rt, key)
    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(outbox.deliver(rt)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r["sent"] for r in results) == 8
    assert outbox.deliver(rt) == {"sent": 0, "failed": 0}
    assert outbox.deliver(rt, now=utcnow() + LATER) == {"sent": 0, "failed": 0}
    ids = [m["Message-ID"] for m in smtp.parsed()]
    assert sorted(idempotency_key(i) or "" for i in ids) == sorted(keys)
    with rt.db.unit_of_work() as s:
        assert set(s.scalars(select(OutboxMessage.status))) == {"sent"}


def test_a_refusing_server_is_retried_with_growing_backoff_then_failed(
        rt: Runtime, smtp: Recorder) -> None:
    smtp.reply = "451 4.3.0 try later"
    msg_id = queue(rt, "invoice-RE-2026-00002")
    now = utcnow()
    waits = []
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        assert outbox.deliver(rt, now=now) == {"sent": 0, "failed": 1}
        current = row(rt, msg_id)
        assert current.attempts == attempt and "451 4.3.0 try later" in current.last_error
        if attempt < outbox.MAX_ATTEMPTS:
            assert current.status == "pending"
            waits.append(current.next_attempt_at - now)
            # not due yet: nothing happens before the backoff is over
            assert outbox.deliver(rt, now=current.next_attempt_at - timedelta(seconds=5)) == {
                "sent": 0, "failed": 0}
            now = current.next_attempt_at
    assert current.status == "failed"
    assert waits == sorted(waits) and len(set(waits)) == len(waits)  # the waits grow
    for wait, minutes in zip(waits, outbox.BACKOFF_MINUTES, strict=False):
        assert timedelta(minutes=minutes) <= wait < timedelta(minutes=minutes, seconds=30)
    smtp.reply = None
    assert outbox.deliver(rt, now=now + timedelta(days=30)) == {"sent": 0, "failed": 0}
    assert smtp.messages == []


def test_a_permanent_refusal_fails_at_once(rt: Runtime, smtp: Recorder) -> None:
    smtp.reply = "550 5.1.1 mailbox unavailable"
    msg_id = queue(rt, "quote-AN-1")
    assert outbox.deliver(rt) == {"sent": 0, "failed": 1}
    failed = row(rt, msg_id)
    assert failed.status == "failed" and failed.attempts == 1
    assert "550 5.1.1 mailbox unavailable" in failed.last_error
    with rt.db.unit_of_work() as s:
        assert [m.id for m in outbox.needs_attention(s)] == [msg_id]


def test_a_server_that_is_down_is_retried_and_sends_once_when_back(rt: Runtime,
                                                                    port: int) -> None:
    msg_id = queue(rt, "confirmation-AB-1")
    assert outbox.deliver(rt) == {"sent": 0, "failed": 1}
    waiting = row(rt, msg_id)
    assert waiting.status == "pending" and "cannot connect" in waiting.last_error
    controller, handler = start_server(port)
    try:
        assert outbox.deliver(rt) == {"sent": 0, "failed": 0}  # the backoff is not over
        assert outbox.deliver(rt, now=waiting.next_attempt_at) == {"sent": 1, "failed": 0}
        assert outbox.deliver(rt, now=utcnow() + LATER) == {"sent": 0, "failed": 0}
    finally:
        controller.stop()
    assert len(handler.messages) == 1 and row(rt, msg_id).attempts == 2


def test_a_crash_after_the_server_accepted_is_uncertain_not_sent_again(
        rt: Runtime, smtp: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    msg_id = queue(rt, "invoice-RE-2026-00003")

    def database_gone(*args: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(outbox, "_mark_sent", database_gone)
    with pytest.raises(RuntimeError, match="went away"):
        outbox.deliver(rt)
    monkeypatch.undo()
    assert len(smtp.messages) == 1 and row(rt, msg_id).status == "handed_over"
    assert outbox.deliver(rt) == {"sent": 0, "failed": 0}  # the worker may still be alive
    assert outbox.deliver(rt, now=utcnow() + LATER) == {"sent": 0, "failed": 0, "uncertain": 1}
    stuck = row(rt, msg_id)
    assert stuck.status == "uncertain" and "may have arrived" in stuck.last_error
    assert outbox.deliver(rt, now=utcnow() + 2 * LATER) == {"sent": 0, "failed": 0}
    assert len(smtp.messages) == 1
    with pytest.raises(ValueError, match="not uncertain"):
        outbox.resolve_uncertain(rt, queue(rt, "other"), sent=True, actor="anna@firma.example")
    outbox.resolve_uncertain(rt, msg_id, sent=True, actor="anna@firma.example")
    assert row(rt, msg_id).status == "sent"
    with rt.db.unit_of_work() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "outbox.resolved"))
        assert entry is not None and entry.actor == "anna@firma.example"
        assert entry.details["sent"] is True and "may have arrived" in entry.details["uncertainty"]


def test_a_broken_line_during_data_is_uncertain_and_a_person_can_send_again(
        rt: Runtime, smtp: Recorder) -> None:
    smtp.hang_up = True
    msg_id = queue(rt, "reminder-7-K-1-L1")
    assert outbox.deliver(rt) == {"sent": 0, "failed": 0, "uncertain": 1}
    assert "connection broke" in row(rt, msg_id).last_error
    assert outbox.deliver(rt, now=utcnow() + LATER) == {"sent": 0, "failed": 0}
    smtp.hang_up = False
    outbox.resolve_uncertain(rt, msg_id, sent=False, actor="anna@firma.example")
    assert outbox.deliver(rt) == {"sent": 1, "failed": 0}
    assert len(smtp.messages) == 2  # the second send is the person's decision
    assert row(rt, msg_id).status == "sent"


def crash(rt: Runtime, patch: str) -> subprocess.CompletedProcess[str]:
    """Run deliver in a child that dies hard where `patch` says."""
    config = rt.config.base_dir / rt.config.source
    code = textwrap.dedent(f"""
        import os
        from engine.runtime import Runtime
        from engine.services import outbox
        from engine.settings import load_config
        def die(*args, **kwargs):
            os._exit(137)
        outbox.{patch} = die
        outbox.deliver(Runtime.open(load_config({str(config)!r})))
    """)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_a_worker_killed_after_the_server_accepted_leaves_it_uncertain(
        rt: Runtime, smtp: Recorder) -> None:
    msg_id = queue(rt, "invoice-RE-2026-00004")
    died = crash(rt, "_mark_sent")
    assert died.returncode == 137, died.stderr[-2000:]
    assert len(smtp.messages) == 1 and row(rt, msg_id).status == "handed_over"
    assert outbox.deliver(rt, now=utcnow() + LATER) == {"sent": 0, "failed": 0, "uncertain": 1}
    assert outbox.deliver(rt, now=utcnow() + 2 * LATER) == {"sent": 0, "failed": 0}
    assert len(smtp.messages) == 1 and row(rt, msg_id).status == "uncertain"


def test_a_worker_killed_before_smtp_is_retried_and_sends_once(rt: Runtime,
                                                               smtp: Recorder) -> None:
    msg_id = queue(rt, "invoice-RE-2026-00005")
    died = crash(rt, "build_message")
    assert died.returncode == 137, died.stderr[-2000:]
    assert smtp.messages == [] and row(rt, msg_id).status == "sending"
    assert outbox.deliver(rt) == {"sent": 0, "failed": 0}  # its claim has not expired yet
    assert outbox.deliver(rt, now=utcnow() + LATER) == {"sent": 1, "failed": 0, "released": 1}
    assert outbox.deliver(rt, now=utcnow() + 2 * LATER) == {"sent": 0, "failed": 0}
    assert len(smtp.messages) == 1 and row(rt, msg_id).attempts == 2


def test_a_slow_worker_whose_claim_expired_does_not_send(rt: Runtime, smtp: Recorder) -> None:
    msg_id = queue(rt, "invoice-RE-2026-00006")
    slow = outbox._claim(rt, utcnow())
    assert slow is not None
    assert outbox.deliver(rt, now=utcnow() + LATER) == {"sent": 1, "failed": 0, "released": 1}
    assert outbox._deliver_one(rt, slow, utcnow) == "lost"  # fenced off before DATA
    assert len(smtp.messages) == 1 and row(rt, msg_id).status == "sent"


def test_a_non_ascii_address_goes_out_with_smtputf8(rt: Runtime, smtp: Recorder) -> None:
    queue(rt, "quote-AN-2", recipient="jürgen@bäckerei-müller.example")
    assert outbox.deliver(rt) == {"sent": 1, "failed": 0}
    assert smtp.messages[0].rcpt_tos == ["jürgen@bäckerei-müller.example"]


def test_an_invalid_recipient_is_refused_when_queued(rt: Runtime) -> None:
    with pytest.raises(ValueError, match=r"'invoice-RE-1': recipient 'einkauf@kunde' .*period"):
        queue(rt, "invoice-RE-1", recipient="einkauf@kunde")
    with pytest.raises(outbox.InvalidRecipient, match="empty"):
        queue(rt, "invoice-RE-1", recipient="")
    msg_id = queue(rt, "invoice-RE-1", recipient="  Einkauf@Kunde.EXAMPLE ")
    assert row(rt, msg_id).recipient == "Einkauf@kunde.example"


def test_without_smtp_messages_become_eml_files_once(runtime: Runtime) -> None:
    rt = runtime
    first, second = queue(rt, "a:b"), queue(rt, "a_b")
    assert outbox.deliver(rt) == {"sent": 2, "failed": 0}
    files = sorted(rt.outbox_dir.glob("*.eml"))
    assert len(files) == 2 and outbox.eml_name("a_b") == "a_b.eml"
    before = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in files}
    with rt.db.unit_of_work() as s:  # as if the worker died after writing, before recording
        msg = s.get(OutboxMessage, first)
        assert msg is not None
        msg.status, msg.next_attempt_at = "sending", datetime(2000, 1, 1)
    assert outbox.deliver(rt) == {"sent": 1, "failed": 0, "released": 1}
    after = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in rt.outbox_dir.glob("*.eml")}
    assert after == before  # the file stays as it was: no second copy, no rewrite
    assert row(rt, first).status == row(rt, second).status == "sent"


@pytest.mark.parametrize("key", ["invoice-RE-2026-00001", "a:b", "a=b", "a.b", "ä ö/ü", "x" * 120])
def test_the_message_id_carries_the_key(key: str) -> None:
    mid = message_id(key, "buchhaltung@Firma.example")
    assert mid.endswith("@firma.example>") and idempotency_key(mid) == key
    local = mid[1:].split("@")[0]
    assert local.replace("-", "").replace("=", "").isalnum() and local.isascii()
    assert message_id(key + "!", "x@firma.example") != message_id(key, "x@firma.example")
    assert idempotency_key("<abc@elsewhere>") == "abc"
    assert idempotency_key("not a message id") is None


@pytest.mark.parametrize(("text", "normalised"), [
    ("anna.schmidt@beispiel.de", "anna.schmidt@beispiel.de"),
    ("  Anna.Schmidt@Beispiel.DE ", "Anna.Schmidt@beispiel.de"),
    ("einkauf@hoffmann-bau.example", "einkauf@hoffmann-bau.example"),
    ("jürgen@bäckerei.de", "jürgen@bäckerei.de"),
    ("", None), ("anna", None), ("anna@", None), ("anna@beispiel", None),
    ("anna..schmidt@beispiel.de", None), ("anna@beispiel.test", None),
    ("a b@beispiel.de", None), ("Anna <anna@beispiel.de>", None),
    ("a@b.de, c@d.de", None),
])
def test_valid_email(text: str, normalised: str | None) -> None:
    assert valid_email(text) == normalised
    assert (email_problem(text) is None) == (normalised is not None)
