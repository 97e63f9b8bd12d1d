"""Outgoing e-mail as RFC 5322 messages (with attachments), and the SMTP transport.

The transport tells apart the three outcomes the outbox must not confuse:

- the server accepted the message (`send_smtp` returns its reply, e.g. the queue id);
- it certainly did not (`NotSent`): no connection, a refused sender or recipient, a
  negative reply to DATA or to the message itself. Retrying cannot send it twice.
  `permanent` is set for 5xx replies, which RFC 5321 says not to repeat;
- nobody knows (`Uncertain`): the connection broke after the first byte of the message
  went out and before the server's reply to it arrived.

`before_data` is called after the envelope (MAIL FROM, RCPT TO) was accepted and right
before the DATA command: the outbox records the hand-over there, in its own transaction.
If it raises, the connection is closed without DATA and nothing is sent.
"""

from __future__ import annotations

import copy
import re
import smtplib
from collections.abc import Callable, Sequence
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import formatdate, getaddresses, parseaddr
from io import BytesIO

_KEPT = re.compile(r"[A-Za-z0-9-]")


class NotSent(Exception):
    """The server did not take the message; sending it again cannot duplicate it."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Uncertain(Exception):
    """The message was being handed over when the connection broke: it may have arrived."""


def message_id(key: str, sender: str) -> str:
    """`<key@sender-domain>`, the key encoded so that the id is a valid RFC 5322 atom and
    two keys never share an id: letters, digits and '-' stay, every other character
    becomes `=XX` per UTF-8 byte. The same key always gives the same id, so a receiving
    system can drop a copy that arrives twice."""
    local = "".join(ch if _KEPT.fullmatch(ch) else "".join(f"={b:02X}" for b in ch.encode())
                    for ch in key)
    domain = sender.rpartition("@")[2].strip().lower() or "o2c.invalid"
    return f"<{local}@{domain}>"


def idempotency_key(msg_id: str) -> str | None:
    """The outbox key inside a Message-ID made by `message_id` (for bounces and replies)."""
    match = re.fullmatch(r"\s*<((?:[A-Za-z0-9-]|=[0-9A-F]{2})+)@[^>]+>\s*", msg_id or "")
    if match is None:
        return None
    local, out, i = match.group(1), bytearray(), 0
    while i < len(local):
        if local[i] == "=":
            out.append(int(local[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(local[i]))
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return None


def build_message(*, sender: str, recipient: str, subject: str, body: str, key: str,
                  attachments: Sequence[tuple[str, str, bytes]]) -> EmailMessage:
    """attachments: (filename, mime type, bytes). The Message-ID carries the idempotency key."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(key, sender)
    msg.set_content(body)
    for filename, mime, data in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def _wire_bytes(msg: EmailMessage, international: bool) -> bytes:
    """The message as sent: CRLF line ends, Bcc removed, UTF-8 headers if international."""
    if msg["Bcc"] is not None or msg["Resent-Bcc"] is not None:
        msg = copy.copy(msg)
        del msg["Bcc"]
        del msg["Resent-Bcc"]
    out = BytesIO()
    BytesGenerator(out, policy=SMTPUTF8 if international else SMTP).flatten(msg)
    return out.getvalue()


def _dot_stuffed(data: bytes) -> bytes:
    body = re.sub(rb"(?m)^\.", b"..", data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _reply(code: int, text: bytes | str) -> str:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {shown}".strip()


def _envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    sender = parseaddr(str(msg["From"]))[1]
    fields = [str(v) for name in ("To", "Cc", "Bcc") for v in msg.get_all(name, [])]
    recipients = [addr for _, addr in getaddresses(fields) if addr]
    if not sender or not recipients:
        raise NotSent("the message has no sender or no recipient", permanent=True)
    return sender, recipients


def _open(host: str, port: int, timeout: float, starttls: bool, username: str | None,
          password: str | None) -> smtplib.SMTP:
    where = f"{host}:{port}"
    try:
        smtp = smtplib.SMTP(host, port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotSent(f"cannot connect to the SMTP server {where}: {exc}") from exc
    try:
        smtp.ehlo()
        if starttls:
            smtp.starttls()
            smtp.ehlo()
        if username:
            smtp.login(username, password or "")
    except smtplib.SMTPResponseException as exc:
        smtp.close()
        raise NotSent(f"{where} refused: {_reply(exc.smtp_code, exc.smtp_error)}",
                      permanent=exc.smtp_code >= 500) from exc
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        raise NotSent(f"{where}: {type(exc).__name__}: {exc}") from exc
    return smtp


def send_smtp(msg: EmailMessage, *, host: str, port: int, username: str | None,
              password: str | None, starttls: bool, timeout: float = 30,
              before_data: Callable[[], None] | None = None) -> str:
    """Send one message; returns the server's reply to it. Raises NotSent or Uncertain
    (see the module docstring); an exception from `before_data` passes through unchanged
    and means nothing was sent."""
    sender, recipients = _envelope(msg)
    international = not "".join([sender, *recipients]).isascii()
    data = _dot_stuffed(_wire_bytes(msg, international))
    where = f"{host}:{port}"
    smtp = _open(host, port, timeout, starttls, username, password)
    try:
        try:
            options: list[str] = []
            if international:
                if not smtp.has_extn("smtputf8"):
                    raise NotSent(f"{where} cannot take non-ASCII addresses (no SMTPUTF8)",
                                  permanent=True)
                options = ["SMTPUTF8", "BODY=8BITMIME"]
            code, text = smtp.mail(sender, options)
            if code != 250:
                raise NotSent(f"{where} refused the sender {sender}: {_reply(code, text)}",
                              permanent=code >= 500)
            for rcpt in recipients:
                code, text = smtp.rcpt(rcpt)
                if code not in (250, 251):
                    raise NotSent(f"{where} refused the recipient {rcpt}: {_reply(code, text)}",
                                  permanent=code >= 500)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotSent(f"{where}: {type(exc).__name__}: {exc}") from exc
        if before_data is not None:
            before_data()  # what it raises passes through: DATA was never sent
        try:
            smtp.putcmd("data")
            code, text = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:  # nothing of the message went out
            raise NotSent(f"{where}: {type(exc).__name__}: {exc}") from exc
        if code != 354:
            raise NotSent(f"{where} refused DATA: {_reply(code, text)}", permanent=code >= 500)
        try:  # from here until the reply arrives, the outcome is unknown if the line breaks
            smtp.send(data)
            code, text = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise Uncertain(f"{where}: the connection broke while handing over the message "
                            f"({type(exc).__name__}: {exc})") from exc
        if code != 250:
            raise NotSent(f"{where} did not accept the message: {_reply(code, text)}",
                          permanent=code >= 500)
        return _reply(code, text)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
