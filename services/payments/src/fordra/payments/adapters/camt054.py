"""ISO 20022 camt.054, the bank's credit notification (domain.md §9 "camt.054").

``BankToCustomerDebitCreditNotification`` in version 001.02 (as Swedish banks send it) and the
later 001.03-001.08, which move a few fields (``Sts/Cd`` for ``Sts``, ``Dbtr/Pty/Nm`` for
``Dbtr/Nm``); both shapes are read in every version.

What is booked (domain.md §9): per ``Ntfctn/Ntry`` with ``CdtDbtInd=CRDT`` and status ``BOOK``,
every ``NtryDtls/TxDtls`` is one payment (one entry can hold a whole batch). The payer's OCR
number is ``RmtInf/Strd/CdtrRefInf/Ref`` whose ``Tp/CdOrPrtry/Cd`` is ``SCOR``; ``RmtInf/Ustrd``
is free text; ``AcctSvcrRef`` (of the transaction, else of the entry) is the bank's unique
reference and the idempotency key. A debit with ``RvslInd=true`` reverses an earlier credit and
becomes a negative "reversal" payment: its own key is the entry's ``AcctSvcrRef``, and
``reversal_of`` is the transaction reference it repeats from the payment it reverses
(``Refs/AcctSvcrRef``, matching that payment's ``bank_reference``; else ``Refs/TxId`` or
``EndToEndId``, matching its ``transaction_id`` or ``end_to_end_id``). camt.054 has no field made
for this pointer, so the application looks it up by all three.

What is not booked but listed in ``ParsedBankFile.skipped`` with its amount: debits (money out),
credits that reverse a debit, and entries not yet booked (``PDNG``, ``INFO``). A camt.054 of debit
entries only therefore parses to no payments and a note: it is a valid file that books nothing
(the issue: "a camt.054 of debit entries books nothing"), not an error for the case officer.

Checks, each failure rejecting the file whole and naming the element path: the transactions of a
booked entry add up to the entry (an entry with one amount and several TxDtls must split exactly);
``Btch/NbOfTxs`` and ``Btch/TtlAmt``; ``TxsSummry`` counts and sums; amounts are decimal strings
in the currency of ``Amt@Ccy`` with at most two decimals, converted to öre exactly (no float);
no ``AcctSvcrRef`` occurs twice (a repeated key would let the second payment vanish as a
"duplicate" downstream).

Parsed safely: the size is checked before parsing (a setting, default 50 MB), any DTD or entity
declaration is refused before a parser runs (billion laughs, external entities; ``defusedxml``
scans a file in an encoding the byte scan cannot read), and only then does lxml build the tree,
with no DTD loaded, no entity resolved and no network (``_parse_tree``). Element paths are built
only where they are reported: in a problem, and in the ``section`` and ``element`` of a payment.

An adapter with no I/O: bytes in, a ``ParsedBankFile`` or ``BankFileRejected`` (domain/bank_file.py)
out. Tested (``tests/payments/test_camt054.py``) on the public files in ``shared/fixtures/camt054``:
``genkgo_camt054.{v2,v2.with-account-name,v4,v8,v8-with-UETR,v8-with-financial-institution}.xml``
against the values in ``genkgo-expected-json/``, and ``oca_test-camt054.xml``; the rules the public
files do not exercise (reversals, splits, broken totals) on files built by
``tests/payments/camt_factory.py``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Final, Literal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import fromstring, iterparse
from lxml import etree
from lxml.etree import _Element

from fordra.kernel.calendar import SWEDISH_TIME
from fordra.payments.adapters.bank_file_reading import (
    DEFAULT_MAX_BYTES,
    check_size,
)
from fordra.payments.domain.bank_file import (
    BankFileRejected,
    BankPayment,
    ControlTotal,
    ExtraReference,
    ParsedBankFile,
    PaymentKind,
    Problems,
    ReferenceKind,
    SectionTotals,
    SkippedEntry,
)

__all__ = [
    "CAMT054_NAMESPACE_PREFIX",
    "SUPPORTED_VERSIONS",
    "parse_camt054",
    "refuse_unless_camt054",
    "root_tag",
]

CAMT054_NAMESPACE_PREFIX: Final[str] = "urn:iso:std:iso:20022:tech:xsd:camt.054."
SUPPORTED_VERSIONS: Final[frozenset[str]] = frozenset(f"001.{n:02d}" for n in range(2, 9))
_FORMAT: Final[str] = "camt054"
_ISO_NAMESPACE: Final[re.Pattern[str]] = re.compile(
    r"\{urn:iso:std:iso:20022:tech:xsd:(?P<message>[a-z]{4})\.(?P<number>\d{3})\."
    r"(?P<version>\d{3}\.\d{2})\}(?P<local>.+)"
)
# ISO 20022 ActiveOrHistoricCurrencyAndAmount: up to 18 digits, at most 5 of them decimals.
_AMOUNT: Final[re.Pattern[str]] = re.compile(r"(?P<whole>\d{1,18})(?:\.(?P<fraction>\d{1,5}))?")
_CURRENCY: Final[re.Pattern[str]] = re.compile(r"[A-Z]{3}")
_NOT_PROVIDED: Final[str] = "NOTPROVIDED"  # ISO's placeholder for an absent EndToEndId

_OTHER_MESSAGES: Final[dict[str, str]] = {
    "camt.053": (
        "a camt.053 account statement is not a camt.054 credit notification: import the "
        "camt.054 the bank sends for the receivables account"
    ),
    "camt.052": "a camt.052 account report is not a camt.054 credit notification",
    "pain.001": ("a pain.001 payment order TO the bank is not a notification of payments received"),
    "pain.002": "a pain.002 payment status report is not a notification of payments received",
    "pain.008": (
        "a pain.008 direct-debit order TO the bank is not a notification of payments received"
    ),
}

# Elements that may repeat get an index in error paths ("Ntry[3]"), so that a case officer can
# find the one meant.
_REPEATING: Final[frozenset[str]] = frozenset(
    {"Ntfctn", "Ntry", "NtryDtls", "TxDtls", "Strd", "Ustrd", "AdrLine", "AddtlRmtInf"}
)


# ---------------------------------------------------------------------------------------------
# Safe XML.
# ---------------------------------------------------------------------------------------------


def _refuse_declarations(data: bytes) -> None:
    # defusedxml refuses them as well; this names the attack before any parser runs, for the
    # encodings a bank uses (UTF-8, Latin-1). A UTF-16 file is still caught by defusedxml.
    for marker, what in ((b"<!DOCTYPE", "a DTD (<!DOCTYPE"), (b"<!ENTITY", "an entity (<!ENTITY")):
        at = data.find(marker)
        if at >= 0:
            line = data.count(b"\n", 0, at) + 1
            raise BankFileRejected.single(
                f"the file declares {what} ...): bank files never do, and DTDs carry entity "
                "attacks (billion laughs, external entities); refused before parsing",
                line=line,
                file_format=_FORMAT,
            )


def _xml_error(error: Exception) -> BankFileRejected:
    if isinstance(error, DTDForbidden):
        message = "the file declares a DTD: refused (bank files never do; DTDs carry attacks)"
    elif isinstance(error, EntitiesForbidden):
        message = "the file declares entities: refused (billion laughs and similar attacks)"
    elif isinstance(error, ExternalReferenceForbidden):
        message = "the file refers to an external entity: refused (it could read local files)"
    elif isinstance(error, ParseError):
        line = error.position[0]
        return BankFileRejected.single(
            f"not well-formed XML: {error}", line=line, file_format=_FORMAT
        )
    elif isinstance(error, LookupError):
        message = f"the XML declaration names an encoding that cannot be read: {error}"
    else:
        message = f"the XML cannot be read: {error}"
    return BankFileRejected.single(message, file_format=_FORMAT)


# Everything the XML layer can raise on hostile bytes: expat's ParseError, defusedxml's refusals
# (ValueError subclasses), ValueError for encodings expat cannot use ("multi-byte encodings are
# not supported") and LookupError for an encoding Python does not know (encoding="UTF-9").
_XML_ERRORS: Final = (ParseError, ValueError, LookupError)


def _opens_in_ascii(data: bytes) -> bool:
    # The byte scan reads "<!DOCTYPE" where an encoding writes it as ASCII: UTF-8, Latin-1 and
    # every encoding a bank uses. A file that does not open with ASCII markup ("<", after an
    # optional UTF-8 BOM and white space) may be UTF-16, UTF-32 or EBCDIC, where it cannot.
    return data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n").startswith(b"<")


def _defused_root(data: bytes) -> Element:
    """The document as defusedxml reads it: DTDs, entities and external references forbidden."""
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except _XML_ERRORS as error:
        raise _xml_error(error) from None


def _parse_tree(data: bytes) -> _Element:
    """The parsed document, after the safety scan, or ``BankFileRejected``.

    First the scan: the byte scan (``_refuse_declarations``), and defusedxml for a file the byte
    scan cannot read (UTF-16 and the like). Then lxml, which builds the tree in C (the parse is
    most of the time of reading a large file), with nothing of a DTD in use: no DTD loaded, no
    entity resolved, no network, libxml2's size and depth limits (no ``huge_tree``); comments and
    processing instructions dropped, so that an element's text reads as in ElementTree. A DTD
    that still reached lxml (an encoding neither scan reads) is refused on the parsed tree.

    When lxml refuses the file, defusedxml reads it again to name the problem in the words and
    at the line the case officer has always been given; that costs only for a broken file.
    """
    _refuse_declarations(data)
    if not _opens_in_ascii(data):
        _defused_root(data)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except (etree.LxmlError, *_XML_ERRORS) as error:
        # Nearly every broken file is named here as before; what only lxml refuses (past
        # libxml2's depth limit, a namespace that is not a URI, XML version 6.0) below.
        refuse_unless_camt054(str(_defused_root(data).tag))
        line = getattr(error, "lineno", None)
        raise BankFileRejected.single(
            f"the XML cannot be read: {getattr(error, 'msg', None) or error}",
            line=line if isinstance(line, int) and line > 0 else None,
            file_format=_FORMAT,
        ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise BankFileRejected.single(
            "the file declares a DTD: refused (bank files never do; DTDs carry attacks)",
            file_format=_FORMAT,
        )
    return root


def root_tag(data: bytes) -> str:
    """The root element's ``{namespace}name``, read safely without parsing the rest."""
    _refuse_declarations(data)
    try:
        for _event, element in iterparse(
            io.BytesIO(data), events=("start",), forbid_dtd=True, forbid_entities=True
        ):
            return str(element.tag)
    except _XML_ERRORS as error:
        raise _xml_error(error) from None
    raise BankFileRejected.single("the XML document has no root element", file_format=_FORMAT)


def refuse_unless_camt054(tag: str) -> str:
    """The camt.054 version of a root tag, or ``BankFileRejected`` saying what the document is."""
    match = _ISO_NAMESPACE.fullmatch(tag)
    if match is None:
        raise BankFileRejected.single(
            f"an XML document with root {tag!r} is not an ISO 20022 camt.054 notification "
            f"(namespace {CAMT054_NAMESPACE_PREFIX}*)",
            element=tag,
            file_format=_FORMAT,
        )
    message = f"{match['message']}.{match['number']}"
    if message != "camt.054":
        reason = _OTHER_MESSAGES.get(
            message, f"ISO 20022 message {message} is not a camt.054 credit notification"
        )
        raise BankFileRejected.single(reason, element=match["local"], file_format=_FORMAT)
    if match["local"] != "Document":
        raise BankFileRejected.single(
            f"the root element must be Document, got {match['local']!r}",
            element=match["local"],
            file_format=_FORMAT,
        )
    version = match["version"]
    if version not in SUPPORTED_VERSIONS:
        raise BankFileRejected.single(
            f"camt.054.{version} is not a supported version (001.02 to 001.08)",
            element="Document",
            file_format=_FORMAT,
        )
    return version


# ---------------------------------------------------------------------------------------------
# Reading the tree.
# ---------------------------------------------------------------------------------------------


class _Node:
    """An element in the message's namespace with its path from the root, built only when asked.

    The path ("Document/.../Ntry[3]/NtryDtls[1]/TxDtls[2]") names an element in a problem and in
    the ``section`` and ``element`` of a booked payment; it is not built for the other elements
    read. Elements that may repeat get their place among their siblings (``_REPEATING``). The
    children are read once, on first use, into the first child of each tag; a node refers to
    its parent only (no cycle), so the nodes of a transaction are freed as soon as it is read.
    """

    __slots__ = ("_first", "_parent", "_path", "_step", "element", "ns")

    def __init__(self, element: _Element, parent: _Node | None, step: str, ns: str) -> None:
        self.element = element
        self.ns = ns  # "{urn:...}": the tags read below this node are this and a local name
        self._parent = parent
        self._step = step  # the local name, or "name[i]" for a repeating element
        self._path: str | None = None if parent is not None else step
        self._first: dict[object, _Element] | None = None

    @property
    def path(self) -> str:
        if self._path is None:
            assert self._parent is not None  # the root's path is set when it is made
            self._path = f"{self._parent.path}/{self._step}"
        return self._path

    def _first_child(self, name: str) -> _Element | None:
        first = self._first
        if first is None:
            first = {}
            for element in self.element:
                first.setdefault(element.tag, element)
            self._first = first
        return first.get(self.ns + name)

    def children(self, name: str) -> list[_Node]:
        found = self.element.iterchildren(self.ns + name)
        if name in _REPEATING:
            return [_Node(e, self, f"{name}[{i}]", self.ns) for i, e in enumerate(found, 1)]
        return [_Node(e, self, name, self.ns) for e in found]

    def child(self, *names: str) -> _Node | None:
        node = self
        for name in names:
            found = node._first_child(name)
            if found is None:
                return None
            node = _Node(found, node, f"{name}[1]" if name in _REPEATING else name, self.ns)
        return node

    def text(self, *names: str) -> str | None:
        """The stripped text at ``names`` below this node, or None when absent or empty."""
        node = self.child(*names[:-1]) if len(names) > 1 else self
        if node is None:
            return None
        element = node._first_child(names[-1]) if names else node.element
        if element is None or element.text is None:
            return None
        return element.text.strip() or None

    def sub(self, *names: str) -> str:
        return "/".join((self.path, *names))


@dataclass(frozen=True, slots=True)
class _Amount:
    ore: int
    currency: str


def _amount(node: _Node | None, problems: Problems) -> _Amount | None:
    """An ``Amt``-like element as öre and currency, exactly; None (with a problem) if malformed."""
    if node is None:
        return None
    text = (node.element.text or "").strip()
    currency = node.element.get("Ccy", "")
    match = _AMOUNT.fullmatch(text)
    ok = True
    if match is None:
        problems.add(
            f"amount must be a decimal number like 1250.00, got {text!r}", element=node.path
        )
        ok = False
    elif (match["fraction"] or "")[2:].strip("0"):
        problems.add(
            f"amount {text} has more than two decimals: it cannot be booked in whole öre",
            element=node.path,
        )
        ok = False
    if not _CURRENCY.fullmatch(currency):
        problems.add(f"currency (Ccy) must be a code like SEK, got {currency!r}", element=node.path)
        ok = False
    if not ok or match is None:
        return None
    fraction = (match["fraction"] or "")[:2].ljust(2, "0")
    return _Amount(int(match["whole"]) * 100 + int(fraction), currency)


def _decimal_ore(node: _Node | None, problems: Problems) -> int | None:
    """A sum without currency (``TxsSummry/*/Sum``) in öre."""
    if node is None:
        return None
    text = (node.element.text or "").strip()
    if not re.fullmatch(r"\d{1,18}(\.\d{1,17})?", text) or Decimal(text) * 100 % 1:
        problems.add(
            f"sum must be a decimal number with at most two decimals, got {text!r}",
            element=node.path,
        )
        return None
    return int(Decimal(text) * 100)


def _count(node: _Node | None, problems: Problems) -> int | None:
    if node is None:
        return None
    text = (node.element.text or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 15:
        problems.add(f"count must be a whole number, got {text!r}", element=node.path)
        return None
    return int(text)


def _date(node: _Node | None, problems: Problems) -> date | None:
    """``Dt`` or the date of ``DtTm`` below a date choice element (``BookgDt``, ``ValDt``)."""
    if node is None:
        return None
    day = node.text("Dt")
    stamp = node.text("DtTm")
    try:
        if day is not None:
            return date.fromisoformat(day)
        if stamp is not None:
            return datetime.fromisoformat(stamp).date()
    except ValueError:
        problems.add(f"not an ISO date: {day or stamp!r}", element=node.path)
        return None
    problems.add("has neither Dt nor DtTm", element=node.path)
    return None


def _timestamp(node: _Node, problems: Problems) -> datetime | None:
    text = node.text()
    if text is None:
        problems.add("creation time is missing", element=node.path)
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        problems.add(f"not an ISO date and time: {text!r}", element=node.path)
        return None
    # A time without offset is the sender's local time; for a Swedish bank, Swedish time.
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=SWEDISH_TIME)


def _party_node(related: _Node | None, role: str) -> _Node | None:
    """The party ``role`` (``Dbtr``) below ``RltdPties``."""
    # 001.08 wraps the party in Pty (Dbtr/Pty/Nm); earlier versions do not (Dbtr/Nm).
    party = related.child(role) if related is not None else None
    if party is None:
        return None
    return party.child("Pty") or party


def _postal_address(party: _Node) -> str | None:
    address = party.child("PstlAdr")
    if address is None:
        return None
    lines = [n.text() for n in address.children("AdrLine")]
    street = " ".join(t for t in (address.text("StrtNm"), address.text("BldgNb")) if t)
    town = " ".join(t for t in (address.text("PstCd"), address.text("TwnNm")) if t)
    parts = [t for t in (*lines, street, town, address.text("Ctry")) if t]
    return ", ".join(parts) or None


def _account_id(account: _Node | None) -> str | None:
    """IBAN, or ``Othr/Id`` (a bankgiro number with scheme BGNR, a BBAN...)."""
    if account is None:
        return None
    identification = account.child("Id")
    if identification is None:
        return None
    return identification.text("IBAN") or identification.text("Othr", "Id")


# ---------------------------------------------------------------------------------------------
# Entries and transactions.
# ---------------------------------------------------------------------------------------------


@dataclass
class _Remittance:
    reference: str | None = None
    reference_type: str | None = None
    reference_kind: ReferenceKind = "none"
    extra: list[ExtraReference] = field(default_factory=list)
    free_text: list[str] = field(default_factory=list)


def _remittance(tx: _Node) -> _Remittance:
    """The payer's reference: the first SCOR reference is the OCR number (domain.md §9)."""
    result = _Remittance()
    info = tx.child("RmtInf")
    if info is None:
        return result
    result.free_text.extend(t for n in info.children("Ustrd") if (t := n.text()))
    scor: list[tuple[str, _Node]] = []
    other: list[tuple[str, str | None]] = []
    for strd in info.children("Strd"):
        creditor_reference = strd.child("CdtrRefInf")
        ref = kind = proprietary = None
        if creditor_reference is not None:
            ref = creditor_reference.text("Ref")
            code = creditor_reference.child("Tp", "CdOrPrtry")
            if code is not None:
                kind, proprietary = code.text("Cd"), code.text("Prtry")
        if ref is not None and kind == "SCOR":
            scor.append((ref, strd))
        elif ref is not None:
            other.append((ref, kind or proprietary))
        result.free_text.extend(t for n in strd.children("AddtlRmtInf") if (t := n.text()))
    if scor:
        result.reference, result.reference_type, result.reference_kind = scor[0][0], "SCOR", "ocr"
        result.extra = [
            ExtraReference(reference=ref, element=strd.sub("CdtrRefInf", "Ref"))
            for ref, strd in scor[1:]
        ]
    elif other:
        result.reference, result.reference_type = other[0]
        result.reference_kind = "free_text"
    elif result.free_text:
        result.reference_kind = "free_text"
    return result


@dataclass
class _Entry:
    node: _Node
    kind: PaymentKind
    amount: _Amount
    account: str | None
    booked_on: date
    reference: str | None  # Ntry/AcctSvcrRef


@dataclass
class _File:
    problems: Problems
    payments: list[BankPayment] = field(default_factory=list)
    sections: list[SectionTotals] = field(default_factory=list)
    controls: list[ControlTotal] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)  # bank_reference -> element path


def _transaction_amount(tx: _Node, problems: Problems) -> _Amount | None:
    node = tx.child("Amt")
    details = tx.child("AmtDtls") if node is None else None
    if details is not None:
        node = details.child("TxAmt", "Amt") or details.child("InstdAmt", "Amt")
    return _amount(node, problems)


def _book_transaction(
    book: _File, entry: _Entry, tx: _Node | None, amount: _Amount, *, position: int, count: int
) -> BankPayment | None:
    problems = book.problems
    where = tx.path if tx is not None else entry.node.path
    refs = tx.child("Refs") if tx is not None else None
    tx_key = refs.text("AcctSvcrRef") if refs is not None else None
    end_to_end = refs.text("EndToEndId") if refs is not None else None
    end_to_end = None if end_to_end == _NOT_PROVIDED else end_to_end
    tx_id = refs.text("TxId") if refs is not None else None
    reversal_of: str | None = None
    if entry.kind == "reversal" and entry.reference is not None:
        # A reversal is its own booking (the entry's AcctSvcrRef); the transaction references it
        # repeats are those of the payment it reverses: its AcctSvcrRef (= that payment's
        # bank_reference), else its TxId or EndToEndId (= transaction_id, end_to_end_id).
        reversal_of = tx_key or tx_id or end_to_end
        tx_key = None
    elif entry.kind == "reversal":
        reversal_of = tx_id or end_to_end
    if entry.kind == "reversal" and reversal_of is None:
        book.notes.append(
            f"{where}: a reversal that names no reference of the payment it reverses "
            "(AcctSvcrRef, TxId, EndToEndId): find it by hand"
        )
    if tx_key is not None:
        key = tx_key
    elif entry.reference is not None:
        # One entry, several transactions without their own reference: the entry's reference
        # and the transaction's place in it, stable for the same file.
        key = entry.reference if count == 1 else f"{entry.reference}/{position}"
    else:
        problems.add(
            "no AcctSvcrRef on the transaction nor on its entry: the bank's unique reference is "
            "the payment's idempotency key (domain.md §9)",
            element=where,
        )
        return None
    if key in book.keys:
        problems.add(
            f"AcctSvcrRef {key!r} occurs twice (also at {book.keys[key]}): a repeated key would "
            "drop the second payment as a duplicate",
            element=where,
        )
        return None
    book.keys[key] = where
    remittance = _remittance(tx) if tx is not None else _Remittance()
    related = tx.child("RltdPties") if tx is not None else None
    debtor = _party_node(related, "Dbtr")
    return BankPayment(
        kind=entry.kind,
        bank_reference=key,
        amount_ore=amount.ore if entry.kind == "payment" else -amount.ore,
        currency=amount.currency,
        reference=remittance.reference,
        reference_kind=remittance.reference_kind,
        reference_type=remittance.reference_type,
        free_text=tuple(remittance.free_text),
        extra_references=tuple(remittance.extra),
        payer_name=debtor.text("Nm") if debtor is not None else None,
        payer_address=_postal_address(debtor) if debtor is not None else None,
        payer_orgnr=(debtor.text("Id", "OrgId", "Othr", "Id") if debtor is not None else None),
        payer_account=_account_id(related.child("DbtrAcct")) if related is not None else None,
        credited_account=entry.account,
        end_to_end_id=end_to_end,
        transaction_id=tx_id,
        received_on=entry.booked_on,
        section=entry.node.path,
        element=where,
        reversal_of=reversal_of,
    )


def _check_batch(
    details: _Node, transactions: list[tuple[_Node, _Amount | None]], problems: Problems
) -> int | None:
    batch = details.child("Btch")
    if batch is None:
        return None
    declared = _count(batch.child("NbOfTxs"), problems)
    if declared is not None and transactions and declared != len(transactions):
        problems.add(
            f"the batch declares {declared} transactions, the entry details hold "
            f"{len(transactions)} (TxDtls)",
            element=batch.sub("NbOfTxs"),
        )
    total = _amount(batch.child("TtlAmt"), problems)
    amounts = [a for _, a in transactions if a is not None]
    if total is not None and transactions and len(amounts) == len(transactions):
        computed = sum(a.ore for a in amounts)
        if total.ore != computed:
            problems.add(
                f"the batch total is {total.ore} öre, its transactions add up to {computed} öre",
                element=batch.sub("TtlAmt"),
            )
    return declared


def _book_entry(book: _File, entry: _Entry, credit_debit: str) -> None:
    problems = book.problems
    errors_before = len(problems.errors)
    transactions: list[tuple[_Node, _Amount | None]] = []
    declared_count: int | None = None
    for details in entry.node.children("NtryDtls"):
        in_details = [(tx, _transaction_amount(tx, problems)) for tx in details.children("TxDtls")]
        batch_count = _check_batch(details, in_details, problems)
        if batch_count is not None:
            declared_count = (declared_count or 0) + batch_count
        transactions.extend(in_details)
    for tx, amount in transactions:
        if amount is not None and amount.ore == 0:
            problems.add("a transaction of 0.00 moves no money", element=tx.path)
        direction = tx.text("CdtDbtInd")
        if direction is not None and direction != credit_debit:
            problems.add(
                f"a {direction} transaction in a {credit_debit} entry: a netted entry cannot be "
                "booked payment by payment",
                element=tx.sub("CdtDbtInd"),
            )
        if amount is not None and amount.currency != entry.amount.currency:
            problems.add(
                f"a transaction in {amount.currency} in an entry in {entry.amount.currency}",
                element=tx.path,
            )
    if len(problems.errors) > errors_before:
        return
    if not transactions:
        split: list[tuple[_Node | None, _Amount]] = [(None, entry.amount)]
    elif len(transactions) == 1 and transactions[0][1] is None:
        split = [(transactions[0][0], entry.amount)]
    elif any(a is None for _, a in transactions):
        problems.add(
            f"the entry holds {len(transactions)} transactions, not all with an amount: the "
            "entry's amount cannot be split among them",
            element=entry.node.path,
        )
        return
    else:
        split = [(tx, a) for tx, a in transactions if a is not None]
    computed = sum(a.ore for _, a in split)
    if computed != entry.amount.ore:
        problems.add(
            f"the entry's amount is {entry.amount.ore} öre, its transactions add up to "
            f"{computed} öre",
            element=entry.node.sub("Amt"),
        )
        return
    booked = [
        payment
        for position, (tx, amount) in enumerate(split, 1)
        if (
            payment := _book_transaction(
                book, entry, tx, amount, position=position, count=len(split)
            )
        )
    ]
    sign = 1 if entry.kind == "payment" else -1
    book.payments.extend(booked)
    book.sections.append(
        SectionTotals(
            key=entry.node.path,
            account=entry.account,
            currency=entry.amount.currency,
            booked_on=entry.booked_on,
            declared_count=declared_count,
            declared_sum_ore=sign * entry.amount.ore,
            computed_count=len(booked),
            computed_sum_ore=sum(p.amount_ore for p in booked),
            element=entry.node.path,
        )
    )


def _entry_status(ntry: _Node) -> str | None:
    # 001.02-001.04: <Sts>BOOK</Sts>; 001.05 on: <Sts><Cd>BOOK</Cd></Sts>.
    return ntry.text("Sts", "Cd") or ntry.text("Sts", "Prtry") or ntry.text("Sts")


def _entry(book: _File, ntry: _Node, account: str | None) -> tuple[str | None, int | None]:
    """Book or skip one ``Ntry``; answers (CdtDbtInd, amount in öre) for the summary checks."""
    problems = book.problems
    amount = _amount(ntry.child("Amt"), problems)
    if ntry.child("Amt") is None:
        problems.add("the entry has no amount (Amt)", element=ntry.path)
    indicator = ntry.text("CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        problems.add(
            f"CdtDbtInd must be CRDT or DBIT, got {indicator!r}", element=ntry.sub("CdtDbtInd")
        )
        return None, None
    credit_debit: Literal["CRDT", "DBIT"] = "CRDT" if indicator == "CRDT" else "DBIT"
    reversal_text = ntry.text("RvslInd")
    if reversal_text not in (None, "true", "false", "1", "0"):
        problems.add(
            f"RvslInd must be true or false, got {reversal_text!r}", element=ntry.sub("RvslInd")
        )
    reversal = reversal_text in ("true", "1")
    status = _entry_status(ntry)
    if status is None:
        problems.add("the entry has no status (Sts)", element=ntry.path)
    reason: str | None = None
    if credit_debit == "DBIT" and not reversal:
        reason = "a debit (DBIT): money out of the account, not a payment received"
    elif credit_debit == "CRDT" and reversal:
        reason = "a credit that reverses an earlier debit (RvslInd=true): not a customer payment"
    elif status is not None and status != "BOOK":
        reason = f"status {status}: only booked entries (BOOK) are payments"
    reference = ntry.text("AcctSvcrRef")
    if reason is not None:
        book.skipped.append(
            SkippedEntry(
                element=ntry.path,
                reason=reason,
                credit_debit=credit_debit,
                amount_ore=amount.ore if amount else None,
                currency=amount.currency if amount else None,
                bank_reference=reference,
            )
        )
        return credit_debit, amount.ore if amount else None
    booked_on = _date(ntry.child("BookgDt"), problems) or _date(ntry.child("ValDt"), problems)
    if booked_on is None and ntry.child("BookgDt") is None and ntry.child("ValDt") is None:
        problems.add(
            "a booked entry needs a booking date (BookgDt) or value date (ValDt)", element=ntry.path
        )
    if amount is None or booked_on is None or status is None:
        return credit_debit, amount.ore if amount else None
    if amount.ore == 0:
        problems.add("a booked entry of 0.00 moves no money", element=ntry.sub("Amt"))
        return credit_debit, 0
    entry = _Entry(
        node=ntry,
        kind="payment" if credit_debit == "CRDT" else "reversal",
        amount=amount,
        account=account,
        booked_on=booked_on,
        reference=reference,
    )
    _book_entry(book, entry, credit_debit)
    return credit_debit, amount.ore


def _check_summary(
    book: _File, notification: _Node, seen: list[tuple[str | None, int | None]]
) -> None:
    summary = notification.child("TxsSummry")
    if summary is None:
        return
    problems = book.problems
    for group, direction in (
        ("TtlNtries", None),
        ("TtlCdtNtries", "CRDT"),
        ("TtlDbtNtries", "DBIT"),
    ):
        node = summary.child(group)
        if node is None:
            continue
        chosen = [amount for cd, amount in seen if direction is None or cd == direction]
        declared_count = _count(node.child("NbOfNtries"), problems)
        if declared_count is not None:
            book.controls.append(
                ControlTotal(
                    what=f"{group}/NbOfNtries",
                    declared=declared_count,
                    computed=len(chosen),
                    element=node.sub("NbOfNtries"),
                )
            )
            if declared_count != len(chosen):
                problems.add(
                    f"the summary declares {declared_count} entries, the notification holds "
                    f"{len(chosen)}",
                    element=node.sub("NbOfNtries"),
                )
        declared_sum = _decimal_ore(node.child("Sum"), problems)
        if declared_sum is not None and None not in chosen:
            computed = sum(a for a in chosen if a is not None)
            book.controls.append(
                ControlTotal(
                    what=f"{group}/Sum",
                    declared=declared_sum,
                    computed=computed,
                    element=node.sub("Sum"),
                )
            )
            if declared_sum != computed:
                problems.add(
                    f"the summary declares {declared_sum} öre, the entries add up to "
                    f"{computed} öre",
                    element=node.sub("Sum"),
                )


def parse_camt054(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedBankFile:
    """Parse a camt.054 notification (domain.md §9) or raise ``BankFileRejected``.

    The size is checked first, then DTDs and entities are refused, then the XML is parsed
    (``_parse_tree``).
    """
    check_size(data, max_bytes, file_format=_FORMAT)
    root = _parse_tree(data)
    version = refuse_unless_camt054(str(root.tag))
    book = _File(Problems(_FORMAT))
    problems = book.problems
    document = _Node(root, None, "Document", f"{{{CAMT054_NAMESPACE_PREFIX}{version}}}")
    message = document.child("BkToCstmrDbtCdtNtfctn")
    if message is None:
        problems.add("missing BkToCstmrDbtCdtNtfctn", element=document.path)
        problems.fail()
    header = message.child("GrpHdr")
    file_reference = header.text("MsgId") if header is not None else None
    if file_reference is None:
        problems.add(
            "the group header has no message id (GrpHdr/MsgId)", element=message.sub("GrpHdr")
        )
    created_at = (
        _timestamp(header.child("CreDtTm") or header, problems) if header is not None else None
    )
    accounts: list[str] = []
    notifications = message.children("Ntfctn")
    if not notifications:
        problems.add("the message holds no notification (Ntfctn)", element=message.path)
    for notification in notifications:
        account = _account_id(notification.child("Acct"))
        if account is None:
            problems.add(
                "the notification names no account (Acct/Id)", element=notification.sub("Acct")
            )
        elif account not in accounts:
            accounts.append(account)
        seen = [_entry(book, ntry, account) for ntry in notification.children("Ntry")]
        _check_summary(book, notification, seen)
    problems.raise_if_any()
    if not book.payments:
        book.notes.append(
            f"nothing to book: the file holds no booked credit entries "
            f"({len(book.skipped)} entries skipped, see skipped)"
        )
    return ParsedBankFile(
        format="camt054",
        layout=f"camt.054.{version}",
        file_reference=file_reference or "",
        created_at=created_at,
        accounts=tuple(accounts),
        payments=tuple(book.payments),
        sections=tuple(book.sections),
        controls=tuple(book.controls),
        skipped=tuple(book.skipped),
        notes=tuple(book.notes),
    )
