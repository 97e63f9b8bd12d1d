"""The dunning run on both databases: levels by the rules, one letter per customer, holds,
the dry run, exactly once (a crash mid-run, two runs at the same moment), escalations and
the watch over stuck work."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

from sqlalchemy import func, select

from engine.core.checks import rf_reference
from engine.runtime import Runtime
from engine.services import dunning, holds, outbox, tasks
from engine.store.models import (
    Approval,
    Charge,
    Customer,
    DunningLetter,
    DunningNotice,
    Invoice,
    Order,
    OutboxMessage,
    Task,
)
from tests.conftest import ROOT

DUE = date(2026, 9, 15)


def seed(rt: Runtime, invoices: int = 2, customers: int = 2) -> None:
    with rt.db.unit_of_work() as s:
        for c in range(1, customers + 1):
            customer = Customer(number=f"K-{c}", name=f"Kunde {c} GmbH", street="Weg 1",
                                postal_code="10115", city="Berlin", email=f"k{c}@example.com",
                                vat_id="DE136695976")
            s.add(customer)
            s.flush()
            for i in range(1, invoices + 1):
                number = f"RE-2026-{c}{i:04d}"
                s.add(Invoice(number=number, customer_id=customer.id, issue_date=date(2026, 9, 1),
                              delivery_date=date(2026, 9, 1), due_date=DUE,
                              payment_reference=rf_reference(number), net_amount=D("100.00"),
                              tax_amount=D("19.00"), gross_amount=D("119.00")))


def count(rt: Runtime, model: type) -> int:
    with rt.db.unit_of_work() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_levels_letters_and_exactly_once(runtime: Runtime) -> None:
    seed(runtime)
    assert dunning.run(runtime, DUE + timedelta(days=6))["reminders"] == 0  # not yet
    first = dunning.run(runtime, DUE + timedelta(days=7))
    assert first == {"letters": 2, "reminders": 4, "escalations": 0}
    assert dunning.run(runtime, DUE + timedelta(days=7))["reminders"] == 0  # same day again
    assert dunning.run(runtime, DUE + timedelta(days=16))["reminders"] == 0  # 9 days later
    second = dunning.run(runtime, DUE + timedelta(days=17))
    assert second["reminders"] == 4
    with runtime.db.unit_of_work() as s:
        levels = sorted(s.scalars(select(DunningNotice.level)))
        assert levels == [1, 1, 1, 1, 2, 2, 2, 2]
        # businesses pay no reminder fee; from the second letter on, the €40 flat fee
        # (§ 288 (5) BGB) is claimed once per invoice: two invoices per letter
        letters = s.execute(select(DunningLetter.level, DunningLetter.fees,
                                   DunningLetter.flat_fees).order_by(DunningLetter.id)).all()
        assert letters == [(1, D("0.00"), D("0.00"))] * 2 + [(2, D("0.00"), D("80.00"))] * 2
        flat = s.scalars(select(DunningNotice.flat_fee).where(DunningNotice.level == 2)).all()
        assert flat == [D("40.00")] * 4
        kinds = s.execute(select(Charge.kind, func.count()).group_by(Charge.kind)
                          .order_by(Charge.kind)).all()
        assert kinds == [("flat_fee", 4), ("interest", 8)]  # interest on both letters
    assert count(runtime, OutboxMessage) == 4  # one letter per customer and run


def test_the_dry_run_changes_nothing(runtime: Runtime) -> None:
    seed(runtime, invoices=1, customers=1)
    plan = dunning.run(runtime, DUE + timedelta(days=8), dry_run=True)
    # In default from the day after the due date: 16.09. to 23.09. are 8 days; base rate
    # 1.27 % + 9 points (business) = 10.27 %; 119.00 × 10.27 % × 8 / 365 = 0.2679 → 0.27.
    # The shipped rules claim no flat fee in the friendly first reminder.
    assert plan["letters"] == [{
        "customer_number": "K-1", "level": 1, "rule": "level-1", "fee": "0",
        "flat_fee": "0.00",
        "invoices": [{"invoice_number": "RE-2026-10001", "open_amount": "119.00",
                      "days_overdue": 8, "level": 1, "rule": "level-1", "interest": "0.27",
                      "interest_rate": "10.27", "interest_from": "2026-09-16",
                      "flat_fee": "0.00"}],
        "total_claim": "119.27"}]
    assert plan["rate_table_ends"] is True  # no published base rate after 1 July 2026 yet
    assert count(runtime, DunningNotice) == 0 and count(runtime, OutboxMessage) == 0


def test_holds_stop_and_promises_pause(runtime: Runtime) -> None:
    seed(runtime, invoices=2, customers=2)
    holds.place(runtime, "dispute", actor="clerk", invoice_number="RE-2026-10001",
                reason="goods damaged")
    promise = DUE + timedelta(days=10)
    holds.place(runtime, "promise", actor="clerk", invoice_number="RE-2026-10002",
                until=promise)
    block = holds.place(runtime, "block", actor="finance", customer_number="K-2")
    assert dunning.run(runtime, DUE + timedelta(days=7))["reminders"] == 0
    holds.release(runtime, block, "finance")
    after = dunning.run(runtime, promise + timedelta(days=1))
    assert after["reminders"] == 3  # K-2's two, and the promise that was not kept


def test_escalation_then_reescalation(runtime: Runtime) -> None:
    seed(runtime, invoices=1, customers=1)
    day = DUE + timedelta(days=7)
    for gap in (0, 10, 10, 10):
        day += timedelta(days=gap)
        dunning.run(runtime, day)
    with runtime.db.unit_of_work() as s:
        task = s.scalar(select(Task))
        assert task is not None and task.kind == "escalation" and task.role == "finance"
        due = task.due_date
    dunning.run(runtime, day + timedelta(days=30))
    assert count(runtime, Task) == 1  # escalated once
    assert tasks.watch(runtime, due + timedelta(days=1))["reescalation"] == 1
    assert tasks.watch(runtime, due + timedelta(days=2))["reescalation"] == 0


def test_watch_finds_an_order_waiting_for_approval(runtime: Runtime) -> None:
    seed(runtime, invoices=0, customers=1)
    with runtime.db.unit_of_work() as s:
        order = Order(number="AU-1", customer_id=1, order_date=date(2026, 9, 1),
                      status="pending_approval")
        s.add(order)
        s.flush()
        s.add(Approval(order_id=order.id, role="sales_manager", reason="large"))
    assert tasks.watch(runtime, date.today())["approval_overdue"] == 0
    assert tasks.watch(runtime, date.today() + timedelta(days=3))["approval_overdue"] == 1
    with runtime.db.unit_of_work() as s:
        assert s.scalar(select(Task.role)) == "sales_manager"


def test_two_runs_at_the_same_moment_send_once(runtime: Runtime) -> None:
    seed(runtime, invoices=3, customers=3)
    today = DUE + timedelta(days=7)
    results: list[dict[str, object]] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        results.append(dunning.run(runtime, today))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(int(r["reminders"]) for r in results) == 9  # type: ignore[call-overload]
    assert count(runtime, DunningNotice) == 9 and count(runtime, OutboxMessage) == 3
    # one interest charge per reminder (7 days on 119.00 at 10.27 %: 0.23), gapless numbers
    with runtime.db.unit_of_work() as s:
        rows = s.execute(select(Charge.number, Charge.kind, Charge.amount)
                         .order_by(Charge.number)).all()
    assert rows == [(f"NF-2026-{n:05d}", "interest", D("0.23")) for n in range(1, 10)]


def test_a_crash_mid_run_loses_nothing_and_sends_nothing_twice(runtime: Runtime,
                                                               tmp_path: Path) -> None:
    seed(runtime, invoices=2, customers=2)
    today = DUE + timedelta(days=7)
    config = runtime.config.base_dir / runtime.config.source
    crash = textwrap.dedent(f"""
        import os
        from datetime import date
        from engine.runtime import Runtime
        from engine.services import dunning
        from engine.settings import load_config
        real = dunning.render_document
        calls = []
        def render_then_die(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:  # the first letter is rendered and flushed: die hard
                os._exit(137)
            return real(*args, **kwargs)
        dunning.render_document = render_then_die
        dunning.run(Runtime.open(load_config({str(config)!r})), date.fromisoformat("{today}"))
    """)
    died = subprocess.run([sys.executable, "-c", crash], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert died.returncode == 137, died.stderr[-2000:]
    assert count(runtime, DunningNotice) == 0  # nothing half-done was committed
    assert count(runtime, Charge) == 0
    assert dunning.run(runtime, today)["reminders"] == 4
    assert dunning.run(runtime, today)["reminders"] == 0
    with runtime.db.unit_of_work() as s:  # the numbers the dead run drew were given back
        assert list(s.scalars(select(Charge.number).order_by(Charge.number))) == [
            f"NF-2026-{n:05d}" for n in range(1, 5)]
    assert outbox.deliver(runtime)["sent"] == 2
    assert outbox.deliver(runtime)["sent"] == 0
    assert len(list(runtime.outbox_dir.glob("*.eml"))) == 2
