"""The reference-rate table as a use case (domain.md §3: "keep as a dated table an admin
extends"): list it, and add a half-year. The added half-years are ``ReferenceRateAdded`` events on
one stream of dunning's store (public: the customer ledger follows them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.dunning import ReferenceRateAdded
from fordra.dunning.domain.interest import InterestSettings, StatutoryInterest
from fordra.dunning.domain.reference_rates import (
    add_reference_rate,
    check_rate_known_by,
    rate_text,
    rates_in_force,
)
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.clock import BusinessClock
from fordra.kernel.dated import CalendarDate, Dated
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend

CONTEXT = "dunning"
# The one stream of the table's added half-years (few: two a year).
REFERENCE_RATES_STREAM = "reference-rates"

# Who may read the table: those who explain or configure interest. Who may add: an admin.
READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)
KEEPERS = (Role.ADMIN,)


@dataclass(frozen=True, slots=True)
class ReferenceRatesDeps:
    store: EventStore  # dunning's
    registry: EventRegistry
    clock: BusinessClock


class AddReferenceRate(BaseModel):
    """``{"valid_from": "2026-07-01", "rate_percent": "1.75"}``: the rate as a string, so that no
    float ever stands between the Riksbank's decision and the table."""

    model_config = ConfigDict(extra="forbid")

    valid_from: CalendarDate
    rate_percent: str = Field(min_length=1, max_length=20)


class ReferenceRate(BaseModel):
    valid_from: date
    rate_percent: str


class AddedReferenceRate(ReferenceRate):
    # False when the table held this half-year with this rate already: nothing was added.
    added: bool


class ReferenceRates(BaseModel):
    items: list[ReferenceRate]


def _added_in(events: Sequence[object]) -> list[ReferenceRateAdded]:
    return [e for e in events if isinstance(e, ReferenceRateAdded)]


async def reference_rates_in_force(store: EventStore, registry: EventRegistry) -> Dated[Decimal]:
    """The table as dunning computes with it: shipped and added."""
    stored = await store.read_stream(REFERENCE_RATES_STREAM)
    return rates_in_force(_added_in([registry.load(e) for e in stored]))


async def statutory_interest(
    store: EventStore, registry: EventRegistry, settings: InterestSettings
) -> StatutoryInterest:
    """Late interest at the table as it stands now (the added half-years included): what a use
    case that computes interest ahead (a payment plan's, to its last installment) decides with."""
    return StatutoryInterest(await reference_rates_in_force(store, registry), settings)


async def list_reference_rates(deps: ReferenceRatesDeps, principal: Principal) -> ReferenceRates:
    require_role(principal, *READERS, action="read the reference rates")
    table = await reference_rates_in_force(deps.store, deps.registry)
    return ReferenceRates(
        items=[ReferenceRate(valid_from=d, rate_percent=rate_text(r)) for d, r in table.rows]
    )


async def add_reference_rate_to_table(
    cmd: AddReferenceRate,
    deps: ReferenceRatesDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[AddedReferenceRate]:
    """Add a half-year (``add_reference_rate`` has the rules); the same half-year with the same
    rate again appends nothing and answers ``added: false``."""
    require_role(principal, *KEEPERS, action="add a reference rate")

    async def decide() -> Decision[AddedReferenceRate]:
        stored = await deps.store.read_stream(REFERENCE_RATES_STREAM)
        table = rates_in_force(_added_in([deps.registry.load(e) for e in stored]))
        event = add_reference_rate(table, cmd.valid_from, cmd.rate_percent)
        rate = dict(table.rows).get(cmd.valid_from)
        if event is None:
            assert rate is not None  # add_reference_rate answers None only for a known half-year
            answer = AddedReferenceRate(
                valid_from=cmd.valid_from, rate_percent=rate_text(rate), added=False
            )
            return Decision([], answer)
        # A half-year new to the table: its rate must be known today (the same again is not).
        check_rate_known_by(cmd.valid_from, deps.clock.today())
        version = len(stored)
        envelope = deps.registry.envelope(
            event,
            context=CONTEXT,
            stream_id=REFERENCE_RATES_STREAM,
            version=version + 1,
            metadata=meta,
            occurred_at=deps.clock.now(),
        )
        answer = AddedReferenceRate(
            valid_from=event.valid_from, rate_percent=event.rate_percent, added=True
        )
        return Decision([StreamAppend(REFERENCE_RATES_STREAM, version, [envelope])], answer)

    return await execute(
        deps.store,
        decide,
        AddedReferenceRate,
        idempotency=idempotent(principal, idempotency_key, "AddReferenceRate", cmd.model_dump()),
    )
