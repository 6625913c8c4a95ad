"""A small demo municipality: a few customers (one with a protected identity) and invoices for
water, waste and childcare, and work in the ops web's queues (issue 17): a payment without a
reference waiting to be matched, a disputed invoice and a payment plan awaiting its signature.

With ``history_until`` (``fordra run --demo``, whose manual clock starts ``DEMO_HISTORY_DAYS``
before the real date) the demo then lives four months, day by day through the same scheduler as
a real calendar: a childcare invoice each month, the daily dunning runs whose proposals a case
officer approves (reminders, then handovers to the reference agency), a payment by OCR now and
then, so that the ledger, the KPIs, the SLA dashboard and the agency's deadlines show a history
that really happened.
Loaded through the same use cases as the HTTP API, with idempotency keys (and a bank file that is
booked once by its content), so ``fordra run --demo`` twice on one data directory changes nothing
the second time."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Final

from fordra.app.bootstrap import Platform
from fordra.contracts.invoicing import PostalAddress
from fordra.dunning.application.collection import proposals_with
from fordra.dunning.application.payment_plans import ProposePaymentPlan, propose_payment_plan
from fordra.dunning.application.proposals import approve_proposal
from fordra.invoicing.application.customers import change_customer
from fordra.invoicing.application.handlers import (
    InvoiceIssuedResponse,
    correct_invoice,
    issue_invoice,
    register_customer,
)
from fordra.invoicing.domain.commands import (
    DisputeInvoice,
    InvoiceLineInput,
    IssueInvoice,
    RecordPropertyOwnership,
    RegisterCustomer,
)
from fordra.kernel.auth import Principal, Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.envelope import Metadata
from fordra.payments.application.import_file import import_payment_file

# Skatteverket's published test personnummer and a test organisationsnummer: never real people.
DEMO_CUSTOMERS: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("196501022773", "Anna Andersson", "Storgatan 1", "512 50", "Svenljunga", False),
    ("196501133372", "Bertil Berg", "Kyrkvägen 12", "512 53", "Svenljunga", False),
    ("201201252382", "Cecilia Carlsson", "Skolgatan 3", "512 54", "Svenljunga", True),
    ("5560160680", "Svenljunga Bygg AB", "Industrivägen 7", "512 61", "Svenljunga", False),
)


# How far back ``fordra run --demo`` starts its manual clock, and how often the walk stops to do
# what a finance office does (approve the day's proposals, book a bank file, bill childcare).
DEMO_HISTORY_DAYS: Final = 120
_WALK_STEP_DAYS: Final = 7


def demo_history_start(real_today: date) -> date:
    """The business date ``fordra run --demo`` starts on, to live its history up to today."""
    return real_today - timedelta(days=DEMO_HISTORY_DAYS)


async def load_demo(platform: Platform, *, history_until: date | None = None) -> list[str]:
    """Register the demo customers and invoice them; with ``history_until`` (a manual clock
    only) live on until that day (module docstring). Answer their customer ids."""
    admin = Principal(subject="demo-loader", role=Role.ADMIN, tenant=platform.settings.municipality)
    today = platform.clock.today()
    # Loaded once: on an instance that has invoices already, only the customers' ids are looked
    # up (their registrations replay), since the rest is dated by the day it was first loaded.
    fresh = await platform.stores["invoicing"].max_position() == 0
    ids: list[str] = []
    for n, (idnr, name, street, postal, city, protected) in enumerate(DEMO_CUSTOMERS, start=1):
        meta = Metadata(admin.tenant, admin.actor, str(uuid.uuid4()))
        outcome = await register_customer(
            RegisterCustomer(
                id_number=idnr,
                name=name,
                address=PostalAddress(street=street, postal_code=postal, city=city),
                protected_identity=protected,
            ),
            platform.invoicing,
            admin,
            meta,
            idempotency_key=f"demo-customer-{n}",
        )
        ids.append(outcome.response.customer_id)
    if not fresh:
        return ids
    # The owners of the properties billed for water and waste (seed 001: the owner is liable).
    for who, designation in (
        (0, "Svenljunga Kyrkan 1:23"),
        (1, "Svenljunga Mårdaklev 2:1"),
        (2, "Svenljunga Hillared 3:4"),
    ):
        meta = Metadata(admin.tenant, admin.actor, str(uuid.uuid4()))
        await change_customer(
            ids[who],
            RecordPropertyOwnership(
                property_designation=designation, owned_from=today - timedelta(days=3650)
            ),
            platform.invoicing,
            admin,
            meta,
            idempotency_key=f"demo-property-{who + 1}",
        )
    # Dated at most 14 days back (max_backdating_days): an invoice is never overdue at birth.
    invoices = (
        (0, "water", 14, "Vatten och avlopp, kvartal", Decimal(1), 125000, 25),
        (0, "waste", 12, "Renhållning, kärl 190 l", Decimal(1), 48000, 25),
        (1, "water", 10, "Vatten och avlopp, förbrukning m³", Decimal("38.5"), 2890, 25),
        (2, "water", 8, "Vatten och avlopp, kvartal", Decimal(1), 98000, 25),
        (0, "childcare", 6, "Barnomsorgsavgift", Decimal(1), 165400, 0),
        (3, "other", 5, "Hyra av Svenljunga sporthall", Decimal(4), 37500, 25),
    )
    issued: list[InvoiceIssuedResponse] = []
    for n, (who, service, days_ago, text, qty, price, vat) in enumerate(invoices, start=1):
        meta = Metadata(admin.tenant, admin.actor, str(uuid.uuid4()))
        booked = await issue_invoice(
            IssueInvoice(
                customer_id=ids[who],
                department=service,
                service_type=service,
                invoice_date=today - timedelta(days=days_ago),
                lines=(
                    InvoiceLineInput(
                        description=text, quantity=qty, unit_price_ore=price, vat_rate=vat
                    ),
                ),
            ),
            platform.invoicing,
            admin,
            meta,
            idempotency_key=f"demo-invoice-{n}",
        )
        # Every demo invoice is over the minimum amount: issued, never held.
        assert booked.response.invoice is not None
        issued.append(booked.response.invoice)
    await platform.settle()
    await load_queue_work(platform, ids, issued)
    if history_until is not None:
        await live_until(platform, ids, issued, history_until)
    return ids


async def live_until(
    platform: Platform, ids: list[str], issued: list[InvoiceIssuedResponse], until: date
) -> None:
    """Walk the manual clock to ``until`` a week at a time, each day's scheduled work run as the
    calendar would; at each stop a case officer approves what the dunning runs proposed, Anna's
    childcare is billed every fourth week and Bertil pays his latest invoice by its OCR number.
    Every step has its idempotency key or content claim: walking again changes nothing."""
    clock = platform.clock
    if not isinstance(clock, ManualClock):
        raise ValueError("the demo's history needs a manual clock (fordra run --demo sets one)")
    officer = Principal(
        subject="demo-officer", role=Role.CASE_OFFICER, tenant=platform.settings.municipality
    )
    admin = Principal(subject="demo-loader", role=Role.ADMIN, tenant=officer.tenant)
    bank = Principal(subject="demo-bank", role=Role.BANK_INGEST, tenant=officer.tenant)
    week = 0
    while clock.today() < until:
        week += 1
        await platform.scheduler.advance(
            clock, min(clock.today() + timedelta(_WALK_STEP_DAYS), until)
        )
        today = clock.today()
        pending = await proposals_with("pending", platform.dunning, officer)
        for proposal in pending.items:
            await approve_proposal(
                proposal.proposal_id,
                platform.dunning,
                officer,
                Metadata(officer.tenant, officer.actor, str(uuid.uuid4())),
                idempotency_key=f"demo-approve-{proposal.proposal_id}",
            )
        if week % 4 == 0:
            booked = await issue_invoice(
                IssueInvoice(
                    customer_id=ids[0],
                    department="childcare",
                    service_type="childcare",
                    invoice_date=today,
                    lines=(
                        InvoiceLineInput(
                            description=f"Barnomsorgsavgift {today:%Y-%m}",
                            quantity=Decimal(1),
                            unit_price_ore=165400,
                            vat_rate=0,
                        ),
                    ),
                ),
                platform.invoicing,
                admin,
                Metadata(admin.tenant, admin.actor, str(uuid.uuid4())),
                idempotency_key=f"demo-childcare-{today:%Y-%m-%d}",
            )
            assert booked.response.invoice is not None
            issued.append(booked.response.invoice)
        if week % 4 == 2 and len(issued) > 6:
            # The latest childcare invoice paid by its OCR number, as most are.
            paid = issued[-1]
            await import_payment_file(
                _camt054_paying(paid.ocr, paid.total_ore, today.isoformat(), f"DEMO-OCR-{today}"),
                platform.payments,
                bank,
                Metadata(bank.tenant, bank.actor, str(uuid.uuid4())),
            )
        await platform.settle()


async def load_queue_work(
    platform: Platform, ids: list[str], issued: list[InvoiceIssuedResponse]
) -> None:
    """Something true in the ops web's queues: Bertil pays his water invoice without its OCR
    number (the unmatched queue suggests the invoice of that amount), the sports hall's tenant
    disputes the hours, and Anna asks to pay her childcare fee in three parts."""
    officer = Principal(
        subject="demo-loader", role=Role.CASE_OFFICER, tenant=platform.settings.municipality
    )
    bank = Principal(subject="demo-bank", role=Role.BANK_INGEST, tenant=officer.tenant)
    today = platform.clock.today()
    water = issued[2]
    await import_payment_file(
        _camt054_without_reference(
            water.total_ore, today.isoformat(), "Vatten Kyrkvägen 12", f"DEMO-{today}"
        ),
        platform.payments,
        bank,
        Metadata(bank.tenant, bank.actor, str(uuid.uuid4())),
    )
    admin = Principal(subject="demo-loader", role=Role.ADMIN, tenant=officer.tenant)
    await correct_invoice(
        issued[5].invoice_id,
        DisputeInvoice(reason="Kunden bestrider antalet timmar i sporthallen"),
        platform.invoicing,
        admin,
        Metadata(admin.tenant, admin.actor, str(uuid.uuid4())),
        idempotency_key="demo-dispute-1",
    )
    await platform.settle()
    await propose_payment_plan(
        ProposePaymentPlan(
            customer_id=ids[0],
            invoice_ids=(issued[4].invoice_id,),
            installments=3,
            first_due_date=issued[4].due_date,
            written=True,
        ),
        platform.plans,
        officer,
        Metadata(officer.tenant, officer.actor, str(uuid.uuid4())),
        idempotency_key="demo-plan-1",
    )
    await platform.settle()


def _camt054_paying(ocr: str, ore: int, booked: str, msg_id: str) -> bytes:
    """A bank's camt.054 credit notification of one payment naming its OCR number."""
    remittance = (
        "<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
        f"<Ref>{ocr}</Ref></CdtrRefInf></Strd></RmtInf>"
    )
    return _camt054(ore, booked, remittance, msg_id)


def _camt054_without_reference(ore: int, booked: str, text: str, msg_id: str) -> bytes:
    """A bank's camt.054 credit notification of one payment with free text and no OCR."""
    return _camt054(ore, booked, f"<RmtInf><Ustrd>{text}</Ustrd></RmtInf>", msg_id)


def _camt054(ore: int, booked: str, remittance: str, msg_id: str) -> bytes:
    amount = f"{ore // 100}.{ore % 100:02d}"
    tx = (
        f"<TxDtls><Refs><AcctSvcrRef>{msg_id}-1</AcctSvcrRef></Refs>"
        f'<Amt Ccy="SEK">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"{remittance}</TxDtls>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02">'
        "<BkToCstmrDbtCdtNtfctn>"
        f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>{booked}T06:15:00+01:00</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>{msg_id}</Id><CreDtTm>{booked}T06:15:00+01:00</CreDtTm>"
        "<Acct><Id><IBAN>SE4550000000058398257466</IBAN></Id></Acct>"
        f'<Ntry><Amt Ccy="SEK">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
        f"<BookgDt><Dt>{booked}</Dt></BookgDt><AcctSvcrRef>{msg_id}</AcctSvcrRef>"
        f"<NtryDtls>{tx}</NtryDtls></Ntry>"
        "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"
    ).encode()
