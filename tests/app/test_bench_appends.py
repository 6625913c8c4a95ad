"""Smoke of ``fordra-dev bench appends``: every case runs and the JSON has the common shape.

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
from tests.utils.bench import assert_common_document


async def test_every_case_appends_and_the_json_has_the_common_shape(tmp_path: Path) -> None:
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
        assert r.peak_rss_mib > 0
    assert any("x plain" in line for line in lines)
    assert not list((tmp_path / "db").glob("*.db")), "each case removes its database file"

    target = tmp_path / "out" / "bench.json"
    write_json(results, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert_common_document(
        document, ["appends/plain-insert", "appends/eventsourcing", "appends/fordra"]
    )
    assert all(r["count"] == 2000 and r["batch"] == 100 for r in document["results"])
    assert {t["target"] for t in document["targets"]} == {
        "appends >= 1.0x eventsourcing",
        "appends >= 0.8x plain insert",
    }
    # Every case, at every batch, stays in the details.
    assert len(document["details"]["appends"]["cases"]) == len(results)
