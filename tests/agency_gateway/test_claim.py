"""The claim as an agency gets it (issue 15 "Outbound"; domain.md §2 and §5): the basis in
words, the amounts apart, the dates, the debtor, and a protected identity without name or
address."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.agency_gateway.domain.claim import (
    AgencyDebtor,
    AgencyInvoiceHandedOver,
    AgencyInvoiceNoted,
    HandoverFacts,
    InvoiceFacts,
    basis_in_words,
    claim_for_agency,
)
from fordra.agency_gateway.domain.debtors import (
    AgencyDebtorChanged,
    AgencyDebtorProtectionChanged,
    AgencyDebtorRegistered,
    debtor_for_agency,
    replay_debtor,
)
from fordra.contracts.invoicing import CustomerPersonalData, PostalAddress

NOTED = AgencyInvoiceNoted(
    invoice_id="inv-1",
    customer_id="cust-1",
    invoice_number="1001",
    ocr="100175",
    service_type="premises_rent",
    invoice_date=date(2026, 3, 2),
    due_date=date(2026, 4, 1),
    total_ore=100_000,
    descriptions=("Lokalhyra mars",),
)
HANDOVER = HandoverFacts(
    case_id="case-1",
    invoice_id="inv-1",
    customer_id="cust-1",
    service_type="premises_rent",
    handed_on=date(2026, 4, 21),
    capital_ore=100_000,
    interest_ore=411,
    fee_ore=6_000,
    model="reminder_then_handover",
)
PERSONAL = CustomerPersonalData(
    name="Tolvan Tolvansson",
    id_number="191212121212",
    address=PostalAddress(street="Storgatan 1", postal_code="512 50", city="Svenljunga"),
)


def registered(*, protected: bool = False) -> AgencyDebtorRegistered:
    return AgencyDebtorRegistered(
        customer_id="cust-1",
        kind="person",
        id_kind="personnummer",
        protected_identity=protected,
        personal=PERSONAL,
    )


def test_the_basis_is_in_words_with_the_invoice_number_and_dates() -> None:
    assert basis_in_words(NOTED) == (
        "Lokalhyra: Lokalhyra mars. Faktura 1001 daterad 2026-03-02, förfallodag 2026-04-01."
    )


def test_the_basis_names_the_period_and_the_property_when_the_invoice_has_them() -> None:
    water = NOTED.model_copy(
        update={
            "service_type": "water",
            "descriptions": ("Vatten", "Avlopp"),
            "billing_period_start": date(2026, 1, 1),
            "billing_period_end": date(2026, 2, 28),
            "property_designation": "Svenljunga Kyrkan 1:23",
        }
    )
    assert basis_in_words(water) == (
        "Vatten och avlopp: Vatten; Avlopp. Period 2026-01-01–2026-02-28. "
        "Fastighet Svenljunga Kyrkan 1:23. Faktura 1001 daterad 2026-03-02, "
        "förfallodag 2026-04-01."
    )


def test_a_claim_keeps_capital_interest_and_costs_apart() -> None:
    debtor = debtor_for_agency(replay_debtor([registered()]))
    assert debtor is not None
    claim = claim_for_agency(HANDOVER, NOTED, debtor)
    assert (claim.capital_ore, claim.interest_ore, claim.costs_ore) == (100_000, 411, 6_000)
    assert claim.total_ore == 106_411
    assert (claim.invoice_date, claim.due_date) == (date(2026, 3, 2), date(2026, 4, 1))
    assert claim.handed_over_on == date(2026, 4, 21)
    assert claim.invoice_number == "1001"
    assert claim.basis.startswith("Lokalhyra: Lokalhyra mars.")
    assert claim.agency_sends_reminder is False
    assert claim.debtor.name == "Tolvan Tolvansson"
    assert claim.debtor.address == PERSONAL.address
    assert claim.debtor.id_number == "191212121212"
    assert claim.debtor.protected_identity is False


def test_seed_004s_unreminded_handover_asks_the_agency_to_remind() -> None:
    debtor = debtor_for_agency(replay_debtor([registered()]))
    assert debtor is not None
    unreminded = HANDOVER.model_copy(update={"model": "handover_then_agency_reminder"})
    assert claim_for_agency(unreminded, NOTED, debtor).agency_sends_reminder is True


def test_a_protected_identity_goes_with_the_marking_and_no_name_or_address() -> None:
    # Given a customer whose identity was protected after registering
    state = replay_debtor(
        [registered(), AgencyDebtorProtectionChanged(customer_id="cust-1", protected=True)]
    )
    debtor = debtor_for_agency(state)
    assert debtor is not None
    claim = claim_for_agency(HANDOVER, NOTED, debtor)
    assert claim.debtor.protected_identity is True
    assert claim.debtor.name is None
    assert claim.debtor.address is None
    assert claim.debtor.id_number == "191212121212"
    dumped = claim.model_dump_json()
    assert "Tolvan" not in dumped
    assert "Storgatan" not in dumped


def test_a_protected_debtor_with_a_name_is_refused_by_the_rule_itself() -> None:
    leaky = AgencyDebtor(
        customer_id="cust-1",
        kind="person",
        id_kind="personnummer",
        id_number="191212121212",
        protected_identity=True,
        name="Tolvan Tolvansson",
    )
    with pytest.raises(ValueError, match="protected identity"):
        claim_for_agency(HANDOVER, NOTED, leaky)


def test_a_forgotten_or_unknown_debtor_cannot_be_sent() -> None:
    assert debtor_for_agency(None) is None
    forgotten = registered().model_copy(update={"personal": None})
    assert debtor_for_agency(replay_debtor([forgotten])) is None


def test_the_debtor_copy_follows_a_new_address_and_a_lifted_protection() -> None:
    moved = PERSONAL.model_copy(
        update={
            "address": PostalAddress(street="Nygatan 2", postal_code="512 50", city="Ulricehamn")
        }
    )
    state = replay_debtor(
        [
            registered(protected=True),
            AgencyDebtorChanged(customer_id="cust-1", personal=moved),
            AgencyDebtorProtectionChanged(customer_id="cust-1", protected=False),
        ]
    )
    debtor = debtor_for_agency(state)
    assert debtor is not None
    assert debtor.protected_identity is False
    assert debtor.address is not None
    assert debtor.address.street == "Nygatan 2"


def test_the_claim_must_describe_the_handed_over_invoice() -> None:
    debtor = debtor_for_agency(replay_debtor([registered()]))
    assert debtor is not None
    with pytest.raises(ValueError, match="not the handed-over"):
        claim_for_agency(HANDOVER, NOTED.model_copy(update={"invoice_id": "inv-2"}), debtor)


def test_the_invoice_facts_know_the_case_it_went_to() -> None:
    facts = InvoiceFacts.fold(
        [
            NOTED,
            AgencyInvoiceHandedOver(
                invoice_id="inv-1",
                case_id="case-1",
                agency="reference",
                handed_on=date(2026, 4, 21),
            ),
        ]
    )
    assert facts.noted == NOTED
    assert (facts.case_id, facts.agency) == ("case-1", "reference")
    assert InvoiceFacts.fold([NOTED]).case_id is None
