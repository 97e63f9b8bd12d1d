"""Fees and interest as their own documents (issue 7): each letter writes its charges with
own numbers, a later letter claims interest only from the day after the last interest
charge and only on the principal still open (§ 289, § 367 BGB), and lists what is still
owed. Worked examples computed by hand; the run on both databases.

The claim: a business, invoice 1,000.00 due Monday 2026-03-02 (default from 03-03), base
rate 1.27 % + 9 points = 10.27 %; interest = principal × 10.27 × days / 36500, both ends
of a period included. The shipped rules: level 1 seven days after the due date without
the flat fee, level 2 and 3 ten days after the previous letter, no fee for businesses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import select

from documents.render import render_html
from engine.core.checks import rf_reference
from engine.core.dunning import Claim, History, legal_default, plan
from engine.core.interest import interest
from engine.core.records import OpenItem
from engine.core.rules import RuleSet, load_rule_set
from engine.runtime import Runtime
from engine.services import dunning, payments
from engine.services.ledger import book_payment, open_items, settle_if_paid
from engine.store.models import (
    Allocation,
    BankStatement,
    BankTransaction,
    Charge,
    Customer,
    DunningLetter,
    Invoice,
)
from tests.conftest import ROOT

DUE = date(2026, 3, 2)
CLERK = "clerk@example.com"


def item(n: int = 1, open_amount: str = "1000.00", charges_open: str = "0.00",
         due: date = DUE) -> OpenItem:
    return OpenItem(n, f"RE-{n}", 1, "Kunde GmbH", "", f"RF{n}", D("1000.00"), D(open_amount),
                    date(2026, 2, 16), due, charges_open=D(charges_open))


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    path = ROOT / "rules" / "dunning.yaml"
    rule_set, issues = load_rule_set(path.read_text("utf-8"), str(path))
    assert rule_set is not None, issues
    return rule_set


# ----------------------------------------------------------------- the pure core


def test_interest_already_claimed_is_not_claimed_again() -> None:
    # first letter claimed 03-03..03-09; on 03-19 only 03-10..03-19 = 10 days are new:
    # 1000.00 × 10.27 × 10 / 36500 = 2.8137 → 2.81 (the whole 17 days would be 4.78)
    fresh = legal_default(Claim(item(), "K-1", True, History(level=1)), date(2026, 3, 19))
    assert (fresh.since, fresh.interest) == (date(2026, 3, 3), D("4.78"))
    later = legal_default(Claim(item(), "K-1", True, History(
        level=1, interest_claimed_to=date(2026, 3, 9))), date(2026, 3, 19))
    assert (later.since, later.interest, later.rate) == (date(2026, 3, 10), D("2.81"),
                                                        D("10.27"))
    same_day = legal_default(Claim(item(), "K-1", True, History(
        level=2, interest_claimed_to=date(2026, 3, 19))), date(2026, 3, 19))
    assert same_day.interest == D("0.00")


def test_interest_runs_on_the_principal_after_payments_only() -> None:
    # 55.22 reached the principal on 03-25 (the rest of that payment settled charges):
    # 03-20..03-25 on 1000.00 (6 days), 03-26..03-29 on 944.78 (4 days):
    # (6000.00 + 3779.12) × 10.27 / 36500 = 2.7516 → 2.75
    claim = Claim(item(open_amount="944.78"), "K-1", True,
                  History(level=2, interest_claimed_to=date(2026, 3, 19),
                          flat_fee_charged=True), payments=((date(2026, 3, 25), D("55.22")),))
    legal = legal_default(claim, date(2026, 3, 29))
    assert (legal.since, legal.interest, legal.flat_fee) == (date(2026, 3, 20), D("2.75"),
                                                            D("0.00"))


def test_the_flat_fee_is_claimed_once() -> None:
    first = legal_default(Claim(item(), "K-1", True, History(level=1)), date(2026, 3, 19))
    again = legal_default(Claim(item(), "K-1", True, History(level=2, flat_fee_charged=True)),
                          date(2026, 3, 29))
    assert (first.flat_fee, first.flat_fee_new) == (D("40.00"), True)
    assert (again.flat_fee, again.flat_fee_new) == (D("0.00"), False)


def test_a_letter_asks_for_charges_still_open(rules: RuleSet) -> None:
    # RE-1: principal paid, 12.38 of charges open; RE-2: 500.00 open, 7 days overdue on
    # 03-09 → level 1: interest 03-03..03-09 on 500.00 = 500 × 10.27 × 7 / 36500 = 0.98;
    # the letter: 500.00 + 12.38 + 0.98 = 513.36. RE-1 alone would make no letter.
    done = Claim(item(1, "0.00", "12.38", due=date(2026, 2, 1)), "K-1", True, History(level=2))
    due = Claim(item(2, "500.00", "0.00"), "K-1", True, History())
    result = plan(rules, [done, due], date(2026, 3, 9))
    [letter] = result.letters
    assert [r.item.number for r in letter.reminders] == ["RE-2"]
    assert [i.number for i in letter.charges_only] == ["RE-1"]
    assert (letter.charges_open, letter.interest, letter.total_claim) == (
        D("12.38"), D("0.98"), D("513.36"))
    assert plan(rules, [done], date(2026, 3, 9)).letters == ()


# ------------------------------------------------------------ the run, end to end


def seed(rt: Runtime, b2b: bool = True) -> int:
    with rt.db.unit_of_work() as s:
        customer = Customer(number="K-1", name="Kunde GmbH", street="Weg 1",
                            postal_code="10115", city="Berlin", email="k@example.com",
                            vat_id="DE136695976" if b2b else "", b2b=b2b)
        s.add(customer)
        s.flush()
        invoice = Invoice(number="RE-2026-00001", customer_id=customer.id,
                          issue_date=date(2026, 2, 16), delivery_date=date(2026, 2, 16),
                          due_date=DUE, payment_reference=rf_reference("RE-2026-00001"),
                          net_amount=D("840.34"), tax_amount=D("159.66"),
                          gross_amount=D("1000.00"))
        s.add(invoice)
        s.flush()
        return invoice.id


def pay(rt: Runtime, invoice_id: int, amount: str, day: date) -> int:
    with rt.db.unit_of_work() as s:
        statement = BankStatement(account="DE89370400440532013000",
                                  statement_id=f"S-{day}", currency="EUR")
        s.add(statement)
        s.flush()
        tx = BankTransaction(statement_id=statement.id, dedupe_key=f"tx-{day}",
                             booking_date=day, amount=D(amount), currency="EUR",
                             status="matched")
        s.add(tx)
        s.flush()
        book_payment(s, invoice_id=invoice_id, amount=D(amount), transaction_id=tx.id,
                     kind="payment", created_by=CLERK, decision_id=None)
        settle_if_paid(s, [invoice_id])
        return tx.id


def charges_of(rt: Runtime) -> list[tuple[str, str, D, date | None, date | None]]:
    with rt.db.unit_of_work() as s:
        return [(c.number, c.kind, c.amount, c.interest_from, c.interest_to)
                for c in s.scalars(select(Charge).order_by(Charge.id))]


def test_letters_write_charges_and_payments_settle_them(runtime: Runtime) -> None:
    inv = seed(runtime)
    # level 1 on 03-09: interest 03-03..03-09 = 7 days: 1000 × 10.27 × 7 / 36500 = 1.97
    assert dunning.run(runtime, date(2026, 3, 9))["reminders"] == 1
    assert charges_of(runtime) == [
        ("NF-2026-00001", "interest", D("1.97"), date(2026, 3, 3), date(2026, 3, 9))]

    # level 2 on 03-19: the flat fee and interest 03-10..03-19 (2.81, see above); the
    # letter asks for 1000.00 + 1.97 still open + 40.00 + 2.81 = 1044.78
    plan = dunning.run(runtime, date(2026, 3, 19), dry_run=True)
    [letter] = plan["letters"]
    assert (letter["level"], letter["flat_fee"], letter["total_claim"]) == (2, "40.00",
                                                                           "1044.78")
    assert {k: letter["invoices"][0][k] for k in ("interest", "interest_from", "flat_fee")} \
        == {"interest": "2.81", "interest_from": "2026-03-10", "flat_fee": "40.00"}
    assert set(letter) == {"customer_number", "level", "rule", "fee", "flat_fee", "invoices",
                           "total_claim"}
    assert dunning.run(runtime, date(2026, 3, 19))["reminders"] == 1
    assert charges_of(runtime)[1:] == [
        ("NF-2026-00002", "flat_fee", D("40.00"), None, None),
        ("NF-2026-00003", "interest", D("2.81"), date(2026, 3, 10), date(2026, 3, 19))]

    # 100.00 paid on 03-25: costs 40.00, interest 1.97 + 2.81, principal 55.22 → 944.78
    pay(runtime, inv, "100.00", date(2026, 3, 25))
    with runtime.db.unit_of_work() as s:
        [open_item] = open_items(s)
    assert (open_item.open_amount, open_item.charges_open) == (D("944.78"), D("0.00"))

    # level 3 on 03-29: interest 03-20..03-29 on the principal only: 2.75 (see above); no
    # second flat fee; the letter asks for 944.78 + 2.75 = 947.53
    plan = dunning.run(runtime, date(2026, 3, 29), dry_run=True)
    assert plan["letters"][0]["total_claim"] == "947.53"
    assert plan["letters"][0]["flat_fee"] == "0.00"
    assert dunning.run(runtime, date(2026, 3, 29))["reminders"] == 1
    interest_rows = [c for c in charges_of(runtime) if c[1] == "interest"]
    assert interest_rows[-1] == ("NF-2026-00004", "interest", D("2.75"), date(2026, 3, 20),
                                 date(2026, 3, 29))
    # no day claimed twice, none left out: 03-03..03-29 in one go is the same 7.53
    whole = interest([(DUE, D("1000.00")), (date(2026, 3, 25), D("-55.22"))],
                     date(2026, 3, 3), date(2026, 3, 29), True)
    assert sum(c[2] for c in interest_rows) == whole.total == D("7.53")
    with runtime.db.unit_of_work() as s:
        letters = s.execute(select(DunningLetter.level, DunningLetter.interest,
                                   DunningLetter.flat_fees).order_by(DunningLetter.id)).all()
    assert letters == [(1, D("1.97"), D("0.00")), (2, D("2.81"), D("40.00")),
                       (3, D("2.75"), D("0.00"))]

    # the exact claim pays everything; unmatching it brings the claim back
    tx = pay(runtime, inv, "947.53", date(2026, 4, 1))
    with runtime.db.unit_of_work() as s:
        assert open_items(s) == [] and s.get(Invoice, inv).status == "paid"  # type: ignore[union-attr]
    assert dunning.run(runtime, date(2026, 4, 20), dry_run=True)["letters"] == []
    payments.unmatch(runtime, tx, CLERK, "booked twice")
    with runtime.db.unit_of_work() as s:
        [open_item] = open_items(s)
    assert (open_item.open_amount, open_item.charges_open) == (D("944.78"), D("2.75"))


def test_a_consumer_pays_the_fee_first_then_the_oldest_interest(runtime: Runtime) -> None:
    inv = seed(runtime, b2b=False)
    # a consumer: 1.27 % + 5 = 6.27 %, no flat fee, a fee of 2.50 from the second letter.
    # 03-09: 1000 × 6.27 × 7 / 36500 = 1.2025 → 1.20; 03-19: the fee and 03-10..03-19:
    # 1000 × 6.27 × 10 / 36500 = 1.7178 → 1.72
    dunning.run(runtime, date(2026, 3, 9))
    dunning.run(runtime, date(2026, 3, 19))
    assert [(c[0], c[1], c[2]) for c in charges_of(runtime)] == [
        ("NF-2026-00001", "interest", D("1.20")), ("NF-2026-00002", "fee", D("2.50")),
        ("NF-2026-00003", "interest", D("1.72"))]
    # 5.00 on 03-20: the fee 2.50 (costs), then 1.20 and 1.30 of 1.72 (interest, oldest
    # first); 0.42 of interest left, the principal untouched
    pay(runtime, inv, "5.00", date(2026, 3, 20))
    with runtime.db.unit_of_work() as s:
        [open_item] = open_items(s)
        rows = s.execute(select(Charge.number, Allocation.amount)
                         .join(Charge, Charge.id == Allocation.charge_id)
                         .order_by(Allocation.id)).all()
    assert (open_item.open_amount, open_item.charges_open) == (D("1000.00"), D("0.42"))
    assert [tuple(r) for r in rows] == [("NF-2026-00002", D("2.50")),
                                        ("NF-2026-00001", D("1.20")),
                                        ("NF-2026-00003", D("1.30"))]


def test_the_letter_lists_the_charges_with_their_numbers(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(runtime)
    dunning.run(runtime, date(2026, 3, 9))
    pages: list[str] = []
    real = dunning.render_document

    def keep_html(rt: Runtime, kind: str, filename: str, template: str,
                  context: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        pages.append(render_html(template, {"logo": None, **context}))
        return real(rt, kind, filename, template, context, *args, **kwargs)

    monkeypatch.setattr(dunning, "render_document", keep_html)
    dunning.run(runtime, date(2026, 3, 19))
    [html] = pages
    # the earlier interest still open, then what this letter claims, each with its number
    earlier, new = html.index("Noch offene Nebenforderungen"), html.index("Mit diesem Schreiben")
    assert earlier < html.index("NF-2026-00001") < new < html.index("NF-2026-00002") \
        < html.index("NF-2026-00003")
    assert "Verzugspauschale" in html and "10.03.2026 – 19.03.2026" in html
    assert "1.044,78" in html  # 1000.00 + 1.97 + 40.00 + 2.81
