"""The archive chain and GoBD immutability on SQLite and PostgreSQL: issued files are
chained and verified; a changed file, a removed or edited entry is found and named;
concurrent appends keep one chain; issued invoices refuse changes in the ORM and in the
database itself."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from engine.runtime import Runtime
from engine.services import archive, fulfilment, invoicing
from engine.services.publish import store_file
from engine.store.blobs import FileBlobStore
from engine.store.immutability import ImmutableError, install
from engine.store.models import (
    ArchiveEntry,
    CreditNote,
    Customer,
    DecisionRow,
    Invoice,
    InvoiceLine,
)
from tests.test_invoicing_run import confirmed_order, seed
from web.cli_archive import archive as archive_cli
from web.cli_common import State


@pytest.fixture
def rt(runtime: Runtime) -> Iterator[Runtime]:
    """The workspace with the immutability listeners (Database.__init__ installs them too
    once wired; installing twice is harmless)."""
    install(runtime.db.sessions)
    yield runtime


def put(rt: Runtime, kind: str, name: str, data: bytes) -> None:
    with rt.db.unit_of_work() as s:
        store_file(rt, kind, name, data, "application/pdf", session=s)


def chain(rt: Runtime) -> list[ArchiveEntry]:
    with rt.db.unit_of_work() as s:
        return archive.entries(s)


def problems(rt: Runtime) -> list[str]:
    with rt.db.unit_of_work() as s:
        return archive.verify(s, rt.blobs)


def invoice(rt: Runtime, number: str = "RE-2026-00001", gross: str = "119.00") -> int:
    """An issued invoice with one line, its PDF archived in the same transaction."""
    pdf = f"%PDF-1.7 {number} {gross}".encode()
    with rt.db.unit_of_work() as s:
        customer = s.scalar(select(Customer)) or Customer(number="K-1", name="Kunde GmbH")
        s.add(customer)
        s.flush()
        issued = store_file(rt, "invoices", f"{number}.pdf", pdf, "application/pdf", session=s)
        row = Invoice(number=number, customer_id=customer.id, issue_date=date(2026, 9, 2),
                      delivery_date=date(2026, 9, 1), due_date=date(2026, 9, 16),
                      payment_reference=f"RF{number}", net_amount=D("100.00"),
                      tax_amount=D(gross) - D("100.00"), gross_amount=D(gross),
                      pdf_sha256=issued.sha256)
        s.add(row)
        s.flush()
        s.add(InvoiceLine(invoice_id=row.id, position=1, sku="VS-8", description="Ventil",
                          quantity=D(1), unit="Stk", unit_price=D("100.00"), vat_rate=D(19)))
        return row.id


def blob_path(rt: Runtime, sha: str) -> Path:
    assert isinstance(rt.blobs, FileBlobStore)
    return rt.blobs.root / sha[:2] / sha


def unguard(rt: Runtime, table: str, op: str) -> None:
    """Drop one GoBD trigger, as someone with DDL rights could, to tamper behind its back."""
    on = f" ON {table}" if rt.db.is_postgres else ""
    with rt.db.engine.begin() as conn:
        conn.execute(text(f"DROP TRIGGER gobd_{table}_{op}{on}"))


# --- the chain ------------------------------------------------------------------------


def test_issued_files_are_chained_and_verified(rt: Runtime) -> None:
    put(rt, "invoices", "RE-1.pdf", b"%PDF one")
    put(rt, "invoices", "RE 1.xml", b"<xml/>")  # stored under its safe name
    with rt.db.unit_of_work():
        store_file(rt, "quotes", "AN-1.pdf", b"%PDF not archived", "application/pdf")
    first, second = chain(rt)
    assert (first.kind, first.filename, second.filename) == ("invoices", "RE-1.pdf", "RE_1.xml")
    assert first.previous_hash == archive.GENESIS and second.previous_hash == first.chain_hash
    assert first.sha256 == hashlib.sha256(b"%PDF one").hexdigest()
    # the documented canonical encoding, spelled out independently
    fields = [second.previous_hash, second.sha256, "invoices", "RE_1.xml",
              second.archived_at.isoformat(timespec="microseconds")]
    encoded = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
    assert second.chain_hash == hashlib.sha256(encoded).hexdigest()
    assert problems(rt) == []


def test_a_rolled_back_issue_leaves_no_entry(rt: Runtime) -> None:
    put(rt, "invoices", "RE-1.pdf", b"%PDF one")
    with pytest.raises(RuntimeError), rt.db.unit_of_work() as s:
        store_file(rt, "invoices", "RE-2.pdf", b"%PDF two", "application/pdf", session=s)
        raise RuntimeError("rendering the XML failed")
    put(rt, "invoices", "RE-2.pdf", b"%PDF two, again")
    assert [e.filename for e in chain(rt)] == ["RE-1.pdf", "RE-2.pdf"]
    assert problems(rt) == []


def test_a_changed_byte_in_an_archived_file_is_named(rt: Runtime) -> None:
    put(rt, "invoices", "RE-1.pdf", b"%PDF one")
    put(rt, "invoices", "RE-2.pdf", b"%PDF two")
    target = chain(rt)[1]
    path = blob_path(rt, target.sha256)
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    found = problems(rt)
    assert len(found) == 1
    assert found[0].startswith(f"entry {target.id} (RE-2.pdf): file changed")


def test_a_missing_file_is_named(rt: Runtime) -> None:
    put(rt, "invoices", "RE-1.pdf", b"%PDF one")
    entry = chain(rt)[0]
    blob_path(rt, entry.sha256).unlink()
    assert problems(rt) == [f"entry {entry.id} (RE-1.pdf): file missing: no stored file with "
                            f"sha256 {entry.sha256}"]


def test_a_deleted_entry_breaks_the_chain(rt: Runtime) -> None:
    for n in (1, 2, 3):
        invoice(rt, f"RE-2026-0000{n}")
    first, second, third = chain(rt)
    unguard(rt, "archive", "delete")
    with rt.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM archive WHERE id = :id"), {"id": second.id})
    found = problems(rt)
    assert found[0] == (f"entry {third.id} (RE-2026-00003.pdf): chain broken: it does not "
                        f"follow entry {first.id} (RE-2026-00001.pdf); an entry in between "
                        f"was removed or altered")
    assert any(p.startswith("invoice RE-2026-00002: its file") for p in found)
    # the last entry has no successor to point back to: the invoice row reveals it
    with rt.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM archive WHERE id = :id"), {"id": third.id})
    assert "invoice RE-2026-00003: its file" in "\n".join(problems(rt))


def test_an_edited_sha_is_named(rt: Runtime) -> None:
    put(rt, "invoices", "RE-1.pdf", b"%PDF one")
    put(rt, "invoices", "RE-2.pdf", b"%PDF two")
    target = chain(rt)[0]
    unguard(rt, "archive", "update")
    with rt.db.engine.begin() as conn:
        conn.execute(text("UPDATE archive SET sha256 = :sha WHERE id = :id"),
                     {"sha": hashlib.sha256(b"forged").hexdigest(), "id": target.id})
    assert problems(rt) == [f"entry {target.id} (RE-1.pdf): entry altered: its chain hash "
                            f"does not match its fields"]


def test_concurrent_appends_keep_one_chain(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    real = archive._last_hash

    def slow_last_hash(session):  # type: ignore[no-untyped-def]
        found = real(session)
        time.sleep(0.005)  # widen the window between reading the head and appending
        return found

    monkeypatch.setattr(archive, "_last_hash", slow_last_hash)

    def issue(n: int) -> None:
        put(rt, "invoices", f"RE-{n}.pdf", f"%PDF {n}".encode())

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(issue, range(36)))
    rows = chain(rt)
    assert len(rows) == 36
    assert [r.previous_hash for r in rows] == [archive.GENESIS] + [r.chain_hash for r in rows[:-1]]
    assert problems(rt) == []


def test_cli_verify_and_list(rt: Runtime, tmp_path: Path) -> None:
    put(rt, "invoices", "RE-1.pdf", b"%PDF one")
    put(rt, "credit_notes", "GS-1.pdf", b"%PDF credit")
    state = State(str(tmp_path / "ws" / "config.yaml"))
    runner = CliRunner()
    ok = runner.invoke(archive_cli, ["verify"], obj=state)
    assert ok.exit_code == 0, ok.output
    assert ok.output.splitlines()[0] == "archive intact: 2 documents"
    listed = runner.invoke(archive_cli, ["list", "--kind", "credit_notes"], obj=state)
    assert listed.exit_code == 0 and "GS-1.pdf" in listed.output and "RE-1" not in listed.output
    blob_path(rt, chain(rt)[0].sha256).write_bytes(b"%PDF forged")
    bad = runner.invoke(archive_cli, ["verify"], obj=state)
    assert bad.exit_code == 1
    assert "(RE-1.pdf): file changed" in bad.output


@pytest.mark.slow
def test_issuing_invoices_and_credit_notes_archives_pdf_and_xml(rt: Runtime) -> None:
    seed(rt)
    confirmed_order(rt, "K-S", "AU-1", "2")
    fulfilment.ship(rt, date(2026, 9, 10))
    assert invoicing.invoice_deliveries(rt, date(2026, 9, 10)) == 1
    with rt.db.unit_of_work() as s:
        inv = s.scalars(select(Invoice)).one()
    invoicing.issue_credit_note(rt, inv.id, [1], "Transportschaden", "finance@example.com",
                                date(2026, 9, 12))
    files = {(e.kind, e.filename) for e in chain(rt)}
    with rt.db.unit_of_work() as s:
        note = s.scalars(select(CreditNote)).one()
    for kind, number in (("invoices", inv.number), ("credit_notes", note.number)):
        assert {(kind, f"{number}.pdf"), (kind, f"{number}.xml")} <= files
    assert problems(rt) == []


# --- immutability: the ORM listeners ----------------------------------------------------


def test_an_issued_invoice_refuses_changes_and_deletes(rt: Runtime) -> None:
    invoice_id = invoice(rt)
    with pytest.raises(ImmutableError, match=r"invoice RE-2026-00001: field 'gross_amount'"), \
            rt.db.unit_of_work() as s:
        row = s.get(Invoice, invoice_id)
        assert row is not None
        row.gross_amount = D("1.00")
    with pytest.raises(ImmutableError, match="invoice RE-2026-00001: may not be deleted"), \
            rt.db.unit_of_work() as s:
        s.delete(s.get(Invoice, invoice_id))
    with pytest.raises(ImmutableError, match="line 1 of invoice RE-2026-00001: field 'quantity'"), \
            rt.db.unit_of_work() as s:
        line = s.scalars(select(InvoiceLine)).one()
        line.quantity = D(2)
    with pytest.raises(ImmutableError, match="invoice RE-2026-00001: field 'lines'"), \
            rt.db.unit_of_work() as s:
        s.add(InvoiceLine(invoice_id=invoice_id, position=2, sku="X", description="extra",
                          quantity=D(1), unit="Stk", unit_price=D(1), vat_rate=D(19)))
    with pytest.raises(ImmutableError, match="archive entry"), rt.db.unit_of_work() as s:
        s.delete(s.scalars(select(ArchiveEntry)).one())
    with pytest.raises(ImmutableError, match="gross_amount"), rt.db.unit_of_work() as s:
        s.execute(update(Invoice).where(Invoice.id == invoice_id).values(gross_amount=1))
    with pytest.raises(ImmutableError, match="may not be deleted"), rt.db.unit_of_work() as s:
        s.execute(delete(InvoiceLine))
    with rt.db.unit_of_work() as s:  # the cached status may change
        row = s.get(Invoice, invoice_id)
        assert row is not None and row.gross_amount == D("119.00")
        row.status = "paid"
    with rt.db.unit_of_work() as s:
        s.execute(update(Invoice).values(status="open"))


def test_decision_id_only_in_the_issuing_transaction(rt: Runtime) -> None:
    def decision(s) -> int:  # type: ignore[no-untyped-def]
        row = DecisionRow(event="delivery.posted", subject_type="delivery", subject_id=1,
                          rule_set="invoicing", version="1", sha256="0" * 64, outcome="invoice",
                          today=date(2026, 9, 2))
        s.add(row)
        s.flush()
        return row.id

    with rt.db.unit_of_work() as s:
        customer = Customer(number="K-1", name="Kunde GmbH")
        s.add(customer)
        s.flush()
        inv = Invoice(number="RE-2026-00007", customer_id=customer.id, issue_date=date(2026, 9, 2),
                      delivery_date=date(2026, 9, 1), due_date=date(2026, 9, 16),
                      payment_reference="RF7", gross_amount=D(1))
        s.add(inv)
        s.flush()
        inv.decision_id = decision(s)  # as invoice_deliveries does
    with pytest.raises(ImmutableError, match="RE-2026-00007: field 'decision_id'"), \
            rt.db.unit_of_work() as s:
        again = s.get(Invoice, inv.id)
        assert again is not None
        again.decision_id = decision(s)


def test_credit_notes_never_change(rt: Runtime) -> None:
    invoice_id = invoice(rt)
    with rt.db.unit_of_work() as s:
        s.add(CreditNote(number="GS-2026-00001", invoice_id=invoice_id, customer_id=1,
                         issue_date=date(2026, 9, 3), reason="Retoure", gross_amount=D(119)))
    with pytest.raises(ImmutableError, match="credit note GS-2026-00001: field 'reason'"), \
            rt.db.unit_of_work() as s:
        s.scalars(select(CreditNote)).one().reason = "anders"


# --- immutability: the database triggers ------------------------------------------------


def refused(rt: Runtime, sql: str) -> str:
    with pytest.raises(DBAPIError) as caught, rt.db.engine.begin() as conn:
        conn.execute(text(sql))
    return str(caught.value)


def test_the_database_refuses_raw_updates_and_deletes(rt: Runtime) -> None:
    invoice(rt)
    assert "GoBD" in refused(rt, "UPDATE invoices SET gross_amount = 1")
    assert "GoBD" in refused(rt, "UPDATE invoices SET number = 'RE-X'")
    assert "GoBD" in refused(rt, "UPDATE invoices SET issue_date = '2026-01-01'")
    assert "GoBD" in refused(rt, "UPDATE invoice_lines SET unit_price = 0")
    assert "GoBD" in refused(rt, "UPDATE archive SET filename = 'x.pdf'")
    for table in ("invoices", "invoice_lines", "archive"):
        assert "GoBD" in refused(rt, f"DELETE FROM {table}")
    if rt.db.is_postgres:
        assert "GoBD" in refused(rt, "TRUNCATE invoices CASCADE")
    with rt.db.engine.begin() as conn:  # the cached status is no part of the document
        conn.execute(text("UPDATE invoices SET status = 'paid'"))
    with rt.db.unit_of_work() as s:
        assert s.scalar(select(func.count(Invoice.id))) == 1
        assert s.scalar(select(Invoice.gross_amount)) == D("119.00")
