"""Writing what happened: decisions with their trace, the audit log, sequence numbers."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from engine.core.rules import Decision
from engine.store.models import AuditEntry, DecisionRow, NumberSequence


def jsonable(value: Any) -> Any:
    """Decimal and dates as strings, recursively (money is never a float in JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal | date):
        return str(value)
    return value


def record_decision(session: Session, *, event: str, subject_type: str, subject_id: int,
                    decision: Decision, facts: dict[str, Any], today: date) -> DecisionRow:
    data = decision.to_json()
    row = DecisionRow(event=event, subject_type=subject_type, subject_id=subject_id,
                      rule_set=decision.rule_set, version=str(decision.version),
                      sha256=decision.sha256, outcome=decision.outcome,
                      effects=data["effects"], trace=data["trace"],
                      facts=json.loads(json.dumps(jsonable(facts))), today=today)
    session.add(row)
    session.flush()
    return row


def audit(session: Session, actor: str, action: str, object_type: str, object_id: int | None,
          **details: Any) -> None:
    session.add(AuditEntry(actor=actor, action=action, object_type=object_type,
                           object_id=object_id, details=jsonable(details)))


def next_number(session: Session, series: str, year: int, width: int = 5) -> str:
    """The next gapless number of a series and year.

    One atomic UPDATE … RETURNING: the row stays locked until the transaction ends, so a
    rolled-back transaction gives its number back and no two transactions get the same.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(NumberSequence).values(series=series, year=year, next_value=1)
                    .on_conflict_do_nothing())
    value = session.execute(
        update(NumberSequence)
        .where(NumberSequence.series == series, NumberSequence.year == year)
        .values(next_value=NumberSequence.next_value + 1)
        .returning(NumberSequence.next_value)).scalar_one() - 1
    return f"{series}-{year}-{value:0{width}d}"
