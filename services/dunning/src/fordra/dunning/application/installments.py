"""The payment plans' daily job (domain.md §4 "Installment plan"; seed 002: "Avbryta
avbetalningsplaner som inte efterlevs ... meddela förvaltningen om avbrutna avbetalningsplaner").

For each business day the clock passes, every active plan is assessed against what was paid on
its invoices (``fordra.dunning.domain.payment_plan.assess_plan``): an installment not paid by its
due date is missed (``InstallmentMissed``, once: the flow proposes its reminder), a plan whose
missed installment stays unpaid is cancelled (``PaymentPlanCancelled``, listed for the department
at ``GET /api/v1/payment-plans?status=cancelled``), and a plan whose every installment is paid is
completed. The invoices of a closed plan leave it, so they go back into the dunning flow.

Set-based: one read of the plans' index, one read of every active plan's stream, one of all their
invoices' streams, and the day's decisions in one append (retried on fresh state if a command
changed one of those streams meanwhile). A day run again decides nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date

from fordra.contracts.dunning import PaymentPlanCancelled, PaymentPlanCompleted
from fordra.dunning.application.payment_plans import (
    PLAN_INDEX_STREAM,
    Appends,
    PaymentPlanDeps,
    payment_plan_stream,
    plan_invoice_stream,
    read_index,
    read_plan_invoices,
    read_plans,
)
from fordra.dunning.domain.payment_plan import (
    PaymentPlanIndexed,
    PlanInvoiceLeftPlan,
    assess_plan,
)
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import ConcurrencyConflict

# The actor of what the job appends (no person decided it: the rule did).
JOB_ACTOR = "system:payment-plans"
ATTEMPTS = 5


def installments_job(deps: PaymentPlanDeps, tenant: str) -> Callable[[date], Awaitable[None]]:
    """The daily job the app registers on the ``DailyScheduler``: ``(day) -> None``."""

    async def run(day: date) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await assess_plans_on(day, deps, tenant)
                return
            except ConcurrencyConflict:
                if attempt == ATTEMPTS:
                    raise

    return run


async def assess_plans_on(day: date, deps: PaymentPlanDeps, tenant: str) -> int:
    """Assess every active plan on ``day``; answers how many events were appended."""
    meta = Metadata(tenant, JOB_ACTOR, str(uuid.uuid4()))
    out = Appends(deps.registry, meta, deps.clock)
    index = await read_index(deps.store, deps.registry, out)
    active = [plan_id for plan_id, status in index.items() if status == "active"]
    if not active:
        return 0
    plans = await read_plans(deps.store, deps.registry, active)
    invoice_ids = list(dict.fromkeys(i for plan, _ in plans.values() for i in plan.invoice_ids))
    invoices = await read_plan_invoices(deps.store, deps.registry, invoice_ids, out)
    count = 0
    for plan_id in active:
        if plan_id not in plans:
            continue
        plan, version = plans[plan_id]
        events = assess_plan(plan, invoices, day, deps.settings)
        if not events:
            continue
        stream = payment_plan_stream(plan_id)
        out.read_at(stream, version)
        out.add(stream, *events)
        count += len(events)
        closed = next(
            (e for e in events if isinstance(e, PaymentPlanCancelled | PaymentPlanCompleted)),
            None,
        )
        if closed is not None:
            status = "cancelled" if isinstance(closed, PaymentPlanCancelled) else "completed"
            out.add(PLAN_INDEX_STREAM, PaymentPlanIndexed(plan_id=plan_id, status=status))
            for invoice_id in plan.invoice_ids:
                out.add(
                    plan_invoice_stream(invoice_id),
                    PlanInvoiceLeftPlan(invoice_id=invoice_id, plan_id=plan_id),
                )
    if count:
        await deps.store.append(out.appends())
    return count
