"""The rent administration's delegation for deferrals (issue 14; domain.md §8 "Delegation", seed
002): the office defers a rent one month on its own, a tenancy's first rent two months (double
housing costs); a longer deferral needs a department decision, kept in ``DeferralGranted``. Other
services keep the general rule (at most 3 months). Through the use case, on a
``MemoryEventStore``."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fordra.contracts.invoicing import DeferralGranted
from fordra.invoicing.application.handlers import (
    InvoicingDeps,
    correct_invoice,
    invoice_stream,
    issue_invoice,
    register_customer,
)
from fordra.invoicing.domain.commands import GrantDeferral
from fordra.invoicing.domain.settings import InvoicingSettings, RentDelegationSettings
from fordra.kernel.auth import Role
from fordra.kernel.dated import Dated
from fordra.kernel.delegation import DepartmentDecision
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.memory_eventstore import MemoryEventStore
from tests.utils.invoicing import (
    department,
    invoice_for,
    invoicing_deps,
    meta,
    person,
    personnummer,
    registration,
)

HOUSING = department("housing")
OFFICER = person(Role.CASE_OFFICER, "anna")
# Issued on 2026-03-02 with 30 days' terms: due Wednesday 2026-04-01.
DUE = date(2026, 4, 1)
DECISION = DepartmentDecision(
    reference="SN 2026/123", decided_on=date(2026, 3, 2), decided_by="Socialnämndens ordförande"
)


@pytest.fixture
def deps(store: MemoryEventStore) -> InvoicingDeps:
    return invoicing_deps(store)


async def a_notice(deps: InvoicingDeps, service: str = "housing_rent") -> str:
    customer = await register_customer(
        registration(personnummer("19700101", 7)), deps, HOUSING, meta(HOUSING)
    )
    issued = await issue_invoice(
        invoice_for(customer.response.customer_id, 650_000, service=service, vat=0, dept="housing"),
        deps,
        HOUSING,
        meta(HOUSING),
    )
    assert issued.response.invoice is not None
    assert issued.response.invoice.due_date == DUE
    return issued.response.invoice.invoice_id


async def defer(deps: InvoicingDeps, invoice_id: str, until: date, **extra: Any) -> Any:
    cmd = GrantDeferral(
        deferred_until=until, requested_on=date(2026, 3, 2), reason="dubbla hyror", **extra
    )
    return (await correct_invoice(invoice_id, cmd, deps, OFFICER, meta(OFFICER))).response


async def refused(deps: InvoicingDeps, invoice_id: str, until: date, **extra: Any) -> str:
    with pytest.raises(DomainRuleViolation) as refusal:
        await defer(deps, invoice_id, until, **extra)
    assert refusal.value.field == "department_decision"
    return str(refusal.value)


async def granted(store: MemoryEventStore, deps: InvoicingDeps, invoice_id: str) -> DeferralGranted:
    events = [deps.registry.load(e) for e in await store.read_stream(invoice_stream(invoice_id))]
    (event,) = [e for e in events if isinstance(e, DeferralGranted)]
    return event


async def test_a_rent_deferred_exactly_one_month_needs_no_decision(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    invoice_id = await a_notice(deps)
    answer = await defer(deps, invoice_id, date(2026, 5, 1))
    assert answer.deferred_until == date(2026, 5, 1)
    assert answer.department_decision is None
    assert (await granted(store, deps, invoice_id)).department_decision is None


async def test_a_rent_deferred_a_month_and_a_day_needs_a_department_decision(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    invoice_id = await a_notice(deps)
    with pytest.raises(DomainRuleViolation) as refusal:
        await defer(deps, invoice_id, date(2026, 5, 2))
    assert refusal.value.rule == "rent_delegation"
    assert str(refusal.value) == (
        "a rent deferral over 1 month (past 2026-05-01) needs a department decision (seed 002):"
        " give department_decision"
    )
    # Nothing was written: the invoice has its issue only
    assert len(await store.read_stream(invoice_stream(invoice_id))) == 1
    # With the department's decision it goes through, and the decision is kept in the event
    answer = await defer(deps, invoice_id, date(2026, 5, 2), department_decision=DECISION)
    assert answer.deferred_until == date(2026, 5, 2)
    assert answer.department_decision == DECISION
    assert (await granted(store, deps, invoice_id)).department_decision == DECISION


async def test_a_first_rent_is_deferred_two_months_and_no_more_without_a_decision(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    invoice_id = await a_notice(deps)
    assert "first month's rent over 2 months (past 2026-06-01)" in await refused(
        deps, invoice_id, date(2026, 6, 2), first_rent=True
    )
    answer = await defer(deps, invoice_id, date(2026, 6, 1), first_rent=True)
    assert (answer.deferred_until, answer.first_rent) == (date(2026, 6, 1), True)
    event = await granted(store, deps, invoice_id)
    assert (event.first_rent, event.department_decision) == (True, None)


async def test_a_first_rent_deferred_beyond_two_months_with_a_decision(
    deps: InvoicingDeps, store: MemoryEventStore
) -> None:
    invoice_id = await a_notice(deps)
    answer = await defer(
        deps, invoice_id, date(2026, 6, 2), first_rent=True, department_decision=DECISION
    )
    assert answer.department_decision == DECISION
    # The general rule still bounds it: at most 3 months, decision or not (and is named first)
    other = await a_notice(deps, service="premises_rent")
    with pytest.raises(DomainRuleViolation) as beyond:
        await defer(deps, other, date(2026, 7, 2))
    assert beyond.value.rule == "deferral_at_most_three_months"
    with pytest.raises(DomainRuleViolation) as too_long:
        await defer(deps, other, date(2026, 7, 2), department_decision=DECISION)
    assert too_long.value.rule == "deferral_at_most_three_months"


async def test_premises_rent_follows_the_same_limit(deps: InvoicingDeps) -> None:
    invoice_id = await a_notice(deps, service="premises_rent")
    await refused(deps, invoice_id, date(2026, 5, 2))
    assert (await defer(deps, invoice_id, date(2026, 5, 1))).deferred_until == date(2026, 5, 1)


async def test_other_services_are_unchanged(deps: InvoicingDeps) -> None:
    invoice_id = await a_notice(deps, service="childcare")
    answer = await defer(deps, invoice_id, date(2026, 7, 1))
    assert (answer.deferred_until, answer.department_decision) == (date(2026, 7, 1), None)
    # "first_rent" is for a rent notice only
    with pytest.raises(DomainRuleViolation) as refusal:
        await defer(deps, invoice_id, date(2026, 5, 2), first_rent=True)
    assert refusal.value.rule == "first_rent_only_for_rent"


async def test_a_decision_dated_after_today_is_not_yet_taken(deps: InvoicingDeps) -> None:
    invoice_id = await a_notice(deps)
    tomorrow = DECISION.model_copy(update={"decided_on": date(2026, 3, 3)})
    with pytest.raises(DomainRuleViolation) as refusal:
        await defer(deps, invoice_id, date(2026, 5, 2), department_decision=tomorrow)
    assert refusal.value.rule == "department_decision_taken_before"
    assert refusal.value.field == "department_decision.decided_on"


async def test_the_limits_are_dated_settings(store: MemoryEventStore) -> None:
    # Given a municipality whose delegation is two months for any rent from 2026-01-01
    settings = InvoicingSettings(
        rent_delegation=RentDelegationSettings(
            deferral_months=Dated[int].table(("1900-01-01", 1), ("2026-01-01", 2))
        )
    )
    deps = invoicing_deps(store, settings=settings)
    invoice_id = await a_notice(deps)
    assert (await defer(deps, invoice_id, date(2026, 6, 1))).deferred_until == date(2026, 6, 1)
