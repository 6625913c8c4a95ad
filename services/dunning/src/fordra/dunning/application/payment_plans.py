"""Payment plans' use cases (domain.md §4 "Installment plan"): draw one up for a customer's
invoices, record that the debtor signed and returned it, read it and its document, list plans by
status (the department's queue of cancelled plans, seed 002).

What a plan knows of its invoices (owner, open capital, interest date, cancelled or handed over,
in an active plan) is small per-invoice state of dunning's own, kept from other contexts' public
events by ``plan_invoice_reactions`` (a process manager) in a stream per invoice,
``plan-invoice-{id}``. We chose streams over a projection table because a plan's decisions need
that state consistently: signing a plan appends to each invoice's stream at the version it read, so
two plans never both become active for one invoice, and a payment booked meanwhile makes the
decision run again on fresh state (kernel ``execute``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from fordra.contracts.dunning import (
    ClaimWrittenDown,
    HandedToAgency,
    PaymentPlanActivated,
    PaymentPlanProposed,
    WriteDownRecovered,
)
from fordra.contracts.invoicing import (
    CreditNoteIssued,
    DeferralGranted,
    DueDatePostponed,
    InvoiceCancelled,
    InvoiceIssued,
    InvoiceLine,
)
from fordra.contracts.payments import PaymentAllocated
from fordra.dunning.application.interest_charges import capital_of
from fordra.dunning.application.letters import LetterDeps, letter_document
from fordra.dunning.domain.letters import Creditor as LetterCreditor
from fordra.dunning.domain.letters import LetterDocument, PlanTerms, plan_letter_facts
from fordra.dunning.domain.payment_plan import (
    InterestCalculator,
    PaymentPlan,
    PaymentPlanDrawnUp,
    PaymentPlanIndexed,
    PlanInvoice,
    PlanInvoiceCapitalReduced,
    PlanInvoiceClosed,
    PlanInvoiceInterestFromMoved,
    PlanInvoiceJoinedPlan,
    PlanInvoiceOpened,
    PlanStatus,
    check_not_written_off,
    draw_up_plan,
    replay_plan,
    replay_plan_index,
    replay_plan_invoice,
)
from fordra.dunning.domain.plan_document import (
    DEFAULT_CONDITIONS,
    Creditor,
    PlanDocument,
    build_plan_document,
)
from fordra.dunning.domain.settings import DunningSettings
from fordra.dunning.domain.write_down import recovery
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.clock import STOCKHOLM, BusinessClock
from fordra.kernel.dated import CalendarDate
from fordra.kernel.delegation import DepartmentDecision
from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.ids import new_id
from fordra.kernel.money import Ore
from fordra.kernel.process import Prefetched, Reaction, append_caused

CONTEXT = "dunning"
PLAN_INDEX_STREAM = "payment-plans"

# Who draws up and signs plans (issue 13), and who may read them.
PLAN_HANDLERS = (Role.CASE_OFFICER, Role.OPS_LEAD)
PLAN_READERS = (Role.CASE_OFFICER, Role.OPS_LEAD, Role.ADMIN)


def payment_plan_stream(plan_id: str) -> str:
    return f"payment-plan-{plan_id}"


def plan_invoice_stream(invoice_id: str) -> str:
    return f"plan-invoice-{invoice_id}"


# Late interest as it stands when a plan is drawn up: the app's reads the rate table (admin-added
# half-years included) each time, so a plan drawn up after an admin adds a rate computes with it.
InterestSource = Callable[[], Awaitable[InterestCalculator]]


@dataclass(frozen=True)
class PaymentPlanDeps:
    store: EventStore  # dunning's
    registry: EventRegistry
    clock: BusinessClock
    interest: InterestSource
    creditor: Creditor
    settings: DunningSettings = field(default_factory=DunningSettings)
    conditions: tuple[str, ...] = DEFAULT_CONDITIONS


# -- requests and answers -------------------------------------------------------------------------

# An id a request names: bounded, printable (as kernel.web.PathId for paths).
Id = Annotated[str, Field(min_length=1, max_length=100, pattern="^[^\\x00-\\x1f\\x7f-\\x9f]+$")]


class ProposePaymentPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: Id
    invoice_ids: tuple[Id, ...] = Field(max_length=200)
    # Not a rule (the plan's rules say at least one, by name): a bound that keeps every
    # installment's date within the calendar a request may name (kernel.dated.UNTIL_FURTHER).
    installments: StrictInt = Field(le=600)
    first_due_date: CalendarDate
    written: StrictBool
    fee_ore: Ore = 0
    # A plan for unpaid rent beyond the office's delegation (seed 002: more than three months)
    # needs the department's decision, recorded here and kept in the plan's event.
    department_decision: DepartmentDecision | None = None


class InstallmentView(BaseModel):
    due_date: date
    amount_ore: int


class MissedView(BaseModel):
    due_date: date
    amount_ore: int
    missed_on: date


class PlanView(BaseModel):
    plan_id: str
    status: PlanStatus
    customer_id: str
    invoice_ids: list[str]
    written: bool
    proposed_on: date
    installments: list[InstallmentView]
    capital_ore: int
    interest_ore: int
    costs_ore: int
    total_ore: int
    rate_percent: str
    activated_on: date | None = None
    closed_on: date | None = None
    reason: str | None = None
    missed: list[MissedView] = Field(default_factory=list)
    # The department decision a rent plan beyond the office's delegation was drawn up with.
    department_decision: DepartmentDecision | None = None


class PlanList(BaseModel):
    items: list[PlanView]


def view_of(plan: PaymentPlan) -> PlanView:
    p = plan.proposed
    return PlanView(
        plan_id=plan.plan_id,
        status=plan.status,
        customer_id=plan.customer_id,
        invoice_ids=list(p.invoice_ids),
        written=p.written,
        proposed_on=p.proposed_on,
        installments=[
            InstallmentView(due_date=i.due_date, amount_ore=i.amount_ore) for i in p.installments
        ],
        capital_ore=p.capital_ore,
        interest_ore=p.interest_ore,
        costs_ore=p.costs_ore,
        total_ore=p.total_ore,
        rate_percent=p.rate_percent,
        activated_on=plan.activated_on,
        closed_on=plan.closed_on,
        reason=plan.reason,
        missed=[
            MissedView(due_date=m.due_date, amount_ore=m.amount_ore, missed_on=m.missed_on)
            for m in plan.missed
        ],
        department_decision=p.department_decision,
    )


# -- reading --------------------------------------------------------------------------------------


@dataclass
class Appends:
    """The streams one decision appends to, each after the version it was read at."""

    registry: EventRegistry
    meta: Metadata
    clock: BusinessClock
    versions: dict[str, int] = field(default_factory=dict)
    events: dict[str, list[Event]] = field(default_factory=dict)

    def read_at(self, stream: str, version: int) -> None:
        self.versions.setdefault(stream, version)

    def add(self, stream: str, *events: Event) -> None:
        self.events.setdefault(stream, []).extend(events)

    def appends(self) -> list[StreamAppend]:
        now = self.clock.now()
        out = []
        for stream, events in self.events.items():
            version = self.versions.get(stream, 0)
            envelopes = self.registry.envelopes(
                events,
                context=CONTEXT,
                stream_id=stream,
                after_version=version,
                metadata=self.meta,
                occurred_at=now,
            )
            out.append(StreamAppend(stream, version, envelopes))
        return out


async def read_events(
    store: EventStore, registry: EventRegistry, streams: Sequence[str]
) -> dict[str, list[Envelope]]:
    return await store.read_streams(list(dict.fromkeys(streams)))


def _loaded(registry: EventRegistry, envelopes: Iterable[Envelope]) -> list[Event]:
    return [registry.load(e) for e in envelopes if registry.knows(e.event_type)]


async def read_plan_invoices(
    store: EventStore, registry: EventRegistry, invoice_ids: Sequence[str], into: Appends | None
) -> dict[str, PlanInvoice | None]:
    streams = [plan_invoice_stream(i) for i in invoice_ids]
    read = await read_events(store, registry, streams)
    out: dict[str, PlanInvoice | None] = {}
    for invoice_id, stream in zip(invoice_ids, streams, strict=True):
        envelopes = read.get(stream, [])
        if into is not None:
            into.read_at(stream, envelopes[-1].version if envelopes else 0)
        out[invoice_id] = replay_plan_invoice(_loaded(registry, envelopes))
    return out


async def read_plan(
    store: EventStore, registry: EventRegistry, plan_id: str, into: Appends | None = None
) -> PaymentPlan:
    stream = payment_plan_stream(plan_id)
    envelopes = await store.read_stream(stream)
    plan = replay_plan(_loaded(registry, envelopes))
    if plan is None:
        raise NotFound("payment plan", plan_id)
    if into is not None:
        into.read_at(stream, envelopes[-1].version)
    return plan


async def read_plans(
    store: EventStore, registry: EventRegistry, plan_ids: Sequence[str]
) -> dict[str, tuple[PaymentPlan, int]]:
    """Many plans in one read, each with its stream's version."""
    streams = [payment_plan_stream(p) for p in plan_ids]
    read = await read_events(store, registry, streams)
    out = {}
    for plan_id, stream in zip(plan_ids, streams, strict=True):
        envelopes = read.get(stream, [])
        plan = replay_plan(_loaded(registry, envelopes))
        if plan is not None:
            out[plan_id] = (plan, envelopes[-1].version)
    return out


async def read_index(
    store: EventStore, registry: EventRegistry, into: Appends | None = None
) -> dict[str, PlanStatus]:
    envelopes = await store.read_stream(PLAN_INDEX_STREAM)
    if into is not None:
        into.read_at(PLAN_INDEX_STREAM, envelopes[-1].version if envelopes else 0)
    return replay_plan_index(_loaded(registry, envelopes))


# -- use cases ------------------------------------------------------------------------------------


async def propose_payment_plan(
    cmd: ProposePaymentPlan,
    deps: PaymentPlanDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[PlanView]:
    """Draw up a plan for signature (domain.md §4: in writing, signed and returned by the debtor,
    seed 000 §9); an oral plan is recorded the same way, without a fee (domain.md §3)."""
    require_role(principal, *PLAN_HANDLERS, action="draw up a payment plan")

    async def decide() -> Decision[PlanView]:
        today = deps.clock.today()
        out = Appends(deps.registry, meta, deps.clock)
        invoices = await read_plan_invoices(deps.store, deps.registry, cmd.invoice_ids, None)
        terms = draw_up_plan(
            customer_id=cmd.customer_id,
            invoices=[(i, invoices.get(i)) for i in cmd.invoice_ids],
            installments=cmd.installments,
            first_due_date=cmd.first_due_date,
            written=cmd.written,
            fee_ore=cmd.fee_ore,
            today=today,
            settings=deps.settings,
            interest=await deps.interest(),
            department_decision=cmd.department_decision,
        )
        plan_id = new_id()
        proposed = PaymentPlanProposed(
            plan_id=plan_id,
            customer_id=cmd.customer_id,
            invoice_ids=tuple(cmd.invoice_ids),
            proposed_on=today,
            written=cmd.written,
            installments=terms.installments,
            capital_ore=terms.capital_ore,
            interest_ore=terms.interest_ore,
            costs_ore=terms.costs_ore,
            total_ore=terms.total_ore,
            rate_percent=terms.rate_percent,
            department_decision=terms.department_decision,
        )
        drawn = PaymentPlanDrawnUp(
            plan_id=plan_id,
            claims=terms.claims,
            fee_ore=cmd.fee_ore,
            first_due_date=cmd.first_due_date,
        )
        plan = replay_plan([proposed, drawn])
        assert plan is not None
        # A plan whose document would say what seed 003 §7 forbids is never proposed.
        build_plan_document(plan, deps.creditor, deps.conditions)
        await read_index(deps.store, deps.registry, out)
        out.add(payment_plan_stream(plan_id), proposed, drawn)
        out.add(PLAN_INDEX_STREAM, PaymentPlanIndexed(plan_id=plan_id, status=plan.status))
        return Decision(out.appends(), view_of(plan))

    return await execute(
        deps.store,
        decide,
        PlanView,
        idempotency=idempotent(
            principal, idempotency_key, "ProposePaymentPlan", cmd.model_dump(mode="json")
        ),
    )


async def sign_payment_plan(
    plan_id: str, deps: PaymentPlanDeps, principal: Principal, meta: Metadata
) -> Outcome[PlanView]:
    """The debtor signed and returned the plan (seed 000 §9): it becomes active and holds its
    invoices. Signed again: the same answer, nothing appended."""
    require_role(principal, *PLAN_HANDLERS, action="record a signed payment plan")

    async def decide() -> Decision[PlanView]:
        out = Appends(deps.registry, meta, deps.clock)
        plan = await read_plan(deps.store, deps.registry, plan_id, out)
        if plan.status == "active":
            return Decision([], view_of(plan))
        if plan.status != "awaiting_signature":
            raise DomainRuleViolation(
                f"payment plan {plan_id!r} is {plan.status}: only a plan awaiting signature is "
                "signed",
                rule="check_plan_awaiting_signature",
            )
        invoices = await read_plan_invoices(deps.store, deps.registry, plan.invoice_ids, out)
        for i, invoice_id in enumerate(plan.invoice_ids):
            _check_still_plannable(invoice_id, invoices.get(invoice_id), i)
        today = deps.clock.today()
        out.add(
            payment_plan_stream(plan_id),
            PaymentPlanActivated(
                plan_id=plan_id,
                customer_id=plan.customer_id,
                invoice_ids=plan.invoice_ids,
                activated_on=today,
                fee_ore=plan.drawn_up.fee_ore,
                service_type=plan.drawn_up.claims[0].service_type,
            ),
        )
        for invoice_id in plan.invoice_ids:
            out.add(
                plan_invoice_stream(invoice_id),
                PlanInvoiceJoinedPlan(invoice_id=invoice_id, plan_id=plan_id),
            )
        await read_index(deps.store, deps.registry, out)
        out.add(PLAN_INDEX_STREAM, PaymentPlanIndexed(plan_id=plan_id, status="active"))
        active = plan.model_copy(update={"status": "active", "activated_on": today})
        return Decision(out.appends(), view_of(active))

    return await execute(deps.store, decide, PlanView)


def _check_still_plannable(invoice_id: str, invoice: PlanInvoice | None, index: int) -> None:
    """At signing, an invoice may have been paid meanwhile (that counts towards the plan), but
    not handed over, cancelled or put in another active plan (domain.md §4)."""
    field_ = f"invoice_ids.{index}"
    if invoice is None:  # pragma: no cover - the plan was drawn up from it
        raise NotFound("invoice", invoice_id)
    if invoice.status == "handed_over":
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} was handed over to the collection agency since",
            field=field_,
            rule="check_invoice_not_handed_over",
        )
    if invoice.status == "cancelled":
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} was cancelled since", field=field_, rule="check_invoice_open"
        )
    check_not_written_off(invoice, field_)
    if invoice.active_plan_id is not None:
        raise DomainRuleViolation(
            f"invoice {invoice_id!r} is already in active payment plan {invoice.active_plan_id!r}",
            field=field_,
            rule="check_invoice_not_in_active_plan",
        )


async def get_payment_plan(plan_id: str, deps: PaymentPlanDeps, principal: Principal) -> PlanView:
    require_role(principal, *PLAN_READERS, action="read payment plans")
    return view_of(await read_plan(deps.store, deps.registry, plan_id))


async def payment_plan_document(
    plan_id: str, deps: PaymentPlanDeps, principal: Principal
) -> PlanDocument:
    """The written plan's content, for the letters' renderer (a letter of kind
    ``payment_plan``)."""
    require_role(principal, *PLAN_READERS, action="read payment plans")
    plan = await read_plan(deps.store, deps.registry, plan_id)
    return build_plan_document(plan, deps.creditor, deps.conditions)


def plan_creditor(creditor: LetterCreditor) -> Creditor:
    """The creditor a plan's document names: the letters' (invoicing's issuer, so that the plan
    names the same bankgiro and address as the invoices it is for)."""
    address = creditor.postal_address
    return Creditor(
        name=creditor.name,
        orgnr=creditor.organisation_number,
        address_lines=tuple(
            line
            for line in (address.care_of, address.street, f"{address.postal_code} {address.city}")
            if line
        ),
        bankgiro=creditor.bankgiro,
        plusgiro=creditor.plusgiro,
        phone=creditor.contact.phone,
    )


async def payment_plan_letter(
    plan_id: str, deps: PaymentPlanDeps, letters: LetterDeps, principal: Principal, meta: Metadata
) -> LetterDocument:
    """The plan as the letter the debtor gets (kind ``payment_plan``, domain.md §4 "Installment
    plan"): the document's terms through the letters, addressed as every letter is (a protected
    identity through Skatteverket), for ``render_letter_html`` or ``render_letter_pdf``."""
    document = await payment_plan_document(plan_id, deps, principal)
    plan = await read_plan(deps.store, deps.registry, plan_id)
    facts = plan_letter_facts(
        # One letter per plan: the plan's id names it (the document is drawn up once).
        letter_id=plan_id,
        plan_id=plan_id,
        customer_id=plan.customer_id,
        service_type=plan.drawn_up.claims[0].service_type,
        drawn_up_on=plan.proposed.proposed_on,
        terms=PlanTerms.from_plan_document(document.model_dump()),
    )
    return await letter_document(facts, letters, principal, meta)


async def list_payment_plans(
    deps: PaymentPlanDeps, principal: Principal, status: PlanStatus | None
) -> PlanList:
    """Plans by status: ``cancelled`` is the department's queue of plans not kept (seed 002)."""
    require_role(principal, *PLAN_READERS, action="read payment plans")
    index = await read_index(deps.store, deps.registry)
    ids = [p for p, s in index.items() if status is None or s == status]
    plans = await read_plans(deps.store, deps.registry, ids)
    return PlanList(items=[view_of(plans[p][0]) for p in ids if p in plans])


# -- what a plan knows of its invoices (a process manager) ----------------------------------------


def what_for(lines: Sequence[InvoiceLine]) -> str:
    """What the claim is for, in the invoice's own words (seed 003 §5.2: not only a number)."""
    words = list(dict.fromkeys(line.description for line in lines if line.kind == "capital"))
    text = ", ".join(words) or ", ".join(dict.fromkeys(line.description for line in lines))
    return text if len(text) <= 300 else text[:299] + "…"


def plan_invoice_reactions(registry: EventRegistry) -> dict[str, Reaction]:
    """Dunning's per-invoice state for plans, from invoicing's, payments' and dunning's own
    public events (upstreams ``invoicing``, ``payments``, ``dunning``)."""

    async def append_to(
        env: Envelope, store: EventStore, invoice_id: str, event: Event
    ) -> Sequence[StreamAppend]:
        # Recorded even before the invoice's issue reaches us: the upstream logs are followed
        # each on its own, and a payment must not be lost for arriving first (replay_plan_invoice).
        return await append_caused(
            registry,
            store,
            env,
            context=CONTEXT,
            stream_id=plan_invoice_stream(invoice_id),
            event=event,
        )

    async def on_issued(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        issued = registry.load_as(env, InvoiceIssued)
        opened = PlanInvoiceOpened(
            invoice_id=issued.invoice_id,
            customer_id=issued.customer_id,
            invoice_number=issued.invoice_number,
            service_type=issued.service_type,
            what_for=what_for(issued.lines),
            invoice_date=issued.invoice_date,
            due_date=issued.due_date,
            capital_ore=capital_of(issued.total_ore, issued.lines),
        )
        return await append_to(env, store, issued.invoice_id, opened)

    def issued_creates(env: Envelope) -> Iterable[str]:
        return [plan_invoice_stream(registry.load_as(env, InvoiceIssued).invoice_id)]

    async def on_credited(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        credit = registry.load_as(env, CreditNoteIssued)
        reduced = PlanInvoiceCapitalReduced(
            invoice_id=credit.invoice_id,
            amount_ore=capital_of(credit.total_ore, credit.lines),
            cause="credit_note",
        )
        return await append_to(env, store, credit.invoice_id, reduced)

    async def on_cancelled(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        cancelled = registry.load_as(env, InvoiceCancelled)
        closed = PlanInvoiceClosed(invoice_id=cancelled.invoice_id, reason="cancelled")
        return await append_to(env, store, cancelled.invoice_id, closed)

    async def on_handed(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        handed = registry.load_as(env, HandedToAgency)
        closed = PlanInvoiceClosed(invoice_id=handed.invoice_id, reason="handed_over")
        return await append_to(env, store, handed.invoice_id, closed)

    async def on_postponed(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        moved = registry.load_as(env, DueDatePostponed)
        event = PlanInvoiceInterestFromMoved(
            invoice_id=moved.invoice_id, interest_from=moved.due_date, due_date=moved.due_date
        )
        return await append_to(env, store, moved.invoice_id, event)

    async def on_deferred(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        deferred = registry.load_as(env, DeferralGranted)
        event = PlanInvoiceInterestFromMoved(
            invoice_id=deferred.invoice_id, interest_from=deferred.interest_from
        )
        return await append_to(env, store, deferred.invoice_id, event)

    async def on_allocated(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        allocated = registry.load_as(env, PaymentAllocated)
        if allocated.component != "capital" or allocated.amount_ore == 0:
            return []
        paid = PlanInvoiceCapitalReduced(
            invoice_id=allocated.invoice_id, amount_ore=allocated.amount_ore, cause="payment"
        )
        stream = plan_invoice_stream(allocated.invoice_id)
        envelopes = await store.read_stream(stream)
        events: list[Event] = [paid]
        # Capital paid on a written-down claim reverses that much of the write-down, in the same
        # append (domain/write_down.py). The read is the batch's prefetch; only the few claims
        # written down are replayed.
        if any(e.event_type == ClaimWrittenDown.event_type for e in envelopes):
            invoice = replay_plan_invoice(_loaded(registry, envelopes))
            back = recovery(invoice, allocated.amount_ore) if invoice is not None else 0
            if back:
                events.append(
                    WriteDownRecovered(
                        invoice_id=allocated.invoice_id,
                        customer_id=allocated.customer_id,
                        # The Swedish business date of the payment, not its UTC date.
                        recovered_on=env.occurred_at.astimezone(STOCKHOLM).date(),
                        amount_ore=back,
                    )
                )
        version = envelopes[-1].version if envelopes else 0
        return [
            StreamAppend(
                stream,
                version,
                registry.envelopes(
                    events,
                    context=CONTEXT,
                    stream_id=stream,
                    after_version=version,
                    metadata=env.caused_metadata(),
                    occurred_at=env.occurred_at,
                ),
            )
        ]

    def allocated_reads(env: Envelope) -> Iterable[str]:
        # A bank file pays thousands of invoices in one batch: their streams are read at once,
        # not one round trip per payment (the bench's 100,000 payments settled in 13 minutes
        # with a read each).
        allocated = registry.load_as(env, PaymentAllocated)
        if allocated.component != "capital" or allocated.amount_ore == 0:
            return []
        return [plan_invoice_stream(allocated.invoice_id)]

    def reads_of(kind: type[Event]) -> Callable[[Envelope], Iterable[str]]:
        return lambda env: [plan_invoice_stream(registry.load_as(env, kind).invoice_id)]  # type: ignore[attr-defined]

    return {
        InvoiceIssued.event_type: Prefetched(on_issued, creates=issued_creates),
        CreditNoteIssued.event_type: Prefetched(on_credited, reads=reads_of(CreditNoteIssued)),
        InvoiceCancelled.event_type: Prefetched(on_cancelled, reads=reads_of(InvoiceCancelled)),
        DueDatePostponed.event_type: Prefetched(on_postponed, reads=reads_of(DueDatePostponed)),
        DeferralGranted.event_type: Prefetched(on_deferred, reads=reads_of(DeferralGranted)),
        PaymentAllocated.event_type: Prefetched(on_allocated, reads=allocated_reads),
        HandedToAgency.event_type: Prefetched(on_handed, reads=reads_of(HandedToAgency)),
    }


__all__ = [
    "PLAN_INDEX_STREAM",
    "PaymentPlanDeps",
    "PlanList",
    "PlanView",
    "ProposePaymentPlan",
    "get_payment_plan",
    "list_payment_plans",
    "payment_plan_document",
    "payment_plan_letter",
    "payment_plan_stream",
    "plan_creditor",
    "plan_invoice_reactions",
    "plan_invoice_stream",
    "propose_payment_plan",
    "sign_payment_plan",
]
