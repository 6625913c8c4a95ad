"""The materiality assessment (väsentlighetsprövning) of an electricity supply point: ellagen 11:3,
domain.md §6, seed 003 lines 23-25 (the supervisory authority's floor and Svensk Energi's
guidance). Pure: ``assess(point, customer_kind, claims, today, settings)``.

- Consumers only (ellagen 11:1): a customer with an organisationsnummer never enters this
  procedure; the assessment answers ``refused``.
- Grid (``electricity_grid``) and supply (``electricity_supply``) are assessed each on its own,
  per supply point (seed 003 line 25: "nätdelen respektive elhandelsdelen samt dessutom varje
  abonnemang bedömas var för sig"). Only their **overdue capital** counts: never interest, fees,
  costs, other services on the same invoice (water, waste: "får över huvud taget inte läggas till
  grund"), or advance payments (an invoice not yet due is not overdue).
- A single claim (one invoice's overdue capital of the part) that exceeds the floor (1,000 kr)
  **and** the industry share of the annual cost for the category (1/3; 1/4 for an electrically
  heated house) is material. Both must hold: the floor is the least the authority accepts, the
  share is the industry's guidance on top of it. Example (domain.md §6): annual cost 1,800 kr, one
  unpaid 900 kr -> not material (under the floor, though above 1/3 = 600 kr); 1,001 kr ->
  material.
- At least 3 unpaid invoices of the part that fell due close together -> material whatever the
  amount; 2 -> ``manual``: a case officer weighs the total (not automatic).
- Partial payments count (seed 003 line 25): the claims carry what is still open of their capital,
  so the assessment run again before each step sees them.

The overall result of a point is the strongest of its parts: material if either part is, else
manual if either needs weighing, else not material.

A disputed claim is counted like any other here and shown as ``disputed`` in the inputs: whether
a dispute stops the procedure is a block of its own (ellagen 11:4 "är fordringen tvistig"),
named as such by the procedure rather than hidden as "not material".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from fordra.contracts.invoicing import InvoiceLine, VatBreakdown
from fordra.contracts.utility_disconnect import SupplyPointCategory
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.money import format_sek
from fordra.utility_disconnect.domain.settings import DisconnectionSettings
from fordra.utility_disconnect.domain.supply_point import CustomerKind, SupplyPoint

Part = Literal["electricity_grid", "electricity_supply"]
PARTS: Final[tuple[Part, ...]] = ("electricity_grid", "electricity_supply")
Result = Literal["material", "not_material", "manual", "refused"]

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class PartClaim:
    """One invoice's claim for one part of one supply point, as the read model has it: its
    capital (VAT included) less what was credited and paid of it."""

    invoice_id: str
    invoice_number: str
    part: str  # a service type; only the electricity parts are assessed
    due_date: date
    open_capital_ore: int
    disputed: bool = False


class OverdueInvoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    invoice_number: str
    due_date: date
    open_capital_ore: int
    disputed: bool


class Thresholds(BaseModel):
    """The thresholds in force on the day, as used."""

    model_config = ConfigDict(frozen=True)

    floor_ore: int
    share: str  # "1/3", as a reason says it
    share_numerator: int
    share_denominator: int
    share_of_annual_cost_ore: int  # the share of the annual cost, rounded down to whole öre
    close_together_days: int
    manual_invoice_count: int
    material_invoice_count: int


class PartInputs(BaseModel):
    model_config = ConfigDict(frozen=True)

    result: Result
    reason: str
    overdue_invoices: list[OverdueInvoice]
    overdue_capital_ore: int
    # The most overdue invoices whose due dates fall within the close-together window.
    close_together_count: int


class AssessmentInputs(BaseModel):
    model_config = ConfigDict(frozen=True)

    supply_point_id: str
    customer_id: str
    customer_kind: CustomerKind
    on: date
    annual_cost_ore: int
    category: SupplyPointCategory
    thresholds: Thresholds
    parts: dict[str, PartInputs]


class Assessment(BaseModel):
    """The result, the reason in English naming the rule, and every input it rests on (recorded
    with each step of the procedure, issue 16: ``MaterialityAssessed``)."""

    model_config = ConfigDict(frozen=True)

    result: Result
    reason: str
    inputs: AssessmentInputs

    @property
    def disputed_invoice_ids(self) -> list[str]:
        """The overdue invoices under dispute (a block of the procedure, ellagen 11:4)."""
        return sorted(
            {
                i.invoice_id
                for p in self.inputs.parts.values()
                for i in p.overdue_invoices
                if i.disputed
            }
        )


def check_electricity(point: SupplyPoint) -> None:
    """The assessment is ellagen's: a water supply point has its own rules (domain.md §7)."""
    if point.utility != "electricity":
        raise DomainRuleViolation(
            f"supply point {point.supply_point_id!r} delivers {point.utility}; the materiality "
            "assessment of ellagen 11:3 is for electricity only (water: domain.md §7)",
            field="supply_point_id",
            rule="materiality_electricity_only",
        )


def assess(
    point: SupplyPoint,
    customer_kind: CustomerKind,
    claims: Iterable[PartClaim],
    today: date,
    settings: DisconnectionSettings,
) -> Assessment:
    """Assess ``point`` on ``today`` from its ``claims`` (module docstring for the rules)."""
    check_electricity(point)
    num, den = settings.annual_cost_share.at(today)[point.category]
    thresholds = Thresholds(
        floor_ore=settings.materiality_floor_ore.at(today),
        share=f"{num}/{den}",
        share_numerator=num,
        share_denominator=den,
        share_of_annual_cost_ore=point.annual_cost_ore * num // den,
        close_together_days=settings.close_together_days.at(today),
        manual_invoice_count=settings.manual_invoice_count.at(today),
        material_invoice_count=settings.material_invoice_count.at(today),
    )
    claims = list(claims)
    parts = {
        part: _assess_part(part, [c for c in claims if c.part == part], point, today, thresholds)
        for part in PARTS
    }
    inputs = AssessmentInputs(
        supply_point_id=point.supply_point_id,
        customer_id=point.customer_id,
        customer_kind=customer_kind,
        on=today,
        annual_cost_ore=point.annual_cost_ore,
        category=point.category,
        thresholds=thresholds,
        parts=dict(parts),
    )
    if customer_kind == "organisation":
        return Assessment(
            result="refused",
            reason="the customer is a business (organisationsnummer): disconnection under "
            "ellagen 11 kap. applies to consumers only (ellagen 11:1, domain.md §6)",
            inputs=inputs,
        )
    strengths: tuple[Result, ...] = ("material", "manual")
    for strongest in strengths:
        hits = [p for p in parts.values() if p.result == strongest]
        if hits:
            return Assessment(
                result=strongest,
                reason="; ".join(p.reason for p in hits),
                inputs=inputs,
            )
    return Assessment(
        result="not_material",
        reason="; ".join(p.reason for p in parts.values()),
        inputs=inputs,
    )


def _assess_part(
    part: Part,
    claims: Sequence[PartClaim],
    point: SupplyPoint,
    today: date,
    t: Thresholds,
) -> PartInputs:
    # Overdue: the due date has passed (an invoice is payable on its due date) and capital is
    # still open. An invoice not yet due is an advance in the seed's sense and never counts.
    overdue = sorted(
        (c for c in claims if c.due_date < today and c.open_capital_ore > 0),
        key=lambda c: (c.due_date, c.invoice_number),
    )
    listed = [
        OverdueInvoice(
            invoice_id=c.invoice_id,
            invoice_number=c.invoice_number,
            due_date=c.due_date,
            open_capital_ore=c.open_capital_ore,
            disputed=c.disputed,
        )
        for c in overdue
    ]
    total = sum(c.open_capital_ore for c in overdue)
    close = most_close_together([c.due_date for c in overdue], t.close_together_days)

    def inputs(result: Result, reason: str) -> PartInputs:
        return PartInputs(
            result=result,
            reason=f"{part}: {reason}",
            overdue_invoices=listed,
            overdue_capital_ore=total,
            close_together_count=close,
        )

    num, den = t.share_numerator, t.share_denominator
    for c in overdue:
        # Exact in öre: claim > annual * num / den  <=>  claim * den > annual * num.
        if (
            c.open_capital_ore > t.floor_ore
            and c.open_capital_ore * den > point.annual_cost_ore * num
        ):
            return inputs(
                "material",
                f"invoice {c.invoice_number} has {format_sek(c.open_capital_ore)} of overdue "
                f"capital, above the floor of {format_sek(t.floor_ore)} and above {t.share} of the "
                f"annual cost ({format_sek(t.share_of_annual_cost_ore)}) (a single claim, "
                "domain.md §6, seed 003)",
            )
    if close >= t.material_invoice_count:
        return inputs(
            "material",
            f"{close} unpaid invoices fell due within {t.close_together_days} days of each other "
            f"(at least {t.material_invoice_count} is material whatever the amount, domain.md §6, "
            "seed 003)",
        )
    if close >= t.manual_invoice_count:
        return inputs(
            "manual",
            f"{close} unpaid invoices fell due within {t.close_together_days} days of each other, "
            f"{format_sek(total)} of overdue capital in all: a case officer weighs the total "
            f"({t.manual_invoice_count} close invoices, domain.md §6, seed 003)",
        )
    if not overdue:
        return inputs("not_material", "no overdue capital")
    largest = max(overdue, key=lambda c: c.open_capital_ore)
    return inputs(
        "not_material",
        f"the largest single claim, invoice {largest.invoice_number} with "
        f"{format_sek(largest.open_capital_ore)} of overdue capital, does not exceed both the "
        f"floor of {format_sek(t.floor_ore)} and {t.share} of the annual cost "
        f"({format_sek(t.share_of_annual_cost_ore)}), and fewer than "
        f"{t.manual_invoice_count} unpaid invoices fell due close together (domain.md §6, "
        "seed 003)",
    )


def most_close_together(due_dates: Sequence[date], window_days: int) -> int:
    """The most of ``due_dates`` that fall within ``window_days`` from the earliest to the latest
    of them (a sliding window over the sorted dates)."""
    days = sorted(due_dates)
    best = 0
    start = 0
    for end, day in enumerate(days):
        while (day - days[start]).days > window_days:
            start += 1
        best = max(best, end - start + 1)
    return best


def capital_by_service(lines: Sequence[InvoiceLine], vat: Sequence[VatBreakdown]) -> dict[str, int]:
    """The capital of an invoice (or a credit note) per service, VAT included: each service's
    capital lines' net plus its share of each rate's VAT in proportion to its net at that rate,
    shared by largest remainder. The same split payments makes (domain.md §3: capital, interest
    and each cost apart; electricity apart from other services), so that what payments allocates
    to a part's capital is taken from the same amount; a line of interest or a fee is never
    capital."""
    owed: dict[tuple[str, str], int] = {}
    for line in lines:
        part = (str(line.kind), str(line.service_type))
        owed[part] = owed.get(part, 0) + line.net_ore
    for breakdown in vat:
        nets: dict[tuple[str, str], int] = {}
        for line in lines:
            if line.vat_rate == breakdown.vat_rate:
                rated = (str(line.kind), str(line.service_type))
                nets[rated] = nets.get(rated, 0) + line.net_ore
        for key, share in _largest_remainder(breakdown.vat_ore, nets).items():
            owed[key] = owed.get(key, 0) + share
    return {service: amount for (kind, service), amount in owed.items() if kind == "capital"}


def _largest_remainder(amount: int, weights: Mapping[K, int]) -> dict[K, int]:
    total = sum(weights.values())
    if total == 0 or amount == 0:
        return dict.fromkeys(weights, 0)
    exact = {k: amount * w / total for k, w in weights.items()}
    shares = {k: int(v) for k, v in exact.items()}
    left = amount - sum(shares.values())
    for k in sorted(exact, key=lambda k: exact[k] - shares[k], reverse=True)[: abs(left)]:
        shares[k] += 1 if left > 0 else -1
    return shares
