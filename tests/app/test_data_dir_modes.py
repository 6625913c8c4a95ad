"""The data directory is the service user's alone (issue 10, item 2): every file Fordra writes
there (SQLite databases with their -wal and -shm, the key ring, the secrets, archived bank files)
is 0600 and every folder 0700, on both engines, whatever umask the process was started with."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from fordra.app.auth import InstanceSecrets
from fordra.kernel.auth import Role
from tests.app.test_import_cli import BGMAX
from tests.utils.money import customer, issue
from tests.utils.platform import Engine, running_platform


@contextmanager
def loose_umask() -> Iterator[None]:
    """A umask that would leave files readable by everyone (the usual 022)."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def open_to_others(data_dir: Path) -> list[str]:
    """Every path under ``data_dir`` (itself included) with a group or other permission bit."""
    found = []
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{path.relative_to(data_dir.parent)} {mode:04o}")
    return found


async def test_a_platform_writes_its_data_directory_for_its_own_user_only(
    engine: Engine, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"  # made by the platform itself
    with loose_umask():
        async with running_platform(engine, data_dir, today=date(2026, 3, 2)) as fordra:
            # Given a customer, an invoice and a booked bank file
            cid = await customer(fordra)
            await issue(fordra, cid, 50000)
            r = await fordra.client.post(
                "/api/v1/payment-files",
                content=BGMAX.read_bytes(),
                headers=fordra.auth(Role.BANK_INGEST),
            )
            assert r.status_code == 201, r.text
            await fordra.platform.settle()
            written = [p.name for p in data_dir.rglob("*")]
            # Then nothing under the data directory is open to anyone else, while running
            assert open_to_others(data_dir) == []
        # and after a clean stop
        assert open_to_others(data_dir) == []
    assert "keys.sqlite" in written
    assert "secrets.json" in written
    assert any(name.endswith(".bgmax") or name.endswith("-wal") for name in written)
    assert [p for p in (data_dir / "payment-files").rglob("*") if p.is_file()]


def test_a_key_file_open_to_others_is_tightened_when_loaded(tmp_path: Path) -> None:
    # Found by probing: a secrets.json made before the modes were kept, or copied in by hand,
    # was loaded as it was, 0644, readable by every user of the machine
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o700)
    key_file = data_dir / "secrets.json"
    key_file.write_text(json.dumps({"token_key": "ab" * 32, "pseudonym_key": "cd" * 32}))
    key_file.chmod(0o644)
    secrets = InstanceSecrets.load_or_create(data_dir)
    assert secrets.token_key == bytes.fromhex("ab" * 32)  # the same key, kept
    assert open_to_others(data_dir) == []


def test_the_cli_starts_with_a_private_umask(tmp_path: Path) -> None:
    # Given a shell with the usual umask 022, when the operator imports a file
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORDRA_")}
    argv = [sys.executable, "-m", "fordra.app.cli", "import", "payments", str(BGMAX)]
    with loose_umask():
        init = [sys.executable, "-m", "fordra.app.cli", "init", "--data-dir", str(data_dir)]
        subprocess.run(init, capture_output=True, timeout=60, env=env, check=True)
        done = subprocess.run(
            [*argv, "--data-dir", str(data_dir)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    # Then every file and folder it made is the service user's alone
    assert len([p for p in data_dir.rglob("*") if p.is_file()]) > 5
    assert open_to_others(data_dir) == []


def test_retention_from_the_command_line_drops_files_past_their_time(tmp_path: Path) -> None:
    # Given a bank file imported today (the real date: the CLI runs a system clock)
    data_dir = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORDRA_")}
    cli = [sys.executable, "-m", "fordra.app.cli"]
    subprocess.run([*cli, "init", "--data-dir", str(data_dir)], env=env, check=True, timeout=60)
    imported = subprocess.run(
        [*cli, "import", "payments", str(BGMAX), "--data-dir", str(data_dir)],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    kept = [p for p in (data_dir / "payment-files").rglob("*") if p.is_file()]
    assert len(kept) == 1
    year = int(kept[0].parent.name)

    def retention(today: date) -> list[str]:
        done = subprocess.run(
            [*cli, "retention", "--data-dir", str(data_dir), "--today", today.isoformat()],
            capture_output=True, text=True, timeout=60, env=env, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        dropped: list[str] = json.loads(done.stdout)["dropped"]
        return dropped

    # When retention runs on the last day of the seventh year after, the file stays
    assert retention(date(year + 7, 12, 31)) == []
    assert kept[0].exists()
    # and on the next day it goes, key first
    assert retention(date(year + 8, 1, 1)) == [kept[0].name.split(".")[0]]
    assert not kept[0].exists()
    assert open_to_others(data_dir) == []
