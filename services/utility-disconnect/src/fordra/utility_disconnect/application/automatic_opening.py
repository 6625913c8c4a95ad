"""The case that opens on its own (issue 16, domain.md §6): a process manager following dunning's
log, wired in ``fordra.app.bootstrap``.

When dunning refers an electricity claim for disconnection (``ReferredForDisconnection``: its
collection demand stayed unpaid until the day it would have gone to the agency), this context
either opens a case for the invoice's supply point, dated the referral's day, with dunning's
letter as its collection demand step (``decide_open(..., opened="automatic")``, appended with the
indexes exactly as a case opened by hand: ``opening_appends``), or declines the referral
(``DisconnectionDeclined``, naming the rule: domain/referral.py) so that dunning hands the claim to
the agency. A supply point with a case in progress covers the claim: nothing is recorded.

Idempotent under redelivery on both engines: the runner commits the appends with its tracking
row, so a redelivered referral is refused by the store's tracking check and changes nothing; and
the reactions of one batch read through its staged view, so two claims of one supply point
referred together open one case (the second finds the first in progress).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fordra.contracts.dunning import ReferredForDisconnection
from fordra.contracts.utility_disconnect import DisconnectionDeclined
from fordra.kernel.envelope import Envelope
from fordra.kernel.errors import NotFound
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.ids import new_id
from fordra.kernel.process import Prefetched, Reaction, append_caused
from fordra.utility_disconnect.application.deps import CONTEXT, UtilityDisconnectDeps
from fordra.utility_disconnect.application.disconnection_cases import (
    case_in_progress,
    opening_appends,
)
from fordra.utility_disconnect.application.electricity_claims import read_customer
from fordra.utility_disconnect.application.supply_points import (
    assessment_for,
    load_supply_point,
)
from fordra.utility_disconnect.domain.case_facts import step_assessment
from fordra.utility_disconnect.domain.case_index import point_cases_stream
from fordra.utility_disconnect.domain.referral import (
    Declined,
    ReferredPoint,
    decline_before_assessing,
    decline_on_assessment,
)
from fordra.utility_disconnect.domain.supply_point import SupplyPoint

# Who opened a case on its own: recorded as the assessment's maker and in the events' metadata.
ACTOR = "system:disconnection-referral"


def referral_stream(invoice_id: str) -> str:
    """Where a declined referral is recorded: one stream per invoice (referred once)."""
    return f"disconnection-referral-{invoice_id}"


def automatic_opening_reactions(deps: UtilityDisconnectDeps) -> dict[str, Reaction]:
    """``{event_type: reaction}`` for a ``ProcessManagerRunner`` following dunning."""

    def reads(env: Envelope) -> Iterable[str]:
        referral = deps.registry.load_as(env, ReferredForDisconnection)
        if referral.supply_point_id is None:
            return ()
        return (point_cases_stream(referral.supply_point_id),)

    async def on_referred(env: Envelope, store: EventStore) -> Sequence[StreamAppend]:
        referral = deps.registry.load_as(env, ReferredForDisconnection)
        return await react_to_referral(referral, env, store, deps)

    return {ReferredForDisconnection.event_type: Prefetched(on_referred, reads=reads)}


async def _point(deps: UtilityDisconnectDeps, supply_point_id: str | None) -> SupplyPoint | None:
    if supply_point_id is None:
        return None
    try:
        return await load_supply_point(deps, supply_point_id)
    except NotFound:
        return None


async def react_to_referral(
    referral: ReferredForDisconnection,
    cause: Envelope,
    store: EventStore,
    deps: UtilityDisconnectDeps,
) -> Sequence[StreamAppend]:
    """Open the case, decline the referral, or (a case in progress) record nothing."""
    day = referral.referred_on
    point = await _point(deps, referral.supply_point_id)
    kind = None
    if point is not None:
        async with deps.read_models.engine.connect() as conn:
            customer = await read_customer(conn, deps.claims, point.customer_id)
        kind = customer.kind if customer is not None else None
    declined = decline_before_assessing(
        referral.customer_id,
        None
        if point is None
        else ReferredPoint(point.supply_point_id, point.customer_id, point.utility),
        kind,
    )
    if declined is not None:
        return await _decline(referral, cause, store, deps, declined)
    # decline_before_assessing declines a referral without a point or a customer's kind.
    assert point is not None
    assert kind is not None
    if await case_in_progress(deps, store, point.supply_point_id) is not None:
        # The case's next step re-assesses every overdue claim of the point, this one included.
        return []
    # Assessed as of the referral's day, the day the case would open: a redelivery later
    # decides the same.
    assessment = await assessment_for(point.supply_point_id, deps, day)
    declined = decline_on_assessment(assessment.result, assessment.reason)
    if declined is not None:
        return await _decline(referral, cause, store, deps, declined)
    return await opening_appends(
        deps,
        store,
        cause.caused_metadata(ACTOR),
        point=point,
        customer_kind=kind,
        case_id=new_id(),
        assessment=step_assessment(assessment, ACTOR, None),
        today=day,
        opened="automatic",
        collection_demand_sent_on=referral.demand_sent_on,
    )


async def _decline(
    referral: ReferredForDisconnection,
    cause: Envelope,
    store: EventStore,
    deps: UtilityDisconnectDeps,
    declined: Declined,
) -> list[StreamAppend]:
    return await append_caused(
        deps.registry,
        store,
        cause,
        context=CONTEXT,
        stream_id=referral_stream(referral.invoice_id),
        event=DisconnectionDeclined(
            invoice_id=referral.invoice_id,
            customer_id=referral.customer_id,
            supply_point_id=referral.supply_point_id,
            declined_on=referral.referred_on,
            rule=declined.rule,
            reason=declined.reason,
        ),
    )
