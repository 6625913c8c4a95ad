"""Invoice batches from departmental systems (domain.md §1 "They send single invoices over HTTP and
batches as files"; the invoice rules are domain.md §2, seed 001).

``parse_batch`` turns one file into a list of ``IssueInvoice`` commands, or raises
``BatchRejected`` with every problem it found. A batch is accepted or rejected whole (as a bank file
is, domain.md §9): nothing here books anything, and one bad line rejects all of them, so that the
department corrects its file and sends it again instead of chasing which half was booked. Each
problem names its 1-based line and the field at fault (seed 002 "Handläggningstider": error lists
of files imported from source systems are corrected within one day, so they must say where).

Pure: no I/O, no clock. The use case resolves customers, reserves serial numbers and issues.

Formats (chosen by the request's ``Content-Type``; a ``charset`` other than UTF-8 is refused):

JSON Lines (``application/x-ndjson``, also ``application/jsonl``)
    One invoice per line, each exactly the JSON body ``POST /api/v1/invoices`` takes
    (``customer_id``, ``department``, ``service_type``, ``invoice_date``, ``lines``,
    ``source_reference``, ``ocr``). Blank lines are ignored. UTF-8 only; a byte that is not UTF-8
    is reported with its line. Errors name the field as a dotted path: ``lines.0.vat_rate``.

CSV (``text/csv``)
    One row per invoice LINE; consecutive rows with the same invoice key form one invoice.
    UTF-8, with or without a byte-order mark. The first line is the header (names are case-blind;
    order is free). The delimiter is ``,`` or ``;``, whichever the header uses more (Excel in a
    Swedish locale writes ``;``). Quote a cell that holds the delimiter, a quote or a newline
    (RFC 4180). Rows with only empty cells are skipped.

    ======================  =========  =====================================================
    column                  required   meaning
    ======================  =========  =====================================================
    ``customer_id``         yes        Fordra's customer id (as ``POST /api/v1/customers``
                                       answered it)
    ``department``          yes        the department token, e.g. ``va``
    ``service_type``        yes        the invoice's service: water, waste, childcare, ...
    ``invoice_date``        yes        ``YYYY-MM-DD``
    ``source_reference``    see key    the departmental system's own invoice id
    ``invoice_key``         no         groups rows into invoices; without this column
                                       ``source_reference`` groups them and is required
    ``ocr``                 no         an OCR reference the departmental system already
                                       printed on its invoice
    ``description``         yes        what the line is for
    ``quantity``            no         default 1; decimal point or Swedish decimal comma
                                       (``1,5``), at most 3 decimals
    ``unit_price_ore``      yes        price per unit excluding VAT, in whole öre (12,50 kr
                                       is ``1250``); negative for a discount line
    ``vat_rate``            yes        VAT in percent (25, 12, 6 or 0 as valid on the
                                       invoice date)
    ``line_service_type``   no         co-billing (seed 003): the line's own service when
                                       it differs from the invoice's
    ======================  =========  =====================================================

    ``customer_id``, ``department``, ``service_type``, ``invoice_date``, ``source_reference``
    and ``ocr`` belong to the invoice: every row of one invoice must repeat the same value. The
    rows of one invoice must be consecutive; a key that comes back after another invoice is
    rejected (it is almost always two invoices given the same reference). Line numbers are file
    lines, the header being line 1; a quoted cell spanning lines counts them all. Errors name
    the column.

    Example (``;`` and decimal comma, as a Swedish spreadsheet saves it)::

        customer_id;department;service_type;invoice_date;source_reference;description;quantity;unit_price_ore;vat_rate
        c-17;va;water;2026-05-04;VA-2026-0001;Vatten, förbrukning m³;12,5;2140;0
        c-17;va;water;2026-05-04;VA-2026-0001;Fast avgift;1;31250;0

PEPPOL BIS Billing 3.0 (``application/xml``, also ``text/xml``)
    One UBL ``Invoice`` document per request, as PEPPOL sends it (a ``CreditNote`` is refused:
    crediting needs attest and has its own procedure, domain.md §2, seed 002). The caller passes
    ``department`` (the caller's department token) and ``default_service_type``: a UBL invoice
    says neither. Mapping:

    - ``cbc:ID`` -> ``source_reference``; ``cbc:IssueDate`` -> ``invoice_date``;
    - ``cac:PaymentMeans/cbc:PaymentID`` -> ``ocr`` (the reference the buyer was told to quote;
      the use case checks it as for a single invoice);
    - the buyer, ``cac:AccountingCustomerParty/cac:Party``: the first of
      ``cac:PartyLegalEntity/cbc:CompanyID``, ``cac:PartyIdentification/cbc:ID`` (without a
      ``schemeID`` or with ``0007``, the Swedish organisationsnummer) or ``cbc:EndpointID`` with
      ``schemeID`` ``0007``; it must be a valid personnummer, samordningsnummer or
      organisationsnummer (domain.md §2, read as on the invoice date). Its canonical form is
      returned as ``BatchItem.customer_id_number``; the command's ``customer_id`` is the
      placeholder ``UNRESOLVED_CUSTOMER_ID`` until the use case has looked the customer up
      (``BatchItem.for_customer``). An unknown customer is the use case's error to report;
    - each ``cac:InvoiceLine`` -> a line: ``cac:Item/cbc:Name``, ``cbc:InvoicedQuantity``, and the
      unit price ``cac:Price/cbc:PriceAmount`` / ``cbc:BaseQuantity`` (default 1) in SEK turned
      into öre exactly (a price that is not a whole number of öre is refused, never rounded);
      VAT from ``cac:Item/cac:ClassifiedTaxCategory``: categories S, Z, E with ``cbc:Percent``,
      O (outside the scope of VAT) as 0 %; reverse charge and the export categories (AE, K, G, L,
      M) are refused because Fordra's invoice cannot carry their legal statements. A negative
      quantity (a returned item) becomes a positive quantity at the negated price, since a
      Fordra line has a positive quantity; the line's amount is the same;
    - allowances and charges (``cac:AllowanceCharge`` on the document or on a line) become lines
      of their own, "Rabatt: <reason>" at a negative price or "Tillägg: <reason>" at a positive
      one, with the VAT rate of their tax category (document level) or of their line: seed 001
      wants discounts shown per VAT rate. The price-level discount in ``cac:Price`` is only
      information (``PriceAmount`` is already the net price) and is ignored;
    - only ``DocumentCurrencyCode`` SEK, and every amount read must be in SEK;
    - ``InvoiceTypeCode`` 380 (commercial invoice), 82 (metered services) or 326 (partial);
    - the document's totals must be what Fordra computes from those lines (each line's
      ``cbc:LineExtensionAmount``, and in ``cac:LegalMonetaryTotal`` ``LineExtensionAmount``,
      ``AllowanceTotalAmount``, ``ChargeTotalAmount``, ``TaxExclusiveAmount``,
      ``TaxInclusiveAmount``, ``PayableAmount``; ``cac:TaxTotal`` per rate with VAT rounded once
      per rate, as on Fordra's invoice): an invoice whose totals do not add up is refused naming
      the total, since the buyer was told another amount than Fordra would claim. For the same
      reason a non-zero ``PrepaidAmount`` or ``PayableRoundingAmount`` is refused: Fordra's
      invoice claims its full total, neither prepaid nor rounded;
    - ignored: due date and payment terms (Fordra's terms decide, domain.md §2), notes, periods,
      references, delivery, attachments, the seller (Fordra is the seller), a tax-currency
      ``cac:TaxTotal``.

    The XML is parsed safely: UTF-8 only, a document with a DOCTYPE or entity declaration is
    refused before parsing, and the parser neither loads DTDs, resolves entities nor touches the
    network. Errors name the element as a path (``Invoice/cac:InvoiceLine[2]/cbc:InvoicedQuantity``)
    and its line in the document where known.

Limits: ``max_bytes`` (checked first, before decoding) and ``max_lines`` (invoices in JSON Lines,
data rows in CSV, ``cac:InvoiceLine`` elements in UBL). An empty batch is rejected. Two invoices
with the same ``source_reference`` in one batch are rejected naming both lines. With ``vat_rates``
(the invoicing settings' dated rates) each line's VAT rate is checked against the invoice date, as
``issue_invoice`` will (domain.md §2: 25/12/6/0, date-effective).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal, NoReturn

from lxml import etree
from pydantic import BaseModel, ConfigDict, ValidationError

from fordra.contracts.invoicing import InvoiceLine, ServiceType
from fordra.invoicing.domain.commands import IssueInvoice
from fordra.invoicing.domain.vat import check_vat_rate_valid_on, vat_per_rate
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.identity import InvalidIdentityNumber, parse_identity_number
from fordra.kernel.money import ORE_PER_KRONA, round_ore

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_LINES",
    "MAX_REPORTED_ERRORS",
    "UNRESOLVED_CUSTOMER_ID",
    "BatchError",
    "BatchFormat",
    "BatchItem",
    "BatchRejected",
    "batch_format_of",
    "parse_batch",
]

MAX_BATCH_LINES: Final[int] = 10_000
MAX_BATCH_BYTES: Final[int] = 20 * 1024 * 1024
# A batch of 10,000 bad lines would otherwise answer a 422 of megabytes; the first thousand
# problems are enough to show the department what is wrong with its export.
MAX_REPORTED_ERRORS: Final[int] = 1_000

# The command needs a customer id before the use case has resolved the buyer's identity number.
# The colon cannot occur in the UUIDs Fordra gives customers, so it never names a real customer.
UNRESOLVED_CUSTOMER_ID: Final[str] = "unresolved:buyer-identity-number"

BatchFormat = Literal["jsonl", "csv", "ubl"]

_MEDIA_TYPES: Final[dict[str, BatchFormat]] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "text/csv": "csv",
    "application/xml": "ubl",
    "text/xml": "ubl",
}


class BatchError(BaseModel):
    """One problem in a batch: the 1-based line (None for the batch as a whole) and the field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int | None
    field: str | None
    message: str


class BatchRejected(Exception):
    """The whole batch is refused; ``errors`` lists every problem found, in line order."""

    def __init__(self, errors: Sequence[BatchError]) -> None:
        self.errors: list[BatchError] = list(errors)
        first = self.errors[0] if self.errors else None
        where = "" if first is None else f"; first: {_where(first)}{first.message}"
        super().__init__(f"batch rejected with {len(self.errors)} problem(s){where}")


class BatchItem(BaseModel):
    """One invoice of an accepted batch.

    ``line`` is where the invoice starts in the file; ``source_lines[i]`` is the line of the
    command's line ``i`` (so the use case can place an error like ``lines.2.vat_rate`` raised when
    issuing). ``customer_id_number`` is set for a PEPPOL invoice only: the buyer's canonical
    identity number, to be resolved to a customer id by the use case (``for_customer``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    command: IssueInvoice
    source_lines: tuple[int, ...]
    customer_id_number: str | None = None

    def for_customer(self, customer_id: str) -> IssueInvoice:
        """The command with the resolved customer id, validated again like any command."""
        return IssueInvoice.model_validate(
            {**self.command.model_dump(), "customer_id": customer_id}
        )

    def error_at(self, message: str, field: str | None = None) -> BatchError:
        """A ``BatchError`` for a problem the use case finds, e.g. a ``DomainRuleViolation`` with
        ``field="lines.2.vat_rate"``: placed on that line's own source line where there is one."""
        line = self.line
        parts = (field or "").split(".")
        if len(parts) >= 2 and parts[0] == "lines" and parts[1].isdigit():
            index = int(parts[1])
            if index < len(self.source_lines):
                line = self.source_lines[index]
        return BatchError(line=line, field=field, message=message)


def batch_format_of(content_type: str) -> BatchFormat:
    """The batch format a ``Content-Type`` header names; ``BatchRejected`` for any other."""
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    fmt = _MEDIA_TYPES.get(media_type)
    if fmt is None:
        accepted = ", ".join(sorted(_MEDIA_TYPES))
        _reject_one(
            f"content type {media_type or '(none)'!r} is not a batch format; accepted: {accepted}",
            field="content_type",
        )
    for param in params.split(";"):
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            _reject_one(
                f"charset {charset!r} is not accepted: batches must be UTF-8",
                field="content_type",
            )
    return fmt


def parse_batch(
    data: bytes,
    content_type: str,
    *,
    department: str | None = None,
    default_service_type: ServiceType | None = None,
    vat_rates: Dated[tuple[int, ...]] | None = None,
    max_lines: int = MAX_BATCH_LINES,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[BatchItem]:
    """Parse one batch file into commands, or raise ``BatchRejected`` naming every problem.

    ``department`` and ``default_service_type`` are used by PEPPOL UBL only (the document names
    neither); JSON Lines and CSV carry them per invoice, and the use case checks the caller may
    publish for each department as it does for a single invoice. See the module docstring for
    the formats.
    """
    fmt = batch_format_of(content_type)
    # Before anything else is read: the size alone decides, so an oversized upload costs nothing.
    if len(data) > max_bytes:
        _reject_one(
            f"the batch is {len(data):,} bytes; at most {max_bytes:,} are accepted: split it",
            field=None,
        )
    errors = _Errors()
    if fmt == "jsonl":
        drafts = _parse_jsonl(data, errors, max_lines)
    elif fmt == "csv":
        drafts = _parse_csv(data, errors, max_lines)
    else:
        drafts = _parse_ubl(data, errors, max_lines, department, default_service_type)

    if not drafts and not errors:
        errors.add(None, None, "the batch holds no invoices")
    _check_unique_source_references(drafts, errors)
    if vat_rates is not None:
        for draft in drafts:
            _check_vat_rates(draft, vat_rates, errors)
    if errors:
        raise BatchRejected(errors.sorted())
    return [draft.item() for draft in drafts if draft.command is not None]


# --- shared machinery --------------------------------------------------------------------------


@dataclass
class _Errors:
    """Collects problems; the batch is rejected if any, so collecting never stops at the first."""

    items: list[BatchError] = field(default_factory=list)

    def add(self, line: int | None, field_: str | None, message: str) -> None:
        self.items.append(BatchError(line=line, field=field_, message=message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def sorted(self) -> list[BatchError]:
        # Whole-batch problems first, then in file order; the order of discovery within a line.
        ordered = sorted(self.items, key=lambda e: (e.line is not None, e.line or 0))
        if len(ordered) <= MAX_REPORTED_ERRORS:
            return ordered
        kept = ordered[: MAX_REPORTED_ERRORS - 1]
        more = len(ordered) - len(kept)
        return [*kept, BatchError(line=None, field=None, message=f"... and {more} more problems")]


@dataclass(frozen=True)
class _Place:
    """Where a value came from: its line and the name the sender knows it by."""

    line: int | None
    field: str | None


@dataclass
class _Draft:
    """An invoice being read: the command once valid, and where each of its parts came from."""

    line: int
    source_reference: str | None
    # Where each command line came from, and how to name a line's field for the sender.
    line_places: list[Callable[[str], _Place]] = field(default_factory=list)
    command: IssueInvoice | None = None
    customer_id_number: str | None = None

    def item(self) -> BatchItem:
        assert self.command is not None  # only valid drafts become items
        lines = tuple(place("description").line or self.line for place in self.line_places)
        return BatchItem(
            line=self.line,
            command=self.command,
            source_lines=lines,
            customer_id_number=self.customer_id_number,
        )


def _reject_one(message: str, *, field: str | None, line: int | None = None) -> NoReturn:
    raise BatchRejected([BatchError(line=line, field=field, message=message)])


def _where(error: BatchError) -> str:
    line = "" if error.line is None else f"line {error.line}: "
    return f"{line}{error.field}: " if error.field else line


def _pydantic_message(error: Any) -> str:
    """Pydantic's message, with the offending value when it is short and not a structure."""
    message = str(error["msg"])
    value = error.get("input")
    if isinstance(value, str | int | Decimal) and not isinstance(value, bool):
        shown = repr(value) if isinstance(value, str) else str(value)
        if len(shown) <= 40:
            message = f"{message} (got {shown})"
    return message


def _validate_command(
    raw: dict[str, Any],
    errors: _Errors,
    place_of: Callable[[tuple[int | str, ...]], _Place],
    *,
    none_is_reported: bool = False,
) -> IssueInvoice | None:
    """Validate ``raw`` as an ``IssueInvoice``; map each pydantic error to its place.

    With ``none_is_reported`` a None in ``raw`` stands for a value this module already explained
    better (a UBL amount that is not a number, a missing element): pydantic's generic complaint
    about it is dropped rather than said twice.
    """
    try:
        return IssueInvoice.model_validate(raw)
    except ValidationError as exc:
        problems = exc.errors()
        # A tuple whose items failed is also "too short" (only its valid items count): that
        # echo would tell the sender the invoice has no lines when the real fault is named.
        bad_items = any(len(e["loc"]) > 1 and e["loc"][0] == "lines" for e in problems)
        for error in problems:
            if bad_items and error["loc"] == ("lines",) and error["type"] == "too_short":
                continue
            if none_is_reported and error.get("input", ...) is None:
                continue
            place = place_of(tuple(error["loc"]))
            errors.add(place.line, place.field, _pydantic_message(error))
    return None


def _check_unique_source_references(drafts: Iterable[_Draft], errors: _Errors) -> None:
    """A department's reference names one of its invoices: the same one twice in a batch is a
    mistake in the export, and issuing both would bill the customer twice for one charge."""
    first_line: dict[str, int] = {}
    for draft in drafts:
        ref = draft.source_reference
        if not ref:
            continue
        if ref in first_line:
            errors.add(
                draft.line,
                "source_reference",
                f"source_reference {ref!r} is used by the invoices on line {first_line[ref]} and "
                f"line {draft.line}: each invoice in a batch needs its own",
            )
        else:
            first_line[ref] = draft.line


def _check_vat_rates(draft: _Draft, vat_rates: Dated[tuple[int, ...]], errors: _Errors) -> None:
    """Each line's rate must be valid on the invoice date (domain.md §2), checked here so that a
    wrong rate rejects the batch before anything is issued."""
    cmd = draft.command
    if cmd is None:
        return
    for i, line in enumerate(cmd.lines):
        place = draft.line_places[i]("vat_rate")
        try:
            check_vat_rate_valid_on(
                line.vat_rate, cmd.invoice_date, vat_rates, field=f"lines.{i}.vat_rate"
            )
        except DomainRuleViolation as exc:
            errors.add(place.line, place.field, str(exc))
        except LookupError as exc:  # the invoice date is before the first dated rate
            errors.add(place.line, place.field, f"no VAT rates known for the invoice date: {exc}")


def _decode_line_error(data: bytes, exc: UnicodeDecodeError, offset: int = 0) -> tuple[int, str]:
    """The 1-based line of a byte that is not UTF-8, and a message naming the byte."""
    start = offset + exc.start
    line = data.count(b"\n", 0, start) + 1
    bad = data[start : start + 1].hex()
    return line, f"not UTF-8: byte 0x{bad} cannot be decoded; the batch must be encoded in UTF-8"


# --- JSON Lines --------------------------------------------------------------------------------


def _reject_json_constant(name: str) -> NoReturn:
    # json.loads accepts NaN and Infinity by default; they are not JSON and not amounts.
    raise ValueError(f"{name} is not a JSON value")


def _parse_jsonl(data: bytes, errors: _Errors, max_lines: int) -> list[_Draft]:
    # Split on b"\n" only: str.splitlines would also split on U+2028 and other separators that
    # may stand inside a JSON string.
    raw_lines = data.split(b"\n")
    numbered = [(n, raw) for n, raw in enumerate(raw_lines, start=1) if raw.strip()]
    if len(numbered) > max_lines:
        _reject_one(
            f"the batch has {len(numbered):,} invoices; at most {max_lines:,} are accepted: "
            "split it",
            field=None,
            line=numbered[max_lines][0],
        )
    drafts: list[_Draft] = []
    for number, raw in numbered:
        chunk = raw
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            # Windows tools write a byte-order mark; it carries no meaning in UTF-8.
            chunk = chunk[3:]
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.add(number, None, _decode_line_error(chunk, exc)[1])
            continue
        try:
            body = json.loads(text, parse_float=Decimal, parse_constant=_reject_json_constant)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            errors.add(number, None, f"not valid JSON: {exc}")
            continue

        ref = body.get("source_reference") if isinstance(body, dict) else None
        draft = _Draft(line=number, source_reference=ref.strip() if isinstance(ref, str) else None)
        if isinstance(body, dict):
            draft.command = _validate_command(body, errors, _dotted_place(number))
        else:
            errors.add(number, None, "each line must be one JSON object: an invoice body")
        if draft.command is not None:
            draft.line_places = [
                _jsonl_line_place(number, i) for i in range(len(draft.command.lines))
            ]
        drafts.append(draft)
    return drafts


def _dotted_place(number: int) -> Callable[[tuple[int | str, ...]], _Place]:
    """Pydantic's location as the dotted path the HTTP body has: ``lines.0.vat_rate``."""

    def place_of(loc: tuple[int | str, ...]) -> _Place:
        return _Place(number, ".".join(str(part) for part in loc) or None)

    return place_of


def _jsonl_line_place(number: int, index: int) -> Callable[[str], _Place]:
    def place(attr: str) -> _Place:
        return _Place(number, f"lines.{index}.{attr}")

    return place


# --- CSV ---------------------------------------------------------------------------------------

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


def _parse_csv(data: bytes, errors: _Errors, max_lines: int) -> list[_Draft]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig counts offsets after a leading BOM; add it back to find the line.
        offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        line, message = _decode_line_error(data, exc, offset)
        _reject_one(message, field=None, line=line)
    if not text.strip():
        return []
    header_line = text.split("\n", 1)[0]
    # csv.Sniffer guesses from the data and may pick a space or a digit; the header names
    # contain neither delimiter, so counting them there is certain.
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)

    try:
        header = [name.strip().lower() for name in next(reader)]
        if not _check_csv_header(header, errors):
            return []
        key_column = "invoice_key" if "invoice_key" in header else "source_reference"
        rows: list[_Row] = []
        last_line = reader.line_num
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= max_lines:
                _reject_one(
                    f"the batch has more than {max_lines:,} rows; split it",
                    field=None,
                    line=line,
                )
            if len(cells) != len(header):
                errors.add(
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
        errors.add(reader.line_num, None, f"not valid CSV: {exc}")
        return []

    invoices = _group_csv_rows(rows, key_column, errors)
    return [_csv_draft(invoice, key_column, errors) for invoice in invoices]


def _check_csv_header(header: list[str], errors: _Errors) -> bool:
    """Name every unknown, duplicate and missing column at once; False if any."""
    ok = True
    known = set(_ALL_COLUMNS)
    for name in header:
        if name not in known:
            errors.add(
                1,
                name or None,
                f"unknown column {name!r}; the columns are: {', '.join(_ALL_COLUMNS)}",
            )
            ok = False
    for name in sorted({n for n in header if header.count(n) > 1}):
        errors.add(1, name, f"column {name!r} appears more than once")
        ok = False
    required = set(_REQUIRED_COLUMNS)
    if "invoice_key" not in header:
        # Without a key column the department's own reference groups the rows.
        required.add("source_reference")
    for name in sorted(required - set(header)):
        errors.add(1, name, f"missing column {name!r}")
        ok = False
    return ok


def _group_csv_rows(rows: list[_Row], key_column: str, errors: _Errors) -> list[_CsvInvoice]:
    invoices: list[_CsvInvoice] = []
    seen: dict[str, int] = {}
    for row in rows:
        key = row.cells[key_column]
        if not key:
            errors.add(
                row.line,
                key_column,
                f"{key_column} is empty: it says which invoice the row is part of",
            )
            continue
        if invoices and invoices[-1].key == key:
            invoices[-1].rows.append(row)
            continue
        if key in seen:
            errors.add(
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


def _csv_draft(invoice: _CsvInvoice, key_column: str, errors: _Errors) -> _Draft:
    first = invoice.rows[0]
    for row in invoice.rows[1:]:
        for column in _INVOICE_COLUMNS:
            if column in row.cells and row.cells[column] != first.cells[column]:
                errors.add(
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

    def place_of(loc: tuple[int | str, ...]) -> _Place:
        if loc and loc[0] == "lines":
            if len(loc) >= 3 and isinstance(loc[1], int) and loc[1] < len(invoice.rows):
                attr = str(loc[2])
                return _Place(invoice.rows[loc[1]].line, _LINE_ATTR_COLUMN.get(attr, attr))
            return _Place(first.line, key_column)
        return _Place(first.line, str(loc[0]) if loc else None)

    draft = _Draft(line=first.line, source_reference=raw["source_reference"])
    draft.line_places = [_csv_line_place(row.line) for row in invoice.rows]
    draft.command = _validate_command(raw, errors, place_of)
    return draft


def _csv_line_place(line: int) -> Callable[[str], _Place]:
    def place(attr: str) -> _Place:
        return _Place(line, _LINE_ATTR_COLUMN.get(attr, attr))

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


# --- PEPPOL BIS Billing 3.0 UBL ----------------------------------------------------------------

_NS: Final[dict[str, str]] = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_INVOICE_TAG: Final[str] = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
_CREDIT_NOTE_TAG: Final[str] = (
    "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
)
_INVOICE_TYPE_CODES: Final[dict[str, str]] = {
    "380": "commercial invoice",
    "82": "metered services invoice",
    "326": "partial invoice",
}
# VAT categories (UNCL 5305) whose legal statements a Fordra invoice can carry: standard, zero
# rated, exempt, outside the scope of VAT.
_VAT_CATEGORIES: Final[frozenset[str]] = frozenset({"S", "Z", "E", "O"})
_BUYER: Final[str] = "cac:AccountingCustomerParty/cac:Party"
# ISO 6523 ICD 0007: the Swedish organisationsnummer.
_SWEDISH_ORGNR_SCHEME: Final[str] = "0007"
_DANGEROUS_XML: Final[re.Pattern[str]] = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_XML_DECLARED_ENCODING: Final[re.Pattern[bytes]] = re.compile(
    rb"""^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']"""
)


@dataclass
class _UblLine:
    """One Fordra line made from the document, with where each of its values came from."""

    raw: dict[str, Any]
    places: dict[str, _Place]
    # The cac:InvoiceLine it belongs to (None for a document-level allowance or charge).
    invoice_line: int | None
    allowance: Literal["allowance", "charge"] | None = None

    def place(self, attr: str) -> _Place:
        return self.places.get(attr) or self.places["description"]


class _Ubl:
    """Reads one UBL Invoice, reporting every problem with the element's path and line."""

    def __init__(self, root: etree._Element, errors: _Errors) -> None:
        self.root = root
        self.errors = errors

    # -- small readers ----------------------------------------------------------------------

    def find(self, parent: etree._Element, path: str) -> etree._Element | None:
        return parent.find(path, _NS)

    def text(self, element: etree._Element | None) -> str | None:
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def place(self, element: etree._Element | None, path: str) -> _Place:
        return _Place(None if element is None else element.sourceline, path)

    def error(self, element: etree._Element | None, path: str, message: str) -> None:
        self.errors.add(None if element is None else element.sourceline, path, message)

    def required_text(self, parent: etree._Element, relative: str, base: str) -> str | None:
        """A mandatory BIS element's text; its absence is said here, in the sender's terms."""
        text = self.text(self.find(parent, relative))
        if text is None:
            self.error(parent, f"{base}/{relative}", "missing: this element is required")
        return text

    def decimal(self, element: etree._Element | None, path: str) -> Decimal | None:
        text = self.text(element)
        if text is None:
            self.error(element, path, "missing: a number is required here")
            return None
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            self.error(element, path, f"{text!r} is not a number")
            return None
        return value

    def amount_ore(
        self, parent: etree._Element, relative: str, base: str, *, required: bool = True
    ) -> int | None:
        """An amount in SEK as öre, exactly: a fraction of an öre is refused, never rounded."""
        element = self.find(parent, relative)
        path = f"{base}/{relative}"
        if element is None:
            if required:
                self.error(parent, path, "missing")
            return None
        currency = element.get("currencyID")
        if currency is not None and currency.strip() != "SEK":
            self.error(element, path, f"amount in {currency}: Fordra invoices in SEK only")
            return None
        value = self.decimal(element, path)
        if value is None:
            return None
        ore = value * ORE_PER_KRONA
        if ore != ore.to_integral_value():
            self.error(element, path, f"{value} SEK is not a whole number of öre")
            return None
        return int(ore)

    # -- the document -----------------------------------------------------------------------

    def read(
        self, department: str | None, service_type: ServiceType | None, max_lines: int
    ) -> _Draft | None:
        root = self.root
        root_line = root.sourceline or 1
        if root.tag == _CREDIT_NOTE_TAG:
            self.errors.add(
                root_line,
                "CreditNote",
                "a CreditNote is not an invoice: crediting needs attest and goes through Fordra's "
                "credit procedure (domain.md §2, seed 002)",
            )
            return None
        if root.tag != _INVOICE_TAG:
            self.errors.add(
                root_line,
                etree.QName(root).localname,
                f"the document is a {etree.QName(root).text}, not a PEPPOL BIS Billing 3.0 UBL "
                "Invoice (one Invoice per request)",
            )
            return None

        currency_el = self.find(root, "cbc:DocumentCurrencyCode")
        currency = self.text(currency_el)
        if currency != "SEK":
            # Stop here: every amount would repeat the same complaint.
            self.error(
                currency_el,
                "Invoice/cbc:DocumentCurrencyCode",
                f"currency {currency or '(missing)'}: Fordra invoices in SEK only",
            )
            return None

        invoice_lines = root.findall("cac:InvoiceLine", _NS)
        if not invoice_lines:
            self.errors.add(root_line, "Invoice/cac:InvoiceLine", "the invoice has no lines")
        if len(invoice_lines) > max_lines:
            _reject_one(
                f"the invoice has {len(invoice_lines):,} lines; at most {max_lines:,} are accepted",
                field="Invoice/cac:InvoiceLine",
            )

        type_el = self.find(root, "cbc:InvoiceTypeCode")
        type_code = self.text(type_el)
        if type_code not in _INVOICE_TYPE_CODES:
            accepted = ", ".join(f"{c} ({n})" for c, n in _INVOICE_TYPE_CODES.items())
            self.error(
                type_el,
                "Invoice/cbc:InvoiceTypeCode",
                f"invoice type {type_code or '(missing)'} is not accepted; accepted: {accepted}",
            )

        id_el = self.find(root, "cbc:ID")
        date_el = self.find(root, "cbc:IssueDate")
        ocr_el, ocr = self.payment_id()
        if department is None:
            self.errors.add(None, "department", "a PEPPOL invoice needs the department passed")
        if service_type is None:
            self.errors.add(
                None,
                "service_type",
                "a PEPPOL invoice does not say which service it bills: pass the service type",
            )

        lines: list[_UblLine] = []
        for n, line_el in enumerate(invoice_lines, start=1):
            lines.extend(self.invoice_line(line_el, n))
        for n, charge_el in enumerate(root.findall("cac:AllowanceCharge", _NS), start=1):
            line = self.allowance_charge(charge_el, f"Invoice/cac:AllowanceCharge[{n}]", None, None)
            if line is not None:
                lines.append(line)

        raw: dict[str, Any] = {
            "customer_id": UNRESOLVED_CUSTOMER_ID,
            "department": department,
            "service_type": service_type,
            "invoice_date": self.required_text(root, "cbc:IssueDate", "Invoice"),
            "source_reference": self.required_text(root, "cbc:ID", "Invoice"),
            "ocr": ocr,
            # None when there is no cac:InvoiceLine: that is already said, in the sender's terms.
            "lines": [line.raw for line in lines] if invoice_lines else None,
        }
        top_places = {
            "invoice_date": self.place(date_el, "Invoice/cbc:IssueDate"),
            "source_reference": self.place(id_el, "Invoice/cbc:ID"),
            "ocr": self.place(ocr_el, "Invoice/cac:PaymentMeans/cbc:PaymentID"),
            "department": _Place(None, "department"),
            "service_type": _Place(None, "service_type"),
        }

        def place_of(loc: tuple[int | str, ...]) -> _Place:
            if loc and loc[0] == "lines":
                if len(loc) >= 3 and isinstance(loc[1], int) and loc[1] < len(lines):
                    return lines[loc[1]].place(str(loc[2]))
                return _Place(root_line, "Invoice/cac:InvoiceLine")
            return top_places.get(str(loc[0]) if loc else "", _Place(root_line, "Invoice"))

        draft = _Draft(line=root_line, source_reference=raw["source_reference"])
        draft.line_places = [line.place for line in lines]
        draft.customer_id_number = self.buyer_identity(raw["invoice_date"])
        draft.command = _validate_command(raw, self.errors, place_of, none_is_reported=True)
        if draft.command is not None:
            # Every line is valid, so Fordra's totals can be computed and compared, whatever else
            # (the buyer, the type code) is wrong: the sender learns all of it at once.
            self.check_totals(draft.command, lines, invoice_lines)
        return draft

    def payment_id(self) -> tuple[etree._Element | None, str | None]:
        """The OCR the buyer was told to quote; BIS requires the same one in every PaymentMeans."""
        found: etree._Element | None = None
        for n, means in enumerate(self.root.findall("cac:PaymentMeans", _NS), start=1):
            element = self.find(means, "cbc:PaymentID")
            if element is None:
                continue
            if found is None:
                found = element
            elif self.text(element) != self.text(found):
                self.error(
                    element,
                    f"Invoice/cac:PaymentMeans[{n}]/cbc:PaymentID",
                    f"payment reference {self.text(element)!r} differs from {self.text(found)!r}:"
                    " an invoice has one",
                )
        return found, self.text(found)

    def buyer_identity(self, invoice_date: str | None) -> str | None:
        """The buyer's Swedish identity number in canonical form (domain.md §2), read as on the
        invoice date (the century of a 10-digit personnummer depends on the day it is read)."""
        buyer = self.find(self.root, _BUYER)
        candidates: list[tuple[etree._Element, str]] = []
        if buyer is not None:
            legal = self.find(buyer, "cac:PartyLegalEntity/cbc:CompanyID")
            if legal is not None and legal.get("schemeID") in (None, _SWEDISH_ORGNR_SCHEME):
                candidates.append((legal, f"Invoice/{_BUYER}/cac:PartyLegalEntity/cbc:CompanyID"))
            for n, ident in enumerate(buyer.findall("cac:PartyIdentification/cbc:ID", _NS), 1):
                if ident.get("schemeID") in (None, _SWEDISH_ORGNR_SCHEME):
                    path = f"Invoice/{_BUYER}/cac:PartyIdentification[{n}]/cbc:ID"
                    candidates.append((ident, path))
            endpoint = self.find(buyer, "cbc:EndpointID")
            if endpoint is not None and endpoint.get("schemeID") == _SWEDISH_ORGNR_SCHEME:
                candidates.append((endpoint, f"Invoice/{_BUYER}/cbc:EndpointID"))
        if not candidates:
            self.error(
                buyer,
                f"Invoice/{_BUYER}",
                "the buyer has no Swedish identity number: give the organisationsnummer or "
                "personnummer in cac:PartyLegalEntity/cbc:CompanyID (schemeID 0007 or none), "
                "cac:PartyIdentification/cbc:ID or cbc:EndpointID with schemeID 0007",
            )
            return None
        element, path = candidates[0]
        try:
            today = date.fromisoformat(invoice_date or "")
        except ValueError:
            return None  # the issue date's own error is reported; the number is checked then
        try:
            return parse_identity_number(self.text(element) or "", today=today).canonical
        except InvalidIdentityNumber as exc:
            self.error(element, path, f"the buyer's identity number is not valid: {exc}")
            return None

    def vat_rate(self, category: etree._Element | None, path: str) -> int | None:
        if category is None:
            self.error(None, path, "missing: the VAT category is required")
            return None
        code = self.text(self.find(category, "cbc:ID"))
        if code not in _VAT_CATEGORIES:
            self.error(
                category,
                f"{path}/cbc:ID",
                f"VAT category {code or '(missing)'} is not supported: Fordra's invoice cannot "
                "carry its legal statement (accepted: S, Z, E, O)",
            )
            return None
        percent_el = self.find(category, "cbc:Percent")
        if code == "O" and percent_el is None:
            return 0  # outside the scope of VAT: BIS forbids a percent there
        percent = self.decimal(percent_el, f"{path}/cbc:Percent")
        if percent is None:
            return None
        if percent != percent.to_integral_value():
            self.error(percent_el, f"{path}/cbc:Percent", f"VAT {percent} % is not a whole percent")
            return None
        return int(percent)

    def invoice_line(self, line_el: etree._Element, n: int) -> list[_UblLine]:
        base = f"Invoice/cac:InvoiceLine[{n}]"
        name_el = self.find(line_el, "cac:Item/cbc:Name")
        qty_el = self.find(line_el, "cbc:InvoicedQuantity")
        price_el = self.find(line_el, "cac:Price/cbc:PriceAmount")
        base_qty_el = self.find(line_el, "cac:Price/cbc:BaseQuantity")
        category_path = f"{base}/cac:Item/cac:ClassifiedTaxCategory"
        category_el = self.find(line_el, "cac:Item/cac:ClassifiedTaxCategory")
        percent_el = None if category_el is None else self.find(category_el, "cbc:Percent")
        places = {
            "description": self.place(
                name_el if name_el is not None else line_el, f"{base}/cac:Item/cbc:Name"
            ),
            "quantity": self.place(qty_el, f"{base}/cbc:InvoicedQuantity"),
            "unit_price_ore": self.place(price_el, f"{base}/cac:Price/cbc:PriceAmount"),
            "vat_rate": self.place(
                percent_el if percent_el is not None else line_el, f"{category_path}/cbc:Percent"
            ),
        }
        quantity = self.decimal(qty_el, places["quantity"].field or "")
        price = self.amount_ore(line_el, "cac:Price/cbc:PriceAmount", base)
        per = Decimal(1)
        if base_qty_el is not None:
            per_value = self.decimal(base_qty_el, f"{base}/cac:Price/cbc:BaseQuantity")
            if per_value is not None and per_value <= 0:
                self.error(base_qty_el, f"{base}/cac:Price/cbc:BaseQuantity", "must be above 0")
            elif per_value is not None:
                per = per_value
        vat = self.vat_rate(category_el, category_path)

        unit_price: int | None = None
        if price is not None:
            exact = Decimal(price) / per
            if exact != exact.to_integral_value():
                self.error(
                    price_el,
                    places["unit_price_ore"].field or "",
                    f"the price per unit ({price} öre per {per}) is not a whole number of öre",
                )
            else:
                unit_price = int(exact)
        if quantity is not None and unit_price is not None and quantity < 0:
            # A returned item: Fordra lines have a positive quantity, so the price turns instead.
            quantity, unit_price = -quantity, -unit_price
        main = _UblLine(
            raw={
                "description": self.required_text(line_el, "cac:Item/cbc:Name", base),
                "quantity": quantity,
                "unit_price_ore": unit_price,
                "vat_rate": vat,
            },
            places=places,
            invoice_line=n,
        )
        result = [main]
        for k, charge_el in enumerate(line_el.findall("cac:AllowanceCharge", _NS), start=1):
            extra = self.allowance_charge(charge_el, f"{base}/cac:AllowanceCharge[{k}]", vat, n)
            if extra is not None:
                result.append(extra)
        return result

    def allowance_charge(
        self,
        element: etree._Element,
        base: str,
        line_vat: int | None,
        invoice_line: int | None,
    ) -> _UblLine | None:
        """An allowance (discount) or charge as a line of its own (seed 001: discounts per rate)."""
        indicator = (self.text(self.find(element, "cbc:ChargeIndicator")) or "").lower()
        if indicator not in ("true", "false"):
            self.error(element, f"{base}/cbc:ChargeIndicator", "must be true or false")
            return None
        is_charge = indicator == "true"
        amount = self.amount_ore(element, "cbc:Amount", base)
        if invoice_line is None:
            vat = self.vat_rate(self.find(element, "cac:TaxCategory"), f"{base}/cac:TaxCategory")
        else:
            vat = line_vat
        reason = self.text(self.find(element, "cbc:AllowanceChargeReason")) or self.text(
            self.find(element, "cbc:AllowanceChargeReasonCode")
        )
        label = "Tillägg" if is_charge else "Rabatt"
        place = self.place(element, base)
        amount_place = self.place(self.find(element, "cbc:Amount"), f"{base}/cbc:Amount")
        return _UblLine(
            raw={
                "description": f"{label}: {reason}" if reason else label,
                "quantity": Decimal(1),
                "unit_price_ore": None if amount is None else (amount if is_charge else -amount),
                "vat_rate": vat,
            },
            places={
                "description": place,
                "quantity": place,
                "unit_price_ore": amount_place,
                "vat_rate": self.place(element, f"{base}/cac:TaxCategory/cbc:Percent"),
            },
            invoice_line=invoice_line,
            allowance="charge" if is_charge else "allowance",
        )

    # -- totals -----------------------------------------------------------------------------

    def check_totals(
        self, cmd: IssueInvoice, lines: list[_UblLine], invoice_lines: list[etree._Element]
    ) -> None:
        try:
            self._check_totals(cmd, lines, invoice_lines)
        except InvalidOperation:
            # An amount or quantity with more digits than Decimal's 28 (found by fuzzing: a
            # 40-digit allowance): refused by name instead of escaping as a crash.
            self.error(
                self.root,
                "Invoice",
                "the amounts are too large to compute the totals: check every amount and quantity",
            )

    def _check_totals(
        self, cmd: IssueInvoice, lines: list[_UblLine], invoice_lines: list[etree._Element]
    ) -> None:
        """The document's totals must be Fordra's: lines at quantity x unit price rounded to whole
        öre, VAT on the net per rate rounded once per rate (domain.md §2, seed 001)."""
        priced = [
            InvoiceLine(
                description=line.description,
                service_type=line.service_type or cmd.service_type,
                quantity=line.quantity,
                unit_price_ore=line.unit_price_ore,
                vat_rate=line.vat_rate,
                net_ore=round_ore(line.quantity * Decimal(line.unit_price_ore)),
            )
            for line in cmd.lines
        ]
        for n, line_el in enumerate(invoice_lines, start=1):
            ours = sum(
                p.net_ore for p, src in zip(priced, lines, strict=True) if src.invoice_line == n
            )
            self.compare(
                line_el,
                "cbc:LineExtensionAmount",
                f"Invoice/cac:InvoiceLine[{n}]",
                ours,
                "this line's quantity x price, with its allowances and charges",
            )
        breakdown = vat_per_rate(priced)
        net = sum(b.net_ore for b in breakdown)
        vat = sum(b.vat_ore for b in breakdown)
        lines_net = sum(p.net_ore for p, src in zip(priced, lines, strict=True) if src.invoice_line)
        allowances = -sum(
            p.net_ore
            for p, src in zip(priced, lines, strict=True)
            if src.invoice_line is None and src.allowance == "allowance"
        )
        charges = sum(
            p.net_ore
            for p, src in zip(priced, lines, strict=True)
            if src.invoice_line is None and src.allowance == "charge"
        )

        base = "Invoice/cac:LegalMonetaryTotal"
        total_el = self.find(self.root, "cac:LegalMonetaryTotal")
        if total_el is None:
            self.error(None, base, "missing: the document's totals are required")
            return
        self.compare(total_el, "cbc:LineExtensionAmount", base, lines_net, "the sum of the lines")
        self.compare(
            total_el,
            "cbc:AllowanceTotalAmount",
            base,
            allowances,
            "the sum of the document's allowances",
            required=False,
        )
        self.compare(
            total_el,
            "cbc:ChargeTotalAmount",
            base,
            charges,
            "the sum of the document's charges",
            required=False,
        )
        self.compare(total_el, "cbc:TaxExclusiveAmount", base, net, "the invoice's net amount")
        self.compare(
            total_el, "cbc:TaxInclusiveAmount", base, net + vat, "net plus VAT rounded per rate"
        )
        for name, why in (
            ("cbc:PrepaidAmount", "an amount paid in advance"),
            ("cbc:PayableRoundingAmount", "a rounding of the amount due"),
        ):
            value = self.amount_ore(total_el, name, base, required=False)
            if value:
                self.error(
                    self.find(total_el, name),
                    f"{base}/{name}",
                    f"{_sek(value)} SEK is {why}: Fordra's invoice claims its full total "
                    f"{_sek(net + vat)} SEK, so the amount due would not add up",
                )
        self.compare(total_el, "cbc:PayableAmount", base, net + vat, "the invoice's total")
        self.check_tax_total(vat, {b.vat_rate: (b.net_ore, b.vat_ore) for b in breakdown})

    def check_tax_total(self, vat: int, ours: dict[int, tuple[int, int]]) -> None:
        # A second TaxTotal may state the VAT in a tax currency (BT-111); the one in SEK counts.
        for n, tax_total in enumerate(self.root.findall("cac:TaxTotal", _NS), start=1):
            amount_el = self.find(tax_total, "cbc:TaxAmount")
            if amount_el is not None and amount_el.get("currencyID", "SEK").strip() != "SEK":
                continue
            base = f"Invoice/cac:TaxTotal[{n}]"
            self.compare(tax_total, "cbc:TaxAmount", base, vat, "VAT rounded per rate")
            theirs: dict[int, tuple[int, int]] = {}
            for k, sub in enumerate(tax_total.findall("cac:TaxSubtotal", _NS), start=1):
                sub_base = f"{base}/cac:TaxSubtotal[{k}]"
                taxable = self.amount_ore(sub, "cbc:TaxableAmount", sub_base)
                tax = self.amount_ore(sub, "cbc:TaxAmount", sub_base)
                rate = self.vat_rate(
                    self.find(sub, "cac:TaxCategory"), f"{sub_base}/cac:TaxCategory"
                )
                if taxable is None or tax is None or rate is None:
                    return
                old = theirs.get(rate, (0, 0))
                theirs[rate] = (old[0] + taxable, old[1] + tax)
            # A rate with nothing on it says nothing (BIS lists exempt categories at 0).
            if _nonzero(theirs) != _nonzero(ours):
                self.error(
                    tax_total,
                    f"{base}/cac:TaxSubtotal",
                    f"the VAT per rate is {_rates(theirs)} but the lines give {_rates(ours)} as "
                    "Fordra computes them (VAT rounded once per rate): totals that do not add up",
                )
            return
        self.error(None, "Invoice/cac:TaxTotal", "missing: the VAT total in SEK is required")

    def compare(
        self,
        parent: etree._Element,
        relative: str,
        base: str,
        ours: int,
        what: str,
        *,
        required: bool = True,
    ) -> None:
        theirs = self.amount_ore(parent, relative, base, required=required)
        if theirs is not None and theirs != ours:
            self.error(
                self.find(parent, relative),
                f"{base}/{relative}",
                f"{relative.removeprefix('cbc:')} is {_sek(theirs)} SEK but {what} is "
                f"{_sek(ours)} SEK as Fordra computes it: totals that do not add up are refused",
            )


def _sek(ore: int) -> str:
    sign = "-" if ore < 0 else ""
    kronor, rest = divmod(abs(ore), ORE_PER_KRONA)
    return f"{sign}{kronor}.{rest:02d}"


def _nonzero(per_rate: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    return {rate: amounts for rate, amounts in per_rate.items() if amounts != (0, 0)}


def _rates(per_rate: dict[int, tuple[int, int]]) -> str:
    shown = [
        f"{rate} %: {_sek(net)} net, {_sek(vat)} VAT"
        for rate, (net, vat) in sorted(_nonzero(per_rate).items(), reverse=True)
    ]
    return "; ".join(shown) or "nothing"


def _parse_ubl(
    data: bytes,
    errors: _Errors,
    max_lines: int,
    department: str | None,
    service_type: ServiceType | None,
) -> list[_Draft]:
    if not data.strip():
        return []
    declared = _XML_DECLARED_ENCODING.match(data)
    if declared and declared.group(1).decode("ascii").lower() not in ("utf-8", "utf8"):
        # PEPPOL documents are UTF-8; another encoding would also slip past the scan below.
        _reject_one(
            f"the document declares encoding {declared.group(1).decode('ascii')}: PEPPOL "
            "documents must be UTF-8",
            field=None,
            line=1,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        offset = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        line, message = _decode_line_error(data, exc, offset)
        _reject_one(message, field=None, line=line)
    dangerous = _DANGEROUS_XML.search(text)
    if dangerous:
        # A DOCTYPE is how entity expansion ("billion laughs") and external entities (file or
        # network reads) get in; UBL never needs one, so refuse it before a parser sees it.
        line = text.count("\n", 0, dangerous.start()) + 1
        _reject_one(
            f"the document contains <!{dangerous.group(1).upper()}: DTDs and entity "
            "declarations are refused in PEPPOL documents",
            field=None,
            line=line,
        )
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        _reject_one(f"not well-formed XML: {exc.msg}", field=None, line=exc.lineno or None)
    # Belt and braces: the scan above should make this unreachable.
    if root.getroottree().docinfo.doctype:
        _reject_one("DTDs are refused in PEPPOL documents", field=None, line=1)
    draft = _Ubl(root, errors).read(department, service_type, max_lines)
    return [] if draft is None else [draft]
