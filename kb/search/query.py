"""Query cleaning and the query forms.

User input never reaches the Whoosh query parser: it is reduced to word tokens
that are looked up as terms, so operators, field syntax, wildcards and
unbalanced quotes are just text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum

from .analysis import WORD_RE, normalize_text
from .typos import fuzzy_distance

MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 12
# Cheap guard so a multi-megabyte "query" is not normalised character by character.
_MAX_RAW_CHARS = MAX_QUERY_CHARS * 4

# Typo matches rank below exact ones for the same word.
FUZZY_BOOST = 0.5


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


def clean_query(raw: str) -> str:
    """Normalise arbitrary user input into the query text that gets searched.

    Control characters are replaced by spaces, invisible format characters
    (zero-width joiners, soft hyphens, BOM) and lone surrogates dropped,
    whitespace collapsed, and the result capped at ``MAX_QUERY_CHARS``
    characters and ``MAX_QUERY_TERMS`` words.  Punctuation is kept so the text
    can be shown back to the user ("Results for …") and logged.
    """
    if not raw:
        return ""
    text = normalize_text(str(raw)[:_MAX_RAW_CHARS])
    chars: list[str] = []
    for char in text:
        category = unicodedata.category(char)
        if category == "Cc":
            chars.append(" ")
        elif category not in ("Cf", "Cs"):
            chars.append(char)
    text = " ".join("".join(chars).split())

    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS]
        # Avoid searching for the front half of a word cut in two.
        if text[MAX_QUERY_CHARS].isalnum() and " " in cut:
            cut = cut.rsplit(" ", 1)[0]
        text = cut.rstrip()

    matches = list(WORD_RE.finditer(text))
    if len(matches) > MAX_QUERY_TERMS:
        text = text[: matches[MAX_QUERY_TERMS - 1].end()]
    return text


def query_words(cleaned: str) -> list[str]:
    """Distinct word tokens of a cleaned query, in order (first spelling wins)."""
    seen: set[str] = set()
    words: list[str] = []
    for word in WORD_RE.findall(cleaned)[:MAX_QUERY_TERMS]:
        key = word.casefold()
        if key not in seen:
            seen.add(key)
            words.append(word)
    return words


@dataclass(frozen=True)
class AnalyzedWord:
    """A query word as it appears in one language's fields.

    ``stem`` is the term of the searched (stemmed) fields, ``exact`` the folded
    word of the vocabulary; both are None when the word is a stop word there.
    """

    original: str
    stem: str | None
    exact: str | None


__all__ = [
    "FUZZY_BOOST",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "AnalyzedWord",
    "QueryForm",
    "clean_query",
    "fuzzy_distance",
    "query_words",
]
