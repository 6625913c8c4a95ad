"""The dunning flow over the real stores from 2 March 2026 (``tests.dunning.flow``), for the tests
of the run and of the proposals. A module that follows dunning another way defines its own
``dunning`` fixture (late interest's, on both stores)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest

from tests.dunning.flow import DunningOnMemory


@pytest.fixture
async def dunning(tmp_path: Path) -> AsyncIterator[DunningOnMemory]:
    started = await DunningOnMemory.start(tmp_path, date(2026, 3, 2))
    yield started
    await started.stop()
