"""Incoming e-mail (RFC 822 bytes) → its headers, its attachments and its readable body.

Pure: bytes in, a `ParsedMail` out, no I/O. Hostile input is expected: attachment names
are made safe (no path parts, no control characters, at most 200 characters, so
`../../etc/passwd` becomes `passwd`), forwarded mails (message/rfc822) are opened up to a
fixed depth, inline images referenced by the HTML body (signature logos) are not taken as
documents, and at most `max_attachments` attachments are taken per mail: the rest are
named in an issue, and stay in the stored original.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import PurePath

from engine.core.records import Issue

MAX_NAME = 200
MAX_DEPTH = 8  # nested multiparts and forwarded mails
MAX_PARTS = 2000  # leaves looked at per mail; more is a hostile mail
MIN_BODY_CHARS = 40  # letters and digits a body needs to be worth reading
DEFAULT_MAX_ATTACHMENTS = 20


@dataclass(frozen=True)
class Attachment:
    """One file carried by the mail; `index` is its 1-based place among the attachments."""

    index: int
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    """What a mail carries. `issues` say what was left out and why."""

    message_id: str | None
    sender: str
    subject: str
    date: datetime | None
    body: str
    attachments: tuple[Attachment, ...]
    skipped: tuple[str, ...]  # names of attachments beyond the limit
    inline: tuple[str, ...]  # inline images of the HTML body, not taken as documents
    issues: tuple[Issue, ...]

    @property
    def label(self) -> str:
        """How an error names this mail: its subject and Message-ID."""
        subject = f"“{self.subject[:80]}”" if self.subject else "(no subject)"
        return f"mail {subject} {self.message_id or ''}".rstrip()

    def body_document(self) -> tuple[str, bytes] | None:
        """The body as a .txt document when it is worth reading: only for a mail without
        attachments (otherwise the body is a cover note) and with enough text."""
        if self.attachments or self.skipped:
            return None
        if sum(c.isalnum() for c in self.body) < MIN_BODY_CHARS:
            return None
        stem = safe_name(self.subject)[: MAX_NAME - 4] if self.subject else "mail"
        return f"{stem or 'mail'}.txt", self.body.encode("utf-8")

    def eml_name(self) -> str:
        """A readable file name for the original: the subject, else the Message-ID."""
        stem = safe_name(self.subject or (self.message_id or "").strip("<>") or "mail")
        return f"{stem[: MAX_NAME - 4]}.eml"


def safe_name(name: str) -> str:
    """Only the last path part, printable, at most 200 characters; never empty."""
    text = unicodedata.normalize("NFC", name).replace("\\", "/")
    text = "".join(" " if c in "\t\r\n" else c for c in text if c.isprintable() or c.isspace())
    base = PurePath(text).name if "/" in text else text
    cleaned = re.sub(r"\s+", " ", base).strip(" .") or "unnamed"
    if len(cleaned) <= MAX_NAME:
        return cleaned
    stem, dot, ext = cleaned.rpartition(".")
    if dot and stem and len(ext) <= 10:  # keep the extension: people read it
        return f"{stem[: MAX_NAME - len(ext) - 1].rstrip(' .')}.{ext}"
    return cleaned[:MAX_NAME]


def parse_message(raw: bytes, *,
                  max_attachments: int = DEFAULT_MAX_ATTACHMENTS) -> ParsedMail:
    """Parse a mail; never raises on malformed input (problems become issues)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    issues: list[Issue] = []
    message_id = _message_id(_header(msg, "Message-ID"))
    subject = _clean(_header(msg, "Subject"))[:998]
    sender = _address(_header(msg, "From"))
    sent = _date(_header(msg, "Date"))
    where = f"mail {message_id or '(no Message-ID)'}"
    try:
        body, html = _body(msg)
    except Exception as exc:  # a hostile structure the email package trips over
        body, html = "", ""
        issues.append(Issue(where, f"the text of the mail cannot be read ({exc!r:.200})"))
    referenced = set(re.findall(r"cid:([^\"'\s>)]+)", html, re.I))

    found: list[tuple[str, str, bytes]] = []
    inline: list[str] = []
    for number, part in enumerate(_leaves(msg, issues, where), start=1):
        try:
            kind = _attachment_kind(part, referenced)
            if kind == "body":
                continue
            name = _filename(part, len(found) + len(inline) + 1)
            if kind == "inline":
                inline.append(name)
            else:
                found.append((name, part.get_content_type(), _payload(part)))
        except Exception as exc:  # one unreadable part must not cost the others
            issues.append(Issue(where, f"MIME part {number} cannot be read ({exc!r:.200}); "
                                       "it stays in the stored original"))

    taken = found[:max_attachments]
    skipped = tuple(name for name, _, _ in found[max_attachments:])
    if skipped:
        issues.append(Issue(where, f"{len(found)} attachments, but at most {max_attachments} "
                                   f"are taken from one mail; not imported: "
                                   f"{_shorten(skipped)}. They stay in the stored original "
                                   "mail; send them in several mails or raise "
                                   "mail.imap.max_attachments"))
    attachments = tuple(Attachment(i, name, ctype, data)
                        for i, (name, ctype, data) in enumerate(taken, start=1))
    return ParsedMail(message_id, sender, subject, sent, body, attachments, skipped,
                      tuple(inline), tuple(issues))


def html_to_text(html: str) -> str:
    """Visible text of an HTML body: no scripts or styles, block elements as lines."""
    parser = _TextOnly()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read
        pass
    lines = (re.sub(r"[ \u00a0]+", " ", line).strip() for line in "".join(parser.out)
             .splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextOnly(HTMLParser):
    BLOCKS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table",
              "blockquote", "pre", "hr"}
    HIDDEN = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")
        elif tag in ("td", "th"):
            self.out.append("\t")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(data)


def _leaves(msg: Message, issues: list[Issue], where: str) -> Iterator[Message]:
    """Every non-container part in order, iteratively (no recursion limit to hit), at most
    MAX_DEPTH deep and MAX_PARTS in all; what is left out becomes an issue."""
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    too_deep = False
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            issues.append(Issue(where, f"more than {MAX_PARTS} MIME parts; the rest were not "
                                       "opened and stay in the stored original"))
            return
        if not part.is_multipart():
            yield part
            continue
        if depth >= MAX_DEPTH:
            if not too_deep:
                issues.append(Issue(where, f"parts nested deeper than {MAX_DEPTH} levels were "
                                           "not opened; they stay in the stored original"))
            too_deep = True
            continue
        children = part.get_payload()
        if isinstance(children, list):
            stack.extend((child, depth + 1) for child in reversed(children)
                         if isinstance(child, Message))


def _attachment_kind(part: Message, referenced: set[str]) -> str:
    """body (text shown to the reader), inline (an image the HTML shows), or attachment."""
    disposition = (part.get_content_disposition() or "").lower()
    ctype = part.get_content_type()
    has_name = bool(_raw_filename(part))
    if disposition == "attachment":
        return "attachment"
    if ctype.startswith("image/") and disposition != "attachment":
        cid = _header(part, "Content-ID").strip().strip("<>")
        if cid and cid in referenced:
            return "inline"
    if ctype in ("text/plain", "text/html") and not has_name:
        return "body"
    if ctype == "message/delivery-status":
        return "body"
    return "attachment"


def _raw_filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # malformed RFC 2231 parameters: the email package may raise anything
        return None
    return str(name) if name else None


def _filename(part: Message, index: int) -> str:
    name = _raw_filename(part)
    if name:
        return safe_name(name)
    ext = mimetypes.guess_extension(part.get_content_type()) or ".bin"
    return f"attachment-{index}{ext}"


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # broken transfer encoding: keep the bytes as they are
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _body(msg: Message) -> tuple[str, str]:
    """The readable body (plain text, else HTML made text), and the HTML (for cid: links)."""
    html = ""
    plain: str | None = None
    for part in _leaves(msg, [], ""):
        if _raw_filename(part):
            continue
        if (part.get_content_disposition() or "") == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = _text(part)
        elif ctype == "text/html" and not html:
            html = _text(part)
        if plain is not None and html:
            break
    text = plain if plain and plain.strip() else html_to_text(html) if html else ""
    return _readable(text), html


def _readable(text: str) -> str:
    """Printable characters and line breaks only, without trailing blanks."""
    kept = "".join(c for c in text.replace("\r\n", "\n") if c.isprintable() or c in "\n\t")
    return "\n".join(line.rstrip() for line in kept.splitlines()).strip()


def _text(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str):
                return content
        except Exception:  # unknown charset, broken encoding: decode the bytes leniently
            pass
    data = _payload(part)
    charset = part.get_content_charset() or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _header(msg: Message, name: str) -> str:
    """A header's decoded value; the raw value when the parser cannot make sense of it."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:  # header parsing bugs on hostile input: fall back to the raw text
        for key, raw in getattr(msg, "raw_items", lambda: [])():
            if str(key).lower() == name.lower():
                return str(raw)
        return ""


def _clean(text: str) -> str:
    """One line, printable, no surrounding blanks."""
    return re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in text)).strip()


def _message_id(value: str) -> str | None:
    text = _clean(value)
    match = re.search(r"<[^<>\s]+>", text)
    if match:
        return match.group(0)[:998]
    return f"<{text}>"[:998] if text and " " not in text else None


def _address(value: str) -> str:
    try:
        pairs = getaddresses([value])
    except Exception:  # hostile address lists: keep the cleaned text
        pairs = []
    addr = next((a for _, a in pairs if "@" in a), "")
    return _clean(addr or value)[:254]


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        return parsedate_to_datetime(_clean(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _shorten(names: tuple[str, ...], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
