"""The rules of every invoice batch, whatever its format (domain/batch.py; domain.md §1 "batches
as files", §2 invoice content; seed 002: error lists of imported files name their lines).

Unit tests on drafts built by hand, as a format's reader would hand them over: no file is read
here (the readers' own tests are test_batch_jsonlines.py, test_batch_csv.py, test_batch_ubl.py and
test_batch_formats.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from fordra.invoicing.domain.batch import (
    MAX_REPORTED_ERRORS,
    BatchDraft,
    BatchError,
    BatchItem,
    BatchProblems,
    BatchRejected,
    Place,
    accept_batch,
    check_batch_not_empty,
    check_source_references_unique,
    check_vat_rates_valid_on_invoice_date,
    reject_batch,
    validate_command,
)
from fordra.invoicing.domain.commands import InvoiceLineInput, IssueInvoice
from fordra.kernel.dated import Dated

# 6 % only from 2026-04-01 (domain.md §2: food 6 % from 2026-04-01); nothing before 2020.
VAT_RATES = Dated[tuple[int, ...]].model_validate(
    [["2020-01-01", [25, 12, 0]], ["2026-04-01", [25, 12, 6, 0]]]
)


def command(
    ref: str | None = "VA-1", *rates: int, invoice_date: str = "2026-05-04"
) -> IssueInvoice:
    return IssueInvoice(
        customer_id="c-17",
        department="va",
        service_type="water",
        invoice_date=date.fromisoformat(invoice_date),
        lines=tuple(
            InvoiceLineInput(description=f"line {i}", unit_price_ore=100, vat_rate=rate)
            for i, rate in enumerate(rates or (25,))
        ),
        source_reference=ref,
    )


def row_place(line: int) -> Callable[[str], Place]:
    """A CSV-like place: each command line on a file line of its own, named by the column."""

    def place(attr: str) -> Place:
        return Place(line, attr)

    return place


def draft(line: int, cmd: IssueInvoice | None, *line_numbers: int) -> BatchDraft:
    return BatchDraft(
        line=line,
        source_reference=None if cmd is None else cmd.source_reference,
        line_places=[row_place(n) for n in line_numbers or (line,)],
        command=cmd,
    )


def rejected(drafts: list[BatchDraft], problems: BatchProblems | None = None) -> list[BatchError]:
    with pytest.raises(BatchRejected) as caught:
        accept_batch(drafts, problems or BatchProblems(), VAT_RATES)
    return caught.value.errors


# --- accept_batch ------------------------------------------------------------------------------


def test_a_batch_without_problems_becomes_one_item_per_invoice_at_its_lines() -> None:
    # Given two invoices read from lines 2-3 and 4
    drafts = [draft(2, command("VA-1", 25, 12), 2, 3), draft(4, command("VA-2"))]

    # When the batch is accepted
    items = accept_batch(drafts, BatchProblems(), VAT_RATES)

    # Then each invoice is an item that knows where each of its lines came from
    assert [(item.line, item.source_lines) for item in items] == [(2, (2, 3)), (4, (4,))]
    assert items[0].command == drafts[0].command
    assert items[0].customer_id_number is None


def test_a_problem_the_reader_found_rejects_the_whole_batch() -> None:
    # Given two valid invoices and a problem the reader found on line 3
    problems = BatchProblems()
    problems.add(3, "vat_rate", "not a number")
    drafts = [draft(2, command("VA-1")), draft(3, None), draft(4, command("VA-2"))]

    # Then nothing is accepted, and the one problem is named
    assert rejected(drafts, problems) == [
        BatchError(line=3, field="vat_rate", message="not a number")
    ]


def test_the_rules_of_every_batch_add_their_problems_to_the_readers() -> None:
    problems = BatchProblems()
    problems.add(5, "customer_id", "missing")
    drafts = [draft(2, command("VA-1")), draft(4, command("VA-1", 20)), draft(5, None)]

    errors = rejected(drafts, problems)

    assert [(e.line, e.field) for e in errors] == [
        (4, "source_reference"),
        (4, "vat_rate"),
        (5, "customer_id"),
    ]


def test_without_vat_rates_the_rates_are_left_to_issuing() -> None:
    [item] = accept_batch([draft(2, command("VA-1", 20))], BatchProblems())
    assert item.command.lines[0].vat_rate == 20


# --- check_batch_not_empty ---------------------------------------------------------------------


def test_a_batch_with_no_invoices_is_refused_as_empty() -> None:
    assert rejected([]) == [
        BatchError(line=None, field=None, message="the batch holds no invoices")
    ]


def test_a_batch_whose_only_content_was_a_problem_is_not_also_called_empty() -> None:
    problems = BatchProblems()
    problems.add(1, "price", "unknown column 'price'")

    check_batch_not_empty([], problems)

    assert [e.message for e in problems.items] == ["unknown column 'price'"]


# --- check_source_references_unique ------------------------------------------------------------


def test_a_source_reference_used_twice_is_named_on_its_second_invoice_with_both_lines() -> None:
    problems = BatchProblems()

    check_source_references_unique(
        [draft(1, command("VA-1")), draft(2, command("VA-2")), draft(3, command("VA-1"))],
        problems,
    )

    assert problems.items == [
        BatchError(
            line=3,
            field="source_reference",
            message="source_reference 'VA-1' is used by the invoices on line 1 and line 3: "
            "each invoice in a batch needs its own",
        )
    ]


def test_invoices_without_a_source_reference_are_not_duplicates() -> None:
    problems = BatchProblems()
    drafts = [draft(1, command(None)), draft(2, command(None)), draft(3, None)]
    drafts.append(BatchDraft(line=4, source_reference=""))

    check_source_references_unique(drafts, problems)

    assert not problems


def test_a_third_use_of_a_source_reference_names_the_first() -> None:
    problems = BatchProblems()
    check_source_references_unique([draft(n, command("VA-1")) for n in (1, 2, 3)], problems)
    assert ["line 1 and line 2" in e.message for e in problems.items] == [True, False]
    assert "line 1 and line 3" in problems.items[1].message


# --- check_vat_rates_valid_on_invoice_date -----------------------------------------------------


def test_a_rate_not_valid_on_the_invoice_date_is_named_on_its_lines_place() -> None:
    # Given an invoice on lines 7 and 8 whose second line has 20 %, no Swedish rate
    problems = BatchProblems()

    check_vat_rates_valid_on_invoice_date(
        draft(7, command("VA-1", 25, 20), 7, 8), VAT_RATES, problems
    )

    # Then the problem is on line 8, named as the reader names the field
    [problem] = problems.items
    assert (problem.line, problem.field) == (8, "vat_rate")
    assert problem.message.startswith("VAT rate 20 % is not valid on 2026-05-04")


def test_a_rate_is_valid_only_from_its_effective_date() -> None:
    # 6 % is in force from 2026-04-01 in these settings: before that it is refused
    before = command("VA-1", 6, invoice_date="2026-03-31")
    after = command("VA-2", 6, invoice_date="2026-04-01")
    problems = BatchProblems()

    check_vat_rates_valid_on_invoice_date(draft(1, before), VAT_RATES, problems)
    check_vat_rates_valid_on_invoice_date(draft(2, after), VAT_RATES, problems)

    assert [(e.line, e.field) for e in problems.items] == [(1, "vat_rate")]
    assert "not valid on 2026-03-31" in problems.items[0].message


def test_an_invoice_dated_before_any_known_rate_is_named() -> None:
    problems = BatchProblems()
    check_vat_rates_valid_on_invoice_date(
        draft(1, command("VA-1", invoice_date="2019-12-31")), VAT_RATES, problems
    )
    [problem] = problems.items
    assert problem.message.startswith("no VAT rates known for the invoice date")


def test_an_invoice_the_reader_could_not_read_has_no_rates_to_check() -> None:
    problems = BatchProblems()
    check_vat_rates_valid_on_invoice_date(draft(1, None), VAT_RATES, problems)
    assert not problems


# --- BatchProblems, BatchRejected, reject_batch ------------------------------------------------


def test_problems_are_listed_whole_batch_first_then_in_line_order() -> None:
    problems = BatchProblems()
    problems.add(4, "b", "second on line 4")
    problems.add(2, None, "line 2")
    problems.add(None, "content_type", "whole batch")
    problems.add(4, "a", "third on line 4")

    assert [e.message for e in problems.sorted()] == [
        "whole batch",
        "line 2",
        "second on line 4",
        "third on line 4",
    ]


def test_the_reported_problems_are_capped_saying_how_many_more() -> None:
    problems = BatchProblems()
    for line in range(1, MAX_REPORTED_ERRORS + 6):
        problems.add(line, None, "bad")

    listed = problems.sorted()

    assert len(listed) == MAX_REPORTED_ERRORS
    assert listed[-2].line == MAX_REPORTED_ERRORS - 1
    assert listed[-1] == BatchError(line=None, field=None, message="... and 6 more problems")


def test_batch_rejected_says_how_many_problems_and_where_the_first_is() -> None:
    errors = [
        BatchError(line=3, field="lines.0.vat_rate", message="wrong"),
        BatchError(line=5, field=None, message="also wrong"),
    ]
    assert str(BatchRejected(errors)) == (
        "batch rejected with 2 problem(s); first: line 3: lines.0.vat_rate: wrong"
    )
    assert str(BatchRejected([BatchError(line=None, field=None, message="empty")])) == (
        "batch rejected with 1 problem(s); first: empty"
    )


def test_reject_batch_refuses_the_batch_for_one_problem() -> None:
    with pytest.raises(BatchRejected) as caught:
        reject_batch("too big", field=None, line=None)
    assert caught.value.errors == [BatchError(line=None, field=None, message="too big")]


# --- BatchItem ---------------------------------------------------------------------------------


def item(**overrides: Any) -> BatchItem:
    values: dict[str, Any] = {
        "line": 2,
        "command": command("VA-1", 25, 12, 6),
        "source_lines": (2, 3, 4),
    }
    values.update(overrides)
    return BatchItem(**values)


def test_error_at_places_a_use_case_error_on_its_lines_source_line() -> None:
    # A DomainRuleViolation raised when issuing names a command line by index
    assert item().error_at("minimum", "lines.1.unit_price_ore") == BatchError(
        line=3, field="lines.1.unit_price_ore", message="minimum"
    )
    # A field of the invoice, no field, or a line index the file does not have: the invoice's line
    assert item().error_at("no such customer", "customer_id").line == 2
    assert item().error_at("refused").line == 2
    assert item().error_at("?", "lines.9.vat_rate").line == 2


def test_for_customer_gives_the_command_the_resolved_customer_validated_again() -> None:
    unresolved = item(customer_id_number="5560360793")

    assert unresolved.for_customer("c-99").customer_id == "c-99"
    assert unresolved.for_customer("c-99").lines == unresolved.command.lines
    with pytest.raises(ValidationError):
        unresolved.for_customer("")


# --- validate_command --------------------------------------------------------------------------


def invoice_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": "c-17",
        "department": "va",
        "service_type": "water",
        "invoice_date": "2026-05-04",
        "lines": [{"description": "Fast avgift", "unit_price_ore": 31250, "vat_rate": 25}],
    }
    body.update(overrides)
    return body


def dotted(loc: tuple[int | str, ...]) -> Place:
    return Place(9, ".".join(str(part) for part in loc))


def test_a_valid_body_is_the_command_and_adds_no_problem() -> None:
    problems = BatchProblems()
    cmd = validate_command(invoice_body(), problems, dotted)
    assert cmd is not None
    assert cmd.lines[0].unit_price_ore == 31250
    assert not problems


def test_each_invalid_value_is_placed_and_shown_when_short() -> None:
    problems = BatchProblems()
    body = invoice_body(invoice_date="2026-13-01", service_type="x" * 50)

    assert validate_command(body, problems, dotted) is None

    by_field = {e.field: e for e in problems.items}
    assert set(by_field) == {"invoice_date", "service_type"}
    assert by_field["invoice_date"].line == 9
    assert by_field["invoice_date"].message.endswith("(got '2026-13-01')")
    # A value longer than 40 characters is not repeated back
    assert "(got" not in by_field["service_type"].message


def test_a_bad_line_is_not_also_reported_as_no_lines_at_all() -> None:
    # Pydantic counts only the valid items of a tuple, so it also says "too short"
    problems = BatchProblems()
    body = invoice_body(lines=[{"description": "x", "unit_price_ore": 1, "vat_rate": 101}])

    validate_command(body, problems, dotted)

    assert [e.field for e in problems.items] == ["lines.0.vat_rate"]


def test_an_invoice_with_no_lines_is_still_reported() -> None:
    problems = BatchProblems()
    validate_command(invoice_body(lines=[]), problems, dotted)
    assert [e.field for e in problems.items] == ["lines"]


def test_a_value_the_reader_already_explained_is_not_explained_twice() -> None:
    # The reader said why the price is missing (none_is_reported): pydantic's echo is dropped
    body = invoice_body(
        lines=[{"description": "x", "unit_price_ore": None, "vat_rate": 25}], ocr=None
    )
    quiet, loud = BatchProblems(), BatchProblems()

    assert validate_command(body, quiet, dotted, none_is_reported=True) is None
    validate_command(body, loud, dotted)

    assert not quiet
    assert [e.field for e in loud.items] == ["lines.0.unit_price_ore"]
