"""Each configured agency's adapter, by its kind (AgencySettings.agencies): ``http`` or ``file``."""

from __future__ import annotations

from fordra.agency_gateway.adapters.file_agency import FileAgency
from fordra.agency_gateway.adapters.http_agency import HttpAgency
from fordra.agency_gateway.domain.delivery import AgencyAdapter
from fordra.agency_gateway.domain.settings import AgencySettings

__all__ = ["agency_adapters"]


def agency_adapters(settings: AgencySettings) -> dict[str, AgencyAdapter]:
    """``{agency name: adapter}``; an endpoint missing its url or folder is a settings error."""
    adapters: dict[str, AgencyAdapter] = {}
    for name, endpoint in settings.agencies.items():
        if endpoint.kind == "http":
            if not endpoint.url:
                raise ValueError(f"agency {name!r} takes http but has no url")
            secret = settings.secrets.get(name)
            adapters[name] = HttpAgency(
                endpoint.url,
                secret=secret.get_secret_value() if secret else None,
                timeout_seconds=settings.delivery_timeout_seconds,
            )
        else:
            if not endpoint.file_dir:
                raise ValueError(f"agency {name!r} takes a daily file but has no file_dir")
            adapters[name] = FileAgency(name, endpoint.file_dir)
    return adapters
