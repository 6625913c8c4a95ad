"""The ops team's actions on an unmatched payment (issue: payments; seed 002 lines 587-603): match
it to an invoice, keep it as a credit on a customer (an advance, förskott), or refund it after
attest. An unmatched payment may end only as set-off, refund or an advance."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.payments import (
    CustomerCreditRecorded,
    CustomerCreditRefunded,
    PaymentMatched,
    PaymentReceived,
    PaymentReversed,
    PaymentUnmatched,
    RefundAttested,
    RefundRequested,
)
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.delegation import DepartmentDecision
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.ids import new_id
from fordra.kernel.money import Ore
from fordra.kernel.text import FreeText, SingleLine
from fordra.payments.application.booking import (
    BookingBatch,
    PaymentsDeps,
    record_credit,
    settle_matched_payment,
)
from fordra.payments.application.streams import credit_stream, payment_stream, refund_stream
from fordra.payments.domain.events import PaymentCredited
from fordra.payments.domain.rent_refund import (
    CreditedRent,
    check_rent_refund_within_delegation,
    credited_rents,
)

HANDLERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)


class ResolvePayment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["match", "keep_as_credit", "refund"]
    invoice_id: SingleLine | None = Field(default=None, max_length=100, description="For match")
    customer_id: SingleLine | None = Field(
        default=None, max_length=100, description="For keep_as_credit"
    )
    reason: FreeText = Field(min_length=3, max_length=1000)


class AttestRefund(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: FreeText = Field(default="attesterad", max_length=1000)


class PaymentResolution(BaseModel):
    model_config = ConfigDict(frozen=True)

    payment_id: str
    action: str
    refund_id: str | None = None
    credit_ore: int = 0


class _Payment(BaseModel):
    received: PaymentReceived
    unmatched: bool
    resolved: bool
    version: int


async def _load_payment(deps: PaymentsDeps, payment_id: str) -> _Payment:
    events = await deps.store.read_stream(payment_stream(payment_id))
    received = None
    unmatched = resolved = False
    for env in events:
        e = deps.registry.load(env)
        if isinstance(e, PaymentReceived):
            received = e
        elif isinstance(e, PaymentUnmatched):
            unmatched = True
        elif isinstance(
            e, PaymentMatched | RefundRequested | CustomerCreditRecorded | PaymentCredited
        ):
            resolved = True
        elif isinstance(e, PaymentReversed):
            resolved = True  # the bank took it back: nothing is left to resolve
    if received is None:
        raise NotFound("payment", payment_id)
    return _Payment(received=received, unmatched=unmatched, resolved=resolved, version=len(events))


async def resolve_payment(
    payment_id: str,
    cmd: ResolvePayment,
    deps: PaymentsDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[PaymentResolution]:
    require_role(principal, *HANDLERS)

    async def decide() -> Decision[PaymentResolution]:
        payment = await _load_payment(deps, payment_id)
        if not payment.unmatched or payment.resolved:
            raise DomainRuleViolation(
                "only an unmatched payment waiting in the queue can be resolved",
                rule="resolve_only_unmatched",
            )
        amount = payment.received.amount_ore
        if payment.received.currency != "SEK" and cmd.action != "refund":
            raise DomainRuleViolation(
                f"a payment in {payment.received.currency} can only be refunded",
                field="action",
                rule="foreign_currency_refund_only",
            )
        if amount <= 0:
            raise DomainRuleViolation(
                "a deduction or reversal is settled with the bank, not here", rule="positive_only"
            )
        batch = BookingBatch(deps.store, deps.registry, meta, deps.clock.now())
        result = PaymentResolution(payment_id=payment_id, action=cmd.action)
        if cmd.action == "match":
            if not cmd.invoice_id:
                raise DomainRuleViolation("name the invoice", field="invoice_id", rule="match")
            receivable = await batch.receivable(cmd.invoice_id)
            if receivable is None or receivable.open_ore <= 0:
                written_off = receivable is not None and receivable.written_off
                raise DomainRuleViolation(
                    "the invoice is written off: nothing more is allocated to it"
                    if written_off
                    else "the invoice is not open",
                    field="invoice_id",
                    rule="match_open_invoice",
                )
            await batch.add(
                payment_stream(payment_id),
                PaymentMatched(
                    payment_id=payment_id,
                    invoice_id=receivable.invoice_id,
                    customer_id=receivable.customer_id,
                    method="manual",
                ),
            )
            settlement = await settle_matched_payment(
                batch, deps, payment_id, receivable, amount, today=deps.clock.today()
            )
            result = result.model_copy(update={"credit_ore": settlement.credit_ore})
        elif cmd.action == "keep_as_credit":
            if not cmd.customer_id:
                raise DomainRuleViolation(
                    "name the customer", field="customer_id", rule="credit_needs_customer"
                )
            if await batch.open_claims(cmd.customer_id):
                raise DomainRuleViolation(
                    "the customer has open claims: match the payment to them (set-off) first",
                    field="action",
                    rule="set_off_before_advance",
                )
            await record_credit(batch, payment_id, cmd.customer_id, amount, "advance")
            result = result.model_copy(update={"credit_ore": amount})
        else:
            refund_id = await _request_refund(
                batch, principal, amount, cmd.reason, payment_id=payment_id
            )
            result = result.model_copy(update={"refund_id": refund_id})
        return Decision(batch.appends(), result)

    return await execute(
        deps.store,
        decide,
        PaymentResolution,
        idempotency=idempotent(
            principal, idempotency_key, "ResolvePayment", payment_id, cmd.model_dump()
        ),
    )


async def _request_refund(
    batch: BookingBatch,
    principal: Principal,
    amount: int,
    reason: str,
    *,
    payment_id: str | None = None,
    customer_id: str | None = None,
    department_decision: DepartmentDecision | None = None,
) -> str:
    """A refund waits for attest (seed 002), of an unmatched payment or of the customer's credit:
    on the refund's own stream and on its source's, where it takes the payment out of the queue or
    keeps the credit from set-off until the attest. Answers the refund's id."""
    refund_id = new_id()
    requested = RefundRequested(
        refund_id=refund_id,
        payment_id=payment_id,
        customer_id=customer_id,
        amount_ore=amount,
        reason=reason,
        requested_by=principal.actor,
        department_decision=department_decision,
    )
    source = payment_stream(payment_id) if payment_id else credit_stream(str(customer_id))
    await batch.add(source, requested)
    await batch.add(refund_stream(refund_id), requested)
    return refund_id


class RefundState(BaseModel):
    model_config = ConfigDict(frozen=True)

    refund_id: str
    amount_ore: int
    requested_by: str
    attested_by: str | None
    customer_id: str | None = None
    payment_id: str | None = None
    # A refund of rent beyond the office's delegation: the department decision it carries.
    department_decision: DepartmentDecision | None = None


class RefundCredit(BaseModel):
    """Pay a customer's credit back (domain.md §2): all of it unless an amount is named."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount_ore: Ore | None = Field(default=None, gt=0, description="Default: all of the credit")
    reason: FreeText = Field(min_length=3, max_length=1000)
    department_decision: DepartmentDecision | None = Field(
        default=None,
        description="A refund of rent over two monthly rents (seed 002) needs the department's "
        "decision, recorded here and kept in the event",
    )


async def _credited_rents(batch: BookingBatch, customer_id: str) -> list[CreditedRent]:
    """The rent notices whose credit notes left money as the customer's credit (the rent
    delegation weighs a refund in their monthly rent)."""
    events = await batch.events(credit_stream(customer_id))
    invoice_ids = {
        e.invoice_id
        for e in events
        if isinstance(e, CustomerCreditRecorded) and e.reason == "credit_note" and e.invoice_id
    }
    receivables = {i: await batch.receivable(i) for i in sorted(invoice_ids)}
    return credited_rents(events, receivables)


async def refund_customer_credit(
    customer_id: str,
    cmd: RefundCredit,
    deps: PaymentsDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[RefundState]:
    """Ask for a refund of the customer's credit; it goes out once attested by someone else.
    An advance is refunded only when nothing is unpaid (domain.md §2, seed 002): while any claim
    of the customer is open the request is refused, naming the claims (open claims that are not
    under a hold were already paid from the credit; those under a hold wait for their outcome).
    The amount is kept from set-off until the attest."""
    require_role(principal, *HANDLERS)

    async def decide() -> Decision[RefundState]:
        batch = BookingBatch(deps.store, deps.registry, meta, deps.clock.now())
        credit = await batch.credit(customer_id)
        unpaid = await batch.open_claims(customer_id)
        if unpaid:
            numbers = ", ".join(c.invoice_number for c in unpaid)
            raise DomainRuleViolation(
                f"the customer has unpaid invoices ({numbers}): credit is refunded only when "
                "nothing is unpaid",
                field="customer_id",
                rule="refund_only_when_nothing_unpaid",
            )
        amount = cmd.amount_ore if cmd.amount_ore is not None else credit.available_ore
        if amount <= 0 or amount > credit.available_ore:
            raise DomainRuleViolation(
                f"the customer's credit available for refund is {credit.available_ore} öre",
                field="amount_ore",
                rule="refund_within_credit",
            )
        decision = check_rent_refund_within_delegation(
            amount,
            await _credited_rents(batch, customer_id),
            cmd.department_decision,
            today=deps.clock.today(),
            settings=deps.rent_refund,
        )
        refund_id = await _request_refund(
            batch,
            principal,
            amount,
            cmd.reason,
            customer_id=customer_id,
            department_decision=decision,
        )
        return Decision(
            batch.appends(),
            RefundState(
                refund_id=refund_id,
                amount_ore=amount,
                requested_by=principal.actor,
                attested_by=None,
                customer_id=customer_id,
                department_decision=decision,
            ),
        )

    return await execute(
        deps.store,
        decide,
        RefundState,
        idempotency=idempotent(
            principal, idempotency_key, "RefundCredit", customer_id, cmd.model_dump()
        ),
    )


async def attest_refund(
    refund_id: str, deps: PaymentsDeps, principal: Principal, meta: Metadata
) -> Outcome[RefundState]:
    """The attest step: by an ops lead or admin, and never by the one who asked (four eyes).
    A refund of credit takes the money from the customer's credit, the oldest payment's first."""
    require_role(principal, Role.ADMIN, Role.OPS_LEAD)

    async def decide() -> Decision[RefundState]:
        stream = refund_stream(refund_id)
        events = [deps.registry.load(e) for e in await deps.store.read_stream(stream)]
        requested = next((e for e in events if isinstance(e, RefundRequested)), None)
        if requested is None:
            raise NotFound("refund", refund_id)
        if any(isinstance(e, RefundAttested) for e in events):
            raise DomainRuleViolation("the refund is already attested", rule="attest_once")
        if requested.requested_by == principal.actor:
            raise DomainRuleViolation(
                "a refund is attested by someone other than who asked for it",
                rule="four_eyes_attest",
            )
        batch = BookingBatch(deps.store, deps.registry, meta, deps.clock.now())
        if requested.payment_id is None and requested.customer_id is not None:
            credit = await batch.credit(requested.customer_id)
            if credit.balance_ore < requested.amount_ore:
                raise DomainRuleViolation(
                    f"the customer's credit ({credit.balance_ore} öre) no longer covers the "
                    f"refund of {requested.amount_ore} öre (a payment behind it was reversed)",
                    rule="refund_within_credit",
                )
            for payment_id, part in credit.take(requested.amount_ore):
                await batch.add(
                    credit_stream(requested.customer_id),
                    CustomerCreditRefunded(
                        refund_id=refund_id,
                        payment_id=payment_id,
                        customer_id=requested.customer_id,
                        amount_ore=part,
                    ),
                )
        await batch.add(
            stream,
            RefundAttested(
                refund_id=refund_id,
                attested_by=principal.actor,
                amount_ore=requested.amount_ore,
                payment_id=requested.payment_id,
                customer_id=requested.customer_id,
            ),
        )
        return Decision(
            batch.appends(),
            RefundState(
                refund_id=refund_id,
                amount_ore=requested.amount_ore,
                requested_by=requested.requested_by,
                attested_by=principal.actor,
                customer_id=requested.customer_id,
                payment_id=requested.payment_id,
            ),
        )

    return await execute(deps.store, decide, RefundState)
