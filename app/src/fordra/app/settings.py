"""One settings object per process (pydantic-settings), nested per context.

Read from the environment (``FORDRA_`` prefix, ``__`` between levels, e.g.
``FORDRA_INVOICING__PAYMENT_TERMS_DAYS='[["2020-01-01", 30]]'``) and from an optional JSON file
given by ``FORDRA_SETTINGS_FILE``. Every number of the rulebook is a dated setting.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from fordra.agency_gateway.domain.settings import AgencySettings
from fordra.app.auth import TokenPolicy
from fordra.dunning.domain.settings import DunningSettings
from fordra.invoicing.domain.settings import InvoicingSettings
from fordra.kernel.dated import Dated
from fordra.kernel.money import DEFAULT_MAX_AMOUNT_ORE
from fordra.payments.domain.allocation import AllocationPolicy
from fordra.payments.domain.rent_refund import RentRefundSettings
from fordra.payments.domain.retention import ArchiveRetention
from fordra.projections.domain.chart_of_accounts import AccountingSettings
from fordra.projections.domain.service_levels import ServiceLevelSettings
from fordra.utility_disconnect.domain.settings import DisconnectionSettings


class PaymentsSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    allocation: AllocationPolicy = Field(default_factory=AllocationPolicy)
    # The largest amount a bank file may carry; see fordra.kernel.money.DEFAULT_MAX_AMOUNT_ORE.
    max_amount_ore: Dated[int] = Field(
        default_factory=lambda: Dated[int].always(DEFAULT_MAX_AMOUNT_ORE)
    )
    archive_retention: ArchiveRetention = Field(default_factory=ArchiveRetention)
    # The rent administration's delegation for refunds (seed 002: two monthly rents).
    rent_refund: RentRefundSettings = Field(default_factory=RentRefundSettings)


class CalendarSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # domain.md §8: a case that arrives by 12:00 counts from that day.
    service_level_cutoff: time = time(12, 0)
    # Our assumption (domain.md §8), a setting: these eves are not working days either.
    extra_non_working_days: tuple[str, ...] = ("midsummer_eve", "christmas_eve", "new_years_eve")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FORDRA_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("var")
    municipality: str = Field(default="svenljunga", pattern=r"^[a-z0-9_-]{2,50}$")
    municipality_name: str = "Svenljunga kommun"
    # #ORGNR of the SIE export; Svenljunga kommun's public organisationsnummer by default.
    organisation_number: str = Field(default="212000-1561", pattern=r"^(\d{6}-\d{4})?$")
    host: str = "127.0.0.1"
    port: int = 8000
    clock: Literal["system", "manual"] = "system"
    # How far one call may move a manual clock (POST /api/v1/admin/clock/advance): each day runs
    # that day's work before the call answers, so an unbounded jump (to 9999-12-31) held the
    # request for hours. Our choice: a year and a month, enough to play any rule through.
    clock_max_advance_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(400))
    # How long an Idempotency-Key is remembered (a daily job forgets older records; a batch file's
    # content claim never expires). Stripe keeps keys 24 hours for clients that retry within
    # seconds; a municipality's billing systems send files nightly or monthly and are retried by
    # hand after a weekend, a holiday or a month-end close, so our choice is 30 days: a monthly
    # cycle's retry still replays, and no record lingers for years.
    idempotency_key_days: Dated[int] = Field(default_factory=lambda: Dated[int].always(30))
    # The distributed engine: PostgreSQL event stores and Apache Kafka (``fordra serve``).
    store: str | None = Field(
        default=None, description="postgresql+asyncpg://user:password@host:port/database"
    )
    bus: str | None = Field(default=None, description="kafka://host:port[,host:port]")
    kafka_namespace: str = Field(default="fordra", pattern=r"^[a-zA-Z0-9_-]{1,40}$")
    log_level: str = "INFO"
    # How long a command waits for the read models before it answers 503 (its effects stand).
    settle_timeout_seconds: float = 30.0
    # How long a file of commands (an invoice batch, a bank file) waits for the read models before
    # it answers its committed result anyway, with the header Read-Models-Lagging: true.
    file_settle_seconds: float = Field(default=5.0, ge=0)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    invoicing: InvoicingSettings = Field(default_factory=InvoicingSettings)
    payments: PaymentsSettings = Field(default_factory=PaymentsSettings)
    dunning: DunningSettings = Field(default_factory=DunningSettings)
    agency: AgencySettings = Field(default_factory=AgencySettings)
    # Utility disconnection (issue 16): the materiality assessment's numbers (domain.md §6).
    utility_disconnect: DisconnectionSettings = Field(default_factory=DisconnectionSettings)
    accounting: AccountingSettings = Field(default_factory=AccountingSettings)
    # The handling times of the office's cases (issue 17, domain.md §8, seed 002).
    service_levels: ServiceLevelSettings = Field(default_factory=ServiceLevelSettings)
    tokens: TokenPolicy = Field(default_factory=TokenPolicy)


def load_settings(**overrides: Any) -> Settings:
    file = os.environ.get("FORDRA_SETTINGS_FILE")
    if file:
        data = orjson.loads(Path(file).read_bytes())
        data.update(overrides)
        return with_agency_secrets(Settings(**data))
    return with_agency_secrets(Settings(**overrides))


def with_agency_secrets(settings: Settings) -> Settings:
    """Each agency's webhook secret from ``FORDRA_AGENCY_<NAME>_SECRET`` (issue 15: the reference
    agency's is ``FORDRA_AGENCY_REFERENCE_SECRET``), over what the settings say."""
    secrets = dict(settings.agency.secrets)
    for name in settings.agency.agencies:
        value = os.environ.get(f"FORDRA_AGENCY_{name.upper().replace('-', '_')}_SECRET")
        if value:
            secrets[name] = SecretStr(value)
    agency = settings.agency.model_copy(update={"secrets": secrets})
    return settings.model_copy(update={"agency": agency})
