"""Who a dunning letter goes to, and how (domain.md §2 "Protected identity"; seed 002 "skyddad
identitet"; Skatteverket's forwarding of post).

Dunning keeps the smallest copy of the customer register it needs to address a letter: the kind
of customer, the kind of identity number, whether the identity is protected, and the personal part
(name, identity number, address). It learns them from invoicing's public customer events
(``CustomerRegistered``, ``CustomerDetailsChanged``, ``ProtectedIdentityMarked``,
``ProtectedIdentityCleared``) and writes them to dunning's own store as the events below. The
personal part stays sealed per customer exactly as in invoicing's log (the same key ring), so
forgetting the person (deleting their key) empties dunning's copy too: no read model holds a name
or an address.

``recipient_for_letter`` decides what a letter may print of the customer:
- a protected identity: nothing of the name or address, anywhere; the letter goes through
  Skatteverket (outer envelope to Skatteverket, sealed inner envelope marked with the
  personnummer), and the personnummer is shown only to the role that handles protected
  identities;
- a forgotten customer (key deleted) or one dunning has not heard of yet: the letter still
  renders, without any personal data and marked as not sendable, so a case officer can still see
  what was decided; it is not an error, because the claim and its letter outlive the person's data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict

from fordra.contracts.invoicing import CustomerKind, CustomerPersonalData, PostalAddress
from fordra.kernel.events import Event
from fordra.kernel.identity import IdentityKind, IdentityNumber

__all__ = [
    "MASKED_ID_NUMBER",
    "RECIPIENT_EVENTS",
    "ProtectedRecipientAccessed",
    "RecipientDetailsChanged",
    "RecipientLetterView",
    "RecipientProtectionChanged",
    "RecipientRegistered",
    "RecipientState",
    "recipient_for_letter",
    "replay_recipient",
]

IdKind = Literal["personnummer", "samordningsnummer", "organisationsnummer"]

# What the forwarding sheet shows in place of a protected person's number to a reader who may not
# see it (the same as invoicing's sheet): not even the birth date.
MASKED_ID_NUMBER: Final = "XXXXXXXX-XXXX"


class RecipientRegistered(Event):
    """Dunning's copy of a ``CustomerRegistered`` (its personal part sealed per customer)."""

    event_type: ClassVar[str] = "DunningRecipientRegistered"
    personal_field: ClassVar[str | None] = "personal"
    subject_field: ClassVar[str | None] = "customer_id"

    customer_id: str
    kind: CustomerKind
    id_kind: IdKind
    protected_identity: bool = False
    personal: CustomerPersonalData | None


class RecipientDetailsChanged(Event):
    """Dunning's copy of a ``CustomerDetailsChanged``: a new name or address."""

    event_type: ClassVar[str] = "DunningRecipientDetailsChanged"
    personal_field: ClassVar[str | None] = "personal"
    subject_field: ClassVar[str | None] = "customer_id"

    customer_id: str
    personal: CustomerPersonalData | None


class RecipientProtectionChanged(Event):
    """A protected identity marked (``protected``) or lifted, as invoicing's register says."""

    event_type: ClassVar[str] = "DunningRecipientProtectionChanged"

    customer_id: str
    protected: bool


class ProtectedRecipientAccessed(Event):
    """A protected person's identity number was shown on a letter's forwarding sheet: every such
    look leaves a trace (domain.md §2: access "restricted to a small role and audited")."""

    event_type: ClassVar[str] = "DunningProtectedRecipientAccessed"

    customer_id: str
    letter_id: str
    purpose: str


RECIPIENT_EVENTS: tuple[type[Event], ...] = (
    RecipientRegistered,
    RecipientDetailsChanged,
    RecipientProtectionChanged,
    ProtectedRecipientAccessed,
)


class RecipientState(BaseModel):
    """The customer as a letter needs them. ``personal`` is None once the person is forgotten."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    kind: CustomerKind
    id_kind: IdKind
    protected_identity: bool = False
    personal: CustomerPersonalData | None = None
    version: int = 0


def replay_recipient(events: Iterable[Event]) -> RecipientState | None:
    """Fold dunning's recipient events into the state; None before the registration."""
    state: RecipientState | None = None
    for event in events:
        if isinstance(event, RecipientRegistered):
            state = RecipientState(
                customer_id=event.customer_id,
                kind=event.kind,
                id_kind=event.id_kind,
                protected_identity=event.protected_identity,
                personal=event.personal,
                version=1 if state is None else state.version + 1,
            )
        elif state is None:
            continue  # a change before the registration cannot be: ignored rather than guessed
        elif isinstance(event, RecipientDetailsChanged):
            state = state.model_copy(
                update={"personal": event.personal, "version": state.version + 1}
            )
        elif isinstance(event, RecipientProtectionChanged):
            state = state.model_copy(
                update={"protected_identity": event.protected, "version": state.version + 1}
            )
    return state


class RecipientLetterView(BaseModel):
    """What a letter may print of its recipient (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer_id: str
    # "known": name and address printed; "protected": Skatteverket forwards it; "unknown": no
    # personal data to print (forgotten, or not yet known to dunning): the letter cannot be sent.
    route: Literal["known", "protected", "unknown"]
    name: str | None = None
    address: PostalAddress | None = None
    id_label: str = "Personnummer"
    id_number: str | None = None  # formatted, or MASKED_ID_NUMBER; only for the protected route
    id_number_hidden: bool = False


_ID_LABELS: Final[dict[str, str]] = {
    "personnummer": "Personnummer",
    "samordningsnummer": "Samordningsnummer",
    "organisationsnummer": "Organisationsnummer",
}


def recipient_for_letter(
    customer_id: str, state: RecipientState | None, *, reveal_protected_id_number: bool
) -> RecipientLetterView:
    """The recipient as the letter may show them (domain.md §2 "Protected identity").

    A protected identity gets no name or address even though dunning holds them; its
    personnummer is printed (for the inner envelope) only when ``reveal_protected_id_number``,
    i.e. for the protected-identity officer, else masked. A forgotten or unknown customer gets
    the "unknown" route: nothing personal, and the letter is marked as not sendable."""
    if state is None or state.personal is None:
        return RecipientLetterView(customer_id=customer_id, route="unknown")
    label = _ID_LABELS[state.id_kind]
    if state.protected_identity:
        formatted = IdentityNumber(IdentityKind(state.id_kind), state.personal.id_number).formatted
        return RecipientLetterView(
            customer_id=customer_id,
            route="protected",
            id_label=label,
            id_number=formatted if reveal_protected_id_number else MASKED_ID_NUMBER,
            id_number_hidden=not reveal_protected_id_number,
        )
    return RecipientLetterView(
        customer_id=customer_id,
        route="known",
        name=state.personal.name,
        address=state.personal.address,
        id_label=label,
    )
