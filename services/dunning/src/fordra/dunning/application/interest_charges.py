"""Late interest is charged when the capital is paid (domain.md §3, seed 001: "Räntefakturering
sker med automatik först när ursprungsfakturan är betald och beloppet läggs på nästkommande
faktura"): a process manager that follows invoicing's and payments' public events into a small
stream per invoice in dunning's own store (``late-interest-<invoice>``), and, on the event that
completes the payment of the capital, appends one ``LateInterestCharged`` per rate period (which
invoicing puts on the customer's next invoice) and the ``InterestSettled`` that makes it once.

Why a stream of its own rather than the claims read model: the charge must be decided on state
that commits with it (a redelivered or repeated event must find it charged), and this keeps the
charge independent of how the daily run's claims are kept.

- **The capital** is the invoice's total less its interest and fee lines (those are outside VAT
  and bear no interest: domain.md §3), as the customer ledger counts it; a credit note lowers it
  by its own capital, from the start.
- **The payment day** is the business date (Swedish time) on which payments booked the capital's
  allocation: what ``PaymentAllocated`` tells. The bank's booking date is on the payment
  (``PaymentReceived.received_on``), not on the allocation; a payment matched on import is
  usually booked the next banking day, so the interest may run a day or two longer than the
  bank's date (noted in the report of issue 13: the allocation could carry the date).
- **The logs are two** (invoicing, payments) and no order exists between them: every fact is
  kept whatever arrives first, and the charge is decided each time a fact arrives, so a payment
  heard before its invoice is charged when the invoice comes. A postponement or deferral that
  arrives *after* the payment that completed the capital (a lagging invoicing consumer) finds the
  interest charged already: in the embedded engine the bus delivers a command's events before the
  next command, so this cannot happen there.
- **Exactly once**: ``InterestSettled`` is appended with the charge; a claim settled is never
  charged again (a reversal after it and a new payment charge nothing more). A redelivered event
  is refused by the runner's tracking.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from fordra.contracts.invoicing import (
    CreditNoteIssued,
    DeferralGranted,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceIssued,
    InvoiceLine,
)
from fordra.contracts.payments import PaymentAllocated
from fordra.dunning.application.reference_rates import (
    CONTEXT,
    REFERENCE_RATES_STREAM,
    reference_rates_in_force,
)
from fordra.dunning.domain.interest import (
    InterestPeriod,
    InterestSettings,
    charge_when_paid,
    interest_on_claim,
    replay_claim,
)
from fordra.dunning.domain.rate_events import (
    InterestCapitalChanged,
    InterestClaimCancelled,
    InterestClaimOpened,
    InterestStartMoved,
)
from fordra.kernel.clock import STOCKHOLM
from fordra.kernel.envelope import Envelope
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.late_interest import total_ore as interest_total
from fordra.kernel.process import Prefetched, Reaction

__all__ = [
    "accrued_interest",
    "accrued_interest_ore",
    "capital_of",
    "interest_charge_reactions",
    "interest_stream",
]


def interest_stream(invoice_id: str) -> str:
    """Dunning's stream of one invoice's late interest."""
    return f"late-interest-{invoice_id}"


def capital_of(total_ore: int, lines: Iterable[InvoiceLine]) -> int:
    """What of an invoice (or a credit note) is capital: its total less the interest and fee
    lines, which carry no VAT (domain.md §3; the customer ledger's ``charges_ore``)."""
    return total_ore - sum(line.net_ore for line in lines if line.kind != "capital")


def business_date(env: Envelope) -> date:
    """The business date an event happened on: Swedish time (``fordra.kernel.clock``)."""
    return env.occurred_at.astimezone(STOCKHOLM).date()


async def accrued_interest(
    store: EventStore,
    registry: EventRegistry,
    settings: InterestSettings,
    invoice_id: str,
    until: date,
) -> tuple[InterestPeriod, ...]:
    """The late interest one invoice has accrued by ``until`` as dunning knows it (its stream and
    the rate table): for a letter's, a proposal's or a handover's ``interest_ore`` (the sum of
    the periods), and the periods themselves for a letter that shows the rate. Empty for an
    invoice dunning has not heard of. Two stream reads: for one claim, not for a run over all."""
    claim = replay_claim(
        invoice_id, [registry.load(e) for e in await store.read_stream(interest_stream(invoice_id))]
    )
    if not claim.opened:
        return ()
    rates = await reference_rates_in_force(store, registry)
    return interest_on_claim(claim, until, rates, settings)


async def accrued_interest_ore(
    store: EventStore,
    registry: EventRegistry,
    settings: InterestSettings,
    invoice_ids: Iterable[str],
    until: date,
) -> int:
    """The late interest the invoices have accrued by ``until``, exact (each partial payment from
    the day after it): what a letter, a handover and an invoice's collection view state (the sum
    of ``accrued_interest``'s periods, each rounded once)."""
    total = 0
    for invoice_id in invoice_ids:
        total += interest_total(
            await accrued_interest(store, registry, settings, invoice_id, until)
        )
    return total


def interest_charge_reactions(
    registry: EventRegistry, settings: InterestSettings
) -> dict[str, Reaction]:
    """The reactions of the ``dunning-interest`` process manager, following ``invoicing`` and
    ``payments`` (the bootstrap's ``_subscriptions``)."""

    async def record(
        env: Envelope, store: EventStore, invoice_id: str, fact: Event
    ) -> Sequence[StreamAppend]:
        """Keep ``fact`` on the invoice's stream and charge the interest if the capital is now
        paid, in one append."""
        stream = interest_stream(invoice_id)
        stored = await store.read_stream(stream)
        history = [registry.load(e) for e in stored]
        new: list[Event] = [fact]
        claim = replay_claim(invoice_id, [*history, fact])
        if claim.opened and not claim.settled and not claim.cancelled:
            rates = await reference_rates_in_force(store, registry)
            new.extend(charge_when_paid(claim, rates, settings))
        envelopes = registry.envelopes(
            new,
            context=CONTEXT,
            stream_id=stream,
            after_version=len(stored),
            metadata=env.caused_metadata(),
            occurred_at=env.occurred_at,
        )
        return [StreamAppend(stream, len(stored), envelopes)]

    async def on_issued(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        issued = registry.load_as(env, InvoiceIssued)
        opened = InterestClaimOpened(
            invoice_id=issued.invoice_id,
            customer_id=issued.customer_id,
            service_type=issued.service_type,
            due_date=issued.due_date,
            capital_ore=capital_of(issued.total_ore, issued.lines),
        )
        return await record(env, store, issued.invoice_id, opened)

    async def on_credited(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        credit = registry.load_as(env, CreditNoteIssued)
        change = InterestCapitalChanged(
            invoice_id=credit.invoice_id,
            on=credit.issued_on,
            amount_ore=capital_of(credit.total_ore, credit.lines),
            cause="credit_note",
        )
        return await record(env, store, credit.invoice_id, change)

    async def on_cancelled(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        cancelled = registry.load_as(env, InvoiceCancelled)
        fact = InterestClaimCancelled(invoice_id=cancelled.invoice_id)
        return await record(env, store, cancelled.invoice_id, fact)

    async def on_postponed(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        postponed = registry.load_as(env, DueDatePostponed)
        fact = InterestStartMoved(invoice_id=postponed.invoice_id, due_date=postponed.due_date)
        return await record(env, store, postponed.invoice_id, fact)

    async def on_deferred(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        deferred = registry.load_as(env, DeferralGranted)
        fact = InterestStartMoved(
            invoice_id=deferred.invoice_id, interest_from=deferred.interest_from
        )
        return await record(env, store, deferred.invoice_id, fact)

    async def on_allocated(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        allocated = registry.load_as(env, PaymentAllocated)
        if allocated.component != "capital" or allocated.amount_ore == 0:
            return []  # interest and fees paid bear on no interest
        change = InterestCapitalChanged(
            invoice_id=allocated.invoice_id,
            on=business_date(env),
            amount_ore=-allocated.amount_ore,
            cause="payment",
        )
        return await record(env, store, allocated.invoice_id, change)

    def issued_creates(env: Envelope) -> Iterable[str]:
        # A new invoice's stream is new unless a payment was heard first (then the append's
        # version check sends the batch round again, reading it).
        return [interest_stream(registry.load_as(env, InvoiceIssued).invoice_id)]

    def allocated_reads(env: Envelope) -> Iterable[str]:
        # A bank file pays many invoices in one batch: their streams, and the rate table the
        # charge needs, read at once.
        allocated = registry.load_as(env, PaymentAllocated)
        if allocated.component != "capital":
            return []
        return [interest_stream(allocated.invoice_id), REFERENCE_RATES_STREAM]

    return {
        InvoiceIssued.event_type: Prefetched(on_issued, creates=issued_creates),
        CreditNoteIssued.event_type: on_credited,
        InvoiceCancelled.event_type: on_cancelled,
        DueDatePostponed.event_type: on_postponed,
        DeferralGranted.event_type: on_deferred,
        PaymentAllocated.event_type: Prefetched(on_allocated, reads=allocated_reads),
    }
