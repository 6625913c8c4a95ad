"""Observability: the correlation id of the work in hand, structured logs, traces and metrics.

Nothing happens when this module is imported. The app's bootstrap calls ``configure_logging`` and
``setup_telemetry`` once; every other module receives the ``Telemetry`` it returns. The
OpenTelemetry global providers are never set, so several ``Telemetry`` objects (one per test) live
side by side, each with its own tracer provider, meter provider and Prometheus registry.

The correlation id travels in a ``ContextVar``: an HTTP request (``fordra.app.observability``)
or a handled event (``Telemetry.handling``) opens a ``correlation_scope``, and everything running
inside it - log lines, spans, the metadata of appended events - reads it from there.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections import Counter as Tally
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import Counter, Histogram, Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from fordra.kernel.envelope import Envelope

__all__ = [
    "CorrelationTraceIds",
    "Telemetry",
    "configure_logging",
    "correlation_id_var",
    "correlation_scope",
    "current_correlation_id",
    "current_telemetry",
    "setup_telemetry",
    "telemetry_scope",
    "trace_id_for",
]

_log = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------------
# Correlation id
# --------------------------------------------------------------------------------------------------

correlation_id_var: ContextVar[str | None] = ContextVar("fordra_correlation_id", default=None)


def current_correlation_id() -> str | None:
    """The correlation id of the request or event being handled, or None outside of one."""
    return correlation_id_var.get()


@contextmanager
def correlation_scope(correlation_id: str) -> Iterator[None]:
    """Make ``correlation_id`` current for the body; the previous value comes back on exit."""
    token = correlation_id_var.set(correlation_id)
    try:
        yield
    finally:
        correlation_id_var.reset(token)


# --------------------------------------------------------------------------------------------------
# One trace per correlation id
# --------------------------------------------------------------------------------------------------
#
# The correlation id is copied from a command to every event it causes, across contexts, over
# both buses, and stored with each event. The trace id is *derived* from it, so a handler in
# another process, minutes later, lands in the trace of the HTTP request that started the work,
# with nothing more stored or sent: no trace context in the event store's schema or in the Kafka
# message. A request that arrives with a W3C ``traceparent`` (and no ``X-Correlation-ID``) takes
# the caller's trace id as its correlation id (``fordra.app.observability``), so the caller's
# trace goes on through our handlers too.

_HEX_TRACE_ID_LENGTH: Final = 32


def trace_id_for(correlation_id: str) -> int:
    """The trace id of the work ``correlation_id`` names: the id itself when it is a W3C trace id
    (32 lowercase hex digits, not all zero), else the first 128 bits of its SHA-256."""
    if len(correlation_id) == _HEX_TRACE_ID_LENGTH:
        try:
            value = int(correlation_id, 16)
        except ValueError:
            value = 0
        if value and correlation_id == correlation_id.lower():
            return value
    digest = hashlib.sha256(correlation_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:16], "big") or 1


class CorrelationTraceIds(RandomIdGenerator):
    """Root spans opened inside a ``correlation_scope`` get the trace id of that correlation id
    (``trace_id_for``); span ids, and trace ids outside of any scope, stay random."""

    def generate_trace_id(self) -> int:
        correlation_id = correlation_id_var.get()
        if correlation_id is None:
            return super().generate_trace_id()
        return trace_id_for(correlation_id)


# The telemetry of the request or the delivery in hand: the kernel's ``execute`` counts commands
# on it without every use case having to carry it (a process may hold several platforms, one per
# test, so it cannot be a global).
_telemetry_var: ContextVar[Telemetry | None] = ContextVar("fordra_telemetry", default=None)


def current_telemetry() -> Telemetry | None:
    """The ``Telemetry`` of the request or delivery being handled, or None outside of one."""
    return _telemetry_var.get()


@contextmanager
def telemetry_scope(telemetry: Telemetry) -> Iterator[None]:
    """Make ``telemetry`` current for the body (see ``current_telemetry``)."""
    token = _telemetry_var.set(telemetry)
    try:
        yield
    finally:
        _telemetry_var.reset(token)


# --------------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------------

# What every LogRecord carries on its own; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES: Final = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__
) | {"message", "asctime", "taskName"}


# Extras meant for a terminal: uvicorn's ``color_message`` repeats the message with ANSI escapes.
_TERMINAL_ONLY: Final = frozenset({"color_message"})


def _encode_default(value: object) -> str:
    return str(value)


class JsonLinesFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, correlation_id (when set), trace_id and
    span_id (when a span is recording), the ``extra=`` fields, exc_info and stack_info."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            key: value
            for key, value in record.__dict__.items()
            if key not in _RECORD_ATTRIBUTES
            and key not in _TERMINAL_ONLY
            and not key.startswith("_")
        }
        entry.update(
            ts=datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="microseconds"),
            level=record.levelname,
            logger=record.name,
            message=record.getMessage(),
        )
        correlation_id = entry.get("correlation_id") or current_correlation_id()
        if correlation_id is not None:
            entry["correlation_id"] = correlation_id
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            entry.setdefault("trace_id", trace.format_trace_id(span_context.trace_id))
            entry.setdefault("span_id", trace.format_span_id(span_context.span_id))
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        try:
            encoded = orjson.dumps(entry, default=_encode_default, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # e.g. an integer beyond 64 bits, a recursive structure
            encoded = orjson.dumps(
                {k: v if isinstance(v, str) else repr(v) for k, v in entry.items()}
            )
        return encoded.decode()


class _TextFormatter(logging.Formatter):
    """For a developer's terminal: ``ts LEVEL logger [correlation id] message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = current_correlation_id() or "-"
        return super().format(record)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the record (pytest swaps it per test)."""

    _fordra = True

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Send the root logger to stderr, one JSON object a line (or plain text for a terminal).

    Idempotent: a second call replaces the handler the first one installed (so it may change the
    level or the format) and leaves every other handler alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_fordra", False):
            root.removeHandler(handler)
            handler.close()
    handler = _StderrHandler()
    handler.setFormatter(JsonLinesFormatter() if json_lines else _TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())


# --------------------------------------------------------------------------------------------------
# Traces and metrics
# --------------------------------------------------------------------------------------------------

# A batch with more correlation ids than this gets spans for the first ones only: a consumer that
# catches up after a pause must not open thousands of spans at once. The counters count them all.
_MAX_TRACES_PER_BATCH: Final = 32

# Seconds: the OpenTelemetry default buckets (0 to 10 000) are meant for milliseconds.
_DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_INSTRUMENTATION_NAME: Final = "fordra"


class Telemetry:
    """The tracer, the meter and the platform's instruments, for one service.

    Built by ``setup_telemetry``. Owns its providers and its Prometheus registry; ``shutdown``
    flushes and releases them.
    """

    def __init__(
        self,
        service_name: str,
        *,
        tracer_provider: TracerProvider,
        meter_provider: MeterProvider,
        registry: CollectorRegistry,
    ) -> None:
        self.service_name = service_name
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.registry = registry
        self.tracer: Tracer = tracer_provider.get_tracer(_INSTRUMENTATION_NAME)
        self.meter: Meter = meter_provider.get_meter(_INSTRUMENTATION_NAME)

        # Attributes: method, route, status.
        self.http_requests: Counter = self.meter.create_counter(
            "http_requests", unit="1", description="HTTP requests answered"
        )
        # Attributes: method, route, status.
        self.http_request_duration: Histogram = self.meter.create_histogram(
            "http_request_duration",
            unit="s",
            description="Time to answer an HTTP request",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        # Attributes: consumer, upstream, event_type. Every attempt, failed ones included.
        self.events_handled: Counter = self.meter.create_counter(
            "events_handled", unit="1", description="Events a consumer handled (attempts)"
        )
        # Attributes: consumer, upstream, event_type, error. The failed part of events_handled.
        self.handler_failures: Counter = self.meter.create_counter(
            "handler_failures", unit="1", description="Event handlings that raised"
        )
        # Attributes: command, outcome (ok | error).
        self.commands: Counter = self.meter.create_counter(
            "commands", unit="1", description="Commands executed"
        )
        # Attributes: kind (bank_file | invoice_batch), format. Files and batches refused whole.
        self.import_errors: Counter = self.meter.create_counter(
            "import_errors", unit="1", description="Imported files or batches refused whole"
        )

    def metrics_text(self) -> tuple[bytes, str]:
        """This service's metrics in the Prometheus text exposition format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4

    @contextmanager
    def handling(self, consumer: str, envelope: Envelope) -> Iterator[Span]:
        """Handle ``envelope`` in ``consumer`` inside a span and the event's correlation scope.

        Counts ``events_handled``; when the body raises, records the exception on the span and
        counts ``handler_failures`` before re-raising.
        """
        labels = {
            "consumer": consumer,
            "upstream": envelope.context,
            "event_type": envelope.event_type,
        }
        attributes: dict[str, AttributeValue] = {
            "fordra.consumer": consumer,
            "fordra.event_id": envelope.event_id,
            "fordra.event_type": envelope.event_type,
            "fordra.upstream": envelope.context,
            "fordra.correlation_id": envelope.metadata.correlation_id,
            "fordra.stream_id": envelope.stream_id,
            "fordra.position": envelope.position,
        }
        if envelope.metadata.causation_id is not None:
            attributes["fordra.causation_id"] = envelope.metadata.causation_id
        with (
            correlation_scope(envelope.metadata.correlation_id),
            self.tracer.start_as_current_span(
                f"handle {envelope.event_type}",
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
        ):
            try:
                yield span
            except Exception as exc:
                _record_error(span, exc)
                self.events_handled.add(1, labels)
                self.handler_failures.add(1, {**labels, "error": type(exc).__name__})
                raise
            self.events_handled.add(1, labels)

    @contextmanager
    def handling_batch(
        self, consumer: str, upstream: str, events: Sequence[Envelope]
    ) -> Iterator[None]:
        """Hand ``events`` (one delivered batch) to ``consumer`` inside a CONSUMER span in the
        trace of each correlation id the batch carries, so that every request's trace shows the
        handlers its events went through, though they apply the batch as one.

        Counts ``events_handled`` per event type; when the body raises, records the error on
        every span and counts ``handler_failures`` before re-raising.
        """
        by_type = Tally(e.event_type for e in events)
        correlation_ids = list(dict.fromkeys(e.metadata.correlation_id for e in events))
        with ExitStack() as spans_open:
            spans: list[Span] = []
            for correlation_id in correlation_ids[:_MAX_TRACES_PER_BATCH]:
                with correlation_scope(correlation_id):
                    # Not made current: each is a root in its own trace (``CorrelationTraceIds``).
                    span = self.tracer.start_span(
                        f"handle {consumer}",
                        kind=SpanKind.CONSUMER,
                        attributes={
                            "fordra.consumer": consumer,
                            "fordra.upstream": upstream,
                            "fordra.correlation_id": correlation_id,
                            "fordra.events": sum(
                                1 for e in events if e.metadata.correlation_id == correlation_id
                            ),
                            "fordra.event_types": sorted(
                                {
                                    e.event_type
                                    for e in events
                                    if e.metadata.correlation_id == correlation_id
                                }
                            ),
                            "fordra.batch_size": len(events),
                        },
                    )
                spans.append(span)
                spans_open.callback(span.end)
            with telemetry_scope(self):
                try:
                    yield
                except Exception as exc:
                    for span in spans:
                        _record_error(span, exc)
                    for event_type, count in by_type.items():
                        labels = {"consumer": consumer, "upstream": upstream}
                        labels["event_type"] = event_type
                        self.events_handled.add(count, labels)
                        self.handler_failures.add(count, {**labels, "error": type(exc).__name__})
                    raise
            for event_type, count in by_type.items():
                self.events_handled.add(
                    count, {"consumer": consumer, "upstream": upstream, "event_type": event_type}
                )

    @contextmanager
    def command(self, name: str) -> Iterator[Span]:
        """Run command ``name`` inside a span; counts ``commands`` with outcome ok or error."""
        attributes: dict[str, AttributeValue] = {"fordra.command": name}
        correlation_id = current_correlation_id()
        if correlation_id is not None:
            attributes["fordra.correlation_id"] = correlation_id
        with self.tracer.start_as_current_span(
            f"command {name}",
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except Exception as exc:
                _record_error(span, exc)
                self.commands.add(1, {"command": name, "outcome": "error"})
                raise
            self.commands.add(1, {"command": name, "outcome": "ok"})

    def shutdown(self) -> None:
        """Flush the span processors, stop the meter provider, unregister from the registry."""
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _record_error(span: Span, exc: BaseException) -> None:
    span.record_exception(exc)
    # The type only: a message may quote data that does not belong in a status line.
    span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def setup_telemetry(
    service_name: str,
    *,
    span_exporter: SpanExporter | None = None,
    resource_attributes: Mapping[str, str] | None = None,
) -> Telemetry:
    """Build the telemetry of one service: its own providers, never the OpenTelemetry globals.

    ``span_exporter`` gets every finished span synchronously (a ``SimpleSpanProcessor``): tests
    pass an ``InMemorySpanExporter``. Without one, spans are created (they carry the trace ids
    into the logs) but go nowhere.

    OTLP: when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set,
    spans also go to that collector over OTLP/HTTP (protobuf) from a ``BatchSpanProcessor``, and
    the metrics every ``OTEL_METRIC_EXPORT_INTERVAL`` milliseconds (default 60 000) beside the
    Prometheus text of ``/metrics``. The exporters read the standard ``OTEL_EXPORTER_OTLP_*``
    variables themselves (endpoint, headers, timeout); a collector that is down costs a logged
    warning per batch, never a request.
    """
    resource = Resource.create({"service.name": service_name, **(resource_attributes or {})})
    tracer_provider = TracerProvider(resource=resource, id_generator=CorrelationTraceIds())
    if span_exporter is not None:
        tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    readers: list[MetricReader] = []
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))

    registry = CollectorRegistry()
    reader = PrometheusMetricReader(scope_info_enabled=False, registry=registry)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader, *readers])
    return Telemetry(
        service_name,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        registry=registry,
    )
