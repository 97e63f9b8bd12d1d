"""camt reader and camt.053 writer: round trip, the shared corpora, hostile input, ZIP."""

from __future__ import annotations

import ast
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from documents.camt import CAMT053_NS, read_camt, write_camt053
from documents.statement_errors import malformed
from engine.core.records import Issue, Statement, StatementEntry
from tests.conftest import corpus_dir, corpus_files, mutated

CAMT = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "camt"
NS = {"c": CAMT053_NS}


def _round_trip_statement(source: str = "rt.xml") -> Statement:
    entries = (
        StatementEntry(
            booking_date=date(2024, 3, 1),
            value_date=date(2024, 3, 1),
            amount=Decimal("1190.00"),
            currency="EUR",
            counterparty_name="Müller & Söhne GmbH",
            counterparty_iban="DE89370400440532013000",
            reference="RF18539007547034",
            remittance_info="Rechnung RE-2024-0042 vom 01.02.2024",
            end_to_end_id="E2E-0042",
            bank_reference="2024030100001",
            source=f"{source} entry 1",
        ),
        StatementEntry(  # credit without any reference, remittance text longer than 140
            booking_date=date(2024, 3, 1),
            value_date=None,
            amount=Decimal("57.35"),
            currency="EUR",
            counterparty_name="Kleinkunde <Bäcker> Ltd.",
            remittance_info=" ".join(f"RE-2024-{n:04d}" for n in range(1, 30)),
            source=f"{source} entry 2",
        ),
        StatementEntry(  # debit with a reference that is no ISO 11649 RF reference
            booking_date=date(2024, 3, 2),
            value_date=date(2024, 3, 4),
            amount=Decimal("-250.10"),
            currency="EUR",
            counterparty_name="Lieferant AG",
            counterparty_iban="AT611904300234573201",
            reference="LF-77881",
            remittance_info="Kundennr 4711",
            end_to_end_id="PAY-2024-03-02",
            bank_reference="2024030200017",
            source=f"{source} entry 3",
        ),
        StatementEntry(  # bare debit: bank fee
            booking_date=date(2024, 3, 2),
            value_date=date(2024, 3, 2),
            amount=Decimal("-4.90"),
            currency="EUR",
            source=f"{source} entry 4",
        ),
    )
    opening = Decimal("-100.00")
    return Statement(
        account="DE02120300000000202051",
        currency="EUR",
        statement_id="STMT-2024-061",
        opening_balance=opening,
        closing_balance=opening + sum(e.amount for e in entries),
        entries=entries,
        source=source,
    )


def _write(statement: Statement) -> bytes:
    return write_camt053(
        statement,
        message_id="MSG-2024-03-02-1",
        created=datetime(2024, 3, 2, 18, 30),
        owner_name="Beispiel Handel GmbH",
    )


# ---------------------------------------------------------------- round trip and writer


def test_round_trip_keeps_every_field() -> None:
    statement = _round_trip_statement()
    statements, issues = read_camt(_write(statement), "rt.xml")
    assert issues == []
    assert statements == (statement,)


def test_written_document_follows_camt053_001_08() -> None:
    data = _write(_round_trip_statement())
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(data)
    assert root.tag == f"{{{CAMT053_NS}}}Document"
    assert root.findtext("c:BkToCstmrStmt/c:GrpHdr/c:MsgId", namespaces=NS) == "MSG-2024-03-02-1"
    stmt = root.find("c:BkToCstmrStmt/c:Stmt", NS)
    assert stmt.findtext("c:Acct/c:Id/c:IBAN", namespaces=NS) == "DE02120300000000202051"
    assert stmt.findtext("c:Acct/c:Ownr/c:Nm", namespaces=NS) == "Beispiel Handel GmbH"
    balances = stmt.findall("c:Bal", NS)
    assert [b.findtext("c:Tp/c:CdOrPrtry/c:Cd", namespaces=NS) for b in balances] == [
        "OPBD",
        "CLBD",
    ]
    assert balances[0].findtext("c:Amt", namespaces=NS) == "100.00"  # no sign ...
    assert balances[0].findtext("c:CdtDbtInd", namespaces=NS) == "DBIT"  # ... it is here
    entries = stmt.findall("c:Ntry", NS)
    assert [e.findtext("c:Amt", namespaces=NS) for e in entries] == [
        "1190.00",
        "57.35",
        "250.10",
        "4.90",
    ]
    assert [e.findtext("c:BkTxCd/c:Domn/c:Fmly/c:Cd", namespaces=NS) for e in entries] == [
        "RCDT",
        "RCDT",
        "ICDT",
        "ICDT",
    ]
    first, second, third, fourth = (e.find("c:NtryDtls/c:TxDtls", NS) for e in entries)
    scor = "c:RmtInf/c:Strd/c:CdtrRefInf/c:Tp/c:CdOrPrtry/c:Cd"
    assert first.findtext(scor, namespaces=NS) == "SCOR"
    assert third.find(scor, NS) is None  # LF-77881 is not an RF reference
    assert first.findtext("c:RltdPties/c:Dbtr/c:Pty/c:Nm", namespaces=NS) == "Müller & Söhne GmbH"
    assert third.findtext("c:RltdPties/c:Cdtr/c:Pty/c:Nm", namespaces=NS) == "Lieferant AG"
    assert second.findtext("c:Refs/c:EndToEndId", namespaces=NS) == "NOTPROVIDED"
    assert all(len(u.text) <= 140 for u in second.findall("c:RmtInf/c:Ustrd", NS))
    assert len(second.findall("c:RmtInf/c:Ustrd", NS)) > 1
    assert fourth.find("c:RltdPties", NS) is None
    assert entries[1].find("c:ValDt", NS) is None


def test_statement_without_balances_round_trips_as_none() -> None:
    statement = _round_trip_statement()
    statement = Statement(
        account=statement.account,
        currency="EUR",
        statement_id="S1",
        opening_balance=None,
        closing_balance=None,
        entries=statement.entries[:1],
        source="rt.xml",
    )
    assert read_camt(_write(statement), "rt.xml") == ((statement,), [])


# ---------------------------------------------------------------- reading details

CAMT052 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08">
 <BkToCstmrAcctRpt>
  <GrpHdr><MsgId>M1</MsgId><CreDtTm>2024-05-02T07:00:00</CreDtTm></GrpHdr>
  <Rpt>
   <Id>R-1</Id>
   <Acct><Id><Othr><Id>0123456789</Id></Othr></Id></Acct>
   <Bal><Tp><CdOrPrtry><Cd>PRCD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">500.00</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-05-01</Dt></Dt></Bal>
   <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>
    <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2024-05-02</Dt></Dt></Bal>
   <Ntry>
    <Amt Ccy="EUR">500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
    <BookgDt><DtTm>2024-05-02T09:15:00+02:00</DtTm></BookgDt><ValDt><Dt>2024-05-02</Dt></ValDt>
    <AcctSvcrRef>BATCH-7</AcctSvcrRef>
    <NtryDtls>
     <TxDtls>
      <Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
      <AmtDtls><TxAmt><Amt Ccy="EUR">300.00</Amt></TxAmt></AmtDtls>
      <RltdPties><Dbtr><Pty><Nm>Kunde Eins</Nm></Pty></Dbtr>
       <DbtrAcct><Id><IBAN>DE75512108001245126199</IBAN></Id></DbtrAcct></RltdPties>
      <RmtInf><Ustrd>RE-1</Ustrd><Ustrd>RE-2</Ustrd></RmtInf>
     </TxDtls>
     <TxDtls>
      <Refs><EndToEndId>E2E-2</EndToEndId></Refs>
      <Amt Ccy="EUR">200.00</Amt>
      <RltdPties><Dbtr><Nm>Kunde Zwei</Nm></Dbtr></RltdPties>
      <RmtInf><Strd><CdtrRefInf><Ref>RF71254</Ref></CdtrRefInf></Strd></RmtInf>
     </TxDtls>
    </NtryDtls>
   </Ntry>
   <Ntry>
    <Amt Ccy="EUR">99.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
    <BookgDt><Dt>2024-05-03</Dt></BookgDt>
   </Ntry>
  </Rpt>
 </BkToCstmrAcctRpt>
</Document>
"""


def test_camt052_batch_is_split_per_transaction() -> None:
    (statement,), issues = read_camt(CAMT052.encode(), "bank.xml")
    assert issues == []
    assert (statement.account, statement.currency, statement.statement_id) == (
        "0123456789",
        "EUR",
        "R-1",
    )
    assert (statement.opening_balance, statement.closing_balance) == (
        Decimal("500.00"),
        Decimal("1000.00"),
    )
    one, two = statement.entries  # the pending entry is not booked and left out
    assert (one.amount, one.booking_date, one.value_date) == (
        Decimal("300.00"),
        date(2024, 5, 2),
        date(2024, 5, 2),
    )
    assert (one.counterparty_name, one.counterparty_iban) == (
        "Kunde Eins",
        "DE75512108001245126199",
    )
    assert (one.remittance_info, one.end_to_end_id, one.bank_reference) == (
        "RE-1 RE-2",
        "",
        "BATCH-7",
    )
    assert (two.amount, two.counterparty_name, two.reference) == (
        Decimal("200.00"),
        "Kunde Zwei",
        "RF71254",
    )
    assert (two.end_to_end_id, two.source) == ("E2E-2", "bank.xml entry 1 tx 2")


def test_bad_amount_and_date_are_issues_naming_the_element() -> None:
    root = etree.fromstring(_write(_round_trip_statement()))
    entries = root.findall("c:BkToCstmrStmt/c:Stmt/c:Ntry", NS)
    entries[0].find("c:Amt", NS).text = "12,5"
    entries[2].find("c:BookgDt/c:Dt", NS).text = "2.3.24"
    statements, issues = read_camt(etree.tostring(root), "broken.xml")
    messages = [str(i) for i in issues]
    assert any(m.startswith("broken.xml: Stmt[1]/Ntry[1]/Amt: ") for m in messages)
    assert any("Stmt[1]/Ntry[3]/BookgDt: invalid date '2.3.24'" in m for m in messages)
    assert any("closing balance" in m for m in messages)  # the dropped entry shows
    assert len(statements) == 1 and len(statements[0].entries) == 3


def test_balance_mismatch_is_reported_but_statement_returned() -> None:
    statement = _round_trip_statement()
    wrong = Statement(**{**statement.__dict__, "closing_balance": Decimal("1.00")})
    statements, issues = read_camt(_write(wrong), "rt.xml")
    assert statements == (wrong,)
    assert len(issues) == 1 and "closing balance is 1.00" in issues[0].message


def test_no_statements_and_foreign_xml_are_issues() -> None:
    empty = b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt/>'
    assert read_camt(empty + b"</Document>", "e.xml")[0] == ()
    assert "no Stmt" in read_camt(empty + b"</Document>", "e.xml")[1][0].message
    statements, issues = read_camt(b"<Invoice xmlns='urn:x'/>", "i.xml")
    assert statements == () and "not an ISO 20022 camt" in issues[0].message


# ---------------------------------------------------------------- ZIP


def test_zipped_camt_is_read_with_member_sources() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("2024/march.xml", _write(_round_trip_statement()))
        archive.writestr("readme.txt", "not a statement")
        archive.writestr("may.XML", CAMT052)
    statements, issues = read_camt(buffer.getvalue(), "bank.zip")
    assert issues == []
    assert [s.source for s in statements] == ["bank.zip/2024/march.xml", "bank.zip/may.XML"]
    assert statements[0] == _round_trip_statement("bank.zip/2024/march.xml")


def test_zip_without_xml_is_an_issue() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    assert read_camt(buffer.getvalue(), "x.zip") == (
        (),
        [Issue("x.zip", "ZIP archive holds no .xml member")],
    )


# ---------------------------------------------------------------- hostile input

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><Stmt><Id>&lol9;</Id></Stmt></BkToCstmrStmt>
</Document>
"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
 <BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt>
</Document>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, XXE], ids=["billion-laughs", "xxe"])
def test_entity_tricks_are_refused(data: bytes) -> None:
    statements, issues = read_camt(data, "evil.xml")
    assert statements == ()
    assert len(issues) == 1
    assert issues[0].where == "evil.xml" and "refused" in issues[0].message
    assert "root:" not in issues[0].message


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\xff\xfe garbage \x81", b"PK\x03\x04 not really a zip", b"<Document", b"{}"],
)
def test_garbage_gives_an_issue(data: bytes) -> None:
    statements, issues = read_camt(data, "junk.bin")
    assert statements == () and len(issues) == 1 and issues[0].where == "junk.bin"


def _check_contract(result: tuple[tuple[Statement, ...], list[Issue]]) -> None:
    statements, issues = result
    assert isinstance(statements, tuple) and isinstance(issues, list)
    assert all(isinstance(s, Statement) for s in statements)
    assert all(isinstance(i, Issue) for i in issues)
    assert statements or issues
    # the catch-all in read_camt is a last resort: no input should reach it
    assert not any(i.message.startswith("could not be read") for i in issues)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=2048),
        st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b),
        st.text(max_size=512).map(
            lambda t: (
                '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
                f"<BkToCstmrStmt>{t}</BkToCstmrStmt></Document>"
            ).encode("utf-8", "surrogatepass")
        ),
    )
)
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    _check_contract(read_camt(data, "fuzz"))


_VALID = _write(_round_trip_statement())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(_VALID) - 1), st.binary(max_size=4)), min_size=1, max_size=4
    )
)
def test_mutated_statement_never_raises(edits: list[tuple[int, bytes]]) -> None:
    _check_contract(read_camt(mutated(_VALID, edits), "mutated.xml"))


# ---------------------------------------------------------------- shared corpora

# Files whose balances add up (opening + entries == closing) and files that do not.
CONSISTENT = {
    "oca/test-camt053-no-ntry",
    "oca/test-camt053-txdtls",
    "ofxstatement/camt052.xml",
    "ofxstatement/camt053.xml",
    "ofxstatement/davider80.xml",
    "ofxstatement/simple.xml",
}
INCONSISTENT = {"oca/test-camt053", "oca/test-camt053.zip", "ofxstatement/gcamp6.xml"}
NO_BALANCES = {"oca/test-camt054"}
NOT_CAMT = {"ofxstatement/unsupported.xml"}


def _corpus() -> Path:
    return corpus_dir(CAMT)


def _corpus_files() -> list[str]:
    return corpus_files(CAMT, skip_suffixes=(".pydata",))


def _read(name: str) -> tuple[tuple[Statement, ...], list[Issue]]:
    path = _corpus() / name
    return read_camt(path.read_bytes(), path.name)


@pytest.mark.parametrize("name", _corpus_files())
def test_corpus_file_is_read(name: str) -> None:
    statements, issues = _read(name)
    if name in NOT_CAMT:
        assert statements == () and "not an ISO 20022 camt" in issues[0].message
        return
    assert name in CONSISTENT | INCONSISTENT | NO_BALANCES, f"new corpus file {name}: classify it"
    assert statements
    entries = [e for s in statements for e in s.entries]
    assert all(isinstance(e.amount, Decimal) and e.currency for e in entries)
    if entries:
        assert any(e.amount != 0 for e in entries)
    for statement in statements:
        opening, closing = statement.opening_balance, statement.closing_balance
        if name in NO_BALANCES:
            assert opening is None and closing is None
            continue
        assert opening is not None and closing is not None
        adds_up = opening + sum(e.amount for e in statement.entries) == closing
        assert adds_up == (name in CONSISTENT)
    if name in CONSISTENT | NO_BALANCES:
        assert issues == []
    else:
        assert issues and all("closing balance" in i.message for i in issues)


def _golden(name: str) -> tuple:
    return ast.literal_eval((_corpus() / "oca" / f"golden-{name}.pydata").read_text("utf-8"))


@pytest.mark.parametrize("name", ["camt053", "camt053-txdtls", "camt054"])
def test_corpus_matches_golden_values(name: str) -> None:
    currency, account, golden_statements = _golden(name)
    statements, _ = _read(f"oca/test-{name}")
    assert len(statements) == len(golden_statements)
    for statement, golden in zip(statements, golden_statements, strict=True):
        assert (statement.currency, statement.account) == (currency, account)
        assert statement.statement_id == golden["name"]
        if statement.opening_balance is not None:
            assert statement.opening_balance == Decimal(str(golden["balance_start"]))
            assert statement.closing_balance == Decimal(str(golden["balance_end_real"]))
        assert len(statement.entries) == len(golden["transactions"])
        for entry, tx in zip(statement.entries, golden["transactions"], strict=True):
            assert entry.amount == Decimal(str(tx["amount"]))
            assert entry.booking_date == date.fromisoformat(tx["date"])
            assert entry.counterparty_name == tx["partner_name"]
            assert entry.counterparty_iban == tx["account_number"]
            assert tx["ref"] in (entry.reference, entry.end_to_end_id)


def test_corpus_golden_facts() -> None:
    _corpus()
    # golden-camt053: the reversed batch of 664.05 is two transactions, -564.05 and -100.00
    (statement,), _ = _read("oca/test-camt053")
    assert [e.amount for e in statement.entries] == [
        Decimal("-754.25"),
        Decimal("-564.05"),
        Decimal("-100.00"),
        Decimal("1405.31"),
    ]
    assert statement.entries[1].source == "test-camt053 entry 2 tx 1"
    # golden-camt053-txdtls: CHF 3483.00 credited as 2187.00 + 1296.00 with ISR references
    (statement,), _ = _read("oca/test-camt053-txdtls")
    assert [e.reference for e in statement.entries] == [
        "302388292000011111111111111",
        "302388292000022222222222222",
    ]
    assert statement.opening_balance == Decimal("75960.15")
    assert statement.closing_balance == Decimal("79443.15")
    assert sum(e.amount for e in statement.entries) == Decimal("3483.00")
    # golden-camt053-no-ntry has no transactions; the statement itself is still there
    assert _golden("camt053-no-ntry") == (None, None, [])
    (statement,), issues = _read("oca/test-camt053-no-ntry")
    assert statement.entries == () and issues == []
    # the ZIP holds two months; each file names its member
    statements, _ = _read("oca/test-camt053.zip")
    assert [s.statement_id for s in statements] == ["1234Test/2", "1234Test/3"]
    assert statements[0].source == "test-camt053.zip/test-camt053_02.xml"
    # camt.053.001.08 with Dbtr/Pty/Nm and an Othr account id
    (statement,), _ = _read("ofxstatement/camt053.xml")
    assert statement.account == "0035-2915203-10-000"
    assert statement.entries[0].counterparty_name == "PAYEE"
    assert statement.entries[0].amount == Decimal("1284.30")


def test_a_malformed_element_refuses_the_file_a_balance_mismatch_does_not() -> None:
    root = etree.fromstring(_write(_round_trip_statement()))
    entries = root.findall("c:BkToCstmrStmt/c:Stmt/c:Ntry", NS)
    entries[1].find("c:CdtDbtInd", NS).text = "CRED"
    _, issues = read_camt(etree.tostring(root), "bad.xml")
    assert [str(i) for i in malformed(issues)] == [
        "bad.xml: Stmt[1]/Ntry[2]/Amt: CdtDbtInd must be CRDT or DBIT, not 'CRED'"]
    wrong = Statement(**{**_round_trip_statement().__dict__, "closing_balance": Decimal("1.00")})
    _, issues = read_camt(_write(wrong), "rt.xml")
    assert issues and malformed(issues) == []


def test_a_zip_member_that_reads_as_nothing_refuses_the_archive() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("good.xml", _write(_round_trip_statement()))
        archive.writestr("cut.xml", _write(_round_trip_statement())[:300])
    statements, issues = read_camt(buffer.getvalue(), "bank.zip")
    assert len(statements) == 1  # read, but the import books nothing of the archive
    assert [i.where for i in malformed(issues)] == ["bank.zip/cut.xml"]
    assert "not well-formed XML" in malformed(issues)[0].message
