"""Commands of invoicing: imperative names, frozen models; also the HTTP request bodies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fordra.contracts.invoicing import PostalAddress, ServiceType
from fordra.contracts.utility_disconnect import SUPPLY_POINT_ID_PATTERN
from fordra.invoicing.domain.billing_period import BillingPeriod
from fordra.kernel.dated import CalendarDate
from fordra.kernel.delegation import DepartmentDecision
from fordra.kernel.money import Ore
from fordra.kernel.text import FreeText, SingleLine


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class PostalAddressInput(PostalAddress):
    """A postal address as a request gives it: each part one printable line of bounded length.
    The stored ``PostalAddress`` (a contract) stays as it was, so every stored event loads."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    street: SingleLine = Field(min_length=1, max_length=200)
    postal_code: SingleLine = Field(min_length=1, max_length=20)
    city: SingleLine = Field(min_length=1, max_length=100)
    care_of: SingleLine | None = Field(default=None, max_length=200)
    country: str = Field(default="SE", pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2")

    @model_validator(mode="before")
    @classmethod
    def _checked_like_input(cls, data: Any) -> Any:
        # A stored-shape address given in code (the demo, the benches) is checked as input too.
        if isinstance(data, PostalAddress) and not isinstance(data, cls):
            return data.model_dump()
        return data


class RegisterCustomer(_Command):
    id_number: str = Field(min_length=10, max_length=13, examples=["19121212-1212"])
    name: SingleLine = Field(min_length=1, max_length=200)
    address: PostalAddressInput
    protected_identity: bool = False


class InvoiceLineInput(_Command):
    description: FreeText = Field(min_length=1, max_length=500)
    quantity: Decimal = Field(default=Decimal(1), gt=0, max_digits=12, decimal_places=3)
    unit_price_ore: Ore = Field(description="Price per unit in öre, excluding VAT")
    vat_rate: int = Field(ge=0, le=100, description="VAT in percent, valid on the invoice date")
    # Co-billing: a line may belong to another service than the invoice's (seed 003).
    service_type: ServiceType | None = None


class IssueInvoice(_Command):
    customer_id: SingleLine = Field(min_length=1, max_length=64)
    department: str = Field(min_length=1, max_length=64)
    service_type: ServiceType
    invoice_date: CalendarDate
    lines: tuple[InvoiceLineInput, ...] = Field(min_length=1, max_length=500)
    source_reference: SingleLine | None = Field(
        default=None, max_length=100, description="The departmental system's own invoice id"
    )
    ocr: str | None = Field(
        default=None,
        max_length=25,
        description="An OCR reference the departmental system already printed (Luhn checked)",
    )
    billing_period: BillingPeriod | None = Field(
        default=None, description="The period billed; by default the service's rule (seed 001)"
    )
    property_designation: SingleLine | None = Field(
        default=None,
        min_length=3,
        max_length=200,
        description="Water and waste: the property billed (fastighetsbeteckning); its owner is "
        "liable (seed 001)",
    )
    owner_override_reason: FreeText | None = Field(
        default=None,
        min_length=3,
        max_length=1000,
        description="Water and waste without a recorded ownership on the invoice date: why the "
        "customer is liable all the same (kept on the invoice with who said so)",
    )
    supply_point_id: str | None = Field(
        default=None,
        max_length=36,
        pattern=SUPPLY_POINT_ID_PATTERN,
        description="Electricity and water: the supply point the invoice is for, as registered "
        "at POST /api/v1/supply-points (its shape is checked here; the disconnection context "
        "counts a supply point's own claims only, domain.md §6)",
    )

    @field_validator("department")
    @classmethod
    def _department_token(cls, value: str) -> str:
        # Checked as stored, lowered: a few capitals lower to more than one character ("İ" to
        # "i" and a combining dot), which is no letter and may pass the read models' 64.
        lowered = value.lower()
        if len(lowered) > 64 or not lowered.replace("_", "").replace("-", "").isalnum():
            raise ValueError("department must be a short token of letters, digits, - and _")
        return lowered


class _Correction(_Command):
    reason: FreeText = Field(min_length=3, max_length=1000, description="Why: kept with the event")


class IssueCreditNote(_Correction):
    """Credit all that is left of the invoice (no lines), or the given lines."""

    lines: tuple[InvoiceLineInput, ...] | None = Field(default=None, min_length=1, max_length=500)


class CancelInvoice(_Correction):
    pass


class RejectCorrection(_Correction):
    """The attester says no to a credit note or cancellation request."""


class PostponeDueDate(_Correction):
    due_date: CalendarDate


class GrantDeferral(_Correction):
    deferred_until: CalendarDate
    requested_on: CalendarDate = Field(
        description="When the customer asked: from the invoice date to the due date, never "
        "after the business date"
    )
    protected_identity_acknowledged: bool = Field(
        default=False,
        description="The customer has a protected identity: say so to confirm that the "
        "deferral's written confirmation goes through Skatteverket's forwarding (refused "
        "without it)",
    )
    first_rent: bool = Field(
        default=False,
        description="A rent: this is the tenancy's first month's rent and the tenant has double "
        "housing costs (seed 002), which the office may defer longer",
    )
    department_decision: DepartmentDecision | None = Field(
        default=None,
        description="A rent deferral beyond the office's delegation (seed 002) needs the "
        "department's decision, recorded here and kept in the event",
    )


class DisputeInvoice(_Correction):
    pass


class ResolveDispute(_Correction):
    outcome: Literal["customer_right", "claim_stands"]


class ChangeCustomerDetails(_Command):
    name: SingleLine | None = Field(default=None, min_length=1, max_length=200)
    address: PostalAddressInput | None = None
    reason: FreeText = Field(min_length=3, max_length=1000)


class ChangeCustomerPreferences(_Command):
    e_invoice: bool = False
    peppol_id: str | None = Field(default=None, pattern=r"^\d{4}:[A-Za-z0-9.-]{1,50}$")
    autogiro: bool = False
    autogiro_payer_number: str | None = Field(default=None, pattern=r"^\d{1,16}$")


class RecordPropertyOwnership(_Command):
    property_designation: SingleLine = Field(min_length=3, max_length=200)
    owned_from: CalendarDate
    owned_until: CalendarDate | None = None


class MarkProtectedIdentity(_Command):
    protected: bool
    kind: Literal["sekretessmarkering", "skyddad_folkbokforing"] = "skyddad_folkbokforing"
    reason: FreeText = Field(min_length=3, max_length=1000)
