"""A search backend that asks the database itself: simple word matching, nothing to index.

It is the fallback while the configured backend's index is missing or unreadable (the search
page then says results may be less complete), and it can be the configured backend itself
(``SEARCH_BACKEND=kb.search.backends.database.DatabaseSearchBackend``). The articles table is
its index: writes and rebuilds have nothing to do, and a removed document is an article that
is no longer published. Every word must occur (case-insensitively, as written) in the title,
keywords, summary or body; the visitor's language comes first, then titles in order.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

from django.db import DatabaseError
from django.db.models import Case, Q, QuerySet, Value, When

from kb.models import Article
from kb.search.base import (
    FastPath,
    IndexStatus,
    SearchDocument,
    SearchFeatures,
    SearchHit,
    SearchResults,
    SearchUnavailable,
    Synonyms,
)
from kb.search.relevance import title_match
from kb.search.text import clean_query, fold_word

MAX_WORDS = 8
MAX_PER_PAGE = 100
# Matches ordered by how closely their title is the query (the rest follow by title).
MAX_RANKED = 500


def _published() -> QuerySet[Article]:
    return Article.objects.published()


class DatabaseSearchBackend:
    features = SearchFeatures(accents=False, stemming=False, typos=False, suggestions=False)

    def __init__(self, **_options: Any) -> None:
        """Takes no option of its own (``index_dir`` is for backends with files)."""

    @property
    def fast_path(self) -> FastPath | None:
        return None  # one query, one path

    def status(self) -> IndexStatus:
        try:
            _published().exists()
        except DatabaseError:
            return "unreadable"
        return "ok"

    def ensure_index(self) -> None:
        """The articles table is the index: there is nothing to create."""

    def document_count(self) -> int:
        try:
            return _published().count()
        except DatabaseError as exc:
            raise SearchUnavailable(f"cannot read the articles: {exc!r}") from exc

    def index_document(self, doc: SearchDocument) -> None:
        """Nothing to write: the article's row is its document."""

    def remove_document(self, doc_id: int) -> None:
        """Nothing to remove: an article that is not published is never found."""

    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        count = 0
        for _doc in documents:
            count += 1
            if progress is not None:
                progress(count)
        return count

    def search(
        self,
        query: str,
        *,
        language: str,
        category: str | None = None,
        page: int = 1,
        per_page: int = 10,
        synonyms: Synonyms | None = None,
    ) -> SearchResults:
        page = max(1, int(page))
        per_page = min(max(1, int(per_page)), MAX_PER_PAGE)
        cleaned = clean_query(query)
        words = cleaned.split()[:MAX_WORDS]
        if not words:
            return SearchResults(cleaned, [], 0, page, per_page, None, False)
        matches = Q()
        for word in words:
            # The word itself or, with its punctuation taken off, one of its synonyms.
            alternatives = [word, *(synonyms or {}).get(fold_word(word.strip(".,;:!?¿¡\"'()")), ())]
            found = Q()
            for alternative in alternatives:
                found |= (
                    Q(title__icontains=alternative)
                    | Q(keywords__icontains=alternative)
                    | Q(summary__icontains=alternative)
                    | Q(body__icontains=alternative)
                )
            matches &= found
        articles = _published().filter(matches).select_related("category")
        if category:
            articles = articles.filter(category__slug=category)
        visitor_language_first = Case(When(language=language, then=Value(0)), default=Value(1))
        articles = articles.order_by(visitor_language_first, "title")
        start = (page - 1) * per_page
        try:
            # Every word must occur (the floor of this backend); among those, a title that is
            # the query comes first (kb.search.relevance), in the visitor's language first.
            candidates = list(articles.values_list("pk", "title", "language")[:MAX_RANKED])
            total = articles.count()
            order = sorted(
                candidates,
                key=lambda row: (
                    row[2] != language,
                    -title_match(cleaned, row[1], key=lambda word: word),
                ),
            )
            page_ids = [row[0] for row in order[start : start + per_page]]
            found = articles.in_bulk(page_ids)
            hits = [_hit(found[pk]) for pk in page_ids if pk in found]
        except DatabaseError as exc:
            raise SearchUnavailable(f"cannot search the articles: {exc!r}") from exc
        return SearchResults(cleaned, hits, total, page, per_page, None, False)

    def suggest(self, query: str, *, language: str) -> str | None:
        return None  # no vocabulary to take suggestions from

    def close(self) -> None:
        """Connections belong to Django."""


def _hit(article: Article) -> SearchHit:
    return SearchHit(
        id=article.pk,
        language=article.language,
        translation_key=article.translation_key,
        title=article.title,
        url=article.get_absolute_url(),
        category=article.category.slug,
        summary=article.summary,
        snippet_html=html.escape(article.summary),
        score=0.0,
    )
