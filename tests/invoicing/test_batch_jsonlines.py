"""Invoice batches as JSON Lines (adapters/batch_jsonlines.py; docs/invoice-batch-format.md):
one invoice body per line, errors naming the line and the dotted field (seed 002: error lists of
imported files name their lines). Read through ``parse_batch`` as the endpoint reads them."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

from fordra.invoicing.adapters.batch_formats import parse_batch
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from tests.utils.batches import JSONL, VAT_RATES, body, fields, jsonl, rejection


def test_a_jsonl_batch_becomes_one_command_per_line() -> None:
    # Given two invoice bodies with a blank line between them
    data = jsonl(body("VA-1"), "", body("VA-2", service_type="waste")) + b"\n"

    # When the batch is parsed
    items = parse_batch(data, JSONL, vat_rates=VAT_RATES)

    # Then each body is the command the single-invoice endpoint would take, at its file line
    assert [item.line for item in items] == [1, 3]
    assert items[0].command == IssueInvoice(
        customer_id="c-17",
        department="va",
        service_type="water",
        invoice_date=date(2026, 5, 4),
        lines=(
            InvoiceLineInput(
                description="Vatten, förbrukning",
                quantity=Decimal("12.5"),
                unit_price_ore=2140,
                vat_rate=25,
            ),
        ),
        source_reference="VA-1",
    )
    assert items[1].command.service_type == "waste"
    assert items[0].customer_id_number is None
    assert items[0].source_lines == (1,)


def test_jsonl_quantities_are_read_as_exact_decimals() -> None:
    data = jsonl(
        body(lines=[{"description": "x", "quantity": 0.1, "unit_price_ore": 3, "vat_rate": 25}])
    )
    [item] = parse_batch(data, f"{JSONL}; charset=utf-8")
    assert item.command.lines[0].quantity == Decimal("0.1")


def test_a_wrong_line_among_good_ones_rejects_the_whole_batch_naming_it() -> None:
    # Given three invoices of which the second has a zero quantity
    bad = body(
        "VA-2", lines=[{"description": "x", "quantity": 0, "unit_price_ore": 100, "vat_rate": 25}]
    )
    data = jsonl(body("VA-1"), bad, body("VA-3"))

    # When it is parsed, Then nothing is accepted and the one error names line 2 and the field
    errors = rejection(data, JSONL)
    assert fields(errors) == [(2, "lines.0.quantity")]
    assert "greater than 0" in errors[0].message


def test_every_problem_in_a_jsonl_batch_is_reported_in_line_order() -> None:
    no_customer = body("VA-1")
    del no_customer["customer_id"]
    data = jsonl(no_customer, body("VA-2"), "{not json", body("VA-4", invoice_date="2026-13-01"))

    errors = rejection(data, JSONL)

    assert fields(errors) == [(1, "customer_id"), (3, None), (4, "invoice_date")]
    assert errors[1].message.startswith("not valid JSON")


@pytest.mark.parametrize(
    "line",
    ['{"customer_id": NaN}', "[1, 2]", '"an invoice"', "{'single': 'quotes'}"],
    ids=["nan", "array", "string", "python-dict"],
)
def test_a_line_that_is_not_one_json_object_is_named(line: str) -> None:
    errors = rejection(jsonl(body("VA-1"), line), JSONL)
    assert fields(errors) == [(2, None)]


def test_bad_utf8_names_the_line() -> None:
    data = (
        jsonl(body("VA-1"))
        + b"\n"
        + json.dumps(body("VA-2")).encode("latin-1").replace(b"Vatten", b"Vatten \xe5")
    )
    errors = rejection(data, JSONL)
    assert fields(errors) == [(2, None)]
    assert "not UTF-8" in errors[0].message
    assert "0xe5" in errors[0].message


def test_a_byte_order_mark_before_the_first_line_is_ignored() -> None:
    [item] = parse_batch(b"\xef\xbb\xbf" + jsonl(body("VA-1")), JSONL)
    assert item.command.source_reference == "VA-1"


def test_a_vat_rate_not_valid_on_the_invoice_date_rejects_the_batch() -> None:
    # 20 % is no Swedish rate (domain.md §2: 25/12/6/0)
    line = {"description": "x", "quantity": 1, "unit_price_ore": 100, "vat_rate": 20}
    data = jsonl(body("VA-1"), body("VA-2", lines=[line]))

    errors = rejection(data, JSONL, vat_rates=VAT_RATES)

    assert fields(errors) == [(2, "lines.0.vat_rate")]
    assert "VAT rate 20 % is not valid on 2026-05-04" in errors[0].message


def test_a_duplicate_source_reference_is_rejected_naming_both_lines() -> None:
    data = jsonl(body("VA-1"), body("VA-2"), body("VA-1"))

    errors = rejection(data, JSONL)

    assert fields(errors) == [(3, "source_reference")]
    assert "line 1 and line 3" in errors[0].message
