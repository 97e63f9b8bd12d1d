"""SEPA direct debits as pain.008.001.08 files, built with `sepaxml` and checked against
the schema. Pure: records in, bytes out (the XSD is read from the sepaxml package).

Why pain.008.001.08: it is the version of the German banks' DFÜ-Abkommen Anlage 3
(v3.7, GBIC_4, in force since March 2024); the DK has ended pain.008.001.02 (GBIC_1-3)
at its end of life cycle (announced 11/2025, at some banks 14 November 2026).

What is checked before a file is written, each problem naming the invoice or customer:
the creditor identifier (ISO 7064 MOD 97-10), IBANs, amounts (EUR, > 0, whole cents:
converted to cents exactly, never through float), the SEPA character set and lengths of
ids, mandate dates, and that the collection date is a TARGET2 business day after today.
Then the XML is validated twice: by sepaxml itself on export (xmlschema, against the XSD
it ships) and, after the message and batch ids are made deterministic, by lxml against
the same XSD. The ids are derived from the file's contents, so the same collection
written twice carries the same MsgId and a bank's duplicate check refuses the second.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from importlib import resources

from lxml import etree
from sepaxml import SepaDD
from sepaxml.validation import ValidationError
from text_unidecode import unidecode

from engine.core.checks import iban_valid

PAIN = "pain.008.001.08"
NS = {"p": f"urn:iso:std:iso:20022:tech:xsd:{PAIN}"}
SEQUENCES = ("FRST", "RCUR")
_ID = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]{1,35}")  # the SEPA character set for references
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                         "ß": "ss"})
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")


class SepaError(ValueError):
    """The collection cannot be written; `problems` name each invoice or setting at fault."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Creditor:
    """Who collects: the company, its account and its SEPA creditor identifier."""

    name: str
    iban: str
    creditor_id: str
    bic: str = ""
    street: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = "DE"


@dataclass(frozen=True)
class Debit:
    """One collection: an invoice's open amount under the customer's mandate."""

    end_to_end_id: str  # the invoice number
    amount: Decimal
    debtor_name: str
    debtor_iban: str
    mandate_id: str
    mandate_date: date
    sequence: str  # FRST or RCUR
    remittance: str  # invoice number and RF reference
    debtor_street: str = ""
    debtor_postal_code: str = ""
    debtor_city: str = ""
    debtor_country: str = ""
    currency: str = "EUR"
    label: str = ""  # how problems name it, e.g. "invoice RE-2026-00001 (K-10001)"


def creditor_id_valid(creditor_id: str) -> bool:
    """A SEPA creditor identifier: country, check digits (MOD 97-10 over the national id,
    without the 3-character business code), business code, national id."""
    s = re.sub(r"\s", "", creditor_id).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{3}[A-Z0-9]{1,28}", s):
        return False
    digits = "".join(str(int(c, 36)) for c in s[7:] + s[:2] + s[2:4])
    return int(digits) % 97 == 1


def easter(year: int) -> date:
    """Easter Sunday (Gregorian; the anonymous algorithm of 1876)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def target2_open(day: date) -> bool:
    """TARGET2 settles on weekdays except 1 Jan, Good Friday, Easter Monday, 1 May, 25 and
    26 Dec: the only days a SEPA collection can be due."""
    if day.weekday() >= 5 or (day.month, day.day) in ((1, 1), (5, 1), (12, 25), (12, 26)):
        return False
    return day not in (easter(day.year) - timedelta(days=2), easter(day.year) + timedelta(days=1))


def earliest_collection_date(today: date) -> date:
    """The first TARGET2 day after today (CORE and B2B: submit by D-1)."""
    day = today + timedelta(days=1)
    while not target2_open(day):
        day += timedelta(days=1)
    return day


def sepa_text(text: str, limit: int) -> str:
    """Transliterated to the SEPA character set (ä → ae, ß → ss, & → +, anything else
    outside the set → space), spaces collapsed, cut to `limit`."""
    german = text.translate(_GERMAN).replace("&", "+")
    plain = _NOT_SEPA.sub(" ", unidecode(german))
    return re.sub(r"\s+", " ", plain).strip()[:limit]


def cents(amount: Decimal) -> int:
    """Whole cents, exactly; the caller has checked that `amount` has no fraction of a cent."""
    return int(amount.quantize(CENT).scaleb(2))


def problems(creditor: Creditor, debits: Sequence[Debit], collection_date: date,
             today: date) -> list[str]:
    """Everything that would make the file wrong or a bank refuse it; empty when fine."""
    found: list[str] = []
    if not creditor_id_valid(creditor.creditor_id):
        found.append(f"company.creditor_id: {creditor.creditor_id!r} is not a valid SEPA "
                     "creditor identifier (Gläubiger-ID) like DE98ZZZ09999999999")
    if not iban_valid(creditor.iban):
        found.append(f"company.iban: {creditor.iban!r} is not a valid IBAN")
    if collection_date < earliest_collection_date(today):
        found.append(f"collection date {collection_date}: must be a TARGET2 business day after "
                     f"today; the earliest is {earliest_collection_date(today)}")
    elif not target2_open(collection_date):
        found.append(f"collection date {collection_date}: TARGET2 is closed that day")
    if not debits:
        found.append("nothing to collect: a pain.008 file needs at least one transaction")
    for d in debits:
        found += [f"{d.label or d.end_to_end_id}: {p}" for p in debit_problems(d, collection_date)]
    return found


def debit_problems(d: Debit, collection_date: date) -> list[str]:
    """What is wrong with one transaction (without naming it); empty when fine."""
    found = []
    if d.currency != "EUR":
        found.append(f"SEPA collects euros only, not {d.currency}")
    if not (CENT <= d.amount <= MAX_AMOUNT) or d.amount != d.amount.quantize(CENT):
        found.append(f"amount {d.amount} must be from 0.01 to {MAX_AMOUNT} in whole cents")
    if not iban_valid(d.debtor_iban):
        found.append(f"the customer's IBAN {d.debtor_iban!r} is not valid")
    for what, value in (("end-to-end id", d.end_to_end_id), ("mandate id", d.mandate_id)):
        if not _ID.fullmatch(value) or value.startswith(" ") or value.endswith(" "):
            found.append(f"{what} {value!r} must be 1 to 35 characters of A-Z a-z 0-9 "
                         "/ - ? : ( ) . , ' + and inner spaces")
    if d.mandate_date > collection_date:
        found.append(f"the mandate is dated {d.mandate_date}, after the collection date")
    if d.sequence not in SEQUENCES:
        found.append(f"sequence type {d.sequence!r} is not FRST or RCUR")
    return found


def message_id(debits: Sequence[Debit], collection_date: date) -> str:
    """`DD-<date>-<hash of the transactions>`: the same collection, the same id."""
    lines = sorted(f"{d.end_to_end_id}|{d.mandate_id}|{d.amount}|{d.sequence}" for d in debits)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]
    return f"DD-{collection_date:%Y%m%d}-{digest}"


def build_pain008(creditor: Creditor, debits: Sequence[Debit], collection_date: date,
                  today: date, created_at: datetime, scheme: str = "CORE") -> bytes:
    """The pain.008.001.08 file: one batch per sequence type, FRST first. Raises SepaError
    with every problem at once, or when the XML does not validate against the schema."""
    found = problems(creditor, debits, collection_date, today)
    if found:
        raise SepaError(found)
    config = {"name": sepa_text(creditor.name, 70), "IBAN": creditor.iban.replace(" ", ""),
              "batch": True, "creditor_id": creditor.creditor_id.replace(" ", "").upper(),
              "currency": "EUR", "instrument": scheme,
              "address": _address(creditor.street, creditor.postal_code, creditor.city,
                                   creditor.country)}
    if creditor.bic:
        config["BIC"] = creditor.bic
    sepa = SepaDD(config, schema=PAIN, clean=True)
    for d in sorted(debits, key=lambda d: (SEQUENCES.index(d.sequence), d.end_to_end_id)):
        sepa.add_payment({
            "name": sepa_text(d.debtor_name, 70), "IBAN": d.debtor_iban.replace(" ", ""),
            "amount": cents(d.amount), "type": d.sequence, "collection_date": collection_date,
            "mandate_id": d.mandate_id, "mandate_date": d.mandate_date,
            "description": sepa_text(d.remittance, 140), "endtoend_id": d.end_to_end_id,
            "address": _address(d.debtor_street, d.debtor_postal_code, d.debtor_city,
                                d.debtor_country)})
    try:
        xml = sepa.export(validate=True)
    except ValidationError as exc:
        raise SepaError([f"{PAIN}: {exc.__cause__ or exc}"]) from exc
    xml = _fixed_ids(xml, message_id(debits, collection_date), created_at)
    errors = schema_errors(xml)
    if errors:
        raise SepaError(errors)
    return xml


def _address(street: str, postal_code: str, city: str, country: str) -> dict[str, str]:
    """A structured postal address (required by the EPC rulebooks from November 2025)."""
    fields = {"street_name": sepa_text(street, 70), "postcode": sepa_text(postal_code, 16),
              "town": sepa_text(city, 35), "country": country.upper()}
    return {k: v for k, v in fields.items() if v} if country else {}


def _fixed_ids(xml: bytes, msg_id: str, created_at: datetime) -> bytes:
    """Replace sepaxml's random MsgId and PmtInfIds and its local-clock CreDtTm."""
    root = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    header = root.find("p:CstmrDrctDbtInitn/p:GrpHdr", NS)
    assert header is not None
    header.find("p:MsgId", NS).text = msg_id  # type: ignore[union-attr]
    header.find("p:CreDtTm", NS).text = created_at.strftime("%Y-%m-%dT%H:%M:%S")  # type: ignore[union-attr]
    for info in root.iterfind("p:CstmrDrctDbtInitn/p:PmtInf", NS):
        sequence = info.findtext("p:PmtTpInf/p:SeqTp", namespaces=NS)
        info.find("p:PmtInfId", NS).text = f"{msg_id}-{sequence}"  # type: ignore[union-attr]
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@cache
def _schema() -> etree.XMLSchema:
    xsd = resources.files("sepaxml").joinpath("schemas", f"{PAIN}.xsd").read_bytes()
    return etree.XMLSchema(etree.fromstring(xsd))


def schema_errors(xml: bytes) -> list[str]:
    """Where `xml` breaks the pain.008.001.08 schema shipped with sepaxml: `line N: …`."""
    try:
        doc = etree.fromstring(xml, parser=etree.XMLParser(resolve_entities=False,
                                                           no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"{PAIN}: not well-formed XML: {exc}"]
    schema = _schema()
    if schema.validate(doc):
        return []
    return [f"{PAIN} line {e.line}: {e.message}" for e in schema.error_log]
