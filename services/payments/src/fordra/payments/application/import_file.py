"""Importing a bank file (domain.md §9): atomically and once.

The whole file is one append: every payment received, matched, allocated, queued or credited,
and the file's own record, or nothing (a rejected file books nothing). The same file again (by its
SHA-256) answers the first result with ``duplicate: true``; a payment already booked from another
file (by the bank's own reference) is counted as a duplicate and booked once.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from pydantic import BaseModel, ConfigDict, Field

from fordra.contracts.payments import (
    AutogiroDebitFailed,
    PayerPersonalData,
    PaymentFileImported,
    PaymentMatched,
    PaymentReceived,
    PaymentUnmatched,
)
from fordra.kernel.application import Decision, Outcome, execute
from fordra.kernel.auth import Principal, Role, require_role
from fordra.kernel.envelope import Metadata
from fordra.kernel.ids import new_id
from fordra.kernel.staging import StagedEventStore
from fordra.payments.application.booking import (
    BookingBatch,
    PaymentsDeps,
    reverse_payment,
    settle_matched_payment,
)
from fordra.payments.application.streams import (
    autogiro_payer_stream,
    customer_receivables_stream,
    ocr_stream,
    payment_stream,
    receivable_stream,
)
from fordra.payments.domain.bank_file import AutogiroResult, BankPayment, ParsedBankFile
from fordra.payments.domain.bounds import check_bank_file_amounts
from fordra.payments.domain.events import (
    AutogiroPayerRegistered,
    BankReferenceClaimed,
    OcrRegistered,
    PaymentFileClaimed,
    ReceivableListed,
    ReceivableOpened,
)
from fordra.payments.domain.extra_references import split_by_extra_references
from fordra.payments.domain.matching import (
    BGMAX_AUTO_MATCH_REFERENCE_CODES,
    BOOKING_CURRENCY,
    OCR_LENGTH_DIGIT_REQUIRED,
    autogiro_debit_is_paid,
    autogiro_ocr_reference,
    claim_for_autogiro_debit,
    why_not_matched_automatically,
)
from fordra.payments.domain.receivable import Receivable

IMPORTERS = (Role.ADMIN, Role.BANK_INGEST)


class ImportResult(BaseModel):
    """What an import booked. ``payments`` counts what was received as a payment: a BgMax
    payment split between its extra references counts once per part (``split`` says how many of
    the file's payments were split), so ``matched + unmatched == payments``.
    ``totals_by_currency`` is the signed sum of what was booked, per currency (never added across
    currencies); ``total_ore`` is its SEK figure alone.
    """

    model_config = ConfigDict(frozen=True)

    file_id: str
    format: str
    payments: int
    matched: int
    unmatched: int
    duplicates: int
    total_ore: int
    totals_by_currency: dict[str, int] = Field(default_factory=dict)
    split: int = 0
    failed_debits: int = 0
    duplicate: bool = False


def file_stream(sha256: str) -> str:
    return f"payment-file-{sha256}"


def bank_reference_stream(file_format: str, reference: str) -> str:
    if len(reference) > 120:  # stream ids are bounded; long references are hashed
        reference = hashlib.sha256(reference.encode()).hexdigest()
    return f"bank-ref-{file_format}-{reference}"


async def import_payment_file(
    data: bytes, all_deps: PaymentsDeps, principal: Principal, meta: Metadata
) -> Outcome[ImportResult]:
    require_role(principal, *IMPORTERS)
    sha = hashlib.sha256(data).hexdigest()
    claimed = await _already_imported(all_deps, sha)
    if claimed is not None:
        return Outcome(claimed, True, 0)
    parsed = all_deps.parse(data)  # BankFileRejected: nothing is booked
    check_bank_file_amounts(parsed, all_deps.max_amount_ore.at(all_deps.clock.today()))
    all_deps.archive.keep(sha, data, parsed.format)

    async def decide() -> Decision[ImportResult]:
        # The same file, imported meanwhile by a concurrent request: its first result.
        first = await _already_imported(all_deps, sha)
        if first is not None:
            return Decision([], first)
        # Every stream the file will touch, read in bulk up front (one query per chunk rather
        # than a dozen round trips per payment); reads below come from this view.
        view = StagedEventStore(all_deps.store)
        await _prefetch(view, all_deps, parsed)
        deps = replace(all_deps, store=view)
        batch = BookingBatch(view, deps.registry, meta, deps.clock.now())
        file_id = new_id()
        await batch.add(file_stream(sha), PaymentFileClaimed(file_id=file_id))
        counts = {
            "payments": 0,
            "matched": 0,
            "unmatched": 0,
            "duplicates": 0,
            "split": 0,
            "failed_debits": 0,
        }
        totals: dict[str, int] = {}
        seen: set[str] = set()
        for payment in parsed.payments:
            ref_stream = bank_reference_stream(parsed.format, payment.bank_reference)
            if ref_stream in seen or await deps.store.stream_version(ref_stream):
                counts["duplicates"] += 1
                continue
            seen.add(ref_stream)
            parts, held_because = await _parts_of(batch, deps, parsed, payment)
            counts["split"] += len(parts) > 1 or parts[0] is not payment
            for part in parts:
                payment_id = new_id()
                # A split payment's claim holds one claim per part: their amounts add up to it.
                claim = BankReferenceClaimed(payment_id=payment_id, amount_ore=part.amount_ore)
                await batch.add(ref_stream, claim)
                # A camt.054 reversal names what it reverses by one of these (bank_file.py).
                for alias in _aliases(part):
                    alias_stream = bank_reference_stream(parsed.format, alias)
                    if alias_stream not in seen and not await deps.store.stream_version(
                        alias_stream
                    ):
                        seen.add(alias_stream)
                        await batch.add(alias_stream, claim)
                counts["payments"] += 1
                totals[part.currency] = totals.get(part.currency, 0) + part.amount_ore
                matched = await _book(
                    batch,
                    deps,
                    parsed,
                    part,
                    payment_id=payment_id,
                    file_id=file_id,
                    held_because=held_because,
                )
                counts["matched" if matched else "unmatched"] += 1
        for debit in parsed.autogiro_results:
            booked = await _book_autogiro(batch, deps, parsed, debit, file_id=file_id, seen=seen)
            if booked is None:
                continue  # a duplicate, or a refund we ordered ourselves
            if booked == "failed":
                counts["failed_debits"] += 1
                continue
            counts["payments"] += 1
            # Autogiro moves SEK only (bookings below are in BOOKING_CURRENCY).
            totals[BOOKING_CURRENCY] = totals.get(BOOKING_CURRENCY, 0) + debit.amount_ore
            counts[booked] += 1
        result = ImportResult(
            file_id=file_id,
            format=parsed.format,
            payments=counts["payments"],
            matched=counts["matched"],
            unmatched=counts["unmatched"],
            duplicates=counts["duplicates"],
            total_ore=totals.get(BOOKING_CURRENCY, 0),
            totals_by_currency=totals,
            split=counts["split"],
            failed_debits=counts["failed_debits"],
        )
        await batch.add(
            file_stream(sha),
            PaymentFileImported(
                file_id=file_id,
                format=parsed.format,
                layout=parsed.layout,
                file_reference=parsed.file_reference,
                sha256=sha,
                imported_on=deps.clock.today(),
                payments=result.payments,
                duplicates=result.duplicates,
                total_ore=result.total_ore,
                totals_by_currency=result.totals_by_currency,
                split=result.split,
                matched=result.matched,
                unmatched=result.unmatched,
                test_file=parsed.test_file,
            ),
        )
        return Decision(batch.appends(), result)

    return await execute(all_deps.store, decide, ImportResult)


async def _already_imported(deps: PaymentsDeps, sha: str) -> ImportResult | None:
    for env in await deps.store.read_stream(file_stream(sha)):
        event = deps.registry.load(env)
        if isinstance(event, PaymentFileImported):
            return ImportResult(
                file_id=event.file_id,
                format=event.format,
                payments=event.payments,
                matched=event.matched,
                unmatched=event.unmatched,
                duplicates=event.duplicates,
                total_ore=event.total_ore,
                totals_by_currency=event.totals_by_currency,
                split=event.split,
                duplicate=True,
            )
    return None


async def _book(
    batch: BookingBatch,
    deps: PaymentsDeps,
    parsed: ParsedBankFile,
    payment: BankPayment,
    *,
    payment_id: str,
    file_id: str,
    held_because: str | None = None,
) -> bool:
    """Receive one payment and match, allocate, credit or queue it. True when matched.

    ``held_because``: why it waits in the queue whatever its reference says (a BgMax payment whose
    extra references cannot split it, ``_parts_of``).
    """
    stream = payment_stream(payment_id)
    batch.start(stream)  # a new id: nothing to read (100,000 single reads for a large file)
    # The payer's own words (free text, a reference that is not an OCR number) are personal
    # data like the name: sealed with it; an OCR reference stays plain, matching needs it.
    ocr = payment.reference if payment.reference_kind == "ocr" else None
    own_reference = None if payment.reference_kind == "ocr" else payment.reference
    payer = None
    if (
        payment.payer_name
        or payment.payer_address
        or payment.payer_orgnr
        or payment.payer_account
        or payment.free_text
        or own_reference
    ):
        payer = PayerPersonalData(
            name=payment.payer_name,
            address=payment.payer_address,
            orgnr=payment.payer_orgnr,
            account=payment.payer_account,
            free_text=payment.free_text,
            reference=own_reference,
        )
    await batch.add(
        stream,
        PaymentReceived(
            payment_id=payment_id,
            file_id=file_id,
            bank_reference=payment.bank_reference,
            amount_ore=payment.amount_ore,
            currency=payment.currency,
            reference=ocr,
            reference_kind=payment.reference_kind,
            bank_reference_code=payment.bgmax_reference_code,
            received_on=payment.received_on,
            payer=payer,
            split_of=payment.split_of,
        ),
    )
    if payment.kind == "reversal":
        return await _reverse(batch, deps, parsed, payment, payment_id)
    reason = held_because or why_not_matched_automatically(parsed.format, payment)
    receivable = None
    if reason is None:
        assert payment.reference is not None
        invoice_id = await _invoice_for_ocr(batch, deps, payment.reference)
        receivable = await batch.receivable(invoice_id) if invoice_id else None
        if receivable is None or receivable.open_ore <= 0:
            reason = (
                "the OCR reference names no invoice"
                if receivable is None
                # A case officer decides where the money goes: say why (domain.md §4).
                else "the invoice the OCR reference names is written off"
                if receivable.written_off
                else "the invoice the OCR reference names is not open"
            )
    if reason is not None or receivable is None:
        await batch.add(
            stream,
            PaymentUnmatched(
                payment_id=payment_id,
                amount_ore=payment.amount_ore,
                currency=payment.currency,
                received_on=payment.received_on,
                reason=reason or "no open invoice",
            ),
        )
        return False
    await batch.add(
        stream,
        PaymentMatched(
            payment_id=payment_id,
            invoice_id=receivable.invoice_id,
            customer_id=receivable.customer_id,
            method="ocr",
        ),
    )
    await settle_matched_payment(
        batch, deps, payment_id, receivable, payment.amount_ore, today=deps.clock.today()
    )
    return True


async def _parts_of(
    batch: BookingBatch, deps: PaymentsDeps, parsed: ParsedBankFile, payment: BankPayment
) -> tuple[tuple[BankPayment, ...], str | None]:
    """What to book for one payment of the file: its parts when a BgMax payment is split between
    its extra references (``domain/extra_references.py``), else the payment itself; and why it
    waits whole in the queue, if it must.

    Beyond the pure rule, every part's OCR reference must name an open invoice: one that does
    not queues the whole payment, as an invalid extra reference does.
    """
    if parsed.format != "bgmax":
        return (payment,), None
    split = split_by_extra_references(
        payment,
        ocr_codes=BGMAX_AUTO_MATCH_REFERENCE_CODES,
        length_digit_required=OCR_LENGTH_DIGIT_REQUIRED,
    )
    if not split.parts:
        return (payment,), split.held_because
    for part in split.parts:
        assert part.reference is not None  # a part always names its OCR reference
        invoice_id = await _invoice_for_ocr(batch, deps, part.reference)
        receivable = await batch.receivable(invoice_id) if invoice_id else None
        if receivable is None or receivable.open_ore <= 0:
            names = "names no invoice" if receivable is None else "names an invoice not open"
            where = f" (line {part.line})" if part.line else ""
            return (payment,), f"the reference {part.reference}{where} {names}: not split"
    return split.parts, None


async def _book_autogiro(
    batch: BookingBatch,
    deps: PaymentsDeps,
    parsed: ParsedBankFile,
    debit: AutogiroResult,
    *,
    file_id: str,
    seen: set[str],
) -> str | None:
    """An Autogiro payment specification: an approved debit is a payment like any other (its
    reference names the invoice); a failed one leaves the invoice unpaid, back in dunning."""
    if debit.kind != "debit":
        return None  # refunds and returned debits move money out: handled with the bank
    key = f"ag:{debit.payee_bankgiro}:{debit.payer_number}:{debit.payment_date}:{debit.reference}"
    key += f":{debit.amount_ore}:{debit.status}"
    ref_stream = bank_reference_stream(parsed.format, hashlib.sha256(key.encode()).hexdigest())
    if ref_stream in seen or await deps.store.stream_version(ref_stream):
        return None
    seen.add(ref_stream)
    payment_id = new_id()
    await batch.add(
        ref_stream, BankReferenceClaimed(payment_id=payment_id, amount_ore=debit.amount_ore)
    )
    receivable = await _autogiro_receivable(batch, deps, debit)
    if autogiro_debit_is_paid(debit):
        payment = BankPayment(
            bank_reference=key,
            amount_ore=debit.amount_ore,
            currency="SEK",
            # The payer's own invoice, when we know it, stands in for an OCR reference.
            reference=receivable.ocr if receivable else debit.reference,
            reference_kind="ocr" if receivable else "free_text",
            free_text=(f"Autogiro {debit.payer_number} {debit.reference or ''}".strip(),),
            received_on=debit.payment_date,
            section=debit.section or "autogiro",
            line=debit.line,
        )
        matched = await _book(batch, deps, parsed, payment, payment_id=payment_id, file_id=file_id)
        return "matched" if matched else "unmatched"
    invoice_id = receivable.invoice_id if receivable else None
    await batch.add(
        f"autogiro-{debit.payer_number}",
        AutogiroDebitFailed(
            payer_number=debit.payer_number,
            amount_ore=debit.amount_ore,
            payment_date=debit.payment_date,
            status=debit.status,  # "approved" was booked above
            reference=debit.reference,
            invoice_id=invoice_id,
            customer_id=receivable.customer_id if receivable else None,
            retried_later=debit.status == "renewed_funds",
        ),
    )
    return "failed"


async def _autogiro_receivable(
    batch: BookingBatch, deps: PaymentsDeps, debit: AutogiroResult
) -> Receivable | None:
    """The invoice an Autogiro debit is for (domain/matching.py): its reference when that is an
    OCR number of ours, else ``claim_for_autogiro_debit`` of the payer number's customer."""
    ocr = autogiro_ocr_reference(debit)
    if ocr is not None:
        invoice_id = await _invoice_for_ocr(batch, deps, ocr)
        if invoice_id:
            return await batch.receivable(invoice_id)
    customer_id = None
    for env in await deps.store.read_stream(autogiro_payer_stream(debit.payer_number)):
        event = deps.registry.load(env)
        if isinstance(event, AutogiroPayerRegistered):
            customer_id = event.customer_id
    if customer_id is None:
        return None
    return claim_for_autogiro_debit(await batch.claims_of(customer_id), debit.amount_ore)


async def _prefetch(  # noqa: PLR0912 - one loop per kind of stream read
    view: StagedEventStore, deps: PaymentsDeps, parsed: ParsedBankFile
) -> None:
    """Read, in three bulk rounds, the claims, OCR numbers, payer numbers, receivables and
    customers' receivable lists that booking this file may read."""
    fmt = parsed.format
    first: list[str] = []
    for payment in parsed.payments:
        first.append(bank_reference_stream(fmt, payment.bank_reference))
        first += [bank_reference_stream(fmt, alias) for alias in _aliases(payment)]
        if payment.reversal_of:
            ref = payment.reversal_of
            first += [bank_reference_stream(fmt, k) for k in (ref, f"txid:{ref}", f"e2e:{ref}")]
        if payment.reference:
            first.append(ocr_stream(payment.reference))
        first += [ocr_stream(x.reference) for x in payment.extra_references if x.reference]
    for debit in parsed.autogiro_results:
        first.append(autogiro_payer_stream(debit.payer_number))
        if debit.reference:
            first.append(ocr_stream(debit.reference.lstrip("0")))
    await view.prefetch(first)
    invoices: list[str] = []
    customers: list[str] = []
    for stream in first:
        for env in await view.read_stream(stream):
            event = deps.registry.load(env)
            if isinstance(event, OcrRegistered):
                invoices.append(event.invoice_id)
            elif isinstance(event, AutogiroPayerRegistered):
                customers.append(event.customer_id)
    await view.prefetch([receivable_stream(i) for i in invoices])
    for invoice_id in invoices:
        for env in await view.read_stream(receivable_stream(invoice_id)):
            event = deps.registry.load(env)
            if isinstance(event, ReceivableOpened):
                customers.append(event.customer_id)
    await view.prefetch([customer_receivables_stream(c) for c in customers])
    listed: list[str] = []
    for customer_id in customers:
        for env in await view.read_stream(customer_receivables_stream(customer_id)):
            event = deps.registry.load(env)
            if isinstance(event, ReceivableListed):
                listed.append(receivable_stream(event.invoice_id))
    await view.prefetch(listed)


def _aliases(payment: BankPayment) -> list[str]:
    """The other keys a later reversal may use to name this payment: its transaction id and
    end-to-end id (camt.054 has no field meant for the pointer; banks repeat one of these)."""
    keys = []
    if payment.transaction_id:
        keys.append(f"txid:{payment.transaction_id}")
    if payment.end_to_end_id and payment.end_to_end_id != "NOTPROVIDED":
        keys.append(f"e2e:{payment.end_to_end_id}")
    return keys


async def _invoice_for_ocr(batch: BookingBatch, deps: PaymentsDeps, ocr: str) -> str | None:
    events = await deps.store.read_stream(ocr_stream(ocr))
    for env in events:
        event = deps.registry.load(env)
        if isinstance(event, OcrRegistered):
            return event.invoice_id
    return None


async def _reverse(
    batch: BookingBatch,
    deps: PaymentsDeps,
    parsed: ParsedBankFile,
    payment: BankPayment,
    payment_id: str,
) -> bool:
    """camt.054 ``RvslInd``: undo everything the reversed payment did (``reverse_payment``)."""
    original_id = None
    if payment.reversal_of:
        ref = payment.reversal_of
        for key in (ref, f"txid:{ref}", f"e2e:{ref}"):
            for event in await batch.events(bank_reference_stream(parsed.format, key)):
                if isinstance(event, BankReferenceClaimed):
                    original_id = event.payment_id
            if original_id is not None:
                break
    reason: str | None = "a reversal of a payment we never booked"
    if original_id is not None:
        reason = await reverse_payment(
            batch, original_id, payment.bank_reference, abs(payment.amount_ore)
        )
    if reason is not None:
        await batch.add(
            payment_stream(payment_id),
            PaymentUnmatched(
                payment_id=payment_id,
                amount_ore=payment.amount_ore,
                currency=payment.currency,
                received_on=payment.received_on,
                reason=reason,
            ),
        )
        return False
    return True
