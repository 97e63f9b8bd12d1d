"""Dunning charges as receivables of their own: what a letter claims on top of an invoice
(a dunning fee, the § 288 (5) flat fee, default interest for a period) becomes a `Charge`
row with its own gapless number, written in the transaction that writes the reminder.

An issued invoice never changes, and neither does a charge: a correction (a waiver, a
wrong fee) is a cancelling entry, a charge with the negative open amount that names the
charge it cancels. The key column makes each charge exactly once: the fee once per
invoice and level, the flat fee once per claim, interest once per claim and first day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.core.dunning import Letter, Reminder
from engine.services.ledger import open_parts
from engine.services.records import audit, next_number
from engine.store.models import Charge, DunningNotice

ZERO = Decimal("0.00")
KINDS = ("fee", "flat_fee", "interest")


@dataclass(frozen=True)
class ChargeLine:
    """A charge as a letter lists it: its number, kind, claim, amount (still owed)."""

    number: str
    kind: str
    invoice_number: str
    amount: Decimal
    charge_date: date
    interest_from: date | None = None
    interest_to: date | None = None
    rate: Decimal | None = None


def flat_fee_charged(session: Session) -> set[int]:
    """Invoices whose claim already carries the § 288 (5) flat fee (cancelled or not)."""
    return set(session.scalars(select(Charge.invoice_id).where(
        Charge.kind == "flat_fee", Charge.cancels_id.is_(None))))


def interest_claimed_to(session: Session) -> dict[int, date]:
    """Per invoice, the last day for which interest was claimed as a charge."""
    return {inv: last for inv, last in session.execute(
        select(Charge.invoice_id, func.max(Charge.interest_to))
        .where(Charge.kind == "interest", Charge.cancels_id.is_(None))
        .group_by(Charge.invoice_id)) if last is not None}


def _charge(session: Session, series: str, notice: DunningNotice, customer_id: int,
            kind: str, amount: Decimal, key: str, today: date, **interest: object) -> Charge:
    row = Charge(number=next_number(session, series, today.year), key=key,
                 customer_id=customer_id, invoice_id=notice.invoice_id,
                 letter_id=notice.letter_id, notice_id=notice.id, kind=kind, amount=amount,
                 charge_date=today, created_by="system:dunning", reason="", **interest)
    session.add(row)
    return row


def record_letter(session: Session, series: str, letter: Letter,
                  fresh: Sequence[tuple[Reminder, DunningNotice]], today: date) -> list[Charge]:
    """The charges a letter claims, one row each: the letter's fee on its first new
    reminder, and per new reminder the flat fee (when new) and the interest from
    `legal.since` to `today`. Call after the notices are flushed."""
    rows: list[Charge] = []
    customer_id = letter.customer_id
    for i, (r, notice) in enumerate(fresh):
        inv = r.item.invoice_id
        if i == 0 and letter.fee > 0:
            rows.append(_charge(session, series, notice, customer_id, "fee", letter.fee,
                                f"fee:{inv}:L{r.level}", today))
        if r.legal.flat_fee > 0:
            rows.append(_charge(session, series, notice, customer_id, "flat_fee",
                                r.legal.flat_fee, f"flat_fee:{inv}", today))
        if r.legal.interest > 0 and r.legal.since is not None:
            rows.append(_charge(session, series, notice, customer_id, "interest",
                                r.legal.interest, f"interest:{inv}:{r.legal.since.isoformat()}",
                                today, interest_rate=r.legal.rate,
                                interest_from=r.legal.since, interest_to=today))
    session.flush()  # the unique keys hold here, in the transaction of the notices
    return rows


def cancel(session: Session, charge_id: int, *, series: str, actor: str, reason: str,
           today: date) -> Charge:
    """Cancel what is still open of a charge by a cancelling entry (the charge stays as it
    was). A charge that is paid in full cannot be cancelled; refund it instead."""
    original = session.get(Charge, charge_id)
    if original is None or original.cancels_id is not None:
        raise ValueError(f"no charge {charge_id} to cancel")
    owed = {p.key: p.owed for p in open_parts(session, original.invoice_id)}
    still = owed.get(original.id, ZERO)
    if still <= 0:
        raise ValueError(f"charge {original.number} is settled or cancelled; nothing to cancel")
    row = Charge(number=next_number(session, series, today.year), key=f"cancel:{original.id}",
                 customer_id=original.customer_id, invoice_id=original.invoice_id,
                 letter_id=None, notice_id=None, kind=original.kind, amount=-still,
                 charge_date=today, cancels_id=original.id, created_by=actor, reason=reason)
    session.add(row)
    session.flush()
    audit(session, actor, "charge.cancelled", "charge", original.id, number=original.number,
          cancelled_by=row.number, amount=still, reason=reason)
    return row


def open_lines(session: Session, invoice_ids: Sequence[int],
               numbers: dict[int, str]) -> list[ChargeLine]:
    """The charges of these claims still owed, oldest first, with what is left of each."""
    lines = []
    for inv in invoice_ids:
        owed = {p.key: p.owed for p in open_parts(session, inv) if p.key is not None}
        if not owed:
            continue
        for c in session.scalars(select(Charge).where(Charge.id.in_(owed))
                                 .order_by(Charge.charge_date, Charge.id)):
            lines.append(ChargeLine(c.number, c.kind, numbers[inv], owed[c.id], c.charge_date,
                                    c.interest_from, c.interest_to, c.interest_rate))
    return lines


def as_lines(rows: Sequence[Charge], numbers: dict[int, str]) -> list[ChargeLine]:
    return [ChargeLine(c.number, c.kind, numbers[c.invoice_id], c.amount, c.charge_date,
                       c.interest_from, c.interest_to, c.interest_rate) for c in rows]

