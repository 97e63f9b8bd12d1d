"""Payment scenarios with known truth, for measuring matching: customers with the noisy
names banks print, open invoices (some with cash discount terms, some in USD or CHF), and
incoming payments in every reference style, each with the booking a careful person would
make. Pure and seeded: the same seed gives the same world.

Styles: rf_reference, invoice_number, number_slip (O/0, I/1, dashes, spaces, case),
number_typo (one digit wrong), several_numbers, remittance_advice, iban_amount, iban_sum,
skonto (within its period), partial, overpayment, end_to_end, name_amount (a new account:
only the name), decoy (a customer with a similar name owes the same amount), wrong_reference
(the text names an invoice the money is not for), currency (paid in another currency
than invoiced) and unrelated (money that is not a customer's payment).

A case is `determinable` when the payment and the data are enough to be sure (a person
would book it without asking); the others have a truth too, but must go to review.
`replay` runs the matching policy over a world, in order, as a real run would.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal

from engine.core.checks import make_iban
from engine.core.matching import Candidate, Payment, book, find, match_facts
from engine.core.matching_index import Advice, Customer, OpenItemIndex
from engine.core.money import round_money
from engine.core.records import OpenItem, RemittanceLine
from engine.core.rules import RuleSet, decide
from engine.core.scenario_world import (
    GENERIC,
    OTHERS,
    TODAY,
    Case,
    Maker,
    World,
    slipped,
)

__all__ = ["STYLES", "Case", "Outcome", "World", "generate", "index_of", "replay"]


STYLES: dict[str, int] = {  # style → weight in the mix (per cent)
    "rf_reference": 12, "invoice_number": 12, "number_slip": 9, "number_typo": 2,
    "several_numbers": 6, "remittance_advice": 6, "iban_amount": 12, "iban_sum": 5,
    "skonto": 8, "partial": 5, "overpayment": 4, "end_to_end": 4, "name_amount": 3,
    "decoy": 3, "wrong_reference": 3, "currency": 2, "unrelated": 4,
}


class _Styles(Maker):
    """One method per style: the payment and its truth."""

    def pick(self, foreign: bool = False) -> Customer:
        """A customer of the starting set that invoices in EUR (or in USD/CHF)."""
        if not self.pools:
            for cid in self.sample:
                self.pools.setdefault(self.money[cid] != "EUR", []).append(cid)
        return self.world.customers[self.rng.choice(self.pools[foreign]) - 1]

    def pay(self, style: str, items: list[OpenItem], amount: Decimal, text: str,
            known: bool = True, determinable: bool = True, day: date | None = None,
            flip: bool = True,
            reductions: tuple[tuple[int, Decimal, str], ...] = (), e2e: str = "",
            currency: str = "") -> Case:
        customer = self.world.customers[items[0].customer_id - 1]
        iban, name = self.payer(customer, known and (not flip or self.rng.random() < 0.93))
        day = day or self.pay_day(items)
        left, truth = amount, []
        for item in sorted(items, key=lambda i: (i.due_date, i.number)):
            cut = sum((r[1] for r in reductions if r[0] == item.invoice_id), Decimal(0))
            take = min(left, item.open_amount - cut)
            truth.append((item.invoice_id, take))
            left -= take
        return Case(style, Payment(amount, currency or items[0].currency, iban, name, text, e2e,
                                   day), tuple(truth), reductions, determinable, left)

    def rf_reference(self) -> Case:
        (i,) = self.take(self.pick())
        ref = i.reference if self.rng.random() < 0.6 else " ".join(
            i.reference[k:k + 4] for k in range(0, len(i.reference), 4))
        return self.pay("rf_reference", [i], i.open_amount,
                        self.rng.choice(("{}", "{} Danke", "Ref. {}")).format(ref))

    def invoice_number(self, style: str = "invoice_number") -> Case:
        (i,) = self.take(self.pick())
        number = slipped(i.number, self.rng) if style == "number_slip" else i.number
        text = self.rng.choice(("Rechnung {n}", "RG-Nr. {n} vom {d}", "{n}", "Kd-Nr. K{c} Re {n}",
                                "Re.-Nr.: {n} Danke", "Ihre Rechnung {n} Lieferung"))
        return self.pay(style, [i], i.open_amount, text.format(
            n=number, d=f"{i.issue_date:%d.%m.%Y}", c=i.customer_id))

    def number_slip(self) -> Case:
        return self.invoice_number("number_slip")

    def number_typo(self) -> Case:
        (i,) = self.take(self.pick())
        for _ in range(20):  # one digit wrong, else one left out
            at = self.rng.randrange(len(i.number) - 6, len(i.number))
            typo = i.number[:at] + str((int(i.number[at]) + self.rng.randint(1, 9)) % 10) \
                + i.number[at + 1:]
            if typo not in self.numbers:
                break
        else:
            typo = i.number[:-2] + i.number[-1]
        self.typos.add(typo)
        return self.pay("number_typo", [i], i.open_amount, f"Rechnung {typo}", known=True)

    def several_numbers(self) -> Case:
        items = self.take(self.pick(), self.rng.randint(2, 4))
        numbers = [slipped(i.number, self.rng) if self.rng.random() < 0.2 else i.number
                   for i in items]
        return self.pay("several_numbers", items, sum((i.open_amount for i in items), Decimal(0)),
                        self.rng.choice(("Rechnungen ", "RE ", "")) + ", ".join(numbers))

    def remittance_advice(self) -> Case:
        customer = self.pick()
        items = self.take(customer, self.rng.randint(2, 4))
        day = self.pay_day(items, within_discount=all(self.discount(i) for i in items))
        lines, reductions = [], []
        for item in items:
            cut, kind = self.discount(item), "discount"
            if cut is None or day > item.issue_date + timedelta(
                    days=self.world.terms[item.invoice_id].cash_discount_days or 0):
                cut, kind = (round_money(item.open_amount * Decimal("0.03")), "deduction") \
                    if self.rng.random() < 0.1 else (Decimal("0.00"), "")
            lines.append(RemittanceLine(item.number, item.open_amount - cut, cut))
            if cut:
                reductions.append((item.invoice_id, cut, kind))
        total = sum((line.amount for line in lines), Decimal(0))
        ref = f"ZA-2026-{len(self.world.advices) + 1:05d}"
        self.world.advices.append(Advice(len(self.world.advices) + 1, customer.customer_id
                                         if self.rng.random() < 0.8 else None,
                                         customer.name, total, tuple(lines), ref))
        text = f"Zahlungsavis {ref}" if self.rng.random() < 0.7 else self.rng.choice(GENERIC)
        return self.pay("remittance_advice", items, total, text, day=day,
                        reductions=tuple(reductions))

    def iban_amount(self, style: str = "iban_amount", n: int = 1) -> Case:
        customer = self.pick()
        items = self.take(customer, n)
        cuts = [(i, self.discount(i)) for i in items]
        within = n == 1 and cuts[0][1] is not None and self.rng.random() < 0.5
        day = self.pay_day(items, within_discount=within)
        reductions = tuple((i.invoice_id, d, "discount") for i, d in cuts if within and d)
        amount = sum((i.open_amount for i in items), Decimal(0)) - sum(
            (r[1] for r in reductions), Decimal(0))
        return self.pay(style, items, amount, self.rng.choice(GENERIC), day=day,
                        reductions=reductions, determinable=self.unique(customer, amount, day))

    def iban_sum(self) -> Case:
        return self.iban_amount("iban_sum", self.rng.randint(2, 3))

    def skonto(self) -> Case:
        customer = self.pick()
        item = self.item(customer, discount=True)
        self.free[customer.customer_id].remove(item)
        cut = self.discount(item) or Decimal(0)
        day = self.pay_day([item], within_discount=True)
        text = self.rng.choice((f"Rechnung {item.number} abzgl. Skonto", item.reference,
                                f"{item.number} ./. 2% Skonto", "Zahlung"))
        return self.pay("skonto", [item], item.open_amount - cut, text, day=day,
                        reductions=((item.invoice_id, cut, "discount"),),
                        determinable=text != "Zahlung" or self.unique(
                            customer, item.open_amount - cut, day))

    def partial(self) -> Case:
        (i,) = self.take(self.pick())
        amount = round_money(i.open_amount * Decimal(self.rng.randint(10, 90)) / 100)
        return self.pay("partial", [i], amount, self.rng.choice(
            ("Teilzahlung {}", "Abschlag {}", "Rate 1 zu {}")).format(i.number))

    def overpayment(self) -> Case:
        (i,) = self.take(self.pick())
        extra = self.rng.choice((Decimal("5.00"), Decimal("40.00"), round_money(
            i.open_amount * Decimal(self.rng.randint(1, 20)) / 100)))
        return self.pay("overpayment", [i], i.open_amount + extra,
                        self.rng.choice(("{} inkl. Mahngebuehr", "{}", "RE {} und Zinsen"))
                        .format(i.number))

    def end_to_end(self) -> Case:
        (i,) = self.take(self.pick())
        return self.pay("end_to_end", [i], i.open_amount, self.rng.choice(GENERIC),
                        e2e=self.world.terms[i.invoice_id].end_to_end_ids[0])

    def name_amount(self) -> Case:
        customer = self.pick()
        (i,) = self.take(customer)
        day = self.pay_day([i])
        return self.pay("name_amount", [i], i.open_amount, self.rng.choice(GENERIC), known=False,
                        day=day, determinable=self.unique(customer, i.open_amount, day))

    def decoy(self) -> Case:
        customer = self.pick()
        (i,) = self.take(customer)
        twin = self.customer(like=customer.name)
        self.item(twin, amount=i.open_amount, discount=False)
        known = self.rng.random() < 0.7
        day = self.pay_day([i])
        return self.pay("decoy", [i], i.open_amount, self.rng.choice(GENERIC), known=known,
                        day=day, flip=False,
                        determinable=known and self.unique(customer, i.open_amount, day))

    def wrong_reference(self) -> Case:
        customer = self.pick()
        (i,) = self.take(customer)
        pick = self.rng.random()
        if pick < 0.4:
            other = self.owned[self.pick().customer_id]
            named = self.rng.choice(other).number if other else "RE-2026-999999"
        elif pick < 0.7:
            named = self.item(customer, amount=i.open_amount + self.amount()).number
        else:
            while (named := f"RE-2026-{self.rng.randrange(900_000, 999_999)}") in self.numbers:
                pass
        return self.pay("wrong_reference", [i], i.open_amount, f"Rechnung {named}",
                        determinable=False)

    def currency(self) -> Case:
        if self.rng.random() < 0.5:
            (i,) = self.take(self.pick(foreign=True))
            return self.pay("currency", [i], i.open_amount, f"Invoice {i.number}")
        (i,) = self.take(self.pick())
        return self.pay("currency", [i], round_money(i.open_amount * Decimal("1.08")),
                        f"Invoice {i.number}", determinable=False, currency="USD")

    def unrelated(self) -> Case:
        rng = self.rng
        amount = rng.choice(self.world.items).open_amount if rng.random() < 0.1 else self.amount()
        iban = make_iban("DE", f"{rng.randrange(10**7, 10**8)}{rng.randrange(10**10):010d}")
        text = rng.choice(("Erstattung USt 09/2026", "Zinsen Q3", "Umbuchung", "Gutschrift",
                           "Beitragserstattung", "Rueckzahlung Kaution", ""))
        return Case("unrelated", Payment(amount, "EUR", iban, rng.choice(OTHERS), text, "",
                                         self.world.today), (), (), False, amount)


def generate(seed: int, payments: int = 2_000, customers: int | None = None,
             items_per_customer: int = 3, today: date = TODAY, exact: bool = True) -> World:
    """A world: `customers` (default: half the payments) with `items_per_customer` open
    items each, and `payments` cases in the mix of STYLES. `exact=False` skips the check
    that makes amount-only cases determinable (expensive for big benchmark worlds)."""
    maker = _Styles(seed, today)
    for _ in range(customers if customers is not None else max(20, payments // 2)):
        customer = maker.customer()
        for _ in range(items_per_customer):
            maker.item(customer)
    maker.sample = [c.customer_id for c in maker.world.customers]
    if not exact:
        maker.unique = lambda customer, amount, day: True  # type: ignore[method-assign]
    styles, weights = list(STYLES), list(STYLES.values())
    for style in maker.rng.choices(styles, weights, k=payments):
        maker.world.cases.append(getattr(maker, style)())
    for n, case in enumerate(maker.world.cases):  # a typo that became a later number
        if case.style == "number_typo" and case.payment.text.split()[-1] in maker.numbers:
            maker.world.cases[n] = replace(case, style="wrong_reference", determinable=False)
    return maker.world


# ---------------------------------------------------------------------- replay


@dataclass(frozen=True)
class Outcome:
    """What the policy did with one case: matched (booked), suggested or unmatched."""

    case: Case
    status: str
    best: Candidate | None
    rule: str

    @property
    def right(self) -> bool:
        """The best candidate books exactly the truth (items, amounts, reductions, credit)."""
        c, case = self.best, self.case
        return c is not None and bool(case.truth) and sorted(
            (i.invoice_id, a) for i, a in c.allocations) == sorted(case.truth) and sorted(
            (r.item.invoice_id, r.amount, r.kind) for r in c.reductions) == sorted(
            case.reductions) and c.unapplied == case.credit


def index_of(world: World) -> OpenItemIndex:
    return OpenItemIndex(world.items, world.terms, world.customers, world.advices)


def replay(world: World, rule_set: RuleSet, index: OpenItemIndex | None = None) -> list[Outcome]:
    """Every case through matching and the policy, in order; what is booked leaves the
    index, as in a real run."""
    index = index if index is not None else index_of(world)
    out = []
    for case in world.cases:
        found = find(index, case.payment, world.today)
        outcome, fired = decide(rule_set, match_facts(case.payment, found))
        best = found.best
        if best is not None and outcome == "apply":
            book(index, best)
        status = "unmatched" if best is None else "matched" if outcome == "apply" else "suggested"
        out.append(Outcome(case, status, best, fired[0] if fired else ""))
    return out
