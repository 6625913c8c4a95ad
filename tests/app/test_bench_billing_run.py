"""The smoke of ``fordra-dev bench billing-run`` (issue 14): a few rents billed in one run beside
the plain insert of the run's events, in the harness's common shape.

Not timed: the figures come from runs by hand and live in docs/performance.md ("The billing run
(issue 14)").
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from fordra.devtools import cli
from fordra.devtools.bench import billing_run, suite
from tests.utils.bench import assert_common_document


async def test_the_billing_run_bench_issues_every_rent_notice_beside_a_plain_insert(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    bench = await billing_run.run_billing_bench(60, workdir=tmp_path, out=lines.append)

    plain, fordra = bench.results
    assert (plain.name, fordra.name) == (billing_run.PLAIN, billing_run.FORDRA)
    assert plain.count == fordra.count == bench.notices == 60
    # The rents start on 1 April 2026 and are billed in advance on March's 2nd working day
    assert bench.run_day == date(2026, 3, 3)
    assert bench.held == 0
    # 60 notices fit one chunk: the run appended once, and the plain insert wrote those events
    assert bench.appends == fordra.extra["appends"] == 1
    assert bench.events == plain.extra["events"] == fordra.extra["events"]
    # Each notice is at least its claim, its invoice and the invoice's source-reference claim
    assert bench.events > 3 * 60
    assert bench.ratio == pytest.approx(plain.per_second / fordra.per_second)
    assert any(line.startswith("the run is ") for line in lines)

    target = tmp_path / "billing-run.json"
    billing_run.write_json(bench, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert_common_document(document, [billing_run.PLAIN, billing_run.FORDRA])
    details = document["details"]["billing-run"]
    assert details["notices"] == 60
    assert details["run_day"] == "2026-03-03"
    assert details["ratio"] == pytest.approx(bench.ratio)


def test_the_billing_run_is_a_part_of_bench_all_with_its_own_size() -> None:
    (part,) = [p for p in suite.PARTS if p.name == "billing-run"]
    assert part.module == "fordra.devtools.bench.billing_run"
    assert part.sizes == {"count": "--count"}


def test_the_billing_run_bench_refuses_another_part_s_size(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["bench", "billing-run", "--claims", "10"]) == 2
    assert "--claims is not one of its options" in capsys.readouterr().err
    assert cli.main(["bench", "dunning", "--count", "10"]) == 2
    assert "--count is not one of its options" in capsys.readouterr().err
