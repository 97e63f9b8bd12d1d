"""Matching measured on generated payments with known truth (engine.core.scenarios), under
the policy in force (rules/matching.yaml): no automatic booking may be wrong, and at least
95 % of the payments a person would book without asking must be booked automatically.

Run with `-s` to see the report: per style the cases, how many are determinable, booked
automatically (and right), suggested (first suggestion right) and unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.core.rules import RuleSet, load_rule_set
from engine.core.scenarios import STYLES, Outcome, generate, replay
from tests.conftest import ROOT

PAYMENTS = 2_000
SEEDS = (20260920, 7)
KEYS = ("cases", "determinable", "matched", "right", "suggested", "first_right", "unmatched")


@dataclass
class Report:
    """Counts per style; precision of the automatic bookings; recall over the determinable
    cases (booked automatically and right)."""

    rows: dict[str, dict[str, int]]
    wrong: list[Outcome]
    recalled: int

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Report:
        rows: dict[str, dict[str, int]] = {}
        for o in outcomes:
            row = rows.setdefault(o.case.style, dict.fromkeys(KEYS, 0))
            row["cases"] += 1
            row["determinable"] += o.case.determinable
            row[o.status] += 1
            row["right" if o.status == "matched" else "first_right"] += o.right and (
                o.status != "unmatched")
        wrong = [o for o in outcomes if o.status == "matched" and not o.right]
        recalled = sum(1 for o in outcomes if o.case.determinable and o.status == "matched"
                       and o.right)
        return cls(rows, wrong, recalled)

    def total(self, key: str) -> int:
        return sum(row[key] for row in self.rows.values())

    @property
    def precision(self) -> float:
        return self.total("right") / max(1, self.total("matched"))

    @property
    def recall(self) -> float:
        return self.recalled / max(1, self.total("determinable"))

    def text(self) -> str:
        lines = [f"{'style':<18}{'cases':>6}{'determ.':>8}{'auto':>6}{'right':>6}"
                 f"{'suggest':>8}{'1st ok':>7}{'unmatched':>10}"]
        lines += [f"{s:<18}" + "".join(f"{self.rows[s][k]:>{w}}" for k, w in zip(
            KEYS, (6, 8, 6, 6, 8, 7, 10), strict=True)) for s in STYLES if s in self.rows]
        with_truth = self.total("cases") - self.rows.get("unrelated", {}).get("cases", 0)
        lines.append(f"precision {self.precision:.2%} ({self.total('right')}/"
                     f"{self.total('matched')} automatic bookings right); recall "
                     f"{self.recall:.2%} ({self.recalled}/{self.total('determinable')} "
                     f"determinable payments booked automatically); "
                     f"{self.total('right') / max(1, with_truth):.2%} of all {with_truth} "
                     "payments with a truth")
        return "\n".join(lines)


@pytest.fixture(scope="module")
def policy() -> RuleSet:
    path = ROOT / "rules" / "matching.yaml"
    rule_set, issues = load_rule_set(path.read_text("utf-8"), str(path))
    assert rule_set is not None, issues
    return rule_set


@pytest.mark.parametrize("seed", SEEDS)
def test_no_wrong_booking_and_most_booked_automatically(policy: RuleSet, seed: int) -> None:
    world = generate(seed, PAYMENTS)
    report = Report.of(replay(world, policy))
    print(f"\nmatching scenarios, seed {seed}, {PAYMENTS:,} payments, "
          f"{len(world.items):,} open items, rules/matching.yaml version {policy.version}")
    print(report.text())
    assert set(report.rows) == set(STYLES)  # every style was generated
    assert report.wrong == [], "\n".join(
        f"{o.case.style}: {o.case.payment} → {o.best.reason if o.best else ''}"
        for o in report.wrong[:10])
    assert report.precision == 1.0
    assert report.recall >= 0.95, report.text()


def test_the_generator_is_seeded_and_knows_the_truth() -> None:
    a, b = generate(3, 200), generate(3, 200)
    assert [c.payment for c in a.cases] == [c.payment for c in b.cases]
    items = {i.invoice_id: i for i in a.items}
    for case in a.cases:
        if case.style == "unrelated":
            assert case.truth == () and not case.determinable
        else:
            assert case.truth and all(i in items for i, _ in case.truth)
            paid = sum((amount for _, amount in case.truth), case.credit)
            assert paid == case.payment.amount or case.style == "currency"
