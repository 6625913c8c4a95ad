"""What the use cases of utility disconnection receive (wired in ``fordra.app.bootstrap``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fordra.kernel.calendar import WorkingDayCalendar
from fordra.kernel.clock import BusinessClock
from fordra.kernel.events import EventRegistry
from fordra.kernel.eventstore import EventStore
from fordra.kernel.projection import ReadModelDatabase
from fordra.utility_disconnect.application.electricity_claims import SupplyPointClaimsProjection
from fordra.utility_disconnect.domain.settings import DisconnectionSettings

CONTEXT = "utility-disconnect"


@dataclass(frozen=True, slots=True)
class UtilityDisconnectDeps:
    store: EventStore  # the context's own store, "utility-disconnect"
    registry: EventRegistry
    clock: BusinessClock
    settings: DisconnectionSettings
    read_models: ReadModelDatabase
    # The claims of each supply point and the customers' kinds (application/electricity_claims).
    claims: SupplyPointClaimsProjection
    # The Swedish working days the procedure's periods end on (lag 1930:173).
    calendar: WorkingDayCalendar = field(default_factory=WorkingDayCalendar)
