"""Choosing an invoice batch's format by its ``Content-Type`` and the limits every format shares
(adapters/batch_formats.py; docs/invoice-batch-format.md): an unknown type, another charset, an
oversized or overlong file and an empty one are refused whatever the format, naming the field."""

from __future__ import annotations

import pytest

from fordra.invoicing.adapters.batch_formats import batch_format_of, parse_batch
from fordra.invoicing.domain.batch import MAX_REPORTED_ERRORS, BatchError, BatchRejected
from tests.utils.batches import (
    CSV,
    JSONL,
    SWEDISH_CSV,
    XML,
    body,
    fields,
    jsonl,
    rejection,
)


def test_an_unknown_content_type_is_named() -> None:
    errors = rejection(b"{}", "application/pdf")
    assert fields(errors) == [(None, "content_type")]
    assert "'application/pdf'" in errors[0].message


def test_a_charset_other_than_utf8_is_refused() -> None:
    errors = rejection(SWEDISH_CSV.encode(), "text/csv; charset=windows-1252")
    assert "charset 'windows-1252'" in errors[0].message


def test_the_format_is_chosen_by_media_type_whatever_its_case_and_parameters() -> None:
    assert batch_format_of("Application/X-NDJSON; charset=UTF-8") == "jsonl"
    assert batch_format_of("text/csv;header=present") == "csv"
    assert batch_format_of("text/xml") == "ubl"


def test_an_oversized_batch_is_refused_before_it_is_read() -> None:
    # Not even UTF-8: the size alone decides
    errors = rejection(b"\xff" * 101, JSONL, max_bytes=100)
    assert fields(errors) == [(None, None)]
    assert "101 bytes; at most 100" in errors[0].message


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (jsonl(body("1"), body("2"), body("3")), JSONL),
        (SWEDISH_CSV.encode() + b"c-18;va;water;2026-05-04;VA-3;x;1;1;25\r\n", CSV),
    ],
    ids=["jsonl", "csv"],
)
def test_a_batch_with_too_many_lines_is_refused(data: bytes, content_type: str) -> None:
    errors = rejection(data, content_type, max_lines=2)
    assert len(errors) == 1
    assert "split it" in errors[0].message


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"", JSONL),
        (b"\n  \n", JSONL),
        (b"", CSV),
        (
            b"customer_id;department;service_type;invoice_date;source_reference;description;"
            b"unit_price_ore;vat_rate\n",
            CSV,
        ),
        (b"", XML),
    ],
    ids=["jsonl-empty", "jsonl-blank", "csv-empty", "csv-header-only", "xml-empty"],
)
def test_an_empty_batch_is_refused(data: bytes, content_type: str) -> None:
    errors = rejection(data, content_type, department="va", default_service_type="water")
    assert errors == [BatchError(line=None, field=None, message="the batch holds no invoices")]


def test_the_reported_problems_are_capped() -> None:
    bad = {"customer_id": ""}
    data = jsonl(*([bad] * (MAX_REPORTED_ERRORS + 5)))
    errors = rejection(data, JSONL)
    assert len(errors) == MAX_REPORTED_ERRORS
    assert errors[-1].message.startswith("... and ")


def test_batch_rejected_says_how_many_problems_and_the_first() -> None:
    with pytest.raises(BatchRejected, match=r"\d+ problem\(s\); first: line 1: customer_id: "):
        parse_batch(jsonl({"customer_id": ""}), JSONL)
