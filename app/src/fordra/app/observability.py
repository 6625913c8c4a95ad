"""HTTP side of observability: a correlation id, a server span and request metrics for every
request, and the Prometheus scrape answer.

W3C Trace Context: a request's ``traceparent`` makes the server span a child of the caller's span,
and, when the caller sent no ``X-Correlation-ID``, its trace id becomes the correlation id, so the
events the request causes, handled later in any process, stay in the caller's trace
(``fordra.kernel.telemetry.trace_id_for``). Every answer carries the server span's ``traceparent``.

``CorrelationMiddleware`` is pure ASGI (not ``BaseHTTPMiddleware``): the endpoint, a streaming
body and background tasks all run in the task and context the middleware opened, so they all see
the request's correlation id and span.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, Final

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fordra.kernel.telemetry import Telemetry, correlation_scope, telemetry_scope

__all__ = [
    "CORRELATION_HEADER",
    "TRACEPARENT_HEADER",
    "CorrelationMiddleware",
    "accepted_correlation_id",
    "install_observability",
    "metrics_response",
]

# One line per request answered, with the route's template and never the raw path or query: a
# path or query may carry a personnummer or an OCR number (uvicorn's own access log, which logs
# them and the client's address, stays off).
access_log = logging.getLogger("fordra.access")

CORRELATION_HEADER: Final = "X-Correlation-ID"
_CORRELATION_HEADER_RAW: Final = CORRELATION_HEADER.lower().encode("latin-1")
TRACEPARENT_HEADER: Final = "traceparent"
_PROPAGATOR: Final = TraceContextTextMapPropagator()
_SANE_CORRELATION_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The metrics' route label when no route matched (404, slash redirects): the raw path would let
# any scanner grow the label set without bound. The span still carries the path.
UNMATCHED_ROUTE: Final = "<unmatched>"


def accepted_correlation_id(value: str | None) -> str:
    """``value`` when it is a sane correlation id (1-64 of ``A-Za-z0-9._-``), else a new uuid4."""
    if value is not None and _SANE_CORRELATION_ID.fullmatch(value):
        return value
    return str(uuid.uuid4())


def caller_trace(scope: Scope) -> tuple[Context | None, str | None]:
    """The caller's trace context from a valid W3C ``traceparent`` (and ``tracestate``), and its
    trace id as 32 hex digits; (None, None) when there is none or it is malformed."""
    traceparent = _header(scope, b"traceparent")
    if traceparent is None:
        return None, None
    carrier = {"traceparent": traceparent}
    tracestate = _header(scope, b"tracestate")
    if tracestate is not None:
        carrier["tracestate"] = tracestate
    context = _PROPAGATOR.extract(carrier)
    span_context = trace.get_current_span(context).get_span_context()
    if not span_context.is_valid:
        return None, None
    return context, trace.format_trace_id(span_context.trace_id)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _route_template(scope: Scope, root_path_before: str) -> str | None:
    """The template of the route the router chose (``/invoices/{invoice_id}``), or None.

    The router writes the route into the request's scope. A ``Mount`` adds what it matched to
    ``root_path``, so the part of ``root_path`` added during the request is the mount prefix.
    """
    route: Any = scope.get("route")
    if route is None:
        return None
    root_path: str = scope.get("root_path", "")
    prefix = root_path[len(root_path_before) :] if root_path.startswith(root_path_before) else ""
    if isinstance(route, Mount):  # a mounted app that is not a router (static files, say)
        return prefix + "/{path}"
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return prefix + template if isinstance(template, str) else None


class CorrelationMiddleware:
    """Per HTTP request: take the caller's ``X-Correlation-ID`` (when sane) or make one, run the
    request inside ``correlation_scope`` and a SERVER span, count ``http_requests`` and
    ``http_request_duration``, and answer the id in the ``X-Correlation-ID`` response header."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        parent, caller_trace_id = caller_trace(scope)
        given = _header(scope, _CORRELATION_HEADER_RAW)
        if given is None and caller_trace_id is not None:
            correlation_id = caller_trace_id
        else:
            correlation_id = accepted_correlation_id(given)
        method: str = scope["method"]
        path: str = scope.get("path", "")
        root_path_before: str = scope.get("root_path", "")
        status = 500  # what the server answers when the app raises before starting a response

        async def send_with_correlation_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers[CORRELATION_HEADER] = correlation_id
                served = span.get_span_context()
                headers[TRACEPARENT_HEADER] = (
                    f"00-{trace.format_trace_id(served.trace_id)}"
                    f"-{trace.format_span_id(served.span_id)}-{served.trace_flags:02x}"
                )
            await send(message)

        started = time.perf_counter()
        with (
            correlation_scope(correlation_id),
            telemetry_scope(self.telemetry),
            self.telemetry.tracer.start_as_current_span(
                f"HTTP {method}",
                context=parent,
                kind=SpanKind.SERVER,
                attributes={"http.method": method, "fordra.correlation_id": correlation_id},
                record_exception=False,
                set_status_on_exception=False,
            ) as span,
        ):
            failed = False
            try:
                await self.app(scope, receive, send_with_correlation_id)
            except Exception as exc:
                failed = True
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
                raise
            finally:
                elapsed = time.perf_counter() - started
                route = _route_template(scope, root_path_before)
                span.update_name(f"HTTP {method} {route or path}")
                span.set_attribute("http.route", route or path)
                span.set_attribute("http.status_code", status)
                if status >= 500 and not failed:
                    span.set_status(Status(StatusCode.ERROR))
                labels = {
                    "method": method,
                    "route": route or UNMATCHED_ROUTE,
                    "status": str(status),
                }
                self.telemetry.http_requests.add(1, labels)
                self.telemetry.http_request_duration.record(elapsed, labels)
                access_log.info(
                    "%s %s %d",
                    method,
                    route or UNMATCHED_ROUTE,
                    status,
                    extra={
                        "http_method": method,
                        "http_route": route or UNMATCHED_ROUTE,
                        "http_status": status,
                        "duration_ms": round(elapsed * 1000, 1),
                    },
                )


def metrics_response(telemetry: Telemetry) -> Response:
    """The Prometheus scrape answer: ``telemetry``'s metrics in the text exposition format."""
    body, content_type = telemetry.metrics_text()
    return Response(content=body, headers={"Content-Type": content_type})


def install_observability(app: FastAPI, telemetry: Telemetry) -> None:
    """Add ``CorrelationMiddleware`` to ``app`` (call before the app serves its first request)."""
    app.add_middleware(CorrelationMiddleware, telemetry=telemetry)
