"""What every printed document of Fordra is made of (domain.md §2 "Invoice content",
"Protected identity"; §4 "Reminder"; seed 001): labelled Swedish items, address lines and
Skatteverket's forwarding sheet.

Invoicing's invoice (``fordra.invoicing.domain.invoice_document``) and dunning's letters
(``fordra.dunning.domain.letters``) each decide *what* they say; the shapes they say it in, and
the address lines, are the same and live here, so both print an address and a forwarding sheet
alike. Pure: pydantic and the standard library only; the renderers are in
``fordra.kernel.document_pdf`` and ``fordra.kernel.document_html``.
"""

from __future__ import annotations

from typing import Final, Protocol

from pydantic import BaseModel, ConfigDict

__all__ = [
    "PROTECTED_RECIPIENT",
    "Entry",
    "ForwardingSheet",
    "PostalLines",
    "forwarding_sheet",
    "postal_lines",
]

# What the window of the envelope shows for a person with a protected identity (domain.md §2):
# never the name or the address, only that Skatteverket forwards the post.
PROTECTED_RECIPIENT: Final[tuple[str, ...]] = (
    "Mottagare med skyddade personuppgifter",
    "Vidarebefordras av Skatteverket",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Entry(_Frozen):
    """One labelled item, e.g. ``Fakturadatum: 2026-03-02`` or ``Betala senast: 16 mars 2026``."""

    label: str
    value: str


class ForwardingSheet(_Frozen):
    """Skatteverket's forwarding of post to a person with a protected identity (domain.md §2):
    the outer envelope to Skatteverket, the sealed inner one marked with the personnummer."""

    title: str
    outer_address: tuple[str, ...]
    inner_marking: tuple[Entry, ...]
    instructions: tuple[str, ...]


class PostalLines(Protocol):
    """A postal address as the contracts carry it (``fordra.contracts.invoicing.PostalAddress``);
    read only, so a frozen model fits."""

    @property
    def street(self) -> str: ...
    @property
    def postal_code(self) -> str: ...
    @property
    def city(self) -> str: ...
    @property
    def care_of(self) -> str | None: ...
    @property
    def country(self) -> str: ...


def postal_lines(address: PostalLines) -> tuple[str, ...]:
    """The address as printed on Swedish post: c/o first, postal code and city on one line, and
    the country only for an address abroad (Postnord's addressing rules)."""
    lines = []
    if address.care_of:
        lines.append(f"c/o {address.care_of}")
    lines.append(address.street)
    lines.append(f"{address.postal_code} {address.city}")
    if address.country.upper() != "SE":
        lines.append(address.country.upper())
    return tuple(lines)


def forwarding_sheet(
    *,
    id_label: str,
    id_number: str,
    id_number_hidden: bool,
    sender_name: str,
    sender_address: PostalLines,
    outer_address: tuple[str, ...],
    what: str,
) -> ForwardingSheet:
    """Skatteverket's forwarding of post to a person with a protected identity (domain.md §2):
    the outer envelope to Skatteverket (``outer_address``, a setting of the sender), the sealed
    inner one marked with the person's number and the sender, and never the name or address.
    ``what`` is what goes in the inner envelope ("fakturan"); a number hidden from the reader
    (``id_number_hidden``) is printed by someone who handles protected personal data."""
    sender = ", ".join((sender_name, *postal_lines(sender_address)))
    label = id_label.lower()
    hidden = (
        (
            f"Mottagarens {label} visas bara för den som handlägger skyddade personuppgifter: "
            "låt dem skriva ut detta blad.",
        )
        if id_number_hidden
        else ()
    )
    return ForwardingSheet(
        title="Försändelse till person med skyddade personuppgifter",
        outer_address=outer_address,
        inner_marking=(
            Entry(label=id_label, value=id_number),
            Entry(label="Avsändare", value=sender),
        ),
        instructions=(
            *hidden,
            f"Lägg {what} i ett innerkuvert och förslut det.",
            f"Märk innerkuvertet med mottagarens {label} och avsändaren enligt ovan.",
            "Lägg innerkuvertet i ett ytterkuvert till Skatteverket, som vidarebefordrar "
            "försändelsen till mottagaren.",
            "Skriv aldrig mottagarens namn eller adress på något av kuverten.",
        ),
    )
