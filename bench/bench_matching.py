"""Payment matching: 100,000 bank credits against 1,000,000 open invoices.

Generated in memory by engine.core.scenarios (every reference style, noisy names, decoys,
mixed currencies; 100,000 customers with ten open invoices each). Measured per world:
generating it, building the index (engine.core.matching_index), and the run: every
transaction through `find`, the policy in force (rules/matching.yaml, `decide`) and, when
it books, the index update; transactions per second and the time per transaction.

Flatness: the same mix against 100,000 open invoices (10,000 customers) in the same run;
the time per transaction at 1M over that at 100k should stay near 1.

Anchor: a naive nested loop, every transaction against every open item (RF reference or
invoice number in the text, else IBAN and amount), on a small slice of the same
transactions and items, also at 100k and 1M; the ratio ours/naive is per transaction.

Exits non-zero when an automatic booking is wrong (against the generator's truth).
`python bench/bench_matching.py 10` runs both worlds a tenth of the size (a quick check;
the naive slice stays the same).
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from engine.core.matching import Payment, book, find, match_facts
from engine.core.matching_index import normalise
from engine.core.records import OpenItem
from engine.core.rules import RuleSet, decide, load_rule_set
from engine.core.scenarios import Case, Outcome, World, generate, index_of

SEED = 20260920
BIG = (100_000, 100_000)  # customers (ten open invoices each), transactions
SMALL = (10_000, 20_000)
NAIVE = {100_000: 100, 1_000_000: 12}  # transactions of the naive slice per world size
RULE_FILE = Path(__file__).resolve().parent.parent / "rules" / "matching.yaml"


def run(world: World, policy: RuleSet) -> tuple[list[float], list[Outcome], float]:
    """Every case in order; per-transaction seconds, outcomes, index build seconds."""
    start = time.perf_counter()
    index = index_of(world)
    built = time.perf_counter() - start
    gc.collect()
    gc.freeze()  # the world and the index live on; the collector need not rescan them
    times, outcomes, clock = [], [], time.perf_counter
    for case in world.cases:
        t0 = clock()
        found = find(index, case.payment, world.today)
        outcome, fired = decide(policy, match_facts(case.payment, found))
        best = found.best
        if best is not None and outcome == "apply":
            book(index, best)
        times.append(clock() - t0)
        status = "unmatched" if best is None else "matched" if outcome == "apply" else "suggested"
        outcomes.append(Outcome(case, status, best, fired[0] if fired else ""))
    gc.unfreeze()
    return times, outcomes, built


def naive(items: Sequence[OpenItem], cases: Sequence[Case]) -> float:
    """Seconds per transaction of the nested loop: every item checked for every payment."""
    start = time.perf_counter()
    for case in cases:
        p: Payment = case.payment
        text, squashed = p.text.upper().replace(" ", ""), normalise(p.text)
        found = [i for i in items if (i.reference and i.reference in text)
                 or normalise(i.number) in squashed]
        if not found:
            found = [i for i in items if i.customer_iban == p.counterparty_iban
                     and i.open_amount == p.amount and i.currency == p.currency]
    return (time.perf_counter() - start) / max(1, len(cases))


def measure(customers: int, payments: int, policy: RuleSet, size: int) -> dict[str, float]:
    start = time.perf_counter()
    world = generate(SEED, payments, customers=customers, items_per_customer=10, exact=False)
    made = time.perf_counter() - start
    times, outcomes, built = run(world, policy)
    total = sum(times)
    auto = [o for o in outcomes if o.status == "matched"]
    wrong = sum(1 for o in auto if not o.right)
    slow = naive(world.items, world.cases[:NAIVE[size]])
    print(f"  {len(world.items):>9,} open items, {len(world.cases):,} transactions: generated "
          f"in {made:.1f} s, index built in {built:.1f} s")
    print(f"    ours  {len(times) / total:>9,.0f} transactions/s; per transaction mean "
          f"{total / len(times) * 1e6:.0f} µs, median {statistics.median(times) * 1e6:.0f} µs, "
          f"p99 {sorted(times)[int(len(times) * 0.99)] * 1e6:.0f} µs")
    print(f"    naive {1 / slow:>9,.1f} transactions/s on a slice of {NAIVE[size]} "
          f"({slow * 1e3:.0f} ms each); ratio ours/naive {slow / (total / len(times)):,.0f}")
    print(f"    booked automatically {len(auto):,} ({len(auto) / len(outcomes):.1%}), wrong "
          f"{wrong}; suggested {sum(o.status == 'suggested' for o in outcomes):,}, unmatched "
          f"{sum(o.status == 'unmatched' for o in outcomes):,}")
    del world, outcomes
    gc.collect()
    return {"per_tx": total / len(times), "wrong": wrong, "naive": slow}


def main(argv: Sequence[str]) -> int:
    scale = int(argv[0]) if argv else 1
    policy, issues = load_rule_set(RULE_FILE.read_text("utf-8"), str(RULE_FILE))
    if policy is None:
        print("\n".join(str(i) for i in issues), file=sys.stderr)
        return 1
    print(f"matching: rules/matching.yaml version {policy.version}, one process"
          + (f", worlds 1/{scale} of the full size" if scale > 1 else ""))
    small = measure(SMALL[0] // scale, SMALL[1] // scale, policy, 100_000)
    big = measure(BIG[0] // scale, BIG[1] // scale, policy, 1_000_000)
    print(f"  flat: time per transaction at the large / the small world: "
          f"{big['per_tx'] / small['per_tx']:.2f} (naive: {big['naive'] / small['naive']:.1f})")
    print(f"  target 1,000 transactions/s: {'met' if big['per_tx'] < 1e-3 else 'MISSED'} "
          f"({1 / big['per_tx']:,.0f}/s at {BIG[0] * 10 // scale:,} open items)")
    return 1 if small["wrong"] or big["wrong"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
