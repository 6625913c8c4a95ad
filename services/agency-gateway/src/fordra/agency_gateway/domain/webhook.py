"""An agency's webhook (issue 15, "Inbound"; domain.md §5: what the agency reports): its signature
and the schema of its body per kind.

The agency signs the raw body: ``X-Fordra-Signature: sha256=<hex HMAC-SHA256 of the body with the
agency's secret>``. The check compares in constant time (``hmac.compare_digest``), so the time a
refusal takes tells nothing of how much of a forged signature was right. The body is JSON
``{"event_id", "case_id", "kind", "occurred_on", ...}`` with the fields of its kind; a field an
agency adds beyond these is ignored (an agency may send its own references).
"""

from __future__ import annotations

import hashlib
import hmac
import typing
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from fordra.kernel.dated import CalendarDate
from fordra.kernel.events import Event

SIGNATURE_HEADER = "X-Fordra-Signature"
_SCHEME = "sha256="

# An id as an agency sends it: bounded, printable (it becomes part of a stream's name).
AgencyId = Annotated[str, Field(min_length=1, max_length=100, pattern="^[!-~]+$")]
# An amount in öre: never negative, and bounded as the platform bounds amounts (10^13 öre is a
# hundred billion kronor, beyond any municipal claim, and far inside every integer column).
Ore = Annotated[int, Field(ge=0, le=10**13)]


def signature_of(body: bytes, secret: str) -> str:
    """The header value an agency sends for ``body``: ``sha256=<hex>``."""
    return _SCHEME + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(body: bytes, header: str | None, secret: str | None) -> bool:
    """Whether ``header`` is the agency's signature of ``body``. No secret (an agency configured
    without one), no header or another scheme is refused like a wrong signature."""
    if not secret or not header or not header.startswith(_SCHEME):
        return False
    expected = signature_of(body, secret)
    return hmac.compare_digest(expected.encode(), header.strip().lower().encode())


def body_digest(body: bytes) -> str:
    """What identifies a report's content: the same event id with other content is refused."""
    return hashlib.sha256(body).hexdigest()


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: AgencyId
    case_id: AgencyId
    occurred_on: CalendarDate


class StepReport(_Report):
    """A step of the case with nothing more to say: opened, payment order filed, judgment,
    enforcement, long-term surveillance, closed."""

    kind: Literal[
        "opened",
        "payment_order_filed",
        "judgment",
        "enforcement",
        "long_term_surveillance",
        "closed",
    ]


class ObjectionReport(_Report):
    """The debtor objected: the notice of the objection was sent on ``notice_sent_on``, which
    starts the creditor's 3 weeks (domain.md §5)."""

    kind: Literal["objection"]
    notice_sent_on: CalendarDate

    @model_validator(mode="after")
    def _notice_not_after_report(self) -> ObjectionReport:
        if self.notice_sent_on > self.occurred_on:
            raise ValueError("notice_sent_on is after occurred_on: a notice is sent, then reported")
        return self


class PaymentReport(_Report):
    """The agency collected a payment, split into capital, interest and fees (domain.md §3:
    kept apart), and says what of it goes to the municipality."""

    kind: Literal["payment_collected"]
    capital_ore: Ore
    interest_ore: Ore
    reminder_fee_ore: Ore = 0
    collection_fee_ore: Ore = 0
    municipality_share_ore: Ore

    @property
    def collected_ore(self) -> int:
        return (
            self.capital_ore + self.interest_ore + self.reminder_fee_ore + self.collection_fee_ore
        )

    @model_validator(mode="after")
    def _amounts(self) -> PaymentReport:
        if self.collected_ore == 0:
            raise ValueError("a payment collected is more than 0 öre")
        if self.municipality_share_ore > self.collected_ore:
            raise ValueError(
                f"municipality_share_ore {self.municipality_share_ore} is more than the "
                f"{self.collected_ore} öre collected"
            )
        return self


AgencyReport = Annotated[StepReport | ObjectionReport | PaymentReport, Field(discriminator="kind")]
REPORT = TypeAdapter(AgencyReport)
# Every kind a report may have.
REPORT_KINDS: frozenset[str] = frozenset(
    kind
    for model in (StepReport, ObjectionReport, PaymentReport)
    for kind in typing.get_args(model.model_fields["kind"].annotation)
)


def parse_report(body: bytes) -> StepReport | ObjectionReport | PaymentReport:
    """The report in ``body``; a ``pydantic.ValidationError`` names each field at fault."""
    return REPORT.validate_json(body)


class AgencyEventClaimed(Event):
    """An agency's event id, claimed once in a stream of its own with the report's effects: the
    same event again is recognised and changes nothing."""

    event_type: ClassVar[str] = "AgencyEventClaimed"

    agency: str
    event_id: str
    case_id: str
    kind: str
    occurred_on: date
    digest: str  # sha256 of the raw body


WEBHOOK_EVENTS: tuple[type[Event], ...] = (AgencyEventClaimed,)


def event_claim_stream(agency: str, event_id: str) -> str:
    return f"agency-event-{agency}-{event_id}"
