"""Outbound (issue 15): what the gateway queues for an agency, and its delivery.

Three reactions (a ``ProcessManagerRunner``, ``agency-outbound``, following invoicing, dunning
and payments; each commits with its tracking row, so a redelivered event changes nothing):

- ``InvoiceIssued`` -> ``AgencyInvoiceNoted`` on ``agency-invoice-<invoice>``: the facts an agency
  needs to state the basis of the claim in words (domain/claim.py). Contexts never read each
  other's stores, so the gateway keeps its own copy.
- ``HandedToAgency`` -> the claim queued once per case (``OutboundQueued`` kind ``claim`` on
  ``agency-outbound-<case>``, the case id being dunning's ``handover_id``), the public
  ``AgencyCaseChanged`` (``queued``) on the same stream, and ``AgencyInvoiceHandedOver`` on the
  invoice's stream.
- ``PaymentAllocated`` of an invoice already handed over, by a payment the municipality received
  itself (not one the agency collected: payments names those ``agency-<event>``) -> a
  ``direct_payment`` report queued for the agency (domain.md §5: "A payment received directly
  after handover is reported"), one per allocation event.

``OutboundDelivery`` delivers every queued message, of any kind (the inbound half queues
``recall`` and may queue ``direct_payment`` too), through its agency's adapter. It follows the
gateway's own log for what is waiting, tries each message when it is due, and records the outcome
on the message's stream at the version it read: ``OutboundDelivered`` once (a second process
delivering the same message loses the append, and the agency took the message id once), or
``OutboundFailed`` with the attempt and when to try again (domain/delivery.py). A claim is put
together when it is delivered, from the gateway's copies of the invoice and the debtor, so the
debtor's personal data is never in a payload.

Why a task of its own and not the daily scheduler: an agency that is down for ten minutes should
delay a claim by about ten minutes, not by a business day, and the back-off is real time (the
system clock). It runs in ``fordra run`` and, in the distributed engine, in ``fordra serve
agency-gateway``; tests make the back-off short (``delivery_retry_first_seconds``) or call
``deliver_due`` with a clock of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from fordra.agency_gateway.application.debtors import load_debtor
from fordra.agency_gateway.application.deps import CONTEXT, AgencyDeps
from fordra.agency_gateway.domain.case import ENDED, case_of, case_stream
from fordra.agency_gateway.domain.claim import (
    AgencyInvoiceHandedOver,
    AgencyInvoiceNoted,
    HandoverFacts,
    InvoiceFacts,
    claim_for_agency,
    invoice_stream,
)
from fordra.agency_gateway.domain.debtors import debtor_for_agency
from fordra.agency_gateway.domain.delivery import (
    AgencyAdapter,
    DeliveryFailed,
    DeliveryRefused,
    Pending,
    fold_pending,
    next_attempt_at,
)
from fordra.agency_gateway.domain.outbound import (
    OUTBOUND_EVENTS,
    OutboundDelivered,
    OutboundFailed,
    OutboundQueued,
    OutboundRefused,
    outbound_stream,
)
from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.contracts.agency_gateway import AgencyCaseChanged
from fordra.contracts.dunning import HandedToAgency
from fordra.contracts.invoicing import InvoiceIssued
from fordra.contracts.payments import PaymentAllocated
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.errors import ConcurrencyConflict
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.ids import new_id
from fordra.kernel.process import Prefetched, Reaction

__all__ = [
    "AGENCY_PAYMENT_PREFIX",
    "OUTBOUND_CONSUMER",
    "OutboundDelivery",
    "message_body",
    "outbound_reactions",
]

log = logging.getLogger(__name__)

OUTBOUND_CONSUMER: Final = "agency-outbound"
# Payments names a payment the agency collected ``agency-<event id>``
# (payments/application/agency_payments.py): the agency knows of it already.
AGENCY_PAYMENT_PREFIX: Final = "agency-"
_OUTBOUND_TYPES: Final = frozenset(e.event_type for e in OUTBOUND_EVENTS)


def _caused(
    registry: EventRegistry, cause: Envelope, stream_id: str, version: int, events: Sequence[Event]
) -> StreamAppend:
    envelopes = registry.envelopes(
        events,
        context=CONTEXT,
        stream_id=stream_id,
        after_version=version,
        metadata=cause.caused_metadata(),
        occurred_at=cause.occurred_at,
    )
    return StreamAppend(stream_id, version, envelopes)


def outbound_reactions(registry: EventRegistry, settings: AgencySettings) -> dict[str, Reaction]:
    """``{event_type: reaction}`` for the ``agency-outbound`` process manager."""

    async def on_invoice_issued(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        issued = registry.load_as(env, InvoiceIssued)
        # What the invoice is for, in its own words: the capital lines (interest and fees put on
        # it are not its basis), each description once.
        descriptions = tuple(
            dict.fromkeys(line.description for line in issued.lines if line.kind == "capital")
        )
        noted = AgencyInvoiceNoted(
            invoice_id=issued.invoice_id,
            customer_id=issued.customer_id,
            invoice_number=issued.invoice_number,
            ocr=issued.ocr,
            service_type=issued.service_type,
            invoice_date=issued.invoice_date,
            due_date=issued.due_date,
            total_ore=issued.total_ore,
            descriptions=descriptions,
            billing_period_start=issued.billing_period_start,
            billing_period_end=issued.billing_period_end,
            property_designation=issued.property_designation,
        )
        stream = invoice_stream(issued.invoice_id)
        return [_caused(registry, env, stream, await store.stream_version(stream), [noted])]

    async def on_handed_over(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        handed = registry.load_as(env, HandedToAgency)
        stream = outbound_stream(handed.handover_id)
        if await store.stream_version(stream) > 0:
            return []  # this case's claim is queued already: once per case
        facts = HandoverFacts(
            case_id=handed.handover_id,
            invoice_id=handed.invoice_id,
            customer_id=handed.customer_id,
            service_type=handed.service_type,
            handed_on=handed.handed_on,
            capital_ore=handed.capital_ore,
            interest_ore=handed.interest_ore,
            fee_ore=handed.fee_ore,
            model=handed.model,
        )
        agency = settings.default_agency
        queued = OutboundQueued(
            message_id=handed.handover_id,
            case_id=handed.handover_id,
            agency=agency,
            kind="claim",
            payload=facts.model_dump(mode="json"),
        )
        status = AgencyCaseChanged(
            case_id=handed.handover_id,
            invoice_id=handed.invoice_id,
            customer_id=handed.customer_id,
            agency=agency,
            status="queued",
            occurred_on=handed.handed_on,
        )
        noted = AgencyInvoiceHandedOver(
            invoice_id=handed.invoice_id,
            case_id=handed.handover_id,
            agency=agency,
            handed_on=handed.handed_on,
        )
        invoice = invoice_stream(handed.invoice_id)
        return [
            _caused(registry, env, stream, 0, [queued, status]),
            _caused(registry, env, invoice, await store.stream_version(invoice), [noted]),
        ]

    async def on_payment_allocated(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        allocated = registry.load_as(env, PaymentAllocated)
        if allocated.payment_id.startswith(AGENCY_PAYMENT_PREFIX):
            return []  # the agency collected it and reported it to us
        invoice = await store.read_stream(invoice_stream(allocated.invoice_id))
        facts = InvoiceFacts.fold([registry.load(e) for e in invoice])
        if facts.case_id is None or facts.agency is None:
            return []  # not handed over: nothing to tell an agency
        case = case_of(
            registry.load(e) for e in await store.read_stream(case_stream(facts.case_id))
        )
        if case is not None and case.status in ENDED:
            return []  # recalled or closed: the agency no longer collects it
        message_id = f"{facts.case_id}-direct-{env.event_id}"
        queued = OutboundQueued(
            message_id=message_id,
            case_id=facts.case_id,
            agency=facts.agency,
            kind="direct_payment",
            payload={
                "case_id": facts.case_id,
                "invoice_id": allocated.invoice_id,
                "payment_id": allocated.payment_id,
                "component": allocated.component,
                # Negative when payments reversed the payment: the agency must add it back.
                "amount_ore": allocated.amount_ore,
                "received_on": env.occurred_at.date().isoformat(),
            },
        )
        return [_caused(registry, env, outbound_stream(message_id), 0, [queued])]

    def issued_creates(env: Envelope) -> list[str]:
        # An invoice's stream starts with its issue (a handover of it cannot come before); were
        # it there already, the append's version check says so and the batch is read again.
        return [invoice_stream(str(env.payload["invoice_id"]))]

    return {
        # A batch of invoices (a billing run, a file) costs no read per invoice.
        InvoiceIssued.event_type: Prefetched(on_invoice_issued, creates=issued_creates),
        HandedToAgency.event_type: on_handed_over,
        PaymentAllocated.event_type: on_payment_allocated,
    }


async def message_body(deps: AgencyDeps, queued: OutboundQueued) -> dict[str, Any]:
    """What the agency gets for a queued message: ``{"message_id", "kind", "case_id",
    "content"}``; a claim's content is the whole claim (domain/claim.py), put together now from
    the gateway's copies. Raises ``DeliveryFailed`` while a claim cannot be described yet (the
    invoice or the debtor not yet known to the gateway, or the debtor forgotten)."""
    content: dict[str, Any] = dict(queued.payload)
    if queued.kind == "claim":
        handover = HandoverFacts.model_validate(queued.payload)
        events = await deps.store.read_stream(invoice_stream(handover.invoice_id))
        facts = InvoiceFacts.fold([deps.registry.load(e) for e in events])
        if facts.noted is None:
            raise DeliveryFailed(f"waiting: invoice {handover.invoice_id} not yet known here")
        state = await load_debtor(deps.store, deps.registry, handover.customer_id)
        debtor = debtor_for_agency(state)
        if debtor is None:
            raise DeliveryFailed(f"waiting: no identity known for customer {handover.customer_id}")
        content = claim_for_agency(handover, facts.noted, debtor).model_dump(mode="json")
    return {
        "message_id": queued.message_id,
        "kind": queued.kind,
        "case_id": queued.case_id,
        "content": content,
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


# The shortest pause between two rounds: a message that stays due (another process is recording
# its attempt) is tried again soon, without spinning the loop.
_MIN_PAUSE_SECONDS: Final[float] = 0.01


class OutboundDelivery:
    """Delivers the gateway's queued messages with retry and back-off (module docstring)."""

    def __init__(
        self,
        deps: AgencyDeps,
        adapters: Mapping[str, AgencyAdapter],
        *,
        now: Callable[[], datetime] = _utc_now,
        idle_seconds: float = 30.0,
    ) -> None:
        self.deps = deps
        self.adapters = adapters
        self._now = now
        self._idle_seconds = idle_seconds
        self._position = 0
        self._pending: dict[str, Pending] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> Mapping[str, Pending]:
        """The messages waiting, as of the last read of the log."""
        return self._pending

    async def catch_up(self) -> None:
        """Fold what the gateway's log holds since the last read into what is waiting."""
        while True:
            batch = await self.deps.store.read_log(self._position, limit=1000)
            if not batch:
                return
            pairs = [
                (self.deps.registry.load(e), e.version)
                for e in batch
                if e.event_type in _OUTBOUND_TYPES
            ]
            self._pending = fold_pending(self._pending, pairs)
            self._position = batch[-1].position

    async def deliver_due(self) -> list[str]:
        """Try every waiting message that is due now, in the order queued; answer the ids of
        those delivered."""
        await self.catch_up()
        now = self._now()
        delivered = [
            message_id
            for message_id, pending in list(self._pending.items())
            if pending.due(now) and await self._attempt(message_id, now)
        ]
        await self.catch_up()
        return delivered

    async def _attempt(self, message_id: str, now: datetime) -> bool:
        deps = self.deps
        stream = outbound_stream(message_id)
        events = await deps.store.read_stream(stream)
        if not events:
            return False
        # The stream as it is now: another process may have delivered it meanwhile.
        current = fold_pending({}, [(deps.registry.load(e), e.version) for e in events])
        if message_id not in current:
            return False
        queued = current[message_id].queued
        attempt = current[message_id].attempts + 1
        version = events[-1].version
        adapter = self.adapters.get(queued.agency)
        outcome: list[Event]
        try:
            if adapter is None:
                raise DeliveryFailed(f"no agency named {queued.agency!r} is configured")
            body = await message_body(deps, queued)
            await adapter.deliver(message_id, body, today=deps.clock.today())
        except DeliveryRefused as exc:
            log.error(
                "agency %s refused message %s (attempt %d); set aside until retried: %s",
                queued.agency, message_id, attempt, exc,
            )  # fmt: skip
            refused = OutboundRefused(
                message_id=message_id,
                case_id=queued.case_id,
                agency=queued.agency,
                kind=queued.kind,
                attempt=attempt,
                error=str(exc)[:500],
                refused_at=now,
            )
            await self._record(stream, version, [refused])
            return False
        except DeliveryFailed as exc:
            retry_at = next_attempt_at(now, attempt, deps.settings)
            log.warning(
                "agency %s: message %s not delivered (attempt %d, again at %s): %s",
                queued.agency, message_id, attempt, retry_at.isoformat(), exc,
            )  # fmt: skip
            outcome = [
                OutboundFailed(
                    message_id=message_id,
                    case_id=queued.case_id,
                    attempt=attempt,
                    error=str(exc)[:500],
                    retry_at=retry_at,
                )
            ]
            await self._record(stream, version, outcome)
            return False
        outcome = [
            OutboundDelivered(
                message_id=message_id, case_id=queued.case_id, delivered_at=now, attempts=attempt
            )
        ]
        if queued.kind == "claim":
            handover = HandoverFacts.model_validate(queued.payload)
            outcome.append(
                AgencyCaseChanged(
                    case_id=queued.case_id,
                    invoice_id=handover.invoice_id,
                    customer_id=handover.customer_id,
                    agency=queued.agency,
                    status="delivered",
                    occurred_on=deps.clock.today(),
                )
            )
        return await self._record(stream, version, outcome)

    async def _record(self, stream: str, version: int, events: Sequence[Event]) -> bool:
        meta = Metadata(
            tenant=self.deps.tenant, actor="system:agency-delivery", correlation_id=new_id()
        )
        envelopes = self.deps.registry.envelopes(
            events,
            context=CONTEXT,
            stream_id=stream,
            after_version=version,
            metadata=meta,
            occurred_at=self.deps.clock.now(),
        )
        try:
            await self.deps.store.append([StreamAppend(stream, version, envelopes)])
        except ConcurrencyConflict:
            # Another process recorded this message's attempt first; the agency took the id
            # once, so nothing is doubled, and the next read of the log shows where it stands.
            return False
        return True

    async def run(self) -> None:
        """Deliver as messages are queued and as their retries come due, until cancelled."""
        while True:
            floor = _MIN_PAUSE_SECONDS
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failure here must not stop the deliveries for good
                log.exception("agency delivery failed; trying again")
                # Not at once: the store or a bug may fail again the same way.
                floor = self.deps.settings.delivery_retry_first_seconds
            timeout = self._idle_seconds
            # A message queued while the last attempts ran (deliver_due reads the log again at
            # its end) has never been tried: it is due now, not after the idle wait.
            now = self._now()
            waits = [p.retry_at or now for p in self._pending.values() if not p.refused]
            if waits:
                until = (min(waits) - self._now()).total_seconds()
                timeout = max(floor, min(timeout, until))
            await self.deps.store.wait_for_events(self._position, timeout)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="agency-delivery")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for adapter in self.adapters.values():
            await adapter.close()
