"""Invoice numbers in blocks (domain.md §2 "Invoice content": a unique serial number; the rule and
what a gap means: docs/adr/0004-invoice-numbering.md).

The VAT directive (2006/112/EC art. 226 (2)) and mervärdesskattelagen (2023:200) ask for "a
sequential number, based on one or more series, which uniquely identifies the invoice". Fordra
numbers invoices and credit notes of a tenant from one counter, in blocks: a process reserves the
next ``invoice_number_block_size`` numbers with one append to the counter stream, and hands them
out in ascending order. Each block is one series; blocks never overlap, so a number identifies one
invoice. Numbers of a block that no invoice got when the process stopped are a gap: never issued,
and never issued later either.
"""

from __future__ import annotations

from fordra.invoicing.domain.events import InvoiceNumberBlockReserved, InvoiceSerialReserved
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.events import Event


def last_reserved_number(event: Event | None) -> int:
    """The highest number the counter's last event reserved (0 on an empty counter). A counter
    written before blocks holds one ``InvoiceSerialReserved`` per number."""
    if event is None:
        return 0
    if isinstance(event, InvoiceNumberBlockReserved):
        return event.last
    if isinstance(event, InvoiceSerialReserved):
        return event.serial_number
    raise TypeError(f"{event.event_type} is not an event of the invoice number counter")


def next_block(last_reserved: int, size: int, *, at_least: int = 1) -> tuple[int, int]:
    """The first and last number of the block after ``last_reserved``: ``size`` numbers, or
    ``at_least`` when a batch needs more at once."""
    if size < 1:
        raise DomainRuleViolation(
            f"an invoice number block holds at least one number, not {size}",
            field="invoice_number_block_size",
            rule="invoice_number_block_size_positive",
        )
    count = max(size, at_least)
    return last_reserved + 1, last_reserved + count
