"""Dunning (upcoming reminders from the dry run, reminders sent, holds: disputes,
promises, blocks; the run itself with its progress) and tasks and escalations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from flask import abort, flash, render_template, request, stream_template
from flask_babel import gettext
from sqlalchemy import select

from engine.services import dunning as dunning_service
from engine.services import holds, payments, tasks
from engine.services.records import audit
from engine.store.models import Customer, DunningNotice, Hold, Invoice, Task
from web.auth import login_required, runtime
from web.i18n import N_, word
from web.views_common import PAGE_SIZE, actor, back, bp, today
from web.views_text import said


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
        flash(gettext("hold %(id)s placed", id=hold_id))
    except ValueError as exc:
        flash(said(exc))
    return back("views.dunning")


@bp.route("/dunning/holds/<int:hold_id>/release", methods=["POST"])
@login_required("finance")
def release_hold(hold_id: int) -> Any:
    try:
        holds.release(runtime(), hold_id, actor())
        flash(gettext("hold %(id)s released", id=hold_id))
    except ValueError as exc:
        flash(said(exc))
    return back("views.dunning")


@bp.route("/dunning/run", methods=["POST"])
@login_required("finance")
def dunning_run() -> Any:
    """Match first, then plan, then send; each step is shown as it finishes."""
    return stream_template("job_progress.html", title=N_("Dunning run"), total=3,
                           steps=_dunning_steps(actor()))


def _dunning_steps(who: str) -> Iterator[dict[str, Any]]:
    rt, now = runtime(), today()
    rt.reload_rules()
    matched = payments.match_new(rt, now)
    yield {"n": 1, "name": N_("matching new payments"), "status": "done",
           "note": gettext("%(booked)s booked, %(review)s for review",
                           booked=matched["matched"], review=matched["review"])}
    plan = dunning_service.run(rt, now, dry_run=True)
    yield {"n": 2, "name": N_("planning"), "status": "done",
           "note": gettext("%(letters)s letters, %(escalations)s escalations planned",
                           letters=len(plan.get("letters", [])),
                           escalations=len(plan.get("escalations", [])))}
    counts = dunning_service.run(rt, now)
    with rt.db.unit_of_work() as s:
        audit(s, who, "dunning.run", "dunning", None, counts=counts)
    status = "skipped" if counts.get("skipped") else "done"
    yield {"n": 3, "name": N_("sending"), "status": status,
           "note": ", ".join(f"{word(k)}: {word(str(v))}" for k, v in counts.items())}


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
        flash(gettext("task %(id)s closed", id=task_id))
    except ValueError as exc:
        flash(said(exc))
    return back("views.task_list")
