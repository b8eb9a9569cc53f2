"""Full-text search for the knowledge base (Whoosh; no Django imports)."""

from .engine import (
    SearchDocument,
    SearchHit,
    SearchResults,
    SearchUnavailable,
    WhooshSearchEngine,
    clean_query,
)

__all__ = [
    "SearchDocument",
    "SearchHit",
    "SearchResults",
    "SearchUnavailable",
    "WhooshSearchEngine",
    "clean_query",
]
