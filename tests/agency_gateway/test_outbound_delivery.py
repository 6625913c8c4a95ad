"""The delivery of queued messages (issue 15 "Outbound"), on a store in memory with a clock of the
test's own: the back-off is kept to the minute without sleeping, a message is delivered once
however many processes deliver, and every kind of message goes out."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fordra.agency_gateway.application.deps import CONTEXT, AgencyDeps
from fordra.agency_gateway.application.outbound import OutboundDelivery
from fordra.agency_gateway.domain.claim import AgencyInvoiceNoted, invoice_stream
from fordra.agency_gateway.domain.debtors import AgencyDebtorRegistered, debtor_stream
from fordra.agency_gateway.domain.delivery import AgencyAdapter, DeliveryFailed
from fordra.agency_gateway.domain.outbound import (
    OutboundDelivered,
    OutboundFailed,
    OutboundQueued,
    outbound_stream,
)
from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.app.bootstrap import build_registry
from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.contracts.invoicing import CustomerPersonalData, PostalAddress
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import Event
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.projection import ReadModelDatabase

T0 = datetime(2026, 4, 21, 10, 0, tzinfo=UTC)
REGISTRY = build_registry()


@dataclass
class FakeAgency(AgencyAdapter):
    """An agency that is down until told otherwise and takes each message id once."""

    down: bool = True
    taken: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: int = 0

    async def deliver(self, message_id: str, body: dict[str, Any], *, today: date) -> None:
        self.calls += 1
        if self.down:
            raise DeliveryFailed("connection refused")
        self.taken.setdefault(message_id, body)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def deps(tmp_path: Path) -> AsyncIterator[AgencyDeps]:
    store = MemoryEventStore(CONTEXT, EnvelopeCodec(CONTEXT, PersonalDataSealer(InMemoryKeyRing())))
    await store.start()
    yield AgencyDeps(
        store=store,
        registry=REGISTRY,
        clock=ManualClock(date(2026, 4, 21)),
        calendar=WorkingDayCalendar(),
        settings=AgencySettings(),  # the back-off from 60 s, doubling, at most an hour
        read_models=ReadModelDatabase(f"sqlite+aiosqlite:///{tmp_path / 'rm.sqlite'}"),
        tenant="svenljunga",
    )
    await store.close()


async def append(deps: AgencyDeps, stream: str, *events: Event) -> None:
    version = await deps.store.stream_version(stream)
    envelopes = REGISTRY.envelopes(
        events,
        context=CONTEXT,
        stream_id=stream,
        after_version=version,
        metadata=Metadata("svenljunga", "test", str(uuid.uuid4())),
        occurred_at=T0,
    )
    await deps.store.append([StreamAppend(stream, version, envelopes)])


async def queue_claim(deps: AgencyDeps, *, debtor_known: bool = True) -> str:
    """A claim queued for case-1, with the invoice and (unless told) the debtor known."""
    await append(
        deps,
        invoice_stream("inv-1"),
        AgencyInvoiceNoted(
            invoice_id="inv-1",
            customer_id="cust-1",
            invoice_number="1001",
            ocr="100175",
            service_type="premises_rent",
            invoice_date=date(2026, 3, 2),
            due_date=date(2026, 4, 1),
            total_ore=100_000,
            descriptions=("Lokalhyra mars",),
        ),
    )
    if debtor_known:
        await append(
            deps,
            debtor_stream("cust-1"),
            AgencyDebtorRegistered(
                customer_id="cust-1",
                kind="person",
                id_kind="personnummer",
                personal=CustomerPersonalData(
                    name="Tolvan Tolvansson",
                    id_number="191212121212",
                    address=PostalAddress(street="Storgatan 1", postal_code="512 50", city="X"),
                ),
            ),
        )
    payload = {
        "case_id": "case-1",
        "invoice_id": "inv-1",
        "customer_id": "cust-1",
        "service_type": "premises_rent",
        "handed_on": "2026-04-21",
        "capital_ore": 100_000,
        "interest_ore": 411,
        "fee_ore": 6_000,
        "model": "reminder_then_handover",
    }
    queued = OutboundQueued(
        message_id="case-1", case_id="case-1", agency="reference", kind="claim", payload=payload
    )
    await append(deps, outbound_stream("case-1"), queued)
    return "case-1"


async def stream_of(deps: AgencyDeps, message_id: str) -> list[Event]:
    return [REGISTRY.load(e) for e in await deps.store.read_stream(outbound_stream(message_id))]


async def test_the_back_off_doubles_and_the_claim_goes_once_the_agency_is_back(
    deps: AgencyDeps,
) -> None:
    # Given a claim queued while the agency is down
    agency, clock = FakeAgency(), Clock()
    delivery = OutboundDelivery(deps, {"reference": agency}, now=clock)
    case_id = await queue_claim(deps)
    # When delivery is tried, then it fails and is due again a minute later
    assert await delivery.deliver_due() == []
    (failed,) = [e for e in await stream_of(deps, case_id) if isinstance(e, OutboundFailed)]
    assert (failed.attempt, failed.retry_at) == (1, T0 + timedelta(seconds=60))
    assert "connection refused" in failed.error
    # and not tried before that minute is up
    clock.now = T0 + timedelta(seconds=59)
    await delivery.deliver_due()
    assert agency.calls == 1
    # After it, tried again and due two minutes later
    clock.now = T0 + timedelta(seconds=60)
    await delivery.deliver_due()
    failures = [e for e in await stream_of(deps, case_id) if isinstance(e, OutboundFailed)]
    assert [(f.attempt, f.retry_at) for f in failures] == [
        (1, T0 + timedelta(seconds=60)),
        (2, T0 + timedelta(seconds=180)),
    ]
    # When the agency is back and the time has come
    agency.down = False
    clock.now = T0 + timedelta(seconds=180)
    assert await delivery.deliver_due() == [case_id]
    # Then it has the claim once, and the log says delivered on the third attempt
    assert list(agency.taken) == [case_id]
    assert agency.taken[case_id]["content"]["basis"].startswith("Lokalhyra: Lokalhyra mars.")
    events = await stream_of(deps, case_id)
    assert [type(e) for e in events] == [
        OutboundQueued,
        OutboundFailed,
        OutboundFailed,
        OutboundDelivered,
        AgencyCaseChanged,
    ]
    delivered = events[3]
    assert isinstance(delivered, OutboundDelivered)
    assert delivered.attempts == 3
    # and nothing is sent again, however often delivery runs
    clock.now = T0 + timedelta(days=1)
    assert await delivery.deliver_due() == []
    assert agency.calls == 3
    assert delivery.pending == {}


async def test_a_restarted_gateway_goes_on_where_the_log_says(deps: AgencyDeps) -> None:
    # Given a claim that failed once, then the process stopped
    clock = Clock()
    await queue_claim(deps)
    await OutboundDelivery(deps, {"reference": FakeAgency()}, now=clock).deliver_due()
    # When a new process starts before the retry is due, then it waits for it
    agency = FakeAgency(down=False)
    fresh = OutboundDelivery(deps, {"reference": agency}, now=clock)
    assert await fresh.deliver_due() == []
    assert agency.calls == 0
    clock.now = T0 + timedelta(minutes=1)
    assert await fresh.deliver_due() == ["case-1"]


async def test_two_processes_delivering_at_once_record_one_delivery(deps: AgencyDeps) -> None:
    await queue_claim(deps)
    agency = FakeAgency(down=False)
    first = OutboundDelivery(deps, {"reference": agency}, now=Clock())
    second = OutboundDelivery(deps, {"reference": agency}, now=Clock())
    results = await asyncio.gather(first.deliver_due(), second.deliver_due())
    assert sorted(len(r) for r in results) == [0, 1]
    delivered = [e for e in await stream_of(deps, "case-1") if isinstance(e, OutboundDelivered)]
    assert len(delivered) == 1
    assert list(agency.taken) == ["case-1"]


async def test_a_claim_whose_debtor_is_not_known_yet_waits(deps: AgencyDeps) -> None:
    agency = FakeAgency(down=False)
    await queue_claim(deps, debtor_known=False)
    assert await OutboundDelivery(deps, {"reference": agency}, now=Clock()).deliver_due() == []
    (failed,) = [e for e in await stream_of(deps, "case-1") if isinstance(e, OutboundFailed)]
    assert failed.error.startswith("waiting: no identity known for customer cust-1")
    assert agency.taken == {}


async def test_every_kind_of_message_is_delivered_and_an_unknown_agency_waits(
    deps: AgencyDeps,
) -> None:
    # Given a recall queued by the inbound half, and a message for an agency not configured
    recall = OutboundQueued(
        message_id="case-1-recall",
        case_id="case-1",
        agency="reference",
        kind="recall",
        payload={"reason": "betald direkt"},
    )
    stray = recall.model_copy(update={"message_id": "case-9-recall", "agency": "nobody"})
    await append(deps, outbound_stream("case-1-recall"), recall)
    await append(deps, outbound_stream("case-9-recall"), stray)
    agency = FakeAgency(down=False)
    # When delivery runs
    delivered = await OutboundDelivery(deps, {"reference": agency}, now=Clock()).deliver_due()
    # Then the recall goes with its payload, and the stray one waits, saying why
    assert delivered == ["case-1-recall"]
    assert agency.taken["case-1-recall"] == {
        "message_id": "case-1-recall",
        "kind": "recall",
        "case_id": "case-1",
        "content": {"reason": "betald direkt"},
    }
    (failed,) = [e for e in await stream_of(deps, "case-9-recall") if isinstance(e, OutboundFailed)]
    assert "no agency named 'nobody'" in failed.error


async def test_a_message_queued_during_a_round_is_tried_at_once(deps: AgencyDeps) -> None:
    """A message queued while a round of attempts runs is found by the round's last read of the
    log: the delivery tries it at once, not after its idle wait (30 s here)."""
    await queue_claim(deps)
    queued_meanwhile: list[str] = []

    @dataclass
    class QueuesAnother(FakeAgency):
        async def deliver(self, message_id: str, body: dict[str, Any], *, today: date) -> None:
            await super().deliver(message_id, body, today=today)
            if not queued_meanwhile:  # the first delivery: another claim is handed over now
                queued_meanwhile.append("case-2")
                first = (await stream_of(deps, "case-1"))[0]
                assert isinstance(first, OutboundQueued)
                again = first.model_copy(update={"message_id": "case-2", "case_id": "case-2"})
                await append(deps, outbound_stream("case-2"), again)

    agency = QueuesAnother(down=False)
    delivery = OutboundDelivery(deps, {"reference": agency}, idle_seconds=30.0)
    delivery.start()
    try:
        for _ in range(200):
            if set(agency.taken) == {"case-1", "case-2"}:
                break
            await asyncio.sleep(0.01)
    finally:
        await delivery.stop()
    assert set(agency.taken) == {"case-1", "case-2"}
