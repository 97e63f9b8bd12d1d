"""The back office's parts on their own: chart geometry, the dashboard's set-based
numbers, the German catalogue, amounts typed in either locale, the page picture, and
the settings page hiding secrets."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from flask import Flask, session
from jinja2.ext import babel_extract

from documents.preview import PreviewError, page_count, page_png
from engine.runtime import Runtime
from engine.store.models import (
    Allocation,
    Approval,
    BankStatement,
    BankTransaction,
    Customer,
    Invoice,
    Order,
)
from tests.test_extract import po
from tests.test_web import login
from web import queries
from web.app import create_app
from web.charts import bar_chart, compact, line_chart, nice_ceiling
from web.i18n import SOURCE, compile_catalogues
from web.users import set_password
from web.views_admin import visible_settings
from web.views_common import day as format_day
from web.views_common import money, parse_amount, qty


def test_nice_ceiling_rounds_up_to_one_two_or_five() -> None:
    assert [nice_ceiling(D(v)) for v in ("0", "0.3", "1", "1234", "2000", "2001", "7400")] \
        == [1, D("0.5"), 1, 2000, 2000, 5000, 10000]


def test_bars_are_proportional_and_sit_on_the_base_line() -> None:
    chart = bar_chart([("a", D(100)), ("b", D(50)), ("c", D(0)), ("d", D(-5))],
                      width=470, height=240, left=70, top_margin=10, bottom_margin=30)
    a, b, c, d = chart.bars
    assert chart.bottom == 210 and a.height == 200 and b.height == 100  # top = 100
    assert c.height == d.height == 0
    assert all(bar.y + bar.height == chart.bottom for bar in chart.bars)
    assert a.x < b.x < c.x < d.x and a.width == b.width == D(75)  # 100 px slots, 25 % gap
    assert [t.y for t in chart.ticks] == [D(210), D(160), D(110), D(60), D(10)]
    assert [compact(t.value) for t in chart.ticks] == ["0", "25", "50", "75", "100"]


def test_the_line_runs_through_every_point() -> None:
    chart = line_chart([("w1", D(0)), ("w2", D(2000)), ("w3", D(1000))], width=280,
                       height=230, left=70, top_margin=10, bottom_margin=20)
    assert chart.points == "70.0,210.0 170.0,10.0 270.0,110.0"
    assert compact(D(1500)) == "1.5k" and compact(D(2_500_000)) == "2.5M"


def _invoice(s, customer: Customer, number: str, gross: str, due: date) -> Invoice:  # type: ignore[no-untyped-def]
    row = Invoice(number=number, customer_id=customer.id, issue_date=due - timedelta(days=14),
                  delivery_date=due - timedelta(days=14), due_date=due,
                  payment_reference=f"RF-{number}", gross_amount=D(gross), net_amount=D(gross))
    s.add(row)
    s.flush()
    return row


def test_dashboard_numbers_come_from_grouped_queries(runtime: Runtime) -> None:
    today = date(2026, 11, 20)  # a Friday
    with runtime.db.unit_of_work() as s:
        c = Customer(number="K-1", name="Kunde")
        s.add(c)
        s.flush()
        _invoice(s, c, "R-1", "100.00", today + timedelta(days=3))      # not due
        _invoice(s, c, "R-2", "200.00", today - timedelta(days=10))     # 0–30
        part = _invoice(s, c, "R-3", "300.00", today - timedelta(days=45))  # 31–60, part paid
        _invoice(s, c, "R-4", "400.00", today - timedelta(days=75))     # 61–90
        _invoice(s, c, "R-5", "500.00", today - timedelta(days=120))    # 90+
        paid = _invoice(s, c, "R-6", "600.00", today - timedelta(days=5))  # paid in full
        st = BankStatement(account="DE00", statement_id="1", currency="EUR")
        s.add(st)
        s.flush()
        auto = BankTransaction(statement_id=st.id, dedupe_key="a", booking_date=today,
                               amount=D("600.00"), currency="EUR", status="matched")
        manual = BankTransaction(statement_id=st.id, dedupe_key="b",
                                 booking_date=today - timedelta(days=8), amount=D("50.00"),
                                 currency="EUR", status="matched")
        s.add_all([auto, manual, BankTransaction(
            statement_id=st.id, dedupe_key="c", booking_date=today, amount=D("-9.99"),
            currency="EUR", status="ignored")])
        s.flush()
        s.add_all([Allocation(invoice_id=paid.id, transaction_id=auto.id, amount=D("600.00"),
                              kind="payment", created_by="auto"),
                   Allocation(invoice_id=part.id, transaction_id=manual.id, amount=D("50.00"),
                              kind="payment", created_by="clerk@example.com"),
                   Allocation(invoice_id=part.id, transaction_id=manual.id, amount=D("99.00"),
                              kind="payment", created_by="clerk@example.com", active=False)])
        s.add_all([Order(number="AU-1", customer_id=c.id, order_date=today),
                   Order(number="AU-2", customer_id=c.id, order_date=today),
                   Order(number="AU-3", customer_id=c.id, order_date=today)])
        s.flush()
        s.add(Approval(order_id=s.query(Order.id).filter_by(number="AU-2").scalar(),
                       role="sales_manager"))
    with runtime.db.unit_of_work() as s:
        owed = queries.receivables(s, today)
        assert (owed.open_total, owed.open_count) == (D("1450.00"), 5)
        assert (owed.overdue_total, owed.overdue_count) == (D("1350.00"), 4)
        assert owed.ageing == [("not due", D("100.00")), ("0–30", D("200.00")),
                               ("31–60", D("250.00")), ("61–90", D("400.00")),
                               ("90+", D("500.00"))]
        # invoiced in the last 90 days (issued 14 days before due): all but R-5
        assert queries.dso(s, today, owed.open_total) == D("81.6")  # 1450 / 1600 × 90
        assert queries.orders_without_person(s) == queries.Share(2, 3)
        assert queries.payments_matched_automatically(s) == queries.Share(1, 2)
        weeks = queries.cash_in(s, today)
        assert len(weeks) == queries.WEEKS and weeks[-1] == (date(2026, 11, 16), D("600.00"))
        assert weeks[-2] == (date(2026, 11, 9), D("50.00"))
        assert sum(v for _, v in weeks) == D("650.00")  # debits are not cash in
    assert queries.Share(0, 0).percent is None and queries.Share(1, 3).percent == D("33.3")


def test_the_german_catalogue_compiles_and_covers_the_pages(tmp_path: Path) -> None:
    [mo] = compile_catalogues(SOURCE, tmp_path)
    assert mo == tmp_path / "de" / "LC_MESSAGES" / "messages.mo"
    with mo.open("rb") as f:
        catalog = read_mo(f)
    assert catalog.get("Dashboard").string == "Übersicht"
    assert catalog.get("open receivables (%(n)s invoices)").string \
        == "offene Forderungen (%(n)s Rechnungen)"
    assert all(m.string for m in catalog if m.id)  # nothing left untranslated
    before = mo.stat().st_mtime_ns
    compile_catalogues(SOURCE, tmp_path)
    assert mo.stat().st_mtime_ns == before  # only rewritten when the .po is newer


@pytest.mark.parametrize("text, amount", [("1.234,50", "1234.50"), ("1,234.50", "1234.50"),
                                          ("12,5", "12.5"), ("12.5", "12.5"), (" 7 € ", "7")])
def test_amounts_typed_in_either_locale(text: str, amount: str) -> None:
    assert parse_amount(text) == D(amount)


@pytest.mark.parametrize("text", ["", "abc", "1,2,3.4.5", "NaN", "Infinity"])
def test_what_is_not_an_amount_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not an amount"):
        parse_amount(text)


def test_the_page_picture_and_its_errors() -> None:
    data = po("en")
    assert page_count(data, "po.pdf") == 1
    png = page_png(data, "po.pdf", 1, width=400)
    assert png.startswith(b"\x89PNG")
    assert int.from_bytes(png[16:20], "big") == 400  # the IHDR width
    with pytest.raises(PreviewError, match="po.pdf: there is no page 2"):
        page_png(data, "po.pdf", 2)
    with pytest.raises(PreviewError, match="x.pdf: cannot open the PDF"):
        page_png(b"%PDF-1.7 broken", "x.pdf")
    with pytest.raises(PreviewError, match="x.bin: not a PDF or an image"):
        page_png(b"\x00\x01garbage", "x.bin")


def test_settings_hide_secrets() -> None:
    rows = dict(visible_settings({
        "mail.smtp.password": "hunter2", "mail.smtp.username": "me",
        "database.url": "postgresql://o2c:s3cret@db/o2c", "mail.imap.password": ""}))
    assert rows["mail.smtp.password"] == "••••••" and rows["mail.smtp.username"] == "me"
    assert rows["database.url"] == "postgresql://o2c:••••••@db/o2c"
    assert rows["mail.imap.password"] == ""


def test_settings_are_for_admins_and_the_audit_log_for_finance(runtime: Runtime) -> None:
    app: Flask = create_app(runtime, testing=True)
    for role, settings, audit in (("viewer", 403, 403), ("finance", 403, 200),
                                  ("admin", 200, 200)):
        password = set_password(runtime, f"{role}@example.com", role)
        with app.test_client() as client:
            login(client, f"{role}@example.com", password)
            assert client.get("/settings").status_code == settings, role
            assert client.get("/audit").status_code == audit, role
            if settings == 200:
                page = client.get("/settings").text
                assert "review.confidence_threshold" in page and "hunter" not in page


@pytest.mark.parametrize("lang, amount, day, quantity", [
    ("de", "1.234.567,50", "02.09.2026", "2,5"), ("en", "1,234,567.50", "Sep 2, 2026", "2.5")])
def test_amounts_and_dates_in_the_users_locale(runtime: Runtime, lang: str, amount: str,
                                               day: str, quantity: str) -> None:
    app = create_app(runtime, testing=True)
    with app.test_request_context("/"):
        session["lang"] = lang
        assert money(D("1234567.5")) == amount and money(None) == ""
        assert format_day(date(2026, 9, 2)) == day and format_day("2026-09-02") == day
        assert qty(D("2.500")) == quantity and qty(D("40.000")) == "40"


def test_every_text_of_the_templates_has_a_german_translation(tmp_path: Path) -> None:
    [mo] = compile_catalogues(SOURCE, tmp_path)
    with mo.open("rb") as f:
        german = {m.id: m.string for m in read_mo(f) if m.id}
    missing = []
    for template in sorted((Path(SOURCE).parent / "templates").glob("*.html")):
        with template.open("rb") as f:
            for line, _, text, _ in babel_extract(f, ("_", "gettext"), [], {}):
                if isinstance(text, str) and not german.get(text):
                    missing.append(f"{template.name}:{line}: {text!r}")
    assert not missing, "\n".join(missing)
