"""The customer register over HTTP on both engines (issue: invoicing; domain.md §2)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fordra.kernel.auth import Role
from tests.fixtures_path import shared_fixtures
from tests.utils.platform import Engine, running_platform

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}


async def test_identity_numbers_are_validated(engine: Engine, tmp_path: Path) -> None:
    # Skatteverket's published test numbers are valid; a changed check digit is not
    listed = shared_fixtures("identity", "byrokrat-id", "skatteverket", "Testpersonnummer_2019.csv")
    valid = listed.read_text().split()[1]
    bad = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        admin = fordra.auth()
        store = fordra.platform.stores["invoicing"]
        cases = [
            (valid, 201, "personnummer"),
            ("5560160680", 201, "organisationsnummer"),  # an aktiebolag
            ("19121212-1212", 201, "personnummer"),
            ("191212121212", 409, None),  # the same person written without a dash
            (bad, 422, None),
        ]
        for number, status, kind in cases:
            before = await store.max_position()
            r = await fordra.client.post(
                "/api/v1/customers", json={**PERSON, "id_number": number}, headers=admin
            )
            assert r.status_code == status, (number, r.text)
            if kind:
                assert r.json()["id_kind"] == kind
            elif status == 422:
                assert r.json()["detail"][0]["loc"] == ["body", "id_number"]
                assert await store.max_position() == before
        r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=admin)
        assert r.status_code == 409
        assert r.json()["field"] == "id_number"


async def test_details_preferences_property_and_protection(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        c = fordra.client
        admin = fordra.auth()
        cid = (await c.post("/api/v1/customers", json=PERSON, headers=admin)).json()["customer_id"]
        base = f"/api/v1/customers/{cid}"

        # A new address, e-invoicing and autogiro, a property owned
        new_address = {"street": "Kyrkvägen 2", "postal_code": "512 53", "city": "Svenljunga"}
        r = await c.patch(base, json={"address": new_address, "reason": "flyttat"}, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["address"]["street"] == "Kyrkvägen 2"
        r = await c.put(
            f"{base}/preferences", json={"e_invoice": True, "autogiro": True}, headers=admin
        )
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "peppol_id"]
        prefs = {"e_invoice": True, "peppol_id": "0007:5560160680", "autogiro": True}
        r = await c.put(f"{base}/preferences", json=prefs, headers=admin)
        assert r.status_code == 200
        prop = {"property_designation": "Svenljunga Kyrkan 1:23", "owned_from": "2020-05-01"}
        r = await c.post(f"{base}/properties", json=prop, headers=admin)
        assert r.status_code == 200
        assert r.json()["properties"][0]["property_designation"] == "Svenljunga Kyrkan 1:23"

        # Only the small role may set a protected identity
        protect = {"protected": True, "kind": "skyddad_folkbokforing", "reason": "beslut från SKV"}
        r = await c.put(
            f"{base}/protected-identity", json=protect, headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 403
        officer = fordra.auth(Role.PROTECTED_IDENTITY_OFFICER)
        r = await c.put(f"{base}/protected-identity", json=protect, headers=officer)
        assert r.status_code == 200

        # Then a case officer no longer sees name or address; the officer does, and it is logged
        seen = (await c.get(base, headers=fordra.auth(Role.CASE_OFFICER))).json()
        assert seen["protected_identity"] is True
        assert seen["name"] is None
        assert seen["address"] is None
        store = fordra.platform.stores["invoicing"]
        assert await store.stream_version(f"protected-access-{cid}") == 0
        seen = (await c.get(base, headers=officer)).json()
        assert seen["name"] == "Tolvan Tolvansson"
        access = await store.read_stream(f"protected-access-{cid}")
        assert [e.event_type for e in access] == ["ProtectedIdentityAccessed"]
        assert access[0].metadata.actor.startswith("protected_identity_officer")
        # and the ledger, read by many roles, carries the marking but never the name
        book = await c.get(f"{base}/ledger", headers=admin)
        assert "Tolvan" not in book.text


async def test_forgetting_a_person_keeps_the_log_and_loses_the_name(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        admin = fordra.auth()
        r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=admin)
        cid = r.json()["customer_id"]
        # When the person's key is deleted (crypto-shredding)
        fordra.platform.keyring.forget(cid)
        # Then the customer and their events remain, without name, number or address
        r = await fordra.client.get(
            f"/api/v1/customers/{cid}", headers=fordra.auth(Role.PROTECTED_IDENTITY_OFFICER)
        )
        assert r.status_code == 200
        assert r.json()["name"] is None
        assert r.json()["id_number"] is None
        events = await fordra.platform.stores["invoicing"].read_stream(f"customer-{cid}")
        assert events[0].event_type == "CustomerRegistered"
        assert events[0].personal_data is None
