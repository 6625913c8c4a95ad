"""The agency gateway's settings (issue 15; domain.md §3 and §5): every number dated.

Each agency is named (``reference`` is the one in this repository, tests/ and the demo use it) and
reached through an adapter: its HTTP API or a daily file. Its webhook secret is not a setting of
this file: the app reads ``FORDRA_AGENCY_<NAME>_SECRET`` (``FORDRA_AGENCY_REFERENCE_SECRET``) and
hands it in, so that no secret sits in a settings file by default.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fordra.kernel.dated import Dated


class AgencyEndpoint(BaseModel):
    """How one agency takes claims: ``http`` (``url`` is its API's base) or ``file`` (a daily file
    written to ``file_dir``, which the agency fetches)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["http", "file"] = "http"
    url: str | None = None
    file_dir: str | None = None


def _reference_agency() -> dict[str, AgencyEndpoint]:
    return {"reference": AgencyEndpoint(kind="http", url="http://127.0.0.1:8090")}


class AgencySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # The agencies claims may go to, and the one they go to unless a claim says otherwise.
    agencies: dict[str, AgencyEndpoint] = Field(default_factory=_reference_agency)
    default_agency: str = "reference"
    # Each agency's webhook secret (HMAC-SHA256 of the raw body): filled by the app from
    # FORDRA_AGENCY_<NAME>_SECRET; an agency without one has its webhooks refused.
    secrets: dict[str, SecretStr] = Field(default_factory=dict)
    # domain.md §5: the creditor must ask within 3 weeks from the day the notice of objection was
    # sent for the case to go to the district court (2026-05-05 -> 2026-05-26).
    objection_window_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(21))
    # domain.md §5: the debtor may apply for reinstatement within 1 month of the judgment.
    reinstatement_months: Dated[int] = Field(default_factory=lambda: Dated[int].always(1))
    # domain.md §3: Kronofogden's payment order, 300 kr plus 380 kr for drawing it up (the 680 kr
    # outlay of seed 004); enforcement's basic fee 600 kr.
    payment_order_outlay_ore: Dated[int] = Field(default_factory=lambda: Dated[int].always(68_000))
    enforcement_fee_ore: Dated[int] = Field(default_factory=lambda: Dated[int].always(60_000))
    # Delivery to an agency that does not answer is retried with exponential back-off from this
    # many seconds, doubling to at most the cap (our choice: a minute, then up to an hour).
    delivery_retry_first_seconds: float = Field(default=60.0, gt=0)
    delivery_retry_cap_seconds: float = Field(default=3600.0, gt=0)
    # How long one delivery to an agency's HTTP API may take before it counts as failed.
    delivery_timeout_seconds: float = Field(default=10.0, gt=0)
