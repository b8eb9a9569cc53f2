"""What every backend does with relevance: title matches first, nothing below a floor.

No search library here: backends pass their own word keys (a stem, a folded word) and scores.

- **Title matches first.** A hit whose title is the query (the same words, ignoring case,
  accents and punctuation: "where is my order" and "Where is my order?") comes before every
  other hit; then hits whose title has the same meaningful words as the query (stop words
  aside, by the backend's word key: "My order where?" or "orders where").
- **A floor.** A hit is shown only when it matches words that carry at least
  ``MIN_COVERAGE`` of the query's weight (each meaningful word weighs its rarity, and a word
  found in no article weighs most in a query that names a thing: "puntos de fidelidad" is
  not answered by articles that only mention a "punto"; in a sentence such as "No me ha
  llegado el reembolso" it weighs nothing) and its score is at least ``SCORE_FLOOR`` of the
  best hit's. A title match is always shown. A query that nothing fits gets no hits at all,
  so the page says "nothing found" and offers contact instead of a list of loose matches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import IntEnum

from .text import WORD_RE, fold_word

# Share of the best hit's score below which a hit is not shown.
SCORE_FLOOR = 0.15
# Share of the query's word weight a hit must match to be shown: in a short query, and in a
# longer one (where a word found nowhere weighs nothing, see word_weight).
MIN_COVERAGE = 0.5
MIN_COVERAGE_LONG = 0.25
# A query names a thing rather than describing a problem when it has up to this many
# meaningful words and up to NAMING_QUERY_WORDS words in all ("puntos de fidelidad"); one
# that says more ("No me ha llegado el reembolso": two meaningful words among six) talks
# around its subject, and a word of it found nowhere is not what it asks about.
SHORT_QUERY_WORDS = 2
NAMING_QUERY_WORDS = 3


class TitleMatch(IntEnum):
    NONE = 0
    NEAR = 1  # the same meaningful words
    EXACT = 2  # the same words


def folded_words(text: str) -> list[str]:
    """Every word of ``text``, lowercase and without accents, in order."""
    return WORD_RE.findall(fold_word(text))


def title_match(query: str, title: str, key: Callable[[str], str | None]) -> TitleMatch:
    """How closely ``title`` is the query; ``key`` maps a word to the form that is compared
    (a stem), or None for a stop word."""
    query_words, title_words = folded_words(query), folded_words(title)
    if not query_words or not title_words:
        return TitleMatch.NONE
    if query_words == title_words:
        return TitleMatch.EXACT
    query_keys = {found for word in query_words if (found := key(word))}
    title_keys = {found for word in title_words if (found := key(word))}
    if query_keys and query_keys == title_keys:
        return TitleMatch.NEAR
    return TitleMatch.NONE


def names_a_thing(meaningful: int, words: int) -> bool:
    """Whether a query of ``words`` words, ``meaningful`` of them not stop words, names what
    it asks about ("puntos de fidelidad") rather than describing it."""
    return meaningful <= SHORT_QUERY_WORDS and words <= NAMING_QUERY_WORDS


def incidental(word: str, position: int) -> bool:
    """Whether a query word says which one rather than what: a number or a code ("299",
    "4411", "A12") or a name written with a capital inside the query ("shipping to Toronto").
    Words in capitals ("IBAN", "NIF") and a capital at the start are not names."""
    if any(char.isdigit() for char in word):
        return True
    return position > 0 and word[:1].isupper() and not word.isupper()


def word_weight(
    matching_documents: int, documents: int, *, naming: bool, incidental: bool = False
) -> float:
    """The weight of a query word found in ``matching_documents`` of ``documents`` (BM25's
    idf, always positive), in a query that names a thing or not (:func:`names_a_thing`).

    A word found nowhere (not even through its typo variants) weighs most in a query that
    names what it asks about ("puntos de fidelidad"), and nothing in one that talks around
    it ("hey I wanna know where my stuff is", "No me ha llegado el reembolso"), nor when it
    is :func:`incidental` ("refund $299", "deliveries to Japan").
    """
    if not matching_documents and (incidental or not naming):
        return 0.0
    return math.log(1 + (documents + 1) / (matching_documents + 0.5))


def coverage(matched: Sequence[bool], weights: Sequence[float]) -> float:
    """The share of the query's weight that a hit matches (1.0 for a query of stop words)."""
    total = sum(weights)
    if total <= 0:
        return 1.0
    return sum(weight for hit, weight in zip(matched, weights, strict=True) if hit) / total


def min_coverage(*, naming: bool) -> float:
    """The share of the query's weight a hit must match (see :func:`names_a_thing`)."""
    return MIN_COVERAGE if naming else MIN_COVERAGE_LONG


def above_floor(score: float, best: float) -> bool:
    return best <= 0 or score >= SCORE_FLOOR * best


# How much a title the query covers entirely adds, as a share of the best candidate's score,
# and how steeply partial cover falls off (cover ** TITLE_COVER_POWER).
TITLE_EVIDENCE = 0.5
TITLE_COVER_POWER = 2.0


def title_evidence(
    title_keys: Sequence[str], matched: dict[str, float], rarity: Callable[[str], float]
) -> float:
    """How much of a title the query covers, 0 to ``TITLE_EVIDENCE``.

    Each of the title's word keys weighs its rarity among titles (``rarity``), and counts as
    covered by the share ``matched`` gives it (1 for a query word, less for a typo variant).
    A title that the query covers whole ("I want to check my invoice" for *Check invoice*)
    gets all of it; one that shares only a word found in many titles ("check when my item
    will arrive") almost nothing, however much its title field scored.
    """
    total = sum(rarity(key) for key in title_keys)
    if total <= 0:
        return 0.0
    covered = sum(rarity(key) * matched.get(key, 0.0) for key in title_keys) / total
    return TITLE_EVIDENCE * covered**TITLE_COVER_POWER
