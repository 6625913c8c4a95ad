"""The names of payments' streams, in one place: every use case and reaction reads and appends
through them."""

from __future__ import annotations

from fordra.contracts.payments import CREDIT_STREAM_PREFIX

CONTEXT = "payments"


def receivable_stream(invoice_id: str) -> str:
    return f"receivable-{invoice_id}"


def ocr_stream(ocr: str) -> str:
    return f"receivable-ocr-{ocr}"


def customer_receivables_stream(customer_id: str) -> str:
    return f"customer-receivables-{customer_id}"


def autogiro_payer_stream(payer_number: str) -> str:
    return f"autogiro-payer-{payer_number.lstrip('0')}"


def payment_stream(payment_id: str) -> str:
    return f"payment-{payment_id}"


def credit_stream(customer_id: str) -> str:
    """The customer's credit (domain/credit.py): the only stream the ledger adds credit from."""
    return f"{CREDIT_STREAM_PREFIX}{customer_id}"


def refund_stream(refund_id: str) -> str:
    return f"refund-{refund_id}"
