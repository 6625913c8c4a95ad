"""Dunning's settings: every number of the dunning rules is dated (domain.md preamble).

The statutory caps (domain.md §3 "Statutory fees": lag 1981:739 om ersättning för
inkassokostnader m.m. and förordning 2003:1185; seed 004 lines 9-13) are here once, for every part
of dunning that charges a fee: the policies (a reminder fee), the payment plans (a written plan's
fee, nothing for an oral one) and, later, the utility disconnection (nothing for a notice of
disconnection, domain.md §6). A municipality may charge less or nothing (Svenljunga charges no
reminder fee, seed 001); it may never charge more, so the caps are what a configured fee is
checked against (``fordra.dunning.domain.policy``), not what is charged.

The numbers of the default policy (seed 001: a reminder 7 days after the due date, the handover
about 10 days after the reminder, no reminder fee), of the agency model (seed 004: invoices 4-7
weeks old handed over once a month), of childcare (domain.md §4, seed 002 lines 1199-1207 and
1863-1867, seed 001) and of the music school (seed 001) are here too.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.dunning import NextStep
from fordra.contracts.invoicing import ServiceType
from fordra.kernel.dated import Dated

# The two dunning models (domain.md §4): our own reminder, then the handover about 10 days later
# (seed 001); or the agency gets the invoices 4-7 weeks overdue once a month and sends the
# reminder itself (seed 004).
DunningModel = Literal["reminder_then_handover", "handover_then_agency_reminder"]


def _always(value: int) -> Dated[int]:
    return Dated[int].always(value)


def default_next_steps() -> dict[ServiceType, NextStep]:
    """What follows an unpaid reminder by default, per service (domain.md §4 "no empty threats":
    only a step the process will really take). Childcare: the letter about the risk of
    termination (seed 002, seed 001). Every other service, electricity and water included:
    the agency. A municipality opts in to disconnection for electricity by setting a policy
    whose next step is ``disconnection`` (``disconnection_services``); it is not the default,
    because disconnection is a choice of the municipality's, not something the law requires of
    every unpaid claim."""
    return {"childcare": "termination_warning"}


class DunningSettings(BaseModel):
    """The dunning context's settings (nested in the app's ``Settings`` as ``dunning``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- statutory caps (domain.md §3, förordning 2003:1185) -----------------------------------
    # A written reminder: at most 60 kr, and only if agreed when the debt arose.
    reminder_fee_cap_ore: Dated[int] = Field(default_factory=lambda: _always(6_000))
    # A collection demand (inkassokrav): 180 kr (seed 001, from 2008, still says 160; the
    # förordning's amount is 180 today: a municipality replaying older claims adds its row).
    collection_fee_ore: Dated[int] = Field(default_factory=lambda: _always(18_000))
    # A written installment plan: at most 170 kr; an oral one: nothing.
    written_plan_fee_cap_ore: Dated[int] = Field(default_factory=lambda: _always(17_000))
    oral_plan_fee_cap_ore: Dated[int] = Field(default_factory=lambda: _always(0))
    # A notice of disconnection: nothing (domain.md §6, seed 003 lines 39-41).
    disconnection_notice_fee_cap_ore: Dated[int] = Field(default_factory=lambda: _always(0))

    # -- the policies (domain.md §4, seed 001, seed 004) ----------------------------------------
    # "Påminnelse skall skickas tidigast sju dagar efter förfallodagen" (seed 001).
    minimum_reminder_days: Dated[int] = Field(default_factory=lambda: _always(7))
    # Undisputed overdue claims go without delay (seed 000 §11: "utan dröjsmål"): no step of a
    # policy may wait longer than this. Our bound, since the rulebook gives none: 60 days is
    # above the longest wait a seed names (seed 004: invoices up to 7 weeks old, 49 days).
    maximum_step_days: Dated[int] = Field(default_factory=lambda: _always(60))
    # The default policy of every service (seed 001): a reminder 7 days after the due date, the
    # handover "efter ytterligare c:a tio dagar"; no reminder fee ("Avgift för påminnelse
    # debiteras ej"), which needs no setting: a fee is set per service, where it was agreed.
    default_reminder_after_days: Dated[int] = Field(default_factory=lambda: _always(7))
    default_handover_after_reminder_days: Dated[int] = Field(default_factory=lambda: _always(10))
    default_model: DunningModel = "reminder_then_handover"
    # What follows the reminder by default per service; a service not named here: "agency".
    default_next_step: dict[ServiceType, NextStep] = Field(default_factory=default_next_steps)
    # The services whose dunning may end in disconnection: only where the utility-disconnect
    # process opens its case on its own from dunning's referral (issue 16; domain.md §6):
    # electricity grid and supply. Water's case (LAV 43 §, domain.md §7) is opened by hand, so a
    # water policy may not name it (no letter threatens it unless a case is open).
    disconnection_services: tuple[ServiceType, ...] = ("electricity_grid", "electricity_supply")
    # The services whose contract the municipality terminates for unpaid fees (domain.md §4:
    # childcare, seed 002 and seed 001); a termination warning is an empty threat elsewhere.
    termination_services: tuple[ServiceType, ...] = ("childcare",)
    # The agency model (seed 004): once a month, invoices this many days overdue and more, up to
    # the upper bound, go to the agency ("när fakturorna är 4 - 7 veckor gamla").
    agency_handover_min_days_overdue: Dated[int] = Field(default_factory=lambda: _always(28))
    agency_handover_max_days_overdue: Dated[int] = Field(default_factory=lambda: _always(49))
    # "en gång i månaden" (seed 004): on this working day of the month (our choice: the first,
    # the seed names none).
    monthly_handover_working_day: Dated[int] = Field(default_factory=lambda: _always(1))
    # The date a reminder asks payment by, counted from the day it is sent and moved to the next
    # working day (our choice, the rulebook names none: the 10 days before the default handover).
    # The run proposes the handover only once that date has passed, so that a customer who pays
    # by it is never handed over (``fordra.dunning.domain.daily_run.handover_reminded_by``).
    reminder_pay_by_days: Dated[int] = Field(default_factory=lambda: _always(10))

    # -- payment plans (domain.md §4 "Installment plan") ---------------------------------------
    # An installment is missed when its capital is not paid this many days after its due date:
    # a payment made on the due date reaches us with the next bank file, a bank day or, over a
    # weekend, three days later (domain.md §9), and must not be taken for a missed installment.
    installment_missed_after_days: Dated[int] = Field(default_factory=lambda: _always(3))
    # A plan with a missed installment still unpaid this many days after it was found missed is
    # cancelled (seed 002: "Avbryta avbetalningsplaner som inte efterlevs"). 14 days: the missed
    # installment is reminded (an ``installment_reminder`` proposal the case officer approves,
    # asking for payment in about ten days as seed 001's reminders do), and the debtor must have
    # had the reminder in hand and its days to pay before the plan falls.
    plan_cancel_after_missed_days: Dated[int] = Field(default_factory=lambda: _always(14))
    # The first installment falls within this many days of the day the plan is drawn up. The
    # rulebook names no bound; a plan whose first payment lies further ahead is a deferral in
    # disguise, and a deferral is "normally at most 3 months" (domain.md §2, seed 001), so the
    # same 3 months (92 days) bound it here. Without one a plan dated 2099 held a claim for 73
    # years.
    plan_first_due_within_days: Dated[int] = Field(default_factory=lambda: _always(92))
    # The rent administration's delegation (domain.md §8 "Delegation", seed 002: "vid utebliven
    # hyresinbetalning, avtala med brukare om avbetalningsplan om högst tre månader"): a plan for
    # unpaid rent whose last installment falls more than this many months after the day it is
    # drawn up needs a department decision.
    rent_plan_max_months: Dated[int] = Field(default_factory=lambda: _always(3))

    # -- childcare (domain.md §4, seed 002 lines 1199-1207 and 1863-1867, seed 001) -----------
    # ">= 2 obetalda avgiftsfakturor" (the body of seed 002; its table says "> 2").
    childcare_unpaid_invoices_for_warning: Dated[int] = Field(default_factory=lambda: _always(2))
    # An invoice counts as unpaid this many days after its due date. Our choice, the rulebook
    # is silent: the reminder's "tidigast sju dagar efter förfallodagen", so that a payment on
    # its way through the bank is not taken for a missed one.
    childcare_unpaid_after_days: Dated[int] = Field(default_factory=lambda: _always(7))
    # "Uppsägning av barnomsorg sker två månader efter fakturans förfallodatum" (seed 001).
    childcare_termination_months_after_due: Dated[int] = Field(default_factory=lambda: _always(2))
    # A letter never names a termination date closer than this (our choice: the rulebook is
    # silent; where the oldest invoice is long overdue, its date + 2 months may have passed).
    childcare_termination_min_notice_days: Dated[int] = Field(default_factory=lambda: _always(14))
    # "Runt den 15:e varje månad" (seed 002 line 1865): the report goes on the first working
    # day on or after this day of the month.
    childcare_report_day_of_month: Dated[int] = Field(default_factory=lambda: _always(15))

    # -- music school (seed 001) ---------------------------------------------------------------
    # "Elev vid musikskolan kan nekas undervisning om årsavgiften ej är betald 31 augusti": the
    # month and day of the deadline, each year.
    music_school_deadline_month: Dated[int] = Field(default_factory=lambda: _always(8))
    music_school_deadline_day: Dated[int] = Field(default_factory=lambda: _always(31))

    def next_step_for(self, service_type: ServiceType) -> NextStep:
        """The default next step of ``service_type``'s policy."""
        return self.default_next_step.get(service_type, "agency")
