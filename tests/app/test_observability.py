from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI
from fastapi.responses import StreamingResponse
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import Response

from fordra.app.observability import (
    UNMATCHED_ROUTE,
    accepted_correlation_id,
    install_observability,
    metrics_response,
)
from fordra.kernel.telemetry import (
    Telemetry,
    configure_logging,
    current_correlation_id,
    setup_telemetry,
)

log = logging.getLogger("fordra.test.route")


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(exporter: InMemorySpanExporter) -> Iterator[Telemetry]:
    t = setup_telemetry("fordra-app-test", span_exporter=exporter)
    yield t
    t.shutdown()


@pytest.fixture
def json_logs() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    configure_logging("INFO")
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


class Seen:
    def __init__(self) -> None:
        self.background: list[str | None] = []


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def app(telemetry: Telemetry, seen: Seen) -> FastAPI:
    app = FastAPI()

    @app.get("/invoices/{invoice_id}")
    async def get_invoice(invoice_id: str, background: BackgroundTasks) -> dict[str, str | None]:
        log.info("invoice looked up", extra={"invoice_id": invoice_id})
        background.add_task(lambda: seen.background.append(current_correlation_id()))
        return {"invoice_id": invoice_id, "correlation_id": current_correlation_id()}

    @app.get("/stream")
    async def stream() -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"id="
            yield (current_correlation_id() or "none").encode()

        return StreamingResponse(body(), media_type="text/plain")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("handler broke")

    @app.get("/metrics")
    async def metrics() -> Response:
        return metrics_response(telemetry)

    install_observability(app, telemetry)
    return app


def client(app: FastAPI, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


def server_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]


def sample_value(telemetry: Telemetry, name: str, **labels: str) -> float | None:
    body, _ = telemetry.metrics_text()
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    return None


@pytest.mark.usefixtures("json_logs")
async def test_given_correlation_id_is_used_everywhere(
    app: FastAPI,
    telemetry: Telemetry,
    exporter: InMemorySpanExporter,
    seen: Seen,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with client(app) as c:
        response = await c.get("/invoices/F-7", headers={"X-Correlation-ID": "req-abc.1_2"})

    assert response.status_code == 200
    assert response.headers["X-Correlation-ID"] == "req-abc.1_2"
    assert response.json() == {"invoice_id": "F-7", "correlation_id": "req-abc.1_2"}
    assert seen.background == ["req-abc.1_2"]
    assert current_correlation_id() is None

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    looked_up = [line for line in lines if line["message"] == "invoice looked up"]
    assert len(looked_up) == 1
    assert looked_up[0]["correlation_id"] == "req-abc.1_2"
    assert looked_up[0]["invoice_id"] == "F-7"
    assert looked_up[0]["logger"] == "fordra.test.route"

    (span,) = server_spans(exporter)
    assert span.name == "HTTP GET /invoices/{invoice_id}"
    attrs = dict(span.attributes or {})
    assert attrs["http.method"] == "GET"
    assert attrs["http.route"] == "/invoices/{invoice_id}"
    assert attrs["http.status_code"] == 200
    assert attrs["fordra.correlation_id"] == "req-abc.1_2"
    assert looked_up[0]["trace_id"] == format(span.context.trace_id, "032x")


async def test_missing_correlation_id_is_generated(app: FastAPI) -> None:
    async with client(app) as c:
        response = await c.get("/invoices/F-8")
    generated = response.headers["X-Correlation-ID"]
    assert uuid.UUID(generated).version == 4
    assert response.json()["correlation_id"] == generated


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "x" * 65,
        "abc def",
        "abc\\r\\nSet-Cookie: evil=1",
        "<script>alert(1)</script>",
        "id;drop table",
        "åäö",
    ],
)
async def test_unsafe_correlation_id_is_replaced(app: FastAPI, bad: str) -> None:
    async with client(app) as c:
        response = await c.get(
            "/invoices/F-9", headers=[(b"X-Correlation-ID", bad.encode("utf-8"))]
        )
    echoed = response.headers["X-Correlation-ID"]
    assert echoed != bad
    assert uuid.UUID(echoed).version == 4
    assert response.json()["correlation_id"] == echoed


def test_accepted_correlation_id() -> None:
    assert accepted_correlation_id("A-z_0.9") == "A-z_0.9"
    assert accepted_correlation_id("x" * 64) == "x" * 64
    assert accepted_correlation_id("ok\n") != "ok\n"
    assert uuid.UUID(accepted_correlation_id(None)).version == 4


async def test_streaming_body_sees_the_correlation_id(app: FastAPI) -> None:
    async with client(app) as c:
        response = await c.get("/stream", headers={"X-Correlation-ID": "stream-1"})
    assert response.text == "id=stream-1"
    assert response.headers["X-Correlation-ID"] == "stream-1"


async def test_metrics_count_requests_by_route_template(app: FastAPI, telemetry: Telemetry) -> None:
    async with client(app) as c:
        await c.get("/invoices/F-1")
        await c.get("/invoices/F-2")
        await c.get("/no/such/path/123")
        metrics = await c.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = metrics.text
    assert "http_requests_total{" in text
    assert 'route="/invoices/{invoice_id}"' in text
    assert "F-1" not in text
    assert "/no/such/path" not in text
    route = "/invoices/{invoice_id}"
    labels = {"method": "GET", "route": route, "status": "200"}
    assert sample_value(telemetry, "http_requests_total", **labels) == 2.0
    assert sample_value(telemetry, "http_request_duration_seconds_count", **labels) == 2.0
    unmatched = {"route": UNMATCHED_ROUTE, "status": "404"}
    assert sample_value(telemetry, "http_requests_total", **unmatched) == 1.0


async def test_unmatched_path_names_the_span_by_path(
    app: FastAPI, exporter: InMemorySpanExporter
) -> None:
    async with client(app) as c:
        response = await c.get("/nowhere")
    assert response.status_code == 404
    assert "X-Correlation-ID" in response.headers
    (span,) = server_spans(exporter)
    assert span.name == "HTTP GET /nowhere"
    assert (span.attributes or {})["http.status_code"] == 404
    assert span.status.status_code is StatusCode.UNSET


async def test_failing_route_is_recorded_as_error(
    app: FastAPI, telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    async with client(app, raise_app_exceptions=False) as c:
        response = await c.get("/boom", headers={"X-Correlation-ID": "corr-boom"})
    assert response.status_code == 500
    (span,) = server_spans(exporter)
    assert span.name == "HTTP GET /boom"
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["http.status_code"] == 500
    assert (span.attributes or {})["fordra.correlation_id"] == "corr-boom"
    assert [e.name for e in span.events] == ["exception"]
    labels = {"route": "/boom", "status": "500"}
    assert sample_value(telemetry, "http_requests_total", **labels) == 1.0


async def test_command_span_nests_under_the_request_span(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    app = FastAPI()

    @app.post("/invoices")
    async def issue() -> dict[str, str]:
        with telemetry.command("IssueInvoice"):
            return {"ok": "yes"}

    install_observability(app, telemetry)
    async with client(app) as c:
        await c.post("/invoices", headers={"X-Correlation-ID": "corr-cmd"})

    command, request = exporter.get_finished_spans()
    assert command.name == "command IssueInvoice"
    assert command.parent is not None
    assert command.parent.span_id == request.context.span_id
    assert (command.attributes or {})["fordra.correlation_id"] == "corr-cmd"


async def test_two_apps_with_their_own_telemetry_do_not_clash() -> None:
    first_spans, second_spans = InMemorySpanExporter(), InMemorySpanExporter()
    first = setup_telemetry("first", span_exporter=first_spans)
    second = setup_telemetry("second", span_exporter=second_spans)
    try:
        apps = []
        for telemetry in (first, second):
            app = FastAPI()

            @app.get("/ping")
            async def ping() -> dict[str, str]:
                return {}

            install_observability(app, telemetry)
            apps.append(app)

        async with client(apps[0]) as c:
            await c.get("/ping")
            await c.get("/ping")
        async with client(apps[1]) as c:
            await c.get("/ping")

        assert sample_value(first, "http_requests_total", route="/ping") == 2.0
        assert sample_value(second, "http_requests_total", route="/ping") == 1.0
        assert len(first_spans.get_finished_spans()) == 2
        assert len(second_spans.get_finished_spans()) == 1
    finally:
        first.shutdown()
        second.shutdown()


async def test_a_malformed_traceparent_is_ignored(
    app: FastAPI, exporter: InMemorySpanExporter
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        r = await client.get("/invoices/1", headers={"traceparent": "00-zz-11-01"})
    assert r.status_code == 200
    # A fresh correlation id (a uuid, not a trace id) and a root server span.
    assert uuid.UUID(r.headers["X-Correlation-ID"])
    (server,) = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.parent is None
    assert r.headers["traceparent"].split("-")[1] == f"{server.context.trace_id:032x}"  # type: ignore[union-attr]


async def test_a_given_correlation_id_wins_over_the_trace_id(app: FastAPI) -> None:
    headers = {
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "X-Correlation-ID": "case-77",
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        r = await client.get("/invoices/1", headers=headers)
    assert r.headers["X-Correlation-ID"] == "case-77"
    # The server span still joins the caller's trace.
    assert r.headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736-")


@pytest.mark.usefixtures("json_logs")
async def test_the_access_line_names_the_route_never_the_path(
    app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    async with client(app) as c:
        await c.get("/invoices/19121212-1212?ocr=737", headers={"X-Correlation-ID": "acc-1"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    (access,) = [line for line in lines if line["logger"] == "fordra.access"]
    assert access["message"] == "GET /invoices/{invoice_id} 200"
    assert access["http_route"] == "/invoices/{invoice_id}"
    assert access["http_status"] == 200
    assert access["correlation_id"] == "acc-1"
    assert access["duration_ms"] >= 0
    # Nothing of the raw path or the query anywhere in the line.
    assert "19121212" not in json.dumps(access)
    assert "ocr=" not in json.dumps(access)


@pytest.mark.usefixtures("json_logs")
def test_a_terminal_only_extra_stays_out_of_the_json(capsys: pytest.CaptureFixture[str]) -> None:
    # As uvicorn logs (its own loggers may be configured not to propagate by another test's
    # server, so a logger of ours carries the same extra).
    logging.getLogger("fordra.test.uvicorn").warning(
        "Started", extra={"color_message": "\x1b[32mStarted\x1b[0m"}
    )
    lines = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
    (line,) = [x for x in lines if x["logger"] == "fordra.test.uvicorn"]
    assert line["message"] == "Started"
    assert "color_message" not in line
