"""The query forms of the Whoosh backend.

Queries arrive cleaned (:func:`kb.search.text.clean_query`): the Whoosh query
parser is never used, words are looked up as terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from kb.search.text import MAX_QUERY_CHARS, MAX_QUERY_TERMS, clean_query, query_words

from .typos import fuzzy_distance

# Typo matches rank below exact ones for the same word.
FUZZY_BOOST = 0.5
# A synonym staff gave for a word counts nearly as the word itself.
SYNONYM_BOOST = 0.8


class QueryForm(Enum):
    """Query forms tried in order, most precise first, until enough documents match.

    A word "missing" from the index (in no document of either language) is a
    typo, probably: from the second form on it is matched through its typo
    variants instead.
    """

    ALL_WORDS = "and"
    ALL_WORDS_FUZZY = "and-fuzzy"  # all words, missing ones through their variants
    ANY_WORD = "or"  # any word, missing ones through their variants
    FUZZY = "fuzzy"  # any word, every word also through its variants

    @property
    def require_all(self) -> bool:
        return self in (QueryForm.ALL_WORDS, QueryForm.ALL_WORDS_FUZZY)

    @property
    def expands(self) -> str:
        """Whose typo variants are searched: "none", "missing" or "all" words."""
        if self is QueryForm.ALL_WORDS:
            return "none"
        return "all" if self is QueryForm.FUZZY else "missing"


@dataclass(frozen=True)
class AnalyzedWord:
    """A query word as it appears in one language's fields.

    ``stem`` is the term of the searched (stemmed) fields, ``exact`` the folded
    word of the vocabulary; both are None when the word is a stop word there.
    """

    original: str
    stem: str | None
    exact: str | None
    # Stems of the word's synonyms (the requested language only).
    synonyms: tuple[str, ...] = ()


__all__ = [
    "FUZZY_BOOST",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "SYNONYM_BOOST",
    "AnalyzedWord",
    "QueryForm",
    "clean_query",
    "fuzzy_distance",
    "query_words",
]
