"""Outgoing e-mail as RFC 5322 messages (with attachments), and the SMTP transport."""

from __future__ import annotations

import re
import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate


def build_message(*, sender: str, recipient: str, subject: str, body: str, key: str,
                  attachments: Sequence[tuple[str, str, bytes]]) -> EmailMessage:
    """attachments: (filename, mime type, bytes). The Message-ID carries the idempotency key."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    domain = sender.rpartition("@")[2] or "o2c.invalid"
    msg["Message-ID"] = f"<{re.sub(r'[^A-Za-z0-9.-]', '.', key)}@{domain}>"
    msg.set_content(body)
    for filename, mime, data in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def send_smtp(msg: EmailMessage, *, host: str, port: int, username: str | None,
              password: str | None, starttls: bool, timeout: float = 30) -> None:
    with smtplib.SMTP(host, port, timeout=timeout) as smtp:
        if starttls:
            smtp.starttls()
        if username:
            smtp.login(username, password or "")
        smtp.send_message(msg)
