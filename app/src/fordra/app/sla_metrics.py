"""``fordra_sla_*_cases{kind}``: the case register's service levels on ``/metrics`` (issue 17).

The figures are the SLA dashboard's for the week under way (``GET /api/v1/sla/dashboard``, the
same function, read as the ops lead reads it): per kind the cases open, due today and overdue as
of the business date. Read at scrape time and with the other gauges every 15 seconds.
"""

from __future__ import annotations

from opentelemetry.metrics import Meter

from fordra.kernel.auth import Principal, Role
from fordra.projections.application.case_register import CaseRegisterDeps, sla_dashboard

__all__ = ["SlaGauge"]


class SlaGauge:
    """Sets ``fordra_sla_open_cases``, ``fordra_sla_due_today_cases`` and
    ``fordra_sla_overdue_cases`` per kind on ``refresh``."""

    def __init__(self, meter: Meter, cases: CaseRegisterDeps, tenant: str) -> None:
        self._open = meter.create_gauge(
            "fordra_sla_open_cases", unit="1", description="Cases of the register not yet done"
        )
        self._due_today = meter.create_gauge(
            "fordra_sla_due_today_cases", unit="1", description="Open cases due today"
        )
        self._overdue = meter.create_gauge(
            "fordra_sla_overdue_cases", unit="1", description="Open cases past their due date"
        )
        self._cases = cases
        # The office's view: every department's cases.
        self._reader = Principal(subject="metrics", role=Role.OPS_LEAD, tenant=tenant)

    async def refresh(self) -> None:
        year, week, _ = self._cases.clock.today().isocalendar()
        board = await sla_dashboard(self._cases, self._reader, f"{year}-W{week:02d}")
        for kind in board.kinds:
            labels = {"kind": kind.kind}
            self._open.set(kind.open, labels)
            self._due_today.set(kind.due_today, labels)
            self._overdue.set(kind.overdue, labels)
