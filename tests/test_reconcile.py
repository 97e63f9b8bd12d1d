"""A person's work on a credit in review: allocation by hand (each invoice at most what
its claim owes) and dismissing a credit that is no customer payment (never matched again
by automation). Both audited; on both databases."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import select

from engine.runtime import Runtime
from engine.services import payments, reconcile
from engine.store.models import AuditEntry, BankTransaction
from tests.test_payments_service import TODAY, allocations, credit, seed, status

CLERK = "anna@firma.de"


def test_a_dismissed_credit_leaves_review_and_stays_out_of_automation(runtime: Runtime) -> None:
    seed(runtime)
    refund = credit(runtime, "238.00", "Erstattung Lieferantengutschrift", iban="DE75512108001245126199",
                    name="Lieferant AG")
    payments.match_new(runtime, TODAY)
    assert status(runtime, BankTransaction, refund) == "review"
    with pytest.raises(ValueError, match="say why"):
        reconcile.dismiss(runtime, refund, CLERK, " ")
    assert reconcile.dismiss(runtime, refund, CLERK, "refund from a supplier") == "ignored"
    payments.match_new(runtime, TODAY)  # the retry never picks it up again
    assert status(runtime, BankTransaction, refund) == "ignored"
    assert allocations(runtime, refund) == []
    with pytest.raises(ValueError, match="not waiting"):
        reconcile.dismiss(runtime, refund, CLERK, "twice")
    with runtime.db.unit_of_work() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "transaction.dismissed"))
        assert entry is not None and entry.actor == CLERK
        assert entry.details["reason"] == "refund from a supplier"


def test_allocation_by_hand_is_bounded_by_each_claim(runtime: Runtime) -> None:
    seed(runtime)
    tx = credit(runtime, "700.00", "Sammelzahlung", name="Unbekannt", iban="")
    payments.match_new(runtime, TODAY)
    assert status(runtime, BankTransaction, tx) == "review"
    with pytest.raises(ValueError, match="RE-2026-00003 is open for 238.00, not 300.00"):
        reconcile.allocate_by_hand(runtime, tx, [("RE-2026-00003", D("300.00"))], CLERK)
    with pytest.raises(ValueError, match="RE-2026-09999 is not open"):
        reconcile.allocate_by_hand(runtime, tx, [("RE-2026-09999", D("1.00"))], CLERK)
    with pytest.raises(ValueError, match="exceed the payment"):
        reconcile.allocate_by_hand(runtime, tx, [("RE-2026-00002", D("595.00")),
                                                 ("RE-2026-00003", D("238.00"))], CLERK)
    assert reconcile.allocate_by_hand(runtime, tx, [("RE-2026-00002", D("595.00")),
                                                    ("RE-2026-00004", D("100.00"))],
                                      CLERK) in ("matched", "partially_matched")
    assert [(n, a, who) for n, a, _, who in allocations(runtime, tx)] == [
        ("RE-2026-00002", D("595.00"), CLERK), ("RE-2026-00004", D("100.00"), CLERK)]
