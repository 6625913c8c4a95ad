"""How long a bank file is kept: bokföringslagen 7 kap. 2 §, a dated setting."""

from __future__ import annotations

from datetime import date

from fordra.kernel.dated import Dated
from fordra.payments.domain.retention import ArchiveRetention


def test_a_file_is_kept_through_the_seventh_year_after_its_year_end() -> None:
    rule = ArchiveRetention()
    # A file of 2026 is kept through 2033 and may go on 1 January 2034
    assert rule.last_expired_year(date(2033, 12, 31)) == 2025
    assert rule.last_expired_year(date(2034, 1, 1)) == 2026
    # Before 2011 the law said ten years
    assert rule.last_expired_year(date(2010, 6, 1)) == 1999


def test_the_period_is_a_setting() -> None:
    rule = ArchiveRetention(years_after_year_end=Dated[int].table(("2000-01-01", 10)))
    assert rule.last_expired_year(date(2034, 1, 1)) == 2023
