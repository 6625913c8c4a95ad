"""The webhook use case on an in-memory store (issue 15, "Inbound"): who may report on which
case, and what one report appends. The HTTP answers: tests/scenarios/test_agency_inbound.py."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson
import pytest
from pydantic import SecretStr

from fordra.agency_gateway.application.cases import handover_reactions, load_case
from fordra.agency_gateway.application.deps import CONTEXT, AgencyDeps
from fordra.agency_gateway.application.webhooks import SignatureRefused, receive_webhook
from fordra.agency_gateway.domain.case import CASE_EVENTS, case_stream
from fordra.agency_gateway.domain.outbound import OUTBOUND_EVENTS
from fordra.agency_gateway.domain.settings import AgencyEndpoint, AgencySettings
from fordra.agency_gateway.domain.webhook import WEBHOOK_EVENTS, event_claim_stream, signature_of
from fordra.contracts import all_contracts
from fordra.contracts.dunning import HandedToAgency
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import EventRegistry
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.projection import ReadModelDatabase

SECRET = "reference-secret"


def registry() -> EventRegistry:
    reg = EventRegistry()
    for events in (all_contracts(), CASE_EVENTS, WEBHOOK_EVENTS, OUTBOUND_EVENTS):
        reg.register_all(events)
    return reg


async def gateway(settings: AgencySettings) -> AgencyDeps:
    """The gateway on a memory store, with one case handed over on 2026-04-21 to ``reference``
    (through the reaction the platform runs), the clock on 2026-05-04."""
    reg = registry()
    store = MemoryEventStore(CONTEXT, EnvelopeCodec(CONTEXT, PersonalDataSealer(InMemoryKeyRing())))
    handed = reg.envelope(
        HandedToAgency(
            handover_id="case-1",
            invoice_id="inv-1",
            customer_id="cust-1",
            service_type="premises_rent",
            handed_on=date(2026, 4, 21),
            capital_ore=100_000,
            interest_ore=0,
            fee_ore=0,
            model="reminder_then_handover",
        ),
        context="dunning",
        stream_id="claim-inv-1",
        version=1,
        metadata=Metadata("svenljunga", "test", "c"),
        occurred_at=datetime(2026, 4, 21, 10, tzinfo=UTC),
    )
    await store.start()
    react = handover_reactions(reg, settings.default_agency)[HandedToAgency.event_type]
    await store.append(await react(handed, store))
    return AgencyDeps(
        store=store,
        registry=reg,
        clock=ManualClock(date(2026, 5, 4)),
        calendar=WorkingDayCalendar(),
        settings=settings,
        read_models=ReadModelDatabase("sqlite+aiosqlite:///:memory:"),  # not read here
        tenant="svenljunga",
    )


def body(**fields: object) -> bytes:
    return orjson.dumps(
        {"event_id": "e1", "case_id": "case-1", "kind": "opened", "occurred_on": "2026-04-22"}
        | fields
    )


SETTINGS = AgencySettings(
    agencies={
        "reference": AgencyEndpoint(url="http://127.0.0.1:8090"),
        "other": AgencyEndpoint(url="http://127.0.0.1:8091"),
    },
    secrets={"reference": SecretStr(SECRET), "other": SecretStr("other-secret")},
)


async def test_a_report_appends_its_claim_and_its_step_in_one_go() -> None:
    deps = await gateway(SETTINGS)
    handed_over = await deps.store.max_position()
    raw = body()
    outcome = await receive_webhook(deps, "reference", raw, signature_of(raw, SECRET))
    assert outcome.response.duplicate is False
    (claim,) = await deps.store.read_stream(event_claim_stream("reference", "e1"))
    stream = await deps.store.read_stream(case_stream("case-1"))
    assert [e.event_type for e in stream] == ["AgencyCaseHandedOver", "AgencyCaseChanged"]
    # committed together, after the handover
    assert {claim.position, stream[-1].position} == {handed_over + 1, handed_over + 2}
    state, version = await load_case(deps.store, deps.registry, "case-1")
    assert state is not None
    assert (state.status, version) == ("opened", 2)


async def test_an_agency_without_a_secret_is_refused_whatever_it_signs() -> None:
    deps = await gateway(SETTINGS.model_copy(update={"secrets": {"reference": SecretStr(SECRET)}}))
    raw = body()
    for signature in (signature_of(raw, ""), signature_of(raw, SECRET), None):
        with pytest.raises(SignatureRefused):
            await receive_webhook(deps, "other", raw, signature)
    with pytest.raises(NotFound):
        await receive_webhook(deps, "unknown", raw, signature_of(raw, SECRET))
    assert await deps.store.read_stream(event_claim_stream("other", "e1")) == []


async def test_an_agency_reports_only_on_its_own_cases() -> None:
    deps = await gateway(SETTINGS)
    raw = body()
    # Signed rightly by another agency: the case is not one of its own
    with pytest.raises(NotFound):
        await receive_webhook(deps, "other", raw, signature_of(raw, "other-secret"))
    assert await deps.store.read_stream(event_claim_stream("other", "e1")) == []


async def test_a_refused_report_leaves_its_event_id_free() -> None:
    deps = await gateway(SETTINGS)
    early = body(kind="judgment")
    with pytest.raises(DomainRuleViolation):
        await receive_webhook(deps, "reference", early, signature_of(early, SECRET))
    assert await deps.store.read_stream(event_claim_stream("reference", "e1")) == []
    # so the agency may send the right report under that id
    raw = body()
    outcome = await receive_webhook(deps, "reference", raw, signature_of(raw, SECRET))
    assert outcome.response.duplicate is False
