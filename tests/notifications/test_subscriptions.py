import re
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from notifications.models import Announcement, OutgoingMessage, Subscriber
from notifications.services import announcements, outbox, subscribers
from tests.factories import AnnouncementFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


def subscribe(client, email="ana@example.com", **extra):
    return client.post("/es/notices/subscribe/", {"email": email, "language": "es", **extra})


def without_csrf(html: str) -> str:
    return re.sub(r"[A-Za-z0-9]{64}", "", html)  # CSRF tokens differ per request


def confirmation_link() -> str:
    message = OutgoingMessage.objects.filter(kind=OutgoingMessage.Kind.SUBSCRIPTION).latest("pk")
    assert "/notices/subscribe/confirm/" not in message.body_text  # minted when it is sent
    body = outbox._with_minted_links(message, now=timezone.now()).body_text  # what is sent
    return re.search(r"https?://\S+/notices/subscribe/confirm/\S+/", body).group(0)


def test_subscribing_sends_a_confirmation_link_and_confirming_activates(client, settings):
    settings.SITE_URL = "http://testserver"
    subscribe(client)
    subscriber = Subscriber.objects.get(email="ana@example.com")
    assert not subscriber.is_active

    path = confirmation_link().replace("http://testserver", "")

    # Opening the link (as a mail scanner does) only asks; the button confirms.
    asked = client.get(path)
    subscriber.refresh_from_db()
    assert asked.status_code == 200 and not subscriber.is_active
    assert f'action="{path}"' in asked.text and 'method="post"' in asked.text

    response = client.post(path)

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.is_active


def test_a_confirmation_link_issued_before_the_last_unsubscribe_is_refused(client):
    subscriber = SubscriberFactory(confirmed_at=None)
    old_link = subscribers._token(subscriber, subscribers.CONFIRM_SALT)
    subscribers.confirm_subscription(token=old_link)
    subscribers.unsubscribe(
        token=subscribers._token(subscriber, subscribers.UNSUBSCRIBE_SALT),
        now=timezone.now() + timedelta(seconds=5),
    )

    assert client.get(f"/es/notices/subscribe/confirm/{old_link}/").status_code == 400
    assert client.post(f"/es/notices/subscribe/confirm/{old_link}/").status_code == 400
    subscriber.refresh_from_db()
    assert not subscriber.is_active
    fresh = subscribers._token(
        subscriber, subscribers.CONFIRM_SALT, now=timezone.now() + timedelta(seconds=10)
    )
    assert client.post(f"/es/notices/subscribe/confirm/{fresh}/").status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_address_is_subscribed(client):
    SubscriberFactory(email="known@example.com")

    known = subscribe(Client(), "known@example.com")
    unknown = subscribe(Client(), "unknown@example.com")

    assert known.status_code == unknown.status_code == 200
    assert without_csrf(known.text).replace("known@", "X@") == without_csrf(unknown.text).replace(
        "unknown@", "X@"
    )


def test_a_stranger_cannot_change_an_active_subscribers_choices(client):
    SubscriberFactory(email="ana@example.com", kinds=["incident"])

    subscribe(client, "ana@example.com", kinds=["holiday"])

    assert Subscriber.objects.get(email="ana@example.com").kinds == ["incident"]


def test_expired_confirmation_link_offers_to_subscribe_again(client, monkeypatch):
    subscriber = SubscriberFactory(confirmed_at=None)
    four_days_ago = timezone.now().timestamp() - subscribers.CONFIRMATION_MAX_AGE - 3600
    with monkeypatch.context() as past:
        past.setattr(signing.time, "time", lambda: four_days_ago)
        token = subscribers._token(subscriber, subscribers.CONFIRM_SALT)

    response = client.post(f"/es/notices/subscribe/confirm/{token}/")

    assert response.status_code == 400
    assert "Suscribirme de nuevo" in response.text
    subscriber.refresh_from_db()
    assert not subscriber.is_active


def test_tampered_confirmation_link_is_refused(client):
    subscriber = SubscriberFactory(confirmed_at=None)
    token = subscribers._token(subscriber, subscribers.CONFIRM_SALT)

    response = client.post(f"/es/notices/subscribe/confirm/{token[:-3]}abc/")

    subscriber.refresh_from_db()
    assert response.status_code == 400 and not subscriber.is_active


def test_unsubscribe_link_get_asks_and_post_unsubscribes_without_a_csrf_token():
    subscriber = SubscriberFactory()
    path = subscribers.unsubscribe_url(subscriber).split("://", 1)[1].split("/", 1)[1]
    browser = Client(enforce_csrf_checks=True)

    page = browser.get(f"/{path}")
    subscriber.refresh_from_db()
    assert page.status_code == 200 and subscriber.is_active  # a link scanner changes nothing

    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the same URL.
    response = browser.post(f"/{path}", {"List-Unsubscribe": "One-Click"})

    subscriber.refresh_from_db()
    assert response.status_code == 200
    assert subscriber.unsubscribed_at is not None


def test_forged_unsubscribe_token_is_refused():
    subscriber = SubscriberFactory()
    forged = signing.dumps({"id": subscriber.pk, "email": subscriber.email}, salt="another-salt")

    response = Client().post(f"/es/notices/unsubscribe/{forged}/")

    subscriber.refresh_from_db()
    assert response.status_code == 400 and subscriber.is_active


def test_subscribe_is_rate_limited_per_address(client):
    for _ in range(3):
        assert subscribe(Client(), "ana@example.com").status_code == 200

    response = subscribe(Client(), "ana@example.com")

    assert response.status_code == 429
    assert "Demasiadas solicitudes" in response.text


def test_honeypot_filled_by_a_bot_sends_nothing(client):
    response = subscribe(client, website="http://spam.example")

    assert response.status_code == 200
    assert not OutgoingMessage.objects.exists()


def test_invalid_email_is_a_clear_error_and_keeps_what_was_typed(client):
    response = subscribe(client, "not-an-address")

    assert response.status_code == 200
    assert 'value="not-an-address"' in response.text
    assert 'class="errorlist"' in response.text


def test_only_confirmed_active_subscribers_who_chose_the_kind_are_mailed(
    django_capture_on_commit_callbacks,
):
    wanted = SubscriberFactory(email="wanted@example.com")
    SubscriberFactory(email="unconfirmed@example.com", confirmed_at=None)
    SubscriberFactory(email="gone@example.com", unsubscribed_at=timezone.now())
    SubscriberFactory(email="holidays-only@example.com", kinds=[Announcement.Kind.HOLIDAY])
    incident = announcements.publish_announcement(
        announcement=AnnouncementFactory.build(), actor=None
    )

    announcements.plan_dispatch(dispatch_id=incident.dispatches.get().pk)

    assert list(
        OutgoingMessage.objects.filter(kind="notice").values_list("recipient", flat=True)
    ) == [wanted.email]


def test_preferences_page_changes_kinds_and_language(client):
    subscriber = SubscriberFactory()
    token = subscribers.unsubscribe_url(subscriber).rstrip("/").rsplit("/", 1)[1]

    client.post(f"/es/notices/preferences/{token}/", {"language": "en", "kinds": ["incident"]})

    subscriber.refresh_from_db()
    assert (subscriber.language, subscriber.kinds) == ("en", ["incident"])
