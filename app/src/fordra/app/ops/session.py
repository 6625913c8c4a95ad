"""Who is looking at a page: the bearer token kept in a cookie after sign-in, or sent in the
``Authorization`` header as the API takes it; and the CSRF token of the forms.

The cookie holds the API's own token (``fordra token --role ...``): HttpOnly (no script reads it),
SameSite=Strict (no other site's page sends it), Secure when the page is served over https, and
scoped to ``/ops``. A form posted with the cookie carries a CSRF token bound to that token (an HMAC
under the instance's token key), so a page elsewhere cannot post in the signed-in person's name
even where a browser ignores SameSite. A request authenticated by its header needs none: a
browser never adds that header by itself.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import jwt
from starlette.requests import Request
from starlette.responses import Response

from fordra.app.auth import TokenService
from fordra.kernel.auth import Principal

COOKIE = "fordra_ops"
# The pages' forms are a few short fields; a body beyond this is no form of theirs.
MAX_FORM_BYTES = 64 * 1024
COOKIE_PATH = "/ops"
CSRF_FIELD = "csrf"


class SignedOut(Exception):
    """No valid token with the request (HTTP 401): the page offers the sign-in."""


class ForgedForm(Exception):
    """A form posted with the cookie but without its CSRF token, or from another origin (403)."""


@dataclass(frozen=True, slots=True)
class Visitor:
    principal: Principal
    token: str
    by_cookie: bool


def visitor_of(request: Request, tokens: TokenService) -> Visitor:
    """The caller, by the ``Authorization`` header first (as the API), else by the cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SignedOut("a bearer token is required")
        return Visitor(verified(tokens, token.strip()), token.strip(), by_cookie=False)
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise SignedOut("inte inloggad")
    return Visitor(verified(tokens, token), token, by_cookie=True)


def verified(tokens: TokenService, token: str) -> Principal:
    """The token's principal, as the API verifies it; 401 for a bad one."""
    try:
        return tokens.verify(token)
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise SignedOut(f"invalid token: {exc}") from None


class FormTooLarge(Exception):
    """A form body over ``MAX_FORM_BYTES`` (HTTP 413)."""


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (every form of the pages; none
    uploads a file), the first value of each; no fields for a body of another type. Read here
    rather than by Starlette's ``request.form()``, which needs python-multipart for that."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormTooLarge(f"a form of at most {MAX_FORM_BYTES} bytes")
    if kind != "application/x-www-form-urlencoded":
        return {}
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


def csrf_token(key: bytes, token: str) -> str:
    """The forms' CSRF token for one signed-in token (changes at every sign-in)."""
    return hmac.new(key, b"fordra-ops-csrf\x00" + token.encode(), hashlib.sha256).hexdigest()


def check_form(request: Request, visitor: Visitor, key: bytes, sent: object) -> None:
    """Refuse a form from another origin, or a cookie-borne form without its CSRF token."""
    check_origin(request)
    if visitor.by_cookie and not (
        isinstance(sent, str) and hmac.compare_digest(sent, csrf_token(key, visitor.token))
    ):
        raise ForgedForm("the form's CSRF token is missing or wrong; reload the page")


def check_origin(request: Request) -> None:
    """A browser names the page a form came from in ``Origin``: it must be this site."""
    origin = request.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise ForgedForm(f"a form from another site ({origin}) is refused")


def keep_token(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def forget_token(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
