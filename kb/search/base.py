"""What every search backend promises: the protocol, its result types and its errors.

Nothing here imports a search library. A backend is a class that satisfies
:class:`SearchBackend`; ``settings.SEARCH_BACKEND`` names the one in use and
:func:`kb.search.get_search_backend` returns this process's instance of it (Wagtail's
``get_search_backend()`` over ``BaseSearchBackend``). Every backend passes the contract tests
in ``tests/kb/test_search_backends.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

IndexStatus = Literal["ok", "missing", "unreadable"]


# Words that mean the same to customers, per query word: a search for the key (a word folded
# with kb.search.text.fold_word) also finds articles with any of the words (as staff wrote
# them). Staff keep them in the admin (kb.models.SearchSynonym); search passes those of the
# visitor's language.
Synonyms = Mapping[str, Sequence[str]]


@dataclass(frozen=True)
class SearchDocument:
    id: int  # article primary key; the unique key of the document
    language: str  # "es" or "en"
    translation_key: str  # same value for the Spanish and English versions of one article
    title: str
    keywords: str  # comma separated
    summary: str
    body: str  # plain text (Markdown already stripped by the caller)
    category: str  # category slug
    url: str  # stored and returned with hits


@dataclass(frozen=True)
class SearchHit:
    id: int
    language: str
    translation_key: str
    title: str
    url: str
    category: str
    summary: str
    snippet_html: str  # matched words in <mark>…</mark>, everything else HTML-escaped
    score: float


@dataclass(frozen=True)
class SearchResults:
    query: str  # the cleaned query actually searched
    hits: list[SearchHit]
    # Requested-language matches plus other-language matches that are not translations of a
    # requested-language match.
    total: int
    page: int
    per_page: int
    # "Did you mean" text (whole corrected query), or None.
    suggestion: str | None
    used_fuzzy: bool  # True when typo-tolerant expansion produced these hits


@dataclass(frozen=True)
class SearchFeatures:
    """What a backend promises beyond case-insensitive matching of whole words.

    The contract tests hold each backend to exactly what it declares here.
    """

    accents: bool  # "devolucion" finds "devolución"
    stemming: bool  # "devoluciones" finds "devolución"
    typos: bool  # "devolucoin" finds "devolución"
    suggestions: bool  # "Did you mean" from the index's own words


@dataclass(frozen=True)
class FastPath:
    """Whether a backend's fast path is in use, and if not, why (for checks and /healthz)."""

    active: bool
    reason: str = ""


class SearchError(Exception):
    """Base of the errors a backend raises; never the search library's own exceptions."""


class SearchUnavailable(SearchError):
    """The index is missing or unreadable; callers fall back to another backend.

    ``reason`` is ``"missing"`` or ``"unreadable"`` (the values of ``status()``).
    """

    def __init__(self, message: str, *, reason: IndexStatus = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


class SearchBusy(SearchError):
    """A write waited too long for the index (another writer held it): try again later."""


@runtime_checkable
class SearchBackend(Protocol):
    """A full-text index of the published articles' :class:`SearchDocument` objects.

    Backends are built by :func:`kb.search.get_search_backend` with the search options of the
    settings as keyword arguments (``index_dir``) and take what they need. One instance
    serves a whole process, from any thread.
    """

    features: SearchFeatures

    @property
    def fast_path(self) -> FastPath | None:
        """The state of the backend's fast path; None when it has no separate one."""
        ...

    def status(self) -> IndexStatus: ...

    def ensure_index(self) -> None:
        """Create an empty index if there is none (an unreadable one is left for rebuild)."""

    def document_count(self) -> int:
        """Documents that can be found; raises SearchUnavailable like search()."""
        ...

    def index_document(self, doc: SearchDocument) -> None:
        """Insert or replace the document with ``doc.id``.

        Raises SearchUnavailable (no index) or SearchBusy (try again).
        """

    def remove_document(self, doc_id: int) -> None:
        """Remove the document with ``doc_id`` (nothing happens if there is none)."""

    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Index exactly ``documents``, searches answering from the old index meanwhile.

        ``progress(n)`` is called after each document. Returns the number indexed.
        """
        ...

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
        """``language`` first, then the other language. Any string is a valid query.

        A query word also matches its ``synonyms`` (words of ``language``), as if the
        article had used the word itself.

        Raises SearchUnavailable when the index cannot answer.
        """
        ...

    def suggest(self, query: str, *, language: str) -> str | None:
        """The query with unknown words replaced by close indexed words, or None."""
        ...

    def close(self) -> None:
        """Release what the process holds open (reopened on demand)."""
