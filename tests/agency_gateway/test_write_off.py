"""A claim at the agency written off or written down by dunning (issue 15; domain.md §4 "Write-down
and write-off", seed 001 and 004): the rules (domain/write_off.py), and the reactions to dunning's
log on a ``MemoryEventStore``, run as the platform runs them (``process:agency-handovers``). The
round trip with the reference agency over HTTP: tests/agency_gateway/test_write_off_round_trip.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from fordra.agency_gateway.application.cases import handover_reactions, load_case
from fordra.agency_gateway.application.deps import CONTEXT
from fordra.agency_gateway.application.write_offs import write_off_reactions
from fordra.agency_gateway.domain.case import (
    CASE_EVENTS,
    CaseHandedOver,
    CaseState,
    case_of,
    case_stream,
    decide_step,
)
from fordra.agency_gateway.domain.claim import CLAIM_EVENTS, AgencyInvoiceHandedOver, invoice_stream
from fordra.agency_gateway.domain.outbound import OUTBOUND_EVENTS, OutboundQueued
from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.agency_gateway.domain.write_off import (
    decide_write_down,
    decide_write_off,
    write_off_reason,
)
from fordra.contracts import all_contracts
from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.contracts.dunning import ClaimWrittenDown, ClaimWrittenOff, HandedToAgency
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.process import ProcessManagerRunner

CALENDAR = WorkingDayCalendar()
SETTINGS = AgencySettings()
HANDED = CaseHandedOver(
    case_id="case-1",
    invoice_id="inv-1",
    customer_id="cust-1",
    agency="reference",
    handed_over_on=date(2026, 4, 21),
    capital_ore=100_000,
    interest_ore=500,
    fee_ore=0,
)


def written_off(**fields: Any) -> ClaimWrittenOff:
    return ClaimWrittenOff.model_validate(
        {
            "invoice_id": "inv-1",
            "customer_id": "cust-1",
            "service_type": "premises_rent",
            "invoice_number": "00000001",
            "written_off_on": date(2026, 6, 10),
            "amount_ore": 100_000,
            "value_adjustment_ore": 0,
            "reason": "death",
            "decision_reference": "AVS-2026-7",
            **fields,
        }
    )


def written_down(**fields: Any) -> ClaimWrittenDown:
    return ClaimWrittenDown.model_validate(
        {
            "invoice_id": "inv-1",
            "customer_id": "cust-1",
            "service_type": "premises_rent",
            "invoice_number": "00000001",
            "written_down_on": date(2026, 6, 1),
            "amount_ore": 100_000,
            "reason": "obeståndig enligt inkassobolaget",
            **fields,
        }
    )


def case_after(*steps: tuple[str, date], extra: Sequence[Event] = ()) -> CaseState:
    events: list[Event] = [HANDED]
    for kind, on in steps:
        state = case_of(events)
        assert state is not None
        events.append(decide_step(state, kind, on, SETTINGS, CALENDAR))  # type: ignore[arg-type]
    state = case_of([*events, *extra])
    assert state is not None
    return state


# -- the rules ----------------------------------------------------------------------------------


def test_a_write_off_after_a_payment_order_recalls_the_case_at_the_municipalitys_cost() -> None:
    # Given a case where the agency filed a payment order (300 + 380 kr outlays, domain.md §3)
    ordered = case_after(("opened", date(2026, 4, 22)), ("payment_order_filed", date(2026, 4, 28)))
    # When the claim is written off
    decision = decide_write_off(ordered, written_off())
    # Then the case is recalled on the day of the write-off, the outlays are the
    # municipality's (seed 004, as in any recall), and the agency is sent the recall saying why
    assert decision is not None
    recalled = decision.recalled
    assert (recalled.status, recalled.occurred_on, recalled.municipality_cost_ore) == (
        "recalled",
        date(2026, 6, 10),
        68_000,
    )
    message = decision.message
    assert (message.kind, message.case_id, message.agency) == ("recall", "case-1", "reference")
    assert message.payload == {
        "case_id": "case-1",
        "invoice_id": "inv-1",
        "recalled_on": "2026-06-10",
        "reason": "written off: death (AVS-2026-7)",
    }


def test_a_write_off_before_a_payment_order_costs_nothing() -> None:
    opened = case_after(("opened", date(2026, 4, 22)))
    decision = decide_write_off(opened, written_off(reason="bankruptcy"))
    assert decision is not None
    assert decision.recalled.municipality_cost_ore == 0
    assert decision.message.payload["reason"] == "written off: bankruptcy (AVS-2026-7)"


def test_a_case_closed_or_recalled_already_is_left_as_it_is() -> None:
    closed = case_after(("opened", date(2026, 4, 22)), ("closed", date(2026, 5, 2)))
    assert decide_write_off(closed, written_off()) is None
    assert decide_write_down(closed, written_down()) is None
    first = decide_write_off(case_after(), written_off())
    assert first is not None
    recalled = case_after(extra=[first.recalled])
    assert recalled.status == "recalled"
    assert decide_write_off(recalled, written_off()) is None


def test_a_write_down_marks_the_case_and_asks_for_long_term_surveillance() -> None:
    # Given a case the agency has opened
    opened = case_after(("opened", date(2026, 4, 22)))
    # When the claim is written down (it stays owed, domain.md §4)
    decision = decide_write_down(opened, written_down())
    # Then the case is marked written down that day and the agency is asked to keep it under
    # long-term surveillance (efterbevakning)
    assert decision is not None
    marked = case_of([HANDED, decision.written_down])
    assert marked is not None
    assert (marked.written_down_on, marked.status, marked.ended) == (
        date(2026, 6, 1),
        "queued",  # the status is the agency's to report
        False,
    )
    assert decision.message.kind == "long_term_surveillance"
    assert decision.message.payload == {
        "case_id": "case-1",
        "invoice_id": "inv-1",
        "written_down_on": "2026-06-01",
        "reason": "obeståndig enligt inkassobolaget",
    }
    # And a case written down already is not asked about again
    assert decide_write_down(case_after(extra=[decision.written_down]), written_down()) is None


def test_the_recalls_reason_names_the_write_offs_reason_and_decision() -> None:
    assert write_off_reason(written_off(reason="other", decision_reference="KS 2026/14 §3")) == (
        "written off: other (KS 2026/14 §3)"
    )


# -- the reactions to dunning's log ---------------------------------------------------------------


class Gateway:
    """The gateway's store and the consumer that follows dunning, as bootstrap wires it."""

    def __init__(self) -> None:
        self.registry = EventRegistry()
        for events in (all_contracts(), CASE_EVENTS, OUTBOUND_EVENTS, CLAIM_EVENTS):
            self.registry.register_all(events)
        self.store = MemoryEventStore(
            CONTEXT, EnvelopeCodec(CONTEXT, PersonalDataSealer(InMemoryKeyRing()))
        )
        self.runner = ProcessManagerRunner(
            "agency-handovers",
            self.store,
            {
                **handover_reactions(self.registry, "reference"),
                **write_off_reactions(self.registry),
            },
        )
        self.position = 0

    async def dunning(self, *events: Event) -> None:
        """Dunning's events, delivered in one batch as the bus delivers its log."""
        envelopes = []
        for event in events:
            self.position += 1
            env = self.registry.envelope(
                event,
                context="dunning",
                stream_id=f"dunning-{self.position}",
                version=1,
                metadata=Metadata("svenljunga", "dunning", "c"),
                occurred_at=datetime(2026, 6, 10, 9, tzinfo=UTC),
            )
            envelopes.append(env.stored(self.position, env.occurred_at))
        await self.runner.handle("dunning", envelopes)

    async def case(self, case_id: str = "case-1") -> CaseState:
        state, _version = await load_case(self.store, self.registry, case_id)
        assert state is not None
        return state

    async def queued(self, kind: str) -> list[OutboundQueued]:
        log = [self.registry.load(e) for e in await self.store.read_log(0, limit=10_000)]
        return [e for e in log if isinstance(e, OutboundQueued) and e.kind == kind]

    async def given(self, stream: str, *events: Event) -> None:
        version = await self.store.stream_version(stream)
        envelopes = self.registry.envelopes(
            events,
            context=CONTEXT,
            stream_id=stream,
            after_version=version,
            metadata=Metadata("svenljunga", "test", "c"),
            occurred_at=datetime(2026, 4, 21, 9, tzinfo=UTC),
        )
        await self.store.append([StreamAppend(stream, version, envelopes)])


HANDOVER = HandedToAgency(
    handover_id="case-1",
    invoice_id="inv-1",
    customer_id="cust-1",
    service_type="premises_rent",
    handed_on=date(2026, 4, 21),
    capital_ore=100_000,
    interest_ore=500,
    fee_ore=0,
    model="reminder_then_handover",
)


@pytest.fixture
async def gateway() -> Gateway:
    g = Gateway()
    await g.store.start()
    return g


async def test_a_write_off_ends_the_handed_over_case_as_recalled_once(gateway: Gateway) -> None:
    # Given a claim handed over
    await gateway.dunning(HANDOVER)
    # When dunning writes it off, and the same event comes again
    await gateway.dunning(written_off())
    head = await gateway.store.max_position()
    await gateway.dunning(written_off())
    # Then the case is recalled, the recall is queued once for the agency, and the second
    # event changed nothing
    assert (await gateway.case()).status == "recalled"
    (recall,) = await gateway.queued("recall")
    assert recall.message_id == "case-1-write-off"
    assert recall.payload["reason"] == "written off: death (AVS-2026-7)"
    assert await gateway.store.max_position() == head
    stream = [
        gateway.registry.load(e) for e in await gateway.store.read_stream(case_stream("case-1"))
    ]
    assert [e.status for e in stream if isinstance(e, AgencyCaseChanged)] == ["recalled"]


async def test_a_write_down_in_the_same_batch_as_the_handover_finds_the_case(
    gateway: Gateway,
) -> None:
    # The handover and the write-down in one delivery: the case is begun first
    await gateway.dunning(HANDOVER, written_down())
    await gateway.dunning(written_down())  # the same news again

    assert (await gateway.case()).written_down_on == date(2026, 6, 1)
    (request,) = await gateway.queued("long_term_surveillance")
    assert request.message_id == "case-1-long-term-surveillance"
    assert request.payload["written_down_on"] == "2026-06-01"
    # A later write-off still recalls the case written down
    await gateway.dunning(written_off())
    assert (await gateway.case()).status == "recalled"


async def test_a_recalled_case_is_not_recalled_again_nor_asked_to_be_watched(
    gateway: Gateway,
) -> None:
    await gateway.dunning(HANDOVER, written_off())
    head = await gateway.store.max_position()

    await gateway.dunning(written_down(), written_off(decision_reference="AVS-2026-8"))

    assert await gateway.store.max_position() == head  # only the tracking moved
    assert await gateway.queued("long_term_surveillance") == []


async def test_an_invoice_never_handed_over_changes_nothing(gateway: Gateway) -> None:
    await gateway.dunning(written_off(invoice_id="inv-other"), written_down(invoice_id="inv-other"))

    assert await gateway.store.max_position() == 0


async def test_a_case_begun_before_the_invoices_cases_were_kept_is_found(
    gateway: Gateway,
) -> None:
    # Given a case begun by an earlier version (no agency-invoice-cases stream), known to the
    # outbound half's copy of the invoice
    await gateway.given(case_stream("case-1"), HANDED)
    await gateway.given(
        invoice_stream("inv-1"),
        AgencyInvoiceHandedOver(
            invoice_id="inv-1", case_id="case-1", agency="reference", handed_on=date(2026, 4, 21)
        ),
    )
    # When dunning writes the claim off
    await gateway.dunning(written_off())
    # Then that case is recalled all the same
    assert (await gateway.case()).status == "recalled"
