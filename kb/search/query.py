"""Query cleaning and programmatic query construction.

User input never reaches the Whoosh query parser: it is reduced to word tokens
and the query tree is built from those, so operators, field syntax, wildcards
and unbalanced quotes are just text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum

from whoosh import query as q
from whoosh.fields import Schema

from .analysis import (
    FIELD_BOOSTS,
    WORD_RE,
    exact_field,
    first_token,
    normalize_text,
    stemmed_field,
)

MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 12
# Cheap guard so a multi-megabyte "query" is not normalised character by character.
_MAX_RAW_CHARS = MAX_QUERY_CHARS * 4

EXACT_BOOST = 1.0
# Typo matches rank below exact ones for the same word.
FUZZY_BOOST = 0.5


class QueryForm(Enum):
    """Query forms tried in order, cheapest and most precise first."""

    ALL_WORDS = "and"
    ANY_WORD = "or"
    FUZZY = "fuzzy"


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


def fuzzy_distance(word: str) -> int:
    """Edit distance allowed for a (folded) word: none below 4 characters."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


@dataclass(frozen=True)
class AnalyzedWord:
    """A query word as it appears in one language's stemmed and exact fields.

    ``stem``/``exact`` are None when the word is a stop word in that language.
    """

    original: str
    stem: str | None
    exact: str | None


def analyze_words(words: list[str], schema: Schema, lang: str) -> list[AnalyzedWord]:
    # Use the analyzers pickled in the index so queries always match how the
    # documents were analysed.
    stemming = schema[stemmed_field("body", lang)].analyzer
    exact = schema[exact_field(lang)].analyzer
    return [
        AnalyzedWord(word, first_token(stemming, word), first_token(exact, word)) for word in words
    ]


def _word_query(word: AnalyzedWord, lang: str, variants: list[str] | None = None) -> q.Query | None:
    """Matches the word in any field of the language, stemmed or exact.

    ``variants`` are indexed typo variants of the word (fuzzy form only).  They
    are matched on the unstemmed field: the stem of a typo is too far from the
    stem of the right word.
    """
    clauses: list[q.Query] = []
    if word.stem:
        clauses.extend(
            q.Term(stemmed_field(name, lang), word.stem, boost=boost)
            for name, boost in FIELD_BOOSTS.items()
        )
    if word.exact:
        field = exact_field(lang)
        clauses.append(q.Term(field, word.exact, boost=EXACT_BOOST))
        clauses.extend(q.Term(field, variant, boost=FUZZY_BOOST) for variant in variants or ())
    return q.Or(clauses) if clauses else None


def build_query(
    words: list[AnalyzedWord],
    lang: str,
    form: QueryForm,
    expansions: dict[str, list[str]] | None = None,
) -> q.Query | None:
    """The query for one language, or None when every word is a stop word there.

    ``expansions`` maps a word's exact form to its indexed typo variants; they
    are only used by the fuzzy form.  The caller expands them once instead of
    using ``FuzzyTerm``, which expands again on every search and again when
    counting the matches.
    """
    variants = expansions if form is QueryForm.FUZZY and expansions else {}
    clauses: list[q.Query] = []
    for word in words:
        clause = _word_query(word, lang, variants.get(word.exact or ""))
        if clause is not None:
            clauses.append(clause)
    if not clauses:
        return None
    if form is QueryForm.ALL_WORDS:
        return q.And(clauses)
    # Plain OR: documents matching more of the words simply score higher.
    return q.Or(clauses)
