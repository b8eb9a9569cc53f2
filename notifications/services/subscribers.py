"""Subscriptions to notices: double opt-in, preferences, one-click unsubscribe.

Links carry signed values (Django's signing with the SECRET_KEY), never a stored token: the
confirmation link expires, the unsubscribe link does not (it must keep working in old mail).
"""

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from foundation.ratelimit import allow
from notifications.models import OutgoingMessage, Subscriber
from notifications.services.outbox import link_placeholder, links_for_recipients, queue_email

CONFIRM_SALT = "notifications.subscribe.confirm"
UNSUBSCRIBE_SALT = "notifications.subscribe.unsubscribe"
CONFIRMATION_MAX_AGE = 60 * 60 * 24 * 3
# Confirmation emails one address may be sent in an hour, whoever asks for them.
SUBSCRIBE_LIMIT_PER_EMAIL = (3, 60 * 60)


def _token(subscriber: Subscriber, salt: str, *, now: datetime | None = None) -> str:
    value = {"id": subscriber.pk, "email": subscriber.email}
    if salt == CONFIRM_SALT:
        # When it was issued: a confirmation link older than the last unsubscribe is refused.
        value["at"] = int((now or timezone.now()).timestamp())
    return signing.dumps(value, salt=salt, compress=True)


def _confirmable(token: str) -> tuple[Subscriber | None, int | None]:
    try:
        value = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:  # includes SignatureExpired
        return None, None
    subscriber = Subscriber.objects.filter(pk=value.get("id"), email=value.get("email")).first()
    issued_at = value.get("at")
    return subscriber, issued_at if isinstance(issued_at, int) else None


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


def confirmation_url(subscriber: Subscriber, *, now: datetime | None = None) -> str:
    token = _token(subscriber, CONFIRM_SALT, now=now)
    with translation.override(subscriber.language):
        path = reverse("notifications:confirm", kwargs={"token": token})
    return settings.SITE_URL + path


# Subscription mail is stored with placeholders; the outbox mints these links as it sends.
CONFIRM_LINK_SCOPE = "subscriber-confirm"
MANAGE_LINK_SCOPE = "subscriber-manage"


def mint_confirmation_link(
    subscriber_id: int, *, recipient: str, now: datetime | None = None
) -> str | None:
    """A fresh confirmation link, only in mail to the subscriber's own address."""
    subscriber = Subscriber.objects.filter(
        pk=subscriber_id, email__iexact=recipient.strip()
    ).first()
    return confirmation_url(subscriber, now=now) if subscriber is not None else None


def mint_manage_link(
    subscriber_id: int, *, recipient: str, now: datetime | None = None
) -> str | None:
    """A fresh unsubscribe/preferences link, only in mail to the subscriber's own address."""
    subscriber = Subscriber.objects.filter(
        pk=subscriber_id, email__iexact=recipient.strip()
    ).first()
    return unsubscribe_url(subscriber) if subscriber is not None else None


def mint_manage_links(
    pairs: list[tuple[int, str]], *, now: datetime | None = None
) -> dict[tuple[int, str], str]:
    """``mint_manage_link`` for a fan-out chunk: the links of the (subscriber id, recipient)
    pairs whose subscriber writes from that recipient address, in one query."""
    subscribers = Subscriber.objects.only("pk", "email", "language")
    return links_for_recipients(subscribers, pairs, unsubscribe_url)


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
    Raises ``ValidationError`` (code ``too_many_requests``) past ``SUBSCRIBE_LIMIT_PER_EMAIL``
    for the address, whoever asks (the site's form or an API key), with nothing recorded.
    """
    email = _normalise(email)
    limit, window = SUBSCRIBE_LIMIT_PER_EMAIL
    if not allow("subscribe-email", email.lower(), limit=limit, window_seconds=window):
        raise ValidationError(
            _("Too many requests for this address. Please try again in an hour."),
            code="too_many_requests",
        )
    subscriber, _created = Subscriber.objects.get_or_create(
        email=email, defaults={"language": language, "kinds": kinds, "areas": areas}
    )
    if not subscriber.is_active:
        # New, unconfirmed or unsubscribed: their latest choices wait for confirmation.
        subscriber.language, subscriber.kinds, subscriber.areas = language, kinds, areas
        subscriber.save(update_fields=["language", "kinds", "areas"])
    template = "already_subscribed" if subscriber.is_active else "confirm_subscription"
    with translation.override(subscriber.language):
        context = {
            "confirmation_url": link_placeholder(CONFIRM_LINK_SCOPE, subscriber.pk),
            "unsubscribe_url": link_placeholder(MANAGE_LINK_SCOPE, subscriber.pk),
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


def subscriber_to_confirm(*, token: str) -> Subscriber | None:
    """Whom a confirmation link is for (the page that asks to confirm); None if it does not
    work: invalid, expired, or issued before the address last unsubscribed."""
    subscriber, issued_at = _confirmable(token)
    if subscriber is None or subscriber.unsubscribed_at is None:
        return subscriber
    if issued_at is None or issued_at < int(subscriber.unsubscribed_at.timestamp()):
        return None
    return subscriber


@transaction.atomic
def confirm_subscription(*, token: str, now: datetime | None = None) -> Subscriber | None:
    """Confirm from the emailed link (a POST: mail scanners only GET); None when the link
    does not work (see ``subscriber_to_confirm``)."""
    subscriber = subscriber_to_confirm(token=token)
    if subscriber is None:
        return None
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
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
