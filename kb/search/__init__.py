"""Full-text search for the knowledge base, behind one backend protocol.

``get_search_backend()`` returns this process's instance of ``settings.SEARCH_BACKEND`` (a
dotted path; the Whoosh backend by default). When it raises :class:`SearchUnavailable`,
readers answer from ``get_fallback_search_backend()`` (``settings.SEARCH_FALLBACK_BACKEND``,
the database backend by default). Nothing here, nor anything outside ``backends/``, imports a
search library.
"""

from __future__ import annotations

from pathlib import Path
from threading import Lock
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import (
    FastPath,
    IndexStatus,
    SearchBackend,
    SearchBusy,
    SearchDocument,
    SearchError,
    SearchFeatures,
    SearchHit,
    SearchResults,
    SearchUnavailable,
    Synonyms,
)
from .text import clean_query, fold_word

WHOOSH_BACKEND = "kb.search.backends.whoosh.WhooshSearchBackend"
DATABASE_BACKEND = "kb.search.backends.database.DatabaseSearchBackend"

__all__ = [
    "DATABASE_BACKEND",
    "WHOOSH_BACKEND",
    "FastPath",
    "IndexStatus",
    "SearchBackend",
    "SearchBusy",
    "SearchDocument",
    "SearchError",
    "SearchFeatures",
    "SearchHit",
    "SearchResults",
    "SearchUnavailable",
    "Synonyms",
    "clean_query",
    "fold_word",
    "get_fallback_search_backend",
    "get_search_backend",
]

_backends: dict[tuple[str, tuple[tuple[str, Any], ...]], SearchBackend] = {}
_backends_lock = Lock()


def _options() -> dict[str, Any]:
    """The search options of the settings, given to every backend as keyword arguments."""
    return {"index_dir": Path(settings.SEARCH_INDEX_DIR)}


def _backend(path: str) -> SearchBackend:
    # One instance (and so, for Whoosh, one open searcher) per process, backend and options:
    # opening a Whoosh searcher per query costs 30-45 ms on a large index.
    options = _options()
    key = (path, tuple(sorted(options.items())))
    with _backends_lock:
        backend = _backends.get(key)
        if backend is None:
            try:
                backend_class = import_string(path)
            except ImportError as exc:
                raise ImproperlyConfigured(f"cannot import search backend {path!r}: {exc}") from exc
            backend = _backends[key] = backend_class(**options)
        return backend


def get_search_backend() -> SearchBackend:
    """The backend named by ``settings.SEARCH_BACKEND``."""
    return _backend(getattr(settings, "SEARCH_BACKEND", WHOOSH_BACKEND))


def get_fallback_search_backend() -> SearchBackend:
    """The backend that answers while the configured one is unavailable."""
    return _backend(getattr(settings, "SEARCH_FALLBACK_BACKEND", DATABASE_BACKEND))
