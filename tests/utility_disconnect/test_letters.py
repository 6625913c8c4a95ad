"""The procedure's letters as facts (issue 16; domain.md §6-7, seed 003 line 29): the request to
remedy has no word of social services, the notice carries the prescribed text word for word, each
states its amounts per item and its dates, costs stand apart from the demand, and the message to
the board goes to the municipality where the electricity is delivered."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from fordra.kernel.errors import DomainRuleViolation
from fordra.utility_disconnect.domain.letters import (
    CostLine,
    LetterFacts,
    check_no_social_services_mention,
    check_notice_carries_prescribed_text,
    collection_demand_letter,
    notice_letter,
    request_to_remedy_letter,
    social_services_message,
    water_disconnection_letter,
)
from fordra.utility_disconnect.domain.notice_text import PRESCRIBED_NOTICE_TEXT
from fordra.utility_disconnect.domain.procedure import DemandItem

# domain.md §6, copied here by hand from the rulebook so that an edit of the module is caught.
RULEBOOK_TEXT = (
    "Eftersom du inte har betalat elnätsavgiften eller avgiften för levererad el i tid kan "
    "överföringen av din el komma att stängas av. Enligt bestämmelser i ellagen kan du hindra "
    "avstängningen genom att betala skulden inom tre veckor från det att du har fått del av detta "
    "meddelande. Socialnämnden i din kommun kommer att få ett meddelande om den uteblivna "
    "betalningen."
)
SENT = date(2026, 2, 13)


def item(**kw: Any) -> DemandItem:
    base: dict[str, Any] = {
        "invoice_id": "i1",
        "invoice_number": "F-1",
        "supply_point_id": "sp1",
        "service_type": "electricity_grid",
        "kind": "capital",
        "what_for": "Elnät, november–december 2025",
        "due_date": date(2026, 1, 31),
        "amount_ore": 90_000,
    }
    base.update(kw)
    return DemandItem.model_validate(base)


ITEMS = (
    item(),
    item(
        invoice_id="i2",
        invoice_number="F-2",
        service_type="electricity_supply",
        what_for="Elhandel, november–december 2025",
        amount_ore=150_000,
    ),
)


def common(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "letter_id": "L1",
        "case_id": "c1",
        "customer_id": "cu1",
        "supply_point_id": "sp1",
        "site_label": "Storgatan 3, Svenljunga",
        "items": ITEMS,
        "sent_on": SENT,
    }
    base.update(kw)
    return base


def request(**kw: Any) -> LetterFacts:
    return request_to_remedy_letter(**common(remedy_by=date(2026, 2, 27), **kw))


def notice(**kw: Any) -> LetterFacts:
    return notice_letter(**common(sent_on=date(2026, 3, 2), **kw))


def all_text(facts: LetterFacts) -> str:
    return "\n".join(facts.texts()).lower()


def test_the_module_holds_the_rulebooks_text_exactly() -> None:
    assert PRESCRIBED_NOTICE_TEXT == RULEBOOK_TEXT


def test_the_request_to_remedy_has_no_word_of_social_services() -> None:
    facts = request()
    text = all_text(facts)
    for word in ("socialnämnd", "socialtjänst", "social"):
        assert word not in text
    assert facts.title == "Uppmaning att betala för el"


def test_the_collection_demand_has_no_word_of_social_services_either() -> None:
    facts = collection_demand_letter(**common(pay_by=date(2026, 2, 12), sent_on=date(2026, 2, 2)))
    assert "social" not in all_text(facts)
    assert facts.title == "Inkassokrav"


def test_a_request_mentioning_social_services_is_refused() -> None:
    tainted = request().model_copy(
        update={"paragraphs": ("Socialtjänsten kan komma att kontaktas om du inte betalar.",)}
    )
    with pytest.raises(DomainRuleViolation) as e:
        check_no_social_services_mention(tainted)
    assert e.value.rule == "no_social_services_before_notice"
    sneaky = request().model_copy(update={"closing": ("Sociala myndigheter kan underrättas.",)})
    with pytest.raises(DomainRuleViolation):
        check_no_social_services_mention(sneaky)


def test_the_notice_carries_the_prescribed_text_word_for_word() -> None:
    facts = notice()
    assert facts.paragraphs[0] == RULEBOOK_TEXT
    assert facts.pay_by is None  # the 3 weeks run from service, not from sending
    reworded = facts.model_copy(
        update={"paragraphs": (RULEBOOK_TEXT.replace("tre veckor", "21 dagar"),)}
    )
    with pytest.raises(DomainRuleViolation) as e:
        check_notice_carries_prescribed_text(reworded)
    assert e.value.rule == "prescribed_notice_text"
    appended = facts.model_copy(update={"paragraphs": (RULEBOOK_TEXT + " Betala nu!",)})
    with pytest.raises(DomainRuleViolation):
        check_notice_carries_prescribed_text(appended)


def test_the_letters_state_the_amounts_per_item_and_part_and_the_dates() -> None:
    facts = request()
    assert facts.demand_ore == 240_000
    assert [i.amount_ore for i in facts.items] == [90_000, 150_000]
    rows = facts.tables[0].rows
    assert rows[0] == ("F-1", "Elnät, november–december 2025", "2026-01-31", "900,00 kr")
    assert rows[1][3] == "1\u00a0500,00 kr"
    assert [(e.label, e.value) for e in facts.summary] == [
        ("Elnät", "900,00 kr"),
        ("Elhandel", "1\u00a0500,00 kr"),
        ("Att betala", "2\u00a0400,00 kr"),
    ]
    assert facts.pay_by == date(2026, 2, 27)
    assert "27 februari 2026" in facts.paragraphs[0]


def test_a_letter_with_other_services_interest_costs_or_advances_is_refused() -> None:
    for bad, rule in [
        (item(service_type="water"), "electricity_claims_only"),
        (item(kind="interest"), "capital_only"),
        (item(kind="cost"), "capital_only"),
        (item(kind="advance"), "capital_only"),
        (item(due_date=SENT), "overdue_only"),
    ]:
        with pytest.raises(DomainRuleViolation) as e:
            request(items=(*ITEMS, bad))
        assert e.value.rule == rule
        # The notice goes later (2026-03-02): a claim due on its own date is not overdue yet.
        late = (
            bad.model_copy(update={"due_date": date(2026, 3, 2)}) if rule == "overdue_only" else bad
        )
        with pytest.raises(DomainRuleViolation) as e:
            notice(items=(*ITEMS, late))
        assert e.value.rule == rule


def test_costs_stand_apart_from_the_demand() -> None:
    facts = collection_demand_letter(
        **common(pay_by=date(2026, 2, 12), sent_on=date(2026, 2, 2)),
        costs=(CostLine(label="Inkassoavgift", amount_ore=18_000),),
    )
    assert facts.demand_ore == 240_000
    assert facts.costs == (CostLine(label="Inkassoavgift", amount_ore=18_000),)
    assert any("ingår inte i beloppet" in p for p in facts.paragraphs)


def test_the_board_told_is_where_the_electricity_is_delivered() -> None:
    facts = social_services_message(
        letter_id="N1",
        case_id="c1",
        customer_id="cu1",
        supply_point_id="sp1",
        site_label="Storgatan 3, Svenljunga",
        municipality="Svenljunga",
        debt_ore=240_000,
        noticed_on=date(2026, 3, 2),
    )
    assert facts.recipient_heading == "Till socialnämnden i Svenljunga"
    assert "2 mars 2026" in facts.paragraphs[1]


def test_the_water_letter_goes_to_the_owner_for_water_only() -> None:
    water = item(
        supply_point_id="wp1", service_type="water", what_for="Vatten och avlopp, mars–april 2026"
    )
    args: dict[str, Any] = {
        "letter_id": "W1",
        "case_id": "wc1",
        "owner_customer_id": "owner1",
        "supply_point_id": "wp1",
        "property_designation": "Svenljunga Kåhult 1:23",
        "sent_on": date(2026, 5, 21),
        "remedy_by": date(2026, 6, 4),
        "visit_fee_ore": 50_000,
        "costs": (CostLine(label="Inkassoavgift", amount_ore=18_000),),
    }
    facts = water_disconnection_letter(items=(water,), **args)
    assert facts.recipient_heading == "Till fastighetsägaren"
    assert facts.customer_id == "owner1"
    assert "social" not in all_text(facts)
    assert any("500,00 kr" in s for s in facts.next_step)
    waste = item(supply_point_id="wp1", service_type="waste", invoice_id="i9")
    with pytest.raises(DomainRuleViolation) as e:
        water_disconnection_letter(items=(water, waste), **args)
    assert e.value.rule == "water_claims_only"


def test_letter_facts_round_trip_as_json() -> None:
    for facts in (request(), notice()):
        assert LetterFacts.model_validate_json(facts.model_dump_json()) == facts
