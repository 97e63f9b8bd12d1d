"""Mail intake: poll an IMAP mailbox; every mail's original first, then what it carries.

Per message (UID based, fetched with BODY.PEEK so nothing is marked read early): the raw
bytes are stored as a `.eml` document (origin `mail`) before anything else; then each
attachment is received and processed like an upload (the body too, as `.txt`, when there
is no attachment but text worth reading). Only then is the message flagged `\\Seen` and
moved to the processed folder (MOVE, else COPY + `\\Deleted` + UID EXPUNGE). A failure
on one message leaves it in place for the next poll and does not stop the others.

Dedupe: the same bytes are one document (intake); another mail with a Message-ID seen
before is stored and marked a duplicate, its attachments not imported again. The `.eml`
document keeps the Message-ID and its documents in `Document.parsed`; status `extracted`
while its parts are stored, then `recorded`, or `needs_review` saying what was left out.
"""

from __future__ import annotations

import base64
import imaplib
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select

from documents.email_in import DEFAULT_MAX_ATTACHMENTS, ParsedMail, parse_message
from engine.core.config import Config
from engine.runtime import Runtime
from engine.services import intake
from engine.services.records import audit
from engine.store.models import Document

ACTOR = "system:mail"
MAX_MESSAGES = 100  # per poll, so a backlog does not hold one job run for hours


class MailboxError(Exception):
    """The mailbox cannot be used (connection, login, folder); the message says which."""


@dataclass(frozen=True)
class ImapSettings:
    """Where to poll. `security`: ssl (port 993), starttls (port 143), or none (loopback
    only, for tests). Without a processed folder, processed mail is only flagged \\Seen
    and only unseen mail is polled."""

    host: str
    port: int = 993
    username: str = ""
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    security: str = "ssl"
    processed_folder: str | None = "Processed"
    rejected_folder: str | None = "Rejected"
    max_attachments: int = DEFAULT_MAX_ATTACHMENTS
    max_messages: int = MAX_MESSAGES
    timeout: float = 60.0

    @classmethod
    def from_config(cls, config: Config, **overrides: Any) -> ImapSettings | None:
        """The mail.imap.* settings; None while no host is set (mail intake off)."""
        values = config.values
        if not values.get("mail.imap.host"):
            return None
        settings = cls(
            host=str(values["mail.imap.host"]),
            port=int(values.get("mail.imap.port", 993)),
            username=str(values.get("mail.imap.username") or ""),
            password=str(values.get("mail.imap.password") or ""),
            folder=str(values.get("mail.imap.folder", "INBOX")),
            security=str(values.get("mail.imap.security", "ssl")),
            processed_folder=values.get("mail.imap.processed_folder", "Processed"),
            rejected_folder=values.get("mail.imap.rejected_folder", "Rejected"),
            max_attachments=int(values.get("mail.imap.max_attachments",
                                           DEFAULT_MAX_ATTACHMENTS)),
        )
        return replace(settings, **overrides)

    @property
    def label(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    @property
    def moves(self) -> bool:
        """Processed mail leaves the folder (else it is only flagged \\Seen)."""
        return bool(self.processed_folder) and self.processed_folder != self.folder


@dataclass(frozen=True)
class MailOutcome:
    """What became of one mail: `stored` (new, parts imported), `known` (these bytes were
    imported before), `duplicate` (another mail with its Message-ID was imported)."""

    document_id: int
    outcome: str
    status: str  # of the .eml document
    documents: tuple[int, ...] = ()
    issues: tuple[str, ...] = ()


def poll(rt: Runtime, today: date, settings: ImapSettings | None = None) -> dict[str, Any]:
    """Poll the configured mailbox once; counts per outcome, and the errors."""
    settings = settings or ImapSettings.from_config(rt.config)
    result: dict[str, Any] = {"messages": 0, "stored": 0, "duplicates": 0, "documents": 0,
                              "rejected": 0, "failed": 0, "errors": []}
    if settings is None:
        return result
    limit = rt.config["limits.upload_mb"] * 1024 * 1024
    with connect(settings) as box:
        uids = box.pending()[: settings.max_messages]
        sizes = box.sizes(uids)
        for uid in uids:
            result["messages"] += 1
            where = f"{settings.label} UID {uid}"
            try:
                if sizes.get(uid, 0) > limit:
                    _reject(rt, box, uid, where, f"{sizes[uid]} bytes, more than the limit of "
                            f"{rt.config['limits.upload_mb']} MB (limits.upload_mb)")
                    result["rejected"] += 1
                    continue
                raw = box.fetch(uid)
                if raw is None:  # expunged meanwhile by someone else
                    result["messages"] -= 1
                    continue
                try:
                    outcome = ingest(rt, raw, today, max_attachments=settings.max_attachments)
                except intake.RejectedFile as exc:
                    _reject(rt, box, uid, where, str(exc))
                    result["rejected"] += 1
                    continue
                box.finish(uid, settings.processed_folder if settings.moves else None)
            except imaplib.IMAP4.abort as exc:  # the connection is gone: stop this poll
                result["failed"] += 1
                result["errors"].append(f"{where}: connection lost: {exc}")
                break
            except Exception as exc:  # the message stays unflagged for the next poll
                result["failed"] += 1
                result["errors"].append(f"{where}: {type(exc).__name__}: {exc}")
                _audit_failure(rt, where, exc)
                continue
            if outcome.outcome == "stored":
                result["stored"] += 1
            else:
                result["duplicates"] += 1
            result["documents"] += len(outcome.documents)
    return result


def ingest(rt: Runtime, raw: bytes, today: date, *,
           max_attachments: int = DEFAULT_MAX_ATTACHMENTS) -> MailOutcome:
    """Store one mail's original, then import its parts (idempotent: safe to repeat)."""
    try:
        mail: ParsedMail | None = parse_message(raw, max_attachments=max_attachments)
    except Exception:  # the original is stored all the same; expand() says why it failed
        mail = None
    received = intake.receive(rt, raw, mail.eml_name() if mail else "mail.eml", "mail")
    return expand(rt, received.document_id, today, max_attachments=max_attachments,
                  parsed=mail)


def expand(rt: Runtime, document_id: int, today: date, *,
           max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
           parsed: ParsedMail | None = None) -> MailOutcome:
    """Import the parts of a stored `.eml` document (from a mailbox, or uploaded);
    `parsed` saves parsing the stored bytes again."""
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        if doc is None:
            raise KeyError(f"document {document_id} does not exist")
        if doc.kind == "email" and (doc.parsed or {}).get("mail", {}).get("expanded"):
            return MailOutcome(doc.id, "known", doc.status)
        sha = doc.sha256
    raw = b"" if parsed else rt.blobs.get(sha)
    try:
        mail = parsed or parse_message(raw, max_attachments=max_attachments)
    except Exception as exc:  # a bug in the parser: the original is kept, a person looks
        return _finish(rt, document_id, None, [], [f"mail cannot be read: {exc!r:.300}"])
    duplicate_of = _claim(rt, document_id, mail)
    if duplicate_of is not None:
        return _finish(rt, document_id, mail, [], [], duplicate_of=duplicate_of)
    parts: list[dict[str, Any]] = []
    issues = [str(issue) for issue in mail.issues]
    files = [(a.filename, a.data) for a in mail.attachments]
    body = mail.body_document()
    if body is not None:
        files.append(body)
    for name, data in files:
        try:
            received = intake.receive(rt, data, name, "mail")
        except intake.RejectedFile as exc:
            issues.append(f"{mail.label}: attachment {exc}")
            parts.append({"name": name, "error": str(exc)})
            continue
        parts.append({"name": name, "document_id": received.document_id, "new": received.new,
                      "status": _process(rt, received.document_id, today)})
    return _finish(rt, document_id, mail, parts, issues)


def _claim(rt: Runtime, document_id: int, mail: ParsedMail) -> int | None:
    """Mark the document as a mail being imported (status `extracted`, which the intake job
    leaves alone) with its Message-ID; returns the earlier mail with that Message-ID."""
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        assert doc is not None
        earlier = None
        if mail.message_id:
            earlier = session.scalar(
                select(Document.id).where(
                    Document.kind == "email", Document.id != document_id,
                    Document.parsed["message_id"].as_string() == mail.message_id)
                .order_by(Document.id).limit(1))
        doc.kind, doc.status = "email", "extracted"
        doc.parsed = {**_headers(mail), "mail": {"expanded": False}}
        return earlier


def _process(rt: Runtime, document_id: int, today: date) -> str:
    """Process one part; a reader that crashes leaves it for the intake job to resume."""
    try:
        return intake.process(rt, document_id, today)
    except Exception as exc:
        return f"not read yet ({type(exc).__name__}: {exc!s:.200}); the intake job retries"


def _finish(rt: Runtime, document_id: int, mail: ParsedMail | None,
            parts: list[dict[str, Any]], issues: list[str], *,
            duplicate_of: int | None = None) -> MailOutcome:
    documents = tuple(p["document_id"] for p in parts if "document_id" in p)
    new = tuple(p["document_id"] for p in parts if p.get("new"))
    with rt.db.unit_of_work() as session:
        doc = session.get(Document, document_id)
        assert doc is not None
        doc.kind = "email"
        doc.parsed = {**(_headers(mail) if mail else {}), "mail": {
            "expanded": True, "documents": list(documents), "parts": parts,
            "skipped": list(mail.skipped) if mail else [],
            "inline": list(mail.inline) if mail else [], "duplicate_of": duplicate_of,
            "issues": issues}}
        if duplicate_of is not None:
            doc.status = "recorded"
            doc.reason = (f"duplicate of document {duplicate_of} (same Message-ID "
                          f"{mail.message_id if mail else ''}); its attachments were not "
                          "imported again")
        else:
            doc.status = "needs_review" if issues else "recorded"
            doc.reason = "\n".join(issues)
        status = doc.status
        action = "mail.duplicate" if duplicate_of is not None else "mail.received"
        audit(session, ACTOR, action, "document", doc.id, sha256=doc.sha256,
              duplicate_of=duplicate_of, documents=list(documents), issues=issues,
              **(_headers(mail) if mail else {}))
    outcome = "duplicate" if duplicate_of is not None else "stored"
    return MailOutcome(document_id, outcome, status, new, tuple(issues))


def _headers(mail: ParsedMail) -> dict[str, Any]:
    return {"message_id": mail.message_id, "from": mail.sender, "subject": mail.subject,
            "date": mail.date.isoformat() if mail.date else None}


def _reject(rt: Runtime, box: Mailbox, uid: int, where: str, reason: str) -> None:
    """A mail that cannot be stored stays on the server, moved out of the way."""
    with rt.db.unit_of_work() as session:
        audit(session, ACTOR, "mail.rejected", "mail", None, where=where, reason=reason,
              moved_to=box.settings.rejected_folder)
    box.finish(uid, box.settings.rejected_folder)


def _audit_failure(rt: Runtime, where: str, exc: Exception) -> None:
    # the database itself may be what failed: then the poll result alone says so
    with suppress(Exception), rt.db.unit_of_work() as session:
        audit(session, ACTOR, "mail.failed", "mail", None, where=where,
              error=f"{type(exc).__name__}: {exc}"[:1000])


class Mailbox:
    """One logged-in IMAP session on the selected folder (see `connect`)."""

    def __init__(self, conn: imaplib.IMAP4, settings: ImapSettings) -> None:
        self.conn = conn
        self.settings = settings
        self.capabilities = _capabilities(conn)
        self._created: set[str] = set()

    def pending(self) -> list[int]:
        """UIDs still to import: all undeleted mail when processed mail is moved away,
        else the unseen."""
        criteria = "UNDELETED" if self.settings.moves else "UNSEEN UNDELETED"
        data = _ok(self.conn.uid("SEARCH", criteria), "UID SEARCH")
        return sorted(int(n) for n in b" ".join(d for d in data if d).split())

    def sizes(self, uids: list[int]) -> dict[int, int]:
        found: dict[int, int] = {}
        for start in range(0, len(uids), 200):
            chunk = ",".join(str(u) for u in uids[start:start + 200])
            for item in _ok(self.conn.uid("FETCH", chunk, "(RFC822.SIZE)"), "UID FETCH"):
                text = (item[0] if isinstance(item, tuple) else item) or b""
                uid = re.search(rb"UID (\d+)", text)
                size = re.search(rb"RFC822\.SIZE (\d+)", text)
                if uid and size:
                    found[int(uid.group(1))] = int(size.group(1))
        return found

    def fetch(self, uid: int) -> bytes | None:
        """The raw message, without setting \\Seen; None when it is gone."""
        for item in _ok(self.conn.uid("FETCH", str(uid), "(BODY.PEEK[])"), "UID FETCH"):
            if isinstance(item, tuple) and b"BODY[]" in item[0] and \
                    re.search(rb"UID %d\b" % uid, item[0]):
                return bytes(item[1])
        return None

    def finish(self, uid: int, folder: str | None) -> None:
        """Flag \\Seen, then move to `folder` (when given)."""
        _ok(self.conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)"), "UID STORE")
        if not folder or folder == self.settings.folder:
            return
        target = self._ensure(folder)
        if "MOVE" in self.capabilities:
            _ok(self.conn.uid("MOVE", str(uid), target), f"UID MOVE to {folder}")
            return
        _ok(self.conn.uid("COPY", str(uid), target), f"UID COPY to {folder}")
        _ok(self.conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)"), "UID STORE")
        if "UIDPLUS" in self.capabilities:
            _ok(self.conn.uid("EXPUNGE", str(uid)), "UID EXPUNGE")
        else:
            _ok(self.conn.expunge(), "EXPUNGE")

    def _ensure(self, folder: str) -> str:
        target = quote_mailbox(folder)
        if folder not in self._created:
            typ, _ = self.conn.create(target)  # NO when it exists already: that is fine
            if typ == "OK":
                self.conn.subscribe(target)
            self._created.add(folder)
        return target


@contextmanager
def connect(settings: ImapSettings) -> Iterator[Mailbox]:
    """Connect, log in and select the folder; log out at the end."""
    where = f"{settings.host}:{settings.port}"
    if settings.security not in ("ssl", "starttls", "none"):
        raise MailboxError(f"mail.imap.security must be ssl, starttls or none, "
                           f"not {settings.security!r}")
    try:
        if settings.security == "ssl":
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                settings.host, settings.port, ssl_context=ssl.create_default_context(),
                timeout=settings.timeout)
        else:
            conn = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                conn.starttls(ssl_context=ssl.create_default_context())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"IMAP server {where}: cannot connect: {exc}") from exc
    try:
        try:
            _login(conn, settings)
        except imaplib.IMAP4.error as exc:
            raise MailboxError(f"IMAP server {where}: login as {settings.username!r} "
                               f"failed: {exc}") from exc
        typ, data = conn.select(quote_mailbox(settings.folder))
        if typ != "OK":
            raise MailboxError(f"IMAP server {where}: folder {settings.folder!r} cannot be "
                               f"selected: {_text(data)}")
        yield Mailbox(conn, settings)
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            conn.logout()


def _login(conn: imaplib.IMAP4, settings: ImapSettings) -> None:
    if settings.password.isascii() and settings.username.isascii():
        conn.login(settings.username, settings.password)
        return
    token = f"\0{settings.username}\0{settings.password}".encode()  # SASL PLAIN is UTF-8
    conn.authenticate("PLAIN", lambda _challenge: token)


def quote_mailbox(name: str) -> str:
    """A folder name as an IMAP quoted string, in modified UTF-7 (RFC 3501 5.1.3)."""
    encoded = _utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            b64 = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + b64.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(out)


def _capabilities(conn: imaplib.IMAP4) -> set[str]:
    """After login the server may offer more (MOVE, UIDPLUS): ask again."""
    typ, data = conn.capability()
    if typ == "OK" and data and data[0]:
        return {c.upper() for c in _text(data).split()}
    return {str(c).upper() for c in conn.capabilities}


def _ok(response: tuple[str, list[Any]], what: str) -> list[Any]:
    typ, data = response
    if typ != "OK":
        raise MailboxError(f"{what}: {typ} {_text(data)}")
    return data


def _text(data: list[Any]) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d)
                    for d in data if d is not None)
