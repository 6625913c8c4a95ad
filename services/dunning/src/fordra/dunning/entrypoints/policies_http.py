"""The dunning policies over HTTP (issue 13; domain.md §3-4).

``GET /api/v1/dunning/policies`` -> ``{"items": [policy]}``: every service's policy in force today
by the business clock (a service nobody set one for answers seed 001's default, ``valid_from``
1900-01-01), then every version that takes effect later. ``PUT
/api/v1/dunning/policies/{service_type}`` (role ``ops_lead``) sets the version from its
``valid_from``; a fee without legal ground, an unknown service type or a ``valid_from`` in the
past is a 422 naming the rule; the same PUT again changes nothing.
"""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated

from fastapi import APIRouter, Depends

from fordra.dunning.application.policies import (
    PoliciesDeps,
    PolicyList,
    SetDunningPolicy,
    read_policies,
    set_dunning_policy,
)
from fordra.dunning.domain.policy import DunningPolicy
from fordra.kernel.auth import Principal
from fordra.kernel.web import IdempotencyKey, PathId, RouterDeps, metadata_for


def make_router(deps: PoliciesDeps, web: RouterDeps) -> APIRouter:
    router = APIRouter(prefix="/api/v1/dunning", tags=["dunning"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.get(
        "/policies",
        response_model=PolicyList,
        summary="The dunning policies in force today and the versions to come",
    )
    async def get_policies(principal: Caller) -> PolicyList:
        return await read_policies(deps, principal)

    @router.put(
        "/policies/{service_type}",
        response_model=DunningPolicy,
        responses={
            403: {"description": "Only an ops lead sets a policy"},
            422: {"description": "A rule broken: detail[0].type names it"},
        },
        summary="Set a service's dunning policy from valid_from (today or later)",
    )
    async def put_policy(
        service_type: PathId,
        body: SetDunningPolicy,
        principal: Caller,
        key: IdempotencyKey = None,
    ) -> DunningPolicy:
        outcome = await set_dunning_policy(
            service_type, body, deps, principal, metadata_for(principal), idempotency_key=key
        )
        return outcome.response

    return router
