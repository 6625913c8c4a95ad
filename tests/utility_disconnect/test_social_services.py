"""The social welfare board's queue on both engines (issue 16, ellagen 11:4, domain.md §6): the
notice puts a message in the queue of the board where the electricity is delivered, with the
name, the site address, the debt and (once served) the deadline; another municipality's board sees
nothing of it; the board acknowledges it once, and its written takeover within the 3 weeks stops
the disconnection. A protected identity's name and address are never shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from tests.scenarios.test_dunning_flow import advance
from tests.utility_disconnect.test_disconnection_cases import (
    TODAY,
    act,
    cases_of,
    open_case,
    rule_of,
    step,
)
from tests.utility_disconnect.test_supply_points import (
    PERSON,
    customer,
    electricity_invoice,
    supply_point,
)
from tests.utils.platform import Engine, Running, running_platform


def board(fordra: Running, municipality: str) -> dict[str, str]:
    return fordra.auth(Role.SOCIAL_SERVICES, municipality=municipality)


async def queue(fordra: Running, municipality: str) -> list[dict[str, Any]]:
    r = await fordra.client.get(
        "/api/v1/social-services/notifications", headers=board(fordra, municipality)
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def noticed_case(fordra: Running, person: dict[str, Any]) -> tuple[str, str]:
    """A customer's flat in Tranemo with 1,200 kr of supply unpaid since 2026-02-02, taken to the
    notice on 2026-03-16: the customer and the case."""
    cid = await customer(fordra, person)
    flat = await supply_point(
        fordra, cid, site_municipality="Tranemo", site_address="Ågatan 3, 514 30 Tranemo"
    )
    await electricity_invoice(
        fordra, cid, flat, ("electricity_supply", 120_000), invoice_date="2026-01-02"
    )
    await advance(fordra, "2026-02-16")
    case_id = (await open_case(fordra, flat))["case_id"]
    await step(fordra, case_id)
    await advance(fordra, "2026-02-27")
    await step(fordra, case_id)
    await advance(fordra, "2026-03-16")
    assert (await step(fordra, case_id))["kind"] == "notice"
    return cid, case_id


async def test_the_board_where_the_electricity_is_delivered_is_told_and_takes_over(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a notice sent on 2026-03-16 for a flat in Tranemo of a customer of Svenljunga
        cid, case_id = await noticed_case(fordra, PERSON)
        # Then Tranemo's board has the message, with whom and what, no deadline before service
        (message,) = await queue(fordra, "Tranemo")
        assert message == {
            "notification_id": message["notification_id"],
            "case_id": case_id,
            "customer_id": cid,
            "name": "Tolvan Tolvansson",
            "site_address": "Ågatan 3, 514 30 Tranemo",
            "protected_identity": False,
            "debt_ore": 120_000,
            "noticed_on": "2026-03-16",
            "deadline": None,
            "acknowledged_on": None,
            "taken_over_on": None,
        }
        # And Svenljunga's board sees nothing of it, nor may it act on it
        assert await queue(fordra, "Svenljunga") == []
        notification = message["notification_id"]
        r = await fordra.client.post(
            f"/api/v1/social-services/notifications/{notification}/acknowledge",
            headers=board(fordra, "Svenljunga"),
        )
        assert r.status_code == 404, r.text
        # When the notice is served, the deadline is the last day of the 3 weeks
        await advance(fordra, "2026-04-07")
        r = await act(fordra, case_id, "service", {"served_on": "2026-04-07"})
        assert r.status_code == 200, r.text
        assert (await queue(fordra, "tranemo"))[0]["deadline"] == "2026-04-28"
        # And the board acknowledges it, once
        await advance(fordra, "2026-04-08")
        url = f"/api/v1/social-services/notifications/{notification}"
        first = await fordra.client.post(f"{url}/acknowledge", headers=board(fordra, "Tranemo"))
        assert first.status_code == 200, first.text
        await advance(fordra, "2026-04-09")
        again = await fordra.client.post(f"{url}/acknowledge", headers=board(fordra, "Tranemo"))
        assert again.json()["acknowledged_on"] == first.json()["acknowledged_on"] == "2026-04-08"
        # When the board writes that it takes over the debt after the 3 weeks: refused
        r = await fordra.client.post(
            f"{url}/takeover", json={"written_on": "2026-04-29"}, headers=board(fordra, "Tranemo")
        )
        assert rule_of(r) == "board_takeover_within_three_weeks"
        # And within them: the case stops, and no order may follow
        r = await fordra.client.post(
            f"{url}/takeover", json={"written_on": "2026-04-09"}, headers=board(fordra, "Tranemo")
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "stopped"
        (case,) = await cases_of(fordra, cid)
        assert [b["reason"] for b in case["blocks"]] == ["board_takeover"]
        assert (await queue(fordra, "Tranemo"))[0]["taken_over_on"] == "2026-04-09"
        await advance(fordra, "2026-04-29")
        assert rule_of(await act(fordra, case_id, "order", {"date": "2026-04-29"})) == "case_ended"


async def test_a_protected_identity_is_not_named_to_the_board(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        await noticed_case(fordra, {**PERSON, "protected_identity": True})
        (message,) = await queue(fordra, "Tranemo")
        assert (message["name"], message["site_address"], message["protected_identity"]) == (
            None,
            None,
            True,
        )
