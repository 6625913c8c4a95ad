"""SIE 4i files: the general ledger's import format (domain.md §10: "Postings go to the general
ledger as SIE 4i (text, codepage 437, ``#VER`` balanced to zero)").

SIE 4 (SIE-Gruppen, "SIE filformat ver 4B") is a line-oriented text format: each line is a label
(``#VER``) and fields separated by blanks; a field with blanks is quoted, a quote inside it is
``\\"``; an object list is ``{dim "id" ...}``; the rows of a voucher follow it between ``{`` and
``}`` lines. ``#FORMAT PC8`` declares IBM codepage 437. Type 4i (import) carries vouchers only, no
balances. Amounts are kronor with a decimal point; debit positive, credit negative.

``write_sie4i`` writes one; ``parse_sie`` is a minimal reader (identification, accounts and
vouchers; every other label is skipped, as the format tells readers to) used to read our own
files back and checked against real programs' exports.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from fordra.kernel.errors import FordraError
from fordra.kernel.money import ORE_PER_KRONA
from fordra.projections.domain.chart_of_accounts import (
    AccountingError,
    PostingRow,
    Voucher,
)

# IBM codepage 437 is what SIE calls PC8; Python's codec name for it.
SIE_ENCODING = "cp437"
CRLF = "\r\n"
# SIE's own names for its reserved dimensions (SIE 4B, #DIM); others are named by number.
DIMENSION_NAMES: dict[int, str] = {1: "Kostnadsställe", 2: "Kostnadsbärare", 6: "Projekt"}
_ORGNR = re.compile(r"^\d{6}-\d{4}$")
_DATE = re.compile(r"^\d{8}$")


class SieFormatError(FordraError):
    """A SIE file this reader cannot accept, with the line at fault."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.line = line


# -- writing ----------------------------------------------------------------------------------


def write_sie4i(
    vouchers: Sequence[Voucher],
    *,
    company_name: str,
    orgnr: str,
    generated_at: dt.date,
    program: str = "Fordra",
    program_version: str = "0.1.0",
    from_date: dt.date,
    to_date: dt.date,
    accounts: Mapping[int, str],
) -> bytes:
    """The vouchers as a SIE 4i file in codepage 437 with CRLF line ends.

    ``accounts`` names the accounts; only those the vouchers use are written (#KONTO), and an
    account without a name gets "Konto NNNN" rather than failing the export. ``orgnr`` is the
    organisation number as NNNNNN-NNNN, or empty to leave #ORGNR out (it is optional in 4i)."""
    if from_date > to_date:
        raise ValueError(f"the period runs backwards: {from_date} is after {to_date}")
    if orgnr and not _ORGNR.match(orgnr):
        raise ValueError(f"organisation number {orgnr!r} is not NNNNNN-NNNN")
    for v in vouchers:
        # An export must hold what it says it holds: a voucher outside the period is a caller bug.
        if not from_date <= v.date <= to_date:
            raise ValueError(f"voucher {v.series} {v.number} of {v.date} is outside the period")
    lines = [
        "#FLAGGA 0",  # 0: not yet read by the receiving program
        "#FORMAT PC8",
        "#SIETYP 4",
        f"#PROGRAM {_quote(program)} {_quote(program_version)}",
        f"#GEN {_date(generated_at)}",
        f"#PROSA {_quote(f'Kundreskontra {from_date.isoformat()} -- {to_date.isoformat()}')}",
        f"#FNAMN {_quote(company_name)}",
    ]
    if orgnr:
        lines.append(f"#ORGNR {orgnr}")
    used = sorted({r.account for v in vouchers for r in v.rows})
    lines += [f"#KONTO {a} {_quote(accounts.get(a, f'Konto {a}'))}" for a in used]
    objects = sorted({o for v in vouchers for r in v.rows for o in r.objects})
    for dim in sorted({d for d, _ in objects}):
        lines.append(f"#DIM {dim} {_quote(DIMENSION_NAMES.get(dim, f'Dimension {dim}'))}")
    lines += [f"#OBJEKT {dim} {_quote(ident)} {_quote(ident)}" for dim, ident in objects]
    for v in vouchers:
        number = "" if v.number is None else str(v.number)
        lines.append(f"#VER {_quote(v.series)} {_quote(number)} {_date(v.date)} {_quote(v.text)}")
        lines.append("{")
        lines += [f"\t{_trans(r)}" for r in v.rows]
        lines.append("}")
    text = CRLF.join(lines) + CRLF
    return text.encode(SIE_ENCODING, errors="replace")


def _trans(row: PostingRow) -> str:
    objects = " ".join(f"{dim} {_quote(ident)}" for dim, ident in row.objects)
    out = f"#TRANS {row.account} {{{objects}}} {format_amount(row.amount_ore)}"
    if row.text:
        # The transaction date field comes before the text; empty means the voucher's date.
        out += f' "" {_quote(row.text)}'
    return out


def format_amount(amount_ore: int) -> str:
    """Kronor with a decimal point and two decimals (SIE never uses a decimal comma)."""
    sign = "-" if amount_ore < 0 else ""
    kronor, ore = divmod(abs(amount_ore), ORE_PER_KRONA)
    return f"{sign}{kronor}.{ore:02d}"


def _date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def _quote(value: str) -> str:
    """A quoted SIE field. Control characters (line breaks would split the record) become
    blanks; characters codepage 437 lacks become "?" on encoding rather than failing an export."""
    clean = "".join(
        " " if unicodedata.category(c).startswith("C") else c
        for c in unicodedata.normalize("NFC", value)
    )
    # SIE escapes only the quote; a backslash before the closing quote would read as an escape,
    # so backslashes (never in our texts) become slashes.
    return '"' + clean.replace("\\", "/").replace('"', '\\"') + '"'


# -- reading ----------------------------------------------------------------------------------


@dataclass
class SieFile:
    """What ``parse_sie`` reads from a SIE 4 file."""

    sie_type: str
    program: str | None = None
    format: str | None = None
    company_name: str | None = None
    orgnr: str | None = None
    accounts: dict[int, str] = field(default_factory=dict)
    vouchers: list[Voucher] = field(default_factory=list)


class _Objects(tuple[str, ...]):
    """The fields of a ``{...}`` object list, as one field of its line."""


_Token = str | _Objects


def parse_sie_vouchers(data: bytes) -> list[Voucher]:
    """The vouchers of a SIE 4 file (4e or 4i); raises ``SieFormatError`` naming the line."""
    return parse_sie(data).vouchers


def parse_sie(data: bytes) -> SieFile:
    """Read a SIE 4 file: identification, #KONTO and #VER with its #TRANS rows.

    The file is decoded as codepage 437, which SIE 4 prescribes (#FORMAT PC8); a file written in
    another encoding still parses, with its letters garbled. #RTRANS rows are skipped: the format
    has writers repeat each as a #TRANS for readers that do not know it; #BTRANS are rows removed
    before the voucher was final. Every voucher must have a valid date and balance to zero."""
    # A UTF-8 byte order mark is not SIE, but some writers add one: it is not part of line 1.
    text = data.removeprefix(b"\xef\xbb\xbf").decode(SIE_ENCODING)
    reader = _Reader()
    # Not str.splitlines: it also breaks at form feeds and other controls, miscounting lines.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line:
            reader.read(line, number)
    return reader.result()


class _Reader:
    """The reader's state between lines: a #VER waits for its "{", then collects rows to "}"."""

    def __init__(self) -> None:
        self.header: dict[str, list[_Token]] = {}
        self.accounts: dict[int, str] = {}
        self.vouchers: list[Voucher] = []
        self.opened: tuple[int, list[_Token]] | None = None  # (line, #VER fields)
        self.rows: list[PostingRow] | None = None  # inside the voucher's braces

    def read(self, line: str, number: int) -> None:
        if line == "{":
            if self.opened is None or self.rows is not None:
                raise SieFormatError("'{' without a #VER before it", line=number)
            self.rows = []
        elif line == "}":
            if self.opened is None or self.rows is None:
                raise SieFormatError("'}' without an open voucher", line=number)
            self.vouchers.append(_voucher(self.opened, self.rows))
            self.opened, self.rows = None, None
        elif not line.startswith("#"):
            raise SieFormatError(f"a line must start with a #label: {line[:40]!r}", line=number)
        elif self.rows is not None:
            self._row(self.rows, *_fields(line, number), number)
        elif self.opened is not None:
            raise SieFormatError("a #VER must be followed by '{' and its rows", line=self.opened[0])
        else:
            self._item(*_fields(line, number), number)

    @staticmethod
    def _row(rows: list[PostingRow], label: str, fields: list[_Token], number: int) -> None:
        if label == "#TRANS":
            rows.append(_trans_row(fields, number))
        elif label not in {"#RTRANS", "#BTRANS"}:
            raise SieFormatError(f"{label} inside a voucher", line=number)

    def _item(self, label: str, fields: list[_Token], number: int) -> None:
        if label == "#VER":
            self.opened = (number, fields)
        elif label == "#KONTO":
            account = _account(fields[0] if fields else "", number)
            self.accounts[account] = _text(fields[1]) if len(fields) > 1 else ""
        elif label in {"#SIETYP", "#PROGRAM", "#FORMAT", "#FNAMN", "#ORGNR"}:
            self.header[label] = fields
            if label == "#SIETYP" and _first(fields) != "4":
                # Said at once: the rest of a type 1-3 file is not worth reading for vouchers.
                raise SieFormatError(f"not a SIE 4 file (#SIETYP {_first(fields)})", line=number)

    def result(self) -> SieFile:
        if self.opened is not None:
            raise SieFormatError("the file ends inside a voucher", line=self.opened[0])
        sie_type = _first(self.header.get("#SIETYP"))
        if sie_type != "4":
            raise SieFormatError(f"not a SIE 4 file (#SIETYP {sie_type or 'missing'})")
        return SieFile(
            sie_type=sie_type,
            program=_first(self.header.get("#PROGRAM")),
            format=_first(self.header.get("#FORMAT")),
            # Some writers leave a name with blanks unquoted: rejoin its fields.
            company_name=" ".join(_text(f) for f in self.header.get("#FNAMN", [])) or None,
            orgnr=_first(self.header.get("#ORGNR")),
            accounts=self.accounts,
            vouchers=self.vouchers,
        )


def _voucher(opened: tuple[int, list[_Token]], rows: list[PostingRow]) -> Voucher:
    line, fields = opened
    if len(fields) < 3:
        raise SieFormatError("#VER needs a series, a number and a date", line=line)
    series, number, day = (_text(f) for f in fields[:3])
    if number and not number.isdigit():
        raise SieFormatError(f"voucher number {number!r} is not a number", line=line)
    try:
        return Voucher(
            series=series,
            number=int(number) if number else None,
            date=_parse_date(day, line),
            text=_text(fields[3]) if len(fields) > 3 else "",
            rows=tuple(rows),
        )
    except AccountingError as exc:
        raise SieFormatError(str(exc), line=line) from None


def _trans_row(fields: list[_Token], line: int) -> PostingRow:
    if len(fields) < 3 or not isinstance(fields[1], _Objects):
        raise SieFormatError("#TRANS needs an account, an object list {} and an amount", line=line)
    account = _account(fields[0], line)
    objects = fields[1]
    if len(objects) % 2:
        raise SieFormatError("an object list holds pairs of dimension and object", line=line)
    pairs: list[tuple[int, str]] = []
    for dim, ident in zip(objects[::2], objects[1::2], strict=True):
        if not dim.isdigit():
            raise SieFormatError(f"dimension {dim!r} is not a number", line=line)
        pairs.append((int(dim), ident))
    text = _text(fields[4]) if len(fields) > 4 else ""
    return PostingRow(
        account=account,
        amount_ore=_parse_amount(_text(fields[2]), line),
        objects=tuple(pairs),
        text=text or None,
    )


def _account(value: _Token, line: int) -> int:
    text = _text(value)
    if not text.isdigit():
        raise SieFormatError(f"account number {text!r} is not a number", line=line)
    return int(text)


def _parse_amount(value: str, line: int) -> int:
    try:
        ore = Decimal(value) * ORE_PER_KRONA
    except InvalidOperation:
        raise SieFormatError(f"amount {value!r} is not a number", line=line) from None
    if not ore.is_finite() or ore != ore.to_integral_value():
        raise SieFormatError(f"amount {value!r} is not whole öre", line=line)
    return int(ore)


def _parse_date(value: str, line: int) -> dt.date:
    if not _DATE.match(value):
        raise SieFormatError(f"date {value!r} is not YYYYMMDD", line=line)
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()  # noqa: DTZ007  (a date, no time)
    except ValueError:
        raise SieFormatError(f"date {value!r} does not exist", line=line) from None


def _text(value: _Token) -> str:
    if isinstance(value, _Objects):
        return " ".join(value)
    return value


def _first(fields: Iterable[_Token] | None) -> str | None:
    for f in fields or ():
        return _text(f)
    return None


# One field: a quoted string (``\\"`` inside is a quote; possessive, so that an unclosed quote
# fails instead of backtracking into a shorter string), a brace, or a bare word.
_FIELD = re.compile(
    r'\s*(?:"(?P<quoted>(?:\\"|[^"])*+)"|(?P<open>\{)|(?P<close>\})|(?P<bare>[^\s{}"]+))'
)


def _fields(line: str, number: int) -> tuple[str, list[_Token]]:
    """Split a line into its label and fields: blanks separate, quotes group, braces make one
    object-list field."""
    out: list[_Token] = []
    group: list[str] | None = None
    pos = 0
    while pos < len(line):
        match = _FIELD.match(line, pos)
        if match is None:  # only an unclosed quote fails to match (the line is stripped)
            raise SieFormatError("a quoted field is not closed", line=number)
        pos = match.end()
        if match["open"] is not None:
            if group is not None:
                raise SieFormatError("nested '{' in an object list", line=number)
            group = []
        elif match["close"] is not None:
            if group is None:
                raise SieFormatError("'}' without '{'", line=number)
            out.append(_Objects(group))
            group = None
        else:
            bare = match["bare"]
            token = bare if bare is not None else match["quoted"].replace('\\"', '"')
            if group is None:
                out.append(token)
            else:
                group.append(token)
    if group is not None:
        raise SieFormatError("an object list is not closed", line=number)
    if not out or isinstance(out[0], _Objects):
        raise SieFormatError("a line without a label", line=number)
    return out[0].upper(), out[1:]
