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
from typing import Any

import jwt
from fastapi import HTTPException, Request, status

from fordra.kernel.auth import Principal, Role

ISSUER = "fordra"
ALGORITHM = "HS256"


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
        content = json.loads(path.read_text())
        return cls(bytes.fromhex(content["token_key"]), bytes.fromhex(content["pseudonym_key"]))

    def pseudonym(self, value: str) -> str:
        return hmac.new(self.pseudonym_key, value.encode(), sha256).hexdigest()[:40]


class TokenService:
    def __init__(self, secrets_: InstanceSecrets, tenant: str) -> None:
        self._key = secrets_.token_key
        self._tenant = tenant

    def issue(
        self,
        role: Role,
        *,
        subject: str | None = None,
        department: str | None = None,
        municipality: str | None = None,
        valid_for: timedelta = timedelta(days=30),
    ) -> str:
        if role is Role.DEPARTMENT and not department:
            raise ValueError("a department token needs --department")
        if role is Role.SOCIAL_SERVICES and not municipality:
            municipality = self._tenant
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": ISSUER,
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
            options={"require": ["exp", "iat", "sub", "role", "tenant"]},
        )
        if claims["tenant"] != self._tenant:
            raise jwt.InvalidTokenError("token is for another municipality")
        return Principal(
            subject=claims["sub"],
            role=Role(claims["role"]),
            tenant=claims["tenant"],
            department=claims.get("department"),
            municipality=claims.get("municipality"),
        )

    async def authenticate(self, request: Request) -> Principal:
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
