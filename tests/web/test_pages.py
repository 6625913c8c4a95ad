"""The ops web's gates without a browser (issue 17): every role's menu holds exactly the pages
it may open and every other page is refused; a protected identity's name and address appear on
a page only where the API shows them; forms posted with the cookie need their CSRF token and
this site's origin; a bad token signs nobody in. Over the app in-process (httpx)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from fordra.app.ops.pages import NAV
from fordra.app.ops.session import COOKIE
from fordra.kernel.auth import Role
from tests.utils.platform import Running, running_platform
from tests.web.work import PROTECTED, TODAY, Work, given_work_in_every_queue

pytestmark = pytest.mark.asyncio(loop_scope="module")
HTML = {"Accept": "text/html"}


@dataclass
class Site:
    fordra: Running
    work: Work

    def token(self, role: Role) -> str:
        scope = {"department": "fastighet"} if role is Role.DEPARTMENT else {}
        return self.fordra.token(role, **scope)

    def cookie(self, role: Role) -> dict[str, str]:
        """A browser's request after the sign-in: the token in the cookie, HTML accepted."""
        return {**HTML, "Cookie": f"{COOKIE}={self.token(role)}"}

    async def get(self, url: str, role: Role) -> httpx.Response:
        return await self.fordra.client.get(url, headers=self.cookie(role))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    data_dir = tmp_path_factory.mktemp("ops-pages")
    async with running_platform("embedded", data_dir, today=TODAY) as fordra:
        yield Site(fordra, await given_work_in_every_queue(fordra))


def links(html: str) -> list[str]:
    nav = re.search(r'<nav aria-label="Huvudmeny">(.*?)</nav>', html, re.S)
    return re.findall(r'href="([^"]+)"', nav.group(1)) if nav else []


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.mark.parametrize("role", list(Role))
async def test_a_role_sees_the_pages_it_may_open_and_no_other(site: Site, role: Role) -> None:
    home = await site.get("/ops/", role)
    assert home.status_code == 200
    allowed = [p.path for p in NAV if role in p.roles]
    assert links(home.text) == ["/ops/", *allowed]
    for page in NAV:
        r = await site.get(page.path, role)
        if page.path in allowed:
            assert r.status_code == 200, (page.path, r.text)
            assert links(r.text) == ["/ops/", *allowed]
        else:
            assert r.status_code == 403, (page.path, r.status_code)
            assert "Åtkomst nekad" in r.text
            assert page.path not in links(r.text)


async def test_a_page_is_never_cached_framed_or_scripted(site: Site) -> None:
    for url in ("/ops/sign-in", "/ops/", f"/ops/customers/{site.work.customer_id}"):
        r = await site.get(url, Role.CASE_OFFICER)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-store"
        policy = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert "script-src" not in policy  # default-src 'none': no script at all
        assert "<script" not in r.text
        assert r.headers["x-frame-options"] == "DENY"


async def test_no_page_opens_without_a_valid_token(site: Site) -> None:
    for page in NAV:
        r = await site.fordra.client.get(page.path, headers=HTML)
        assert r.status_code == 401
        assert "<h1>Logga in</h1>" in r.text
    forged = {**HTML, "Cookie": f"{COOKIE}={site.token(Role.ADMIN)}x"}
    r = await site.fordra.client.get("/ops/", headers=forged)
    assert r.status_code == 401
    # An API client gets the API's JSON shape, not a page
    r = await site.fordra.client.get("/ops/unmatched")
    assert r.status_code == 401
    assert "detail" in r.json()


async def test_a_protected_identity_is_shown_only_where_the_api_shows_it(site: Site) -> None:
    url = f"/ops/customers/{site.work.protected_customer_id}"
    api = f"/api/v1/customers/{site.work.protected_customer_id}"
    secrets = (PROTECTED["name"], "Dolda vägen", "196501133372")
    for role in (Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER):
        shown = (await site.fordra.client.get(api, headers=site.fordra.auth(role))).json()
        assert shown["name"] is None
        page = await site.get(url, role)
        assert page.status_code == 200
        assert "Skyddad identitet" in page.text
        assert not [s for s in secrets if s in page.text], role
    # The protected-identity officer reads them, as from the API (and the look is recorded)
    officer = Role.PROTECTED_IDENTITY_OFFICER
    shown = (await site.fordra.client.get(api, headers=site.fordra.auth(officer))).json()
    page = await site.get(url, officer)
    assert page.status_code == 200
    assert shown["name"] == PROTECTED["name"]
    assert PROTECTED["name"] in page.text
    # A department that neither registered nor invoiced the customer finds nothing
    water = {**HTML, "Cookie": f"{COOKIE}={site.fordra.token(Role.DEPARTMENT, department='water')}"}
    r = await site.fordra.client.get(url, headers=water)
    assert r.status_code == 404
    assert PROTECTED["name"] not in r.text


async def test_a_form_needs_its_csrf_token_and_this_sites_origin(site: Site) -> None:
    client = site.fordra.client
    officer = site.cookie(Role.CASE_OFFICER)
    page = await client.get("/ops/dunning/proposals", headers=officer)
    pending = (
        await client.get("/api/v1/dunning/proposals", headers=site.fordra.auth(Role.CASE_OFFICER))
    ).json()["items"]
    (proposal,) = [p for p in pending if p["invoice_id"] == site.work.invoice_ids[3]]
    url = f"/ops/dunning/proposals/{proposal['proposal_id']}/approve"
    form = {"csrf": csrf_of(page.text), "idempotency_key": "web-approve-1"}

    # Without the token, with another session's, or from another site: refused, nothing sent
    for data, extra in (
        ({"idempotency_key": "k"}, {}),
        ({**form, "csrf": "0" * 64}, {}),
        (form, {"Origin": "https://evil.example"}),
    ):
        r = await client.post(url, data=data, headers={**officer, **extra})
        assert r.status_code == 403, r.text
    still = (
        await client.get("/api/v1/dunning/proposals", headers=site.fordra.auth(Role.OPS_LEAD))
    ).json()["items"]
    assert proposal["proposal_id"] in [p["proposal_id"] for p in still]

    # With it: approved, and the same form sent again changes nothing
    origin = {"Origin": "http://fordra.test"}
    for _ in range(2):
        r = await client.post(url, data=form, headers={**officer, **origin})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/ops/dunning/proposals?done=approved"
    approved = (
        await client.get(
            "/api/v1/dunning/proposals?status=approved",
            headers=site.fordra.auth(Role.OPS_LEAD),
        )
    ).json()["items"]
    assert [p["proposal_id"] for p in approved].count(proposal["proposal_id"]) == 1


async def test_an_incomplete_form_is_refused_naming_the_field(site: Site) -> None:
    officer = site.cookie(Role.CASE_OFFICER)
    page = await site.fordra.client.get("/ops/unmatched", headers=officer)
    (payment,) = re.findall(r'data-payment-id="([^"]+)"', page.text)
    r = await site.fordra.client.post(
        f"/ops/unmatched/{payment}/match",
        data={"csrf": csrf_of(page.text), "invoice_id": site.work.invoice_ids[1], "reason": ""},
        headers=officer,
    )
    assert r.status_code == 422
    assert "reason" in r.text
    assert "Kontrollera uppgifterna" in r.text


async def test_the_cookie_is_httponly_strict_and_secure_over_https(site: Site) -> None:
    token = site.token(Role.CASE_OFFICER)
    for base, secure in (("http://fordra.test", False), ("https://fordra.test", True)):
        r = await site.fordra.client.post(f"{base}/ops/sign-in", data={"token": token})
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}={token};")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/ops" in cookie
        assert ("Secure" in cookie) is secure
    site.fordra.client.cookies.clear()  # the other tests send their own cookie or none
    # A bad token signs nobody in, and says why
    r = await site.fordra.client.post("/ops/sign-in", data={"token": "nonsense"}, headers=HTML)
    assert r.status_code == 401
    assert "set-cookie" not in r.headers
    assert "ogiltig token" in r.text or "invalid token" in r.text
    # Signing out forgets the cookie
    r = await site.fordra.client.post("/ops/sign-out", headers=site.cookie(Role.CASE_OFFICER))
    assert r.status_code == 200
    assert re.search(rf'{COOKIE}=""?;.*Max-Age=0', r.headers["set-cookie"])


async def test_a_proposal_is_rejected_with_its_reason_through_the_page(site: Site) -> None:
    client, officer = site.fordra.client, site.cookie(Role.OPS_LEAD)
    api = site.fordra.auth(Role.OPS_LEAD)
    page = await client.get("/ops/dunning/proposals", headers=officer)
    pending = (await client.get("/api/v1/dunning/proposals", headers=api)).json()["items"]
    (proposal,) = [p for p in pending if p["invoice_id"] == site.work.invoice_ids[0]]
    url = f"/ops/dunning/proposals/{proposal['proposal_id']}/reject"
    form = {"csrf": csrf_of(page.text), "idempotency_key": "web-reject-1"}
    # Without a reason: refused, naming the field, and nothing rejected
    r = await client.post(url, data={**form, "reason": ""}, headers=officer)
    assert r.status_code == 422
    assert "reason" in r.text
    # With one: rejected, as the API lists it
    r = await client.post(url, data={**form, "reason": "kunden har ringt"}, headers=officer)
    assert r.status_code == 303, r.text
    rejected = (await client.get("/api/v1/dunning/proposals?status=rejected", headers=api)).json()[
        "items"
    ]
    assert proposal["proposal_id"] in [p["proposal_id"] for p in rejected]
    page = await client.get("/ops/dunning/proposals?done=rejected", headers=officer)
    assert "Förslaget är avslaget." in page.text
    assert proposal["proposal_id"] not in page.text


async def test_a_bad_id_in_a_page_address_is_refused_naming_it(site: Site) -> None:
    # A control character in a path id is refused before any store sees it, as by the API
    r = await site.fordra.client.get(
        "/ops/customers/a%00b", headers=site.fordra.auth(Role.CASE_OFFICER)
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "customer_id"]


async def test_the_start_page_counts_what_the_api_lists(site: Site) -> None:
    api = site.fordra.auth(Role.CASE_OFFICER)
    client = site.fordra.client
    expected = {
        "/ops/unmatched": "/api/v1/payments/unmatched",
        "/ops/dunning/proposals": "/api/v1/dunning/proposals",
        "/ops/disputes": "/api/v1/dunning/disputed",
        "/ops/payment-plans": "/api/v1/payment-plans?status=awaiting_signature",
        "/ops/agency/tasks": "/api/v1/agency/tasks",
    }
    page = (await site.get("/ops/", Role.CASE_OFFICER)).text
    for path, url in expected.items():
        listed = len((await client.get(url, headers=api)).json()["items"])
        row = re.search(rf'<tr data-path="{path}">.*?<td class="num">(\d*)</td>', page, re.S)
        assert row, path
        assert row[1] == str(listed), path


async def test_the_dunning_stage_is_shown_only_to_roles_that_may_read_it(site: Site) -> None:
    # GET /api/v1/invoices/{id}/collection is for admin, ops_lead and case_officer: the ledger
    # page's stage column too; a department and the protected-identity officer read the ledger
    # without it
    url = f"/ops/customers/{site.work.customer_id}"
    for role in Role:
        page = await site.get(url, role)
        collection = await site.fordra.client.get(
            f"/api/v1/invoices/{site.work.invoice_ids[0]}/collection",
            headers=site.fordra.auth(
                role, **({"department": "fastighet"} if role is Role.DEPARTMENT else {})
            ),
        )
        if page.status_code != 200:
            assert page.status_code == 403
            continue
        assert ("Kravsteg" in page.text) is (collection.status_code == 200), role


async def test_the_sla_and_kpi_pages_show_the_apis_figures(site: Site) -> None:
    client, api = site.fordra.client, site.fordra.auth(Role.CASE_OFFICER)
    # Given a deferral request that came on Wednesday 2026-04-01 after 12:00 (due in 1 day)
    r = await client.post(
        "/api/v1/cases",
        json={"kind": "deferral", "received_at": "2026-04-01T13:05:00+02:00"},
        headers=api,
    )
    assert r.status_code == 201, r.text
    await site.fordra.platform.settle()
    board = (await client.get("/api/v1/sla/dashboard?week=2026-W15", headers=api)).json()
    page = (await site.get("/ops/sla?week=2026-W15", Role.CASE_OFFICER)).text
    for kind in board["kinds"]:
        row = re.search(rf'<tr data-kind="{kind["kind"]}">(.*?)</tr>', page, re.S)
        assert row, kind["kind"]
        cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', row[1])
        figures = [kind["open"], kind["due_today"], kind["overdue"], kind["handled"]]
        assert cells[:4] == [str(n) for n in figures], kind["kind"]
    (deferral,) = [k for k in board["kinds"] if k["kind"] == "deferral"]
    assert deferral["overdue"] == 1
    assert "Försenade ärenden per ärendetyp" in page  # the chart of what is late

    kpis = (await client.get("/api/v1/kpis?from=2026-01-01&to=2026-04-08", headers=api)).json()
    page = (await site.get("/ops/kpis?from=2026-01-01&to=2026-04-08", Role.CASE_OFFICER)).text
    assert f'data-value="{kpis["invoices_issued"]}"' in page
    assert f'data-ore="{kpis["invoiced_ore"]}"' in page
    assert f'data-ore="{kpis["receivables_open_ore"]}"' in page
    for bucket, ore in kpis["aged_receivables"].items():
        assert f'data-ore="{ore}"' in page, bucket
    # A date that is none is refused naming it
    r = await site.get("/ops/kpis?from=2026-13-01", Role.CASE_OFFICER)
    assert r.status_code == 422
    assert "from" in r.text


async def test_the_case_register_queue_and_marking_a_case_done(site: Site) -> None:
    client, api = site.fordra.client, site.fordra.auth(Role.CASE_OFFICER)
    # Given a payment plan request that came on Tuesday 2026-04-07 at 09:30 (2 working days)
    r = await client.post(
        "/api/v1/cases",
        json={"kind": "payment_plan", "received_at": "2026-04-07T09:30:00+02:00"},
        headers=api,
    )
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    await site.fordra.platform.settle()
    listed = (await client.get("/api/v1/cases?status=open", headers=api)).json()["items"]
    page = await site.get("/ops/cases", Role.CASE_OFFICER)
    # Then the page lists the open cases as the API does, with the due date and Swedish time
    assert re.findall(r'<tr data-case-id="([^"]+)">', page.text) == [c["case_id"] for c in listed]
    row = re.search(rf'<tr data-case-id="{case_id}">(.*?)</tr>', page.text, re.S)
    assert row
    assert "2026-04-08" in row[1]  # due by the end of working day 2
    assert "2026-04-07 09:30" in row[1]
    assert "Avbetalningsplan" in row[1]
    # A department reads the queue but is offered no action, and may not take one
    department = await site.get("/ops/cases", Role.DEPARTMENT)
    assert department.status_code == 200
    assert "Markera klart" not in department.text
    r = await client.post(f"/ops/cases/{case_id}/done", headers=site.cookie(Role.DEPARTMENT))
    assert r.status_code == 403
    # When the officer marks it done through the page
    r = await client.post(
        f"/ops/cases/{case_id}/done",
        data={"csrf": csrf_of(page.text), "idempotency_key": "web-case-1"},
        headers=site.cookie(Role.CASE_OFFICER),
    )
    assert r.status_code == 303, r.text
    # Then the register has it done, and it left the page
    done = (await client.get("/api/v1/cases?status=done", headers=api)).json()["items"]
    assert case_id in [c["case_id"] for c in done]
    assert case_id not in (await site.get("/ops/cases", Role.CASE_OFFICER)).text


async def test_the_ledger_as_of_a_day_shows_what_the_api_answers(site: Site) -> None:
    cid = site.work.customer_id
    api = site.fordra.auth(Role.CASE_OFFICER)
    for as_of in ("2026-03-01", "2026-03-02", "2026-04-01"):
        then = (
            await site.fordra.client.get(
                f"/api/v1/customers/{cid}/ledger?as_of={as_of}", headers=api
            )
        ).json()
        page = await site.get(f"/ops/customers/{cid}?as_of={as_of}", Role.CASE_OFFICER)
        assert page.status_code == 200
        assert f"<h1>Kundreskontra per {as_of}</h1>" in page.text
        rows = re.findall(r'<tr data-invoice-id="([^"]+)">', page.text)
        assert rows == [c["invoice_id"] for c in then["claims"]]
        for c in then["claims"]:
            row = re.search(rf'<tr data-invoice-id="{c["invoice_id"]}">(.*?)</tr>', page.text, re.S)
            assert row
            assert f'class="num open" data-ore="{c["open_ore"]}"' in row[1]
        assert f'data-ore="{then["totals"]["receivables_1512_ore"]}"' in page.text
    # A day after the business date is refused, naming it, as by the API
    r = await site.get(f"/ops/customers/{cid}?as_of=2030-01-01", Role.CASE_OFFICER)
    assert r.status_code == 422
    assert "as_of" in r.text
