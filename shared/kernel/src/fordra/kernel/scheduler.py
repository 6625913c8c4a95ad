"""Each business day's scheduled work, driven by the business clock.

Contexts register jobs (``remind overdue invoices``, ``hand over to the agency``...); the scheduler
runs every job for every business day in order, so advancing a manual clock from 1 March to 1 June
runs March, April and May day by day, exactly as a real calendar would have. With the real (system)
clock nobody advances it: ``follow`` runs the day's jobs as each day comes (the process that runs
``fordra run``, or ``fordra serve dunning`` in the distributed engine).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

from fordra.kernel.clock import BusinessClock, ManualClock
from fordra.kernel.telemetry import Telemetry, telemetry_scope

log = logging.getLogger(__name__)

DailyJob = Callable[[date], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Registered:
    name: str
    job: DailyJob


class DailyScheduler:
    def __init__(
        self, settle: Callable[[], Awaitable[None]], *, telemetry: Telemetry | None = None
    ) -> None:
        self._jobs: list[_Registered] = []
        self._settle = settle
        # Each job runs in a span of its own, and the commands it executes are counted.
        self._telemetry = telemetry
        self.days_run: list[date] = []

    def register(self, name: str, job: DailyJob) -> None:
        self._jobs.append(_Registered(name, job))

    @property
    def jobs(self) -> list[str]:
        return [j.name for j in self._jobs]

    async def run_day(self, day: date) -> None:
        for registered in self._jobs:
            log.info("running %s for %s", registered.name, day.isoformat())
            with contextlib.ExitStack() as traced:
                if self._telemetry is not None:
                    traced.enter_context(telemetry_scope(self._telemetry))
                    traced.enter_context(
                        self._telemetry.tracer.start_as_current_span(
                            f"daily {registered.name}",
                            attributes={
                                "fordra.job": registered.name,
                                "fordra.day": day.isoformat(),
                            },
                        )
                    )
                await registered.job(day)
            # Each job sees the effects of the ones before it on the same day.
            await self._settle()
        self.days_run.append(day)

    async def advance(self, clock: ManualClock, to: date) -> list[date]:
        """Move a manual clock to ``to``, running each day's work on the way."""
        if to < clock.today():
            raise ValueError(f"the business clock never goes back: {to} is before {clock.today()}")
        ran = []
        day = clock.today()
        while day < to:
            day += timedelta(days=1)
            clock.set_today(day)
            await self.run_day(day)
            ran.append(day)
        await self._settle()
        return ran

    async def follow(self, clock: BusinessClock, *, poll_seconds: float = 60.0) -> None:
        """Run every job once for each day ``clock`` reaches, from today, until cancelled.

        A day whose jobs fail is tried again at the next poll, not skipped. A day missed while the
        process was down is not replayed: the jobs' rules count "on or before" a day (the dunning
        run finds every claim whose days have passed), and each job is idempotent per date, so
        the next day's run does what the missed one would have done, and several processes
        following the same calendar do each day's work once.
        """
        done: date | None = None
        while True:
            today = clock.today()
            if today != done:
                try:
                    await self.run_day(today)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a job's failure must not stop the calendar
                    log.exception("the jobs of %s failed; trying again", today.isoformat())
                else:
                    done = today
            await asyncio.sleep(poll_seconds)
