"""ISO 20022 bank statements: read camt.052/053/054 (any version, also zipped), write camt.053.

`read_camt` never raises on bad input: every problem becomes an `Issue` whose message names
the element path (``Stmt[1]/Ntry[3]/Amt``); an element that cannot be read as written
(amount, indicator, date, batch details, a ZIP member) gives a `Malformed` issue, on which
the import books nothing of the file, while a balance that does not add up is reported. XML is parsed with defusedxml and any DOCTYPE is
refused, so entity expansion and external entities cannot happen. Amounts keep the precision
written in the file and are signed by CdtDbtInd (DBIT negative). A batch entry with several
TxDtls becomes one `StatementEntry` per transaction (source ``... entry 2 tx 1``). Entries
whose status is not BOOK (pending or information only, as camt.052 may carry) are left out:
they do not move the booked balance.

`write_camt053` writes a camt.053.001.08 statement, as a bank would send it, from a `Statement`.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import TypeAlias
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from lxml import etree

from documents.statement_errors import Malformed
from engine.core.money import round_money
from engine.core.records import Issue, Statement, StatementEntry

CAMT_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.05"
CAMT053_NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

_REPORTS = {"BkToCstmrStmt": "Stmt", "BkToCstmrAcctRpt": "Rpt", "BkToCstmrDbtCdtNtfctn": "Ntfctn"}
_AMOUNT = re.compile(r"[0-9]{1,18}(\.[0-9]{1,10})?")
# xs:date (a zone may follow) or xs:dateTime, of which the date part counts
_DATE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})([TZ+-][0-9:.TZ+-]*)?")
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XmlElement: TypeAlias = etree._Element
_MAX_MEMBER = 64 * 1024 * 1024  # a ZIP member larger than this is refused, not unpacked


def read_camt(data: bytes, source: str) -> tuple[tuple[Statement, ...], list[Issue]]:
    """Statements in a camt.052/053/054 file or a ZIP of them, and the problems found."""
    try:
        if data[:2] == b"PK":
            return _read_zip(data, source)
        return _read_xml(data, source)
    except Exception as exc:  # the contract is "issues, never exceptions" for any input
        return (), [Issue(source, f"could not be read ({type(exc).__name__}: {exc})")]


def _read_zip(data: bytes, source: str) -> tuple[tuple[Statement, ...], list[Issue]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and info.filename.lower().endswith(".xml")
            and not info.filename.startswith("__MACOSX/")
            and not info.filename.rsplit("/", 1)[-1].startswith("._")
        ]
    except Exception as exc:  # zipfile raises BadZipFile, OSError, ValueError, EOFError ...
        return (), [Issue(source, f"not a readable ZIP archive ({exc})")]
    if not members:
        return (), [Issue(source, "ZIP archive holds no .xml member")]
    statements: list[Statement] = []
    issues: list[Issue] = []
    for info in members:
        where = f"{source}/{info.filename}"
        try:
            with archive.open(info) as member:
                content = member.read(_MAX_MEMBER + 1)
        except Exception as exc:  # encrypted, unsupported compression, corrupt data ...
            issues.append(Malformed(where, f"ZIP member cannot be unpacked ({exc})"))
            continue
        if len(content) > _MAX_MEMBER:
            issues.append(Malformed(where, f"ZIP member larger than {_MAX_MEMBER} bytes, refused"))
            continue
        found, member_issues = _read_xml(content, where)
        statements.extend(found)
        # a member that yields no statement is a part of the file lost: the file is malformed
        issues.extend(i if found or isinstance(i, Malformed) else Malformed(i.where, i.message)
                      for i in member_issues)
    return tuple(statements), issues


def _read_xml(data: bytes, source: str) -> tuple[tuple[Statement, ...], list[Issue]]:
    try:
        root = safe_fromstring(data.removeprefix(b"\xef\xbb\xbf").lstrip(), forbid_dtd=True)
    except DefusedXmlException as exc:
        reason = f"refused: the XML declares a DTD or entities ({type(exc).__name__})"
        return (), [Issue(source, f"{reason}; bank statements never need them")]
    except (ParseError, ValueError, LookupError, UnicodeError) as exc:
        return (), [Issue(source, f"not well-formed XML ({exc})")]
    if not isinstance(root.tag, str) or not root.tag.startswith("{" + CAMT_PREFIX):
        return (), [Issue(source, f"not an ISO 20022 camt.05x document (root {root.tag!r})")]
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.split("}", 1)[1]
    report = next((child for child in root if child.tag in _REPORTS), None)
    if report is None:
        names = ", ".join(_REPORTS)
        return (), [Issue(source, f"{root.tag}: none of {names} found")]
    kind = _REPORTS[report.tag]
    elements = report.findall(kind)
    if not elements:
        return (), [Issue(source, f"{root.tag}/{report.tag}: no {kind}, no statements at all")]
    reader = _Reader(source)
    single = len(elements) == 1
    statements = tuple(
        reader.statement(element, f"{kind}[{i}]", source if single else f"{source} {kind} {i}")
        for i, element in enumerate(elements, 1)
    )
    return statements, reader.issues


def _text(element: Element | None, path: str) -> str:
    found = None if element is None else element.find(path)
    return "" if found is None or found.text is None else found.text.strip()


class _Reader:
    """Reads statements of one file and collects its issues."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.issues: list[Issue] = []

    def issue(self, path: str, message: str, *, bad: bool = False) -> None:
        """Report a problem at an element path; `bad`: the element is malformed (the file
        is refused as a whole), else it is only reported (a balance that does not add up)."""
        kind = Malformed if bad else Issue
        self.issues.append(kind(self.source, f"{path}: {message}"))

    def signed(self, amt: Element | None, indicator: str, path: str) -> Decimal | None:
        """The amount in `amt`, negative for DBIT; None (with an issue) when unreadable."""
        text = "" if amt is None or amt.text is None else amt.text.strip()
        if not _AMOUNT.fullmatch(text):
            message = f"missing or invalid amount {text!r}" if text else "missing amount"
            self.issue(path, message, bad=True)
            return None
        if indicator not in ("CRDT", "DBIT"):
            self.issue(path, f"CdtDbtInd must be CRDT or DBIT, not {indicator!r}", bad=True)
            return None
        value = Decimal(text)
        return -value if indicator == "DBIT" and value else value

    def day(self, element: Element, name: str, path: str) -> date | None:
        """Date of `name`/Dt or `name`/DtTm; None if absent, None with an issue if bad."""
        holder = element.find(name)
        if holder is None:
            return None
        text = _text(holder, "Dt") or _text(holder, "DtTm")
        match = _DATE.fullmatch(text)
        try:
            if match:
                return date.fromisoformat(match.group(1))
        except ValueError:
            pass
        message = f"invalid date {text!r}" if text else "no Dt or DtTm"
        self.issue(f"{path}/{name}", message, bad=True)
        return None

    def statement(self, element: Element, path: str, where: str) -> Statement:
        account = _text(element, "Acct/Id/IBAN") or _text(element, "Acct/Id/Othr/Id")
        if not account:
            self.issue(f"{path}/Acct/Id", "no IBAN or Othr/Id, account unknown")
        balances: dict[str, Decimal] = {}
        for i, bal in enumerate(element.findall("Bal"), 1):
            code = _text(bal, "Tp/CdOrPrtry/Cd")
            key = {"OPBD": "open", "PRCD": "open", "CLBD": "close"}.get(code)
            if key and key not in balances:
                indicator, bal_path = _text(bal, "CdtDbtInd"), f"{path}/Bal[{i}]/Amt"
                value = self.signed(bal.find("Amt"), indicator, bal_path)
                if value is not None:
                    balances[key] = value
        currencies = [a.get("Ccy", "") for a in element.iterfind("Bal/Amt")]
        currencies += [a.get("Ccy", "") for a in element.iterfind("Ntry/Amt")]
        currency = _text(element, "Acct/Ccy") or next((c for c in currencies if c), "")
        entries: list[StatementEntry] = []
        for n, ntry in enumerate(element.findall("Ntry"), 1):
            entries.extend(self.entries(ntry, f"{path}/Ntry[{n}]", f"{where} entry {n}", currency))
        opening, closing = balances.get("open"), balances.get("close")
        if opening is not None and closing is not None:
            total = sum((e.amount for e in entries), Decimal("0"))
            if opening + total != closing:
                found = f"opening {opening} + entries {total} = {opening + total}"
                self.issue(path, f"{found}, but the closing balance is {closing}")
        return Statement(
            account=account,
            currency=currency,
            statement_id=_text(element, "Id"),
            opening_balance=opening,
            closing_balance=closing,
            entries=tuple(entries),
            source=where,
        )

    def entries(self, ntry: Element, path: str, where: str, currency: str) -> list[StatementEntry]:
        """One entry, or one per TxDtls of a batch; [] when unusable or not booked."""
        status = _text(ntry, "Sts/Cd") or _text(ntry, "Sts")
        if status and status != "BOOK":
            return []
        indicator = _text(ntry, "CdtDbtInd")
        amount = self.signed(ntry.find("Amt"), indicator, f"{path}/Amt")
        booked, valued = self.day(ntry, "BookgDt", path), self.day(ntry, "ValDt", path)
        if ntry.find("BookgDt") is None and ntry.find("ValDt") is None:
            self.issue(path, "no BookgDt and no ValDt, entry left out", bad=True)
        booked = booked or valued
        if amount is None or booked is None:
            return []
        ccy = _attr(ntry.find("Amt"), "Ccy") or currency
        txs = ntry.findall("NtryDtls/TxDtls")
        parts: list[tuple[Decimal, str, Element | None]] | None = None
        if len(txs) > 1:
            parts = self.batch(txs, indicator, path, ccy)
            total = sum((value for value, _, _ in parts or ()), Decimal("0"))
            if parts is None:
                self.issue(f"{path}/NtryDtls", "batch kept as one entry: a TxDtls has no amount",
                           bad=True)
            elif total != amount:
                self.issue(f"{path}/NtryDtls", f"TxDtls add up to {total}, entry says {amount}",
                           bad=True)
        if parts is None:
            parts = [(amount, ccy, txs[0] if len(txs) == 1 else None)]
        bank_reference = _text(ntry, "AcctSvcrRef")
        return [
            StatementEntry(
                booking_date=booked,
                value_date=valued,
                amount=value,
                currency=value_ccy,
                bank_reference=bank_reference or _text(tx, "Refs/AcctSvcrRef"),
                source=where if len(parts) == 1 else f"{where} tx {k}",
                **_details(tx, value > 0 or (not value and indicator == "CRDT")),
            )
            for k, (value, value_ccy, tx) in enumerate(parts, 1)
        ]

    def batch(
        self, txs: list[Element], indicator: str, path: str, currency: str
    ) -> list[tuple[Decimal, str, Element | None]] | None:
        """(signed amount, currency, TxDtls) per transaction; None if one has no amount."""
        parts: list[tuple[Decimal, str, Element | None]] = []
        for k, tx in enumerate(txs, 1):
            name = "AmtDtls/TxAmt/Amt" if tx.find("AmtDtls/TxAmt/Amt") is not None else "Amt"
            amt, amt_path = tx.find(name), f"{path}/NtryDtls/TxDtls[{k}]/{name}"
            value = self.signed(amt, _text(tx, "CdtDbtInd") or indicator, amt_path)
            if value is None:
                return None
            parts.append((value, _attr(amt, "Ccy") or currency, tx))
        return parts


def _attr(element: Element | None, name: str) -> str:
    return "" if element is None else element.get(name, "").strip()


def _details(tx: Element | None, credit: bool) -> dict[str, str]:
    """Counterparty, references and remittance text of one TxDtls (the debtor pays a credit)."""
    if tx is None:
        return {}
    party, account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
    e2e = _text(tx, "Refs/EndToEndId")
    texts = (_text(u, ".") for u in tx.iterfind("RmtInf/Ustrd"))
    return {
        "counterparty_name": _text(tx, f"RltdPties/{party}/Nm")
        or _text(tx, f"RltdPties/{party}/Pty/Nm"),
        "counterparty_iban": _text(tx, f"RltdPties/{account}/Id/IBAN"),
        "reference": _text(tx, "RmtInf/Strd/CdtrRefInf/Ref"),
        "remittance_info": " ".join(t for t in texts if t),
        "end_to_end_id": "" if e2e.upper() == "NOTPROVIDED" else e2e,
    }


def write_camt053(
    statement: Statement, *, message_id: str, created: datetime, owner_name: str
) -> bytes:
    """A camt.053.001.08 document with one Stmt for `statement`, UTF-8 with declaration.

    A balance that is None is left out (the schema wants at least one Bal). A reference
    starting with RF is typed SCOR; any other goes to CdtrRefInf/Ref untyped, so it survives.
    """
    stamp = created.isoformat(timespec="seconds")
    document = etree.Element(f"{{{CAMT053_NS}}}Document", nsmap={None: CAMT053_NS})
    report = _sub(document, "BkToCstmrStmt")
    header = _sub(report, "GrpHdr")
    _sub(header, "MsgId", message_id)
    _sub(header, "CreDtTm", stamp)
    stmt = _sub(report, "Stmt")
    _sub(stmt, "Id", statement.statement_id or message_id)
    _sub(stmt, "CreDtTm", stamp)
    account = _sub(stmt, "Acct")
    _account_id(account, statement.account)
    _sub(account, "Ccy", statement.currency)
    if owner_name:
        _sub(_sub(account, "Ownr"), "Nm", owner_name)
    days = sorted(e.booking_date for e in statement.entries) or [created.date()]
    for code, value, day in (
        ("OPBD", statement.opening_balance, days[0]),
        ("CLBD", statement.closing_balance, days[-1]),
    ):
        if value is not None:
            bal = _sub(stmt, "Bal")
            _sub(_sub(_sub(bal, "Tp"), "CdOrPrtry"), "Cd", code)
            _amount(bal, value, statement.currency)
            _sub(_sub(bal, "Dt"), "Dt", day.isoformat())
    for entry in statement.entries:
        _entry(stmt, entry)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _sub(parent: _XmlElement, tag: str, text: str | None = None, **attrib: str) -> _XmlElement:
    element = etree.SubElement(parent, f"{{{CAMT053_NS}}}{tag}", attrib)
    if text is not None:
        element.text = _NOT_XML.sub("", text)
    return element


def _account_id(parent: _XmlElement, account: str) -> None:
    ident = _sub(parent, "Id")
    if _IBAN.fullmatch(account):
        _sub(ident, "IBAN", account)
    else:
        _sub(_sub(ident, "Othr"), "Id", account)


def _amount(parent: _XmlElement, value: Decimal, currency: str) -> None:
    """Amt (two decimals, no sign) and CdtDbtInd carrying the sign."""
    _sub(parent, "Amt", f"{round_money(abs(value)):.2f}", Ccy=currency)
    _sub(parent, "CdtDbtInd", "DBIT" if value < 0 else "CRDT")


def _entry(stmt: _XmlElement, entry: StatementEntry) -> None:
    credit = entry.amount >= 0
    ntry = _sub(stmt, "Ntry")
    _amount(ntry, entry.amount, entry.currency)
    _sub(_sub(ntry, "Sts"), "Cd", "BOOK")
    _sub(_sub(ntry, "BookgDt"), "Dt", entry.booking_date.isoformat())
    if entry.value_date is not None:
        _sub(_sub(ntry, "ValDt"), "Dt", entry.value_date.isoformat())
    if entry.bank_reference:
        _sub(ntry, "AcctSvcrRef", entry.bank_reference)
    domain = _sub(_sub(ntry, "BkTxCd"), "Domn")
    _sub(domain, "Cd", "PMNT")
    family = _sub(domain, "Fmly")
    _sub(family, "Cd", "RCDT" if credit else "ICDT")
    _sub(family, "SubFmlyCd", "ESCT")
    tx = _sub(_sub(ntry, "NtryDtls"), "TxDtls")
    _sub(_sub(tx, "Refs"), "EndToEndId", entry.end_to_end_id or "NOTPROVIDED")
    _amount(tx, entry.amount, entry.currency)
    if entry.counterparty_name or entry.counterparty_iban:
        parties = _sub(tx, "RltdPties")
        party, account = ("Dbtr", "DbtrAcct") if credit else ("Cdtr", "CdtrAcct")
        if entry.counterparty_name:
            _sub(_sub(_sub(parties, party), "Pty"), "Nm", entry.counterparty_name)
        if entry.counterparty_iban:
            _sub(_sub(_sub(parties, account), "Id"), "IBAN", entry.counterparty_iban)
    chunks = _chunks(entry.remittance_info)
    if chunks or entry.reference:
        remittance = _sub(tx, "RmtInf")
        for chunk in chunks:
            _sub(remittance, "Ustrd", chunk)
        if entry.reference:
            creditor_ref = _sub(_sub(remittance, "Strd"), "CdtrRefInf")
            if entry.reference.startswith("RF"):  # ISO 11649 creditor reference
                _sub(_sub(_sub(creditor_ref, "Tp"), "CdOrPrtry"), "Cd", "SCOR")
            _sub(creditor_ref, "Ref", entry.reference)


def _chunks(text: str, size: int = 140) -> list[str]:
    """Split at spaces into Ustrd pieces of at most `size`; joined by a space they give `text`."""
    text, pieces = text.strip(), []
    while len(text) > size:
        cut = text.rfind(" ", 1, size + 1)
        if cut <= 0:
            pieces.append(text[:size])
            text = text[size:]
        else:
            pieces.append(text[:cut].rstrip())
            text = text[cut + 1 :].lstrip()
    return [p for p in [*pieces, text] if p]
