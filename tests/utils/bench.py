"""What every ``fordra-dev bench`` part's JSON must hold (fordra.devtools.bench.results)."""

from __future__ import annotations

from typing import Any

SHAPE = ("name", "count", "seconds", "per_second", "peak_rss_mib")


def assert_common_document(document: dict[str, Any], names: list[str]) -> None:
    """The common shape: the machine, the results with exactly ``names`` in that order, each
    figure positive, the targets and the details."""
    assert list(document) == ["machine", "results", "targets", "details"]
    machine = document["machine"]
    for key in ("cpus", "python", "sqlite", "uptime_at_start", "load_average_start", "peak_rss"):
        assert machine[key], key
    assert machine["finished_at"] >= machine["started_at"]
    assert [r["name"] for r in document["results"]] == names
    for result in document["results"]:
        assert tuple(result)[: len(SHAPE)] == SHAPE
        assert isinstance(result["count"], int)
        assert result["count"] > 0, result
        for key in ("seconds", "per_second", "peak_rss_mib"):
            assert isinstance(result[key], float), (key, result)
            assert result[key] > 0, (key, result)
        assert abs(result["per_second"] - result["count"] / result["seconds"]) < 1e-6 * max(
            1.0, result["per_second"]
        )
    for target in document["targets"]:
        assert set(target) == {"target", "value", "goal", "met"}
        assert isinstance(target["met"], bool)
