from celery import shared_task

from kb import services
from kb.search import SearchBusy, SearchUnavailable


@shared_task(
    autoretry_for=(SearchBusy, OSError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
)
def sync_article_to_index(article_id: int) -> None:
    """Make the search index agree with the database for one article (idempotent).

    Retries transient write failures; if the index is missing or unreadable the article stays
    pending for the sweeper and the next rebuild, instead of retrying in a loop.
    """
    try:
        services.sync_article_to_index(article_id=article_id)
    except SearchUnavailable:
        return


@shared_task
def sweep_pending_index_updates() -> int:
    return services.sweep_pending_index_updates()


@shared_task
def flush_article_views() -> int:
    return services.flush_article_views()


@shared_task
def learn_search() -> int:
    """What visitors did after searching, folded into learned words (kb.services.learning)."""
    return services.learn().changed_articles
