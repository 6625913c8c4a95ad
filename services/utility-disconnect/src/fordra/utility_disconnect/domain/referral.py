"""Whether a claim dunning referred for disconnection opens a case on its own (issue 16,
domain.md §6; ellagen 11 kap.).

Dunning refers an electricity claim (``fordra.contracts.dunning.ReferredForDisconnection``) on
the day it would have handed it to the agency, when its policy's next step is ``disconnection``.
A case opens on its own only when the law lets the procedure begin without a person weighing it:

- the invoice names an electricity supply point of the same customer (the procedure is per
  subscription, domain.md §6);
- the customer is a consumer (ellagen 11:1: a customer with an organisationsnummer never enters
  it);
- the supply point's assessment on the day is ``material``: ``not_material`` stops it, and
  ``manual`` (two close unpaid invoices) needs a case officer to weigh the total (seed 003 line
  25): never automatic.

Otherwise the referral is declined, naming the rule (``DisconnectionDeclined``), and dunning hands
the claim to the agency. A supply point that already has a case in progress covers the claim: the
case's next step re-assesses every overdue claim of the point, this one included, so nothing is
recorded (the application checks that before assessing).
"""

from __future__ import annotations

from dataclasses import dataclass

from fordra.contracts.invoicing import CustomerKind
from fordra.contracts.utility_disconnect import DeclineRule
from fordra.utility_disconnect.domain.procedure import AssessmentResult

# The rule each assessment result that is not ``material`` declines under: the rules the manual
# opening's 422 names (``check_assessment_material`` in domain/procedure.py).
_RESULT_RULES: dict[AssessmentResult, DeclineRule] = {
    "refused": "consumers_only",
    "not_material": "material_breach",
    "manual": "materiality_manual_needs_decision",
}


@dataclass(frozen=True, slots=True)
class Declined:
    """Why a referral opens no case: the rule and the reason in English."""

    rule: DeclineRule
    reason: str


@dataclass(frozen=True, slots=True)
class ReferredPoint:
    """What the referral's supply point is, as this context knows it."""

    supply_point_id: str
    customer_id: str
    utility: str


def decline_before_assessing(
    referred_customer_id: str,
    point: ReferredPoint | None,
    customer_kind: CustomerKind | None,
) -> Declined | None:
    """The reasons that decline a referral before its supply point is assessed (domain.md §6):
    no electricity supply point of this customer, or not a consumer. None when it may be
    assessed. ``point`` is None when the invoice names no supply point this context knows;
    ``customer_kind`` None when invoicing never told of the customer."""
    if point is None:
        return Declined(
            "no_supply_point",
            "the invoice names no supply point this context knows: the procedure is per "
            "electricity subscription",
        )
    if point.customer_id != referred_customer_id:
        return Declined(
            "supply_point_of_another_customer",
            f"supply point {point.supply_point_id} belongs to another customer than the claim's",
        )
    if point.utility != "electricity":
        return Declined(
            "electricity_only",
            f"supply point {point.supply_point_id} is a {point.utility} supply point: ellagen's "
            "procedure is for electricity (water's case is opened by hand, LAV 43 §)",
        )
    if customer_kind is None:
        return Declined("customer_unknown", "the customer is not known to this context")
    if customer_kind != "person":
        return Declined(
            "consumers_only",
            "the customer is a business (organisationsnummer): ellagen 11 kap. applies to "
            "consumers only",
        )
    return None


def decline_on_assessment(result: AssessmentResult, reason: str) -> Declined | None:
    """The assessment's answer (domain.md §6): None when ``material`` (the case opens), else the
    rule that stops it, with the assessment's own reason."""
    rule = _RESULT_RULES.get(result)
    if rule is None:
        return None
    if rule == "materiality_manual_needs_decision":
        reason = f"{reason}; the total is a case officer's to weigh, never automatic"
    return Declined(rule, reason)
