"""Childcare fees: the letter about the risk of termination and the monthly report (domain.md §4).

What the rulebook says:

- "Ta fram listor över vårdnadshavare med >= 2 obetalda fakturor. Skicka brev om risk för
  uppsägning till vårdnadshavare med >=2 obetalda avgiftsfakturor" (seed 002 lines 1199-1203; the
  table at line 1863 says "> 2", the body ">= 2": ">= 2" is the rule, and the number a setting,
  ``DunningSettings.childcare_unpaid_invoices_for_warning``).
- "Uppsägning av barnomsorg sker två månader efter fakturans förfallodatum" (seed 001): the
  termination date is 2 months (a setting) after the due date of the oldest unpaid invoice.
- "Informera stadsdelsförvaltning om vilka som erhållit brev och trots detta inte betalat
  avgiftsfakturorna", "Runt den 15:e varje månad" (seed 002 lines 1205-1207 and 1863-1867): a
  monthly report of the guardians who got the letter and still have not paid.
- A letter threatens only what will be done (seed 001: "Upplysning om att barnomsorg och vatten
  kan stängas av är att betrakta som en inkassoåtgärd och det strider mot god inkassosed att hota
  med dylikt om åtgärden inte verkställs"): no warning where the childcare policy's next step is
  not ``termination_warning``.

What we chose where it is silent:

- "Unpaid" means capital still open ``childcare_unpaid_after_days`` (7) days after the due date,
  the reminder's earliest day, so that a payment on its way through the bank is not taken for a
  missed one; an invoice under a hold (deferral, postponement, dispute, active plan) does not
  count, as holds stop the dunning flow.
- A warning is proposed when at least 2 unpaid invoices are named in no warning yet (sent or
  proposed: the caller marks them ``warned``); it names exactly those. An invoice already named in
  a warning does not start a second one: it is on the monthly report until it is paid.
- Month arithmetic keeps the day of the month, or the month's last day where it has fewer (31
  January + 2 months = 31 March; 31 December 2027 + 2 months = 29 February 2028).
- A letter never names a termination date less than ``childcare_termination_min_notice_days``
  (14) days ahead: where the oldest invoice is long overdue (it was held, or paid in part), its
  due date + 2 months may have passed.
- The report goes on the first working day on or after the 15th (a setting); where that is in
  the next month (a day-of-month setting late in a month that ends on a weekend), that day
  carries the previous month's report. It lists the guardians with an invoice still open that a
  warning sent before the report day named.

The functions take plain rows, as the daily run's SQL selects them, for any number of customers,
and answer decisions; they do no I/O.
"""

from __future__ import annotations

import calendar as month_lengths
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from fordra.dunning.domain.daily_run import OverdueClaim, RuleProposal, ServiceRule
from fordra.dunning.domain.policy import DunningPolicy, PolicyBook
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.dated import SINCE_ALWAYS


@dataclass(frozen=True, slots=True)
class ChildcareInvoiceRow:
    """One of a guardian's childcare fee invoices with capital still open."""

    invoice_id: str
    customer_id: str
    due_date: date
    capital_open_ore: int
    # Named in a termination warning already sent, or in one proposed and not rejected.
    warned: bool = False
    # Under a hold: a deferral, a postponement, a dispute or an active payment plan.
    held: bool = False


@dataclass(frozen=True, slots=True)
class TerminationWarningProposal:
    """A letter about the risk of termination to propose for the guardian ``customer_id``."""

    customer_id: str
    invoice_ids: tuple[str, ...]  # oldest due date first
    oldest_due_date: date
    termination_date: date
    capital_ore: int


@dataclass(frozen=True, slots=True)
class WarnedInvoiceRow:
    """An invoice a sent termination warning named, with what is still open of it."""

    customer_id: str
    invoice_id: str
    warned_on: date
    termination_date: date
    capital_open_ore: int


@dataclass(frozen=True, slots=True)
class ChildcareReportLine:
    """A guardian who got the letter and still has not paid (seed 002 lines 1863-1867)."""

    customer_id: str
    invoice_ids: tuple[str, ...]
    unpaid_ore: int
    first_warned_on: date
    termination_date: date  # the earliest a warning named


def months_after(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months on; the month's last day where it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, month_lengths.monthrange(year, month)[1]))


def counts_as_unpaid(row: ChildcareInvoiceRow, day: date, settings: DunningSettings) -> bool:
    """Is the invoice unpaid for the childcare rule on ``day``: capital open, no hold, and the
    due date ``childcare_unpaid_after_days`` days or more behind."""
    grace = timedelta(days=settings.childcare_unpaid_after_days.at(day))
    return row.capital_open_ore > 0 and not row.held and row.due_date + grace <= day


def termination_date_for(oldest_due_date: date, day: date, settings: DunningSettings) -> date:
    """Two months after the oldest unpaid invoice's due date (seed 001), and never closer than
    the minimum notice from ``day``."""
    months = settings.childcare_termination_months_after_due.at(day)
    notice = timedelta(days=settings.childcare_termination_min_notice_days.at(day))
    return max(months_after(oldest_due_date, months), day + notice)


def termination_warnings(
    day: date,
    rows: Iterable[ChildcareInvoiceRow],
    settings: DunningSettings,
    policy: DunningPolicy | None = None,
) -> list[TerminationWarningProposal]:
    """The warnings to propose on ``day``: one per guardian with at least the set number of
    unpaid invoices named in no warning yet (seed 002), sorted by customer. With ``policy`` (the
    childcare policy in force), none unless its next step is ``termination_warning`` (no empty
    threats), and none to an exempt customer."""
    if policy is not None and policy.next_step != "termination_warning":
        return []
    needed = settings.childcare_unpaid_invoices_for_warning.at(day)
    unwarned: dict[str, list[ChildcareInvoiceRow]] = defaultdict(list)
    for row in rows:
        if row.warned or not counts_as_unpaid(row, day, settings):
            continue
        if policy is not None and policy.is_exempt(row.customer_id):
            continue
        unwarned[row.customer_id].append(row)
    proposals = []
    for customer_id in sorted(unwarned):
        invoices = sorted(unwarned[customer_id], key=lambda r: (r.due_date, r.invoice_id))
        if len(invoices) < needed:
            continue
        oldest = invoices[0].due_date
        proposals.append(
            TerminationWarningProposal(
                customer_id=customer_id,
                invoice_ids=tuple(r.invoice_id for r in invoices),
                oldest_due_date=oldest,
                termination_date=termination_date_for(oldest, day, settings),
                capital_ore=sum(r.capital_open_ore for r in invoices),
            )
        )
    return proposals


def termination_warning_rule(settings: DunningSettings) -> ServiceRule:
    """Childcare's rule in the daily run (``ServiceRules``): the run's overdue childcare claims
    (none under a hold) as rows, the warnings ``termination_warnings`` answers under the childcare
    policy in force, as proposals a case officer approves (seed 002)."""

    def rule(day: date, overdue: Sequence[OverdueClaim], book: PolicyBook) -> list[RuleProposal]:
        rows = [
            ChildcareInvoiceRow(
                c.invoice_id, c.customer_id, c.due_date, c.capital_ore, warned=c.termination_warned
            )
            for c in overdue
        ]
        return [
            RuleProposal(
                kind="termination_warning",
                customer_id=p.customer_id,
                service_type="childcare",
                invoice_ids=p.invoice_ids,
                capital_ore=p.capital_ore,
                termination_date=p.termination_date,
            )
            for p in termination_warnings(day, rows, settings, book.policy_for("childcare", day))
        ]

    return rule


def report_month(day: date, calendar: WorkingDayCalendar, settings: DunningSettings) -> str:
    """The month ("YYYY-MM") whose report goes on ``day`` (a report day): this month's, or the
    previous month's carried over to this one."""
    if day == childcare_report_day(day.year, day.month, calendar, settings):
        return f"{day.year:04d}-{day.month:02d}"
    previous = day.replace(day=1) - timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def childcare_report_day(
    year: int, month: int, calendar: WorkingDayCalendar, settings: DunningSettings
) -> date:
    """The day the report of ``year``-``month`` goes: the first working day on or after the set
    day of the month ("runt den 15:e", seed 002), the month's last day where it is shorter."""
    first = date(year, month, 1)
    wanted = settings.childcare_report_day_of_month.at(first)
    last = month_lengths.monthrange(year, month)[1]
    return calendar.next_working_day(date(year, month, min(wanted, last)))


def is_childcare_report_day(
    day: date, calendar: WorkingDayCalendar, settings: DunningSettings
) -> bool:
    """Does the report go on ``day``: this month's report day, or last month's carried over."""
    if day == childcare_report_day(day.year, day.month, calendar, settings):
        return True
    previous = day.replace(day=1) - timedelta(days=1)
    # Before the first month the settings cover there is no report to carry over (and no
    # setting to look up: a run of January 1900 answered a 500).
    if previous < SINCE_ALWAYS:
        return False
    return day == childcare_report_day(previous.year, previous.month, calendar, settings)


def childcare_report(day: date, rows: Iterable[WarnedInvoiceRow]) -> list[ChildcareReportLine]:
    """The guardians who got a warning before ``day`` and have not paid an invoice it named,
    sorted by customer (seed 002 lines 1863-1867)."""
    unpaid: dict[str, list[WarnedInvoiceRow]] = defaultdict(list)
    for row in rows:
        if row.capital_open_ore > 0 and row.warned_on < day:
            unpaid[row.customer_id].append(row)
    lines = []
    for customer_id in sorted(unpaid):
        invoices = unpaid[customer_id]
        lines.append(
            ChildcareReportLine(
                customer_id=customer_id,
                invoice_ids=tuple(sorted({r.invoice_id for r in invoices})),
                unpaid_ore=sum({r.invoice_id: r.capital_open_ore for r in invoices}.values()),
                first_warned_on=min(r.warned_on for r in invoices),
                termination_date=min(r.termination_date for r in invoices),
            )
        )
    return lines
