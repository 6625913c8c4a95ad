"""Tests for Swedish identity numbers (domain.md §2), against the shared fixtures.

The fixtures (shared/fixtures/identity/, provenance in its SOURCES.md) are read as they
are. Where a fixture's "valid" flag means something narrower than our question ("is this
a customer identity?"), the test says so:

- personnummer-meta/interim.json: interim numbers (a letter in the birth number) are
  "valid" there only under the personnummer libraries' opt-in `allow_interim_number`.
  They are not issued by Skatteverket and cannot identify a customer, so we reject all
  twelve.
- personnummer-meta/orgnumber.json: "valid": false means "not a personnummer". They are
  valid organisationsnummer (AP-fonder), so we accept them as such, never as persons.
- personnummer-meta/list.json short_format without a separator (e.g. "0905271474" for
  1909-05-27): the "+" of a centenarian is lost, so we read the number as "-" (2009).
  Validity agrees; only the century of such entries is not compared.
- byrokrat-id/skatteverket/Test_samordn_nr2019.csv: 170 of Skatteverket's 1,500 test
  samordningsnummer have month 00 and/or day 60 (birth date not fully known) and 24 more
  a day their month lacks (e.g. 193002902397, "30 February"). The personnummer libraries
  reject all 194; Skatteverket issues them, so we accept them, with birth_date None. A
  personnummer must still hold a real date.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from fordra.kernel.identity import (
    IdentityKind,
    IdentityNumber,
    IdentityProblem,
    InvalidIdentityNumber,
    parse_identity_number,
)
from tests.fixtures_path import shared_fixtures

# A fixed "today" so that century resolution does not change with the date the suite
# runs. In 2026 people born in 1926 or earlier write "+".
TODAY = date(2026, 6, 1)

_KIND_BY_TYPE = {"ssn": IdentityKind.PERSONNUMMER, "con": IdentityKind.SAMORDNINGSNUMMER}


def _identity_dir() -> Path:
    return shared_fixtures("identity")


def _json(relative: str) -> Any:
    return json.loads((_identity_dir() / relative).read_text(encoding="utf-8"))


def _parse(raw: str) -> IdentityNumber:
    return parse_identity_number(raw, today=TODAY)


def _is_valid(raw: str) -> bool:
    try:
        _parse(raw)
    except InvalidIdentityNumber:
        return False
    return True


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


# --- personnummer/meta -------------------------------------------------------------------

_PERSON_FORMATS = ("long_format", "short_format", "separated_format", "separated_long")


def _person_cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases: list[tuple[str, str, dict[str, Any]]] = []
    for entry in _json("personnummer-meta/list.json"):
        for fmt in _PERSON_FORMATS:
            cases.append((fmt, entry[fmt], entry))
        cases.append(("integer", str(entry["integer"]), entry))
    return cases


def test_personnummer_meta_list_has_the_documented_entries() -> None:
    entries = _json("personnummer-meta/list.json")
    assert len(entries) == 14
    assert {e["type"] for e in entries} == {"ssn", "con"}


@pytest.mark.parametrize(
    ("fmt", "raw", "entry"),
    _person_cases(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_personnummer_meta_list(fmt: str, raw: str, entry: dict[str, Any]) -> None:
    if not entry["valid"]:
        with pytest.raises(InvalidIdentityNumber):
            _parse(raw)
        return
    parsed = _parse(raw)
    assert parsed.kind is _KIND_BY_TYPE[entry["type"]]
    assert parsed.is_person
    if fmt != "short_format":
        # Every form that carries the century or the "-"/"+" resolves to the same person.
        assert parsed.canonical == entry["long_format"]
        assert parsed.formatted == f"{entry['long_format'][:8]}-{entry['long_format'][8:]}"
    assert parsed.short_form == entry["short_format"]


def test_personnummer_meta_invalid_reasons() -> None:
    # Why the invalid vectors are invalid, so that they fail for the right reason.
    expected = {
        "201509160006": IdentityProblem.BAD_BIRTH_NUMBER,  # Luhn is fine, 000 is not issued
        "197004289895": IdentityProblem.BAD_CHECK_DIGIT,
        "196004309886": IdentityProblem.BAD_CHECK_DIGIT,
        "194205669899": IdentityProblem.BAD_CHECK_DIGIT,
        "197210869924": IdentityProblem.BAD_CHECK_DIGIT,
        "19090527 1474": IdentityProblem.BAD_FORMAT,  # a space is not a separator
        "0": IdentityProblem.BAD_LENGTH,
    }
    for raw, problem in expected.items():
        with pytest.raises(InvalidIdentityNumber) as exc:
            _parse(raw)
        assert exc.value.problem is problem, raw


def test_personnummer_meta_structured() -> None:
    data = _json("personnummer-meta/structured.json")
    checked = 0
    for type_, groups in data.items():
        for representation in ("integer", "string"):
            for raw in groups[representation]["valid"]:
                parsed = _parse(str(raw))
                assert parsed.kind is _KIND_BY_TYPE[type_], raw
                checked += 1
            for raw in groups[representation]["invalid"]:
                assert not _is_valid(str(raw)), raw
                checked += 1
    assert checked == 70


def test_personnummer_meta_interim_numbers_are_rejected() -> None:
    # Deliberate: 11 of these are "valid" interim numbers there, none is accepted here.
    entries = _json("personnummer-meta/interim.json")
    assert len(entries) == 12
    for entry in entries:
        for fmt in _PERSON_FORMATS:
            with pytest.raises(InvalidIdentityNumber, match="interim") as exc:
                _parse(entry[fmt])
            assert exc.value.problem is IdentityProblem.BAD_FORMAT


def test_personnummer_meta_orgnumbers_are_organisations_not_persons() -> None:
    # "valid": false there means "not a personnummer"; they are valid organisationsnummer.
    entries = _json("personnummer-meta/orgnumber.json")
    assert len(entries) == 6
    for entry in entries:
        assert entry["valid"] is False
        for raw in (str(entry["integer"]), entry["short_format"], entry["separated_format"]):
            parsed = _parse(raw)
            assert parsed.kind is IdentityKind.ORGANISATIONSNUMMER, raw
            assert not parsed.is_person
            assert parsed.birth_date is None
            assert parsed.canonical == entry["short_format"]
            assert parsed.formatted == entry["separated_format"]


# --- organisationsnummer/meta ------------------------------------------------------------


def test_organisationsnummer_meta_list() -> None:
    entries = _json("organisationsnummer-meta/list.json")
    assert len(entries) == 24
    for entry in entries:
        forms = (entry["input"], entry["long_format"], entry["short_format"])
        if not entry["valid"]:
            for raw in forms:
                with pytest.raises(InvalidIdentityNumber, match="check digit") as exc:
                    _parse(raw)
                assert exc.value.problem is IdentityProblem.BAD_CHECK_DIGIT
            continue
        parsed = _parse(entry["input"])
        assert parsed.vat_number == entry["vat_number"]
        assert parsed.short_form == entry["short_format"]
        if entry["type"] == "Enskild firma":
            # A sole trader's organisationsnummer is the personnummer: a person.
            assert parsed.is_person, entry
            assert parsed.canonical == entry["input"]
            # "121212+1212": the "+" form resolves to 1912 again.
            assert _parse(entry["long_format"]).canonical == entry["input"]
            # The bare 10 digits are a valid person too (century not compared, see top).
            assert _parse(entry["short_format"]).is_person
        else:
            assert parsed.kind is IdentityKind.ORGANISATIONSNUMMER, entry
            assert parsed.canonical == entry["short_format"]
            assert parsed.formatted == entry["long_format"]
            for raw in forms:
                assert _parse(raw) == parsed


def test_organisationsnummer_meta_sole_traders_include_samordningsnummer() -> None:
    entries = _json("organisationsnummer-meta/list.json")
    kinds = {
        _parse(e["input"]).kind for e in entries if e["type"] == "Enskild firma" and e["valid"]
    }
    assert kinds == {IdentityKind.PERSONNUMMER, IdentityKind.SAMORDNINGSNUMMER}


# --- Skatteverket's official test numbers --------------------------------------------------

_SKATTEVERKET = {
    "Testpersonnummer_170117.csv": ("Testpersonnummer", 19722, IdentityKind.PERSONNUMMER),
    "Testpersonnummer_2019.csv": ("Testpersonnummer", 365, IdentityKind.PERSONNUMMER),
    "2018Testpersonnummer_2018_171219.csv": ("Testpersonnummer", 365, IdentityKind.PERSONNUMMER),
    "Test_samordn_nr2019.csv": ("SAMORDNINGSNUMMER", 1500, IdentityKind.SAMORDNINGSNUMMER),
}


def _ten_digit_form(canonical: str) -> str:
    """The 10-digit form as of TODAY: "+" from the calendar year the person turns 100."""
    sep = "+" if TODAY.year - int(canonical[:4]) >= 100 else "-"
    return f"{canonical[2:8]}{sep}{canonical[8:]}"


@pytest.mark.parametrize("name", sorted(_SKATTEVERKET))
def test_skatteverket_test_numbers_are_all_valid(name: str) -> None:
    header, count, kind = _SKATTEVERKET[name]
    path = _identity_dir() / "byrokrat-id" / "skatteverket" / name
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].strip() == header
    rows = [line.strip() for line in lines[1:] if line.strip()]
    assert len(rows) == count

    failures: list[str] = []
    unknown_birth_dates = 0
    for row in rows:
        try:
            parsed = _parse(row)
            # The 10-digit form with "-"/"+" must resolve to the same century.
            again = _parse(_ten_digit_form(row))
        except InvalidIdentityNumber as exc:
            failures.append(f"{row}: {exc}")
            continue
        if parsed.kind is not kind or parsed.canonical != row or again != parsed:
            failures.append(f"{row}: parsed as {parsed!r}, 10-digit form as {again!r}")
        if parsed.birth_date is None:
            unknown_birth_dates += 1
    assert failures == []
    # Only samordningsnummer may lack a birth date: 170 have month 00 or day 60, and 24
    # name a day their month does not have (e.g. 193002902397, "30 February").
    expected_unknown = 170 + 24 if kind is IdentityKind.SAMORDNINGSNUMMER else 0
    assert unknown_birth_dates == expected_unknown


# --- behaviour and messages --------------------------------------------------------------


def test_formatting_examples() -> None:
    person = _parse("121212-1212")
    assert person.canonical == "201212121212"
    centenarian = _parse("121212+1212")
    assert centenarian.canonical == "191212121212"
    assert centenarian.formatted == "19121212-1212"
    assert str(centenarian) == "19121212-1212"
    org = _parse("5560360793")
    assert org.canonical == "5560360793"
    assert org.formatted == "556036-0793"
    assert org.short_form == "5560360793"


def test_birth_dates() -> None:
    assert _parse("19121212-1212").birth_date == date(1912, 12, 12)
    assert _parse("20000229-2399").birth_date == date(2000, 2, 29)
    # Samordningsnummer: the day less 60.
    coordination = _parse("730288-9931")
    assert coordination.kind is IdentityKind.SAMORDNINGSNUMMER
    assert coordination.canonical == "197302889931"
    assert coordination.birth_date == date(1973, 2, 28)
    # Month 00 (unknown) and "30 February", both from Skatteverket's list: no birth date.
    assert _parse("191500722390").birth_date is None
    assert _parse("193002902397").birth_date is None
    # A personnummer's date must exist.
    with pytest.raises(InvalidIdentityNumber, match="1930-02-30 does not exist"):
        _parse("19300230-" + _with_check_digit("300230239")[6:])
    assert _parse("5560360793").birth_date is None


def test_century_resolution_follows_the_calendar_year() -> None:
    dec_1926 = _with_check_digit("261231980")
    jan_1927 = _with_check_digit("270101980")
    # In 2026, someone born in 1926 writes "+" all year, even before the birthday.
    assert _parse(f"{dec_1926[:6]}+{dec_1926[6:]}").canonical == f"19{dec_1926}"
    # "-" with 26 can only be 2026, and a birth date after TODAY is impossible.
    with pytest.raises(InvalidIdentityNumber, match="after 2026-06-01") as exc:
        _parse(f"{dec_1926[:6]}-{dec_1926[6:]}")
    assert exc.value.problem is IdentityProblem.FUTURE_DATE
    assert _parse(f"{jan_1927[:6]}-{jan_1927[6:]}").canonical == f"19{jan_1927}"
    assert _parse(jan_1927).canonical == f"19{jan_1927}"
    # The same number on a later day resolves to the later century.
    later = parse_identity_number(f"{dec_1926[:6]}-{dec_1926[6:]}", today=date(2027, 1, 1))
    assert later.canonical == f"20{dec_1926}"


def test_today_may_be_a_datetime() -> None:
    parsed = parse_identity_number("121212-1212", today=datetime(2026, 6, 1, 12, 0))
    assert parsed.canonical == "201212121212"


def test_twelve_digit_forms_ignore_the_separator() -> None:
    plus = _parse("20000229+2399")
    assert plus == _parse("20000229-2399") == _parse("200002292399")


def test_surrounding_whitespace_is_ignored() -> None:
    assert _parse("  556036-0793\n").canonical == "5560360793"


def test_sixteen_prefix() -> None:
    assert _parse("16556036-0793") == _parse("165560360793") == _parse("5560360793")
    with pytest.raises(InvalidIdentityNumber, match="third digit") as exc:
        _parse("161212121212")
    assert exc.value.problem is IdentityProblem.NOT_ORGANISATION


def _with_check_digit(nine: str) -> str:
    return nine + luhn.calc_check_digit(nine)


@pytest.mark.parametrize(
    ("raw", "problem", "words"),
    [
        ("", IdentityProblem.EMPTY, "empty"),
        ("   ", IdentityProblem.EMPTY, "empty"),
        ("55603607", IdentityProblem.BAD_LENGTH, "8 digits"),
        ("5560360793123", IdentityProblem.BAD_LENGTH, "13 digits"),
        ("556036 0793", IdentityProblem.BAD_FORMAT, "' '"),
        ("556-0360793", IdentityProblem.BAD_FORMAT, "last four"),
        ("556036--0793", IdentityProblem.BAD_FORMAT, "last four"),
        ("000101-T220", IdentityProblem.BAD_FORMAT, "interim"),
        ("556036-0794", IdentityProblem.BAD_CHECK_DIGIT, "check digit is 4, expected 3"),
        ("556036+0793", IdentityProblem.BAD_FORMAT, "'\\+'"),
        ("175560360793", IdentityProblem.BAD_CENTURY, "not 17"),
        ("19121212-1213", IdentityProblem.BAD_CHECK_DIGIT, "expected 2"),
        (
            "19700230-" + _with_check_digit("700230123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "1970-02-30",
        ),
        (
            "19010229-" + _with_check_digit("010229123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "1901-02-29",
        ),
        (
            "19701301-" + _with_check_digit("701301123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "month 13",
        ),
        (
            "19701372-" + _with_check_digit("701372123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "month 13",
        ),
        (
            "19700001-" + _with_check_digit("700001123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "month 00",
        ),
        (
            "19700100-" + _with_check_digit("700100123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "day 00",
        ),
        (
            "19700145-" + _with_check_digit("700145123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "day 45",
        ),
        (
            "19700292-" + _with_check_digit("700292123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "day 92",
        ),
        (
            "19700092-" + _with_check_digit("700092123")[6:],
            IdentityProblem.IMPOSSIBLE_DATE,
            "60-91",
        ),
        ("20300101-" + _with_check_digit("300101123")[6:], IdentityProblem.FUTURE_DATE, ""),
        ("19700101-" + _with_check_digit("700101000")[6:], IdentityProblem.BAD_BIRTH_NUMBER, ""),
    ],
)
def test_errors_name_the_problem(raw: str, problem: IdentityProblem, words: str) -> None:
    with pytest.raises(InvalidIdentityNumber, match=words or None) as exc:
        _parse(raw)
    assert exc.value.problem is problem
    assert isinstance(exc.value, ValueError)


def test_identity_number_accepts_the_kind_as_text() -> None:
    stored = IdentityNumber("organisationsnummer", "5560360793")  # type: ignore[arg-type]
    assert stored.kind is IdentityKind.ORGANISATIONSNUMMER
    assert stored == _parse("556036-0793")
    with pytest.raises(ValueError, match="not a valid IdentityKind"):
        IdentityNumber("company", "5560360793")  # type: ignore[arg-type]


def test_identity_number_checks_its_shape() -> None:
    with pytest.raises(ValueError, match="12 digits"):
        IdentityNumber(IdentityKind.PERSONNUMMER, "5560360793")
    with pytest.raises(ValueError, match="10 digits"):
        IdentityNumber(IdentityKind.ORGANISATIONSNUMMER, "55603607９3")


# --- properties --------------------------------------------------------------------------


@given(
    st.dates(min_value=date(1927, 1, 1), max_value=TODAY),
    st.integers(min_value=1, max_value=999),
    st.booleans(),
)
def test_any_well_formed_person_round_trips(birth: date, serial: int, coordination: bool) -> None:
    day = birth.day + (60 if coordination else 0)
    nine = f"{birth:%y%m}{day:02d}{serial:03d}"
    ten = _with_check_digit(nine)
    twelve = f"{birth.year // 100}{ten}"
    parsed = _parse(f"{ten[:6]}-{ten[6:]}")
    assert parsed.canonical == twelve
    assert parsed.birth_date == birth
    assert parsed.kind is (
        IdentityKind.SAMORDNINGSNUMMER if coordination else IdentityKind.PERSONNUMMER
    )
    assert _parse(parsed.formatted) == parsed
    assert _parse(twelve) == parsed
