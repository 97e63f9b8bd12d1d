"""An index over open items for payment matching, so that one bank transaction costs about
the same against 100,000 open invoices as against 1,000,000. Pure: no I/O, no clock.

What it finds, each by a dictionary lookup:

- an item by any key a payer may write: its RF reference, its invoice number, the number
  without its letter prefix, an end-to-end id. Keys are normalised the same way on both
  sides (`normalise`: upper case, no separators, letters OCR confuses with digits mapped
  to them), and the remittance text is cut into tokens whose adjacent runs are joined
  (`text_keys`), so "RE 2026 OOOO7" finds RE-2026-00007;
- the customers behind an IBAN, a customer's open items, and a customer's items by exact
  amount (open amount, with the item's open dunning charges when it has some, and the
  amount after cash discount when the item has terms);
- items of any customer by exact amount (for suggestions when the payer is unknown);
- customers by fuzzy name (rapidfuzz) within a blocking key, a bounded amount of work;
- remittance advices by their reference, their total and their customer.

Everything is updated incrementally: `reduce` when a payment is booked, `remove` when an
item is settled, `add` for a new one.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import TypeVar

from rapidfuzz import fuzz, process

from engine.core.matching_sums import MAX_SUBSET, MAX_SUBSET_ITEMS, WORK_BUDGET, subset_sums
from engine.core.matching_text import (
    MIN_KEY,
    UMLAUTS,
    blocks,
    cents,
    compact_iban,
    name_score,
    name_tokens,
    normalise,
    shape,
    text_keys,
)
from engine.core.money import round_money
from engine.core.records import OpenItem, RemittanceLine

__all__ = ["ADVICE", "DIGITS", "E2E", "NUMBER", "RF", "UMLAUTS", "Advice", "Customer",
           "OpenItemIndex", "Terms", "cents", "claim", "name_score", "name_tokens", "normalise",
           "shape", "text_keys"]

MIN_DIGITS_KEY = 6  # a number without its prefix is a key only from this length
BLOCK_CAP = 256  # customers scored for one fuzzy name lookup, at most, per block


# key kinds, packed with the id into one int: id * 8 + kind
RF, NUMBER, DIGITS, E2E, ADVICE = 1, 2, 3, 4, 5
KIND_NAMES = {RF: "rf", NUMBER: "number", DIGITS: "digits", E2E: "e2e", ADVICE: "advice"}

_PREFIX = re.compile(r"^[A-Z]+")
ZERO = Decimal("0.00")


def claim(item: OpenItem) -> Decimal:
    """What settles the item exactly: its open amount (the principal) and its open
    dunning charges (fees, interest: a payment settles them first, § 367 BGB)."""
    return item.open_amount + item.charges_open


@dataclass(frozen=True)
class Terms:
    """What matching needs beyond an open item: cash discount terms, the item's gross
    amount per VAT rate (for the VAT correction of a discount), extra end-to-end ids."""

    cash_discount_percent: Decimal | None = None
    cash_discount_days: int | None = None
    vat: tuple[tuple[Decimal, Decimal], ...] = ()  # (rate in %, gross amount at that rate)
    end_to_end_ids: tuple[str, ...] = ()

    def discount_until(self, issue: date) -> date | None:
        if not self.cash_discount_percent or self.cash_discount_days is None:
            return None
        return date.fromordinal(issue.toordinal() + self.cash_discount_days)


@dataclass(frozen=True)
class Customer:
    """A customer as matching knows it: name and the IBANs it paid from."""

    customer_id: int
    name: str
    ibans: tuple[str, ...] = ()


@dataclass(frozen=True)
class Advice:
    """A remittance advice: who pays, the total, and the invoices with amounts and
    deductions it lists."""

    advice_id: int
    customer_id: int | None
    payer_name: str
    total: Decimal
    lines: tuple[RemittanceLine, ...]
    reference: str = ""


K = TypeVar("K")
Ids = int | list[int] | set[int]  # one id, a few, many: what a key of the index holds


def _put(table: dict[K, Ids], key: K, value: int) -> None:
    """Add `value` under `key`: an int alone, a short list, a set once it grows."""
    old = table.get(key)
    if old is None:
        table[key] = value
    elif isinstance(old, int):
        if old != value:
            table[key] = [old, value]
    elif isinstance(old, set):
        old.add(value)
    elif value not in old:
        old.append(value)
        if len(old) > 8:
            table[key] = set(old)


def _drop(table: dict[K, Ids], key: K, value: int) -> None:
    old = table.get(key)
    if old == value:
        del table[key]
    elif isinstance(old, list | set) and value in old:
        old.remove(value)
        if len(old) == 1:
            table[key] = next(iter(old))


def _ids(found: Ids | None, limit: int | None = None) -> list[int]:
    if found is None:
        return []
    if isinstance(found, int):
        return [found]
    return list(found) if limit is None else list(islice(found, limit))


class OpenItemIndex:
    """Open items, customers and advices, looked up by every key matching uses."""

    def __init__(self, items: Iterable[OpenItem] = (), terms: Mapping[int, Terms] | None = None,
                 customers: Iterable[Customer] = (), advices: Iterable[Advice] = ()) -> None:
        self.items: dict[int, OpenItem] = {}
        self.terms: dict[int, Terms] = dict(terms or {})
        self.customers: dict[int, Customer] = {}
        self.advices: dict[int, Advice] = {}
        self._keys: dict[str, Ids] = {}  # any reference key → id * 8 + kind
        self._shapes: set[str] = set()  # forms of prefixed invoice numbers ("RE999999999")
        self._shape_lengths: set[int] = set()
        self._by_customer: dict[int, dict[int, None]] = {}  # ordered set of invoice ids
        self._by_customer_amount: dict[tuple[int, str, int], Ids] = {}
        self._by_amount: dict[tuple[str, int], Ids] = {}
        self._by_iban: dict[str, set[int]] = {}
        self._names: dict[int, str] = {}  # customer id → normalised name
        self._blocks: dict[str, list[int]] = {}
        self._advice_by_total: dict[int, list[int]] = {}
        collecting = gc.isenabled()
        gc.disable()  # a bulk load makes no cycles; the collector would rescan it all
        try:
            for customer in customers:
                self.add_customer(customer)
            for item in items:
                self.add(item)
            for advice in advices:
                self.add_advice(advice)
        finally:
            if collecting:
                gc.enable()

    # ------------------------------------------------------------------ updates

    def add_customer(self, customer: Customer) -> None:
        """Add or extend a customer (a new IBAN it paid from, a name)."""
        known = self.customers.get(customer.customer_id)
        ibans = tuple(dict.fromkeys((*(known.ibans if known else ()), *customer.ibans)))
        self.customers[customer.customer_id] = Customer(customer.customer_id, customer.name,
                                                        tuple(i for i in ibans if i))
        for iban in ibans:
            if iban:
                self._by_iban.setdefault(compact_iban(iban), set()).add(customer.customer_id)
        if known is None or known.name != customer.name:
            tokens = name_tokens(customer.name)
            self._names[customer.customer_id] = " ".join(tokens)
            for block in blocks(tokens):
                ids = self._blocks.setdefault(block, [])
                if known is None or customer.customer_id not in ids:
                    ids.append(customer.customer_id)

    def add(self, item: OpenItem, terms: Terms | None = None) -> None:
        """Index an open item (replacing an earlier version of it)."""
        if item.invoice_id in self.items:
            self.remove(item.invoice_id)
        if terms is not None:
            self.terms[item.invoice_id] = terms
        if item.customer_id not in self.customers or (
                item.customer_iban and item.customer_iban not in
                self.customers[item.customer_id].ibans):
            self.add_customer(Customer(item.customer_id, item.customer_name,
                                       (item.customer_iban,) if item.customer_iban else ()))
        self.items[item.invoice_id] = item
        for key, kind in self._item_keys(item):
            _put(self._keys, key, item.invoice_id * 8 + kind)
        self._by_customer.setdefault(item.customer_id, {})[item.invoice_id] = None
        for amount in self._amounts(item):
            _put(self._by_customer_amount, (item.customer_id, item.currency, amount),
                 item.invoice_id)
        for amount in {cents(item.open_amount), cents(claim(item))}:
            _put(self._by_amount, (item.currency, amount), item.invoice_id)

    def remove(self, invoice_id: int) -> OpenItem | None:
        """Take an item out (settled); returns it, or None when it was not indexed."""
        item = self.items.pop(invoice_id, None)
        if item is None:
            return None
        for key, kind in self._item_keys(item):
            _drop(self._keys, key, invoice_id * 8 + kind)
        self._by_customer.get(item.customer_id, {}).pop(invoice_id, None)
        for amount in self._amounts(item):
            _drop(self._by_customer_amount, (item.customer_id, item.currency, amount),
                  invoice_id)
        for amount in {cents(item.open_amount), cents(claim(item))}:
            _drop(self._by_amount, (item.currency, amount), invoice_id)
        return item

    def reduce(self, invoice_id: int, amount: Decimal) -> OpenItem | None:
        """Lower an item's claim by what was booked on it (payment, discount, deduction):
        its open charges first, then its open amount; settled items leave the index.
        Returns the item as it is now."""
        item = self.items.get(invoice_id)
        if item is None:
            return None
        owed = item.charges_open
        self.remove(invoice_id)
        if claim(item) - amount <= 0:
            return None
        now = replace(item, open_amount=item.open_amount - max(amount - owed, ZERO),
                      charges_open=max(owed - amount, ZERO))
        self.add(now)
        return now

    def add_advice(self, advice: Advice) -> None:
        self.advices[advice.advice_id] = advice
        if advice.reference and len(normalise(advice.reference)) >= MIN_KEY:
            _put(self._keys, normalise(advice.reference), advice.advice_id * 8 + ADVICE)
        self._advice_by_total.setdefault(cents(advice.total), []).append(advice.advice_id)

    def remove_advice(self, advice_id: int) -> None:
        advice = self.advices.pop(advice_id, None)
        if advice is None:
            return
        if advice.reference:
            _drop(self._keys, normalise(advice.reference), advice_id * 8 + ADVICE)
        ids = self._advice_by_total.get(cents(advice.total), [])
        if advice_id in ids:
            ids.remove(advice_id)

    def _item_keys(self, item: OpenItem) -> list[tuple[str, int]]:
        keys: list[tuple[str, int]] = []
        number = normalise(item.number)
        if number:
            keys.append((number, NUMBER))
            digits = _PREFIX.sub("", number)
            if digits != number and digits:
                self._shapes.add(shape(number))
                self._shape_lengths.add(len(number))
                if len(digits) >= MIN_DIGITS_KEY:
                    keys.append((digits, DIGITS))
        if item.reference:
            keys.append((normalise(item.reference), RF))
        terms = self.terms.get(item.invoice_id)
        for e2e in terms.end_to_end_ids if terms else ():
            if normalise(e2e):
                keys.append((normalise(e2e), E2E))
        return keys

    def _amounts(self, item: OpenItem) -> tuple[int, ...]:
        """The amounts an item is paid with: open, open with its open charges, and open
        less its cash discount."""
        full = cents(item.open_amount)
        found = [full, cents(claim(item))]
        terms = self.terms.get(item.invoice_id)
        if terms is not None and terms.cash_discount_percent:
            found.append(full - cents(item.open_amount * terms.cash_discount_percent / 100))
        return tuple(dict.fromkeys(found))

    # ------------------------------------------------------------------ amounts

    def discount(self, item: OpenItem, paid_on: date) -> tuple[Decimal, int] | None:
        """The cash discount on the item's open amount and how many days after its period
        the payment is (0 or less: within it); None without discount terms."""
        terms = self.terms.get(item.invoice_id)
        until = terms.discount_until(item.issue_date) if terms else None
        if terms is None or until is None or not terms.cash_discount_percent:
            return None
        amount = round_money(item.open_amount * terms.cash_discount_percent / 100)
        return (amount, (paid_on - until).days) if amount > 0 else None

    def options(self, item: OpenItem, paid_on: date) -> list[tuple[int, bool]]:
        """(cents, discounted): the open amount, with its open charges (when it has some),
        and less the discount within its period."""
        out = [(cents(item.open_amount), False)]
        if item.charges_open:
            out.append((cents(claim(item)), False))
        found = self.discount(item, paid_on)
        if found is not None and found[1] <= 0:
            out.append((out[0][0] - cents(found[0]), True))
        return out

    def sums(self, items: list[OpenItem], amount: Decimal, paid_on: date, min_size: int = 1,
             max_size: int = MAX_SUBSET, budget: int = WORK_BUDGET,
             ) -> tuple[list[tuple[tuple[OpenItem, bool], ...]], bool]:
        """Sets of up to `max_size` of the items (each paid in full, or less its discount
        within the period) that add up to `amount` (engine.core.matching_sums)."""
        return subset_sums(items, [self.options(i, paid_on) for i in items[:MAX_SUBSET_ITEMS]],
                           cents(amount), min_size, max_size, budget)

    # ------------------------------------------------------------------ lookups

    def lookup(self, key: str) -> list[tuple[int, int]]:
        """(id, kind) for a normalised key: kind RF, NUMBER, DIGITS, E2E or ADVICE."""
        return [(p >> 3, p & 7) for p in _ids(self._keys.get(key))]

    def looks_like_number(self, key: str) -> bool:
        """The key has the form of one of our prefixed invoice numbers (found or not)."""
        return len(key) in self._shape_lengths and shape(key) in self._shapes

    def customers_by_iban(self, iban: str) -> frozenset[int]:
        return frozenset(self._by_iban.get(compact_iban(iban), ())) if iban else frozenset()

    def items_of(self, customer_id: int) -> list[OpenItem]:
        """A customer's open items, oldest due first."""
        ids = self._by_customer.get(customer_id, {})
        return sorted((self.items[i] for i in ids), key=lambda i: (i.due_date, i.number))

    def count_of(self, customer_id: int) -> int:
        return len(self._by_customer.get(customer_id, {}))

    def by_customer_amount(self, customer_id: int, currency: str, amount: Decimal) -> list[OpenItem]:
        found = self._by_customer_amount.get((customer_id, currency, cents(amount)))
        return [self.items[i] for i in _ids(found)]

    def by_amount(self, currency: str, amount: Decimal, limit: int = 4) -> list[OpenItem]:
        """Items of any customer with this open amount (at most `limit`+1, to see more)."""
        found = self._by_amount.get((currency, cents(amount)))
        return [self.items[i] for i in _ids(found, limit + 1)]

    def advices_by_total(self, amount: Decimal) -> list[Advice]:
        return [self.advices[i] for i in self._advice_by_total.get(cents(amount), ())]

    def customers_by_name(self, name: str, limit: int = 3,
                          cutoff: float = 70) -> list[tuple[int, float]]:
        """Customers whose name is like `name`, best first, scored only within the name's
        blocks (at most BLOCK_CAP customers per single-token block: bounded work)."""
        tokens = name_tokens(name)
        if not tokens:
            return []
        ids: set[int] = set()
        for block in blocks(tokens):
            members = self._blocks.get(block, ())
            if "|" in block or len(members) <= BLOCK_CAP:
                ids.update(members[:4 * BLOCK_CAP])
        if not ids:
            return []
        query, cut = " ".join(tokens), len(name) >= 27
        choices = {cid: self._names[cid] for cid in ids}
        rough = {cid for scorer in (fuzz.token_sort_ratio, fuzz.ratio)
                 for _, _, cid in process.extract(query, choices, scorer=scorer,
                                                  limit=limit + 10, score_cutoff=cutoff - 30)}
        scored = sorted(((cid, name_score(query, self._names[cid], cut)) for cid in rough),
                        key=lambda pair: (-pair[1], pair[0]))
        return [(cid, s) for cid, s in scored if s >= cutoff][:limit]

    def name_similarity(self, name: str, customer_id: int) -> float:
        """0..100: how well `name` fits one customer's name."""
        known = self._names.get(customer_id)
        tokens = name_tokens(name)
        return name_score(" ".join(tokens), known, len(name) >= 27) if known and tokens else 0.0
