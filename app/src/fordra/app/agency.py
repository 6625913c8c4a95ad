"""The agency gateway's start-up checks and the demo's reference agency (issue 15).

Each agency's secret signs what we deliver to it and checks the webhooks it sends us, so a
service that delivers or receives (``fordra run``, ``fordra serve agency-gateway`` and ``fordra
serve api``) refuses to start without one for every configured agency; ``fordra run --demo``
uses a fixed demo secret instead, with a warning, and starts the reference agency in its own
process where the settings say the ``reference`` agency listens.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

from pydantic import SecretStr

from fordra.agency_gateway.domain.delivery import agencies_without_secret
from fordra.agency_gateway.reference_agency.server import ReferenceAgencyServer
from fordra.app.settings import Settings

__all__ = ["DEMO_AGENCY_SECRET", "agency_secrets_or_refusal", "demo_reference_agency"]

# Play data only: `fordra run --demo` signs with it when no FORDRA_AGENCY_<NAME>_SECRET is set.
DEMO_AGENCY_SECRET = "demo-reference-agency-secret"  # noqa: S105  (the demo's, by design)


def agency_secrets_or_refusal(settings: Settings, *, demo: bool) -> tuple[Settings, str | None]:
    """The settings to start with, and why not to start (None: start). Outside the demo an
    agency without a secret refuses the start; in the demo it gets the demo secret."""
    missing = agencies_without_secret(settings.agency)
    if not missing:
        return settings, None
    variables = ", ".join(f"FORDRA_AGENCY_{n.upper().replace('-', '_')}_SECRET" for n in missing)
    if not demo:
        return (
            settings,
            f"refusing to start: no secret for the agency {', '.join(missing)} ({variables})",
        )
    print(
        f"warning: no secret for the agency {', '.join(missing)} ({variables}); "
        "using the demo's. Allowed for --demo only.",
        file=sys.stderr,
        flush=True,
    )
    secrets = dict(settings.agency.secrets) | {n: SecretStr(DEMO_AGENCY_SECRET) for n in missing}
    agency = settings.agency.model_copy(update={"secrets": secrets})
    return settings.model_copy(update={"agency": agency}), None


def demo_reference_agency(settings: Settings) -> ReferenceAgencyServer | None:
    """The reference agency for ``fordra run --demo``, on the address the ``reference`` agency's
    url names, reporting to this Fordra; None when the reference agency is not reached over
    HTTP on this machine (then it runs elsewhere: ``fordra-reference-agency``)."""
    endpoint = settings.agency.agencies.get("reference")
    secret = settings.agency.secrets.get("reference")
    if endpoint is None or endpoint.kind != "http" or not endpoint.url or secret is None:
        return None
    url = urlsplit(endpoint.url)
    if url.hostname not in {"127.0.0.1", "localhost"} or url.port is None:
        return None
    return ReferenceAgencyServer(
        settings.data_dir / "reference-agency.sqlite",
        secret=secret.get_secret_value(),
        fordra_url=f"http://{settings.host}:{settings.port}",
        host=url.hostname,
        port=url.port,
    )
