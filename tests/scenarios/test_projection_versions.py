"""A projection whose version changed rebuilds itself on the next start (issue 18), on both
engines, and answers what it answered before; the command line rebuilds on demand, and refuses
what it cannot do."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import update

from fordra.kernel.auth import Role
from tests.scenarios.test_payments import BGMAX, COMPANY, PRINTED, advance, issue, post_file
from tests.scenarios.test_rebuild import snapshot
from tests.utils.platform import Engine, Running, engine_settings, running_platform

PAID = date(2004, 5, 26)


async def book_and_pay(fordra: Running) -> str:
    """A customer with three invoices and a bank file that pays them: the ledger and the
    unmatched queue both hold something."""
    r = await fordra.client.post("/api/v1/customers", json=COMPANY, headers=fordra.auth())
    cid: str = r.json()["customer_id"]
    await issue(fordra, cid, ocr="524967", price_ore=190000)
    await issue(fordra, cid, ocr="525766", price_ore=30000)
    await issue(fordra, cid, ocr="1234574", price_ore=40000)
    await advance(fordra, PAID)
    assert (await post_file(fordra, BGMAX.read_bytes())).status_code == 201
    await fordra.platform.settle()
    return cid


async def test_a_bumped_version_rebuilds_the_projection_on_the_next_start(
    engine: Engine, tmp_path: Path
) -> None:
    # Both starts use one database (and one topic namespace on Kafka).
    config = await engine_settings(engine, tmp_path)
    same: dict[str, Any] = {
        k: getattr(config, k) for k in ("store", "bus", "kafka_namespace") if getattr(config, k)
    }
    # Given an instance whose ledger was built by a version of its code older than today's
    async with running_platform(engine, tmp_path, today=PRINTED, **same) as fordra:
        cid = await book_and_pay(fordra)
        before = await snapshot(fordra, cid)
        db = fordra.platform.read_models
        async with db.engine.begin() as conn:
            await conn.execute(
                update(db.versions)
                .where(db.versions.c.projection == "customer_ledger")
                .values(version=0)
            )

    # When it starts again
    async with running_platform(engine, tmp_path, today=PAID, **same) as fordra:
        # Then the ledger alone was dropped, and rebuilt from the logs answers the same
        rebuilt = fordra.platform.read_models.rebuilt_on_start
        assert rebuilt == {"customer_ledger": "version 0 in the database, 1 in the code"}
        await fordra.platform.settle()
        assert await snapshot(fordra, cid) == before


def fordra(*args: str) -> subprocess.CompletedProcess[str]:
    """The command line as an operator runs it, without the caller's FORDRA_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORDRA_")}
    return subprocess.run(
        [sys.executable, "-m", "fordra.app.cli", *args],
        capture_output=True, text=True, timeout=180, env=env, check=False,
    )  # fmt: skip


def test_the_cli_rebuilds_named_projections_and_they_answer_the_same(
    engine: Engine, tmp_path: Path
) -> None:
    # One database for the platform's two starts and the command line (--store when distributed)
    config = asyncio.run(engine_settings(engine, tmp_path))
    same: dict[str, Any] = {
        k: getattr(config, k) for k in ("store", "bus", "kafka_namespace") if getattr(config, k)
    }

    async def built() -> tuple[str, Any]:
        async with running_platform(engine, tmp_path, today=PRINTED, **same) as running:
            cid = await book_and_pay(running)
            return cid, await snapshot(running, cid)

    async def now(cid: str) -> Any:
        async with running_platform(engine, tmp_path, today=PAID, **same) as running:
            await running.platform.settle()
            return await snapshot(running, cid)

    cid, before = asyncio.run(built())

    store = ("--store", same["store"]) if "store" in same else ()
    done = fordra("projections", "rebuild", "customer_ledger", "unmatched_payments_v3",
                  "--data-dir", str(tmp_path), *store)  # fmt: skip
    assert done.returncode == 0, done.stderr
    # A bar per projection, ending at the head of each log it follows
    lines = done.stderr.splitlines()
    assert [ln.split()[0] for ln in lines if "rebuilt in" in ln] == [
        "customer_ledger",
        "unmatched_payments_v3",
    ]
    assert any(ln.startswith("customer_ledger") and " payments " in ln for ln in lines)
    assert asyncio.run(now(cid)) == before


def test_the_cli_refuses_an_unknown_projection_naming_the_known_ones(tmp_path: Path) -> None:
    assert fordra("init", "--data-dir", str(tmp_path)).returncode == 0
    done = fordra("projections", "rebuild", "customer_ledger", "ledgr", "--data-dir", str(tmp_path))
    assert done.returncode == 2
    assert "unknown projection ledgr" in done.stderr
    assert "known: agency_cases, case_register," in done.stderr
    assert "customer_ledger" in done.stderr.split("known:")[1]


def test_commands_refuse_a_directory_that_holds_no_instance(tmp_path: Path) -> None:
    typo = tmp_path / "typo"
    for args in (
        ("import", "payments", str(BGMAX)),
        ("retention",),
        ("projections", "rebuild"),
    ):
        done = fordra(*args, "--data-dir", str(typo))
        assert done.returncode == 2, (args, done.stderr)
        assert f"{typo} holds no Fordra instance" in done.stderr
        assert done.stdout == ""
    # Nothing was made there
    assert not typo.exists()
    # A directory that holds something else is refused by run as well (but for a demo)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("not Fordra's")
    done = fordra("run", "--data-dir", str(other), "--port", "1")
    assert done.returncode == 2
    assert f"{other} holds no Fordra instance" in done.stderr
    assert not (other / "secrets.json").exists()


def test_init_makes_an_instance_once(tmp_path: Path) -> None:
    first = fordra("init", "--data-dir", str(tmp_path / "var"))
    assert first.returncode == 0, first.stderr
    assert "made an instance" in first.stdout
    secrets = (tmp_path / "var" / "secrets.json").read_bytes()
    again = fordra("init", "--data-dir", str(tmp_path / "var"))
    assert again.returncode == 0
    assert "already an instance" in again.stdout
    assert (tmp_path / "var" / "secrets.json").read_bytes() == secrets
    # and a token of that instance can be printed
    token = fordra("token", "--role", Role.OPS_LEAD.value, "--data-dir", str(tmp_path / "var"))
    assert token.returncode == 0, token.stderr


def test_version_and_a_plain_fast_help() -> None:
    version = fordra("--version")
    assert version.returncode == 0
    assert version.stdout.startswith("fordra 0.")
    for args in ((), ("run",), ("import",), ("retention",), ("projections", "rebuild")):
        done = fordra(*args, "--help")
        assert done.returncode == 0
        # No reStructuredText markup leaks into what the operator reads
        assert "``" not in done.stdout
        assert ":class:" not in done.stdout
    # --help imports none of the platform's modules (they take seconds)
    probe = subprocess.run(
        [sys.executable, "-c", "import sys\nfrom fordra.app import cli\n"
         "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
         "print(sorted(m for m in sys.modules if m.startswith(('fordra.app.bootstrap', "
         "'sqlalchemy', 'fastapi'))))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert probe.stdout.strip().splitlines()[-1] == "[]"
