"""Dunning's HTTP routes (domain.md §4): the daily run, its proposals, the disputed claims, an
invoice's collection state, the childcare report, the music-school pupils flagged and the
unpaid-rent report."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fordra.dunning.application.collection import (
    ChildcareReport,
    Collection,
    DisputedClaims,
    MusicSchoolFlags,
    ProposalListing,
    Proposals,
    childcare_report_of,
    collection_of,
    disputed_claims,
    music_school_flags,
    proposals_with,
)
from fordra.dunning.application.daily_run import DunningDeps, RunDunning, RunResult, run_dunning
from fordra.dunning.application.proposals import (
    ApproveResponse,
    RejectProposal,
    RejectResponse,
    approve_proposal,
    reject_proposal,
)
from fordra.dunning.application.unpaid_rent import UnpaidRentReport, unpaid_rent_report
from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for

# A month as a query names it: within the calendar a request may name (kernel.dated, 1900 to
# 2199), so that year 0000 is a 422 and not a date the code cannot build.
MONTH_PATTERN = r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$"


def make_router(deps: DunningDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["dunning"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.post(
        "/dunning/runs",
        response_model=RunResult,
        summary="Run dunning for a date: proposals, once per date (role ops_lead)",
    )
    async def post_run(body: RunDunning, principal: Caller) -> RunResult:
        outcome = await run_dunning(body.date, deps, principal, metadata_for(principal))
        await web.settle()
        return outcome.response

    @router.get("/dunning/proposals", response_model=Proposals)
    async def get_proposals(
        principal: Caller,
        status: Annotated[ProposalListing, Query()] = "pending",
    ) -> Proposals:
        return await proposals_with(status, deps, principal)

    @router.post(
        "/dunning/proposals/{proposal_id}/approve",
        response_model=ApproveResponse,
        summary="Approve a proposal: the letter is sent or the claim handed over",
    )
    async def post_approve(
        proposal_id: PathId, principal: Caller, key: IdempotencyKey = None
    ) -> ApproveResponse:
        outcome = await approve_proposal(
            proposal_id, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.post("/dunning/proposals/{proposal_id}/reject", response_model=RejectResponse)
    async def post_reject(
        proposal_id: PathId, body: RejectProposal, principal: Caller, key: IdempotencyKey = None
    ) -> RejectResponse:
        outcome = await reject_proposal(
            proposal_id, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        await web.settle()
        return outcome.response

    @router.get("/dunning/disputed", response_model=DisputedClaims)
    async def get_disputed(principal: Caller) -> DisputedClaims:
        return await disputed_claims(deps, principal)

    @router.get(
        "/dunning/childcare-report",
        response_model=ChildcareReport,
        summary="The month's childcare report: guardians warned who still have not paid",
    )
    async def get_childcare_report(
        principal: Caller,
        month: Annotated[str, Query(pattern=MONTH_PATTERN, examples=["2026-06"])],
    ) -> ChildcareReport:
        return await childcare_report_of(month, deps, principal)

    @router.get(
        "/reports/unpaid-rent",
        response_model=UnpaidRentReport,
        summary="The rent notices of a month still open on the business date (seed 002: "
        "around the 10th)",
    )
    async def get_unpaid_rent(
        principal: Caller,
        month: Annotated[str, Query(pattern=MONTH_PATTERN, examples=["2026-06"])],
    ) -> UnpaidRentReport:
        return await unpaid_rent_report(month, deps, principal)

    @router.get(
        "/dunning/music-school-flags",
        response_model=MusicSchoolFlags,
        summary="Music-school pupils whose annual fee was unpaid on the deadline",
    )
    async def get_music_school_flags(principal: Caller) -> MusicSchoolFlags:
        return await music_school_flags(deps, principal)

    @router.get("/invoices/{invoice_id}/collection", response_model=Collection)
    async def get_collection(invoice_id: PathId, principal: Caller) -> Collection:
        return await collection_of(invoice_id, deps, principal)

    return router
