"""An invoice batch file, read by the format its ``Content-Type`` names (JSON Lines, CSV or PEPPOL
BIS Billing 3.0 UBL; docs/invoice-batch-format.md), then held to the rules of every batch
(``fordra.invoicing.domain.batch.accept_batch``)."""

from __future__ import annotations

from typing import Final, Literal

from fordra.contracts.invoicing import ServiceType
from fordra.invoicing.adapters.batch_csv import parse_csv
from fordra.invoicing.adapters.batch_jsonlines import parse_jsonlines
from fordra.invoicing.adapters.batch_ubl import parse_ubl
from fordra.invoicing.domain.batch import (
    MAX_BATCH_BYTES,
    MAX_BATCH_LINES,
    BatchItem,
    BatchProblems,
    accept_batch,
    reject_batch,
)
from fordra.kernel.dated import Dated

__all__ = ["MEDIA_TYPES", "BatchFormat", "batch_format_of", "parse_batch"]

BatchFormat = Literal["jsonl", "csv", "ubl"]

MEDIA_TYPES: Final[dict[str, BatchFormat]] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "text/csv": "csv",
    "application/xml": "ubl",
    "text/xml": "ubl",
}


def batch_format_of(content_type: str) -> BatchFormat:
    """The batch format a ``Content-Type`` header names; ``BatchRejected`` for any other."""
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    fmt = MEDIA_TYPES.get(media_type)
    if fmt is None:
        accepted = ", ".join(sorted(MEDIA_TYPES))
        reject_batch(
            f"content type {media_type or '(none)'!r} is not a batch format; accepted: {accepted}",
            field="content_type",
        )
    for param in params.split(";"):
        name, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            reject_batch(
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
    publish for each department as it does for a single invoice. ``max_lines`` counts invoices
    in JSON Lines, data rows in CSV and ``cac:InvoiceLine`` elements in UBL.
    """
    fmt = batch_format_of(content_type)
    # Before anything else is read: the size alone decides, so an oversized upload costs nothing.
    if len(data) > max_bytes:
        reject_batch(
            f"the batch is {len(data):,} bytes; at most {max_bytes:,} are accepted: split it",
            field=None,
        )
    problems = BatchProblems()
    if fmt == "jsonl":
        drafts = parse_jsonlines(data, problems, max_lines)
    elif fmt == "csv":
        drafts = parse_csv(data, problems, max_lines)
    else:
        drafts = parse_ubl(data, problems, max_lines, department, default_service_type)
    return accept_batch(drafts, problems, vat_rates)
