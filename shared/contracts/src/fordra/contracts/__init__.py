"""Each context's public events, as versioned pydantic models.

Contexts talk only through these: a service imports ``fordra.contracts.<context>``, never another
service. ``all_contracts()`` lists every public event for the registry the app builds.
"""

from __future__ import annotations

from fordra.contracts import agency_gateway, dunning, invoicing, payments, utility_disconnect
from fordra.kernel.events import Event


def all_contracts() -> list[type[Event]]:
    return [
        *invoicing.CONTRACTS,
        *payments.CONTRACTS,
        *dunning.CONTRACTS,
        *agency_gateway.CONTRACTS,
        *utility_disconnect.CONTRACTS,
    ]
