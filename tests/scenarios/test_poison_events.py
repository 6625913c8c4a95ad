"""A poison event parks instead of stopping the read side (issue 10, item 1).

An event a consumer cannot apply used to be retried for ever: every later command answered 503
after the settle timeout, also after a restart, and ``/healthz`` said ok. Now the consumer parks
it, the rest goes on, ``/healthz`` says degraded, ``/metrics`` counts it, and an operator lists
and replays it once the code is fixed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import httpx
from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.app.bootstrap import Subscription
from fordra.app.http import create_app
from fordra.app.settings import Settings
from fordra.kernel.auth import Role
from fordra.kernel.envelope import Envelope
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.process import ProcessManagerRunner
from fordra.kernel.projection import Projection, ProjectionRunner
from tests.utils.money import PERSON, customer, issue, ledger
from tests.utils.platform import Engine, Running, build_platform, engine_settings

TODAY = date(2026, 2, 20)
PARKED_URL = "/api/v1/admin/parked-events"
OTHER = {
    "id_number": "19811218-9876",
    "name": "Agda Andersson",
    "address": {"street": "Kyrkvägen 2", "postal_code": "512 50", "city": "Svenljunga"},
}


class FlakyProjection(Projection):
    """A test read model that cannot apply the invoices of the customers in ``broken`` until the
    test "fixes the code" by emptying it. Its error quotes a personnummer, as a careless message
    of a real projection might."""

    name: ClassVar[str] = "flaky_invoices"
    upstreams: ClassVar[tuple[str, ...]] = ("invoicing",)

    def __init__(self) -> None:
        self.broken: set[str] = set()

    def declare(self, metadata: MetaData) -> list[Table]:
        self.invoices = Table(
            "flaky_invoices", metadata, Column("invoice_id", String(100), primary_key=True)
        )
        return [self.invoices]

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        if event.event_type != "InvoiceIssued":
            return
        if event.payload["customer_id"] in self.broken:
            raise ValueError(f"no tariff for {PERSON['id_number']} in this version")
        await conn.execute(self.invoices.insert().values(invoice_id=event.payload["invoice_id"]))

    async def shown(self, fordra: Running) -> set[str]:
        async with fordra.platform.read_models.engine.connect() as conn:
            return set((await conn.execute(select(self.invoices.c.invoice_id))).scalars())


class FlakyReaction:
    """A test process manager's reaction in payments to invoicing's InvoiceIssued, failing for the
    customers in ``broken``; it appends nothing and counts the invoices it reacted to."""

    def __init__(self) -> None:
        self.broken: set[str] = set()
        self.reacted: list[str] = []

    async def __call__(self, event: Envelope, _store: EventStore) -> list[StreamAppend]:
        if event.payload["customer_id"] in self.broken:
            raise KeyError("no rule for this customer in this version")
        self.reacted.append(event.payload["invoice_id"])
        return []


@asynccontextmanager
async def platform_on(
    engine: Engine,
    config: Settings,
    flaky: FlakyProjection | None = None,
    reaction: FlakyReaction | None = None,
) -> AsyncIterator[Running]:
    """A running platform on ``config`` (the same config again is a restart on the same data),
    with ``flaky`` following invoicing like any projection and ``reaction`` like any process
    manager of payments."""
    platform = build_platform(engine, config, today=TODAY)
    assert platform.bus is not None
    if flaky is not None:
        runner = ProjectionRunner(flaky, platform.read_models)
        platform.bus.subscribe(runner, "invoicing")
        platform.subscriptions.append(Subscription(runner, ("invoicing",), "projections"))
    if reaction is not None:
        manager = ProcessManagerRunner(
            "flaky", platform.stores["payments"], {"InvoiceIssued": reaction}
        )
        platform.bus.subscribe(manager, "invoicing")
        platform.subscriptions.append(Subscription(manager, ("invoicing",), "payments"))
    await platform.start()
    transport = httpx.ASGITransport(app=create_app(platform, manage_lifecycle=False))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://fordra.test") as client:
            yield Running(platform, client)
    finally:
        await platform.stop()


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting: {what}"
        await asyncio.sleep(0.2)


async def parked(fordra: Running, role: Role = Role.OPS_LEAD) -> list[dict[str, Any]]:
    r = await fordra.client.get(PARKED_URL, headers=fordra.auth(role))
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["events"]
    return events


async def health(fordra: Running) -> dict[str, Any]:
    r = await fordra.client.get("/healthz")
    assert r.status_code == 200, r.text  # degraded still serves: see fordra.app.parking_http
    body: dict[str, Any] = r.json()
    return body


async def handler_failures(fordra: Running, consumer: str) -> float:
    r = await fordra.client.get("/metrics", headers=fordra.auth(Role.OPS_LEAD))
    assert r.status_code == 200, r.text
    found = re.findall(
        rf'^handler_failures_total\{{[^}}]*consumer="{consumer}"[^}}]*'
        rf'event_type="InvoiceIssued"[^}}]*\}} (\S+)$',
        r.text,
        re.M,
    )
    return sum(float(v) for v in found)


async def parked_gauge(fordra: Running, consumer: str) -> float:
    r = await fordra.client.get("/metrics", headers=fordra.auth(Role.OPS_LEAD))
    assert r.status_code == 200, r.text
    found = re.search(
        rf'^fordra_parked_events\{{[^}}]*consumer="{consumer}"[^}}]*\}} (\S+)$', r.text, re.M
    )
    assert found, r.text
    return float(found.group(1))


def no_personal_data(text: str) -> None:
    for secret in (PERSON["id_number"], "121212-1212", "Tolvan", OTHER["name"]):
        assert secret not in text


async def append_legacy_invoice(fordra: Running, like: dict[str, Any], total_ore: int) -> str:
    """Append, through the store as an older version without bounds would have, a copy of the
    InvoiceIssued of ``like`` with ``total_ore``: the event passes the store (JSON holds it) and
    breaks every read model that keeps amounts in 64-bit integers. Answers its event id."""
    store = fordra.platform.stores["invoicing"]
    (issued,) = [
        e
        for e in await store.read_log(0, 1000)
        if e.event_type == "InvoiceIssued" and e.payload["invoice_id"] == like["invoice_id"]
    ]
    invoice_id = str(uuid.uuid4())
    poison = dataclasses.replace(
        issued,
        event_id=str(uuid.uuid4()),
        stream_id=issued.stream_id.replace(like["invoice_id"], invoice_id),
        version=1,
        position=0,
        recorded_at=None,
        payload={
            **issued.payload,
            "invoice_id": invoice_id,
            "net_ore": total_ore,
            "total_ore": total_ore,
        },
    )
    await store.append([StreamAppend(poison.stream_id, 0, [poison])])
    return poison.event_id


async def test_an_invoice_above_2_63_ore_already_stored_is_parked_and_the_rest_goes_on(
    engine: Engine, tmp_path: Path
) -> None:
    config = await engine_settings(engine, tmp_path, clock="manual")
    async with platform_on(engine, config) as fordra:
        # Given an invoice issued before amounts were bounded, above 2^63 öre, in the store
        tolvan = await customer(fordra)
        first = await issue(fordra, tolvan, 10_000)
        poison_id = await append_legacy_invoice(fordra, first, 2**63 + 10_000)

        # When another department issues an invoice to someone else
        agda = await customer(fordra, OTHER)
        later = await issue(fordra, agda, 25_000)  # asserts 201: no 503 after the settle timeout

        # Then the ledger shows the later invoice
        assert [i["invoice_id"] for i in (await ledger(fordra, agda))["invoices"]] == [
            later["invoice_id"]
        ]
        # and the customer ledger parked the poison event, with its error and without personal data
        r = await fordra.client.get(PARKED_URL, headers=fordra.auth(Role.ADMIN))
        assert r.status_code == 200, r.text
        no_personal_data(r.text)
        mine = [e for e in r.json()["events"] if e["event_id"] == poison_id]
        by_consumer = {e["consumer"]: e for e in mine}
        assert "projection:customer_ledger" in by_consumer, r.text
        record = by_consumer["projection:customer_ledger"]
        assert record["event_type"] == "InvoiceIssued"
        assert record["upstream"] == "invoicing"
        assert record["state"] == "parked"
        assert record["error"]
        # and /healthz says degraded, naming the consumers, and /metrics counts it
        status = await health(fordra)
        assert status["status"] == "degraded"
        assert "projection:customer_ledger" in status["consumers"]
        assert status["parked_events"] >= 1
        assert await parked_gauge(fordra, "projection:customer_ledger") == 1
        # and every failed attempt is counted, as the failures of that consumer on that event
        assert await handler_failures(fordra, "projection:customer_ledger") >= 3

        # When an operator replays it before the code is fixed
        r = await fordra.client.post(
            f"{PARKED_URL}/{record['id']}/replay", headers=fordra.auth(Role.OPS_LEAD)
        )
        # Then it fails again, says why, and stays parked
        assert r.status_code == 409, r.text
        no_personal_data(r.text)
        assert r.json()["event"]["state"] == "parked"
        assert (await health(fordra))["status"] == "degraded"

    # When the platform restarts on the same data
    async with platform_on(engine, config) as fordra:
        # Then the event is still parked and reported, and nothing loops on it: commands answer
        assert (await health(fordra))["status"] == "degraded"
        assert poison_id in {e["event_id"] for e in await parked(fordra)}
        again = await issue(fordra, agda, 30_000)
        shown = {i["invoice_id"] for i in (await ledger(fordra, agda))["invoices"]}
        assert shown == {later["invoice_id"], again["invoice_id"]}


async def test_an_operator_replays_a_parked_event_once_the_code_is_fixed(
    engine: Engine, tmp_path: Path
) -> None:
    config = await engine_settings(engine, tmp_path, clock="manual")
    flaky = FlakyProjection()
    async with platform_on(engine, config, flaky) as fordra:
        # Given a read model that cannot apply one customer's invoice
        tolvan = await customer(fordra)
        agda = await customer(fordra, OTHER)
        flaky.broken.add(tolvan)
        assert (await health(fordra))["status"] == "ok"

        # When that invoice is issued, and another one after it
        poison = await issue(fordra, tolvan, 10_000)
        later = await issue(fordra, agda, 20_000)

        # Then the read model shows the later one, and the poison is parked
        await wait_until(lambda: _has(flaky, fordra, later["invoice_id"]), "flaky caught up")
        assert poison["invoice_id"] not in await flaky.shown(fordra)
        (record,) = [
            e for e in await parked(fordra) if e["consumer"] == "projection:flaky_invoices"
        ]
        assert record["error"].startswith("ValueError: no tariff for [masked]")
        no_personal_data(str(record))
        # and the other projections are not concerned
        assert (await health(fordra))["consumers"] == ["projection:flaky_invoices"]
        assert await parked_gauge(fordra, "projection:flaky_invoices") == 1
        assert await parked_gauge(fordra, "projection:customer_ledger") == 0
        # and only an operator may see or replay it
        for role in (Role.CASE_OFFICER, Role.DEPARTMENT):
            scope = {"department": "childcare"} if role is Role.DEPARTMENT else {}
            headers = fordra.auth(role, **scope)
            assert (await fordra.client.get(PARKED_URL, headers=headers)).status_code == 403
            replay = f"{PARKED_URL}/{record['id']}/replay"
            assert (await fordra.client.post(replay, headers=headers)).status_code == 403

    # When the platform restarts (the code fixed in the new version) and an operator replays it
    flaky = FlakyProjection()
    async with platform_on(engine, config, flaky) as fordra:
        assert (await health(fordra))["status"] == "degraded"
        r = await fordra.client.post(
            f"{PARKED_URL}/{record['id']}/replay", headers=fordra.auth(Role.ADMIN)
        )
        # Then it is applied, marked replayed, and the platform is healthy again
        assert r.status_code == 200, r.text
        assert r.json()["applied"] is True
        assert r.json()["event"]["state"] == "replayed"
        assert r.json()["event"]["replayed_at"]
        assert await flaky.shown(fordra) == {poison["invoice_id"], later["invoice_id"]}
        assert (await health(fordra))["status"] == "ok"
        assert await parked_gauge(fordra, "projection:flaky_invoices") == 0
        assert await parked(fordra) == []
        # and a second replay changes nothing
        r = await fordra.client.post(
            f"{PARKED_URL}/{record['id']}/replay", headers=fordra.auth(Role.ADMIN)
        )
        assert r.status_code == 200, r.text
        assert r.json()["applied"] is False
        assert await flaky.shown(fordra) == {poison["invoice_id"], later["invoice_id"]}
        # and the record stays listed among the replayed
        r = await fordra.client.get(
            f"{PARKED_URL}?include_replayed=true", headers=fordra.auth(Role.ADMIN)
        )
        assert [e["state"] for e in r.json()["events"]] == ["replayed"]
        # and an unknown one is a 404
        r = await fordra.client.post(f"{PARKED_URL}/999999/replay", headers=fordra.auth())
        assert r.status_code == 404, r.text


async def test_a_process_manager_parks_and_replays_an_event_once(
    engine: Engine, tmp_path: Path
) -> None:
    config = await engine_settings(engine, tmp_path, clock="manual")
    reaction = FlakyReaction()
    async with platform_on(engine, config, reaction=reaction) as fordra:
        # Given a process manager that cannot react to one customer's invoice
        tolvan = await customer(fordra)
        agda = await customer(fordra, OTHER)
        reaction.broken.add(tolvan)
        # When it is issued, and another one after it
        poison = await issue(fordra, tolvan, 10_000)
        later = await issue(fordra, agda, 20_000)
        # Then the manager reacts to the later one and parks the poison
        await wait_until(lambda: _reacted(reaction, later["invoice_id"]), "the manager went on")
        (record,) = await parked(fordra)
        assert record["consumer"] == "process:flaky"
        assert record["error"].startswith("KeyError")
        assert (await health(fordra))["consumers"] == ["process:flaky"]

        # When the code is fixed and an operator replays it, twice
        reaction.broken.clear()
        url = f"{PARKED_URL}/{record['id']}/replay"
        first = await fordra.client.post(url, headers=fordra.auth(Role.OPS_LEAD))
        second = await fordra.client.post(url, headers=fordra.auth(Role.OPS_LEAD))
        # Then it reacted once, and the platform is healthy again
        assert first.status_code == 200, first.text
        assert (first.json()["applied"], second.json()["applied"]) == (True, False)
        assert reaction.reacted[-1] == poison["invoice_id"]
        assert reaction.reacted.count(poison["invoice_id"]) == 1
        assert (await health(fordra))["status"] == "ok"


async def _reacted(reaction: FlakyReaction, invoice_id: str) -> bool:
    return invoice_id in reaction.reacted


async def _has(flaky: FlakyProjection, fordra: Running, invoice_id: str) -> bool:
    return invoice_id in await flaky.shown(fordra)
