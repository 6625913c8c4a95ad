"""Smokes of ``fordra-dev bench payments`` and ``fordra-dev bench distributed``: every case runs
on a small workload, the figures have the documented shape, and the JSON is written.

Not timed tests: the figures come from runs by hand and live in docs/performance.md.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from fordra.devtools.bench import distributed, payments
from tests.utils.servers import KafkaServer, PostgresServer


async def test_the_payments_bench_imports_every_payment_and_reports_each_case(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    bench = await payments.run_payments(200, workdir=tmp_path / "var", out=lines.append)

    assert [r.name for r in bench.results] == [payments.BARE, payments.PARSE, payments.IMPORT]
    for r in bench.results:
        assert r.payments == 200
        assert r.seconds > 0
    # Every payment of the generated file matched its invoice by the OCR reference
    assert bench.import_result["payments"] == 200
    assert bench.import_result["matched"] == 200
    assert bench.import_result["duplicate"] is False
    # One append: the file's two events and four per payment (claim, received, matched, allocated)
    assert bench.events_appended >= 2 + 4 * 200
    assert set(bench.stages) == {"parse", "reads", "decide", "append", "settle"}
    assert bench.caught_up, "the settle is split by subscription"
    assert bench.ratio > 1
    assert any(line.startswith("goal import until settled within 3x") for line in lines)

    target = tmp_path / "out" / "payments.json"
    payments.write_json(bench, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert document["payments"] == 200
    assert [r["name"] for r in document["results"]] == [r.name for r in bench.results]
    assert document["ratio"] == pytest.approx(bench.ratio)
    assert document["goal_ratio"] == payments.GOAL_RATIO


def test_the_generated_camt054_is_what_fordra_and_lxml_read() -> None:
    invoices = [
        payments.OpenInvoice(f"i{n}", f"c{n % 3}", ocr, 12_500 + n)
        for n, ocr in enumerate(("1234567897", "4567897", "2367"))
    ]
    data = payments.camt054_file(invoices, booked_on=date(2026, 3, 2), per_entry=2)

    assert payments.bare_parse(data) == 3
    parsed = payments.parse_bank_file(data)
    assert parsed.layout == "camt.054.001.02"
    assert [(p.reference, p.amount_ore) for p in parsed.payments] == [
        (i.ocr, i.total_ore) for i in invoices
    ]
    assert len({p.bank_reference for p in parsed.payments}) == 3


@pytest.mark.distributed
async def test_the_distributed_bench_measures_each_case_on_the_session_servers(
    tmp_path: Path, postgres_server: PostgresServer, kafka_server: KafkaServer
) -> None:
    lines: list[str] = []
    bench = await distributed.run_distributed(
        20,
        store_url=postgres_server.url,
        bootstrap=kafka_server.bootstrap,
        workdir=tmp_path,
        out=lines.append,
        concurrency=5,
        events=300,
        lag_rate=100,
        lag_seconds=1.0,
    )

    names = [r.name for r in bench.results]
    assert names == [
        distributed.E2E_KAFKA,
        distributed.E2E_EMBEDDED,
        distributed.STORE,
        distributed.COPY,
        distributed.COPY_ALL,
    ]
    for r in bench.results:
        assert r.count == (20 if r.name.startswith("e2e") else 300)
        assert r.per_second > 0
    assert bench.lag is not None
    assert bench.lag.events == 100
    assert 0 < bench.lag.p50_ms <= bench.lag.p99_ms <= bench.lag.max_ms

    target = tmp_path / "distributed.json"
    distributed.write_json(bench, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert [r["name"] for r in document["results"]] == names
    assert document["lag"]["events"] == 100
