"""A believable past for the help center: months of visits, searches, cases and ratings.

Used by the demo (so the insights page has something to show on a fresh install) and by
bench/insights.py (at a million-row scale). Rows are written in bulk, straight to every app's
tables, the way the apps would have recorded them over time; then the days are rolled up. It
is the project's, not insights', which reads the other apps only through their reporting.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TextIO

from django.db.models import F
from django.utils import timezone

from cases.models import Case, CaseEvent, ContactReason, Deflection
from cases.services import write_case_search_text
from cases.services.lifecycle import REFERENCE_ALPHABET
from foundation.models import DailyCounter
from foundation.times import service_zone
from insights import services as insights
from kb.models import Article, ArticleDailyViews, ArticleFeedback, SearchLog

HISTORY_EMAIL_DOMAIN = "historial.example"
ANSWERED_QUERIES = [
    "pedido no llega", "devolucion", "cambiar direccion", "factura", "contraseña", "reembolso",
    "tarjeta rechazada", "seguimiento envio", "horario", "cancelar pedido", "where is my order",
    "refund", "password reset",
]  # fmt: skip
UNANSWERED_QUERIES = [
    "factura duplicada", "cambiar titular", "pago con bizum", "envio a canarias", "garantia",
    "cupon no funciona", "gift card", "puntos de fidelidad",
]  # fmt: skip
COMMENTS = {
    5: ["Muy rápidos, gracias.", "Me lo resolvieron el mismo día.", "Great service, thanks!"],
    4: ["Bien, aunque tardaron un poco.", "Todo correcto."],
    3: ["Se resolvió, pero tuve que escribir dos veces."],
    2: ["Tardaron mucho en contestar.", "Nadie me dijo qué pasaba con el transportista."],
    1: ["Sigo sin el reembolso.", "Took a week to get an answer."],
}


@dataclass(frozen=True)
class Scale:
    days: int
    cases_per_day: int
    events_per_case: int  # on average, opening included
    searches_per_day: int
    visits_per_day: int


DEMO_SCALE = Scale(days=200, cases_per_day=9, events_per_case=6, searches_per_day=60,
                   visits_per_day=700)  # fmt: skip


class References:
    """Case references drawn from ``rng``: none in the database, none drawn before."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set(Case.objects.values_list("reference", flat=True))

    def next(self) -> str:
        while True:
            letters = "".join(self.rng.choices(REFERENCE_ALPHABET, k=8))
            reference = f"{letters[:4]}-{letters[4:]}"
            if reference not in self.used:
                self.used.add(reference)
                return reference


def _moment(rng: random.Random, day: date) -> datetime:
    minutes = rng.randint(8 * 60, 21 * 60)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=service_zone())


def generate_history(
    scale: Scale,
    *,
    seed: int = 2026,
    batch_size: int = 5000,
    progress: Callable[[str, int], None] | None = None,
    today: date | None = None,
) -> dict[str, int]:
    """Write ``scale.days`` days of history ending the day before ``today`` (the service's
    today by default); returns the rows written."""
    rng = random.Random(seed)
    reasons = list(
        ContactReason.objects.filter(parent__isnull=False, active=True, is_status_inquiry=False)
    )
    if not reasons:
        raise ValueError("Load the contact reasons first (manage.py load_demo).")
    # Some reasons grow over the months (a problem getting worse), most stay flat.
    growth = {reason.pk: rng.choice([0.6, 1.0, 1.0, 1.0, 1.6, 2.4]) for reason in reasons}
    weights = [rng.uniform(0.3, 3.0) for _ in reasons]
    articles = list(Article.objects.published().only("pk"))
    references = References(rng)
    today = today or timezone.localdate(timezone=service_zone())
    written = dict.fromkeys(["cases", "events", "searches", "feedback", "deflections"], 0)
    cases: list[Case] = []
    events: list[tuple[int, list[CaseEvent]]] = []
    view_totals: dict[int, int] = {}

    def flush_cases() -> None:
        Case.objects.bulk_create(cases, batch_size=batch_size)
        CaseEvent.objects.bulk_create(
            [
                CaseEvent(case_id=case.pk, **fields)
                for case, case_events in zip(cases, events, strict=True)
                for fields in case_events
            ],
            batch_size=batch_size,
        )
        write_case_search_text(case_ids=[case.pk for case in cases])  # found on the desk
        written["cases"] += len(cases)
        written["events"] += sum(len(case_events) for case_events in events)
        cases.clear()
        events.clear()

    for offset in range(scale.days, 0, -1):
        day = today - timedelta(days=offset)
        age = 1 - offset / scale.days  # 0 for the oldest day, 1 for yesterday
        weekend = day.weekday() >= 5
        factor = 0.55 if weekend else 1.0
        day_weights = [
            weight * (1 + (growth[reason.pk] - 1) * age)
            for weight, reason in zip(weights, reasons, strict=True)
        ]
        count = max(0, round(rng.gauss(scale.cases_per_day * factor, scale.cases_per_day * 0.2)))
        for reason in rng.choices(reasons, day_weights, k=count):
            case, case_events = _case(rng, reason, day, references.next(), scale)
            cases.append(case)
            events.append(case_events)
        if len(cases) >= batch_size:
            flush_cases()
        written["searches"] += _searches(rng, day, scale, reasons, factor, batch_size)
        written["feedback"] += _article_activity(rng, day, articles, factor, scale, view_totals)
        written["deflections"] += _deflections(rng, day, reasons, factor, scale)
        visits = round(scale.visits_per_day * factor * rng.uniform(0.85, 1.15))
        DailyCounter.objects.bulk_create(
            [
                DailyCounter(day=day, name="visits", value=visits),
                DailyCounter(day=day, name="contact_form_opened", value=round(visits * 0.04)),
                DailyCounter(day=day, name="suggestions_shown", value=round(visits * 0.025)),
            ],
            ignore_conflicts=True,
        )
        if progress:
            progress(day.isoformat(), written["cases"] + len(cases))
    flush_cases()
    # The admin's "views" (Article.view_count) counts what the daily rows count, as
    # kb.services.flush_article_views does for live views: without this the admin list showed
    # only the views since installation and the insights page months of them.
    for article_id, views in view_totals.items():
        Article.objects.filter(pk=article_id).update(view_count=F("view_count") + views)
    return written


def _case(rng: random.Random, reason: ContactReason, day: date, reference: str, scale: Scale):
    opened = _moment(rng, day)
    first_due = opened + timedelta(hours=reason.first_response_hours * 1.6)
    resolution_due = opened + timedelta(days=reason.resolution_days * 1.4)
    first_reply = opened + timedelta(hours=reason.first_response_hours * rng.uniform(0.2, 2.2))
    resolved = opened + timedelta(days=reason.resolution_days * rng.uniform(0.3, 2.0))
    rating = rng.choices([5, 4, 3, 2, 1], [40, 25, 12, 13, 10])[0] if rng.random() < 0.35 else None
    case = Case(
        reference=reference,
        customer_email=f"cliente{reference[:4].lower()}@{HISTORY_EMAIL_DOMAIN}",
        customer_name="Cliente",
        language="es" if rng.random() < 0.8 else "en",
        reason=reason,
        subject=reason.name_es,
        description="…",
        status=Case.Status.CLOSED,
        team_id=reason.team_id,
        assignee_id=reason.owner_id,
        first_response_due=first_due,
        resolution_due=resolution_due,
        first_responded_at=first_reply,
        resolved_at=resolved,
        closed_at=resolved + timedelta(days=7),
        satisfaction=rating,
        opened_during_notice=rng.random() < 0.04,
        saw_reason_article=(rng.random() < 0.45) if reason.article_keys else None,
        created_at=opened,
        customer_told_until=resolved,
    )
    Kind, Status = CaseEvent.Kind, Case.Status
    timeline = [
        {"kind": Kind.OPENED, "by_customer": True, "body": "…", "created_at": opened},
        {"kind": Kind.PUBLIC_REPLY, "body": "…", "created_at": first_reply},
        {"kind": Kind.STATUS, "from_status": Status.RECEIVED, "to_status": Status.IN_PROGRESS,
         "created_at": first_reply},
    ]  # fmt: skip
    # Opening, reply, two status changes and (sometimes) a rating: the rest is conversation.
    middle = max(0, scale.events_per_case - 5 + (rng.random() < 0.6))
    for step in range(middle):
        moment = first_reply + (resolved - first_reply) * (step + 1) / (middle + 1)
        if step % 2:
            timeline.append({"kind": Kind.INTERNAL_NOTE, "public": False, "body": "…",
                             "created_at": moment})  # fmt: skip
        else:
            timeline.append({"kind": Kind.CUSTOMER_MESSAGE, "by_customer": True, "body": "…",
                             "created_at": moment})  # fmt: skip
    timeline.append({"kind": Kind.STATUS, "from_status": Status.IN_PROGRESS,
                     "to_status": Status.RESOLVED, "created_at": resolved})  # fmt: skip
    if rating is not None:
        comment = rng.choice(COMMENTS[rating]) if rng.random() < 0.5 else ""
        timeline.append({"kind": Kind.SATISFACTION, "by_customer": True, "rating": rating,
                         "body": comment, "created_at": resolved + timedelta(hours=5)})  # fmt: skip
    if rng.random() < 0.06:
        timeline.append({"kind": Kind.STATUS, "from_status": Status.RESOLVED,
                         "to_status": Status.REOPENED, "by_customer": True,
                         "created_at": resolved + timedelta(days=2)})  # fmt: skip
    return case, timeline


def _searches(rng, day, scale, reasons, factor, batch_size) -> int:
    logs = []
    for _ in range(round(scale.searches_per_day * factor * rng.uniform(0.85, 1.15))):
        unanswered = rng.random() < 0.12
        query = rng.choice(UNANSWERED_QUERIES if unanswered else ANSWERED_QUERIES)
        followed = rng.choice(reasons).code if rng.random() < (0.3 if unanswered else 0.03) else ""
        logs.append(
            SearchLog(
                query=query, language="es", results_count=0 if unanswered else rng.randint(1, 8),
                followed_by_contact=followed, created_at=_moment(rng, day),
            )
        )  # fmt: skip
    SearchLog.objects.bulk_create(logs, batch_size=batch_size)
    return len(logs)


def _article_activity(rng, day, articles, factor, scale, view_totals) -> int:
    if not articles:
        return 0
    views_per_article = scale.visits_per_day * factor * 0.9 / len(articles)
    rows = [
        ArticleDailyViews(
            article_id=article.pk, day=day, views=round(views_per_article * rng.uniform(0, 2))
        )
        for article in articles
    ]
    ArticleDailyViews.objects.bulk_create(rows, ignore_conflicts=True)
    for row in rows:
        view_totals[row.article_id] = view_totals.get(row.article_id, 0) + row.views
    votes = []
    for index in range(round(scale.visits_per_day * factor * 0.02)):
        article = rng.choice(articles)
        helpful_share = 0.35 if article.pk % 7 == 0 else 0.8  # a few articles answer badly
        votes.append(
            ArticleFeedback(
                article_id=article.pk, helpful=rng.random() < helpful_share,
                language="es", visitor_hash=f"history-{day.isoformat()}-{index}",
                created_at=_moment(rng, day),
            )
        )  # fmt: skip
    ArticleFeedback.objects.bulk_create(votes)
    return len(votes)


def _deflections(rng, day, reasons, factor, scale) -> int:
    rows = []
    for kind, share in [
        (Deflection.Kind.ARTICLE, 0.35),
        (Deflection.Kind.STATUS_INQUIRY, 0.2),
        (Deflection.Kind.DUPLICATE, 0.05),
    ]:
        for _ in range(round(scale.cases_per_day * factor * share * rng.uniform(0.7, 1.3))):
            rows.append(
                Deflection(kind=kind, reason=rng.choice(reasons), created_at=_moment(rng, day))
            )
    Deflection.objects.bulk_create(rows)
    return len(rows)


def load(stdout: TextIO) -> None:
    """The demo's four months of history (``manage.py load_demo``), rolled up for the insights
    page; once."""
    if Case.objects.filter(customer_email__endswith=f"@{HISTORY_EMAIL_DOMAIN}").exists():
        stdout.write("  insights: demo history already there")
        return
    written = generate_history(DEMO_SCALE)
    insights.roll_up_recent_days(days=DEMO_SCALE.days + 1)
    stdout.write(
        f"  insights: {DEMO_SCALE.days} days of history ({written['cases']} past cases, "
        f"{written['searches']} searches), rolled up for /desk/insights/"
    )
