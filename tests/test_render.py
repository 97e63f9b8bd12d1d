"""Rendering: template errors name the file and line; the logo from config is on every
document; invoices and credit notes in German and English read back without slips (a
credit note says how it is settled and asks for no payment)."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from pathlib import Path

import pdfplumber
import pytest

from documents.invoice_files import invoice_files
from documents.render import TemplateError, logo_uri, render_html, render_pdf
from engine.settings import ConfigError, load_config
from tests.conftest import write_config
from tests.test_cii import _credit_note, _invoice
from tests.test_invoicing_run import pdf_text

# a 2×2 red PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==")
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="10">'
       b'<rect width="40" height="10" fill="#0b4f8a"/></svg>')


def context() -> dict[str, object]:
    doc = _invoice()
    return {"company": doc.seller, "recipient": doc.buyer, "lang": "de", "title": "T",
            "info": [], "intro": "", "lines": doc.lines, "show_prices": True,
            "totals": doc.totals, "currency": "EUR", "notes": []}


def test_a_syntax_error_in_an_override_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "document.html").write_text(
        '{% extends "base.html" %}\n{% block content %}\n<p>{{ title }</p>\n{% endblock %}\n')
    with pytest.raises(TemplateError) as caught:
        render_html("document.html", context(), override=str(tmp_path))
    assert caught.value.file == str(tmp_path / "document.html") and caught.value.line == 3
    assert str(caught.value).startswith(f"{tmp_path / 'document.html'}:3: template syntax")


def test_an_undefined_name_in_an_override_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "base.html").write_text(
        "<html><head></head><body>\n<h1>{{ title }}</h1>\n<p>{{ company.fax }}</p>\n"
        "{% block content %}{% endblock %}</body></html>\n")
    with pytest.raises(TemplateError) as caught:
        render_html("document.html", context(), override=str(tmp_path))
    assert (caught.value.file, caught.value.line) == (str(tmp_path / "base.html"), 3)
    assert "fax" in caught.value.reason


def test_a_missing_template_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="template not found: nothing.html"):
        render_pdf("nothing.html", context())


@pytest.mark.parametrize(("name", "data"), [("logo.png", PNG), ("logo.svg", SVG)])
def test_the_logo_is_in_the_letterhead(tmp_path: Path, name: str, data: bytes) -> None:
    (tmp_path / name).write_bytes(data)
    with_logo = render_pdf("document.html", {**context(), "logo": logo_uri(tmp_path / name)})
    without = render_pdf("document.html", context())
    images = []
    for pdf in (with_logo, without):
        with pdfplumber.open(io.BytesIO(pdf)) as document:
            page = document.pages[0]
            images.append(len(page.images) + len(page.rects))
    assert images[0] > images[1]


def test_a_missing_logo_file_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sqlite:///x.sqlite", company={"logo": "missing.png"})
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert "company.logo" in str(caught.value) and "missing.png" in str(caught.value)
    (tmp_path / "logo.gif").write_bytes(b"GIF89a")
    config = write_config(tmp_path, "sqlite:///x.sqlite", company={"logo": "logo.gif"})
    with pytest.raises(ConfigError, match="company.logo must be a path to a PNG, JPEG or SVG"):
        load_config(config)
    (tmp_path / "logo.png").write_bytes(PNG)
    config = write_config(tmp_path, "sqlite:///x.sqlite", company={"logo": "logo.png"})
    assert load_config(config).path("company.logo") == tmp_path / "logo.png"


GERMAN_ONLY = ("Rechnung ", "Datum", "Menge", "Gesamtbetrag", "Zahlbar", "Seite", "Steuernummer")
ENGLISH_ONLY = ("Invoice ", "Quantity", "Total", "Payable", "Page ", "Amount")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_invoice_and_credit_note_read_back_in_their_language(lang: str) -> None:
    terms = {"de": "Zahlbar ohne Abzug bis 01.06.2024.",
             "en": "Payable without deduction by 01 Jun 2024."}[lang]
    settle = {"de": "Der Betrag dieser Gutschrift wird nicht gezahlt: 59,38 EUR verrechnen "
                    "wir mit der offenen Rechnung RE-2024-0001.",
              "en": "This credit note is not payable: 59.38 EUR is set off against the open "
                    "invoice RE-2024-0001."}[lang]
    invoice = invoice_files(_invoice(language=lang, terms=terms))
    credit = invoice_files(replace(_credit_note(), language=lang, terms=settle))
    assert invoice.failures == () and credit.failures == ()
    invoice_text, credit_text = pdf_text(invoice.pdf), pdf_text(credit.pdf)
    others = ENGLISH_ONLY if lang == "de" else GERMAN_ONLY
    for text in (invoice_text, credit_text):
        assert not [w for w in others if w in text], text
    assert terms in invoice_text and ("GiroCode" in invoice_text)
    assert settle in credit_text
    for slip in ("Zahlbar", "Payable", "Verwendungszweck", "Payment reference", "GiroCode",
                 "Fällig", "Due date"):
        assert slip not in credit_text
    title = {"de": "Gutschrift (Rechnungskorrektur) GS-2024-0001",
             "en": "Credit note GS-2024-0001"}[lang]
    assert title in credit_text and "RE-2024-0001" in credit_text
    date = {"de": "02.05.2024", "en": "02 May 2024"}[lang]
    assert date in invoice_text and date in credit_text


@pytest.mark.parametrize(("lang", "says", "never"), [
    ("de", "Geschäftsführung:", "Managing director"),
    ("en", "Managing director:", "Geschäftsführung")])
def test_the_letterhead_footer_speaks_the_letters_language(lang: str, says: str,
                                                          never: str) -> None:
    seller = replace(_invoice().seller, managing_director="Erika Mustermann")
    text = pdf_text(render_pdf("document.html", {**context(), "company": seller, "lang": lang}))
    assert says in text and "Erika Mustermann" in text
    assert never not in text and "GF:" not in text


def test_a_pooled_batch_keeps_order_and_refuses_only_the_bad_one() -> None:
    from documents.invoice_files import render_batch
    from engine.core.records import Address

    good = _invoice()
    bad = replace(_invoice(number="RE-2024-0002"),
                  buyer=replace(good.buyer, address=Address("", "10115", "Berlin")))
    third = _invoice(number="RE-2024-0003", language="en")
    results = list(render_batch([good, bad, third], workers=2))
    assert [r.number for r in results] == ["RE-2024-0001", "RE-2024-0002", "RE-2024-0003"]
    assert [bool(r.failures) for r in results] == [False, True, False]
    assert "buyer address" in str(results[1].failures[0]) and results[1].pdf == b""
    assert "Invoice RE-2024-0003" in pdf_text(results[2].pdf)
    assert b"RE-2024-0001" in results[0].xml


def test_a_batch_under_a_threaded_server_starts_its_workers_clean() -> None:
    """With other threads running (as under `o2c serve`), the pool does not fork this
    process but starts from a forkserver; the PDFs are the same kind."""
    import threading

    from documents.invoice_files import _start_method, render_batch

    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    try:
        assert _start_method().get_start_method() == "forkserver"
        results = list(render_batch([_invoice(), _invoice(number="RE-2024-0002")], workers=2))
    finally:
        stop.set()
        other.join()
    assert [r.failures for r in results] == [(), ()]
    assert "RE-2024-0002" in pdf_text(results[1].pdf)


def test_letter_info_blocks_write_dates_in_the_letters_language() -> None:
    from datetime import date as day

    from documents.render import WORDS
    from engine.services.convert import info_rows

    when = day(2026, 9, 1)
    assert info_rows(WORDS["de"], ("date", when), lang="de")[0][1] == "01.09.2026"
    assert info_rows(WORDS["en"], ("date", when), ("number", "AB-1"), lang="en") == [
        (WORDS["en"]["date"], "01 Sep 2026"), (WORDS["en"]["number"], "AB-1")]


def test_the_letterhead_prints_the_iban_in_groups_of_four() -> None:
    from documents.render import grouped_iban

    assert grouped_iban("DE89370400440532013000") == "DE89 3704 0044 0532 0130 00"
    assert grouped_iban("DE89 3704 0044 0532 0130 00") == "DE89 3704 0044 0532 0130 00"
    text = pdf_text(render_pdf("document.html", context()))
    assert "DE89 3704 0044 0532 0130 00" in text or "DE89 3704 0044 0532" in text
