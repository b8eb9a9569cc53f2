"""Incidents from monitoring: alerts in, incidents opened, grouped, reopened and resolved.

An alert (Alertmanager's, or the generic JSON's) is known by its fingerprint. The first rule
whose matchers hold takes it; from then on the fingerprint stays with that rule until it
resolves, whatever the rules become meanwhile.

- **Minimum duration.** An alert firing for less than its rule's ``min_duration`` is pending:
  it opens nothing. ``promote_pending_alerts`` (a beat job) opens what has been firing long
  enough; an alert that resolves before then has flapped and never opens anything.
- **One incident per rule.** Every alert of a rule that fires while its incident is open joins
  that incident; the incident is resolved when the last of them resolves.
- **Reopening.** An alert that fires again within the rule's ``reopen_within`` after its
  incident was resolved reopens that incident (an update, back to investigating) instead of
  opening another one; later, a new incident opens.
- **Repeats.** Alertmanager sends a firing group again every ``repeat_interval`` (and each
  replica of a cluster may send it): an alert already firing only has its last sighting noted,
  so any number of repeats make one incident and one mailing.
- **Silence.** Monitoring that never says an alert resolved (Alertmanager with
  ``send_resolved: false``, most other tools) sends it again while it fires and simply stops.
  Under a rule with ``resolve_after_silence``, an alert not received for that long counts as
  resolved; so does one whose announced end (a real future ``endsAt``) passes before it is
  received again. ``resolve_silent_alerts`` (a beat job) resolves them, and their incident,
  exactly as a resolution sent by monitoring would (``Alert.resolution`` says which it was).

Each incident is the rule's words with the alert's labels filled in (``notifications.alerting``),
created, published and resolved through the announcement services (the site's banner, the
subscribers' mailing and the incident's followers, as for one written by a person). A rule that
does not publish at once leaves a draft on the notices desk, marked as opened by monitoring; if
its alerts resolve before anyone publishes it, the draft is closed (``resolved_before_publishing``:
it can no longer be published as an ongoing problem) and comes back as a draft if they fire
again within the rule's ``reopen_within``.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from notifications.alerting import matches_all, parse_matchers, render_markdown_text, render_title
from notifications.models import Alert, AlertRule, Announcement, AnnouncementUpdate
from notifications.services.announcements import (
    create_announcement,
    phases_for,
    post_update,
    resolve_announcement,
)

FIRING, RESOLVED = "firing", "resolved"
ALERTMANAGER, GENERIC = Alert.Source.ALERTMANAGER, Alert.Source.GENERIC
Status = Alert.Status
Publication = Announcement.Publication


@dataclass(frozen=True)
class IncomingAlert:
    """One alert as monitoring sent it (already parsed: times with their zone)."""

    status: str  # "firing" or "resolved"
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    fingerprint: str = ""

    @property
    def key(self) -> str:
        """Its fingerprint, or one made from its labels (as Alertmanager makes its own)."""
        if self.fingerprint:
            return self.fingerprint
        canonical = json.dumps(sorted(self.labels.items()), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class AlertOutcome:
    """What receiving one alert did: ``outcome`` is one of opened, reopened, updated,
    pending, resolved, flapped, ignored, unmatched."""

    fingerprint: str
    outcome: str
    rule: str = ""
    incident: Announcement | None = None


def _first_matching_rule(rules: list[tuple[AlertRule, list]], labels: dict) -> AlertRule | None:
    return next((rule for rule, matchers in rules if matches_all(matchers, labels)), None)


def _enabled_rules() -> list[tuple[AlertRule, list]]:
    rules = []
    for rule in AlertRule.objects.filter(enabled=True).order_by("position", "pk"):
        try:
            rules.append((rule, parse_matchers(rule.matchers)))
        except ValidationError:  # saved before a validator existed: it matches nothing
            continue
    return rules


def _active_alert(fingerprint: str) -> Alert | None:
    return (
        Alert.objects.select_related("rule", "announcement")
        .filter(fingerprint=fingerprint, status__in=[Status.PENDING, Status.FIRING])
        .order_by("-last_seen_at")
        .first()
    )


@transaction.atomic
def receive_alerts(
    *,
    alerts: Iterable[IncomingAlert],
    source: str,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> list[AlertOutcome]:
    """Record each alert, and open, join, reopen or resolve its rule's incident; returns what
    happened to each, in order. Idempotent for repeats (an alert already firing, an alert
    already resolved). The incidents are written as ``actor``'s (the API key's user).

    The rules an alert touches are locked (in primary-key order, so two deliveries never wait
    on each other crosswise) before their incidents are read: two replicas of Alertmanager
    delivering the same group at the same moment open one incident, not two."""
    now = now or timezone.now()
    alerts = list(alerts)
    rules = _enabled_rules()
    chosen: dict[int, AlertRule | None] = {}
    for index, incoming in enumerate(alerts):
        active = _active_alert(incoming.key)
        chosen[index] = active.rule if active else _first_matching_rule(rules, incoming.labels)
    rule_ids = sorted({rule.pk for rule in chosen.values() if rule is not None})
    list(AlertRule.objects.select_for_update().filter(pk__in=rule_ids).order_by("pk"))
    return [
        _receive(incoming, chosen[index], source=source, actor=actor, now=now)
        for index, incoming in enumerate(alerts)
    ]


def _receive(
    incoming: IncomingAlert,
    rule: AlertRule | None,
    *,
    source: str,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> AlertOutcome:
    fingerprint = incoming.key
    if rule is None:
        return AlertOutcome(fingerprint, "unmatched")
    alert = Alert.objects.filter(rule=rule, fingerprint=fingerprint).first()
    if incoming.status == RESOLVED:
        return _resolve(alert, rule, incoming, actor=actor, now=now)
    if alert is None or alert.status not in (Status.PENDING, Status.FIRING):
        alert = alert or Alert(rule=rule, fingerprint=fingerprint, first_seen_at=now)
        # A new firing (or one that comes back): its own start, nothing attached yet.
        alert.status = Status.PENDING
        alert.starts_at = min(incoming.starts_at or now, now)
        alert.ends_at = None
        alert.resolution = ""
        alert.announcement = None
    alert.source = source
    if actor is not None and actor.pk is not None:
        alert.received_by = actor
    alert.labels = incoming.labels
    alert.annotations = incoming.annotations
    alert.last_seen_at = now
    # Each sending announces its own end (or none): a past one is no promise of anything.
    ends_at = incoming.ends_at
    alert.expected_end_at = ends_at if ends_at is not None and ends_at > now else None
    if alert.status == Status.FIRING:
        alert.save()
        return AlertOutcome(fingerprint, "updated", rule.name, alert.announcement)
    if not _may_open(alert, rule, now):
        alert.save()
        return AlertOutcome(fingerprint, "pending", rule.name)
    outcome, incident = _open(alert, rule, actor=actor, now=now)
    return AlertOutcome(fingerprint, outcome, rule.name, incident)


def _may_open(alert: Alert, rule: AlertRule, now: datetime) -> bool:
    """Firing for the rule's minimum duration, under a rule still enabled (a disabled rule
    opens nothing more; what it opened still resolves), and not over by silence."""
    return (
        rule.enabled
        and now - alert.starts_at >= timedelta(seconds=rule.min_duration)
        and _silent_end(alert, rule, now) is None
    )


def _silent_end(alert: Alert, rule: AlertRule, now: datetime) -> tuple[str, datetime] | None:
    """Whether an alert still pending or firing is over because it stopped arriving, and how:
    ``(Resolution.ENDS_AT, its announced end)`` once the end it announced has passed, or
    ``(Resolution.SILENCE, now)`` once it has not been received for the rule's silence."""
    if alert.expected_end_at is not None and alert.expected_end_at <= now:
        return Alert.Resolution.ENDS_AT, alert.expected_end_at
    silence = rule.resolve_after_silence
    if silence and now - alert.last_seen_at >= timedelta(minutes=silence):
        return Alert.Resolution.SILENCE, now
    return None


def _texts(rule: AlertRule, alert: Alert, prefix: str) -> dict[str, str]:
    return {
        f"{prefix}_{language}": render_markdown_text(
            getattr(rule, f"{prefix}_{language}"),
            labels=alert.labels,
            annotations=alert.annotations,
        )
        for language in ("es", "en")
    }


def _standard(sentence_in) -> dict[str, str]:
    """A standard sentence in both languages: ``sentence_in()`` is called in each."""
    texts = {}
    for language in ("es", "en"):
        with translation.override(language):
            texts[f"body_{language}"] = sentence_in()
    return texts


def _current_incident(rule: AlertRule, now: datetime) -> tuple[Announcement | None, bool]:
    """The rule's incident an alert firing now belongs to, and whether it must be reopened:
    its latest, while unresolved or resolved less than ``reopen_within`` ago (never one a
    person withdrew; a draft closed because it resolved before anyone published it comes back
    as a draft)."""
    latest = rule.incidents.order_by("-created_at", "-pk").first()
    if latest is None:
        return None, False
    if latest.publication == Publication.EXPIRED and not latest.resolved_before_publishing:
        return None, False
    if not latest.is_resolved:
        return latest, False
    if latest.resolved_at and now - latest.resolved_at <= timedelta(seconds=rule.reopen_within):
        return latest, True
    return None, False


def _open(
    alert: Alert, rule: AlertRule, *, actor: AbstractBaseUser | None, now: datetime
) -> tuple[str, Announcement]:
    """Attach a firing alert to its rule's incident: join the open one, reopen one resolved a
    moment ago, or open a new one (a draft, or published at once, as the rule says)."""
    incident, reopen = _current_incident(rule, now)
    if incident is not None and reopen:
        post_update(
            announcement=incident,
            phase=phases_for(incident.kind)[0],
            **_standard(lambda: _("The problem is back. We are looking into it again.")),
            notify_subscribers=True,
            actor=actor,
            now=now,
        )
        outcome = "reopened"
    elif incident is not None:
        outcome = "updated"
    else:
        incident = _new_incident(alert, rule, actor=actor, now=now)
        outcome = "opened"
    alert.status = Status.FIRING
    alert.announcement = incident
    alert.save()
    return outcome, incident


def _new_incident(
    alert: Alert, rule: AlertRule, *, actor: AbstractBaseUser | None, now: datetime
) -> Announcement:
    fields = {
        "kind": rule.kind,
        "severity": rule.severity,
        **{
            # A title made only of values the alert did not carry: the rule's name instead.
            f"title_{language}": render_title(
                getattr(rule, f"title_{language}"),
                labels=alert.labels,
                annotations=alert.annotations,
            )
            or rule.name
            for language in ("es", "en")
        },
        **_texts(rule, alert, "body"),
        "areas": list(rule.areas),
        "starts_at": alert.starts_at,
        "actor": actor,
        "now": now,
    }
    incident = None
    if rule.publish_at_once:
        try:
            with transaction.atomic():
                incident = create_announcement(**fields, publish=True)
        except ValidationError:
            # The words filled in cannot be published as they are (an alert's value left a
            # placeholder in the title): a draft, for a person to fix and publish.
            incident = None
    if incident is None:
        incident = create_announcement(**fields, publish=False)
    Announcement.objects.filter(pk=incident.pk).update(opened_by_rule=rule)
    incident.opened_by_rule = rule
    return incident


def _resolve(
    alert: Alert | None,
    rule: AlertRule,
    incoming: IncomingAlert,
    *,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> AlertOutcome:
    fingerprint = incoming.key
    if alert is None:
        return AlertOutcome(fingerprint, "ignored", rule.name)
    if alert.status in (Status.RESOLVED, Status.FLAPPED):
        return AlertOutcome(fingerprint, alert.status, rule.name, alert.announcement)
    alert.last_seen_at = now
    alert.labels = incoming.labels or alert.labels
    alert.annotations = incoming.annotations or alert.annotations
    outcome = _end(
        alert,
        rule,
        resolution=Alert.Resolution.SENT,
        ends_at=min(incoming.ends_at or now, now),
        actor=actor,
        now=now,
    )
    return AlertOutcome(fingerprint, outcome, rule.name, alert.announcement)


def _end(
    alert: Alert,
    rule: AlertRule,
    *,
    resolution: str,
    ends_at: datetime,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> str:
    """An alert pending or firing is over (``resolution`` says how we know): one still
    pending has flapped; one firing resolves, and its incident with it once none of its
    alerts fires. Returns ``flapped`` or ``resolved``."""
    alert.ends_at = ends_at
    alert.expected_end_at = None
    alert.resolution = resolution
    if alert.status == Status.PENDING:
        alert.status = Status.FLAPPED  # it never lasted long enough to open anything
        alert.save()
        return "flapped"
    alert.status = Status.RESOLVED
    alert.save()
    if alert.announcement is not None:
        _resolve_incident_if_quiet(alert.announcement, alert, rule, actor=actor, now=now)
    return "resolved"


def _resolve_incident_if_quiet(
    incident: Announcement,
    alert: Alert,
    rule: AlertRule,
    *,
    actor: AbstractBaseUser | None,
    now: datetime,
) -> AnnouncementUpdate | None:
    """Resolve the incident once none of its alerts fires any more (unless a person already
    resolved it)."""
    if incident.alerts.filter(status=Status.FIRING).exists():
        return None
    incident.refresh_from_db()
    if incident.is_resolved:
        return None
    written = _texts(rule, alert, "resolution")
    texts = {f"body_{language}": written[f"resolution_{language}"] for language in ("es", "en")}
    if not all(text.strip() for text in texts.values()):
        texts = _standard(lambda: _("Resolved: everything works normally again."))
    return resolve_announcement(
        announcement=incident,
        **texts,
        notify_subscribers=True,
        actor=actor,
        now=now,
    )


def promote_pending_alerts(*, now: datetime | None = None) -> int:
    """The beat job: open (or join) the incident of every pending alert that has now been
    firing for its rule's minimum duration. Idempotent: an alert promoted once is firing, and
    is never promoted again. Returns how many were promoted."""
    now = now or timezone.now()
    promoted = 0
    pending = Alert.objects.filter(status=Status.PENDING).select_related("rule", "received_by")
    for candidate in pending:
        if not _may_open(candidate, candidate.rule, now):
            continue
        with transaction.atomic():
            AlertRule.objects.select_for_update().filter(pk=candidate.rule_id).first()
            alert = Alert.objects.select_related("rule", "received_by").get(pk=candidate.pk)
            if alert.status != Status.PENDING:
                continue  # resolved or promoted meanwhile
            # The incident is the work of the key that sent the alert, as if it had opened it.
            _open(alert, alert.rule, actor=alert.received_by, now=now)
            promoted += 1
    return promoted


def resolve_silent_alerts(*, now: datetime | None = None) -> int:
    """The beat job: resolve every alert pending or firing that stopped arriving (not received
    for its rule's ``resolve_after_silence``, or past the end it announced), and its incident
    once none of its alerts fires, as a resolution sent by monitoring would. Idempotent: an
    alert resolved once is no longer pending or firing. Returns how many it resolved."""
    now = now or timezone.now()
    resolved = 0
    candidates = Alert.objects.filter(
        Q(expected_end_at__lte=now) | Q(rule__resolve_after_silence__isnull=False),
        status__in=[Status.PENDING, Status.FIRING],
    ).select_related("rule")
    for candidate in candidates:
        if _silent_end(candidate, candidate.rule, now) is None:
            continue
        with transaction.atomic():
            AlertRule.objects.select_for_update().filter(pk=candidate.rule_id).first()
            alert = Alert.objects.select_related("rule", "received_by", "announcement").get(
                pk=candidate.pk
            )
            ending = _silent_end(alert, alert.rule, now)
            if alert.status not in (Status.PENDING, Status.FIRING) or ending is None:
                continue  # received again, or resolved, meanwhile
            resolution, ends_at = ending
            # The resolution is the work of the key that sent the alert, as if it had sent it.
            _end(
                alert,
                alert.rule,
                resolution=resolution,
                ends_at=ends_at,
                actor=alert.received_by,
                now=now,
            )
            resolved += 1
    return resolved
