"""Whether a claim dunning referred opens a case on its own (issue 16, domain.md §6): the pure
rules of domain/referral.py, each naming the rule the manual opening's 422 names."""

from __future__ import annotations

import pytest

from fordra.utility_disconnect.domain.procedure import AssessmentResult
from fordra.utility_disconnect.domain.referral import (
    ReferredPoint,
    decline_before_assessing,
    decline_on_assessment,
)

HOME = ReferredPoint(supply_point_id="sp-1", customer_id="c-1", utility="electricity")


def test_a_consumers_electricity_point_is_assessed() -> None:
    assert decline_before_assessing("c-1", HOME, "person") is None


@pytest.mark.parametrize(
    ("point", "kind", "rule"),
    [
        # The invoice names no supply point (or one this context does not know)
        (None, "person", "no_supply_point"),
        # The point is another customer's: the procedure is per subscription
        (ReferredPoint("sp-1", "c-2", "electricity"), "person", "supply_point_of_another_customer"),
        # Water follows LAV 43 §, opened by hand
        (ReferredPoint("sp-1", "c-1", "water"), "person", "electricity_only"),
        (HOME, None, "customer_unknown"),
        # A business never enters the procedure (ellagen 11:1)
        (HOME, "organisation", "consumers_only"),
    ],
)
def test_a_referral_is_declined_before_assessing_naming_the_rule(
    point: ReferredPoint | None, kind: str | None, rule: str
) -> None:
    declined = decline_before_assessing("c-1", point, kind)  # type: ignore[arg-type]
    assert declined is not None
    assert declined.rule == rule
    assert declined.reason


@pytest.mark.parametrize(
    ("result", "rule"),
    [
        ("material", None),
        ("not_material", "material_breach"),
        ("manual", "materiality_manual_needs_decision"),
        ("refused", "consumers_only"),
    ],
)
def test_only_a_material_assessment_opens_a_case(
    result: AssessmentResult, rule: str | None
) -> None:
    declined = decline_on_assessment(result, "the reason the assessment gave")
    assert (declined.rule if declined else None) == rule
    if declined is not None:
        assert declined.reason.startswith("the reason the assessment gave")


def test_a_manual_assessment_says_that_a_case_officer_weighs_it() -> None:
    declined = decline_on_assessment("manual", "two close unpaid invoices")
    assert declined is not None
    assert declined.reason == (
        "two close unpaid invoices; the total is a case officer's to weigh, never automatic"
    )
