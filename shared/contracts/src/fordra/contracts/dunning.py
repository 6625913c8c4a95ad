"""Public events of the dunning context that other contexts consume (domain.md §3 and §4).

``LateInterestCharged`` was defined ahead of dunning itself because invoicing must know the
contract: late interest is invoiced automatically only once the original invoice is paid, on the
customer's next invoice (domain.md §3, seed 001: "Räntefakturering sker med automatik först när
ursprungsfakturan är betald och beloppet läggs på nästkommande faktura"). Dunning computes the
interest and publishes it; invoicing consumes it and adds a line of its own to the next invoice.

A claim referred to the disconnection procedure instead of the agency is public because utility
disconnection opens its case on its own from it (issue 16, domain.md §6).

The letters (a reminder, a risk of termination) are public because the ledger notes them and the
agency gateway and utility disconnection follow them (a notice may only follow a reminder); the
payment plan's life is public because a write-down is refused while a plan is active (domain.md
§4) and the department is told when a plan is not kept (seed 002).

A write-down (nedskrivning) and a write-off (avskrivning) are public because the general ledger
posts them (1592, domain.md §10), payments stops allocating to a claim written off, the agency
gateway tells the agency, and the customer ledger and the departments' credit-stop list show them
(domain.md §4 "Write-down and write-off", seed 001).
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from fordra.kernel.delegation import DepartmentDecision
from fordra.kernel.events import Event

# What the process will do after a letter if the claim stays unpaid (domain.md §4 "no empty
# threats"): a letter may say only what the policy will actually do.
NextStep = Literal["agency", "disconnection", "termination_warning", "none"]


class LateInterestCharged(Event):
    """Late interest (dröjsmålsränta, räntelagen 6 §) on a paid invoice, to be put on the
    customer's next invoice as its own line, with no VAT (interest is outside the scope of VAT)."""

    event_type: ClassVar[str] = "LateInterestCharged"

    interest_id: str
    customer_id: str
    invoice_id: str
    service_type: str
    from_date: date
    to_date: date
    rate_percent: str  # e.g. "10.00": the reference rate + 8 points, per rate period
    amount_ore: int


class ReminderSent(Event):
    """A written reminder (betalningspåminnelse, domain.md §4) was approved and sent: at the
    earliest 7 days after the due date; the fee only where agreed (domain.md §3)."""

    event_type: ClassVar[str] = "ReminderSent"

    letter_id: str
    invoice_id: str
    customer_id: str
    service_type: str
    sent_on: date
    pay_by: date
    capital_ore: int
    fee_ore: int
    interest_ore: int
    next_step: NextStep


class TerminationWarningSent(Event):
    """A letter about the risk of termination (childcare: two or more unpaid fee invoices,
    domain.md §4, seed 002) was approved and sent; ``termination_date`` is 2 months after the
    due date of the oldest unpaid invoice (seed 001)."""

    event_type: ClassVar[str] = "TerminationWarningSent"

    letter_id: str
    customer_id: str
    service_type: str
    invoice_ids: tuple[str, ...]
    sent_on: date
    termination_date: date
    capital_ore: int


class HandedToAgency(Event):
    """An undisputed overdue claim was handed to the collection agency (domain.md §4 and §5): the
    agency gateway consumes it. A disputed claim is never handed over."""

    event_type: ClassVar[str] = "HandedToAgency"

    handover_id: str
    invoice_id: str
    customer_id: str
    service_type: str
    handed_on: date
    capital_ore: int
    interest_ore: int
    fee_ore: int
    # Which model sent it (domain.md §4): after our own reminder (seed 001), or unreminded, so
    # the agency sends the reminder (seed 004).
    model: Literal["reminder_then_handover", "handover_then_agency_reminder"]


class ReferredForDisconnection(Event):
    """A claim whose policy's next step is ``disconnection`` (electricity grid or supply, domain.md
    §4 and §6) stayed unpaid, undisputed and outside a payment plan until the day it would have
    been handed to the agency: dunning refers it to the disconnection procedure instead (issue 16).
    Utility disconnection consumes it and either opens a case on its own (a consumer, a material
    breach on the supply point, no case in progress) or declines it
    (``fordra.contracts.utility_disconnect.DisconnectionDeclined``), and dunning then hands the
    claim to the agency as it would have. ``demand_sent_on`` is the date of dunning's letter, the
    collection demand the case counts as its first step; ``supply_point_id`` is the one the
    invoice names, None when it names none."""

    event_type: ClassVar[str] = "ReferredForDisconnection"

    invoice_id: str
    customer_id: str
    service_type: str
    supply_point_id: str | None
    demand_sent_on: date
    referred_on: date
    capital_ore: int


class Installment(BaseModel):
    """One installment of a payment plan: its due date and amount (domain.md §4)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    due_date: date
    amount_ore: int


class PaymentPlanProposed(Event):
    """A payment plan (avbetalningsplan) drawn up and sent for signature (domain.md §4: in
    writing, signed and returned by the debtor, seed 000 §9)."""

    event_type: ClassVar[str] = "PaymentPlanProposed"

    plan_id: str
    customer_id: str
    invoice_ids: tuple[str, ...]
    proposed_on: date
    written: bool
    installments: tuple[Installment, ...]
    capital_ore: int
    interest_ore: int
    costs_ore: int
    total_ore: int
    rate_percent: str
    # A plan for unpaid rent longer than the office may agree (domain.md §8 "Delegation", seed
    # 002): the department decision recorded with it. None in events stored before it existed.
    department_decision: DepartmentDecision | None = None


class PaymentPlanActivated(Event):
    """The debtor signed and returned the plan: it holds the dunning flow of its invoices. Its
    fee (a written plan's, at most 170 kr, domain.md §3) is owed from now: invoicing puts it on
    the customer's next invoice as a fee line, of the service of the plan's first invoice. Both
    fields are absent (0, None) from events stored before they existed."""

    event_type: ClassVar[str] = "PaymentPlanActivated"

    plan_id: str
    customer_id: str
    invoice_ids: tuple[str, ...]
    activated_on: date
    fee_ore: int = 0
    service_type: str | None = None


class InstallmentMissed(Event):
    """An installment was not paid by its due date: it is reminded (domain.md §4)."""

    event_type: ClassVar[str] = "InstallmentMissed"

    plan_id: str
    customer_id: str
    invoice_ids: tuple[str, ...]
    due_date: date
    amount_ore: int
    missed_on: date


class PaymentPlanCancelled(Event):
    """A plan not kept is cancelled and the department told (seed 002); the invoices go back into
    the dunning flow."""

    event_type: ClassVar[str] = "PaymentPlanCancelled"

    plan_id: str
    customer_id: str
    invoice_ids: tuple[str, ...]
    cancelled_on: date
    reason: str


class PaymentPlanCompleted(Event):
    """Every installment was paid."""

    event_type: ClassVar[str] = "PaymentPlanCompleted"

    plan_id: str
    customer_id: str
    invoice_ids: tuple[str, ...]
    completed_on: date


class ReferenceRateAdded(Event):
    """An admin added a half-year to the reference-rate table (räntelagen 9 §: the Riksbank sets
    the reference rate per calendar half-year; domain.md §3). The table ships with the official
    rates since 2020 (``fordra.kernel.late_interest.RIKSBANK_REFERENCE_RATES``); an added
    half-year is never one of those with another rate. Public because the customer ledger shows
    the interest accrued with the same rates dunning charges."""

    event_type: ClassVar[str] = "ReferenceRateAdded"

    valid_from: date  # 1 January or 1 July
    rate_percent: str  # a decimal with two places, e.g. "2.50"


# Why a claim is written off (domain.md §4: "only for special reasons (death, bankruptcy
# distribution)", seed 001 "dödsfall eller om utdelningsförslag i konkurs finns"). The others a
# municipality's delegation commonly names: a court's debt relief (skuldsanering), a claim barred
# by limitation (preskription), and "other", which the decision reference must then explain.
WriteOffReason = Literal["death", "bankruptcy", "debt_relief", "limitation", "other"]


class ClaimWrittenDown(Event):
    """A claim written down in the accounts (nedskrivning, domain.md §4, seed 001 and 004): its
    open amount, as the ledger showed it, becomes a value adjustment (1592) and a doubtful loss,
    but the claim stays owed and under long-term surveillance (efterbevakning) to interrupt
    limitation. ``department`` is the invoice's (None when dunning does not know it)."""

    event_type: ClassVar[str] = "ClaimWrittenDown"

    invoice_id: str
    customer_id: str
    service_type: str
    invoice_number: str
    department: str | None = None
    written_down_on: date
    amount_ore: int
    reason: str


class WriteDownRecovered(Event):
    """Capital paid on a written-down claim (payments' ``PaymentAllocated``): so much of the value
    adjustment is reversed, as a recovered loss (seed 002: "återvunna kundförluster"). Never more
    than what stands of the write-down; negative when a payment is taken back."""

    event_type: ClassVar[str] = "WriteDownRecovered"

    invoice_id: str
    customer_id: str
    recovered_on: date
    amount_ore: int


class ClaimWrittenOff(Event):
    """A claim written off (avskrivning, domain.md §4): only for a special reason, by delegation
    (``decision_reference``), noted in the ledger; the departments are told so that no new service
    goes on credit. ``amount_ore`` is what was open and is now an established loss;
    ``value_adjustment_ore`` what of an earlier write-down still stood and is reversed from 1592."""

    event_type: ClassVar[str] = "ClaimWrittenOff"

    invoice_id: str
    customer_id: str
    service_type: str
    invoice_number: str
    department: str | None = None
    written_off_on: date
    amount_ore: int
    value_adjustment_ore: int
    reason: WriteOffReason
    decision_reference: str


CONTRACTS: tuple[type[Event], ...] = (
    LateInterestCharged,
    ReminderSent,
    TerminationWarningSent,
    HandedToAgency,
    ReferredForDisconnection,
    PaymentPlanProposed,
    PaymentPlanActivated,
    InstallmentMissed,
    PaymentPlanCancelled,
    PaymentPlanCompleted,
    ReferenceRateAdded,
    ClaimWrittenDown,
    WriteDownRecovered,
    ClaimWrittenOff,
)
