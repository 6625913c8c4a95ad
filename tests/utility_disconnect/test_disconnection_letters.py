"""The disconnection letters read at ``GET /api/v1/letters/{letter_id}?format=html|pdf`` (issue 16,
domain.md §2 "Protected identity", §6, §7): each letter step records its letter, rendered in
Swedish as HTML and PDF by the kernel's letter layout (dunning's too). The collection demand names
only that supply point's electricity capital (never the water on the same invoice, nor another
supply point's claim), the request to remedy has no word of social services, the notice carries
the prescribed text word for word; the water letter names only water; a protected identity's name
and address are in neither format."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fordra.kernel.auth import Role
from fordra.kernel.errors import DomainRuleViolation
from fordra.kernel.money import format_sek
from fordra.utility_disconnect.domain.letter_document import ProtectedRecipientShown
from fordra.utility_disconnect.domain.letters import (
    DisconnectionLetterIssued,
    decide_letter_issued,
)
from fordra.utility_disconnect.domain.notice_text import PRESCRIBED_NOTICE_TEXT
from tests.invoicing.test_render import flat, html_text, pdf_text
from tests.scenarios.test_dunning_flow import advance
from tests.utility_disconnect.test_disconnection_cases import open_case, step
from tests.utility_disconnect.test_letters import notice, request
from tests.utility_disconnect.test_supply_points import (
    PERSON,
    customer,
    electricity_invoice,
    events_of,
    supply_point,
)
from tests.utility_disconnect.test_water_cases import (
    MATERIAL,
    PROPERTY,
    REMINDER,
    a_water_debt,
    post,
    water_invoice,
    water_point,
)
from tests.utility_disconnect.test_water_cases import TODAY as WATER_TODAY
from tests.utils.platform import Engine, Running, record_ownership, running_platform

TODAY = date(2026, 1, 2)
CONTEXT = "utility-disconnect"
SITE = "Kvarngatan 7, 512 53 Svenljunga"
SECRETS = ("Tolvan", "Tolvansson", "Storgatan", "512 50", "Kvarngatan")
WATER_LINE = {
    "description": "Vatten och avlopp",
    "unit_price_ore": 40_000,  # 500 kr incl. VAT on the same invoice as the electricity
    "vat_rate": 25,
    "service_type": "water",
}


async def letter(
    fordra: Running, letter_id: str, fmt: str = "html", role: Role = Role.CASE_OFFICER
) -> Any:
    return await fordra.client.get(
        f"/api/v1/letters/{letter_id}", params={"format": fmt}, headers=fordra.auth(role)
    )


async def both_texts(fordra: Running, letter_id: str, role: Role = Role.CASE_OFFICER) -> list[str]:
    """The letter as a reader sees it, in HTML and in PDF (text extracted back), flattened."""
    html = await letter(fordra, letter_id, "html", role)
    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    pdf = await letter(fordra, letter_id, "pdf", role)
    assert pdf.status_code == 200, pdf.text
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    return [flat(html_text(html.text)), flat(pdf_text(pdf.content))]


async def to_notice(fordra: Running, body: dict[str, Any] = PERSON) -> dict[str, Any]:
    """A consumer's flat in Tranemo with 1,200 kr of supply unpaid beside 500 kr of water on the
    same invoice, and another supply point's 700 kr; the case taken to its notice."""
    person = await customer(fordra, body)
    # The customer owns the house, so its water may be co-billed with the electricity.
    await record_ownership(fordra, person, property_designation="Svenljunga Kyrkan 1:23")
    flat_point = await supply_point(fordra, person, site_municipality="Tranemo", site_address=SITE)
    invoice = await electricity_invoice(
        fordra,
        person,
        flat_point,
        ("electricity_supply", 120_000),
        invoice_date="2026-01-02",
        extra_lines=(WATER_LINE,),
    )
    other_point = await supply_point(fordra, person, property_designation="Svenljunga Ås 2:4")
    other = await electricity_invoice(
        fordra, person, other_point, ("electricity_grid", 70_000), invoice_date="2026-01-02"
    )
    await advance(fordra, "2026-02-16")
    case_id = (await open_case(fordra, flat_point))["case_id"]
    demand = await step(fordra, case_id)
    await advance(fordra, "2026-02-27")
    request = await step(fordra, case_id)
    await advance(fordra, "2026-03-16")
    notice = await step(fordra, case_id)
    assert [s["kind"] for s in (demand, request, notice)] == [
        "collection_demand",
        "request_to_remedy",
        "notice",
    ]
    return {
        "person": person,
        "invoice": invoice,
        "other": other,
        "demand": demand["letter_id"],
        "request": request["letter_id"],
        "notice": notice["letter_id"],
    }


async def test_each_letter_of_a_case_is_read_in_html_and_pdf(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a case taken to its notice
        case = await to_notice(fordra)
        # Then each letter was recorded with its step, without the recipient's name or address
        issued = await events_of(fordra, CONTEXT, DisconnectionLetterIssued)
        assert [e.facts.letter_id for e in issued] == [
            case["demand"],
            case["request"],
            case["notice"],
        ]
        for e in issued:
            recorded = e.facts.model_dump_json()
            assert not any(secret in recorded for secret in SECRETS)

        # The collection demand names only the flat's electricity capital, in both formats
        for text in await both_texts(fordra, case["demand"]):
            assert "Inkassokrav" in text
            assert case["invoice"]["invoice_number"] in text
            assert flat(format_sek(120_000)) in text
            assert case["other"]["invoice_number"] not in text  # another supply point's claim
            assert flat(format_sek(50_000)) not in text  # the water on the same invoice
            assert flat(format_sek(70_000)) not in text
            assert "Vatten" not in text
            # addressed to the customer, the site's address among the details
            assert "Tolvan Tolvansson" in text
            assert "Storgatan 1" in text
            assert "Kvarngatan 7" in text
            # its statutory fee stated apart
            assert "Lagstadgad inkassoavgift" in text
            assert flat(format_sek(18_000)) in text

        # The request to remedy has no word of social services
        for text in await both_texts(fordra, case["request"]):
            assert "Uppmaning" in text
            assert "social" not in text.lower()

        # The notice carries the prescribed text word for word
        for text in await both_texts(fordra, case["notice"]):
            assert "Underrättelse" in text
            assert PRESCRIBED_NOTICE_TEXT in text

        # The PDF is saved under a Swedish name; an unknown letter is a 404
        pdf = await letter(fordra, case["notice"], "pdf")
        assert (
            f'filename="underrattelse-el-{case["notice"]}.pdf"'
            in (pdf.headers["content-disposition"])
        )
        assert (await letter(fordra, "no-such-letter")).status_code == 404
        # The same readers as dunning's letters
        assert (await letter(fordra, case["notice"], role=Role.SOCIAL_SERVICES)).status_code == 403


async def test_a_protected_identity_is_in_neither_format(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=TODAY) as fordra:
        # Given a case of a person with a protected identity
        case = await to_notice(fordra, {**PERSON, "protected_identity": True})
        for letter_id in (case["demand"], case["request"], case["notice"]):
            # Then no letter prints the name, the address or the site, and Skatteverket forwards
            for text in await both_texts(fordra, letter_id):
                assert not [secret for secret in SECRETS if secret in text], letter_id
                assert "Skatteverket" in text
                assert "19121212-1212" not in text  # masked for a case officer
        # Only the protected-identity officer sees the personnummer for the inner envelope
        for text in await both_texts(fordra, case["notice"], Role.PROTECTED_IDENTITY_OFFICER):
            assert "19121212-1212" in text
            assert not [secret for secret in SECRETS if secret in text]
        # and each of the officer's looks (HTML, PDF) is recorded; a case officer's are not
        shown = await events_of(fordra, CONTEXT, ProtectedRecipientShown)
        assert [(e.customer_id, e.letter_id) for e in shown] == [
            (case["person"], case["notice"]),
            (case["person"], case["notice"]),
        ]


async def test_the_water_letter_names_only_water(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path, today=WATER_TODAY) as fordra:
        # Given 3,100 kr of water and a 450 kr waste fee unpaid on one invoice
        _owner, point, invoice = await a_water_debt(fordra)
        await advance(fordra, REMINDER)
        r = await post(fordra, "", {"supply_point_id": point, "reminder_sent_on": REMINDER})
        case_id = r.json()["case_id"]
        await advance(fordra, "2026-05-21")
        sent = await post(fordra, f"/{case_id}/letter", MATERIAL)
        assert sent.status_code == 201, sent.text
        # Then the letter to the owner demands the water alone, its fee apart
        for text in await both_texts(fordra, sent.json()["letter_id"]):
            assert "Till fastighetsägaren" in text
            assert "Tolvan Tolvansson" in text
            assert invoice["invoice_number"] in text
            assert flat(format_sek(310_000)) in text
            assert flat(format_sek(45_000)) not in text
            assert "Lagstadgad inkassoavgift" in text
            assert "social" not in text.lower()


async def test_a_protected_owners_water_letter_names_neither_them_nor_the_property(
    tmp_path: Path,
) -> None:
    async with running_platform("embedded", tmp_path, today=WATER_TODAY) as fordra:
        # Given a protected owner's unpaid water charges and the letter sent
        owner = await customer(fordra, {**PERSON, "protected_identity": True})
        point = await water_point(fordra, owner)
        await water_invoice(fordra, owner, point)
        await advance(fordra, REMINDER)
        r = await post(fordra, "", {"supply_point_id": point, "reminder_sent_on": REMINDER})
        case_id = r.json()["case_id"]
        await advance(fordra, "2026-05-21")
        sent = await post(fordra, f"/{case_id}/letter", MATERIAL)
        assert sent.status_code == 201, sent.text
        # Then neither format names the owner, their address or the property
        for text in await both_texts(fordra, sent.json()["letter_id"]):
            assert not [secret for secret in SECRETS if secret in text]
            assert PROPERTY not in text
            assert "Skatteverket" in text
            assert flat(format_sek(310_000)) in text


async def test_the_notice_is_read_on_both_engines(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=TODAY) as fordra:
        # Given a case taken to its notice
        case = await to_notice(fordra)
        # When the notice is read as a PDF
        pdf = await letter(fordra, case["notice"], "pdf")
        assert pdf.status_code == 200, pdf.text
        # Then it carries the prescribed text word for word, and the demand of the flat alone
        text = flat(pdf_text(pdf.content))
        assert PRESCRIBED_NOTICE_TEXT in text
        assert flat(format_sek(120_000)) in text
        assert flat(format_sek(50_000)) not in text


def test_a_letter_whose_wording_breaks_a_rule_is_never_recorded() -> None:
    # Given a request to remedy that names the board, and a notice without the prescribed text
    good_request = request()
    bad_request = good_request.model_copy(
        update={"paragraphs": (*good_request.paragraphs, "Socialnämnden kan hjälpa dig.")}
    )
    good_notice = notice()
    bad_notice = good_notice.model_copy(update={"paragraphs": good_notice.paragraphs[1:]})
    # Then neither is recorded, each refused naming its rule; the good ones are
    with pytest.raises(DomainRuleViolation) as refused:
        decide_letter_issued(bad_request)
    assert refused.value.rule == "no_social_services_before_notice"
    with pytest.raises(DomainRuleViolation) as refused:
        decide_letter_issued(bad_notice)
    assert refused.value.rule == "prescribed_notice_text"
    assert decide_letter_issued(good_notice).facts == good_notice
