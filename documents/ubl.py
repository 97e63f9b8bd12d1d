"""Invoices and credit notes as XRechnung 3.0 in UBL 2.1 syntax (Invoice, CreditNote).

The same InvoiceDocument as documents.cii writes, in the other syntax EN 16931 allows; the
configuration (`invoicing.xrechnung_syntax: cii | ubl`) chooses which one is written as
the XRechnung file. The data have already passed the checks through the CII path (XSD,
EN 16931 rules, XRechnung rules) before anything is issued; this module maps field by field
(EN 16931 UBL binding), elements in the order the UBL 2.1 schemas prescribe.

Carried as in the CII writer: BT-10 buyer reference, BG-6 seller contact (BT-41 contact
name, phone, e-mail), electronic addresses BT-34/BT-49 (scheme EM), payment means 58 with
the seller's IBAN (credit notes: 97 with BT-82 "set off against invoice N"), BT-20 payment
terms with XRechnung's Skonto line, and exemption reasons BT-120/BT-121.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from lxml import etree

from documents.cii import (
    CLEARING_BETWEEN_PARTNERS,
    PEPPOL_BILLING_PROCESS,
    SEPA_CREDIT_TRANSFER,
    XRECHNUNG_GUIDELINE_ID,
    buyer_reference_of,
    payment_terms,
    unit_code,
)
from documents.cii import _amount as amount_text
from documents.cii import _at_least as at_least
from engine.core.invoicing import EXEMPTIONS
from engine.core.records import DocumentLine, InvoiceDocument, Party

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS: Mapping[str, str] = {"cac": CAC, "cbc": CBC}


def ubl_xml(doc: InvoiceDocument) -> bytes:
    """The XRechnung 3.0 UBL 2.1 XML of an invoice (Invoice, 380) or credit note
    (CreditNote, 381), UTF-8 with declaration."""
    credit = doc.type_code == "381"
    root_ns = CREDIT_NOTE_NS if credit else INVOICE_NS
    root = etree.Element(f"{{{root_ns}}}{'CreditNote' if credit else 'Invoice'}",
                         nsmap={None: root_ns, "cac": CAC, "cbc": CBC})
    cur = doc.currency
    _cbc(root, "CustomizationID", XRECHNUNG_GUIDELINE_ID)  # BT-24
    _cbc(root, "ProfileID", PEPPOL_BILLING_PROCESS)  # BT-23
    _cbc(root, "ID", doc.number)
    _cbc(root, "IssueDate", _day(doc.issue_date))
    if not credit:
        _cbc(root, "DueDate", _day(doc.due_date))  # BT-9
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", doc.type_code)
    _cbc(root, "DocumentCurrencyCode", cur)
    reference = buyer_reference_of(doc)
    if reference:
        _cbc(root, "BuyerReference", reference)  # BT-10
    if doc.order_reference:
        _cbc(_cac(root, "OrderReference"), "ID", doc.order_reference)  # BT-13
    if doc.preceding_invoice:
        billing = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(billing, "ID", doc.preceding_invoice)  # BT-25
    _party(_cac(root, "AccountingSupplierParty"), doc.seller, seller=True)
    _party(_cac(root, "AccountingCustomerParty"), doc.buyer, seller=False)
    _delivery(root, doc)
    _payment_means(root, doc)
    terms = payment_terms(doc)
    if terms:
        _cbc(_cac(root, "PaymentTerms"), "Note", terms)  # BT-20

    tax_total = _cac(root, "TaxTotal")
    _cbc(tax_total, "TaxAmount", amount_text(doc.totals.tax), currencyID=cur)  # BT-110
    for vat in doc.totals.vat:
        sub = _cac(tax_total, "TaxSubtotal")
        _cbc(sub, "TaxableAmount", amount_text(vat.basis), currencyID=cur)  # BT-116
        _cbc(sub, "TaxAmount", amount_text(vat.tax), currencyID=cur)  # BT-117
        _category(sub, "TaxCategory", vat.category, vat.rate, doc.language, reason=True)

    totals = _cac(root, "LegalMonetaryTotal")
    _cbc(totals, "LineExtensionAmount", amount_text(doc.totals.net), currencyID=cur)  # BT-106
    _cbc(totals, "TaxExclusiveAmount", amount_text(doc.totals.net), currencyID=cur)  # BT-109
    _cbc(totals, "TaxInclusiveAmount", amount_text(doc.totals.gross), currencyID=cur)  # BT-112
    _cbc(totals, "PayableAmount", amount_text(doc.totals.gross), currencyID=cur)  # BT-115

    categories = {b.rate: b.category for b in doc.totals.vat}
    for line in doc.lines:
        _line(root, line, categories, credit=credit, currency=cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- building blocks -------------------------------------------------------------------


def _cbc(parent: etree._Element, tag: str, text: str, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{tag}", attrs)
    element.text = text
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _day(value: date) -> str:
    return value.isoformat()


def _category(parent: etree._Element, name: str, category: str, rate: Decimal, language: str,
              *, reason: bool = False) -> None:
    element = _cac(parent, name)
    _cbc(element, "ID", category)  # BT-118 / BT-151
    if category != "O":  # BR-O-05
        _cbc(element, "Percent", at_least(rate, 2))
    exemption = EXEMPTIONS.get(category)
    if reason and exemption:
        if exemption[0]:
            _cbc(element, "TaxExemptionReasonCode", exemption[0])  # BT-121
        _cbc(element, "TaxExemptionReason",
             exemption[1] if language == "de" else exemption[2])  # BT-120
    _cbc(_cac(element, "TaxScheme"), "ID", "VAT")


def _party(holder: etree._Element, party: Party, *, seller: bool) -> None:
    element = _cac(holder, "Party")
    if party.email:  # BT-34 / BT-49
        _cbc(element, "EndpointID", party.email, schemeID="EM")
    postal = _cac(element, "PostalAddress")
    if party.address.street:
        _cbc(postal, "StreetName", party.address.street)
    if party.address.city:
        _cbc(postal, "CityName", party.address.city)
    if party.address.postal_code:
        _cbc(postal, "PostalZone", party.address.postal_code)
    _cbc(_cac(postal, "Country"), "IdentificationCode", party.address.country.upper())
    if party.vat_id:  # BT-31 / BT-48
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.vat_id.replace(" ", ""))
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    if seller and party.tax_number:  # BT-32
        scheme = _cac(element, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", party.tax_number)
        _cbc(_cac(scheme, "TaxScheme"), "ID", "FC")
    legal = _cac(element, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)  # BT-27 / BT-44
    if seller and party.register:
        _cbc(legal, "CompanyID", party.register)  # BT-30
    if seller:  # BG-6
        contact = _cac(element, "Contact")
        _cbc(contact, "Name", party.contact_name or party.name)  # BT-41
        if party.phone:
            _cbc(contact, "Telephone", party.phone)  # BT-42
        if party.email:
            _cbc(contact, "ElectronicMail", party.email)  # BT-43


def _delivery(root: etree._Element, doc: InvoiceDocument) -> None:
    delivery = _cac(root, "Delivery")
    _cbc(delivery, "ActualDeliveryDate", _day(doc.delivery_date))  # BT-72
    if any(b.category == "K" for b in doc.totals.vat):  # BR-IC-12: deliver-to country
        address = _cac(_cac(delivery, "DeliveryLocation"), "Address")
        if doc.buyer.address.street:
            _cbc(address, "StreetName", doc.buyer.address.street)
        if doc.buyer.address.city:
            _cbc(address, "CityName", doc.buyer.address.city)
        if doc.buyer.address.postal_code:
            _cbc(address, "PostalZone", doc.buyer.address.postal_code)
        _cbc(_cac(address, "Country"), "IdentificationCode", doc.buyer.address.country.upper())
        _cbc(_cac(_cac(delivery, "DeliveryParty"), "PartyName"), "Name", doc.buyer.name)


def _payment_means(root: etree._Element, doc: InvoiceDocument) -> None:
    seller = doc.seller
    if doc.type_code == "381":  # BG-16 (BR-DE-1): set off against the invoice
        means = _cac(root, "PaymentMeans")
        text = "Verrechnung" if doc.language == "de" else "Set off"
        if doc.preceding_invoice:
            text += f" {'mit Rechnung' if doc.language == 'de' else 'against invoice'} "
            text += doc.preceding_invoice
        _cbc(means, "PaymentMeansCode", CLEARING_BETWEEN_PARTNERS, name=text)  # BT-81, BT-82
        _cbc(means, "PaymentDueDate", _day(doc.due_date))  # BT-9 of a credit note
    elif seller.iban:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", SEPA_CREDIT_TRANSFER)
        if doc.payment_reference:
            _cbc(means, "PaymentID", doc.payment_reference)  # BT-83
        account = _cac(means, "PayeeFinancialAccount")
        _cbc(account, "ID", seller.iban.replace(" ", "").upper())  # BT-84
        if seller.bic:
            branch = _cac(account, "FinancialInstitutionBranch")
            _cbc(branch, "ID", seller.bic.replace(" ", "").upper())  # BT-86


def _line(root: etree._Element, line: DocumentLine, categories: Mapping[Decimal, str], *,
          credit: bool, currency: str) -> None:
    element = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    _cbc(element, "ID", str(line.position))  # BT-126
    if line.note:
        _cbc(element, "Note", line.note)  # BT-127
    _cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity",
         at_least(line.quantity, 4), unitCode=unit_code(line.unit))  # BT-129, BT-130
    _cbc(element, "LineExtensionAmount", amount_text(line.net_amount),
         currencyID=currency)  # BT-131
    item = _cac(element, "Item")
    _cbc(item, "Name", line.description or line.sku)  # BT-153
    if line.sku:
        _cbc(_cac(item, "SellersItemIdentification"), "ID", line.sku)  # BT-155
    category = categories.get(line.vat_rate, "S" if line.vat_rate > 0 else "Z")
    _category(item, "ClassifiedTaxCategory", category, line.vat_rate, "de")
    price = _cac(element, "Price")
    _cbc(price, "PriceAmount", at_least(line.unit_price, 2), currencyID=currency)  # BT-146
