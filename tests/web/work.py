"""A municipality with work in every queue the ops web shows, made over the API as the systems
and case officers would (tests/scenarios show each step on its own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from fordra.kernel.auth import Role
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.platform import Running

TODAY = date(2026, 3, 2)
# Reminders are proposed 7 days after the due date (2026-04-01): domain.md §4, seed 001.
DUNNING_DAY = "2026-04-08"
ADDRESS = {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"}
PERSON = {"id_number": "19121212-1212", "name": "Tolvan Tolvansson", "address": ADDRESS}
# Skatteverket's published test personnummer: never a real person.
PROTECTED = {
    "id_number": "196501133372",
    "name": "Hemlig Person",
    "address": {"street": "Dolda vägen 9", "postal_code": "512 53", "city": "Svenljunga"},
    "protected_identity": True,
}


@dataclass(frozen=True)
class Work:
    customer_id: str
    protected_customer_id: str
    invoice_ids: list[str]
    disputed_invoice_id: str


async def api(fordra: Running, method: str, url: str, role: Role = Role.ADMIN, **kw: Any) -> Any:
    r = await fordra.client.request(method, url, headers=fordra.auth(role), **kw)
    assert r.status_code < 300, f"{method} {url}: {r.status_code} {r.text}"
    return r.json()


async def invoice(fordra: Running, customer_id: str, price_ore: int) -> str:
    """Premises rent dated 2026-03-02, due 2026-04-01 (25 % VAT on ``price_ore``)."""
    body = {
        "customer_id": customer_id,
        "department": "fastighet",
        "service_type": "premises_rent",
        "invoice_date": TODAY.isoformat(),
        "lines": [{"description": "Lokalhyra mars", "unit_price_ore": price_ore, "vat_rate": 25}],
    }
    return str((await api(fordra, "POST", "/api/v1/invoices", json=body))["invoice_id"])


async def given_work_in_every_queue(fordra: Running) -> Work:
    """Two customers (one with a protected identity), four invoices, reminders proposed on
    2026-04-08, a dispute, and a payment of 500 kr without a reference (unmatched, suggested
    for the 500 kr invoice)."""
    cid = (await api(fordra, "POST", "/api/v1/customers", json=PERSON))["customer_id"]
    hidden = (await api(fordra, "POST", "/api/v1/customers", json=PROTECTED))["customer_id"]
    ids = [
        await invoice(fordra, cid, 80_000),  # 1,000 kr
        await invoice(fordra, cid, 40_000),  # 500 kr
        await invoice(fordra, cid, 120_000),  # 1,500 kr: disputed below
        await invoice(fordra, hidden, 60_000),  # 750 kr
    ]
    await api(
        fordra,
        "POST",
        f"/api/v1/invoices/{ids[2]}/dispute",
        json={"reason": "kunden bestrider hyran"},
    )
    await api(fordra, "POST", "/api/v1/admin/clock/advance", json={"to": DUNNING_DAY})
    data = camt054(
        Entry(
            amount="500.00",
            acct_svcr_ref="N-WEB-1",
            txs=(Tx(amount="500.00", acct_svcr_ref="WEB-1", ustrd=("hyra lokal",)),),
        ),
        msg_id="F-WEB-1",
    )
    r = await fordra.client.post(
        "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
    )
    assert r.status_code == 201, r.text
    await fordra.platform.settle()
    return Work(cid, hidden, ids, ids[2])
