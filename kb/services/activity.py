"""What customers do with the knowledge base: article views and searches, for the insights.

Views are counted in the cache (one atomic increment, no database write on the page) and
flushed into daily rows by a periodic task. An article page records everything it records
(the view, the search result opened, the article seen) with one increment and one read of
the visitor's keys (``record_article_read``). Searches are logged without personal data; the
keystrokes of search-as-you-type are coalesced into the search the visitor settled on.
While the cache is down, views are not counted and searches are not coalesced: the page is
served as usual (``foundation.shared_cache``).
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from foundation import shared_cache
from foundation.visitors import seen_articles_key
from kb.models import Article, ArticleDailyViews, SearchLog, SearchSignal
from kb.services.learning import (
    MAX_ARTICLES_PER_VISITOR,
    VIEW_SETTLES_AFTER,
    record_search_signal,
)

VIEW_COUNTER_TTL = 60 * 60 * 24 * 3
SEARCH_COALESCE_SECONDS = 30
# The visit a search belongs to: an article opened this soon after it was found by it, and a
# view not followed by another search this soon answered it (kb.services.learning).
RECENT_SEARCH_SECONDS = int(VIEW_SETTLES_AFTER.total_seconds())
SEEN_ARTICLES_SECONDS = 60 * 60 * 24


def _view_counter_key(article_id: int, day: date) -> str:
    return f"kb:views:{day.isoformat()}:{article_id}"


def record_article_view(*, article_id: int, today: date | None = None) -> None:
    shared_cache.count(
        _view_counter_key(article_id, today or timezone.localdate()), timeout=VIEW_COUNTER_TTL
    )


def record_article_read(
    *,
    article_id: int,
    translation_key: str,
    visitor_hash: str,
    address_key: str = "",
    now: datetime | None = None,
) -> None:
    """What an article page records: the view, the article as the result the visitor's last
    search opened, and the article among those the visitor read today. One increment, one
    read of both visitor keys, and a write only when the article is new to the visitor.

    The first article opened after a search is also a learning signal (``VIEWED``), withdrawn
    if the visitor searches again within the visit (:func:`record_search`)."""
    now = now or timezone.now()
    record_article_view(article_id=article_id, today=timezone.localdate(now))
    search_key, seen_key = _last_search_key(visitor_hash), seen_articles_key(visitor_hash)
    found = shared_cache.read_many([search_key, seen_key])
    last_search = found.get(search_key)
    _note_result_opened(last_search, article_id)
    _note_viewed_after_search(
        search_key,
        last_search,
        translation_key=translation_key,
        visitor_hash=visitor_hash,
        address_key=address_key,
        now=now,
    )
    _add_seen(seen_key, found.get(seen_key) or [], translation_key)


def flush_article_views(*, today: date | None = None) -> int:
    """Move the view counters from the cache into ``ArticleDailyViews``; returns views moved."""
    today = today or timezone.localdate()
    days = [today - timedelta(days=1), today]
    article_ids = list(Article.objects.values_list("pk", flat=True))
    moved = 0
    for day in days:
        keys = {_view_counter_key(article_id, day): article_id for article_id in article_ids}
        counts = cache.get_many(list(keys))
        for key, count in counts.items():
            if not count:
                continue
            # Take exactly what we read: increments that land meanwhile stay for the next flush.
            cache.decr(key, count)
            article_id = keys[key]
            with transaction.atomic():
                row, _ = ArticleDailyViews.objects.get_or_create(article_id=article_id, day=day)
                ArticleDailyViews.objects.filter(pk=row.pk).update(views=F("views") + count)
                Article.objects.filter(pk=article_id).update(view_count=F("view_count") + count)
            moved += count
    return moved


def _last_search_key(visitor_hash: str) -> str:
    return f"kb:last-search:{visitor_hash}"


def record_search(
    *,
    visitor_hash: str,
    query: str,
    language: str,
    category: str,
    results_count: int,
    used_fuzzy: bool,
    now: datetime | None = None,
) -> SearchLog | None:
    """Log a search. A query that extends or trims the visitor's previous one within a few
    seconds (search as you type) updates that row instead of adding a new one."""
    if not query:
        return None
    now = now or timezone.now()
    fields = {
        "query": query[:200],
        "language": language,
        "category": category[:80],
        "results_count": results_count,
        "used_fuzzy": used_fuzzy,
    }
    previous = shared_cache.read(_last_search_key(visitor_hash))
    if previous and previous.get("viewed"):
        # Back to search: the article opened from the previous one did not answer.
        SearchSignal.objects.filter(pk=previous["viewed"], kind=SearchSignal.Kind.VIEWED).delete()
    log = None
    if previous and (now.timestamp() - previous["at"]) < SEARCH_COALESCE_SECONDS:
        earlier = previous["query"]
        if query.startswith(earlier) or earlier.startswith(query):
            updated = SearchLog.objects.filter(pk=previous["id"]).update(**fields)
            log = SearchLog(pk=previous["id"], **fields) if updated else None
    if log is None:
        log = SearchLog.objects.create(created_at=now, **fields)
    shared_cache.write(
        _last_search_key(visitor_hash),
        {"id": log.pk, "query": query, "language": language, "at": now.timestamp()},
        timeout=RECENT_SEARCH_SECONDS,
    )
    return log


def last_search_query(visitor_hash: str) -> str:
    """The words of the visitor's search of the last few minutes ("" when there was none)."""
    previous = shared_cache.read(_last_search_key(visitor_hash))
    return str(previous.get("query", ""))[:200] if previous else ""


def record_solved_suggestion(
    *,
    translation_key: str,
    language: str,
    visitor_hash: str,
    address_key: str,
    subject: str = "",
    now: datetime | None = None,
) -> SearchSignal | None:
    """ "This solved it" on a contact-form suggestion the visitor had opened: the subject they
    typed (else their last search) points to the article, a signal search learns from."""
    return record_search_signal(
        kind=SearchSignal.Kind.SOLVED,
        translation_key=translation_key,
        language=language,
        visitor_hash=visitor_hash,
        address_key=address_key,
        query=subject.strip() or last_search_query(visitor_hash),
        now=now,
    )


def record_case_after_search(
    *,
    query: str,
    article_keys: Sequence[str],
    language: str,
    visitor_hash: str,
    address_key: str,
    now: datetime | None = None,
) -> list[SearchSignal]:
    """A case opened after searching ``query``, for a contact reason that links the articles
    ``article_keys``: the search was about what those articles answer (a signal for each, up
    to the articles one visitor may teach, ``learning.MAX_ARTICLES_PER_VISITOR``)."""
    signals = [
        record_search_signal(
            kind=SearchSignal.Kind.CASE,
            translation_key=key,
            language=language,
            visitor_hash=visitor_hash,
            address_key=address_key,
            query=query,
            now=now,
        )
        for key in list(dict.fromkeys(article_keys))[:MAX_ARTICLES_PER_VISITOR]
    ]
    return [signal for signal in signals if signal is not None]


def note_contact_after_search(*, visitor_hash: str, reason_code: str) -> str:
    """The visitor opened a case (for ``reason_code``) shortly after searching: their last
    search did not answer them. Returns that search's words ("" when there was none)."""
    previous = shared_cache.read(_last_search_key(visitor_hash))
    if previous:
        SearchLog.objects.filter(pk=previous["id"]).update(followed_by_contact=reason_code[:80])
        return str(previous.get("query", ""))[:200]
    return ""


def _add_seen(key: str, seen: list[str], translation_key: str) -> None:
    # Remembered for a day, so that a case opened afterwards can tell whether the answer was
    # in front of the visitor (anonymous: keyed by the visitor hash).
    if translation_key not in seen:
        shared_cache.write(key, [*seen[-49:], translation_key], timeout=SEEN_ARTICLES_SECONDS)


def _note_viewed_after_search(
    key: str,
    last_search: dict | None,
    *,
    translation_key: str,
    visitor_hash: str,
    address_key: str,
    now: datetime,
) -> None:
    # Only the first article opened from a search, and only within its visit.
    if not last_search or last_search.get("viewed") or not last_search.get("language"):
        return
    remaining = RECENT_SEARCH_SECONDS - (now.timestamp() - last_search.get("at", 0))
    if remaining <= 0:
        return
    signal = record_search_signal(
        kind=SearchSignal.Kind.VIEWED,
        translation_key=translation_key,
        language=last_search.get("language", ""),
        visitor_hash=visitor_hash,
        address_key=address_key,
        query=str(last_search.get("query", "")),
        now=now,
    )
    if signal is not None:
        shared_cache.write(key, {**last_search, "viewed": signal.pk}, timeout=int(remaining) + 1)


def _note_result_opened(last_search: dict | None, article_id: int) -> None:
    # The visitor searched a moment ago: their search opened this article.
    if last_search:
        SearchLog.objects.filter(pk=last_search["id"], opened_article__isnull=True).update(
            opened_article_id=article_id
        )
