"""Mail intake against a real Dovecot on loopback (tests/imap_server.py): mail is delivered
by IMAP APPEND, polled by engine.services.mailbox, and checked on the server afterwards.
Plus the pure parsing of a message (documents.email_in): names, bodies, limits."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from documents.email_in import html_to_text, parse_message, safe_name
from engine.runtime import Runtime
from engine.services import mailbox
from engine.services.mailbox import ImapSettings, MailboxError, poll, quote_mailbox
from engine.settings import load_config
from engine.store.db import upgrade
from engine.store.models import AuditEntry, Document
from tests.conftest import write_config
from tests.imap_server import UNICODE_PASSWORD, UNICODE_USER, ImapServer, dovecot, dovecot_problem
from tests.test_extract import po

TODAY = date(2026, 9, 2)
PDF = po("de")


@pytest.fixture
def imap(tmp_path: Path) -> Iterator[ImapServer]:
    problem = dovecot_problem()
    if problem:
        if os.environ.get("O2C_REQUIRE_IMAP") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    with dovecot(tmp_path / "imap") as server:
        yield server


def open_runtime(folder: Path, database_url: str, imap: ImapServer | None,
                 **sections: dict[str, object]) -> Runtime:
    if imap is not None:
        sections["mail"] = {"imap": {"host": imap.host, "port": imap.port,
                                     "username": imap.user, "password": imap.password,
                                     "folder": "INBOX"}}
    rt = Runtime.open(load_config(write_config(folder, database_url, **sections)))
    upgrade(rt.config.database_url)
    return rt


@pytest.fixture
def rt(tmp_path: Path, database_url: str, imap: ImapServer) -> Iterator[Runtime]:
    runtime = open_runtime(tmp_path / "ws", database_url, imap)
    yield runtime
    runtime.close()


def plain(rt: Runtime, **overrides: object) -> ImapSettings:
    """The configured mailbox, without TLS (the test server listens on loopback only)."""
    found = ImapSettings.from_config(rt.config, security="none", **overrides)
    assert found is not None
    return found


def message(subject: str, message_id: str, *, body: str = "Anbei unsere Bestellung.",
            attachments: list[tuple[str, bytes]] | None = None, html: str | None = None,
            received: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    if received:
        msg["Received"] = received
    msg["From"] = "Jens Hoffmann <einkauf@hoffmann-bau.example>"
    msg["To"] = "bestellungen@muster-maschinenbau.example"
    msg["Subject"] = subject
    msg["Date"] = "Wed, 02 Sep 2026 09:15:00 +0200"
    msg["Message-ID"] = message_id
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    for name, data in attachments or []:
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg


def raw(msg: EmailMessage) -> bytes:
    return msg.as_bytes(policy=policy.SMTP)


def documents(rt: Runtime) -> list[Document]:
    with rt.db.unit_of_work() as s:
        found = list(s.scalars(select(Document).order_by(Document.id)))
        s.expunge_all()
        return found


def order_mail() -> EmailMessage:
    msg = message("Bestellung B-2026-4711", "<b-2026-4711@hoffmann-bau.example>",
                  html="<p>Anbei unsere Bestellung.</p><img src='cid:logo@hb'>",
                  attachments=[("Bestellung B-2026-4711.pdf", PDF)])
    html_part = next(p for p in msg.walk() if p.get_content_type() == "text/html")
    assert isinstance(html_part, EmailMessage)
    html_part.add_related(b"\x89PNG\r\n\x1a\n logo", maintype="image", subtype="png",
                          cid="<logo@hb>")
    return msg


def hostile_mail() -> bytes:
    msg = message("Lieferschein", "<hostile@example.test>",
                  attachments=[("../../etc/passwd", b"%PDF-1.4 not really"),
                               ("..\\..\\windows\\system.ini", b"%PDF-1.4 also not"),
                               ("placeholder.pdf", b"%PDF-1.4 third")])
    data = raw(msg)
    assert data.count(b'filename="placeholder.pdf"') == 1
    # RFC 2231: CR LF, BEL and NUL inside the name, and path parts
    return data.replace(b'filename="placeholder.pdf"',
                        b"filename*=utf-8''..%2F..%2Fevil%0D%0Aname%07%00.pdf")


def test_poll_imports_attachments_dedupes_and_moves(rt: Runtime, imap: ImapServer) -> None:
    first = raw(order_mail())
    many = raw(message("50 Belege", "<many@example.test>",
                       attachments=[(f"beleg-{n:02d}.pdf", b"%%PDF-1.4 beleg %d" % n)
                                    for n in range(1, 51)]))
    again = raw(message("Bestellung B-2026-4711", "<b-2026-4711@hoffmann-bau.example>",
                        attachments=[("Bestellung B-2026-4711.pdf", PDF)],
                        received="from relay.example by mx.example; Wed, 2 Sep 2026"))
    hostile = hostile_mail()
    for data in (first, many, again, hostile):
        imap.append(data)

    result = poll(rt, TODAY, plain(rt))

    assert result == {"messages": 4, "stored": 3, "duplicates": 1, "documents": 24,
                      "rejected": 0, "failed": 0, "errors": []}
    docs = documents(rt)
    mails = {d.parsed["subject"]: d for d in docs if d.kind == "email"}
    # every original first, byte for byte, as a document of its own
    assert len([d for d in docs if d.kind == "email"]) == 4
    for data in (first, many, again, hostile):
        assert any(rt.blobs.get(d.sha256) == data for d in docs if d.kind == "email")
    order = next(d for d in docs if d.filename == "Bestellung B-2026-4711.pdf")
    assert order.kind == "purchase_order" and order.origin == "mail"
    assert rt.blobs.get(order.sha256) == PDF
    assert "logo" not in " ".join(d.filename for d in docs)  # the signature image is no order
    # 50 attachments: the first 20 are documents, the mail says which were left out
    big = next(d for d in docs if d.kind == "email" and d.parsed["subject"] == "50 Belege")
    assert big.status == "needs_review"
    assert "50 attachments, but at most 20" in big.reason and "beleg-21.pdf" in big.reason
    assert len(big.parsed["mail"]["documents"]) == 20
    assert len(big.parsed["mail"]["skipped"]) == 30
    assert {f"beleg-{n:02d}.pdf" for n in range(1, 21)} <= {d.filename for d in docs}
    # the same Message-ID again: stored, marked, nothing imported twice
    duplicate = [d for d in docs if d.kind == "email"
                 and d.parsed["message_id"] == "<b-2026-4711@hoffmann-bau.example>"]
    assert [d.status for d in duplicate] == ["recorded", "recorded"]
    assert "duplicate of document" in duplicate[1].reason
    assert len([d for d in docs if d.filename == "Bestellung B-2026-4711.pdf"]) == 1
    # hostile names: only the last path part, no control characters
    names = {d.filename for d in docs}
    assert {"passwd", "system.ini", "evil name.pdf"} <= names
    assert not any("/" in n or "\\" in n or not n.isprintable() for n in names)
    assert mails["Lieferschein"].status == "recorded"
    # on the server: the inbox is empty, every mail is read and in the processed folder
    assert imap.messages("INBOX") == []
    moved = imap.messages("Processed")
    assert sorted(m[1] for m in moved) == sorted([first, many, again, hostile])
    assert all("\\Seen" in m[2] for m in moved)

    assert poll(rt, TODAY, plain(rt))["messages"] == 0
    assert len(documents(rt)) == len(docs)


def test_a_failing_message_stays_for_the_next_poll(rt: Runtime, imap: ImapServer,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    imap.append(raw(order_mail()))
    imap.append(raw(message("Zweite", "<second@example.test>",
                            attachments=[("zweite.pdf", b"%PDF-1.4 zweite")])))
    real = mailbox.expand

    def broken(rt_: Runtime, document_id: int, today: date, **kw: Any) -> mailbox.MailOutcome:
        with rt_.db.unit_of_work() as s:
            doc = s.get(Document, document_id)
            assert doc is not None
            if doc.filename.startswith("Bestellung"):
                raise OSError("disk full")
        return real(rt_, document_id, today, **kw)

    monkeypatch.setattr(mailbox, "expand", broken)
    result = poll(rt, TODAY, plain(rt))
    assert result["failed"] == 1 and result["stored"] == 1
    assert "OSError: disk full" in result["errors"][0]
    left = imap.messages("INBOX")
    assert len(left) == 1 and b"B-2026-4711" in left[0][1] and "\\Seen" not in left[0][2]
    with rt.db.unit_of_work() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "mail.failed")) == 1

    monkeypatch.setattr(mailbox, "expand", real)
    assert poll(rt, TODAY, plain(rt))["stored"] == 1
    assert imap.messages("INBOX") == [] and len(imap.messages("Processed")) == 2
    assert any(d.kind == "purchase_order" for d in documents(rt))


def test_a_crash_before_the_move_loses_nothing_and_imports_once(
        rt: Runtime, imap: ImapServer, monkeypatch: pytest.MonkeyPatch) -> None:
    imap.append(raw(order_mail()))

    def crash(self: mailbox.Mailbox, uid: int, folder: str | None) -> None:
        raise MailboxError("connection reset while moving")

    monkeypatch.setattr(mailbox.Mailbox, "finish", crash)
    assert poll(rt, TODAY, plain(rt))["failed"] == 1
    stored = documents(rt)
    assert len(imap.messages("INBOX")) == 1
    monkeypatch.undo()
    result = poll(rt, TODAY, plain(rt))
    assert result["duplicates"] == 1 and result["documents"] == 0
    assert [d.id for d in documents(rt)] == [d.id for d in stored]
    assert imap.messages("INBOX") == [] and len(imap.messages("Processed")) == 1


def test_without_move_copy_delete_and_uid_expunge_spare_other_mail(
        rt: Runtime, imap: ImapServer, monkeypatch: pytest.MonkeyPatch) -> None:
    kept = imap.append(raw(message("Gelöscht, nicht expunged", "<deleted@example.test>")),
                       flags="\\Deleted")
    imap.append(raw(order_mail()))
    original = mailbox._capabilities
    monkeypatch.setattr(mailbox, "_capabilities", lambda conn: original(conn) - {"MOVE"})
    assert poll(rt, TODAY, plain(rt))["stored"] == 1
    # the person's pending deletion is theirs to expunge: UID EXPUNGE touched only ours
    with imap.client() as conn:
        conn.select("INBOX", readonly=True)
        _, data = conn.uid("SEARCH", "ALL")
    assert [int(n) for n in data[0].split()] == [kept]
    assert len(imap.messages("Processed")) == 1


def test_flag_only_mode_polls_unseen_mail(rt: Runtime, imap: ImapServer) -> None:
    imap.append(raw(order_mail()))
    imap.append(raw(message("Schon gelesen", "<read@example.test>")), flags="\\Seen")
    settings_ = plain(rt, processed_folder=None)
    assert poll(rt, TODAY, settings_)["stored"] == 1
    assert all("\\Seen" in m[2] for m in imap.messages("INBOX"))
    assert poll(rt, TODAY, settings_)["messages"] == 0


def test_too_large_mail_is_moved_aside_not_fetched(tmp_path: Path, database_url: str,
                                                   imap: ImapServer) -> None:
    runtime = open_runtime(tmp_path / "ws", database_url, imap, limits={"upload_mb": 1})
    try:
        imap.append(raw(message("Riesig", "<huge@example.test>",
                                attachments=[("scan.pdf", b"%PDF-1.4 " + b"x" * 1_200_000)])))
        assert poll(runtime, TODAY, plain(runtime))["rejected"] == 1
        assert documents(runtime) == []
        assert imap.messages("INBOX") == [] and len(imap.messages("Rejected")) == 1
        with runtime.db.unit_of_work() as s:
            entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "mail.rejected"))
            assert entry is not None and "limits.upload_mb" in entry.details["reason"]
    finally:
        runtime.close()


def test_unicode_password_and_folder_name(rt: Runtime, imap: ImapServer) -> None:
    settings_ = plain(rt, username=UNICODE_USER, password=UNICODE_PASSWORD,
                      processed_folder="Erledigt – geprüft")
    with imap.client(UNICODE_USER) as conn:
        conn.append("INBOX", None, None, raw(order_mail()))
    assert poll(rt, TODAY, settings_)["stored"] == 1
    with imap.client(UNICODE_USER) as conn:
        _, data = conn.list()
    assert any(quote_mailbox("Erledigt – geprüft").encode() in line for line in data
               if isinstance(line, bytes))


def test_wrong_password_is_a_clear_error(rt: Runtime, imap: ImapServer) -> None:
    with pytest.raises(MailboxError, match="login as 'orders@muster") as caught:
        poll(rt, TODAY, plain(rt, password="falsch-0815"))
    assert "falsch-0815" not in str(caught.value)


def test_a_mail_with_only_text_becomes_a_text_document(rt: Runtime, imap: ImapServer) -> None:
    text = ("Hiermit bestellen wir 10 Stück HM-200 Hydraulikmotor zum Preis von 1.250,00 EUR "
            "je Stück, Lieferung bis 15.09.2026.")
    imap.append(raw(message("Bestellung per Mail", "<text@example.test>", body=text)))
    imap.append(raw(message("Danke", "<thanks@example.test>", body="Danke!")))
    assert poll(rt, TODAY, plain(rt))["documents"] == 1
    body = next(d for d in documents(rt) if d.filename == "Bestellung per Mail.txt")
    assert rt.blobs.get(body.sha256).decode("utf-8") == text


def test_mail_intake_is_off_until_configured(runtime: Runtime) -> None:
    assert ImapSettings.from_config(runtime.config) is None
    assert not any(poll(runtime, TODAY).values())


# pure parsing: no server, no database


def test_safe_names() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_name("evil\r\nname\x07\x00.pdf") == "evil name.pdf"
    assert safe_name("..") == safe_name("") == "unnamed"
    assert len(safe_name("a" * 500 + ".pdf")) == 200
    assert safe_name("a" * 500 + ".pdf").endswith("aa.pdf")


def test_body_is_plain_text_else_visible_html() -> None:
    msg = EmailMessage()
    msg["Subject"] = "x"
    msg.set_content("<p>Hallo</p><script>alert(1)</script><style>p{}</style>Welt &amp; mehr",
                    subtype="html")
    assert parse_message(raw(msg)).body == "Hallo\nWelt & mehr"
    assert html_to_text("<table><tr><td>A</td><td>B</td></tr></table>") == "A\tB"
    both = message("x", "<x@y>", body="Nur Text", html="<p>HTML</p>")
    assert parse_message(raw(both)).body == "Nur Text"


def test_attachment_limit_and_forwarded_mail() -> None:
    inner = message("Fwd", "<inner@x>", attachments=[("innen.pdf", b"%PDF-1.4 innen")])
    outer = message("Weiterleitung", "<outer@x>", attachments=[("aussen.pdf", b"%PDF-1.4 a")])
    outer.add_attachment(inner)
    parsed = parse_message(raw(outer), max_attachments=1)
    assert [a.filename for a in parsed.attachments] == ["aussen.pdf"]
    assert parsed.skipped == ("innen.pdf",) and "at most 1" in str(parsed.issues[0])
    assert parsed.message_id == "<outer@x>" and parsed.sender == "einkauf@hoffmann-bau.example"
    assert parsed.date is not None and parsed.date.isoformat() == "2026-09-02T09:15:00+02:00"


def test_deep_nesting_and_many_parts_are_bounded() -> None:
    body = b"x"
    for depth in range(40):
        body = (b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (depth, depth)
                + body + b"\r\n--b%d--\r\n" % depth)
    parsed = parse_message(b"Subject: deep\r\nMIME-Version: 1.0\r\n" + body)
    assert any("nested deeper" in str(i) for i in parsed.issues)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(data: bytes) -> None:
    parsed = parse_message(b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n"
                           b"\r\n--x\r\n" + data)
    assert all(a.filename and "/" not in a.filename for a in parsed.attachments)
