"""Invoicing by the rules on both databases: on shipment with the customer's terms and
Skonto, collective monthly invoices; the checks before issuing (EN 16931, XSD, § 14 UStG)
with refused invoices leaving no trace and no gap; VAT treatment and notes by customer;
the Factur-X PDF with its GiroCode and the XRechnung file beside it."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from documents.cii import NS, XRECHNUNG_GUIDELINE_ID
from documents.validation import en16931_errors, xrechnung_errors
from engine.core.checks import rf_reference
from engine.core.invoicing import consumer_notice, exemption_note
from engine.runtime import Runtime
from engine.services import fulfilment, invoicing
from engine.settings import load_config
from engine.store.models import (
    Allocation,
    AuditEntry,
    Customer,
    Delivery,
    Invoice,
    NumberSequence,
    Order,
    OrderLine,
    OutboxMessage,
    Product,
    Task,
)
from tests.conftest import CORPORA, write_config


def confirmed_order(rt: Runtime, customer: str, number: str, qty: str) -> None:
    with rt.db.unit_of_work() as s:
        c = s.scalar(select(Customer).where(Customer.number == customer))
        p = s.scalar(select(Product))
        assert c is not None and p is not None
        order = Order(number=number, customer_id=c.id, order_date=date(2026, 9, 1),
                      status="confirmed")
        s.add(order)
        s.flush()
        s.add(OrderLine(order_id=order.id, position=1, sku=p.sku, description=p.name,
                        quantity=D(qty), unit="Stk", unit_price=p.unit_price, vat_rate=D(19),
                        product_id=p.id))


def seed(rt: Runtime) -> None:
    with rt.db.unit_of_work() as s:
        s.add(Product(sku="VS-8", name="Ventilsteuerung", unit_price=D("349.00"),
                      stock=D(100)))
        s.add(Customer(number="K-M", name="Monatskunde GmbH", email="m@example.com",
                       street="Hafenstraße 1", postal_code="20457", city="Hamburg",
                       collective_invoice=True, payment_terms_days=30))
        s.add(Customer(number="K-S", name="Skonto GmbH", email="s@example.com",
                       street="Marktplatz 2", postal_code="80331", city="München",
                       payment_terms_days=30))


def test_skonto_and_collective_monthly_invoices(runtime: Runtime) -> None:
    seed(runtime)
    confirmed_order(runtime, "K-M", "AU-1", "2")
    confirmed_order(runtime, "K-S", "AU-2", "1")
    assert fulfilment.ship(runtime, date(2026, 9, 10)) == 2
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 10)) == 1  # K-S only
    confirmed_order(runtime, "K-M", "AU-3", "3")
    fulfilment.ship(runtime, date(2026, 9, 20))
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 29)) == 0  # not month end
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 30)) == 1  # collective
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 30)) == 0  # once
    with runtime.db.unit_of_work() as s:
        skonto, monthly = s.scalars(select(Invoice).order_by(Invoice.id)).all()
        assert (skonto.cash_discount_percent, skonto.cash_discount_days) == (D(2), 10)
        assert skonto.due_date == date(2026, 10, 10)
        assert [(x.quantity, x.sku) for x in monthly.lines] == [(D(2), "VS-8"), (D(3), "VS-8")]
        # 5 × 349.00 = 1,745.00 net; 19 % = 331.55; gross 2,076.55
        assert monthly.gross_amount == D("2076.55") and monthly.order_id is None
        assert monthly.delivery_date == date(2026, 9, 20)
        assert {d.status for d in s.scalars(select(Delivery))} == {"invoiced"}
    assert (runtime.out_dir / "invoices" / f"{monthly.number}.xml").exists()


# --- e-invoices that hold up: checks before issuing, VAT by customer, notes, GiroCode -----


def customer(rt: Runtime, number: str, country: str = "DE", vat_id: str = "", b2b: bool = True,
             street: str = "Hauptstraße 1", language: str = "de") -> None:
    with rt.db.unit_of_work() as s:
        s.add(Customer(number=number, name=f"Kunde {number}", email=f"{number}@example.com",
                       street=street, postal_code="12345", city="Stadt", country=country,
                       vat_id=vat_id, b2b=b2b, language=language, payment_terms_days=14))


def pdf_text(pdf: bytes) -> str:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf)) as document:
        return " ".join(" ".join((p.extract_text() or "") for p in document.pages).split())


def embedded_xml(pdf: bytes) -> bytes:
    import facturx

    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    return bytes(xml)


def xpath(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=dict(NS))]


def issued(rt: Runtime) -> list[tuple[str, str]]:
    with rt.db.unit_of_work() as s:
        return [(i.number, i.customer.number) for i in s.scalars(select(Invoice)
                                                               .order_by(Invoice.id))]


def sequence(rt: Runtime, series: str = "RE") -> int | None:
    with rt.db.unit_of_work() as s:
        row = s.get(NumberSequence, (series, 2026))
        return None if row is None else row.next_value


def test_issued_files_skonto_and_girocode(runtime: Runtime) -> None:
    seed(runtime)
    confirmed_order(runtime, "K-S", "AU-2", "1")
    fulfilment.ship(runtime, date(2026, 9, 10))
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 10)) == 1
    folder = runtime.out_dir / "invoices"
    pdf, xml = (folder / "RE-2026-00001.pdf").read_bytes(), (folder / "RE-2026-00001.xml").read_bytes()
    facturx_xml = embedded_xml(pdf)
    guideline = "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID/text()"
    assert xpath(xml, guideline) == [XRECHNUNG_GUIDELINE_ID]  # the file beside the PDF
    assert xpath(facturx_xml, guideline) == ["urn:cen.eu:en16931:2017"]  # inside the PDF
    for flavour in (xml, facturx_xml):
        assert en16931_errors(flavour) == []
        terms = xpath(flavour, "//ram:SpecifiedTradePaymentTerms/ram:Description/text()")[0]
        assert terms.startswith("2 % Skonto bei Zahlung bis 20.09.2026 (")
        assert terms.endswith("\n#SKONTO#TAGE=10#PROZENT=2.00#\n")
    assert xrechnung_errors(xml) == []
    text = pdf_text(pdf)
    assert "2 % Skonto bei Zahlung bis 20.09.2026" in text
    assert "Bezahlen mit Code (GiroCode)" in text
    assert "Verzug" not in text  # a business: no consumer notice
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp (QR decoder) not installed")
    import pypdfium2

    page = pypdfium2.PdfDocument(pdf)[0].render(scale=4).to_pil()
    codes = [r.bytes.decode("utf-8") for r in zxingcpp.read_barcodes(page)]
    assert codes == ["\n".join(["BCD", "002", "1", "SCT", "COBADEFFXXX",
                                "Muster Maschinenbau GmbH", "DE89370400440532013000",
                                "EUR415.31", "", rf_reference("RE-2026-00001")])]


def tamper(monkeypatch: pytest.MonkeyPatch, old: bytes, new: bytes) -> None:
    for name in ("invoice_xml", "xrechnung_xml"):
        real = getattr(invoicing, name)
        monkeypatch.setattr(invoicing, name, lambda doc, real=real: real(doc).replace(old, new))


def test_a_tampered_invoice_is_refused_and_its_number_stays_free(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(runtime)
    confirmed_order(runtime, "K-S", "AU-2", "1")
    fulfilment.ship(runtime, date(2026, 9, 10))
    tamper(monkeypatch, b"<ram:GrandTotalAmount>415.31<", b"<ram:GrandTotalAmount>415.32<")
    with pytest.raises(invoicing.InvoiceRejected) as caught:
        invoicing.invoice_deliveries(runtime, date(2026, 9, 10))
    assert "BR-CO-15" in caught.value.rule_ids
    assert "[BR-CO-15]" in str(caught.value) and "LS-" in str(caught.value)
    assert issued(runtime) == [] and sequence(runtime) in (None, 1)  # number not consumed
    assert not (runtime.out_dir / "invoices").exists() or not any(
        (runtime.out_dir / "invoices").iterdir())
    with runtime.db.unit_of_work() as s:
        assert [d.status for d in s.scalars(select(Delivery))] == ["posted"]
        assert not s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invoice")).all()
        task = s.scalars(select(Task).where(Task.kind == "invoice_rejected")).one()
        assert "BR-CO-15" in task.subject
        refusal = s.scalars(select(AuditEntry).where(AuditEntry.action == "invoice.rejected")).one()
        assert "BR-CO-15" in refusal.details["rules"]
    monkeypatch.undo()
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 10)) == 1
    assert issued(runtime) == [("RE-2026-00001", "K-S")]  # the next invoice gets the number


def test_xsd_and_ustg_refusals_leave_the_others_issued_and_numbers_gapless(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(runtime)
    customer(runtime, "K-X", street="")  # no street: § 14 (4) Nr. 1 UStG
    confirmed_order(runtime, "K-X", "AU-1", "1")
    confirmed_order(runtime, "K-S", "AU-2", "1")
    fulfilment.ship(runtime, date(2026, 9, 10))
    with pytest.raises(invoicing.InvoiceRejected) as caught:
        invoicing.invoice_deliveries(runtime, date(2026, 9, 10))
    assert caught.value.rule_ids == ["§ 14 UStG"]
    assert "buyer address (§ 14 (4) Nr. 1 UStG)" in str(caught.value)
    assert issued(runtime) == [("RE-2026-00001", "K-S")]  # the other one went out
    with runtime.db.unit_of_work() as s:
        s.scalars(select(Customer).where(Customer.number == "K-X")).one().street = "Weg 2"
    tamper(monkeypatch, b"<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>", b"")
    with pytest.raises(invoicing.InvoiceRejected) as caught:
        invoicing.invoice_deliveries(runtime, date(2026, 9, 11))
    assert caught.value.rule_ids == ["XSD"] and "InvoiceCurrencyCode" in str(caught.value)
    assert sequence(runtime) == 2
    monkeypatch.undo()
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 11)) == 1
    assert issued(runtime) == [("RE-2026-00001", "K-S"), ("RE-2026-00002", "K-X")]


def test_vat_treatment_and_notes_by_customer(runtime: Runtime) -> None:
    seed(runtime)
    customer(runtime, "K-FR", "FR", "FR11123456782")  # intra-community supply
    customer(runtime, "K-CH", "CH", "CHE123456789", language="en")  # export
    customer(runtime, "K-PRIV", b2b=False)  # a German consumer
    customer(runtime, "K-AT", "AT", b2b=False)  # a consumer in Austria: German VAT
    for n, number in enumerate(("K-FR", "K-CH", "K-PRIV", "K-AT"), start=1):
        confirmed_order(runtime, number, f"AU-{n}", "1")
    fulfilment.ship(runtime, date(2026, 9, 10))
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 10)) == 4
    expected = {"K-FR": ("K", D("0"), D("349.00")), "K-CH": ("G", D("0"), D("349.00")),
                "K-PRIV": ("S", D("19"), D("415.31")), "K-AT": ("S", D("19"), D("415.31"))}
    with runtime.db.unit_of_work() as s:
        invoices = {i.customer.number: i for i in s.scalars(select(Invoice))}
        for number, (category, rate, gross) in expected.items():
            invoice = invoices[number]
            assert ([x.vat_rate for x in invoice.lines], invoice.gross_amount) == ([rate], gross)
            xml = (runtime.out_dir / "invoices" / f"{invoice.number}.xml").read_bytes()
            pdf = (runtime.out_dir / "invoices" / f"{invoice.number}.pdf").read_bytes()
            assert set(xpath(xml, "//ram:CategoryCode/text()")) == {category}
            assert en16931_errors(xml) == [] and en16931_errors(embedded_xml(pdf)) == []
            lang = "en" if number == "K-CH" else "de"
            note = exemption_note(category, lang)
            reasons = xpath(xml, "//ram:ApplicableTradeTax/ram:ExemptionReason/text()")
            assert reasons == ([note] if note else [])
            text = pdf_text(pdf)
            assert note in text
            notice = "ohne dass es einer Mahnung bedarf."
            assert (notice in text) == (number == "K-PRIV" or number == "K-AT")
            terms = xpath(xml, "//ram:SpecifiedTradePaymentTerms/ram:Description/text()")[0]
            assert (consumer_notice("de") in terms) == (notice in text)
        fr_id = invoices["K-FR"].id
    assert "Ihre USt-IdNr. FR11123456782" in pdf_text(
        (runtime.out_dir / "invoices" / f"{invoices['K-FR'].number}.pdf").read_bytes())
    number = invoicing.issue_credit_note(runtime, fr_id, [1], "Transportschaden",
                                         "finance@example.com", date(2026, 9, 12))
    pdf = (runtime.out_dir / "credit_notes" / f"{number}.pdf").read_bytes()
    xml = (runtime.out_dir / "credit_notes" / f"{number}.xml").read_bytes()
    assert set(xpath(xml, "//ram:CategoryCode/text()")) == {"K"}
    assert en16931_errors(xml) == [] and xrechnung_errors(xml) == []
    text = pdf_text(pdf)
    assert exemption_note("K") in text and "GiroCode" not in text  # nothing to pay


def test_many_invoices_are_rendered_in_a_pool_and_a_refusal_falls_back(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invoicing, "BATCH_MIN", 2)
    seed(runtime)
    for n in (1, 2, 3):
        customer(runtime, f"K-{n}", language="en" if n == 2 else "de")
        confirmed_order(runtime, f"K-{n}", f"AU-{n}", str(n))
    fulfilment.ship(runtime, date(2026, 9, 10))
    assert invoicing.invoice_deliveries(runtime, date(2026, 9, 10)) == 3
    assert issued(runtime) == [("RE-2026-00001", "K-1"), ("RE-2026-00002", "K-2"),
                               ("RE-2026-00003", "K-3")]
    folder = runtime.out_dir / "invoices"
    for number in ("RE-2026-00001", "RE-2026-00002", "RE-2026-00003"):
        pdf, xml = (folder / f"{number}.pdf").read_bytes(), (folder / f"{number}.xml").read_bytes()
        assert en16931_errors(embedded_xml(pdf)) == [] and xrechnung_errors(xml) == []
        assert xpath(xml, "//rsm:ExchangedDocument/ram:ID/text()") == [number]
        assert number in pdf_text(pdf)
    assert "Invoice RE-2026-00002" in pdf_text((folder / "RE-2026-00002.pdf").read_bytes())
    # a batch with one refused invoice: the others go out one by one, without a gap
    customer(runtime, "K-X", street="")
    for n, number in enumerate(("K-1", "K-X", "K-3"), start=4):
        confirmed_order(runtime, number, f"AU-{n}", "1")
    fulfilment.ship(runtime, date(2026, 9, 11))
    with pytest.raises(invoicing.InvoiceRejected, match="buyer address"):
        invoicing.invoice_deliveries(runtime, date(2026, 9, 11))
    assert issued(runtime)[3:] == [("RE-2026-00004", "K-1"), ("RE-2026-00005", "K-3")]
    assert sequence(runtime) == 6


def test_a_missing_required_field_stops_issuing_with_its_name(runtime: Runtime) -> None:
    seed(runtime)
    with runtime.db.unit_of_work() as s:
        s.scalars(select(Product)).one().name = ""
    confirmed_order(runtime, "K-S", "AU-1", "1")
    fulfilment.ship(runtime, date(2026, 9, 10))
    with pytest.raises(invoicing.InvoiceRejected) as caught:
        invoicing.invoice_deliveries(runtime, date(2026, 9, 10))
    assert "line 1: description (§ 14 (4) Nr. 5 UStG)" in str(caught.value)
    assert issued(runtime) == [] and sequence(runtime) in (None, 1)


def test_buyer_reference_contact_and_ubl_by_config(runtime: Runtime, tmp_path: Path) -> None:
    seed(runtime)
    with runtime.db.unit_of_work() as s:
        s.scalars(select(Customer).where(Customer.number == "K-S")).one().buyer_reference = (
            "04011000-12345-67")
    confirmed_order(runtime, "K-S", "AU-1", "1")
    fulfilment.ship(runtime, date(2026, 9, 10))
    config = write_config(tmp_path / "ubl", runtime.config.database_url,
                          company={"contact_name": "Erika Mustermann"},
                          invoicing={"xrechnung_syntax": "ubl"})
    rt = Runtime.open(load_config(config))
    try:
        assert invoicing.invoice_deliveries(rt, date(2026, 9, 10)) == 1
        pdf = (rt.out_dir / "invoices" / "RE-2026-00001.pdf").read_bytes()
        ubl = (rt.out_dir / "invoices" / "RE-2026-00001.xml").read_bytes()
    finally:
        rt.close()
    cii = embedded_xml(pdf)
    assert xpath(cii, "//ram:BuyerReference/text()") == ["04011000-12345-67"]
    assert xpath(cii, "//ram:SellerTradeParty/ram:DefinedTradeContact/ram:PersonName/text()") \
        == ["Erika Mustermann"]
    ubl_ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
              "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
    root = etree.fromstring(ubl)
    assert root.tag.endswith("}Invoice")
    assert root.xpath("cbc:BuyerReference/text()", namespaces=ubl_ns) == ["04011000-12345-67"]
    assert root.xpath("//cac:Contact/cbc:Name/text()", namespaces=ubl_ns) == ["Erika Mustermann"]
    rules = CORPORA / "en16931" / "ubl" / "xslt" / "EN16931-UBL-validation.xslt"
    if rules.is_file():
        assert en16931_errors(ubl, stylesheet=rules) == []


def test_a_credit_note_says_how_it_is_settled(runtime: Runtime) -> None:
    seed(runtime)
    for n in (1, 2):
        confirmed_order(runtime, "K-S", f"AU-{n}", "1")
    fulfilment.ship(runtime, date(2026, 9, 10))
    invoicing.invoice_deliveries(runtime, date(2026, 9, 10))
    with runtime.db.unit_of_work() as s:
        first, second = s.scalars(select(Invoice).order_by(Invoice.id)).all()
        s.add(Allocation(invoice_id=second.id, amount=second.gross_amount, kind="import",
                         created_by="import"))
        ids = first.id, second.id
    set_off = invoicing.issue_credit_note(runtime, ids[0], [1], "Retoure", "a@example.com",
                                         date(2026, 9, 12))
    refund = invoicing.issue_credit_note(runtime, ids[1], [1], "Retoure", "a@example.com",
                                        date(2026, 9, 12))
    folder = runtime.out_dir / "credit_notes"
    text = pdf_text((folder / f"{set_off}.pdf").read_bytes())
    assert ("415,31 EUR verrechnen wir mit der offenen Rechnung RE-2026-00001") in text
    assert "Zahlbar" not in text and "Verwendungszweck" not in text and "GiroCode" not in text
    text = pdf_text((folder / f"{refund}.pdf").read_bytes())
    assert "415,31 EUR erstatten wir Ihnen auf Ihr Konto" in text and "verrechnen" not in text
    xml = (folder / f"{refund}.xml").read_bytes()
    assert "erstatten" in xpath(xml, "//ram:SpecifiedTradePaymentTerms/ram:Description/text()")[0]
    assert xrechnung_errors(xml) == [] and en16931_errors(xml) == []
    with runtime.db.unit_of_work() as s:
        credits = s.scalars(select(Allocation).where(Allocation.kind == "credit_note")).all()
        assert [(a.invoice_id, a.amount) for a in credits] == [(ids[0], D("415.31"))]
        assert [i.status for i in s.scalars(select(Invoice).order_by(Invoice.id))] == [
            "paid", "paid"]
