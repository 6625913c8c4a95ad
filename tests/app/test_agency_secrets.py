"""The agency's secret at start-up (issue 15): ``fordra serve agency-gateway`` and ``serve api``
and ``fordra run`` refuse to start without one outside the demo; the demo gets the demo's and
starts the reference agency where the settings say it listens."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from fordra.app.agency import DEMO_AGENCY_SECRET, agency_secrets_or_refusal, demo_reference_agency
from fordra.app.cli import main
from fordra.app.settings import Settings


@pytest.mark.parametrize("service", ["agency-gateway", "api"])
def test_serve_refuses_to_start_without_the_agencys_secret(
    tmp_path: Path,
    service: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("FORDRA_AGENCY_REFERENCE_SECRET", raising=False)
    assert main(["serve", service, "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "refusing to start: no secret for the agency reference" in err
    assert "FORDRA_AGENCY_REFERENCE_SECRET" in err


def test_run_refuses_without_it_outside_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("FORDRA_AGENCY_REFERENCE_SECRET", raising=False)
    assert main(["run", "--data-dir", str(tmp_path), "--port", "1"]) == 2
    assert "fordra run: refusing to start: no secret" in capsys.readouterr().err


def test_the_demo_gets_the_demos_secret_and_a_given_one_is_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, refusal = agency_secrets_or_refusal(Settings(data_dir=tmp_path), demo=True)
    assert refusal is None
    assert settings.agency.secrets["reference"].get_secret_value() == DEMO_AGENCY_SECRET
    assert "Allowed for --demo only" in capsys.readouterr().err
    given = Settings(data_dir=tmp_path, agency={"secrets": {"reference": "ours"}})
    kept, refusal = agency_secrets_or_refusal(given, demo=False)
    assert refusal is None
    assert kept.agency.secrets["reference"].get_secret_value() == "ours"


async def test_the_demos_reference_agency_listens_where_the_settings_say(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = Settings(
        data_dir=tmp_path,
        agency={
            "agencies": {"reference": {"url": f"http://127.0.0.1:{port}"}},
            "secrets": {"reference": DEMO_AGENCY_SECRET},
        },
    )
    agency = demo_reference_agency(settings)
    assert agency is not None
    await agency.start()
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{port}/healthz")
            assert r.json() == {"status": "ok"}
        # A second one on the same port cannot start, and says so
        second = demo_reference_agency(settings)
        assert second is not None
        with pytest.raises(OSError, match="in use"):
            await second.start()
    finally:
        await agency.stop()
    # An agency reached elsewhere is not started here
    remote = Settings(
        data_dir=tmp_path, agency={"agencies": {"reference": {"url": "http://agency.example:80"}}}
    )
    assert demo_reference_agency(remote) is None
