"""Where each XML syntax keeps each field: CII D16B (Factur-X, ZUGFeRD 2, XRechnung CII),
ZUGFeRD 1, OASIS UBL 2.1 Invoice and CreditNote, and Order-X, as XPaths relative to the
root element (the first match wins). `documents.xml_documents` reads with these tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

UBL_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
UBL_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
UBL_ROOTS = {"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": ("ubl_invoice", "ubl"),
             "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": ("ubl_credit_note",
                                                                            "cn")}

@dataclass(frozen=True)
class Syntax:
    """Where one XML syntax keeps each field, relative to the root (first match wins)."""

    name: str
    kind: str
    fields: Mapping[str, tuple[str, ...]]
    line: str
    line_fields: Mapping[str, tuple[str, ...]]


# ZUGFeRD 1 is CII's older sibling: the same structure under older element names.
_ZF1_NAMES = (("rsm:ExchangedDocument", "rsm:HeaderExchangedDocument"),
              ("rsm:SupplyChainTradeTransaction", "rsm:SpecifiedSupplyChainTradeTransaction"),
              ("ApplicableHeaderTrade", "ApplicableSupplyChainTrade"),
              ("SpecifiedTradeSettlementHeaderMonetarySummation",
               "SpecifiedTradeSettlementMonetarySummation"),
              ("SpecifiedTradeSettlementLineMonetarySummation",
               "SpecifiedTradeSettlementMonetarySummation"),
              ("SpecifiedLineTrade", "SpecifiedSupplyChainTrade"),
              ("RateApplicablePercent", "ApplicablePercent"), ("ram:IssuerAssignedID", "ram:ID"))


def _cii(name: str, *, order: bool = False) -> Syntax:
    """CII D16B (invoices) and Order-X (orders) share their structure."""
    tx, head = "rsm:SupplyChainTradeTransaction", "rsm:ExchangedDocument"
    ag, st = f"{tx}/ram:ApplicableHeaderTradeAgreement", f"{tx}/ram:ApplicableHeaderTradeSettlement"
    total, dt = f"{st}/ram:SpecifiedTradeSettlementHeaderMonetarySummation", "udt:DateTimeString"
    event = (f"{tx}/ram:ApplicableHeaderTradeDelivery/"
             f"ram:{'Requested' if order else 'Actual'}DeliverySupplyChainEvent")
    fields: dict[str, tuple[str, ...]] = {
        "number": (f"{head}/ram:ID",),
        "type_code": (f"{head}/ram:TypeCode",),
        "issue_date": (f"{head}/ram:IssueDateTime/{dt}",),
        "due_date": (f"{st}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/{dt}",),
        "delivery_date": (f"{event}/ram:OccurrenceDateTime/{dt}",
                          f"{event}/ram:OccurrenceSpecifiedPeriod/ram:StartDateTime/{dt}"),
        "currency": (f"{st}/ram:{'Order' if order else 'Invoice'}CurrencyCode",),
        "total_net": (f"{total}/ram:TaxBasisTotalAmount",),
        "total_tax": (f"{total}/ram:TaxTotalAmount",),
        "total_gross": (f"{total}/ram:GrandTotalAmount",),
        "amount_due": (f"{total}/ram:DuePayableAmount",),
        "line_total": (f"{total}/ram:LineTotalAmount",),
        "prepaid": (f"{total}/ram:TotalPrepaidAmount",),
        "rounding": (f"{total}/ram:RoundingAmount",),
        "customer_number": (f"{ag}/ram:BuyerTradeParty/ram:ID",),
        "order_reference": (f"{ag}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID",),
        "quote_reference": (f"{ag}/ram:QuotationReferencedDocument/ram:IssuerAssignedID",),
        "iban": (f"{st}/ram:SpecifiedTradeSettlementPaymentMeans/"
                 "ram:PayeePartyCreditorFinancialAccount/ram:IBANID",),
        "payment_reference": (f"{st}/ram:PaymentReference",),
    }
    for role in ("seller", "buyer"):
        party = f"{ag}/ram:{role.title()}TradeParty"
        fields[f"{role}_name"] = (f"{party}/ram:Name",)
        fields[f"{role}_vat_id"] = (f"{party}/ram:SpecifiedTaxRegistration/"
                                    "ram:ID[@schemeID='VA']",)
    product = "ram:SpecifiedTradeProduct"
    price = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice"
    line_st = "ram:SpecifiedLineTradeSettlement"
    lines: dict[str, tuple[str, ...]] = {
        "position": ("ram:AssociatedDocumentLineDocument/ram:LineID",),
        "sku": (f"{product}/ram:SellerAssignedID", f"{product}/ram:BuyerAssignedID",
                f"{product}/ram:GlobalID"),
        "description": (f"{product}/ram:Name", f"{product}/ram:Description"),
        "quantity": ("ram:SpecifiedLineTradeDelivery/"
                     f"ram:{'Requested' if order else 'Billed'}Quantity",),
        "unit_price": (f"{price}/ram:ChargeAmount",),
        "price_basis": (f"{price}/ram:BasisQuantity",),
        "net_amount": (f"{line_st}/ram:SpecifiedTradeSettlementLineMonetarySummation/"
                       "ram:LineTotalAmount",),
        "tax_rate": (f"{line_st}/ram:ApplicableTradeTax/ram:RateApplicablePercent",),
    }
    kind = "purchase_order" if order else "invoice"
    return Syntax(name, kind, fields, f"{tx}/ram:IncludedSupplyChainTradeLineItem", lines)


def _renamed(syntax: Syntax, name: str, names: tuple[tuple[str, str], ...]) -> Syntax:
    def rename(path: str) -> str:
        for old, new in names:
            path = path.replace(old, new)
        return path

    def paths(table: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return {key: tuple(rename(p) for p in value) for key, value in table.items()}

    return Syntax(name, syntax.kind, paths(syntax.fields), rename(syntax.line),
                  paths(syntax.line_fields))


def _ubl(credit: bool) -> Syntax:
    sp, bp = "cac:AccountingSupplierParty/cac:Party", "cac:AccountingCustomerParty/cac:Party"
    item, total = "cac:Item", "cac:LegalMonetaryTotal"
    fields: dict[str, tuple[str, ...]] = {
        "number": ("cbc:ID",),
        "type_code": ("cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode",),
        "issue_date": ("cbc:IssueDate",),
        "due_date": ("cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate"),
        "delivery_date": ("cac:Delivery/cbc:ActualDeliveryDate",),
        "currency": ("cbc:DocumentCurrencyCode",),
        "total_net": (f"{total}/cbc:TaxExclusiveAmount",),
        "total_tax": ("cac:TaxTotal/cbc:TaxAmount",),
        "total_gross": (f"{total}/cbc:TaxInclusiveAmount",),
        "amount_due": (f"{total}/cbc:PayableAmount",),
        "line_total": (f"{total}/cbc:LineExtensionAmount",),
        "prepaid": (f"{total}/cbc:PrepaidAmount",),
        "rounding": (f"{total}/cbc:PayableRoundingAmount",),
        "customer_number": (f"{bp}/cac:PartyIdentification/cbc:ID",),
        "order_reference": ("cac:OrderReference/cbc:ID",),
        "iban": ("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID",),
        "payment_reference": ("cac:PaymentMeans/cbc:PaymentID",),
    }
    for role, party in (("seller", sp), ("buyer", bp)):
        fields[f"{role}_name"] = (f"{party}/cac:PartyLegalEntity/cbc:RegistrationName",
                                  f"{party}/cac:PartyName/cbc:Name")
        fields[f"{role}_vat_id"] = (f"{party}/cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']"
                                    "/cbc:CompanyID",)
    lines: dict[str, tuple[str, ...]] = {
        "position": ("cbc:ID",),
        "sku": (f"{item}/cac:SellersItemIdentification/cbc:ID",
                f"{item}/cac:BuyersItemIdentification/cbc:ID",
                f"{item}/cac:StandardItemIdentification/cbc:ID"),
        "description": (f"{item}/cbc:Name", f"{item}/cbc:Description"),
        "quantity": ("cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",),
        "unit_price": ("cac:Price/cbc:PriceAmount",),
        "price_basis": ("cac:Price/cbc:BaseQuantity",),
        "net_amount": ("cbc:LineExtensionAmount",),
        "tax_rate": (f"{item}/cac:ClassifiedTaxCategory/cbc:Percent",  # UBL 2.1 before BIS 3:
                     "cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:Percent"),
    }
    return Syntax("ubl_credit_note" if credit else "ubl_invoice", "invoice", fields,
                  "cac:CreditNoteLine" if credit else "cac:InvoiceLine", lines)


SYNTAXES: Mapping[str, Syntax] = {
    "cii": _cii("cii"),
    "order_x": _cii("order_x", order=True),
    "zugferd1": _renamed(_cii("cii"), "zugferd1", _ZF1_NAMES),
    "ubl_invoice": _ubl(False),
    "ubl_credit_note": _ubl(True),
}
CII_ROOTS = {"CrossIndustryInvoice": "cii", "SCRDMCCBDACIOMessageStructure": "order_x",
              "CrossIndustryDocument": "zugferd1"}
