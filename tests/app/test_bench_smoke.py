"""Smokes of the harness (``fordra-dev bench all`` and its parts invoice-batch, invoice-http,
payments, dunning and distributed; appends has its own file): every case runs on a small
workload, the results carry issue 12's (and 13's) names in the common shape
(fordra.devtools.bench.results), and the JSON is written.

Not timed tests: the figures come from runs by hand and live in docs/performance.md.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from fordra.devtools import cli
from fordra.devtools.bench import (
    distributed,
    dunning,
    invoice_batch,
    invoice_http,
    payments,
    suite,
)
from fordra.devtools.bench.results import Case, targets
from tests.utils.bench import assert_common_document
from tests.utils.servers import KafkaServer, PostgresServer


async def test_the_payments_bench_imports_every_payment_and_reports_each_case(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    bench = await payments.run_payments(200, workdir=tmp_path / "var", out=lines.append)

    names = [payments.BARE, payments.PARSE, payments.PLAIN, payments.IMPORT]
    assert [r.name for r in bench.results] == names
    for r in bench.results:
        assert r.count == 200
        assert r.seconds > 0
        assert r.peak_rss_mib > 0
    # Every payment of the generated file matched its invoice by the OCR reference
    assert bench.import_result["payments"] == 200
    assert bench.import_result["matched"] == 200
    assert bench.import_result["duplicate"] is False
    # One append: the file's two events and four per payment (claim, received, matched, allocated)
    assert bench.events_appended >= 2 + 4 * 200
    assert set(bench.stages) == {"parse", "reads", "decide", "append", "settle"}
    assert bench.caught_up, "the settle is split by subscription"
    # The plain insert wrote every event of the one append
    assert bench.results[2].extra["events"] == bench.events_appended
    assert bench.ratio > 1
    assert any(line.startswith("goal import until settled within 3x") for line in lines)

    target = tmp_path / "out" / "payments.json"
    payments.write_json(bench, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert_common_document(
        document,
        ["payments/lxml-bare", "payments/parse", "payments/plain-insert", "payments/fordra"],
    )
    assert {t["target"] for t in document["targets"]} == {
        "payments parse within 3x lxml",
        "payments until settled within 3x plain insert",
        "payments peak RSS under 1 GiB",
    }
    details = document["details"]["payments"]
    assert details["payments"] == 200
    assert details["ratio"] == pytest.approx(bench.ratio)
    assert details["goal_ratio"] == payments.GOAL_RATIO


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
    assert_common_document(
        document,
        [
            "distributed/copy",
            "distributed/appends",
            "distributed/end-to-end",
            "distributed/relay-lag",
        ],
    )
    end_to_end, lag = document["results"][2], document["results"][3]
    assert end_to_end["embedded_per_second"] > 0
    assert lag["count"] == 100
    assert 0 < lag["p50_ms"] <= lag["p99_ms"]
    assert [r["name"] for r in document["details"]["distributed"]["results"]] == names


async def test_the_invoice_batch_bench_books_every_invoice_and_writes_them_plainly(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    bench = await invoice_batch.run_invoice_batch(40, workdir=tmp_path, out=lines.append)

    assert [r.name for r in bench.results] == [invoice_batch.PLAIN, invoice_batch.FORDRA]
    assert bench.files == 1
    assert bench.customers == 4
    # The batch's events, read back, are what the plain insert wrote: several per invoice
    assert bench.events == bench.results[0].extra["events"] > 40
    assert bench.issue_seconds <= bench.results[1].seconds

    target = tmp_path / "invoice-batch.json"
    invoice_batch.write_json(bench, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert_common_document(document, ["invoice-batch/plain-insert", "invoice-batch/fordra"])
    assert document["details"]["invoice-batch"]["invoices"] == 40


def test_a_run_larger_than_a_batch_goes_as_several_files() -> None:
    files = invoice_batch.batch_files(25, ["c1", "c2"], per_file=10)

    assert [len(f.splitlines()) for f in files] == [10, 10, 5]
    bodies = [json.loads(line) for f in files for line in f.splitlines()]
    assert len({b["source_reference"] for b in bodies}) == 25
    # A customer's invoices bill months of their own
    assert len({(b["customer_id"], b["billing_period"]["start"]) for b in bodies}) == 25


async def test_the_invoice_http_bench_counts_every_answer_of_both_endpoints(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    bench = await invoice_http.run_invoice_http(
        20, workdir=tmp_path, out=lines.append, concurrency=5
    )

    bare, fordra = bench.results
    assert (bare.name, fordra.name) == (invoice_http.BARE, invoice_http.FORDRA)
    assert bare.extra["statuses"] == {"201": 20}
    assert bare.extra["non_2xx"] == 0
    # Every request is answered; what is not 2xx is counted (the target is none)
    assert sum(fordra.extra["statuses"].values()) == 20
    assert fordra.extra["non_2xx"] == sum(
        n for code, n in fordra.extra["statuses"].items() if not code.startswith("2")
    )

    target = tmp_path / "invoice-http.json"
    invoice_http.write_json(bench, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert_common_document(document, ["invoice-http/bare", "invoice-http/fordra"])
    assert "zero non-2xx answers over HTTP" in {t["target"] for t in document["targets"]}


async def test_the_dunning_bench_runs_the_day_over_every_claim_beside_a_plain_scan(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    bench = await dunning.run_dunning(1_500, workdir=tmp_path, out=lines.append)

    plain, run = bench.results
    assert (plain.name, run.name) == (dunning.PLAIN, dunning.RUN)
    assert plain.count == run.count == 1_500
    # The steady state: the claims due 7 days before the run's day are reminded, those reminded
    # 11 days before (the day after the pay-by date) are handed over, one 150th of the claims
    # each (module docstring).
    assert bench.by_kind == {"reminder": 10, "handover": 10}
    assert run.extra["proposals"] == bench.proposals == 20

    target = tmp_path / "dunning.json"
    dunning.write_json(bench, target)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert_common_document(document, [dunning.PLAIN, dunning.RUN])
    assert document["details"]["dunning"]["claims"] == 1_500
    found = {t["target"]: t for t in document["targets"]}
    assert found["dunning daily run over 1,500 open invoices under 60 s"]["goal"] == "< 60 s"


def test_bench_all_runs_each_part_in_a_process_and_says_what_it_left_out(
    tmp_path: Path,
) -> None:
    doc = suite.run_all(
        {"events": 200}, distributed=False, parts=("appends", "distributed"), workdir=tmp_path
    )

    assert_common_document(doc, ["appends/plain-insert", "appends/eventsourcing", "appends/fordra"])
    assert doc["machine"]["distributed"] == "left out: --no-distributed"
    assert set(doc["machine"]["parts"]) == {"appends"}
    assert doc["details"]["appends"]["cases"]


def test_each_bench_refuses_another_part_s_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "appends", "--payments", "10"]) == 2
    assert "--payments is not one of its options" in capsys.readouterr().err
    assert cli.main(["bench", "payments", "--distributed"]) == 2
    assert cli.main(["bench", "all", "--e2e-invoices", "10"]) == 2


def test_a_part_that_fails_is_said_in_the_document_and_the_others_still_run(
    tmp_path: Path,
) -> None:
    # --events 0 is refused by the appends part itself (exit 2)
    doc = suite.run_all({"events": 0}, distributed=False, parts=("appends",), workdir=tmp_path)

    assert doc["results"] == []
    assert doc["machine"]["parts"]["appends"]["failed"] == 2


def test_a_target_within_3x_is_met_at_most_three_times_slower() -> None:
    plain = Case("payments/plain-insert", 300, 1.0, 10.0)
    cases = [plain, Case("payments/fordra", 300, 2.9, 10.0)]
    assert targets(cases)[0] == {
        "target": "payments until settled within 3x plain insert",
        "value": 2.9,
        "goal": "<= 3 (x slower)",
        "met": True,
    }
    slow = targets([plain, Case("payments/fordra", 300, 3.5, 2048.0)])
    assert [(t["value"], t["met"]) for t in slow] == [(3.5, False), (2048.0, False)]


def test_a_rate_target_is_met_at_its_share_of_the_reference() -> None:
    found = targets(
        [
            Case("appends/plain-insert", 1000, 1.0, 1.0),
            Case("appends/fordra", 1000, 1.25, 1.0),
        ]
    )
    assert found == [
        {
            "target": "appends >= 0.8x plain insert",
            "value": 0.8,
            "goal": ">= 0.8 (x the rate)",
            "met": True,
        }
    ]
