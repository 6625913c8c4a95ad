"""Who is calling: roles and scopes (issue: foundation, "Authentication from day one").

The app verifies signed bearer tokens and hands every use case a ``Principal``; the contexts check
roles and scopes with the functions here and never see a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fordra.kernel.errors import FordraError


class Role(StrEnum):
    ADMIN = "admin"
    OPS_LEAD = "ops_lead"
    CASE_OFFICER = "case_officer"
    DEPARTMENT = "department"  # scoped to one department
    BANK_INGEST = "bank_ingest"
    AGENCY = "agency"
    SOCIAL_SERVICES = "social_services"  # scoped to one municipality
    PROTECTED_IDENTITY_OFFICER = "protected_identity_officer"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    tenant: str
    department: str | None = None
    municipality: str | None = None

    @property
    def actor(self) -> str:
        scope = self.department or self.municipality
        return (
            f"{self.role.value}:{scope}:{self.subject}" if scope else f"{self.role}:{self.subject}"
        )


class AccessDenied(FordraError):
    """The caller is known but may not do this (HTTP 403)."""


def require_role(principal: Principal, *roles: Role, action: str = "do this") -> None:
    """403 naming what is missing; ``action`` says what was refused ("change a customer's
    payment preferences")."""
    if principal.role not in roles:
        allowed = ", ".join(r.value for r in roles)
        raise AccessDenied(
            f"role {principal.role.value!r} may not {action}; needs one of: {allowed}"
        )


def require_department(principal: Principal, department: str) -> None:
    """A department token publishes only for its own department."""
    if principal.role is Role.DEPARTMENT and principal.department != department:
        raise AccessDenied(
            f"this token publishes for department {principal.department!r}, not {department!r}"
        )
