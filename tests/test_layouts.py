"""Per-sender layouts: a clerk's correction saved as rules/layouts/<name>.yaml makes the
sender's next documents read right; broken layout files are errors naming file:line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from documents.extract import extract
from documents.layouts import (
    Layout,
    LayoutError,
    choose,
    load_layout,
    load_layouts,
    save_correction,
)
from documents.parse import ReadOptions, parse_file, sender_layouts
from documents.pdftext import PageText, read_pdf


def kessler_pdf(number: str, created: str, quoted: str, gross: str,
                company: str = "Kessler Hydraulik GmbH") -> bytes:
    """A purchase order whose number and date stand beside words no generic label knows."""
    import weasyprint

    html = f"""<html><body style="font: 10pt 'DejaVu Sans'">
    <p><b>{company}</b> · Ringstraße 5 · 12345 Neustadt</p>
    <h2>Bestellung</h2>
    <p>Angebot vom {quoted}</p>
    <p>Vorgang {number} &nbsp;&nbsp;&nbsp; Erstellt {created}</p>
    <p>1 HM-200 Hydraulikmotor 1 Stk 1.000,00 EUR 1.000,00 EUR</p>
    <p>Nettobetrag: 1.000,00 EUR</p><p>MwSt. 19 %: 190,00 EUR</p>
    <p>Gesamtbetrag: {gross} EUR</p></body></html>"""
    return bytes(weasyprint.HTML(string=html).write_pdf())


def pages_of(data: bytes) -> list[PageText]:
    return read_pdf(data, "po.pdf", max_pages=3)[0]


def test_a_saved_correction_reads_this_and_the_next_document_right(tmp_path: Path) -> None:
    first = pages_of(kessler_pdf("V-8812/26", "02.09.2026", "20.08.2026", "1.190,00"))
    generic = extract(first, "po.pdf")
    assert generic.value("number") != "V-8812/26"  # the generic extractor misreads it
    assert generic.value("issue_date") != date(2026, 9, 2)
    path = save_correction(tmp_path, name="Kessler Hydraulik", keywords=["Kessler Hydraulik GmbH"],
                           vat_id=None, words=first[0].words,
                           corrections={"number": "V-8812/26", "issue_date": "2026-09-02"})
    assert path == tmp_path / "kessler-hydraulik.yaml"
    layouts = load_layouts(tmp_path)
    assert [lay.name for lay in layouts] == ["kessler-hydraulik"]
    doc = extract(first, "po.pdf", layouts)
    assert (doc.value("number"), doc.value("issue_date")) == ("V-8812/26", date(2026, 9, 2))
    assert doc.fields["number"].source.endswith("layout kessler-hydraulik")
    assert doc.value("total_gross") == generic.value("total_gross")  # the rest stays generic
    second = pages_of(kessler_pdf("V-9917/27", "05.10.2026", "28.09.2026", "1.190,00"))
    doc = extract(second, "po2.pdf", layouts)
    assert (doc.value("number"), doc.value("issue_date")) == ("V-9917/27", date(2026, 10, 5))
    other = pages_of(kessler_pdf("V-1/1", "05.10.2026", "28.09.2026", "1.190,00",
                                 company="Schmidt Hydraulik GmbH"))
    assert extract(other, "po3.pdf", layouts).value("number") != "V-1/1"  # not this sender's


def test_a_value_not_on_the_page_cannot_be_saved(tmp_path: Path) -> None:
    page = pages_of(kessler_pdf("V-8812/26", "02.09.2026", "20.08.2026", "1.190,00"))[0]
    with pytest.raises(LayoutError, match="number: 'X-1' is not printed on the page"):
        save_correction(tmp_path, name="k", keywords=["Kessler"], vat_id=None, words=page.words,
                        corrections={"number": "X-1"})
    assert not list(tmp_path.iterdir())


def test_the_layout_is_chosen_by_vat_id_before_keywords() -> None:
    by_vat = Layout("a", ("Nowhere",), "DE 123 456 788")
    by_words = Layout("b", ("Kessler", "Hydraulik"))
    assert choose([by_words, by_vat], "Kessler Hydraulik", ["DE123456788"]) is by_vat
    assert choose([by_words, by_vat], "kessler  hydraulik gmbh", []) is by_words
    assert choose([by_words, by_vat], "Kessler", []) is None


HEAD = "name: bad\nkeywords: [Bad GmbH]\n"
BROKEN = {  # a layout file → what the error says, and at which line
    HEAD + "fields:\n  number: {anchor: Nr, position: sideways}\n": ("position is one of", 4),
    HEAD + "fields:\n  numero: {anchor: Nr}\n": ("unknown field 'numero'", 4),
    HEAD + "fields:\n  number:\n    anchor: Nr\n    pattern: '[A-'\n": ("pattern:", 6),
    HEAD + "fields:\n  number: {position: right}\n": ("needs an anchor", 4),
    HEAD + "colour: red\nfields: {}\n": ("unknown key 'colour'", 3),
    HEAD + "fields: [\n": ("not valid YAML", 4),
}


@pytest.mark.parametrize("text", sorted(BROKEN))
def test_broken_layout_files_name_file_and_line(tmp_path: Path, text: str) -> None:
    message, line = BROKEN[text]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    assert caught.value.where == f"{path}:{line}", str(caught.value)
    assert message in caught.value.message


def test_parse_file_reads_with_the_layouts_of_the_folder_it_is_given(tmp_path: Path) -> None:
    data = kessler_pdf("V-8812/26", "02.09.2026", "20.08.2026", "1.190,00")
    save_correction(tmp_path, name="kessler", keywords=["Kessler Hydraulik GmbH"], vat_id=None,
                    words=pages_of(data)[0].words, corrections={"number": "V-8812/26"})
    assert parse_file(data, "po.pdf", ReadOptions(layouts=tmp_path / "none"))["fields"].get(
        "number", {}).get("value") != "V-8812/26"
    field = parse_file(data, "po.pdf", ReadOptions(layouts=tmp_path))["fields"]["number"]
    assert field["value"] == "V-8812/26" and field["where"].endswith("layout kessler")
    (tmp_path / "broken.yaml").write_text("name: broken\nfields: [\n")
    result = parse_file(data, "po.pdf", ReadOptions(layouts=tmp_path))  # a broken file: a warning, read on
    assert result["issues"][0]["message"].startswith(f"{tmp_path / 'broken.yaml'}:3: not valid")
    assert result["fields"]["total_gross"]["value"] == "1190.00"


def test_the_parse_path_rereads_layouts_when_a_file_changes(tmp_path: Path) -> None:
    assert sender_layouts(tmp_path) == []
    (tmp_path / "a.yaml").write_text("name: a\nkeywords: [A GmbH]\nfields:\n"
                                     "  number: {anchor: Vorgang}\n")
    assert [lay.name for lay in sender_layouts(tmp_path)] == ["a"]
