"""Bank files in, every krona matched, allocated and accounted for (issue: payments), on both
engines, with Bankgirot's public BgMax sample as it is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from fordra.contracts.agency_gateway import AgencyPaymentCollected
from fordra.contracts.payments import PaymentReceived
from fordra.kernel.auth import Role
from fordra.kernel.envelope import Metadata
from fordra.kernel.eventstore import StreamAppend
from fordra.payments.application.import_file import bank_reference_stream, payment_stream
from fordra.payments.domain.events import BankReferenceClaimed
from tests.fixtures_path import shared_fixtures
from tests.utils.money import ledger, queue
from tests.utils.platform import Engine, Running, running_platform

BGMAX = shared_fixtures("bgmax", "BgMaxfil4.txt")
# The invoices are printed on this business date; the sample file comes on 2004-05-26.
PRINTED = date(2004, 4, 20)
COMPANY = {
    "id_number": "556016-0680",
    "name": "Olles färg AB",
    "address": {"street": "Lillagatan 3", "postal_code": "123 45", "city": "Storåker"},
}


async def issue(fordra: Running, customer_id: str, *, ocr: str, price_ore: int) -> str:
    body = {
        "customer_id": customer_id,
        "department": "premises",
        "service_type": "premises_rent",
        "invoice_date": PRINTED.isoformat(),
        "ocr": ocr,
        "lines": [{"description": "Lokalhyra", "unit_price_ore": price_ore, "vat_rate": 0}],
    }
    r = await fordra.client.post("/api/v1/invoices", json=body, headers=fordra.auth())
    assert r.status_code == 201, r.text
    return str(r.json()["invoice_id"])


async def advance(fordra: Running, to: date) -> None:
    """The business clock moves on (an invoice is never dated far before its business date)."""
    r = await fordra.client.post(
        "/api/v1/admin/clock/advance", json={"to": to.isoformat()}, headers=fordra.auth()
    )
    assert r.status_code == 200, r.text


async def post_file(fordra: Running, data: bytes) -> Any:
    return await fordra.client.post(
        "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
    )


async def test_the_bgmax_sample_matches_its_ocr_payments(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=PRINTED) as fordra:
        # Given invoices printed with the sample's code-2 OCR references
        r = await fordra.client.post("/api/v1/customers", json=COMPANY, headers=fordra.auth())
        cid = r.json()["customer_id"]
        paid_in_full = await issue(fordra, cid, ocr="524967", price_ore=190000)
        paid_in_part = await issue(fordra, cid, ocr="525865", price_ore=80000)
        overpaid = await issue(fordra, cid, ocr="525766", price_ore=30000)
        other_open = await issue(fordra, cid, ocr="1234574", price_ore=40000)
        await advance(fordra, date(2004, 5, 26))

        # When Bankgirot's sample file comes in
        r = await post_file(fordra, BGMAX.read_bytes())
        assert r.status_code == 201, r.text
        result = r.json()
        # Then its control totals held, the code-2 payments matched, the rest wait
        assert result["format"] == "bgmax"
        assert result["matched"] == 3
        assert result["matched"] + result["unmatched"] == result["payments"]
        book = await fordra.client.get(
            f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        invoices = {i["invoice_id"]: i for i in book.json()["invoices"]}
        assert invoices[paid_in_full]["status"] == "paid"
        # 500 kr on a 300 kr invoice: 200 kr set off against the customer's oldest open claim
        # (the same due date: the earlier invoice number)
        assert invoices[overpaid]["status"] == "paid"
        assert invoices[paid_in_part]["paid_ore"] == 50000 + 20000
        assert invoices[paid_in_part]["open_ore"] == 80000 - 50000 - 20000
        assert invoices[other_open]["paid_ore"] == 0
        assert book.json()["credit_ore"] == 0

        queue = await fordra.client.get(
            "/api/v1/payments/unmatched", headers=fordra.auth(Role.OPS_LEAD)
        )
        assert queue.status_code == 200
        items = queue.json()["items"]
        assert len(items) == result["unmatched"]
        assert all(item["age_working_days"] >= 0 for item in items)
        assert any(item["currency"] == "EUR" for item in items)  # never booked as SEK

        # When the same file comes again, nothing is booked
        before = await fordra.platform.stores["payments"].max_position()
        again = await post_file(fordra, BGMAX.read_bytes())
        assert again.status_code == 200
        assert again.json()["duplicate"] is True
        assert again.json()["file_id"] == result["file_id"]
        assert await fordra.platform.stores["payments"].max_position() == before


# The sample's payment of 2,000 kr (line 21, reference code 0) for two invoices, named by its
# extra references (TK22): 1,700 kr to 573964 and 300 kr to 573865, both code 2.
SPLIT_PAYMENT = "9912346/20040525/00057/0001/000000000020"


async def test_a_payment_for_two_invoices_is_split_between_its_extra_references(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=PRINTED) as fordra:
        # Given invoices printed with the OCR references the sample's 2,000 kr payment names,
        # and two that its 1,400 kr payment names beside an incorrect one and a negative one
        r = await fordra.client.post("/api/v1/customers", json=COMPANY, headers=fordra.auth())
        cid = r.json()["customer_id"]
        first = await issue(fordra, cid, ocr="573964", price_ore=170000)
        second = await issue(fordra, cid, ocr="573865", price_ore=50000)
        named_beside_a_bad_one = await issue(fordra, cid, ocr="7495575", price_ore=100000)
        also_named = await issue(fordra, cid, ocr="695668", price_ore=50000)

        # When Bankgirot's sample file comes in
        r = await post_file(fordra, BGMAX.read_bytes())
        assert r.status_code == 201, r.text
        result = r.json()

        # Then the 2,000 kr payment is split in two parts, each matched to its invoice
        book = await ledger(fordra, cid)
        invoices = {i["invoice_id"]: i for i in book["invoices"]}
        assert invoices[first]["status"] == "paid"
        assert (invoices[second]["paid_ore"], invoices[second]["open_ore"]) == (30000, 20000)
        assert book["credit_ore"] == 0
        assert result["split"] == 1
        assert result["payments"] == 9 + 1  # one payment of the file became two parts
        assert result["matched"] == 2
        assert result["matched"] + result["unmatched"] == result["payments"]

        # And the parts add up to the payment, each with its own bank reference pointing to it
        store = fordra.platform.stores["payments"]
        registry = fordra.platform.registry
        claims = [
            registry.load(e)
            for e in await store.read_stream(bank_reference_stream("bgmax", SPLIT_PAYMENT))
        ]
        assert all(isinstance(c, BankReferenceClaimed) for c in claims)
        parts = []
        for claim in claims:
            assert isinstance(claim, BankReferenceClaimed)
            (received, *_) = await store.read_stream(payment_stream(claim.payment_id))
            part = registry.load(received)
            assert isinstance(part, PaymentReceived)
            assert part.amount_ore == claim.amount_ore
            parts.append((part.bank_reference, part.split_of, part.reference, part.amount_ore))
        assert parts == [
            (f"{SPLIT_PAYMENT}/x1", SPLIT_PAYMENT, "573964", 170000),
            (f"{SPLIT_PAYMENT}/x2", SPLIT_PAYMENT, "573865", 30000),
        ]

        # And the 1,400 kr payment, one of whose extra references is no checked OCR and another
        # negative (TK23), waits whole in the queue with the reasons: none of its invoices is paid
        assert invoices[named_beside_a_bad_one]["paid_ore"] == 0
        assert invoices[also_named]["paid_ore"] == 0
        items = await queue(fordra)
        (whole,) = [i for i in items if i["amount_ore"] == 140000]
        assert "8988777 (line 44): BgMax reference code 5" in whole["reason"]
        assert "74450 (line 45): negative, BgMax TK23" in whole["reason"]
        # Payments naming extra references without amounts still wait whole for a person
        (named_only,) = [i for i in items if i["amount_ore"] == 180000]
        assert "no amount" in named_only["reason"]
        assert not [i for i in items if i["amount_ore"] in (200000, 170000, 30000)]

        # When the same payments come again in another file (a new opening record)
        copy = BGMAX.read_bytes().replace(b"20040525173035010331", b"20040526080000000000", 1)
        again = await post_file(fordra, copy)

        # Then each is a duplicate, booked once: nothing more is paid, nothing more is queued
        assert again.status_code == 201, again.text
        assert (again.json()["duplicates"], again.json()["payments"]) == (9, 0)
        assert again.json()["split"] == 0
        assert await ledger(fordra, cid) == book
        assert len(await queue(fordra)) == len(items)


def with_more_extra_references(data: bytes, count: int) -> bytes:
    """BgMaxfil4 with ``count`` more zero-amount extra references (TK22) on its first payment,
    the end record (TK70) counting them: still a valid file."""
    lines = data.split(b"\n")
    assert lines[3].startswith(b"22")
    assert lines[-2].startswith(b"70")
    extra = [lines[3][:31] + b"%06d" % (700000 + n) + lines[3][37:] for n in range(count)]
    end = lines[-2]
    declared = int(end[18:26])
    lines[-2] = end[:18] + b"%08d" % (declared + count) + end[26:]
    return b"\n".join([*lines[:4], *extra, *lines[4:]])


async def test_a_payment_naming_many_references_waits_with_its_reason(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2004, 5, 26)) as fordra:
        # Given a payment of 1,800 kr naming 34 references, none with an amount
        data = with_more_extra_references(BGMAX.read_bytes(), 30)

        # When the file comes in
        r = await post_file(fordra, data)

        # Then the payment waits whole in the queue, its reason cut to what the queue keeps
        assert r.status_code == 201, r.text
        (item,) = [i for i in await queue(fordra) if i["amount_ore"] == 180000]
        assert item["reason"].startswith("extra references 665760 (line 4), 700000 (line 5)")
        assert item["reason"].endswith("…")
        assert len(item["reason"]) <= 300


async def test_a_files_totals_are_kept_per_currency(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2004, 5, 26)) as fordra:
        # Given Bankgirot's sample: three deposits in SEK (8,600 kr) and one in EUR (4,000 EUR)
        data = BGMAX.read_bytes()

        # When it is imported
        r = await post_file(fordra, data)

        # Then the answer gives the total per currency, never SEK and EUR added together
        assert r.status_code == 201, r.text
        assert r.json()["totals_by_currency"] == {"SEK": 860000, "EUR": 400000}
        assert r.json()["total_ore"] == 860000  # SEK alone

        # And the same file again answers the same totals from the stored event
        again = await post_file(fordra, data)
        assert again.status_code == 200, again.text
        assert again.json()["duplicate"] is True
        assert again.json()["totals_by_currency"] == {"SEK": 860000, "EUR": 400000}
        assert again.json()["total_ore"] == 860000


async def test_a_damaged_file_is_refused_whole(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2004, 5, 26)) as fordra:
        data = bytearray(BGMAX.read_bytes())
        # change one payment's amount: the section total no longer adds up
        at = data.index(b"000000000000190000")
        data[at : at + 18] = b"000000000000190100"
        r = await post_file(fordra, bytes(data))
        assert r.status_code == 422, r.text
        errors = r.json()["errors"]
        assert errors
        assert any(e.get("line") for e in errors)
        assert await fordra.platform.stores["payments"].max_position() == 0
        r = await post_file(fordra, b"<html>not a bank file</html>")
        assert r.status_code == 422
        r = await fordra.client.post(
            "/api/v1/payment-files", content=BGMAX.read_bytes(), headers=fordra.auth(Role.AGENCY)
        )
        assert r.status_code == 403


async def test_ops_work_the_unmatched_queue(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=PRINTED) as fordra:
        r = await fordra.client.post("/api/v1/customers", json=COMPANY, headers=fordra.auth())
        cid = r.json()["customer_id"]
        paid = await issue(fordra, cid, ocr="524967", price_ore=190000)
        waiting = await issue(fordra, cid, ocr="1234574", price_ore=50000)
        await advance(fordra, date(2004, 5, 26))
        assert (await post_file(fordra, BGMAX.read_bytes())).status_code == 201
        ops = fordra.auth(Role.OPS_LEAD)
        officer = fordra.auth(Role.CASE_OFFICER)
        items = (await fordra.client.get("/api/v1/payments/unmatched", headers=ops)).json()["items"]
        sek = [i for i in items if i["currency"] == "SEK" and i["amount_ore"] == 50000]
        eur = [i for i in items if i["currency"] == "EUR"]
        assert sek
        assert eur
        # A 500 kr payment with the amount of an open invoice is suggested for it
        assert waiting in [s["invoice_id"] for s in sek[0]["suggestions"]]

        # When ops match it by hand, the invoice is paid and the payment leaves the queue
        resolve = f"/api/v1/payments/{sek[0]['payment_id']}/resolution"
        body = {"action": "match", "invoice_id": waiting, "reason": "enligt fritext"}
        r = await fordra.client.post(resolve, json=body, headers=officer)
        assert r.status_code == 200, r.text
        r = await fordra.client.post(resolve, json=body, headers=officer)
        assert r.status_code == 422  # resolved already
        queue = (await fordra.client.get("/api/v1/payments/unmatched", headers=ops)).json()
        assert sek[0]["payment_id"] not in [i["payment_id"] for i in queue["items"]]

        # A euro payment is never booked as SEK: it can only go back, after attest by another
        resolve = f"/api/v1/payments/{eur[0]['payment_id']}/resolution"
        credit = {"action": "keep_as_credit", "customer_id": cid, "reason": "förskott"}
        r = await fordra.client.post(resolve, json=credit, headers=officer)
        assert r.status_code == 422
        refund = {"action": "refund", "reason": "fel valuta"}
        r = await fordra.client.post(resolve, json=refund, headers=ops)
        assert r.status_code == 200, r.text
        attest = f"/api/v1/refunds/{r.json()['refund_id']}/attest"
        assert (await fordra.client.post(attest, headers=ops)).status_code == 422  # four eyes
        admin = fordra.auth(Role.ADMIN)
        r = await fordra.client.post(attest, headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["attested_by"].startswith("admin")

        # And a paid invoice can no longer be cancelled
        r = await fordra.client.post(
            f"/api/v1/invoices/{paid}/cancellation", json={"reason": "dubblett"}, headers=admin
        )
        assert r.status_code == 422
        assert "cancellation_only_while_unpaid" in r.text


async def test_the_agencys_collection_is_allocated_as_split(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=PRINTED) as fordra:
        r = await fordra.client.post("/api/v1/customers", json=COMPANY, headers=fordra.auth())
        cid = r.json()["customer_id"]
        invoice_id = await issue(fordra, cid, ocr="524967", price_ore=190000)
        await advance(fordra, date(2004, 9, 1))
        # When the agency gateway publishes a collected payment split into its parts
        registry = fordra.platform.registry
        gateway = fordra.platform.stores["agency-gateway"]
        collected = AgencyPaymentCollected(
            agency_reference="INTRUM-2004-0001",
            invoice_id=invoice_id,
            collected_on=date(2004, 8, 30),
            capital_ore=190000,
            interest_ore=4520,
            collection_fee_ore=18000,
        )
        for attempt in range(2):  # reported twice: booked once
            stream = f"agency-remittance-{attempt}"
            env = registry.envelope(
                collected,
                context="agency-gateway",
                stream_id=stream,
                version=1,
                metadata=Metadata("svenljunga", "agency:intrum", f"c-{attempt}"),
                occurred_at=datetime.now(UTC),
            )
            await gateway.append([StreamAppend(stream, 0, [env])])
        await fordra.platform.settle()
        # Then the capital pays the invoice and interest and fees are kept apart
        book = await fordra.client.get(
            f"/api/v1/customers/{cid}/ledger", headers=fordra.auth(Role.CASE_OFFICER)
        )
        (invoice,) = book.json()["invoices"]
        assert invoice["status"] == "paid"
        assert invoice["paid_ore"] == 190000
        assert invoice["interest_and_fees_paid_ore"] == 4520 + 18000
