"""Tokens expire and carry their scope; the service refuses a default secret outside the demo
(issue 10, item 5).

Tokens are engine-independent (the app verifies them before any context runs), so the HTTP checks
here use the embedded engine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from fordra.app.auth import ALGORITHM, AUDIENCE, ISSUER, InstanceSecrets, TokenPolicy, TokenService
from fordra.app.cli import main, refuse_weak_secrets
from fordra.kernel.auth import Role
from tests.utils.platform import running_platform

TENANT = "svenljunga"


@pytest.fixture
def tokens(tmp_path: Path) -> TokenService:
    return TokenService(InstanceSecrets.load_or_create(tmp_path), TENANT)


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def test_a_token_carries_its_scope_and_a_lifetime_by_kind_of_holder(tokens: TokenService) -> None:
    person = claims_of(tokens.issue(Role.CASE_OFFICER, subject="anna"))
    assert person["iss"] == ISSUER
    assert person["aud"] == AUDIENCE
    assert (person["sub"], person["role"], person["tenant"]) == ("anna", "case_officer", TENANT)
    # A person's token lives a working day, a system's a month (TokenPolicy's defaults)
    assert person["exp"] - person["iat"] == 8 * 3600
    system = claims_of(tokens.issue(Role.DEPARTMENT, department="VA"))
    assert system["department"] == "va"
    assert system["exp"] - system["iat"] == 30 * 86400
    social = claims_of(tokens.issue(Role.SOCIAL_SERVICES))
    assert social["municipality"] == TENANT
    # A shorter token may be asked for, never a longer one
    short = claims_of(tokens.issue(Role.ADMIN, valid_for=timedelta(hours=1)))
    assert short["exp"] - short["iat"] == 3600
    with pytest.raises(ValueError, match="admin token lives at most 8 h"):
        tokens.issue(Role.ADMIN, valid_for=timedelta(days=30))
    with pytest.raises(ValueError, match="--subject has at most 100"):
        tokens.issue(Role.ADMIN, subject="a" * 101)
    with pytest.raises(ValueError, match="--department has at most 64"):
        tokens.issue(Role.DEPARTMENT, department="d" * 65)
    # The policy is a setting (FORDRA_TOKENS__PERSON_LIFETIME_HOURS)
    assert TokenPolicy(person_lifetime_hours=4).lifetime(Role.OPS_LEAD) == timedelta(hours=4)


def forged(tokens: TokenService, secrets: InstanceSecrets, **changes: Any) -> str:
    """A token signed with the instance's own key but with ``changes`` to its claims (a value
    of None removes the claim): what only a holder of the key, or a bug, could make."""
    claims = claims_of(tokens.issue(Role.CASE_OFFICER, subject="anna"))
    for name, value in changes.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    return jwt.encode(claims, secrets.token_key, algorithm=ALGORITHM)


async def test_expired_unscoped_or_overlong_tokens_are_refused(tmp_path: Path) -> None:
    async with running_platform("embedded", tmp_path) as fordra:
        tokens, secrets = fordra.platform.tokens, fordra.platform.secrets
        now = int(datetime.now(UTC).timestamp())
        expired = tokens.issue(
            Role.ADMIN, issued_at=datetime.now(UTC) - timedelta(hours=9)
        )  # 8 h lifetime: expired an hour ago
        cases = {
            "expired": (expired, "expired"),
            "no exp": (forged(tokens, secrets, exp=None), '"exp"'),
            "no iat": (forged(tokens, secrets, iat=None), '"iat"'),
            "no audience": (forged(tokens, secrets, aud=None), '"aud"'),
            "another audience": (forged(tokens, secrets, aud="other-api"), "Audience"),
            "unknown role": (forged(tokens, secrets, role="superuser"), "unknown role"),
            "no role": (forged(tokens, secrets, role=None), '"role"'),
            "another tenant": (forged(tokens, secrets, tenant="boras"), "another municipality"),
            "longer than the policy": (
                forged(tokens, secrets, iat=now, exp=now + 30 * 86400),
                "at most 8 h",
            ),
            "department without one": (forged(tokens, secrets, role="department"), "department"),
            # Claims of the wrong type (found by probing over HTTP: a numeric string passes
            # PyJWT's own check of iat and was a TypeError, a 500, when the lifetime was checked)
            "iat a numeric string": (forged(tokens, secrets, iat=str(now)), "'iat'"),
            "exp a numeric string": (forged(tokens, secrets, exp=str(now + 3600)), "'exp'"),
            "iat a boolean": (forged(tokens, secrets, iat=True), "'iat'"),
            "empty subject": (forged(tokens, secrets, sub=""), "'sub'"),
            "department a number": (
                forged(tokens, secrets, role="department", department=5),
                "'department'",
            ),
            "tenant a list": (forged(tokens, secrets, tenant=[TENANT]), "'tenant'"),
            # The actor (role:department:subject) must fit the stores' 200 characters
            "subject too long": (forged(tokens, secrets, sub="a" * 101), "'sub'"),
            "department too long": (
                forged(tokens, secrets, role="department", department="d" * 65),
                "'department'",
            ),
        }
        for case, (token, reason) in cases.items():
            r = await fordra.client.get(
                "/api/v1/payments/unmatched", headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code == 401, (case, r.text)
            assert reason in r.json()["detail"], (case, r.text)
            assert r.headers["www-authenticate"].startswith("Bearer")
        # And the same token unchanged is accepted
        r = await fordra.client.get("/api/v1/payments/unmatched", headers=fordra.auth())
        assert r.status_code == 200, r.text


def cli(*argv: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORDRA_")}
    return subprocess.run(
        [sys.executable, "-m", "fordra.app.cli", *argv, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def test_the_token_command_mints_by_the_policy(tmp_path: Path) -> None:
    done = cli("token", "--role", "case_officer", "--subject", "anna", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    claims = claims_of(done.stdout.strip())
    assert claims["exp"] - claims["iat"] == 8 * 3600
    assert claims["aud"] == AUDIENCE
    refused = cli("token", "--role", "admin", "--days", "30", data_dir=tmp_path)
    assert refused.returncode == 2
    assert "lives at most 8 h" in refused.stderr


def weak_secrets(data_dir: Path, token_key: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    content = {"token_key": token_key, "pseudonym_key": os.urandom(32).hex()}
    (data_dir / "secrets.json").write_text(json.dumps(content))


@pytest.mark.parametrize(
    ("token_key", "why"),
    [
        ("00" * 32, "published default"),
        ("736563726574", "published default"),  # b"secret"
        (os.urandom(16).hex(), "16 bytes, fewer than 32"),
        ("ab" * 40, "a pattern"),
    ],
    # Fixed ids: a random key in the id would differ between pytest-xdist's workers.
    ids=["zeros", "secret", "random-16-bytes", "pattern"],
)
def test_the_service_refuses_to_start_on_a_weak_secret_outside_the_demo(
    tmp_path: Path, token_key: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a data directory whose token-signing key was put there by hand
    weak_secrets(tmp_path, token_key)
    # When the service starts without --demo, then it refuses before serving, saying why
    assert main(["run", "--data-dir", str(tmp_path), "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fordra run: refusing to start:"), err
    assert why in err
    assert "secrets.json" in err
    assert main(["serve", "api", "--data-dir", str(tmp_path)]) == 2
    assert "fordra serve: refusing to start" in capsys.readouterr().err
    # With --demo (make run) the same key is allowed, with a warning
    assert refuse_weak_secrets(tmp_path, demo=True) is None
    assert "Allowed for --demo only" in capsys.readouterr().err


def test_a_generated_secret_starts(tmp_path: Path) -> None:
    # The key Fordra writes itself passes, demo or not (make run and the tests' platforms)
    assert refuse_weak_secrets(tmp_path / "fresh", demo=False) is None
    assert InstanceSecrets.load_or_create(tmp_path / "fresh").weakness() is None
