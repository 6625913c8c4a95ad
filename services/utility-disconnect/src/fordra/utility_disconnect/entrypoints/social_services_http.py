"""The social welfare board's queue over HTTP (issue 16; application/social_services.py): the role
``social_services`` of the municipality its token names, and no other."""

# No `from __future__ import annotations` here: FastAPI resolves the route signatures at run time,
# and the `Caller` alias is local to the router factory.

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from fordra.kernel.auth import Principal
from fordra.kernel.web import PathId, RouterDeps, metadata_for
from fordra.utility_disconnect.application.deps import UtilityDisconnectDeps
from fordra.utility_disconnect.application.disconnection_cases import CaseView
from fordra.utility_disconnect.application.social_services import (
    Acknowledged,
    Notifications,
    SocialServicesQueueProjection,
    Takeover,
    acknowledge,
    notifications,
    take_over,
)

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such message for this municipality's board"}
}


def make_router(
    deps: UtilityDisconnectDeps, queue: SocialServicesQueueProjection, web: RouterDeps
) -> APIRouter:
    router = APIRouter(prefix="/api/v1/social-services", tags=["social services"])
    Caller = Annotated[Principal, Depends(web.authenticate)]

    @router.get(
        "/notifications",
        response_model=Notifications,
        summary="The board's messages about missed electricity payments (role social_services)",
    )
    async def get_notifications(principal: Caller) -> Notifications:
        return await notifications(deps, queue, principal)

    @router.post(
        "/notifications/{notification_id}/acknowledge",
        response_model=Acknowledged,
        responses=NOT_FOUND,
        summary="The board has read the message",
    )
    async def post_acknowledge(notification_id: PathId, principal: Caller) -> Acknowledged:
        outcome = await acknowledge(
            notification_id, deps, queue, principal, metadata_for(principal)
        )
        await web.settle()
        return outcome.response

    @router.post(
        "/notifications/{notification_id}/takeover",
        response_model=CaseView,
        responses={
            **NOT_FOUND,
            422: {"description": "Not within the 3 weeks, or recorded already"},
        },
        summary="The board takes over the debt in writing: the disconnection is stopped",
    )
    async def post_takeover(notification_id: PathId, body: Takeover, principal: Caller) -> CaseView:
        outcome = await take_over(
            notification_id, body, deps, queue, principal=principal, meta=metadata_for(principal)
        )
        await web.settle()
        return outcome.response

    return router
