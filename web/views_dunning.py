"""Dunning (upcoming reminders from the dry run, reminders sent, holds: disputes,
promises, blocks; the run itself with its progress) and tasks and escalations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import abort, flash, render_template, request, stream_template
from sqlalchemy import select

from engine.services import dunning as dunning_service
from engine.services import holds, payments, tasks
from engine.services.records import audit
from engine.store.models import Customer, DunningNotice, Hold, Invoice, Task
from web.auth import login_required, runtime
from web.views_common import PAGE_SIZE, actor, back, bp, today


@bp.route("/dunning")
@login_required()
def dunning() -> Any:
    rt = runtime()
    upcoming = dunning_service.run(rt, today(), dry_run=True)
    with rt.db.unit_of_work() as s:
        sent = s.execute(select(DunningNotice, Invoice.number, Customer.name)
                         .join(Invoice, DunningNotice.invoice_id == Invoice.id)
                         .join(Customer, Invoice.customer_id == Customer.id)
                         .order_by(DunningNotice.id.desc()).limit(PAGE_SIZE)).all()
        active = s.execute(select(Hold, Invoice.number, Customer.number)
                           .outerjoin(Invoice, Hold.invoice_id == Invoice.id)
                           .outerjoin(Customer, Hold.customer_id == Customer.id)
                           .where(Hold.released_at.is_(None)).order_by(Hold.id.desc())).all()
        s.expunge_all()
    return render_template("dunning.html", upcoming=upcoming, sent=sent, holds=active,
                           kinds=holds.KINDS)


@bp.route("/dunning/holds", methods=["POST"])
@login_required("finance")
def place_hold() -> Any:
    form = request.form
    until_text = form.get("until", "").strip()
    try:
        until = date.fromisoformat(until_text) if until_text else None
        hold_id = holds.place(runtime(), form.get("kind", ""), actor=actor(),
                              invoice_number=form.get("invoice_number", "").strip() or None,
                              customer_number=form.get("customer_number", "").strip() or None,
                              reason=form.get("reason", ""), until=until)
        flash(f"hold {hold_id} placed")
    except ValueError as exc:
        flash(str(exc))
    return back("views.dunning")


@bp.route("/dunning/holds/<int:hold_id>/release", methods=["POST"])
@login_required("finance")
def release_hold(hold_id: int) -> Any:
    try:
        holds.release(runtime(), hold_id, actor())
        flash(f"hold {hold_id} released")
    except ValueError as exc:
        flash(str(exc))
    return back("views.dunning")


@bp.route("/dunning/run", methods=["POST"])
@login_required("finance")
def dunning_run() -> Any:
    """Match first, then plan, then send; each step is shown as it finishes."""
    return stream_template("job_progress.html", title="Dunning run", total=3,
                           steps=_dunning_steps(actor()))


def _dunning_steps(who: str) -> Iterator[dict[str, Any]]:
    rt, now = runtime(), today()
    rt.reload_rules()
    matched = payments.match_new(rt, now)
    yield {"n": 1, "name": "matching new payments", "status": "done",
           "note": f"{matched['matched']} booked, {matched['review']} for review"}
    plan = dunning_service.run(rt, now, dry_run=True)
    yield {"n": 2, "name": "planning", "status": "done",
           "note": f"{len(plan.get('letters', []))} letters, "
                   f"{len(plan.get('escalations', []))} escalations planned"}
    counts = dunning_service.run(rt, now)
    with rt.db.unit_of_work() as s:
        audit(s, who, "dunning.run", "dunning", None, counts=counts)
    status = "skipped" if counts.get("skipped") else "done"
    yield {"n": 3, "name": "sending", "status": status,
           "note": ", ".join(f"{k}: {v}" for k, v in counts.items())}


@bp.route("/tasks")
@login_required()
def task_list() -> Any:
    status = request.args.get("status", "open")
    with runtime().db.unit_of_work() as s:
        query = select(Task).order_by(Task.due_date, Task.id).limit(PAGE_SIZE)
        if status != "all":
            query = query.where(Task.status == status)
        rows = list(s.scalars(query))
        s.expunge_all()
    return render_template("tasks.html", rows=rows, status=status)


@bp.route("/tasks/<int:task_id>/close", methods=["POST"])
@login_required("clerk")
def close_task(task_id: int) -> Any:
    with runtime().db.unit_of_work() as s:
        if s.get(Task, task_id) is None:
            abort(404)
    try:
        tasks.close(runtime(), task_id, actor())
        flash(f"task {task_id} closed")
    except ValueError as exc:
        flash(str(exc))
    return back("views.task_list")
