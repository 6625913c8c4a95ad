"""The scheduler following a clock that nobody advances (the system clock in production): each
day's jobs run once as the day comes, a failed day is tried again, and nothing runs twice."""

from __future__ import annotations

import asyncio
from datetime import date

from fordra.kernel.clock import ManualClock
from fordra.kernel.scheduler import DailyScheduler


async def _settled() -> None:
    return None


async def _next(runs: asyncio.Queue[date]) -> date:
    return await asyncio.wait_for(runs.get(), 5.0)


async def test_each_day_the_clock_reaches_runs_its_jobs_once() -> None:
    # Given a scheduler with one job, following a clock (the day changes by itself in production)
    clock = ManualClock(date(2026, 12, 3))
    runs: asyncio.Queue[date] = asyncio.Queue()

    async def job(day: date) -> None:
        runs.put_nowait(day)

    scheduler = DailyScheduler(_settled)
    scheduler.register("the day's work", job)
    following = asyncio.create_task(scheduler.follow(clock, poll_seconds=0.01))
    try:
        # Then today's jobs run at once, and not again while the day lasts
        assert await _next(runs) == date(2026, 12, 3)
        await asyncio.sleep(0.05)
        assert runs.empty()
        # When the next day comes, its jobs run, once
        clock.set_today(date(2026, 12, 4))
        assert await _next(runs) == date(2026, 12, 4)
        await asyncio.sleep(0.05)
        assert runs.empty()
        assert scheduler.days_run == [date(2026, 12, 3), date(2026, 12, 4)]
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
    assert following.cancelled()


async def test_a_day_whose_jobs_fail_is_tried_again_not_skipped() -> None:
    clock = ManualClock(date(2026, 12, 3))
    attempts: asyncio.Queue[date] = asyncio.Queue()
    tried: list[date] = []

    async def flaky(day: date) -> None:
        tried.append(day)
        attempts.put_nowait(day)
        if len(tried) < 3:
            raise RuntimeError("the database is restarting")

    scheduler = DailyScheduler(_settled)
    scheduler.register("flaky", flaky)
    following = asyncio.create_task(scheduler.follow(clock, poll_seconds=0.01))
    try:
        # The day's jobs are tried until they succeed, then not again
        for _ in range(3):
            assert await _next(attempts) == date(2026, 12, 3)
        await asyncio.sleep(0.05)
        assert attempts.empty()
        assert scheduler.days_run == [date(2026, 12, 3)]
        assert not following.done()
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
