"""One trace from an HTTP request through the events it causes to every handler, and the
operational metrics moving after the action each counts, on both engines (issue 17's
observability, issue 18's "a trace id crossing from an HTTP request to a projection").

The trace id is derived from the correlation id the events carry (``trace_id_for``), so a
consumer in another process, fed by Kafka, lands in the caller's trace with no trace context
stored or sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, format_trace_id
from prometheus_client.parser import text_string_to_metric_families

from fordra.kernel.auth import Role
from fordra.kernel.telemetry import Telemetry, setup_telemetry
from tests.fixtures_path import shared_fixtures
from tests.utils.money import PERSON
from tests.utils.platform import Engine, Running, running_platform

# A caller's W3C trace context (the example of the Trace Context recommendation).
CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{CALLER_TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(exporter: InMemorySpanExporter) -> Iterator[Telemetry]:
    t = setup_telemetry("fordra-trace-test", span_exporter=exporter)
    yield t
    t.shutdown()


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus scrape by (name, labels)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(
    scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in scrape.items() if n == name and wanted <= ls)


async def scrape(fordra: Running) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    r = await fordra.client.get("/metrics", headers=fordra.auth(Role.OPS_LEAD))
    assert r.status_code == 200, r.text
    return samples(r.text)


async def test_one_trace_from_the_request_to_every_handler_and_the_metrics_move(
    engine: Engine, tmp_path: Path, exporter: InMemorySpanExporter, telemetry: Telemetry
) -> None:
    async with running_platform(
        engine, tmp_path, today=date(2026, 3, 2), telemetry=telemetry
    ) as fordra:
        before = await scrape(fordra)

        # A customer registered in a trace of our own, then an invoice in the caller's trace.
        r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
        assert r.status_code == 201, r.text
        customer_id = r.json()["customer_id"]
        body = {
            "customer_id": customer_id,
            "department": "childcare",
            "service_type": "childcare",
            "invoice_date": "2026-03-02",
            "lines": [{"description": "Barnomsorg", "unit_price_ore": 123_400, "vat_rate": 0}],
        }
        r = await fordra.client.post(
            "/api/v1/invoices", json=body, headers={**fordra.auth(), "traceparent": TRACEPARENT}
        )
        assert r.status_code == 201, r.text
        # The answer names the server span, in the caller's trace, and the correlation id is the
        # caller's trace id (it sent no X-Correlation-ID).
        assert r.headers["X-Correlation-ID"] == CALLER_TRACE_ID
        version, trace_id, span_id, flags = r.headers["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", CALLER_TRACE_ID, "01")
        assert span_id != "00f067aa0ba902b7"
        await fordra.platform.wait_for_read_models(30)

        spans = exporter.get_finished_spans()
        in_trace = [
            s
            for s in spans
            if s.context is not None and format_trace_id(s.context.trace_id) == trace_id
        ]
        server = [s for s in in_trace if s.kind is SpanKind.SERVER]
        assert [s.name for s in server] == ["HTTP POST /api/v1/invoices"]
        # The server span is the child of the caller's span.
        assert server[0].parent is not None
        assert server[0].parent.span_id == 0x00F067AA0BA902B7
        commands = [s for s in in_trace if s.name.startswith("command ")]
        assert commands
        assert all(s.parent is not None for s in commands)
        handlers = {
            str(s.attributes["fordra.consumer"])
            for s in in_trace
            if s.kind is SpanKind.CONSUMER and s.attributes is not None
        }
        # The projections and another context's process managers handled the invoice's events in
        # the caller's trace: the customer ledger, and at least one consumer of another context.
        assert {
            "projection:customer_ledger",
            "projection:general_ledger",
            "process:payments-receivables",
            "process:dunning-plan-invoices",
        } <= handlers, " ".join(sorted(handlers))
        consumed = [s for s in in_trace if s.kind is SpanKind.CONSUMER and s.attributes]
        assert all(s.attributes["fordra.correlation_id"] == CALLER_TRACE_ID for s in consumed)  # type: ignore[index]
        ledger_types = {
            t
            for s in consumed
            if s.attributes["fordra.consumer"] == "projection:customer_ledger"  # type: ignore[index]
            for t in s.attributes["fordra.event_types"]  # type: ignore[index,union-attr]
        }
        assert "InvoiceIssued" in ledger_types
        # The customer's registration is a trace of its own: none of its handlers is in this one.
        other = {
            format_trace_id(s.context.trace_id)
            for s in spans
            if s.kind is SpanKind.CONSUMER and s.context is not None
        }
        assert len(other) >= 2

        # A bank file refused whole is an import error.
        broken = shared_fixtures("bgmax", "BgMaxfil4.txt").read_bytes().replace(b"70", b"71", 1)
        r = await fordra.client.post(
            "/api/v1/payment-files", content=broken[:400], headers=fordra.auth(Role.BANK_INGEST)
        )
        assert r.status_code == 422, r.text

        after = await scrape(fordra)
        # Commands counted by use case and outcome; events counted by consumer and type.
        assert (
            total(after, "commands_total", outcome="ok")
            >= total(before, "commands_total", outcome="ok") + 2
        )
        handled = total(after, "events_handled_total", event_type="InvoiceIssued")
        assert handled - total(before, "events_handled_total", event_type="InvoiceIssued") >= 3
        assert total(after, "handler_failures_total") == 0
        assert (
            total(after, "import_errors_total", kind="bank_file")
            == total(before, "import_errors_total", kind="bank_file") + 1
        )
        # Every consumer caught up: a lag gauge per consumer and upstream, each 0.
        lags = {ls: v for (n, ls), v in after.items() if n == "fordra_consumer_lag"}
        assert len(lags) >= 10
        assert set(lags.values()) == {0.0}
        assert (
            frozenset({("consumer", "projection:customer_ledger"), ("upstream", "invoicing")})
            in lags
        )


# The counters a consumer's failure creates: tests/scenarios/test_poison_events.py moves them.
AFTER_A_FAILURE = {"handler_failures_total"}
DASHBOARD = (
    Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "fordra.json"
)


def dashboard_metrics() -> set[str]:
    """The metric names the Grafana dashboard's queries ask for."""
    board = json.loads(DASHBOARD.read_text())
    names: set[str] = set()
    for panel in board["panels"]:
        for target in panel["targets"]:
            names |= set(re.findall(r"\b(fordra_\w+|\w+_total|\w+_bucket)\b", target["expr"]))
    return names


async def test_every_metric_the_dashboard_shows_is_served(tmp_path: Path) -> None:
    names = dashboard_metrics()
    assert len(names) >= 10
    async with running_platform("embedded", tmp_path, today=date(2026, 3, 2)) as fordra:
        r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
        assert r.status_code == 201, r.text
        case = {"kind": "refund", "received_at": "2026-03-02T09:00:00+01:00"}
        r = await fordra.client.post("/api/v1/cases", json=case, headers=fordra.auth(Role.OPS_LEAD))
        assert r.status_code == 201, r.text
        r = await fordra.client.post(
            "/api/v1/payment-files",
            content=b"not a bank file",
            headers=fordra.auth(Role.BANK_INGEST),
        )
        assert r.status_code == 422, r.text
        served = {name for name, _labels in await scrape(fordra)}
        # The SLA gauges carry the register: the refund is open, due in 3 working days.
        after = await scrape(fordra)
        assert after[("fordra_sla_open_cases", frozenset({("kind", "refund")}))] == 1
        assert after[("fordra_sla_overdue_cases", frozenset({("kind", "refund")}))] == 0
    assert names - AFTER_A_FAILURE <= served, sorted(names - AFTER_A_FAILURE - served)
