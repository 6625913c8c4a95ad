"""Deciding on a proposal (domain.md §4, seed 002: proposals before letters).

Approving a reminder appends ``ReminderSent`` and the letter (``LetterIssued`` on the letter's own
stream) in one decision; a handover appends ``HandedToAgency``; a risk-of-termination letter
``TerminationWarningSent`` and its letter; a missed installment's reminder its letter. The claim
is read again when approved: what the letter states is what is open then (a partial payment
since lowers it), and a claim paid, disputed, deferred or put in a plan since is stale (409).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.dunning import (
    HandedToAgency,
    Installment,
    ReminderSent,
    TerminationWarningSent,
)
from fordra.dunning.application.claims import read_claim
from fordra.dunning.application.daily_run import DunningDeps, envelope
from fordra.dunning.application.interest_charges import accrued_interest_ore
from fordra.dunning.domain.claim import Claim, stale_reason
from fordra.dunning.domain.daily_run import reminder_pay_by
from fordra.dunning.domain.events import (
    DunningProposed,
    InstallmentReminded,
    ProposalApproved,
    ProposalRejected,
    claim_stream,
    installment_stream,
    proposal_stream,
)
from fordra.dunning.domain.letters import ClaimItem, LetterFacts, LetterIssued, letter_stream
from fordra.dunning.domain.proposals import (
    ProposalConflict,
    ProposalState,
    check_not_stale,
    check_proposal_approvable,
    check_proposal_rejectable,
    replay_proposal,
)
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import NotFound
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.ids import new_id

# Who decides on proposals (seed 002: a case officer approves before anything is sent); an ops
# lead, and an admin as on every other route.
DECIDERS = (Role.CASE_OFFICER, Role.OPS_LEAD, Role.ADMIN)


class ApproveResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    letter_id: str | None


class RejectProposal(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class RejectResponse(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal_id: str
    status: Literal["rejected"]


async def load_proposal(deps: DunningDeps, proposal_id: str) -> ProposalState:
    events = await deps.store.read_stream(proposal_stream(proposal_id))
    state = replay_proposal(deps.registry.load(e) for e in events)
    if state is None:
        raise NotFound("proposal", proposal_id)
    return state


async def _claims_of(deps: DunningDeps, proposed: DunningProposed) -> list[Claim]:
    async with deps.read_models.engine.connect() as conn:
        found = [await read_claim(conn, deps.claims, i) for i in proposed.invoice_ids]
    claims = [c for c in found if c is not None]
    if len(claims) != len(found):
        raise ProposalConflict(
            f"proposal {proposed.proposal_id} is stale: an invoice is unknown to dunning",
            reason="stale",
        )
    return claims


async def approve_proposal(
    proposal_id: str,
    deps: DunningDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[ApproveResponse]:
    """Approve: the letter is sent (or the claim handed over). Twice answers the same."""
    require_role(principal, *DECIDERS, action="approve a dunning proposal")

    async def decide() -> Decision[ApproveResponse]:
        state = await load_proposal(deps, proposal_id)
        if state.status == "approved":
            return Decision([], ApproveResponse(letter_id=state.letter_id))
        check_proposal_approvable(state)
        today = deps.clock.today()
        proposed = state.proposed
        letter_id: str | None
        try:
            if proposed.kind == "installment_reminder":
                appends, letter_id = await _installment_reminder(deps, state, today, meta)
            else:
                claims = await _claims_of(deps, proposed)
                for claim in claims:
                    check_not_stale(state, stale_reason(claim, today, proposed.proposed_on))
                appends, letter_id = await _letter_or_handover(deps, state, claims, today, meta)
        except ProposalConflict:
            # A parallel approval of this very proposal may have committed between our read of
            # the proposal and that of its claim (which then looks reminded or handed over
            # already): it is approved now, and a repeated request answers the same.
            again = await load_proposal(deps, proposal_id)
            if again.status == "approved":
                return Decision([], ApproveResponse(letter_id=again.letter_id))
            raise
        approved = ProposalApproved(
            proposal_id=proposal_id,
            approved_on=today,
            approved_by=principal.actor,
            letter_id=letter_id,
        )
        appends.append(envelope(deps, approved, proposal_stream(proposal_id), state.version, meta))
        return Decision(appends, ApproveResponse(letter_id=letter_id))

    return await execute(
        deps.store,
        decide,
        ApproveResponse,
        idempotency=idempotent(principal, idempotency_key, "ApproveProposal", proposal_id),
    )


async def _letter_or_handover(
    deps: DunningDeps,
    state: ProposalState,
    claims: list[Claim],
    today: date,
    meta: Metadata,
) -> tuple[list[StreamAppend], str | None]:
    proposed = state.proposed
    first = claims[0]
    stream = claim_stream(first.invoice_id)
    done = [deps.registry.load(e) for e in await deps.store.read_stream(stream)]
    version = len(done)
    capital = sum(c.open_ore for c in claims)
    # What has accrued by today, exact: each partial payment lowers it from the day after.
    interest = await accrued_interest_ore(
        deps.store, deps.registry, deps.interest, (c.invoice_id for c in claims), today
    )
    if proposed.kind == "handover":
        if any(isinstance(e, HandedToAgency) for e in done):
            raise ProposalConflict(
                f"proposal {proposed.proposal_id} is stale: the invoice is handed over already",
                reason="stale",
            )
        handed = HandedToAgency(
            handover_id=new_id(),
            invoice_id=first.invoice_id,
            customer_id=first.customer_id,
            service_type=first.service_type,
            handed_on=today,
            capital_ore=capital,
            interest_ore=interest,
            fee_ore=proposed.fee_ore,
            model=proposed.model,
        )
        return [envelope(deps, handed, stream, version, meta)], None
    if proposed.kind == "reminder" and any(isinstance(e, ReminderSent) for e in done):
        raise ProposalConflict(
            f"proposal {proposed.proposal_id} is stale: the invoice is reminded already",
            reason="stale",
        )
    letter_id = new_id()
    pay_by = reminder_pay_by(today, deps.settings, deps.calendar)
    facts = LetterFacts(
        letter_id=letter_id,
        kind="reminder" if proposed.kind == "reminder" else "termination_warning",
        customer_id=first.customer_id,
        service_type=first.service_type,
        items=tuple(_item(c) for c in claims),
        sent_on=today,
        checked_on=today,
        pay_by=pay_by,
        fee_ore=proposed.fee_ore,
        interest_ore=interest,
        next_step=proposed.next_step,
        termination_date=proposed.termination_date,
    )
    public: ReminderSent | TerminationWarningSent
    if proposed.kind == "reminder":
        public = ReminderSent(
            letter_id=letter_id,
            invoice_id=first.invoice_id,
            customer_id=first.customer_id,
            service_type=first.service_type,
            sent_on=today,
            pay_by=pay_by,
            capital_ore=capital,
            fee_ore=proposed.fee_ore,
            interest_ore=interest,
            next_step=proposed.next_step,
        )
    else:
        assert proposed.termination_date is not None
        public = TerminationWarningSent(
            letter_id=letter_id,
            customer_id=first.customer_id,
            service_type=first.service_type,
            invoice_ids=tuple(c.invoice_id for c in claims),
            sent_on=today,
            termination_date=proposed.termination_date,
            capital_ore=capital,
        )
    return [
        envelope(deps, public, stream, version, meta),
        envelope(deps, LetterIssued(facts=facts), letter_stream(letter_id), 0, meta),
    ], letter_id


def _item(claim: Claim) -> ClaimItem:
    return ClaimItem(
        invoice_id=claim.invoice_id,
        invoice_number=claim.invoice_number,
        what_for=claim.what_for,
        invoice_date=claim.invoice_date,
        due_date=claim.due_date,
        capital_ore=claim.open_ore,
        ocr=claim.ocr,
    )


async def _installment_reminder(
    deps: DunningDeps, state: ProposalState, today: date, meta: Metadata
) -> tuple[list[StreamAppend], str]:
    """A missed installment's reminder (domain.md §4): stale once the plan is no longer
    active (cancelled or completed)."""
    proposed = state.proposed
    assert proposed.plan_id is not None
    assert proposed.installment_due_date is not None
    claims = await _claims_of(deps, proposed)
    if any(c.plan_id != proposed.plan_id for c in claims):
        raise ProposalConflict(
            f"proposal {proposed.proposal_id} is stale: plan {proposed.plan_id} is not active",
            reason="stale",
        )
    stream = installment_stream(proposed.plan_id, proposed.installment_due_date)
    if await deps.store.stream_version(stream):
        raise ProposalConflict(
            f"proposal {proposed.proposal_id} is stale: the installment is reminded already",
            reason="stale",
        )
    letter_id = new_id()
    facts = LetterFacts(
        letter_id=letter_id,
        kind="installment_reminder",
        customer_id=proposed.customer_id,
        service_type=proposed.service_type,
        items=tuple(_item(c) for c in claims),
        sent_on=today,
        checked_on=today,
        pay_by=reminder_pay_by(today, deps.settings, deps.calendar),
        fee_ore=0,
        interest_ore=0,
        next_step=proposed.next_step,
        plan_id=proposed.plan_id,
        # The reminder names the installment missed (domain.md §4 "Installment plan").
        missed_installment=Installment(
            due_date=proposed.installment_due_date, amount_ore=proposed.capital_ore
        ),
    )
    reminded = InstallmentReminded(
        plan_id=proposed.plan_id,
        customer_id=proposed.customer_id,
        invoice_ids=proposed.invoice_ids,
        due_date=proposed.installment_due_date,
        letter_id=letter_id,
        sent_on=today,
    )
    return [
        envelope(deps, reminded, stream, 0, meta),
        envelope(deps, LetterIssued(facts=facts), letter_stream(letter_id), 0, meta),
    ], letter_id


async def reject_proposal(
    proposal_id: str,
    body: RejectProposal,
    deps: DunningDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[RejectResponse]:
    """Reject: nothing is sent, and the claim is not proposed again for that step."""
    require_role(principal, *DECIDERS, action="reject a dunning proposal")

    async def decide() -> Decision[RejectResponse]:
        state = await load_proposal(deps, proposal_id)
        answer = RejectResponse(proposal_id=proposal_id, status="rejected")
        if state.status == "rejected":
            return Decision([], answer)
        check_proposal_rejectable(state)
        rejected = ProposalRejected(
            proposal_id=proposal_id,
            rejected_on=deps.clock.today(),
            rejected_by=principal.actor,
            reason=body.reason,
        )
        stream = proposal_stream(proposal_id)
        return Decision([envelope(deps, rejected, stream, state.version, meta)], answer)

    return await execute(
        deps.store,
        decide,
        RejectResponse,
        idempotency=idempotent(
            principal, idempotency_key, "RejectProposal", proposal_id, body.model_dump()
        ),
    )
