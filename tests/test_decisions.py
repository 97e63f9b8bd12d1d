"""The pure decisions: availability, matching candidates, dunning letters, payment terms."""

from datetime import date
from decimal import Decimal as D

from engine.core.availability import OpenLine, allot
from engine.core.dunning import History, Reminder, invoice_facts, letters
from engine.core.invoicing import Terms
from engine.core.matching import Advice, Payment, candidates, normalise
from engine.core.records import OpenItem, RemittanceLine


def item(n: int, amount: str, customer: int = 1, iban: str = "DE02120300000000202051",
         due: date = date(2026, 9, 15)) -> OpenItem:
    number = f"RE-2026-{n:05d}"
    return OpenItem(n, number, customer, f"Customer {customer}", iban, f"RF00{n}",
                    D(amount), D(amount), date(2026, 9, 1), due)


def test_stock_is_shared_and_never_negative() -> None:
    lines = [OpenLine(1, "PU-50", D(5)), OpenLine(2, "PU-50", D(2)), OpenLine(3, "X", D(1))]
    result = allot(lines, {"PU-50": D(3), "X": D(-4)})
    assert [(a.ship, a.backorder) for a in result] == [(D(3), D(2)), (D(0), D(2)),
                                                      (D(0), D(1))]


def test_rf_reference_wins() -> None:
    items = [item(1, "100.00"), item(2, "250.00")]
    found = candidates(Payment(D("250.00"), "EUR", "", "", "RF002 thanks"), items)
    assert found[0].kind == "rf_reference" and found[0].allocations[0][0].number == "RE-2026-00002"
    assert found[0].confidence == D("1.00")


def test_invoice_number_tolerates_slips() -> None:
    items = [item(7, "100.00")]
    exact = candidates(Payment(D("100.00"), "EUR", "", "", "Rechnung RE-2026-00007"), items)
    slipped = candidates(Payment(D("100.00"), "EUR", "", "", "RE 2026 OOOO7"), items)
    assert exact[0].kind == slipped[0].kind == "invoice_number"
    assert exact[0].confidence > slipped[0].confidence
    assert normalise("re-2O26 0O7") == normalise("RE2026007")


def test_partial_payment_applies_what_was_paid() -> None:
    found = candidates(Payment(D("60.00"), "EUR", "", "", "RE-2026-00001"), [item(1, "100.00")])
    assert found[0].allocations[0][1] == D("60.00")


def test_remittance_advice_is_applied_as_advised() -> None:
    items = [item(1, "100.00"), item(2, "50.00"), item(3, "70.00")]
    advice = Advice(9, 1, "Customer 1", D("148.00"),
                    (RemittanceLine("RE-2026-00001", D("98.00"), D("2.00")),
                     RemittanceLine("RE-2026-00002", D("50.00"))))
    found = candidates(Payment(D("148.00"), "EUR", "DE02120300000000202051", "", "Avis"),
                       items, [advice])
    assert found[0].kind == "remittance" and found[0].advice_id == 9
    assert [(i.number, a) for i, a in found[0].allocations] == [
        ("RE-2026-00001", D("98.00")), ("RE-2026-00002", D("50.00"))]


def test_amount_and_iban_only_suggest() -> None:
    items = [item(1, "100.00"), item(2, "50.00"), item(3, "70.00", customer=2, iban="GB1")]
    one = candidates(Payment(D("50.00"), "EUR", "DE02120300000000202051", "", "?"), items)
    assert one[0].kind == "iban_amount" and one[0].confidence < D("0.9")
    two = candidates(Payment(D("150.00"), "EUR", "DE02120300000000202051", "", "?"), items)
    assert two[0].kind == "iban_sum" and len(two[0].allocations) == 2
    assert candidates(Payment(D("999.00"), "EUR", "DE0", "", "?"), items) == []
    assert candidates(Payment(D("-5.00"), "EUR", "", "", "RE-2026-00001"), items) == []


def test_dunning_facts_and_one_letter_per_customer() -> None:
    a, b, c = item(1, "100.00"), item(2, "50.00", due=date(2026, 9, 1)), item(3, "7.00", 2)
    facts = invoice_facts(a, History(level=1, last_notice=date(2026, 9, 20)), date(2026, 9, 30))
    assert facts["days_overdue"] == 15 and facts["days_since_last_notice"] == 10
    grouped = letters([Reminder(a, 2, D("5.00"), "level-2"), Reminder(b, 1, D("0"), "level-1"),
                       Reminder(c, 1, D("0"), "level-1")])
    assert [(g.customer_id, g.level, g.fee, len(g.reminders)) for g in grouped] == [
        (1, 2, D("5.00"), 2), (2, 1, D("0"), 1)]
    assert grouped[0].reminders[0].item.number == "RE-2026-00002"  # oldest due first
    assert grouped[0].open_total == D("150.00")


def test_payment_terms_with_skonto() -> None:
    terms = Terms(30, D("2"), 10)
    assert terms.due_date(date(2026, 9, 1)) == date(2026, 10, 1)
    text = terms.text(date(2026, 9, 1), D("1190.00"), "de")
    assert text == ("2 % Skonto bei Zahlung bis 11.09.2026 (1.166,20 EUR), netto zahlbar bis "
                    "01.10.2026.")
    assert Terms(14).text(date(2026, 9, 1), D("1"), "en") == "Payable without deduction by 15 Sep 2026."
