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
