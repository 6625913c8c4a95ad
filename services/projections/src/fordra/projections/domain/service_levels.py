"""The service levels of the customer ledger's work (domain.md §8, seed 002 "Handläggningstider").

Every task type of seed 002's handling-time table that is Fordra's own work is a kind of case with
a configured service level, a dated setting (domain.md preamble): ``ServiceLevelSettings``. The
rows of the table are of four shapes, and so is a ``ServiceLevel``:

- ``working_days``: "N days" is done by the end of working day N, day 1 being the arrival day if
  the case came by 12:00 Swedish time, else the next working day (domain.md §8; the counting is
  the kernel's ``service_level_due``). A deferral of an invoice paid by autogiro may take up to 3
  days (seed 002: "Om fakturan har autogiro kan det ta upp till 3 dagar"): ``autogiro_days``.
- ``weekly`` ("once a week": weekly controls, account reconciliation): our rule, due by the end of
  the last working day of the ISO week in which the case arrived (a case that arrives after the
  cut-off on that last day is due the next week's last working day).
- ``monthly`` ("once a month": reversal of advances): our rule, due by the end of the last working
  day of the month of arrival, in the same way.
- ``period_close`` ("days 0, 1 and 2"): day 0 is the last working day of a month, days 1 and 2
  the first two of the next; our rule: a period-close case is due by the end of day 2 of the
  closing it belongs to, that is the 2nd working day of the next month (of this month, when it
  arrives on day 1 or 2 themselves, which belong to the closing of the month before).

The supplier-ledger rows and "Ekonomiservice" rows of the same table are the city's work as a
debtor or as its own accountant, not Fordra's (domain.md §8), so they are not kinds here.

Pure: no I/O, no clock; callers pass the times they mean.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fordra.kernel.calendar import SWEDISH_TIME, WorkingDayCalendar, service_level_due
from fordra.kernel.dated import Dated

CaseKind = Literal[
    "refund",
    "deferral",
    "payment_plan",
    "cancellation_credit",
    "agency_inbox",
    "import_error_list",
    "payment_proposal",
    "kronofogden",
    "e_invoice_error",
    "agency_payment",
    "autogiro_mandate",
    "department_question",
    "weekly_control",
    "reconciliation",
    "advance_reversal",
    "period_close",
    "childcare_manual_form",
    "childcare_message",
]

Shape = Literal["working_days", "weekly", "monthly", "period_close"]


class ServiceLevel(BaseModel):
    """How long one kind of case may take (domain.md §8): ``days`` working days, or a period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shape: Shape = "working_days"
    days: int | None = Field(default=None, ge=1, le=60)
    # Deferrals only (seed 002): with autogiro on the invoice it may take up to this many days.
    autogiro_days: int | None = Field(default=None, ge=1, le=60)

    @model_validator(mode="after")
    def _days_for_working_days(self) -> ServiceLevel:
        if (self.shape == "working_days") != (self.days is not None):
            raise ValueError("a working-days service level names its days, a period none")
        return self


def _days(n: int, autogiro: int | None = None) -> Dated[ServiceLevel]:
    return Dated[ServiceLevel].always(ServiceLevel(days=n, autogiro_days=autogiro))


def _period(shape: Shape) -> Dated[ServiceLevel]:
    return Dated[ServiceLevel].always(ServiceLevel(shape=shape))


def default_service_levels() -> dict[str, Dated[ServiceLevel]]:
    """Seed 002's handling-time table, customer ledger ("Kundreskontra", lines 1740-1790) and the
    childcare rows domain.md §8 lists, each with exactly the seed's number."""
    return {
        "refund": _days(3),  # Återbetalning till kund 3 dagar
        "deferral": _days(1, autogiro=3),  # Anstånd 1 dag (autogiro: upp till 3 dagar)
        "payment_plan": _days(2),  # Avbetalningsplan 2 dagar
        "cancellation_credit": _days(2),  # Makuleringar/krediteringar 2 dagar
        "agency_inbox": _days(2),  # Sergel Inkasso inkorg 2 dagar
        "import_error_list": _days(1),  # Rättning ... fellistor för inlästa filer 1 dag
        "payment_proposal": _days(3),  # Betalningsförslag och kontroll ... (XK404) 3 dagar
        "kronofogden": _days(2),  # Ärenden från kronofogden 2 dagar
        "e_invoice_error": _days(2),  # e-faktura som inte kan skickas 2 dagar
        "agency_payment": _days(3),  # Inbetalningar från Sergel 3 dagar
        "autogiro_mandate": _days(5),  # Autogiromedgivanden 5 dagar
        "department_question": _days(2),  # Frågor från förvaltningar 2 dagar
        "weekly_control": _period("weekly"),  # Veckokontroller 1 dag i veckan
        "reconciliation": _period("weekly"),  # Avstämning av konton 1 gång i veckan
        "advance_reversal": _period("monthly"),  # Reversering av förskott 1 gång i månaden
        "period_close": _period("period_close"),  # Periodavslutsaktiviteter dag 0, 1 och 2
        # Childcare (domain.md §8): manual forms "1-3" days, the upper bound; messages 1.
        "childcare_manual_form": _days(3),
        "childcare_message": _days(1),
    }


class ServiceLevelSettings(BaseModel):
    """The service levels per kind and the cut-off of day 1, dated (domain.md §8, seed 002)."""

    model_config = ConfigDict(frozen=True)

    levels: dict[str, Dated[ServiceLevel]] = Field(default_factory=default_service_levels)
    # "senast kl 12 dag 1" (seed 002 line 1676), on the Swedish clock.
    cutoff: Dated[time] = Field(default_factory=lambda: Dated[time].always(time(12, 0)))

    def level(self, kind: str, on: date) -> ServiceLevel:
        """The service level of ``kind`` in force on ``on``; an unknown kind is a KeyError."""
        return self.levels[kind].at(on)


def swedish_arrival(received_at: datetime) -> datetime:
    """The arrival on the Swedish office clock, whatever offset it was sent with (domain.md §8);
    a naive time is taken as Swedish already."""
    if received_at.tzinfo is None:
        return received_at.replace(tzinfo=SWEDISH_TIME)
    return received_at.astimezone(SWEDISH_TIME)


def day_one(received_at: datetime, calendar: WorkingDayCalendar, cutoff: time) -> date:
    """Day 1 of a case (domain.md §8): the arrival day if a working day and by the cut-off, else
    the next working day."""
    return service_level_due(swedish_arrival(received_at), 1, calendar, cutoff)


def _last_working_day_of_week(d: date, calendar: WorkingDayCalendar) -> date:
    """The last working day of the ISO week of ``d``, a working day itself."""
    sunday = d + timedelta(days=6 - d.weekday())
    return calendar.previous_working_day(sunday)


def due_by(
    kind: str,
    received_at: datetime,
    *,
    autogiro: bool,
    settings: ServiceLevelSettings,
    calendar: WorkingDayCalendar,
) -> date:
    """The date by whose end a case of ``kind`` received at ``received_at`` must be done
    (domain.md §8; the period shapes as the module docstring says). The setting in force on the
    arrival day applies."""
    arrival = swedish_arrival(received_at)
    level = settings.level(kind, arrival.date())
    cutoff = settings.cutoff.at(arrival.date())
    first = day_one(arrival, calendar, cutoff)
    if level.shape == "working_days":
        assert level.days is not None  # checked by ServiceLevel
        days = level.autogiro_days if autogiro and level.autogiro_days else level.days
        return service_level_due(arrival, days, calendar, cutoff)
    if level.shape == "weekly":
        # Day 1 is a working day, so its week has one, on or after it.
        return _last_working_day_of_week(first, calendar)
    if level.shape == "monthly":
        return calendar.nth_last_working_day_of_month(first.year, first.month, 1)
    # period_close: days 1 and 2 of a month belong to the closing of the month before.
    second = calendar.nth_working_day_of_month(first.year, first.month, 2)
    if first <= second:
        return second
    following = first.replace(day=1) + timedelta(days=32)
    return calendar.nth_working_day_of_month(following.year, following.month, 2)


def handling_days(first: date, done_on: date, calendar: WorkingDayCalendar) -> int:
    """The working day, counted from day 1, on which a case was done (domain.md §8: "N days" is
    done by the end of working day N), at least 1: a case done before its day 1 (the afternoon it
    came) took one day, and one done on a day off counts as the working day before it."""
    return max(1, calendar.working_days_between(first, done_on) + 1)


def in_time(done_on: date, due: date) -> bool:
    """Done by the end of the due day (domain.md §8)."""
    return done_on <= due


def percentile(values: list[int], p: int) -> int | None:
    """The nearest-rank ``p``-th percentile (p50 the median, p95): the smallest value with at
    least p % of the values at or below it; None for no values. Nearest rank, so that a figure
    on the dashboard is a handling time some case really had."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-p * len(ordered) // 100))  # ceil(p/100 * n)
    return ordered[rank - 1]
