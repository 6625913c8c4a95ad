"""Smoke of ``fordra-dev bench appends``: every case runs and the JSON has the documented shape.

Not a timed test: the figures come from ``make bench`` and live in docs/performance.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from fordra.devtools.bench.appends import (
    CODEC,
    EVENTSOURCING,
    FORDRA,
    FORDRA_CONCURRENT,
    PLAIN,
    run_appends,
    write_json,
)


async def test_every_case_appends_and_the_json_has_the_documented_shape(tmp_path: Path) -> None:
    lines: list[str] = []
    results = await run_appends(events=2000, workdir=tmp_path / "db", out=lines.append)

    cases = {(r.name, r.batch) for r in results}
    for name in (FORDRA, PLAIN, EVENTSOURCING):
        for batch in (1, 100, 1000):
            assert (name, batch) in cases
    assert (FORDRA_CONCURRENT, 1) in cases
    assert (CODEC, 1) in cases
    for r in results:
        assert r.events > 0
        assert r.seconds > 0
        assert r.events_per_second > 0
    assert any("x plain" in line for line in lines)
    assert not list((tmp_path / "db").glob("*.db")), "each case removes its database file"

    target = tmp_path / "out" / "bench.json"
    write_json(results, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert list(document) == ["results"]
    assert len(document["results"]) == len(results)
    for item in document["results"]:
        assert isinstance(item["name"], str)
        assert isinstance(item["batch"], int)
        assert isinstance(item["events_per_second"], float)
        assert item["events_per_second"] > 0
