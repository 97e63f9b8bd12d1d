"""Dunning at scale: one run decided over 1,000,000 open invoices in PostgreSQL.

Measured: the wall time of `engine.services.dunning.run(..., dry_run=True)` — loading every
open invoice with its payments, reminder history and holds in set-based queries, then the
rules (compiled once) and the law (default, interest, flat fee) for each claim — against
1,000,000 open invoices of 2,000 customers, some partly paid, some already reminded.
Anchor, in the same run: the obvious per-invoice ORM loop (load the invoice, its customer,
its allocations and its notices, then evaluate) over a slice, extrapolated to the same
size. The figure is the ratio anchor/ours and the absolute time (target: ≤ 60 s).

Sending (PDF letters, mail) is not part of "decided": it happens per letter afterwards.
Needs PostgreSQL at O2C_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres);
without it the benchmark says so and exits 0. N can be lowered with O2C_BENCH_INVOICES.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import yaml
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.core.dunning import Claim, History, claim_facts  # noqa: E402
from engine.core.rules import evaluate  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services import dunning  # noqa: E402
from engine.services.convert import open_item_of  # noqa: E402
from engine.settings import load_config  # noqa: E402
from engine.store.db import upgrade  # noqa: E402
from engine.store.models import Allocation, Customer, DunningNotice, Invoice  # noqa: E402

ADMIN = os.environ.get("O2C_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
N = int(os.environ.get("O2C_BENCH_INVOICES", "1000000"))
CUSTOMERS = 2000
TODAY = date(2026, 11, 26)
SLICE = 2000


def fill(url: str) -> None:
    """Customers, invoices (due over the last 120 days), 10 % partly paid, 20 % reminded."""
    import psycopg

    rnd = random.Random(7)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor().copy("COPY customers (number, name, street, postal_code, city, "
                                "country, vat_id, email, iban, b2b, language, credit_limit, "
                                "payment_terms_days, collective_invoice, created_at) "
                                "FROM STDIN") as copy:
            for c in range(1, CUSTOMERS + 1):
                copy.write_row((f"K-{c:05d}", f"Kunde {c} GmbH", "Weg 1", "10115", "Berlin",
                                "DE", "", f"k{c}@example.com", "", c % 10 != 0, "de", 0, 14,
                                False, "2026-01-01"))
        with conn.cursor().copy("COPY invoices (number, customer_id, issue_date, "
                                "delivery_date, due_date, payment_reference, currency, "
                                "net_amount, tax_amount, gross_amount, status, created_at) "
                                "FROM STDIN") as copy:
            for i in range(1, N + 1):
                due = TODAY - timedelta(days=rnd.randint(-20, 120))
                net = Decimal(rnd.randint(1000, 500000)) / 100
                tax = (net * Decimal("0.19")).quantize(Decimal("0.01"))
                copy.write_row((f"RE-{i:08d}", rnd.randint(1, CUSTOMERS),
                                due - timedelta(days=14), due - timedelta(days=14), due,
                                f"R{i:08d}", "EUR", net, tax, net + tax, "open", "2026-01-01"))
        with conn.cursor().copy("COPY allocations (invoice_id, amount, kind, created_by, "
                                "active, created_at) FROM STDIN") as copy:
            for i in range(1, N + 1, 10):
                copy.write_row((i, Decimal("10.00"), "payment", "auto", True, "2026-10-01"))
        with conn.cursor().copy("COPY dunning_notices (invoice_id, level, notice_date, "
                                "open_amount, fee, interest, interest_rate, flat_fee, "
                                "created_at) FROM STDIN") as copy:
            for i in range(1, N + 1, 5):
                copy.write_row((i, 1, TODAY - timedelta(days=12), 0, 0, 0, 0, 0, "2026-11-14"))
        conn.execute("ANALYZE")


def naive(rt: Runtime, ids: list[int]) -> float:
    """The per-invoice ORM loop: seconds for the given invoices."""
    rule_set = rt.rule_set("dunning.run")
    started = time.perf_counter()
    with rt.db.unit_of_work() as s:
        for invoice_id in ids:
            inv = s.get(Invoice, invoice_id)
            assert inv is not None
            customer = s.get(Customer, inv.customer_id)
            assert customer is not None
            paid = s.scalar(select(func.coalesce(func.sum(Allocation.amount), 0)).where(
                Allocation.invoice_id == inv.id, Allocation.active.is_(True)))
            level = s.scalar(select(func.max(DunningNotice.level)).where(
                DunningNotice.invoice_id == inv.id)) or 0
            last = s.scalar(select(func.max(DunningNotice.notice_date)).where(
                DunningNotice.invoice_id == inv.id))
            claim = Claim(open_item_of(inv, inv.gross_amount - Decimal(paid)), customer.number,
                          customer.b2b, History(level=level, last_notice=last))
            if claim.item.due_date < TODAY:
                evaluate(rule_set, claim_facts(claim, TODAY))
    return time.perf_counter() - started


def main() -> int:
    try:
        admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
        admin.connect().close()
    except Exception as exc:
        print(f"dunning: skipped, PostgreSQL not reachable at {ADMIN}: {type(exc).__name__}")
        return 0
    name = f"o2c_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory() as folder:
            data = yaml.safe_load((ROOT / "config.yaml").read_text("utf-8"))
            data["database"] = {"url": url}
            data["storage"] = {"dir": folder, "out": folder, "rules": str(ROOT / "rules")}
            path = Path(folder) / "config.yaml"
            path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
            rt = Runtime.open(load_config(path))
            upgrade(rt.config.database_url)
            started = time.perf_counter()
            fill(url)
            print(f"dunning: {N:,} open invoices of {CUSTOMERS:,} customers loaded into "
                  f"PostgreSQL in {time.perf_counter() - started:.1f} s")
            rt.reload_rules()
            started = time.perf_counter()
            plan = dunning.run(rt, TODAY, dry_run=True)
            ours = time.perf_counter() - started
            reminders = sum(len(x["invoices"]) for x in plan["letters"])
            print(f"  ours   one run decided (dry run): {ours:.1f} s for {N:,} invoices "
                  f"({N / ours:,.0f} invoices/s); {len(plan['letters']):,} letters, "
                  f"{reminders:,} reminders, {len(plan['escalations']):,} escalations")
            ids = random.Random(3).sample(range(1, N + 1), min(SLICE, N))
            slice_time = naive(rt, ids)
            projected = slice_time / len(ids) * N
            print(f"  anchor per-invoice ORM loop: {slice_time:.1f} s for {len(ids):,} "
                  f"invoices, {projected:,.0f} s projected for {N:,}")
            print(f"  ratio anchor/ours: {projected / ours:.1f}x; target one run ≤ 60 s: "
                  f"{'met' if ours <= 60 else 'NOT met'}")
            rt.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
