"""An issued invoice as its customer receives it: HTML and PDF in Swedish, or a PEPPOL BIS
Billing 3.0 e-invoice (issue: invoicing, "Outputs")."""

from __future__ import annotations

from fordra.contracts.invoicing import InvoiceIssued
from fordra.invoicing.application.customers import load_customer
from fordra.invoicing.application.handlers import PUBLISHERS, InvoicingDeps, invoice_stream
from fordra.invoicing.domain.invoice_document import CustomerView
from fordra.kernel.auth import Principal, Role, require_department, require_role
from fordra.kernel.errors import NotFound

READERS = (*PUBLISHERS, Role.OPS_LEAD, Role.PROTECTED_IDENTITY_OFFICER)


async def invoice_and_customer(
    invoice_id: str, deps: InvoicingDeps, principal: Principal
) -> tuple[InvoiceIssued, CustomerView]:
    require_role(principal, *READERS)
    events = await deps.store.read_stream(invoice_stream(invoice_id))
    if not events:
        raise NotFound("invoice", invoice_id)
    issued = deps.registry.load_as(events[0], InvoiceIssued)
    require_department(principal, issued.department)
    customer = await load_customer(deps, issued.customer_id)
    return issued, CustomerView.from_state(customer)
