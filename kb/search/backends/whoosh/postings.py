"""Scoring straight from the postings.

Whoosh's matchers score a document by walking a tree of Python objects per
posting, and counting the matches walks them all again: hundreds of
milliseconds for a query of common words on 20,000 documents.  Here each query
word's posting lists are decoded once into arrays (document numbers and BM25
scores, kept in a bounded cache for the life of the searcher) and queries are
answered with dict and set operations over those, which run at C speed.  Totals
stay exact: counting the matches is a set operation too.

The fast decoding path reads Whoosh 2.7's W3 posting blocks, length columns
and deletion sets directly (about 17 private names of the pinned
``whoosh-reloaded==2.7.5``).  Where they are not what it expects, it reads
through the public API instead, which gives the same results hundreds of
milliseconds slower, and says so: the first fallback of each kind is logged
and recorded in :mod:`.fastpath`, which the backend's ``fast_path`` reports
(system check ``kb.W001``, ``/healthz``).  Postings inlined into a term's
info (terms of a single document) are read through the public API by design.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from itertools import accumulate, repeat
from typing import Any

from whoosh.matching import ListMatcher
from whoosh.reading import IndexReader, TermNotFound

from .fastpath import fell_back

try:  # internals of the pinned Whoosh version; optional
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
    from whoosh.matching.wrappers import FilterMatcher
    from whoosh.util.numeric import byte_to_length

    INTERNALS_ERROR: str | None = None
except ImportError as exc:  # pragma: no cover - another Whoosh version: generic paths only
    W3LeafMatcher = FilterMatcher = None  # type: ignore[assignment,misc]
    INTERNALS_ERROR = f"Whoosh internals not importable: {exc}"

# BM25.  K1 above Whoosh's 1.2: a word said many times in an article's text (its answers
# paraphrase the question) keeps counting a little longer before it saturates (search-eval:
# hit@1 +0.6 points, keyword-style queries +1).
K1 = 2.0
B = 0.75

# Postings kept decoded per searcher (12 bytes each).
CACHE_POSTINGS = 3_000_000

# (language, stem, boost) with boost the query-time factor (typo variants < 1).
TermSpec = tuple[str, str, float]


def _raw_leaf_postings(
    leaf: IndexReader, field: str, term: str, *, strict: bool = False
) -> tuple[list[int], list[float]]:
    """Document numbers (leaf-local, ascending, deleted ones included) and weights.

    ``strict``: raise :class:`.fastpath.FastPathUnavailable` instead of falling back.
    """
    try:
        matcher = leaf.postings(field, term)
    except TermNotFound:
        return [], []
    if FilterMatcher is not None and isinstance(matcher, FilterMatcher):
        matcher = matcher.child  # the deletion filter: applied by the caller
    if type(matcher) is ListMatcher:
        return _generic_postings(matcher)  # inlined: a single document, nothing to gain
    if INTERNALS_ERROR is not None:
        fell_back("postings", INTERNALS_ERROR, strict=strict)
    elif type(matcher) is not W3LeafMatcher or getattr(matcher, "_byteids", False):
        fell_back("postings", f"unexpected matcher {type(matcher).__name__}", strict=strict)
    else:
        try:
            return _block_postings(matcher)
        except (AttributeError, TypeError, ValueError) as exc:
            fell_back("postings", f"W3 block layout changed: {exc!r}", strict=strict)
        matcher = leaf.postings(field, term)  # from the start, through the public API
        if FilterMatcher is not None and isinstance(matcher, FilterMatcher):
            matcher = matcher.child
    return _generic_postings(matcher)


def _block_postings(matcher: W3LeafMatcher) -> tuple[list[int], list[float]]:
    """Whole decoded blocks of a W3 posting list (the private part of the fast path)."""
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        matcher._read_data()
        delta_ids, block_weights, _values = matcher._data
        count = matcher._blocklength
        ids.extend(accumulate(delta_ids))
        if block_weights is None:
            weights.extend(repeat(1.0, count))
        elif isinstance(block_weights, float):
            weights.extend(repeat(block_weights, count))
        else:
            weights.extend(block_weights)
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    return ids, weights


def _generic_postings(matcher: Any) -> tuple[list[int], list[float]]:
    ids: list[int] = []
    weights: list[float] = []
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    return ids, weights


def _leaf_lengths(leaf: IndexReader, field: str, *, strict: bool = False) -> list[int]:
    """Field length of every document of a leaf reader (0 when absent)."""
    count = leaf.doc_count_all()
    try:
        column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
        if column is None:
            return [0] * count
        stored = min(column._count, count)
        raw = column._dbfile.get(column._basepos, stored) if stored else b""
        if column._fixedlen != 1 or len(raw) != stored:
            raise TypeError("unexpected length column")
        return [*map(byte_to_length, raw), *repeat(0, count - stored)]
    except (AttributeError, TypeError, NameError) as exc:
        fell_back("lengths", f"length column unreadable: {exc!r}", strict=strict)
        return [leaf.doc_field_length(docnum, field, 0) or 0 for docnum in range(count)]


def _leaf_deleted(leaf: IndexReader, *, strict: bool = False) -> frozenset[int]:
    if not leaf.has_deletions():
        return frozenset()
    deleted = getattr(leaf, "deleted_docs_set", None)
    if isinstance(deleted, frozenset):
        return deleted
    fell_back("deletions", f"deleted_docs_set is {type(deleted).__name__}", strict=strict)
    return frozenset(d for d in range(leaf.doc_count_all()) if leaf.is_deleted(d))


class _FieldStats:
    def __init__(self, norms: array, doc_count: int) -> None:
        self.norms = norms  # K1 * (1 - B + B * length / average length), per docnum
        self.doc_count = doc_count  # live documents with this field


class PostingCache:
    """BM25 scores per (language, stem) for one reader, decoded on first use.

    A word's entry merges its postings in all the searched fields of its
    language (``fields[lang]``: (field, boost) pairs), summing the fields'
    BM25 scores: one list of documents per query word.  Document numbers are
    the reader's (global) ones; deleted documents are left out.  Entries are
    arrays (12 bytes a posting, and nothing for the garbage collector to walk
    through), kept up to ``budget`` postings, least recently used dropped
    first.
    """

    def __init__(
        self,
        reader: IndexReader,
        fields: dict[str, tuple[tuple[str, float], ...]],
        budget: int = CACHE_POSTINGS,
    ) -> None:
        self._leaves = list(reader.leaf_readers())
        self._deleted = [_leaf_deleted(leaf) for leaf, _offset in self._leaves]
        self._fields = fields
        self._budget = budget
        self._used = 0
        self._stats: dict[str, _FieldStats] = {}
        self._cache: OrderedDict[tuple[str, str], tuple[array, array]] = OrderedDict()

    def _field_stats(self, field: str) -> _FieldStats:
        stats = self._stats.get(field)
        if stats is None:
            lengths: list[int] = []
            for (leaf, _offset), deleted in zip(self._leaves, self._deleted, strict=True):
                leaf_lengths = _leaf_lengths(leaf, field)
                for docnum in deleted:
                    leaf_lengths[docnum] = 0
                lengths.extend(leaf_lengths)
            present = len(lengths) - lengths.count(0)
            average = (sum(lengths) / present) if present else 1.0
            factor = K1 * B / average
            base = K1 * (1 - B)
            stats = self._stats[field] = _FieldStats(
                array("d", [base + factor * length for length in lengths]), present
            )
        return stats

    def field_documents(self, field: str) -> int:
        """Live documents that have ``field``."""
        return self._field_stats(field).doc_count

    def _read(self, field: str, term: str) -> tuple[list[int], list[float]]:
        ids: list[int] = []
        weights: list[float] = []
        for (leaf, offset), deleted in zip(self._leaves, self._deleted, strict=True):
            leaf_ids, leaf_weights = _raw_leaf_postings(leaf, field, term)
            if deleted:
                keep = [i for i, docnum in enumerate(leaf_ids) if docnum not in deleted]
                leaf_ids = [leaf_ids[i] for i in keep]
                leaf_weights = [leaf_weights[i] for i in keep]
            if offset:
                leaf_ids = [docnum + offset for docnum in leaf_ids]
            ids.extend(leaf_ids)
            weights.extend(leaf_weights)
        return ids, weights

    def _field_scores(self, field: str, boost: float, term: str) -> dict[int, float]:
        ids, weights = self._read(field, term)
        if not ids:
            return {}
        stats = self._field_stats(field)
        df = len(ids)
        n = max(stats.doc_count, df)
        idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        scale = boost * idf * (K1 + 1)
        norms = map(stats.norms.__getitem__, ids)
        scores = [scale * w / (w + norm) for w, norm in zip(weights, norms, strict=True)]
        return dict(zip(ids, scores, strict=True))

    def get(self, lang: str, stem: str) -> tuple[array, array]:
        """(docnums, scores) of the documents of ``lang`` containing ``stem``."""
        key = (lang, stem)
        entry = self._cache.get(key)
        if entry is not None:
            self._cache.move_to_end(key)
            return entry
        merged: dict[int, float] = {}
        for field, boost in self._fields[lang]:
            scores = self._field_scores(field, boost, stem)
            if len(scores) > len(merged):
                merged, scores = scores, merged
            get = merged.get
            for docnum, score in scores.items():
                merged[docnum] = get(docnum, 0.0) + score
        entry = (array("i", merged), array("d", merged.values()))
        self._cache[key] = entry
        self._used += len(entry[0]) + 1
        while self._used > self._budget and len(self._cache) > 1:
            _key, (old_ids, _old_scores) = self._cache.popitem(last=False)
            self._used -= len(old_ids) + 1
        return entry


def word_scores(cache: PostingCache, terms: Sequence[TermSpec]) -> dict[int, float]:
    """Documents matching one query word (any of its stems), with summed scores."""
    lists = [(cache.get(lang, stem), boost) for lang, stem, boost in terms]
    lists = [entry for entry in lists if entry[0][0]]
    if not lists:
        return {}
    lists.sort(key=lambda entry: len(entry[0][0]), reverse=True)
    (ids, scores), boost = lists[0]
    if boost == 1.0:
        acc = dict(zip(ids, scores, strict=True))
    else:
        acc = {docnum: score * boost for docnum, score in zip(ids, scores, strict=True)}
    get = acc.get
    for (ids, scores), boost in lists[1:]:
        for docnum, score in zip(ids, scores, strict=True):
            acc[docnum] = get(docnum, 0.0) + score * boost
    return acc


def word_docs(cache: PostingCache, terms: Sequence[TermSpec]) -> set[int]:
    """Documents matching one query word (no scores)."""
    docs: set[int] = set()
    for lang, stem, _boost in terms:
        docs.update(cache.get(lang, stem)[0])
    return docs


def combine_scores(words: list[dict[int, float]], require_all: bool) -> dict[int, float]:
    """Sum per document; with ``require_all`` only documents that every word matched."""
    if not words:
        return {}
    if require_all:
        ordered = sorted(words, key=len)
        acc = ordered[0]
        for other in ordered[1:]:
            acc = {doc: score + other[doc] for doc, score in acc.items() if doc in other}
            if not acc:
                break
        return acc
    ordered = sorted(words, key=len, reverse=True)
    # A copy: the callers still read each word's own documents (the relevance floor).
    acc = dict(ordered[0])
    get = acc.get
    for other in ordered[1:]:
        for docnum, score in other.items():
            acc[docnum] = get(docnum, 0.0) + score
    return acc


def combine_docs(words: list[set[int]], require_all: bool) -> set[int]:
    if not words:
        return set()
    if require_all:
        ordered = sorted(words, key=len)
        return ordered[0].intersection(*ordered[1:])
    ordered = sorted(words, key=len, reverse=True)
    return ordered[0].union(*ordered[1:])


def top(scores: dict[int, float], count: int) -> list[tuple[int, float]]:
    """The ``count`` best (docnum, score) pairs: highest score first, then lowest docnum."""
    if count <= 0 or not scores:
        return []
    if count < len(scores):
        threshold = heapq.nlargest(count, scores.values())[-1]
        items: Iterable[tuple[int, float]] = [
            item for item in scores.items() if item[1] >= threshold
        ]
    else:
        items = scores.items()
    return sorted(items, key=lambda item: (-item[1], item[0]))[:count]
