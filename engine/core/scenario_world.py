"""The world of the payment scenarios (engine.core.scenarios): customers with the noisy
names banks print, their open invoices (some with cash discount terms and a VAT split, some
in USD or CHF), and the helpers that make payers and payments look real (`bank_name`,
`slipped`). Pure and seeded through the `Maker`'s random source.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import combinations, product

from engine.core.checks import make_iban, rf_reference
from engine.core.matching import Payment
from engine.core.matching_index import UMLAUTS, Advice, Customer, Terms
from engine.core.money import round_money
from engine.core.records import OpenItem

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


class Maker:
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
