"""Subscriptions to notices: double opt-in, preferences, one-click unsubscribe.

Links carry signed values (Django's signing with the SECRET_KEY), never a stored token: the
confirmation link expires, the unsubscribe link does not (it must keep working in old mail).
"""

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from notifications.models import OutgoingMessage, Subscriber

CONFIRM_SALT = "notifications.subscribe.confirm"
UNSUBSCRIBE_SALT = "notifications.subscribe.unsubscribe"
CONFIRMATION_MAX_AGE = 60 * 60 * 24 * 3


def _token(subscriber: Subscriber, salt: str) -> str:
    return signing.dumps({"id": subscriber.pk, "email": subscriber.email}, salt=salt, compress=True)


def _subscriber_from(token: str, salt: str, max_age: int | None) -> Subscriber | None:
    try:
        value = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return Subscriber.objects.filter(pk=value.get("id"), email=value.get("email")).first()


def unsubscribe_url(subscriber: Subscriber) -> str:
    """The link opens in the subscriber's language, whichever process writes the email (the
    fan-out runs in a worker where no visitor's language is active)."""
    with translation.override(subscriber.language):
        path = reverse(
            "notifications:unsubscribe", kwargs={"token": _token(subscriber, UNSUBSCRIBE_SALT)}
        )
    return settings.SITE_URL + path


def confirmation_url(subscriber: Subscriber) -> str:
    with translation.override(subscriber.language):
        path = reverse("notifications:confirm", kwargs={"token": _token(subscriber, CONFIRM_SALT)})
    return settings.SITE_URL + path


def _normalise(email: str) -> str:
    return email.strip().lower()


@transaction.atomic
def request_subscription(
    *,
    email: str,
    language: str,
    kinds: list[str],
    areas: list[str],
    now: datetime | None = None,
) -> None:
    """Record the wish to subscribe and email a confirmation link (double opt-in).

    The caller shows the same answer whatever happens here, so nobody can learn whether an
    address is subscribed. An address already confirmed gets a link to its preferences instead.
    """
    from notifications.services.outbox import queue_email

    email = _normalise(email)
    subscriber, _ = Subscriber.objects.get_or_create(
        email=email, defaults={"language": language, "kinds": kinds, "areas": areas}
    )
    if not subscriber.is_active:
        # New, unconfirmed or unsubscribed: their latest choices wait for confirmation.
        subscriber.language, subscriber.kinds, subscriber.areas = language, kinds, areas
        subscriber.save(update_fields=["language", "kinds", "areas"])
    template = "already_subscribed" if subscriber.is_active else "confirm_subscription"
    with translation.override(subscriber.language):
        context = {
            "confirmation_url": confirmation_url(subscriber),
            "unsubscribe_url": unsubscribe_url(subscriber),
            "site_name": settings.SITE_NAME,
        }
        subject = render_to_string(f"notifications/email/{template}_subject.txt", context).strip()
        text = render_to_string(f"notifications/email/{template}.txt", context)
    minute = (now or timezone.now()).strftime("%Y%m%d%H%M")
    queue_email(
        # One confirmation a minute at most per address, whatever the rate limit lets through.
        dedupe_key=f"subscription:{subscriber.pk}:{minute}",
        kind=OutgoingMessage.Kind.SUBSCRIPTION,
        recipient=subscriber.email,
        language=subscriber.language,
        subject=subject,
        text=text,
    )


@transaction.atomic
def confirm_subscription(*, token: str, now: datetime | None = None) -> Subscriber | None:
    """Confirm from the emailed link; None when the link is invalid or expired."""
    subscriber = _subscriber_from(token, CONFIRM_SALT, CONFIRMATION_MAX_AGE)
    if subscriber is None:
        return None
    if not subscriber.is_active:
        subscriber.confirmed_at = now or timezone.now()
        subscriber.unsubscribed_at = None
        subscriber.save(update_fields=["confirmed_at", "unsubscribed_at"])
    return subscriber


def subscriber_for_unsubscribe(*, token: str) -> Subscriber | None:
    return _subscriber_from(token, UNSUBSCRIBE_SALT, None)


@transaction.atomic
def unsubscribe(*, token: str, now: datetime | None = None) -> Subscriber | None:
    """Stop all notices to the subscriber of ``token`` (one click from any email)."""
    subscriber = subscriber_for_unsubscribe(token=token)
    if subscriber is not None and subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = now or timezone.now()
        subscriber.save(update_fields=["unsubscribed_at"])
    return subscriber


@transaction.atomic
def update_preferences(
    *, token: str, language: str, kinds: list[str], areas: list[str]
) -> Subscriber | None:
    subscriber = subscriber_for_unsubscribe(token=token)
    if subscriber is None:
        return None
    subscriber.language, subscriber.kinds, subscriber.areas = language, kinds, areas
    subscriber.save(update_fields=["language", "kinds", "areas"])
    return subscriber
