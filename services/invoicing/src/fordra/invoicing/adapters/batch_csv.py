"""Invoice batches as CSV (``text/csv``): one row per invoice line, consecutive rows with the same
invoice key forming one invoice, as a departmental system or a spreadsheet exports them. Line
numbers are file lines (the header is line 1); errors name the column. The format, its columns and
an example are in docs/invoice-batch-format.md; the rules every batch must satisfy are
``fordra.invoicing.domain.batch``'s.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from fordra.invoicing.adapters.batch_utf8 import decode_utf8
from fordra.invoicing.domain.batch import (
    BatchDraft,
    BatchProblems,
    Place,
    reject_batch,
    validate_command,
)

__all__ = ["parse_csv"]

_INVOICE_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "department",
    "service_type",
    "invoice_date",
    "source_reference",
    "ocr",
)
_LINE_COLUMNS: Final[tuple[str, ...]] = (
    "description",
    "quantity",
    "unit_price_ore",
    "vat_rate",
    "line_service_type",
)
_REQUIRED_COLUMNS: Final[frozenset[str]] = frozenset(
    {
        "customer_id",
        "department",
        "service_type",
        "invoice_date",
        "description",
        "unit_price_ore",
        "vat_rate",
    }
)
_ALL_COLUMNS: Final[tuple[str, ...]] = (*_INVOICE_COLUMNS, "invoice_key", *_LINE_COLUMNS)
# The command's line attribute -> the CSV column that fills it.
_LINE_ATTR_COLUMN: Final[dict[str, str]] = {"service_type": "line_service_type"}


@dataclass(frozen=True)
class _Row:
    line: int
    cells: dict[str, str]


@dataclass
class _CsvInvoice:
    key: str
    rows: list[_Row] = field(default_factory=list)


def parse_csv(data: bytes, problems: BatchProblems, max_lines: int) -> list[BatchDraft]:
    """One draft per invoice (a run of rows with the same key); each problem is added to
    ``problems``. A byte that is not UTF-8 or more than ``max_lines`` rows reject the batch at
    once."""
    text = decode_utf8(data)
    if not text.strip():
        return []
    header_line = text.split("\n", 1)[0]
    # csv.Sniffer guesses from the data and may pick a space or a digit; the header names
    # contain neither delimiter, so counting them there is certain.
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    try:
        header = [name.strip().lower() for name in next(reader)]
        if not _check_csv_header(header, problems):
            return []
        key_column = "invoice_key" if "invoice_key" in header else "source_reference"
        rows: list[_Row] = []
        last_line = reader.line_num
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_lines:
                reject_batch(
                    f"the batch has more than {max_lines:,} rows; split it",
                    field=None,
                    line=line,
                )
            if len(cells) != len(header):
                problems.add(
                    line,
                    None,
                    f"the row has {len(cells)} cells but the header has {len(header)} "
                    f"(delimiter {delimiter!r}); quote a cell that holds the delimiter",
                )
                continue
            rows.append(
                _Row(line, {name: cell.strip() for name, cell in zip(header, cells, strict=True)})
            )
    except csv.Error as exc:
        problems.add(reader.line_num, None, f"not valid CSV: {exc}")
        return []

    invoices = _group_csv_rows(rows, key_column, problems)
    return [_csv_draft(invoice, key_column, problems) for invoice in invoices]


def _check_csv_header(header: list[str], problems: BatchProblems) -> bool:
    """Name every unknown, duplicate and missing column at once; False if any."""
    ok = True
    known = set(_ALL_COLUMNS)
    for name in header:
        if name not in known:
            problems.add(
                1,
                name or None,
                f"unknown column {name!r}; the columns are: {', '.join(_ALL_COLUMNS)}",
            )
            ok = False
    for name in sorted({n for n in header if header.count(n) > 1}):
        problems.add(1, name, f"column {name!r} appears more than once")
        ok = False
    required = set(_REQUIRED_COLUMNS)
    if "invoice_key" not in header:
        # Without a key column the department's own reference groups the rows.
        required.add("source_reference")
    for name in sorted(required - set(header)):
        problems.add(1, name, f"missing column {name!r}")
        ok = False
    return ok


def _group_csv_rows(
    rows: list[_Row], key_column: str, problems: BatchProblems
) -> list[_CsvInvoice]:
    invoices: list[_CsvInvoice] = []
    seen: dict[str, int] = {}
    for row in rows:
        key = row.cells[key_column]
        if not key:
            problems.add(
                row.line,
                key_column,
                f"{key_column} is empty: it says which invoice the row is part of",
            )
            continue
        if invoices and invoices[-1].key == key:
            invoices[-1].rows.append(row)
            continue
        if key in seen:
            problems.add(
                row.line,
                key_column,
                f"{key_column} {key!r} is used by the invoice on line {seen[key]} and again on "
                f"line {row.line}: the rows of one invoice must be consecutive and each invoice "
                "needs its own",
            )
            continue
        seen[key] = row.line
        invoices.append(_CsvInvoice(key, [row]))
    return invoices


def _csv_draft(invoice: _CsvInvoice, key_column: str, problems: BatchProblems) -> BatchDraft:
    first = invoice.rows[0]
    for row in invoice.rows[1:]:
        for column in _INVOICE_COLUMNS:
            if column in row.cells and row.cells[column] != first.cells[column]:
                problems.add(
                    row.line,
                    column,
                    f"{column} {row.cells[column]!r} differs from {first.cells[column]!r} on line "
                    f"{first.line} of the same invoice: every row of an invoice repeats it",
                )

    def optional(cells: dict[str, str], column: str) -> str | None:
        return cells.get(column) or None

    raw: dict[str, Any] = {
        "customer_id": first.cells["customer_id"],
        "department": first.cells["department"],
        "service_type": first.cells["service_type"],
        "invoice_date": first.cells["invoice_date"],
        "source_reference": optional(first.cells, "source_reference"),
        "ocr": optional(first.cells, "ocr"),
        "lines": [_csv_line(row.cells) for row in invoice.rows],
    }

    def place_of(loc: tuple[int | str, ...]) -> Place:
        if loc and loc[0] == "lines":
            if len(loc) >= 3 and isinstance(loc[1], int) and loc[1] < len(invoice.rows):
                attr = str(loc[2])
                return Place(invoice.rows[loc[1]].line, _LINE_ATTR_COLUMN.get(attr, attr))
            return Place(first.line, key_column)
        return Place(first.line, str(loc[0]) if loc else None)

    draft = BatchDraft(line=first.line, source_reference=raw["source_reference"])
    draft.line_places = [_csv_line_place(row.line) for row in invoice.rows]
    draft.command = validate_command(raw, problems, place_of)
    return draft


def _csv_line_place(line: int) -> Callable[[str], Place]:
    def place(attr: str) -> Place:
        return Place(line, _LINE_ATTR_COLUMN.get(attr, attr))

    return place


def _csv_line(cells: dict[str, str]) -> dict[str, Any]:
    line: dict[str, Any] = {
        "description": cells["description"],
        "unit_price_ore": cells["unit_price_ore"],
        "vat_rate": cells["vat_rate"],
        "service_type": cells.get("line_service_type") or None,
    }
    quantity = cells.get("quantity", "")
    if quantity:
        # Swedish spreadsheets write 1,5; a value with both separators stays as it is and fails
        # validation rather than being guessed at (1.000,5 or 1,000.5?).
        if quantity.count(",") == 1 and "." not in quantity:
            quantity = quantity.replace(",", ".")
        line["quantity"] = quantity
    return line
