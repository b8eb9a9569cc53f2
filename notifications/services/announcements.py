"""Publishing announcements on schedule, their updates, and mailing them to subscribers."""

import re
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from foundation import process_memo
from foundation.markdown import markdown_to_text, render_markdown
from foundation.queueing import enqueue_after_commit
from foundation.times import in_service_time
from notifications.models import (
    Announcement,
    AnnouncementUpdate,
    CalendarException,
    Dispatch,
    OutgoingMessage,
    Subscriber,
    validate_single_line,
)
from notifications.selectors import load_calendar
from notifications.services.incidents import mail_incident_followers
from notifications.services.outbox import link_placeholder, queue_email, queue_sending
from notifications.services.subscribers import MANAGE_LINK_SCOPE
from webhooks.services import record_event

PLAN_BATCH_SIZE = 500
# Queued by name (foundation.queueing): notifications.tasks imports the services.
PLAN_TASK = "notifications.tasks.plan_dispatch"
Publication = Announcement.Publication
Phase = Announcement.Phase


def announcement_webhook_data(
    announcement: Announcement, update: AnnouncementUpdate | None = None
) -> dict:
    """An announcement (and the update that caused the event) as webhooks show it."""
    data = {
        "announcement": {
            "id": announcement.pk,
            "slug": announcement.slug,
            "kind": announcement.kind,
            "severity": announcement.severity,
            "title": {"es": announcement.title_es, "en": announcement.title_en},
            "areas": list(announcement.areas),
            "phase": announcement.phase,
            "starts_at": announcement.starts_at,
            "ends_at": announcement.ends_at,
            "published_at": announcement.published_at,
            "resolved_at": announcement.resolved_at,
            "url": settings.SITE_URL + announcement.get_absolute_url(),
        }
    }
    if update is not None:
        data["update"] = {
            "id": update.pk,
            "phase": update.phase,
            "body": {"es": update.body_es, "en": update.body_en},
            "created_at": update.created_at,
        }
    return data


def unique_slug(title: str, *, exclude_pk: int | None = None) -> str:
    base = slugify(title)[:100] or "aviso"
    slug, number = base, 2
    while Announcement.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


def _phase_by_time(announcement: Announcement, now: datetime) -> str:
    if announcement.kind != Announcement.Kind.MAINTENANCE:
        return announcement.phase
    if announcement.ends_at and now >= announcement.ends_at:
        return Phase.COMPLETED
    if announcement.starts_at and now >= announcement.starts_at:
        return Phase.IN_PROGRESS
    return Phase.SCHEDULED


def _initial_phase(announcement: Announcement, now: datetime) -> str:
    if announcement.kind == Announcement.Kind.INCIDENT:
        return announcement.phase or Phase.INVESTIGATING
    if announcement.kind == Announcement.Kind.MAINTENANCE:
        return _phase_by_time(announcement, now)
    return Phase.NONE


PHASES_BY_KIND = {
    Announcement.Kind.INCIDENT: [
        Phase.INVESTIGATING,
        Phase.IDENTIFIED,
        Phase.MONITORING,
        Phase.RESOLVED,
    ],
    Announcement.Kind.MAINTENANCE: [Phase.SCHEDULED, Phase.IN_PROGRESS, Phase.COMPLETED],
}
# What the starting points (notifications.templates_library) leave for the author to fill in:
# "**…**" in a text, a title that ends in " …".
PLACEHOLDER = re.compile(r"\*\*\s*(?:…|\.\.\.)\s*\*\*")
TITLE_PLACEHOLDER = re.compile(r"(?:^|\s)(?:…|\.\.\.)$")


def phases_for(kind: str) -> list[str]:
    """The phases a notice of ``kind`` moves through, in order (none for holidays and general
    notices)."""
    return PHASES_BY_KIND.get(kind, [])


def next_phase(announcement: Announcement) -> str:
    """The phase an update most likely moves the notice to: the one after its current phase
    (the first of its kind when it has none yet; the last stays the last)."""
    phases = phases_for(announcement.kind)
    if not phases:
        return ""
    if announcement.phase not in phases:
        return phases[0]
    return phases[min(phases.index(announcement.phase) + 1, len(phases) - 1)]


def unfilled_placeholders(announcement: Announcement) -> list[str]:
    """The text fields that still hold a starting point's placeholder."""
    fields = [
        name
        for name in ("body_es", "body_en")
        if PLACEHOLDER.search(getattr(announcement, name) or "")
    ]
    fields += [
        name
        for name in ("title_es", "title_en")
        if PLACEHOLDER.search(getattr(announcement, name) or "")
        or TITLE_PLACEHOLDER.search((getattr(announcement, name) or "").strip())
    ]
    return fields


def validate_announcement(announcement: Announcement, *, publishing: bool | None = None) -> None:
    """The one rule for what an announcement may hold, applied by ``save_announcement``,
    ``publish_announcement`` and the desk's form (``AnnouncementForm``): titles on one line, an
    event that ends after it starts, and a notice that expires after it is
    published and not before its event starts. What is published (or scheduled, or about to
    be: ``publishing``) has every placeholder of its starting point ("**…**") filled in; a draft
    may keep them. Raises a ``ValidationError`` keyed by field."""
    if publishing is None:
        publishing = announcement.publication in (Publication.SCHEDULED, Publication.PUBLISHED)
    errors: dict[str, list[ValidationError]] = {}
    if publishing:
        for name in unfilled_placeholders(announcement):
            errors.setdefault(name, []).append(
                ValidationError(
                    _("Fill in the parts marked **…** before publishing."), code="placeholder"
                )
            )
    # The titles are email subjects: a line break would stop every email of the mailing.
    for field in ("title_es", "title_en"):
        try:
            validate_single_line(getattr(announcement, field) or "")
        except ValidationError as error:
            errors.setdefault(field, []).append(error)
    starts, ends = announcement.starts_at, announcement.ends_at
    expire, publish_at = announcement.expire_at, announcement.publish_at
    if starts and ends and ends <= starts:
        errors.setdefault("ends_at", []).append(
            ValidationError(_("The event must end after it starts."), code="ends_before_start")
        )
    if expire and starts and expire < starts:
        errors.setdefault("expire_at", []).append(
            ValidationError(
                _("The notice should not expire before the event starts."),
                code="expires_before_start",
            )
        )
    if expire and publish_at and expire <= publish_at:
        errors.setdefault("expire_at", []).append(
            ValidationError(
                _("It must expire after it is published."), code="expires_before_publish"
            )
        )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def save_announcement(
    *, announcement: Announcement, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Announcement:
    """Create or edit an announcement; publication goes through ``publish_announcement``."""
    validate_announcement(announcement)
    if announcement.phase and announcement.phase not in phases_for(announcement.kind):
        # Its kind changed: start the new kind's phases afresh.
        announcement.phase = ""
        if announcement.publication == Publication.PUBLISHED:
            announcement.phase = _initial_phase(announcement, now or timezone.now())
    if not announcement.slug:
        announcement.slug = unique_slug(announcement.title_es, exclude_pk=announcement.pk)
    if announcement.created_by_id is None and actor is not None and actor.is_authenticated:
        announcement.created_by = actor
    announcement.save()
    return announcement


def _refuse_if_over(announcement: Announcement | None) -> None:
    """An incident over before it was published is never published: it would announce (and
    mail) a problem that no longer exists."""
    if announcement is None:
        return
    unpublished = announcement.publication in (Publication.DRAFT, Publication.SCHEDULED)
    if announcement.resolved_before_publishing or (unpublished and announcement.is_resolved):
        raise ValidationError(
            _(
                "It was resolved before it was published: publishing it now would announce a "
                "problem that is already over."
            ),
            code="already_resolved",
        )


@transaction.atomic
def publish_announcement(
    *,
    announcement: Announcement,
    actor: AbstractBaseUser | None,
    at: datetime | None = None,
    now: datetime | None = None,
) -> Announcement:
    """Publish now, or schedule for ``at`` (the beat job publishes it when due).

    Publishing shows it on the site at once and creates its mailing to subscribers, once:
    publishing an already published announcement changes nothing and sends nothing.
    """
    now = now or timezone.now()
    _refuse_if_over(announcement)
    if announcement.pk is not None:
        # As it is now, not as the caller read it: monitoring may have closed it meanwhile.
        _refuse_if_over(Announcement.objects.select_for_update().filter(pk=announcement.pk).first())
    if announcement.publication not in (Publication.PUBLISHED, Publication.EXPIRED):
        validate_announcement(announcement, publishing=True)
    announcement = save_announcement(announcement=announcement, actor=actor)
    announcement = Announcement.objects.select_for_update().get(pk=announcement.pk)
    if announcement.publication in (Publication.PUBLISHED, Publication.EXPIRED):
        return announcement
    if at is not None and at > now:
        announcement.publication = Publication.SCHEDULED
        announcement.publish_at = at
        announcement.save(update_fields=["publication", "publish_at", "updated_at"])
        return announcement
    announcement.publication = Publication.PUBLISHED
    announcement.published_at = now
    announcement.publish_at = announcement.publish_at or now
    announcement.phase = _initial_phase(announcement, now)
    announcement.save()
    create_dispatch(announcement=announcement)
    record_event(
        event_type="announcement.published",
        data=announcement_webhook_data(announcement),
        now=now,
    )
    return announcement


@transaction.atomic
def create_announcement(
    *,
    kind: str,
    severity: int,
    title_es: str,
    title_en: str,
    body_es: str,
    body_en: str,
    areas: list[str],
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    expire_at: datetime | None = None,
    publish: bool,
    publish_at: datetime | None = None,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> Announcement:
    """A new announcement from its fields (what another system sends): kept as a draft, or
    published now, or scheduled for ``publish_at`` when ``publish`` (``publish_announcement``:
    the mailing to subscribers is created once it is published)."""
    announcement = Announcement(
        kind=kind,
        severity=severity,
        title_es=title_es,
        title_en=title_en,
        body_es=body_es,
        body_en=body_en,
        areas=list(areas),
        starts_at=starts_at,
        ends_at=ends_at,
        expire_at=expire_at,
    )
    if not publish:
        return save_announcement(announcement=announcement, actor=actor, now=now)
    return publish_announcement(announcement=announcement, actor=actor, at=publish_at, now=now)


@transaction.atomic
def resolve_announcement(
    *,
    announcement: Announcement,
    body_es: str,
    body_en: str,
    notify_subscribers: bool,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> AnnouncementUpdate:
    """The last update of an incident (resolved) or a maintenance (completed): ``post_update``
    with the final phase of its kind. A notice without phases cannot be resolved."""
    phases = phases_for(announcement.kind)
    if not phases:
        raise ValidationError(
            _("Only incidents and maintenance are resolved; withdraw other notices."),
            code="no_phases",
        )
    return post_update(
        announcement=announcement,
        phase=phases[-1],
        body_es=body_es,
        body_en=body_en,
        notify_subscribers=notify_subscribers,
        actor=actor,
        now=now,
    )


@transaction.atomic
def withdraw_announcement(
    *, announcement: Announcement, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Announcement:
    """Take it off the site now (it stays in the past notices)."""
    now = now or timezone.now()
    announcement.publication = Publication.EXPIRED
    announcement.expire_at = min(announcement.expire_at or now, now)
    announcement.save(update_fields=["publication", "expire_at", "updated_at"])
    return announcement


def resolved_visible_until(resolved_at: datetime) -> datetime:
    """When a notice resolved at ``resolved_at`` leaves the site by itself."""
    return resolved_at + timedelta(hours=settings.NOTICE_RESOLVED_VISIBLE_HOURS)


def _mark_resolution(announcement: Announcement, *, at: datetime) -> list[str]:
    """Record (or undo) the resolution the phase says; returns the fields it changed.

    Resolving stamps ``resolved_at`` and brings ``expire_at`` forward to the moment the notice
    leaves by itself (the beat job expires it then): staff never have to withdraw it by hand.
    A phase that goes back (resolved, then investigating again) undoes both.
    """
    if announcement.is_resolved and announcement.resolved_at is None:
        announcement.resolved_at = at
        leaves_at = resolved_visible_until(at)
        announcement.expire_at = min(announcement.expire_at or leaves_at, leaves_at)
        return ["resolved_at", "expire_at"]
    if not announcement.is_resolved and announcement.resolved_at is not None:
        if announcement.expire_at == resolved_visible_until(announcement.resolved_at):
            announcement.expire_at = None  # the expiry the resolution set, not the author's
        announcement.resolved_at = None
        return ["resolved_at", "expire_at"]
    return []


def _close_or_reopen_unpublished(
    announcement: Announcement, *, closed_before: bool, at: datetime
) -> list[str]:
    """A draft (or scheduled notice) resolved before anyone published it is closed at once
    (expired, never published: ``resolved_before_publishing``), so it can never be published as
    ongoing; one that comes back (a phase before the last) is a draft again. Returns the fields
    it changed."""
    unpublished = announcement.publication in (Publication.DRAFT, Publication.SCHEDULED)
    if announcement.is_resolved and unpublished:
        announcement.publication = Publication.EXPIRED
        announcement.expire_at = at
        return ["publication", "expire_at"]
    if closed_before and not announcement.is_resolved:
        announcement.publication = Publication.DRAFT
        announcement.expire_at = None
        return ["publication", "expire_at"]
    return []


@transaction.atomic
def post_update(
    *,
    announcement: Announcement,
    phase: str,
    body_es: str,
    body_en: str,
    notify_subscribers: bool,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> AnnouncementUpdate:
    """Add a timestamped public update (and move the incident's phase); mail it if asked.

    An update that resolves the incident (phase resolved, or completed) stamps its resolution:
    the banner turns to "resolved at …" and leaves NOTICE_RESOLVED_VISIBLE_HOURS later."""
    now = now or timezone.now()
    if not body_es.strip() or not body_en.strip():
        raise ValidationError("An update needs its text in both languages.", code="missing_text")
    if phase and phase not in phases_for(announcement.kind):
        raise ValidationError(
            _("That phase is not one of this notice's phases."), code="invalid_phase"
        )
    update = AnnouncementUpdate.objects.create(
        announcement=announcement,
        phase=phase,
        body_es=body_es,
        body_en=body_en,
        notify_subscribers=notify_subscribers,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
    )
    resolved = False
    if phase:
        closed_before = announcement.resolved_before_publishing
        announcement.phase = phase
        changed = _mark_resolution(announcement, at=now)
        changed += _close_or_reopen_unpublished(announcement, closed_before=closed_before, at=now)
        announcement.save(update_fields=["phase", "updated_at", *set(changed)])
        resolved = bool(changed) and announcement.resolved_at is not None
    if announcement.publication == Publication.PUBLISHED:
        record_event(
            event_type="announcement.resolved" if resolved else "announcement.updated",
            data=announcement_webhook_data(announcement, update),
            now=now,
        )
    if notify_subscribers and announcement.publication == Publication.PUBLISHED:
        create_dispatch(announcement=announcement, update=update)
    if notify_subscribers or announcement.is_resolved:
        # Those who asked to hear when it is fixed (issue 14, item 2): always the resolution.
        mail_incident_followers(update=update, now=now)
    return update


def process_due_announcements(*, now: datetime | None = None) -> dict[str, int]:
    """The beat job: publish what is due, expire what is over, move maintenance by time,
    and announce upcoming holidays. Safe to run as often as wanted (each step is idempotent)."""
    now = now or timezone.now()
    counts = {"published": 0, "expired": 0, "phases": 0, "holidays": 0}
    # One already resolved (a phase set in the admin) is never published as ongoing.
    due = Announcement.objects.filter(
        publication=Publication.SCHEDULED, publish_at__lte=now
    ).exclude(phase__in=[Phase.RESOLVED, Phase.COMPLETED])
    for announcement in due:
        publish_announcement(announcement=announcement, actor=None, now=now)
        counts["published"] += 1
    maintenance = Announcement.objects.filter(
        publication=Publication.PUBLISHED, kind=Announcement.Kind.MAINTENANCE
    ).exclude(phase=Phase.COMPLETED)
    for announcement in maintenance:
        phase = _phase_by_time(announcement, now)
        if phase != announcement.phase:
            Announcement.objects.filter(pk=announcement.pk).update(phase=phase, updated_at=now)
            counts["phases"] += 1
            process_memo.changed()  # the banners show the phase
    counts["resolved"] = _stamp_resolutions(now=now)
    # After the resolutions: one whose time on the site is already over leaves in this run.
    counts["expired"] = Announcement.objects.filter(
        publication=Publication.PUBLISHED, expire_at__lte=now
    ).update(publication=Publication.EXPIRED, updated_at=now)
    if counts["expired"]:
        process_memo.changed()  # update() sends no signal: drop the notices processes keep
    counts["holidays"] = announce_upcoming_holidays(now=now)
    return counts


def _stamp_resolutions(*, now: datetime) -> int:
    """Give every published notice whose phase says it is over (a maintenance completed by
    time, an incident resolved in the admin) its resolution time and its expiry."""
    stamped = 0
    unstamped = Announcement.objects.filter(
        publication=Publication.PUBLISHED,
        phase__in=[Phase.RESOLVED, Phase.COMPLETED],
        resolved_at__isnull=True,
    )
    for announcement in unstamped:
        over_at = now
        if announcement.kind == Announcement.Kind.MAINTENANCE and announcement.ends_at:
            over_at = min(announcement.ends_at, now)
        _mark_resolution(announcement, at=over_at)
        with transaction.atomic():
            if Announcement.objects.filter(pk=announcement.pk, resolved_at__isnull=True).update(
                resolved_at=announcement.resolved_at,
                expire_at=announcement.expire_at,
                updated_at=now,
            ):
                record_event(
                    event_type="announcement.resolved",
                    data=announcement_webhook_data(announcement),
                    now=now,
                )
        stamped += 1
    if stamped:
        process_memo.changed()
    return stamped


def announce_upcoming_holidays(*, now: datetime) -> int:
    """Create and publish the holiday-hours notice of each exception whose time has come."""
    today = timezone.localdate(now)
    calendar = load_calendar()
    created = 0
    exceptions = CalendarException.objects.filter(
        announcement__isnull=True, announce_days_before__gt=0, date__gte=today
    )
    for exception in exceptions:
        if exception.date - timedelta(days=exception.announce_days_before) > today:
            continue
        with transaction.atomic():
            locked = CalendarException.objects.select_for_update().get(pk=exception.pk)
            if locked.announcement_id:
                continue
            announcement = _holiday_announcement(locked, calendar)
            publish_announcement(announcement=announcement, actor=None)
            locked.announcement = announcement
            locked.save(update_fields=["announcement"])
            created += 1
    return created


def _holiday_announcement(exception: CalendarException, calendar) -> Announcement:
    tz = calendar.time_zone
    day_start = datetime.combine(exception.date, time.min, tzinfo=tz)
    day_end = day_start + timedelta(days=1)
    reopens = calendar.next_opening(day_end)
    texts = {}
    for language in ("es", "en"):
        with translation.override(language):
            texts[language] = render_to_string(
                "notifications/holiday_notice.md",
                {"exception": exception, "reopens": reopens},
            ).strip()
    title_es = f"{exception.label_es}: " + ("cerrado" if exception.closed else "horario reducido")
    title_en = f"{exception.label_en}: " + ("closed" if exception.closed else "reduced hours")
    return Announcement(
        kind=Announcement.Kind.HOLIDAY,
        severity=Announcement.Severity.INFO,
        title_es=title_es,
        title_en=title_en,
        body_es=texts["es"],
        body_en=texts["en"],
        starts_at=day_start,
        ends_at=day_end,
        expire_at=day_end,
    )


# --- Mailing to subscribers -------------------------------------------------------------------


def matching_subscribers(announcement: Announcement, subscribers) -> list:
    """The active subscribers (of a batch) who asked for this kind and these areas."""
    return [
        subscriber
        for subscriber in subscribers
        if (not subscriber.kinds or announcement.kind in subscriber.kinds)
        and (
            not subscriber.areas
            or not announcement.areas
            or set(subscriber.areas) & set(announcement.areas)
        )
    ]


@in_service_time()  # one body for every subscriber: times in the service zone, labelled
def render_mailing(announcement: Announcement, update: AnnouncementUpdate | None) -> dict:
    subjects, texts, htmls = {}, {}, {}
    for language in ("es", "en"):
        with translation.override(language):
            body = (update.body if update else announcement.body) or ""
            context = {
                "announcement": announcement,
                "update": update,
                "title": announcement.title,
                "body_html": render_markdown(body).html,
                "body_text": markdown_to_text(body),
                "notice_url": settings.SITE_URL + announcement.get_absolute_url(),
                "unsubscribe_url": "%%UNSUBSCRIBE_URL%%",
                "site_name": settings.SITE_NAME,
            }
            prefix = f"[{update.get_phase_display()}] " if update and update.phase else ""
            subjects[language] = f"{prefix}{announcement.title}"[:300]
            texts[language] = render_to_string("notifications/email/notice.txt", context)
            htmls[language] = render_to_string("notifications/email/notice.html", context)
    return {"subjects": subjects, "bodies_text": texts, "bodies_html": htmls}


def create_dispatch(
    *, announcement: Announcement, update: AnnouncementUpdate | None = None
) -> Dispatch:
    """Create the mailing (once per publication or update) and queue its planning after commit."""
    key = f"update:{update.pk}" if update else f"announcement:{announcement.pk}"
    dispatch, created = Dispatch.objects.get_or_create(
        dedupe_key=key,
        defaults={
            "announcement": announcement,
            "update": update,
            **render_mailing(announcement, update),
        },
    )
    if created:
        enqueue_after_commit(PLAN_TASK, dispatch.pk)
    return dispatch


def plan_dispatch(*, dispatch_id: int) -> int:
    """Write one outbox row per matching subscriber, in batches, and queue their sending.

    Resumable and idempotent: each batch commits with the cursor (``planned_through_id``), and
    rows are unique per (dispatch, subscriber), so a worker killed half-way resumes where it
    stopped and a second run adds nothing. Each batch's rows are prepared before its
    transaction, which then only checks the cursor, writes and queues: on SQLite a write
    transaction locks the whole database, and the workers sending the batches already queued
    must not wait for the planning of the next ones.
    """
    planned = 0
    while True:
        dispatch = Dispatch.objects.select_related("announcement").get(pk=dispatch_id)
        if dispatch.status != Dispatch.Status.PLANNING:
            return planned
        cursor = dispatch.planned_through_id
        batch = list(
            Subscriber.objects.filter(
                pk__gt=cursor, confirmed_at__isnull=False, unsubscribed_at__isnull=True
            ).order_by("pk")[:PLAN_BATCH_SIZE]
        )
        rows = [
            OutgoingMessage(
                dedupe_key=f"{dispatch.dedupe_key}:subscriber:{subscriber.pk}",
                kind=OutgoingMessage.Kind.NOTICE,
                recipient=subscriber.email,
                language=subscriber.language,
                subject=dispatch.subjects.get(subscriber.language, ""),
                dispatch=dispatch,
                # A placeholder, not the link: the outbox mints it as it sends (no row
                # holds a link that works).
                unsubscribe_url=link_placeholder(MANAGE_LINK_SCOPE, subscriber.pk),
            )
            for subscriber in matching_subscribers(dispatch.announcement, batch)
        ]
        with transaction.atomic():
            locked = Dispatch.objects.select_for_update().get(pk=dispatch_id)
            if locked.status != Dispatch.Status.PLANNING:
                return planned
            if locked.planned_through_id != cursor:
                continue  # another run of this task wrote this batch meanwhile
            if not batch:
                locked.status = Dispatch.Status.SENDING
                locked.planned_at = timezone.now()
                locked.save(update_fields=["status", "planned_at"])
                return planned
            OutgoingMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
            ids = list(
                OutgoingMessage.objects.filter(
                    dispatch=locked,
                    dedupe_key__in=[row.dedupe_key for row in rows],
                    status=OutgoingMessage.Status.QUEUED,
                ).values_list("pk", flat=True)
            )
            locked.planned_through_id = batch[-1].pk
            locked.save(update_fields=["planned_through_id"])
            queue_sending(ids)
        planned += len(rows)


def resume_unfinished_dispatches(*, now: datetime | None = None) -> int:
    """Queue planning again for mailings that a lost task (or a down broker) left unplanned."""
    now = now or timezone.now()
    stale = list(
        Dispatch.objects.filter(
            status=Dispatch.Status.PLANNING, created_at__lt=now - timedelta(minutes=2)
        ).values_list("pk", flat=True)
    )
    for dispatch_id in stale:
        enqueue_after_commit(PLAN_TASK, dispatch_id)
    return len(stale)


def reach(announcement: Announcement) -> int:
    """How many active subscribers a mailing of ``announcement`` would reach now."""
    count = 0
    active = Subscriber.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)
    for start in range(0, active.count(), 5000):
        batch = active.order_by("pk").only("kinds", "areas")[start : start + 5000]
        count += len(matching_subscribers(announcement, batch))
    return count


def send_test_email(
    *, announcement: Announcement, recipient: str, language: str, now: datetime | None = None
) -> OutgoingMessage:
    """Send the announcement's email to a staff member, as subscribers would get it."""
    texts = render_mailing(announcement, None)
    nonce = (now or timezone.now()).strftime("%Y%m%d%H%M%S%f")
    return queue_email(
        dedupe_key=f"test:{announcement.pk}:{recipient}:{nonce}",
        kind=OutgoingMessage.Kind.TEST,
        recipient=recipient,
        language=language,
        subject="[TEST] " + texts["subjects"][language],
        text=texts["bodies_text"][language],
        html=texts["bodies_html"][language],
        unsubscribe_url=settings.SITE_URL + reverse("notifications:notice_list"),
    )
