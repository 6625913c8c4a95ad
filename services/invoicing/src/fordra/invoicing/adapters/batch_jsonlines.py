"""Invoice batches as JSON Lines (``application/x-ndjson``): one invoice per line, each exactly the
JSON body ``POST /api/v1/invoices`` takes. Errors name the field as a dotted path
(``lines.0.vat_rate``). The format is specified in docs/invoice-batch-format.md; the rules every
batch must satisfy are ``fordra.invoicing.domain.batch``'s."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import NoReturn

from fordra.invoicing.adapters.batch_utf8 import BOM, not_utf8
from fordra.invoicing.domain.batch import (
    BatchDraft,
    BatchProblems,
    Place,
    reject_batch,
    validate_command,
)

__all__ = ["parse_jsonlines"]


def parse_jsonlines(data: bytes, problems: BatchProblems, max_lines: int) -> list[BatchDraft]:
    """One draft per non-blank line; each problem is added to ``problems``. More than
    ``max_lines`` invoices reject the batch at once."""
    # Split on b"\n" only: str.splitlines would also split on U+2028 and other separators that
    # may stand inside a JSON string.
    raw_lines = data.split(b"\n")
    numbered = [(n, raw) for n, raw in enumerate(raw_lines, start=1) if raw.strip()]
    if len(numbered) > max_lines:
        reject_batch(
            f"the batch has {len(numbered):,} invoices; at most {max_lines:,} are accepted: "
            "split it",
            field=None,
            line=numbered[max_lines][0],
        )
    drafts: list[BatchDraft] = []
    for number, raw in numbered:
        chunk = raw
        if number == 1 and chunk.startswith(BOM):
            chunk = chunk[len(BOM) :]
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.add(number, None, not_utf8(chunk, exc)[1])
            continue
        try:
            body = json.loads(text, parse_float=Decimal, parse_constant=_reject_json_constant)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            problems.add(number, None, f"not valid JSON: {exc}")
            continue

        ref = body.get("source_reference") if isinstance(body, dict) else None
        draft = BatchDraft(
            line=number, source_reference=ref.strip() if isinstance(ref, str) else None
        )
        if isinstance(body, dict):
            draft.command = validate_command(body, problems, _dotted_place(number))
        else:
            problems.add(number, None, "each line must be one JSON object: an invoice body")
        if draft.command is not None:
            draft.line_places = [_line_place(number, i) for i in range(len(draft.command.lines))]
        drafts.append(draft)
    return drafts


def _reject_json_constant(name: str) -> NoReturn:
    # json.loads accepts NaN and Infinity by default; they are not JSON and not amounts.
    raise ValueError(f"{name} is not a JSON value")


def _dotted_place(number: int) -> Callable[[tuple[int | str, ...]], Place]:
    """Pydantic's location as the dotted path the HTTP body has: ``lines.0.vat_rate``."""

    def place_of(loc: tuple[int | str, ...]) -> Place:
        return Place(number, ".".join(str(part) for part in loc) or None)

    return place_of


def _line_place(number: int, index: int) -> Callable[[str], Place]:
    def place(attr: str) -> Place:
        return Place(number, f"lines.{index}.{attr}")

    return place
