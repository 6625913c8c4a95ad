"""What every invoice-batch reader shares: batches are UTF-8, and a byte that is not is named by
its line (docs/invoice-batch-format.md; seed 002: error lists name where)."""

from __future__ import annotations

from typing import Final

from fordra.invoicing.domain.batch import reject_batch

__all__ = ["BOM", "decode_utf8", "not_utf8"]

# Windows tools write a byte-order mark; it carries no meaning in UTF-8.
BOM: Final[bytes] = b"\xef\xbb\xbf"


def not_utf8(data: bytes, exc: UnicodeDecodeError, offset: int = 0) -> tuple[int, str]:
    """The 1-based line of a byte that is not UTF-8, and a message naming the byte."""
    start = offset + exc.start
    line = data.count(b"\n", 0, start) + 1
    bad = data[start : start + 1].hex()
    return line, f"not UTF-8: byte 0x{bad} cannot be decoded; the batch must be encoded in UTF-8"


def decode_utf8(data: bytes) -> str:
    """The whole file as text, without a leading byte-order mark; ``BatchRejected`` naming the
    line of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig counts offsets after a leading BOM; add it back to find the line.
        offset = len(BOM) if data.startswith(BOM) else 0
        line, message = not_utf8(data, exc, offset)
        reject_batch(message, field=None, line=line)
