"""Invoice batches from departmental systems (domain.md §1 "They send single invoices over HTTP and
batches as files"; the invoice rules are domain.md §2, seed 001): what a batch is once read, and
the rules every batch must satisfy whatever its format.

A batch is accepted or rejected whole (as a bank file is, domain.md §9): nothing here books
anything, and one bad line rejects all of them, so that the department corrects its file and sends
it again instead of chasing which half was booked. Each problem names its 1-based line and the
field at fault (seed 002 "Handläggningstider": error lists of files imported from source systems
are corrected within one day, so they must say where).

The formats (JSON Lines, CSV, PEPPOL BIS Billing 3.0 UBL) are read by the adapters
``fordra.invoicing.adapters.batch_*``, each into ``BatchDraft``s and the ``BatchProblems`` found;
``accept_batch`` then applies the rules that hold for every format (``check_batch_not_empty``,
``check_source_references_unique``, ``check_vat_rates_valid_on_invoice_date``) and answers the
``BatchItem``s or raises ``BatchRejected``. The formats are specified in
docs/invoice-batch-format.md.

Pure: no I/O, no clock. The use case resolves customers, reserves serial numbers and issues.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError

from fordra.invoicing.domain.commands import IssueInvoice
from fordra.invoicing.domain.vat import check_vat_rate_valid_on
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_LINES",
    "MAX_REPORTED_ERRORS",
    "UNRESOLVED_CUSTOMER_ID",
    "BatchDraft",
    "BatchError",
    "BatchItem",
    "BatchProblems",
    "BatchRejected",
    "Place",
    "accept_batch",
    "check_batch_not_empty",
    "check_source_references_unique",
    "check_vat_rates_valid_on_invoice_date",
    "reject_batch",
    "validate_command",
]

MAX_BATCH_LINES: Final[int] = 10_000
MAX_BATCH_BYTES: Final[int] = 20 * 1024 * 1024
# A batch of 10,000 bad lines would otherwise answer a 422 of megabytes; the first thousand
# problems are enough to show the department what is wrong with its export.
MAX_REPORTED_ERRORS: Final[int] = 1_000

# The command needs a customer id before the use case has resolved the buyer's identity number.
# The colon cannot occur in the UUIDs Fordra gives customers, so it never names a real customer.
UNRESOLVED_CUSTOMER_ID: Final[str] = "unresolved:buyer-identity-number"


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


# --- what a reader of a format produces ---------------------------------------------------------


@dataclass
class BatchProblems:
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
class Place:
    """Where a value came from: its line and the name the sender knows it by."""

    line: int | None
    field: str | None


@dataclass
class BatchDraft:
    """An invoice being read: the command once valid, and where each of its parts came from."""

    line: int
    source_reference: str | None
    # Where each command line came from, and how to name a line's field for the sender.
    line_places: list[Callable[[str], Place]] = field(default_factory=list)
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


def reject_batch(message: str, *, field: str | None, line: int | None = None) -> NoReturn:
    """Refuse the whole batch for one problem that makes reading on pointless (its size, its
    encoding, more lines than accepted)."""
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


def validate_command(
    raw: dict[str, Any],
    problems: BatchProblems,
    place_of: Callable[[tuple[int | str, ...]], Place],
    *,
    none_is_reported: bool = False,
) -> IssueInvoice | None:
    """Validate ``raw`` as an ``IssueInvoice``, the command a single invoice is; map each of
    pydantic's errors to its place in the file (``place_of`` turns pydantic's location into it).

    With ``none_is_reported`` a None in ``raw`` stands for a value the reader already explained
    better (a UBL amount that is not a number, a missing element): pydantic's generic complaint
    about it is dropped rather than said twice.
    """
    try:
        return IssueInvoice.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        # A tuple whose items failed is also "too short" (only its valid items count): that
        # echo would tell the sender the invoice has no lines when the real fault is named.
        bad_items = any(len(e["loc"]) > 1 and e["loc"][0] == "lines" for e in errors)
        for error in errors:
            if bad_items and error["loc"] == ("lines",) and error["type"] == "too_short":
                continue
            if none_is_reported and error.get("input", ...) is None:
                continue
            place = place_of(tuple(error["loc"]))
            problems.add(place.line, place.field, _pydantic_message(error))
    return None


# --- the rules of every batch ------------------------------------------------------------------


def accept_batch(
    drafts: Sequence[BatchDraft],
    problems: BatchProblems,
    vat_rates: Dated[tuple[int, ...]] | None = None,
) -> list[BatchItem]:
    """The batch's invoices if it holds no problem, else ``BatchRejected`` naming every one.

    ``problems`` are those the reader of the format found; the rules of every batch add theirs.
    With ``vat_rates`` (the invoicing settings' dated rates) each line's rate is checked against
    its invoice date, as ``issue_invoice`` will.
    """
    check_batch_not_empty(drafts, problems)
    check_source_references_unique(drafts, problems)
    if vat_rates is not None:
        for draft in drafts:
            check_vat_rates_valid_on_invoice_date(draft, vat_rates, problems)
    if problems:
        raise BatchRejected(problems.sorted())
    return [draft.item() for draft in drafts if draft.command is not None]


def check_batch_not_empty(drafts: Sequence[BatchDraft], problems: BatchProblems) -> None:
    """A batch that holds no invoice is a mistake in the export (an empty file, a CSV header
    alone), not a batch of nothing: said only when the reader found nothing else wrong."""
    if not drafts and not problems:
        problems.add(None, None, "the batch holds no invoices")


def check_source_references_unique(drafts: Iterable[BatchDraft], problems: BatchProblems) -> None:
    """A department's reference names one of its invoices: the same one twice in a batch is a
    mistake in the export, and issuing both would bill the customer twice for one charge."""
    first_line: dict[str, int] = {}
    for draft in drafts:
        ref = draft.source_reference
        if not ref:
            continue
        if ref in first_line:
            problems.add(
                draft.line,
                "source_reference",
                f"source_reference {ref!r} is used by the invoices on line {first_line[ref]} and "
                f"line {draft.line}: each invoice in a batch needs its own",
            )
        else:
            first_line[ref] = draft.line


def check_vat_rates_valid_on_invoice_date(
    draft: BatchDraft, vat_rates: Dated[tuple[int, ...]], problems: BatchProblems
) -> None:
    """Each line's rate must be valid on the invoice date (domain.md §2: "VAT rates 25/12/6/0 are
    date-effective"), checked here so that a wrong rate rejects the batch before anything is
    issued. Named on the line's own place in the file."""
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
            problems.add(place.line, place.field, str(exc))
        except LookupError as exc:  # the invoice date is before the first dated rate
            problems.add(place.line, place.field, f"no VAT rates known for the invoice date: {exc}")
