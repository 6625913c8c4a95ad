"""The daily run (domain.md §4, seed 001 / seed 004): every business day, find the claims due for
a step and propose it; nothing is sent until a case officer approves (seed 002).

A claim whose policy's next step is ``disconnection`` is not proposed for the agency on its
handover day: the run refers it to the disconnection procedure (``ReferredForDisconnection`` on
the claim's stream, with the run's record; issue 16, domain.md §6), which sends no letter, so no
approval is asked. Only once the procedure declines it (``DisconnectionDeclined``, in the claims
read model) is it proposed for the agency, by the next run.

Set-based: one SQL query per kind of step over the claims read model, each service's cut-off in
a CASE on the service type, never a loop over every claim. A run of a date happens once: its
proposals and the run's own record are appended together, and a second run of the date answers
the first one's count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Date, and_, case, literal, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from fordra.contracts.dunning import ReferredForDisconnection
from fordra.contracts.invoicing import SERVICE_TYPES
from fordra.dunning.application.claims import DunningClaimsProjection
from fordra.dunning.application.policies import PoliciesDeps, policy_book
from fordra.dunning.application.reference_rates import statutory_interest
from fordra.dunning.domain.childcare import (
    WarnedInvoiceRow,
    childcare_report,
    is_childcare_report_day,
    report_month,
)
from fordra.dunning.domain.daily_run import (
    OverdueClaim,
    ServiceCutoffs,
    ServiceRules,
    check_run_not_in_future,
    check_run_on_a_business_day,
    cutoffs_for,
)
from fordra.dunning.domain.events import (
    ChildcareUnpaidReported,
    DunningProposed,
    DunningRunCompleted,
    MusicSchoolPupilFlagged,
    claim_stream,
    proposal_stream,
    run_stream,
)
from fordra.dunning.domain.interest import InterestSettings
from fordra.dunning.domain.music_school import (
    MusicSchoolInvoiceRow,
    is_music_school_check_day,
    latest_deadline,
    pupils_to_flag,
)
from fordra.dunning.domain.policy import PolicyBook
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.application import Decision, Outcome, execute
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock
from fordra.kernel.dated import CalendarDate
from fordra.kernel.envelope import Metadata
from fordra.kernel.events import Event, EventRegistry
from fordra.kernel.eventstore import EventStore, StreamAppend
from fordra.kernel.ids import new_id
from fordra.kernel.projection import ReadModelDatabase

CONTEXT = "dunning"


@dataclass
class DunningDeps:
    store: EventStore
    registry: EventRegistry
    clock: BusinessClock
    calendar: WorkingDayCalendar
    settings: DunningSettings
    read_models: ReadModelDatabase
    claims: DunningClaimsProjection
    tenant: str  # whose claims the scheduled run works on (the municipality)
    # The childcare and music-school rules by service type (domain/childcare.py, ...).
    service_rules: ServiceRules = field(default_factory=ServiceRules)
    # Late interest's margin (domain.md §3); the reference rates are the table an admin extends.
    interest: InterestSettings = field(default_factory=InterestSettings)

    @property
    def policies(self) -> PoliciesDeps:
        """The policy book's use cases: its stream is in dunning's own store."""
        return PoliciesDeps(self.store, self.registry, self.clock, self.settings)


class RunDunning(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    date: CalendarDate


class RunResult(BaseModel):
    date: date
    proposals: int


def envelope(
    deps: DunningDeps, event: Event, stream_id: str, version: int, meta: Metadata
) -> StreamAppend:
    env = deps.registry.envelope(
        event,
        context=CONTEXT,
        stream_id=stream_id,
        version=version + 1,
        metadata=meta,
        occurred_at=deps.clock.now(),
    )
    return StreamAppend(stream_id, version, [env])


async def run_dunning(
    day: date, deps: DunningDeps, principal: Principal, meta: Metadata
) -> Outcome[RunResult]:
    """``POST /api/v1/dunning/runs``: the run of ``day``, by ops (domain.md §4)."""
    require_role(principal, Role.OPS_LEAD, Role.ADMIN, action="start a dunning run")
    check_run_not_in_future(day, deps.clock.today())
    check_run_on_a_business_day(day, deps.calendar)
    return await daily_run(day, deps, meta)


async def daily_run(day: date, deps: DunningDeps, meta: Metadata) -> Outcome[RunResult]:
    """The run of ``day``: its proposals, once."""

    async def decide() -> Decision[RunResult]:
        done = await deps.store.read_stream(run_stream(day))
        if done:
            first = deps.registry.load_as(done[0], DunningRunCompleted)
            return Decision([], RunResult(date=day, proposals=first.proposals))
        book = await policy_book(deps.policies)
        proposals = await find_proposals(day, deps, book)
        # On the day a claim would be handed over, one whose next step is disconnection is
        # referred to that procedure instead (issue 16): on the claim's own stream, with the run.
        found = await find_referrals(day, deps, book)
        # The claims' streams read at once (a claim stream holds a few letters' events).
        streams = await deps.store.read_streams([claim_stream(r.invoice_id) for r in found])
        referrals = []
        for referral in found:
            stream = claim_stream(referral.invoice_id)
            done = streams.get(stream, [])
            version = done[-1].version if done else 0
            referrals.append(envelope(deps, referral, stream, version, meta))
        # The day's childcare report and music-school flags go with the run's own record: made
        # once per date, so once per day and customer.
        outputs = [
            *await childcare_report_on(day, deps),
            *await music_school_flags_on(day, deps, book),
        ]
        record = deps.registry.envelopes(
            [DunningRunCompleted(day=day, proposals=len(proposals)), *outputs],
            context=CONTEXT,
            stream_id=run_stream(day),
            after_version=0,
            metadata=meta,
            occurred_at=deps.clock.now(),
        )
        appends = [
            StreamAppend(run_stream(day), 0, record),
            *(envelope(deps, p, proposal_stream(p.proposal_id), 0, meta) for p in proposals),
            *referrals,
        ]
        return Decision(appends, RunResult(date=day, proposals=len(proposals)))

    # A run racing another of the same date loses on the run stream's version and decides again:
    # it then finds the first run's record and answers its count.
    return await execute(deps.store, decide, RunResult)


def _latest(first: Any, *nullable: Any) -> Any:
    """The latest of a non-null date column and nullable ones, in SQL both engines speak."""
    result = first
    for column in nullable:
        result = case((column > result, column), else_=result)
    return result


def _on_or_before(column: Any, cutoffs: dict[str, date], service: Any) -> ColumnElement[bool]:
    """``column`` on or before the cut-off of the row's service (one CASE, one query)."""
    per_service = case({s: literal(d, Date) for s, d in cutoffs.items()}, value=service, else_=None)
    return and_(service.in_(list(cutoffs)), column <= per_service)


def open_ore_column(p: DunningClaimsProjection) -> Any:
    """What is open of a claim, in SQL: its total less credits and what was paid (capital, and
    interest and fees up to what the claim charges)."""
    c, pay = p.claims, p.payments
    paid_other = case(
        (pay.c.paid_other_ore < c.c.charges_ore, pay.c.paid_other_ore), else_=c.c.charges_ore
    )
    # What write-offs took is not open (domain.md §4); a payment taken back since is.
    return (
        c.c.total_ore
        - c.c.credited_ore
        - _coalesce0(pay.c.paid_capital_ore)
        - _coalesce0(paid_other)
        - _coalesce0(p.write_downs.c.written_off_ore)
    ).label("open_ore")


def _cutoffs(day: date, deps: DunningDeps, book: PolicyBook) -> dict[str, ServiceCutoffs]:
    return {
        service: cutoffs_for(
            service, book.policy_for(service, day), day, deps.settings, deps.calendar
        )
        for service in SERVICE_TYPES
    }


def _in_flow(
    p: DunningClaimsProjection, day: date, cutoffs: dict[str, ServiceCutoffs], open_ore: Any
) -> list[ColumnElement[bool]]:
    """The claims in the dunning flow on ``day`` and not exempt from their service's policy."""
    c, g = p.claims, p.progress
    # domain.md §4: holds stop the flow (a dispute, a deferral in force, an active plan), and
    # only what is open is dunned.
    in_flow = and_(
        c.c.cancelled.is_(False),
        open_ore > 0,
        c.c.disputed_on.is_(None),
        or_(c.c.deferred_until.is_(None), c.c.deferred_until < day),
        g.c.plan_id.is_(None),
        c.c.due_date < day,
        g.c.handed_over_on.is_(None),
        # A claim written down is under long-term surveillance, not dunned; one written off is
        # not dunned even when a payment taken back makes some of it owed again: a person
        # decides (domain.md §4).
        p.write_downs.c.written_down_on.is_(None),
        p.write_downs.c.written_off_on.is_(None),
    )
    exempt = [
        not_(and_(c.c.service_type == s, c.c.customer_id.in_(cut.exempt_customer_ids)))
        for s, cut in cutoffs.items()
        if cut.exempt_customer_ids
    ]
    return [in_flow, *exempt]


async def find_referrals(
    day: date, deps: DunningDeps, book: PolicyBook
) -> list[ReferredForDisconnection]:
    """The claims referred to the disconnection procedure on ``day`` (issue 16, domain.md §6): of
    a service whose policy's next step is ``disconnection``, reminded, in the flow (unpaid,
    undisputed, no plan in force) and due for the handover by the same rule as a claim for the
    agency (the policy's days after the reminder and the reminder's pay-by date passed). One
    query; a claim is referred once."""
    cutoffs = _cutoffs(day, deps, book)
    refer = {
        s: cut.hand_over_reminded_by
        for s, cut in cutoffs.items()
        if cut.refers_for_disconnection and cut.hand_over_reminded_by is not None
    }
    if not refer:
        return []
    p = deps.claims
    c, g, d = p.claims, p.progress, p.disconnection
    open_ore = open_ore_column(p)
    reminder_timer = _latest(g.c.reminded_on, c.c.dispute_resolved_on, g.c.plan_ended_on)
    query = (
        select(
            c.c.invoice_id,
            c.c.customer_id,
            c.c.service_type,
            d.c.supply_point_id,
            g.c.reminded_on,
            open_ore,
        )
        .select_from(p.joined())
        .where(
            *_in_flow(p, day, cutoffs, open_ore),
            g.c.reminded_on.is_not(None),
            d.c.referred_on.is_(None),
            _on_or_before(reminder_timer, refer, c.c.service_type),
        )
        .order_by(c.c.invoice_id)
    )
    async with deps.read_models.engine.connect() as conn:
        found = (await conn.execute(query)).all()
    return [
        ReferredForDisconnection(
            invoice_id=r.invoice_id,
            customer_id=r.customer_id,
            service_type=r.service_type,
            supply_point_id=r.supply_point_id,
            demand_sent_on=r.reminded_on,
            referred_on=day,
            capital_ore=int(r.open_ore),
        )
        for r in found
    ]


async def find_proposals(day: date, deps: DunningDeps, book: PolicyBook) -> list[DunningProposed]:
    """Every proposal due on ``day``: reminders, handovers (both models), installment reminders
    and what the service rules propose (domain.md §4), under the policies of ``book`` (the run
    reads it once)."""
    p = deps.claims
    c, g = p.claims, p.progress
    # The rate table is read once per run (a stream read), then used for every claim.
    # A proposal's interest: on what is open today, from the day interest runs (the kernel's
    # rule over the table as it stands, admin-added rates included). The letter, approved later,
    # states the exact figure (``accrued_interest_ore``: each partial payment from its day).
    interest = await statutory_interest(deps.store, deps.registry, deps.interest)
    cutoffs = _cutoffs(day, deps, book)
    open_ore = open_ore_column(p)
    flow = _in_flow(p, day, cutoffs, open_ore)
    timer = _latest(c.c.due_date, c.c.deferred_until, c.c.dispute_resolved_on, g.c.plan_ended_on)
    columns = [
        c.c.invoice_id,
        c.c.customer_id,
        c.c.service_type,
        c.c.invoice_date,
        c.c.due_date,
        c.c.interest_from,
        open_ore,
        g.c.termination_warned_on,
        g.c.termination_proposal_id,
    ]
    # A proposal made before a hold ended (a dispute resolved, a plan cancelled) or before the
    # due date moved no longer blocks its step: the days count again from the hold's end, and
    # the run proposes anew when they have passed (domain.md §4); the old one is stale.
    reminder_proposal = p.proposals.alias("reminder_proposal")
    handover_proposal = p.proposals.alias("handover_proposal")
    joined = (
        p.joined()
        .outerjoin(reminder_proposal, reminder_proposal.c.proposal_id == g.c.reminder_proposal_id)
        .outerjoin(handover_proposal, handover_proposal.c.proposal_id == g.c.handover_proposal_id)
    )
    reminder_timer = _latest(g.c.reminded_on, c.c.dispute_resolved_on, g.c.plan_ended_on)
    no_reminder_proposal = or_(
        g.c.reminder_proposal_id.is_(None), reminder_proposal.c.proposed_on <= timer
    )
    no_handover_proposal = or_(
        g.c.handover_proposal_id.is_(None),
        handover_proposal.c.proposed_on <= _latest(timer, reminder_timer),
    )

    async def rows(*where: Any) -> Sequence[Any]:
        async with deps.read_models.engine.connect() as conn:
            query = select(*columns).select_from(joined).where(*flow, *where)
            return (await conn.execute(query.order_by(c.c.invoice_id))).all()

    made: list[DunningProposed] = []

    def propose(row: Any, kind: Any, cut: ServiceCutoffs, *, fee: int = 0) -> None:
        made.append(
            DunningProposed(
                proposal_id=new_id(),
                kind=kind,
                invoice_id=row.invoice_id,
                invoice_ids=(row.invoice_id,),
                customer_id=row.customer_id,
                service_type=row.service_type,
                proposed_on=day,
                capital_ore=int(row.open_ore),
                fee_ore=fee,
                interest_ore=interest.interest_ore(int(row.open_ore), row.interest_from, day),
                model=cut.model,
                next_step=cut.next_step,
            )
        )

    remind = {s: cut.remind_started_by for s, cut in cutoffs.items() if cut.remind_started_by}
    if remind:
        for row in await rows(
            g.c.reminded_on.is_(None),
            no_reminder_proposal,
            _on_or_before(timer, remind, c.c.service_type),
        ):
            # A fee only where agreed when the debt arose (domain.md §3): the policy of the
            # invoice date says whether, the day's policy and cap how much.
            fee = book.reminder_fee(row.service_type, row.invoice_date, day)
            propose(row, "reminder", cutoffs[row.service_type], fee=fee)

    hand_over = {
        s: cut.hand_over_reminded_by for s, cut in cutoffs.items() if cut.hand_over_reminded_by
    }
    # A claim of a service that refers for disconnection goes to the agency only once the
    # procedure declined it (issue 16); one it took is in its case.
    referring = [s for s, cut in cutoffs.items() if cut.refers_for_disconnection]
    declined = (
        or_(
            not_(c.c.service_type.in_(referring)),
            p.disconnection.c.declined_on.is_not(None),
        )
        if referring
        else true()
    )
    if hand_over:
        for row in await rows(
            g.c.reminded_on.is_not(None),
            no_handover_proposal,
            _on_or_before(reminder_timer, hand_over, c.c.service_type),
            declined,
        ):
            propose(row, "handover", cutoffs[row.service_type])

    # Seed 004: on the month's handover day, invoices 4-7 weeks overdue go unreminded.
    monthly = {s: cut for s, cut in cutoffs.items() if cut.agency_due_by is not None}
    if monthly:
        by = {s: cut.agency_due_by for s, cut in monthly.items() if cut.agency_due_by}
        since = {s: cut.agency_due_from for s, cut in monthly.items() if cut.agency_due_from}
        for row in await rows(
            g.c.reminded_on.is_(None),
            no_handover_proposal,
            _on_or_before(timer, by, c.c.service_type),
            not_(_on_or_before(timer, since, c.c.service_type)),
        ):
            propose(row, "handover", cutoffs[row.service_type])

    made.extend(await _installment_reminders(day, deps))
    made.extend(await _service_rule_proposals(day, deps, cutoffs, rows, timer, book=book))
    return made


def _coalesce0(column: Any) -> Any:
    return case((column.is_(None), 0), else_=column)


async def _installment_reminders(day: date, deps: DunningDeps) -> list[DunningProposed]:
    """A missed installment is reminded (domain.md §4): one proposal per installment missed."""
    t = deps.claims.installments
    async with deps.read_models.engine.connect() as conn:
        missed = (
            await conn.execute(
                select(t)
                .where(t.c.proposal_id.is_(None), t.c.reminded_on.is_(None))
                .order_by(t.c.plan_id, t.c.due_date)
            )
        ).all()
        claims = deps.claims.claims
        services = {
            r.invoice_id: r.service_type
            for r in await conn.execute(
                select(claims.c.invoice_id, claims.c.service_type).where(
                    claims.c.invoice_id.in_(
                        {i for m in missed for i in m.invoice_ids.split()} or {""}
                    )
                )
            )
        }
    proposals = []
    for m in missed:
        invoice_ids = tuple(m.invoice_ids.split())
        proposals.append(
            DunningProposed(
                proposal_id=new_id(),
                kind="installment_reminder",
                invoice_id=invoice_ids[0],
                invoice_ids=invoice_ids,
                customer_id=m.customer_id,
                service_type=services.get(invoice_ids[0], "other"),
                proposed_on=day,
                capital_ore=int(m.amount_ore),
                fee_ore=0,  # no fee for any step but a written reminder (domain.md §3)
                interest_ore=0,
                model="reminder_then_handover",
                next_step="none",
                plan_id=m.plan_id,
                installment_due_date=m.due_date,
            )
        )
    return proposals


async def _service_rule_proposals(
    day: date,
    deps: DunningDeps,
    cutoffs: dict[str, ServiceCutoffs],
    rows: Any,
    timer: Any,
    *,
    book: PolicyBook,
) -> list[DunningProposed]:
    """The childcare and music-school rules (domain.md §4): each is given the day and the
    overdue claims of its service not under a hold, and answers what to propose."""
    made: list[DunningProposed] = []
    c = deps.claims.claims
    for service, rule in deps.service_rules.by_service.items():
        found = await rows(c.c.service_type == service, timer < day)
        overdue = [
            OverdueClaim(
                invoice_id=r.invoice_id,
                customer_id=r.customer_id,
                service_type=r.service_type,
                due_date=r.due_date,
                capital_ore=int(r.open_ore),
                termination_warned=(
                    r.termination_warned_on is not None or r.termination_proposal_id is not None
                ),
            )
            for r in found
        ]
        cut = cutoffs[service]
        for proposal in rule(day, overdue, book):
            made.append(
                DunningProposed(
                    proposal_id=new_id(),
                    kind=proposal.kind,
                    invoice_id=proposal.invoice_ids[0],
                    invoice_ids=proposal.invoice_ids,
                    customer_id=proposal.customer_id,
                    service_type=proposal.service_type,
                    proposed_on=day,
                    capital_ore=proposal.capital_ore,
                    fee_ore=0,  # no fee for a letter about termination (domain.md §3)
                    interest_ore=0,
                    model=cut.model,
                    next_step=cut.next_step,
                    termination_date=proposal.termination_date,
                )
            )
    return made


async def childcare_report_on(day: date, deps: DunningDeps) -> list[ChildcareUnpaidReported]:
    """On the report day around the 15th (domain.md §4, seed 002 lines 1863-1867): every
    guardian who got the letter about the risk of termination and has not paid an invoice it
    named, one query over the claims read model."""
    if not is_childcare_report_day(day, deps.calendar, deps.settings):
        return []
    p = deps.claims
    c, g = p.claims, p.progress
    query = (
        select(
            c.c.customer_id,
            c.c.invoice_id,
            g.c.termination_warned_on,
            g.c.termination_date,
            open_ore_column(p),
        )
        .select_from(p.joined())
        .where(
            c.c.service_type == "childcare",
            c.c.cancelled.is_(False),
            g.c.termination_warned_on.is_not(None),
            g.c.termination_date.is_not(None),
        )
    )
    async with deps.read_models.engine.connect() as conn:
        found = (await conn.execute(query)).all()
    rows = [
        WarnedInvoiceRow(
            customer_id=r.customer_id,
            invoice_id=r.invoice_id,
            warned_on=r.termination_warned_on,
            termination_date=r.termination_date,
            capital_open_ore=int(r.open_ore),
        )
        for r in found
    ]
    month = report_month(day, deps.calendar, deps.settings)
    return [
        ChildcareUnpaidReported(
            report_month=month,
            reported_on=day,
            customer_id=line.customer_id,
            invoice_ids=line.invoice_ids,
            unpaid_ore=line.unpaid_ore,
            first_warned_on=line.first_warned_on,
            termination_date=line.termination_date,
        )
        for line in childcare_report(day, rows)
    ]


async def music_school_flags_on(
    day: date, deps: DunningDeps, book: PolicyBook
) -> list[MusicSchoolPupilFlagged]:
    """On the check day (31 August, or the first working day after; domain.md §4, seed 001):
    every customer whose music-school fee due by the deadline is still unpaid, one query."""
    if not is_music_school_check_day(day, deps.calendar, deps.settings):
        return []
    p = deps.claims
    c, g = p.claims, p.progress
    deadline = latest_deadline(day, deps.settings)
    open_ore = open_ore_column(p)
    query = (
        select(
            c.c.invoice_id,
            c.c.customer_id,
            c.c.due_date,
            c.c.disputed_on,
            c.c.deferred_until,
            g.c.plan_id,
            open_ore,
        )
        .select_from(p.joined())
        .where(
            c.c.service_type == "music_school",
            c.c.cancelled.is_(False),
            c.c.due_date <= deadline,
            open_ore > 0,
        )
    )
    async with deps.read_models.engine.connect() as conn:
        found = (await conn.execute(query)).all()
    rows = [
        MusicSchoolInvoiceRow(
            invoice_id=r.invoice_id,
            customer_id=r.customer_id,
            due_date=r.due_date,
            capital_open_ore=int(r.open_ore),
            # A hold is not held against the pupil (a dispute, a deferral, an active plan).
            held=(
                r.disputed_on is not None
                or (r.deferred_until is not None and r.deferred_until >= day)
                or r.plan_id is not None
            ),
        )
        for r in found
    ]
    policy = book.policy_for("music_school", day)
    return [
        MusicSchoolPupilFlagged(
            customer_id=flag.customer_id,
            invoice_ids=flag.invoice_ids,
            unpaid_ore=flag.unpaid_ore,
            deadline=flag.deadline,
            flagged_on=flag.flagged_on,
        )
        for flag in pupils_to_flag(day, rows, deps.settings, policy)
    ]


async def scheduled_run(day: date, deps: DunningDeps) -> None:
    """The scheduler's job: the run of every business day (domain.md §8's working days)."""
    if not deps.calendar.is_working_day(day):
        return
    meta = Metadata(tenant=deps.tenant, actor="system:dunning-run", correlation_id=new_id())
    await daily_run(day, deps, meta)
