"""The numbers of the disconnection procedure, each a dated setting (domain.md preamble, §6, §7).

``ProcedureSettings`` holds what the steps of ellagen 11 kap. (electricity, domain.md §6, seed
003) and of LAV 43 § (water, domain.md §7, seed 001) count with: the reasonable time of a request
to remedy, the 3 weeks from service, water's letter about 10 days after the reminder and its 45
days from the due date, and the costs the law allows. The rules never hold these numbers
themselves; a municipality changes one by adding a row with its effective date.

Costs (domain.md §3 and §6 "Costs", seed 003 lines 39-41): a consumer pays only what lag
(1981:739) om ersättning för inkassokostnader allows (a reminder if agreed, the collection demand,
a written plan) and the reasonable costs ellagen 11:5 gives for the procedure's own measures (the
request, the notice, the message to the social welfare board, the service and the disconnection
itself). Nothing else is ever charged: no fee for a "notice of disconnection" the law does not
prescribe, none for an oral plan (``FORBIDDEN_COSTS``). Ellagen's costs default to nothing charged
(a municipality may charge less or nothing, domain.md §3) except the visits, which follow
Svenljunga's taxa of 500 kr per visit to disconnect and to reconnect (seed 001): our choice is to
use that taxa for electricity too, the reconnection being a cost the disconnection causes
(ellagen 11:5 "kostnader som föranleds av åtgärder").
"""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from fordra.kernel.dated import Dated

# What a cost of the procedure may be for: the statutory fees (lag 1981:739, domain.md §3) and the
# measures of ellagen 11:3-5 and LAV 43 § (domain.md §6-7).
AllowedCost = Literal[
    "reminder",  # only where agreed when the debt arose (domain.md §3): dunning decides that
    "collection_demand",
    "written_plan",
    "request_to_remedy",
    "notice",
    "social_services_message",
    "service",
    "disconnection_visit",
    "reconnection_visit",
]
ALLOWED_COSTS: Final[tuple[str, ...]] = AllowedCost.__args__  # type: ignore[attr-defined]

# Costs the supervisory authority found without legal ground (seed 003 line 41): a fee for a
# message about disconnection that the law does not prescribe, and a fee for an oral plan. Named,
# so that a refusal says which finding it repeats.
FORBIDDEN_COSTS: Final[dict[str, str]] = {
    "disconnection_message": (
        "a fee for a 'notice of disconnection' the law does not prescribe has no legal ground "
        "(seed 003 line 41)"
    ),
    "oral_plan": "an oral payment plan may not be charged for (seed 003 line 41)",
}


def _always(value: int) -> Dated[int]:
    return Dated[int].always(value)


class ProcedureSettings(BaseModel):
    """Every number of the procedure (domain.md §6-7); each a ``Dated`` table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- electricity (domain.md §6, ellagen 11:3-4) ---
    # The collection demand's own time to pay before the request to remedy may follow: our
    # choice, 10 days, the same "about 10 days" seed 001 gives between reminder and handover.
    collection_demand_pay_days: Dated[int] = Field(default_factory=lambda: _always(10))
    # The request to remedy "within a reasonable time" (ellagen 11:3): 14 days, as in practice
    # (domain.md §7 gives "about 14 days in practice"; our choice for electricity too).
    request_to_remedy_days: Dated[int] = Field(default_factory=lambda: _always(14))
    # The notice's 3 weeks from service (ellagen 11:4), in days: served 2026-04-07 -> paid by
    # 2026-04-28, disconnected at the earliest 2026-04-29 (domain.md §6).
    notice_pay_days_from_service: Dated[int] = Field(default_factory=lambda: _always(21))

    # --- water (domain.md §7, LAV 43 §, seed 001) ---
    # The letter about disconnection goes about 10 days after the reminder (seed 001).
    water_letter_days_after_reminder: Dated[int] = Field(default_factory=lambda: _always(10))
    # The written request to remedy within a reasonable time (domain.md §7: about 14 days).
    water_remedy_days: Dated[int] = Field(default_factory=lambda: _always(14))
    # At most 45 days from the due date to disconnection (due 2026-05-04 -> 2026-06-18).
    water_max_days_from_due_date: Dated[int] = Field(default_factory=lambda: _always(45))

    # --- costs, öre (domain.md §3, §6 "Costs", §7) ---
    # The collection demand's statutory fee: 180 kr (förordning 2003:1185; seed 001 still says
    # 160 kr). The same figure as dunning's, kept here so the procedure depends on no context.
    collection_demand_fee_ore: Dated[int] = Field(default_factory=lambda: _always(18_000))
    # A written reminder, at most 60 kr, only where agreed (domain.md §3).
    reminder_fee_ore: Dated[int] = Field(default_factory=lambda: _always(6_000))
    # A written installment plan, at most 170 kr (domain.md §3).
    written_plan_fee_ore: Dated[int] = Field(default_factory=lambda: _always(17_000))
    # Ellagen 11:5's reasonable costs of the procedure's letters and of service: nothing by
    # default (a municipality may charge less or nothing).
    request_to_remedy_cost_ore: Dated[int] = Field(default_factory=lambda: _always(0))
    notice_cost_ore: Dated[int] = Field(default_factory=lambda: _always(0))
    social_services_message_cost_ore: Dated[int] = Field(default_factory=lambda: _always(0))
    service_cost_ore: Dated[int] = Field(default_factory=lambda: _always(0))
    # 500 kr per visit to disconnect and to reconnect (seed 001's taxa).
    disconnection_visit_ore: Dated[int] = Field(default_factory=lambda: _always(50_000))
    reconnection_visit_ore: Dated[int] = Field(default_factory=lambda: _always(50_000))

    def cost_ore(self, kind: AllowedCost, on: date) -> int:
        """The amount of an allowed cost on ``on`` (domain.md §6 "Costs")."""
        table: dict[str, Dated[int]] = {
            "reminder": self.reminder_fee_ore,
            "collection_demand": self.collection_demand_fee_ore,
            "written_plan": self.written_plan_fee_ore,
            "request_to_remedy": self.request_to_remedy_cost_ore,
            "notice": self.notice_cost_ore,
            "social_services_message": self.social_services_message_cost_ore,
            "service": self.service_cost_ore,
            "disconnection_visit": self.disconnection_visit_ore,
            "reconnection_visit": self.reconnection_visit_ore,
        }
        return table[kind].at(on)
