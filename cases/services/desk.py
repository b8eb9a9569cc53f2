"""What the desk writes for its staff: reply drafts, alerts about customers, preferences.

An alert is a ``DeskAlert`` row (counted in the desk's header until the case is opened) and,
for those who want it, one email through the outbox. The assignee is told, or, on a case
nobody is assigned to, the members of its team. Emails are rate-sane: one per person, case
and kind in each ``ALERT_EMAIL_WINDOW`` (a customer who writes five messages in a row sends
one email), under a dedupe key, so a service that runs twice queues one.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import selectors
from cases.models import (
    Case,
    DeskAlert,
    DeskPreferences,
    ReplyDraft,
)
from notifications.services.outbox import queue_email

ALERT_EMAIL_WINDOW = timedelta(minutes=30)


@transaction.atomic
def save_reply_draft(
    *,
    user: AbstractBaseUser,
    case: Case,
    body: str,
    based_on: int | None = None,
    now: datetime | None = None,
) -> ReplyDraft | None:
    """Keep what ``user`` typed in the reply box of ``case``; an empty box drops the draft.

    ``based_on`` is the draft version the box's page was drawn at (``selectors.draft_version``:
    how many replies this person had sent on the case). A save based on a version older than
    the last reply sent is refused with ``ValidationError(code="sent_since")``: an autosave
    sent just before the reply but answered after it would otherwise bring the sent text back
    as a draft, ready to be sent twice. Whatever the text: the same words written again after
    the reply, on the page drawn after it, are a draft like any other. ``None`` (a request
    that names no version) is not checked.
    """
    body, now = body[:5000], now or timezone.now()
    if based_on is not None:
        # The case's row, locked as reply_to_customer locks it: a reply being sent right now
        # is either counted here or sent after this draft (and then discards it).
        Case.objects.select_for_update().values_list("pk", flat=True).get(pk=case.pk)
        if based_on < selectors.draft_version(user_id=user.pk, case_id=case.pk):
            raise ValidationError(
                _(
                    "Not kept as a draft: you have sent a reply on this case since this page "
                    "was opened. Copy this text if you still need it, then reload the page."
                ),
                code="sent_since",
            )
    if not body.strip():
        discard_reply_draft(user=user, case=case)
        return None
    draft, _created = ReplyDraft.objects.update_or_create(
        user=user, case=case, defaults={"body": body, "updated_at": now}
    )
    return draft


def discard_reply_draft(*, user: AbstractBaseUser | None, case: Case) -> None:
    if user is not None and user.is_authenticated:
        ReplyDraft.objects.filter(user=user, case=case).delete()


def _recipients(case: Case) -> list[AbstractBaseUser]:
    users = selectors.desk_staff()  # only those who may open the case on the desk
    if case.assignee_id is not None:
        return list(users.filter(pk=case.assignee_id))
    if case.team_id is not None:
        return list(users.filter(teams=case.team_id).order_by("pk"))
    return []


def tell_staff(*, case: Case, kind: str, now: datetime | None = None) -> int:
    """A customer replied, reopened or rated 1-2 stars: alert whoever handles ``case``.

    Called inside the transaction of the customer's change. Returns how many people were
    alerted. A person who has not seen an alert of this kind on this case gets no second row.
    """
    now = now or timezone.now()
    told = 0
    preferences = {
        row.user_id: row
        for row in DeskPreferences.objects.filter(user__in=[u.pk for u in _recipients(case)])
    }
    for user in _recipients(case):
        if not DeskAlert.objects.filter(
            user=user, case=case, kind=kind, seen_at__isnull=True
        ).exists():
            DeskAlert.objects.create(user=user, case=case, kind=kind, created_at=now)
        told += 1
        chosen = preferences.get(user.pk) or DeskPreferences(user=user)
        if chosen.email_alerts and user.email:
            _email_alert(user=user, case=case, kind=kind, language=chosen.language, now=now)
    return told


def _email_alert(
    *, user: AbstractBaseUser, case: Case, kind: str, language: str, now: datetime
) -> None:
    window = int(now.timestamp() // ALERT_EMAIL_WINDOW.total_seconds())
    with translation.override(language):
        context = {
            "case": case,
            "kind": DeskAlert.Kind(kind).label,
            "url": settings.SITE_URL
            + reverse("cases:desk_case", kwargs={"reference": case.reference}),
            "preferences_url": settings.SITE_URL + reverse("cases:desk_preferences"),
            "site_name": settings.SITE_NAME,
        }
        subject = render_to_string("cases/email/desk_alert_subject.txt", context).strip()
        text = render_to_string("cases/email/desk_alert.txt", context)
    queue_email(
        dedupe_key=f"desk-alert:{user.pk}:{case.pk}:{kind}:{window}",
        recipient=user.email,
        language=language,
        subject=subject,
        text=text,
    )


def mark_alerts_seen(*, user: AbstractBaseUser, case: Case, now: datetime | None = None) -> int:
    """The person opened the case: its alerts leave their count."""
    return DeskAlert.objects.filter(user=user, case=case, seen_at__isnull=True).update(
        seen_at=now or timezone.now()
    )


@transaction.atomic
def save_desk_preferences(
    *, user: AbstractBaseUser, email_alerts: bool, language: str
) -> DeskPreferences:
    preferences, _created = DeskPreferences.objects.update_or_create(
        user=user, defaults={"email_alerts": email_alerts, "language": language}
    )
    return preferences
