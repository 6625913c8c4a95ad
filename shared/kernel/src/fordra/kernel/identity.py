"""Swedish identity numbers: personnummer, samordningsnummer, organisationsnummer
(domain.md §2 "Identify each customer").

Every customer is identified by a personnummer or samordningsnummer (a person) or an
organisationsnummer (domain.md §2). This module turns whatever a source system, a form
or a bank file (BgMax record 29 carries an orgnr, domain.md §9) sends into one canonical
value, or says precisely why it cannot.

Canonical forms (what `IdentityNumber.canonical` holds and what is stored):

- persons (personnummer and samordningsnummer): 12 digits "YYYYMMDDNNNC". The century
  is explicit, so the value does not depend on the day it is read (the 10-digit form's
  "-"/"+" separator changes when the person turns 100). A samordningsnummer keeps its
  day + 60 ("19730288-9931"), since that is the number Skatteverket issued.
- organisations: 10 digits "NNNNNNNNNC" (the number Bolagsverket issues; the "16"
  prefix some systems add to make 12 digits is dropped).

Sole traders (enskild firma) use their personnummer as organisationsnummer. An input
that is a valid personnummer or samordningsnummer is therefore always a person, whatever
context it came from. There is no ambiguity to resolve: an organisationsnummer has a
third digit of 2 or more (domain.md §2), which as a personnummer would be a month of 20
or more, so no number is valid as both.

Why not simply `stdnum.se.personnummer` / `stdnum.se.orgnr` (python-stdnum 2.2)? We use
its Luhn implementation, but its personnummer module resolves the century against
`date.today()` (we need an injected `today` to be pure and testable), rejects every
samordningsnummer (day + 60 is an "InvalidComponent"), accepts a space or colon as
separator (the shared test vectors in personnummer/meta say "19090527 1474" is invalid)
and accepts birth number 000, which is never issued. Its orgnr module has neither the
third-digit rule nor the "16" prefix.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from stdnum import luhn

__all__ = [
    "IdentityKind",
    "IdentityNumber",
    "IdentityProblem",
    "InvalidIdentityNumber",
    "parse_identity_number",
]


class IdentityKind(StrEnum):
    """Which register issued the number (domain.md §2)."""

    PERSONNUMMER = "personnummer"
    SAMORDNINGSNUMMER = "samordningsnummer"
    ORGANISATIONSNUMMER = "organisationsnummer"


class IdentityProblem(StrEnum):
    """Why an input is not an identity number (machine-readable; the message says more)."""

    EMPTY = "empty"
    BAD_FORMAT = "bad_format"
    BAD_LENGTH = "bad_length"
    BAD_CENTURY = "bad_century"
    IMPOSSIBLE_DATE = "impossible_date"
    FUTURE_DATE = "future_date"
    BAD_BIRTH_NUMBER = "bad_birth_number"
    BAD_CHECK_DIGIT = "bad_check_digit"
    NOT_ORGANISATION = "not_organisation"


class InvalidIdentityNumber(ValueError):
    """Input that is not a valid Swedish identity number; `problem` says which rule
    failed and the message names it in words (domain.md §2)."""

    def __init__(self, problem: IdentityProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


# Samordningsnummer: the day of birth plus 60 (folkbokföringslagen 18 a §). Day 60 and
# month 00 mean "not known": Skatteverket issues such numbers when the birth date is
# incomplete (its own test list Test_samordn_nr2019.csv has 170 of them). That list also
# holds 24 numbers whose day does not exist in their month (e.g. 193002902397, "30
# February"), so for a samordningsnummer we check only month 00-12 and day 00-31: the
# date part is what was stated when the number was issued, not a verified birth date.
_COORDINATION_DAY_OFFSET: Final[int] = 60

# A person's 12-digit form begins with the century. Personnummer exist since 1947, so
# the oldest holders were born in the 1800s; Skatteverket's test lists start at 1890.
_PERSON_CENTURIES: Final[frozenset[str]] = frozenset({"18", "19", "20"})

# Some systems (e.g. SIE files, Bolagsverket exports) write an organisationsnummer as 12
# digits by prefixing "16", as the century of a personnummer would be written.
_ORGANISATION_PREFIX: Final[str] = "16"

# Digits, an optional "-" or "+" before the last four, nothing else. The 6+4 form is the
# 10-digit one, 8+4 the 12-digit one.
_SHAPE: Final[re.Pattern[str]] = re.compile(
    r"(?P<head>[0-9]{6}|[0-9]{8})(?P<sep>[-+]?)(?P<tail>[0-9]{4})"
)


@dataclass(frozen=True)
class IdentityNumber:
    """A validated Swedish identity number in canonical form (see the module docstring).

    Build it with parse_identity_number; the constructor only checks the shape of
    `canonical` so that the properties below cannot fail, not the check digit or date.
    """

    kind: IdentityKind
    canonical: str

    def __post_init__(self) -> None:
        # Accept the plain string value too (e.g. read back from storage), so that the
        # identity comparisons below always see the enum member.
        object.__setattr__(self, "kind", IdentityKind(self.kind))
        expected = 12 if self.is_person else 10
        digits = self.canonical.isascii() and self.canonical.isdigit()
        if len(self.canonical) != expected or not digits:
            raise ValueError(f"a {self.kind} is stored as {expected} digits: {self.canonical!r}")

    @property
    def is_person(self) -> bool:
        """True for personnummer and samordningsnummer (sole traders included)."""
        return self.kind is not IdentityKind.ORGANISATIONSNUMMER

    @property
    def birth_date(self) -> date | None:
        """The person's date of birth; None for an organisation, and for a
        samordningsnummer whose month or day is not known (00) or not a real date."""
        if not self.is_person:
            return None
        year, month, day = (
            int(self.canonical[0:4]),
            int(self.canonical[4:6]),
            int(self.canonical[6:8]),
        )
        if self.kind is IdentityKind.SAMORDNINGSNUMMER:
            day -= _COORDINATION_DAY_OFFSET
        # A samordningsnummer may leave the month or day unknown (00) or name a day the
        # month does not have; a personnummer always holds a real date.
        return date(year, month, day) if _is_real_date(year, month, day) else None

    @property
    def formatted(self) -> str:
        """The form to show people: "19121212-1212" for persons (12 digits, always "-"
        because the century is written out), "556036-0793" for organisations."""
        if self.is_person:
            return f"{self.canonical[:8]}-{self.canonical[8:]}"
        return f"{self.canonical[:6]}-{self.canonical[6:]}"

    @property
    def short_form(self) -> str:
        """The 10 digits without separator: for a sole trader, this is the number used
        as organisationsnummer."""
        return self.canonical[2:] if self.is_person else self.canonical

    @property
    def vat_number(self) -> str:
        """The Swedish VAT registration number for this identity: "SE", the 10 digits and
        "01" (e.g. 5560160680 -> SE556016068001; a sole trader uses the personnummer)."""
        return f"SE{self.short_form}01"

    def __str__(self) -> str:
        return self.formatted


def parse_identity_number(raw: str, *, today: date) -> IdentityNumber:
    """Parse a personnummer, samordningsnummer or organisationsnummer (domain.md §2).

    Accepted forms (surrounding whitespace is ignored; inside, only one "-" or "+" before
    the last four digits):

    - persons, 12 digits: "YYYYMMDDNNNC", "YYYYMMDD-NNNC" ("+" is accepted there too and
      carries no meaning, since the century is written out);
    - persons, 10 digits: "YYMMDD-NNNC" (under 100 in the current calendar year),
      "YYMMDD+NNNC" (100 or older from the calendar year the person turns 100,
      folkbokföringslagen 18 §), "YYMMDDNNNC" (read as "-": without a separator the
      "+" is lost, so a centenarian written that way resolves to the wrong century).
      `today` fixes the century: with "-" the birth year is the one in
      [today.year - 99, today.year] ending in YY; "+" is 100 years earlier;
    - organisations: "NNNNNNNNNC", "NNNNNN-NNNC", and the same prefixed with "16".

    Rules for persons: a personnummer needs a real date; a samordningsnummer has day + 60
    and needs only month 00-12 and day 60-91 (00 meaning "unknown"; Skatteverket also
    issues days the month lacks); the birth date may not be after `today`; the birth
    number is not 000; the Luhn check digit is computed over the 10 digits YYMMDDNNNC.
    Organisations need a third digit >= 2 and a Luhn check digit (domain.md §2).
    Interim numbers (a letter in the birth number, e.g. "000101-T220") are not identity
    numbers issued by Skatteverket or Bolagsverket and are rejected.

    Raises InvalidIdentityNumber naming what is wrong.
    """
    if isinstance(today, datetime):
        # A datetime is a date but does not compare with one; use its calendar date.
        today = today.date()
    text = raw.strip()
    match = _SHAPE.fullmatch(text)
    if match is None:
        raise _shape_error(raw, text)
    head, sep, tail = match["head"], match["sep"], match["tail"]

    if len(head) == 8:
        prefix = head[:2]
        if prefix == _ORGANISATION_PREFIX:
            return _parse_organisation(head[2:] + tail, sep, raw)
        if prefix not in _PERSON_CENTURIES:
            raise InvalidIdentityNumber(
                IdentityProblem.BAD_CENTURY,
                f"{raw!r}: a 12-digit number must begin with a century (18, 19 or 20) "
                f"or the organisation prefix 16, not {prefix}",
            )
        return _parse_person(int(head[:4]), head[4:8], tail, raw, today)

    # Ten digits. The third digit decides: an organisationsnummer has one of 2 or more
    # (domain.md §2), a person's month never starts with 2 or more (samordningsnummer
    # add 60 to the day, not the month).
    if head[2] >= "2":
        return _parse_organisation(head + tail, sep, raw)
    return _parse_person(_resolve_year(int(head[:2]), sep, today), head[2:6], tail, raw, today)


def _shape_error(raw: str, text: str) -> InvalidIdentityNumber:
    """The most helpful message for an input that does not have the accepted shape."""
    if not text:
        return InvalidIdentityNumber(IdentityProblem.EMPTY, "identity number is empty")
    if any(c.isascii() and c.isalpha() for c in text):
        return InvalidIdentityNumber(
            IdentityProblem.BAD_FORMAT,
            f"{raw!r} contains a letter: only digits are allowed (interim numbers such as "
            "000101-T220 are not accepted as identity numbers)",
        )
    stray = sorted({c for c in text if c not in "0123456789-+"})
    if stray:
        return InvalidIdentityNumber(
            IdentityProblem.BAD_FORMAT,
            f"{raw!r} contains {', '.join(repr(c) for c in stray)}: only digits and one "
            "'-' or '+' before the last four digits are allowed",
        )
    digit_count = sum(c.isdigit() for c in text)
    if digit_count not in (10, 12):
        return InvalidIdentityNumber(
            IdentityProblem.BAD_LENGTH,
            f"{raw!r} has {digit_count} digits; expected 10 (YYMMDD-NNNC, NNNNNN-NNNC) or "
            "12 (YYYYMMDD-NNNC, 16NNNNNN-NNNC)",
        )
    return InvalidIdentityNumber(
        IdentityProblem.BAD_FORMAT,
        f"{raw!r}: a separator may only be one '-' or '+' directly before the last four digits",
    )


def _resolve_year(yy: int, sep: str, today: date) -> int:
    """The full birth year of a 10-digit personnummer (folkbokföringslagen 18 §): "-" (or
    none) for people who turn at most 99 this calendar year, "+" from the calendar year
    they turn 100."""
    year = today.year - (today.year - yy) % 100
    return year - 100 if sep == "+" else year


def _parse_person(year: int, mmdd: str, tail: str, raw: str, today: date) -> IdentityNumber:
    """Validate a person's number once the birth year is known."""
    month, day = int(mmdd[:2]), int(mmdd[2:])
    coordination = day >= _COORDINATION_DAY_OFFSET
    kind = IdentityKind.SAMORDNINGSNUMMER if coordination else IdentityKind.PERSONNUMMER
    real_day = day - _COORDINATION_DAY_OFFSET if coordination else day
    shown = f"{year:04d}-{mmdd[:2]}-{real_day:02d}"

    # Month 00 and day 00 (day 60) mean "unknown" and only a samordningsnummer has them;
    # its day need not exist in its month either (see _COORDINATION_DAY_OFFSET).
    if month > 12 or (month == 0 and not coordination):
        allowed = "01-12, or 00 in a samordningsnummer"
        raise InvalidIdentityNumber(
            IdentityProblem.IMPOSSIBLE_DATE,
            f"{raw!r}: impossible birth date: month {mmdd[:2]} does not exist ({allowed})",
        )
    if day == 0 or 31 < day < _COORDINATION_DAY_OFFSET or real_day > 31:
        raise InvalidIdentityNumber(
            IdentityProblem.IMPOSSIBLE_DATE,
            f"{raw!r}: impossible birth date: day {mmdd[2:]} is neither a day of the month "
            "(01-31) nor a samordningsnummer day (60-91)",
        )
    if not coordination and not _is_real_date(year, month, day):
        raise InvalidIdentityNumber(
            IdentityProblem.IMPOSSIBLE_DATE,
            f"{raw!r}: impossible birth date: {shown} does not exist",
        )

    # The earliest date the (possibly partial) birth date can stand for must not be later
    # than today: nobody has a number before being born.
    if _is_real_date(year, month, real_day):
        earliest = date(year, month, real_day)
    else:
        earliest = date(year, month or 1, 1)
    if earliest > today:
        raise InvalidIdentityNumber(
            IdentityProblem.FUTURE_DATE,
            f"{raw!r}: birth date {shown} is after {today.isoformat()}",
        )

    if tail[:3] == "000":
        raise InvalidIdentityNumber(
            IdentityProblem.BAD_BIRTH_NUMBER,
            f"{raw!r}: birth number 000 is never issued (001-999)",
        )

    ten = f"{year % 100:02d}{mmdd}{tail}"
    _check_luhn(ten, raw)
    return IdentityNumber(kind, f"{year:04d}{mmdd}{tail}")


def _parse_organisation(ten: str, sep: str, raw: str) -> IdentityNumber:
    """Validate a 10-digit organisationsnummer (domain.md §2)."""
    if sep == "+":
        raise InvalidIdentityNumber(
            IdentityProblem.BAD_FORMAT,
            f"{raw!r}: '+' marks a person aged 100 or more; an organisationsnummer uses '-'",
        )
    if ten[2] < "2":
        # Only reachable through the "16" prefix: unprefixed 10-digit numbers with a
        # third digit below 2 are read as persons.
        raise InvalidIdentityNumber(
            IdentityProblem.NOT_ORGANISATION,
            f"{raw!r}: after the 16 prefix, an organisationsnummer needs a third digit of "
            f"2 or more, not {ten[2]}",
        )
    _check_luhn(ten, raw)
    return IdentityNumber(IdentityKind.ORGANISATIONSNUMMER, ten)


def _is_real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _check_luhn(ten: str, raw: str) -> None:
    """Luhn (mod 10) over the 10 digits, as Skatteverket and Bolagsverket define it."""
    if not luhn.is_valid(ten):
        expected = luhn.calc_check_digit(ten[:-1])
        raise InvalidIdentityNumber(
            IdentityProblem.BAD_CHECK_DIGIT,
            f"{raw!r}: check digit is {ten[-1]}, expected {expected}",
        )
