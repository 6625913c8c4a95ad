"""Dated settings: every number of the rulebook is a value with an effective date, never a literal
(domain.md preamble: "Where a rule names a number, it is a setting with an effective date").

A ``Dated[T]`` is a table of ``(valid_from, value)`` rows; ``at(day)`` answers the value in force on
that day. In settings files and environment variables it is written as a JSON list of
``["YYYY-MM-DD", value]`` pairs, or as a bare value meaning "in force since always".
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field, model_validator

T = TypeVar("T")

SINCE_ALWAYS = date(1900, 1, 1)
# The last day a request may name. Not a business rule (those are dated settings, e.g. how far
# ahead an invoice may be dated): a bound that keeps every date a request carries within what the
# settings have values for (from SINCE_ALWAYS) and far enough from date.max that the rules' date
# arithmetic (due dates, deferrals, billing periods a term ahead) cannot overflow.
UNTIL_FURTHER = date(2199, 12, 31)

# A date as a request carries it; outside the range it is a 422 naming the field, not a 500.
CalendarDate = Annotated[date, Field(ge=SINCE_ALWAYS, le=UNTIL_FURTHER)]


class Dated(BaseModel, Generic[T]):
    """A value that changes on known dates. Rows are kept sorted by their effective date."""

    model_config = {"frozen": True}

    rows: tuple[tuple[date, T], ...]

    @model_validator(mode="before")
    @classmethod
    def _accept_short_forms(cls, data: Any) -> Any:
        if isinstance(data, dict) and "rows" in data:
            return data
        if isinstance(data, list | tuple) and all(
            isinstance(r, list | tuple) and len(r) == 2 for r in data
        ):
            return {"rows": data}
        return {"rows": [(SINCE_ALWAYS, data)]}

    @model_validator(mode="after")
    def _sorted_and_unique(self) -> Dated[T]:
        days = [d for d, _ in self.rows]
        if days != sorted(days):
            object.__setattr__(self, "rows", tuple(sorted(self.rows, key=lambda r: r[0])))
            days = sorted(days)
        if len(set(days)) != len(days):
            raise ValueError("a dated setting has two values for the same effective date")
        if not days:
            raise ValueError("a dated setting needs at least one value")
        return self

    def at(self, day: date) -> T:
        """The value in force on ``day``; a day before the first row is an error, not a guess."""
        days = [d for d, _ in self.rows]
        i = bisect_right(days, day)
        if i == 0:
            raise LookupError(f"no value in force on {day}: the first is from {days[0]}")
        return self.rows[i - 1][1]

    @classmethod
    def always(cls, value: T) -> Dated[T]:
        return cls(rows=((SINCE_ALWAYS, value),))

    @classmethod
    def table(cls, *rows: tuple[str | date, T]) -> Dated[T]:
        return cls(
            rows=tuple((date.fromisoformat(d) if isinstance(d, str) else d, v) for d, v in rows)
        )
