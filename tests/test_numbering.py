"""Gapless invoice numbers under concurrency (GoBD, §14 UStG): several worker processes, and
threads, take numbers through `next_number` in their own transactions, starting together;
some transactions roll back on purpose. The committed numbers are exactly 1..N, with no
gap and no duplicate: a rolled-back number is given back and issued again."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from engine.services.records import audit, next_number
from engine.store.db import Database, upgrade
from engine.store.models import AuditEntry, NumberSequence

WORKERS = 4
EACH = 25
SERIES, YEAR = "RE", 2026


class Abandon(Exception):
    """Raised inside a transaction to roll it back on purpose."""


def take_numbers(db: Database, worker: int, wait: Callable[[], Any]) -> tuple[list[str], list[str]]:
    """Commit EACH numbers, rolling back every fourth attempt; (committed, rolled back)."""
    committed: list[str] = []
    rolled_back: list[str] = []
    rng = random.Random(worker)
    wait()
    attempt = 0
    while len(committed) < EACH:
        attempt += 1
        number = ""
        try:
            with db.unit_of_work() as s:
                number = next_number(s, SERIES, YEAR)
                audit(s, f"worker-{worker}", "number.taken", "invoice", None, number=number)
                time.sleep(rng.random() / 500)  # hold the number a moment: others queue up
                if attempt % 4 == worker % 4:
                    raise Abandon(number)
        except Abandon:
            rolled_back.append(number)
        else:
            committed.append(number)
    return committed, rolled_back


def process_main(url: str, worker: int, barrier: Any, results: Any) -> None:
    """The body of one worker process (spawned: a fresh interpreter, its own engine)."""
    db = Database(url)
    try:
        results.put((worker, *take_numbers(db, worker, barrier.wait)))
    except BaseException as exc:  # report, so the test fails with the reason, not a hang
        results.put((worker, f"{type(exc).__name__}: {exc}", []))
    finally:
        db.dispose()


def check(db: Database, outcomes: list[tuple[list[str], list[str]]]) -> None:
    committed = [n for done, _ in outcomes for n in done]
    rolled_back = [n for _, undone in outcomes for n in undone]
    expected = [f"{SERIES}-{YEAR}-{n:05d}" for n in range(1, WORKERS * EACH + 1)]
    assert sorted(committed) == expected  # no gap, no duplicate
    assert rolled_back, "the test must roll some transactions back"
    assert set(rolled_back) <= set(committed)  # every rolled-back number was issued again
    with db.unit_of_work() as s:
        stored = [d["number"] for d in s.scalars(select(AuditEntry.details))]
        assert sorted(stored) == expected  # what was committed is what the workers saw
        assert s.scalar(select(NumberSequence.next_value).where(
            NumberSequence.series == SERIES, NumberSequence.year == YEAR)) == len(expected) + 1
        assert s.scalar(select(func.count()).select_from(NumberSequence)) == 1


def test_gapless_numbers_across_processes(database_url: str) -> None:
    """PostgreSQL (row lock held to commit) and SQLite (one writer): worker processes."""
    upgrade(database_url)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=process_main, args=(database_url, w, barrier, results))
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    try:
        reports = [results.get(timeout=180) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.kill()
    failures = [r[1] for r in reports if isinstance(r[1], str)]
    assert not failures, failures
    db = Database(database_url)
    try:
        check(db, [(done, undone) for _, done, undone in reports])
    finally:
        db.dispose()


def test_gapless_numbers_across_threads(database_url: str, tmp_path: Path) -> None:
    """The same with threads sharing one engine (its connection pool)."""
    upgrade(database_url)
    db = Database(database_url)
    barrier = threading.Barrier(WORKERS)
    outcomes: dict[int, tuple[list[str], list[str]]] = {}
    errors: list[BaseException] = []

    def run(worker: int) -> None:
        try:
            outcomes[worker] = take_numbers(db, worker, barrier.wait)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(w,)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    try:
        assert not errors, errors
        check(db, list(outcomes.values()))
    finally:
        db.dispose()
