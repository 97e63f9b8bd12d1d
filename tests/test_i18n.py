"""German and English: every text the back office and the portal mark for translation has
a German translation in web/translations/de/LC_MESSAGES/messages.po (so no new
untranslated string slips in), and the pages, with German chosen, speak German."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import Runtime
from engine.services import portal
from tests.test_api import TODAY, Seeded, seed
from tests.test_web import login, token
from web import portal_text, queries, views_text
from web.app import create_app
from web.i18n import SHOWN, WORDS
from web.users import ensure_admin

WEB = Path(__file__).resolve().parents[1] / "web"
PO = WEB / "translations" / "de" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def catalogue() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f, locale="de")


def used_msgids() -> list[tuple[str, str]]:
    """(msgid, file:line) of every literal msgid in web/*.py and web/templates/**."""
    sources = [(p, "python") for p in sorted(WEB.glob("*.py"))]
    sources += [(p, "jinja2.ext:babel_extract") for p in sorted((WEB / "templates").rglob("*.html"))]
    found = []
    for path, method in sources:
        for lineno, message, _comments, _context in extract_from_file(
                method, str(path), keywords=DEFAULT_KEYWORDS):
            msgids = message if isinstance(message, tuple) else (message,)
            where = f"{path.relative_to(WEB.parent)}:{lineno}"
            found += [(m, where) for m in msgids if m]
    return found


def test_the_extraction_sees_views_templates_and_markers() -> None:
    """The completeness test below is only worth something if it finds the texts."""
    msgids = {m for m, _ in used_msgids()}
    assert {"Dashboard", "payment %(id)s: %(status)s", "Customer portal", "matched",
            "invoice %(number)s is paid", "hold %(id)s placed"} <= msgids
    assert len(msgids) > 300


def test_every_msgid_has_a_german_translation() -> None:
    german = catalogue()
    missing, mismatched = [], []
    for msgid, where in used_msgids():
        entry = german.get(msgid)
        text = entry.string if entry is not None else ""
        if not text or not isinstance(text, str) or not text.strip():
            missing.append(f"{where}: {msgid!r}")
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(text)):
            mismatched.append(f"{where}: {msgid!r} -> {text!r}")
    assert not missing, "no German translation in messages.po for:\n" + "\n".join(missing)
    assert not mismatched, "the placeholders differ:\n" + "\n".join(mismatched)


def test_no_page_flashes_or_aborts_with_plain_english() -> None:
    """A message handed to flash() or abort() in the back office or the portal goes through
    gettext (or the service-message mapping), never as a bare string or f-string that the
    extraction above cannot see."""
    plain = []
    for path in sorted([*WEB.glob("views*.py"), *WEB.glob("portal*.py")]):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            shown = {"flash": node.args[:1], "abort": node.args[1:2]}.get(node.func.id, [])
            plain += [f"{path.relative_to(WEB.parent)}:{arg.lineno}" for arg in shown
                      if isinstance(arg, ast.JoinedStr)
                      or (isinstance(arg, ast.Constant) and isinstance(arg.value, str))]
    assert not plain, "untranslatable messages at " + ", ".join(plain)


def test_the_catalogue_has_no_broken_or_fuzzy_entries() -> None:
    german = catalogue()
    fuzzy = [m.id for m in german if m.id and m.fuzzy]
    assert not fuzzy
    assert not [(m.id, errors) for m, errors in german.check()]


def test_the_words_shown_through_variables_are_marked() -> None:
    """Values shown as `_(value)`: the ageing buckets (with letters) and the waiting queues
    come from web/queries.py; they must be among the marked texts."""
    marked = set(WORDS) | set(SHOWN)
    assert {label for label, _, _ in queries.AGEING if re.search("[a-z]", label)} <= marked
    assert {"documents in review", "orders waiting for approval", "payments in review",
            "open tasks"} <= marked


def shapes(path: Path) -> set[str]:
    """Every string and f-string of a module, its substitutions as "{}"."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.add(node.value)
        elif isinstance(node, ast.JoinedStr):
            out.add("".join(part.value if isinstance(part, ast.Constant) else "{}"
                            for part in node.values))
    return out


def test_the_mapped_service_messages_are_what_the_services_say() -> None:
    """Each known message shape (web/views_text.py, web/portal_text.py) is still a message
    of the engine or the web layer: a changed engine text shows up here, by its msgid."""
    root = WEB.parent
    said_somewhere: set[str] = set()
    for path in [*root.glob("engine/**/*.py"), *WEB.glob("views*.py")]:
        said_somewhere |= shapes(path)
    known = [*views_text.KNOWN, *(msgid for _, msgid in portal_text.REFUSALS)]
    stale = [m for m in known if PLACEHOLDER.sub("{}", m) not in said_somewhere]
    assert not stale, "no longer said by any service: " + ", ".join(stale)


def test_known_service_messages_come_in_the_users_language(runtime: Runtime) -> None:
    app = create_app(runtime, testing=True)
    text = "invoice RE-1 is open for 119.00, not 200.00"
    reason = ("po.pdf: no order lines were read; the order cannot be recorded from this "
              "document\nK-9: not a customer we know")
    with app.test_request_context(headers={"Accept-Language": "de"}):
        assert views_text.said(ValueError(text)) == (
            "Rechnung RE-1 ist über 119.00 offen, nicht über 200.00")
        assert views_text.said_lines(reason) == (
            "po.pdf: es wurden keine Auftragspositionen gelesen; aus diesem Dokument kann "
            "kein Auftrag erfasst werden\nK-9: not a customer we know")  # free text stays
        assert views_text.said("order 7 is not waiting for approval") == (
            "Auftrag 7 wartet nicht auf Freigabe")
        assert portal_text.said("en", "invoice RE-2 is paid") == "invoice RE-2 is paid"
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert views_text.said(text) == text
        assert views_text.said_lines(reason) == reason
        assert portal_text.said("de", "quote AN-1 can no longer be accepted (expired)") == (
            "Das Angebot AN-1 kann nicht mehr angenommen werden (Status: abgelaufen).")


@pytest.fixture
def seeded(runtime: Runtime) -> Seeded:
    return seed(runtime)


@pytest.fixture
def german(runtime: Runtime, seeded: Seeded) -> Iterator[FlaskClient]:
    """An admin who chose German (a browser asking for English would not change it)."""
    app: Flask = create_app(runtime, testing=True)
    with app.test_client() as client:
        login(client, "admin", ensure_admin(runtime))
        response = client.post("/language", data={"lang": "de",
                                                  "csrf_token": token(client, "/")},
                                headers={"Accept-Language": "en"})
        assert response.status_code == 302
        yield client


# page → German words it must show, English UI words it must not (the seeded records: an
# approved order, an open and a paid invoice, a matched payment, overdue invoices)
PAGES = {
    "/": (["Übersicht", "offene Forderungen", "Wartet auf Bearbeitung", "Abmelden",
           "(Administration)"],
          ["Dashboard", "Waiting for a person", "Log out", "open receivables", "(admin)"]),
    "/documents": (["Dokumente", "Hochladen", ">zu prüfen<", "Sicherheit"],
                   [">Upload<", "Confidence", ">needs_review<"]),
    "/orders": (["Aufträge", "Ihre Referenz", ">freigegeben<", ">wartet auf Freigabe<"],
                ["Their reference", ">approved<", ">pending_approval<"]),
    "/invoices": (["Rechnungen", "Fällig", ">offen<", ">bezahlt<"],
                  [">Due<", ">Gross<", ">open<", ">paid<"]),
    "/payments": (["Zahlungen", "Zahler", ">zugeordnet<"],
                  [">Payer<", "Best suggestion", ">matched<"]),
    "/dunning": (["Mahnwesen", "Gesamtforderung", "Versandte Mahnungen", "Sperre setzen"],
                 ["Reminders sent", "Place hold", "Total claim", "Upcoming"]),
    "/tasks": (["Aufgaben und Eskalationen", "Keine Aufgaben.", ">erledigt<"],
               ["Tasks and escalations", "No tasks.", ">done<"]),
    "/customers": (["Kunden", "Kreditlimit", "Suchen", "Kunde A GmbH"],
                   ["Credit limit", ">Search<"]),
    "/rules": (["Regeln", "Regelwerk", "Aktive Version"], ["Rule set", "Active version"]),
}


def test_the_back_office_speaks_german(german: FlaskClient, seeded: Seeded) -> None:
    for page, (present, absent) in PAGES.items():
        response = german.get(page)
        assert response.status_code == 200, page
        text = response.text
        assert '<html lang="de">' in text, page
        for word in present:
            assert word in text, (page, word)
        for word in absent:
            assert word not in text, (page, word)
    detail = german.get(f"/orders/{seeded.order}").text
    assert "Regelprotokoll" in detail and "Rule trace" not in detail
    detail = german.get(f"/invoices/{seeded.invoices['RE-2026-A2']}").text
    assert "Zahlungen und Gutschriften" in detail and ">Zahlung<" in detail
    assert "Payments and credits" not in detail and ">payment<" not in detail
    detail = german.get(f"/payments/{seeded.payment}").text
    assert "Vorschläge" in detail and "Suggestions" not in detail


def test_flash_messages_come_in_german(german: FlaskClient, seeded: Seeded) -> None:
    """Messages of the web layer, and those an engine service raised, in German."""
    def post(path: str, **data: str) -> str:
        return german.post(path, data={**data, "csrf_token": token(german, "/")},
                           follow_redirects=True).text

    refused = post(f"/orders/{seeded.order}/decide", decision="reject", comment="")
    assert "Bitte begründen, warum der Auftrag abgelehnt wird." in refused
    late = post(f"/orders/{seeded.order}/decide", decision="approve")
    assert f"Auftrag {seeded.order} wartet nicht auf Freigabe" in late
    assert "is not waiting for approval" not in late
    missing = post("/dunning/holds", kind="dispute", invoice_number="RE-0000-0", reason="x")
    assert "Rechnung RE-0000-0 existiert nicht" in missing and "does not exist" not in missing
    placed = post("/dunning/holds", kind="block", customer_number="K-B", reason="Klärung")
    assert re.search(r"Sperre \d+ gesetzt", placed) and "placed" not in placed
    again = post(f"/payments/{seeded.payment}/confirm", choice="0")
    assert f"Umsatz {seeded.payment} wartet nicht auf Prüfung" in again
    wrong = post(f"/payments/{seeded.payment}/allocate", invoice="RE-2026-A1",
                 amount="zwölf")
    assert "„zwölf“ ist kein Betrag" in wrong


def test_the_portal_speaks_the_customers_language(german: FlaskClient, runtime: Runtime,
                                                  seeded: Seeded) -> None:
    """K-A is German, K-B English: the customer's language decides, not the browser's."""
    client = german.application.test_client()  # a customer: no back-office session
    a = portal.make_link(runtime, "K-A", "test")
    a = a[a.index("/portal/"):]
    page = client.get(a, headers={"Accept-Language": "en"}).text
    for word in ("Kundenportal", "Offene Rechnungen", "Offene Angebote", "Bezahlte Rechnungen",
                 "Reklamieren", "Zahlung zusagen", "Angebot annehmen"):
        assert word in page, word
    for word in ("Customer portal", "Open invoices", "Open quotes", "Paid invoices",
                 "Dispute", "Promise payment", "Accept quote", "This link is valid until"):
        assert word not in page, word
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf
    paid = client.post(f"{a}/invoices/{seeded.invoices['RE-2026-A2']}/dispute", data={
        "csrf_token": csrf.group(1), "reason": "x"}, follow_redirects=True).text
    assert "Die Rechnung RE-2026-A2 ist bereits bezahlt." in paid and "is paid" not in paid
    far = client.post(f"{a}/invoices/{seeded.invoices['RE-2026-A1']}/promise", data={
        "csrf_token": csrf.group(1), "until": str(TODAY + timedelta(days=200))},
        follow_redirects=True).text
    assert re.search(r"Das Zahlungsdatum muss zwischen dem \d\d\.\d\d\.\d{4} und dem", far)
    b = portal.make_link(runtime, "K-B", "test")
    b = b[b.index("/portal/"):]
    page = client.get(b, headers={"Accept-Language": "de"}).text
    assert "Customer portal" in page and "Open invoices" in page
    assert "Kundenportal" not in page and "Offene Rechnungen" not in page
    far = client.post(f"{b}/invoices/{seeded.invoices['RE-2026-B1']}/promise", data={
        "csrf_token": csrf.group(1), "until": str(TODAY + timedelta(days=200))},
        follow_redirects=True).text
    assert "the payment date must be from" in far


def test_error_pages_speak_the_users_language_and_api_errors_stay_json(
        runtime: Runtime) -> None:
    from web.app import create_app

    client = create_app(runtime, testing=True).test_client()
    english = client.get("/no-such-page")
    assert english.status_code == 404 and "Not found" in english.text
    refused = client.post("/login", data={"email": "x"})  # no CSRF token
    assert refused.status_code == 400 and "security token" in refused.text
    with client.session_transaction() as session:
        session["lang"] = "de"
    german = client.get("/no-such-page")
    assert german.status_code == 404 and "Nicht gefunden" in german.text
    assert "Fehler 404" in german.text
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code in (401, 404) and api.is_json and "error" in api.get_json()
