"""The outbox: mail is written in the transaction that decides it, and delivered by a job.

Each message has an idempotency key (unique), so deciding twice queues once. Delivery
claims a message (status `sending`, committed) before it talks to SMTP, so a crash after
sending never sends again: at most once. Without SMTP, messages become .eml files in
var/outbox, named by their key.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from documents.mail import build_message, send_smtp
from engine.runtime import Runtime
from engine.store.models import OutboxMessage, utcnow

BACKOFF_MINUTES = (1, 5, 30, 120, 720)


def enqueue(session: Session, *, key: str, kind: str, recipient: str, subject: str, body: str,
            attachments: list[dict[str, Any]]) -> OutboxMessage:
    """Queue a message once per key; a second call with the same key returns the first."""
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    msg = OutboxMessage(idempotency_key=key, kind=kind, recipient=recipient, subject=subject,
                        body=body, attachments=attachments)
    session.add(msg)
    session.flush()
    return msg


def deliver(rt: Runtime, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Send what is due. Returns counts of sent and failed messages."""
    now = now or utcnow()
    counts = {"sent": 0, "failed": 0}
    for _ in range(limit):
        with rt.db.unit_of_work() as session:
            msg = session.scalar(
                select(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True))
            if msg is None:
                break
            msg.status = "sending"
            msg.attempts += 1
            msg_id = msg.id
        error = _send(rt, msg)
        with rt.db.unit_of_work() as session:
            row = session.get(OutboxMessage, msg_id)
            assert row is not None
            if error is None:
                row.status, row.sent_at = "sent", utcnow()
                counts["sent"] += 1
            else:
                row.last_error = error
                if row.attempts >= len(BACKOFF_MINUTES):
                    row.status = "failed"
                else:
                    row.status = "pending"
                    row.next_attempt_at = now + timedelta(minutes=BACKOFF_MINUTES[row.attempts - 1])
                counts["failed"] += 1
    return counts


def _send(rt: Runtime, msg: OutboxMessage) -> str | None:
    cfg = rt.config
    attachments = [(a["filename"], a["type"], rt.blobs.get(a["sha256"])) for a in msg.attachments]
    email = build_message(sender=cfg["mail.from"], recipient=msg.recipient, subject=msg.subject,
                          body=msg.body, key=msg.idempotency_key, attachments=attachments)
    try:
        if cfg["mail.smtp.host"]:
            send_smtp(email, host=cfg["mail.smtp.host"], port=cfg["mail.smtp.port"],
                      username=cfg["mail.smtp.username"], password=cfg["mail.smtp.password"],
                      starttls=cfg["mail.smtp.starttls"])
        else:
            rt.outbox_dir.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9._-]", "_", msg.idempotency_key) + ".eml"
            target = rt.outbox_dir / name
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(bytes(email))
            tmp.replace(target)
    except (OSError, ValueError) as exc:  # smtplib errors are OSErrors
        return f"{type(exc).__name__}: {exc}"
    return None
