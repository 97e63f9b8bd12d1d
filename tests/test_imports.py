"""Customer and open-item imports on SQLite and PostgreSQL: rows written, open amounts in
the ledger, dunning history and holds, all or nothing, and no invoice imported twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from engine.core.checks import rf_reference
from engine.runtime import Runtime
from engine.services.imports import import_customers, import_open_items
from engine.services.ledger import open_items
from engine.store.models import (
    Allocation,
    AuditEntry,
    Customer,
    DunningNotice,
    Hold,
    Invoice,
)

IBAN = "DE89370400440532013000"
CUSTOMERS = f"""number,name,street,postal_code,city,country,vat_id,email,iban,b2b,language,credit_limit,payment_terms_days
K-1,Müller GmbH,Hauptstr. 1,50667,Köln,DE,DE123456788,ap@mueller.example,{IBAN},true,de,25000.00,30
K-2,Jane Doe,,,,GB,,jane@example.org,,false,en,,
""".encode()
OPEN_ITEMS = f"""customer_number,customer_name,customer_iban,customer_email,b2b,invoice_number,issue_date,due_date,currency,gross_amount,open_amount,payment_reference,cash_discount_percent,cash_discount_days,dunning_level,last_dunning_date,disputed,promise_until
K-1,Müller GmbH,{IBAN},,true,ALT-1001,2024-01-10,2024-01-24,EUR,1190.00,590.00,,2,10,2,2024-02-20,false,
K-1,Müller GmbH,,,,ALT-1002,2024-02-01,2024-02-15,EUR,238.00,238.00,REF-1002,,,0,,true,
K-3,Neu AG,AT611904300234573201,buchhaltung@neu.example,true,ALT-1003,2024-02-05,2024-03-06,EUR,500.00,500.00,,,,,,,2024-04-30
K-3,Neu AG,,,,ALT-1004,2024-01-05,2024-01-19,EUR,100.00,0,,,,,,,
""".encode()
ACTOR = "finance@example.com"


def count(rt: Runtime, model: type) -> int:
    with rt.db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_customers_then_open_items(runtime: Runtime) -> None:
    result = import_customers(runtime, CUSTOMERS, "customers.csv", ACTOR)
    assert result.ok, result.issues
    assert (result.customers_created, result.customers_updated) == (2, 0)
    with runtime.db.unit_of_work() as session:
        k1 = session.scalar(select(Customer).where(Customer.number == "K-1"))
        k2 = session.scalar(select(Customer).where(Customer.number == "K-2"))
        assert k1 is not None and k2 is not None
        assert (k1.name, k1.city, k1.vat_id, k1.iban, k1.b2b) == (
            "Müller GmbH", "Köln", "DE123456788", IBAN, True)
        assert (k1.credit_limit, k1.payment_terms_days) == (Decimal("25000.00"), 30)
        assert (k2.b2b, k2.country, k2.language, k2.credit_limit, k2.payment_terms_days) == (
            False, "GB", "en", Decimal("0"), 14)

    result = import_open_items(runtime, OPEN_ITEMS, "open-items.csv", ACTOR)
    assert result.ok, result.issues
    assert (result.invoices_created, result.customers_created) == (4, 1)
    assert any("1 customers already existed" in note for note in result.notes)

    with runtime.db.unit_of_work() as session:
        k3 = session.scalar(select(Customer).where(Customer.number == "K-3"))
        assert k3 is not None
        assert (k3.name, k3.iban, k3.email, k3.b2b) == (
            "Neu AG", "AT611904300234573201", "buchhaltung@neu.example", True)
        invoices = {i.number: i for i in session.scalars(select(Invoice))}
        first = invoices["ALT-1001"]
        assert first.customer_id == k1.id
        assert (first.gross_amount, first.net_amount, first.tax_amount) == (
            Decimal("1190.00"), Decimal("1190.00"), Decimal("0.00"))
        assert first.payment_reference == rf_reference("ALT-1001")
        assert (first.cash_discount_percent, first.cash_discount_days) == (Decimal("2.00"), 10)
        assert (first.issue_date, first.delivery_date, first.due_date) == (
            date(2024, 1, 10), date(2024, 1, 10), date(2024, 1, 24))
        assert invoices["ALT-1002"].payment_reference == "REF-1002"
        assert invoices["ALT-1004"].status == "paid"

        ledger = {i.number: i for i in open_items(session)}
        assert {n: i.open_amount for n, i in ledger.items()} == {
            "ALT-1001": Decimal("590.00"), "ALT-1002": Decimal("238.00"),
            "ALT-1003": Decimal("500.00")}
        assert ledger["ALT-1001"].customer_iban == IBAN

        allocations = list(session.scalars(select(Allocation).order_by(Allocation.invoice_id)))
        assert [(a.invoice_id, a.amount, a.kind, a.created_by) for a in allocations] == [
            (first.id, Decimal("600.00"), "import", ACTOR),
            (invoices["ALT-1004"].id, Decimal("100.00"), "import", ACTOR)]

        notices = list(session.scalars(select(DunningNotice).order_by(DunningNotice.level)))
        assert [(n.invoice_id, n.level, n.notice_date, n.letter_id, n.open_amount)
                for n in notices] == [
            (first.id, 1, date(2024, 2, 20), None, Decimal("590.00")),
            (first.id, 2, date(2024, 2, 20), None, Decimal("590.00"))]

        holds = {h.kind: h for h in session.scalars(select(Hold))}
        assert holds["dispute"].invoice_id == invoices["ALT-1002"].id
        assert holds["dispute"].reason.startswith("disputed in the previous system")
        assert (holds["promise"].invoice_id, holds["promise"].until) == (
            invoices["ALT-1003"].id, date(2024, 4, 30))
        assert {h.created_by for h in holds.values()} == {ACTOR}

        marks = list(session.scalars(select(AuditEntry).where(
            AuditEntry.action == "invoice.imported")))
        assert len(marks) == 4
        mark = next(m for m in marks if m.object_id == first.id)
        assert mark.actor == ACTOR
        assert mark.details["imported"] is True and mark.details["net_and_tax_known"] is False
        assert (mark.details["source"], mark.details["line"]) == ("open-items.csv", 2)
        assert mark.details["open_amount"] == "590.00"


def test_customer_update_changes_only_the_columns_in_the_file(runtime: Runtime) -> None:
    assert import_customers(runtime, CUSTOMERS, "customers.csv", ACTOR).ok
    update = b"number,name,email\nK-1,M\xc3\xbcller & Co. GmbH,\nK-2,Jane Doe,jane@example.org\n"
    result = import_customers(runtime, update, "update.csv", ACTOR)
    assert result.ok, result.issues
    assert (result.customers_created, result.customers_updated) == (0, 1)
    with runtime.db.unit_of_work() as session:
        k1 = session.scalar(select(Customer).where(Customer.number == "K-1"))
        assert k1 is not None
        assert (k1.name, k1.email, k1.iban, k1.city) == ("Müller & Co. GmbH", "", IBAN, "Köln")
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.updated"))
        assert entry is not None and entry.object_id == k1.id
        assert entry.details["changes"] == {
            "name": ["Müller GmbH", "Müller & Co. GmbH"], "email": ["ap@mueller.example", ""]}


def test_a_bad_row_imports_nothing(runtime: Runtime) -> None:
    bad = OPEN_ITEMS.replace(b"2024-03-06,EUR,500.00", b"2024-03-06,EUR,5OO.00")
    result = import_open_items(runtime, bad, "open-items.csv", ACTOR)
    assert not result.ok
    assert [str(i) for i in result.issues] == [
        "open-items.csv:4: column 'gross_amount': '5OO.00' is not a decimal number; write "
        "digits with a dot and no thousands marks, e.g. 1234.50"]
    assert result.invoices_created == 0
    for model in (Customer, Invoice, Allocation, DunningNotice, Hold, AuditEntry):
        assert count(runtime, model) == 0

    bad_customers = CUSTOMERS.replace(b"jane@example.org", b"jane(at)example.org")
    result = import_customers(runtime, bad_customers, "customers.csv", ACTOR)
    assert [i.where for i in result.issues] == ["customers.csv:3"]
    assert count(runtime, Customer) == 0


def test_an_invoice_number_is_imported_once(runtime: Runtime) -> None:
    assert import_open_items(runtime, OPEN_ITEMS, "open-items.csv", ACTOR).ok
    before = {model: count(runtime, model) for model in (Customer, Invoice, Allocation)}
    again = OPEN_ITEMS.decode().splitlines()
    again.insert(2, again[1].replace("ALT-1001", "ALT-2001").replace(",2,2024-02-20", ",0,"))
    again[1] = again[1].replace("2024-01-24", "2024-01-31")  # same number, other content
    result = import_open_items(runtime, "\n".join(again).encode(), "again.csv", ACTOR)
    assert [str(i) for i in result.issues] == [
        "again.csv:2: column 'invoice_number': 'ALT-1001' already exists; an invoice is "
        "imported once",
        "again.csv:4: column 'invoice_number': 'ALT-1002' already exists; an invoice is "
        "imported once",
        "again.csv:5: column 'invoice_number': 'ALT-1003' already exists; an invoice is "
        "imported once",
        "again.csv:6: column 'invoice_number': 'ALT-1004' already exists; an invoice is "
        "imported once"]
    assert {model: count(runtime, model) for model in before} == before  # ALT-2001 not added


def test_a_payment_reference_of_an_existing_invoice_is_refused(runtime: Runtime) -> None:
    assert import_open_items(runtime, OPEN_ITEMS, "open-items.csv", ACTOR).ok
    data = (b"customer_number,customer_name,invoice_number,issue_date,due_date,currency,"
            b"gross_amount,open_amount,payment_reference\n"
            b"K-9,Andere KG,NEU-1,2024-03-01,2024-03-15,EUR,10.00,10.00,REF-1002\n")
    result = import_open_items(runtime, data, "refs.csv", ACTOR)
    assert [str(i) for i in result.issues] == [
        "refs.csv:2: column 'payment_reference': 'REF-1002' belongs to an existing invoice; "
        "give a reference of this invoice's own"]
    assert count(runtime, Invoice) == 4
    with runtime.db.unit_of_work() as session:
        assert session.scalar(select(Customer).where(Customer.number == "K-9")) is None
