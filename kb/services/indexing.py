"""Keeping the search index in step with the database.

Every change to an article stamps its ``IndexingState.queued_at`` in the same transaction and
queues ``kb.tasks.sync_article_to_index`` after commit. The task makes the index agree with
the database for that one article (idempotent: it reads the article as it is now) and stamps
``synced_at``. If the task is lost, the broker is down or the index is unavailable, the row
stays pending and the periodic sweeper queues it again: search never forgets an article.
"""

import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from foundation.queueing import enqueue_after_commit
from kb.models import Article, IndexingState, LearnedTerm
from kb.rendering import markdown_to_text
from kb.search import SearchDocument, SearchUnavailable, get_search_backend

logger = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(minutes=2)
# A learned word joins the keywords once, and once more for every further LEARNED_STEP of
# evidence (distinct addresses, decayed), up to LEARNED_REPEATS times: stronger evidence,
# higher rank.
LEARNED_REPEATS = 3
LEARNED_STEP = 2.5
# Queued by name (foundation.queueing): kb.tasks imports this module, never the reverse.
SYNC_TASK = "kb.tasks.sync_article_to_index"


def build_search_document(
    article: Article, *, learned: dict[tuple[str, str], list[str]] | None = None
) -> SearchDocument:
    """The article as the index sees it; the words search learned for it join its keywords
    (``kb.services.learning``). ``learned``: every article's learned words, read beforehand
    (a rebuild), else this article's are read."""
    key = (article.language, article.translation_key)
    learned_words = (learned if learned is not None else _learned_words(*key)).get(key, [])
    return SearchDocument(
        id=article.pk,
        language=article.language,
        translation_key=article.translation_key,
        title=article.title,
        keywords=", ".join([article.keywords, *learned_words])
        if learned_words
        else article.keywords,
        summary=article.summary,
        body=markdown_to_text(article.body),
        category=article.category.slug,
        url=article.get_absolute_url(),
    )


def _learned_words(
    language: str | None = None, translation_key: str | None = None
) -> dict[tuple[str, str], list[str]]:
    """The learned words in use (``kb.services.learning``) per (language, translation key),
    strongest first, each repeated by its evidence; of one article, or of all."""
    terms = LearnedTerm.objects.filter(Q(active=True) | Q(pinned=True), removed=False)
    if language is not None:
        if not translation_key:
            return {}
        terms = terms.filter(language=language, translation_key=translation_key)
    found: dict[tuple[str, str], list[str]] = {}
    rows = terms.order_by("-evidence", "word").values_list(
        "language", "translation_key", "word", "evidence"
    )
    for lang, key, word, evidence in rows:
        repeats = min(LEARNED_REPEATS, 1 + int(evidence // LEARNED_STEP))
        found.setdefault((lang, key), []).extend([word] * repeats)
    return found


def request_index_update(*, article_id: int, now: datetime | None = None) -> None:
    """Record that ``article_id``'s search document is due, and queue the task after commit."""
    IndexingState.objects.update_or_create(
        article_id=article_id, defaults={"queued_at": now or timezone.now()}
    )
    enqueue_after_commit(SYNC_TASK, article_id)


def sync_article_to_index(*, article_id: int, now: datetime | None = None) -> bool:
    """Write or remove ``article_id``'s search document to match the database.

    Returns True when the index now agrees. Raises ``SearchUnavailable`` when the index is
    missing or unreadable (the pending row stays for the sweeper and the rebuild).
    """
    started = now or timezone.now()
    article = Article.objects.select_related("category").filter(pk=article_id).first()
    backend = get_search_backend()
    try:
        if article is not None and article.status == Article.Status.PUBLISHED:
            backend.index_document(build_search_document(article))
        else:
            backend.remove_document(article_id)
    except SearchUnavailable as error:
        IndexingState.objects.filter(article_id=article_id).update(
            attempts=F("attempts") + 1, last_error=str(error)[:500]
        )
        raise
    # A change queued while we were writing stays pending (its own task is on its way).
    IndexingState.objects.filter(article_id=article_id, queued_at__lte=started).update(
        synced_at=started, attempts=0, last_error=""
    )
    return True


def pending_index_updates():
    return IndexingState.objects.filter(Q(synced_at__isnull=True) | Q(synced_at__lt=F("queued_at")))


def sweep_pending_index_updates(*, now: datetime | None = None) -> int:
    """Queue again the index updates that a lost task or a down broker left behind."""
    due = list(
        pending_index_updates()
        .filter(queued_at__lte=(now or timezone.now()) - SWEEP_AFTER)
        .values_list("article_id", flat=True)[:500]
    )
    for article_id in due:
        enqueue_after_commit(SYNC_TASK, article_id)
    return len(due)


def _published_documents() -> Iterator[SearchDocument]:
    articles = Article.objects.published().select_related("category").order_by("pk")
    learned = _learned_words()
    for article in articles.iterator(chunk_size=500):
        yield build_search_document(article, learned=learned)


def rebuild_search_index(*, progress: Callable[[int], None] | None = None) -> int:
    """Build a complete new index from the database and switch to it atomically.

    Searches keep using the old index until the new one is complete. Changes committed while
    the rebuild ran are applied afterwards, so nothing saved in the meantime is lost.
    """
    started = timezone.now()
    count = get_search_backend().rebuild(_published_documents(), progress=progress)
    # The new index was read from the database while tasks kept writing to the old one: apply
    # again every change queued since the rebuild started (and any still pending).
    changed = IndexingState.objects.filter(
        Q(queued_at__gte=started) | Q(pk__in=pending_index_updates())
    )
    for article_id in changed.values_list("article_id", flat=True):
        sync_article_to_index(article_id=article_id)
    IndexingState.objects.filter(queued_at__lt=started).update(
        synced_at=started, attempts=0, last_error=""
    )
    logger.info("Search index rebuilt with %d articles", count)
    return count


def published_article_count() -> int:
    return Article.objects.published().count()
