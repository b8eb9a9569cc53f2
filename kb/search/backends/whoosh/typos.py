"""Indexed words close to a misspelt one.

Distances are Damerau-Levenshtein (optimal string alignment): swapping two
adjacent letters ("papyal") is one edit, as a user sees it, where Whoosh's
``terms_within`` counts two.  Candidates come from:

* every string one edit away from the word (a letter dropped, added, replaced
  or swapped with the next, anywhere, the first letter included), looked up in
  the vocabulary, a Python set: all the candidates of a word of 4 to 7
  letters, which may be one edit off;
* for words of 8 letters or more, which may be two edits off, also Whoosh's
  Levenshtein automaton at distance 2 with the first letter fixed (as
  ``terms_within(prefix=1)``, which keeps it fast), walked over the sorted
  vocabulary, its results checked with the Damerau-Levenshtein distance.  So
  two typos in a long word are found unless one of them is in the first letter
  or is a swap (the automaton counts a swap as two edits); one typo always is.

The vocabulary of a segment is read once and kept while the segment exists
(segments never change; incremental writes add new small ones).
"""

from __future__ import annotations

import string
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from whoosh.automata.fsa import find_all_matches
from whoosh.automata.lev import levenshtein_automaton
from whoosh.support.levenshtein import damerau_levenshtein

_LETTERS = frozenset(string.ascii_lowercase)


def fuzzy_distance(word: str) -> int:
    """Edit distance allowed for a (folded) word: none below 4 characters."""
    if len(word) < 4:
        return 0
    return 1 if len(word) < 8 else 2


def one_edit(word: str) -> set[str]:
    """Every string one Damerau-Levenshtein edit away from ``word``."""
    letters = _LETTERS | set(word)
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    edits = {left + right[1:] for left, right in splits if right}
    edits.update(left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1)
    edits.update(left + letter + right[1:] for left, right in splits if right for letter in letters)
    edits.update(left + letter + right for left, right in splits for letter in letters)
    edits.discard(word)
    return edits


@lru_cache(maxsize=16)
def _automaton(word: str, maxdist: int) -> Any:
    # Building the DFA costs milliseconds: shared by both languages' vocabularies.
    return levenshtein_automaton(word, maxdist, prefix=1).to_dfa()


class SegmentVocabulary:
    """The words of one field in one segment: a set for lookups, a sorted list for walks.

    ``spellings`` maps folded words to their accented spelling, for segments
    written by a rebuild (None for other segments: their words' spellings are
    unknown).
    """

    def __init__(self, words: Iterable[str], spellings: Mapping[str, str] | None = None) -> None:
        self.sorted = sorted(words)
        self.words = frozenset(self.sorted)
        self.spellings = spellings

    def first_from(self, key: str) -> str | None:
        """The first word >= ``key`` (what Whoosh's automaton walk asks for)."""
        index = bisect_left(self.sorted, key)
        return self.sorted[index] if index < len(self.sorted) else None


def typo_candidates(vocabularies: Iterable[SegmentVocabulary], word: str) -> dict[str, int]:
    """Vocabulary words within the allowed distance of ``word`` (a folded word).

    Returns word -> distance.
    """
    maxdist = fuzzy_distance(word)
    if not maxdist:
        return {}
    vocabularies = list(vocabularies)
    edits = one_edit(word)
    found: dict[str, int] = {}
    for vocabulary in vocabularies:
        found.update(dict.fromkeys(edits & vocabulary.words, 1))
    if maxdist > 1:
        dfa = _automaton(word, maxdist)
        for vocabulary in vocabularies:
            for term in find_all_matches(dfa, vocabulary.first_from):
                if term not in found and term != word:
                    distance = damerau_levenshtein(word, term, maxdist)
                    if distance <= maxdist:
                        found[term] = distance
    return found
