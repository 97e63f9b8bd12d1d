"""Is an invoice complete by § 14 (4) UStG (and § 14a for intra-EU supplies and reverse
charge)? Pure: an InvoiceDocument and the notes printed on it in, what is missing out.

`missing(doc, notes)` names each missing item with its paragraph, e.g.
"buyer address (§ 14 (4) Nr. 1 UStG)". `notes` are the texts printed under the totals (the
exemption reasons); by default those `engine.core.invoicing.invoice_notes` gives, which is
what the invoicing service prints. Checked:

1. full name and address of seller and buyer (Nr. 1);
2. the seller's tax number or VAT id (Nr. 2);
3. the issue date (Nr. 3) and a number (Nr. 4; uniqueness is the database's job);
4. quantity, unit and description of every line (Nr. 5);
5. the date of delivery (Leistungsdatum, Nr. 6);
6. the net amount per VAT rate and any agreed reduction such as a cash discount (Nr. 7);
7. rate and tax amount per rate, or the note on the exemption (Nr. 8);
8. intra-community supply (K): both VAT ids (§ 14a (3)) and the exemption note;
   reverse charge (AE): both VAT ids and "Steuerschuldnerschaft des Leistungsempfängers"
   (§ 14a (1), (5)).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from engine.core.invoicing import EXEMPTIONS, invoice_notes
from engine.core.money import ZERO, round_money
from engine.core.records import InvoiceDocument, Party

REVERSE_CHARGE_WORDS = "Steuerschuldnerschaft des Leistungsempfängers"
_NR = "§ 14 (4) Nr. {} UStG"


def missing(doc: InvoiceDocument, notes: Sequence[str] | None = None) -> list[str]:
    """Everything § 14 (4) / § 14a UStG asks for that `doc` lacks; [] when complete."""
    printed = invoice_notes(doc) if notes is None else tuple(notes)
    out: list[str] = []
    out += _party(doc.seller, "seller")
    out += _party(doc.buyer, "buyer")
    if not (doc.seller.tax_number.strip() or doc.seller.vat_id.strip()):
        out.append(f"seller tax number or VAT id ({_NR.format(2)})")
    if doc.issue_date is None:
        out.append(f"issue date ({_NR.format(3)})")
    if not re.fullmatch(r"\S+", doc.number or ""):
        out.append(f"invoice number ({_NR.format(4)})")
    out += _lines(doc)
    if doc.delivery_date is None:
        out.append(f"delivery date (Leistungsdatum, {_NR.format(6)})")
    out += _vat(doc, printed)
    out += _reduction(doc)
    return out


def _party(party: Party, role: str) -> list[str]:
    out = []
    if not party.name.strip():
        out.append(f"{role} name ({_NR.format(1)})")
    address = party.address
    if not (address.street.strip() and address.postal_code.strip() and address.city.strip()
            and address.country.strip()):
        out.append(f"{role} address ({_NR.format(1)})")
    return out


def _lines(doc: InvoiceDocument) -> list[str]:
    if not doc.lines:
        return [f"goods or services: no lines ({_NR.format(5)})"]
    out = []
    for line in doc.lines:
        if not line.description.strip():
            out.append(f"line {line.position}: description ({_NR.format(5)})")
        if not line.quantity or not line.unit.strip():
            out.append(f"line {line.position}: quantity and unit ({_NR.format(5)})")
    return out


def _vat(doc: InvoiceDocument, notes: Sequence[str]) -> list[str]:
    out = []
    bases: dict[Decimal, Decimal] = {}
    for line in doc.lines:
        bases[line.vat_rate] = bases.get(line.vat_rate, ZERO) + line.net_amount
    shown = {v.rate: v for v in doc.totals.vat}
    for rate, basis in sorted(bases.items(), reverse=True):
        vat = shown.get(rate)
        if vat is None or vat.basis != basis:
            out.append(f"net amount at {rate.normalize():f} % ({_NR.format(7)})")
        elif vat.tax != round_money(basis * rate / 100):
            out.append(f"tax amount at {rate.normalize():f} % ({_NR.format(8)})")
    text = " ".join(notes)
    for category in dict.fromkeys(v.category for v in doc.totals.vat):
        entry = EXEMPTIONS.get(category)
        if entry and entry[1] not in text and entry[2] not in text:
            out.append(f"note on the tax exemption, category {category} ({_NR.format(8)})")
        if category in ("K", "AE"):
            rule = "§ 14a (3) UStG" if category == "K" else "§ 14a (1) UStG"
            if not doc.seller.vat_id.strip():
                out.append(f"seller VAT id ({rule})")
            if not doc.buyer.vat_id.strip():
                out.append(f"buyer VAT id ({rule})")
        if category == "AE" and REVERSE_CHARGE_WORDS not in text:
            out.append(f'"{REVERSE_CHARGE_WORDS}" (§ 14a (5) UStG)')
    return out


def _reduction(doc: InvoiceDocument) -> list[str]:
    percent = doc.cash_discount_percent
    if not percent:
        return []
    words = ("Skonto", "cash discount")
    if f"{percent.normalize():f} %" in doc.terms and any(w in doc.terms for w in words):
        return []
    return [f"agreed cash discount of {percent.normalize():f} % ({_NR.format(7)})"]
