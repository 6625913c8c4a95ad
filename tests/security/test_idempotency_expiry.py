"""How long an Idempotency-Key is remembered (issue 10, left-over of item 3), on both engines: a
daily job forgets records older than ``idempotency_key_days``, and never a batch file's content
claim (the same file years later still books nothing)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from fordra.kernel.auth import Role
from fordra.kernel.clock import STOCKHOLM
from tests.utils.platform import Engine, Running, running_platform

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}


def batch_line(customer_id: str, today: date) -> bytes:
    return json.dumps(
        {
            "customer_id": customer_id,
            "department": "childcare",
            "service_type": "childcare",
            "invoice_date": today.isoformat(),
            "source_reference": "BO-1",
            "lines": [{"description": "Barnomsorg", "unit_price_ore": 50000, "vat_rate": 0}],
        }
    ).encode()


async def advance_to(fordra: Running, day: str) -> None:
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": day}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text


async def test_a_key_is_forgotten_after_its_days_and_a_files_claim_never(
    engine: Engine, tmp_path: Path
) -> None:
    # The stores record the real time: the business clock starts on the real date.
    today = datetime.now(STOCKHOLM).date()
    async with running_platform(engine, tmp_path, today=today) as fordra:
        c = fordra.client
        assert fordra.platform.settings.idempotency_key_days.at(today) == 30
        childcare = fordra.auth(Role.DEPARTMENT, department="childcare")
        keyed = {**childcare, "Idempotency-Key": "registrering-1"}
        batch = {**childcare, "Content-Type": "application/x-ndjson"}
        # Given a registration sent with a key, and a batch file (claimed by its content)
        first = await c.post("/api/v1/customers", json=PERSON, headers=keyed)
        assert first.status_code == 201, first.text
        cid = first.json()["customer_id"]
        data = batch_line(cid, today)
        booked = await c.post("/api/v1/invoice-batches", content=data, headers=batch)
        assert booked.status_code == 201, booked.text

        # When 29 days have passed: the key is still remembered (the first answer, replayed)
        await advance_to(fordra, (today + timedelta(days=29)).isoformat())
        again = await c.post("/api/v1/customers", json=PERSON, headers=keyed)
        assert again.status_code == 201, again.text
        assert again.headers.get("Idempotent-Replayed") == "true"

        # When 31 days have passed (the daily job ran past the 30 days)
        await advance_to(fordra, (today + timedelta(days=31)).isoformat())
        # Then the key is forgotten: the request is decided again (registration's own claim on
        # the identity number answers the same customer, and nothing is booked twice)
        late = await c.post("/api/v1/customers", json=PERSON, headers=keyed)
        assert late.status_code == 201, late.text
        assert "Idempotent-Replayed" not in late.headers
        assert late.json()["customer_id"] == cid
        # And the file's content claim stands: the same file answers its first result
        resent = await c.post("/api/v1/invoice-batches", content=data, headers=batch)
        assert resent.status_code == 201, resent.text
        assert resent.headers.get("Idempotent-Replayed") == "true"
        assert resent.json() == booked.json()
        ledger = await c.get(
            f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        assert len(ledger.json()["invoices"]) == 1


async def test_fordra_retention_forgets_expired_keys_for_a_system_clock(tmp_path: Path) -> None:
    # A system clock walks no days: cron runs `fordra retention`, which forgets expired keys too.
    today = datetime.now(STOCKHOLM).date()
    async with running_platform("embedded", tmp_path, today=today) as fordra:
        childcare = fordra.auth(Role.DEPARTMENT, department="childcare")
        keyed = {**childcare, "Idempotency-Key": "registrering-1"}
        batch = {**childcare, "Content-Type": "application/x-ndjson"}
        r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=keyed)
        assert r.status_code == 201, r.text
        data = batch_line(r.json()["customer_id"], today)
        r = await fordra.client.post("/api/v1/invoice-batches", content=data, headers=batch)
        assert r.status_code == 201, r.text
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORDRA_")}

    def retention(day: date) -> int:
        done = subprocess.run(
            [sys.executable, "-m", "fordra.app.cli", "retention", "--data-dir", str(tmp_path),
             "--today", day.isoformat()],
            capture_output=True, text=True, timeout=120, env=env, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        forgotten: int = json.loads(done.stdout)["idempotency_records_forgotten"]
        return forgotten

    # When it runs within the 30 days nothing is forgotten; past them, the one key (not the claim)
    assert retention(today + timedelta(days=29)) == 0
    assert retention(today + timedelta(days=31)) == 1
    async with running_platform("embedded", tmp_path, today=today) as fordra:
        childcare = fordra.auth(Role.DEPARTMENT, department="childcare")
        again = await fordra.client.post(
            "/api/v1/customers",
            json=PERSON,
            headers={**childcare, "Idempotency-Key": "registrering-1"},
        )
        assert again.status_code == 201, again.text
        assert "Idempotent-Replayed" not in again.headers
        resent = await fordra.client.post(
            "/api/v1/invoice-batches",
            content=data,
            headers={**childcare, "Content-Type": "application/x-ndjson"},
        )
        assert resent.headers.get("Idempotent-Replayed") == "true"
