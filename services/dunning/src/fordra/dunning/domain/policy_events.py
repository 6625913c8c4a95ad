"""The policies' events: internal to dunning, kept in its own log (domain.md §4).

Every version ever set is one ``DunningPolicySet`` on the one stream ``dunning-policies``, in the
order it was set. One stream rather than one per service type: the daily run and
``GET /api/v1/dunning/policies`` read the whole book at once (one read), and policies are set a
few times a year by an ops lead, so one optimistic version for all of them costs no contention.
The event carries the policy's fields flat rather than the ``DunningPolicy`` model, so that a
change to the model never changes what was stored (an upcaster would lift an older payload).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import ClassVar

from fordra.contracts.dunning import NextStep
from fordra.contracts.invoicing import ServiceType
from fordra.dunning.domain.policy import DunningPolicy, PolicyBook
from fordra.dunning.domain.settings import DunningModel, DunningSettings
from fordra.kernel.events import Event

POLICY_STREAM = "dunning-policies"


class DunningPolicySet(Event):
    """A version of a service's dunning policy, in force from ``valid_from``."""

    event_type: ClassVar[str] = "DunningPolicySet"

    service_type: ServiceType
    valid_from: date
    model: DunningModel
    reminder_after_days: int
    reminder_fee_ore: int
    reminder_fee_agreed: bool
    handover_after_reminder_days: int
    next_step: NextStep
    exempt_customer_ids: tuple[str, ...]

    @classmethod
    def of(cls, policy: DunningPolicy) -> DunningPolicySet:
        return cls.model_validate(policy.model_dump())

    def policy(self) -> DunningPolicy:
        return DunningPolicy.model_validate(self.model_dump())


POLICY_EVENTS: tuple[type[Event], ...] = (DunningPolicySet,)


def replay_policy_book(events: Iterable[Event], settings: DunningSettings) -> PolicyBook:
    """The book from the stream's events, in order."""
    return PolicyBook.of(settings, (e.policy() for e in events if isinstance(e, DunningPolicySet)))
