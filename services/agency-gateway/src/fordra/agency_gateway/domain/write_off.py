"""A claim at the agency written down or written off by dunning (issue 15; domain.md §4 "Write-down
and write-off", seed 001 "Nedskrivning eller avskrivning", seed 004).

- **Write-off** (avskrivning, dunning's ``ClaimWrittenOff``): the claim is closed for good, so an
  active case of it (not closed or recalled) ends as a recall, by the recall's own rule
  (``decide_recall``: after a payment order the agency's outlays, which nobody can now recover from
  the debtor, are the municipality's cost, seed 004) and with the recall's message, whose reason
  says why: ``written off: <reason> (<decision reference>)``.
- **Write-down** (nedskrivning, ``ClaimWrittenDown``): the claim stays owed; "every unpaid claim
  ends under long-term surveillance rather than forgotten" (domain.md §4), so an active case is
  marked written down and the agency is asked to keep it under long-term surveillance
  (efterbevakning), to interrupt limitation. The agency answers with its own
  ``long_term_surveillance`` report when it has done so.

Each decision answers None when there is nothing to do (the case ended, or was written down
already), so that the same event seen twice changes nothing. The messages' ids are made from the
case, never new: a second decision on the same case could not queue its message twice.

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from fordra.agency_gateway.domain.case import (
    CaseState,
    CaseWrittenDown,
    decide_recall,
    recall_message,
)
from fordra.agency_gateway.domain.outbound import OutboundQueued
from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff

__all__ = [
    "WriteDownDecision",
    "WriteOffDecision",
    "decide_write_down",
    "decide_write_off",
    "surveillance_message_id",
    "write_off_message_id",
    "write_off_reason",
]


def write_off_reason(written_off: ClaimWrittenOff) -> str:
    """The recall's reason, for the agency and the record: why, and under which decision."""
    return f"written off: {written_off.reason} ({written_off.decision_reference})"


def write_off_message_id(case_id: str) -> str:
    return f"{case_id}-write-off"


def surveillance_message_id(case_id: str) -> str:
    return f"{case_id}-long-term-surveillance"


@dataclass(frozen=True, slots=True)
class WriteOffDecision:
    """The case's recall, and the recall message queued for the agency."""

    recalled: AgencyCaseChanged
    message: OutboundQueued


@dataclass(frozen=True, slots=True)
class WriteDownDecision:
    """The case marked written down, and the request for long-term surveillance."""

    written_down: CaseWrittenDown
    message: OutboundQueued


def decide_write_off(state: CaseState, written_off: ClaimWrittenOff) -> WriteOffDecision | None:
    """A claim written off ends its active case as a recall on the day of the write-off (module
    docstring); a case closed or recalled already is left as it is."""
    if state.ended:
        return None
    on = written_off.written_off_on
    return WriteOffDecision(
        recalled=decide_recall(state, on),
        message=recall_message(
            state, write_off_message_id(state.case_id), on, write_off_reason(written_off)
        ),
    )


def decide_write_down(state: CaseState, written_down: ClaimWrittenDown) -> WriteDownDecision | None:
    """A claim written down marks its active case so and asks the agency for long-term
    surveillance (module docstring); a case ended, or written down already (the agency was
    asked), is left as it is."""
    if state.ended or state.written_down_on is not None:
        return None
    on = written_down.written_down_on
    return WriteDownDecision(
        written_down=CaseWrittenDown(
            case_id=state.case_id,
            invoice_id=state.invoice_id,
            written_down_on=on,
            amount_ore=written_down.amount_ore,
            reason=written_down.reason,
        ),
        message=OutboundQueued(
            message_id=surveillance_message_id(state.case_id),
            case_id=state.case_id,
            agency=state.agency,
            kind="long_term_surveillance",
            payload={
                "case_id": state.case_id,
                "invoice_id": state.invoice_id,
                "written_down_on": on.isoformat(),
                "reason": written_down.reason,
            },
        ),
    )
