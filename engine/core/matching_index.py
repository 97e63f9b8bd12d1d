"""An index over open items for payment matching, so that one bank transaction costs about
the same against 100,000 open invoices as against 1,000,000. Pure: no I/O, no clock.

What it finds, each by a dictionary lookup:

- an item by any key a payer may write: its RF reference, its invoice number, the number
  without its letter prefix, an end-to-end id. Keys are normalised the same way on both
  sides (`normalise`: upper case, no separators, letters OCR confuses with digits mapped
  to them), and the remittance text is cut into tokens whose adjacent runs are joined
  (`text_keys`), so "RE 2026 OOOO7" finds RE-2026-00007;
- the customers behind an IBAN, a customer's open items, and a customer's items by exact
  amount (open amount, and the amount after cash discount when the item has terms);
- items of any customer by exact amount (for suggestions when the payer is unknown);
- customers by fuzzy name (rapidfuzz) within a blocking key, a bounded amount of work;
- remittance advices by their reference, their total and their customer.

Everything is updated incrementally: `reduce` when a payment is booked, `remove` when an
item is settled, `add` for a new one.
"""

from __future__ import annotations

import gc
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import TypeVar

from rapidfuzz import fuzz, process

from engine.core.money import round_money
from engine.core.records import OpenItem, RemittanceLine

MAX_WINDOW = 7  # adjacent text tokens joined into one key ("RF18 RE20 2600 007")
MAX_KEY = 40
MIN_KEY = 4
MIN_DIGITS_KEY = 6  # a number without its prefix is a key only from this length
BLOCK_CAP = 256  # customers scored for one fuzzy name lookup, at most, per block
MAX_SUBSET = 4  # invoices in one payment found by amount alone
MAX_SUBSET_ITEMS = 25  # of a customer's open items, the oldest due, searched for sums
WORK_BUDGET = 20_000  # steps of one subset-sum search

# key kinds, packed with the id into one int: id * 8 + kind
RF, NUMBER, DIGITS, E2E, ADVICE = 1, 2, 3, 4, 5
KIND_NAMES = {RF: "rf", NUMBER: "number", DIGITS: "digits", E2E: "e2e", ADVICE: "advice"}

_SLIPS = str.maketrans({"O": "0", "I": "1", "L": "1", "S": "5", "B": "8"})
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_PREFIX = re.compile(r"^[A-Z]+")
_NINES = str.maketrans("0123456789", "9999999999")
UMLAUTS = str.maketrans({"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "ẞ": "SS"})
LEGAL_FORMS = frozenset({
    "GMBH", "MBH", "AG", "KG", "CO", "UG", "OHG", "GBR", "EK", "EKFR", "EKFM", "EG", "SE",
    "KGAA", "HAFTUNGSBESCHRAENKT", "UND", "U", "DIE", "DER", "DAS", "FA", "FIRMA", "INH",
    "INHABER", "LTD", "INC", "LLC", "SARL", "SA", "BV", "NV", "AB", "SRL", "SPA", "PLC",
})


_FORM_LETTERS = frozenset("".join(sorted(f)) for f in LEGAL_FORMS if len(f) >= 4)


def normalise(text: str) -> str:
    """Upper case, letters that OCR confuses with digits mapped to them, no separators."""
    return _NOT_ALNUM.sub("", text.upper()).translate(_SLIPS)


def cents(amount: Decimal) -> int:
    """An amount as whole cents (amounts in the index are ints: cheap keys, exact sums)."""
    return int(round_money(amount) * 100)


def text_keys(text: str) -> list[str]:
    """Every run of up to MAX_WINDOW adjacent tokens of the text, joined and normalised."""
    tokens = [t.upper().translate(_SLIPS) for t in _TOKEN.findall(text)]
    keys: list[str] = []
    for start in range(len(tokens)):
        key = ""
        for token in tokens[start:start + MAX_WINDOW]:
            key += token
            if len(key) > MAX_KEY:
                break
            if len(key) >= MIN_KEY:
                keys.append(key)
    return keys


def shape(key: str) -> str:
    """The form of a key: its letters kept, every digit a 9 ("RE202600007" → "RE999999999")."""
    return key.translate(_NINES)


def name_tokens(name: str) -> list[str]:
    """A company name as the bank may print it: transliterated, upper case, no legal form
    (also none the bank cut short or a typist garbled: "GMB", "MGBH", "HAFTUNGSBESCHR")."""
    plain = unicodedata.normalize("NFKD", name.upper().translate(UMLAUTS))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    tokens = _NOT_ALNUM.sub(" ", plain).split()
    if len(tokens) > 2 and len(tokens[-1]) >= 2 and any(
            form.startswith(tokens[-1]) for form in LEGAL_FORMS if len(form) > 3):
        tokens.pop()
    return [t for t in tokens if t not in LEGAL_FORMS and not t.startswith("HAFTUNG")
            and "".join(sorted(t)) not in _FORM_LETTERS]


def name_score(query: str, name: str, cut: bool = False) -> float:
    """0..100, half on the whole name (token order ignored; when the bank `cut` the name
    short, on what is left) and half on the name's first word being in the query, so a
    different owner of the same trade and town scores low."""
    whole = max(fuzz.token_sort_ratio(query, name), fuzz.ratio(query, name))
    if cut:  # what is left but the last word (a fragment) against the name's start
        kept = query.rsplit(" ", 1)[0]
        whole = max(whole, fuzz.ratio(kept, name[:len(kept)]))
    head = name.split(" ", 1)[0]
    first = max((fuzz.ratio(t, head) for t in query.split()[:3]), default=0.0)
    return (whole + first) / 2
def _blocks(tokens: list[str]) -> list[str]:
    """Blocking keys: the first four letters of each of the first two tokens, and the pair."""
    heads = [t[:4] for t in tokens[:2] if len(t) >= 2]
    keys = list(dict.fromkeys(heads))
    if len(heads) == 2:
        keys.append("|".join(sorted(heads)))
    return keys


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
                self._by_iban.setdefault(_compact(iban), set()).add(customer.customer_id)
        if known is None or known.name != customer.name:
            tokens = name_tokens(customer.name)
            self._names[customer.customer_id] = " ".join(tokens)
            for block in _blocks(tokens):
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
        _put(self._by_amount, (item.currency, cents(item.open_amount)),
             item.invoice_id)

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
        _drop(self._by_amount, (item.currency, cents(item.open_amount)),
              invoice_id)
        return item

    def reduce(self, invoice_id: int, amount: Decimal) -> OpenItem | None:
        """Lower an item's open amount by what was booked on it (payment, discount,
        deduction); settled items leave the index. Returns the item as it is now."""
        item = self.items.get(invoice_id)
        if item is None:
            return None
        rest = item.open_amount - amount
        self.remove(invoice_id)
        if rest <= 0:
            return None
        now = replace(item, open_amount=rest)
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
        """The amounts an item is paid with: open, and open less its cash discount."""
        full = cents(item.open_amount)
        terms = self.terms.get(item.invoice_id)
        if terms is None or not terms.cash_discount_percent:
            return (full,)
        discounted = full - cents(item.open_amount * terms.cash_discount_percent / 100)
        return (full, discounted) if discounted != full else (full,)

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
        """(cents, discounted): the open amount, and less the discount within its period."""
        out = [(cents(item.open_amount), False)]
        found = self.discount(item, paid_on)
        if found is not None and found[1] <= 0:
            out.append((out[0][0] - cents(found[0]), True))
        return out

    def sums(self, items: list[OpenItem], amount: Decimal, paid_on: date, min_size: int = 1,
             max_size: int = MAX_SUBSET, budget: int = WORK_BUDGET,
             ) -> tuple[list[tuple[tuple[OpenItem, bool], ...]], bool]:
        """Sets of up to `max_size` of the items (each paid in full, or less its discount
        within the period) that add up to `amount`: at most two (two mean: ambiguous), and
        whether the search was complete within `budget` steps."""
        target = cents(amount)
        values = [(c, n, d) for n, item in enumerate(items[:MAX_SUBSET_ITEMS])
                  for c, d in self.options(item, paid_on) if c <= target]
        found: dict[frozenset[int], tuple[tuple[int, int, bool], ...]] = {}

        def keep(combo: tuple[tuple[int, int, bool], ...]) -> bool:
            key = frozenset(v[1] for v in combo)
            if len(key) == len(combo):
                found.setdefault(key, combo)
            return len(found) >= 2

        def result(complete: bool) -> tuple[list[tuple[tuple[OpenItem, bool], ...]], bool]:
            return ([tuple((items[n], d) for _, n, d in combo) for combo in found.values()],
                    complete)

        for v in values if min_size <= 1 else ():
            if v[0] == target and keep((v,)):
                return result(True)
        if max_size < 2:
            return result(True)
        pairs: dict[int, list[tuple[tuple[int, int, bool], ...]]] = {}
        work = 0
        for i, a in enumerate(values):
            for b in values[i + 1:]:
                work += 1
                if a[1] != b[1] and a[0] + b[0] <= target:
                    pairs.setdefault(a[0] + b[0], []).append((a, b))
            if work > budget:
                return result(False)
        for pair in pairs.get(target, ()):
            if keep(pair):
                return result(True)
        if max_size >= 3:
            for v in values:
                for pair in pairs.get(target - v[0], ()):
                    work += 1
                    if keep((v, *pair)) or work > budget:
                        return result(work <= budget)
        if max_size >= 4:
            for total, first in pairs.items():
                rest = target - total
                if rest < total:
                    continue
                for p in first:
                    for q in pairs.get(rest, ()):
                        work += 1
                        if keep((*p, *q)) or work > budget:
                            return result(work <= budget)
        return result(True)

    # ------------------------------------------------------------------ lookups

    def lookup(self, key: str) -> list[tuple[int, int]]:
        """(id, kind) for a normalised key: kind RF, NUMBER, DIGITS, E2E or ADVICE."""
        return [(p >> 3, p & 7) for p in _ids(self._keys.get(key))]

    def looks_like_number(self, key: str) -> bool:
        """The key has the form of one of our prefixed invoice numbers (found or not)."""
        return len(key) in self._shape_lengths and shape(key) in self._shapes

    def customers_by_iban(self, iban: str) -> frozenset[int]:
        return frozenset(self._by_iban.get(_compact(iban), ())) if iban else frozenset()

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
        for block in _blocks(tokens):
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


def _compact(iban: str) -> str:
    return iban.replace(" ", "").upper()
