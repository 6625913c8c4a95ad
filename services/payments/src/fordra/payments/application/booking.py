"""Where a payment's money goes, written once for every path that moves it (domain.md §2-3): the
bank-file import, the work queue, agency collections and the reactions to invoicing's credit
notes, new invoices and holds. Each path reads, calls the pure rules of ``domain/`` and adds the
events to one ``BookingBatch``, which becomes one append: nothing is ever half booked.

Every öre of a payment ends as exactly one of: allocated to a claim, the customer's credit,
refunded, taken back by the bank, or waiting in the work queue (issue 9: money in == money out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from fordra.contracts.payments import (
    Component,
    CustomerCreditApplied,
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    PaymentAllocated,
    PaymentMatched,
    PaymentReversed,
    RefundRequested,
)
from fordra.kernel.clock import BusinessClock
from fordra.kernel.dated import Dated
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.money import DEFAULT_MAX_AMOUNT_ORE
from fordra.payments.application.streams import (
    CONTEXT,
    credit_stream,
    customer_receivables_stream,
    payment_stream,
    receivable_stream,
)
from fordra.payments.domain.allocation import Allocation, AllocationPolicy
from fordra.payments.domain.bank_file import ParsedBankFile
from fordra.payments.domain.credit import CustomerCredit, replay_credit, set_off_credit
from fordra.payments.domain.events import PaymentCredited, ReceivableListed
from fordra.payments.domain.receivable import (
    Receivable,
    payments_released_by_credit,
    replay_receivable,
)
from fordra.payments.domain.rent_refund import RentRefundSettings
from fordra.payments.domain.settlement import Settlement, settle_payment


class FileArchive(Protocol):
    """Every accepted file is kept for audit."""

    def keep(self, sha256: str, data: bytes, suffix: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PaymentsDeps:
    store: EventStore
    registry: EventRegistry
    clock: BusinessClock
    policy: AllocationPolicy
    archive: FileArchive
    parse: Callable[[bytes], ParsedBankFile]
    # The largest amount a bank file may carry (PaymentsSettings.max_amount_ore).
    max_amount_ore: Dated[int] = field(
        default_factory=lambda: Dated[int].always(DEFAULT_MAX_AMOUNT_ORE)
    )
    # What the rent administration refunds without a department decision (seed 002).
    rent_refund: RentRefundSettings = field(default_factory=RentRefundSettings)


@dataclass
class BookingBatch:
    """The streams one decision appends to, each with the version it was read at; reads through
    it see the store plus what the decision has added so far."""

    store: EventStore
    registry: EventRegistry
    meta: Metadata
    now: datetime
    pending: dict[str, tuple[int, list[Event]]] = field(default_factory=dict)
    _stored: dict[str, list[Event]] = field(default_factory=dict)

    def start(self, stream: str) -> None:
        """Take ``stream`` as new without reading it: the decision made its id (a payment's new
        uuid), so it has no events. The append still expects version 0 of it, so a stream that
        existed after all is a conflict, never a second history."""
        if stream not in self.pending:
            self.pending[stream] = (0, [])
            self._stored[stream] = []

    async def add(self, stream: str, *events: Event) -> None:
        if stream not in self.pending:
            self.pending[stream] = (await self.store.stream_version(stream), [])
        self.pending[stream][1].extend(events)

    async def events(self, stream: str) -> list[Event]:
        """The stream as it will be: stored events, then what this decision added."""
        if stream not in self._stored:
            stored = await self.store.read_stream(stream)
            self._stored[stream] = [self.registry.load(e) for e in stored]
        return [*self._stored[stream], *self.pending.get(stream, (0, []))[1]]

    async def receivable(self, invoice_id: str) -> Receivable | None:
        return replay_receivable(await self.events(receivable_stream(invoice_id)))

    async def credit(self, customer_id: str) -> CustomerCredit:
        return replay_credit(customer_id, await self.events(credit_stream(customer_id)))

    async def open_claims(self, customer_id: str) -> list[Receivable]:
        """The customer's claims with something unpaid, under a hold or not."""
        return [c for c in await self.claims_of(customer_id) if c.open_ore > 0]

    async def claims_of(self, customer_id: str) -> list[Receivable]:
        claims = []
        for event in await self.events(customer_receivables_stream(customer_id)):
            if isinstance(event, ReceivableListed):
                claim = await self.receivable(event.invoice_id)
                if claim is not None:
                    claims.append(claim)
        return claims

    def appends(self) -> list[StreamAppend]:
        return [
            StreamAppend(
                stream,
                version,
                self.registry.envelopes(
                    events,
                    context=CONTEXT,
                    stream_id=stream,
                    after_version=version,
                    metadata=self.meta,
                    occurred_at=self.now,
                ),
            )
            for stream, (version, events) in self.pending.items()
        ]


def allocated(payment_id: str, allocations: Iterable[Allocation]) -> list[PaymentAllocated]:
    """The events of ``payment_id``'s allocations to one claim (domain.md §3)."""
    return [
        PaymentAllocated(
            payment_id=payment_id,
            invoice_id=a.invoice_id,
            customer_id=a.customer_id,
            component=a.component,
            service_type=a.service_type,
            amount_ore=a.amount_ore,
        )
        for a in allocations
    ]


async def settle_matched_payment(
    batch: BookingBatch,
    deps: PaymentsDeps,
    payment_id: str,
    receivable: Receivable,
    amount: int,
    *,
    today: date,
    instructed: Mapping[Component, int] | None = None,
) -> Settlement:
    """A payment matched to a claim (by its OCR reference, by hand, or by the agency): where its
    money goes is the rule ``settle_payment`` (domain/settlement.py: allocate, set off, credit);
    this reads the claims it needs through ``batch`` and adds its events there."""
    settlement = settle_payment(amount, receivable, (), deps.policy, today, instructed=instructed)
    if settlement.credit_ore > 0:
        # Only an overpayment reaches the customer's other claims: read them only then.
        claims = await batch.claims_of(receivable.customer_id)
        settlement = settle_payment(
            amount, receivable, claims, deps.policy, today, instructed=instructed
        )
    await book_settlement(batch, payment_id, settlement)
    return settlement


async def book_settlement(batch: BookingBatch, payment_id: str, settlement: Settlement) -> None:
    """The events of a ``Settlement``: the allocations on each claim's stream, a ``PaymentMatched``
    ("set_off") on the payment's stream for each claim set off against, the credit on the
    customer's credit stream, and then the payer's instructed interest and fees."""
    paid = settlement.receivable
    if settlement.allocations:
        await batch.add(
            receivable_stream(paid.invoice_id), *allocated(payment_id, settlement.allocations)
        )
    for set_off in settlement.set_offs:
        other = set_off.receivable
        await batch.add(
            payment_stream(payment_id),
            PaymentMatched(
                payment_id=payment_id,
                invoice_id=other.invoice_id,
                customer_id=other.customer_id,
                method="set_off",
            ),
        )
        if set_off.allocations:
            await batch.add(
                receivable_stream(other.invoice_id), *allocated(payment_id, set_off.allocations)
            )
    if settlement.credit_ore > 0:
        await record_credit(
            batch, payment_id, paid.customer_id, settlement.credit_ore, "overpayment"
        )
    if settlement.charges:
        await batch.add(
            receivable_stream(paid.invoice_id), *allocated(payment_id, settlement.charges)
        )


async def record_credit(
    batch: BookingBatch,
    payment_id: str,
    customer_id: str,
    amount: int,
    reason: Literal["overpayment", "advance", "credit_note"],
    *,
    invoice_id: str | None = None,
) -> None:
    """Money of ``payment_id`` becomes the customer's credit: the money on the customer's credit
    stream, a marker on the payment's own stream (so its reversal finds it)."""
    await batch.add(
        credit_stream(customer_id),
        CustomerCreditRecorded(
            payment_id=payment_id,
            customer_id=customer_id,
            amount_ore=amount,
            reason=reason,
            invoice_id=invoice_id,
        ),
    )
    await batch.add(
        payment_stream(payment_id),
        PaymentCredited(payment_id=payment_id, customer_id=customer_id, amount_ore=amount),
    )


async def apply_customer_credit(
    batch: BookingBatch, policy: AllocationPolicy, customer_id: str, *, today: date
) -> int:
    """Set the customer's available credit off against their open claims not under a hold
    (``set_off_credit``). Answers the amount set off."""
    credit = await batch.credit(customer_id)
    if credit.available_ore <= 0:
        return 0
    used = 0
    for set_off in set_off_credit(credit, await batch.claims_of(customer_id), policy, today):
        await batch.add(
            credit_stream(customer_id),
            CustomerCreditApplied(
                payment_id=set_off.payment_id,
                customer_id=customer_id,
                invoice_id=set_off.receivable.invoice_id,
                amount_ore=set_off.amount_ore,
            ),
        )
        await batch.add(
            receivable_stream(set_off.receivable.invoice_id),
            *allocated(set_off.payment_id, set_off.allocations),
        )
        used += set_off.amount_ore
    return used


async def release_credited_payments(
    batch: BookingBatch, receivable: Receivable
) -> list[tuple[str, int]]:
    """After a credit note: what it took of a paid service goes back to the customer as credit
    (``payments_released_by_credit``): the payments' allocations are taken back and recorded as
    credit, payment by payment. Answers ``(payment_id, amount)`` released."""
    released: dict[str, int] = {}
    events = []
    for payment_id, service, amount in payments_released_by_credit(receivable):
        events.append(
            PaymentAllocated(
                payment_id=payment_id,
                invoice_id=receivable.invoice_id,
                customer_id=receivable.customer_id,
                component="capital",
                service_type=service,
                amount_ore=-amount,
            )
        )
        released[payment_id] = released.get(payment_id, 0) + amount
    if events:
        await batch.add(receivable_stream(receivable.invoice_id), *events)
    for payment_id, amount in released.items():
        await record_credit(
            batch,
            payment_id,
            receivable.customer_id,
            amount,
            "credit_note",
            invoice_id=receivable.invoice_id,
        )
    return list(released.items())


async def reverse_payment(
    batch: BookingBatch, original_id: str, reversal_bank_reference: str, amount: int
) -> str | None:
    """The bank took a payment back (camt.054 ``RvslInd``): undo everything it did (issue 9,
    item 4): its allocations on every claim it reached (directly, by set-off or through the
    customer's credit) and what is left of it as credit. Answers why not, when it cannot: reversed
    already, or refunded already, itself or as the customer's credit (the money went out twice:
    a case for the bank and a person; the reversal waits in the queue)."""
    history = await batch.events(payment_stream(original_id))
    if any(isinstance(e, PaymentReversed) for e in history):
        return "a reversal of a payment that was reversed already"
    if any(isinstance(e, RefundRequested) for e in history):
        return "a reversal of a payment that was refunded: settle it with the bank"
    invoices = [e.invoice_id for e in history if isinstance(e, PaymentMatched)]
    customers = list(
        dict.fromkeys(e.customer_id for e in history if isinstance(e, PaymentCredited))
    )
    for customer_id in customers:
        for event in await batch.events(credit_stream(customer_id)):
            if isinstance(event, CustomerCreditRefunded) and event.payment_id == original_id:
                return "a reversal of a payment whose credit was refunded: settle it with the bank"
            if isinstance(event, CustomerCreditApplied) and event.payment_id == original_id:
                invoices.append(event.invoice_id)
    await batch.add(
        payment_stream(original_id),
        PaymentReversed(
            payment_id=original_id,
            reversal_bank_reference=reversal_bank_reference,
            amount_ore=amount,
        ),
    )
    for invoice_id in dict.fromkeys(invoices):
        receivable = await batch.receivable(invoice_id)
        if receivable is None:
            continue
        undo = [
            PaymentAllocated(
                payment_id=original_id,
                invoice_id=invoice_id,
                customer_id=receivable.customer_id,
                component=component,
                service_type=service,
                amount_ore=-paid,
            )
            for (payment_id, component, service), paid in receivable.paid.items()
            if payment_id == original_id and paid != 0
        ]
        if undo:
            await batch.add(receivable_stream(invoice_id), *undo)
    for customer_id in customers:
        left = (await batch.credit(customer_id)).lots.get(original_id, 0)
        if left:
            await batch.add(
                credit_stream(customer_id),
                CustomerCreditReversed(
                    payment_id=original_id, customer_id=customer_id, amount_ore=left
                ),
            )
    return None
