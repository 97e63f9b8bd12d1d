"""The whole chain, end to end: `o2c demo` on SQLite through the real CLI, and the same
scenario on PostgreSQL. Every stage must have done something, and left its documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.demo import run_demo
from engine.runtime import Runtime
from engine.settings import load_config
from engine.store.models import BankTransaction, DecisionRow, Document, Invoice, Order
from tests.conftest import ROOT

COUNTS = ("documents", "orders", "approved", "needs_approval", "invoices", "payments",
          "matched", "reminders", "escalations", "outbox")
KINDS = ("confirmations", "delivery_notes", "invoices", "credit_notes", "reminders")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("demo") / "ws"
    env = {k: v for k, v in os.environ.items() if k not in ("O2C_CONFIG", "O2C_DATABASE_URL")}
    done = subprocess.run([sys.executable, "-m", "web.cli", "--config", str(ROOT / "config.yaml"),
                           "demo", "--dir", str(folder), "--json", "--start", "2026-09-01"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, json.loads(done.stdout.strip().splitlines()[-1])


def test_every_count_is_above_zero(demo_dir: tuple[Path, dict[str, int]]) -> None:
    _, counts = demo_dir
    assert list(counts) == list(COUNTS)
    assert all(counts[k] > 0 for k in COUNTS), counts
    assert counts["approved"] == counts["orders"] == 5  # one after a person approved it
    assert counts["needs_approval"] == 1
    assert counts["matched"] == counts["payments"] == 4


def test_documents_are_written_by_kind(demo_dir: tuple[Path, dict[str, int]]) -> None:
    folder, counts = demo_dir
    for kind in KINDS:
        files = list((folder / "out" / kind).glob("*.pdf"))
        assert files, f"no {kind}"
        assert all(f.read_bytes().startswith(b"%PDF-") for f in files)
    invoices = sorted((folder / "out" / "invoices").glob("*.xml"))
    assert len(invoices) == counts["invoices"]
    emls = list((folder / "var" / "outbox").glob("*.eml"))
    assert len(emls) == counts["outbox"]
    raw = next(e for e in emls if e.name.startswith("invoice-")).read_bytes()
    mail = message_from_bytes(raw, policy=policy.default)
    names = sorted(p.get_filename() for p in mail.iter_attachments())  # type: ignore[attr-defined]
    assert names[0].endswith(".pdf") and names[1].endswith(".xml")


def test_the_stages_did_what_they_should(demo_dir: tuple[Path, dict[str, int]]) -> None:
    folder, _ = demo_dir
    rt = Runtime.open(load_config(folder / "config.yaml"))
    try:
        with rt.db.unit_of_work() as s:
            docs = {d.filename: d for d in s.scalars(select(Document))}
            assert docs["NL-0042-scan.pdf"].status == "recorded"  # read by OCR
            assert all(d.status == "recorded" for d in docs.values()), {
                n: (d.status, d.reason) for n, d in docs.items()}
            weber = s.scalar(select(Order).where(Order.customer_reference == "WS-2026-118"))
            assert weber is not None and weber.status == "delivered"
            pu50 = next(line for line in weber.lines if line.sku == "PU-50")
            assert pu50.delivered_quantity == 5 and pu50.backordered_quantity == 0
            assert len(s.scalars(select(Invoice).where(Invoice.order_id == weber.id)).all()) == 2
            quoted = s.scalar(select(Order).where(Order.customer_reference == "SE-5521"))
            assert quoted is not None and quoted.quote_id is not None
            statuses = {t.counterparty_name: t.status for t in s.scalars(select(BankTransaction))}
            assert statuses["Hausbank"] == "ignored"
            decisions = s.scalars(select(DecisionRow)).all()
            assert {d.event for d in decisions} == {"order.received", "delivery.posted",
                                                    "bank.transaction", "dunning.run"}
            assert all(len(d.sha256) == 64 and d.trace for d in decisions)
    finally:
        rt.close()


def test_the_chain_on_postgresql(tmp_path: Path, postgres_url: str,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O2C_DATABASE_URL", postgres_url)
    counts = run_demo(load_config(ROOT / "config.yaml"), tmp_path / "ws", date(2026, 9, 1),
                      lambda _m: None, lambda path: Runtime.open(load_config(path)))
    assert all(counts[k] > 0 for k in COUNTS), counts
    assert counts["matched"] == 4 and counts["invoices"] == 6
    assert not (tmp_path / "ws" / "o2c.sqlite").exists()
