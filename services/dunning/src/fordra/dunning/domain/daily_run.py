"""The daily run's rules (domain.md §4, seed 001 and seed 004): which claims are due for which
step on a given day, as cut-off dates per service that the application turns into one set-based
query per kind of step.

Every number is a dated setting (``fordra.dunning.domain.settings.DunningSettings``) or the
service's dunning policy, looked up in the policy book (``fordra.dunning.domain.policy``: the
"kravkod", versioned by ``valid_from``; a service nobody set one for answers seed 001's default).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from fordra.contracts.dunning import NextStep
from fordra.dunning.domain.events import DunningModel, ProposalKind
from fordra.dunning.domain.policy import DunningPolicy, PolicyBook
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import SINCE_ALWAYS
from fordra.kernel.errors import DomainRuleViolation


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


def check_run_on_a_business_day(day: date, calendar: WorkingDayCalendar) -> None:
    """The runs are those of business days (domain.md §4, §8's working days): the scheduler
    skips weekends and holidays, and a run asked for by hand may not record one either, or a
    Saturday's proposals would count their days from a day no run exists for."""
    if not calendar.is_working_day(day):
        raise DomainRuleViolation(
            f"{day} is not a business day: dunning runs are for business days only",
            field="date",
            rule="dunning_run_on_a_business_day",
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
    # reminder_then_handover and next step agency, or disconnection (then only for a claim whose
    # referral the disconnection procedure declined: it goes to the agency as it would have).
    hand_over_reminded_by: date | None
    # handover_then_agency_reminder, on the month's handover day only: overdue 4-7 weeks.
    agency_due_from: date | None = None
    agency_due_by: date | None = None

    @property
    def refers_for_disconnection(self) -> bool:
        """Does a claim of this service go to the disconnection procedure, on the day it would
        have been handed over (issue 16, domain.md §6)? Only after our own reminder."""
        return self.next_step == "disconnection" and self.hand_over_reminded_by is not None


def reminder_days(policy: DunningPolicy, day: date, settings: DunningSettings) -> int:
    """A reminder at the earliest 7 days after the due date (domain.md §4, seed 001): a policy
    that says fewer days is read as the earliest, never earlier."""
    # The policy book refuses fewer when a policy is set (``check_reminder_not_before_seven_days``
    # in domain/policy.py); this keeps the run within the rule should the floor be raised later.
    return max(policy.reminder_after_days, settings.minimum_reminder_days.at(day))


def reminder_pay_by(sent_on: date, settings: DunningSettings, calendar: WorkingDayCalendar) -> date:
    """The date a reminder sent on ``sent_on`` asks payment by (domain.md §4 "Reminder": "the
    date by which payment is wanted"): ``reminder_pay_by_days`` on, moved to the next working
    day, as a due date is (a payment on the next working day after a weekend or a holiday is in
    time, lag 1930:173), so that a letter never names a Saturday."""
    # The run looks back from its date for the reminders whose pay-by date has passed: from the
    # first days the settings cover, that is before them, where the first value holds.
    days = settings.reminder_pay_by_days.at(max(sent_on, SINCE_ALWAYS))
    return calendar.next_working_day(sent_on + timedelta(days=days))


def handover_reminded_by(
    day: date,
    handover_after_reminder_days: int,
    settings: DunningSettings,
    calendar: WorkingDayCalendar,
) -> date:
    """The latest reminder date whose claim may be proposed for handover on ``day``: the policy's
    days after the reminder have passed, and so has the pay-by date the reminder named (domain.md
    §4: the letter says the claim is handed over if not paid by then; a customer who pays by it is
    never handed over), whatever the policy's days."""
    reminded_by = day - timedelta(days=handover_after_reminder_days)
    # The pay-by date grows with the reminder date: step back until it lies before ``day``.
    while reminder_pay_by(reminded_by, settings, calendar) >= day:
        reminded_by -= timedelta(days=1)
    return reminded_by


def cutoffs_for(
    service_type: str,
    policy: DunningPolicy,
    day: date,
    settings: DunningSettings,
    calendar: WorkingDayCalendar,
) -> ServiceCutoffs:
    """What is due on ``day`` for one service (domain.md §4, seed 001 / seed 004)."""
    exempt = tuple(policy.exempt_customer_ids)
    if policy.model == "reminder_then_handover":
        remind_days = reminder_days(policy, day, settings)
        # A claim whose next step is disconnection is referred on the day it would have been
        # handed over, and handed over after all if the procedure declines it (issue 16).
        hand_over = policy.next_step in ("agency", "disconnection")
        return ServiceCutoffs(
            service_type=service_type,
            model=policy.model,
            next_step=policy.next_step,
            # A fee only where agreed, never above the day's cap (domain.md §3).
            fee_ore=policy.reminder_fee_on(day, settings),
            exempt_customer_ids=exempt,
            remind_started_by=day - timedelta(days=remind_days),
            hand_over_reminded_by=(
                handover_reminded_by(day, policy.handover_after_reminder_days, settings, calendar)
                if hand_over
                else None
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


# A service's own rule (domain.md §4, seed 001, seed 002): a function of the run's day, the
# overdue claims of its service not under a hold, and the policy book the run read, answering
# proposals. Childcare's is ``fordra.dunning.domain.childcare.termination_warning_rule``, plugged
# in by service type in the bootstrap.
ServiceRule = Callable[[date, Sequence[OverdueClaim], PolicyBook], Sequence[RuleProposal]]


@dataclass(frozen=True, slots=True)
class ServiceRules:
    by_service: dict[str, ServiceRule] = field(default_factory=dict)
