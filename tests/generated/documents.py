"""Generated purchase orders and remittance advices with known truth, in many layouts:
German and English, several fonts, sizes, date and number formats, currencies, labels
beside or above their values, an info box, tables, and long orders running over pages.
`scan()` turns a PDF into what a 200 dpi scanner delivers (slightly rotated, noisy).

The labels here are written independently of documents/labels.py (the extractor's
vocabulary), as different senders would print them; the seed makes every set the same.
"""

from __future__ import annotations

import html
import io
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from engine.core.checks import make_de_vat_id, make_iban
from engine.core.money import format_amount, round_money

FONTS = ("DejaVu Sans", "DejaVu Serif", "Liberation Sans", "Liberation Serif",
         "DejaVu Sans Condensed", "Liberation Sans Narrow")
COMPANIES = ("Hoffmann Bau AG", "Weber Antriebstechnik GmbH", "Nordlicht Logistik KG",
             "Brightwater Engineering Ltd", "Keller & Söhne GmbH", "Atlas Components Inc.",
             "Sonnenfeld Agrar eG", "Rheinmetall Werkzeuge GmbH", "Bluefield Retail Ltd")
ITEMS = (("HM-200", "Hydraulikmotor HM 200", "Hydraulic motor HM 200"),
         ("DS-15", "Dichtungssatz 15 mm", "Seal kit 15 mm"),
         ("KL-7730", "Kugellager 6204 2RS", "Ball bearing 6204 2RS"),
         ("ZR-40", "Zahnriemen 40 mm", "Timing belt 40 mm"),
         ("SV-1/2", "Schieberventil 1/2 Zoll", "Slide valve 1/2 inch"),
         ("PT-100", "Temperaturfühler PT100", "Temperature sensor PT100"),
         ("FL-88", "Flansch DN 80 verzinkt", "Flange DN 80 galvanised"))
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "de": {
        "po_title": ("Bestellung", "BESTELLUNG", "Einkaufsbestellung"),
        "ra_title": ("Zahlungsavis", "ZAHLUNGSAVIS", "Avis über Zahlung"),
        "po_number": ("Bestellnummer", "Bestell-Nr.", "Bestellung Nr.", "Unsere Bestellnummer"),
        "ra_number": ("Avis-Nr.", "Avisnummer", "Zahlungsavis Nr."),
        "date": ("Datum", "Bestelldatum", "Auftragsdatum"),
        "ra_date": ("Datum", "Belegdatum"),
        "delivery": ("Liefertermin", "Lieferdatum", "Wunschtermin"),
        "payment_date": ("Zahlungsdatum", "Ausführungsdatum", "Überweisungsdatum"),
        "customer": ("Kundennummer", "Kunden-Nr.", "Ihre Kundennummer"),
        "vat": ("USt-IdNr.", "USt-ID", "Umsatzsteuer-ID"),
        "net": ("Nettobetrag", "Summe netto", "Warenwert netto", "Zwischensumme"),
        "tax": ("MwSt. {rate} %", "zzgl. {rate} % USt.", "Umsatzsteuer {rate} %"),
        "gross": ("Gesamtbetrag", "Gesamtsumme", "Bruttobetrag", "Endbetrag"),
        "ra_total": ("Gesamtbetrag", "Überweisungsbetrag", "Summe"),
        "reference": ("Verwendungszweck", "Zahlungsreferenz"),
        "payer": ("Zahler", "Auftraggeber"),
        "cols": ("Pos.", "Artikel-Nr.", "Bezeichnung", "Menge", "Einheit", "Einzelpreis",
                 "Gesamtpreis"),
        "ra_cols": ("Rechnung", "Datum", "Rechnungsbetrag", "Abzug", "Zahlbetrag"),
        "unit": ("Stk", "St.", "Stück"),
    },
    "en": {
        "po_title": ("Purchase Order", "PURCHASE ORDER", "Order"),
        "ra_title": ("Remittance Advice", "REMITTANCE ADVICE", "Payment Advice"),
        "po_number": ("PO Number", "Purchase Order No.", "Order No.", "PO #"),
        "ra_number": ("Advice No.", "Remittance No.", "Payment No."),
        "date": ("Date", "Order Date", "PO Date"),
        "ra_date": ("Date", "Advice Date"),
        "delivery": ("Delivery Date", "Requested Delivery Date", "Ship Date"),
        "payment_date": ("Payment Date", "Value Date", "Date of Payment"),
        "customer": ("Customer No.", "Account No.", "Customer ID"),
        "vat": ("VAT ID", "VAT No.", "VAT Reg. No."),
        "net": ("Subtotal", "Net Total", "Net amount"),
        "tax": ("VAT {rate}%", "Tax ({rate}%)", "Sales Tax {rate}%"),
        "gross": ("Total", "Grand Total", "Total Amount", "Order Total"),
        "ra_total": ("Total", "Total Paid", "Amount Paid"),
        "reference": ("Payment Reference", "Reference"),
        "payer": ("Payer", "Paid by"),
        "cols": ("Item", "Part No.", "Description", "Qty", "Unit", "Unit Price", "Amount"),
        "ra_cols": ("Invoice", "Date", "Invoice Amount", "Deduction", "Paid"),
        "unit": ("pcs", "ea", "pc"),
    },
}
DATE_FORMATS = {"de": ("%d.%m.%Y", "{d}. {month} %Y", "%Y-%m-%d", "%d.%m.%y"),
                "en": ("%B {d}, %Y", "{d} %B %Y", "%d/%m/%Y", "%Y-%m-%d", "%d %b %Y")}
MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
             "September", "Oktober", "November", "Dezember")
CURRENCIES = {"EUR": ("EUR", "€"), "USD": ("USD", "$"), "GBP": ("GBP", "£"), "CHF": ("CHF",
                                                                                    "CHF")}
LAYOUTS = ("list", "grid", "box", "title")


@dataclass
class Generated:
    """One generated document: its PDF, what it says (issue 4's names), how it looks."""

    name: str
    kind: str
    pdf: bytes
    truth: dict[str, Any] = field(default_factory=dict)
    layout: str = ""


def _fmt_date(value: date, lang: str, rng: random.Random) -> str:
    pattern = rng.choice(DATE_FORMATS[lang])
    pattern = pattern.replace("{d}", str(value.day)).replace(
        "{month}", MONTHS_DE[value.month - 1])
    return value.strftime(pattern)


def _money(value: Decimal, lang: str, currency: str, style: int) -> str:
    text = format_amount(value, "de" if lang == "de" else "en")
    code, sign = CURRENCIES[currency]
    return (f"{text} {code}", f"{code} {text}", f"{sign} {text}" if sign != code else
            f"{code} {text}", f"{text} {sign}")[style]


def _e(value: object) -> str:
    return html.escape(str(value))


def _number(rng: random.Random, prefix: str) -> str:
    return rng.choice((f"{prefix}-{rng.randint(2024, 2027)}-{rng.randint(1, 99999):05d}",
                       f"{rng.randint(4500000000, 4599999999)}",
                       f"{prefix}{rng.randint(10000, 999999)}",
                       f"{rng.randint(2024, 2027)}/{rng.randint(1, 9999):04d}"))


def _meta(layout: str, pairs: list[tuple[str, str]]) -> str:
    """The document's facts: label: value rows, a grid (labels above values) or a box."""
    if layout == "grid":
        heads = "".join(f"<th>{_e(k)}</th>" for k, _ in pairs[:4])
        cells = "".join(f"<td>{_e(v)}</td>" for _, v in pairs[:4])
        rest = "".join(f"<p class='m'>{_e(k)}: {_e(v)}</p>" for k, v in pairs[4:])
        return f"<table class='grid'><tr>{heads}</tr><tr>{cells}</tr></table>{rest}"
    if layout == "box":
        rows = "".join(f"<tr><td>{_e(k)}</td><td class='v'>{_e(v)}</td></tr>" for k, v in pairs)
        return f"<table class='box'>{rows}</table>"
    sep = ":" if layout == "list" else ""
    return "".join(f"<p class='m'>{_e(k)}{sep} {_e(v)}</p>" for k, v in pairs)


STYLE = """@page {{ size: A4; margin: {margin}mm; }}
body {{ font: {size}pt "{font}"; }}
h1 {{ font-size: {title}pt; margin: 4mm 0; }}
p.m {{ margin: 0.6mm 0; }}
table.items {{ width: 100%; border-collapse: collapse; margin: 5mm 0; }}
table.items th, table.items td {{ padding: 1.2mm; text-align: left; {rule} }}
td.r, th.r {{ text-align: right !important; }}
table.grid th {{ text-align: left; padding-right: 9mm; font-weight: normal; }}
table.grid td {{ padding-right: 9mm; }}
table.box {{ margin-left: 80mm; }} table.box td {{ white-space: nowrap; }}
table.box td.v {{ padding-left: 8mm; }}
p.t {{ margin: 0.6mm 0 0.6mm 100mm; }}"""


def _page(rng: random.Random, body: str) -> str:
    style = STYLE.format(margin=rng.choice((15, 18, 22)), size=rng.choice((8.5, 9.5, 10, 11)),
                         font=rng.choice(FONTS), title=rng.choice((14, 16, 18)),
                         rule=rng.choice(("border-bottom: 0.5pt solid #999;",
                                          "border: 0.5pt solid #777;", "")))
    return f"<!doctype html><html><head><meta charset='utf-8'><style>{style}</style></head>" \
           f"<body>{body}</body></html>"


def _pdf(page: str) -> bytes:
    import weasyprint

    return bytes(weasyprint.HTML(string=page).write_pdf())


def purchase_order(rng: random.Random, index: int) -> Generated:
    lang = rng.choice(("de", "en"))
    words = LABELS[lang]
    layout = rng.choice(LAYOUTS)
    currency = rng.choice(("EUR", "EUR", "USD", "GBP", "CHF"))
    style = rng.randrange(4)
    buyer = rng.choice(COMPANIES)
    seller = rng.choice([c for c in COMPANIES if c != buyer])
    number = _number(rng, rng.choice(("B", "PO", "BE")))
    issued = date(2026, 1, 1) + timedelta(days=rng.randint(0, 360))
    delivery = issued + timedelta(days=rng.randint(5, 60))
    vat_id = make_de_vat_id(f"{rng.randint(10000000, 99999999)}")
    customer = f"K-{rng.randint(10000, 99999)}"
    rate = rng.choice((19, 7, 20))
    count = rng.choice((2, 3, 5, 8)) if rng.random() < 0.8 else rng.randint(45, 70)
    lines, net = [], Decimal("0")
    unit = rng.choice(words["unit"])
    for pos in range(1, count + 1):
        sku, de_desc, en_desc = rng.choice(ITEMS)
        qty = Decimal(rng.choice((1, 2, 5, 10, 12, 40, 100)))
        price = Decimal(rng.randint(150, 250000)) / 100
        amount = round_money(qty * price)
        net += amount
        lines.append((pos, sku, de_desc if lang == "de" else en_desc, qty, unit, price, amount))
    tax = round_money(net * rate / 100)
    gross = net + tax

    def money(v: Decimal) -> str:
        return _money(v, lang, currency, style)

    pairs = [(rng.choice(words["po_number"]), number), (rng.choice(words["date"]),
                                                        _fmt_date(issued, lang, rng)),
             (rng.choice(words["delivery"]), _fmt_date(delivery, lang, rng)),
             (rng.choice(words["customer"]), customer), (rng.choice(words["vat"]), vat_id)]
    title = rng.choice(words["po_title"])
    head = f"<p><b>{_e(buyer)}</b><br>Industriestraße {rng.randint(1, 99)} · " \
           f"{rng.randint(10000, 99999)} Musterstadt</p><p>{_e(seller)}<br>Hauptstraße " \
           f"{rng.randint(1, 99)}<br>{rng.randint(10000, 99999)} Beispielstadt</p>"
    if layout == "title":
        head += f"<h1>{_e(title)} {_e(number)}</h1>"
        pairs = pairs[1:]
    else:
        head += f"<h1>{_e(title)}</h1>"
    cols = words["cols"]
    heads = "".join(f"<th{' class=r' if i >= 5 else ''}>{_e(c)}</th>" for i, c in enumerate(cols))
    body_rows = "".join(
        f"<tr><td>{p}</td><td>{_e(s)}</td><td>{_e(d)}</td><td>{q}</td><td>{_e(u)}</td>"
        f"<td class=r>{_e(format_amount(pr, lang))}</td><td class=r>{_e(format_amount(a, lang))}"
        f"</td></tr>" for p, s, d, q, u, pr, a in lines)
    totals = [(rng.choice(words["net"]), money(net)),
              (rng.choice(words["tax"]).format(rate=rate), money(tax)),
              (rng.choice(words["gross"]), money(gross))]
    total_html = "".join(f"<p class='t'>{_e(k)}: {_e(v)}</p>" for k, v in totals)
    body = head + _meta(layout, pairs) + f"<table class='items'><tr>{heads}</tr>{body_rows}" \
        f"</table>{total_html}<p>{'Mit freundlichen Grüßen' if lang == 'de' else 'Regards'}</p>"
    truth = {"number": number, "issue_date": issued, "delivery_date": delivery,
             "currency": currency, "total_net": net, "total_tax": tax, "total_gross": gross,
             "buyer_vat_id": vat_id, "customer_number": customer}
    return Generated(f"po-{index:03d}-{lang}-{layout}.pdf", "purchase_order",
                     _pdf(_page(rng, body)), truth, f"{lang}/{layout}")


def remittance_advice(rng: random.Random, index: int) -> Generated:
    lang = rng.choice(("de", "en"))
    words = LABELS[lang]
    layout = rng.choice(LAYOUTS)
    currency = rng.choice(("EUR", "EUR", "USD", "GBP"))
    style = rng.randrange(4)
    payer = rng.choice(COMPANIES)
    number = _number(rng, rng.choice(("ZA", "AV", "RA")))
    issued = date(2026, 1, 1) + timedelta(days=rng.randint(0, 360))
    paid_on = issued + timedelta(days=rng.randint(0, 3))
    iban = make_iban("DE", f"{rng.randint(10000000, 99999999)}{rng.randint(0, 9999999999):010d}")
    reference = f"{rng.choice(('ZA', 'PAY', 'TRX'))}-{rng.randint(100, 99999)}"
    rows, total = [], Decimal("0")
    for _ in range(rng.randint(1, 6)):
        gross = Decimal(rng.randint(5000, 900000)) / 100
        deduction = round_money(gross * Decimal("0.02")) if rng.random() < 0.4 else Decimal("0")
        paid = gross - deduction
        total += paid
        inv_date = issued - timedelta(days=rng.randint(5, 40))
        rows.append((f"RE-{inv_date.year}-{rng.randint(1, 99999):05d}", inv_date, gross,
                     deduction, paid))
    pairs = [(rng.choice(words["ra_number"]), number),
             (rng.choice(words["ra_date"]), _fmt_date(issued, lang, rng)),
             (rng.choice(words["payment_date"]), _fmt_date(paid_on, lang, rng)),
             (rng.choice(words["reference"]), reference), ("IBAN", iban)]
    title = rng.choice(words["ra_title"])
    head = f"<p><b>{_e(payer)}</b> · Hafenweg {rng.randint(1, 99)} · {rng.randint(10000, 99999)}" \
           f" Hafenstadt</p>"
    if layout == "title":
        head += f"<h1>{_e(title)} {_e(number)}</h1>"
        pairs = pairs[1:]
    else:
        head += f"<h1>{_e(title)}</h1>"
    payer_label = rng.choice(words["payer"])
    cols = "".join(f"<th{' class=r' if i >= 2 else ''}>{_e(c)}</th>"
                   for i, c in enumerate(words["ra_cols"]))
    table = "".join(
        f"<tr><td>{_e(n)}</td><td>{_e(d.strftime('%d.%m.%Y'))}</td>"
        f"<td class=r>{_e(format_amount(g, lang))}</td><td class=r>{_e(format_amount(x, lang))}"
        f"</td><td class=r>{_e(format_amount(p, lang))}</td></tr>" for n, d, g, x, p in rows)
    money = _money(total, lang, currency, style)
    body = head + f"<p class='m'>{_e(payer_label)}: {_e(payer)}</p>" + _meta(layout, pairs) + \
        f"<table class='items'><tr>{cols}</tr>{table}</table>" \
        f"<p class='t'>{_e(rng.choice(words['ra_total']))}: {_e(money)}</p>"
    truth = {"number": number, "issue_date": issued, "payment_date": paid_on,
             "currency": currency, "total_gross": total, "iban": iban,
             "payment_reference": reference, "buyer_name": payer}
    return Generated(f"ra-{index:03d}-{lang}-{layout}.pdf", "remittance_advice",
                     _pdf(_page(rng, body)), truth, f"{lang}/{layout}")


def generate(count: int, seed: int = 4) -> Iterator[Generated]:
    """`count` documents, two purchase orders to each remittance advice."""
    rng = random.Random(seed)
    for index in range(count):
        yield remittance_advice(rng, index) if index % 3 == 2 else purchase_order(rng, index)


def scan(pdf: bytes, seed: int = 0, dpi: int = 200) -> bytes:
    """The pages as a scanner delivers them: grey, 200 dpi, a little rotated and noisy."""
    import pypdfium2
    from PIL import Image, ImageChops

    rng = random.Random(seed)
    doc = pypdfium2.PdfDocument(pdf)
    try:
        images = []
        for page in doc:
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            image = image.rotate(rng.uniform(-0.7, 0.7), resample=Image.Resampling.BICUBIC,
                                 fillcolor=255)
            noise = Image.effect_noise(image.size, 28).point(lambda v: 255 if v > 96 else 200)
            images.append(ImageChops.darker(image, noise))
    finally:
        doc.close()
    out = io.BytesIO()
    images[0].save(out, format="PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return out.getvalue()
