"""Recurring charges: rents, fees and subscriptions that a department registers once and the
billing calendar issues period by period (issue 14; domain.md §2 "Billing periods", §8 "Rent
(LOIS)"; seed 002 lines 1485-1501).

A charge is a stream of dated events: created with a price from its start, a new price from a date
(``RecurringChargeAmountChanged``), an end (``RecurringChargeEnded``). Each period's notice is
claimed once, in a stream of its own per charge and period, as issued or held for a manual check
(application/billing_run.py). A price change never rewrites an issued invoice: the difference for
the periods already issued goes on the charge's next notice, one line per period; an end inside a
period already issued asks for a credit note of the days after it (seed 002 line 1460:
"slutkreditering"), through the attest of any credit note.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fordra.contracts.invoicing import ServiceType
from fordra.invoicing.domain.billing_calendar import (
    BillingDay,
    Cadence,
    Timing,
    amount_for,
    billing_date,
    period_containing,
    periods_due,
)
from fordra.invoicing.domain.billing_period import BillingPeriod
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import CalendarDate, Dated
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event
from fordra.kernel.money import Ore, check_amount_within_bound, percent_of
from fordra.kernel.text import FreeText, SingleLine

# LOIS's kinds of contract (seed 002 lines 1499-1501): external and city-internal lettings
# ("regular"), vacancies, and a department's internal contracts. They differ in their billing day
# and timing (domain.md §8).
ChargeKind = Literal["regular", "vacancy", "internal"]


_DEFAULT_BILLING_DAY: Final[dict[ChargeKind, BillingDay]] = {
    "regular": "second_working_day",
    "vacancy": "penultimate_working_day",
    "internal": "penultimate_working_day",
}
_TIMING_BY_SERVICE: Final[dict[ServiceType, Timing]] = {
    "housing_rent": "advance",
    "premises_rent": "advance",
    "music_school": "advance",
    "childcare": "current",
    "water": "current",
    "waste": "current",
    "elderly_care": "arrears",
    "hall_rental": "arrears",
}
_TIMING_BY_KIND: Final[dict[ChargeKind, Timing]] = {"vacancy": "closing", "internal": "closing"}


def _manual_check_over_ore() -> dict[ServiceType, Dated[int]]:
    return {
        "housing_rent": Dated[int].always(1_000_000),
        "premises_rent": Dated[int].always(1_000_000),
    }


class RecurringSettings(BaseModel):
    """The billing calendar's settings (InvoicingSettings.recurring): every number dated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # "Hyresavisering (ej vakansavtal): Andra arbetsdagen i månaden"; "Avisering (vakanser och
    # förvaltningsinterna uthyrningsavtal): Näst sista arbetsdagen i månaden" (seed 002).
    default_billing_day: dict[ChargeKind, BillingDay] = Field(
        default_factory=lambda: dict(_DEFAULT_BILLING_DAY)
    )
    # When a regular charge's notice goes out relative to its period, per service (seed 001's
    # billing periods, domain.md §2): rent and the music school in advance, childcare the
    # current month, elderly care and hall rental in arrears. A service missing here: "current".
    timing_by_service: dict[ServiceType, Timing] = Field(
        default_factory=lambda: dict(_TIMING_BY_SERVICE)
    )
    # Vacancies and internal contracts are billed for the month that ends ("föregående månad"
    # once it has, seed 002 line 1600), on its second-to-last working day.
    timing_by_kind: dict[ChargeKind, Timing] = Field(default_factory=lambda: dict(_TIMING_BY_KIND))
    # "Kontrollera avier vars belopp överstiger 10 000 kr" (seed 002 line 1491): a notice whose
    # total (VAT included) is above this is held for a manual check. Per service; a service
    # missing here is never held.
    manual_check_over_ore: dict[ServiceType, Dated[int]] = Field(
        default_factory=_manual_check_over_ore
    )
    # A contract registered late is billed for its past periods on the next run; how far back
    # it may start (our choice: a quarter, so a forgotten contract is caught up but a typo of a
    # year is refused).
    max_backdated_start_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(92))
    # And how far ahead (our choice: a year and a day, so next year's contracts can be entered
    # while a mistyped year is refused).
    max_future_start_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(366))
    # How many notices one append of the billing run books (application/billing_run.py): a
    # chunk is all or nothing, so a bad notice costs its chunk one retry.
    run_chunk_size: int = Field(default=500, ge=1, le=10_000)

    def timing_for(self, kind: ChargeKind, service_type: str) -> Timing:
        by_kind = self.timing_by_kind.get(kind)
        if by_kind is not None:
            return by_kind
        return next((t for s, t in self.timing_by_service.items() if s == service_type), "current")


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class CreateRecurringCharge(_Command):
    customer_id: SingleLine = Field(min_length=1, max_length=64)
    department: str = Field(min_length=1, max_length=64)
    service_type: ServiceType
    description: FreeText = Field(min_length=1, max_length=300)
    amount_ore: Ore = Field(gt=0, description="The price of one whole period, in öre, net")
    vat_rate: int = Field(ge=0, le=100)
    period: Cadence
    billing_day: BillingDay | None = Field(
        default=None, description="By default the kind's (seed 002): rent the 2nd working day"
    )
    kind: ChargeKind = "regular"
    starts_on: CalendarDate
    ends_on: CalendarDate | None = None

    @field_validator("department")
    @classmethod
    def _department_token(cls, value: str) -> str:
        lowered = value.lower()
        if len(lowered) > 64 or not lowered.replace("_", "").replace("-", "").isalnum():
            raise ValueError("department must be a short token of letters, digits, - and _")
        return lowered

    @model_validator(mode="after")
    def _ordered(self) -> CreateRecurringCharge:
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is on or after starts_on")
        return self


class ChangeRecurringCharge(_Command):
    """A new price from a date, an end date, or both."""

    amount_ore: Ore | None = Field(default=None, gt=0)
    amount_from: CalendarDate | None = None
    ends_on: CalendarDate | None = None
    reason: FreeText = Field(min_length=3, max_length=1000)

    @model_validator(mode="after")
    def _something(self) -> ChangeRecurringCharge:
        if (self.amount_ore is None) != (self.amount_from is None):
            raise ValueError("a new amount_ore needs its amount_from, and amount_from an amount")
        if self.amount_ore is None and self.ends_on is None:
            raise ValueError("give amount_ore with amount_from, or ends_on")
        return self


class RecurringChargeCreated(Event):
    event_type: ClassVar[str] = "RecurringChargeCreated"

    charge_id: str
    customer_id: str
    department: str
    service_type: ServiceType
    description: str
    amount_ore: int
    vat_rate: int
    cadence: Cadence
    billing_day: BillingDay
    timing: Timing
    kind: ChargeKind
    starts_on: date
    ends_on: date | None = None


class RecurringChargeAmountChanged(Event):
    event_type: ClassVar[str] = "RecurringChargeAmountChanged"

    charge_id: str
    amount_ore: int
    amount_from: date
    reason: str


class RecurringChargeEnded(Event):
    event_type: ClassVar[str] = "RecurringChargeEnded"

    charge_id: str
    ends_on: date
    reason: str


class AdjustmentLine(BaseModel):
    """A difference for a period already issued, put on a later notice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    period_start: date
    period_end: date
    amount_ore: int


class NoticeFailure(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    charge_id: str
    customer_id: str
    period_start: date
    reason: str


class RecurringNoticeIssued(Event):
    """The notice of one period of a charge was issued as ``invoice_id`` (its own stream per
    charge and period: issued or held once)."""

    event_type: ClassVar[str] = "RecurringNoticeIssued"

    charge_id: str
    customer_id: str
    service_type: ServiceType
    period_start: date
    period_end: date
    invoice_id: str | None  # None: under the minimum, held or dropped by the 50 kr rule
    amount_ore: int  # the period's own price, net
    total_ore: int  # the notice's, adjustments and VAT included
    adjustments: tuple[AdjustmentLine, ...] = ()
    issued_on: date
    # It lets a held notice go: its adjustments were counted when it was held.
    released: bool = False


class RecurringNoticesFailed(Event):
    """Notices the run of ``day`` could not issue, and why (tried again the next day)."""

    event_type: ClassVar[str] = "RecurringNoticesFailed"

    day: date
    failures: tuple[NoticeFailure, ...]


class RecurringNoticeHeld(Event):
    """The notice is above the manual-check threshold: not sent until released."""

    event_type: ClassVar[str] = "RecurringNoticeHeld"

    charge_id: str
    customer_id: str
    service_type: ServiceType
    period_start: date
    period_end: date
    amount_ore: int
    total_ore: int
    adjustments: tuple[AdjustmentLine, ...] = ()
    held_on: date
    reason: str


class RecurringPeriodCredited(Event):
    """A period issued beyond the contract's end: a credit note of ``amount_ore`` was asked for."""

    event_type: ClassVar[str] = "RecurringPeriodCredited"

    charge_id: str
    period_start: date
    invoice_id: str
    amount_ore: int
    request_id: str


RECURRING_EVENTS: tuple[type[Event], ...] = (
    RecurringChargeCreated,
    RecurringChargeAmountChanged,
    RecurringChargeEnded,
    RecurringNoticeIssued,
    RecurringNoticeHeld,
    RecurringPeriodCredited,
    RecurringNoticesFailed,
)


class RecurringCharge(BaseModel):
    """A charge as its events leave it."""

    model_config = ConfigDict(frozen=True)

    charge_id: str
    customer_id: str
    department: str
    service_type: ServiceType
    description: str
    vat_rate: int
    cadence: Cadence
    billing_day: BillingDay
    timing: Timing
    kind: ChargeKind
    starts_on: date
    ends_on: date | None
    prices: tuple[tuple[date, int], ...]  # (from, öre per period), sorted
    version: int

    def price_at(self, day: date) -> int:
        price = self.prices[0][1]
        for price_from, amount in self.prices:
            if price_from <= day:
                price = amount
        return price


def replay_charge(events: Iterable[Event]) -> RecurringCharge | None:
    charge: RecurringCharge | None = None
    for version, event in enumerate(events, start=1):
        if isinstance(event, RecurringChargeCreated):
            charge = RecurringCharge(
                charge_id=event.charge_id,
                customer_id=event.customer_id,
                department=event.department,
                service_type=event.service_type,
                description=event.description,
                vat_rate=event.vat_rate,
                cadence=event.cadence,
                billing_day=event.billing_day,
                timing=event.timing,
                kind=event.kind,
                starts_on=event.starts_on,
                ends_on=event.ends_on,
                prices=((event.starts_on, event.amount_ore),),
                version=version,
            )
        elif charge is not None and isinstance(event, RecurringChargeAmountChanged):
            kept = tuple(p for p in charge.prices if p[0] < event.amount_from)
            charge = charge.model_copy(
                update={
                    "prices": (*kept, (event.amount_from, event.amount_ore)),
                    "version": version,
                }
            )
        elif charge is not None and isinstance(event, RecurringChargeEnded):
            charge = charge.model_copy(update={"ends_on": event.ends_on, "version": version})
    return charge


def create_charge(
    cmd: CreateRecurringCharge,
    *,
    charge_id: str,
    today: date,
    settings: RecurringSettings,
    vat_rates: tuple[int, ...],
    max_amount_ore: int,
) -> RecurringChargeCreated:
    """Register a charge (issue 14): a contract that started long ago is refused, and so are a VAT
    rate not in force and a price no invoice may carry (it would fail every run instead)."""
    check_amount_within_bound(cmd.amount_ore, max_amount_ore, field="amount_ore")
    back = settings.max_backdated_start_days.at(today)
    if (today - cmd.starts_on).days > back:
        raise DomainRuleViolation(
            f"starts_on {cmd.starts_on.isoformat()} is more than {back} days before the business "
            f"date {today.isoformat()}: its past periods would all be billed at once; invoice "
            "them on their own and start the charge later",
            field="starts_on",
            rule="recurring_start_backdated",
        )
    ahead = settings.max_future_start_days.at(today)
    if (cmd.starts_on - today).days > ahead:
        raise DomainRuleViolation(
            f"starts_on {cmd.starts_on.isoformat()} is more than {ahead} days after the business "
            f"date {today.isoformat()}: register the contract nearer its start",
            field="starts_on",
            rule="recurring_start_too_far_ahead",
        )
    if cmd.vat_rate not in vat_rates:
        raise DomainRuleViolation(
            f"VAT rate {cmd.vat_rate} % is not in force on {today.isoformat()}",
            field="vat_rate",
            rule="vat_rate_in_force",
        )
    return RecurringChargeCreated(
        charge_id=charge_id,
        customer_id=cmd.customer_id,
        department=cmd.department,
        service_type=cmd.service_type,
        description=cmd.description,
        amount_ore=cmd.amount_ore,
        vat_rate=cmd.vat_rate,
        cadence=cmd.period,
        billing_day=cmd.billing_day or settings.default_billing_day[cmd.kind],
        timing=settings.timing_for(cmd.kind, cmd.service_type),
        kind=cmd.kind,
        starts_on=cmd.starts_on,
        ends_on=cmd.ends_on,
    )


def change_charge(
    charge: RecurringCharge, cmd: ChangeRecurringCharge, *, max_amount_ore: int
) -> list[Event]:
    """A new price from a date, and/or an end. The end may not come before the start, nor a new
    price before the start or after the end."""
    events: list[Event] = []
    if cmd.amount_ore is not None:
        check_amount_within_bound(cmd.amount_ore, max_amount_ore, field="amount_ore")
    ends_on = cmd.ends_on if cmd.ends_on is not None else charge.ends_on
    if cmd.ends_on is not None and cmd.ends_on < charge.starts_on:
        raise DomainRuleViolation(
            f"ends_on {cmd.ends_on.isoformat()} is before the charge's start "
            f"{charge.starts_on.isoformat()}",
            field="ends_on",
            rule="recurring_dates_ordered",
        )
    if cmd.amount_ore is not None and cmd.amount_from is not None:
        if cmd.amount_from < charge.starts_on or (
            ends_on is not None and cmd.amount_from > ends_on
        ):
            raise DomainRuleViolation(
                f"amount_from {cmd.amount_from.isoformat()} is outside the charge "
                f"({charge.starts_on.isoformat()} to "
                f"{ends_on.isoformat() if ends_on else 'open'})",
                field="amount_from",
                rule="recurring_dates_ordered",
            )
        events.append(
            RecurringChargeAmountChanged(
                charge_id=charge.charge_id,
                amount_ore=cmd.amount_ore,
                amount_from=cmd.amount_from,
                reason=cmd.reason,
            )
        )
    if cmd.ends_on is not None and cmd.ends_on != charge.ends_on:
        events.append(
            RecurringChargeEnded(charge_id=charge.charge_id, ends_on=cmd.ends_on, reason=cmd.reason)
        )
    return events


@dataclass(frozen=True, slots=True)
class BilledPeriod:
    """A period already issued or held (the read model's row): what it billed so far."""

    period: BillingPeriod
    status: Literal["issued", "held"]
    amount_ore: int
    invoice_id: str | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """One period's notice, due: the period's price and the differences of earlier periods."""

    charge: RecurringCharge
    period: BillingPeriod
    amount_ore: int
    adjustments: tuple[AdjustmentLine, ...]

    @property
    def net_ore(self) -> int:
        return self.amount_ore + sum(a.amount_ore for a in self.adjustments)

    @property
    def total_ore(self) -> int:
        return self.net_ore + percent_of(self.net_ore, self.charge.vat_rate)


def period_amount(charge: RecurringCharge, period: BillingPeriod) -> int:
    return amount_for(period, charge.prices, charge.starts_on, charge.ends_on)


def pending_adjustments(
    charge: RecurringCharge, billed: Mapping[date, BilledPeriod]
) -> tuple[AdjustmentLine, ...]:
    """The differences between what issued periods billed and what they cost now (a price
    changed from a date inside or before them). A period whose end made it cost less is not
    among them: that is credited when the charge is ended (``credits_for_end``)."""
    lines = []
    for start in sorted(billed):
        row = billed[start]
        if row.status != "issued" or row.invoice_id is None:
            continue
        difference = period_amount(charge, row.period) - row.amount_ore
        if difference and not _past_end(charge, row.period):
            lines.append(
                AdjustmentLine(
                    period_start=row.period.start, period_end=row.period.end, amount_ore=difference
                )
            )
    return tuple(lines)


def _past_end(charge: RecurringCharge, period: BillingPeriod) -> bool:
    return charge.ends_on is not None and charge.ends_on < period.end


def notices_due(
    charge: RecurringCharge,
    billed: Mapping[date, BilledPeriod],
    *,
    day: date,
    calendar: WorkingDayCalendar,
    billed_through: date | None = None,
) -> list[Notice]:
    """The notices the run of ``day`` sends for ``charge``: each period whose notice day has come
    and that was neither issued nor held; the first carries the pending differences, when the
    notice stays above zero with them (else they wait for a later notice).

    ``billed_through``: every period ending on or before it is issued or held (the run never
    leaves a gap: application/billing_run.py), so ``billed`` need only hold the periods after it,
    and the earlier ones for a charge whose price changed (their differences)."""
    periods = periods_due(
        cadence=charge.cadence,
        timing=charge.timing,
        billing_day=charge.billing_day,
        calendar=calendar,
        starts_on=charge.starts_on,
        ends_on=charge.ends_on,
        through=day,
    )
    adjustments = pending_adjustments(charge, billed)
    notices = []
    for period in periods:
        if period.start in billed or (billed_through is not None and period.end <= billed_through):
            continue
        amount = period_amount(charge, period)
        if amount <= 0:
            continue
        carried = adjustments if amount + sum(a.amount_ore for a in adjustments) > 0 else ()
        notices.append(Notice(charge, period, amount, carried))
        adjustments = tuple(a for a in adjustments if a not in carried)
    return notices


def next_notice_on(
    charge: RecurringCharge, billed_through: date | None, calendar: WorkingDayCalendar
) -> date | None:
    """The day the charge's next notice is due: that of the first period after ``billed_through``
    (or its first period), None when the contract ends before it. The register keeps it, so the
    run reads only the charges whose day has come."""
    first = (
        period_containing(charge.cadence, charge.starts_on)
        if billed_through is None
        else period_containing(charge.cadence, billed_through + timedelta(days=1))
    )
    if charge.ends_on is not None and first.start > charge.ends_on:
        return None
    return billing_date(first, charge.timing, charge.billing_day, calendar)


def credits_for_end(
    charge: RecurringCharge, billed: Mapping[date, BilledPeriod]
) -> list[tuple[BilledPeriod, int]]:
    """The issued periods the charge's end cut short, with what to credit on each: what they
    billed less what their days up to the end cost (seed 002 line 1460, "slutkreditering")."""
    credits = []
    for start in sorted(billed):
        row = billed[start]
        if row.status != "issued" or row.invoice_id is None or not _past_end(charge, row.period):
            continue
        excess = row.amount_ore - period_amount(charge, row.period)
        if excess > 0:
            credits.append((row, excess))
    return credits


def held_reason(notice: Notice, settings: RecurringSettings, day: date) -> str | None:
    """Why the notice waits for a manual check, or None (seed 002 line 1491)."""
    threshold = settings.manual_check_over_ore.get(notice.charge.service_type)
    if threshold is None:
        return None
    limit = threshold.at(day)
    if notice.total_ore > limit:
        return f"over {limit // 100} kr: checked by hand before it is sent (seed 002)"
    return None
