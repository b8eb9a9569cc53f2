"""Alerts that simply stop arriving: a rule's silence, and Alertmanager's announced end
(a real future ``endsAt``), resolve them and their incident as a sent resolution would; over
the real views with a real key, then the beat job's function with the time as an argument."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api.models import Scope
from notifications.models import Alert, Announcement, Dispatch
from notifications.services import alerts as alert_services
from tests.api.test_alerts import NOT_YET, alertmanager, am_alert, announcer_client, send
from tests.factories import AlertRuleFactory, SubscriberFactory

pytestmark = pytest.mark.django_db
resolve_silent = alert_services.resolve_silent_alerts


@pytest.fixture
def monitoring_key(make_key) -> str:
    return make_key([Scope.NOTICES_WRITE], name="Monitoring")


def generic(status="firing", **fields) -> dict:
    return {
        "status": status,
        "labels": {"service": "payments", "instance": "pay-1"},
        "annotations": {"summary": "Card payments fail"},
        **fields,
    }


def send_at(moment, api, key, body, path="/alerts"):
    with time_machine.travel(moment, tick=False):
        return send(api, key, body, path=path)


def test_an_alert_that_stops_arriving_resolves_its_incident_after_the_rules_silence(
    api, monitoring_key, reason, client
):
    AlertRuleFactory(name="Pasarela de pago", publish_at_once=True, resolve_after_silence=30)
    SubscriberFactory.create_batch(2)
    start = timezone.now()
    (opened,) = send_at(start, api, monitoring_key, generic())
    # The tool sends it again while it fires: each sending is a new last sighting.
    (again,) = send_at(start + timedelta(minutes=20), api, monitoring_key, generic())
    assert [opened["outcome"], again["outcome"]] == ["opened", "updated"]
    last_seen = start + timedelta(minutes=20)

    assert resolve_silent(now=last_seen + timedelta(minutes=29, seconds=59)) == 0
    assert Announcement.objects.get().phase == "investigating"

    assert resolve_silent(now=last_seen + timedelta(minutes=30)) == 1
    assert resolve_silent(now=last_seen + timedelta(minutes=31)) == 0  # once

    alert = Alert.objects.get()
    assert alert.status == Alert.Status.RESOLVED and alert.resolution == "silence"
    assert alert.last_seen_at == last_seen
    assert alert.ends_at == last_seen + timedelta(minutes=30)
    incident = Announcement.objects.get()
    assert incident.is_resolved and incident.resolved_at == last_seen + timedelta(minutes=30)
    # The same last update as a resolution monitoring sends, told to subscribers the same way.
    resolution = incident.updates.get()
    assert resolution.phase == "resolved" and resolution.notify_subscribers
    assert resolution.body_en == "Resolved: everything works normally again."
    assert resolution.created_by.api_key.name == "Monitoring"
    assert Dispatch.objects.filter(update=resolution).count() == 1
    # The desk says plainly why, in both languages.
    desk = announcer_client(client)
    page = desk.get(f"/es/desk/notices/{incident.pk}/").text
    assert "resuelta tras 30 minutos de silencio" in page
    assert "sus alertas simplemente dejaron de llegar" in page
    page = desk.get(f"/en/desk/notices/{incident.pk}/").text
    assert "No alert since" in page and "resolved after 30 minutes of silence" in page

    # It comes back soon after: the same incident reopens, and the desk no longer says it ended.
    (back,) = send_at(last_seen + timedelta(minutes=35), api, monitoring_key, generic())
    assert back["outcome"] == "reopened" and back["incident"]["id"] == incident.pk
    assert Alert.objects.get().resolution == ""
    assert "minutes of silence" not in desk.get(f"/en/desk/notices/{incident.pk}/").text


def test_without_a_silence_an_alert_that_stops_arriving_keeps_firing(
    api, monitoring_key, reason, client
):
    AlertRuleFactory(publish_at_once=True, resolve_after_silence=None)
    start = timezone.now()
    body = alertmanager(am_alert(starts=start))
    send_at(start, api, monitoring_key, body, "/alerts/alertmanager")

    assert resolve_silent(now=start + timedelta(days=30)) == 0
    assert Alert.objects.get().status == Alert.Status.FIRING
    assert Alert.objects.get().expected_end_at is None  # the zero endsAt is no end at all
    incident = Announcement.objects.get()
    assert not incident.is_resolved
    page = announcer_client(client).get(f"/en/desk/notices/{incident.pk}/").text
    assert "It resolves by itself when its alerts resolve." in page
    assert "Or when none has arrived" not in page


def test_the_desk_says_an_ongoing_incident_also_resolves_after_its_silence(
    api, monitoring_key, reason, client
):
    AlertRuleFactory(publish_at_once=True, resolve_after_silence=45)
    send(api, monitoring_key, generic(), path="/alerts")

    incident = Announcement.objects.get()
    desk = announcer_client(client)
    assert (
        "cuando pasen 45 minutos sin que llegue ninguna"
        in desk.get(f"/es/desk/notices/{incident.pk}/").text
    )
    assert (
        "Or when none has arrived for 45 minutes."
        in desk.get(f"/en/desk/notices/{incident.pk}/").text
    )


def test_an_alertmanager_alert_with_a_real_end_resolves_when_that_end_passes_unrefreshed(
    api, monitoring_key, reason, client
):
    AlertRuleFactory(publish_at_once=True)  # no silence: only the announced end counts
    start = timezone.now()

    def firing(until):
        alert = am_alert(starts=start)
        return alertmanager({**alert, "endsAt": until.isoformat()})

    path = "/alerts/alertmanager"
    send_at(start, api, monitoring_key, firing(start + timedelta(minutes=5)), path)
    # Refreshed before its end, with a later one: the first end no longer counts.
    send_at(start + timedelta(minutes=3), api, monitoring_key,
            firing(start + timedelta(minutes=8)), path)  # fmt: skip
    assert resolve_silent(now=start + timedelta(minutes=6)) == 0
    assert Alert.objects.get().status == Alert.Status.FIRING

    assert resolve_silent(now=start + timedelta(minutes=8, seconds=20)) == 1

    alert = Alert.objects.get()
    assert alert.resolution == "ends_at" and alert.ends_at == start + timedelta(minutes=8)
    incident = Announcement.objects.get()
    assert incident.is_resolved
    assert incident.updates.get().body_es == "Resuelto: todo funciona con normalidad de nuevo."
    page = announcer_client(client).get(f"/en/desk/notices/{incident.pk}/").text
    assert "the end monitoring had announced for it" in page


def test_a_past_end_on_a_firing_alert_and_the_zero_time_announce_nothing(
    api, monitoring_key, reason
):
    AlertRuleFactory(publish_at_once=True)
    start = timezone.now()
    past = alertmanager({**am_alert(starts=start), "endsAt": start.isoformat()})
    send_at(start + timedelta(minutes=1), api, monitoring_key, past, "/alerts/alertmanager")
    assert Alert.objects.get().expected_end_at is None
    zero = alertmanager({**am_alert(starts=start), "endsAt": NOT_YET})
    send_at(start + timedelta(minutes=2), api, monitoring_key, zero, "/alerts/alertmanager")

    assert resolve_silent(now=start + timedelta(days=2)) == 0
    assert Alert.objects.get().status == Alert.Status.FIRING


def test_a_pending_alert_that_stops_arriving_has_flapped_and_never_opens_anything(
    api, monitoring_key, reason
):
    AlertRuleFactory(publish_at_once=True, min_duration=600, resolve_after_silence=5)
    start = timezone.now()
    (pending,) = send_at(start, api, monitoring_key, generic(starts_at=start.isoformat()))
    assert pending["outcome"] == "pending"

    # Whichever job runs first, nothing opens for a problem that went quiet.
    assert alert_services.promote_pending_alerts(now=start + timedelta(minutes=11)) == 0
    assert resolve_silent(now=start + timedelta(minutes=11)) == 1

    alert = Alert.objects.get()
    assert alert.status == Alert.Status.FLAPPED and alert.resolution == "silence"
    assert Announcement.objects.count() == 0


def test_a_draft_whose_alerts_go_silent_is_closed_before_anyone_publishes_it(
    api, monitoring_key, reason, client
):
    AlertRuleFactory(publish_at_once=False, resolve_after_silence=10)
    start = timezone.now()
    send_at(start, api, monitoring_key, generic())

    assert resolve_silent(now=start + timedelta(minutes=10)) == 1

    incident = Announcement.objects.get()
    assert incident.resolved_before_publishing and Dispatch.objects.count() == 0
    page = announcer_client(client).get(f"/es/desk/notices/{incident.pk}/").text
    assert "Resuelto antes de publicarse" in page and "Publicar ahora" not in page
    assert "resuelta tras 10 minutos de silencio" in page


def test_an_incident_is_resolved_by_silence_only_when_none_of_its_alerts_fires(
    api, monitoring_key, reason
):
    AlertRuleFactory(publish_at_once=True, resolve_after_silence=15)
    start = timezone.now()
    one, two = generic(fingerprint="pay-1"), generic(fingerprint="pay-2")
    send_at(start, api, monitoring_key, {"alerts": [one, two]})
    send_at(start + timedelta(minutes=10), api, monitoring_key, two)  # still firing

    assert resolve_silent(now=start + timedelta(minutes=16)) == 1  # pay-1 only
    assert not Announcement.objects.get().is_resolved

    assert resolve_silent(now=start + timedelta(minutes=25)) == 1
    assert Announcement.objects.get().is_resolved


def test_a_resolution_sent_after_the_silence_changes_nothing(api, monitoring_key, reason):
    AlertRuleFactory(publish_at_once=True, resolve_after_silence=5)
    start = timezone.now()
    send_at(start, api, monitoring_key, generic())
    resolve_silent(now=start + timedelta(minutes=6))

    (late,) = send_at(start + timedelta(minutes=7), api, monitoring_key, generic("resolved"))

    assert late["outcome"] == "resolved"
    assert Alert.objects.get().resolution == "silence"
    assert Announcement.objects.get().updates.count() == 1
