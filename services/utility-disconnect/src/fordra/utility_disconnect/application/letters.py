"""Reading a disconnection letter as its recipient gets it (issue 16: "a letter is read at
``GET /api/v1/letters/{letter_id}?format=html|pdf``"; domain.md §2 "Protected identity").

The letter's facts are the ``DisconnectionLetterIssued`` on its own stream (appended with the step
that sent it, application/disconnection_cases.py and water_cases.py); the recipient is looked up
now: the name and address in this context's sealed copy of the register (``personal_data``),
whether the identity is protected in the claims read model (``KnownCustomer``), and for
electricity the supply point's site address. A protected person's name, address and site never
appear; their personnummer is shown on the forwarding sheet only to the protected-identity
officer, and each such look is recorded (domain/letter_document.py). The same readers as
dunning's letters (application/letters.py there).
"""

from __future__ import annotations

from dataclasses import dataclass

from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import NotFound
from fordra.kernel.eventstore import StreamAppend
from fordra.utility_disconnect.application.customers import personal_data
from fordra.utility_disconnect.application.deps import CONTEXT, UtilityDisconnectDeps
from fordra.utility_disconnect.application.electricity_claims import read_customer
from fordra.utility_disconnect.application.supply_points import load_supply_point
from fordra.utility_disconnect.domain.letter_document import (
    DisconnectionLetterDocument,
    LetterSender,
    ProtectedRecipientShown,
    build_letter_document,
    protected_access_stream,
    recipient_for_letter,
)
from fordra.utility_disconnect.domain.letters import (
    DisconnectionLetterIssued,
    disconnection_letter_stream,
)

# Dunning's letters' readers (issue 13), so that one route reads both contexts' letters alike.
LETTER_READERS = (Role.CASE_OFFICER, Role.OPS_LEAD, Role.ADMIN, Role.PROTECTED_IDENTITY_OFFICER)
PROTECTED_ID_READERS = (Role.PROTECTED_IDENTITY_OFFICER,)


@dataclass(frozen=True, slots=True)
class DisconnectionLetterDeps:
    """The context's deps and the sender of its letters (invoicing's issuer, from settings)."""

    context: UtilityDisconnectDeps
    sender: LetterSender


async def read_letter(
    letter_id: str, deps: DisconnectionLetterDeps, principal: Principal, meta: Metadata
) -> DisconnectionLetterDocument:
    """The letter's document as ``principal`` may see it; ``NotFound`` for an unknown id."""
    require_role(principal, *LETTER_READERS, action="read a disconnection letter")
    ctx = deps.context
    envelopes = await ctx.store.read_stream(disconnection_letter_stream(letter_id))
    issued = next(
        (
            ctx.registry.load_as(e, DisconnectionLetterIssued)
            for e in envelopes
            if e.event_type == DisconnectionLetterIssued.event_type
        ),
        None,
    )
    if issued is None:
        raise NotFound("letter", letter_id)
    facts = issued.facts
    personal = await personal_data(ctx.store, ctx.registry, facts.customer_id)
    async with ctx.read_models.engine.connect() as conn:
        known = await read_customer(conn, ctx.claims, facts.customer_id)
    point = await load_supply_point(ctx, facts.supply_point_id)
    # A customer the claims model does not know (yet) is treated as protected: never printed.
    protected = known is None or known.protected_identity
    reveal = principal.role in PROTECTED_ID_READERS
    recipient = recipient_for_letter(
        facts.customer_id,
        personal,
        protected_identity=protected,
        site_address=point.site_address,
        reveal_id_number=reveal,
    )
    document = build_letter_document(facts, recipient, deps.sender)
    if recipient.route == "protected" and reveal:
        await _record_protected_access(deps, facts.customer_id, letter_id, meta)
    return document


async def _record_protected_access(
    deps: DisconnectionLetterDeps, customer_id: str, letter_id: str, meta: Metadata
) -> None:
    """Every look at a protected person's identity leaves a trace (domain.md §2: "audited")."""
    ctx = deps.context
    stream = protected_access_stream(customer_id)
    version = await ctx.store.stream_version(stream)
    env = ctx.registry.envelope(
        ProtectedRecipientShown(
            customer_id=customer_id, letter_id=letter_id, purpose="letter forwarding sheet"
        ),
        context=CONTEXT,
        stream_id=stream,
        version=version + 1,
        metadata=meta,
        occurred_at=ctx.clock.now(),
    )
    await ctx.store.append([StreamAppend(stream, version, [env])])
