"""Proposals before letters (domain.md §4, seed 002): a proposal's life and the rules of deciding
on it. Approving twice answers the first answer; a rejected or a stale proposal is refused,
naming why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from fordra.dunning.domain.events import (
    DunningProposed,
    ProposalApproved,
    ProposalRejected,
)
from fordra.kernel.errors import FordraError
from fordra.kernel.events import Event

ProposalStatus = Literal["pending", "approved", "rejected"]


class ProposalConflict(FordraError):
    """A proposal that can't be decided that way any more (HTTP 409): ``reason`` is
    ``rejected``, ``approved`` or ``stale``."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ProposalState:
    proposed: DunningProposed
    status: ProposalStatus
    version: int
    letter_id: str | None = None
    decided_on: date | None = None
    rejection_reason: str | None = None


def replay_proposal(events: Iterable[Event]) -> ProposalState | None:
    state: ProposalState | None = None
    for event in events:
        if isinstance(event, DunningProposed):
            state = ProposalState(proposed=event, status="pending", version=1)
        elif state is None:
            continue
        elif isinstance(event, ProposalApproved):
            state = replace(
                state,
                status="approved",
                letter_id=event.letter_id,
                decided_on=event.approved_on,
                version=state.version + 1,
            )
        elif isinstance(event, ProposalRejected):
            state = replace(
                state,
                status="rejected",
                decided_on=event.rejected_on,
                rejection_reason=event.reason,
                version=state.version + 1,
            )
        else:
            state = replace(state, version=state.version + 1)
    return state


def check_proposal_approvable(state: ProposalState) -> None:
    """Only a pending proposal is approved; a rejected one stays rejected (seed 002: the case
    officer's decision)."""
    if state.status == "rejected":
        raise ProposalConflict(
            f"proposal {state.proposed.proposal_id} was rejected on "
            f"{state.decided_on}: {state.rejection_reason}",
            reason="rejected",
        )


def check_proposal_rejectable(state: ProposalState) -> None:
    """A proposal already approved has sent its letter: it can't be rejected."""
    if state.status == "approved":
        raise ProposalConflict(
            f"proposal {state.proposed.proposal_id} was approved on {state.decided_on}: "
            "its letter is sent",
            reason="approved",
        )


def check_not_stale(state: ProposalState, why: str | None) -> None:
    """A proposal whose claim changed since (paid, disputed, deferred, in a plan) is stale: the
    letter would be wrong (domain.md §4: no empty threats; a disputed claim is never handed
    over)."""
    if why is not None:
        raise ProposalConflict(
            f"proposal {state.proposed.proposal_id} is stale: {why}", reason="stale"
        )
