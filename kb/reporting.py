"""What the knowledge base tells the insights: searches, views and votes, read in bulk."""

from datetime import date, datetime

from django.db.models import Count, F, Q, Sum

from kb.models import Article, ArticleDailyViews, ArticleFeedback, LearnedTerm, SearchLog
from kb.selectors import search_articles, stale_before


def figures_between(start: datetime, end: datetime, *, day: date) -> dict[str, int]:
    """Searches and votes in [start, end) and the article views counted for ``day``."""
    searches = SearchLog.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        searches=Count("id"),
        zero_result_searches=Count("id", filter=Q(results_count=0)),
        searches_followed_by_case=Count("id", filter=~Q(followed_by_contact="")),
    )
    votes = ArticleFeedback.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        helpful_votes=Count("id", filter=Q(helpful=True)),
        unhelpful_votes=Count("id", filter=Q(helpful=False)),
    )
    views = ArticleDailyViews.objects.filter(day=day).aggregate(article_views=Sum("views"))
    return {**searches, **votes, "article_views": views["article_views"] or 0}


def search_terms_between(start: datetime, end: datetime) -> list[dict]:
    """Searches that did not answer: per (query, language, reason of a case that followed),
    those with no results or followed by a case."""
    return list(
        SearchLog.objects.filter(created_at__gte=start, created_at__lt=end)
        .filter(Q(results_count=0) | ~Q(followed_by_contact=""))
        .values("query", "language", reason_code=F("followed_by_contact"))
        .annotate(searches=Count("id"), zero_results=Count("id", filter=Q(results_count=0)))
    )


def most_read(first_day: date, last_day: date, *, limit: int = 10) -> list[dict]:
    return list(
        ArticleDailyViews.objects.filter(day__gte=first_day, day__lte=last_day)
        .values("article_id", "article__title", "article__slug", "article__language")
        .annotate(views=Sum("views"))
        .order_by("-views", "article_id")[:limit]
    )


def least_helpful(start: datetime, end: datetime, *, min_votes: int, limit: int = 10) -> list[dict]:
    """Articles with the lowest share of "helpful" votes in the period (enough votes only)."""
    rows = (
        ArticleFeedback.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("article_id", "article__title", "article__slug", "article__language")
        .annotate(
            votes=Count("id"),
            helpful=Count("id", filter=Q(helpful=True)),
        )
        .filter(votes__gte=min_votes)
    )
    for row in rows:
        row["helpful_share"] = row["helpful"] / row["votes"]
    return sorted(rows, key=lambda row: (row["helpful_share"], -row["votes"]))[:limit]


def stale_articles(*, limit: int = 10, now: datetime | None = None) -> list[Article]:
    """Published articles not reviewed for a long time, the most read first."""
    return list(
        Article.objects.published()
        .filter(Q(reviewed_at__isnull=True) | Q(reviewed_at__lt=stale_before(now=now)))
        .only("pk", "title", "slug", "language", "reviewed_at", "view_count")
        .order_by("-view_count", "pk")[:limit]
    )


def results_now(query: str, language: str) -> int:
    """How many published articles a search finds today (a search that had none then may
    have been answered since)."""
    return search_articles(query=query, language=language).total


def learned_between(start: datetime, end: datetime, *, limit: int = 15) -> list[dict]:
    """What search learned in [start, end): query words first linked to an article then by
    visitors' behaviour (kb.services.learning) and still in use, strongest first, in both
    languages; each with its article (in the word's language when it exists), visitors,
    addresses and evidence."""
    terms = list(
        LearnedTerm.objects.filter(
            learned_at__gte=start, learned_at__lt=end, active=True, removed=False
        )
        .order_by("-evidence", "-visitors", "word")
        .values("word", "language", "translation_key", "visitors", "addresses", "evidence")[:limit]
    )
    keys = {term["translation_key"] for term in terms}
    articles: dict[tuple[str, str], Article] = {}
    for article in (
        Article.objects.published()
        .filter(translation_key__in=keys)
        .only("pk", "title", "slug", "language", "translation_key")
    ):
        articles[article.translation_key, article.language] = article
        articles.setdefault((article.translation_key, ""), article)
    for term in terms:
        key = term["translation_key"]
        term["article"] = articles.get((key, term["language"])) or articles.get((key, ""))
    return terms
