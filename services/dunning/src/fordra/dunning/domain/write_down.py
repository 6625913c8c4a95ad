"""Write-down (nedskrivning) and write-off (avskrivning) of a claim (domain.md §4 "Write-down and
write-off"; seed 001 "Nedskrivning eller avskrivning"; seed 002's checks; seed 004).

- A **write-down** values an unsuccessful claim down in the accounts: its open amount becomes a
  value adjustment (account 1592, domain.md §10) and a doubtful loss, but the claim stays owed and
  under long-term surveillance (efterbevakning) to interrupt limitation. Seed 002 names the checks
  before it is booked: the amount and the invoice number of the decision match the ledger, there is
  no payment plan ("att avbetalning inte finns"), and the decision is attested. A claim written
  down leaves the dunning flow: no new reminder or handover is proposed for it.
- A **write-off** ends the claim for good, only for a special reason (death, a distribution in
  bankruptcy, ...), by delegation, noted in the ledger; the departments are told so that no new
  service is given on credit (seed 001). What of an earlier write-down still stands is reversed from
  the value adjustment; the rest is an established loss.
- Capital paid on a written-down claim reverses that much of the write-down as a recovered loss
  (seed 002 "återvunna kundförluster"), never more than stands (``recovery``).

Pure: the use cases (application/write_downs.py) read the claim as the ledger shows it (the claims
read model) and the invoice's stream of dunning's own (``PlanInvoice``: its active plan, what of a
write-down stands), and append the event to that stream at the version read, so a plan signed in
the meantime makes the decision run again.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StrictInt, StringConstraints

from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff, WriteOffReason
from fordra.dunning.domain.claim import Claim
from fordra.dunning.domain.payment_plan import PlanInvoice
from fordra.kernel.errors import DomainRuleViolation

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class WriteDown(BaseModel):
    """The decision basis (beslutsunderlag) of a write-down: the amount and invoice number as the
    decision states them, checked against the ledger (seed 002), and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_ore: StrictInt
    invoice_number: Reference
    reason: Text


class WriteOff(BaseModel):
    """A write-off decision: the special reason and the reference of the decision taken under the
    delegation (seed 001: "Beslut om avskrivningar görs enligt delegation")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: WriteOffReason
    decision_reference: Reference


def _refuse_closed(claim: Claim, invoice: PlanInvoice | None, action: str) -> None:
    """Neither is taken on a claim that is gone: cancelled, written off or paid."""
    if claim.cancelled:
        raise DomainRuleViolation(
            f"invoice {claim.invoice_id!r} was cancelled: there is nothing to {action}",
            rule="check_claim_open",
        )
    if claim.written_off_on is not None and claim.open_ore <= 0:
        raise DomainRuleViolation(
            f"invoice {claim.invoice_id!r} was written off on {claim.written_off_on}",
            rule="check_claim_not_written_off",
        )
    if claim.open_ore <= 0:
        raise DomainRuleViolation(
            f"invoice {claim.invoice_id!r} is paid: there is nothing to {action}",
            rule="check_claim_open",
        )
    if invoice is not None and invoice.active_plan_id is not None:
        raise DomainRuleViolation(
            f"invoice {claim.invoice_id!r} is in active payment plan "
            f"{invoice.active_plan_id!r}: a plan being kept is not a loss (domain.md §4)",
            rule="check_no_active_plan",
        )


def decide_write_down(
    claim: Claim,
    invoice: PlanInvoice | None,
    cmd: WriteDown,
    today: date,
    department: str | None,
) -> ClaimWrittenDown:
    """Write ``claim`` down (module docstring), or refuse naming the rule and the field."""
    if cmd.invoice_number != claim.invoice_number:
        raise DomainRuleViolation(
            f"invoice number {cmd.invoice_number!r} does not match the ledger: invoice "
            f"{claim.invoice_id!r} is number {claim.invoice_number!r}",
            field="invoice_number",
            rule="check_invoice_number_matches_ledger",
        )
    _refuse_closed(claim, invoice, "write down")
    if claim.written_off_on is not None:
        raise DomainRuleViolation(
            f"invoice {claim.invoice_id!r} was written off on {claim.written_off_on}: what is "
            "owed of it again is written off, not down",
            rule="check_claim_not_written_off",
        )
    if invoice is not None and invoice.written_down_on is not None:
        raise DomainRuleViolation(
            f"invoice {claim.invoice_id!r} was written down on {invoice.written_down_on}",
            rule="check_claim_not_written_down",
        )
    if today <= claim.due_date:
        # Seed 001: a claim is written down "om betalning uteblir": not before it falls due.
        raise DomainRuleViolation(
            f"invoice {claim.invoice_id!r} falls due on {claim.due_date}: a claim is written "
            "down only when payment has failed to come",
            rule="check_claim_overdue",
        )
    if cmd.amount_ore != claim.open_ore:
        raise DomainRuleViolation(
            f"amount {cmd.amount_ore} öre does not match the ledger: {claim.open_ore} öre of "
            f"invoice {claim.invoice_number} is open",
            field="amount_ore",
            rule="check_amount_matches_ledger",
        )
    return ClaimWrittenDown(
        invoice_id=claim.invoice_id,
        customer_id=claim.customer_id,
        service_type=claim.service_type,
        invoice_number=claim.invoice_number,
        department=department,
        written_down_on=today,
        amount_ore=claim.open_ore,
        reason=cmd.reason,
    )


def decide_write_off(
    claim: Claim,
    invoice: PlanInvoice | None,
    cmd: WriteOff,
    today: date,
    department: str | None,
) -> ClaimWrittenOff:
    """Write ``claim`` off (module docstring): what is open is the loss; what stands of a
    write-down is reversed from the value adjustment. A claim written off whose earlier payment
    the bank took back since owes that again: it may be written off in its turn."""
    _refuse_closed(claim, invoice, "write off")
    return ClaimWrittenOff(
        invoice_id=claim.invoice_id,
        customer_id=claim.customer_id,
        service_type=claim.service_type,
        invoice_number=claim.invoice_number,
        department=department,
        written_off_on=today,
        amount_ore=claim.open_ore,
        value_adjustment_ore=invoice.value_adjustment_ore if invoice is not None else 0,
        reason=cmd.reason,
        decision_reference=cmd.decision_reference,
    )


def recovery(invoice: PlanInvoice, paid_ore: int) -> int:
    """How much of what stands of a write-down capital paid (``paid_ore``; negative when a
    payment is taken back) reverses: never more than stands, and a payment taken back restores no
    more than was recovered. Zero for a claim never written down, or written off since (its
    adjustment was squared at the write-off)."""
    if invoice.written_down_on is None or invoice.written_off_on is not None:
        return 0
    if paid_ore >= 0:
        return min(paid_ore, invoice.value_adjustment_ore)
    recovered = invoice.written_down_ore - invoice.value_adjustment_ore
    return max(paid_ore, -recovered)
