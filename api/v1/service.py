"""What any key may read: contact reasons, opening hours, closures; and subscriptions."""

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from api.models import Scope
from api.v1.auth import KeyAuth
from api.v1.schemas import (
    PROBLEMS,
    ClosureList,
    ContactReasonList,
    OpeningHoursOut,
    SubscriptionIn,
    SubscriptionOut,
)
from api.v1.writes import Written, post
from cases import selectors as cases
from notifications import selectors as notices
from notifications.services import subscribers

router = Router(tags=["service"])
ANY_KEY = KeyAuth()


@router.get(
    "/contact-reasons",
    auth=ANY_KEY,
    response={200: ContactReasonList, **PROBLEMS},
    summary="Contact reasons",
)
def contact_reasons(request: HttpRequest):
    """The reasons a case can be opened for (``reason`` of POST /cases), in both languages."""
    return {"items": list(cases.selectable_reasons())}


@router.get(
    "/opening-hours",
    auth=ANY_KEY,
    response={200: OpeningHoursOut, **PROBLEMS},
    summary="Weekly opening hours",
)
def opening_hours(request: HttpRequest):
    """In the service's time zone (``time_zone``)."""
    calendar = notices.load_calendar()
    weekly = [
        {"weekday": weekday, "opens_at": opens, "closes_at": closes}
        for weekday, intervals in sorted(calendar.weekly.items())
        for opens, closes in sorted(intervals)
    ]
    return {"time_zone": calendar.time_zone.key, "weekly": weekly}


class ClosureQuery(Schema):
    days: int = Field(default=60, ge=1, le=366)


@router.get("/closures", auth=ANY_KEY, response={200: ClosureList, **PROBLEMS}, summary="Closures")
def closures(request: HttpRequest, query: Query[ClosureQuery]):
    """Holidays and special hours from today for ``days`` days, with when the service opens
    again after each."""
    items = [
        {**closure.exception.__dict__, "reopens_at": closure.reopens_at}
        for closure in notices.calendar_days(days=query.days)
    ]
    return {"items": items}


@post(
    router,
    "/subscribers",
    auth=KeyAuth(Scope.SUBSCRIBERS_WRITE),
    response={202: SubscriptionOut, **PROBLEMS},
    summary="Ask for a subscription to notices",
)
def subscribe(request: HttpRequest, payload: SubscriptionIn) -> Written:
    """The person is emailed a link to confirm (double opt-in): nothing is sent to them
    until they do. Needs subscribers:write."""
    subscribers.request_subscription(**payload.model_dump(), now=timezone.now())
    return Written(202, SubscriptionOut(status="confirmation_requested"), "subscriber")
