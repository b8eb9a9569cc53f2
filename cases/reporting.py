"""What the cases app tells the insights: figures per day, reason and team, read in bulk.

Each figure belongs to the day of the event it counts (a case opened, a promise falling due,
a status change, a rating), so that a day's figures are final once the day is over.
"""

from collections import defaultdict
from datetime import datetime

from django.db.models import Count, F, Q, QuerySet

from cases.models import Case, CaseEvent, ContactReason, Deflection, Team

ReasonTeam = tuple[int | None, int | None]


def _add(figures: dict[ReasonTeam, dict], rows) -> None:
    """Add grouped rows; counts are annotated as ``n_<figure>`` (some figures share a name
    with a Case field, which an annotation may not shadow)."""
    for row in rows:
        key = (row.pop("reason_id"), row.pop("team_id"))
        for name, value in row.items():
            figure = name.removeprefix("n_")
            figures[key][figure] = figures[key].get(figure, 0) + value


def figures_between(start: datetime, end: datetime, *, now: datetime) -> dict[ReasonTeam, dict]:
    """Figures for events in [start, end), keyed by (reason id, team id)."""
    figures: dict[ReasonTeam, dict] = defaultdict(dict)

    opened = (
        Case.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("reason_id", "team_id")
        .annotate(
            n_opened=Count("id"),
            n_opened_during_notice=Count("id", filter=Q(opened_during_notice=True)),
            n_opened_without_article=Count("id", filter=Q(saw_reason_article=False)),
        )
    )
    _add(figures, opened)

    # A promise counts on the day it falls due, once that moment has passed.
    due_end = min(end, now)
    first_response = (
        Case.objects.filter(first_response_due__gte=start, first_response_due__lt=due_end)
        .values("reason_id", "team_id")
        .annotate(
            n_first_response_due=Count("id"),
            n_first_response_kept=Count(
                "id", filter=Q(first_responded_at__lte=F("first_response_due"))
            ),
        )
    )
    _add(figures, first_response)
    resolution = (
        Case.objects.filter(resolution_due__gte=start, resolution_due__lt=due_end)
        .values("reason_id", "team_id")
        .annotate(
            n_resolution_due=Count("id"),
            n_resolution_kept=Count("id", filter=Q(resolved_at__lte=F("resolution_due"))),
        )
    )
    _add(figures, resolution)

    events = (
        CaseEvent.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            kind__in=[CaseEvent.Kind.STATUS, CaseEvent.Kind.SATISFACTION],
        )
        .values(reason_id=F("case__reason_id"), team_id=F("case__team_id"))
        .annotate(
            n_resolved=Count(
                "id",
                filter=Q(kind=CaseEvent.Kind.STATUS, to_status=Case.Status.RESOLVED),
            ),
            n_reopened=Count(
                "id",
                filter=Q(kind=CaseEvent.Kind.STATUS, to_status=Case.Status.REOPENED),
            ),
            **{
                f"n_rating_{stars}": Count(
                    "id", filter=Q(kind=CaseEvent.Kind.SATISFACTION, rating=stars)
                )
                for stars in range(1, 6)
            },
        )
    )
    _add(figures, events)

    deflections = (
        Deflection.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("reason_id", team_id=F("reason__team_id"))
        .annotate(
            n_deflected_article=Count("id", filter=Q(kind=Deflection.Kind.ARTICLE)),
            n_deflected_status=Count("id", filter=Q(kind=Deflection.Kind.STATUS_INQUIRY)),
            n_deflected_duplicate=Count("id", filter=Q(kind=Deflection.Kind.DUPLICATE)),
            n_deflected_incident=Count("id", filter=Q(kind=Deflection.Kind.INCIDENT)),
            n_deflected_notice=Count("id", filter=Q(kind=Deflection.Kind.NOTICE)),
        )
    )
    _add(figures, deflections)
    return dict(figures)


def reasons() -> QuerySet[ContactReason]:
    """Every contact reason with its group, team and accountable person."""
    return ContactReason.objects.select_related("parent", "team", "owner").order_by(
        "parent__position", "position", "name_es"
    )


def teams() -> QuerySet[Team]:
    return Team.objects.all()


def rating_comments(
    start: datetime, end: datetime, *, reason_ids: list[int] | None = None, limit: int = 30
) -> QuerySet[CaseEvent]:
    """The newest satisfaction ratings that came with a comment, with their case's reason."""
    ratings = CaseEvent.objects.filter(
        kind=CaseEvent.Kind.SATISFACTION, created_at__gte=start, created_at__lt=end
    ).exclude(body="")
    if reason_ids is not None:
        ratings = ratings.filter(case__reason_id__in=reason_ids)
    return ratings.select_related("case__reason", "case__team").order_by("-created_at")[:limit]


def reason_owner_ids() -> QuerySet:
    return ContactReason.objects.filter(owner__isnull=False).values("owner_id")
