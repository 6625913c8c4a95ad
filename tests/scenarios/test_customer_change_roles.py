"""Who may change a customer's payment preferences and properties (issue 10, item 5), on both
engines.

A department token could once change any customer's autogiro payer number and record any
property to anyone. Now the preferences (autogiro, e-invoice) belong to the customer ledger: a
case officer or an admin. A department changes the name or address only of a customer it
registered. A property's owner is recorded by a case officer, an admin or a
department billing the owner-liable services (``property_register_departments``: VA and waste),
since a recorded ownership makes a person liable for water and waste.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fordra.kernel.auth import Role
from tests.utils.money import PERSON
from tests.utils.platform import Engine, running_platform

PREFERENCES = {"autogiro": True, "autogiro_payer_number": "1212121212"}
PROPERTY = {"property_designation": "Svenljunga Kyrkan 1:23", "owned_from": "2020-05-01"}


async def test_preferences_and_properties_by_role(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        c = fordra.client
        store = fordra.platform.stores["invoicing"]
        childcare = fordra.auth(Role.DEPARTMENT, department="childcare")
        water = fordra.auth(Role.DEPARTMENT, department="water")
        # Given a customer the childcare department registered (and so is linked to)
        r = await c.post("/api/v1/customers", json=PERSON, headers=childcare)
        assert r.status_code == 201, r.text
        base = f"/api/v1/customers/{r.json()['customer_id']}"
        before = await store.max_position()

        # When a department, even the one that registered the customer, changes the autogiro
        # payer number, then it is refused, naming the roles that may, and nothing is written
        for department in (childcare, water):
            r = await c.put(f"{base}/preferences", json=PREFERENCES, headers=department)
            assert r.status_code == 403, r.text
            detail = r.json()["detail"]
            assert "payment preferences" in detail
            assert "admin, case_officer" in detail
        # And a department that bills no owner-liable service may not record a property
        r = await c.post(f"{base}/properties", json=PROPERTY, headers=childcare)
        assert r.status_code == 403, r.text
        assert "'childcare' may not record a property's owner" in r.json()["detail"]
        assert "water" in r.json()["detail"]
        assert await store.max_position() == before

        # And a department changes the name or address only of a customer it registered
        move = {"address": {"street": "Kyrkvägen 2", "postal_code": "512 53", "city": "Svenljunga"}}
        # (a department that neither registered nor invoiced them is told 404, as for an unknown
        # id: tests/security/test_customer_reads.py)
        r = await c.patch(base, json={**move, "reason": "flyttat"}, headers=water)
        assert r.status_code == 404, r.text
        assert await store.max_position() == before
        r = await c.patch(base, json={**move, "reason": "flyttat"}, headers=childcare)
        assert r.status_code == 200, r.text
        assert r.json()["address"]["street"] == "Kyrkvägen 2"

        # Then a case officer changes the preferences, and the water department records the
        # property (its new owner may be any department's customer)
        r = await c.put(
            f"{base}/preferences", json=PREFERENCES, headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert r.status_code == 200, r.text
        assert r.json()["autogiro"] is True
        r = await c.post(f"{base}/properties", json=PROPERTY, headers=water)
        assert r.status_code == 200, r.text
        assert [p["property_designation"] for p in r.json()["properties"]] == [
            PROPERTY["property_designation"]
        ]
        # answered without the record it may not read (it neither registered nor invoiced them)
        assert r.json()["name"] is None
        assert r.json()["address"] is None
        assert r.json()["protected_identity"] is None
        # and a case officer and an admin may record one too
        for role in (Role.CASE_OFFICER, Role.ADMIN):
            other = {**PROPERTY, "property_designation": f"Mårdaklev 2:{role.value}"}
            r = await c.post(f"{base}/properties", json=other, headers=fordra.auth(role))
            assert r.status_code == 200, r.text
        assert len(r.json()["properties"]) == 3
