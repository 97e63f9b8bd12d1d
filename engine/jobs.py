"""The scheduler's jobs: each runs one stage of the chain once for a given `today`.

Each job is idempotent (running it twice does nothing new) and safe with several workers:
rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL, and numbers, reminders and mail
are guarded by unique keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from engine.runtime import Runtime
from engine.services import (
    dunning,
    folder,
    fulfilment,
    intake,
    invoicing,
    mailbox,
    orders,
    outbox,
    payments,
    tasks,
)


def _intake(rt: Runtime, today: date) -> dict[str, Any]:
    processed = intake.process_pending(rt, today)
    decided = orders.decide_approvals(rt, today)
    confirmed = orders.confirm_approved(rt, today)
    return {"documents": processed, **decided, "confirmed": confirmed}


JOBS: dict[str, Callable[[Runtime, date], dict[str, Any]]] = {
    "mail": mailbox.poll,
    "folder": folder.scan_configured,
    "intake": _intake,
    "fulfilment": lambda rt, today: {"deliveries": fulfilment.ship(rt, today)},
    "invoicing": lambda rt, today: {"invoices": invoicing.invoice_deliveries(rt, today)},
    "matching": payments.match_new,
    "dunning": dunning.run,
    "watch": tasks.watch,
    "outbox": lambda rt, today: outbox.deliver(rt),
}


def run_job(rt: Runtime, name: str, today: date) -> dict[str, Any]:
    rt.reload_rules()
    if name == "all":
        return {job: JOBS[job](rt, today) for job in JOBS}
    if name not in JOBS:
        raise KeyError(f"unknown job '{name}'; jobs: {', '.join(JOBS)}, all")
    return JOBS[name](rt, today)
