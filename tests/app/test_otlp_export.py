"""Spans and metrics reach an OpenTelemetry collector over OTLP/HTTP when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (issue 18: "Traces have no exporter").

The collector is an edge we do not own, so the test stands up the part of it we talk to: an HTTP
server that takes ``POST /v1/traces`` and ``/v1/metrics`` and decodes the protobuf bodies with
the OpenTelemetry protocol's own classes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from fordra.kernel.auth import Role
from fordra.kernel.telemetry import setup_telemetry
from tests.utils.money import PERSON
from tests.utils.platform import running_platform

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"


class Collector:
    def __init__(self) -> None:
        self.traces: list[ExportTraceServiceRequest] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.content_types: set[str] = set()


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    received = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.content_types.add(self.headers["Content-Type"])
            if self.path == "/v1/traces":
                received.traces.append(ExportTraceServiceRequest.FromString(body))
            elif self.path == "/v1/metrics":
                received.metrics.append(ExportMetricsServiceRequest.FromString(body))
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    yield received
    server.shutdown()
    server.server_close()


async def test_spans_and_metrics_reach_the_collector(collector: Collector, tmp_path: Path) -> None:
    telemetry = setup_telemetry("fordra-otlp-test")
    async with running_platform(
        "embedded", tmp_path, today=date(2026, 3, 2), telemetry=telemetry
    ) as fordra:
        r = await fordra.client.post("/api/v1/customers", json=PERSON, headers=fordra.auth())
        assert r.status_code == 201, r.text
        body = {
            "customer_id": r.json()["customer_id"],
            "department": "childcare",
            "service_type": "childcare",
            "invoice_date": "2026-03-02",
            "lines": [{"description": "Barnomsorg", "unit_price_ore": 10_000, "vat_rate": 0}],
        }
        headers = {**fordra.auth(Role.ADMIN), "traceparent": f"00-{TRACE_ID}-b7ad6b7169203331-01"}
        r = await fordra.client.post("/api/v1/invoices", json=body, headers=headers)
        assert r.status_code == 201, r.text
    # Shutting down flushes the batch of spans and makes the last metrics export.
    telemetry.shutdown()

    assert collector.content_types == {"application/x-protobuf"}
    spans = [
        span
        for request in collector.traces
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    in_trace = {span.name for span in spans if span.trace_id.hex() == TRACE_ID}
    assert "HTTP POST /api/v1/invoices" in in_trace
    assert "handle projection:customer_ledger" in in_trace
    services = {
        attribute.value.string_value
        for request in collector.traces
        for resource in request.resource_spans
        for attribute in resource.resource.attributes
        if attribute.key == "service.name"
    }
    assert services == {"fordra-otlp-test"}

    points = {
        metric.name: metric
        for request in collector.metrics
        for resource in request.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert {"http_requests", "commands", "events_handled"} <= set(points)
    ok = sum(
        p.as_int
        for p in points["commands"].sum.data_points
        if any(a.key == "outcome" and a.value.string_value == "ok" for a in p.attributes)
    )
    assert ok >= 2
