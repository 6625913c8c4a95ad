"""Personal data at rest (issue 10, item 2), on both engines: the payer names and free texts of
the unmatched-payments queue (and of the payments log), and the archived bank files are sealed
with keys of the key ring, so a copy of the stores or the archive alone names nobody, and
forgetting (or retention) makes them unreadable."""

from __future__ import annotations

import hashlib
import stat
from datetime import date
from pathlib import Path

import asyncpg

from fordra.app.bootstrap import drop_expired_payment_files
from fordra.app.settings import Settings
from fordra.kernel.auth import Role
from fordra.kernel.clock import ManualClock
from fordra.kernel.personal_data import PersonalDataSealer, SqliteKeyRing
from fordra.kernel.postgres_eventstore import asyncpg_dsn
from fordra.payments.adapters.file_archive import FilesystemArchive, file_subject
from tests.payments.camt_factory import Entry, Tx, camt054
from tests.utils.money import customer, issue
from tests.utils.platform import Engine, Running, running_platform

PAYER = "Beata Betalare"
IBAN = "SE4550000000058398257466"


async def read_model_bytes(fordra: Running, data_dir: Path) -> bytes:
    """Everything the read-model database holds, as stored: the SQLite files (with their
    write-ahead log) or the PostgreSQL rows of the payment queue as text."""
    if fordra.platform.engine == "embedded":
        files = sorted(data_dir.glob("projections.sqlite*"))  # noqa: ASYNC240 - a test's read
        return b"".join(p.read_bytes() for p in files)
    assert fordra.platform.settings.store
    conn = await asyncpg.connect(asyncpg_dsn(fordra.platform.settings.store))
    try:
        rows = await conn.fetch("SELECT t::text AS row FROM projections.unmatched_payments_v3 t")
    finally:
        await conn.close()
    assert rows, "the queue's table is empty: the test would prove nothing"
    return "\n".join(r["row"] for r in rows).encode()


async def test_payer_names_and_bank_files_are_sealed_at_rest(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        # Given an invoice, and a bank file paying it by OCR and with one payment nobody can place
        cid = await customer(fordra)
        invoice = await issue(fordra, cid, 50000)
        data = camt054(
            Entry(
                amount="600.00",
                acct_svcr_ref="NTRY-1",
                txs=(
                    Tx(amount="500.00", acct_svcr_ref="TX-1", scor=(invoice["ocr"],)),
                    Tx(
                        amount="100.00",
                        acct_svcr_ref="TX-2",
                        ustrd=("inbetalning",),
                        debtor=PAYER,
                        debtor_iban=IBAN,
                    ),
                ),
            ),
            msg_id="FILE-1",
        )
        assert PAYER.encode() in data
        assert invoice["ocr"].encode() in data
        r = await fordra.client.post(
            "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
        )
        assert r.status_code == 201, r.text
        assert r.json()["unmatched"] == 1

        # Then the queue shows the payer's name to the ops team
        ops = fordra.auth(Role.OPS_LEAD)
        (item,) = (await fordra.client.get("/api/v1/payments/unmatched", headers=ops)).json()[
            "items"
        ]
        assert item["payer_name"] == PAYER
        # but the read-model database, read directly, holds no trace of it
        stored = await read_model_bytes(fordra, tmp_path)
        assert PAYER.encode() not in stored
        assert b"Beata" not in stored

        # and the archived file on disk names neither the payer, nor the account, nor the OCR,
        archived = list((tmp_path / "payment-files").rglob("*"))
        (path,) = [p for p in archived if p.is_file()]
        raw = path.read_bytes()
        for secret in (PAYER.encode(), IBAN.encode(), invoice["ocr"].encode(), b"FILE-1"):
            assert secret not in raw
        # while the archive gives back the very bytes received
        archive = fordra.platform.payments.archive
        assert isinstance(archive, FilesystemArchive)
        sha = hashlib.sha256(data).hexdigest()
        fmt = path.name.split(".", 1)[1]
        assert archive.read(sha, fmt) == data
        # (sealed under a key of the file's own, in the key ring)
        assert fordra.platform.keyring.key_for(file_subject(sha), create=False) is not None

        # When the payment's subject is forgotten
        fordra.platform.keyring.forget(item["payment_id"])
        # Then the queue still lists the payment, but nobody can read who paid
        (item,) = (await fordra.client.get("/api/v1/payments/unmatched", headers=ops)).json()[
            "items"
        ]
        assert item["payer_name"] is None
        assert item["amount_ore"] == 10000

        # When the file's retention runs on the last day it must be kept (2026 + 7 years)
        await fordra.platform.scheduler.run_day(date(2033, 12, 31))
        assert archive.read(sha, fmt) == data
        # and on the first day it may go
        await fordra.platform.scheduler.run_day(date(2034, 1, 1))
        # Then the file and its key are gone
        assert archive.read(sha, fmt) is None
        assert not path.exists()
        assert fordra.platform.keyring.key_for(file_subject(sha), create=False) is None
        # and the same file sent again is still known as booked, not booked twice
        r = await fordra.client.post(
            "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
        )
        assert r.status_code in (200, 201), r.text
        assert r.json()["duplicate"] is True


FREE_TEXT_NAME = b"Zacharias Fritextsson"
PERSONNUMMER = b"19811218-9876"


async def everything_stored(fordra: Running, data_dir: Path) -> bytes:
    """Every byte the platform keeps: each file of the data dir (event store, read models, key
    ring, archive) and, on the distributed engine, every row of every table of its database,
    binary columns as stored (``::text`` would show them in hex and hide plain text)."""
    files = [p for p in sorted(data_dir.rglob("*")) if p.is_file()]  # noqa: ASYNC240 - a test's read
    stored = b"".join(p.read_bytes() for p in files)
    if fordra.platform.engine == "embedded":
        return stored
    assert fordra.platform.settings.store
    conn = await asyncpg.connect(asyncpg_dsn(fordra.platform.settings.store))
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        assert tables
        for t in tables:
            rows = await conn.fetch(f'SELECT * FROM "{t["table_schema"]}"."{t["table_name"]}"')
            for row in rows:
                for value in row.values():
                    stored += value if isinstance(value, bytes) else str(value).encode()
    finally:
        await conn.close()
    return stored


async def test_a_payments_free_text_is_sealed_in_the_log_and_the_queue(
    engine: Engine, tmp_path: Path
) -> None:
    async with running_platform(engine, tmp_path, today=date(2026, 3, 2)) as fordra:
        # Given an open invoice, and a camt.054 payment whose remittance text names a person
        # and the invoice's OCR, and one with a reference of the payer's own naming them too
        cid = await customer(fordra)
        invoice = await issue(fordra, cid, 50000)
        ustrd = (
            b"Avgift for " + FREE_TEXT_NAME + b" " + PERSONNUMMER + b" " + invoice["ocr"].encode()
        )
        data = camt054(
            Entry(
                amount="300.00",
                acct_svcr_ref="NTRY-1",
                txs=(
                    Tx(amount="100.00", acct_svcr_ref="TX-1", ustrd=(ustrd.decode(),)),
                    Tx(
                        amount="200.00",
                        acct_svcr_ref="TX-2",
                        other_ref=("Egen", "Fritextsson 19811218-9876"),
                    ),
                ),
            ),
            msg_id="FILE-FT",
        )
        r = await fordra.client.post(
            "/api/v1/payment-files", content=data, headers=fordra.auth(Role.BANK_INGEST)
        )
        assert r.status_code == 201, r.text
        assert r.json()["unmatched"] == 2

        # Then the queue shows the case officers the text, the reference, and the invoice the
        # text names
        ops = fordra.auth(Role.OPS_LEAD)
        items = (await fordra.client.get("/api/v1/payments/unmatched", headers=ops)).json()["items"]
        by_amount = {i["amount_ore"]: i for i in items}
        assert by_amount[10000]["free_text"] == [ustrd.decode()]
        assert by_amount[10000]["suggestions"][0]["invoice_id"] == invoice["invoice_id"]
        assert by_amount[20000]["reference"] == "Fritextsson 19811218-9876"
        # but nothing the platform stores holds the name or the personnummer in clear
        stored = await everything_stored(fordra, tmp_path)
        assert b"TX-2" in stored  # (the payments' log is in what was read: its bank references)
        for secret in (FREE_TEXT_NAME, b"Fritextsson", PERSONNUMMER):
            assert secret not in stored

        # When the payments' subjects are forgotten
        for item in items:
            fordra.platform.keyring.forget(item["payment_id"])
        # Then the queue still lists them, without the text or the payer's reference
        items = (await fordra.client.get("/api/v1/payments/unmatched", headers=ops)).json()["items"]
        by_amount = {i["amount_ore"]: i for i in items}
        assert by_amount[10000]["free_text"] is None
        assert by_amount[20000]["free_text"] is None
        assert by_amount[20000]["reference"] is None


async def test_a_copy_of_the_archive_without_the_key_ring_reads_nothing(tmp_path: Path) -> None:
    # Given a file kept by one platform's archive
    keys = SqliteKeyRing(tmp_path / "keys.sqlite")
    archive = FilesystemArchive(
        tmp_path / "files", PersonalDataSealer(keys), ManualClock(date(2026, 3, 2))
    )
    data = b"<Document>Beata Betalare 7512345678</Document>"
    archive.keep("ab" * 32, data, "camt054")
    keys.close()
    # When the archive is copied to a place with a key ring of its own
    other = SqliteKeyRing(tmp_path / "other-keys.sqlite")
    copy = FilesystemArchive(
        tmp_path / "files", PersonalDataSealer(other), ManualClock(date(2026, 3, 2))
    )
    # Then the file does not open
    assert copy.read("ab" * 32, "camt054") is None
    other.close()


def test_retention_seals_the_files_an_older_archive_kept_in_plain_text(tmp_path: Path) -> None:
    # Given an archive folder as an older Fordra left it: the raw file, world-readable
    files = tmp_path / "payment-files"
    files.mkdir()
    data = b"<Document>Beata Betalare 7512345678</Document>"
    sha = hashlib.sha256(data).hexdigest()
    plain = files / f"{sha}.camt054"
    plain.write_bytes(data)
    keys = SqliteKeyRing(tmp_path / "keys.sqlite")
    archive = FilesystemArchive(files, PersonalDataSealer(keys), ManualClock(date(2026, 3, 2)))
    # When the daily retention runs (nothing is past its time yet)
    dropped = drop_expired_payment_files(archive, Settings(data_dir=tmp_path), date(2026, 3, 3))
    # Then the file is sealed in its year's folder, readable through the archive only
    assert dropped == []
    assert not plain.exists()
    (kept,) = [p for p in files.rglob("*") if p.is_file()]
    assert b"Beata" not in kept.read_bytes()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert archive.read(sha, "camt054") == data
    keys.close()
