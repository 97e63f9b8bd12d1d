"""Payment matching in the core: the index (keys, slips, names, amounts, incremental
updates, bounded work) and the candidates (Skonto with its VAT correction, several
invoices, partial payments, overpayments, advices, conflicts, currencies, facts)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core.checks import rf_reference
from engine.core.matching import (
    Candidate,
    Payment,
    VatPart,
    book,
    find,
    match_facts,
    vat_split,
)
from engine.core.matching_index import (
    Advice,
    Customer,
    OpenItemIndex,
    Terms,
    name_tokens,
    normalise,
    text_keys,
)
from engine.core.records import OpenItem, RemittanceLine

TODAY = date(2026, 9, 20)
ISSUED = date(2026, 9, 10)
IBAN_1, IBAN_2 = "DE02120300000000202051", "DE89370400440532013000"


def item(n: int, amount: str, customer: int = 1, iban: str = IBAN_1, name: str = "",
         currency: str = "EUR", issued: date = ISSUED) -> OpenItem:
    number = f"RE-2026-{n:05d}"
    return OpenItem(n, number, customer, name or f"Kunde {customer} GmbH", iban,
                    rf_reference(number), D(amount), D(amount), issued,
                    issued + timedelta(days=30), currency)


def pay(amount: str, text: str = "", iban: str = IBAN_1, name: str = "", on: date = TODAY,
        currency: str = "EUR", e2e: str = "") -> Payment:
    return Payment(D(amount), currency, iban, name, text, e2e, on)


def best(index: OpenItemIndex, payment: Payment) -> Candidate:
    found = find(index, payment, TODAY).best
    assert found is not None
    return found


def booked(c: Candidate) -> list[tuple[str, D]]:
    return [(i.number, a) for i, a in c.allocations]


# ------------------------------------------------------------------------ the index


def test_text_keys_join_adjacent_tokens_and_map_slips() -> None:
    keys = text_keys("Rechnung RE 2026 OOOO7, danke")
    assert normalise("RE-2026-00007") in keys
    assert normalise("re-2O26 0O7") == normalise("RE2026007")
    assert "RF18RE202600007" in text_keys("RF18 RE20 2600 007")


def test_items_are_found_by_every_key() -> None:
    index = OpenItemIndex([item(7, "100.00")], {7: Terms(end_to_end_ids=("E2E-4711",))})
    for text in ("RE-2026-00007", "re 2026 0OOO7", "Rg 202600007", rf_reference("RE-2026-00007")):
        assert booked(best(index, pay("100.00", text))) == [("RE-2026-00007", D("100.00"))], text
    assert best(index, pay("100.00", e2e="E2E-4711")).kind == "end_to_end"


def test_the_index_is_updated_incrementally() -> None:
    index = OpenItemIndex([item(1, "100.00"), item(2, "50.00")])
    book(index, best(index, pay("60.00", "RE-2026-00001")))
    assert index.items[1].open_amount == D("40.00")
    assert [i.number for i in index.by_customer_amount(1, "EUR", D("40.00"))] == ["RE-2026-00001"]
    assert index.by_customer_amount(1, "EUR", D("100.00")) == []
    book(index, best(index, pay("40.00", "RE-2026-00001")))
    assert 1 not in index.items and index.lookup(normalise("RE-2026-00001")) == []
    again = find(index, pay("40.00", "RE-2026-00001"), TODAY).candidates  # paid: not open
    assert all(1 not in c.invoices and c.confidence < D("0.9") for c in again)
    index.add(item(3, "70.00", customer=2, iban=IBAN_2))
    assert index.customers_by_iban(IBAN_2) == {2}


def test_names_as_banks_print_them() -> None:
    assert name_tokens("Müller Maschinenbau GmbH & Co. KG") == ["MUELLER", "MASCHINENBAU"]
    assert name_tokens("MUELLER MASCHINENBAU GMB") == ["MUELLER", "MASCHINENBAU"]
    index = OpenItemIndex(customers=[
        Customer(1, "Müller Maschinenbau GmbH"), Customer(2, "Müller Metallbau GmbH"),
        Customer(3, "Schmidt Maschinenbau KG")])
    found = index.customers_by_name("MUELLER MASCHINENBAU")
    assert found[0][0] == 1 and found[0][1] == 100 and all(s < 90 for _, s in found[1:])
    assert index.customers_by_name("MUELLER MASCHINENBAU GMBH UND CO K")[0][0] == 1


def test_name_lookups_score_only_within_blocks() -> None:
    many = [Customer(n, f"Firma{n:05d} Handel GmbH") for n in range(5_000)]
    index = OpenItemIndex(customers=[*many, Customer(9_999, "Zeppelin Logistik AG")])
    scored: list[int] = []
    original = index._names.__class__.__getitem__

    class Counting(dict[int, str]):
        def __getitem__(self, key: int) -> str:
            scored.append(key)
            return original(self, key)

    index._names = Counting(index._names)
    assert index.customers_by_name("ZEPPELIN LOGISTIK")[0][0] == 9_999
    assert len(scored) < 50  # not the 5,001 customers


def test_subset_sums_are_bounded_and_report_ambiguity() -> None:
    items = [item(n, str(10 * n)) for n in range(1, 26)]
    index = OpenItemIndex(items)
    solutions, complete = index.sums(items, D("1.00"), TODAY)
    assert solutions == [] and complete
    solutions, complete = index.sums(items, D("30.00"), TODAY)  # 30, 10+20
    assert len(solutions) == 2 and complete
    _, complete = index.sums(items, D("10000.00"), TODAY, budget=100)
    assert not complete


# ---------------------------------------------------------------------- candidates


def skonto_index(vat: tuple[tuple[D, D], ...] = ((D("19"), D("1190.00")),)) -> OpenItemIndex:
    return OpenItemIndex([item(1, "1190.00")], {1: Terms(D("2"), 10, vat)})


def test_cash_discount_within_its_period_with_vat_per_rate() -> None:
    c = best(skonto_index(), pay("1166.20", "RE-2026-00001"))
    assert booked(c) == [("RE-2026-00001", D("1166.20"))] and c.difference == 0
    (discount,) = c.reductions
    assert (discount.kind, discount.amount) == ("discount", D("23.80"))
    assert [(v.rate, v.gross, v.net, v.tax) for v in discount.vat] == [
        (D("19"), D("23.80"), D("20.00"), D("3.80"))]
    mixed = skonto_index(((D("19"), D("595.00")), (D("7"), D("595.00"))))
    parts = best(mixed, pay("1166.20", "RE-2026-00001")).reductions[0].vat
    assert [(v.rate, v.gross, v.tax) for v in parts] == [(D("19"), D("11.90"), D("1.90")),
                                                         (D("7"), D("11.90"), D("0.78"))]
    assert sum((v.gross for v in parts), D(0)) == D("23.80")
    by_iban = best(skonto_index(), pay("1166.20", "Zahlung"))
    assert by_iban.kind == "iban_amount" and by_iban.reduced("discount") == D("23.80")


def test_a_discount_taken_late_is_not_granted() -> None:
    late = ISSUED + timedelta(days=14)
    c = best(skonto_index(), pay("1166.20", "RE-2026-00001", on=late))
    assert c.reductions == () and c.discount_days_late == 4 and c.difference == D("-23.80")
    facts = match_facts(pay("1166.20", "RE-2026-00001", on=late),
                        find(skonto_index(), pay("1166.20", "RE-2026-00001", on=late), TODAY))
    assert facts["match"]["discount_days_late"] == 4 and facts["match"]["discount"] == 0


def test_vat_split_rounds_to_the_cent_and_adds_up() -> None:
    parts = vat_split(D("10.00"), ((D("19"), D("1")), (D("7"), D("1")), (D("0"), D("1"))))
    assert sum((p.gross for p in parts), D(0)) == D("10.00")
    assert all(p.net + p.tax == p.gross for p in parts) and parts[2].tax == 0
    # 3.333… each: the cent left over goes to the first of equal remainders
    assert [p.gross for p in parts] == [D("3.34"), D("3.33"), D("3.33")]


def test_vat_split_of_a_two_rate_invoice_by_hand() -> None:
    # 595.00 gross at 19 %, 297.50 at 7 %: 23.81 × 595/892.50 = 15.8733…, × 297.50/892.50
    # = 7.9366…; floors 15.87 + 7.93 = 23.80, the cent left goes to the larger remainder
    # (0.0066 > 0.0033): 7.94. Tax 15.87 × 19/119 = 2.5339 → 2.53; 7.94 × 7/107 = 0.5194
    # → 0.52; net the rest.
    parts = vat_split(D("23.81"), ((D("19"), D("595.00")), (D("7"), D("297.50"))))
    assert parts == (VatPart(D("19"), D("15.87"), D("13.34"), D("2.53")),
                     VatPart(D("7"), D("7.94"), D("7.42"), D("0.52")))


def charged(n: int, amount: str, charges: str) -> OpenItem:
    """An open item whose claim also holds dunning charges still owed."""
    return replace(item(n, amount), charges_open=D(charges))


def test_open_amount_and_charges_is_an_exact_payment() -> None:
    index = OpenItemIndex([charged(1, "100.00", "7.50"), item(2, "60.00")])
    by_reference = best(index, pay("107.50", "RE-2026-00001"))
    assert booked(by_reference) == [("RE-2026-00001", D("107.50"))]
    assert by_reference.difference == 0 and by_reference.unapplied == 0
    by_amount = best(index, pay("107.50", "Zahlung"))
    assert by_amount.kind == "iban_amount" and booked(by_amount) == [("RE-2026-00001", D("107.50"))]
    assert by_amount.difference == 0
    by_sum = best(index, pay("167.50", "Sammelzahlung"))
    assert by_sum.kind == "iban_sum" and by_sum.invoices == (1, 2) and by_sum.difference == 0
    over = best(index, pay("110.00", "RE-2026-00001"))
    assert booked(over) == [("RE-2026-00001", D("107.50"))] and over.unapplied == D("2.50")
    book(index, by_reference)
    assert index.lookup(normalise("RE-2026-00001")) == []


def test_a_payment_of_the_open_amount_settles_the_charges_first() -> None:
    index = OpenItemIndex([charged(1, "100.00", "7.50")])
    principal = best(index, pay("100.00", "RE-2026-00001"))
    assert booked(principal) == [("RE-2026-00001", D("100.00"))]
    assert principal.difference == D("-7.50")  # the claim is not paid in full
    book(index, principal)
    left = index.items[1]
    assert (left.open_amount, left.charges_open) == (D("7.50"), D("0.00"))
    assert best(index, pay("7.50", "RE-2026-00001")).difference == 0


def test_charges_left_after_the_principal_keep_the_item_open() -> None:
    index = OpenItemIndex([charged(1, "0.00", "45.00")])  # principal paid, charges owed
    part = best(index, pay("40.00", "RE-2026-00001"))
    assert booked(part) == [("RE-2026-00001", D("40.00"))] and part.difference == D("-5.00")
    book(index, part)
    assert (index.items[1].open_amount, index.items[1].charges_open) == (D("0.00"), D("5.00"))
    rest = best(index, pay("5.00", "Mahngebuehr"))
    assert rest.kind == "iban_amount" and rest.difference == 0
    book(index, rest)
    assert index.items == {}


def test_several_invoices_in_one_payment() -> None:
    index = OpenItemIndex([item(1, "100.00"), item(2, "50.00"), item(3, "70.00")])
    c = best(index, pay("150.00", "RE-2026-00001 RE-2026-00002", iban=""))
    assert c.kind == "invoice_number" and c.invoices == (1, 2) and c.difference == 0
    by_sum = best(index, pay("170.00", "Sammelzahlung"))
    assert by_sum.kind == "iban_sum" and by_sum.invoices == (1, 3)
    index.add(item(4, "80.00"))
    ambiguous = find(index, pay("150.00", "?"), TODAY)  # 100+50 or 70+80
    assert len(ambiguous.candidates) == 2 and all(
        c.confidence < D("0.85") for c in ambiguous.candidates)


def test_partial_payment_and_overpayment_kept_as_credit() -> None:
    index = OpenItemIndex([item(1, "100.00")])
    partial = best(index, pay("60.00", "Teilzahlung RE-2026-00001"))
    assert booked(partial) == [("RE-2026-00001", D("60.00"))] and partial.difference == -40
    over = best(index, pay("105.00", "RE-2026-00001 inkl. Mahngebuehr"))
    assert booked(over) == [("RE-2026-00001", D("100.00"))] and over.unapplied == D("5.00")
    facts = match_facts(pay("105.00", "RE-2026-00001"), find(index, pay("105.00", "RE-2026-00001"),
                                                              TODAY))
    assert facts["match"]["unapplied"] == D("5.00") and facts["match"]["difference"] == 5


def test_a_remittance_advice_is_applied_as_advised() -> None:
    items = [item(1, "1190.00"), item(2, "50.00"), item(3, "70.00")]
    advice = Advice(9, None, "Kunde 1", D("1216.20"),
                    (RemittanceLine("RE-2026-00001", D("1166.20"), D("23.80")),
                     RemittanceLine("RE-2026-00002", D("50.00"))), "ZA-2026-778")
    index = OpenItemIndex(items, {1: Terms(D("2"), 10)}, advices=[advice])
    c = best(index, pay("1216.20", "Zahlungsavis ZA-2026-778"))
    assert c.kind == "remittance" and c.advice_id == 9 and c.confidence >= D("0.95")
    assert booked(c) == [("RE-2026-00001", D("1166.20")), ("RE-2026-00002", D("50.00"))]
    assert [(r.kind, r.amount) for r in c.reductions] == [("discount", D("23.80"))]
    other = Advice(10, 1, "Kunde 1", D("67.00"),
                   (RemittanceLine("RE-2026-00003", D("67.00"), D("3.00")),))
    index.add_advice(other)
    c = best(index, pay("67.00", "Avis"))
    assert c.advice_id == 10 and [(r.kind, r.amount) for r in c.reductions] == [
        ("deduction", D("3.00"))]
    book(index, c)
    assert 10 not in index.advices and 3 not in index.items


def test_wrong_references_and_conflicts_wait_for_a_person() -> None:
    mine = [item(1, "100.00"), item(2, "250.00")]
    theirs = item(3, "400.00", customer=2, iban=IBAN_2, name="Andere AG")
    index = OpenItemIndex([*mine, theirs])
    other = find(index, pay("100.00", "RE-2026-00003"), TODAY)  # names another's invoice
    assert other.best is not None and other.best.confidence < D("0.85")
    assert any(c.invoices == (1,) for c in other.candidates)
    own = find(index, pay("100.00", "RE-2026-00002"), TODAY)  # names 2, pays 1's amount
    assert all(c.confidence <= D("0.80") for c in own.candidates)
    gone = best(index, pay("100.00", "RE-2026-09999"))  # our form, not open
    assert gone.invoices == (1,) and gone.confidence <= D("0.80")
    typo = best(index, pay("100.00", "RE-2026-00011"))  # one digit off an own number
    assert typo.invoices == (1,) and typo.confidence >= D("0.90")


def test_other_currency_is_never_sure() -> None:
    index = OpenItemIndex([item(1, "100.00"), item(2, "100.00", customer=2, iban=IBAN_2,
                                                   currency="USD")])
    assert best(index, pay("108.00", "RE-2026-00001", currency="USD")).confidence <= D("0.5")
    assert best(index, pay("100.00", "RE-2026-00002", iban=IBAN_2, currency="USD")
                ).confidence >= D("0.95")


def test_payer_by_name_when_the_account_is_new() -> None:
    items = [item(1, "300.00", name="Nordlicht Logistik GmbH"),
             item(2, "300.00", customer=2, iban=IBAN_2, name="Nordlicht Spedition GmbH")]
    index = OpenItemIndex(items)
    c = best(index, pay("300.00", "Zahlung", iban="DE00NEW", name="NORDLICHT LOGISTIK"))
    assert c.kind == "name_amount" and c.invoices == (1,) and c.payer == "name"
    decoy = OpenItemIndex([items[0], item(2, "300.00", customer=2, iban=IBAN_2,
                                          name="Nordlicht Logistik AG")])
    assert best(decoy, pay("300.00", "Zahlung", iban="DE00NEW", name="NORDLICHT LOGISTIK")
                ).confidence <= D("0.60")  # two alike, the same amount: a person decides


def test_unrelated_money_finds_nothing_sure() -> None:
    index = OpenItemIndex([item(1, "100.00")])
    found = find(index, pay("77.00", "Erstattung USt", iban="DE00FA", name="Finanzamt"), TODAY)
    assert found.best is None
    facts = match_facts(pay("77.00"), found)
    assert facts["match"]["kind"] == "none" and facts["match"]["unapplied"] == D("77.00")
    coincidence = find(index, pay("100.00", "", iban="DE00FA", name="Finanzamt"), TODAY)
    assert coincidence.best is not None and coincidence.best.kind == "amount_only"
    assert coincidence.best.confidence < D("0.5")


@settings(max_examples=300, deadline=None)
@given(cents_=st.integers(1, 10**8),
       grosses=st.lists(st.integers(1, 10**9), min_size=1, max_size=4),
       rates=st.lists(st.sampled_from(("0", "5", "7", "16", "19")), min_size=4, max_size=4))
def test_vat_split_parts_add_up_and_stay_within_a_cent(cents_: int, grosses: list[int],
                                                       rates: list[str]) -> None:
    amount = D(cents_) / 100
    vat = tuple((D(r), D(g) / 100) for r, g in zip(rates, grosses, strict=False))
    parts = vat_split(amount, vat)
    assert sum((p.gross for p in parts), D(0)) == amount
    total = sum((g for _, g in vat), D(0))
    for part, (rate, gross) in zip(parts, vat, strict=True):
        assert part.rate == rate and part.net + part.tax == part.gross
        assert abs(part.gross - amount * gross / total) < D("0.01")
        assert part.tax == (part.gross * rate / (100 + rate)).quantize(D("0.01"),
                                                                        rounding=ROUND_HALF_UP)
