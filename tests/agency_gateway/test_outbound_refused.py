"""A message the agency refuses as such (an HTTP 4xx) is set aside for a person, not retried every
hour for ever; once its cause is put right, a case officer has it tried again (issue 15
"Outbound", domain/outbound.py). A pause the agency asks for (408, 425, 429) or an outage (5xx)
is still retried with the back-off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response

from fordra.agency_gateway.adapters.http_agency import HttpAgency
from fordra.agency_gateway.application.deps import AgencyDeps
from fordra.agency_gateway.application.outbound import OutboundDelivery
from fordra.agency_gateway.application.refused import retry_message
from fordra.agency_gateway.domain.delivery import DeliveryFailed, DeliveryRefused
from fordra.agency_gateway.domain.outbound import OutboundDelivered, OutboundRefused
from fordra.agency_gateway.reference_agency.server import ReferenceAgencyServer
from fordra.kernel.auth import Principal, Role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from tests.agency_gateway.test_outbound_delivery import (
    T0,
    Clock,
    FakeAgency,
    deps,  # noqa: F401  (the fixture)
    queue_claim,
    stream_of,
)
from tests.scenarios.test_agency_outbound import (
    SECRET,
    TODAY,
    agency_settings,
    eventually,
    free_port,
    hand_over,
)
from tests.scenarios.test_dunning_flow import customer
from tests.utils.platform import running_platform

OFFICER = Principal("officer", Role.CASE_OFFICER, "svenljunga")
META = Metadata("svenljunga", "officer", "c-1")


@dataclass
class RefusingAgency(FakeAgency):
    """An agency that refuses every message (its answer a 4xx) until told otherwise."""

    refusing: bool = True

    async def deliver(self, message_id: str, body: dict[str, Any], *, today: date) -> None:
        if self.refusing:
            self.calls += 1
            raise DeliveryRefused("http://agency refused the message: 401: bad signature")
        self.down = False
        await super().deliver(message_id, body, today=today)


async def test_the_http_adapter_tells_a_refusal_from_a_pause() -> None:
    # An agency's API (the edge we do not own) answering each path with its status
    agency = FastAPI()

    @agency.post("/{status}/api/v1/messages")
    async def answer(status: int) -> Response:
        return Response(status_code=status)

    for status, refused in ((400, True), (401, True), (404, True), (422, True), (408, False),
                            (429, False), (500, False), (503, False)):  # fmt: skip
        adapter = HttpAgency(
            f"http://agency/{status}", secret=SECRET, transport=httpx.ASGITransport(app=agency)
        )
        try:
            with pytest.raises(DeliveryFailed) as raised:
                await adapter.deliver("m-1", {"kind": "claim"}, today=date(2026, 4, 21))
        finally:
            await adapter.close()
        assert isinstance(raised.value, DeliveryRefused) is refused, status
        assert str(status) in str(raised.value)


async def test_a_refused_message_waits_for_a_person_then_goes(deps: AgencyDeps) -> None:  # noqa: F811
    # Given a claim the agency refuses
    agency, clock = RefusingAgency(), Clock()
    delivery = OutboundDelivery(deps, {"reference": agency}, now=clock)
    case_id = await queue_claim(deps)
    assert await delivery.deliver_due() == []
    (refused,) = [e for e in await stream_of(deps, case_id) if isinstance(e, OutboundRefused)]
    assert (refused.attempt, refused.kind, refused.agency) == (1, "claim", "reference")
    assert "401" in refused.error
    # Then it is not tried again, however long delivery runs
    clock.now = T0 + timedelta(days=2)
    assert await delivery.deliver_due() == []
    assert agency.calls == 1
    # When the cause is put right and a case officer has it retried, it goes at once, once
    agency.refusing = False
    outcome = await retry_message(case_id, deps, OFFICER, META)
    assert outcome.response.status == "queued"
    assert await delivery.deliver_due() == [case_id]
    assert list(agency.taken) == [case_id]
    delivered = [e for e in await stream_of(deps, case_id) if isinstance(e, OutboundDelivered)]
    assert [d.attempts for d in delivered] == [1]
    # And a message not refused (delivered now) or unknown is not retried
    with pytest.raises(DomainRuleViolation, match="delivered"):
        await retry_message(case_id, deps, OFFICER, META)
    with pytest.raises(NotFound):
        await retry_message("no-such-message", deps, OFFICER, META)


async def test_an_agency_that_changed_its_key_refuses_until_a_case_officer_retries(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with running_platform(
        "embedded", tmp_path / "fordra", today=TODAY, agency=agency_settings(port)
    ) as fordra:
        # Given the agency has changed its key without telling us: it refuses our signature
        rotated = ReferenceAgencyServer(
            tmp_path / "agency.sqlite",
            secret="the-agencys-new-key",
            fordra_url="http://fordra.test",
            port=port,
        )
        await rotated.start()
        try:
            await hand_over(fordra, await customer(fordra))
            officer = fordra.auth(Role.CASE_OFFICER)

            async def refused_list() -> list[dict[str, Any]]:
                r = await fordra.client.get("/api/v1/agency/outbound/refused", headers=officer)
                assert r.status_code == 200, r.text
                items: list[dict[str, Any]] = r.json()["items"]
                return items

            (item,) = await eventually(refused_list)
            assert (item["kind"], item["agency"], item["attempt"]) == ("claim", "reference", 1)
            assert "401" in item["error"]
            assert rotated.store.messages() == []
        finally:
            await rotated.stop()
        # When the agency goes back to the key agreed, and a case officer retries the message
        agreed = ReferenceAgencyServer(
            tmp_path / "agency.sqlite", secret=SECRET, fordra_url="http://fordra.test", port=port
        )
        await agreed.start()
        try:
            r = await fordra.client.post(
                f"/api/v1/agency/outbound/{item['message_id']}/retry", headers=officer
            )
            assert r.status_code == 200, r.text
            # Then the claim is delivered once and the list is empty
            (message,) = await eventually(lambda: agreed.store.messages("claim"))
            assert message["message_id"] == item["message_id"]
            assert await refused_list() == []
            again = await fordra.client.post(
                f"/api/v1/agency/outbound/{item['message_id']}/retry", headers=officer
            )
            assert again.status_code == 422, again.text
        finally:
            await agreed.stop()
