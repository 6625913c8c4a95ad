"""The business clock. Every scheduled step reads the date from here, never from ``date.today()``,
so that a scenario can walk a claim through months in a test and an operator can run a municipality
on a fixed date (``fordra run --clock manual``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

# Swedish business days and cut-offs are in Swedish local time.
STOCKHOLM = ZoneInfo("Europe/Stockholm")


class BusinessClock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...

    def today(self) -> date:
        """The current business date in Sweden."""
        ...


class SystemClock:
    """Follows the real date."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return datetime.now(STOCKHOLM).date()


class ManualClock:
    """A clock that stands still on a business date until it is advanced.

    The time of day runs with the real clock inside the fixed date so that events recorded on one
    business day still order by time; it never crosses into the next day on its own.
    """

    def __init__(self, today: date) -> None:
        self._today = today

    def today(self) -> date:
        return self._today

    def now(self) -> datetime:
        real = datetime.now(STOCKHOLM)
        local = datetime.combine(self._today, real.time(), tzinfo=STOCKHOLM)
        return local.astimezone(UTC)

    def set_today(self, day: date) -> None:
        if day < self._today:
            raise ValueError(f"the business clock never goes back: {day} is before {self._today}")
        self._today = day

    def advance(self, days: int = 1) -> date:
        self.set_today(self._today + timedelta(days=days))
        return self._today
