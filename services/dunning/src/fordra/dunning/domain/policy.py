"""Dunning policies, the "kravkod" (domain.md §3 and §4; seed 001, seed 004).

A ``DunningPolicy`` says, for one service type from its ``valid_from``, how an unpaid invoice is
dunned: the model (our own reminder then the handover, seed 001; or the agency reminds after a
monthly handover, seed 004), how many days after the due date the reminder goes, its fee, how
many days after the reminder the claim is handed over, what follows the reminder and which
customers are exempt. A ``PolicyBook`` holds the defaults and every stored version and answers
the policy in force on a day: the version with the latest ``valid_from`` on or before it. A
change is a new version; it never rewrites history.

What the rulebook says, and the rule that checks it (each a ``DomainRuleViolation`` naming the
rule, a 422 over HTTP):

- the reminder goes at the earliest 7 days after the due date (domain.md §4, seed 001):
  ``check_reminder_not_before_seven_days``;
- a reminder fee only if it was agreed when the debt arose (domain.md §3, lag 1981:739):
  ``check_reminder_fee_agreed``; and at most 60 kr: ``check_reminder_fee_within_cap``;
- in the agency model the agency sends the reminder and keeps its fee (seed 004 lines 9-10): we
  send none, so we charge none (``check_no_own_reminder_fee_when_agency_reminds``), and the claim
  goes to the agency (``check_agency_model_hands_over``);
- nothing for an oral plan, at most 170 kr for a written one, nothing for a notice of
  disconnection (domain.md §3 and §6): ``check_no_fee_for_oral_plan``,
  ``check_written_plan_fee_within_cap``, ``check_no_fee_for_disconnection_notice`` (the payment
  plans and the utility disconnection call them; a policy has no such fee);
- a letter threatens only what the process will do (domain.md §4 "no empty threats", seed 001):
  ``check_next_step_is_a_real_process`` (a disconnection only for the services whose
  disconnection process exists, a termination only for childcare);
- undisputed overdue claims go without delay (seed 000 §11): ``check_claims_go_without_delay``.

Where the rulebook is silent, our choices:

- A new version takes effect today at the earliest (``check_change_never_rewrites_history``), and
  a version already in force (``valid_from`` today or before) is never replaced: the daily run of
  a day that passed, or of today, may have used it. A version not yet in force may be replaced by
  setting the same ``valid_from`` again. A version from today governs the daily runs still to
  be made today (a run is made once per date, so one already made stands).
- The caps are those in force on the version's ``valid_from``. Should a cap be lowered later, the
  fee charged on a day is never above that day's cap (``DunningPolicy.reminder_fee_on``).
- The default of every service follows seed 001 (reminder 7 days after the due date, no fee,
  handover 10 days after the reminder, next step ``agency``; childcare ``termination_warning``),
  from the dated settings in force on the day asked for (``default_policy``).
- Electricity's default next step is ``agency``, not ``disconnection``: a municipality opts in by
  setting a policy for ``electricity_grid`` or ``electricity_supply`` whose next step is
  ``disconnection`` (``DunningSettings.disconnection_services`` names the services whose
  disconnection process exists, issue 16). Then, on the day the claim would have been handed to the
  agency, dunning refers it to the disconnection procedure (``ReferredForDisconnection``); a
  referral the procedure declines (a business, not material, ``manual``, no supply point) is
  handed to the agency after all, so the claim never stalls. The reminder of such a policy never
  threatens disconnection: the materiality is not yet assessed, and the case's request to remedy
  is the first letter that may (domain.md §6, ``fordra.dunning.domain.letters``).
- Water never gets a reminder fee unless agreed: ``reminder_fee_agreed`` is false by default for
  every service, and the fee then must be 0 (seed 001: "Avgift för påminnelse debiteras ej").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import cast

from pydantic import BaseModel, ConfigDict

from fordra.contracts.dunning import NextStep
from fordra.contracts.invoicing import SERVICE_TYPES, ServiceType
from fordra.dunning.domain.settings import DunningModel, DunningSettings
from fordra.kernel.dated import SINCE_ALWAYS
from fordra.kernel.errors import DomainRuleViolation


class DunningPolicy(BaseModel):
    """How one service type is dunned from ``valid_from`` on (domain.md §4)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    service_type: ServiceType
    valid_from: date
    model: DunningModel
    reminder_after_days: int
    reminder_fee_ore: int
    reminder_fee_agreed: bool
    handover_after_reminder_days: int
    next_step: NextStep
    # Sorted and without repeats, so that two versions that say the same thing are equal.
    exempt_customer_ids: tuple[str, ...] = ()

    def is_exempt(self, customer_id: str) -> bool:
        """Is ``customer_id`` left out of the dunning flow of this service?"""
        return customer_id in self.exempt_customer_ids

    def reminder_fee_on(self, day: date, settings: DunningSettings) -> int:
        """The reminder fee charged on ``day``: 0 unless agreed, and never above the cap in force
        that day (domain.md §3), even where the cap was lowered after the policy was set."""
        if not self.reminder_fee_agreed:
            return 0
        return min(self.reminder_fee_ore, settings.reminder_fee_cap_ore.at(day))


# -- the rules ------------------------------------------------------------------------------------


def check_service_type_known(service_type: str) -> ServiceType:
    """A policy is for one of the services invoices are issued for (``SERVICE_TYPES``)."""
    if service_type not in SERVICE_TYPES:
        raise DomainRuleViolation(
            f"unknown service type {service_type!r}; known: {', '.join(SERVICE_TYPES)}",
            field="service_type",
            rule="check_service_type_known",
        )
    # Checked against the Literal's own values just above.
    return cast("ServiceType", service_type)


def check_change_never_rewrites_history(
    valid_from: date, today: date, existing: DunningPolicy | None
) -> None:
    """A change takes effect today at the earliest, and a version in force is never replaced
    (domain.md §4: a policy is versioned; the daily runs that used a version stand)."""
    if valid_from < today:
        raise DomainRuleViolation(
            f"valid_from {valid_from} is in the past (today is {today}): a change never "
            "rewrites history; set a new version from today or later",
            field="valid_from",
            rule="check_change_never_rewrites_history",
        )
    if existing is not None and existing.valid_from <= today:
        raise DomainRuleViolation(
            f"the {existing.service_type} policy from {valid_from} is already in force and is "
            "never replaced; set a new version from a later date",
            field="valid_from",
            rule="check_change_never_rewrites_history",
        )


def check_reminder_not_before_seven_days(policy: DunningPolicy, settings: DunningSettings) -> None:
    """The reminder goes at the earliest 7 days after the due date (domain.md §4, seed 001:
    "Påminnelse skall skickas tidigast sju dagar efter förfallodagen")."""
    least = settings.minimum_reminder_days.at(policy.valid_from)
    if policy.reminder_after_days < least:
        raise DomainRuleViolation(
            f"a reminder goes at the earliest {least} days after the due date, not "
            f"{policy.reminder_after_days}",
            field="reminder_after_days",
            rule="check_reminder_not_before_seven_days",
        )


def check_reminder_fee_agreed(policy: DunningPolicy) -> None:
    """A reminder fee only where it was agreed when the debt arose (domain.md §3, lag 1981:739
    2 §; fees set by a taxa usually were not): a fee without legal ground cannot be set."""
    if policy.reminder_fee_ore > 0 and not policy.reminder_fee_agreed:
        raise DomainRuleViolation(
            f"a reminder fee of {policy.reminder_fee_ore} öre needs an agreement made when the "
            "debt arose (reminder_fee_agreed); without one the fee is 0",
            field="reminder_fee_ore",
            rule="check_reminder_fee_agreed",
        )


def check_reminder_fee_within_cap(policy: DunningPolicy, settings: DunningSettings) -> None:
    """At most the statutory reminder fee, 60 kr (domain.md §3, förordning 2003:1185)."""
    cap = settings.reminder_fee_cap_ore.at(policy.valid_from)
    if policy.reminder_fee_ore > cap:
        raise DomainRuleViolation(
            f"a reminder fee of {policy.reminder_fee_ore} öre is above the statutory cap of "
            f"{cap} öre",
            field="reminder_fee_ore",
            rule="check_reminder_fee_within_cap",
        )


def check_no_own_reminder_fee_when_agency_reminds(policy: DunningPolicy) -> None:
    """In the agency model the agency sends the reminder and gets its fee from the debtor (seed
    004 lines 9-10): the municipality sends none and may charge none."""
    if policy.model == "handover_then_agency_reminder" and policy.reminder_fee_ore > 0:
        raise DomainRuleViolation(
            "in the model handover_then_agency_reminder the agency sends the reminder and "
            "charges its fee; the municipality's reminder fee must be 0",
            field="reminder_fee_ore",
            rule="check_no_own_reminder_fee_when_agency_reminds",
        )


def check_agency_model_hands_over(policy: DunningPolicy) -> None:
    """The agency model hands the claim to the agency (seed 004): its next step is the agency."""
    if policy.model == "handover_then_agency_reminder" and policy.next_step != "agency":
        raise DomainRuleViolation(
            "in the model handover_then_agency_reminder the claim goes to the agency: "
            f"next_step must be 'agency', not {policy.next_step!r}",
            field="next_step",
            rule="check_agency_model_hands_over",
        )


def check_next_step_is_a_real_process(policy: DunningPolicy, settings: DunningSettings) -> None:
    """No empty threats (domain.md §4, seed 001, seed 003 section 3): a letter may say only what
    the process will do, so a policy may name a disconnection only for a service whose
    disconnection process exists, and a termination only for a service that is terminated for
    unpaid fees (childcare)."""
    step = policy.next_step
    if step == "disconnection" and policy.service_type not in settings.disconnection_services:
        allowed = ", ".join(settings.disconnection_services) or "none yet"
        raise DomainRuleViolation(
            f"no disconnection process exists for {policy.service_type} (services: {allowed}); "
            "a reminder may not threaten what will not be done",
            field="next_step",
            rule="check_next_step_is_a_real_process",
        )
    if step == "termination_warning" and policy.service_type not in settings.termination_services:
        allowed = ", ".join(settings.termination_services) or "none"
        raise DomainRuleViolation(
            f"{policy.service_type} is not terminated for unpaid fees (services: {allowed}); "
            "a reminder may not threaten what will not be done",
            field="next_step",
            rule="check_next_step_is_a_real_process",
        )


def check_claims_go_without_delay(policy: DunningPolicy, settings: DunningSettings) -> None:
    """Undisputed overdue claims go without delay (seed 000 §11: "utan dröjsmål"): no step of a
    policy waits longer than the dated bound."""
    most = settings.maximum_step_days.at(policy.valid_from)
    for name, days in (
        ("reminder_after_days", policy.reminder_after_days),
        ("handover_after_reminder_days", policy.handover_after_reminder_days),
    ):
        if days > most:
            raise DomainRuleViolation(
                f"{name} of {days} days delays an undisputed claim; at most {most}",
                field=name,
                rule="check_claims_go_without_delay",
            )


def check_no_fee_for_oral_plan(fee_ore: int, day: date, settings: DunningSettings) -> None:
    """Nothing for an oral payment plan (domain.md §3, förordning 2003:1185)."""
    cap = settings.oral_plan_fee_cap_ore.at(day)
    if fee_ore > cap:
        raise DomainRuleViolation(
            f"an oral payment plan may cost at most {cap} öre, not {fee_ore}",
            field="fee_ore",
            rule="check_no_fee_for_oral_plan",
        )


def check_written_plan_fee_within_cap(fee_ore: int, day: date, settings: DunningSettings) -> None:
    """At most 170 kr for a written payment plan (domain.md §3, förordning 2003:1185)."""
    cap = settings.written_plan_fee_cap_ore.at(day)
    if fee_ore > cap:
        raise DomainRuleViolation(
            f"a written payment plan may cost at most {cap} öre, not {fee_ore}",
            field="fee_ore",
            rule="check_written_plan_fee_within_cap",
        )


def check_plan_fee_has_legal_ground(
    fee_ore: int, *, written: bool, day: date, settings: DunningSettings
) -> None:
    """The fee of a payment plan: the written plan's cap, or nothing for an oral one."""
    if fee_ore < 0:
        raise DomainRuleViolation(
            f"a fee is not negative: {fee_ore}",
            field="fee_ore",
            rule="check_plan_fee_has_legal_ground",
        )
    if written:
        check_written_plan_fee_within_cap(fee_ore, day, settings)
    else:
        check_no_fee_for_oral_plan(fee_ore, day, settings)


def check_no_fee_for_disconnection_notice(
    fee_ore: int, day: date, settings: DunningSettings
) -> None:
    """Nothing for a "notice of disconnection" (domain.md §6, seed 003 lines 39-41)."""
    cap = settings.disconnection_notice_fee_cap_ore.at(day)
    if fee_ore > cap:
        raise DomainRuleViolation(
            f"a notice of disconnection may cost at most {cap} öre, not {fee_ore}",
            field="fee_ore",
            rule="check_no_fee_for_disconnection_notice",
        )


def check_policy(policy: DunningPolicy, settings: DunningSettings) -> None:
    """Every rule a policy must meet, the first broken one raised (domain.md §3-4)."""
    check_reminder_not_before_seven_days(policy, settings)
    check_claims_go_without_delay(policy, settings)
    check_reminder_fee_agreed(policy)
    check_reminder_fee_within_cap(policy, settings)
    check_no_own_reminder_fee_when_agency_reminds(policy)
    check_agency_model_hands_over(policy)
    check_next_step_is_a_real_process(policy, settings)


def default_policy(
    service_type: ServiceType, day: date, settings: DunningSettings
) -> DunningPolicy:
    """The policy of a service nobody has set one for: seed 001's, from the settings in force on
    ``day`` (a reminder 7 days after the due date, no fee, handover 10 days after it)."""
    return DunningPolicy(
        service_type=service_type,
        valid_from=SINCE_ALWAYS,
        model=settings.default_model,
        reminder_after_days=settings.default_reminder_after_days.at(day),
        reminder_fee_ore=0,
        reminder_fee_agreed=False,
        handover_after_reminder_days=settings.default_handover_after_reminder_days.at(day),
        next_step=settings.next_step_for(service_type),
    )


def normalised(policy: DunningPolicy) -> DunningPolicy:
    """The policy with its exempt customers sorted and without repeats."""
    exempt = tuple(sorted(set(policy.exempt_customer_ids)))
    if exempt == policy.exempt_customer_ids:
        return policy
    return policy.model_copy(update={"exempt_customer_ids": exempt})


# -- the book -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """The defaults and every stored version, per service type sorted by ``valid_from``.

    ``policy_for(service_type, day)`` is what the daily run looks up (the run reads the book
    once per run: ``fordra.dunning.application.policies.policy_book``)."""

    settings: DunningSettings
    versions: Mapping[str, tuple[DunningPolicy, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: DunningSettings, policies: Iterable[DunningPolicy]) -> PolicyBook:
        """A book of ``policies`` in the order they were set: a later one on the same service
        and ``valid_from`` replaces the earlier."""
        book = cls(settings)
        for policy in policies:
            book = book.with_version(policy)
        return book

    def with_version(self, policy: DunningPolicy) -> PolicyBook:
        kept = [
            p
            for p in self.versions.get(policy.service_type, ())
            if p.valid_from != policy.valid_from
        ]
        ordered = tuple(sorted([*kept, normalised(policy)], key=lambda p: p.valid_from))
        return PolicyBook(self.settings, {**self.versions, policy.service_type: ordered})

    def version_on(self, service_type: str, valid_from: date) -> DunningPolicy | None:
        """The stored version of ``service_type`` from exactly ``valid_from``, if any."""
        for policy in self.versions.get(service_type, ()):
            if policy.valid_from == valid_from:
                return policy
        return None

    def policy_for(self, service_type: str, day: date) -> DunningPolicy:
        """The policy in force on ``day``: the stored version with the latest ``valid_from`` on
        or before it, else the default."""
        known = check_service_type_known(service_type)
        stored = self.versions.get(known, ())
        i = bisect_right([p.valid_from for p in stored], day)
        if i == 0:
            return default_policy(known, day, self.settings)
        return stored[i - 1]

    def reminder_fee(self, service_type: str, debt_arose_on: date, day: date) -> int:
        """The reminder fee a claim of ``service_type`` that arose on ``debt_arose_on`` (its
        invoice date) is charged by a reminder on ``day`` (domain.md §3, lag 1981:739): only if a
        fee was agreed when the debt arose, so the policy in force on that date decides whether
        one is due, and the policy of ``day`` (under the day's cap) how much."""
        # A fee agreed later can't be charged on an older debt: the agreement did not exist
        # when the debt arose.
        if not self.policy_for(service_type, debt_arose_on).reminder_fee_agreed:
            return 0
        return self.policy_for(service_type, day).reminder_fee_on(day, self.settings)

    def in_force_and_ahead(self, day: date) -> list[DunningPolicy]:
        """Per service type (in ``SERVICE_TYPES`` order): the policy in force on ``day`` and every
        version that takes effect after it."""
        listed: list[DunningPolicy] = []
        for service_type in SERVICE_TYPES:
            listed.append(self.policy_for(service_type, day))
            listed.extend(p for p in self.versions.get(service_type, ()) if p.valid_from > day)
        return listed
