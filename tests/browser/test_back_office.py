"""Tested as a person uses it, in real headless Chromium: log in, upload a purchase
order and confirm it in review with the keyboard, approve an order, put a typo into a
rule and see the error at its line, open one customer's portal link."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.services import intake, orders, portal
from engine.store.models import Document, Order
from tests.browser.conftest import Server, log_in, shot
from tests.test_extract import po
from web.views_review_actions import confirm


def test_log_in_and_see_the_dashboard(page: Any, server: Server) -> None:
    page.goto(server.url + "/orders")
    assert "/login" in page.url
    page.fill("input[name=email]", server.user)
    page.fill("input[name=password]", "wrong password")
    page.click("button:has-text('Log in')")
    assert page.locator(".flash").inner_text() == "Unknown user or wrong password."
    log_in(page, server)
    assert page.locator("#ageing-chart rect").count() == 5
    assert page.locator("#cash-chart polyline").count() == 1
    page.select_option("select[name=lang]", "de")
    page.wait_for_selector("h1:has-text('Übersicht')")
    assert page.locator("nav a:has-text('Rechnungen')").count() == 1


def test_upload_a_purchase_order_and_confirm_it_in_review(page: Any, server: Server,
                                                          tmp_path: Path) -> None:
    log_in(page, server)
    page.click("nav a:has-text('Documents')")
    pdf = tmp_path / "bestellung-4711.pdf"
    pdf.write_bytes(po("de"))
    page.set_input_files("input[name=files]", str(pdf))
    page.click("button:has-text('Upload')")
    page.wait_for_selector("#upload-done")
    assert page.locator("#progress").get_attribute("value") == "1"
    assert page.locator("tr[data-step='1'] .status").inner_text() == "needs_review"
    page.click("a:has-text('Review queue')")
    page.click("a:has-text('bestellung-4711.pdf')")
    page.wait_for_function("""() => { const img = document.querySelector('img.page-image');
        return img && img.complete && img.naturalWidth > 0; }""")  # the page picture shows
    assert "quote AN-2026-0001 is not one of ours" in page.locator("#reason").inner_text()
    shot(page, "review_screen")
    field = page.locator("#f_quote_reference")
    field.click()
    field.fill("")  # the quote number on this order is not ours: clear it
    page.keyboard.press("Enter")  # Enter moves to the next field, it does not submit
    assert page.url.endswith("/documents/1")
    page.keyboard.press("Control+Enter")  # confirm
    page.wait_for_selector(".flash:has-text('document 1: recorded')")
    with server.rt.db.unit_of_work() as s:
        doc = s.get(Document, 1)
        assert doc is not None and doc.status == "recorded"
        assert s.scalar(select(Order.customer_reference)) == "B-2026-4711"


def test_approve_an_order(page: Any, server: Server) -> None:
    rt, today = server.rt, date.today()
    received = intake.receive(rt, po("en"), "po.pdf", "upload")
    intake.process(rt, received.document_id, today)
    assert confirm(rt, received.document_id, {"quote_reference": ""}, "setup",
                   today).status == "recorded"
    assert orders.decide_approvals(rt, today)["pending_approval"] == 1
    log_in(page, server)
    page.click("nav a:has-text('Orders')")
    page.click("a.button:has-text('Decide')")
    assert "large-order" in page.locator("table.trace").first.inner_text()
    page.fill("textarea[name=comment]", "checked with the customer by phone")
    page.click("#approve")
    page.wait_for_selector("h1 .status:has-text('approved')")
    assert "checked with the customer by phone" in page.content()
    with rt.db.unit_of_work() as s:
        assert s.scalar(select(Order.status)) == "approved"


def test_a_typo_in_a_rule_is_shown_at_its_line(page: Any, server: Server) -> None:
    log_in(page, server)
    page.click("nav a:has-text('Rules')")
    page.click("a:has-text('approval.yaml')")
    editor = page.locator(".editor textarea")
    text = editor.input_value()
    line = text.splitlines().index("    when: order.net_amount > 10000") + 1
    editor.fill(text.replace("    when: order.net_amount > 10000",
                             "    when: order.net_amout > 10000"))
    page.click("#save")
    problem = page.locator("#issues li").first
    assert problem.inner_text().startswith(f"approval.yaml:{line}:")
    assert "net_amout" in problem.inner_text() and "did you mean" in problem.inner_text()
    assert page.locator(f"#gutter-line-{line}").count() == 1  # the line is marked
    selected = page.evaluate("""() => { const a = document.querySelector('.editor textarea');
        return a.value.substring(a.selectionStart, a.selectionEnd); }""")
    assert "net_amout" in selected  # the cursor is on the line with the error


def test_open_a_customers_portal_link(page: Any, server: Server) -> None:
    log_in(page, server)
    page.click("nav a:has-text('Customers')")
    page.click("a:has-text('K-10002')")
    page.click("#portal-link")
    message = page.locator(".flash").inner_text()
    assert message.startswith("portal link for K-10002: ")
    link = message.split(": ", 1)[1].strip()
    page.goto(server.path_of(link))
    assert "Brightwater Engineering GmbH" in page.content()
    assert portal.resolve(server.rt, link.rsplit("/", 1)[1]) is not None
