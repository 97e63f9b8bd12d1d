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

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from itertools import combinations, product

from engine.core.checks import make_iban, rf_reference
from engine.core.matching import Candidate, Payment, book, find, match_facts
from engine.core.matching_index import UMLAUTS, Advice, Customer, OpenItemIndex, Terms
from engine.core.money import round_money
from engine.core.records import OpenItem, RemittanceLine
from engine.core.rules import RuleSet, decide

STYLES: dict[str, int] = {  # style → weight in the mix (per cent)
    "rf_reference": 12, "invoice_number": 12, "number_slip": 9, "number_typo": 2,
    "several_numbers": 6, "remittance_advice": 6, "iban_amount": 12, "iban_sum": 5,
    "skonto": 8, "partial": 5, "overpayment": 4, "end_to_end": 4, "name_amount": 3,
    "decoy": 3, "wrong_reference": 3, "currency": 2, "unrelated": 4,
}
SURNAMES = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier", "Lehmann", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Vogel", "Friedrich", "Keller", "Günther", "Frank", "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Simon", "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher", "Krämer", "Vogt", "Stein", "Jäger", "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Dietrich", "Ziegler", "Kuhn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt", "Sauer", "Arnold", "Wolff", "Pfeiffer", "Nordlicht", "Alpen", "Rhein", "Hanse", "Elbe", "Spree", "Isar", "Main"]
TRADES = ["Maschinenbau", "Elektrotechnik", "Logistik", "Bau", "Metallbau", "Haustechnik", "Druckerei", "Werkzeugbau", "Kunststofftechnik", "Gartenbau", "Dachdeckerei", "Schreinerei", "Autohaus", "Fördertechnik", "Lebensmittel", "Getränke", "Textil", "Medizintechnik", "Software", "Beratung", "Immobilien", "Spedition", "Anlagenbau", "Feinmechanik", "Holzbau", "Stahlhandel", "Elektro", "Sanitär", "Verpackung", "Reinigung", "Catering", "Optik", "Landtechnik", "Umwelttechnik", "Messtechnik", "Antriebstechnik", "Bürobedarf", "Industriebedarf", "Handel", "Service"]
PLACES = ["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Stuttgart", "Düsseldorf", "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden", "Hannover", "Nürnberg", "Duisburg", "Bochum", "Wuppertal", "Bielefeld", "Bonn", "Münster", "Mannheim", "Karlsruhe", "Augsburg", "Wiesbaden", "Kiel", "Rostock", "Ulm", "Trier"]
LEGAL = ("GmbH", "GmbH", "GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "UG (haftungsbeschränkt)")
OTHERS = ("Finanzamt Mitte", "AOK Nordost", "Allianz Versicherungs-AG", "Deutsche Telekom AG",
          "Stadtwerke", "Hausbank Zinsen", "Eigenes Konto Umbuchung", "Bundesagentur fuer Arbeit")
GENERIC = ("", "Zahlung", "Ihre Rechnung", "Lieferung", "Danke", "Sammelueberweisung",
           "Zahlung Oktober", "Begleichung offener Posten", "Ueberweisung")
TODAY = date(2026, 10, 15)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Case:
    """One incoming payment and the truth: (invoice id, amount of the payment) per item,
    (invoice id, amount, kind) per discount or deduction, the credit left over."""

    style: str
    payment: Payment
    truth: tuple[tuple[int, Decimal], ...]
    reductions: tuple[tuple[int, Decimal, str], ...] = ()
    determinable: bool = True
    credit: Decimal = Decimal("0.00")


@dataclass
class World:
    """Customers, open items with their terms, advices received, and the payments."""

    today: date
    items: list[OpenItem] = field(default_factory=list)
    terms: dict[int, Terms] = field(default_factory=dict)
    customers: list[Customer] = field(default_factory=list)
    advices: list[Advice] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)


class _Maker:
    """The generator's state: random source, numbering, what is still unpaid."""

    def __init__(self, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.world = World(today)
        self.names: set[str] = set()
        self.free: dict[int, list[OpenItem]] = {}  # customer → items not yet paid
        self.owned: dict[int, list[OpenItem]] = {}  # customer → all its items
        self.money: dict[int, str] = {}  # customer → its invoices' currency
        self.sample: list[int] = []
        self.pools: dict[bool, list[int]] = {}
        self.numbers: set[str] = set()
        self.seq = 0
        self.typos: set[str] = set()

    # ------------------------------------------------------------------ master data

    def customer(self, like: str | None = None) -> Customer:
        rng = self.rng
        while True:
            if like is None:
                name = f"{rng.choice(SURNAMES)} {rng.choice(TRADES)}"
                name += f" {rng.choice(PLACES)}" if rng.random() < 0.7 else ""
            else:  # a decoy: the same first words, another trade or place
                name = " ".join(like.split()[:2]) + f" {rng.choice(PLACES)} {rng.choice(TRADES)}"
            name = f"{name} {rng.choice(LEGAL)}"
            if name not in self.names:
                break
        self.names.add(name)
        cid = len(self.world.customers) + 1
        iban = make_iban("DE", f"{rng.randrange(10**7, 10**8)}{cid:010d}")
        customer = Customer(cid, name, (iban,))
        self.world.customers.append(customer)
        self.money[cid] = "EUR" if rng.random() < 0.96 or like else rng.choice(("USD", "CHF"))
        self.free[cid], self.owned[cid] = [], []
        return customer

    def amount(self) -> Decimal:
        rng = self.rng
        if rng.random() < 0.08:  # round amounts recur: 119.00, 595.00, …
            return Decimal(rng.choice((119, 238, 357, 595, 1190, 2380, 59, 99))) * Decimal("1.00")
        return (Decimal(int(rng.lognormvariate(7.0, 1.2) * 100) + 500) / 100).quantize(CENT)

    def item(self, customer: Customer, amount: Decimal | None = None,
             discount: bool | None = None) -> OpenItem:
        rng, today = self.rng, self.world.today
        self.seq += 1
        number = f"RE-{2026 - self.seq % 2}-{self.seq // 2 + 1:06d}"
        self.numbers.add(number)
        issue = today - timedelta(days=rng.randrange(1, 60))
        gross = amount if amount is not None else self.amount()
        item = OpenItem(self.seq, number, customer.customer_id, customer.name,
                        customer.ibans[0], rf_reference(number), gross, gross, issue,
                        issue + timedelta(days=rng.choice((14, 30, 30, 45))),
                        self.money[customer.customer_id])
        if discount if discount is not None else rng.random() < 0.3:
            rates = rng.choice(((19,), (19,), (19,), (7,), (19, 7)))
            split = round_money(gross * Decimal(rng.choice((40, 60, 75))) / 100)
            vat = ((Decimal(rates[0]), gross),) if len(rates) == 1 else (
                (Decimal(19), split), (Decimal(7), gross - split))
            self.world.terms[item.invoice_id] = Terms(
                Decimal(rng.choice(("2", "2", "3"))), rng.choice((8, 10, 14)), vat,
                (f"E2E{item.invoice_id:09d}",))
        else:
            self.world.terms[item.invoice_id] = Terms(end_to_end_ids=(f"E2E{item.invoice_id:09d}",))
        self.world.items.append(item)
        self.free[customer.customer_id].append(item)
        self.owned[customer.customer_id].append(item)
        return item

    # ------------------------------------------------------------------ helpers

    def take(self, customer: Customer, n: int = 1) -> list[OpenItem]:
        """n unpaid items of the customer (new ones when it has too few)."""
        free = self.free[customer.customer_id]
        while len(free) < n:
            self.item(customer)
        picked = self.rng.sample(free, n)
        for item in picked:
            free.remove(item)
        return picked

    def discount(self, item: OpenItem) -> Decimal | None:
        terms = self.world.terms.get(item.invoice_id)
        if terms is None or not terms.cash_discount_percent:
            return None
        return round_money(item.open_amount * terms.cash_discount_percent / 100)

    def pay_day(self, items: list[OpenItem], within_discount: bool = False) -> date:
        first = max(i.issue_date for i in items)
        if within_discount:
            days = min(self.world.terms[i.invoice_id].cash_discount_days or 0 for i in items)
            return first + timedelta(days=self.rng.randrange(0, days + 1))
        end = self.world.today
        last = end if not any(self.discount(i) for i in items) else max(
            first + timedelta(days=(self.world.terms[i.invoice_id].cash_discount_days or 0) + 1)
            for i in items)
        return max(first, min(end, last + timedelta(days=self.rng.randrange(0, 20))))

    def payer(self, customer: Customer, known: bool = True) -> tuple[str, str]:
        """(IBAN, name) as the bank statement shows the payer."""
        if known:
            return customer.ibans[0], bank_name(customer.name, self.rng, mild=True)
        iban = make_iban("DE", f"{self.rng.randrange(10**7, 10**8)}{self.rng.randrange(10**10):010d}")
        return iban, bank_name(customer.name, self.rng)

    def unique(self, customer: Customer, amount: Decimal, day: date) -> bool:
        """Exactly one set of up to four of the customer's open items pays `amount`."""
        items = self.owned[customer.customer_id]
        if len(items) > 14:
            return False
        options = [[i.open_amount] + ([i.open_amount - d] if (d := self.discount(i)) and
                   day <= i.issue_date + timedelta(days=self.world.terms[i.invoice_id]
                                                  .cash_discount_days or 0) else [])
                   for i in items]
        hits = 0
        for size in range(1, 5):
            for combo in combinations(range(len(items)), size):
                hits += sum(1 for values in product(*(options[n] for n in combo))
                            if sum(values) == amount)
        return hits == 1


def bank_name(name: str, rng: random.Random, mild: bool = False) -> str:
    """A company name as a bank prints it: upper case, transliterated, the legal form
    changed or left out, cut at 27 characters, now and then one letter slipped."""
    out = name.upper()
    if rng.random() < 0.8:
        out = out.translate(UMLAUTS)
    if rng.random() < 0.3:
        for form in ("GMBH & CO. KG", "UG (HAFTUNGSBESCHRÄNKT)", "UG (HAFTUNGSBESCHRAENKT)",
                     "GMBH", "E.K.", "AG", "KG"):
            if out.endswith(" " + form):
                out = out[: -len(form) - 1] + rng.choice(("", " GMBH", " GMBH U. CO. KG"))
                break
    if not mild and rng.random() < 0.3:
        out = out[:27]
    if not mild and rng.random() < 0.15 and len(out) > 8:
        at = rng.randrange(2, len(out) - 2)
        out = out[:at] + out[at + 1] + out[at] + out[at + 2:]
    return out.strip()


def slipped(number: str, rng: random.Random) -> str:
    """The invoice number as typed or read by OCR: 0→O, 1→I/l, dashes lost or spaced."""
    out = number
    for _ in range(rng.randint(1, 3)):
        pick = rng.random()
        if pick < 0.3 and "0" in out:
            at = rng.choice([n for n, c in enumerate(out) if c == "0"])
            out = out[:at] + "O" + out[at + 1:]
        elif pick < 0.45 and "1" in out:
            at = rng.choice([n for n, c in enumerate(out) if c == "1"])
            out = out[:at] + rng.choice("Il") + out[at + 1:]
        elif pick < 0.7:
            out = out.replace("-", "", 1)
        elif pick < 0.9:
            out = out.replace("-", " ", 1)
        else:
            out = out.lower()
    return out


class _Styles(_Maker):
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
