"""``fordra import payments FILE``: the CLI books a real bank file through the API's use case.

Run as the operator runs it, in a subprocess (``python -m fordra.app.cli``), on the embedded engine
in a temporary data directory, with Bankgirot's published BgMax example file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.fixtures_path import shared_fixtures

BGMAX = shared_fixtures("bgmax", "BgMaxfil4.txt")


def fordra_import(file: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """``fordra import payments FILE`` into the instance in ``data_dir``, made first by
    ``fordra init`` (the import refuses a directory that holds no instance)."""
    # The FORDRA_* settings of the caller's shell must not redirect the import elsewhere.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORDRA_")}
    init = [sys.executable, "-m", "fordra.app.cli", "init", "--data-dir", str(data_dir)]
    subprocess.run(init, capture_output=True, timeout=60, env=env, check=True)
    argv = [sys.executable, "-m", "fordra.app.cli", "import", "payments", str(file)]
    return subprocess.run(
        [*argv, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def answer(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(done.stdout)
    return body


def test_a_bank_file_is_booked_once_and_a_damaged_copy_is_refused_naming_the_line(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"

    # When the operator imports Bankgirot's example file
    first = fordra_import(BGMAX, data_dir)

    # Then it is booked: exit 0, the API's JSON answer on stdout, the stages on stderr
    assert first.returncode == 0, first.stderr
    booked = answer(first)
    assert booked["format"] == "bgmax"
    assert booked["payments"] == 9
    assert booked["matched"] + booked["unmatched"] == 9
    # each currency's total apart (the sample has a deposit in EUR); total_ore is SEK alone
    assert booked["totals_by_currency"] == {"SEK": 860000, "EUR": 400000}
    assert booked["total_ore"] == 860000
    assert "totals 8\u00a0600,00 SEK; 4\u00a0000,00 EUR" in first.stderr
    assert booked["duplicate"] is False
    for stage in ("0/3 parse", "1/3 book: 9 payments", "2/3 settle", "3/3 booked"):
        assert stage in first.stderr

    # When the same file comes again, it is the first answer, marked duplicate, and still exit 0
    again = fordra_import(BGMAX, data_dir)
    assert again.returncode == 0, again.stderr
    assert answer(again) == {**booked, "duplicate": True}
    assert "already imported" in again.stderr

    # When a copy with a damaged amount on line 3 comes
    lines = BGMAX.read_bytes().split(b"\n")
    assert lines[2].startswith(b"20")  # a payment record: the amount is in positions 38-55
    lines[2] = lines[2][:37] + b"X" * 18 + lines[2][55:]
    damaged = tmp_path / "BgMaxfil4-damaged.txt"
    damaged.write_bytes(b"\n".join(lines))
    refused = fordra_import(damaged, data_dir)

    # Then it is refused whole with exit 2, each problem naming its line
    assert refused.returncode == 2, refused.stderr
    errors = answer(refused)["errors"]
    assert errors[0]["line"] == 3
    assert "amount" in errors[0]["message"]
    assert "line 3: amount" in refused.stderr
    assert "nothing booked" in refused.stderr

    # and nothing of it was kept: the archive holds the one accepted file
    assert len(list((data_dir / "payment-files").iterdir())) == 1


def test_a_file_that_cannot_be_read_is_exit_1(tmp_path: Path) -> None:
    done = fordra_import(tmp_path / "missing.txt", tmp_path / "var")

    assert done.returncode == 1
    assert "cannot read" in done.stderr
    assert done.stdout == ""
