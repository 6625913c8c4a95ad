"""The daily run's rules (domain.md §4, seed 001 and seed 004): which claims are due for which
step on a given day, as cut-off dates per service that the application turns into one set-based
query per kind of step.

Every number is a dated setting (``DunningSettings``) or the service's dunning policy; the policy
book itself (the "kravkod", versioned by ``valid_from``) is another module's: the run reads
policies through the small ``PolicyLookup`` protocol here, and ``SeedPolicies`` answers seed
001's default for every service until the policy book is plugged in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.dunning import NextStep
from fordra.dunning.domain.events import DunningModel, ProposalKind
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation


def _days(value: int) -> Callable[[], Dated[int]]:
    return lambda: Dated[int].always(value)


def _reference_rates() -> Dated[Decimal]:
    # domain.md §3: the Riksbank reference rate per half-year, the policy rate at the end of the
    # previous half-year rounded up to the next half point (the rulebook's rows from 2024; the
    # earlier ones by that rule). The interest module's table, which an admin extends, replaces
    # this fallback when it is wired.
    return Dated[Decimal].table(
        ("2020-01-01", Decimal("0.00")),
        ("2020-07-01", Decimal("0.00")),
        ("2021-01-01", Decimal("0.00")),
        ("2021-07-01", Decimal("0.00")),
        ("2022-01-01", Decimal("0.00")),
        ("2022-07-01", Decimal("0.50")),
        ("2023-01-01", Decimal("2.50")),
        ("2023-07-01", Decimal("3.50")),
        ("2024-01-01", Decimal("4.00")),
        ("2024-07-01", Decimal("4.00")),
        ("2025-01-01", Decimal("2.50")),
        ("2025-07-01", Decimal("2.00")),
        ("2026-01-01", Decimal("2.00")),
    )


class DunningSettings(BaseModel):
    """Dunning's dated settings (domain.md preamble: every number is a setting with a date)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Seed 001's default policy for every service (domain.md §4): a reminder at the earliest 7
    # days after the due date, no reminder fee (Svenljunga charges none), handover about 10
    # days after the reminder, to the agency.
    reminder_after_days: Dated[int] = Field(default_factory=_days(7))
    # The rulebook's floor, whatever a policy says (domain.md §4: "tidigast sju dagar").
    earliest_reminder_days: Dated[int] = Field(default_factory=_days(7))
    reminder_fee_ore: Dated[int] = Field(default_factory=_days(0))
    # The services whose customers agreed to a reminder fee when the debt arose (domain.md §3):
    # none by default; fees set by a taxa (water, waste) usually were not agreed.
    reminder_fee_agreed_for: Dated[tuple[str, ...]] = Field(
        default_factory=lambda: Dated[tuple[str, ...]].always(())
    )
    handover_after_reminder_days: Dated[int] = Field(default_factory=_days(10))
    # The date a reminder asks payment by, counted from the day it is sent (our choice: the 10
    # days before the handover, so that a customer who pays by it is never handed over).
    reminder_pay_by_days: Dated[int] = Field(default_factory=_days(10))
    # Seed 004's model: once a month (on this working day of the month) the invoices 4 to 7
    # weeks overdue are handed over unreminded, and the agency sends the reminder.
    monthly_handover_working_day: Dated[int] = Field(default_factory=_days(1))
    agency_handover_min_days_overdue: Dated[int] = Field(default_factory=_days(28))
    agency_handover_max_days_overdue: Dated[int] = Field(default_factory=_days(49))
    # Late interest (domain.md §3): the reference rate of the half-year + 8 points.
    reference_rate_percent: Dated[Decimal] = Field(default_factory=_reference_rates)
    interest_points_above_reference: Dated[Decimal] = Field(
        default_factory=lambda: Dated[Decimal].always(Decimal("8"))
    )
    interest_day_count: Dated[int] = Field(default_factory=_days(365))


class PolicyLike(Protocol):
    """What the run reads of a service's dunning policy (the policy book's ``DunningPolicy``
    has these fields and more)."""

    @property
    def model(self) -> DunningModel: ...
    @property
    def reminder_after_days(self) -> int: ...
    @property
    def reminder_fee_ore(self) -> int: ...
    @property
    def reminder_fee_agreed(self) -> bool: ...
    @property
    def handover_after_reminder_days(self) -> int: ...
    @property
    def next_step(self) -> NextStep: ...
    @property
    def exempt_customer_ids(self) -> Sequence[str]: ...


class PolicyLookup(Protocol):
    """The policy in force for a service on a day (the policy book answers it; a lookup may be
    async when it reads a store)."""

    def policy_for(self, service_type: str, day: date) -> PolicyLike | Awaitable[PolicyLike]: ...


@dataclass(frozen=True, slots=True)
class SeedPolicy:
    """Seed 001's policy (domain.md §4), from the dated settings."""

    model: DunningModel
    reminder_after_days: int
    reminder_fee_ore: int
    reminder_fee_agreed: bool
    handover_after_reminder_days: int
    next_step: NextStep
    exempt_customer_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SeedPolicies:
    """The default policy book: seed 001 for every service (reminder then handover, no fee)."""

    settings: DunningSettings

    def policy_for(self, service_type: str, day: date) -> SeedPolicy:
        return SeedPolicy(
            model="reminder_then_handover",
            reminder_after_days=self.settings.reminder_after_days.at(day),
            reminder_fee_ore=self.settings.reminder_fee_ore.at(day),
            reminder_fee_agreed=service_type in self.settings.reminder_fee_agreed_for.at(day),
            handover_after_reminder_days=self.settings.handover_after_reminder_days.at(day),
            next_step="agency",
        )


def reminder_fee_for(policy: PolicyLike) -> int:
    """The reminder fee a letter may carry: the policy's, and only where it was agreed when the
    debt arose (domain.md §3, lag 1981:739); otherwise none."""
    return policy.reminder_fee_ore if policy.reminder_fee_agreed else 0


def check_run_not_in_future(day: date, today: date) -> None:
    """A run looks at claims as they are on its date: a date after the business date would
    propose letters before they are due (domain.md §4: at the earliest 7 days after the due
    date). A past date is allowed: it catches up a day the runs missed."""
    if day > today:
        raise DomainRuleViolation(
            f"a dunning run can't be for a date after the business date {today}: {day}",
            field="date",
            rule="dunning_run_not_in_future",
        )


@dataclass(frozen=True, slots=True)
class ServiceCutoffs:
    """The cut-off dates of one service on the run's day: a claim whose timer started on or
    before a cut-off is due for that step."""

    service_type: str
    model: DunningModel
    next_step: NextStep
    fee_ore: int
    exempt_customer_ids: tuple[str, ...]
    remind_started_by: date | None  # reminder_then_handover: due date + reminder days passed
    hand_over_reminded_by: date | None  # reminder_then_handover and next step agency
    # handover_then_agency_reminder, on the month's handover day only: overdue 4-7 weeks.
    agency_due_from: date | None = None
    agency_due_by: date | None = None


def check_reminder_not_before_seven_days(
    policy: PolicyLike, day: date, settings: DunningSettings
) -> int:
    """A reminder at the earliest 7 days after the due date (domain.md §4, seed 001): a policy
    that says fewer days is read as the earliest, never earlier."""
    # The policy book refuses fewer when a policy is set (its own check); this keeps the run
    # within the rule whatever policy it is given.
    return max(policy.reminder_after_days, settings.earliest_reminder_days.at(day))


def cutoffs_for(
    service_type: str,
    policy: PolicyLike,
    day: date,
    settings: DunningSettings,
    calendar: WorkingDayCalendar,
) -> ServiceCutoffs:
    """What is due on ``day`` for one service (domain.md §4, seed 001 / seed 004)."""
    exempt = tuple(policy.exempt_customer_ids)
    if policy.model == "reminder_then_handover":
        remind_days = check_reminder_not_before_seven_days(policy, day, settings)
        hand_over = policy.next_step == "agency"
        return ServiceCutoffs(
            service_type=service_type,
            model=policy.model,
            next_step=policy.next_step,
            fee_ore=reminder_fee_for(policy),
            exempt_customer_ids=exempt,
            remind_started_by=day - timedelta(days=remind_days),
            hand_over_reminded_by=(
                day - timedelta(days=policy.handover_after_reminder_days) if hand_over else None
            ),
        )
    handover_day = calendar.nth_working_day_of_month(
        day.year, day.month, settings.monthly_handover_working_day.at(day)
    )
    monthly = day == handover_day and policy.next_step == "agency"
    return ServiceCutoffs(
        service_type=service_type,
        model=policy.model,
        next_step=policy.next_step,
        fee_ore=0,  # the agency sends the reminder and keeps its fee (seed 004)
        exempt_customer_ids=exempt,
        remind_started_by=None,
        hand_over_reminded_by=None,
        agency_due_from=(
            day - timedelta(days=settings.agency_handover_max_days_overdue.at(day))
            if monthly
            else None
        ),
        agency_due_by=(
            day - timedelta(days=settings.agency_handover_min_days_overdue.at(day))
            if monthly
            else None
        ),
    )


@dataclass(frozen=True, slots=True)
class OverdueClaim:
    """A row the service rules read: an overdue claim not under a hold."""

    invoice_id: str
    customer_id: str
    service_type: str
    due_date: date
    capital_ore: int
    termination_warned: bool


@dataclass(frozen=True, slots=True)
class RuleProposal:
    """What a service rule proposes: a letter about several claims of one customer."""

    kind: ProposalKind
    customer_id: str
    service_type: str
    invoice_ids: tuple[str, ...]
    capital_ore: int
    termination_date: date | None = None


# The childcare and music-school rules (domain.md §4, seed 001, seed 002): a function of the
# run's day and the overdue claims of its service, answering proposals. They are written in
# domain/childcare.py and domain/music_school.py and plugged in by service type in the bootstrap.
ServiceRule = Callable[[date, Sequence[OverdueClaim]], Sequence[RuleProposal]]


@dataclass(frozen=True, slots=True)
class ServiceRules:
    by_service: dict[str, ServiceRule] = field(default_factory=dict)
