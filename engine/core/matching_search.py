"""The search behind `engine.core.matching.find`: one bank credit against the index of open
items, the evidence found (references, invoice numbers, advices, the payer by IBAN or
name) and the candidates built from it. Pure.

How sure each candidate is follows from how the items were named (`STRENGTH`), whether the
amount fits, and who pays: the customer of the items (its IBAN or its name), another
customer, or someone unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from engine.core.matching_candidates import (
    AMBIGUOUS,
    BY_AMOUNT,
    CENT,
    CONFLICT,
    ZERO,
    Candidate,
    Match,
    Payment,
    Reduction,
    amount_note,
    rank,
    spread,
    vat_split,
    with_confidence,
)
from engine.core.matching_index import (
    ADVICE,
    DIGITS,
    E2E,
    NUMBER,
    RF,
    Advice,
    OpenItemIndex,
    cents,
    claim,
    normalise,
    text_keys,
)
from engine.core.records import OpenItem

# how an item was named in the payment → confidence that it is the item meant
STRENGTH = {"rf": Decimal("1.00"), "e2e": Decimal("0.99"), "exact": Decimal("0.95"),
            "slip": Decimal("0.93"), "digits": Decimal("0.90"), "short": Decimal("0.85"),
            "typo": Decimal("0.85")}
HOW = {"rf": "structured reference", "e2e": "end-to-end id", "exact": "invoice number",
       "slip": "invoice number (read past a slip)", "digits": "invoice number without prefix",
       "short": "short invoice number", "typo": "invoice number with one typing error"}
KIND = {"rf": "rf_reference", "e2e": "end_to_end"}
NAME_TIES = 3  # customers named alike that the amount may tell apart; more: unknown payer


class Search:
    """One payment against the index: the evidence found and the candidates built."""

    def __init__(self, index: OpenItemIndex, payment: Payment, paid_on: date) -> None:
        self.index, self.payment, self.paid_on = index, payment, paid_on
        self.by_iban = index.customers_by_iban(payment.counterparty_iban)
        self._names: list[tuple[int, float]] | None = None
        self.hits: dict[int, str] = {}  # invoice id → how it was named
        self.advices: set[int] = set()
        self.unknown: list[str] = []  # keys shaped like our numbers that are not open
        self.keys = text_keys(f"{payment.text} {payment.end_to_end_id}")

    # ------------------------------------------------------------------ the payer

    def names(self) -> list[tuple[int, float]]:
        if self._names is None:
            name = self.payment.counterparty_name
            self._names = self.index.customers_by_name(name, limit=NAME_TIES + 1) if name else []
        return self._names

    def payer_customers(self) -> tuple[frozenset[int], str]:
        """Who pays: the customers of the IBAN, else those named alike (the best and any
        within 8 points of it: the amount must then tell them apart)."""
        if self.by_iban:
            return self.by_iban, "iban"
        names = self.names()
        alike = frozenset(c for c, s in names if s >= 90 and s > names[0][1] - 8)
        if alike and len(alike) <= NAME_TIES:
            return alike, "name"
        return frozenset(), "unknown"

    def relation(self, customer_id: int) -> str:
        """iban (its account), other (another customer's account), name (a new account,
        its name) or unknown."""
        if customer_id in self.by_iban:
            return "iban"
        if self.by_iban:
            return "other"
        return "name" if self.similarity(customer_id) >= 85 else "unknown"

    def similarity(self, customer_id: int) -> float:
        name = self.payment.counterparty_name
        return self.index.name_similarity(name, customer_id) if name else 0.0

    # ------------------------------------------------------------------ evidence

    def scan(self) -> None:
        """Every key of the text looked up once: items, advices, unknown numbers."""
        rank = list(STRENGTH)
        e2e = normalise(self.payment.end_to_end_id)
        for key in self.keys:
            found = self.index.lookup(key)
            if not found and self.index.looks_like_number(key):
                self.unknown.append(key)
            for ident, kind in found:
                if kind == ADVICE:
                    self.advices.add(ident)
                    continue
                item = self.index.items.get(ident)
                if item is None:
                    continue
                how = ("rf" if kind == RF else "e2e" if kind == E2E and key == e2e
                       else "digits" if kind == DIGITS else "short" if len(key) < 6
                       else "exact" if kind in (NUMBER, E2E) and item.number.upper()
                       in self.payment.text.upper() else "slip")
                if kind == E2E and key != e2e:
                    how = "slip"
                old = self.hits.get(ident)
                if old is None or rank.index(how) < rank.index(old):
                    self.hits[ident] = how

    def typos(self, customers: frozenset[int]) -> None:
        """Invoice numbers one edit away, among the payer's own open items only."""
        numbers = {normalise(i.number): i for c in customers for i in
                   self.index.items_of(c)[:200] if i.currency == self.payment.currency}
        lengths = {len(n) for n in numbers}
        for key in self.keys:
            if len(key) in lengths or len(key) - 1 in lengths or len(key) + 1 in lengths:
                best = process.extractOne(key, list(numbers), scorer=Levenshtein.distance,
                                          score_cutoff=1)
                if best is not None and len(key) >= 6:
                    self.hits.setdefault(numbers[best[0]].invoice_id, "typo")

    # ------------------------------------------------------------------ candidates

    def run(self, limit: int) -> Match:
        self.scan()
        customers, how = self.payer_customers()
        found: list[Candidate] = []
        if self.hits:
            found += self.referenced()
        found += self.advised(customers)
        sure = any(c.difference == 0 and c.payer in ("iban", "name") for c in found)
        if customers and not sure:
            if not self.hits:
                self.typos(customers)
                if self.hits:
                    found += self.referenced()
            found += self.by_amount(customers, how)
        if found and all(c.difference != 0 for c in found):
            found += self.rivals(found, customers)
        if not found and not customers:
            found += self.amount_only()
        return Match(tuple(rank(found)[:limit]), customers)

    def rivals(self, found: list[Candidate], searched: frozenset[int]) -> list[Candidate]:
        """The named items' amounts do not fit: when other open items of their customers
        do, the text and the amount disagree (a person looks)."""
        owners = frozenset(i.customer_id for c in found for i, _ in c.allocations) - searched
        if not owners:
            return []
        rivals = [with_confidence(c, AMBIGUOUS, "unknown", c.reason.replace("the payer's name", "the amount")
                        + "; the text names other items")
                  for c in self.by_amount(owners, "name") if c.difference == 0]
        if rivals:
            found[:] = [with_confidence(c, min(c.confidence, CONFLICT), c.payer,
                              c.reason + "; but the amount fits other open items") for c in found]
        return rivals

    def settle(self, items: Sequence[OpenItem]) -> tuple[tuple[tuple[OpenItem, Decimal], ...],
                                                         tuple[Reduction, ...], int]:
        """The payment spread over named items, oldest due first: in full less the discounts
        within their period when that is what was paid, else in full, partially, or with a
        rest. Also: how many days late a discount was deducted (then not granted)."""
        items = sorted(items, key=lambda i: (i.due_date, i.number))
        amount, open_total = self.payment.amount, sum((claim(i) for i in items), ZERO)
        found = [(i, d) for i in items if (d := self.index.discount(i, self.paid_on))]
        within = [(i, d[0]) for i, d in found if d[1] <= 0]
        late = [d for _, d in found if d[1] > 0]
        expected = open_total - sum((a for _, a in within), ZERO)
        if within and abs(amount - expected) <= CENT:
            return self.book([(i, any(i is j for j, _ in within)) for i in items],
                             amount - expected)
        if late and abs(amount - expected + sum((d[0] for d in late), ZERO)) <= CENT:
            return spread(items, amount), (), max(d[1] for d in late)
        return spread(items, amount), (), 0

    def book(self, combo: Sequence[tuple[OpenItem, bool]], slack: Decimal = ZERO,
             ) -> tuple[tuple[tuple[OpenItem, Decimal], ...], tuple[Reduction, ...], int]:
        """Items paid in full, those flagged less their discount (the first discount takes
        a cent of rounding, `slack`, that the payer's arithmetic left)."""
        allocations, reductions = [], []
        for item, discounted in combo:
            found = self.index.discount(item, self.paid_on) if discounted else None
            cut = found[0] - slack if found else ZERO
            slack = ZERO if found else slack
            if found:
                reductions.append(self.discount(item, cut))
            allocations.append((item, claim(item) - cut))
        return tuple(allocations), tuple(reductions), 0

    def discount(self, item: OpenItem, amount: Decimal) -> Reduction:
        terms = self.index.terms.get(item.invoice_id)
        return Reduction(item, amount, "discount", vat_split(amount, terms.vat if terms else ()))

    def score(self, items: Sequence[OpenItem], strength: Decimal, fits: bool,
              strong: bool) -> tuple[Decimal, str, str]:
        """Confidence, payer relation and a note, from the naming strength and the rest."""
        relations = {self.relation(c) for c in {i.customer_id for i in items}}
        payer = next(r for r in ("other", "unknown", "name", "iban") if r in relations)
        conf, note = strength, ""
        if any(i.currency != self.payment.currency for i in items):
            return min(conf, Decimal("0.50")), payer, "; the currency differs"
        if len({i.customer_id for i in items}) > 1:
            conf, note = min(conf - Decimal("0.10"), conf if fits else AMBIGUOUS), \
                "; the items belong to several customers"
        if payer == "other":
            conf = conf - (Decimal("0.05") if strong else Decimal("0.15")) if fits \
                else min(conf, AMBIGUOUS)
            note += "; paid from another customer's account"
        elif payer == "unknown" and not fits:  # a new account, not the amount named: ask
            conf = min(conf, Decimal("0.85"))
            if min(self.similarity(i.customer_id) for i in items) < 60:
                conf, note = min(conf, CONFLICT), note + "; the payer's name is another"
        return conf, payer, note

    def referenced(self) -> list[Candidate]:
        items = [self.index.items[i] for i in self.hits if i in self.index.items]
        hows = [self.hits[i.invoice_id] for i in items]
        weakest = max(hows, key=list(STRENGTH).index)
        allocations, reductions, late = self.settle(items)
        candidate = Candidate(KIND.get(weakest, "invoice_number"), ZERO, allocations, "",
                              reductions=reductions, amount=self.payment.amount,
                              discount_days_late=late)
        conf, payer, note = self.score(items, STRENGTH[weakest], candidate.difference == 0,
                                       weakest in ("rf", "e2e"))
        named = ", ".join(f"{HOW[self.hits[i.invoice_id]]} {i.number}" for i in items)
        return [with_confidence(candidate, conf, payer, f"{named} in the payment text"
                      + amount_note(candidate) + note)]

    def advised(self, customers: frozenset[int]) -> list[Candidate]:
        """Advices named in the text, or of the payer with the paid total: as advised."""
        ids = set(self.advices) | {a.advice_id for a in self.index.advices_by_total(
            self.payment.amount) if a.customer_id in customers or (
                a.customer_id is None and customers and self.advised_customers(a) <= customers)}
        out = []
        for advice in (self.index.advices[i] for i in sorted(ids)):
            allocations, reductions, missing = [], [], []
            for line in advice.lines:
                hit = [self.index.items[i] for i, k in self.index.lookup(
                    normalise(line.invoice_number)) if k == NUMBER and i in self.index.items]
                if not hit:
                    missing.append(line.invoice_number)
                    continue
                item = hit[0]
                allocations.append((item, line.amount))
                if line.deduction > 0:
                    reductions.append(self.deduction(item, line.deduction))
            fits = not missing and advice.total == self.payment.amount == sum(
                (a for _, a in allocations), ZERO) and all(
                a + r <= claim(i) for i, a in allocations
                for r in [sum((x.amount for x in reductions if x.item is i), ZERO)])
            known = advice.customer_id in customers or any(
                i.customer_id in customers for i, _ in allocations)
            conf = Decimal("0.97") if known else Decimal("0.85") if advice.advice_id in \
                self.advices else Decimal("0.80")
            reason = (f"remittance advice {advice.advice_id} of {advice.payer_name} lists "
                      + ", ".join(i.number for i, _ in allocations))
            if not fits:
                conf = min(conf, AMBIGUOUS)
                reason += ("; not open: " + ", ".join(missing) if missing
                           else "; its amounts do not fit the payment or the open items")
            if allocations:
                out.append(Candidate("remittance", conf, tuple(allocations), reason,
                                     advice.advice_id, tuple(reductions), self.payment.amount,
                                     "iban" if known else "unknown"))
        return out

    def advised_customers(self, advice: Advice) -> set[int]:
        """The customers of the open items an advice lists."""
        return {self.index.items[i].customer_id for line in advice.lines
                for i, k in self.index.lookup(normalise(line.invoice_number))
                if k == NUMBER and i in self.index.items}

    def deduction(self, item: OpenItem, amount: Decimal) -> Reduction:
        """An advised deduction: the item's cash discount within its period, or other."""
        found = self.index.discount(item, self.paid_on)
        if found is not None and found[1] <= 0 and abs(found[0] - amount) <= CENT:
            return self.discount(item, amount)
        return Reduction(item, amount, "deduction")

    def by_amount(self, customers: frozenset[int], how: str) -> list[Candidate]:
        """The payer's open items whose amounts, one or a few, add up to the payment: one
        item by the index, several by a bounded subset sum over the oldest due; per
        customer (an IBAN may be several customers', a name fit several)."""
        solutions: list[tuple[tuple[OpenItem, bool], ...]] = []
        complete, currency, amount = True, self.payment.currency, self.payment.amount
        for cid in sorted(customers)[:3]:
            solutions += [((i, discounted),) for i in
                          self.index.by_customer_amount(cid, currency, amount)
                          for paid, discounted in self.index.options(i, self.paid_on)
                          if paid == cents(amount)]
            if len(solutions) < 2 and self.index.count_of(cid) > 1:
                items = [i for i in self.index.items_of(cid) if i.currency == currency]
                found, done = self.index.sums(items, amount, self.paid_on, min_size=2)
                solutions, complete = solutions + found, complete and done
        out = []
        for combo in solutions:
            chosen = [i for i, _ in combo]
            allocations, reductions, late = self.book(combo)
            kind, conf = BY_AMOUNT[(how, min(len(chosen), 2))]
            reason = ("the payer's IBAN" if how == "iban" else "the payer's name") + \
                " and the exact amount of " + ", ".join(i.number for i in chosen)
            if len(solutions) > 1 or not complete:
                conf, reason = AMBIGUOUS, reason + "; other open items fit as well"
            if self.unknown:
                conf, reason = min(conf, CONFLICT), reason + f"; the text names {self.unknown[0]}, not open"
            candidate = Candidate(kind, conf, allocations, reason, None, reductions,
                                  self.payment.amount, how, late)
            out.append(with_confidence(candidate, conf, how, reason + amount_note(candidate)))
        if not out:
            out += self.late_discount([i for c in sorted(customers)[:3]
                                       for i in self.index.items_of(c)], how)
        return out

    def late_discount(self, items: list[OpenItem], how: str) -> list[Candidate]:
        """A single item paid less its discount after the period: a partial payment."""
        out = []
        for item in items[:50]:
            found = self.index.discount(item, self.paid_on)
            if found and found[1] > 0 and item.open_amount - found[0] == self.payment.amount:
                out.append(Candidate(BY_AMOUNT[(how, 1)][0], Decimal("0.70"),
                                     ((item, self.payment.amount),),
                                     f"{item.number} paid less its discount {found[1]} days "
                                     "after the discount period", None, (),
                                     self.payment.amount, how, found[1]))
        return out

    def amount_only(self) -> list[Candidate]:
        same = self.index.by_amount(self.payment.currency, self.payment.amount, limit=3)
        if not same or len(same) > 3:
            return []
        return [Candidate("amount_only", Decimal("0.30"), ((i, self.payment.amount),),
                          f"only the amount equals {i.number} of {i.customer_name}", None, (),
                          self.payment.amount, self.relation(i.customer_id)) for i in same]
