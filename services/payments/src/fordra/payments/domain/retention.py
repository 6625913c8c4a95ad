"""How long an accepted bank file is kept (räkenskapsinformation).

Bokföringslagen (1999:1078) 7 kap. 2 §: accounting records are kept "till och med det sjunde året
efter utgången av det kalenderår då räkenskapsåret avslutades" (seven years since 2011; ten
before, in this law and the one before it). A municipality's financial year is the calendar
year, so a file received in 2026 is kept through 2033 and may go from 1 January 2034. The number
is a dated setting like every other rule.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from fordra.kernel.dated import SINCE_ALWAYS, Dated


class ArchiveRetention(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Years kept after the end of the calendar (= financial) year a file was received in.
    years_after_year_end: Dated[int] = Field(
        default_factory=lambda: Dated[int].table((SINCE_ALWAYS, 10), ("2011-01-01", 7))
    )

    def last_expired_year(self, today: date) -> int:
        """The latest year whose files may be dropped on ``today`` (every earlier year too)."""
        return today.year - 1 - self.years_after_year_end.at(today)
