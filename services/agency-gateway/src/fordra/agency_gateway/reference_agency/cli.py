"""``fordra-reference-agency``: the reference agency as a process of its own (``make up``,
docker-compose). It refuses to start without a secret: an agency whose webhooks anyone could
forge is worse than none."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from fordra.agency_gateway.reference_agency.app import (
    ReferenceAgencyStore,
    create_reference_agency,
)

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fordra-reference-agency",
        description="The reference collection agency: takes claims, sends signed webhooks.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument(
        "--fordra-url", default="http://127.0.0.1:8000", help="where Fordra's API answers"
    )
    parser.add_argument(
        "--secret",
        default=os.environ.get("FORDRA_AGENCY_REFERENCE_SECRET"),
        help="the shared HMAC secret (default: FORDRA_AGENCY_REFERENCE_SECRET)",
    )
    parser.add_argument(
        "--db", type=Path, default=Path("var/reference-agency.sqlite"), help="its SQLite file"
    )
    args = parser.parse_args(argv)
    if not args.secret:
        print(
            "fordra-reference-agency: refusing to start without a secret "
            "(--secret or FORDRA_AGENCY_REFERENCE_SECRET)",
            file=sys.stderr,
        )
        return 2

    app = create_reference_agency(
        ReferenceAgencyStore(args.db), secret=args.secret, fordra_url=args.fordra_url
    )
    print(f"fordra-reference-agency: serving on http://{args.host}:{args.port}", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
