"""The written payment plan's content (domain.md §4 "Installment plan"; seed 001's list, seed 003
§5.3) and the two clauses seed 003 §7 forbids, refused by name."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.contracts.dunning import PaymentPlanProposed
from fordra.dunning.domain.payment_plan import (
    PaymentPlan,
    PaymentPlanDrawnUp,
    PlanInvoice,
    draw_up_plan,
)
from fordra.dunning.domain.plan_document import (
    DEFAULT_CONDITIONS,
    Creditor,
    build_plan_document,
    check_no_material_breach_clause,
    check_no_notice_duty_clause,
)
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.errors import DomainRuleViolation
from tests.dunning.plan_support import ReferenceInterest

CREDITOR = Creditor(
    name="Svenljunga kommun",
    orgnr="212000-1561",
    address_lines=("Ekonomiavdelningen", "512 80 Svenljunga"),
    bankgiro="123-4567",
)
TODAY = date(2026, 5, 10)


def the_example_plan() -> PaymentPlan:
    """domain.md §4's example: 6,000 kr in 6 monthly installments 2026-05-31..2026-10-31, 170 kr."""
    inv = PlanInvoice(
        invoice_id="inv-1",
        customer_id="c-1",
        invoice_number="2026-000123",
        service_type="electricity_grid",
        what_for="Elnät, mars–april 2026",
        invoice_date=date(2026, 4, 1),
        due_date=date(2026, 4, 30),
        interest_from=date(2026, 4, 30),
        capital_ore=600_000,
        open_capital_ore=600_000,
    )
    terms = draw_up_plan(
        customer_id="c-1",
        invoices=[("inv-1", inv)],
        installments=6,
        first_due_date=date(2026, 5, 31),
        written=True,
        fee_ore=17_000,
        today=TODAY,
        settings=DunningSettings(),
        interest=ReferenceInterest(),
    )
    proposed = PaymentPlanProposed(
        plan_id="p-1",
        customer_id="c-1",
        invoice_ids=("inv-1",),
        proposed_on=TODAY,
        written=True,
        installments=terms.installments,
        capital_ore=terms.capital_ore,
        interest_ore=terms.interest_ore,
        costs_ore=terms.costs_ore,
        total_ore=terms.total_ore,
        rate_percent=terms.rate_percent,
    )
    drawn = PaymentPlanDrawnUp(
        plan_id="p-1", claims=terms.claims, fee_ore=17_000, first_due_date=date(2026, 5, 31)
    )
    return PaymentPlan(
        plan_id="p-1",
        customer_id="c-1",
        status="awaiting_signature",
        proposed=proposed,
        drawn_up=drawn,
    )


def test_the_written_plan_carries_every_item_seed_001_and_seed_003_list() -> None:
    doc = build_plan_document(the_example_plan(), CREDITOR)
    # Borgenärens namn
    assert doc.creditor.name == "Svenljunga kommun"
    # Vad fordran avser (and which invoice)
    assert [(c.invoice_number, c.what_for) for c in doc.claims] == [
        ("2026-000123", "Elnät, mars–april 2026")
    ]
    # Kapitalbelopp
    assert doc.capital_ore == 600_000
    # Dröjsmålsränta, framräknad till sista delbetalning; Räntesats
    assert doc.interest_ore == 17_644
    assert doc.rate_percent == "10.00"
    assert "referensränta" in doc.rate_basis
    # Eventuella kostnadsersättningar, specified
    assert [(c.label, c.amount_ore) for c in doc.costs] == [
        ("Avgift för skriftlig avbetalningsplan", 17_000)
    ]
    # Belopp per delbetalning, antal, tidpunkt
    assert doc.installment_count == 6
    assert {i.amount_ore for i in doc.installments} == {100_000}
    assert doc.installments[0].due_date == date(2026, 5, 31)
    assert doc.last_due_date == date(2026, 10, 31)
    # Totalskuld framräknad till sista betalningsdagen; alla villkor
    assert doc.total_ore == 600_000 + 17_644 + 17_000
    assert doc.conditions == DEFAULT_CONDITIONS
    # signed and returned (seed 000 §9)
    assert "skrivit under" in doc.signature_text


# The terms Datainspektionen found in two electricity companies' plans (seed 003 §7).
MATERIAL_BREACH = (
    "Om planen inte följs, eller löpande ordinarie fakturor inte betalas, utgör det ett "
    "väsentligt avtalsbrott som kan medföra att överföringen av el frånkopplas."
)
NOTICE_DUTY = (
    "Kundens acceptans av planen medför att elbolaget har fullgjort sina skyldigheter enligt "
    "ellagen vad gäller uppmaning och delgivning."
)


def test_a_condition_calling_a_missed_installment_a_material_breach_is_refused() -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        build_plan_document(the_example_plan(), CREDITOR, (*DEFAULT_CONDITIONS, MATERIAL_BREACH))
    assert refused.value.rule == "check_no_material_breach_clause"


def test_a_condition_saying_acceptance_fulfils_ellagens_notice_is_refused() -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        build_plan_document(the_example_plan(), CREDITOR, (*DEFAULT_CONDITIONS, NOTICE_DUTY))
    assert refused.value.rule == "check_no_notice_duty_clause"


@pytest.mark.parametrize(
    "text",
    [
        "En utebliven delbetalning är ett väsentligt avtalsbrott.",
        "A missed installment is a material breach of contract.",
    ],
)
def test_the_material_breach_rule_reads_the_words(text: str) -> None:
    with pytest.raises(DomainRuleViolation):
        check_no_material_breach_clause(text)


@pytest.mark.parametrize(
    "text",
    [
        "Genom att godkänna planen anses underrättelsen enligt 11 kap. ellagen fullgjord.",
        "Denna plan ersätter uppmaningen att betala.",
        "Accepting this plan counts as the notice the Electricity Act requires.",
    ],
)
def test_the_notice_duty_rule_reads_the_words(text: str) -> None:
    with pytest.raises(DomainRuleViolation):
        check_no_notice_duty_clause(text)


def test_the_default_conditions_and_a_plain_statement_of_ellagen_pass() -> None:
    for text in DEFAULT_CONDITIONS:
        check_no_material_breach_clause(text)
        check_no_notice_duty_clause(text)
    check_no_notice_duty_clause("Planen påverkar inte dina rättigheter enligt ellagen.")
