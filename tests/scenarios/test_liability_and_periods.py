"""Who is liable for water and waste, and which period an invoice bills (seed 001, domain.md §2),
over HTTP on both engines (issue 9)."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from fordra.contracts.invoicing import InvoiceIssued
from fordra.kernel.auth import Role
from tests.utils.money import correct
from tests.utils.platform import Engine, Running, record_ownership, running_platform

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}
COMPANY = {**PERSON, "id_number": "556016-0680", "name": "Kalles Plåt AB"}


def water(customer_id: str, invoice_date: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": customer_id,
        "department": "water",
        "service_type": "water",
        "invoice_date": invoice_date,
        "lines": [{"description": "Vatten och avlopp", "unit_price_ore": 80000, "vat_rate": 25}],
    }
    body.update(extra)
    return body


async def register(fordra: Running, person: dict[str, Any] = PERSON) -> str:
    r = await fordra.client.post("/api/v1/customers", json=person, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


async def advance(fordra: Running, to: str) -> None:
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": to}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text


async def test_the_property_owner_is_liable_for_water_and_waste(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        department = fordra.auth(Role.DEPARTMENT, department="water")
        store = fordra.platform.stores["invoicing"]
        cid = await register(fordra)
        before = await store.max_position()
        # Given a customer with no property recorded
        # When the water department invoices them
        r = await fordra.client.post(
            "/api/v1/invoices", json=water(cid, "2026-03-02"), headers=department
        )
        # Then it is refused: the owner is liable, and nobody recorded them as one
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "customer_id"]
        assert r.json()["detail"][0]["type"] == "property_owner_liable"
        # and so is waste on a water invoice (co-billing keeps each line's service)
        other = water(cid, "2026-03-02", service_type="other")
        other["lines"][0]["service_type"] = "waste"
        r = await fordra.client.post("/api/v1/invoices", json=other, headers=department)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["type"] == "property_owner_liable"
        assert await store.max_position() == before

        # Given an ownership that ended before the invoice date, and one that did not
        await record_ownership(
            fordra, cid, property_designation="Mårdaklev 2:1", owned_from="2010-01-01"
        )
        r = await fordra.client.post(
            f"/api/v1/customers/{cid}/properties",
            json={
                "property_designation": "Hillared 3:4",
                "owned_from": "2010-01-01",
                "owned_until": "2025-12-31",
            },
            headers=department,
        )
        assert r.status_code == 200, r.text
        # When the invoice names the property sold
        r = await fordra.client.post(
            "/api/v1/invoices",
            json=water(cid, "2026-03-02", property_designation="Hillared 3:4"),
            headers=department,
        )
        # Then it is refused, naming the property
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "property_designation"]
        # And an invoice for the property still owned is issued, the property printed on it
        r = await fordra.client.post(
            "/api/v1/invoices", json=water(cid, "2026-03-02"), headers=department
        )
        assert r.status_code == 201, r.text
        html = await fordra.client.get(
            f"/api/v1/invoices/{r.json()['invoice_id']}/document", headers=department
        )
        assert "Mårdaklev 2:1" in html.text

        # Given another customer with no property, when the department overrides explicitly
        tenant = await register(fordra, {**PERSON, "id_number": "196501022773"})
        reason = "Dödsbo: fastigheten ännu inte lagfaren, dödsboet betalar"
        r = await fordra.client.post(
            "/api/v1/invoices",
            json=water(tenant, "2026-03-02", owner_override_reason=reason),
            headers=department,
        )
        # Then the invoice is issued and keeps the reason and who gave it
        assert r.status_code == 201, r.text
        (env,) = await store.read_stream(f"invoice-{r.json()['invoice_id']}")
        issued = fordra.platform.registry.load_as(env, InvoiceIssued)
        assert issued.owner_override_reason == reason
        assert issued.owner_override_by == env.metadata.actor
        assert issued.owner_override_by.startswith("department:water")


async def test_water_periods_do_not_overlap_from_one_invoice_to_the_next(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 7, 6)) as fordra:
        admin = fordra.auth()
        cid = await register(fordra)
        await record_ownership(fordra, cid)
        # Given a summer invoice, billed at the start of its period: July to September
        r = await fordra.client.post(
            "/api/v1/invoices", json=water(cid, "2026-07-06"), headers=admin
        )
        assert r.status_code == 201, r.text
        assert (r.json()["billing_period_start"], r.json()["billing_period_end"]) == (
            "2026-07-01",
            "2026-09-30",
        )
        # When October's invoice comes (two months in arrears + the current month: August on)
        await advance(fordra, "2026-10-05")
        r = await fordra.client.post(
            "/api/v1/invoices", json=water(cid, "2026-10-05"), headers=admin
        )
        # Then it bills October only: August and September are billed already
        assert r.status_code == 201, r.text
        october = r.json()
        assert (october["billing_period_start"], october["billing_period_end"]) == (
            "2026-10-01",
            "2026-10-31",
        )
        # And a third invoice that month, or one naming a period already billed, is refused
        for body in (
            water(cid, "2026-10-05"),
            water(cid, "2026-10-05", billing_period={"start": "2026-09-01", "end": "2026-09-30"}),
        ):
            r = await fordra.client.post("/api/v1/invoices", json=body, headers=admin)
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["loc"] == ["body", "billing_period"]
            assert r.json()["detail"][0]["type"] == "billing_periods_do_not_overlap"
        # But once October's invoice is cancelled (asked for and attested), October can be
        # billed again
        r = await correct(fordra, october["invoice_id"], "cancellation")
        assert r.status_code == 200, r.text
        r = await fordra.client.post(
            "/api/v1/invoices", json=water(cid, "2026-10-05"), headers=admin
        )
        assert r.status_code == 201, r.text
        assert r.json()["billing_period_start"] == "2026-10-01"
        # And another property of the same owner has periods of its own
        await record_ownership(fordra, cid, property_designation="Mårdaklev 2:1")
        r = await fordra.client.post(
            "/api/v1/invoices",
            json=water(cid, "2026-10-05", property_designation="Mårdaklev 2:1"),
            headers=admin,
        )
        assert r.status_code == 201, r.text
        assert r.json()["billing_period_start"] == "2026-08-01"


async def test_a_december_music_school_invoice_covers_the_coming_term(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 12, 1)) as fordra:
        admin = fordra.auth()
        cid = await register(fordra, COMPANY)
        # Given the music school's fee, billed per term in advance (seed 001)
        body = {
            "customer_id": cid,
            "department": "music",
            "service_type": "music_school",
            "invoice_date": "2026-12-01",
            "lines": [{"description": "Terminsavgift", "unit_price_ore": 90000, "vat_rate": 0}],
        }
        # When it is invoiced in December
        r = await fordra.client.post("/api/v1/invoices", json=body, headers=admin)
        # Then it covers the coming spring term
        assert r.status_code == 201, r.text
        assert (r.json()["billing_period_start"], r.json()["billing_period_end"]) == (
            "2027-01-01",
            "2027-06-30",
        )
        # And the period is printed on the invoice, on paper and in the e-invoice
        doc = f"/api/v1/invoices/{r.json()['invoice_id']}/document"
        html = await fordra.client.get(doc, headers=admin)
        assert "2027-01-01 – 2027-06-30" in html.text
        pdf = await fordra.client.get(doc, params={"format": "pdf"}, headers=admin)
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "2027-01-01" in text
        assert "2027-06-30" in text
        ubl = await fordra.client.get(doc, params={"format": "peppol"}, headers=admin)
        assert ubl.status_code == 200, ubl.text
        assert b"<cac:InvoicePeriod>" in ubl.content
        assert b"<cbc:StartDate>2027-01-01</cbc:StartDate>" in ubl.content
        assert b"<cbc:EndDate>2027-06-30</cbc:EndDate>" in ubl.content
