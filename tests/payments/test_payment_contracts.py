"""Payments' public events stored before a field was added still load (fordra.contracts.payments):
new fields have defaults, so old logs replay unchanged."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from fordra.contracts.payments import (
    CONTRACTS,
    PayerPersonalData,
    PaymentFileImported,
    PaymentReceived,
)
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


def test_a_payment_received_with_its_free_text_in_plain_text_still_reads_the_same() -> None:
    # Given a v1 PaymentReceived, its free text and a non-OCR reference in the plain payload
    old = stored(
        "PaymentReceived",
        {
            "payment_id": "p-2",
            "file_id": "f-1",
            "bank_reference": "TX-2",
            "amount_ore": 10000,
            "currency": "SEK",
            "reference": "Fritextsson",
            "reference_kind": "free_text",
            "free_text": ["Avgift for Zacharias Fritextsson"],
            "received_on": "2026-03-02",
        },
    )
    old = dataclasses.replace(old, personal_data={"name": "Beata Betalare"}, data_subject="p-2")

    # When it is loaded, then it reads as before, the words now in the payer part
    event = registry().load_as(old, PaymentReceived)
    assert event.free_text == ("Avgift for Zacharias Fritextsson",)
    assert event.stated_reference == "Fritextsson"
    assert event.reference is None
    assert event.payer is not None
    assert event.payer.name == "Beata Betalare"
    # and the stored envelope is untouched
    assert old.payload["free_text"] == ["Avgift for Zacharias Fritextsson"]
    assert old.personal_data == {"name": "Beata Betalare"}


def test_a_new_payment_received_keeps_the_payers_words_out_of_the_plain_payload() -> None:
    # Given a payment with remittance text and a reference of the payer's own
    event = PaymentReceived(
        payment_id="p-3",
        file_id="f-1",
        bank_reference="TX-3",
        amount_ore=10000,
        currency="SEK",
        reference=None,
        reference_kind="free_text",
        received_on=date(2026, 3, 2),
        payer=PayerPersonalData(free_text=("Avgift for Zacharias",), reference="Zacharias"),
    )
    # When it is made an envelope, then the plain payload holds neither
    env = registry().envelope(
        event,
        context="payments",
        stream_id="payment-p-3",
        version=1,
        metadata=Metadata("svenljunga", "bank-ingest", "corr-1"),
        occurred_at=STORED_AT,
    )
    assert b"Zacharias" not in orjson.dumps(env.payload)
    assert env.personal_data is not None
    assert env.data_subject == "p-3"
    # and it loads back the same
    assert registry().load(env) == event


def test_a_reference_that_is_not_an_ocr_number_is_refused_in_plain_text() -> None:
    with pytest.raises(ValidationError, match=r"payer\.reference"):
        PaymentReceived(
            payment_id="p-4",
            file_id="f-1",
            bank_reference="TX-4",
            amount_ore=10000,
            currency="SEK",
            reference="Zacharias",
            reference_kind="free_text",
            received_on=date(2026, 3, 2),
        )
