"""Every write of the knowledge base."""

from kb.services.activity import (
    flush_article_views,
    note_contact_after_search,
    record_article_read,
    record_article_view,
    record_case_after_search,
    record_search,
    record_solved_suggestion,
)
from kb.services.articles import (
    archive_article,
    delete_article,
    mark_article_reviewed,
    publish_article,
    restore_revision,
    save_article,
    submit_article_for_review,
    unpublish_article,
)
from kb.services.feedback import record_feedback
from kb.services.indexing import (
    rebuild_search_index,
    request_index_update,
    sweep_pending_index_updates,
    sync_article_to_index,
)
from kb.services.learning import learn, record_search_signal, reindex_learned_article
from kb.services.synonyms import clean_synonym_words

__all__ = [
    "archive_article",
    "clean_synonym_words",
    "delete_article",
    "flush_article_views",
    "learn",
    "mark_article_reviewed",
    "note_contact_after_search",
    "publish_article",
    "rebuild_search_index",
    "record_article_read",
    "record_article_view",
    "record_case_after_search",
    "record_feedback",
    "record_search",
    "record_search_signal",
    "record_solved_suggestion",
    "reindex_learned_article",
    "request_index_update",
    "restore_revision",
    "save_article",
    "submit_article_for_review",
    "sweep_pending_index_updates",
    "sync_article_to_index",
    "unpublish_article",
]
