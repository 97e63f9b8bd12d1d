"""The customer account statement on both databases: invoices, a credit note, a partial
payment and a dunning charge, with the running balance and the open items read back from
the PDF (pdfplumber); German and English; `o2c statement` on the command line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from documents.statement_doc import Booking, OpenPosition, account_statement
from engine.core.records import Address, Party
from engine.runtime import Runtime
from engine.services import fulfilment, invoicing
from engine.services.statements import UnknownCustomer, issue_statement
from engine.store.models import (
    Allocation,
    ArchiveEntry,
    BankStatement,
    BankTransaction,
    Charge,
    Customer,
    Invoice,
)
from tests.test_invoicing_run import confirmed_order, pdf_text, seed


def history(rt: Runtime, language: str = "de") -> None:
    """K-S: RE-1 415.31 (200.00 paid on 25 Sep), RE-2 1,245.93 (credited in full on 22 Sep),
    RE-3 415.31 (open), a 5.00 dunning fee on RE-1 (20 Oct)."""
    seed(rt)
    with rt.db.unit_of_work() as s:
        s.scalars(select(Customer).where(Customer.number == "K-S")).one().language = language
    for number, qty, day in (("AU-1", "1", date(2026, 9, 10)), ("AU-2", "3", date(2026, 9, 20)),
                             ("AU-3", "1", date(2026, 10, 5))):
        confirmed_order(rt, "K-S", number, qty)
        fulfilment.ship(rt, day)
        assert invoicing.invoice_deliveries(rt, day) == 1
    with rt.db.unit_of_work() as s:
        first, second, _ = s.scalars(select(Invoice).order_by(Invoice.id)).all()
        assert (first.gross_amount, second.gross_amount) == (D("415.31"), D("1245.93"))
        second_id = second.id
        statement = BankStatement(account="DE89370400440532013000", statement_id="S-1",
                                  currency="EUR")
        s.add(statement)
        s.flush()
        tx = BankTransaction(statement_id=statement.id, dedupe_key="tx-1",
                             booking_date=date(2026, 9, 25), amount=D("200.00"),
                             currency="EUR", end_to_end_id="E2E-4711")
        s.add(tx)
        s.flush()
        s.add(Allocation(invoice_id=first.id, transaction_id=tx.id, amount=D("200.00"),
                         kind="payment", created_by="auto"))
        s.add(Charge(number="MG-2026-00001", key="fee-1", customer_id=first.customer_id,
                     invoice_id=first.id, kind="fee", amount=D("5.00"),
                     charge_date=date(2026, 10, 20), created_by="system:dunning"))
    invoicing.issue_credit_note(rt, second_id, [1], "Falsche Ware", "buchhaltung@example.com",
                                date(2026, 9, 22))


def test_balances_open_items_and_archive(runtime: Runtime) -> None:
    history(runtime)
    issued, statement = issue_statement(runtime, "K-S", date(2026, 10, 31),
                                        start=date(2026, 10, 1))
    # before October: 415.31 + 1,245.93 − 1,245.93 − 200.00
    assert statement.opening_balance == D("215.31")
    assert [r.balance for r in statement.rows] == [D("630.62"), D("635.62")]
    assert statement.closing_balance == D("635.62") == statement.open_total
    text = pdf_text((runtime.out_dir / "statements" / issued.filename).read_bytes())
    assert "Kontoauszug K-S" in text and "01.10.2026 – 31.10.2026" in text
    assert "Saldovortrag 215,31" in text
    assert "RE-2026-00003 Rechnung (Fällig am 04.11.2026) 415,31 630,62" in text
    assert "MG-2026-00001 Mahngebühr RE-2026-00001 5,00 635,62" in text
    assert "Saldo 635,62 EUR" in text
    assert "RE-2026-00001 10.09.2026 10.10.2026 415,31 215,31 21" in text  # 21 days overdue
    assert "offen 635,62" in text
    assert "635,62 EUR zu unseren Gunsten" in text
    with runtime.db.unit_of_work() as s:
        entry = s.scalars(select(ArchiveEntry).where(ArchiveEntry.kind == "statements")).one()
        assert (entry.filename, entry.sha256) == (issued.filename, issued.sha256)


def test_whole_year_in_english_with_the_credit_note_and_payment(runtime: Runtime) -> None:
    history(runtime, language="en")
    _, statement = issue_statement(runtime, "K-S", date(2026, 9, 30))
    assert statement.opening_balance == D("0.00")
    assert [(r.booking.kind, r.booking.credit or r.booking.debit, r.balance)
            for r in statement.rows] == [
        ("invoice", D("415.31"), D("415.31")), ("invoice", D("1245.93"), D("1661.24")),
        ("credit_note", D("1245.93"), D("415.31")), ("payment", D("200.00"), D("215.31"))]
    text = pdf_text((runtime.out_dir / "statements" / "KA-K-S-2026-09-30.pdf").read_bytes())
    assert "Statement of account K-S" in text and "Balance brought forward 0.00" in text
    assert "Credit note GS-2026-00001 RE-2026-00002" not in text  # reference first, then kind
    assert "GS-2026-00001 Credit note RE-2026-00002 1,245.93 415.31" in text
    assert "E2E-4711 Payment RE-2026-00001 200.00 215.31" in text
    assert "215.31 EUR in our favour" in text
    assert "Kontoauszug" not in text and "Saldo" not in text


def test_a_refunded_credit_leaves_a_balance_in_the_customers_favour(runtime: Runtime) -> None:
    seed(runtime)
    confirmed_order(runtime, "K-S", "AU-1", "1")
    fulfilment.ship(runtime, date(2026, 9, 10))
    invoicing.invoice_deliveries(runtime, date(2026, 9, 10))
    with runtime.db.unit_of_work() as s:
        invoice = s.scalars(select(Invoice)).one()
        s.add(Allocation(invoice_id=invoice.id, amount=invoice.gross_amount, kind="import",
                         created_by="import"))
        invoice_id = invoice.id
    invoicing.issue_credit_note(runtime, invoice_id, [1], "Retoure", "a@example.com",
                                date(2026, 9, 15))
    _, statement = issue_statement(runtime, "K-S", date(2026, 9, 30))
    assert statement.closing_balance == D("-415.31") and statement.open_items == ()


def test_unknown_customer_and_the_command_line(runtime: Runtime, tmp_path: Path) -> None:
    from web.cli import main

    with pytest.raises(UnknownCustomer, match="K-NONE"):
        issue_statement(runtime, "K-NONE", date(2026, 9, 30))
    history(runtime)
    config = runtime.config.base_dir / runtime.config.source
    out = tmp_path / "ka.pdf"
    result = CliRunner().invoke(main, ["--config", str(config), "statement", "K-S",
                                       "--today", "2026-10-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "balance 635.62 EUR, 3 open item(s)" in result.output
    assert "Saldo 635,62 EUR" in pdf_text(out.read_bytes())
    result = CliRunner().invoke(main, ["--config", str(config), "statement", "K-NONE"])
    assert result.exit_code == 1 and "no customer with the number 'K-NONE'" in result.output


def test_the_statement_is_pure_and_checks_its_period() -> None:
    party = Party("A", Address("S 1", "12345", "X"), customer_number="K-1")
    bookings = [Booking(date(2026, 1, 5), "payment", "P", credit=D("10.00")),
                Booking(date(2026, 1, 5), "invoice", "R", debit=D("100.00")),
                Booking(date(2026, 2, 1), "invoice", "R2", debit=D("1.00"))]  # after as_of
    items = [OpenPosition("invoice", "R", date(2026, 1, 5), date(2026, 1, 19), D("100.00"),
                          D("90.00"))]
    result = account_statement(party, bookings, items, start=date(2026, 1, 1),
                               as_of=date(2026, 1, 31))
    assert [(r.booking.reference, r.balance) for r in result.rows] == [("R", D("100.00")),
                                                                       ("P", D("90.00"))]
    assert result.closing_balance == result.open_total == D("90.00")
    with pytest.raises(ValueError, match="after its end"):
        account_statement(party, bookings, items, start=date(2026, 2, 1),
                          as_of=date(2026, 1, 31))


def test_the_demo_step_issues_one_statement_per_invoiced_customer(runtime: Runtime) -> None:
    from engine.services.statements import issue_all

    history(runtime)  # K-S has invoices, K-M none
    issued = issue_all(runtime, date(2026, 10, 31))
    assert [i.filename for i in issued] == ["KA-K-S-2026-10-31.pdf"]
    assert sorted(p.name for p in (runtime.out_dir / "statements").iterdir()) == [
        "KA-K-S-2026-10-31.pdf"]
