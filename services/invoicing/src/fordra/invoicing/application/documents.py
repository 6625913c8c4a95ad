"""An issued invoice as its customer receives it: HTML and PDF in Swedish, or a PEPPOL BIS
Billing 3.0 e-invoice (issue: invoicing, "Outputs")."""

from __future__ import annotations

from fordra.contracts.invoicing import InvoiceIssued
from fordra.invoicing.application.customers import load_customer, record_protected_access
from fordra.invoicing.application.handlers import PUBLISHERS, InvoicingDeps, invoice_stream
from fordra.invoicing.domain.invoice_document import CustomerView
from fordra.kernel.auth import Principal, Role, require_department, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import NotFound

READERS = (*PUBLISHERS, Role.OPS_LEAD, Role.PROTECTED_IDENTITY_OFFICER)
# Who sees a protected person's personnummer on Skatteverket's forwarding sheet: the small role
# that reads protected identities (customers.read_customer), audited as there; the other readers
# get the sheet with the number masked.
PROTECTED_ID_READERS = (Role.PROTECTED_IDENTITY_OFFICER,)


async def invoice_and_customer(
    invoice_id: str, deps: InvoicingDeps, principal: Principal, meta: Metadata
) -> tuple[InvoiceIssued, CustomerView]:
    require_role(principal, *READERS)
    events = await deps.store.read_stream(invoice_stream(invoice_id))
    if not events:
        raise NotFound("invoice", invoice_id)
    issued = deps.registry.load_as(events[0], InvoiceIssued)
    require_department(principal, issued.department)
    customer = await load_customer(deps, issued.customer_id)
    reveal = principal.role in PROTECTED_ID_READERS
    if customer.protected_identity and reveal:
        await record_protected_access(deps, customer.customer_id, "forwarding sheet", meta)
    return issued, CustomerView.from_state(customer, reveal_protected_id_number=reveal)
