"""Driving money through the platform over HTTP, as a bank file and a case officer would, and
the books that must balance afterwards (issue 9: money in == money out)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from typing import Any

from fordra.contracts.payments import PaymentReceived, RefundAttested, RefundRequested
from fordra.kernel.auth import Role
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.platform import Running

PERSON = {
    "id_number": "19121212-1212",
    "name": "Tolvan Tolvansson",
    "address": {"street": "Storgatan 1", "postal_code": "512 50", "city": "Svenljunga"},
}
_refs = count(1)


async def customer(fordra: Running, person: dict[str, Any] | None = None) -> str:
    r = await fordra.client.post("/api/v1/customers", json=person or PERSON, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["customer_id"])


async def issue(
    fordra: Running, customer_id: str, price_ore: int, *, invoice_date: str = "2026-02-20"
) -> dict[str, Any]:
    """A VAT-free childcare invoice (no property owner needed, no VAT rounding in the way)."""
    body = {
        "customer_id": customer_id,
        "department": "childcare",
        "service_type": "childcare",
        "invoice_date": invoice_date,
        "lines": [{"description": "Barnomsorg", "unit_price_ore": price_ore, "vat_rate": 0}],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def pay(fordra: Running, *payments: tuple[str | None, int]) -> list[str]:
    """A camt.054 file with one payment per (OCR reference, or None for free text; öre).
    Answers the bank references, so that a test can reverse one."""
    refs = [f"TX-{next(_refs)}" for _ in payments]
    txs = tuple(
        Tx(
            amount=f"{ore / 100:.2f}",
            acct_svcr_ref=ref,
            scor=(ocr,) if ocr else (),
            ustrd=() if ocr else ("inbetalning",),
        )
        for ref, (ocr, ore) in zip(refs, payments, strict=True)
    )
    total = sum(ore for _, ore in payments)
    data = camt054(
        Entry(amount=f"{total / 100:.2f}", acct_svcr_ref=f"N-{refs[0]}", txs=txs),
        msg_id=f"F-{refs[0]}",
    )
    r = await fordra.client.post(
        "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
    )
    assert r.status_code == 201, r.text
    return refs


async def reverse(fordra: Running, bank_ref: str, ore: int, *, notice: str = "1") -> Any:
    """The bank's reversal (camt.054 ``RvslInd``) of the payment ``bank_ref``."""
    data = camt054(
        Entry(
            amount=f"{ore / 100:.2f}",
            credit_debit="DBIT",
            reversal=True,
            acct_svcr_ref=f"REV-{notice}-{bank_ref}",
            txs=(Tx(amount=f"{ore / 100:.2f}", acct_svcr_ref=bank_ref),),
        ),
        msg_id=f"F-REV-{notice}-{bank_ref}",
    )
    r = await fordra.client.post(
        "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
    )
    assert r.status_code in {200, 201}, r.text
    return r.json()


async def correct(fordra: Running, invoice_id: str, what: str, **body: Any) -> Any:
    """A correction of an invoice (credit note, dispute, deferral ...), completed: a credit note
    or cancellation asked for is attested by a second person. Answers the last step's response."""
    r = await fordra.client.post(
        f"/api/v1/invoices/{invoice_id}/{what}",
        json={"reason": "enligt beslut", **body},
        headers=fordra.auth(),
    )
    if r.status_code == 202 and "request_id" in r.json():
        r = await fordra.client.post(
            f"/api/v1/correction-requests/{r.json()['request_id']}/attest",
            headers=fordra.auth(Role.OPS_LEAD, subject="attester"),
        )
    return r


async def ledger(fordra: Running, customer_id: str) -> dict[str, Any]:
    r = await fordra.client.get(
        f"/api/v1/customers/{customer_id}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 200, r.text
    book: dict[str, Any] = r.json()
    book["by_id"] = {i["invoice_id"]: i for i in book["invoices"]}
    return book


async def queue(fordra: Running) -> list[dict[str, Any]]:
    r = await fordra.client.get("/api/v1/payments/unmatched", headers=fordra.auth(Role.OPS_LEAD))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


@dataclass(frozen=True)
class Books:
    """Where every öre that came in is now (SEK; amounts in öre)."""

    received: int  # every payment's amount, a bank's reversal notice negative
    allocated: int  # on customers' claims
    credit: int  # the customers' credit
    refunded: int  # asked for or paid out: out of the queue and the credit
    queued: int  # waiting in the work queue

    @property
    def unaccounted(self) -> int:
        return self.received - self.allocated - self.credit - self.refunded - self.queued


async def books(fordra: Running, customers: list[str]) -> Books:
    """The books from payments' own log, the customer ledger and the work queue."""
    store = fordra.platform.stores["payments"]
    registry = fordra.platform.registry
    received = refunded_payments = refunded_credit = 0
    refunds: dict[str, RefundRequested] = {}
    position = 0
    while batch := await store.read_log(position, 1000):
        position = batch[-1].position
        for env in batch:
            if not registry.knows(env.event_type):
                continue
            event = registry.load(env)
            if isinstance(event, PaymentReceived) and event.currency == "SEK":
                received += event.amount_ore
            elif isinstance(event, RefundRequested) and env.stream_id.startswith("refund-"):
                refunds[event.refund_id] = event
                if event.payment_id is not None:
                    refunded_payments += event.amount_ore  # out of the queue when asked for
            elif isinstance(event, RefundAttested) and event.payment_id is None:
                refunded_credit += refunds[event.refund_id].amount_ore  # out of credit when paid
    allocated = credit = 0
    for cid in customers:
        book = await ledger(fordra, cid)
        credit += book["credit_ore"]
        allocated += sum(i["paid_ore"] + i["interest_and_fees_paid_ore"] for i in book["invoices"])
    queued = sum(i["amount_ore"] for i in await queue(fordra) if i["currency"] == "SEK")
    return Books(received, allocated, credit, refunded_payments + refunded_credit, queued)


def check_invoices(book: dict[str, Any]) -> None:
    """Every invoice of a ledger adds up: nothing paid twice, nothing open below zero."""
    for i in book["invoices"]:
        assert i["paid_ore"] >= 0, i
        assert i["open_ore"] >= 0, i
        if i["status"] != "cancelled":
            # What write-offs took is its own component (domain.md §4).
            parts = i["credited_ore"] + i["paid_ore"] + i["written_off_ore"] + i["open_ore"]
            assert i["total_ore"] == parts, i
