"""The dunning policies' pure rules and the book (domain.md §3-4, seed 001, seed 004): fees
without legal ground cannot be set, the reminder never before 7 days, no empty threats, and the
policy in force on a day is the latest version on or before it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fordra.contracts.invoicing import SERVICE_TYPES
from fordra.dunning.domain.policy import (
    DunningPolicy,
    PolicyBook,
    check_change_never_rewrites_history,
    check_no_fee_for_disconnection_notice,
    check_plan_fee_has_legal_ground,
    check_policy,
    check_service_type_known,
)
from fordra.dunning.domain.policy_events import DunningPolicySet, replay_policy_book
from fordra.dunning.domain.settings import DunningSettings
from fordra.kernel.dated import Dated
from fordra.kernel.errors import DomainRuleViolation

SETTINGS = DunningSettings()
DAY = date(2026, 3, 2)


def policy(**changes: Any) -> DunningPolicy:
    fields: dict[str, Any] = {
        "service_type": "water",
        "valid_from": date(2026, 4, 1),
        "model": "reminder_then_handover",
        "reminder_after_days": 7,
        "reminder_fee_ore": 0,
        "reminder_fee_agreed": False,
        "handover_after_reminder_days": 10,
        "next_step": "agency",
        "exempt_customer_ids": (),
    }
    return DunningPolicy.model_validate({**fields, **changes})


def broken_rule(p: DunningPolicy, settings: DunningSettings = SETTINGS) -> str | None:
    try:
        check_policy(p, settings)
    except DomainRuleViolation as violation:
        return violation.rule
    return None


def test_every_service_defaults_to_seed_001() -> None:
    # Given no stored version at all
    book = PolicyBook(SETTINGS)
    for service_type in SERVICE_TYPES:
        # When the daily run asks for the policy of any service
        p = book.policy_for(service_type, DAY)
        # Then it is seed 001's: reminder 7 days after the due date, no fee, handover 10 days on
        assert (p.model, p.reminder_after_days, p.reminder_fee_ore, p.reminder_fee_agreed) == (
            "reminder_then_handover",
            7,
            0,
            False,
        )
        assert p.handover_after_reminder_days == 10
        # and childcare warns of termination, every other service goes to the agency
        assert p.next_step == ("termination_warning" if service_type == "childcare" else "agency")
        # and the default meets its own rules
        assert broken_rule(p) is None


def test_electricity_may_end_in_disconnection_where_the_municipality_opts_in() -> None:
    for service_type in ("electricity_grid", "electricity_supply", "water"):
        # The default stays the agency: a municipality opts in (issue 16)
        assert PolicyBook(SETTINGS).policy_for(service_type, DAY).next_step == "agency"
    # The process exists for electricity grid and supply (utility disconnection opens its case
    # on its own from dunning's referral), so their policy may name it
    for service_type in ("electricity_grid", "electricity_supply"):
        assert broken_rule(policy(service_type=service_type, next_step="disconnection")) is None
    # Water's case is opened by hand, and no other service is disconnected at all
    for service_type in ("water", "waste", "childcare"):
        p = policy(service_type=service_type, next_step="disconnection")
        assert broken_rule(p) == "check_next_step_is_a_real_process"
    # Nor in the agency model, where the agency reminds and the claim goes to it
    agency_model = policy(
        service_type="electricity_grid",
        model="handover_then_agency_reminder",
        next_step="disconnection",
    )
    assert broken_rule(agency_model) == "check_agency_model_hands_over"
    # A municipality's settings may still name fewer services
    grid_only = DunningSettings(disconnection_services=("electricity_grid",))
    assert broken_rule(
        policy(service_type="electricity_supply", next_step="disconnection"), grid_only
    ) == ("check_next_step_is_a_real_process")


def test_only_childcare_is_warned_of_termination() -> None:
    assert broken_rule(policy(service_type="childcare", next_step="termination_warning")) is None
    assert broken_rule(policy(service_type="music_school", next_step="termination_warning")) == (
        "check_next_step_is_a_real_process"
    )


@pytest.mark.parametrize(
    ("days", "rule"),
    [
        (6, "check_reminder_not_before_seven_days"),
        (7, None),
        (60, None),
        (61, "check_claims_go_without_delay"),
    ],
)
def test_the_reminder_goes_at_the_earliest_seven_days_after_the_due_date(
    days: int, rule: str | None
) -> None:
    assert broken_rule(policy(reminder_after_days=days)) == rule


def test_the_handover_does_not_wait_beyond_the_bound() -> None:
    assert broken_rule(policy(handover_after_reminder_days=60)) is None
    assert broken_rule(policy(handover_after_reminder_days=61)) == "check_claims_go_without_delay"


def test_a_reminder_fee_needs_an_agreement_and_stays_within_60_kr() -> None:
    # Water: no reminder fee unless agreed (seed 001 "Avgift för påminnelse debiteras ej")
    assert broken_rule(policy(reminder_fee_ore=1)) == "check_reminder_fee_agreed"
    assert broken_rule(policy(reminder_fee_ore=6_000)) == "check_reminder_fee_agreed"
    # Agreed: up to 60 kr, not an öre more
    assert broken_rule(policy(reminder_fee_ore=6_000, reminder_fee_agreed=True)) is None
    assert broken_rule(policy(reminder_fee_ore=6_001, reminder_fee_agreed=True)) == (
        "check_reminder_fee_within_cap"
    )
    # Agreed but no fee: allowed (a municipality may charge less or nothing)
    assert broken_rule(policy(reminder_fee_agreed=True)) is None


def test_the_cap_is_the_one_in_force_when_the_version_starts() -> None:
    # Given a cap raised to 75 kr from 2027
    settings = DunningSettings(
        reminder_fee_cap_ore=Dated[int].table(("1900-01-01", 6_000), ("2027-01-01", 7_500))
    )
    fee = {"reminder_fee_ore": 7_000, "reminder_fee_agreed": True}
    # Then 70 kr is refused from 2026 and accepted from 2027
    assert (
        broken_rule(policy(valid_from=date(2026, 12, 31), **fee), settings)
        == "check_reminder_fee_within_cap"
    )
    assert broken_rule(policy(valid_from=date(2027, 1, 1), **fee), settings) is None


def test_the_fee_charged_never_exceeds_the_days_cap() -> None:
    # Given a 60 kr fee set while the cap was 60 kr, and the cap lowered to 50 kr in 2027
    settings = DunningSettings(
        reminder_fee_cap_ore=Dated[int].table(("1900-01-01", 6_000), ("2027-01-01", 5_000))
    )
    p = policy(reminder_fee_ore=6_000, reminder_fee_agreed=True)
    assert p.reminder_fee_on(date(2026, 12, 31), settings) == 6_000
    assert p.reminder_fee_on(date(2027, 1, 1), settings) == 5_000
    # and a fee not agreed is never charged
    assert policy().reminder_fee_on(DAY, settings) == 0


def test_the_agency_model_charges_no_reminder_fee_of_ours_and_hands_over() -> None:
    agency = {"model": "handover_then_agency_reminder"}
    assert broken_rule(policy(**agency)) is None
    assert broken_rule(policy(**agency, reminder_fee_ore=6_000, reminder_fee_agreed=True)) == (
        "check_no_own_reminder_fee_when_agency_reminds"
    )
    assert broken_rule(policy(**agency, next_step="none")) == "check_agency_model_hands_over"


def test_plans_and_disconnection_notices_cost_only_what_the_law_allows() -> None:
    def refused(fee: int, *, written: bool) -> str | None:
        try:
            check_plan_fee_has_legal_ground(fee, written=written, day=DAY, settings=SETTINGS)
        except DomainRuleViolation as violation:
            return violation.rule
        return None

    assert refused(17_000, written=True) is None
    assert refused(17_001, written=True) == "check_written_plan_fee_within_cap"
    assert refused(0, written=False) is None
    assert refused(1, written=False) == "check_no_fee_for_oral_plan"
    check_no_fee_for_disconnection_notice(0, DAY, SETTINGS)
    with pytest.raises(DomainRuleViolation) as refusal:
        check_no_fee_for_disconnection_notice(1, DAY, SETTINGS)
    assert refusal.value.rule == "check_no_fee_for_disconnection_notice"


def test_an_unknown_service_type_is_named() -> None:
    with pytest.raises(DomainRuleViolation) as refusal:
        check_service_type_known("parking")
    assert refusal.value.rule == "check_service_type_known"
    assert "parking" in str(refusal.value)
    with pytest.raises(DomainRuleViolation):
        PolicyBook(SETTINGS).policy_for("parking", DAY)


def test_the_policy_in_force_is_the_latest_version_on_or_before_the_day() -> None:
    # Given versions for water from April and from July, set in the opposite order
    april = policy(valid_from=date(2026, 4, 1), reminder_after_days=8)
    july = policy(valid_from=date(2026, 7, 1), reminder_after_days=14)
    book = PolicyBook.of(SETTINGS, [july, april])
    # Then before April the default is in force, then April's, then July's
    assert book.policy_for("water", date(2026, 3, 31)).reminder_after_days == 7
    assert book.policy_for("water", date(2026, 4, 1)) == april
    assert book.policy_for("water", date(2026, 6, 30)) == april
    assert book.policy_for("water", date(2026, 7, 1)) == july
    assert book.policy_for("water", date(2030, 1, 1)) == july
    # and other services keep their defaults
    assert book.policy_for("waste", date(2026, 8, 1)).valid_from == date(1900, 1, 1)


def test_a_version_set_again_on_the_same_day_replaces_it() -> None:
    first = policy(reminder_after_days=8)
    again = policy(reminder_after_days=9)
    book = PolicyBook.of(SETTINGS, [first, again])
    assert book.versions["water"] == (again,)


def test_the_listing_has_what_is_in_force_and_what_comes() -> None:
    april = policy(valid_from=date(2026, 4, 1), reminder_after_days=8)
    july = policy(valid_from=date(2026, 7, 1), reminder_after_days=14)
    book = PolicyBook.of(SETTINGS, [april, july])
    listed = book.in_force_and_ahead(date(2026, 5, 1))
    water = [p for p in listed if p.service_type == "water"]
    assert water == [april, july]
    assert {p.service_type for p in listed} == set(SERVICE_TYPES)
    assert len(listed) == len(SERVICE_TYPES) + 1


def test_exempt_customers_are_kept_sorted_and_once() -> None:
    book = PolicyBook.of(SETTINGS, [policy(exempt_customer_ids=("c-2", "c-1", "c-2"))])
    p = book.policy_for("water", date(2026, 4, 1))
    assert p.exempt_customer_ids == ("c-1", "c-2")
    assert p.is_exempt("c-1")
    assert not p.is_exempt("c-3")


def test_a_change_never_rewrites_history() -> None:
    today = date(2026, 4, 1)
    in_force = policy(valid_from=today)
    ahead = policy(valid_from=date(2026, 5, 1))

    def refused(valid_from: date, existing: DunningPolicy | None) -> str | None:
        try:
            check_change_never_rewrites_history(valid_from, today, existing)
        except DomainRuleViolation as violation:
            return violation.rule
        return None

    # A version from yesterday: refused; from today or later: taken
    assert refused(date(2026, 3, 31), None) == "check_change_never_rewrites_history"
    assert refused(today, None) is None
    # A version not yet in force may be replaced; one in force may not
    assert refused(ahead.valid_from, ahead) is None
    assert refused(today, in_force) == "check_change_never_rewrites_history"


def test_the_event_keeps_the_policy_and_the_book_replays_it() -> None:
    p = policy(exempt_customer_ids=("c-1",), reminder_fee_ore=3_000, reminder_fee_agreed=True)
    event = DunningPolicySet.of(p)
    assert event.policy() == p
    book = replay_policy_book([event], SETTINGS)
    assert book.policy_for("water", date(2026, 4, 2)) == p


def test_the_caps_are_dated_settings_read_as_the_app_reads_them() -> None:
    # As FORDRA_DUNNING__REMINDER_FEE_CAP_ORE='[["1900-01-01", 6000], ["2027-07-01", 6500]]'
    settings = DunningSettings.model_validate(
        {
            "reminder_fee_cap_ore": [["1900-01-01", 6_000], ["2027-07-01", 6_500]],
            "written_plan_fee_cap_ore": 15_000,
        }
    )
    assert settings.reminder_fee_cap_ore.at(date(2027, 6, 30)) == 6_000
    assert settings.reminder_fee_cap_ore.at(date(2027, 7, 1)) == 6_500
    assert settings.written_plan_fee_cap_ore.at(DAY) == 15_000
    # and the defaults are the statutory amounts (domain.md §3)
    defaults = DunningSettings()
    assert [
        defaults.reminder_fee_cap_ore.at(DAY),
        defaults.collection_fee_ore.at(DAY),
        defaults.written_plan_fee_cap_ore.at(DAY),
        defaults.oral_plan_fee_cap_ore.at(DAY),
        defaults.disconnection_notice_fee_cap_ore.at(DAY),
    ] == [6_000, 18_000, 17_000, 0, 0]
