"""What the agency gateway's use cases are given (wired in app.bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass

from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore
from fordra.kernel.projection import ReadModelDatabase

# The gateway's log: its own event store (app.bootstrap.CONTEXTS).
CONTEXT = "agency-gateway"


@dataclass(frozen=True, slots=True)
class AgencyDeps:
    store: EventStore
    registry: EventRegistry
    clock: BusinessClock
    calendar: WorkingDayCalendar
    settings: AgencySettings
    read_models: ReadModelDatabase
    tenant: str  # the municipality whose claims go out
