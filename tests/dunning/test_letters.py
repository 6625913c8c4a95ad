"""What a dunning letter states (domain.md §4 "Reminder", "No empty threats", "Childcare",
"Installment plan"; seed 001 "Påminnelsen skall innehålla uppgifter om"; seed 003 sections 3-4)."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.contracts.dunning import Installment
from fordra.contracts.invoicing import PostalAddress
from fordra.dunning.domain.letters import (
    ClaimItem,
    Creditor,
    LetterDocument,
    LetterFacts,
    LetterTable,
    PlanClaimLine,
    PlanCostLine,
    PlanTerms,
    build_letter_document,
    check_no_empty_threats,
    check_reminder_has_required_items,
    letter_texts,
    long_date,
    plan_letter_facts,
)
from fordra.dunning.domain.recipients import RecipientLetterView
from fordra.invoicing.domain.issuer import demo_issuer
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.money import format_sek

# The very settings invoicing prints on the invoice (the app passes them the same way).
CREDITOR = Creditor.from_issuer_fields(demo_issuer().model_dump())

WATER_BILL = ClaimItem(
    invoice_id="inv-1",
    invoice_number="2026-000123",
    what_for="Vatten och avlopp, jan–feb 2026",
    invoice_date=date(2026, 2, 1),
    due_date=date(2026, 3, 2),
    capital_ore=123_450,
    ocr="1234574",
)
FEE_JANUARY = ClaimItem(
    invoice_id="inv-jan",
    invoice_number="2026-000201",
    what_for="Barnomsorgsavgift januari 2026",
    invoice_date=date(2026, 1, 1),
    due_date=date(2026, 1, 31),
    capital_ore=150_000,
    ocr="2010005",
)
FEE_FEBRUARY = FEE_JANUARY.model_copy(
    update={
        "invoice_id": "inv-feb",
        "invoice_number": "2026-000202",
        "what_for": "Barnomsorgsavgift februari 2026",
        "invoice_date": date(2026, 2, 1),
        "due_date": date(2026, 2, 28),
        "ocr": "2020003",
    }
)

TOLVAN = RecipientLetterView(
    customer_id="cust-1",
    route="known",
    name="Tolvan Tolvansson",
    address=PostalAddress(street="Tolvansvägen 12", postal_code="512 50", city="Svenljunga"),
)


def reminder(**changes: object) -> LetterFacts:
    facts = LetterFacts(
        letter_id="letter-1",
        kind="reminder",
        customer_id="cust-1",
        service_type="water",
        items=(WATER_BILL,),
        sent_on=date(2026, 3, 10),
        checked_on=date(2026, 3, 10),
        pay_by=date(2026, 3, 24),
        fee_ore=0,
        interest_ore=0,
        next_step="agency",
    )
    return facts.model_copy(update=changes)


def text_of(doc: LetterDocument) -> str:
    return "\n".join(letter_texts(doc))


def test_a_reminder_states_every_item_seed_001_asks_for() -> None:
    doc = build_letter_document(reminder(), TOLVAN, CREDITOR)
    text = text_of(doc)
    assert doc.title == "Betalningspåminnelse"
    # What the claim is for and the invoice number
    assert "Vatten och avlopp, jan–feb 2026" in text
    assert "2026-000123" in text
    # The amount, when it fell due
    assert "1\u00a0234,50 kr" in text
    assert "2026-03-02" in text
    # When payment was last checked, the date by which payment is wanted and how to pay
    assert "Enligt vår kontroll den 10 mars 2026" in text
    assert {
        "Betala senast": "24 mars 2026",
        "Bankgiro": "5050-1055",
        "OCR-nummer": "1234574",
    }.items() <= {e.label: e.value for e in doc.payment}.items()
    # That the claim will be handed for collection: the policy's next step
    assert doc.next_step == (
        "Om vi inte har fått betalt senast 24 mars 2026 lämnas fordringen över till "
        "inkassoföretag för inkassoåtgärder.",
    )
    # The creditor, named as on the invoice
    assert {"Borgenär": "Svenljunga kommun", "Organisationsnummer": "212000-1561"}.items() <= {
        e.label: e.value for e in doc.creditor_entries
    }.items()
    assert doc.recipient == ("Tolvan Tolvansson", "Tolvansvägen 12", "512 50 Svenljunga")


def test_a_reminder_with_no_next_step_threatens_nothing() -> None:
    doc = build_letter_document(reminder(next_step="none"), TOLVAN, CREDITOR)
    assert doc.next_step == ()
    text = text_of(doc).lower()
    for word in ("inkasso", "stängas av", "avstängning", "uppsägning", "sägas upp"):
        assert word not in text


def test_the_next_step_is_said_only_as_the_policy_has_it() -> None:
    doc = build_letter_document(
        reminder(service_type="childcare", next_step="termination_warning"), TOLVAN, CREDITOR
    )
    assert "risk för uppsägning av platsen" in " ".join(doc.next_step)
    assert "inkasso" not in text_of(doc).lower()


@pytest.mark.parametrize("service_type", ["electricity_grid", "electricity_supply"])
def test_a_reminder_before_disconnection_threatens_neither_it_nor_the_agency(
    service_type: str,
) -> None:
    # Given an electricity policy whose next step is disconnection (issue 16)
    facts = reminder(service_type=service_type, next_step="disconnection")
    doc = build_letter_document(facts, TOLVAN, CREDITOR)
    # Then the reminder says that collection goes on and a new letter follows, and threatens
    # nothing: the materiality is not yet assessed (domain.md §6), and a claim the procedure
    # declines goes to the agency while one it takes never does
    assert doc.next_step == (
        "Om vi inte har fått betalt senast 24 mars 2026 fortsätter vi att driva in fordringen, "
        "och du får ett nytt brev om vad som händer då.",
    )
    text = text_of(doc).lower()
    for word in ("stängas av", "avstängning", "frånkoppl", "inkasso", "socialnämnd"):
        assert word not in text
    check_reminder_has_required_items(facts, doc)
    # And a wording that threatened disconnection, or the agency, is refused as an empty threat
    for threat in ("Elen kan stängas av.", "Fordringen lämnas till inkasso."):
        with pytest.raises(DomainRuleViolation) as refused:
            check_no_empty_threats(facts, doc.model_copy(update={"next_step": (threat,)}))
        assert refused.value.rule == "no_empty_threats"


def test_a_threat_the_policy_will_not_carry_out_is_refused() -> None:
    facts = reminder(next_step="none")
    doc = build_letter_document(facts, TOLVAN, CREDITOR)
    threatening = doc.model_copy(
        update={"paragraphs": (*doc.paragraphs, "Betalar du inte lämnas ärendet till inkasso.")}
    )
    with pytest.raises(DomainRuleViolation) as refused:
        check_no_empty_threats(facts, threatening)
    assert refused.value.rule == "no_empty_threats"
    # An agency reminder may not threaten disconnection either
    agency = reminder(next_step="agency")
    doc = build_letter_document(agency, TOLVAN, CREDITOR)
    with pytest.raises(DomainRuleViolation, match="stängas av"):
        check_no_empty_threats(
            agency, doc.model_copy(update={"next_step": ("Vattnet kan stängas av.",)})
        )


def test_the_social_services_are_never_a_means_of_pressure() -> None:
    facts = reminder(service_type="electricity_grid", next_step="disconnection")
    doc = build_letter_document(facts, TOLVAN, CREDITOR)
    pressing = doc.model_copy(
        update={"next_step": (*doc.next_step, "Vi underrättar då socialnämnden.")}
    )
    with pytest.raises(DomainRuleViolation, match="socialnämnd"):
        check_no_empty_threats(facts, pressing)


def test_a_customers_street_name_is_not_read_as_a_threat() -> None:
    # The customer's address and the department's description are not the letter's wording.
    street = TOLVAN.model_copy(
        update={
            "address": PostalAddress(
                street="Avstängningsvägen 1", postal_code="512 50", city="Svenljunga"
            )
        }
    )
    item = WATER_BILL.model_copy(update={"what_for": "Inkassoavgift återbetald"})
    doc = build_letter_document(reminder(next_step="none", items=(item,)), street, CREDITOR)
    assert "Avstängningsvägen 1" in doc.recipient


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"pay_by": date(2026, 3, 10)}, "pay_by"),
        ({"checked_on": date(2026, 3, 11)}, "checked_on"),
        ({"items": ()}, "items"),
        ({"items": (WATER_BILL.model_copy(update={"ocr": " "}),)}, "items.0.ocr"),
        ({"items": (WATER_BILL.model_copy(update={"capital_ore": 0}),)}, "items.0.capital_ore"),
    ],
)
def test_a_reminder_missing_a_required_item_is_refused(
    changes: dict[str, object], field: str
) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        build_letter_document(reminder(**changes), TOLVAN, CREDITOR)
    assert refused.value.field == field


def test_a_document_that_drops_an_item_fails_the_named_rule() -> None:
    facts = reminder()
    doc = build_letter_document(facts, TOLVAN, CREDITOR)
    without_table = doc.model_copy(update={"tables": ()})
    with pytest.raises(DomainRuleViolation) as refused:
        check_reminder_has_required_items(facts, without_table)
    assert refused.value.rule == "reminder_has_required_items"
    assert refused.value.field == "items.0.what_for"
    silent = doc.model_copy(update={"next_step": ()})
    with pytest.raises(DomainRuleViolation, match="does not say so"):
        check_reminder_has_required_items(facts, silent)


def test_a_reminder_fee_is_stated_as_going_on_the_next_invoice_not_paid_now() -> None:
    # The fee goes on the customer's next invoice (invoicing holds it as a fee line), so that a
    # payment of this invoice's OCR number pays its capital and nothing else (domain.md §3)
    doc = build_letter_document(reminder(fee_ore=6_000), TOLVAN, CREDITOR)
    summary = {e.label: e.value for e in doc.summary}
    assert summary["Påminnelseavgift"] == f"{format_sek(6_000)} (läggs på nästa faktura)"
    assert summary["Att betala"] == format_sek(123_450)
    assert any("läggs på din nästa faktura" in note for note in doc.payment_notes)
    # No fee: no fee line at all (water, seed 001: "Avgift för påminnelse debiteras ej")
    assert "Påminnelseavgift" not in {
        e.label for e in build_letter_document(reminder(), TOLVAN, CREDITOR).summary
    }


def test_late_interest_is_told_not_asked_for() -> None:
    doc = build_letter_document(reminder(interest_ore=8_219), TOLVAN, CREDITOR)
    assert any("Räntan hittills är 82,19 kr" in p for p in doc.paragraphs)
    assert {e.label: e.value for e in doc.summary}["Att betala"] == format_sek(123_450)


def test_a_reminder_of_several_invoices_names_each_with_its_ocr() -> None:
    facts = reminder(service_type="childcare", items=(FEE_JANUARY, FEE_FEBRUARY))
    doc = build_letter_document(facts, TOLVAN, CREDITOR)
    (table,) = doc.tables
    assert [row[0] for row in table.rows] == ["2026-000201", "2026-000202"]
    assert [row[4] for row in table.rows] == ["2010005", "2020003"]
    assert "OCR-nummer" not in {e.label for e in doc.payment}  # one per invoice, in the table


def test_a_risk_of_termination_letter_names_the_unpaid_invoices_and_the_date() -> None:
    facts = reminder(
        kind="termination_warning",
        service_type="childcare",
        items=(FEE_JANUARY, FEE_FEBRUARY),
        termination_date=date(2026, 3, 31),
        next_step="none",
    )
    doc = build_letter_document(facts, TOLVAN, CREDITOR)
    text = text_of(doc)
    assert doc.title == "Risk för uppsägning av platsen i barnomsorgen"
    assert "2026-000201" in text
    assert "2026-000202" in text
    assert {e.label: e.value for e in doc.summary}["Uppsägningsdatum"] == "31 mars 2026"
    assert "kan platsen sägas upp från och med 31 mars 2026" in text
    # A policy whose next step is this very warning adds nothing to it
    same = build_letter_document(
        facts.model_copy(update={"next_step": "termination_warning"}), TOLVAN, CREDITOR
    )
    assert same.next_step == ()
    with pytest.raises(DomainRuleViolation) as refused:
        build_letter_document(facts.model_copy(update={"termination_date": None}), TOLVAN, CREDITOR)
    assert refused.value.field == "termination_date"


def test_an_installment_reminder_names_the_plan_and_the_missed_installment() -> None:
    missed = Installment(due_date=date(2026, 6, 30), amount_ore=102_834)
    facts = reminder(
        kind="installment_reminder",
        plan_id="plan-7",
        missed_installment=missed,
        sent_on=date(2026, 7, 8),
        checked_on=date(2026, 7, 8),
        pay_by=date(2026, 7, 22),
        next_step="none",
    )
    doc = build_letter_document(facts, TOLVAN, CREDITOR)
    text = text_of(doc)
    assert "plan-7" in doc.heading
    assert "delbetalningen som förföll den 30 juni 2026" in text
    assert doc.tables[0] == LetterTable(
        heading="Delbetalning som inte är betald",
        headers=("Avbetalningsplan", "Förfallodatum", "Belopp"),
        rows=(("plan-7", "2026-06-30", "1\u00a0028,34 kr"),),
        numeric_from=2,
    )
    with pytest.raises(DomainRuleViolation) as refused:
        build_letter_document(
            facts.model_copy(update={"missed_installment": None}), TOLVAN, CREDITOR
        )
    assert refused.value.field == "missed_installment"


def six_installments() -> tuple[Installment, ...]:
    days = (
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
        date(2026, 8, 31),
        date(2026, 9, 30),
        date(2026, 10, 31),
    )
    return tuple(Installment(due_date=d, amount_ore=100_000) for d in days)


def plan_terms(**changes: object) -> PlanTerms:
    # domain.md §4's example: 6,000 kr in 6 monthly installments 2026-05-31..2026-10-31, 170 kr.
    terms = PlanTerms(
        written=True,
        claims=(
            PlanClaimLine(
                invoice_id="inv-1",
                invoice_number="2026-000123",
                what_for="Vatten och avlopp, jan–feb 2026",
                due_date=date(2026, 3, 2),
                open_capital_ore=600_000,
            ),
        ),
        installments=six_installments(),
        capital_ore=600_000,
        interest_ore=12_345,
        rate_percent="10.00",
        rate_basis="Referensränta plus åtta procentenheter.",
        costs=(PlanCostLine(label="Avgift för skriftlig avbetalningsplan", amount_ore=17_000),),
        costs_ore=17_000,
        total_ore=629_345,
        conditions=("Betalningarna ska vara oss till handa senast på förfallodagen.",),
    )
    return terms.model_copy(update=changes)


def plan_letter(terms: PlanTerms) -> LetterFacts:
    return plan_letter_facts(
        letter_id="letter-plan",
        plan_id="plan-7",
        customer_id="cust-1",
        service_type="water",
        drawn_up_on=date(2026, 5, 4),
        terms=terms,
    )


def test_a_written_payment_plan_states_every_item_seed_001_lists() -> None:
    doc = build_letter_document(plan_letter(plan_terms()), TOLVAN, CREDITOR)
    summary = {e.label: e.value for e in doc.summary}
    assert summary == {
        "Borgenär": "Svenljunga kommun",
        "Kapitalbelopp": "6\u00a0000,00 kr",
        "Dröjsmålsränta till sista delbetalningen": "123,45 kr",
        "Räntesats": "10,00 %",
        "Avgift för skriftlig avbetalningsplan": "170,00 kr",
        "Antal delbetalningar": "6",
        "Total skuld till sista betalningen": "6\u00a0293,45 kr",
    }
    claims, installments = doc.tables
    assert claims.rows == (
        ("2026-000123", "Vatten och avlopp, jan–feb 2026", "2026-03-02", "6\u00a0000,00 kr"),
    )
    assert [row[1] for row in installments.rows] == [
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
        "2026-09-30",
        "2026-10-31",
    ]
    assert "Referensränta plus åtta procentenheter." in doc.paragraphs
    assert doc.conditions == ("Betalningarna ska vara oss till handa senast på förfallodagen.",)
    assert any("underskrift" in line for line in doc.signature)
    assert doc.next_step == ()
    # An oral plan: no signature, no fee
    oral = plan_terms(written=False, costs=(), costs_ore=0, total_ore=612_345)
    oral_doc = build_letter_document(plan_letter(oral), TOLVAN, CREDITOR)
    assert oral_doc.signature == ()
    assert "Avgift för skriftlig avbetalningsplan" not in {e.label for e in oral_doc.summary}


def test_the_plans_document_reads_as_the_letters_terms() -> None:
    # The plans' PlanDocument dumps with more fields than a letter prints; the same names read.
    dump = {
        **plan_terms().model_dump(),
        "plan_id": "plan-7",
        "customer_id": "cust-1",
        "title": "Avbetalningsplan",
        "installment_count": 6,
        "claims": [
            {**c.model_dump(), "service_type": "water", "interest_from": date(2026, 3, 2)}
            for c in plan_terms().claims
        ],
    }
    assert PlanTerms.from_plan_document(dump) == plan_terms()


def test_a_plan_letter_without_its_plan_is_refused() -> None:
    facts = plan_letter(plan_terms()).model_copy(update={"plan": None})
    with pytest.raises(DomainRuleViolation) as refused:
        build_letter_document(facts, TOLVAN, CREDITOR)
    assert refused.value.rule == "plan_letter_states_the_plan"


def test_a_letter_is_rendered_only_for_its_own_customer() -> None:
    other = TOLVAN.model_copy(update={"customer_id": "cust-2"})
    with pytest.raises(DomainRuleViolation) as refused:
        build_letter_document(reminder(), other, CREDITOR)
    assert refused.value.rule == "letter_rendered_for_its_customer"


def test_dates_in_running_text_are_written_the_swedish_way() -> None:
    assert long_date(date(2026, 3, 2)) == "2 mars 2026"
    assert long_date(date(2026, 12, 31)) == "31 december 2026"
