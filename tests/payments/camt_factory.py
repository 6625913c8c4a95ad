"""A small generator of camt.054 notifications for tests (no Swedish sample file is public).

``camt054(Entry(...), ...)`` writes one ``Ntfctn`` with the given entries in version 001.02
(``<Sts>BOOK</Sts>``, ``Dbtr/Nm``) or 001.08 (``<Sts><Cd>BOOK</Cd></Sts>``, ``Dbtr/Pty/Nm``).
Every field is optional so that a test can leave out exactly what it is about.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.{version}"


@dataclass(frozen=True)
class Tx:
    """One ``TxDtls``: a payment inside an entry."""

    amount: str | None = None
    currency: str = "SEK"
    acct_svcr_ref: str | None = None
    end_to_end: str | None = None
    tx_id: str | None = None
    scor: tuple[str, ...] = ()
    other_ref: tuple[str, str] | None = None  # (proprietary type, reference)
    ustrd: tuple[str, ...] = ()
    debtor: str | None = None
    debtor_iban: str | None = None
    credit_debit: str | None = None


@dataclass(frozen=True)
class Entry:
    """One ``Ntry``."""

    amount: str
    currency: str = "SEK"
    credit_debit: str = "CRDT"
    status: str = "BOOK"
    reversal: bool | None = None
    acct_svcr_ref: str | None = "NTRY-1"
    booking_date: str | None = "2026-03-02"
    value_date: str | None = None
    txs: tuple[Tx, ...] = ()
    batch_count: int | None = None
    batch_total: str | None = None


def _tag(name: str, text: str | None) -> str:
    return "" if text is None else f"<{name}>{escape(text)}</{name}>"


def _tx(tx: Tx, version: str) -> str:
    refs = "".join(
        (
            _tag("AcctSvcrRef", tx.acct_svcr_ref),
            _tag("EndToEndId", tx.end_to_end),
            _tag("TxId", tx.tx_id),
        )
    )
    parts = [f"<Refs>{refs}</Refs>" if refs else ""]
    if tx.amount is not None:
        parts.append(f"<Amt Ccy={quoteattr(tx.currency)}>{escape(tx.amount)}</Amt>")
    parts.append(_tag("CdtDbtInd", tx.credit_debit))
    if tx.debtor or tx.debtor_iban:
        name = _tag("Nm", tx.debtor)
        party = f"<Pty>{name}</Pty>" if version >= "001.08" else name
        account = (
            f"<DbtrAcct><Id><IBAN>{escape(tx.debtor_iban)}</IBAN></Id></DbtrAcct>"
            if tx.debtor_iban
            else ""
        )
        parts.append(f"<RltdPties><Dbtr>{party}</Dbtr>{account}</RltdPties>")
    remittance = [_tag("Ustrd", text) for text in tx.ustrd]
    remittance += [
        "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
        f"<Ref>{escape(ref)}</Ref></CdtrRefInf></Strd>"
        for ref in tx.scor
    ]
    if tx.other_ref is not None:
        kind, ref = tx.other_ref
        remittance.append(
            f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Prtry>{escape(kind)}</Prtry></CdOrPrtry></Tp>"
            f"<Ref>{escape(ref)}</Ref></CdtrRefInf></Strd>"
        )
    if remittance:
        parts.append(f"<RmtInf>{''.join(remittance)}</RmtInf>")
    return f"<TxDtls>{''.join(parts)}</TxDtls>"


def _entry(entry: Entry, version: str) -> str:
    status = (
        f"<Sts><Cd>{entry.status}</Cd></Sts>" if version >= "001.05" else _tag("Sts", entry.status)
    )
    reversal = (
        "" if entry.reversal is None else _tag("RvslInd", "true" if entry.reversal else "false")
    )
    parts = [
        f"<Amt Ccy={quoteattr(entry.currency)}>{escape(entry.amount)}</Amt>",
        _tag("CdtDbtInd", entry.credit_debit),
        reversal,
        status,
        f"<BookgDt><Dt>{entry.booking_date}</Dt></BookgDt>" if entry.booking_date else "",
        f"<ValDt><Dt>{entry.value_date}</Dt></ValDt>" if entry.value_date else "",
        _tag("AcctSvcrRef", entry.acct_svcr_ref),
    ]
    if entry.txs or entry.batch_count is not None:
        batch = ""
        if entry.batch_count is not None or entry.batch_total is not None:
            total = (
                f"<TtlAmt Ccy={quoteattr(entry.currency)}>{entry.batch_total}</TtlAmt>"
                if entry.batch_total
                else ""
            )
            count = _tag("NbOfTxs", None if entry.batch_count is None else str(entry.batch_count))
            batch = f"<Btch>{count}{total}</Btch>"
        txs = "".join(_tx(tx, version) for tx in entry.txs)
        parts.append(f"<NtryDtls>{batch}{txs}</NtryDtls>")
    return f"<Ntry>{''.join(parts)}</Ntry>"


def camt054(
    *entries: Entry,
    version: str = "001.02",
    msg_id: str = "BANK-20260302-0001",
    created: str = "2026-03-02T06:15:00+01:00",
    iban: str = "SE4550000000058398257466",
    summary: str = "",
    doctype: str = "",
) -> bytes:
    """A camt.054 document holding ``entries`` in one notification, UTF-8 encoded."""
    body = "".join(_entry(entry, version) for entry in entries)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"{doctype}"
        f'<Document xmlns="{NAMESPACE.format(version=version)}">\n'
        "<BkToCstmrDbtCdtNtfctn>\n"
        f"<GrpHdr><MsgId>{escape(msg_id)}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>\n"
        f"<Ntfctn><Id>N-1</Id><CreDtTm>{created}</CreDtTm>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id></Acct>{summary}\n"
        f"{body}\n"
        "</Ntfctn>\n"
        "</BkToCstmrDbtCdtNtfctn>\n"
        "</Document>\n"
    ).encode()
