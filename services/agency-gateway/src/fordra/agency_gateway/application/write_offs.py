"""The gateway follows dunning's write-downs and write-offs (issue 15; domain.md §4 "Write-down and
write-off"): a process manager's reactions to dunning's public ``ClaimWrittenOff`` and
``ClaimWrittenDown``, run with the handover's (``process:agency-handovers``, which follows dunning
and begins each case), so that a case handed over is always begun before dunning's later news of
its invoice comes: both are in dunning's log in that order.

- ``ClaimWrittenOff``: each active case of the invoice ends as a recall, with the recall's rule and
  message (domain/write_off.py): ``AgencyCaseChanged(status="recalled", municipality_cost_ore=...)``
  on the case's stream and ``OutboundQueued(kind="recall")`` for the agency, in one append; the
  gateway's delivery takes it to the agency like any other message.
- ``ClaimWrittenDown``: each active case is marked written down (``CaseWrittenDown``, shown as
  ``written_down_on`` in the case list) and ``OutboundQueued(kind="long_term_surveillance")`` asks
  the agency to keep it under long-term surveillance.

The cases of an invoice are found on ``agency-invoice-cases-<invoice>``, written with each case's
beginning (``InvoiceCaseBegun``); a case begun before that stream existed is found through the
outbound half's ``AgencyInvoiceHandedOver``. A redelivered event is refused by the consumer's
tracking; the same event again finds the case ended or written down and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from fordra.agency_gateway.application.cases import load_case
from fordra.agency_gateway.application.deps import CONTEXT
from fordra.agency_gateway.domain.case import (
    CaseState,
    InvoiceCaseBegun,
    case_stream,
    invoice_cases_stream,
)
from fordra.agency_gateway.domain.claim import AgencyInvoiceHandedOver, invoice_stream
from fordra.agency_gateway.domain.outbound import OutboundQueued, outbound_stream
from fordra.agency_gateway.domain.write_off import decide_write_down, decide_write_off
from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import Reaction

__all__ = ["write_off_reactions"]


def write_off_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    """``{event_type: reaction}`` for dunning's write-off and write-down (module docstring), to
    run in the consumer that runs ``handover_reactions``."""

    async def case_ids(store: EventStore, invoice_id: str) -> list[str]:
        found: list[str] = []
        for stream in (invoice_cases_stream(invoice_id), invoice_stream(invoice_id)):
            for env in await store.read_stream(stream):
                if registry.knows(env.event_type):
                    event = registry.load(env)
                    if isinstance(event, InvoiceCaseBegun | AgencyInvoiceHandedOver):
                        found.append(event.case_id)
        return list(dict.fromkeys(found))

    async def active_cases(store: EventStore, invoice_id: str) -> list[tuple[CaseState, int]]:
        cases = []
        for case_id in await case_ids(store, invoice_id):
            state, version = await load_case(store, registry, case_id)
            if state is not None and not state.ended:
                cases.append((state, version))
        return cases

    def caused(cause: Envelope, stream: str, version: int, event: Event) -> StreamAppend:
        envelopes = registry.envelopes(
            [event],
            context=CONTEXT,
            stream_id=stream,
            after_version=version,
            metadata=cause.caused_metadata(),
            occurred_at=cause.occurred_at,
        )
        return StreamAppend(stream, version, envelopes)

    def queue(cause: Envelope, message: OutboundQueued) -> StreamAppend:
        # A message stream is new: were it there (the id is the case's), the append refuses it.
        return caused(cause, outbound_stream(message.message_id), 0, message)

    async def on_written_off(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        written_off = registry.load_as(env, ClaimWrittenOff)
        appends: list[StreamAppend] = []
        for state, version in await active_cases(store, written_off.invoice_id):
            decision = decide_write_off(state, written_off)
            if decision is None:
                continue
            appends.append(caused(env, case_stream(state.case_id), version, decision.recalled))
            appends.append(queue(env, decision.message))
        return appends

    async def on_written_down(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        written_down = registry.load_as(env, ClaimWrittenDown)
        appends: list[StreamAppend] = []
        for state, version in await active_cases(store, written_down.invoice_id):
            decision = decide_write_down(state, written_down)
            if decision is None:
                continue
            appends.append(caused(env, case_stream(state.case_id), version, decision.written_down))
            appends.append(queue(env, decision.message))
        return appends

    return {
        ClaimWrittenOff.event_type: on_written_off,
        ClaimWrittenDown.event_type: on_written_down,
    }
