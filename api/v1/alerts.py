"""Alerts from monitoring: Alertmanager's webhook, and alerts in a small generic JSON (one
alert, or several as ``{"alerts": [...]}``).

The two POSTs of the API without an ``Idempotency-Key``: Alertmanager cannot send one (its
webhook sends the same body, without custom headers, on every repeat and from every replica
of a cluster). They need none: an alert is known by its fingerprint, so receiving it again
changes nothing but its last sighting (``notifications.services.alerts``). Each call is still
the key's write (an ``ApiWrite`` row, in the transaction of what it did).
"""

import json

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from ninja import Body, Router
from ninja.responses import NinjaJSONEncoder

from api import services
from api.models import Scope
from api.v1.auth import KeyAuth
from api.v1.schemas import (
    PROBLEMS,
    AlertIn,
    AlertmanagerIn,
    AlertResultOut,
    AlertResultsOut,
    AlertsIn,
    AnnouncementOut,
    GenericAlertsIn,
)
from notifications import selectors
from notifications.services import alerts

router = Router(tags=["alerts"], auth=KeyAuth(Scope.NOTICES_WRITE))


def _receive(request: HttpRequest, incoming: list, source: str) -> JsonResponse:
    now = timezone.now()

    def perform() -> tuple[int, dict, str]:
        outcomes = alerts.receive_alerts(
            alerts=incoming, source=source, actor=request.auth.user, now=now
        )
        # Each incident as it stands after the whole delivery (one alert may have opened it
        # and a later one in the same delivery resolved it).
        incidents = {
            outcome.incident.pk: selectors.announcement_for_desk(outcome.incident.pk)
            for outcome in outcomes
            if outcome.incident is not None
        }
        body = AlertResultsOut(
            alerts=[
                AlertResultOut(
                    fingerprint=outcome.fingerprint,
                    outcome=outcome.outcome,
                    rule=outcome.rule or None,
                    incident=AnnouncementOut.from_orm(incidents[outcome.incident.pk])
                    if outcome.incident is not None
                    else None,
                )
                for outcome in outcomes
            ]
        )
        resource = ",".join(f"announcement:{pk}" for pk in sorted(incidents))
        return 200, json.loads(json.dumps(body.model_dump(), cls=NinjaJSONEncoder)), resource

    written = services.write_without_idempotency_key(
        key=request.auth,
        method=request.method or "POST",
        path=request.path,
        body=request.body,
        perform=perform,
        now=now,
    )
    return JsonResponse(written.body, status=written.status_code)


@router.post(
    "/alerts/alertmanager",
    response={200: AlertResultsOut, **PROBLEMS},
    summary="Alertmanager's webhook",
)
def alertmanager(request: HttpRequest, payload: AlertmanagerIn) -> JsonResponse:
    """Point an Alertmanager receiver here (``webhook_configs``, with the key as its Bearer
    credentials). Each alert that a monitoring rule takes opens, joins, reopens or resolves
    that rule's incident; the answer says what happened to each. No ``Idempotency-Key``:
    alerts are deduplicated by their fingerprint. Needs notices:write."""
    incoming = [
        alerts.IncomingAlert(
            status=alert.status,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.startsAt,
            ends_at=alert.endsAt,
            fingerprint=alert.fingerprint or "",
        )
        for alert in payload.alerts
    ]
    return _receive(request, incoming, alerts.ALERTMANAGER)


@router.post(
    "/alerts",
    response={200: AlertResultsOut, **PROBLEMS},
    summary="Alerts from any monitoring system: one, or several at once",
)
def generic(request: HttpRequest, payload: Body[GenericAlertsIn]) -> JsonResponse:
    """One alert, or several as ``{"alerts": [...]}`` (1,000 at most), each answered in
    order. Send an alert while it fires (again as often as you like: one fingerprint is one
    alert) and once more with ``status: resolved``. Without a fingerprint, its labels make one.
    No ``Idempotency-Key`` needed. Needs notices:write."""
    sent: list[AlertIn] = payload.alerts if isinstance(payload, AlertsIn) else [payload]
    incoming = [
        alerts.IncomingAlert(
            status=alert.status,
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            fingerprint=alert.fingerprint or "",
        )
        for alert in sent
    ]
    return _receive(request, incoming, alerts.GENERIC)
