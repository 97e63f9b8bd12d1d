"""§ 14 (4) UStG completeness, the VAT treatment by customer, and the notes German law asks
for (consumer notice, exemption reasons, Skonto): the pure core."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from engine.core.invoicing import (
    CONSUMER_NOTICE,
    Terms,
    VatTreatment,
    apply_treatment,
    build_invoice,
    exemption_note,
    invoice_notes,
    skonto_line,
    vat_treatment,
)
from engine.core.records import Address, DocumentLine, InvoiceDocument, Party, Totals
from engine.core.ustg import missing

SELLER = Party(name="Muster GmbH", address=Address("Musterstraße 1", "80331", "München"),
               vat_id="DE123456788", tax_number="143/123/45678", email="r@muster.example",
               iban="DE89370400440532013000")
BUYER = Party(name="Kunde AG", address=Address("Kundenweg 5", "10115", "Berlin"),
              vat_id="DE987654321", customer_number="K-1")
FRENCH = Party(name="Client SA", address=Address("1 Rue Exemple", "75001", "Paris", "FR"),
               vat_id="FR11123456782", customer_number="K-2")
SKONTO = Terms(30, D("2"), 10)
LINES = (DocumentLine(1, "VS-8", "Ventilsteuerung", D("2"), "Stk", D("349.00"), D("19")),
         DocumentLine(2, "BU-1", "Handbuch", D("1"), "Stk", D("49.90"), D("7")))


def invoice(buyer: Party = BUYER, lines: tuple[DocumentLine, ...] = LINES, category: str = "Z",
            terms: Terms = SKONTO, consumer: bool = False,
            type_code: str = "380", language: str = "de") -> InvoiceDocument:
    return build_invoice(number="RE-2026-00001", type_code=type_code,
                         issue_date=date(2026, 9, 10), delivery_date=date(2026, 9, 8),
                         seller=SELLER, buyer=buyer, lines=lines, terms=terms, currency="EUR",
                         language=language, order_reference="PO-1", vat_category=category,
                         consumer=consumer)


def intra_eu(buyer: Party = FRENCH) -> InvoiceDocument:
    treatment = vat_treatment("DE", buyer.address.country, True, buyer.vat_id)
    return invoice(buyer, apply_treatment(LINES, treatment), treatment.category)


# --- § 14 (4) UStG ----------------------------------------------------------------------


def test_a_complete_invoice_misses_nothing() -> None:
    assert missing(invoice()) == []
    assert missing(intra_eu()) == []
    assert missing(invoice(type_code="381", terms=Terms(0))) == []


@pytest.mark.parametrize(("change", "expected"), [
    ({"seller": replace(SELLER, name=" ")}, "seller name (§ 14 (4) Nr. 1 UStG)"),
    ({"seller": replace(SELLER, address=Address("", "80331", "München"))},
     "seller address (§ 14 (4) Nr. 1 UStG)"),
    ({"buyer": replace(BUYER, name="")}, "buyer name (§ 14 (4) Nr. 1 UStG)"),
    ({"buyer": replace(BUYER, address=Address("Kundenweg 5", "", "Berlin"))},
     "buyer address (§ 14 (4) Nr. 1 UStG)"),
    ({"seller": replace(SELLER, vat_id="", tax_number="")},
     "seller tax number or VAT id (§ 14 (4) Nr. 2 UStG)"),
    ({"issue_date": None}, "issue date (§ 14 (4) Nr. 3 UStG)"),
    ({"number": ""}, "invoice number (§ 14 (4) Nr. 4 UStG)"),
    ({"lines": ()}, "goods or services: no lines (§ 14 (4) Nr. 5 UStG)"),
    ({"lines": (replace(LINES[0], description=" "), LINES[1])},
     "line 1: description (§ 14 (4) Nr. 5 UStG)"),
    ({"lines": (LINES[0], replace(LINES[1], quantity=D("0")))},
     "line 2: quantity and unit (§ 14 (4) Nr. 5 UStG)"),
    ({"delivery_date": None}, "delivery date (Leistungsdatum, § 14 (4) Nr. 6 UStG)"),
    ({"terms": "Zahlbar bis 10.10.2026."}, "agreed cash discount of 2 % (§ 14 (4) Nr. 7 UStG)"),
], ids=lambda v: v if isinstance(v, str) else ",".join(v))
def test_each_missing_item_is_named(change: dict[str, object], expected: str) -> None:
    doc = replace(invoice(), **change)  # type: ignore[arg-type]
    assert expected in missing(doc)


def test_net_and_tax_per_rate_must_add_up() -> None:
    doc = invoice()
    vat = doc.totals.vat
    wrong_tax = replace(doc, totals=replace(doc.totals, vat=(replace(vat[0], tax=vat[0].tax + 1),
                                                             vat[1])))
    assert missing(wrong_tax) == ["tax amount at 19 % (§ 14 (4) Nr. 8 UStG)"]
    no_seven = replace(doc, totals=Totals(doc.totals.net, doc.totals.tax, doc.totals.gross,
                                          vat[:1]))
    assert missing(no_seven) == ["net amount at 7 % (§ 14 (4) Nr. 7 UStG)"]


def test_intra_community_supply_needs_both_vat_ids_and_the_note() -> None:
    doc = intra_eu()
    assert "buyer VAT id (§ 14a (3) UStG)" in missing(replace(doc, buyer=replace(FRENCH,
                                                                                  vat_id="")))
    assert "seller VAT id (§ 14a (3) UStG)" in missing(replace(doc, seller=replace(
        SELLER, vat_id="")))
    assert missing(doc, notes=()) == [
        "note on the tax exemption, category K (§ 14 (4) Nr. 8 UStG)"]
    assert missing(doc, notes=[exemption_note("K", "en")]) == []


def test_reverse_charge_needs_the_words_of_14a() -> None:
    lines = tuple(replace(x, vat_rate=D("0")) for x in LINES)
    doc = invoice(FRENCH, lines, "AE")
    assert missing(doc) == []
    assert missing(doc, notes=["Reverse charge"]) == [
        "note on the tax exemption, category AE (§ 14 (4) Nr. 8 UStG)",
        '"Steuerschuldnerschaft des Leistungsempfängers" (§ 14a (5) UStG)']
    assert "buyer VAT id (§ 14a (1) UStG)" in missing(replace(doc, buyer=replace(FRENCH,
                                                                                  vat_id="")))


# --- VAT treatment by customer ----------------------------------------------------------


@pytest.mark.parametrize(("country", "business", "vat_id", "category", "rate"), [
    ("DE", True, "DE987654321", "S", None),
    ("DE", False, "", "S", None),
    ("FR", True, "FR11123456782", "K", D("0")),
    ("at", True, "ATU12345678", "K", D("0")),
    ("FR", True, "", "S", None),  # no VAT id: no tax-free intra-community supply
    ("FR", False, "", "S", None),  # EU consumer: German VAT (OSS is out of scope)
    ("GB", True, "GB123456789", "G", D("0")),
    ("CH", False, "", "G", D("0")),
    ("US", True, "", "G", D("0")),
])
def test_vat_treatment(country: str, business: bool, vat_id: str, category: str,
                       rate: D | None) -> None:
    treatment = vat_treatment("DE", country, business, vat_id)
    assert (treatment.category, treatment.rate) == (category, rate)
    assert treatment.note == exemption_note(category)
    assert bool(treatment.note) == (category in ("K", "G"))


def test_vat_treatment_notes_and_bad_countries() -> None:
    assert vat_treatment("DE", "FR", True, "FR1", lang="en").note.startswith(
        "Tax-exempt intra-community supply")
    assert "§ 6a UStG" in vat_treatment("DE", "FR", True, "FR1").note
    assert "Ausfuhrlieferung" in vat_treatment("DE", "CH", True, "").note
    with pytest.raises(ValueError, match="two letters"):
        vat_treatment("DE", "", True, "")


def test_treatment_zero_rates_the_lines_and_the_breakdown() -> None:
    doc = intra_eu()
    assert {x.vat_rate for x in doc.lines} == {D("0")}
    assert [(v.category, v.rate, v.tax) for v in doc.totals.vat] == [("K", D("0"), D("0.00"))]
    assert doc.totals.gross == doc.totals.net == D("747.90")
    assert invoice_notes(doc) == (exemption_note("K"),)
    assert apply_treatment(LINES, VatTreatment("S", None, "")) == LINES
    assert invoice_notes(invoice()) == ()


# --- the notes: consumers (§ 286 (3) BGB) and Skonto ------------------------------------


def test_consumer_invoices_carry_the_default_notice() -> None:
    german = invoice(consumer=True, terms=Terms(14))
    assert german.terms.endswith(" Sie kommen spätestens 30 Tage nach Fälligkeit und Zugang "
                                 "dieser Rechnung in Verzug, ohne dass es einer Mahnung bedarf.")
    english = invoice(consumer=True, terms=Terms(14), language="en")
    assert english.terms.endswith(CONSUMER_NOTICE["en"])
    assert "Verzug" not in invoice(terms=Terms(14)).terms  # businesses: § 286 (3) 1 applies
    credit = invoice(consumer=True, terms=Terms(0), type_code="381")
    assert "Verzug" not in credit.terms  # nothing to pay on a credit note


def test_skonto_is_printed_and_has_its_xrechnung_line() -> None:
    doc = invoice()
    assert doc.terms.startswith("2 % Skonto bei Zahlung bis 20.09.2026 (")
    assert (doc.cash_discount_percent, doc.cash_discount_days) == (D("2"), 10)
    assert skonto_line(D("2"), 10) == "#SKONTO#TAGE=10#PROZENT=2.00#"
    assert skonto_line(D("1.5"), 7) == "#SKONTO#TAGE=7#PROZENT=1.50#"
