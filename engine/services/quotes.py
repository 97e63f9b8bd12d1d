"""Quotes (Angebote): priced offers to a customer, sent as PDF; an order that names one is
compared with it line by line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from documents.render import WORDS
from engine.core.totals import compute_totals
from engine.runtime import Runtime
from engine.services.convert import info_rows, lines_of, party_of
from engine.services.publish import greeting, mail, render_document
from engine.services.records import audit, next_number
from engine.store.models import Customer, Product, Quote, QuoteLine


def create_quote(rt: Runtime, customer_number: str, items: Sequence[tuple[str, Decimal]],
                 today: date, actor: str, valid_days: int = 30) -> str:
    """items: (sku, quantity) at list price. Returns the quote number."""
    with rt.db.unit_of_work() as session:
        customer = session.scalar(select(Customer).where(Customer.number == customer_number))
        if customer is None:
            raise ValueError(f"customer {customer_number} does not exist")
        quote = Quote(number=next_number(session, "AN", today.year, width=4),
                      customer_id=customer.id, issue_date=today,
                      valid_until=today + timedelta(days=valid_days))
        session.add(quote)
        session.flush()
        for position, (sku, quantity) in enumerate(items, start=1):
            product = session.scalar(select(Product).where(Product.sku == sku))
            if product is None:
                raise ValueError(f"article {sku} does not exist")
            session.add(QuoteLine(quote_id=quote.id, position=position, sku=sku,
                                  description=product.name, quantity=quantity,
                                  unit=product.unit, unit_price=product.unit_price,
                                  vat_rate=product.vat_rate))
        session.flush()
        session.refresh(quote)
        lines = lines_of(quote.lines)
        totals = compute_totals(lines)
        quote.net_amount, quote.tax_amount, quote.gross_amount = (totals.net, totals.tax,
                                                                   totals.gross)
        lang = customer.language
        t = WORDS[lang]
        issued = render_document(rt, "quotes", f"{quote.number}.pdf", "document.html", {
            "company": rt.config.company, "recipient": party_of(customer), "lang": lang,
            "title": f"{t['quote']} {quote.number}",
            "info": info_rows(t, ("number", quote.number), ("date", today),
                              ("customer_number", customer.number),
                              ("valid_until", quote.valid_until), lang=lang),
            "intro": ("Gerne bieten wir Ihnen an:" if lang == "de"
                      else "We are pleased to offer:"),
            "lines": lines, "show_prices": True, "totals": totals, "currency": quote.currency,
            "notes": [f"{t['valid_until']} {quote.valid_until:%d.%m.%Y}"]}, session=session)
        quote.pdf_sha256 = issued.sha256
        mail(session, key=f"quote-{quote.number}", kind="quote", recipient=customer.email,
             subject=f"{t['quote']} {quote.number}",
             body=greeting(lang, t["quote"], quote.number), files=[issued])
        audit(session, actor, "quote.sent", "quote", quote.id, number=quote.number)
        return quote.number
