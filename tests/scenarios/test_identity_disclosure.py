"""Who learns a person's identity number (issue 10, item 2), on both engines: Skatteverket's
forwarding sheet shows a protected person's personnummer only to the role that may read protected
identities (audited), and registering a person who is already a customer tells a department
nothing it could not learn by registering a new one."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fordra.kernel.auth import Role
from tests.utils.platform import Engine, running_platform

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}
PROTECT = {"protected": True, "kind": "skyddad_folkbokforing", "reason": "beslut från SKV"}
INVOICE = {
    "department": "childcare",
    "service_type": "childcare",
    "invoice_date": "2026-02-20",
    "lines": [{"description": "Barnomsorg", "unit_price_ore": 50000, "vat_rate": 0}],
}


async def test_the_forwarding_sheet_masks_the_personnummer_but_for_the_protected_identity_role(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        c = fordra.client
        # Given a person with skyddad folkbokföring, invoiced by the childcare department
        r = await c.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
        cid = r.json()["customer_id"]
        officer = fordra.auth(Role.PROTECTED_IDENTITY_OFFICER)
        r = await c.put(
            f"/api/v1/customers/{cid}/protected-identity", json=PROTECT, headers=officer
        )
        assert r.status_code == 200, r.text
        childcare = fordra.auth(Role.DEPARTMENT, department="childcare")
        r = await c.post(
            "/api/v1/invoices", json={**INVOICE, "customer_id": cid}, headers=childcare
        )
        assert r.status_code == 201, r.text
        document = f"/api/v1/invoices/{r.json()['invoice_id']}/document"
        access = f"protected-access-{cid}"
        store = fordra.platform.stores["invoicing"]

        # When each role that may fetch the invoice fetches it, as HTML and as PDF
        for role, headers in [
            ("department", childcare),
            ("admin", fordra.auth()),
            ("case_officer", fordra.auth(Role.CASE_OFFICER)),
            ("ops_lead", fordra.auth(Role.OPS_LEAD)),
        ]:
            html = await c.get(document, headers=headers)
            pdf = await c.get(document, params={"format": "pdf"}, headers=headers)
            # Then the forwarding sheet is there, with the number masked, birth date included
            assert html.status_code == 200, (role, html.text)
            assert pdf.status_code == 200, role
            assert "Försändelse till person med skyddade personuppgifter" in html.text, role
            assert "XXXXXXXX-XXXX" in html.text, role
            assert "19121212" not in html.text, role
            assert "121212" not in html.text, role
            assert b"121212" not in pdf.content, role
            assert "låt dem skriva ut detta blad" in html.text, role
        assert await store.stream_version(access) == 0

        # When the protected-identity officer fetches it
        html = await c.get(document, headers=officer)
        # Then the inner envelope's marking is the full number, and the look is logged
        assert html.status_code == 200, html.text
        assert "19121212-1212" in html.text
        assert "låt dem skriva ut" not in html.text
        (seen,) = await store.read_stream(access)
        assert seen.event_type == "ProtectedIdentityAccessed"
        assert seen.payload["purpose"] == "forwarding sheet"


async def test_registering_a_known_person_tells_a_department_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        c = fordra.client
        store = fordra.platform.stores["invoicing"]
        childcare = fordra.auth(Role.DEPARTMENT, department="childcare")
        # Given a person in the register, with a protected identity
        r = await c.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
        assert r.status_code == 201, r.text
        cid = r.json()["customer_id"]
        protect = f"/api/v1/customers/{cid}/protected-identity"
        officer = fordra.auth(Role.PROTECTED_IDENTITY_OFFICER)
        assert (await c.put(protect, json=PROTECT, headers=officer)).status_code == 200

        # When the ones who keep the register register them again
        for role in (Role.ADMIN, Role.CASE_OFFICER):
            r = await c.post("/api/v1/customers", json=PERSON, headers=fordra.auth(role))
            # Then they are told the person is a customer already, and which
            assert r.status_code == 409, (role, r.text)
            assert r.json()["existing_id"] == cid
            assert r.json()["field"] == "id_number"

        # When a department registers a person nobody knew, and then the known one (written
        # without the dash, with a name and address of its own)
        other = {**PERSON, "id_number": "19800101-0019", "name": "Ny Person"}
        fresh = await c.post("/api/v1/customers", json=other, headers=childcare)
        before = await store.max_position()
        again = {**PERSON, "id_number": "191212121212", "name": "T. Tolvansson"}
        known = await c.post("/api/v1/customers", json=again, headers=childcare)

        # Then both answers look alike: the same status and fields, nothing about the register
        # (not its protection either), and the known person's id, so that they can be invoiced
        assert fresh.status_code == known.status_code == 201, (fresh.text, known.text)
        assert fresh.json().keys() == known.json().keys()
        assert known.json() == {
            "customer_id": cid,
            "kind": "person",
            "id_kind": "personnummer",
            "protected_identity": False,
        }
        assert "already" not in known.text
        # and nothing was written: the register keeps its own details of the person
        assert await store.max_position() == before
        # and asking again answers the same
        repeat = await c.post("/api/v1/customers", json=again, headers=childcare)
        assert (repeat.status_code, repeat.json()) == (201, known.json())

        # And the department can invoice the person with that id
        body = {**INVOICE, "customer_id": known.json()["customer_id"]}
        r = await c.post("/api/v1/invoices", json=body, headers=childcare)
        assert r.status_code == 201, r.text
