"""Reads of the insights page: every figure for a period, with the period before it.

All counts come from the daily rollups (insights.services), so the page reads a few hundred
rows whatever the size of the search log or the case history; lists of articles and comments
come from the other apps' own read functions.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Max, QuerySet, Sum
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from cases import reporting as case_figures
from insights import charts
from insights.models import RATING_FIELDS, DailyReasonStats, DailySearchTerm, DailySiteStats
from insights.periods import Period, service_today
from kb import reporting as kb_figures

REASON_FIELDS = [
    field.name
    for field in DailyReasonStats._meta.get_fields()
    if field.get_internal_type() == "PositiveIntegerField"
]
SITE_FIELDS = [
    field.name
    for field in DailySiteStats._meta.get_fields()
    if field.get_internal_type() == "PositiveIntegerField"
]
DEFLECTION_FIELDS = [
    "deflected_article",
    "deflected_status",
    "deflected_duplicate",
    "deflected_incident",
    "deflected_notice",
]
MIN_VOTES_FOR_HELPFULNESS = 5
TOP = 15


@dataclass
class Table:
    """A table of the page, also offered as CSV (same rows, same columns)."""

    slug: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict] = field(default_factory=list)

    @property
    def lines(self) -> list[tuple[dict, list]]:
        """Each row with its cells in column order, numbers with the language's thousands
        separator (for the template; the CSV has the plain values)."""
        return [
            (row, [_readable(row.get(key)) for key, _label in self.columns]) for row in self.rows
        ]


def _readable(value):
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return number_format(value, force_grouping=True)


@dataclass(frozen=True)
class Figure:
    label: str
    value: float | None
    previous: float | None
    definition: str
    unit: str = ""  # "" a count, "%" a share, "x" a ratio

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return round(self.value - self.previous, 1)


def _share(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _ratio(numerator: float, denominator: float, digits: int = 1) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def _reason_totals(period: Period) -> dict[tuple, dict[str, int]]:
    rows = (
        DailyReasonStats.objects.filter(day__gte=period.first_day, day__lte=period.last_day)
        .values("reason_id", "team_id")
        .annotate(**{name: Sum(name) for name in REASON_FIELDS})
    )
    return {(row.pop("reason_id"), row.pop("team_id")): row for row in rows}


def _site_totals(period: Period) -> dict[str, int]:
    totals = DailySiteStats.objects.filter(
        day__gte=period.first_day, day__lte=period.last_day
    ).aggregate(**{name: Sum(name) for name in SITE_FIELDS})
    return {name: value or 0 for name, value in totals.items()}


def _sum_by(totals: dict[tuple, dict[str, int]], position: int) -> dict:
    """Fold (reason, team) totals into totals per reason (position 0) or team (1)."""
    folded: dict = defaultdict(lambda: dict.fromkeys(REASON_FIELDS, 0))
    for key, figures in totals.items():
        for name, value in figures.items():
            folded[key[position]][name] += value or 0
    return folded


def _overall(totals: dict[tuple, dict[str, int]]) -> dict[str, int]:
    overall = dict.fromkeys(REASON_FIELDS, 0)
    for figures in totals.values():
        for name, value in figures.items():
            overall[name] += value or 0
    return overall


def _buckets(period: Period) -> list[tuple[date, date]]:
    """Days for a month or less, weeks beyond (the last one may be shorter)."""
    size = 1 if period.days <= 31 else 7
    buckets = []
    day = period.first_day
    while day <= period.last_day:
        buckets.append((day, min(day + timedelta(days=size - 1), period.last_day)))
        day += timedelta(days=size)
    return buckets


def _opened_per_bucket(period: Period) -> tuple[dict[int | None, list[int]], list[int]]:
    """Cases opened per reason and per bucket, and the total per bucket."""
    buckets = _buckets(period)
    index_of_day = {}
    for index, (first, last) in enumerate(buckets):
        for offset in range((last - first).days + 1):
            index_of_day[first + timedelta(days=offset)] = index
    per_reason: dict[int | None, list[int]] = defaultdict(lambda: [0] * len(buckets))
    total = [0] * len(buckets)
    rows = (
        DailyReasonStats.objects.filter(day__gte=period.first_day, day__lte=period.last_day)
        .values("reason_id", "day")
        .annotate(opened=Sum("opened"))
    )
    for row in rows:
        index = index_of_day[row["day"]]
        per_reason[row["reason_id"]][index] += row["opened"]
        total[index] += row["opened"]
    return per_reason, total


@dataclass
class Insights:
    period: Period
    updated_at: object
    funnel: list[Figure]
    funnel_bars: list[charts.Bar]
    ratios: list[Figure]
    needless: list[Figure]
    demand_chart: charts.LineChart
    demand_chart_table: Table
    growing: list[dict]
    ratings: list[charts.Bar]
    comments: list
    demand: Table
    promises: list[Table]
    content_gaps: list[Table]
    learned: Table
    learned_days: int

    @property
    def tables(self) -> dict[str, Table]:
        """Every table of the page by its slug (the CSV export)."""
        every = [
            self.demand,
            self.demand_chart_table,
            *self.promises,
            *self.content_gaps,
            self.learned,
        ]
        return {table.slug: table for table in every}


def _last_bucket_is_partial(period: Period, buckets: list[tuple[date, date]]) -> bool:
    """Whether the chart's last point counts a period still under way: today, or a week
    cut short by the end of the period."""
    first, last = buckets[-1]
    size = 1 if period.days <= 31 else 7
    return last >= service_today() or (last - first).days + 1 < size


def insights_for(period: Period) -> Insights:
    previous = period.previous
    totals, previous_totals = _reason_totals(period), _reason_totals(previous)
    site, previous_site = _site_totals(period), _site_totals(previous)
    overall, previous_overall = _overall(totals), _overall(previous_totals)
    reasons = list(case_figures.reasons())
    teams = {team.pk: team for team in case_figures.teams()}

    demand, growing = _demand_table(period, reasons, totals, previous_totals, site, previous_site)
    per_reason, total = _opened_per_bucket(period)
    previous_total = _opened_per_bucket(previous)[1]
    buckets = _buckets(period)
    labels = [f"{first:%d/%m}" for first, _last in buckets]  # a day, or a week's first day
    chart = charts.line_chart(
        [
            (_("This period"), total, False),
            (_("Previous period"), previous_total[: len(total)], True),
        ],
        x_labels=labels,
        partial_last=_last_bucket_is_partial(period, buckets),
    )
    chart_table = Table(
        "cases-over-time",
        _("Cases opened over time"),
        [("bucket", _("From")), ("cases", _("Cases")), ("previous", _("Previous period"))],
        [
            {"bucket": label, "cases": value, "previous": before}
            for label, value, before in zip(labels, total, previous_total, strict=False)
        ],
    )
    for row in demand.rows:
        row["trend"] = charts.sparkline(per_reason.get(row["reason_id"], []))

    funnel = _funnel(site, previous_site, overall, previous_overall)
    ratings = [(str(stars), overall[f"rating_{stars}"], "★" * stars) for stars in range(5, 0, -1)]
    comments = list(case_figures.rating_comments(period.start, period.end))
    updated_at = DailySiteStats.objects.filter(day=period.last_day).aggregate(
        at=Max("rolled_up_at")
    )["at"]
    return Insights(
        period=period,
        updated_at=updated_at,
        funnel=funnel,
        funnel_bars=charts.bars([(figure.label, int(figure.value or 0), "") for figure in funnel]),
        ratios=_ratios(site, previous_site, overall, previous_overall),
        needless=_needless(overall, previous_overall),
        demand_chart=chart,
        demand_chart_table=chart_table,
        growing=growing,
        ratings=charts.bars(ratings),
        comments=comments,
        demand=demand,
        promises=_promise_tables(reasons, teams, totals),
        content_gaps=_content_gap_tables(period),
        learned=_learned_table(period),
        learned_days=LEARNED_DAYS,
    )


def _deflected(figures: dict[str, int]) -> int:
    return sum(figures[name] for name in DEFLECTION_FIELDS)


def _funnel(site, previous_site, overall, previous_overall) -> list[Figure]:
    steps = [
        (
            _("Help-center visits"),
            "visits",
            _(
                "A visit starts with a public page seen by a browser that saw none in the "
                "previous 30 minutes; robots and staff pages are not counted."
            ),
        ),
        (
            _("Searches"),
            "searches",
            _("Searches as the visitor settled on them (as-you-type keystrokes count once)."),
        ),
        (_("Article views"), "article_views", _("Times an article page was opened.")),
        (
            _("“Helpful” votes"),
            "helpful_votes",
            _("Visitors who answered “Yes” to “Was this helpful?”."),
        ),
        (_("Contact form opened"), "contact_form_opened", _("Times the contact form was opened.")),
        (
            _("Suggestions shown"),
            "suggestions_shown",
            _(
                "Visitors shown at least one article while typing their subject (once per visitor"
                " and half hour)."
            ),
        ),
    ]
    figures = [
        Figure(label, site[name], previous_site[name], definition)
        for label, name, definition in steps
    ]
    figures.append(
        Figure(
            _("“This solved it”"),
            overall["deflected_article"],
            previous_overall["deflected_article"],
            _(
                "Visitors who clicked “This solved it” on a suggested article they had opened; "
                "no case was opened."
            ),
        )
    )
    figures.append(
        Figure(
            _("Cases opened"),
            overall["opened"],
            previous_overall["opened"],
            _("Cases created through the contact form."),
        )
    )
    return figures


def _ratios(site, previous_site, overall, previous_overall) -> list[Figure]:
    def deflection_rate(figures):
        avoided = _deflected(figures)
        return _share(avoided, avoided + figures["opened"])

    return [
        Figure(
            _("Self-service ratio"),
            _ratio(site["visits"], overall["opened"]),
            _ratio(previous_site["visits"], previous_overall["opened"]),
            _(
                "Help-center visits per case opened: the higher, the more customers helped "
                "themselves."
            ),
            "x",
        ),
        Figure(
            _("Deflection rate"),
            deflection_rate(overall),
            deflection_rate(previous_overall),
            _(
                "Contacts avoided (“this solved it” after opening the article, status questions "
                "answered with the case link, messages added to an open case, known problems "
                "followed instead, notices sent to the customer first) out of contacts avoided "
                "plus cases opened."
            ),
            "%",
        ),
        Figure(
            _("Searches with no results"),
            _share(site["zero_result_searches"], site["searches"]),
            _share(previous_site["zero_result_searches"], previous_site["searches"]),
            _("Share of searches that found no article."),
            "%",
        ),
    ]


def _needless(overall, previous_overall) -> list[Figure]:
    return [
        Figure(
            _("Status questions answered by the status page"),
            overall["deflected_status"],
            previous_overall["deflected_status"],
            _(
                "Contact form messages that only asked about an existing case: answered with its "
                "status link, no new case."
            ),
        ),
        Figure(
            _("Duplicate cases avoided"),
            overall["deflected_duplicate"],
            previous_overall["deflected_duplicate"],
            _(
                "Messages added to the customer's open case for the same reason instead of "
                "opening another."
            ),
        ),
        Figure(
            _("Contacts avoided by a known problem"),
            overall["deflected_incident"],
            previous_overall["deflected_incident"],
            _(
                "Visitors who met a live incident on the contact form and asked to be told when "
                "it is fixed instead of writing to us."
            ),
        ),
        Figure(
            _("Contacts avoided by telling the customer first"),
            overall["deflected_notice"],
            previous_overall["deflected_notice"],
            _(
                "Customers who came to write about something another system had already told "
                "them (a delayed order, say) and found that notice answered them."
            ),
        ),
        Figure(
            _("Cases opened while a notice about them was live"),
            overall["opened_during_notice"],
            previous_overall["opened_during_notice"],
            _(
                "The notice did not reach these customers: a published notice affected the case's"
                " reason when it was opened."
            ),
        ),
        Figure(
            _("Cases whose answer was in an article they never read"),
            overall["opened_without_article"],
            previous_overall["opened_without_article"],
            _(
                "The case's reason has knowledge-base articles, and the customer had read none of"
                " them that day."
            ),
        ),
    ]


def _reason_name(reason) -> str:
    return f"{reason.parent.name} / {reason.name}" if reason.parent_id else reason.name


def _demand_table(period, reasons, totals, previous_totals, site, previous_site):
    by_reason, previous_by_reason = _sum_by(totals, 0), _sum_by(previous_totals, 0)
    table = Table(
        "demand",
        _("Contact demand by reason"),
        [
            ("reason", _("Reason")),
            ("owner", _("Owner")),
            ("team", _("Team")),
            ("cases", _("Cases")),
            ("per_1000_visits", _("Per 1,000 visits")),
            ("previous", _("Previous period")),
            ("change", _("Difference")),
            ("change_percent", _("Change (%)")),
        ],
    )
    for reason in reasons:
        cases = by_reason[reason.pk]["opened"] if reason.pk in by_reason else 0
        before = previous_by_reason[reason.pk]["opened"] if reason.pk in previous_by_reason else 0
        if not cases and not before:
            continue
        table.rows.append(
            {
                "reason_id": reason.pk,
                "reason": _reason_name(reason),
                "owner": (reason.owner.get_full_name() or reason.owner.get_username())
                if reason.owner
                else "",
                "team": reason.team.name if reason.team else "",
                "cases": cases,
                "per_1000_visits": _ratio(1000 * cases, site["visits"]),
                "previous": before,
                "change": cases - before,
                "change_percent": _share(cases - before, before),
            }
        )
    table.rows.sort(key=lambda row: (-row["cases"], row["reason"]))
    growing = sorted(
        (row for row in table.rows if row["change"] > 0),
        key=lambda row: (-row["change"], row["reason"]),
    )[:5]
    return table, growing


def _promise_row(figures: dict[str, int]) -> dict:
    ratings = sum(figures[name] for name in RATING_FIELDS)
    stars = sum(stars * figures[f"rating_{stars}"] for stars in range(1, 6))
    return {
        "first_response_due": figures["first_response_due"],
        "first_response_on_time": _share(
            figures["first_response_kept"], figures["first_response_due"]
        ),
        "resolution_due": figures["resolution_due"],
        "resolution_on_time": _share(figures["resolution_kept"], figures["resolution_due"]),
        "ratings": ratings,
        "satisfaction": _ratio(stars, ratings, 2),
        **{name: figures[name] for name in RATING_FIELDS},
        "resolved": figures["resolved"],
        "reopened": figures["reopened"],
        "reopen_rate": _share(figures["reopened"], figures["resolved"]),
    }


def _promise_tables(reasons, teams, totals) -> list[Table]:
    columns = [
        ("first_response_due", _("First replies due")),
        ("first_response_on_time", _("On time (%)")),
        ("resolution_due", _("Resolutions due")),
        ("resolution_on_time", _("On time (%)")),
        ("ratings", _("Ratings")),
        ("satisfaction", _("Average (1-5)")),
        *[(name, "★" * int(name[-1])) for name in RATING_FIELDS],
        ("resolved", _("Resolutions")),
        ("reopened", _("Reopenings")),
        ("reopen_rate", _("Reopen rate (%)")),
    ]
    by_reason, by_team = _sum_by(totals, 0), _sum_by(totals, 1)
    reason_table = Table(
        "promises-by-reason",
        _("Promises kept, by reason"),
        [("reason", _("Reason")), *columns],
    )
    for reason in reasons:
        if reason.pk in by_reason and any(by_reason[reason.pk].values()):
            reason_table.rows.append(
                {"reason": _reason_name(reason), **_promise_row(by_reason[reason.pk])}
            )
    team_table = Table(
        "promises-by-team", _("Promises kept, by team"), [("team", _("Team")), *columns]
    )
    for team_id, figures in by_team.items():
        if any(figures.values()) and (team_id is None or team_id in teams):
            name = teams[team_id].name if team_id else _("No team")
            team_table.rows.append({"team": name, **_promise_row(figures)})
    team_table.rows.sort(key=lambda row: row["team"])
    return [reason_table, team_table]


def _new_article_url(query: str, language: str) -> str:
    return reverse("admin:kb_article_add") + "?" + urlencode({"title": query, "language": language})


def _article_links(row: dict) -> dict:
    with override(row["article__language"]):
        public = reverse("kb:article", kwargs={"slug": row["article__slug"]})
    return {
        "url": public,
        "edit_url": reverse("admin:kb_article_change", args=[row["article_id"]]),
    }


def _zero_result_row(row: dict) -> dict:
    """A search that found nothing then, checked against the knowledge base as it is now:
    only one that still finds nothing is a gap to write an article for."""
    found = kb_figures.results_now(row["query"], row["language"])
    return {
        **row,
        "searches": row["zero"],
        "now": _("still nothing")
        if not found
        else ngettext(
            "had no results then; finds %(count)s article now",
            "had no results then; finds %(count)s articles now",
            found,
        )
        % {"count": found},
        **({} if found else {"new_article_url": _new_article_url(row["query"], row["language"])}),
    }


def _content_gap_tables(period: Period) -> list[Table]:
    terms = DailySearchTerm.objects.filter(day__gte=period.first_day, day__lte=period.last_day)
    zero = Table(
        "zero-result-searches",
        _("Top searches with no results"),
        [
            ("query", _("Searched for")),
            ("language", _("Language")),
            ("searches", _("Searches")),
            ("now", _("Today")),
        ],
        [
            _zero_result_row(row)
            for row in terms.filter(zero_results__gt=0)
            .values("query", "language")
            .annotate(zero=Sum("zero_results"))
            .order_by("-zero", "query")[:TOP]
        ],
    )
    reason_names = {reason.code: _reason_name(reason) for reason in case_figures.reasons()}
    before_case = Table(
        "searches-before-cases",
        _("Searches after which a case was opened"),
        [
            ("query", _("Searched for")),
            ("language", _("Language")),
            ("reason", _("Reason of the case")),
            ("searches", _("Times")),
        ],
        [
            {
                **row,
                "reason": reason_names.get(row["reason_code"], row["reason_code"]),
                "searches": row["times"],
                "new_article_url": _new_article_url(row["query"], row["language"]),
            }
            for row in terms.exclude(reason_code="")
            .values("query", "language", "reason_code")
            .annotate(times=Sum("searches"))
            .order_by("-times", "query")[:TOP]
        ],
    )
    article_columns = [("title", _("Article")), ("language", _("Language"))]
    worst = Table(
        "least-helpful-articles",
        _("Least helpful articles"),
        [*article_columns, ("votes", _("Votes")), ("helpful_percent", _("Helpful (%)"))],
        [
            {
                "title": row["article__title"],
                "language": row["article__language"],
                "votes": row["votes"],
                "helpful_percent": _share(row["helpful"], row["votes"]),
                **_article_links(row),
            }
            for row in kb_figures.least_helpful(
                period.start, period.end, min_votes=MIN_VOTES_FOR_HELPFULNESS
            )
        ],
    )
    read = Table(
        "most-read-articles",
        _("Most read articles"),
        [*article_columns, ("views", _("Reads"))],
        [
            {
                "title": row["article__title"],
                "language": row["article__language"],
                "views": row["views"],
                **_article_links(row),
            }
            for row in kb_figures.most_read(period.first_day, period.last_day)
        ],
    )
    stale = Table(
        "stale-articles",
        _("Stale articles (not reviewed for six months)"),
        [*article_columns, ("reviewed", _("Last reviewed")), ("views", _("Views, all time"))],
        [
            {
                "title": article.title,
                "language": article.language,
                "reviewed": article.reviewed_at.date().isoformat() if article.reviewed_at else "",
                "views": article.view_count,
                **_article_links(
                    {
                        "article_id": article.pk,
                        "article__slug": article.slug,
                        "article__language": article.language,
                    }
                ),
            }
            for article in kb_figures.stale_articles()
        ],
    )
    return [zero, before_case, worst, read, stale]


# What "this week" is for the table of what search learned: the last 7 days of the period.
LEARNED_DAYS = 7


def _learned_table(period: Period) -> Table:
    """What search learned in the last week of the period: query words linked to articles
    by what visitors did after searching (kb.services.learning), in both languages."""
    end = period.end
    rows = [
        {
            "article": term["article"].title if term["article"] else term["translation_key"],
            "word": term["word"],
            "language": term["language"],
            "visitors": term["visitors"],
            "addresses": term["addresses"],
            "evidence": term["evidence"],
            **({"url": term["article"].get_absolute_url()} if term["article"] else {}),
            # Where staff pin or remove the word (kb admin, "Learned search words").
            "edit_url": reverse("admin:kb_learnedterm_changelist")
            + "?"
            + urlencode({"q": term["word"], "language__exact": term["language"]}),
        }
        for term in kb_figures.learned_between(end - timedelta(days=LEARNED_DAYS), end, limit=TOP)
    ]
    return Table(
        "search-learned",
        _("What search learned this week"),
        [
            ("article", _("Article")),
            ("word", _("Searched for")),
            ("language", _("Language")),
            ("visitors", _("Visitors")),
            ("addresses", _("Addresses")),
            ("evidence", _("Evidence")),
        ],
        rows,
    )


# --- The weekly digest ------------------------------------------------------------------------


def reason_owners() -> QuerySet:
    """Staff accountable for at least one contact reason, with their digest preference."""
    return (
        get_user_model()
        .objects.filter(pk__in=case_figures.reason_owner_ids(), is_active=True)
        .select_related("digest_preference")
        .order_by("pk")
    )


@dataclass
class OwnerDigest:
    owner: object
    week: Period
    reasons: list[dict]
    searches: list[dict]
    comments: list


def digest_for_owner(owner, week: Period, *, weeks_of_trend: int = 8) -> OwnerDigest | None:
    """The week's figures for the reasons ``owner`` is accountable for (None if they own none)."""
    owned = [reason for reason in case_figures.reasons() if reason.owner_id == owner.pk]
    if not owned:
        return None
    reason_ids = [reason.pk for reason in owned]
    first_of_trend = week.first_day - timedelta(weeks=weeks_of_trend - 1)
    weekly: dict[int, list[int]] = defaultdict(lambda: [0] * weeks_of_trend)
    rows = (
        DailyReasonStats.objects.filter(
            reason_id__in=reason_ids, day__gte=first_of_trend, day__lte=week.last_day
        )
        .values("reason_id", "day")
        .annotate(opened=Sum("opened"))
    )
    for row in rows:
        weekly[row["reason_id"]][(row["day"] - first_of_trend).days // 7] += row["opened"]
    reasons = []
    for reason in owned:
        trend = weekly[reason.pk]
        reasons.append(
            {
                "name": _reason_name(reason),
                "cases": trend[-1],
                "previous": trend[-2] if weeks_of_trend > 1 else 0,
                "change": trend[-1] - (trend[-2] if weeks_of_trend > 1 else 0),
                "trend": trend,
            }
        )
    searches = list(
        DailySearchTerm.objects.filter(
            day__gte=week.first_day,
            day__lte=week.last_day,
            reason_code__in=[reason.code for reason in owned],
        )
        .values("query", "language")
        .annotate(searches=Sum("searches"), zero_results=Sum("zero_results"))
        .order_by("-zero_results", "-searches", "query")[:10]
    )
    comments = list(case_figures.rating_comments(week.start, week.end, reason_ids=reason_ids))
    return OwnerDigest(owner, week, reasons, searches, comments)
