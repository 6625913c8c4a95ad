"""Suite-wide fixtures. Scenario tests take ``engine`` and run on every engine in ENGINES."""

from __future__ import annotations

import pytest

from tests.utils.platform import ENGINES


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)
