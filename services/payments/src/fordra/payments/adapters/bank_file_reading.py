"""Reading the bytes of a bank file: what the camt.054, BgMax and Autogiro parsers share.

- The size check every parser makes before anything reads the content (``check_size``; the limit
  is a setting, ``DEFAULT_MAX_BYTES`` only its default).
- The fixed-width records of the flat formats, BgMax and Autogiro (domain.md §9: "80-character
  Latin-1 records"): ``split_lines`` and ``record_lines`` cut the file into numbered lines,
  ``fixed_width_text`` refuses a line that is not a record (TAB, UTF-8 re-encoding, control bytes,
  text past the width), ``FixedRecord`` reads a field by the positions Bankgirot's manuals give.

Each malformed field or line is noted in the file's ``Problems`` (domain/bank_file.py), so the
rejection lists every problem with its line (domain.md §9: "each rejected file gets an error list
with line numbers"). Tested through the parsers on the fixtures of ``tests/payments/test_bgmax.py``,
``test_autogiro.py`` and ``test_parser_fuzz.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Final

from fordra.payments.domain.bank_file import BankFileRejected, Problems

__all__ = [
    "DEFAULT_MAX_BYTES",
    "RECORD_WIDTH",
    "FixedRecord",
    "FlatLine",
    "check_size",
    "fixed_width_text",
    "is_ascii_digits",
    "record_lines",
    "split_lines",
]

# A setting the caller passes in (ingestion settings); this is only the default. 50 MB holds far
# more payments than a municipality receives in a day, and stops a hostile file before parsing.
DEFAULT_MAX_BYTES: Final[int] = 50 * 1024 * 1024

# BgMax and Autogiro records are 80 characters (domain.md §9; Bankgirot's technical manuals).
RECORD_WIDTH: Final[int] = 80


def check_size(data: bytes, max_bytes: int, *, file_format: str | None = None) -> None:
    """Refuse a file larger than ``max_bytes`` before anything reads it (and an empty one)."""
    if len(data) > max_bytes:
        raise BankFileRejected.single(
            f"the file is {len(data)} bytes, over the limit of {max_bytes} bytes: "
            "refused before parsing",
            file_format=file_format,
        )
    if not data.strip():
        raise BankFileRejected.single("the file is empty", file_format=file_format)


# ---------------------------------------------------------------------------------------------
# Flat files (BgMax, Autogiro): lines of fixed-width ISO-8859-1 records.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlatLine:
    """One line of a flat file: its 1-based number, raw bytes (line ending removed)."""

    number: int
    raw: bytes

    @property
    def is_blank(self) -> bool:
        return not self.raw.strip()

    @property
    def text(self) -> str:
        # ISO-8859-1 maps every byte to one character, so positions stay byte positions.
        return self.raw.decode("latin-1")


def split_lines(data: bytes) -> Iterator[FlatLine]:
    """Split on LF, dropping one CR before it: both CRLF and LF files occur (fixtures).

    Lazy, so that a damaged file stops at the problem limit without splitting the rest.
    """
    start, number, size = 0, 0, len(data)
    while start < size:
        end = data.find(b"\n", start)
        end = size if end < 0 else end
        number += 1
        yield FlatLine(number, data[start:end].removesuffix(b"\r"))
        start = end + 1  # the newline after the last record ends it; it opens no new line


def record_lines(lines: Iterable[FlatLine], problems: Problems) -> Iterator[FlatLine]:
    """The non-blank lines; a blank line is a problem only when a record follows it.

    Blank lines after the last record are harmless (the Autogiro BgMax example ends in five).
    """
    blanks: list[int] = []
    for line in lines:
        if line.is_blank:
            blanks.append(line.number)
            continue
        for number in blanks:
            problems.add("empty line between records", line=number)
        blanks.clear()
        yield line


def _utf8_reencoded(raw: bytes) -> str | None:
    """The first non-ASCII character if ``raw`` is valid UTF-8 with multi-byte sequences."""
    if all(b < 0x80 for b in raw):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return next(ch for ch in text if ord(ch) >= 0x80)


def fixed_width_text(
    line: FlatLine, problems: Problems, *, width: int = RECORD_WIDTH
) -> str | None:
    """The record's text padded to ``width``, or None after noting why the line is damaged.

    Refused: TAB and other control characters (a TAB where spaces belong shifts every later
    field: the file was edited by hand), a UTF-8 re-encoding of the ISO-8859-1 format (å becomes
    two bytes and shifts the positions), and text past ``width``. Accepted: a line shorter than
    ``width`` (trailing padding lost in transfer is read as spaces, so a missing field still
    shows up as blank where a value is required) and spaces past ``width``.
    """
    raw = line.raw
    ok = True
    tab = raw.find(b"\t")
    if tab >= 0:
        problems.add(
            f"TAB character at position {tab + 1}: records are fixed-width and padded with "
            "spaces; a TAB shifts every later field (was the file edited by hand?)",
            line=line.number,
        )
        ok = False
    multibyte = _utf8_reencoded(raw)
    if multibyte is not None:
        problems.add(
            f"the line is UTF-8 encoded ({multibyte!r} takes {len(multibyte.encode())} bytes): "
            "the format is ISO-8859-1 (Latin-1), and a re-encoded file shifts every later position",
            line=line.number,
        )
        return None
    control = next(
        (i for i, b in enumerate(raw) if (b < 0x20 and b != 0x09) or 0x7F <= b <= 0x9F), None
    )
    if control is not None:
        problems.add(
            f"control byte 0x{raw[control]:02X} at position {control + 1}: not a character of "
            "an ISO-8859-1 record",
            line=line.number,
        )
        ok = False
    text = line.text
    if len(text) > width and text[width:].strip(" "):
        problems.add(
            f"{len(text)} characters: records are {width} characters wide", line=line.number
        )
        ok = False
    return text[:width].ljust(width) if ok else None


@dataclass(frozen=True, slots=True)
class FixedRecord:
    """A fixed-width record with its line number; reads fields as Bankgirot's manuals number them
    (1-based, inclusive) and notes a malformed field in ``problems`` instead of raising.
    """

    text: str
    line: int
    problems: Problems

    @property
    def code(self) -> str:
        """The transaction code (*transaktionskod*, TK): the record type in positions 1-2."""
        return self.text[:2]

    def field(self, start: int, end: int) -> str:
        return self.text[start - 1 : end]

    def problem(self, message: str) -> None:
        self.problems.add(message, line=self.line)

    def number(self, start: int, end: int, what: str, *, blank_ok: bool = False) -> int | None:
        """Digits at ``start``..``end`` as an int; None (and a problem unless blank is allowed)."""
        value = self.field(start, end)
        if blank_ok and not value.strip():
            return None
        if not is_ascii_digits(value):
            self.problem(f"{what} (positions {start}-{end}) must be digits, got {value!r}")
            return None
        return int(value)

    def date(self, start: int, what: str) -> date | None:
        """A date YYYYMMDD at ``start``..``start + 7``."""
        value = self.field(start, start + 7)
        parsed = _parse_date(value)
        if parsed is None:
            self.problem(
                f"{what} (positions {start}-{start + 7}) is not a date YYYYMMDD: {value!r}"
            )
        return parsed

    def timestamp(self, start: int, what: str, zone: tzinfo) -> datetime | None:
        """YYYYMMDDHHMMSS and six digits of microseconds at ``start``..``start + 19``."""
        value = self.field(start, start + 19)
        parsed: datetime | None = None
        day = _parse_date(value[:8])
        if day is not None and is_ascii_digits(value):
            try:
                parsed = datetime(
                    day.year,
                    day.month,
                    day.day,
                    int(value[8:10]),
                    int(value[10:12]),
                    int(value[12:14]),
                    int(value[14:20]),
                    tzinfo=zone,
                )
            except ValueError:
                parsed = None
        if parsed is None:
            self.problem(
                f"{what} (positions {start}-{start + 19}) must be YYYYMMDDHHMMSS and six digits, "
                f"got {value!r}"
            )
        return parsed


def is_ascii_digits(text: str) -> bool:
    """Only 0-9 (``str.isdigit`` also takes "²" and other scripts' digits)."""
    return text.isascii() and text.isdigit()


def _parse_date(value: str) -> date | None:
    if len(value) != 8 or not is_ascii_digits(value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None
