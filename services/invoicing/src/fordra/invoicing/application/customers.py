"""The customer register's use cases after registration: details, preferences, property
ownership, the protected-identity marking, and reading a customer (audited when protected)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict

from fordra.contracts.invoicing import (
    CustomerDetailsChanged,
    CustomerPersonalData,
    CustomerPreferencesChanged,
    PostalAddress,
    PropertyOwnershipRecorded,
    ProtectedIdentityCleared,
    ProtectedIdentityMarked,
)
from fordra.invoicing.application.handlers import (
    PUBLISHERS,
    InvoicingDeps,
    customer_stream,
)
from fordra.invoicing.application.numbering import CONTEXT
from fordra.invoicing.domain.commands import (
    ChangeCustomerDetails,
    ChangeCustomerPreferences,
    MarkProtectedIdentity,
    RecordPropertyOwnership,
)
from fordra.invoicing.domain.customer_state import CustomerState, replay_customer
from fordra.invoicing.domain.events import ProtectedIdentityAccessed
from fordra.kernel.application import PERSONAL, Decision, Outcome, execute, idempotent
from fordra.kernel.auth import AccessDenied, Principal, Role, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.errors import DomainRuleViolation, NotFound
from fordra.kernel.events import Event
from fordra.kernel.eventstore import StreamAppend

# Who may set or lift a protected identity, and read a protected customer's name and address
# (domain.md §2: "Access is restricted to a small role and audited").
PROTECTORS = (Role.ADMIN, Role.PROTECTED_IDENTITY_OFFICER)
READERS = (*PUBLISHERS, Role.OPS_LEAD, Role.PROTECTED_IDENTITY_OFFICER)
# Who may change how a customer pays and gets invoices (autogiro payer number, e-invoice address):
# the customer ledger (kundreskontra), never one department. The preferences reach every
# department's invoices and the autogiro payer number decides whose account is debited; autogiro
# mandates are the ledger's work (domain.md §8, "autogiro mandates 5").
PREFERENCE_KEEPERS = (Role.ADMIN, Role.CASE_OFFICER)


class PropertyView(BaseModel):
    property_designation: str
    owned_from: date
    owned_until: date | None


class CustomerView(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer_id: str
    kind: str
    id_kind: str
    # None: not shown, to a department that neither registered nor invoiced the customer and is
    # answered after recording a property they own (department_may_read): the register's whole
    # record, the protection included, is for those who may read it.
    protected_identity: bool | None
    protection_kind: str | None
    # Hidden (None) for a protected identity unless the caller is a protected-identity officer,
    # and None for everyone once the person has been forgotten.
    name: Annotated[str | None, PERSONAL] = None
    id_number: Annotated[str | None, PERSONAL] = None
    address: Annotated[PostalAddress | None, PERSONAL] = None
    e_invoice: bool
    peppol_id: str | None
    autogiro: bool
    properties: list[PropertyView]


async def load_customer(deps: InvoicingDeps, customer_id: str) -> CustomerState:
    events = await deps.store.read_stream(customer_stream(customer_id))
    state = replay_customer(deps.registry.load(e) for e in events)
    if state is None:
        raise NotFound("customer", customer_id)
    return state


def view_of(state: CustomerState, *, reveal: bool, stranger: bool = False) -> CustomerView:
    """The customer as the caller may see them: ``stranger`` is a department that may not read
    them (department_may_read), which sees neither their personal data nor their protection."""
    personal = state.personal if reveal or not state.protected_identity else None
    if stranger:
        personal = None
    return CustomerView(
        customer_id=state.customer_id,
        kind=state.kind,
        id_kind=state.id_kind,
        protected_identity=None if stranger else state.protected_identity,
        protection_kind=None if stranger else state.protection_kind,
        name=personal.name if personal else None,
        id_number=personal.id_number if personal else None,
        address=personal.address if personal else None,
        e_invoice=state.e_invoice,
        peppol_id=state.peppol_id,
        autogiro=state.autogiro,
        properties=[
            PropertyView(
                property_designation=p.property_designation,
                owned_from=p.owned_from,
                owned_until=p.owned_until,
            )
            for p in state.properties
        ],
    )


async def read_customer(
    customer_id: str, deps: InvoicingDeps, principal: Principal, meta: Metadata
) -> CustomerView:
    require_role(principal, *READERS)
    state = await load_customer(deps, customer_id)
    await require_customer_of(principal, deps, state)
    reveal = principal.role is Role.PROTECTED_IDENTITY_OFFICER
    if state.protected_identity and reveal:
        await record_protected_access(deps, customer_id, "read customer", meta)
    return view_of(state, reveal=reveal)


async def department_may_read(deps: InvoicingDeps, state: CustomerState, department: str) -> bool:
    """A department reads a customer it registered or has booked a claim on, and no other.

    Registration answers a department the same for a new and a known person (handlers.
    REGISTER_KEEPERS), so reading had to be scoped too: else a registration by identity number
    followed by a read would tell the stored name, address and protection. Having registered the
    customer, the department gave those details; having invoiced them, it holds them already (its
    invoice document carries them) and answers for its own claim, booked in its name and audited.
    Before either, it has nothing to look up: it invoices with the id its registration answered."""
    if state.registered_by_department == department:
        return True
    return deps.invoiced_by is not None and await deps.invoiced_by(state.customer_id, department)


async def require_customer_of(
    principal: Principal, deps: InvoicingDeps, state: CustomerState
) -> None:
    """A department's read of a customer it may not read is a 404 as for an unknown id: a 403
    would tell that the customer exists."""
    if await _stranger(principal, deps, state):
        raise NotFound("customer", state.customer_id)


async def _stranger(principal: Principal, deps: InvoicingDeps, state: CustomerState) -> bool:
    """A department that may not read the customer. It may still record a property they own
    (a water or waste department, require_property_registrar: the owner becomes liable before
    the first invoice), and is answered the change without the record."""
    return principal.role is Role.DEPARTMENT and not await department_may_read(
        deps, state, principal.department or ""
    )


async def registered_by_department(deps: InvoicingDeps, customer_id: str) -> str | None:
    """The department that registered the customer (None: an officer did, or no such customer),
    for the ledger's scoping of a department's reads (app.http)."""
    try:
        return (await load_customer(deps, customer_id)).registered_by_department
    except NotFound:
        return None


async def record_protected_access(
    deps: InvoicingDeps, customer_id: str, purpose: str, meta: Metadata
) -> None:
    """Every look at a protected person's identity leaves a trace (domain.md §2: "audited")."""
    stream = f"protected-access-{customer_id}"
    version = await deps.store.stream_version(stream)
    env = deps.registry.envelope(
        ProtectedIdentityAccessed(customer_id=customer_id, purpose=purpose),
        context=CONTEXT,
        stream_id=stream,
        version=version + 1,
        metadata=meta,
        occurred_at=deps.clock.now(),
    )
    await deps.store.append([StreamAppend(stream, version, [env])])


async def change_customer(
    customer_id: str,
    cmd: ChangeCustomerDetails
    | ChangeCustomerPreferences
    | RecordPropertyOwnership
    | MarkProtectedIdentity,
    deps: InvoicingDeps,
    principal: Principal,
    meta: Metadata,
    *,
    idempotency_key: str | None = None,
) -> Outcome[CustomerView]:
    if isinstance(cmd, MarkProtectedIdentity):
        require_role(principal, *PROTECTORS)
    elif isinstance(cmd, ChangeCustomerPreferences):
        require_role(
            principal,
            *PREFERENCE_KEEPERS,
            action="change a customer's payment preferences (autogiro, e-invoice)",
        )
    elif isinstance(cmd, RecordPropertyOwnership):
        require_property_registrar(principal, deps.settings.property_register_departments)
    else:
        require_role(principal, *PUBLISHERS, action="change a customer's name or address")

    async def decide() -> Decision[CustomerView]:
        state = await load_customer(deps, customer_id)
        stranger = await _stranger(principal, deps, state)
        if isinstance(cmd, ChangeCustomerDetails):
            if stranger:  # a 404 as for an unknown id: a 403 would tell that they exist
                raise NotFound("customer", customer_id)
            require_details_keeper(principal, state)
        event = _decide(state, cmd)
        env = deps.registry.envelope(
            event,
            context=CONTEXT,
            stream_id=customer_stream(customer_id),
            version=state.version + 1,
            metadata=meta,
            occurred_at=deps.clock.now(),
        )
        after = replay_customer(
            [*(deps.registry.load(e) for e in await deps.store.read_stream(env.stream_id)), event]
        )
        assert after is not None
        reveal = principal.role is Role.PROTECTED_IDENTITY_OFFICER
        return Decision(
            [StreamAppend(env.stream_id, state.version, [env])],
            view_of(after, reveal=reveal, stranger=stranger),
        )

    async def rebuild(_first: CustomerView) -> CustomerView:
        # The record keeps no name, number or address: a repeated request answers the customer
        # as they are now, as this caller may see them now (a protection or an erasure since the
        # first request holds).
        state = await load_customer(deps, customer_id)
        return view_of(
            state,
            reveal=principal.role is Role.PROTECTED_IDENTITY_OFFICER,
            stranger=await _stranger(principal, deps, state),
        )

    return await execute(
        deps.store,
        decide,
        CustomerView,
        idempotency=idempotent(
            principal, idempotency_key, type(cmd).__name__, customer_id, cmd.model_dump(mode="json")
        ),
        rebuild=rebuild,
    )


def require_details_keeper(principal: Principal, state: CustomerState) -> None:
    """A department changes the name or address only of a customer it registered: another's
    customer's address would redirect that customer's invoices and letters."""
    if principal.role is Role.DEPARTMENT and principal.department != state.registered_by_department:
        raise AccessDenied(
            f"department {principal.department!r} may change the name or address only of a "
            "customer it registered; this one is changed by a case officer or an admin"
        )


def require_property_registrar(principal: Principal, departments: tuple[str, ...]) -> None:
    """A case officer or admin, or a department that bills the owner-liable services (a
    setting): the owner is liable for water and waste, so a recorded ownership decides who pays."""
    require_role(principal, *PUBLISHERS, action="record a property's owner")
    if principal.role is Role.DEPARTMENT and principal.department not in departments:
        raise AccessDenied(
            f"department {principal.department!r} may not record a property's owner: that is "
            f"for a case officer, an admin or a department billing water and waste "
            f"({', '.join(departments) or 'none configured'})"
        )


def _decide(
    state: CustomerState,
    cmd: ChangeCustomerDetails
    | ChangeCustomerPreferences
    | RecordPropertyOwnership
    | MarkProtectedIdentity,
) -> Event:
    if isinstance(cmd, ChangeCustomerDetails):
        if state.personal is None:
            raise DomainRuleViolation(
                "this person has been forgotten: their details cannot change", rule="forgotten"
            )
        if cmd.name is None and cmd.address is None:
            raise DomainRuleViolation("nothing to change", field="name", rule="change_something")
        return CustomerDetailsChanged(
            customer_id=state.customer_id,
            reason=cmd.reason,
            personal=CustomerPersonalData(
                name=cmd.name or state.personal.name,
                id_number=state.personal.id_number,
                address=cmd.address or state.personal.address,
            ),
        )
    if isinstance(cmd, ChangeCustomerPreferences):
        if cmd.e_invoice and not cmd.peppol_id:
            raise DomainRuleViolation(
                "e-invoicing needs the customer's PEPPOL participant id",
                field="peppol_id",
                rule="e_invoice_needs_peppol_id",
            )
        return CustomerPreferencesChanged(
            customer_id=state.customer_id,
            e_invoice=cmd.e_invoice,
            peppol_id=cmd.peppol_id,
            autogiro=cmd.autogiro,
            autogiro_payer_number=cmd.autogiro_payer_number,
        )
    if isinstance(cmd, RecordPropertyOwnership):
        if cmd.owned_until is not None and cmd.owned_until < cmd.owned_from:
            raise DomainRuleViolation(
                "ownership ends before it starts", field="owned_until", rule="ownership_dates"
            )
        return PropertyOwnershipRecorded(
            customer_id=state.customer_id,
            property_designation=cmd.property_designation,
            owned_from=cmd.owned_from,
            owned_until=cmd.owned_until,
        )
    if cmd.protected:
        return ProtectedIdentityMarked(
            customer_id=state.customer_id, kind=cmd.kind, reason=cmd.reason
        )
    if not state.protected_identity:
        raise DomainRuleViolation(
            "the customer has no protected identity to lift", field="protected", rule="unmark"
        )
    return ProtectedIdentityCleared(customer_id=state.customer_id, reason=cmd.reason)
