"""Payments' public events stored before a field was added still load (fordra.contracts.payments):
new fields have defaults, so old logs replay unchanged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fordra.contracts.payments import CONTRACTS, PaymentFileImported, PaymentReceived
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.events import EventRegistry

STORED_AT = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)


def stored(event_type: str, payload: dict[str, Any]) -> Envelope:
    """An envelope as the code before per-currency totals and split payments stored it."""
    return Envelope(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        schema_version=1,
        context="payments",
        stream_id="payment-file-abc",
        version=2,
        occurred_at=STORED_AT,
        metadata=Metadata("svenljunga", "bank-ingest", "corr-1"),
        payload=payload,
        position=7,
        recorded_at=STORED_AT,
    )


def registry() -> EventRegistry:
    reg = EventRegistry()
    reg.register_all(CONTRACTS)
    return reg


def test_a_file_imported_before_per_currency_totals_loads_with_empty_totals() -> None:
    # Given a PaymentFileImported stored before totals_by_currency and split existed
    old = stored(
        "PaymentFileImported",
        {
            "file_id": "f-1",
            "format": "bgmax",
            "layout": "BGMAX 01",
            "file_reference": "20040525173035010331",
            "sha256": "abc",
            "imported_on": "2004-05-26",
            "payments": 9,
            "duplicates": 0,
            "total_ore": 1260000,  # then the sum over SEK and EUR
            "matched": 3,
            "unmatched": 6,
            "test_file": False,
        },
    )

    # When it is loaded, then it is the current contract with empty totals and nothing split
    event = registry().load_as(old, PaymentFileImported)
    assert event.total_ore == 1260000
    assert event.totals_by_currency == {}
    assert event.split == 0


def test_a_payment_received_before_split_payments_loads_as_unsplit() -> None:
    old = stored(
        "PaymentReceived",
        {
            "payment_id": "p-1",
            "file_id": "f-1",
            "bank_reference": "9912346/20040525/00056/0002/000120000018",
            "amount_ore": 190000,
            "currency": "SEK",
            "reference": "524967",
            "reference_kind": "ocr",
            "bank_reference_code": 2,
            "free_text": [],
            "received_on": "2004-05-25",
        },
    )

    event = registry().load_as(old, PaymentReceived)
    assert event.split_of is None
    assert event.amount_ore == 190000
