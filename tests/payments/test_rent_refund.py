"""The rule of a refund of rent (issue 14; domain.md §8 "Delegation", seed 002: "återbetala hyra
upp till ett belopp motsvarande två månadshyror vid avflyttning eller dödsfall"): which credit is
rent, the monthly rent it is weighed in, and the limit on both sides. Over HTTP on the embedded
engine: tests/scenarios/test_rent_delegation.py."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.contracts.payments import CustomerCreditRecorded
from fordra.kernel.dated import Dated
from fordra.kernel.delegation import DepartmentDecision
from fordra.kernel.errors import DomainRuleViolation
from fordra.payments.domain.receivable import Receivable
from fordra.payments.domain.rent_refund import (
    CreditedRent,
    RentRefundSettings,
    check_rent_refund_within_delegation,
    credited_rents,
)

TODAY = date(2026, 6, 1)
SETTINGS = RentRefundSettings()
DECISION = DepartmentDecision(reference="SN 1", decided_on=TODAY, decided_by="Nämnden")


def claim(invoice_id: str, service: str, capital_ore: int) -> Receivable:
    # Credited in full since it was issued: ``owed`` is down to nothing, ``issued`` is not.
    return Receivable(
        invoice_id=invoice_id,
        invoice_number=invoice_id,
        customer_id="c",
        ocr="1",
        due_date=date(2026, 5, 1),
        owed={service: 0},
        issued={service: capital_ore},
    )


def released(invoice_id: str, amount_ore: int) -> CustomerCreditRecorded:
    return CustomerCreditRecorded(
        payment_id=f"p-{invoice_id}",
        customer_id="c",
        amount_ore=amount_ore,
        reason="credit_note",
        invoice_id=invoice_id,
    )


def test_credit_from_credited_rent_notices_is_rent_weighed_in_the_latest_notice() -> None:
    receivables = {
        "may": claim("may", "housing_rent", 600_000),
        "june": claim("june", "housing_rent", 650_000),
        "water": claim("water", "water", 90_000),
    }
    events = [
        CustomerCreditRecorded(payment_id="p-x", customer_id="c", amount_ore=5_000),
        released("may", 600_000),
        released("water", 90_000),
        released("june", 650_000),
    ]
    assert credited_rents(events, receivables) == [
        CreditedRent("may", 600_000),
        CreditedRent("june", 650_000),
    ]
    # Credit that is not rent (an overpayment, a water invoice credited) is not
    assert credited_rents(events[:1] + events[2:3], receivables) == []


def test_two_monthly_rents_on_their_own_one_more_ore_with_a_decision() -> None:
    rents = [CreditedRent("june", 650_000)]

    def check(amount: int, decision: DepartmentDecision | None = None) -> object:
        return check_rent_refund_within_delegation(
            amount, rents, decision, today=TODAY, settings=SETTINGS
        )

    assert check(1_300_000) is None
    with pytest.raises(DomainRuleViolation) as refusal:
        check(1_300_001)
    assert refusal.value.rule == "rent_delegation"
    assert refusal.value.field == "department_decision"
    assert str(refusal.value).startswith("a refund of rent over 2 monthly rents (1300000 öre")
    assert check(1_300_001, DECISION) == DECISION
    # A refund holding no rent is not concerned
    assert (
        check_rent_refund_within_delegation(9_999_999, [], None, today=TODAY, settings=SETTINGS)
        is None
    )


def test_the_limit_is_a_dated_setting() -> None:
    three = RentRefundSettings(
        max_monthly_rents=Dated[int].table(("1900-01-01", 2), ("2026-06-01", 3))
    )
    rents = [CreditedRent("june", 650_000)]
    assert (
        check_rent_refund_within_delegation(1_950_000, rents, None, today=TODAY, settings=three)
        is None
    )
    with pytest.raises(DomainRuleViolation):
        check_rent_refund_within_delegation(
            1_950_000, rents, None, today=date(2026, 5, 31), settings=three
        )
