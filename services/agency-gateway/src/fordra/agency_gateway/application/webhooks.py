"""An agency reports on a case (issue 15, "Inbound"; domain.md §5): ``POST
/api/v1/agency/webhooks/{agency}``.

In order: an agency not configured is not found (404); a missing or wrong signature, or an agency
without a secret, is refused (401) before the body is even read as JSON, and nothing is recorded;
a body that is not a report of a known kind is a 422 naming the field; the same event id again
answers 200 and records nothing (the same id with other content is a 409); a case not known is
not found (404); a report the case's state does not allow is a 422 naming why. A report taken
appends, in one append: the claim of its event id (a stream of its own, new: two deliveries at
once cannot both take it), and on the case's stream the public ``AgencyCaseChanged`` (status,
deadline, Kronofogden's outlays) or, for a payment, the public ``AgencyPaymentCollected`` (which
payments books, capital, interest and fees apart) with the municipality's share.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from fordra.agency_gateway.application.cases import load_case
from fordra.agency_gateway.application.deps import CONTEXT, AgencyDeps
from fordra.agency_gateway.domain.case import (
    MunicipalityShareRecorded,
    case_stream,
    check_payment_allowed,
    check_report_date,
    decide_step,
)
from fordra.agency_gateway.domain.webhook import (
    AgencyEventClaimed,
    ObjectionReport,
    PaymentReport,
    StepReport,
    body_digest,
    event_claim_stream,
    parse_report,
    signature_valid,
)
from fordra.contracts.agency_gateway import AgencyPaymentCollected
from fordra.kernel.application import Decision, Outcome, execute
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import AlreadyExists, FordraError, NotFound
from fordra.kernel.events import Event
from fordra.kernel.eventstore import StreamAppend
from fordra.kernel.ids import new_id
from fordra.kernel.telemetry import current_correlation_id


class SignatureRefused(FordraError):
    """The webhook's signature is missing or wrong (HTTP 401): nothing is recorded."""


class WebhookReceipt(BaseModel):
    event_id: str
    case_id: str
    kind: str
    # True when this event id was taken before: nothing new was recorded.
    duplicate: bool


def check_signed(deps: AgencyDeps, agency: str, body: bytes, signature: str | None) -> None:
    """404 for an agency not configured, 401 for a signature that is not the agency's."""
    if agency not in deps.settings.agencies:
        raise NotFound("agency", agency)
    secret = deps.settings.secrets.get(agency)
    if not signature_valid(body, signature, secret.get_secret_value() if secret else None):
        raise SignatureRefused(f"the webhook is not signed with agency {agency!r}'s secret")


async def receive_webhook(
    deps: AgencyDeps, agency: str, body: bytes, signature: str | None
) -> Outcome[WebhookReceipt]:
    """Take one report of ``agency`` (module docstring). A ``pydantic.ValidationError`` from
    parsing names what is wrong with the body."""
    check_signed(deps, agency, body, signature)
    report = parse_report(body)
    digest = body_digest(body)
    meta = Metadata(
        tenant=deps.tenant,
        actor=f"agency:{agency}",
        correlation_id=current_correlation_id() or new_id(),
    )
    claim = event_claim_stream(agency, report.event_id)

    async def decide() -> Decision[WebhookReceipt]:
        receipt = WebhookReceipt(
            event_id=report.event_id, case_id=report.case_id, kind=report.kind, duplicate=False
        )
        claimed = await deps.store.read_stream(claim)
        if claimed:
            first = deps.registry.load_as(claimed[0], AgencyEventClaimed)
            if first.digest != digest:
                raise AlreadyExists(
                    f"agency {agency!r} already reported event {report.event_id!r} "
                    "with other content",
                    field="event_id",
                )
            return Decision([], receipt.model_copy(update={"duplicate": True}))
        state, version = await load_case(deps.store, deps.registry, report.case_id)
        if state is None:
            raise NotFound("agency case", report.case_id)
        if state.agency != agency:
            raise NotFound(f"case of agency {agency!r}", report.case_id)
        check_report_date(state, report.occurred_on, deps.clock.today())
        effects: list[Event]
        if isinstance(report, PaymentReport):
            check_payment_allowed(state)
            reference = f"{agency}:{report.event_id}"
            effects = [
                AgencyPaymentCollected(
                    agency_reference=reference,
                    invoice_id=state.invoice_id,
                    collected_on=report.occurred_on,
                    capital_ore=report.capital_ore,
                    interest_ore=report.interest_ore,
                    reminder_fee_ore=report.reminder_fee_ore,
                    collection_fee_ore=report.collection_fee_ore,
                ),
                MunicipalityShareRecorded(
                    case_id=state.case_id,
                    invoice_id=state.invoice_id,
                    agency_reference=reference,
                    collected_on=report.occurred_on,
                    collected_ore=report.collected_ore,
                    municipality_share_ore=report.municipality_share_ore,
                ),
            ]
        else:
            notice = report.notice_sent_on if isinstance(report, ObjectionReport) else None
            assert isinstance(report, StepReport | ObjectionReport)
            effects = [
                decide_step(
                    state,
                    report.kind,
                    report.occurred_on,
                    deps.settings,
                    deps.calendar,
                    notice_sent_on=notice,
                )
            ]
        now = deps.clock.now()
        claimed_event = AgencyEventClaimed(
            agency=agency,
            event_id=report.event_id,
            case_id=report.case_id,
            kind=report.kind,
            occurred_on=report.occurred_on,
            digest=digest,
        )
        return Decision(
            [
                _append(deps, claim, 0, [claimed_event], meta=meta, now=now),
                _append(deps, case_stream(state.case_id), version, effects, meta=meta, now=now),
            ],
            receipt,
        )

    return await execute(deps.store, decide, WebhookReceipt)


def _append(
    deps: AgencyDeps,
    stream: str,
    version: int,
    events: list[Event],
    *,
    meta: Metadata,
    now: datetime,
) -> StreamAppend:
    envelopes = deps.registry.envelopes(
        events,
        context=CONTEXT,
        stream_id=stream,
        after_version=version,
        metadata=meta,
        occurred_at=now,
    )
    return StreamAppend(stream, version, envelopes)
