"""Announcements: create an incident or maintenance, publish or schedule it, post updates,
resolve it."""

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from api.models import Scope
from api.v1.auth import ApiProblem, KeyAuth
from api.v1.schemas import (
    PROBLEMS,
    PROBLEMS_404,
    AnnouncementIn,
    AnnouncementOut,
    PublishIn,
    ResolveIn,
    UpdateIn,
    UpdateOut,
)
from api.v1.writes import Written, post
from notifications import selectors
from notifications.services import announcements as services

router = Router(tags=["announcements"], auth=KeyAuth(Scope.NOTICES_WRITE))


def _announcement(announcement_id: int):
    announcement = selectors.announcement_for_desk(announcement_id)
    if announcement is None:
        raise ApiProblem("not_found", detail=str(announcement_id))
    return announcement


def _written(status: int, announcement) -> Written:
    return Written(
        status, AnnouncementOut.from_orm(announcement), f"announcement:{announcement.pk}"
    )


@post(
    router,
    "/announcements",
    response={201: AnnouncementOut, **PROBLEMS},
    summary="Create an incident or a maintenance",
)
def create(request: HttpRequest, payload: AnnouncementIn) -> Written:
    """A draft (``publish: false``) for a person to check and publish on the desk, or
    published at once, or scheduled (``publish_at``); once published it is on the site and
    mailed to its subscribers. Needs notices:write."""
    announcement = services.create_announcement(
        **payload.model_dump(), actor=request.auth.user, now=timezone.now()
    )
    return _written(201, announcement)


@router.get(
    "/announcements/{announcement_id}",
    response={200: AnnouncementOut, **PROBLEMS_404},
    summary="An announcement",
)
def read(request: HttpRequest, announcement_id: int):
    """Needs notices:write."""
    return _announcement(announcement_id)


@post(
    router,
    "/announcements/{announcement_id}/publish",
    response={200: AnnouncementOut, **PROBLEMS_404},
    summary="Publish a draft now, or schedule it",
)
def publish(request: HttpRequest, announcement_id: int, payload: PublishIn) -> Written:
    """Publishing twice changes nothing and mails nothing twice. Needs notices:write."""
    announcement = services.publish_announcement(
        announcement=_announcement(announcement_id),
        actor=request.auth.user,
        at=payload.at,
        now=timezone.now(),
    )
    return _written(200, announcement)


@post(
    router,
    "/announcements/{announcement_id}/updates",
    response={201: UpdateOut, **PROBLEMS_404},
    summary="Post an update",
)
def post_update(request: HttpRequest, announcement_id: int, payload: UpdateIn) -> Written:
    """A timestamped public update, optionally moving the phase (one of the kind's: an
    incident investigating → identified → monitoring → resolved, a maintenance scheduled →
    in_progress → completed); mailed to subscribers when ``notify_subscribers``. Needs
    notices:write."""
    update = services.post_update(
        announcement=_announcement(announcement_id),
        **payload.model_dump(),
        actor=request.auth.user,
        now=timezone.now(),
    )
    return Written(201, UpdateOut.from_orm(update), f"announcement:{announcement_id}")


@post(
    router,
    "/announcements/{announcement_id}/resolve",
    response={201: UpdateOut, **PROBLEMS_404},
    summary="Resolve an incident or complete a maintenance",
)
def resolve(request: HttpRequest, announcement_id: int, payload: ResolveIn) -> Written:
    """The last update: the banner says it is resolved and leaves by itself; those who asked
    to hear when it is fixed are told. Needs notices:write."""
    update = services.resolve_announcement(
        announcement=_announcement(announcement_id),
        **payload.model_dump(),
        actor=request.auth.user,
        now=timezone.now(),
    )
    return Written(201, UpdateOut.from_orm(update), f"announcement:{announcement_id}")
