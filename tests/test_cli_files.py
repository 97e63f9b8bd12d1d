"""`o2c parse`, `o2c import`, `o2c match` and `o2c dunning plan`: the file commands."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path

from click.testing import CliRunner

from documents.camt import write_camt053
from engine.core.records import Statement, StatementEntry
from tests.conftest import write_config
from web.cli import main

IBAN = "DE02120300000000202051"
OPEN_ITEMS = f"""customer_number,customer_name,customer_iban,b2b,invoice_number,issue_date,due_date,currency,gross_amount,open_amount,dunning_level,last_dunning_date,disputed
K-1,Hoffmann Bau AG,{IBAN},true,RE-2026-00001,2026-09-01,2026-09-15,EUR,1190.00,1190.00,0,,false
K-1,Hoffmann Bau AG,{IBAN},true,RE-2026-00002,2026-09-05,2026-09-19,EUR,595.00,595.00,0,,true
K-2,Privat Meier,,false,RE-2026-00003,2026-08-01,2026-08-15,EUR,100.00,60.00,1,2026-09-01,false
"""


def files(tmp_path: Path) -> tuple[Path, Path]:
    items = tmp_path / "open-items.csv"
    items.write_text(OPEN_ITEMS, "utf-8")
    entries = (
        StatementEntry(date(2026, 9, 20), date(2026, 9, 20), D("1190.00"), "EUR",
                       "Hoffmann Bau AG", IBAN, "", "Rechnung RE-2026-00001", ""),
        StatementEntry(date(2026, 9, 21), date(2026, 9, 21), D("77.00"), "EUR",
                       "Unbekannt", "DE89370400440532013000", "", "Spende", ""),
    )
    statement = Statement("DE89370400440532013000", "EUR", "1", D("0"), D("1267.00"), entries)
    camt = tmp_path / "camt.xml"
    camt.write_bytes(write_camt053(statement, message_id="M1",
                                   created=datetime(2026, 9, 21, tzinfo=UTC), owner_name="Us"))
    return items, camt


def test_parse_prints_the_statement_shape(tmp_path: Path) -> None:
    _, camt = files(tmp_path)
    result = CliRunner().invoke(main, ["parse", str(camt), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.splitlines()[0])
    assert data["kind"] == "bank_statement" and data["file"] == "camt.xml"
    entry = data["statements"][0]["entries"][0]
    assert entry["amount"] == "1190.00" and entry["counterparty_iban"] == IBAN
    assert set(entry) == {"booking_date", "value_date", "amount", "currency",
                          "counterparty_name", "counterparty_iban", "reference",
                          "remittance_info", "end_to_end_id"}


def test_match_on_files(tmp_path: Path) -> None:
    items, camt = files(tmp_path)
    result = CliRunner().invoke(main, ["match", "--open-items", str(items), str(camt), "--json"])
    assert result.exit_code == 0, result.output
    first, second = (json.loads(x) for x in result.output.splitlines())
    assert first["status"] == "matched" and first["rule"] == "sure-and-exact"
    assert first["allocations"] == [{"invoice_number": "RE-2026-00001", "amount": "1190.00",
                                     "discount": "0.00"}]
    assert second["status"] == "unmatched" and second["allocations"] == []


def test_dunning_plan_on_files(tmp_path: Path) -> None:
    items, _ = files(tmp_path)
    payments = tmp_path / "payments.csv"
    payments.write_text("invoice_number,date,amount\nRE-2026-00003,2026-08-25,40.00\n", "utf-8")
    result = CliRunner().invoke(main, ["dunning", "plan", "--open-items", str(items),
                                       "--payments", str(payments), "--today", "2026-09-22",
                                       "--json"])
    assert result.exit_code == 0, result.output
    letters = {x["customer_number"]: x for x in json.loads(result.output)}
    business = letters["K-1"]  # RE-2 is disputed: only RE-1, first reminder
    assert [i["invoice_number"] for i in business["invoices"]] == ["RE-2026-00001"]
    # 16.09.–22.09. = 7 days at 1.27 + 9 = 10.27 %: 1190 × 0.1027 × 7 / 365 = 2.3438 → 2.34
    assert business["invoices"][0]["interest"] == "2.34"
    assert business["flat_fee"] == "0.00" and business["total_claim"] == "1192.34"
    consumer = letters["K-2"]  # level 1 sent 01.09., 21 days ago: level 2
    assert consumer["level"] == 2 and consumer["flat_fee"] == "0.00"  # consumers owe none
    assert consumer["fee"] == "2.50" and consumer["rule"] == "level-2-consumer"
    # consumer: base + 5 = 6.27 %. Due Saturday 15.08.2026: § 193 BGB moves the last day
    # to Monday 17.08., so interest runs from 18.08.: 100.00 until the payment day 25.08.
    # (8 days), then 60.00 from 26.08. to 22.09. (28 days):
    # 100 × 0.0627 × 8/365 = 0.13742; 60 × 0.0627 × 28/365 = 0.28859; sum 0.42601 → 0.43
    assert consumer["invoices"][0]["interest"] == "0.43"
    assert consumer["invoices"][0]["interest_from"] == "2026-08-18"
    assert consumer["total_claim"] == "62.93"  # 60.00 + 0.43 interest + 2.50 fee
    assert consumer["invoices"][0]["interest_rate"] == "6.27"


def test_bad_rows_are_named_and_nothing_is_imported(tmp_path: Path) -> None:
    config = write_config(tmp_path / "ws", f"sqlite:///{tmp_path / 'ws' / 'o2c.sqlite'}")
    items, _ = files(tmp_path)
    runner = CliRunner()
    good = runner.invoke(main, ["--config", str(config), "import", "open-items", str(items)])
    assert good.exit_code == 0 and "3 open items" in good.output
    bad = tmp_path / "bad.csv"
    bad.write_text(OPEN_ITEMS.replace("RE-2026-00001", "RE-9").replace("1190.00,1190.00",
                                                                        "1190.00,2000.00"))
    refused = runner.invoke(main, ["--config", str(config), "import", "open-items", str(bad)])
    assert refused.exit_code == 1 and "bad.csv:2" in refused.output


def test_parse_reads_several_files_and_reports_the_unreadable(tmp_path: Path) -> None:
    _, camt = files(tmp_path)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 nothing here")
    result = CliRunner().invoke(main, ["parse", str(broken), str(camt), "--json"])
    assert result.exit_code == 1
    first, second = (json.loads(x) for x in result.output.splitlines())
    assert first["file"] == "broken.pdf" and first["issues"][0]["severity"] == "error"
    assert second["kind"] == "bank_statement"
