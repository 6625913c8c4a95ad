"""Public events of the payments context (domain.md §3 allocation, §9 bank files).

Every öre of an imported file ends as exactly one of: allocated to an invoice (capital, interest
or a fee, per service), a credit on the customer (an advance, förskott), or an unmatched payment in
the work queue. Each allocation is an event of its own.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from fordra.kernel.delegation import DepartmentDecision
from fordra.kernel.events import Event, PersonalData, Upcaster

Component = Literal["capital", "interest", "reminder_fee", "collection_fee", "other_cost"]


class PayerPersonalData(PersonalData):
    """Who paid, as the bank told us: personal data, sealed per payment. ``free_text`` and
    ``reference``: the payer's own words (remittance text, a reference that is not an OCR
    number), which often name a person ("Avgift för <name> <personnummer>")."""

    name: str | None = None
    address: str | None = None
    orgnr: str | None = None
    account: str | None = None
    free_text: tuple[str, ...] = ()
    reference: str | None = None


class PaymentFileImported(Event):
    """A bank file booked. ``totals_by_currency``: the signed sum of what was booked, per
    currency; ``total_ore``: its SEK figure alone. Events stored before the per-currency totals
    (``totals_by_currency`` empty) hold in ``total_ore`` the sum over every currency of the file.
    ``split``: how many of the file's payments were split between their extra references (BgMax
    TK22); ``payments`` counts each part.
    """

    event_type: ClassVar[str] = "PaymentFileImported"

    file_id: str
    format: Literal["camt054", "bgmax", "autogiro"]
    layout: str
    file_reference: str
    sha256: str
    imported_on: date
    payments: int
    duplicates: int
    total_ore: int
    matched: int
    unmatched: int
    test_file: bool = False
    totals_by_currency: dict[str, int] = Field(default_factory=dict)
    split: int = 0


def _seal_the_payers_words(data: dict[str, Any]) -> dict[str, Any]:
    """v1 -> v2: the free text, and a reference that is not an OCR number, move from the plain
    payload into the sealed payer part (a v1 event forgotten since has none: it starts one)."""
    data = dict(data)
    payer = dict(data.get("payer") or {})
    free_text = data.pop("free_text", None)
    if free_text:
        payer["free_text"] = free_text
    if data.get("reference_kind") != "ocr" and data.get("reference") is not None:
        payer["reference"] = data["reference"]
        data["reference"] = None
    data["payer"] = payer or data.get("payer")
    return data


class PaymentReceived(Event):
    """A payment as the bank told it. ``reference`` (plain) is an OCR reference only; anything
    else the payer wrote (``free_text``, a reference of another kind) is personal data in the
    sealed ``payer`` part, and reads as empty once the payment's subject is forgotten.

    v2: the free text and a non-OCR reference moved into ``payer`` (v1 kept them in plain text,
    beyond the reach of forgetting)."""

    event_type: ClassVar[str] = "PaymentReceived"
    schema_version: ClassVar[int] = 2
    personal_field: ClassVar[str | None] = "payer"
    subject_field: ClassVar[str | None] = "payment_id"
    upcasters: ClassVar[dict[int, Upcaster]] = {1: _seal_the_payers_words}

    payment_id: str
    file_id: str
    bank_reference: str
    amount_ore: int
    currency: str
    reference: str | None
    reference_kind: Literal["ocr", "free_text", "none"]
    bank_reference_code: int | None = None
    received_on: date
    payer: PayerPersonalData | None = None
    # A part of a payment split between its extra references (BgMax TK22): the bank reference of
    # the whole payment; ``bank_reference`` is then the part's own (the payment's plus "/x<n>").
    split_of: str | None = None

    @model_validator(mode="after")
    def _only_an_ocr_reference_in_plain_text(self) -> PaymentReceived:
        if self.reference is not None and self.reference_kind != "ocr":
            raise ValueError("a reference that is not an OCR number belongs in payer.reference")
        return self

    @property
    def free_text(self) -> tuple[str, ...]:
        """The payer's remittance text (empty once the payment's subject is forgotten)."""
        return self.payer.free_text if self.payer is not None else ()

    @property
    def stated_reference(self) -> str | None:
        """The reference as the payer gave it: the OCR number, or the sealed reference of
        another kind (None once forgotten)."""
        if self.reference is not None:
            return self.reference
        return self.payer.reference if self.payer is not None else None


class PaymentMatched(Event):
    event_type: ClassVar[str] = "PaymentMatched"

    payment_id: str
    invoice_id: str
    customer_id: str
    method: Literal["ocr", "manual", "set_off"]


class PaymentAllocated(Event):
    """Part of a payment applied to one component of one invoice, for one service."""

    event_type: ClassVar[str] = "PaymentAllocated"

    payment_id: str
    invoice_id: str
    customer_id: str
    component: Component
    service_type: str
    amount_ore: int  # negative when a reversal takes an allocation back


class PaymentUnmatched(Event):
    """In the work queue: no valid reference to an open invoice, or not in SEK."""

    event_type: ClassVar[str] = "PaymentUnmatched"

    payment_id: str
    amount_ore: int
    currency: str
    received_on: date
    reason: str


# The stream of a customer's credit: ``customer-credit-<customer>``. Credit events count only
# there (readers add up that stream; older logs also carried a copy on the payment's stream).
CREDIT_STREAM_PREFIX = "customer-credit-"


class CustomerCreditRecorded(Event):
    """Money of a payment that is the customer's credit: what was left after the customer's open
    claims (``overpayment``), an unmatched payment kept as an advance by hand (``advance``,
    förskott), or payments a credit note released from a paid invoice (``credit_note``). It is set
    off against the customer's open claims that are not under a hold, and refunded (after attest)
    only when nothing is unpaid (domain.md §2, seed 002 lines 587-603).

    Appended once, on ``customer-credit-<customer>`` only: the ledger adds up that stream."""

    event_type: ClassVar[str] = "CustomerCreditRecorded"

    payment_id: str  # the payment whose money this is
    customer_id: str
    amount_ore: int
    reason: Literal["overpayment", "advance", "credit_note"] = "overpayment"
    invoice_id: str | None = None  # the credited invoice, for ``credit_note``


class CustomerCreditApplied(Event):
    """Credit of one payment set off against an open claim of the customer: the
    ``PaymentAllocated`` events on the claim (same ``payment_id``) follow in the same append."""

    event_type: ClassVar[str] = "CustomerCreditApplied"

    payment_id: str
    customer_id: str
    invoice_id: str
    amount_ore: int


class CustomerCreditRefunded(Event):
    """Credit paid back to the customer once the refund was attested (seed 002)."""

    event_type: ClassVar[str] = "CustomerCreditRefunded"

    refund_id: str
    payment_id: str
    customer_id: str
    amount_ore: int


class CustomerCreditReversed(Event):
    """The bank took back the payment behind a credit (camt.054 reversal): what is left of that
    credit is gone with it. A payment whose credit was refunded is not reversed here: that
    reversal waits in the work queue for a person."""

    event_type: ClassVar[str] = "CustomerCreditReversed"

    payment_id: str
    customer_id: str
    amount_ore: int


class PaymentReversed(Event):
    """The bank took a payment back (camt.054 ``RvslInd``): its allocations are undone."""

    event_type: ClassVar[str] = "PaymentReversed"

    payment_id: str
    reversal_bank_reference: str
    amount_ore: int


class AutogiroDebitFailed(Event):
    """An Autogiro debit that did not go through (insufficient funds, account closed): the invoice
    stays unpaid and goes back to dunning; with renewed funds Bankgirot tries again later."""

    event_type: ClassVar[str] = "AutogiroDebitFailed"

    payer_number: str
    amount_ore: int
    payment_date: date
    status: Literal["insufficient_funds", "account_closed", "renewed_funds", "returned"]
    reference: str | None
    invoice_id: str | None
    customer_id: str | None
    retried_later: bool


class RefundRequested(Event):
    """A refund waits for attest (seed 002: "återbetalning endast med korrekt attest")."""

    event_type: ClassVar[str] = "RefundRequested"

    refund_id: str
    payment_id: str | None
    customer_id: str | None
    amount_ore: int
    reason: str
    requested_by: str
    # A refund of rent beyond the office's delegation (domain.md §8 "Delegation", seed 002: two
    # monthly rents): the department decision recorded with it. None in events stored before.
    department_decision: DepartmentDecision | None = None


class RefundAttested(Event):
    """Attested by someone other than who asked for it; the money can then go out."""

    event_type: ClassVar[str] = "RefundAttested"

    refund_id: str
    attested_by: str
    # What goes out, and from where: an unmatched payment (``payment_id``) or the customer's
    # credit (``customer_id``). Defaults keep events stored before these fields loadable.
    amount_ore: int = 0
    payment_id: str | None = None
    customer_id: str | None = None


CONTRACTS: tuple[type[Event], ...] = (
    AutogiroDebitFailed,
    RefundRequested,
    RefundAttested,
    PaymentFileImported,
    PaymentReceived,
    PaymentMatched,
    PaymentAllocated,
    PaymentUnmatched,
    CustomerCreditRecorded,
    CustomerCreditApplied,
    CustomerCreditRefunded,
    CustomerCreditReversed,
    PaymentReversed,
)
