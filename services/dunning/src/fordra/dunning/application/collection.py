"""What dunning shows: an invoice's collection state, the proposals, the disputed claims
(domain.md §4). Read from the claims read model only."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from fordra.dunning.application.claims import (
    read_childcare_report,
    read_claim,
    read_disputed,
    read_letters,
    read_music_school_flags,
    read_pending_staleness,
    read_proposals,
)
from fordra.dunning.application.daily_run import DunningDeps
from fordra.dunning.application.interest_charges import accrued_interest_ore
from fordra.dunning.domain.claim import Hold, Stage, holds_of, stage_of
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.errors import NotFound

# Who reads dunning's state: the staff who run it.
READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)


class LetterSent(BaseModel):
    model_config = ConfigDict(frozen=True)

    letter_id: str
    kind: str
    sent_on: date
    fee_ore: int


class Collection(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    stage: Stage
    holds: list[Hold]
    interest_ore: int  # accrued as of the business date
    letters: list[LetterSent]


class ProposalView(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal_id: str
    kind: str
    invoice_id: str
    customer_id: str
    proposed_on: date
    capital_ore: int
    fee_ore: int
    interest_ore: int
    # Why a pending proposal may no longer be approved (listed with ``status=stale``).
    stale_reason: str | None = None


class Proposals(BaseModel):
    items: list[ProposalView]


class DisputedClaim(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    customer_id: str
    disputed_on: date


class DisputedClaims(BaseModel):
    items: list[DisputedClaim]


async def collection_of(invoice_id: str, deps: DunningDeps, principal: Principal) -> Collection:
    require_role(principal, *READERS, action="read an invoice's collection")
    today = deps.clock.today()
    async with deps.read_models.engine.connect() as conn:
        claim = await read_claim(conn, deps.claims, invoice_id)
        if claim is None:
            raise NotFound("invoice", invoice_id)
        letters = await read_letters(conn, deps.claims, invoice_id)
    return Collection(
        invoice_id=invoice_id,
        stage=stage_of(claim),
        holds=holds_of(claim, today),
        interest_ore=await accrued_interest_ore(
            deps.store, deps.registry, deps.interest, (invoice_id,), today
        ),
        letters=[LetterSent.model_validate(letter) for letter in letters],
    )


ProposalListing = Literal["pending", "approved", "rejected", "stale"]


async def proposals_with(
    status: ProposalListing, deps: DunningDeps, principal: Principal
) -> Proposals:
    """The proposals by status. ``pending`` lists those a case officer may still approve;
    ``stale`` those still undecided that the approval would refuse (paid, cancelled or held
    since, a hold ended after them, or proposed anew), each with the reason, so that a queue
    never fills with letters nobody may send."""
    require_role(principal, *READERS, action="read dunning proposals")
    async with deps.read_models.engine.connect() as conn:
        if status not in ("pending", "stale"):
            rows = await read_proposals(conn, deps.claims, status)
            return Proposals(items=[ProposalView.model_validate(r) for r in rows])
        rows = await read_proposals(conn, deps.claims, "pending")
        stale = await read_pending_staleness(conn, deps.claims, rows, deps.clock.today())
    if status == "pending":
        return Proposals(
            items=[ProposalView.model_validate(r) for r in rows if r["proposal_id"] not in stale]
        )
    return Proposals(
        items=[
            ProposalView.model_validate({**r, "stale_reason": stale[r["proposal_id"]]})
            for r in rows
            if r["proposal_id"] in stale
        ]
    )


async def disputed_claims(deps: DunningDeps, principal: Principal) -> DisputedClaims:
    require_role(principal, *READERS, action="read the disputed claims")
    async with deps.read_models.engine.connect() as conn:
        rows = await read_disputed(conn, deps.claims)
    return DisputedClaims(items=[DisputedClaim.model_validate(r) for r in rows])


class ChildcareReportLine(BaseModel):
    """A guardian who got the letter about the risk of termination and still has not paid."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    invoice_ids: list[str]
    unpaid_ore: int
    first_warned_on: date
    termination_date: date
    reported_on: date


class ChildcareReport(BaseModel):
    month: str
    items: list[ChildcareReportLine]


class MusicSchoolFlag(BaseModel):
    """A pupil who may be refused a place: the annual fee was unpaid on the deadline."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    invoice_ids: list[str]
    unpaid_ore: int
    deadline: date
    flagged_on: date


class MusicSchoolFlags(BaseModel):
    items: list[MusicSchoolFlag]


async def childcare_report_of(
    month: str, deps: DunningDeps, principal: Principal
) -> ChildcareReport:
    """The childcare report of ``month`` ("YYYY-MM") as the run of its report day made it
    (domain.md §4, seed 002: "runt den 15:e varje månad"); empty before that day."""
    require_role(principal, *READERS, action="read the childcare report")
    async with deps.read_models.engine.connect() as conn:
        rows = await read_childcare_report(conn, deps.claims, month)
    return ChildcareReport(month=month, items=[ChildcareReportLine.model_validate(r) for r in rows])


async def music_school_flags(deps: DunningDeps, principal: Principal) -> MusicSchoolFlags:
    """The music-school pupils flagged (domain.md §4, seed 001: fee unpaid on 31 August)."""
    require_role(principal, *READERS, action="read the music-school flags")
    async with deps.read_models.engine.connect() as conn:
        rows = await read_music_school_flags(conn, deps.claims)
    return MusicSchoolFlags(items=[MusicSchoolFlag.model_validate(r) for r in rows])
