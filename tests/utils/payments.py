"""Payments' use cases on a ``MemoryEventStore``, without HTTP or a bus: the invoices it collects
for arrive as invoicing's public events through payments' own reaction, bank files as the
``ParsedBankFile`` a parser would answer (parsing is an adapter, tested on its own)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from fordra.contracts import all_contracts
from fordra.contracts.invoicing import InvoiceIssued, InvoiceLine, VatBreakdown
from fordra.kernel.auth import Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.memory_eventstore import MemoryEventStore
from fordra.kernel.ocr import make_ocr
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.process import Reaction
from fordra.payments.application.booking import FileArchive, PaymentsDeps
from fordra.payments.application.receivables import receivable_reactions
from fordra.payments.application.streams import receivable_stream
from fordra.payments.domain.allocation import AllocationPolicy
from fordra.payments.domain.bank_file import BankPayment, ParsedBankFile
from fordra.payments.domain.events import INTERNAL_EVENTS
from fordra.payments.domain.receivable import Receivable, replay_receivable

TENANT = "svenljunga"
E = TypeVar("E", bound=Event)


class KeptFiles(FileArchive):
    """The archive port, keeping the files in memory."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def keep(self, sha256: str, data: bytes, suffix: str) -> None:
        self.files[sha256] = data


@dataclass
class PaymentsOnMemory:
    """Payments' dependencies on a started ``MemoryEventStore``; ``files`` is what the parser
    answers for each file's bytes."""

    store: MemoryEventStore
    registry: EventRegistry
    clock: ManualClock
    deps: PaymentsDeps
    files: dict[bytes, ParsedBankFile] = field(default_factory=dict)
    _serials: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    async def start(cls, today: date, policy: AllocationPolicy | None = None) -> PaymentsOnMemory:
        registry = EventRegistry()
        registry.register_all(all_contracts())
        registry.register_all(INTERNAL_EVENTS)
        store = MemoryEventStore(
            "payments", EnvelopeCodec("payments", PersonalDataSealer(InMemoryKeyRing()))
        )
        await store.start()
        clock = ManualClock(today)
        files: dict[bytes, ParsedBankFile] = {}
        deps = PaymentsDeps(
            store=store,
            registry=registry,
            clock=clock,
            policy=policy or AllocationPolicy(),
            archive=KeptFiles(),
            parse=lambda data: files[data],
        )
        return cls(store, registry, clock, deps, files)

    # -- given ------------------------------------------------------------------------------------

    def meta(self, actor: str = "test") -> Metadata:
        return Metadata(TENANT, actor, str(uuid.uuid4()))

    def principal(self, role: Role, subject: str = "someone") -> Principal:
        return Principal(subject=subject, role=role, tenant=TENANT)

    async def react(self, reaction: Reaction, event: Event, *, context: str) -> None:
        """Feed ``event`` (of another context) to one of payments' reactions, as its process
        manager would, and append what it decides."""
        env = self.registry.envelope(
            event,
            context=context,
            stream_id=f"{context}-{uuid.uuid4()}",
            version=1,
            metadata=self.meta("upstream"),
            occurred_at=self.clock.now(),
        )
        appends: list[StreamAppend] = list(await reaction(env, self.store))
        if appends:
            await self.store.append(appends)

    async def given(self, stream: str, *events: Event) -> None:
        """Append payments' own ``events`` to ``stream``, as a use case before the test did."""
        version = await self.store.stream_version(stream)
        envelopes = self.registry.envelopes(
            events,
            context="payments",
            stream_id=stream,
            after_version=version,
            metadata=self.meta(),
            occurred_at=self.clock.now(),
        )
        await self.store.append([StreamAppend(stream, version, envelopes)])

    async def invoice(
        self, customer_id: str, owed: dict[str, int], *, due: date, invoice_id: str | None = None
    ) -> Receivable:
        """An invoice issued to ``customer_id`` (no VAT: the amounts are what is owed per
        service), as payments learns of it: invoicing's ``InvoiceIssued`` through payments'
        reaction. Answers the receivable it opened."""
        serial = next(self._serials)
        invoice_id = invoice_id or f"inv-{serial}"
        lines = tuple(
            InvoiceLine(
                description=service,
                service_type=service,  # type: ignore[arg-type]
                quantity=Decimal(1),
                unit_price_ore=amount,
                vat_rate=0,
                net_ore=amount,
            )
            for service, amount in owed.items()
        )
        total = sum(owed.values())
        issued = InvoiceIssued(
            invoice_id=invoice_id,
            customer_id=customer_id,
            serial_number=serial,
            invoice_number=f"{serial:08d}",
            ocr=make_ocr(serial, length_digit=True),
            department="water",
            service_type="water",
            invoice_date=self.clock.today(),
            due_date=due,
            payment_terms_days=30,
            lines=lines,
            vat=(VatBreakdown(vat_rate=0, net_ore=total, vat_ore=0),),
            net_ore=total,
            vat_ore=0,
            total_ore=total,
        )
        on_issued = receivable_reactions(self.registry, self.deps.policy)[InvoiceIssued.event_type]
        await self.react(on_issued, issued, context="invoicing")
        receivable = await self.receivable(invoice_id)
        assert receivable is not None
        return receivable

    def bank_file(self, file_format: str, *payments: BankPayment) -> bytes:
        """The bytes of a file the parser answers as ``payments``."""
        data = f"{file_format}-{uuid.uuid4()}".encode()
        self.files[data] = ParsedBankFile(
            format=file_format,  # type: ignore[arg-type]
            layout=file_format,
            file_reference=data.decode(),
            created_at=datetime(2026, 3, 2, 6, 15),
            payments=payments,
        )
        return data

    # -- then -------------------------------------------------------------------------------------

    async def events(self, stream: str) -> list[Event]:
        return [self.registry.load(e) for e in await self.store.read_stream(stream)]

    async def events_of(self, stream: str, kind: type[E]) -> list[E]:
        return [e for e in await self.events(stream) if isinstance(e, kind)]

    async def receivable(self, invoice_id: str) -> Receivable | None:
        return replay_receivable(await self.events(receivable_stream(invoice_id)))

    async def log(self) -> list[Event]:
        envelopes: list[Envelope] = []
        while batch := await self.store.read_log(len(envelopes)):
            envelopes += batch
        return [self.registry.load(e) for e in envelopes]


def bank_payment(
    reference: str | None,
    amount_ore: int,
    *,
    bank_reference: str | None = None,
    reference_kind: str = "ocr",
    bgmax_reference_code: int | None = None,
    received_on: date = date(2026, 3, 2),
) -> BankPayment:
    return BankPayment.model_validate(
        {
            "bank_reference": bank_reference or f"BANK-{uuid.uuid4()}",
            "amount_ore": amount_ore,
            "currency": "SEK",
            "reference": reference,
            "reference_kind": reference_kind if reference else "none",
            "bgmax_reference_code": bgmax_reference_code,
            "received_on": received_on,
            "section": "1",
            "payer_name": "Tolvan Tolvansson",
        }
    )
