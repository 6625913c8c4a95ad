"""Setting and reading the dunning policies (domain.md §3-4): one use case each.

``set_dunning_policy`` checks a version against every rule of ``fordra.dunning.domain.policy``
and appends one ``DunningPolicySet`` to the stream ``dunning-policies`` through the kernel's
``execute``: a repeated request changes nothing, with or without an ``Idempotency-Key`` (a PUT
that names the version already stored appends nothing and answers it again; a refused one
appends nothing either). ``read_policies`` answers the policies in force today by the business
clock and every version that takes effect later. ``load_policy_book`` is what the daily run
reads its ``policy_for(service_type, day)`` from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.dunning import NextStep
from fordra.dunning.domain.policy import (
    DunningPolicy,
    PolicyBook,
    check_change_never_rewrites_history,
    check_policy,
    check_service_type_known,
    normalised,
)
from fordra.dunning.domain.policy_events import (
    POLICY_STREAM,
    DunningPolicySet,
    replay_policy_book,
)
from fordra.dunning.domain.settings import DunningModel, DunningSettings
from fordra.kernel.application import Decision, Outcome, execute, idempotent
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.clock import BusinessClock
from fordra.kernel.dated import CalendarDate
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.text import SingleLine

CONTEXT = "dunning"

# Who sets a policy (issue 13: role ops_lead), and who reads them (whoever works the queues).
POLICY_SETTERS = (Role.OPS_LEAD,)
POLICY_READERS = (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER)

# Bounds on a request's shape, not business rules (those are dated settings): an id is as long
# as any id in a URL (fordra.kernel.web.PathId), and a policy exempts a handful of customers,
# not a register (10,000 keeps one event well under the stores' row sizes).
CustomerId = Annotated[SingleLine, Field(min_length=1, max_length=100)]
MAX_EXEMPT_CUSTOMERS = 10_000


@dataclass(frozen=True, slots=True)
class PoliciesDeps:
    store: EventStore
    registry: EventRegistry
    clock: BusinessClock
    settings: DunningSettings


class SetDunningPolicy(BaseModel):
    """The body of ``PUT /api/v1/dunning/policies/{service_type}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    valid_from: CalendarDate
    model: DunningModel
    # Non-negative here; the rules (at least 7, at most the bound) name what is wrong.
    reminder_after_days: int = Field(ge=0)
    reminder_fee_ore: int = Field(ge=0)
    reminder_fee_agreed: bool = False
    # A handover comes after its reminder, never on the same day.
    handover_after_reminder_days: int = Field(ge=1)
    next_step: NextStep
    exempt_customer_ids: list[CustomerId] = Field(
        default_factory=list, max_length=MAX_EXEMPT_CUSTOMERS
    )

    def policy(self, service_type: str) -> DunningPolicy:
        return normalised(
            DunningPolicy(
                service_type=check_service_type_known(service_type),
                valid_from=self.valid_from,
                model=self.model,
                reminder_after_days=self.reminder_after_days,
                reminder_fee_ore=self.reminder_fee_ore,
                reminder_fee_agreed=self.reminder_fee_agreed,
                handover_after_reminder_days=self.handover_after_reminder_days,
                next_step=self.next_step,
                exempt_customer_ids=tuple(self.exempt_customer_ids),
            )
        )


class PolicyList(BaseModel):
    model_config = ConfigDict(frozen=True)

    items: list[DunningPolicy]


async def load_policy_book(
    store: EventStore, registry: EventRegistry, settings: DunningSettings
) -> tuple[PolicyBook, int]:
    """The book as stored, and the version of its stream (for an optimistic append)."""
    stored = await store.read_stream(POLICY_STREAM)
    return replay_policy_book((registry.load(e) for e in stored), settings), len(stored)


async def policy_book(deps: PoliciesDeps) -> PolicyBook:
    """The book the daily run looks its policies up in (``policy_for(service_type, day)``)."""
    book, _version = await load_policy_book(deps.store, deps.registry, deps.settings)
    return book


async def set_dunning_policy(
    service_type: str,
    cmd: SetDunningPolicy,
    deps: PoliciesDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[DunningPolicy]:
    """Set the version of ``service_type``'s policy from ``cmd.valid_from`` (domain.md §4)."""
    require_role(principal, *POLICY_SETTERS, action="set a dunning policy")

    async def decide() -> Decision[DunningPolicy]:
        policy = cmd.policy(service_type)
        book, version = await load_policy_book(deps.store, deps.registry, deps.settings)
        existing = book.version_on(policy.service_type, policy.valid_from)
        if existing == policy:
            # The same version again: nothing changes, whoever asks and however often.
            return Decision([], existing)
        check_change_never_rewrites_history(policy.valid_from, deps.clock.today(), existing)
        check_policy(policy, deps.settings)
        env = deps.registry.envelope(
            DunningPolicySet.of(policy),
            context=CONTEXT,
            stream_id=POLICY_STREAM,
            version=version + 1,
            metadata=meta,
            occurred_at=deps.clock.now(),
        )
        return Decision([StreamAppend(POLICY_STREAM, version, [env])], policy)

    return await execute(
        deps.store,
        decide,
        DunningPolicy,
        idempotency=idempotent(
            principal,
            idempotency_key,
            "SetDunningPolicy",
            service_type,
            cmd.model_dump(mode="json"),
        ),
    )


async def read_policies(deps: PoliciesDeps, principal: Principal) -> PolicyList:
    """The policy of every service in force today (the business clock's), then every version
    that takes effect later, per service in ``SERVICE_TYPES`` order."""
    require_role(principal, *POLICY_READERS, action="read the dunning policies")
    book = await policy_book(deps)
    return PolicyList(items=book.in_force_and_ahead(deps.clock.today()))
