"""The outbox: mail is written in the transaction that decides it, and delivered by a job.

Each message has an idempotency key (unique), so deciding twice queues it once; the key
is also in the Message-ID, the same on every attempt.

Delivery guarantee: **at most once**, with the one window where the outcome cannot be
known reported as `uncertain` for a person to resolve, never retried on its own.

A message moves through these states, each change committed on its own:

    pending ──claim──▶ sending ──envelope accepted──▶ handed_over ──250──▶ sent
       ▲                  │                               │
       └─ retry/backoff ──┴─ server said no (4xx, down) ◀─┘ (5xx, or the last try: failed)

- `sending`: claimed by one worker (FOR UPDATE SKIP LOCKED; `attempts` is the claim's
  fencing token, every later write checks it). Nothing has gone to the server yet. If
  the worker dies here, the claim expires after `LEASE` and the message is queued again:
  safe, as no DATA was ever sent.
- `handed_over`: committed right before the SMTP DATA command, after MAIL FROM and RCPT
  TO were accepted. From the first byte of the message until the row says `sent`, a
  crash or a broken connection leaves the outcome unknown: the message becomes
  `uncertain` (at once when the connection breaks, after `LEASE` when the worker died)
  and stays there until `resolve_uncertain` says whether it arrived.
- A definite "no" from the server (connection refused, 4xx) is retried after
  `BACKOFF_MINUTES`; a 5xx reply or the last attempt makes it `failed` with the error.

The window is narrow: the DATA transfer plus one UPDATE. A worker that is alive but slow
cannot cause a second send either: when its claim expired and another worker took the
message, the hand-over update finds a newer `attempts` and the first worker stops before
DATA.

Without SMTP (`mail.smtp.host` empty) each message becomes `<key>.eml` in var/outbox,
written atomically; a file that already exists is left as it is, so a retry after a
crash cannot produce a second file or change the first.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from documents.mail import NotSent, Uncertain, build_message, send_smtp
from engine.core.emails import email_problem, valid_email
from engine.runtime import Runtime
from engine.services.records import audit
from engine.store.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

BACKOFF_MINUTES = (1, 5, 30, 120, 720)  # after attempt n wait BACKOFF_MINUTES[n-1]
MAX_ATTEMPTS = len(BACKOFF_MINUTES)
LEASE = timedelta(minutes=10)  # a claim or a hand-over older than this belongs to a dead worker
ATTENTION = ("uncertain", "failed")


class InvalidRecipient(ValueError):
    """The recipient is not a valid e-mail address; nothing was queued."""


class ClaimLost(Exception):
    """Another worker took the message over after this worker's claim expired."""


@dataclass(frozen=True)
class Claim:
    """What one worker took from the outbox; `attempt` is its fencing token."""

    id: int
    attempt: int
    key: str
    recipient: str
    subject: str
    body: str
    attachments: list[dict[str, Any]]


def enqueue(session: Session, *, key: str, kind: str, recipient: str, subject: str, body: str,
            attachments: list[dict[str, Any]]) -> OutboxMessage:
    """Queue a message once per key; a second call with the same key returns the first.

    The recipient is checked and normalised with email-validator; an invalid one raises
    InvalidRecipient (a ValueError) naming the key and the address.
    """
    address = valid_email(recipient)
    if address is None:
        raise InvalidRecipient(f"outbox message '{key}': recipient {recipient!r} is not a valid "
                               f"e-mail address: {email_problem(recipient)}")
    existing = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
    if existing is not None:
        return existing
    msg = OutboxMessage(idempotency_key=key, kind=kind, recipient=address, subject=subject,
                        body=body, attachments=attachments)
    session.add(msg)
    session.flush()
    return msg


def deliver(rt: Runtime, now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Send what is due, one message per claim. Returns counts: `sent`, `failed` (attempts
    that did not deliver: a retry is scheduled or the message gave up), and, when not
    zero, `uncertain` (new messages a person must resolve), `released` (claims of dead
    workers queued again) and `lost` (a slow worker's claim another worker took over).
    `now` shifts the clock (tests); time runs on from it."""
    started = utcnow()
    clock: Callable[[], datetime] = (lambda: now + (utcnow() - started)) if now else utcnow
    counts = {"sent": 0, "failed": 0}
    _recover(rt, clock(), counts)
    for _ in range(limit):
        claim = _claim(rt, clock())
        if claim is None:
            break
        outcome = _deliver_one(rt, claim, clock)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def resolve_uncertain(rt: Runtime, message_id: int, sent: bool, actor: str) -> None:
    """A person's answer for an `uncertain` message: it arrived (`sent`) or it did not
    (queued again, due now). Recorded in the audit log with the actor."""
    with rt.db.unit_of_work() as session:
        row = session.get(OutboxMessage, message_id, with_for_update=True)
        if row is None:
            raise LookupError(f"outbox message {message_id} does not exist")
        if row.status != "uncertain":
            raise ValueError(f"outbox message {message_id} ('{row.idempotency_key}') is "
                             f"{row.status}, not uncertain: there is nothing to resolve")
        previous = row.last_error
        if sent:
            row.status, row.sent_at = "sent", utcnow()
            row.last_error = f"confirmed as delivered by {actor}"
        else:
            row.status, row.next_attempt_at = "pending", utcnow()
            row.last_error = f"confirmed as not delivered by {actor}; queued again"
        audit(session, actor, "outbox.resolved", "outbox", row.id, key=row.idempotency_key,
              sent=sent, uncertainty=previous)


def needs_attention(session: Session) -> list[OutboxMessage]:
    """Messages a person must look at: `uncertain` ones, then `failed` ones, oldest first."""
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.status.in_(ATTENTION))
                           .order_by(OutboxMessage.id))
    return sorted(rows, key=lambda r: ATTENTION.index(r.status))


def _recover(rt: Runtime, now: datetime, counts: dict[str, int]) -> None:
    """Expired claims: before the hand-over → queue again; after it → uncertain."""
    with rt.db.unit_of_work() as session:
        expired = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status.in_(("sending", "handed_over")),
                   OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id).with_for_update(skip_locked=True))
        for row in expired:
            if row.status == "handed_over":
                row.status = "uncertain"
                row.last_error = (f"{row.last_error}; the worker stopped before the server's "
                                  "reply was recorded: the message may have arrived. Check "
                                  "the relay's log or the recipient, then resolve it")
                counts["uncertain"] = counts.get("uncertain", 0) + 1
            else:
                reason = (f"attempt {row.attempts}: the worker stopped before it handed the "
                          "message to the server")
                _schedule_retry(row, reason, permanent=False, now=now)
                if row.status == "pending":
                    row.next_attempt_at = now  # the expired lease was the wait
                counts["released"] = counts.get("released", 0) + 1


def _claim(rt: Runtime, now: datetime) -> Claim | None:
    with rt.db.unit_of_work() as session:
        row = session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.id).limit(1).with_for_update(skip_locked=True))
        if row is None:
            return None
        row.status = "sending"
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        return Claim(row.id, row.attempts, row.idempotency_key, row.recipient, row.subject,
                     row.body, list(row.attachments))


def _deliver_one(rt: Runtime, claim: Claim, clock: Callable[[], datetime]) -> str:
    """Deliver one claimed message; returns the name of the count it adds to."""
    cfg = rt.config
    try:
        files = [(a["filename"], a["type"], rt.blobs.get(a["sha256"])) for a in claim.attachments]
        email = build_message(sender=cfg["mail.from"], recipient=claim.recipient,
                              subject=claim.subject, body=claim.body, key=claim.key,
                              attachments=files)
    except Exception as exc:  # a missing blob or a broken attachment: recorded, retried
        return _not_sent(rt, claim, f"cannot build the message: {type(exc).__name__}: {exc}",
                         permanent=False, now=clock())
    host = cfg["mail.smtp.host"]
    if not host:
        _write_eml(rt, claim.key, bytes(email))
        _mark_sent(rt, claim, "written to the outbox folder")
        return "sent"
    where = f"{host}:{cfg['mail.smtp.port']}"
    try:
        reply = send_smtp(email, host=host, port=cfg["mail.smtp.port"],
                          username=cfg["mail.smtp.username"], password=cfg["mail.smtp.password"],
                          starttls=cfg["mail.smtp.starttls"],
                          before_data=lambda: _hand_over(rt, claim, where, clock()))
    except ClaimLost:
        log.warning("outbox %s: the claim expired and another worker took it; not sent here",
                    claim.key)
        return "lost"
    except NotSent as exc:
        return _not_sent(rt, claim, str(exc), permanent=exc.permanent, now=clock())
    except Uncertain as exc:
        _update(rt, claim, ("handed_over",), status="uncertain",
                last_error=f"{exc}. It may have arrived: check the relay's log or the "
                           "recipient, then resolve it")
        return "uncertain"
    _mark_sent(rt, claim, reply)
    return "sent"


def _hand_over(rt: Runtime, claim: Claim, where: str, now: datetime) -> None:
    """Committed right before DATA: from here on a crash means `uncertain`, not a retry."""
    changed = _update(rt, claim, ("sending",), status="handed_over", next_attempt_at=now + LEASE,
                      last_error=f"handed over to {where} at {now:%Y-%m-%d %H:%M:%S} UTC "
                                 f"(attempt {claim.attempt})")
    if not changed:
        raise ClaimLost(claim.key)


def _mark_sent(rt: Runtime, claim: Claim, reply: str) -> None:
    # 'pending' too: a person may have answered "not delivered" while the reply was late;
    # the claim token still matches, so no other worker has sent it since.
    if not _update(rt, claim, ("sending", "handed_over", "uncertain", "pending"),
                   status="sent", sent_at=utcnow(), last_error=""):
        log.error("outbox %s: sent, but a newer claim owns the row (reply: %s)", claim.key, reply)


def _not_sent(rt: Runtime, claim: Claim, error: str, *, permanent: bool, now: datetime) -> str:
    with rt.db.unit_of_work() as session:
        row = session.get(OutboxMessage, claim.id, with_for_update=True)
        if row is None or row.attempts != claim.attempt or row.status not in ("sending",
                                                                               "handed_over"):
            return "lost"
        _schedule_retry(row, error, permanent=permanent, now=now)
    return "failed"


def _schedule_retry(row: OutboxMessage, error: str, *, permanent: bool, now: datetime) -> None:
    row.last_error = error
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.status = "pending"
        row.next_attempt_at = now + timedelta(minutes=BACKOFF_MINUTES[row.attempts - 1])


def _update(rt: Runtime, claim: Claim, states: tuple[str, ...], **values: Any) -> bool:
    """One fenced UPDATE in its own transaction: only while this claim owns the row."""
    with rt.db.unit_of_work() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.id, OutboxMessage.attempts == claim.attempt,
                   OutboxMessage.status.in_(states))
            .values(**values).execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))


def eml_name(key: str) -> str:
    """`<key>.eml`; a key with characters a file name cannot hold gets them replaced and
    a short hash of the key appended, so that two keys never share a file."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", key)
    if safe != key or safe.startswith("."):
        safe = f"{safe.lstrip('.')}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"
    return safe + ".eml"


def _write_eml(rt: Runtime, key: str, data: bytes) -> None:
    rt.outbox_dir.mkdir(parents=True, exist_ok=True)
    target = rt.outbox_dir / eml_name(key)
    if target.exists():
        return  # written by an attempt that died before recording it: the same message
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
