""" "Tell me when it is fixed": following one incident, and mailing its followers.

A visitor who meets a live incident (on the contact form, before writing to us) leaves an
address for that one incident: no account, no double opt-in (one step, and all it ever sends
is news of that incident, ending with its resolution). Each update of the incident, and its
resolution, writes one outbox row per follower in the same transaction as the update; the
row's dedupe key (incident, update, follower) is the ledger, so posting, retrying or running
the mailing twice sends each follower each update once.

Each of those emails can be stopped, like every mail nobody has to get: a stop link in the text
and the List-Unsubscribe headers (one click, RFC 8058). The row holds a placeholder where the
link goes; the outbox mints the link (a signed value, never stored) as the mail leaves.
"""

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from foundation.markdown import markdown_to_text, render_markdown
from foundation.ratelimit import allow
from foundation.times import in_service_time
from notifications.models import Announcement, AnnouncementUpdate, IncidentFollower, OutgoingMessage
from notifications.services.outbox import (
    UNSUBSCRIBE_PLACEHOLDER,
    link_placeholder,
    links_for_recipients,
    queue_emails,
)

# Following is one step for anyone: limited like subscribing (per address and per email).
FOLLOW_LIMIT_PER_ADDRESS = 10
FOLLOW_LIMIT_PER_EMAIL = 3
FOLLOW_WINDOW_SECONDS = 60 * 60
STOP_SALT = "notifications.incident.stop"
# Follower mail holds this placeholder where the stop link goes (outbox.register_link_minter).
STOP_LINK_SCOPE = "incident-stop"


def follow_incident(
    *,
    incident: Announcement,
    email: str,
    language: str,
    address_key: str,
    now: datetime | None = None,
) -> IncidentFollower | None:
    """Remember that ``email`` wants to hear when ``incident`` is fixed (once per address and
    incident: following again changes nothing). None when over the rate limits."""
    email = email.strip()
    if not allow(
        "follow-ip",
        address_key,
        limit=FOLLOW_LIMIT_PER_ADDRESS,
        window_seconds=FOLLOW_WINDOW_SECONDS,
    ) or not allow(
        "follow-email",
        email.lower(),
        limit=FOLLOW_LIMIT_PER_EMAIL,
        window_seconds=FOLLOW_WINDOW_SECONDS,
    ):
        return None
    existing = IncidentFollower.objects.filter(
        announcement=incident, email__iexact=email, done_at__isnull=True, stopped_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return IncidentFollower.objects.create(
                announcement=incident,
                email=email,
                language=language,
                created_at=now or timezone.now(),
            )
    except IntegrityError:  # followed before (told it was fixed, or stopped), or at the same moment
        follower = IncidentFollower.objects.get(announcement=incident, email__iexact=email)
        if follower.done_at is not None or follower.stopped_at is not None:
            # The incident came back, or they changed their mind: follow it again.
            IncidentFollower.objects.filter(pk=follower.pk).update(done_at=None, stopped_at=None)
            follower.done_at = follower.stopped_at = None
        return follower


# --- Stopping: a link in each email ----------------------------------------------------------


def stop_url(follower: IncidentFollower) -> str:
    """The follower's stop link, in their language. It never expires (old mail must keep
    working) and is never stored: only the outbox's minter calls this, as a mail leaves."""
    token = signing.dumps({"id": follower.pk, "email": follower.email}, salt=STOP_SALT)
    with translation.override(follower.language):
        path = reverse("notifications:stop_following", kwargs={"token": token})
    return settings.SITE_URL + path


def mint_stop_link(follower_id: int, *, recipient: str, now: datetime | None = None) -> str | None:
    """A stop link, only in mail to the follower's own address."""
    follower = IncidentFollower.objects.filter(
        pk=follower_id, email__iexact=recipient.strip()
    ).first()
    return stop_url(follower) if follower is not None else None


def mint_stop_links(
    pairs: list[tuple[int, str]], *, now: datetime | None = None
) -> dict[tuple[int, str], str]:
    """``mint_stop_link`` for a chunk of follower mail, in one query."""
    followers = IncidentFollower.objects.only("pk", "email", "language")
    return links_for_recipients(followers, pairs, stop_url)


def follower_for_stop(*, token: str) -> IncidentFollower | None:
    """Whom a stop link is for (with their incident); None if the link does not work."""
    try:
        value = signing.loads(token, salt=STOP_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict):
        return None
    return (
        IncidentFollower.objects.select_related("announcement")
        .filter(pk=value.get("id"), email=value.get("email"))
        .first()
    )


@transaction.atomic
def stop_following(*, token: str, now: datetime | None = None) -> IncidentFollower | None:
    """No more news of the incident to the follower of ``token`` (from the page the stop link
    opens, or a mail client's one-click POST). Idempotent: stopping again changes nothing.
    None when the link does not work."""
    follower = follower_for_stop(token=token)
    if follower is not None and follower.stopped_at is None:
        follower.stopped_at = now or timezone.now()
        IncidentFollower.objects.filter(pk=follower.pk, stopped_at__isnull=True).update(
            stopped_at=follower.stopped_at
        )
    return follower


@in_service_time()
def _render(incident: Announcement, update: AnnouncementUpdate, language: str) -> dict:
    with translation.override(language):
        context = {
            "incident": incident,
            "update": update,
            "title": incident.title,
            "fixed": update.phase in (Announcement.Phase.RESOLVED, Announcement.Phase.COMPLETED),
            "body_text": markdown_to_text(update.body),
            "body_html": render_markdown(update.body).html,
            "notice_url": settings.SITE_URL + incident.get_absolute_url(),
            # Each follower's own stop link goes here as the mail leaves (outbox._compose).
            "stop_url": UNSUBSCRIBE_PLACEHOLDER,
            "site_name": settings.SITE_NAME,
        }
        return {
            "subject": render_to_string(
                "notifications/email/incident_followed_subject.txt", context
            ).strip(),
            "text": render_to_string("notifications/email/incident_followed.txt", context),
            "html": render_to_string("notifications/email/incident_followed.html", context),
        }


def mail_incident_followers(*, update: AnnouncementUpdate, now: datetime | None = None) -> int:
    """Queue the update for every follower of its incident who has not asked to stop (in the
    caller's transaction), each mail with its stop link and one-click List-Unsubscribe headers,
    and end the following when it says the incident is fixed. Idempotent. Returns the
    followers mailed."""
    incident = update.announcement
    fixed = update.phase in (Announcement.Phase.RESOLVED, Announcement.Phase.COMPLETED)
    followers = list(
        IncidentFollower.objects.filter(
            announcement=incident, done_at__isnull=True, stopped_at__isnull=True
        )
    )
    rendered: dict[str, dict] = {}
    rows = []
    for follower in followers:
        texts = rendered.setdefault(follower.language, _render(incident, update, follower.language))
        rows.append(
            OutgoingMessage(
                dedupe_key=f"incident:{incident.pk}:update:{update.pk}:follower:{follower.pk}",
                kind=OutgoingMessage.Kind.NOTICE,
                recipient=follower.email,
                language=follower.language,
                subject=texts["subject"],
                body_text=texts["text"],
                body_html=texts["html"],
                unsubscribe_url=link_placeholder(STOP_LINK_SCOPE, follower.pk),
            )
        )
    queue_emails(rows)
    if fixed and followers:
        IncidentFollower.objects.filter(pk__in=[f.pk for f in followers]).update(
            done_at=now or timezone.now()
        )
    return len(followers)
