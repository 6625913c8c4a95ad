"""Supply points over HTTP on the embedded engine (issue 16): registering one for a known
customer, its risks, an invoice naming it, and the assessment reading its claims (domain.md §6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fordra.contracts import all_contracts
from fordra.contracts.invoicing import InvoiceIssued, InvoiceLine, VatBreakdown
from fordra.contracts.utility_disconnect import SupplyPointRegistered, SupplyPointRiskRecorded
from fordra.kernel.auth import Role
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import EventRegistry
from fordra.kernel.projection import ProjectionRunner
from fordra.utility_disconnect.application.electricity_claims import SupplyPointClaimsProjection
from tests.scenarios.test_dunning_flow import advance, pay
from tests.utils.platform import Running, record_ownership, running_platform

TODAY = date(2026, 3, 2)
PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}
ORGANISATION = {
    "id_number": "5560160680",
    "name": "Elverket AB",
    "address": {"street": "Industrigatan 4", "postal_code": "512 50", "city": "Svenljunga"},
}


async def customer(fordra: Running, body: dict[str, Any] = PERSON) -> str:
    r = await fordra.client.post("/api/v1/customers", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


def point_body(customer_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "utility": "electricity",
        "site_address": "Storgatan 1, 512 50 Svenljunga",
        "site_municipality": "Svenljunga",
        "annual_cost_ore": 180_000,
        "category": "apartment",
        "property_designation": "Svenljunga Kyrkan 1:23",
        **extra,
    }


async def supply_point(fordra: Running, customer_id: str, **extra: Any) -> str:
    r = await fordra.client.post(
        "/api/v1/supply-points",
        json=point_body(customer_id, **extra),
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["supply_point_id"])


async def electricity_invoice(
    fordra: Running,
    customer_id: str,
    supply_point_id: str | None,
    *parts: tuple[str, int],
    invoice_date: str = "2026-03-02",
    extra_lines: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """An electricity invoice with a line per (service type, amount incl. 25 % VAT)."""
    lines = [
        {
            "description": "Elnät" if service == "electricity_grid" else "Elhandel",
            "unit_price_ore": gross * 4 // 5,
            "vat_rate": 25,
            "service_type": service,
        }
        for service, gross in parts
    ]
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "department": "energi",
        "service_type": parts[0][0],
        "invoice_date": invoice_date,
        "lines": [*lines, *extra_lines],
    }
    if supply_point_id is not None:
        body["supply_point_id"] = supply_point_id
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def assessment(fordra: Running, supply_point_id: str) -> dict[str, Any]:
    r = await fordra.client.get(
        f"/api/v1/disconnection/assessments/{supply_point_id}",
        headers=fordra.auth(Role.CASE_OFFICER),
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def events_of(fordra: Running, context: str, kind: type[Any]) -> list[Any]:
    store = fordra.platform.stores[context]
    return [
        fordra.platform.registry.load(e)
        for e in await store.read_log(0, limit=100_000)
        if e.event_type == kind.event_type
    ]


async def test_a_supply_point_is_registered_read_and_given_a_risk(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a customer
        cid = await customer(fordra)
        # When a case officer registers a supply point and records a medical risk on it
        sp = await supply_point(fordra, cid)
        r = await fordra.client.post(
            f"/api/v1/supply-points/{sp}/risks",
            json={"kind": "medical_equipment", "note": "Syrgasapparat i hemmet"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 201, r.text
        assert r.json()["recorded_on"] == "2026-03-02"
        # Then the point reads back with its risk
        r = await fordra.client.get(
            f"/api/v1/supply-points/{sp}", headers=fordra.auth(Role.OPS_LEAD)
        )
        assert r.status_code == 200, r.text
        view = r.json()
        assert view["customer_id"] == cid
        assert view["site_municipality"] == "Svenljunga"
        assert view["site_address"] == "Storgatan 1, 512 50 Svenljunga"
        assert view["annual_cost_ore"] == 180_000
        assert [(k["kind"], k["note"]) for k in view["risks"]] == [
            ("medical_equipment", "Syrgasapparat i hemmet")
        ]
        # And the events are public, the site address and the note in their sealed part
        (registered,) = await events_of(fordra, "utility-disconnect", SupplyPointRegistered)
        assert registered.site is not None
        assert registered.site.site_address == "Storgatan 1, 512 50 Svenljunga"
        (risk,) = await events_of(fordra, "utility-disconnect", SupplyPointRiskRecorded)
        assert risk.kind == "medical_equipment"
        (stored,) = [
            e
            for e in await fordra.platform.stores["utility-disconnect"].read_stream(
                f"supply-point-{sp}"
            )
            if e.event_type == SupplyPointRegistered.event_type
        ]
        assert stored.data_subject == cid
        assert "Storgatan" not in str(stored.payload)
        # On disk the store holds them sealed: no plain address or note in its file
        files = sorted(tmp_path.glob("utility-disconnect.sqlite*"))  # noqa: ASYNC240 - a test's read
        on_disk = b"".join(f.read_bytes() for f in files)  # the database and its write-ahead log
        assert b"medical_equipment" in on_disk  # what is not personal is there in plain
        assert b"Storgatan 1, 512 50" not in on_disk
        assert b"Syrgasapparat" not in on_disk
        # The same risk twice is refused, naming the rule
        r = await fordra.client.post(
            f"/api/v1/supply-points/{sp}/risks",
            json={"kind": "medical_equipment", "note": "Syrgasapparat i hemmet"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 422, r.text
        assert "already recorded" in r.text


async def test_bad_input_is_refused_naming_what_is_wrong(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        auth = fordra.auth(Role.CASE_OFFICER)
        cases = [
            (point_body("no-such-customer"), "customer_id", "not in the customer register"),
            (point_body(cid, utility="gas"), "utility", ""),
            (point_body(cid, category="castle"), "category", ""),
            (point_body(cid, annual_cost_ore=0), "annual_cost_ore", ""),
            (point_body(cid, site_municipality=""), "site_municipality", ""),
        ]
        for body, field, words in cases:
            r = await fordra.client.post("/api/v1/supply-points", json=body, headers=auth)
            assert r.status_code == 422, (field, r.text)
            assert field in r.text
            assert words in r.text
        # Nothing was written
        assert await events_of(fordra, "utility-disconnect", SupplyPointRegistered) == []
        # A point that does not exist
        r = await fordra.client.get("/api/v1/supply-points/nope", headers=auth)
        assert r.status_code == 404, r.text
        r = await fordra.client.get("/api/v1/disconnection/assessments/nope", headers=auth)
        assert r.status_code == 404, r.text


async def test_a_repeated_registration_changes_nothing(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        headers = {**fordra.auth(Role.CASE_OFFICER), "Idempotency-Key": "sp-1"}
        first = await fordra.client.post(
            "/api/v1/supply-points", json=point_body(cid), headers=headers
        )
        again = await fordra.client.post(
            "/api/v1/supply-points", json=point_body(cid), headers=headers
        )
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert len(await events_of(fordra, "utility-disconnect", SupplyPointRegistered)) == 1


async def test_an_invoice_names_its_supply_point_checked_for_shape(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        sp = await supply_point(fordra, cid)
        body = {
            "customer_id": cid,
            "department": "energi",
            "service_type": "electricity_supply",
            "invoice_date": "2026-03-02",
            "lines": [{"description": "Elhandel", "unit_price_ore": 8_000, "vat_rate": 25}],
            "supply_point_id": "not a supply point id",
        }
        r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
        assert r.status_code == 422, r.text
        assert "supply_point_id" in r.text
        invoice = await electricity_invoice(fordra, cid, sp, ("electricity_supply", 10_000))
        plain = await electricity_invoice(fordra, cid, None, ("electricity_supply", 10_000))
        issued = {e.invoice_id: e for e in await events_of(fordra, "invoicing", InvoiceIssued)}
        assert issued[invoice["invoice_id"]].supply_point_id == sp
        assert issued[plain["invoice_id"]].supply_point_id is None


async def test_the_assessment_counts_only_the_points_overdue_electricity_capital(
    tmp_path: Path,
) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a small flat (annual cost 1,800 kr) and an invoice of 1,200 kr of supply with
        # 5,000 kr of water on it, due 2026-04-01
        cid = await customer(fordra)
        await record_ownership(fordra, cid)  # the owner is liable for the water (seed 001)
        sp = await supply_point(fordra, cid)
        other = await supply_point(fordra, cid)
        water = {
            "description": "Vatten",
            "unit_price_ore": 400_000,
            "vat_rate": 25,
            "service_type": "water",
        }
        inv = await electricity_invoice(
            fordra, cid, sp, ("electricity_supply", 120_000), extra_lines=(water,)
        )
        # and a large electricity invoice of another supply point, and one of another customer
        # naming this point by mistake
        await electricity_invoice(fordra, cid, other, ("electricity_grid", 900_000))
        stranger = await customer(fordra, ORGANISATION)
        await electricity_invoice(fordra, stranger, sp, ("electricity_grid", 900_000))
        # Before the due date nothing is overdue
        result = await assessment(fordra, sp)
        assert result["result"] == "not_material"
        assert result["inputs"]["parts"]["electricity_supply"]["overdue_invoices"] == []

        # When the due date passes, then the supply part alone is material: 1,200 kr
        await advance(fordra, "2026-04-02")
        result = await assessment(fordra, sp)
        assert result["result"] == "material", result
        supply = result["inputs"]["parts"]["electricity_supply"]
        assert supply["overdue_invoices"] == [
            {
                "invoice_id": inv["invoice_id"],
                "invoice_number": inv["invoice_number"],
                "due_date": "2026-04-01",
                "open_capital_ore": 120_000,
                "disputed": False,
            }
        ]
        assert result["inputs"]["parts"]["electricity_grid"]["overdue_invoices"] == []
        assert result["inputs"]["thresholds"]["floor_ore"] == 100_000
        assert result["inputs"]["thresholds"]["share_of_annual_cost_ore"] == 60_000
        assert result["inputs"]["on"] == "2026-04-02"
        assert "single claim" in result["reason"]

        # When 300 kr is paid, the electricity is paid first (domain.md §3): 900 kr stays open,
        # which is under the floor
        await pay(fordra, inv["ocr"], "300.00", "P1")
        result = await assessment(fordra, sp)
        assert result["result"] == "not_material", result
        assert result["inputs"]["parts"]["electricity_supply"]["overdue_capital_ore"] == 90_000

        # And the read model rebuilt from zero, payments' log before invoicing's, is the same
        platform = fordra.platform
        (runner,) = [
            sub.consumer
            for sub in platform.subscriptions
            if isinstance(sub.consumer, ProjectionRunner)
            and isinstance(sub.consumer.projection, SupplyPointClaimsProjection)
        ]
        assert platform.bus is not None
        await platform.bus.stop()
        await runner.reset()
        for upstream in sorted(runner.projection.upstreams, reverse=True):
            await runner.handle(upstream, await platform.stores[upstream].read_log(0, 100_000))
        await platform.bus.start()
        assert await assessment(fordra, sp) == result


async def test_a_business_customer_is_refused(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        org = await customer(fordra, ORGANISATION)
        sp = await supply_point(fordra, org, category="house")
        await electricity_invoice(fordra, org, sp, ("electricity_supply", 500_000))
        await advance(fordra, "2026-04-02")
        result = await assessment(fordra, sp)
        assert result["result"] == "refused"
        assert "consumers only" in result["reason"]
        assert result["inputs"]["customer_kind"] == "organisation"


async def test_a_water_point_is_not_assessed_under_ellagen(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra)
        sp = await supply_point(fordra, cid, utility="water")
        r = await fordra.client.get(
            f"/api/v1/disconnection/assessments/{sp}", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 422, r.text
        assert "electricity only" in r.text


async def correct(fordra: Running, invoice_id: str, kind: str) -> None:
    """A credit note or cancellation asked for by a case officer and attested by an ops lead."""
    r = await fordra.client.post(
        f"/api/v1/invoices/{invoice_id}/{kind}",
        json={"reason": "fel mätarställning"},
        headers=fordra.auth(Role.CASE_OFFICER, subject="anna"),
    )
    assert r.status_code == 202, r.text
    r = await fordra.client.post(
        f"/api/v1/correction-requests/{r.json()['request_id']}/attest",
        headers=fordra.auth(Role.OPS_LEAD, subject="olle"),
    )
    assert r.status_code in (200, 201), r.text


async def test_credit_notes_cancellations_and_disputes_reach_the_assessment(
    tmp_path: Path,
) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given three close unpaid grid invoices of 200 kr, 300 kr and 400 kr
        cid = await customer(fordra)
        sp = await supply_point(fordra, cid)
        invoices = []
        for day, ore in (("2026-03-02", 20_000), ("2026-04-02", 30_000), ("2026-05-04", 40_000)):
            await advance(fordra, day)
            invoices.append(
                await electricity_invoice(
                    fordra, cid, sp, ("electricity_grid", ore), invoice_date=day
                )
            )
        await advance(fordra, "2026-06-10")
        assert (await assessment(fordra, sp))["result"] == "material"

        # When the last is disputed: still counted, and named as disputed
        r = await fordra.client.post(
            f"/api/v1/invoices/{invoices[2]['invoice_id']}/dispute",
            json={"reason": "bestrider"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        assert r.status_code == 200, r.text
        result = await assessment(fordra, sp)
        grid = result["inputs"]["parts"]["electricity_grid"]
        assert [i["disputed"] for i in grid["overdue_invoices"]] == [False, False, True]

        # When the first is credited in full and the second cancelled, one invoice is left
        await correct(fordra, invoices[0]["invoice_id"], "credit-notes")
        await correct(fordra, invoices[1]["invoice_id"], "cancellation")
        result = await assessment(fordra, sp)
        assert result["result"] == "not_material", result
        grid = result["inputs"]["parts"]["electricity_grid"]
        assert [i["invoice_id"] for i in grid["overdue_invoices"]] == [invoices[2]["invoice_id"]]
        assert grid["overdue_capital_ore"] == 40_000


async def test_a_protected_customers_site_address_is_not_shown(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        cid = await customer(fordra, {**PERSON, "protected_identity": True})
        sp = await supply_point(fordra, cid)
        await fordra.client.post(
            f"/api/v1/supply-points/{sp}/risks",
            json={"kind": "electric_heating_in_winter", "note": "Eluppvärmt hus, barn i hemmet"},
            headers=fordra.auth(Role.CASE_OFFICER),
        )
        r = await fordra.client.get(f"/api/v1/supply-points/{sp}", headers=fordra.auth())
        assert r.status_code == 200, r.text
        view = r.json()
        assert view["protected_identity"] is True
        assert view["site_address"] is None
        assert view["site_municipality"] == "Svenljunga"  # where the board is told
        assert [(k["kind"], k["note"]) for k in view["risks"]] == [
            ("electric_heating_in_winter", None)
        ]
        assert "Storgatan" not in r.text


def test_an_invoice_stored_before_supply_points_still_loads() -> None:
    # An InvoiceIssued stored before the field existed has no supply_point_id in its payload
    registry = EventRegistry()
    registry.register_all(all_contracts())
    line = InvoiceLine(
        description="Elhandel",
        service_type="electricity_supply",
        quantity=Decimal(1),
        unit_price_ore=8_000,
        vat_rate=25,
        net_ore=8_000,
    )
    issued = InvoiceIssued(
        invoice_id="i",
        customer_id="c",
        serial_number=1,
        invoice_number="1",
        ocr="18",
        department="energi",
        service_type="electricity_supply",
        invoice_date=TODAY,
        due_date=TODAY,
        payment_terms_days=30,
        lines=(line,),
        vat=(VatBreakdown(vat_rate=25, net_ore=8_000, vat_ore=2_000),),
        net_ore=8_000,
        vat_ore=2_000,
        total_ore=10_000,
    )
    env = registry.envelope(
        issued,
        context="invoicing",
        stream_id="invoice-i",
        version=1,
        metadata=Metadata("t", "a", "c"),
        occurred_at=datetime(2026, 3, 2, tzinfo=UTC),
    )
    old = {k: v for k, v in env.payload.items() if k != "supply_point_id"}
    loaded = registry.load_as(replace(env, payload=old), InvoiceIssued)
    assert loaded.supply_point_id is None
    assert loaded == issued
