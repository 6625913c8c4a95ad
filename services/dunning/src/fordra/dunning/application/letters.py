"""Reading a dunning letter as its recipient gets it (domain.md §4 "Reminder"; §2 "Protected
identity").

The letter's facts are the ``LetterIssued`` on ``letter_stream(letter_id)`` (appended when a case
officer approved the proposal); the recipient is looked up now, in dunning's copy of the customer
register (application/recipients.py), so a protection set or a person forgotten since the letter
was sent holds. The protected-identity rules are invoicing's for its documents
(``fordra.invoicing.application.documents``): the document never prints a protected person's name
or address; the personnummer on Skatteverket's forwarding sheet is shown only to the
protected-identity officer, and each such look is recorded; everyone else sees it masked.
"""

from __future__ import annotations

from dataclasses import dataclass

from fordra.dunning.application.recipients import CONTEXT, load_recipient
from fordra.dunning.domain.letters import (
    Creditor,
    LetterDocument,
    LetterFacts,
    LetterIssued,
    build_letter_document,
    letter_stream,
)
from fordra.dunning.domain.recipients import ProtectedRecipientAccessed, recipient_for_letter
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.clock import BusinessClock
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import NotFound
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend

__all__ = [
    "LETTER_READERS",
    "PROTECTED_ID_READERS",
    "LetterDeps",
    "letter_document",
    "protected_access_stream",
    "read_letter",
]

# Who reads a letter: the ledger's case officers, their lead and the admin (issue 13), and the
# officer of protected identities, who prints a protected person's forwarding sheet.
LETTER_READERS = (Role.CASE_OFFICER, Role.OPS_LEAD, Role.ADMIN, Role.PROTECTED_IDENTITY_OFFICER)
# Who sees a protected person's personnummer on the forwarding sheet (invoicing's rule).
PROTECTED_ID_READERS = (Role.PROTECTED_IDENTITY_OFFICER,)


@dataclass(frozen=True, slots=True)
class LetterDeps:
    """What reading a letter needs: dunning's store, the registry, the clock (for the audit
    record) and the creditor (the same settings as invoicing's issuer)."""

    store: EventStore
    registry: EventRegistry
    clock: BusinessClock
    creditor: Creditor


def protected_access_stream(customer_id: str) -> str:
    return f"protected-access-{customer_id}"


async def read_letter(
    letter_id: str, deps: LetterDeps, principal: Principal, meta: Metadata
) -> LetterDocument:
    """The letter's document as ``principal`` may see it; 404 for an unknown letter."""
    require_role(principal, *LETTER_READERS, action="read a dunning letter")
    events = await deps.store.read_stream(letter_stream(letter_id))
    issued = next(
        (
            deps.registry.load_as(e, LetterIssued)
            for e in events
            if e.event_type == LetterIssued.event_type
        ),
        None,
    )
    if issued is None:
        raise NotFound("letter", letter_id)
    return await letter_document(issued.facts, deps, principal, meta)


async def letter_document(
    facts: LetterFacts, deps: LetterDeps, principal: Principal, meta: Metadata
) -> LetterDocument:
    """A letter's document from its facts, for its recipient as dunning knows them now, with
    the protected-identity rules above. ``read_letter`` uses it for an issued letter; a payment
    plan's document (``plan_letter_facts``) is rendered through it too."""
    require_role(principal, *LETTER_READERS, action="read a dunning letter")
    state = await load_recipient(deps.store, deps.registry, facts.customer_id)
    reveal = principal.role in PROTECTED_ID_READERS
    recipient = recipient_for_letter(facts.customer_id, state, reveal_protected_id_number=reveal)
    document = build_letter_document(facts, recipient, deps.creditor)
    if recipient.route == "protected" and reveal:
        await _record_protected_access(deps, facts.customer_id, facts.letter_id, meta)
    return document


async def _record_protected_access(
    deps: LetterDeps, customer_id: str, letter_id: str, meta: Metadata
) -> None:
    """Every look at a protected person's identity leaves a trace (domain.md §2: "audited")."""
    stream = protected_access_stream(customer_id)
    version = await deps.store.stream_version(stream)
    env = deps.registry.envelope(
        ProtectedRecipientAccessed(
            customer_id=customer_id, letter_id=letter_id, purpose="letter forwarding sheet"
        ),
        context=CONTEXT,
        stream_id=stream,
        version=version + 1,
        metadata=meta,
        occurred_at=deps.clock.now(),
    )
    await deps.store.append([StreamAppend(stream, version, [env])])
