"""A refused file books nothing (issue 10, item 6: "no crash, no hang, no partial booking"), on
both engines.

Bank files and invoice batches, damaged the way the parser fuzzers damage them (a payment whose
entry no longer adds up, a truncation, a doubled line, a bad line after good ones, a batch line
naming a customer that does not exist, a PEPPOL total that is off), are posted over HTTP after a
real payment and a real invoice. Each is refused with 422, and afterwards no event store has
grown, the books (tests/utils/money.py) and the customer's ledger are what they were.
"""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path
from typing import Any

from fordra.kernel.auth import Role
from fordra.payments.adapters.detect import parse_bank_file
from fordra.payments.domain.bank_file import BankFileRejected
from tests.fixtures_path import shared_fixtures
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.batches import UBL
from tests.utils.money import books, customer, issue, ledger, pay
from tests.utils.platform import Engine, Running, running_platform

BGMAX = shared_fixtures("bgmax", "BgMaxfil4.txt").read_bytes()
AUTOGIRO = shared_fixtures(
    "autogiro", "ny_layout", "autogiro_exempelfil_bet-spec-o-tk_sv.txt"
).read_bytes()


def camt_paying(ocr: str, ore: int, *, declared: int, ref: str) -> bytes:
    """A camt.054 entry of one payment to ``ocr``, whose entry declares ``declared`` öre."""
    return camt054(
        Entry(
            amount=f"{declared / 100:.2f}",
            acct_svcr_ref=f"N-{ref}",
            txs=(Tx(amount=f"{ore / 100:.2f}", scor=(ocr,), acct_svcr_ref=ref),),
        ),
        msg_id=f"F-{ref}",
    )


def damaged(seed: bytes, rng: random.Random, count: int) -> list[bytes]:
    """``count`` copies of ``seed`` with a byte flipped, a span deleted or a line doubled, each
    one the parser refuses (the fuzzers' mutations, drawn from a fixed seed)."""
    found: list[bytes] = []
    while len(found) < count:
        data = bytearray(seed)
        at = rng.randrange(len(data))
        kind = rng.choice(["flip", "delete", "dup_line"])
        if kind == "flip":
            data[at] = rng.randrange(256)
        elif kind == "delete":
            del data[at : at + rng.randrange(1, 40)]
        else:
            lines = bytes(data).split(b"\n")
            index = at % len(lines)
            lines.insert(index, lines[index])
            data = bytearray(b"\n".join(lines))
        try:
            parse_bank_file(bytes(data))
        except BankFileRejected:
            found.append(bytes(data))
    return found


def invoice_line(customer_id: str, n: int, **changes: Any) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "department": "childcare",
        "service_type": "childcare",
        "invoice_date": "2026-03-02",
        "source_reference": f"BER-{n}",
        "lines": [{"description": f"Barnomsorg {n}", "unit_price_ore": 150_000, "vat_rate": 0}],
    }
    return {**body, **changes}


def ndjson(*bodies: dict[str, Any]) -> bytes:
    return "\n".join(json.dumps(b) for b in bodies).encode()


async def state(fordra: Running, customer_id: str) -> tuple[Any, ...]:
    positions = {name: await s.max_position() for name, s in fordra.platform.stores.items()}
    book = await ledger(fordra, customer_id)
    book.pop("by_id")
    return positions, await books(fordra, [customer_id]), book


async def test_refused_files_change_nothing(engine: Engine, tmp_path: Path) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        # Given a customer with an invoice, paid in part by a real bank file
        cid = await customer(fordra)
        invoice = await issue(fordra, cid, 200_000, invoice_date="2026-03-02")
        await pay(fordra, (invoice["ocr"], 50_000))
        before = await state(fordra, cid)

        # When damaged files arrive
        bank = fordra.auth(Role.BANK_INGEST)
        rng = random.Random(20261202)  # a fixed draw: the same files every run
        good = camt_paying(invoice["ocr"], 70_000, declared=70_000, ref="G-1")
        bank_files = [
            # a payment to the open invoice whose entry declares one öre more
            camt_paying(invoice["ocr"], 70_000, declared=70_001, ref="B-1"),
            good[: len(good) * 2 // 3],  # truncated
            *damaged(good, rng, 3),
            *damaged(BGMAX, rng, 3),
            *damaged(AUTOGIRO, rng, 2),
        ]
        for data in bank_files:
            r = await fordra.client.post("/api/v1/payment-files", content=data, headers=bank)
            assert r.status_code == 422, r.text
            assert r.json()["errors"]

        publisher = fordra.auth(Role.DEPARTMENT, department="childcare")
        batches = [
            # two good invoices, then a VAT rate childcare may not carry
            (
                "application/x-ndjson",
                ndjson(
                    invoice_line(cid, 1),
                    invoice_line(cid, 2),
                    invoice_line(
                        cid,
                        3,
                        lines=[{"description": "x", "unit_price_ore": 100, "vat_rate": 25}],
                    ),
                ),
            ),
            # two good invoices, then a customer that does not exist (found when issuing)
            (
                "application/x-ndjson",
                ndjson(
                    invoice_line(cid, 4),
                    invoice_line(cid, 5),
                    invoice_line("no-such-customer", 6),
                ),
            ),
            # a good CSV row and one with a cell missing
            (
                "text/csv",
                b"customer_id;department;service_type;invoice_date;source_reference;"
                b"description;quantity;unit_price_ore;vat_rate\n"
                + f"{cid};childcare;childcare;2026-03-02;BER-7;Avgift;1;150000;0\n".encode()
                + f"{cid};childcare;childcare;2026-03-02;BER-8;Avgift;1;150000\n".encode(),
            ),
            # a PEPPOL invoice whose payable amount is one öre off
            (
                "application/xml",
                UBL.replace(
                    '<cbc:PayableAmount currencyID="SEK">852.38<',
                    '<cbc:PayableAmount currencyID="SEK">852.39<',
                ).encode(),
            ),
        ]
        for content_type, data in batches:
            r = await fordra.client.post(
                "/api/v1/invoice-batches",
                content=data,
                headers={**publisher, "Content-Type": content_type},
            )
            assert r.status_code == 422, (content_type, r.text)
            assert r.json()["errors"]

        # Then nothing was booked: no store grew, the books and the ledger are as they were
        assert await state(fordra, cid) == before

        # And the undamaged file still books (the refusals left nothing half-claimed)
        r = await fordra.client.post("/api/v1/payment-files", content=good, headers=bank)
        assert r.status_code == 201, r.text
        assert (await ledger(fordra, cid))["by_id"][invoice["invoice_id"]]["paid_ore"] == 120_000
