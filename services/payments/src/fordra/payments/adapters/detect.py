"""Which bank file is this, and parse it (domain.md §9 "Bank files").

The format is read from the content, never from a file name or a header a sender can get wrong:

- camt.054: an XML document whose root is ``Document`` in the namespace
  ``urn:iso:std:iso:20022:tech:xsd:camt.054.*`` (read safely: DTDs refused, only the root
  element is read);
- BgMax: the start record ``01BGMAX``;
- Autogiro: the opening record of a payment specification, new layout (``01AUTOGIRO`` ...
  ``BET. SPEC & STOPP TK``) or old (``01`` date ``AUTOGIRO9900``), after at most a few heading
  lines in Bankgirot's example files.

Everything else is refused with the reason, so the case officer knows what was sent: an Autogiro
mandate file, a payment-order file *to* Bankgirot (*betalningsunderlag*), a camt.053 statement, a
pain.001 payment order, any other document.

An adapter with no I/O: the one entry point the application is given (``parse_bank_file``, wired in
``fordra.app.bootstrap``). Tested (``tests/payments/test_detect.py``) on every file of
``shared/fixtures/{camt054,bgmax,autogiro}``, each parsed as its format or refused with its reason,
and fuzzed on mutated copies of them (``tests/payments/test_parser_fuzz.py``).
"""

from __future__ import annotations

from typing import Final

from fordra.payments.adapters.autogiro import (
    classify_autogiro,
    parse_autogiro,
    refuse_unless_payment_specification,
)
from fordra.payments.adapters.bank_file_reading import (
    DEFAULT_MAX_BYTES,
    check_size,
)
from fordra.payments.adapters.bgmax import parse_bgmax
from fordra.payments.adapters.camt054 import parse_camt054, refuse_unless_camt054, root_tag
from fordra.payments.domain.bank_file import (
    BankFileFormat,
    BankFileRejected,
    ParsedBankFile,
)

__all__ = ["detect_format", "parse_bank_file"]

_BOMS: Final[tuple[bytes, ...]] = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_UNKNOWN: Final[str] = (
    "not a recognised bank file: expected a camt.054 XML notification, a BgMax file (start "
    "record 01BGMAX) or an Autogiro payment specification (opening record 01 ... AUTOGIRO)"
)


def _looks_like_xml(data: bytes) -> bool:
    head = data[:4096]
    if head.startswith(_BOMS[1:]):  # UTF-16: only XML is sent that way
        return True
    return head.removeprefix(_BOMS[0]).lstrip(b" \t\r\n").startswith(b"<")


def detect_format(data: bytes) -> BankFileFormat:
    """The bank-file format of ``data``, or ``BankFileRejected`` saying what it is instead."""
    if not data.strip():
        raise BankFileRejected.single("the file is empty")
    if _looks_like_xml(data):
        refuse_unless_camt054(root_tag(data))
        return "camt054"
    first = data.removeprefix(_BOMS[0]).lstrip(b"\r\n")
    if first.startswith(b"01BGMAX"):
        return "bgmax"
    if classify_autogiro(data) is None:
        raise BankFileRejected.single(_UNKNOWN, line=1)
    refuse_unless_payment_specification(data)
    return "autogiro"


def parse_bank_file(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedBankFile:
    """Detect the format and parse: a ``ParsedBankFile`` or ``BankFileRejected``, nothing else.

    ``max_bytes`` (a setting; default 50 MB) is checked before anything reads the content.
    """
    check_size(data, max_bytes)
    file_format = detect_format(data)
    if file_format == "camt054":
        return parse_camt054(data, max_bytes=max_bytes)
    if file_format == "bgmax":
        return parse_bgmax(data, max_bytes=max_bytes)
    return parse_autogiro(data, max_bytes=max_bytes)
