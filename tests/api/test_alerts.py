"""Incidents from monitoring: Alertmanager's webhook and the generic alert, over the real views
with real keys; rules, grouping, minimum duration, flapping, reopening and resolution."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.utils import timezone

from api.models import ApiWrite, Scope
from notifications.models import Alert, AlertRule, Announcement, AnnouncementUpdate, Dispatch
from notifications.services import alerts as alert_services
from tests.api.conftest import assert_problem
from tests.factories import AlertRuleFactory, StaffFactory, SubscriberFactory

pytestmark = pytest.mark.django_db

NOT_YET = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing


def am_alert(fingerprint="a1b2c3d4e5f60718", status="firing", *, starts=None, ends=None,
             instance="pay-1", service="payments", summary="Card payments fail"):  # fmt: skip
    starts = starts or timezone.now() - timedelta(minutes=10)
    return {
        "status": status,
        "labels": {
            "alertname": "PaymentsDown",
            "service": service,
            "instance": instance,
            "severity": "critical",
        },
        "annotations": {"summary": summary},
        "startsAt": starts.isoformat(),
        "endsAt": (ends or timezone.now()).isoformat() if status == "resolved" else NOT_YET,
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up%3D%3D0",
        "fingerprint": fingerprint,
    }


def alertmanager(*alerts, status=None) -> dict:
    """Alertmanager's webhook body, version 4, as it POSTs it."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="PaymentsDown"}',
        "truncatedAlerts": 0,
        "status": status or alerts[0]["status"],
        "receiver": "helpcenter",
        "groupLabels": {"alertname": "PaymentsDown"},
        "commonLabels": {"alertname": "PaymentsDown", "service": "payments"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def send(api, key, body, path="/alerts/alertmanager"):
    # Alertmanager sends no Idempotency-Key.
    response = api.post(path, body, key=key, idempotency_key=None)
    assert response.status_code == 200, response.content
    return response.json()["alerts"]


@pytest.fixture
def monitoring_key(make_key) -> str:
    return make_key([Scope.NOTICES_WRITE], name="Alertmanager")


@pytest.fixture
def published_rule(reason):
    return AlertRuleFactory(publish_at_once=True)


def test_an_alertmanager_alert_opens_a_published_incident_the_site_shows_and_its_resolution_resolves_it(  # noqa: E501
    api, monitoring_key, published_rule, client
):
    SubscriberFactory.create_batch(2)

    (result,) = send(api, monitoring_key, alertmanager(am_alert()))

    assert result["outcome"] == "opened" and result["rule"] == published_rule.name
    incident = Announcement.objects.get()
    assert result["incident"]["id"] == incident.pk
    assert incident.publication == Announcement.Publication.PUBLISHED
    assert incident.phase == Announcement.Phase.INVESTIGATING
    assert incident.title_es == "Los pagos fallan (pay-1)"
    assert incident.title_en == "Payments are failing (pay-1)"
    assert incident.body_en == "We are looking into it: Card payments fail"
    assert incident.areas == ["orders"] and incident.severity == 3
    assert incident.created_by.api_key.name == "Alertmanager"  # the key's write
    assert incident.opened_by_rule == published_rule
    assert Dispatch.objects.filter(announcement=incident, update=None).count() == 1
    assert "Los pagos fallan (pay-1)" in client.get("/es/").text  # the banner
    assert "Payments are failing (pay-1)" in client.get("/en/notices/").text
    write = ApiWrite.objects.get()
    assert write.resource == f"announcement:{incident.pk}" and write.path.endswith("/alertmanager")

    (result,) = send(api, monitoring_key, alertmanager(am_alert(status="resolved")))

    assert result["outcome"] == "resolved"
    assert result["incident"]["phase"] == "resolved" and result["incident"]["resolved_at"]
    incident.refresh_from_db()
    assert incident.is_resolved and incident.resolved_at is not None
    resolution = incident.updates.get()
    assert resolution.phase == "resolved" and resolution.notify_subscribers
    assert resolution.body_es == "Resuelto: todo funciona con normalidad de nuevo."
    assert resolution.body_en == "Resolved: everything works normally again."
    assert Dispatch.objects.filter(update=resolution).count() == 1  # subscribers told
    assert "Resuelto" in client.get(incident.get_absolute_url()).text


def test_repeated_firing_deliveries_make_one_incident_and_one_mailing(
    api, monitoring_key, published_rule
):
    body = alertmanager(am_alert())
    outcomes = [send(api, monitoring_key, body)[0]["outcome"] for _ in range(4)]

    assert outcomes == ["opened", "updated", "updated", "updated"]
    assert Announcement.objects.count() == 1 and Dispatch.objects.count() == 1
    assert Alert.objects.get().status == Alert.Status.FIRING
    assert ApiWrite.objects.count() == 4  # every call is the key's write, none replayed


def test_several_alerts_of_one_rule_make_one_incident_resolved_when_the_last_resolves(
    api, monitoring_key, published_rule
):
    first, second = am_alert("f1", instance="pay-1"), am_alert("f2", instance="pay-2")
    results = send(api, monitoring_key, alertmanager(first, second))
    assert [r["outcome"] for r in results] == ["opened", "updated"]
    incident = Announcement.objects.get()

    (result,) = send(api, monitoring_key, alertmanager(am_alert("f1", "resolved")))
    assert result["outcome"] == "resolved" and result["incident"]["phase"] == "investigating"
    incident.refresh_from_db()
    assert not incident.is_resolved

    send(api, monitoring_key, alertmanager(am_alert("f2", "resolved", instance="pay-2")))
    incident.refresh_from_db()
    assert incident.is_resolved
    assert incident.updates.count() == 1


def test_an_alert_firing_again_soon_after_reopens_its_incident_and_later_opens_a_new_one(
    api, monitoring_key, published_rule
):
    send(api, monitoring_key, alertmanager(am_alert()))
    send(api, monitoring_key, alertmanager(am_alert(status="resolved")))
    incident = Announcement.objects.get()

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        (again,) = send(api, monitoring_key, alertmanager(am_alert(starts=timezone.now())))
    assert again["outcome"] == "reopened" and again["incident"]["id"] == incident.pk
    incident.refresh_from_db()
    assert incident.phase == "investigating" and incident.resolved_at is None

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        send(api, monitoring_key, alertmanager(am_alert(status="resolved")))
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        (later,) = send(api, monitoring_key, alertmanager(am_alert(starts=timezone.now())))
    assert later["outcome"] == "opened" and later["incident"]["id"] != incident.pk
    assert Announcement.objects.count() == 2


def test_a_draft_rule_leaves_a_draft_on_the_desk_marked_as_from_monitoring_for_staff_to_publish(
    api, monitoring_key, reason, client
):
    rule = AlertRuleFactory(name="Pasarela de pago", publish_at_once=False)
    SubscriberFactory()

    (result,) = send(api, monitoring_key, alertmanager(am_alert()))

    assert result["outcome"] == "opened" and result["incident"]["publication"] == "draft"
    incident = Announcement.objects.get()
    assert Dispatch.objects.count() == 0
    assert "Los pagos fallan" not in client.get("/es/").text
    staff = StaffFactory()
    staff.groups.add(Group.objects.get(name="Announcers"))
    client.force_login(staff)
    desk = client.get("/es/desk/notices/").text
    assert "Abierto por la monitorización: Pasarela de pago" in desk
    page = client.get(f"/es/desk/notices/{incident.pk}/").text
    assert "Abierto por la monitorización: Pasarela de pago" in page
    assert rule.name in page

    client.post(f"/es/desk/notices/{incident.pk}/publish/", {"publish_at": ""})

    incident.refresh_from_db()
    assert incident.publication == Announcement.Publication.PUBLISHED
    assert Dispatch.objects.filter(announcement=incident).count() == 1


def announcer_client(client):
    staff = StaffFactory()
    staff.groups.add(Group.objects.get(name="Announcers"))
    client.force_login(staff)
    return client


def test_a_draft_whose_alerts_resolve_before_anyone_publishes_it_is_closed_and_never_published(
    api, monitoring_key, reason, client
):
    AlertRuleFactory(name="Pasarela de pago", publish_at_once=False, reopen_within=900)
    SubscriberFactory()
    send(api, monitoring_key, alertmanager(am_alert()))
    incident = Announcement.objects.get()
    desk = announcer_client(client)
    assert "Publicar ahora" in desk.get(f"/es/desk/notices/{incident.pk}/").text

    (result,) = send(api, monitoring_key, alertmanager(am_alert(status="resolved")))

    assert result["outcome"] == "resolved" and result["incident"]["publication"] == "expired"
    incident.refresh_from_db()
    assert incident.resolved_before_publishing and incident.published_at is None
    assert incident.is_resolved and incident.resolved_at is not None
    assert Dispatch.objects.count() == 0
    # The desk says so plainly, with the time, and offers no publication.
    page = desk.get(f"/es/desk/notices/{incident.pk}/").text
    assert "Resuelto antes de publicarse" in page and "Publicar ahora" not in page
    assert "nadie supo de un problema que ya había terminado" in page
    assert "vuelve aquí como borrador" in page
    assert "Resolved before publishing" in desk.get("/en/desk/notices/").text
    assert "Publish now" not in desk.get(f"/en/desk/notices/{incident.pk}/").text
    # Customers never see it: not in the past notices, no page of its own, not in the feed.
    desk.logout()
    assert incident.title_es not in client.get("/es/notices/").text
    assert client.get(incident.get_absolute_url()).status_code == 404

    # "Publish now" from a page opened before it resolved: refused, in words, no 500.
    desk = announcer_client(client)
    response = desk.post(f"/es/desk/notices/{incident.pk}/publish/", {"publish_at": ""})
    assert response.status_code == 302
    shown = desk.get(response["Location"]).text
    assert "No se ha publicado. Se resolvió antes de publicarse" in shown
    # And through the API.
    refused = api.post(f"/announcements/{incident.pk}/publish", {}, key=monitoring_key)
    assert_problem(refused, 422, "already_resolved")
    incident.refresh_from_db()
    assert incident.resolved_before_publishing and Dispatch.objects.count() == 0


def test_a_closed_draft_comes_back_as_a_draft_when_its_alert_fires_again_within_the_window(
    api, monitoring_key, reason, client
):
    AlertRuleFactory(publish_at_once=False, reopen_within=900)
    send(api, monitoring_key, alertmanager(am_alert()))
    send(api, monitoring_key, alertmanager(am_alert(status="resolved")))
    incident = Announcement.objects.get()

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        (again,) = send(api, monitoring_key, alertmanager(am_alert(starts=timezone.now())))

    assert again["outcome"] == "reopened" and again["incident"]["id"] == incident.pk
    incident.refresh_from_db()
    assert incident.publication == Announcement.Publication.DRAFT
    assert incident.phase == "investigating" and incident.resolved_at is None
    assert incident.expire_at is None and not incident.resolved_before_publishing
    assert "Publicar ahora" in announcer_client(client).get(f"/es/desk/notices/{incident.pk}/").text
    client.post(f"/es/desk/notices/{incident.pk}/publish/", {"publish_at": ""})
    incident.refresh_from_db()
    assert incident.publication == Announcement.Publication.PUBLISHED
    assert Dispatch.objects.filter(announcement=incident).count() == 1


def test_a_closed_draft_stays_closed_when_its_alert_fires_again_after_the_window(
    api, monitoring_key, reason
):
    AlertRuleFactory(publish_at_once=False, reopen_within=900)
    send(api, monitoring_key, alertmanager(am_alert()))
    send(api, monitoring_key, alertmanager(am_alert(status="resolved")))
    closed = Announcement.objects.get()

    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        (later,) = send(api, monitoring_key, alertmanager(am_alert(starts=timezone.now())))

    assert later["outcome"] == "opened" and later["incident"]["id"] != closed.pk
    assert later["incident"]["publication"] == "draft"
    closed.refresh_from_db()
    assert closed.resolved_before_publishing


def test_an_alert_waits_for_the_minimum_duration_then_the_beat_job_opens_its_incident(
    api, monitoring_key, reason
):
    AlertRuleFactory(publish_at_once=True, min_duration=300)
    start = timezone.now()

    (result,) = send(api, monitoring_key, alertmanager(am_alert(starts=start)))
    assert result["outcome"] == "pending" and result["incident"] is None
    assert alert_services.promote_pending_alerts(now=start + timedelta(seconds=299)) == 0
    assert Announcement.objects.count() == 0

    assert alert_services.promote_pending_alerts(now=start + timedelta(seconds=301)) == 1
    assert alert_services.promote_pending_alerts(now=start + timedelta(seconds=400)) == 0

    incident = Announcement.objects.get()
    assert incident.publication == "published"
    assert incident.created_by.api_key.name == "Alertmanager"
    assert Alert.objects.get().status == Alert.Status.FIRING


def test_a_repeat_after_the_minimum_duration_opens_the_incident_without_waiting_for_the_job(
    api, monitoring_key, reason
):
    AlertRuleFactory(publish_at_once=True, min_duration=300)
    start = timezone.now()
    send(api, monitoring_key, alertmanager(am_alert(starts=start)))

    with time_machine.travel(start + timedelta(minutes=6)):
        (result,) = send(api, monitoring_key, alertmanager(am_alert(starts=start)))

    assert result["outcome"] == "opened"


def test_an_alert_that_resolves_before_its_minimum_duration_has_flapped_and_opens_nothing(
    api, monitoring_key, reason
):
    AlertRuleFactory(publish_at_once=True, min_duration=300)
    start = timezone.now()
    send(api, monitoring_key, alertmanager(am_alert(starts=start)))

    with time_machine.travel(start + timedelta(minutes=2)):
        (result,) = send(api, monitoring_key, alertmanager(am_alert(status="resolved")))

    assert result["outcome"] == "flapped"
    assert alert_services.promote_pending_alerts(now=start + timedelta(hours=1)) == 0
    assert Announcement.objects.count() == 0
    assert Alert.objects.get().status == Alert.Status.FLAPPED


def test_an_alert_no_rule_takes_opens_nothing(api, monitoring_key, published_rule):
    (result,) = send(api, monitoring_key, alertmanager(am_alert(service="search")))

    assert result == {
        "fingerprint": "a1b2c3d4e5f60718",
        "outcome": "unmatched",
        "rule": None,
        "incident": None,
    }
    assert Announcement.objects.count() == Alert.objects.count() == 0


def test_the_first_matching_rule_in_order_takes_the_alert_and_regex_matchers_hold(
    api, monitoring_key, reason
):
    AlertRuleFactory(name="Catch-all", position=200, matchers="", publish_at_once=True)
    AlertRuleFactory(
        name="Critical payments",
        position=10,
        matchers='service=~"pay.*"\nseverity!="info"',
        publish_at_once=True,
    )

    (result,) = send(api, monitoring_key, alertmanager(am_alert()))
    (other,) = send(api, monitoring_key, alertmanager(am_alert("ff", service="search")))

    assert result["rule"] == "Critical payments" and other["rule"] == "Catch-all"


def test_the_generic_format_opens_and_resolves_with_a_fingerprint_made_from_its_labels(
    api, monitoring_key, published_rule
):
    alert = {
        "status": "firing",
        "labels": {"service": "payments", "instance": "pay-9"},
        "annotations": {"summary": "Timeouts"},
    }

    (opened,) = send(api, monitoring_key, alert, path="/alerts")
    (again,) = send(api, monitoring_key, alert, path="/alerts")
    (resolved,) = send(api, monitoring_key, {**alert, "status": "resolved"}, path="/alerts")

    assert [opened["outcome"], again["outcome"], resolved["outcome"]] == [
        "opened",
        "updated",
        "resolved",
    ]
    assert opened["fingerprint"] == resolved["fingerprint"] and len(opened["fingerprint"]) == 32
    assert Announcement.objects.get().title_en == "Payments are failing (pay-9)"
    assert Alert.objects.get().source == "generic"


def test_labels_fill_the_words_as_plain_text_never_as_links_or_html(
    api, monitoring_key, published_rule, client
):
    hostile = "<script>alert(1)</script> [click](https://evil.example) **bold**\nnext line"

    send(api, monitoring_key, alertmanager(am_alert(instance=hostile, summary=hostile)))

    incident = Announcement.objects.get()
    assert "\n" not in incident.title_es and "<script>" in incident.title_es  # escaped on pages
    page = client.get(incident.get_absolute_url()).text
    assert "<script>alert(1)</script>" not in page
    assert 'href="https://evil.example"' not in page
    assert "<strong>bold</strong>" not in page
    assert "[click](https://evil.example)" in page  # the words, as they came


def test_a_resolved_alert_never_seen_is_ignored(api, monitoring_key, published_rule):
    (result,) = send(api, monitoring_key, alertmanager(am_alert(status="resolved")))

    assert result["outcome"] == "ignored"
    assert Announcement.objects.count() == 0


def test_an_incident_a_person_resolved_is_not_resolved_twice(api, monitoring_key, published_rule):
    send(api, monitoring_key, alertmanager(am_alert()))
    incident = Announcement.objects.get()
    from notifications.services.announcements import resolve_announcement

    resolve_announcement(announcement=incident, body_es="Hecho.", body_en="Done.",
                         notify_subscribers=False, actor=None)  # fmt: skip

    send(api, monitoring_key, alertmanager(am_alert(status="resolved")))

    assert AnnouncementUpdate.objects.filter(announcement=incident).count() == 1


def test_no_key_or_a_key_without_notices_write_is_a_problem(api, make_key, published_rule):
    body = alertmanager(am_alert())

    assert_problem(api.post("/alerts/alertmanager", body, key=None), 401, "unauthenticated")
    reader = make_key([Scope.KB_READ])
    assert_problem(api.post("/alerts/alertmanager", body, key=reader), 403, "scope_missing")
    assert_problem(api.post("/alerts", {"status": "firing"}, key=reader), 403, "scope_missing")
    assert Announcement.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{", 400, "malformed_body"),
        (b'{"alerts": [{"status": "exploding"}]}', 422, "invalid_request"),
        (b'{"alerts": [{"status": "firing", "startsAt": "2030-01-01T10:00:00"}]}', 422,
         "invalid_request"),
        (b'{"alerts": [{"status": "firing", "labels": {"a": ["b"]}}]}', 422, "invalid_request"),
        (b'{"alerts": [{"status": "firing", "fingerprint": "../../x y"}]}', 422,
         "invalid_request"),
        (b'{"alerts": [{"status": "firing", "startsAt": "0001-01-01T00:00:00+01:00"}]}', 200,
         None),
        (b"[]", 422, "invalid_request"),
    ],
)  # fmt: skip
def test_a_malformed_alertmanager_body_is_a_problem_never_a_500(
    api, monitoring_key, published_rule, body, status, code
):
    response = api.post("/alerts/alertmanager", body, key=monitoring_key, idempotency_key=None)

    if code is None:
        assert response.status_code == status, response.content
    else:
        assert_problem(response, status, code)


def test_a_delivery_too_large_to_read_is_a_problem_not_an_error_on_our_side(
    api, monitoring_key, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = alertmanager(*[am_alert(f"f{n}", summary="x" * 200) for n in range(60)])

    response = api.post("/alerts/alertmanager", body, key=monitoring_key, idempotency_key=None)

    assert_problem(response, 413, "body_too_large")
    assert ApiWrite.objects.count() == 0


def test_a_disabled_rule_opens_nothing_more_but_what_it_opened_still_resolves(
    api, monitoring_key, reason
):
    rule = AlertRuleFactory(publish_at_once=True, min_duration=300)
    start = timezone.now() - timedelta(minutes=10)
    send(api, monitoring_key, alertmanager(am_alert("open", starts=start)))
    send(api, monitoring_key, alertmanager(am_alert("waiting", starts=timezone.now())))
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)

    assert alert_services.promote_pending_alerts(now=timezone.now() + timedelta(hours=1)) == 0
    (new,) = send(api, monitoring_key, alertmanager(am_alert("new", instance="pay-3")))
    (resolved,) = send(api, monitoring_key, alertmanager(am_alert("open", "resolved")))

    assert new["outcome"] == "unmatched"
    assert resolved["outcome"] == "resolved" and resolved["incident"]["phase"] == "resolved"


def test_words_that_cannot_be_published_as_filled_in_leave_a_draft_instead(
    api, monitoring_key, reason
):
    AlertRuleFactory(publish_at_once=True, title_es="Fallan los pagos: {labels.instance}")

    (result,) = send(api, monitoring_key, alertmanager(am_alert(instance="pay-1 …")))

    assert result["outcome"] == "opened" and result["incident"]["publication"] == "draft"
    assert Dispatch.objects.count() == 0


def test_a_rule_whose_pattern_would_backtrack_forever_in_python_answers_at_once(
    api, monitoring_key, reason
):
    AlertRuleFactory(matchers='instance=~"(a+)+$"', publish_at_once=True)

    (missed,) = send(api, monitoring_key, alertmanager(am_alert("f1", instance="a" * 999 + "b")))
    (taken,) = send(api, monitoring_key, alertmanager(am_alert("f2", instance="a" * 999)))

    assert missed["outcome"] == "unmatched" and taken["outcome"] == "opened"


def test_the_generic_endpoint_takes_several_alerts_at_once_each_deduplicated_as_if_sent_alone(
    api, monitoring_key, published_rule
):
    def generic(fingerprint, status="firing", service="payments"):
        return {"status": status, "fingerprint": fingerprint,
                "labels": {"service": service, "instance": fingerprint}}  # fmt: skip

    answers = send(
        api,
        monitoring_key,
        {
            "alerts": [
                generic("pay-1"),
                generic("pay-2"),
                generic("pay-1"),
                generic("x", service="mail"),
            ]
        },
        path="/alerts",
    )

    assert [(a["fingerprint"], a["outcome"]) for a in answers] == [
        ("pay-1", "opened"),
        ("pay-2", "updated"),  # joined the incident pay-1 opened
        ("pay-1", "updated"),  # a repeat within the same request
        ("x", "unmatched"),
    ]
    incident = Announcement.objects.get()
    assert {a["incident"]["id"] for a in answers[:3]} == {incident.pk}
    assert Alert.objects.filter(source="generic").count() == 2
    assert ApiWrite.objects.count() == 1  # one request, one write of the key
    assert Dispatch.objects.filter(announcement=incident).count() == 1

    (again,) = send(api, monitoring_key, generic("pay-1"), path="/alerts")  # the single form
    assert again["outcome"] == "updated"
    answers = send(
        api,
        monitoring_key,
        {"alerts": [generic("pay-1", "resolved"), generic("pay-2", "resolved")]},
        path="/alerts",
    )
    assert [a["outcome"] for a in answers] == ["resolved", "resolved"]
    # Each incident as it stands after the whole request: resolved by the last of its alerts.
    assert answers[0]["incident"]["phase"] == answers[1]["incident"]["phase"] == "resolved"
    incident.refresh_from_db()
    assert incident.is_resolved


@pytest.mark.parametrize(
    "body",
    [
        b'{"alerts": []}',
        b'{"alerts": [{"status": "exploding"}]}',
        b'{"alerts": [{"status": "firing"}, {"labels": {"a": "b"}}]}',
        b'{"alerts": {"status": "firing"}}',
        b"[]",
        b'[{"status": "firing"}]',
        b'"firing"',
    ],
)
def test_a_malformed_generic_body_is_a_problem_never_a_500(
    api, monitoring_key, published_rule, body
):
    response = api.post("/alerts", body, key=monitoring_key, idempotency_key=None)

    assert_problem(response, 422, "invalid_request")
    assert Alert.objects.count() == 0 and ApiWrite.objects.count() == 0


def test_the_admins_publish_action_refuses_a_draft_resolved_before_publishing_without_a_500(
    api, monitoring_key, reason, admin_client
):
    AlertRuleFactory(publish_at_once=False)
    send(api, monitoring_key, alertmanager(am_alert()))
    send(api, monitoring_key, alertmanager(am_alert(status="resolved")))
    incident = Announcement.objects.get()

    response = admin_client.post(
        "/admin/notifications/announcement/",
        {"action": "publish_selected", "_selected_action": [incident.pk]},
        headers={"accept-language": "en"},
        follow=True,
    )

    assert response.status_code == 200
    assert "It was resolved before it was published" in response.text
    incident.refresh_from_db()
    assert incident.resolved_before_publishing and Dispatch.objects.count() == 0
