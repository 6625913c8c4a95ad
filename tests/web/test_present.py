"""How the pages write the API's figures and words in Swedish (fordra.app.ops.present)."""

from __future__ import annotations

from datetime import date

import pytest

from fordra.app.ops.present import day, explained, kronor, label

NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("ore", "shown"),
    [
        (0, f"0,00{NNBSP}kr"),
        (5, f"0,05{NNBSP}kr"),
        (156_250, f"1{NNBSP}562,50{NNBSP}kr"),
        (123_456_789, f"1{NNBSP}234{NNBSP}567,89{NNBSP}kr"),
        (-50_000, f"\u2212500,00{NNBSP}kr"),
        (None, "–"),
    ],
)
def test_kronor_from_ore(ore: int | None, shown: str) -> None:
    assert kronor(ore) == shown


def test_days_states_and_reasons() -> None:
    assert day(date(2026, 5, 26)) == "2026-05-26"
    assert day(None) == "–"
    assert label("overdue") == "Förfallen"
    assert label("something_new") == "something_new"  # shown as the API names it
    assert explained("no OCR reference") == "ingen OCR-referens"
    assert explained("paid in EUR: never booked as SEK") == "betald i EUR: bokas aldrig som SEK"
    assert explained("a wording not known") == "a wording not known"
