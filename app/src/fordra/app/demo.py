"""A small demo municipality: a few customers (one with a protected identity) and invoices for
water, waste and childcare. Loaded through the same use cases as the HTTP API, with idempotency
keys, so ``fordra run --demo`` twice on one data directory changes nothing the second time."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from fordra.app.bootstrap import Platform
from fordra.contracts.invoicing import PostalAddress
from fordra.invoicing.application.customers import change_customer
from fordra.invoicing.application.handlers import issue_invoice, register_customer
from fordra.invoicing.domain.commands import (
    InvoiceLineInput,
    IssueInvoice,
    RecordPropertyOwnership,
    RegisterCustomer,
)
from fordra.kernel.auth import Principal, Role
from fordra.kernel.envelope import Metadata

# Skatteverket's published test personnummer and a test organisationsnummer: never real people.
DEMO_CUSTOMERS: tuple[tuple[str, str, str, str, str, bool], ...] = (
    ("196501022773", "Anna Andersson", "Storgatan 1", "512 50", "Svenljunga", False),
    ("196501133372", "Bertil Berg", "Kyrkvägen 12", "512 53", "Svenljunga", False),
    ("201201252382", "Cecilia Carlsson", "Skolgatan 3", "512 54", "Svenljunga", True),
    ("5560160680", "Svenljunga Bygg AB", "Industrivägen 7", "512 61", "Svenljunga", False),
)


async def load_demo(platform: Platform) -> list[str]:
    """Register the demo customers and invoice them; answer their customer ids."""
    admin = Principal(subject="demo-loader", role=Role.ADMIN, tenant=platform.settings.municipality)
    today = platform.clock.today()
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
    for n, (who, service, days_ago, text, qty, price, vat) in enumerate(invoices, start=1):
        meta = Metadata(admin.tenant, admin.actor, str(uuid.uuid4()))
        await issue_invoice(
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
    await platform.settle()
    return ids
