"""Invoices as data: payment terms with cash discount, the VAT treatment a customer gets,
the notes German law asks an invoice to carry, the payment reference, and the
InvoiceDocument that the PDF and the e-invoice XML are written from. Pure.

VAT treatment (`vat_treatment`) for a German seller of goods:

- buyer in the seller's country → standard rated, category S, the line's rate (19 % / 7 %);
- business buyer in another EU member state with a VAT id → tax-free intra-community
  supply of goods (§ 4 Nr. 1 b, § 6a UStG), category K, 0 %;
- buyer outside the EU (e.g. GB, CH, US) → tax-free export (§ 4 Nr. 1 a, § 6 UStG),
  category G, 0 %;
- business buyer in another EU member state *without* a VAT id, or a consumer there →
  German VAT, category S.

Out of scope, decided by a person: distance sales to EU consumers above the EU-wide
threshold of 10,000 EUR a year (§ 3c UStG), which are taxed in the buyer's country and
declared through the One-Stop-Shop (OSS); reverse charge for services (§ 13b UStG,
category AE: `missing` in engine.core.ustg checks such invoices, but nothing here assigns
AE); special territories (Büsingen, Heligoland, Canary Islands, Northern Ireland "XI").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from engine.core.checks import rf_reference
from engine.core.money import format_amount
from engine.core.records import DocumentLine, InvoiceDocument, Party
from engine.core.totals import compute_totals

# ISO 3166 codes of the EU member states (Greece is GR here; its VAT ids start with EL).
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})

# VAT categories (UNCL 5305) that need an exemption reason on the invoice (§ 14 (4) Nr. 8
# UStG; BR-AE-10, BR-IC-10, BR-E-10, BR-G-10, BR-O-10): category → (VATEX code or "",
# German text, English text). The same text is printed and written as BT-120.
EXEMPTIONS: Mapping[str, tuple[str, str, str]] = {
    "AE": ("VATEX-EU-AE",
           "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge, § 13b UStG)",
           "Reverse charge: the recipient is liable for VAT (Steuerschuldnerschaft des "
           "Leistungsempfängers)"),
    "K": ("VATEX-EU-IC",
          "Steuerfreie innergemeinschaftliche Lieferung (§ 4 Nr. 1 b, § 6a UStG)",
          "Tax-exempt intra-community supply of goods (Art. 138 VAT Directive; "
          "§ 4 Nr. 1 b, § 6a UStG)"),
    "G": ("VATEX-EU-G",
          "Steuerfreie Ausfuhrlieferung (§ 4 Nr. 1 a, § 6 UStG)",
          "Tax-exempt export outside the EU (§ 4 Nr. 1 a, § 6 UStG)"),
    "E": ("", "Steuerbefreit", "Exempt from VAT"),
    "O": ("VATEX-EU-O", "Nicht steuerbar", "Not subject to VAT"),
}

# § 286 (3) BGB: a consumer is in default 30 days after due date and receipt only when the
# invoice says so. The dunning core (engine.core.default) relies on this sentence.
CONSUMER_NOTICE: Mapping[str, str] = {
    "de": ("Sie kommen spätestens 30 Tage nach Fälligkeit und Zugang dieser Rechnung in "
           "Verzug, ohne dass es einer Mahnung bedarf."),
    "en": ("You will be in default at the latest 30 days after the due date and receipt of "
           "this invoice, without any further reminder being required."),
}


class VatTreatment(NamedTuple):
    """Category (UNCL 5305), the rate that replaces the line rates (None: keep them), note."""

    category: str
    rate: Decimal | None
    note: str


def vat_treatment(seller_country: str, buyer_country: str, buyer_is_business: bool,
                  buyer_vat_id: str, *, lang: str = "de") -> VatTreatment:
    """How a supply of goods from `seller_country` to the buyer is taxed (see the module)."""
    seller, buyer = seller_country.strip().upper(), buyer_country.strip().upper()
    if len(buyer) != 2 or len(seller) != 2:
        raise ValueError(f"country codes must have two letters: {seller_country!r}, "
                         f"{buyer_country!r}")
    if buyer == seller:
        return VatTreatment("S", None, "")
    if buyer not in EU_COUNTRIES:
        return VatTreatment("G", Decimal("0"), exemption_note("G", lang))
    if buyer_is_business and buyer_vat_id.strip():
        return VatTreatment("K", Decimal("0"), exemption_note("K", lang))
    return VatTreatment("S", None, "")  # German VAT; OSS distance sales are out of scope


def exemption_note(category: str, lang: str = "de") -> str:
    """The printed reason for a tax-free category; '' for categories that need none."""
    entry = EXEMPTIONS.get(category)
    if entry is None:
        return ""
    return entry[1] if lang == "de" else entry[2]


def consumer_notice(lang: str = "de") -> str:
    return CONSUMER_NOTICE.get(lang, CONSUMER_NOTICE["de"])


def skonto_line(percent: Decimal, days: int) -> str:
    """A cash discount in XRechnung's BT-20 convention (BR-DE-18): '#SKONTO#TAGE=10#PROZENT=2.00#'."""
    return f"#SKONTO#TAGE={days}#PROZENT={percent.quantize(Decimal('0.01')):f}#"


@dataclass(frozen=True)
class Terms:
    days: int
    discount_percent: Decimal | None = None
    discount_days: int | None = None

    def due_date(self, issue: date) -> date:
        return issue + timedelta(days=self.days)

    def text(self, issue: date, gross: Decimal, lang: str, consumer: bool = False) -> str:
        """The printed payment terms; for a consumer with the § 286 (3) BGB notice."""
        notice = f" {consumer_notice(lang)}" if consumer else ""
        return self._terms(issue, gross, lang) + notice

    def _terms(self, issue: date, gross: Decimal, lang: str) -> str:
        due = self.due_date(issue)
        if self.discount_percent and self.discount_days:
            until = issue + timedelta(days=self.discount_days)
            pay = format_amount(gross - (gross * self.discount_percent / 100), lang)
            if lang == "de":
                return (f"{self.discount_percent.normalize():f} % Skonto bei Zahlung bis "
                        f"{until:%d.%m.%Y} ({pay} EUR), netto zahlbar bis {due:%d.%m.%Y}.")
            return (f"{self.discount_percent.normalize():f} % cash discount if paid by "
                    f"{until:%d %b %Y} ({pay} EUR), net due {due:%d %b %Y}.")
        if lang == "de":
            return f"Zahlbar ohne Abzug bis {due:%d.%m.%Y}."
        return f"Payable without deduction by {due:%d %b %Y}."


def apply_treatment(lines: Sequence[DocumentLine],
                    treatment: VatTreatment) -> tuple[DocumentLine, ...]:
    """The lines with the treatment's rate (0 % for K and G); unchanged for S."""
    if treatment.rate is None:
        return tuple(lines)
    rate = treatment.rate
    return tuple(DocumentLine(x.position, x.sku, x.description, x.quantity, x.unit,
                              x.unit_price, rate, x.note) for x in lines)


def build_invoice(*, number: str, type_code: str, issue_date: date, delivery_date: date,
                  seller: Party, buyer: Party, lines: Sequence[DocumentLine], terms: Terms,
                  currency: str, language: str, order_reference: str = "",
                  preceding_invoice: str = "", vat_category: str = "Z",
                  consumer: bool = False) -> InvoiceDocument:
    """The invoice or credit note; zero-rated lines get `vat_category` (K, G, AE or Z)."""
    totals = compute_totals(lines, category_for_zero=vat_category)
    return InvoiceDocument(
        number=number, type_code=type_code, issue_date=issue_date, delivery_date=delivery_date,
        due_date=terms.due_date(issue_date), currency=currency, seller=seller, buyer=buyer,
        lines=tuple(lines), totals=totals, payment_reference=rf_reference(number),
        order_reference=order_reference, preceding_invoice=preceding_invoice,
        terms=terms.text(issue_date, totals.gross, language,
                         consumer=consumer and type_code == "380"),
        cash_discount_percent=terms.discount_percent, cash_discount_days=terms.discount_days,
        language=language)


def invoice_notes(doc: InvoiceDocument) -> tuple[str, ...]:
    """The legal notes printed under the totals: one exemption reason per tax-free category
    (reverse charge with the words § 14a (5) UStG asks for)."""
    seen = dict.fromkeys(v.category for v in doc.totals.vat)
    return tuple(note for note in (exemption_note(c, doc.language) for c in seen) if note)
