"""Reads for the knowledge base: what its pages and the other apps ask of it."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy, override

from foundation import process_memo, shared_cache
from foundation.i18n import LanguageSwitch
from foundation.visitors import seen_articles_key
from kb.models import (
    Article,
    ArticleDailyViews,
    ArticleFeedback,
    ArticleRevision,
    Category,
    SearchSynonym,
)
from kb.search import (
    FastPath,
    SearchUnavailable,
    Synonyms,
    clean_query,
    fold_word,
    get_fallback_search_backend,
    get_search_backend,
)

logger = logging.getLogger(__name__)

STALE_AFTER = timedelta(days=182)
ARTICLE_NOT_TRANSLATED = gettext_lazy("This article is not available in this language yet.")
SEARCH_PER_PAGE = 10
MAX_SEARCH_PAGE = 50


def search_index_status() -> str:
    """ "ok", "missing" or "unreadable"."""
    return get_search_backend().status()


def search_fast_path() -> FastPath | None:
    """Whether the search backend runs its fast path (None: it has no separate one)."""
    return get_search_backend().fast_path


@dataclass(frozen=True)
class ArticleHit:
    id: int
    title: str
    url: str
    summary: str
    language: str
    category_name: str
    snippet_html: str  # escaped text with <mark> around the matched words
    # The article in every language ("this solved it" and "articles seen" speak in these keys).
    translation_key: str = ""


@dataclass(frozen=True)
class ArticleSearchPage:
    query: str
    hits: list[ArticleHit] = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = SEARCH_PER_PAGE
    suggestion: str | None = None
    used_fuzzy: bool = False
    degraded: bool = False  # the index was unavailable and the database answered

    @property
    def start_index(self) -> int:
        return (self.page - 1) * self.per_page + 1

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total and self.page < MAX_SEARCH_PAGE


def _article_hit(
    article: Article, *, category_name: str = "", snippet_html: str = ""
) -> ArticleHit:
    return ArticleHit(
        id=article.pk,
        title=article.title,
        url=article.get_absolute_url(),
        summary=article.summary,
        language=article.language,
        category_name=category_name,
        snippet_html=snippet_html,
        translation_key=article.translation_key,
    )


def _published_by_id(ids: list[int]) -> dict[int, Article]:
    articles = Article.objects.published().filter(pk__in=ids).select_related("category")
    return {article.pk: article for article in articles}


def search_synonyms(*, language: str) -> Synonyms:
    """The synonyms staff keep for ``language``: each word (folded, ``fold_word``) with the
    other words of its groups. Kept in the process until a group changes (process_memo)."""
    return process_memo.remember(
        ("kb.search_synonyms", language), lambda: _search_synonyms(language)
    )


def _search_synonyms(language: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, dict[str, None]] = {}
    for group in SearchSynonym.objects.filter(language=language):
        words = group.word_list()
        for word in words:
            others = found.setdefault(fold_word(word), {})
            others.update(dict.fromkeys(other for other in words if other != word))
    return {word: tuple(others) for word, others in found.items()}


def search_articles(
    *, query: str, language: str, category: str | None = None, page: int = 1
) -> ArticleSearchPage:
    """Published articles matching ``query``, the visitor's language first.

    Any string is a valid query; a word also finds its synonyms (``search_synonyms``). Hits
    are checked against the database, so an article that was archived a moment ago is gone
    from results even before the index task has run. When the index is missing or
    unreadable, the fallback backend (the database's simpler word matching) answers instead,
    and the page says so (``degraded``).
    """
    cleaned = clean_query(query)
    page = min(max(page, 1), MAX_SEARCH_PAGE)
    if not cleaned:
        return ArticleSearchPage(query="", page=page)
    search = {
        "language": language,
        "category": category or None,
        "page": page,
        "per_page": SEARCH_PER_PAGE,
        "synonyms": search_synonyms(language=language),
    }
    degraded = False
    try:
        results = get_search_backend().search(cleaned, **search)
    except SearchUnavailable:
        logger.warning("Search index unavailable; answering from the fallback backend")
        results = get_fallback_search_backend().search(cleaned, **search)
        degraded = True
    articles = _published_by_id([hit.id for hit in results.hits])
    hits = [
        _article_hit(article, category_name=article.category.name, snippet_html=hit.snippet_html)
        for hit in results.hits
        if (article := articles.get(hit.id)) is not None
    ]
    dropped = len(results.hits) - len(hits)
    return ArticleSearchPage(
        query=results.query,
        hits=hits,
        total=max(results.total - dropped, len(hits)),
        page=page,
        suggestion=results.suggestion,
        used_fuzzy=results.used_fuzzy,
        degraded=degraded,
    )


def suggest_articles(
    *, text: str, language: str, article_keys: Sequence[str] = (), limit: int = 5
) -> list[ArticleHit]:
    """Articles that may answer ``text`` (the contact form asks this while a subject is typed).

    ``article_keys`` are the translation groups linked to the contact reason already chosen:
    those the search found come first, then the other hits, then the rest of the reason's
    articles (they answer what the customer said the message is about).
    """
    hits = search_articles(query=text, language=language).hits
    if not article_keys:
        return hits[:limit]
    found = {hit.translation_key for hit in hits}
    linked = [
        _article_hit(article)
        for article in articles_for_keys(keys=list(article_keys), language=language)
        if article.translation_key not in found
    ]
    keys = set(article_keys)
    ordered = [hit for hit in hits if hit.translation_key in keys]
    ordered += [hit for hit in hits if hit.translation_key not in keys]
    return (ordered + linked)[:limit]


def _recent_views(since) -> Subquery:
    return Subquery(
        ArticleDailyViews.objects.filter(article=OuterRef("pk"), day__gte=since)
        .values("article")
        .annotate(total=Sum("views"))
        .values("total")[:1],
        output_field=IntegerField(),
    )


def _recent_helpful_votes(since) -> Subquery:
    return Subquery(
        ArticleFeedback.objects.filter(article=OuterRef("pk"), helpful=True, created_at__gte=since)
        .values("article")
        .annotate(total=Count("pk"))
        .values("total")[:1],
        output_field=IntegerField(),
    )


def popular_articles(
    *, language: str, limit: int = 6, days: int = 30, now: datetime | None = None
) -> list[Article]:
    """The most read and most helpful articles of the last ``days`` days, in ``language``."""
    now = now or timezone.now()
    since_day = timezone.localdate(now) - timedelta(days=days)
    since = now - timedelta(days=days)
    articles = (
        Article.objects.published()
        .filter(language=language)
        .select_related("category")
        .annotate(
            recent_views=Coalesce(_recent_views(since_day), 0),
            recent_helpful=Coalesce(_recent_helpful_votes(since), 0),
        )
    )
    # A helpful vote says more than a view; without any activity, the newest articles lead.
    articles = articles.annotate(
        popularity=Coalesce("recent_views", 0) + 10 * Coalesce("recent_helpful", 0)
    )
    return list(articles.order_by("-popularity", "-published_at", "title")[:limit])


def categories_with_counts(*, language: str) -> list[Category]:
    """Top-level categories that hold published articles in ``language``."""
    return list(
        Category.objects.filter(parent__isnull=True)
        .annotate(
            article_count=Count(
                "articles",
                filter=Q(articles__status=Article.Status.PUBLISHED, articles__language=language),
            )
        )
        .filter(article_count__gt=0)
        .order_by("position", "name_es")
    )


def get_published_article(*, slug: str, language: str) -> Article | None:
    return (
        Article.objects.published()
        .filter(slug=slug, language=language)
        .select_related("category", "category__parent")
        .first()
    )


def get_article_for_staff(*, slug: str, language: str) -> Article | None:
    """Any article, whatever its status: staff preview drafts on the site."""
    return (
        Article.objects.filter(slug=slug, language=language)
        .select_related("category", "category__parent")
        .first()
    )


def get_translation(article: Article) -> Article | None:
    """The published version of ``article`` in the other language, if there is one."""
    return (
        Article.objects.published()
        .filter(translation_key=article.translation_key)
        .exclude(language=article.language)
        .only("slug", "language", "title")
        .first()
    )


def _keywords(text: str) -> set[str]:
    return {word.strip().lower() for word in text.split(",") if word.strip()}


def related_articles(article: Article, *, limit: int = 5) -> list[Article]:
    """Same-language articles that share the category or keywords, best match first."""
    own_keywords = _keywords(article.keywords)
    candidates = (
        Article.objects.published()
        .filter(language=article.language)
        .exclude(pk=article.pk)
        .only("pk", "title", "slug", "language", "summary", "keywords", "category_id")
        .order_by("title")[:300]
    )
    scored = []
    for candidate in candidates:
        score = 2 * (candidate.category_id == article.category_id) + len(
            own_keywords & _keywords(candidate.keywords)
        )
        if score:
            scored.append((score, candidate.title, candidate))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [candidate for _, _, candidate in scored[:limit]]


def category_page(
    *, slug: str, language: str
) -> tuple[Category, list[Article], list[Category]] | None:
    category = Category.objects.filter(slug=slug).select_related("parent").first()
    if category is None:
        return None
    articles = list(
        Article.objects.published()
        .filter(category=category, language=language)
        .only("pk", "title", "slug", "language", "summary", "category_id")
        .order_by("title")
    )
    children = list(category.children.order_by("position", "name_es"))
    return category, articles, children


def published_articles() -> QuerySet[Article]:
    return Article.objects.published().order_by("language", "slug")


def articles_for_admin() -> QuerySet[Article]:
    """Articles with their helpfulness and whether they are stale, for the curation list."""
    return Article.objects.select_related("category").annotate(
        helpful_yes=Count("feedback", filter=Q(feedback__helpful=True)),
        helpful_no=Count("feedback", filter=Q(feedback__helpful=False)),
    )


def article_history(article_id: int) -> list[ArticleRevision]:
    """Every saved version of an article, oldest first, with its author (one query)."""
    return list(
        ArticleRevision.objects.filter(article_id=article_id)
        .select_related("author")
        .order_by("created_at", "id")
    )


def previous_revision(revision: ArticleRevision) -> ArticleRevision | None:
    """The version saved just before ``revision`` (None for the first)."""
    return (
        ArticleRevision.objects.filter(article_id=revision.article_id)
        .filter(
            Q(created_at__lt=revision.created_at)
            | Q(created_at=revision.created_at, id__lt=revision.pk)
        )
        .order_by("-created_at", "-id")
        .first()
    )


def stale_before(*, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - STALE_AFTER


def articles_for_keys(*, keys: list[str], language: str) -> list[Article]:
    """Published articles of the given translation groups, in ``language`` when it exists.

    Kept in the process until an article changes (``foundation.process_memo``): every case
    page asks for the articles of its reason."""
    if not keys:
        return []
    return list(
        process_memo.remember(
            ("kb.articles_for_keys", tuple(keys), language),
            lambda: _articles_for_keys(keys, language),
        )
    )


def _articles_for_keys(keys: list[str], language: str) -> list[Article]:
    articles = (
        Article.objects.published()
        .filter(translation_key__in=keys)
        .only("pk", "title", "slug", "language", "translation_key", "summary")
    )
    chosen: dict[str, Article] = {}
    for article in articles:
        if article.translation_key not in chosen or article.language == language:
            chosen[article.translation_key] = article
    return [chosen[key] for key in keys if key in chosen]


def articles_seen_by(*, visitor_hash: str) -> set[str]:
    """Translation keys of the articles this visitor read in the last day."""
    return set(shared_cache.read(seen_articles_key(visitor_hash)) or [])


def article_language_switch(*, slug: str, from_language: str, language: str) -> LanguageSwitch:
    """Where the language switch leads from an article: its translation when one is published,
    else its topic (or the home page) in ``language``, with a note saying why."""
    article = (
        Article.objects.published()
        .filter(slug=slug, language=from_language)
        .select_related("category")
        .first()
    )
    if article is None:  # the page was a 404 already (or a draft only staff may see)
        with override(language):
            return LanguageSwitch(reverse("kb:home"))
    translation = get_translation(article)
    if translation is not None and translation.language == language:
        return LanguageSwitch(translation.get_absolute_url())
    with override(language):
        if article.category is not None:
            return LanguageSwitch(article.category.get_absolute_url(), ARTICLE_NOT_TRANSLATED)
        return LanguageSwitch(reverse("kb:home"), ARTICLE_NOT_TRANSLATED)
