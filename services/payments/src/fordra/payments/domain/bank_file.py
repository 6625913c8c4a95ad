"""The common model every bank-file parser answers with (domain.md §9 "Bank files").

A bank file (camt.054, BgMax or an Autogiro payment specification) is parsed into one
``ParsedBankFile`` or refused whole with ``BankFileRejected``, which lists every problem found,
each naming its line (flat files) or its element path (XML). Nothing in between: a file that fails
any check books nothing (domain.md §9: "a file that fails is rejected whole"; "each rejected file
gets an error list with line numbers").

Every öre of the file is accounted for:

- ``BankPayment`` is signed. A payment (BgMax TK20, a camt.054 credit) is positive; a deduction
  (BgMax TK21, *avdrag*) and a camt.054 reversal (``RvslInd=true`` on a debit) are negative. The
  signed payments of a section add up to the section's declared amount (BgMax TK15, camt
  ``Ntry/Amt``).
- Extra references (BgMax TK22/TK23) do not move money of their own: they split the amount of the
  payment they follow. BgMaxfil4's third deposit shows it: the deposit (TK15) is 2,900.00 = the
  four TK20 records; the extra references of the 1,400.00 payment carry +1,000 +500 +400 -500.
  ``BankPayment.unallocated_ore`` is what the extra references leave to the payment's own reference.
- Entries a camt.054 holds that are not payments to us (debits, pending entries) are listed in
  ``ParsedBankFile.skipped`` with their amounts, so that nothing disappears silently.
- Autogiro results (``AutogiroResult``) are kept apart from payments: only an approved debit moves
  money in, and the application decides how to book it.

Pure: no I/O. Only the standard library and pydantic. The parsers that build these types are
adapters (``fordra.payments.adapters``: ``camt054``, ``bgmax``, ``autogiro``, chosen by ``detect``).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Final, Literal, NoReturn, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AutogiroKind",
    "AutogiroResult",
    "AutogiroStatus",
    "BankFileFormat",
    "BankFileProblem",
    "BankFileRejected",
    "BankPayment",
    "ControlTotal",
    "ExtraReference",
    "ParsedBankFile",
    "PaymentKind",
    "Problems",
    "ReferenceKind",
    "SectionTotals",
    "SkippedEntry",
]

BankFileFormat = Literal["camt054", "bgmax", "autogiro"]
PaymentKind = Literal["payment", "deduction", "reversal"]
ReferenceKind = Literal["ocr", "free_text", "none"]
AutogiroKind = Literal["debit", "refund", "returned_debit"]
AutogiroStatus = Literal[
    "approved", "insufficient_funds", "account_closed", "renewed_funds", "returned"
]

# More problems than this and the list stops helping the case officer; it also bounds the work a
# garbage file can cause.
MAX_PROBLEMS: Final[int] = 200

_CURRENCY: Final[re.Pattern[str]] = re.compile(r"[A-Z]{3}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BankFileProblem(TypedDict):
    """One reason a file was refused: the line (flat files) or element path (XML) and why."""

    line: int | None
    element: str | None
    message: str


class BankFileRejected(ValueError):
    """The whole file is refused; ``errors`` lists every problem found (domain.md §9).

    Nothing of a rejected file may be booked: the application stores the error list for the
    case officer (seed 002: error lists are corrected within one working day).
    """

    def __init__(self, errors: list[BankFileProblem], *, file_format: str | None = None) -> None:
        if not errors:
            raise ValueError("BankFileRejected needs at least one problem")
        self.errors = errors
        self.file_format = file_format
        shown = "; ".join(_describe(e) for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        kind = f"{file_format} " if file_format else ""
        super().__init__(f"{kind}bank file rejected, {len(errors)} problem(s): {shown}{more}")

    @classmethod
    def single(
        cls,
        message: str,
        *,
        line: int | None = None,
        element: str | None = None,
        file_format: str | None = None,
    ) -> BankFileRejected:
        """A rejection with one problem (wrong kind of file, too large, not XML...)."""
        return cls(
            [{"line": line, "element": element, "message": message}], file_format=file_format
        )


def _describe(problem: BankFileProblem) -> str:
    if problem["line"] is not None:
        return f"line {problem['line']}: {problem['message']}"
    if problem["element"] is not None:
        return f"{problem['element']}: {problem['message']}"
    return problem["message"]


class Problems:
    """Collects the problems of one file so that the rejection lists them all, not only the first.

    Past ``limit`` problems it stops the parse at once (a garbage file yields thousands).
    """

    def __init__(self, file_format: str, *, limit: int = MAX_PROBLEMS) -> None:
        self.file_format = file_format
        self.limit = limit
        self.errors: list[BankFileProblem] = []

    def add(self, message: str, *, line: int | None = None, element: str | None = None) -> None:
        self.errors.append({"line": line, "element": element, "message": message})
        if len(self.errors) >= self.limit:
            self.errors.append(
                {
                    "line": None,
                    "element": None,
                    "message": f"stopped after {self.limit} problems: the file is badly damaged",
                }
            )
            self.fail()

    def __bool__(self) -> bool:
        return bool(self.errors)

    def fail(self) -> NoReturn:
        raise BankFileRejected(list(self.errors), file_format=self.file_format)

    def raise_if_any(self) -> None:
        if self.errors:
            self.fail()


# ---------------------------------------------------------------------------------------------
# The model.
# ---------------------------------------------------------------------------------------------


class ExtraReference(_Frozen):
    """A further reference the payer gave with a payment (BgMax TK22 positive, TK23 negative).

    It splits the payment's amount; it is not money of its own. ``amount_ore`` is signed (a TK23
    is negative) and None where the record carries no amount (all zeros).
    """

    reference: str
    reference_code: int | None = None
    amount_ore: int | None = None
    negative: bool = False
    line: int | None = None
    element: str | None = None


class BankPayment(_Frozen):
    """One movement of money on a receivables account, as the bank reported it (domain.md §9).

    ``bank_reference`` is unique within the bank and the file (camt ``AcctSvcrRef``; BgMax
    bankgiro, payment date, deposit serial, position and BGC serial): the idempotency key of the
    payment. ``amount_ore`` is signed: > 0 for a payment, < 0 for a deduction or a reversal.
    ``reference`` is the payer's reference as sent; ``reference_kind`` says what the sender
    declared it to be ("ocr": camt ``SCOR`` or BgMax reference code 2 or 4; whether it passes the
    OCR check is for matching to decide with ``fordra.kernel.ocr``, under the municipality's
    agreement on length digits). ``reversal_of`` (reversals only) is the reference the reversal
    repeats from the payment it reverses: that payment's ``bank_reference``, or failing that its
    ``transaction_id`` or ``end_to_end_id``; None when the bank names none. ``split_of`` (parts
    only) is the ``bank_reference`` of the payment this is a part of, when a BgMax payment is
    split between its extra references (``extra_references.split_by_extra_references``).
    """

    kind: PaymentKind = "payment"
    bank_reference: str = Field(min_length=1)
    amount_ore: int
    currency: str
    reference: str | None = None
    reference_kind: ReferenceKind = "none"
    reference_type: str | None = None
    bgmax_reference_code: int | None = None
    bgmax_channel_code: int | None = None
    bgmax_deduction_code: int | None = None
    free_text: tuple[str, ...] = ()
    extra_references: tuple[ExtraReference, ...] = ()
    payer_name: str | None = None
    payer_address: str | None = None
    payer_orgnr: str | None = None
    payer_account: str | None = None
    credited_account: str | None = None
    end_to_end_id: str | None = None
    transaction_id: str | None = None
    received_on: date
    section: str
    line: int | None = None
    element: str | None = None
    reversal_of: str | None = None
    split_of: str | None = None

    @model_validator(mode="after")
    def _sign_matches_kind(self) -> BankPayment:
        if self.kind == "payment" and self.amount_ore <= 0:
            raise ValueError(f"a payment must be positive, got {self.amount_ore} öre")
        if self.kind in ("deduction", "reversal") and self.amount_ore >= 0:
            raise ValueError(f"a {self.kind} must be negative, got {self.amount_ore} öre")
        if not _CURRENCY.fullmatch(self.currency):
            raise ValueError(f"currency must be three capital letters, got {self.currency!r}")
        return self

    @property
    def unallocated_ore(self) -> int:
        """What the extra references leave to the payment's own reference (signed öre)."""
        return self.amount_ore - sum(x.amount_ore or 0 for x in self.extra_references)


class AutogiroResult(_Frozen):
    """One result of an Autogiro payment specification (*betalningsspecifikation*, domain.md §9).

    ``kind``: "debit" (TK82, *inbetalning*, money from the payer), "refund" (TK32, *återbetalning*
    to the payer), "returned_debit" (TK77, an earlier debit paid back to the payer, with
    Bankgirot's code in ``return_code``). ``status``: 0 approved, 1 insufficient funds (*täckning
    saknas*), 2 account closed or no Autogiro link (*koppling saknas*), 9 renewed funds
    (*förnyad täckning*: Bankgirot tries again later); "returned" for TK77. Only an approved result
    moved money; ``amount_ore`` is always positive and ``signed_amount_ore`` gives the direction.
    """

    kind: AutogiroKind
    status: AutogiroStatus
    status_code: str
    payer_number: str
    amount_ore: int = Field(gt=0)
    payment_date: date
    returned_on: date | None = None
    return_code: str | None = None
    reference: str | None = None
    payee_bankgiro: str
    period_code: str | None = None
    renewals: int | None = None
    section: str | None = None
    line: int

    @property
    def moved_money(self) -> bool:
        return self.status in ("approved", "returned")

    @property
    def signed_amount_ore(self) -> int:
        return self.amount_ore if self.kind == "debit" else -self.amount_ore


class SectionTotals(_Frozen):
    """A part of the file with its own declared totals (BgMax deposit TK05-TK15, a camt ``Ntry``,
    an Autogiro TK15/TK16/TK17 section) beside what the parser counted. In a parsed file the two
    agree; a mismatch rejects the file.
    """

    key: str
    account: str | None
    currency: str
    booked_on: date | None
    declared_count: int | None
    declared_sum_ore: int | None
    computed_count: int
    computed_sum_ore: int
    line: int | None = None
    element: str | None = None


class ControlTotal(_Frozen):
    """A file-level control figure (BgMax TK70, Autogiro TK09, camt ``TxsSummry``) and the count."""

    what: str
    declared: int
    computed: int
    line: int | None = None
    element: str | None = None


class SkippedEntry(_Frozen):
    """A camt.054 entry the file holds but that is no payment to book, and why (debit, pending)."""

    element: str
    reason: str
    credit_debit: Literal["CRDT", "DBIT"]
    amount_ore: int | None
    currency: str | None
    bank_reference: str | None = None


class ParsedBankFile(_Frozen):
    """A bank file that passed every check (domain.md §9), ready for atomic, once-only import.

    ``file_reference`` is the file's own identifier as sent (camt ``GrpHdr/MsgId``, the BgMax or
    Autogiro opening record's timestamp); the application also keys the import on a hash of the
    bytes, since a bank may reuse identifiers across test and production.
    """

    format: BankFileFormat
    layout: str
    file_reference: str
    created_at: datetime | None
    test_file: bool = False
    accounts: tuple[str, ...] = ()
    payments: tuple[BankPayment, ...] = ()
    autogiro_results: tuple[AutogiroResult, ...] = ()
    sections: tuple[SectionTotals, ...] = ()
    controls: tuple[ControlTotal, ...] = ()
    skipped: tuple[SkippedEntry, ...] = ()
    notes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _references_unique(self) -> ParsedBankFile:
        seen: set[str] = set()
        for payment in self.payments:
            if payment.bank_reference in seen:
                raise ValueError(f"bank reference {payment.bank_reference!r} occurs twice")
            seen.add(payment.bank_reference)
        return self

    @property
    def total_ore_by_currency(self) -> dict[str, int]:
        """Signed sum of the payments per currency (deductions and reversals included)."""
        totals: dict[str, int] = {}
        for payment in self.payments:
            totals[payment.currency] = totals.get(payment.currency, 0) + payment.amount_ore
        return totals
