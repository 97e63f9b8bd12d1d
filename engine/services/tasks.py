"""Work for people: tasks for a role with a due date and an e-mail to that role. Dunning
escalations open them; `watch` opens them for other stuck work (an order waiting for
approval, a document waiting for review, no bank statement for days) and escalates a task
again when nobody handled it in time. Each task exists once per kind and subject."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.runtime import Runtime
from engine.services.publish import mail
from engine.services.records import audit
from engine.store.models import Approval, BankStatement, Document, Order, Task

REESCALATE_TO = "finance"


def open_task(rt: Runtime, session: Session, *, kind: str, role: str, subject: str, body: str,
              object_type: str, object_id: int, due: date,
              decision_id: int | None = None) -> int:
    """Open the task and mail the role, unless this kind of task for the subject exists."""
    exists = session.scalar(select(Task.id).where(
        Task.kind == kind, Task.object_type == object_type, Task.object_id == object_id))
    if exists is not None:
        return 0
    task = Task(kind=kind, role=role, subject=subject, object_type=object_type,
                object_id=object_id, due_date=due, decision_id=decision_id)
    session.add(task)
    session.flush()
    mail(session, key=f"task-{task.id}", kind=kind, recipient=rt.config.role_email(role),
         subject=subject, body=f"{subject}.\n\n{body}\n\nDue: {due:%d.%m.%Y} (task {task.id}).",
         files=[])
    audit(session, "system:tasks", f"task.{kind}", object_type, object_id, role=role,
          task=task.id)
    return 1


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min)


def watch(rt: Runtime, today: date) -> dict[str, int]:
    """Open tasks for stuck work and re-escalate overdue tasks."""
    cfg = rt.config
    counts = {"approval_overdue": 0, "review_overdue": 0, "no_statement": 0, "reescalation": 0}
    with rt.db.unit_of_work() as session:
        limit = _start_of(today - timedelta(days=cfg["watch.approval_days"]))
        for approval, order in session.execute(
                select(Approval, Order).join(Order, Approval.order_id == Order.id)
                .where(Approval.status == "pending", Approval.created_at < limit)):
            counts["approval_overdue"] += open_task(
                rt, session, kind="approval_overdue", role=approval.role,
                subject=f"Order {order.number} waits for approval since "
                        f"{approval.created_at:%d.%m.%Y}",
                body=f"Reason: {approval.reason}", object_type="order", object_id=order.id,
                due=today + timedelta(days=1))
        limit = _start_of(today - timedelta(days=cfg["watch.review_days"]))
        for doc in session.scalars(select(Document).where(
                Document.status == "needs_review", Document.updated_at < limit)):
            counts["review_overdue"] += open_task(
                rt, session, kind="review_overdue", role="clerk",
                subject=f"Document {doc.filename} waits for review since "
                        f"{doc.updated_at:%d.%m.%Y}",
                body=doc.reason[:500], object_type="document", object_id=doc.id,
                due=today + timedelta(days=1))
        counts["no_statement"] += _statement_gap(rt, session, today)
        for task in session.scalars(select(Task).where(
                Task.status == "open", Task.due_date < today, Task.kind != "reescalation")):
            counts["reescalation"] += open_task(
                rt, session, kind="reescalation", role=REESCALATE_TO,
                subject=f"Not handled in time: {task.subject}",
                body=f"Task {task.id} for {task.role} was due {task.due_date:%d.%m.%Y}.",
                object_type="task", object_id=task.id, due=today + timedelta(days=2))
    return counts


def _statement_gap(rt: Runtime, session: Session, today: date) -> int:
    """A gap after the last statement; before the first one there is nothing to miss."""
    days = rt.config["watch.statement_days"]
    last = session.scalar(select(func.max(BankStatement.created_at)))
    if last is None or last >= _start_of(today - timedelta(days=days)):
        return 0
    last_id = session.scalar(select(func.max(BankStatement.id))) or 0
    return open_task(rt, session, kind="no_statement", role="finance",
                     subject=f"No bank statement imported since {last:%d.%m.%Y}",
                     body="Import the latest statement (upload, watched folder or API) so that "
                          "payments are matched before reminders go out.",
                     object_type="bank_statement", object_id=last_id,
                     due=today + timedelta(days=1))


def close(rt: Runtime, task_id: int, actor: str) -> None:
    with rt.db.unit_of_work() as session:
        task = session.get(Task, task_id)
        if task is None or task.status != "open":
            raise ValueError(f"task {task_id} is not open")
        task.status = "done"
        audit(session, actor, "task.done", "task", task.id)
