"""The ops web in headless Chromium (issue 17): sign in, open the ledger and each queue, approve
a dunning proposal and resolve an unmatched payment through the pages, and check the figures
shown against the API's JSON. One platform, server and browser per module (per xdist worker);
each test signs in a fresh browser context. Screenshots land in build/screenshots/."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from fordra.app.ops.pages import NAV, may_open
from fordra.app.ops.present import kronor
from fordra.kernel.auth import Principal, Role
from tests.utils.platform import Running, running_platform
from tests.web.a11y import accessibility_problems
from tests.web.browser import chromium, cookie_of, screenshot, served, sign_in
from tests.web.work import TODAY, Work, given_work_in_every_queue

pytestmark = pytest.mark.asyncio(loop_scope="module")


@dataclass
class Site:
    fordra: Running
    base: str
    work: Work
    browser: Browser

    async def api(self, url: str, role: Role = Role.CASE_OFFICER) -> Any:
        r = await self.fordra.client.get(url, headers=self.fordra.auth(role))
        assert r.status_code == 200, r.text
        return r.json()

    async def signed_in(self, role: Role, **scope: str) -> Page:
        context = await self.browser.new_context()
        page = await context.new_page()
        await sign_in(page, self.base, self.fordra.token(role, **scope))
        return page


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data_dir = tmp_path_factory.mktemp("ops-web")
    async with running_platform("embedded", data_dir, today=TODAY) as fordra:
        work = await given_work_in_every_queue(fordra)
        async with served(fordra) as base, chromium() as browser:
            yield Site(fordra, base, work, browser)


@pytest_asyncio.fixture(loop_scope="module")
async def officer(site: Site) -> AsyncIterator[Page]:
    page = await site.signed_in(Role.CASE_OFFICER)
    yield page
    await page.context.close()


async def nav_links(page: Page) -> list[str]:
    menu = page.locator('nav[aria-label="Huvudmeny"] a')
    return [str(await a.get_attribute("href")) for a in await menu.all()]


async def ore_of(page: Page, selector: str) -> int:
    return int(str(await page.locator(selector).get_attribute("data-ore")))


async def test_the_ledger_shows_the_apis_figures(site: Site, officer: Page) -> None:
    # The sign-in kept the token where no script reads it and no other site sends it
    cookie = await cookie_of(officer)
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # served over plain http here; Secure over https
    # The first Tab reaches the skip link, for a keyboard past the menu
    await officer.keyboard.press("Tab")
    focused = await officer.evaluate("document.activeElement.textContent")
    assert focused == "Hoppa till innehållet"
    # When the officer looks the customer up from the menu
    await officer.get_by_role("navigation").get_by_role("link", name="Kunder och reskontra").click()
    await officer.get_by_label("Kund-id").fill(site.work.customer_id)
    await officer.get_by_role("button", name="Visa reskontra").click()
    await officer.wait_for_url(f"**/ops/customers/{site.work.customer_id}")
    # Then every claim and total shows what the API's ledger answers
    ledger = await site.api(f"/api/v1/customers/{site.work.customer_id}/ledger")
    assert await officer.locator("#claims tbody tr").count() == len(ledger["invoices"]) == 3
    for invoice in ledger["invoices"]:
        row = f'#claims tr[data-invoice-id="{invoice["invoice_id"]}"]'
        assert await ore_of(officer, f"{row} td.open") == invoice["open_ore"]
        assert await officer.locator(f"{row} td.open").inner_text() == kronor(invoice["open_ore"])
    totals = [await ore_of(officer, f"#totals tr:nth-child({n}) td") for n in (1, 2, 3)]
    assert totals == [ledger["balance_ore"], ledger["overdue_ore"], ledger["credit_ore"]]
    assert await officer.locator("#customer-name").inner_text() == "Tolvan Tolvansson"
    # The disputed claim's dunning is stopped, as its collection in the API says
    collection = await site.api(f"/api/v1/invoices/{site.work.disputed_invoice_id}/collection")
    assert [h["kind"] for h in collection["holds"]] == ["dispute"]
    disputed = f'#claims tr[data-invoice-id="{site.work.disputed_invoice_id}"] .hold'
    assert await officer.locator(disputed).inner_text() == "stoppad: Bestridande"
    # An invoice of 1,000 kr, written the Swedish way
    first = f'#claims tr[data-invoice-id="{site.work.invoice_ids[0]}"] td:nth-child(6)'
    assert await officer.locator(first).inner_text() == "1\u202f000,00\u202fkr"
    assert await officer.locator("svg[role=img]").count() == 1
    assert await accessibility_problems(officer) == []
    await screenshot(officer, "ledger")


async def test_each_queue_opens_and_shows_the_apis_items(site: Site, officer: Page) -> None:
    # The menu holds exactly the pages a case officer may open
    officer_principal = Principal("case_officer", Role.CASE_OFFICER, "svenljunga")
    mine = [p for p in NAV if may_open(officer_principal, p)]
    assert await nav_links(officer) == ["/ops/", *[p.path for p in mine]]
    assert "/ops/social-services" not in await nav_links(officer)
    for entry in mine:
        await officer.goto(site.base + entry.path)
        assert await officer.locator("h1").inner_text() == entry.title
        assert await accessibility_problems(officer) == [], entry.path
        await screenshot(officer, "queue" + entry.path.replace("/", "-"))

    await officer.goto(f"{site.base}/ops/unmatched")
    for item in (await site.api("/api/v1/payments/unmatched"))["items"]:
        section = f'section[data-payment-id="{item["payment_id"]}"]'
        assert await ore_of(officer, f"{section} .amount") == item["amount_ore"]
        shown = [
            await row.get_attribute("data-invoice-id")
            for row in await officer.locator(f"{section} tr.suggestion").all()
        ]
        assert shown == [s["invoice_id"] for s in item["suggestions"]]

    await officer.goto(f"{site.base}/ops/dunning/proposals")
    pending = (await site.api("/api/v1/dunning/proposals"))["items"]
    rows = officer.locator("#pending tr.proposal")
    assert [await r.get_attribute("data-proposal-id") for r in await rows.all()] == [
        p["proposal_id"] for p in pending
    ]
    for p in pending:
        row = f'#pending tr[data-proposal-id="{p["proposal_id"]}"]'
        cells = [await ore_of(officer, f"{row} td:nth-child({n})") for n in (4, 5, 6)]
        assert cells == [p["capital_ore"], p["fee_ore"], p["interest_ore"]]

    await officer.goto(f"{site.base}/ops/disputes")
    disputed = (await site.api("/api/v1/dunning/disputed"))["items"]
    assert [d["invoice_id"] for d in disputed] == [site.work.disputed_invoice_id]
    assert site.work.disputed_invoice_id in await officer.locator("#disputes").inner_text()


async def test_a_dunning_proposal_is_approved_through_the_page(site: Site, officer: Page) -> None:
    # Given the reminder proposed for the 1,000 kr invoice
    pending = (await site.api("/api/v1/dunning/proposals"))["items"]
    (proposal,) = [p for p in pending if p["invoice_id"] == site.work.invoice_ids[0]]
    await officer.goto(f"{site.base}/ops/dunning/proposals")
    row = officer.locator(f'#pending tr[data-proposal-id="{proposal["proposal_id"]}"]')
    # When the officer approves it
    await row.get_by_role("button", name="Godkänn").click()
    await officer.wait_for_url("**/ops/dunning/proposals?done=approved")
    # Then the page says so, the proposal left the queue, and the API shows it approved
    assert await officer.get_by_role("status").inner_text() == "Förslaget är godkänt."
    assert await row.count() == 0
    approved = (await site.api("/api/v1/dunning/proposals?status=approved"))["items"]
    assert proposal["proposal_id"] in [p["proposal_id"] for p in approved]
    collection = await site.api(f"/api/v1/invoices/{site.work.invoice_ids[0]}/collection")
    assert collection["stage"] == "reminded"
    await screenshot(officer, "proposal-approved")


async def test_an_unmatched_payment_is_matched_through_the_page(site: Site, officer: Page) -> None:
    # Given the 500 kr paid without a reference, suggested for the 500 kr invoice
    (payment,) = (await site.api("/api/v1/payments/unmatched"))["items"]
    (suggestion,) = payment["suggestions"]
    assert suggestion["invoice_id"] == site.work.invoice_ids[1]
    await officer.goto(f"{site.base}/ops/unmatched")
    section = officer.locator(f'section[data-payment-id="{payment["payment_id"]}"]')
    # When the officer matches it to the suggested invoice, with a reason
    suggested = section.locator(f'tr.suggestion[data-invoice-id="{suggestion["invoice_id"]}"]')
    await suggested.get_by_label("Motivering").fill("hyran enligt fritexten")
    await suggested.get_by_role("button", name=f"Matcha mot OCR {suggestion['ocr']}").click()
    await officer.wait_for_url("**/ops/unmatched?done=matched")
    # Then the queue is empty on the page and in the API, and the invoice is paid
    assert (
        await officer.get_by_role("status").inner_text() == "Inbetalningen är matchad mot fakturan."
    )
    assert await officer.locator("section.payment").count() == 0
    assert (await site.api("/api/v1/payments/unmatched"))["items"] == []
    ledger = await site.api(f"/api/v1/customers/{site.work.customer_id}/ledger")
    (paid,) = [i for i in ledger["invoices"] if i["invoice_id"] == site.work.invoice_ids[1]]
    assert paid["open_ore"] == 0
    await officer.goto(f"{site.base}/ops/customers/{site.work.customer_id}")
    row = f'#claims tr[data-invoice-id="{site.work.invoice_ids[1]}"]'
    assert await ore_of(officer, f"{row} td.open") == 0
    await screenshot(officer, "payment-matched")


async def test_the_social_services_role_sees_its_queue_only(site: Site) -> None:
    page = await site.signed_in(Role.SOCIAL_SERVICES)
    try:
        assert await nav_links(page) == ["/ops/", "/ops/social-services"]
        await page.goto(f"{site.base}/ops/social-services")
        assert await page.locator("h1").inner_text() == "Meddelanden till socialnämnden"
        assert await accessibility_problems(page) == []
        # A page of the finance office is refused, and the refusal offers no link to it
        response = await page.goto(f"{site.base}/ops/customers/{site.work.customer_id}")
        assert response is not None
        assert response.status == 403
        assert await page.locator("h1").inner_text() == "Åtkomst nekad"
        assert "Tolvan" not in await page.content()
        assert await nav_links(page) == ["/ops/", "/ops/social-services"]
        await screenshot(page, "social-services-refused")
    finally:
        await page.context.close()
