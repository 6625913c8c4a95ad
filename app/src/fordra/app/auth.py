"""Signed bearer tokens (JWT, HS256 with PyJWT) carrying a role and a scope.

The signing secret lives in the data directory (``secrets.json``, created on first use with mode
0600), so ``fordra token --data-dir DIR`` prints a token that the instance using DIR accepts and no
other. Every endpoint but ``/healthz`` and ``/openapi.json`` needs one.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from fordra.kernel.auth import Principal, Role
from fordra.kernel.private_files import private_file

ISSUER = "fordra"
# Who the token is for: Fordra's API (RFC 7519 ``aud``), so that a token signed for something
# else with the same key is refused.
AUDIENCE = "fordra-api"
ALGORITHM = "HS256"
# The roles a person holds; the others are departmental systems, the bank-file feed and gateways.
PERSON_ROLES = frozenset(
    {Role.ADMIN, Role.OPS_LEAD, Role.CASE_OFFICER, Role.PROTECTED_IDENTITY_OFFICER}
)


class TokenPolicy(BaseModel):
    """How long a token lives (``FORDRA_TOKENS__...``). A token minted for longer than its
    role's lifetime is refused when presented, so shortening a lifetime also retires the
    longer tokens already out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # A person's token lasts a working day: a lost laptop or a pasted token stops working by the
    # next morning, and the person asks for a new one.
    person_lifetime_hours: int = Field(default=8, ge=1, le=24)
    # A system (a department's billing system, the bank-file feed, a gateway) holds its token in
    # its configuration; a month bounds a leaked one while sparing the operators a daily rotation.
    system_lifetime_days: int = Field(default=30, ge=1, le=365)

    def lifetime(self, role: Role) -> timedelta:
        if role in PERSON_ROLES:
            return timedelta(hours=self.person_lifetime_hours)
        return timedelta(days=self.system_lifetime_days)


# HS256 wants a key as long as its hash (RFC 7518 §3.2): 256 bits.
MIN_TOKEN_KEY_BYTES = 32
# 32 random bytes have about 30 distinct values; fewer than 16 is a pattern (all zeros, "abab..").
MIN_DISTINCT_KEY_BYTES = 16
# Keys that tutorials and templates publish, as bytes and as the hex that secrets.json holds.
_PUBLISHED = ("", "secret", "changeme", "changethis", "fordra", "demo", "0" * 64)
KNOWN_TOKEN_KEYS = frozenset(
    {k.encode() for k in _PUBLISHED} | {bytes(32), bytes.fromhex("00" * 32)}
)


# The caller's actor ("role:department:subject") is kept with every event, in a column of 200
# characters on PostgreSQL (the event store's and the correction requests'): a longer subject was
# a token that every write refused. The department is as long as a request's may be.
_CLAIM_LENGTHS = {"subject": 100, "department": 64}


class InstanceSecrets:
    """The instance's secrets: the token-signing key and the pseudonymisation key."""

    def __init__(self, token_key: bytes, pseudonym_key: bytes) -> None:
        self.token_key = token_key
        self.pseudonym_key = pseudonym_key

    @classmethod
    def load_or_create(cls, data_dir: Path) -> InstanceSecrets:
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / "secrets.json"
        if not path.exists():
            content = {"token_key": secrets.token_hex(32), "pseudonym_key": secrets.token_hex(32)}
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(content, f)
        # A key file made before modes were kept, or copied in by hand, may be open to others:
        # tightened to 0600 like the databases (the folder keeps its mode: the operator's choice)
        private_file(path)
        content = json.loads(path.read_text())
        return cls(bytes.fromhex(content["token_key"]), bytes.fromhex(content["pseudonym_key"]))

    def pseudonym(self, value: str) -> str:
        return hmac.new(self.pseudonym_key, value.encode(), sha256).hexdigest()[:40]

    def weakness(self) -> str | None:
        """Why the token-signing key must not guard a real instance, or None. Fordra writes a
        random 32-byte key on first use; a key that is short, a known default or a pattern was
        put there by hand (copied from a demo, a tutorial, another instance) and lets whoever
        knows it sign their own admin token."""
        key = self.token_key
        if key in KNOWN_TOKEN_KEYS:
            return "the token-signing key is a published default"
        if len(key) < MIN_TOKEN_KEY_BYTES:
            return f"the token-signing key has {len(key)} bytes, fewer than {MIN_TOKEN_KEY_BYTES}"
        if len(set(key)) < MIN_DISTINCT_KEY_BYTES:
            return "the token-signing key is a pattern, not random bytes"
        return None


class TokenService:
    """Issues and verifies the instance's tokens. Every token carries its issuer, audience,
    tenant, role and scope (department or municipality), when it was issued and when it
    expires; one without any of these is refused."""

    def __init__(
        self, secrets_: InstanceSecrets, tenant: str, policy: TokenPolicy | None = None
    ) -> None:
        self._key = secrets_.token_key
        self._tenant = tenant
        self.policy = policy or TokenPolicy()

    def issue(
        self,
        role: Role,
        *,
        subject: str | None = None,
        department: str | None = None,
        municipality: str | None = None,
        valid_for: timedelta | None = None,
        issued_at: datetime | None = None,
    ) -> str:
        """``valid_for`` may shorten the role's lifetime, never lengthen it; ``issued_at`` (for
        tests of expiry) defaults to now."""
        if role is Role.DEPARTMENT and not department:
            raise ValueError("a department token needs --department")
        for name, value in (("subject", subject), ("department", department)):
            if value and len(value) > _CLAIM_LENGTHS[name]:
                raise ValueError(f"--{name} has at most {_CLAIM_LENGTHS[name]} characters")
        if role is Role.SOCIAL_SERVICES and not municipality:
            municipality = self._tenant
        longest = self.policy.lifetime(role)
        if valid_for is None:
            valid_for = longest
        if not timedelta(0) < valid_for <= longest:
            raise ValueError(
                f"a {role.value} token lives at most {_span(longest)} (the token policy, "
                f"FORDRA_TOKENS__*); asked for {_span(valid_for)}"
            )
        now = issued_at or datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject or role.value,
            "role": role.value,
            "tenant": self._tenant,
            "iat": now,
            "exp": now + valid_for,
        }
        if department:
            claims["department"] = department.lower()
        if municipality:
            claims["municipality"] = municipality
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        claims = jwt.decode(
            token,
            self._key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "role", "tenant"]},
        )
        # PyJWT checks that exp and iat read as numbers (a numeric string passes) and that sub is
        # a string; the rest of the claims are ours to type, so that a token with a claim of the
        # wrong type is a 401 like any other bad token, never a TypeError (a 500) further on.
        for name in ("exp", "iat"):
            if not isinstance(claims[name], int | float) or isinstance(claims[name], bool):
                raise jwt.InvalidTokenError(f"the {name!r} claim must be a number")
        for name in ("sub", "role", "tenant", "department", "municipality"):
            if name in claims and (not isinstance(claims[name], str) or not claims[name]):
                raise jwt.InvalidTokenError(f"the {name!r} claim must be a non-empty string")
        for name, claim in (("subject", "sub"), ("department", "department")):
            if len(claims.get(claim, "")) > _CLAIM_LENGTHS[name]:
                raise jwt.InvalidTokenError(
                    f"the {claim!r} claim has at most {_CLAIM_LENGTHS[name]} characters"
                )
        if claims["tenant"] != self._tenant:
            raise jwt.InvalidTokenError("token is for another municipality")
        try:
            role = Role(claims["role"])
        except ValueError:
            raise jwt.InvalidTokenError(f"unknown role {claims['role']!r}") from None
        if claims["exp"] - claims["iat"] > self.policy.lifetime(role).total_seconds():
            raise jwt.InvalidTokenError(
                f"a {role.value} token lives at most {_span(self.policy.lifetime(role))}"
            )
        if role is Role.DEPARTMENT and not claims.get("department"):
            raise jwt.InvalidTokenError("a department token must name its department")
        if role is Role.SOCIAL_SERVICES and not claims.get("municipality"):
            raise jwt.InvalidTokenError("a social_services token must name its municipality")
        return Principal(
            subject=claims["sub"],
            role=role,
            tenant=claims["tenant"],
            department=claims.get("department"),
            municipality=claims.get("municipality"),
        )

    async def authenticate(
        self,
        request: Request,
        # Declares the bearer scheme in the OpenAPI document (Swagger UI's Authorize button);
        # the header itself is read below, so that the answer stays ours.
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
    ) -> Principal:
        """The FastAPI dependency: 401 without a valid bearer token."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            return self.verify(token.strip())
        except (jwt.InvalidTokenError, ValueError) as exc:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                f"invalid token: {exc}",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            ) from None


BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="JWT",
    description="A token from `fordra token --role ROLE` (or the start banner of `make run`); "
    "each route names the roles it admits.",
)


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} days" if hours >= 48 else f"{hours:g} h"
