from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client.parser import text_string_to_metric_families

from fordra.kernel.envelope import Envelope, Metadata
from fordra.kernel.telemetry import (
    Telemetry,
    configure_logging,
    correlation_scope,
    current_correlation_id,
    setup_telemetry,
    trace_id_for,
)


def sample_value(telemetry: Telemetry, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels``, or None."""
    body, _ = telemetry.metrics_text()
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return float(sample.value)
    return None


def envelope(correlation_id: str = "corr-1", causation_id: str | None = "evt-0") -> Envelope:
    return Envelope(
        event_id="evt-1",
        event_type="InvoiceIssued",
        schema_version=1,
        context="invoicing",
        stream_id="invoice-42",
        version=3,
        occurred_at=datetime(2025, 1, 2, 10, 0, tzinfo=UTC),
        metadata=Metadata(
            tenant="kommun-0180",
            actor="user-1",
            correlation_id=correlation_id,
            causation_id=causation_id,
        ),
        payload={"amount": "100.00"},
        position=17,
    )


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def telemetry(exporter: InMemorySpanExporter) -> Iterator[Telemetry]:
    t = setup_telemetry("fordra-test", span_exporter=exporter)
    yield t
    t.shutdown()


@pytest.fixture
def root_logging() -> Iterator[None]:
    """Give configure_logging a root logger to change, and put the old one back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1, [s.name for s in spans]
    return spans[0]


# -- correlation id ---------------------------------------------------------------------------


def test_correlation_scope_sets_and_restores() -> None:
    assert current_correlation_id() is None
    with correlation_scope("outer"):
        assert current_correlation_id() == "outer"
        with correlation_scope("inner"):
            assert current_correlation_id() == "inner"
        assert current_correlation_id() == "outer"
    assert current_correlation_id() is None


def test_correlation_scope_restores_after_an_exception() -> None:
    with pytest.raises(ValueError, match="boom"), correlation_scope("c"):
        raise ValueError("boom")
    assert current_correlation_id() is None


# -- logging -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("root_logging")
def test_log_lines_are_json_with_correlation_id_extra_and_exception(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO")
    log = logging.getLogger("fordra.test")
    with correlation_scope("corr-log"):
        log.info("invoice %s issued", "F-1", extra={"invoice_id": "F-1", "amount_ore": 10000})
        try:
            raise RuntimeError("broken")
        except RuntimeError:
            log.exception("failed")
    log.info("outside")
    log.debug("too fine to show")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 3
    issued, failed, outside = lines
    assert issued["message"] == "invoice F-1 issued"
    assert issued["level"] == "INFO"
    assert issued["logger"] == "fordra.test"
    assert issued["correlation_id"] == "corr-log"
    assert issued["invoice_id"] == "F-1"
    assert issued["amount_ore"] == 10000
    ts = datetime.fromisoformat(issued["ts"])
    assert ts.utcoffset() is not None
    assert ts.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert failed["level"] == "ERROR"
    assert "RuntimeError: broken" in failed["exc_info"]
    assert "Traceback" in failed["exc_info"]
    assert "correlation_id" not in outside


@pytest.mark.usefixtures("root_logging")
def test_log_lines_carry_the_trace_of_the_current_span(
    capsys: pytest.CaptureFixture[str], telemetry: Telemetry
) -> None:
    configure_logging()
    with telemetry.tracer.start_as_current_span("work") as span:
        logging.getLogger("fordra.test").info("inside")
    line = json.loads(capsys.readouterr().err)
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")


@pytest.mark.usefixtures("root_logging")
def test_unserialisable_extras_are_written_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging()
    logging.getLogger("fordra.test").warning("odd", extra={"thing": object(), "huge": 2**70})
    line = json.loads(capsys.readouterr().err)
    assert line["message"] == "odd"
    assert "object" in line["thing"]


@pytest.mark.usefixtures("root_logging")
def test_configure_logging_is_idempotent(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    configure_logging("INFO")
    configure_logging("DEBUG")
    assert len(root.handlers) == before + 1
    assert root.level == logging.DEBUG
    logging.getLogger("fordra.test").debug("once")
    assert len(capsys.readouterr().err.splitlines()) == 1


@pytest.mark.usefixtures("root_logging")
def test_plain_text_logging(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=False)
    with correlation_scope("corr-txt"):
        logging.getLogger("fordra.test").info("hello")
    err = capsys.readouterr().err
    assert "INFO fordra.test [corr-txt] hello" in err


# -- handling events ---------------------------------------------------------------------------


def test_handling_propagates_the_correlation_id_and_records_a_span(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    seen: list[str | None] = []
    with telemetry.handling("dunning", envelope()) as span:
        seen.append(current_correlation_id())
        assert span.is_recording()
    assert seen == ["corr-1"]
    assert current_correlation_id() is None

    finished = only_span(exporter)
    assert finished.name == "handle InvoiceIssued"
    assert finished.kind is SpanKind.CONSUMER
    attrs = dict(finished.attributes or {})
    assert attrs["fordra.consumer"] == "dunning"
    assert attrs["fordra.event_id"] == "evt-1"
    assert attrs["fordra.correlation_id"] == "corr-1"
    assert attrs["fordra.causation_id"] == "evt-0"
    assert attrs["fordra.stream_id"] == "invoice-42"
    assert attrs["fordra.position"] == 17
    assert finished.status.status_code is StatusCode.UNSET
    labels = {"consumer": "dunning", "upstream": "invoicing", "event_type": "InvoiceIssued"}
    assert sample_value(telemetry, "events_handled_total", **labels) == 1.0
    assert sample_value(telemetry, "handler_failures_total") is None


def test_handling_without_causation_leaves_the_attribute_out(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    with telemetry.handling("projections", envelope(causation_id=None)):
        pass
    assert "fordra.causation_id" not in (only_span(exporter).attributes or {})


def test_handling_counts_a_failure_and_reraises(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    seen: list[str | None] = []

    def handle() -> None:
        with telemetry.handling("dunning", envelope("corr-fail")):
            seen.append(current_correlation_id())
            raise KeyError("missing")

    with pytest.raises(KeyError):
        handle()
    assert seen == ["corr-fail"]
    assert current_correlation_id() is None

    finished = only_span(exporter)
    assert finished.status.status_code is StatusCode.ERROR
    assert [e.name for e in finished.events] == ["exception"]
    assert (finished.events[0].attributes or {})["exception.type"] == "KeyError"
    labels = {"consumer": "dunning", "upstream": "invoicing", "event_type": "InvoiceIssued"}
    assert sample_value(telemetry, "handler_failures_total", **labels, error="KeyError") == 1.0
    assert sample_value(telemetry, "events_handled_total", **labels) == 1.0


# -- commands ----------------------------------------------------------------------------------


def test_command_counts_ok_and_error(telemetry: Telemetry, exporter: InMemorySpanExporter) -> None:
    with correlation_scope("corr-cmd"), telemetry.command("IssueInvoice"):
        pass
    with pytest.raises(ValueError, match="rejected"), telemetry.command("IssueInvoice"):
        raise ValueError("rejected")

    ok, error = exporter.get_finished_spans()
    assert ok.name == error.name == "command IssueInvoice"
    assert (ok.attributes or {})["fordra.correlation_id"] == "corr-cmd"
    assert ok.status.status_code is StatusCode.UNSET
    assert error.status.status_code is StatusCode.ERROR
    assert sample_value(telemetry, "commands_total", command="IssueInvoice", outcome="ok") == 1.0
    assert sample_value(telemetry, "commands_total", command="IssueInvoice", outcome="error") == 1.0


def test_command_span_is_a_child_of_the_handling_span(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    with telemetry.handling("dunning", envelope()), telemetry.command("SendReminder"):
        pass
    command, handling = exporter.get_finished_spans()
    assert command.parent is not None
    assert command.parent.span_id == handling.context.span_id
    assert (command.attributes or {})["fordra.correlation_id"] == "corr-1"


# -- providers and registries ------------------------------------------------------------------


def test_metrics_text_is_prometheus_exposition(telemetry: Telemetry) -> None:
    telemetry.http_request_duration.record(0.02, {"method": "GET", "route": "/x", "status": "200"})
    body, content_type = telemetry.metrics_text()
    assert content_type.startswith("text/plain")
    assert "version=0.0.4" in content_type
    text = body.decode()
    assert "# TYPE http_request_duration_seconds histogram" in text
    assert 'http_request_duration_seconds_bucket{le="0.025",method="GET"' in text
    assert 'service_name="fordra-test"' in text  # target_info


def test_two_telemetry_objects_do_not_clash() -> None:
    first_spans, second_spans = InMemorySpanExporter(), InMemorySpanExporter()
    first = setup_telemetry("first", span_exporter=first_spans)
    second = setup_telemetry("second", span_exporter=second_spans)
    try:
        first.commands.add(1, {"command": "A", "outcome": "ok"})
        second.commands.add(2, {"command": "B", "outcome": "ok"})
        with first.command("A"):
            pass

        assert sample_value(first, "commands_total", command="A") == 2.0
        assert sample_value(first, "commands_total", command="B") is None
        assert sample_value(second, "commands_total", command="B") == 2.0
        assert sample_value(second, "commands_total", command="A") is None
        assert len(first_spans.get_finished_spans()) == 1
        assert second_spans.get_finished_spans() == ()

        # Shutting one down leaves the other working.
        first.shutdown()
        second.commands.add(1, {"command": "B", "outcome": "ok"})
        assert sample_value(second, "commands_total", command="B") == 3.0
    finally:
        second.shutdown()


def test_importing_creates_nothing() -> None:
    code = textwrap.dedent(
        """
        import logging
        import fordra.kernel.telemetry
        import fordra.app.observability
        from opentelemetry import metrics, trace
        assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
        assert type(metrics.get_meter_provider()).__name__ == "_ProxyMeterProvider"
        assert logging.getLogger().handlers == []
        from prometheus_client import REGISTRY
        assert not any(
            type(c).__name__ == "_CustomCollector" for c in REGISTRY._collector_to_names
        )
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- one trace per correlation id ----------------------------------------------------------------


def test_a_w3c_trace_id_is_its_own_trace_id_and_anything_else_is_hashed() -> None:
    assert trace_id_for("4bf92f3577b34da6a3ce929d0e0e4736") == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    # Upper case, all zeros, the wrong length or not hex: hashed, stable, never zero.
    for other in ("4BF92F3577B34DA6A3CE929D0E0E4736", "0" * 32, "corr-1", "x" * 32, ""):
        derived = trace_id_for(other)
        assert 0 < derived < 2**128
        assert derived == trace_id_for(other)
    assert trace_id_for("corr-1") != trace_id_for("corr-2")


def test_a_root_span_in_a_correlation_scope_takes_that_trace_id(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    with correlation_scope("corr-9"), telemetry.tracer.start_as_current_span("root"):
        pass
    with telemetry.tracer.start_as_current_span("outside"):
        pass
    root, outside = exporter.get_finished_spans()
    assert root.context is not None
    assert root.context.trace_id == trace_id_for("corr-9")
    assert outside.context is not None
    assert outside.context.trace_id != trace_id_for("corr-9")


def test_a_batch_is_traced_once_per_correlation_id_and_counted_per_type(
    telemetry: Telemetry, exporter: InMemorySpanExporter
) -> None:
    batch = [envelope("corr-a"), envelope("corr-b"), envelope("corr-a")]
    with telemetry.handling_batch("projection:customer_ledger", "invoicing", batch):
        pass
    spans = sorted(
        exporter.get_finished_spans(),
        key=lambda s: str((s.attributes or {})["fordra.correlation_id"]),
    )
    assert [(s.attributes or {})["fordra.events"] for s in spans] == [2, 1]
    assert [s.context.trace_id for s in spans if s.context] == [
        trace_id_for("corr-a"),
        trace_id_for("corr-b"),
    ]
    assert all(s.kind is SpanKind.CONSUMER and s.parent is None for s in spans)
    labels = {"consumer": "projection:customer_ledger", "event_type": "InvoiceIssued"}
    assert sample_value(telemetry, "events_handled_total", **labels) == 3.0

    with pytest.raises(KeyError), telemetry.handling_batch("process:x", "invoicing", batch[:1]):
        raise KeyError("missing")
    failed = [
        s
        for s in exporter.get_finished_spans()
        if (s.attributes or {})["fordra.consumer"] == "process:x"
    ]
    assert [s.status.status_code for s in failed] == [StatusCode.ERROR]
    assert (
        sample_value(telemetry, "handler_failures_total", consumer="process:x", error="KeyError")
        == 1.0
    )
