"""Reads for notifications: the calendar, what to show customers, and mailing progress."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Case, Count, Prefetch, Q, QuerySet, When
from django.utils import timezone
from django.utils.crypto import salted_hmac

from foundation import process_memo
from foundation.markdown import markdown_to_text
from notifications.calendar import Closure, DayException, ServiceCalendar
from notifications.models import (
    Alert,
    Announcement,
    AnnouncementUpdate,
    CalendarException,
    Dispatch,
    OpeningHours,
    OutgoingMessage,
)

# Special hours and closures shown with the opening hours (and in the calendar feed): far
# enough ahead that Christmas is visible at the start of December.
UPCOMING_CLOSURE_DAYS = 60
Publication = Announcement.Publication


# --- Message-IDs ------------------------------------------------------------------------------

_OUTBOX_MESSAGE_ID = re.compile(r"<([0-9a-f]{24})\.([0-9]{1,18})@[^<>\s]+>")


def message_id_of(message: OutgoingMessage) -> str:
    """The Message-ID the outbox gives ``message`` (unless its headers set one): stable, so a
    row sent again is recognised as the same message, and made with the site's secret, so
    nobody can name one of our messages they have not received (a forged bounce would
    otherwise suppress any address we write to)."""
    digest = salted_hmac("notifications.message-id", message.dedupe_key).hexdigest()[:24]
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    return f"<{digest}.{message.pk}@{domain}>"


def sent_message_for_message_id(message_id: str) -> OutgoingMessage | None:
    """The outbox row that went out with this Message-ID (as the outbox makes them), or None.

    Inbound bounces name the message they return: a bounce counts only for a message we sent.
    """
    match = _OUTBOX_MESSAGE_ID.fullmatch((message_id or "").strip())
    if match is None:
        return None
    message = OutgoingMessage.objects.filter(pk=int(match.group(2))).first()
    if message is None or message.headers.get("Message-ID"):
        return None
    return message if message_id_of(message) == message_id.strip() else None


def load_calendar() -> ServiceCalendar:
    """The service calendar, kept in this process until opening hours or an exception change
    (``foundation.process_memo``): many pages read it (home, contact, every overdue case)."""
    return process_memo.remember("notifications.calendar", _read_calendar)


def _read_calendar() -> ServiceCalendar:
    """The service calendar (2 queries): weekly hours and every exception (a few a year), so that
    the calendar answers for any moment, past or future."""
    weekly: dict[int, list] = {}
    for hours in OpeningHours.objects.all():
        weekly.setdefault(hours.weekday, []).append((hours.opens_at, hours.closes_at))
    exceptions = {
        exception.date: DayException(
            date=exception.date,
            label_es=exception.label_es,
            label_en=exception.label_en,
            closed=exception.closed,
            opens_at=exception.opens_at,
            closes_at=exception.closes_at,
        )
        for exception in CalendarException.objects.all()
    }
    return ServiceCalendar(
        time_zone=ZoneInfo(settings.TIME_ZONE), weekly=weekly, exceptions=exceptions
    )


@dataclass(frozen=True)
class ServiceStatus:
    """What the contact and home pages say about our hours, right now."""

    open_now: bool
    closes_at: datetime | None
    next_opening: datetime | None
    closures: list[Closure]
    weekly: list[tuple[str, list]]  # [(weekday name, [(opens, closes), ...]), ...] Monday first


def service_status(*, now: datetime | None = None) -> ServiceStatus:
    now = now or timezone.now()
    calendar = load_calendar()
    return ServiceStatus(
        open_now=calendar.is_open(now),
        closes_at=calendar.closing_time(now),
        next_opening=calendar.next_opening(now),
        closures=calendar.closures_between(now, UPCOMING_CLOSURE_DAYS),
        weekly=[
            (OpeningHours.Weekday(weekday).label, sorted(calendar.weekly.get(weekday, [])))
            for weekday in range(7)
        ],
    )


def active_announcements(*, now: datetime | None = None) -> QuerySet[Announcement]:
    """Published and not expired, most severe first."""
    now = now or timezone.now()
    return (
        Announcement.objects.filter(publication=Publication.PUBLISHED)
        .filter(Q(expire_at__isnull=True) | Q(expire_at__gt=now))
        .order_by("-severity", "-published_at")
    )


def active_incidents(*, now: datetime | None = None) -> QuerySet[Announcement]:
    """The active announcements about an incident (an outage), most severe first."""
    return active_announcements(now=now).filter(kind=Announcement.Kind.INCIDENT)


def _with_latest_updates(announcements: QuerySet[Announcement]) -> list[Announcement]:
    """The notices, each with its ``latest_update`` (or None), in two queries: a live
    incident's card says what is happening now, not only its phase."""
    notices = list(
        announcements.prefetch_related(
            Prefetch(
                "updates",
                queryset=AnnouncementUpdate.objects.order_by("-created_at", "-id"),
                to_attr="updates_newest_first",
            )
        )
    )
    for notice in notices:
        notice.latest_update = next(iter(notice.updates_newest_first), None)
        if notice.latest_update is not None:  # plain words on a card, in the page's language
            notice.latest_update.text = markdown_to_text(notice.latest_update.body)
    return notices


def home_notices(*, limit: int = 3, now: datetime | None = None) -> list[Announcement]:
    """The active notices of the home page, each with its ``latest_update``."""
    return _with_latest_updates(active_announcements(now=now)[:limit])


def _unexpired_announcements() -> list[Announcement]:
    # All of them (published, not yet expired, whatever the clock says later), not the first
    # 20: which are still active changes with the clock alone.
    return list(
        Announcement.objects.filter(publication=Publication.PUBLISHED).order_by(
            "-severity", "-published_at"
        )
    )


def current_announcements(request=None, *, now: datetime | None = None) -> list[Announcement]:
    """The active notices (20 at most), read once per request however many parts of the page
    ask, and kept in the process until a notice changes (``foundation.process_memo``)."""
    if request is not None and hasattr(request, "_current_announcements"):
        return request._current_announcements
    now = now or timezone.now()
    announcements = [
        announcement
        for announcement in process_memo.remember(
            "notifications.unexpired_announcements", _unexpired_announcements
        )
        if announcement.expire_at is None or announcement.expire_at > now
    ][:20]
    if request is not None:
        request._current_announcements = announcements
    return announcements


def site_banners(*, dismissed: set[str], request=None) -> list[Announcement]:
    """The banners every public page shows: active notices the visitor has not dismissed,
    the live problems first (most severe first), then the resolved ones. A critical notice
    cannot be dismissed until it is resolved."""
    banners = [
        announcement
        for announcement in current_announcements(request)[:5]
        if announcement.slug not in dismissed
        or (
            announcement.severity == Announcement.Severity.CRITICAL and not announcement.is_resolved
        )
    ]
    return sorted(banners, key=lambda announcement: announcement.is_resolved)  # stable


def notices_for_areas(
    areas: list[str], *, request=None, now: datetime | None = None
) -> list[Announcement]:
    """Active problems that affect these contact reasons or areas ("we know about this" on a
    case page): notices naming one of them, and incidents that affect everyone. Holiday hours
    and general notices for everyone are for the banner, not for a particular case."""
    wanted = set(areas)
    return [
        announcement
        for announcement in current_announcements(request, now=now)
        if (announcement.areas and wanted & set(announcement.areas))
        or (not announcement.areas and announcement.kind == Announcement.Kind.INCIDENT)
    ]


def notice_lists(*, now: datetime | None = None) -> dict[str, list[Announcement]]:
    """The notices page: what is on now and coming up (each card with its ``latest_update``,
    as on the home page), and the past ones."""
    now = now or timezone.now()
    current = _with_latest_updates(active_announcements(now=now))
    upcoming = [a for a in current if a.starts_at and a.starts_at > now]
    current = [a for a in current if a not in upcoming]
    past = list(
        Announcement.objects.filter(
            publication=Publication.EXPIRED, published_at__isnull=False
        ).order_by("-published_at", "-created_at")[:20]
    )
    return {"current": current, "upcoming": upcoming, "past": past}


def is_active_notice(*, slug: str, now: datetime | None = None) -> bool:
    """Whether ``slug`` names a notice shown on the site now (one that can be dismissed)."""
    return active_announcements(now=now).filter(slug=slug[:120]).exists()


def published_announcement(*, slug: str) -> Announcement | None:
    return (
        Announcement.objects.filter(
            slug=slug, publication__in=[Publication.PUBLISHED, Publication.EXPIRED]
        )
        .exclude(published_at__isnull=True)  # closed before it was ever published
        .prefetch_related("updates")
        .first()
    )


def feed_announcements(limit: int = 30) -> QuerySet[Announcement]:
    """The feed's notices, newest first, each with its updates (newest first)."""
    return (
        Announcement.objects.filter(publication__in=[Publication.PUBLISHED, Publication.EXPIRED])
        .exclude(published_at__isnull=True)  # closed before it was ever published
        .prefetch_related("updates")
        .order_by("-published_at")[:limit]
    )


def calendar_events() -> QuerySet[Announcement]:
    """Maintenance windows and holiday notices, for the iCalendar feed. A holiday notice made
    from a calendar day is left out: the day itself is in the feed (``calendar_days``)."""
    return (
        Announcement.objects.filter(
            publication__in=[Publication.PUBLISHED, Publication.SCHEDULED, Publication.EXPIRED],
            kind__in=[Announcement.Kind.MAINTENANCE, Announcement.Kind.HOLIDAY],
            starts_at__isnull=False,
            ends_at__isnull=False,
            calendar_exception__isnull=True,
        )
        .exclude(publication=Publication.EXPIRED, published_at__isnull=True)
        .order_by("starts_at")
    )


def calendar_days(*, today: date | None = None, days: int = 366) -> list[Closure]:
    """Closures and special hours from ``today`` (the service's day) for ``days`` days, with
    when the service opens again after each closure: the all-day events of the calendar feed."""
    calendar = load_calendar()
    today = today or timezone.localdate(timezone.now(), calendar.time_zone)
    start = datetime.combine(today, time.min, tzinfo=calendar.time_zone)
    return calendar.closures_between(start, days)


# --- The announcements desk -----------------------------------------------------------------


def desk_announcements(limit: int = 100) -> QuerySet[Announcement]:
    """Every announcement, newest first, for the desk's list (with the monitoring rule that
    opened it, if one did)."""
    return Announcement.objects.select_related("opened_by_rule").order_by("-created_at")[:limit]


def announcement_for_desk(pk: int) -> Announcement | None:
    return Announcement.objects.select_related("opened_by_rule").filter(pk=pk).first()


def alerts_of(announcement: Announcement, limit: int = 20) -> list[Alert]:
    """The alerts from monitoring that an incident gathers, those still firing first."""
    return list(
        announcement.alerts.order_by(
            Case(When(status=Alert.Status.FIRING, then=0), default=1), "-last_seen_at"
        )[:limit]
    )


@dataclass(frozen=True)
class SilentEnding:
    """How an incident from monitoring ended because its alerts stopped arriving (the desk
    says so plainly): the last alert that counted as resolved, when it was last received, and
    either the minutes of silence after which it counted as resolved or the end it announced."""

    last_seen_at: datetime
    resolved_at: datetime
    silent_minutes: int
    announced_end: datetime | None


def silent_ending(announcement: Announcement) -> SilentEnding | None:
    """Whether the incident was resolved because its alerts stopped arriving: resolved, and the
    last of its alerts to end ended by silence (or past its announced end) no later than the
    incident's resolution (an incident a person resolved before is not theirs)."""
    if not announcement.is_resolved or announcement.resolved_at is None:
        return None
    last = (
        announcement.alerts.exclude(ends_at=None)
        .exclude(status__in=[Alert.Status.PENDING, Alert.Status.FIRING])
        .order_by("-ends_at", "-pk")
        .first()
    )
    silent = (Alert.Resolution.SILENCE, Alert.Resolution.ENDS_AT)
    if last is None or last.resolution not in silent or last.ends_at > announcement.resolved_at:
        return None
    if announcement.alerts.filter(status=Alert.Status.FIRING).exists():
        return None
    announced = last.ends_at if last.resolution == Alert.Resolution.ENDS_AT else None
    return SilentEnding(
        last_seen_at=last.last_seen_at,
        resolved_at=last.ends_at,
        silent_minutes=int((last.ends_at - last.last_seen_at).total_seconds() // 60),
        announced_end=announced,
    )


def dispatch_for_desk(pk: int) -> Dispatch | None:
    return Dispatch.objects.filter(pk=pk).first()


def announcement_progress(announcement: Announcement) -> list["DispatchProgress"]:
    """How each mailing of the announcement is going, newest first."""
    return [
        dispatch_progress(dispatch) for dispatch in announcement.dispatches.order_by("-created_at")
    ]


@dataclass(frozen=True)
class DispatchProgress:
    dispatch: Dispatch
    queued: int
    sending: int
    sent: int
    failed: int

    @property
    def total(self) -> int:
        return self.queued + self.sending + self.sent + self.failed

    @property
    def done(self) -> bool:
        return self.dispatch.status != Dispatch.Status.PLANNING and self.queued + self.sending == 0

    @property
    def percent_sent(self) -> int:
        return round(100 * self.sent / self.total) if self.total else 100


def dispatch_progress(dispatch: Dispatch) -> DispatchProgress:
    counts = dict(
        OutgoingMessage.objects.filter(dispatch=dispatch)
        .values_list("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    return DispatchProgress(
        dispatch=dispatch,
        queued=counts.get(OutgoingMessage.Status.QUEUED, 0),
        sending=counts.get(OutgoingMessage.Status.SENDING, 0),
        sent=counts.get(OutgoingMessage.Status.SENT, 0),
        failed=counts.get(OutgoingMessage.Status.FAILED, 0),
    )


def email_already_queued(dedupe_key: str) -> bool:
    """Whether the outbox already holds the email with this key (queued, sent or failed)."""
    return OutgoingMessage.objects.filter(dedupe_key=dedupe_key).exists()


def email_statuses(dedupe_keys: list[str]) -> dict[str, str]:
    """Where each of these emails is in the outbox (``OutgoingMessage.Status``), by key, in one
    query; a key the outbox does not hold is missing from the answer."""
    if not dedupe_keys:
        return {}
    return dict(
        OutgoingMessage.objects.filter(dedupe_key__in=dedupe_keys).values_list(
            "dedupe_key", "status"
        )
    )


# --- Known problems, for the contact form and search (issue 14, item 2) ---------------------

# How often we promise news of a live incident: the contact form says when the next is due.
INCIDENT_UPDATE_INTERVAL = timedelta(hours=1)


def _is_live_problem(announcement: Announcement, now: datetime) -> bool:
    """An incident not yet resolved, or a maintenance under way (or about to start)."""
    if announcement.phase in (Announcement.Phase.RESOLVED, Announcement.Phase.COMPLETED):
        return False
    if announcement.kind == Announcement.Kind.INCIDENT:
        return True
    return announcement.kind == Announcement.Kind.MAINTENANCE and (
        announcement.starts_at is None or announcement.starts_at <= now
    )


def live_problems_for_areas(
    areas: list[str], *, request=None, now: datetime | None = None
) -> list[Announcement]:
    """Live incidents and maintenance that affect these contact reason codes (a reason's own
    code and its group's), and incidents that affect the whole site; most severe first."""
    now = now or timezone.now()
    wanted = set(areas)
    return [
        announcement
        for announcement in current_announcements(request, now=now)
        if _is_live_problem(announcement, now)
        and (
            (announcement.areas and wanted & set(announcement.areas))
            or (not announcement.areas and announcement.kind == Announcement.Kind.INCIDENT)
        )
    ]


def is_live_problem(announcement: Announcement, *, now: datetime | None = None) -> bool:
    """Whether a visitor may follow this notice now ("tell me when it is fixed")."""
    return announcement.publication == Publication.PUBLISHED and _is_live_problem(
        announcement, now or timezone.now()
    )


def live_problem(pk: int | None, *, now: datetime | None = None) -> Announcement | None:
    """The live incident or maintenance with this id (one a visitor may follow), or None."""
    now = now or timezone.now()
    if not pk:
        return None
    announcement = active_announcements(now=now).filter(pk=pk).first()
    return announcement if announcement and _is_live_problem(announcement, now) else None


_STOP_WORDS = frozenset(
    re.findall(
        r"\w+",
        "the and for with not can cannot cant does dont that this what when where which have from "
        "your you are was were will would there their some into about after before again "
        "los las una unos unas que por para con sin como cuando donde esta este esto estan "
        "puedo puede pueden hay del mis tus sus nos hace hacer ser son soy muy mas pero "
        "problema problemas problem problems",
    )
)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _words(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", _fold(text)) if len(word) > 3} - _STOP_WORDS


def _same_word(one: str, other: str) -> bool:
    # A light stem: "pagar", "pagos" and "pago" meet on "pag"; "tarjeta" and "tarjetas" too.
    size = min(len(one), len(other), 5)
    return one[: max(size - 1, 4)] == other[: max(size - 1, 4)] if size > 4 else one == other


def live_problems_about(
    text: str, *, also: list[str] = (), request=None, now: datetime | None = None
) -> list[Announcement]:
    """Live incidents and maintenance whose words (title and text in the page's language,
    plus ``also``: e.g. the names of the reasons they affect) share a word with ``text``."""
    now = now or timezone.now()
    query = _words(text[:200])
    if not query:
        return []
    found = []
    for announcement in current_announcements(request, now=now):
        if not _is_live_problem(announcement, now):
            continue
        words = _words(f"{announcement.title} {announcement.body} {' '.join(also)}")
        if any(_same_word(asked, word) for asked in query for word in words):
            found.append(announcement)
    return found


def next_incident_update(
    announcement: Announcement, *, now: datetime | None = None
) -> datetime | None:
    """When the next news of a live incident is due (an hour after the last), or None once
    that time has passed (the page then says news comes as soon as there is any)."""
    now = now or timezone.now()
    latest = (
        AnnouncementUpdate.objects.filter(announcement=announcement)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    last = max(filter(None, [latest, announcement.published_at]), default=None)
    due = last + INCIDENT_UPDATE_INTERVAL if last else None
    return due if due and due > now else None


def updates_of(announcement_ids: list[int], *, since: datetime) -> list[AnnouncementUpdate]:
    """The public updates of these announcements posted after ``since``, oldest first."""
    return list(
        AnnouncementUpdate.objects.filter(
            announcement_id__in=announcement_ids, created_at__gt=since
        )
        .select_related("announcement")
        .order_by("created_at", "id")
    )
