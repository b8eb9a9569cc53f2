"""Whoosh-backed full-text search for the help-center knowledge base.

The backend of ``SEARCH_BACKEND = "kb.search.backends.whoosh.WhooshSearchBackend"``
(the default), satisfying :class:`kb.search.base.SearchBackend`.  No Django
here: the app layer turns articles into :class:`SearchDocument` objects, calls
the backend through :func:`kb.search.get_search_backend`, and falls back to
another backend when :class:`SearchUnavailable` is raised.  Whoosh's own
exceptions never leave this package (a write lock timeout is
:class:`SearchBusy`).

Whoosh stores the index (segments, postings, stored fields, locks); scoring is
done by :mod:`kb.search.postings` straight from the decoded posting lists,
because Whoosh's own matchers cost hundreds of milliseconds on queries of
common words.

Index layout (see :mod:`kb.search.analysis`): per language, two searched
fields (``title_<lang>``, ``text_<lang>``) and a vocabulary field
(``exact_<lang>``) for typo tolerance and "Did you mean".  A rebuild keeps the
vocabulary of all its documents, with their accented spellings, in one extra
document per language (id ``vocabulary-<lang>``: it has no searched field, so
it never matches, and it is not counted) instead of in every document, which
halves the postings a rebuild writes.  Documents indexed later carry their own
words.  An index written with an older layout is reported unreadable until it
is rebuilt.

Typo tolerance (see :mod:`kb.search.typos`): a word of 4-7 letters may be one
edit off, a longer one two, an edit being a letter dropped, added, replaced
or two adjacent letters swapped.  First-letter typos are found when they are
the word's only edit.

Concurrency model:

* Searches: one Whoosh searcher per engine instance (opening one costs tens of
  milliseconds), reopened only when the index changed and guarded by a lock,
  since Whoosh readers are not thread-safe.  Decoded postings, per-document
  tables and typo candidates live as long as the searcher.
* Incremental writes: any number of processes; each waits up to
  ``write_timeout`` for Whoosh's write lock.
* Rebuilds write a new generation and switch to it atomically (see
  :mod:`kb.search.storage`), so readers never see a half-built index.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from whoosh.index import EmptyIndexError, FileIndex, LockError, create_in, open_dir
from whoosh.reading import IndexReader, TermNotFound
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from kb.search.base import (
    FastPath,
    IndexStatus,
    SearchBusy,
    SearchDocument,
    SearchFeatures,
    SearchHit,
    SearchResults,
    SearchUnavailable,
    Synonyms,
)
from kb.search.relevance import (
    TitleMatch,
    above_floor,
    coverage,
    incidental,
    min_coverage,
    names_a_thing,
    title_evidence,
    title_match,
    word_weight,
)
from kb.search.text import WORD_RE, clean_query, fold_word, query_words

from . import selftest
from .analysis import (
    FIELD_BOOSTS,
    LANGUAGES,
    LanguageAnalysis,
    build_schema,
    exact_field,
    fold,
    schema_is_current,
    stemmed_field,
    stop_words,
)
from .building import rebuild_writer
from .documents import document_fields, normalize_language
from .postings import (
    PostingCache,
    TermSpec,
    combine_scores,
    top,
    word_scores,
)
from .query import FUZZY_BOOST, SYNONYM_BOOST, AnalyzedWord, QueryForm, fuzzy_distance
from .snippets import highlight_snippet
from .storage import GenerationStore
from .typos import SegmentVocabulary, typo_candidates

__all__ = ["WhooshSearchBackend"]

# Below this many hits the next, more permissive query form is tried.
MIN_HITS = 3
MAX_PER_PAGE = 100
# Typo variants of one word that are searched (closest, then most frequent first).
MAX_FUZZY_EXPANSIONS = 20
# Result pages kept per engine until the index changes.
RECENT_RESULTS = 256
# Typo candidate lists kept per searcher.
TYPO_CACHE_ENTRIES = 4096
# Documents read to find the accented spelling of a suggested word.
SURFACE_DOCS = 10
# The best-scored hits whose titles are compared with the query (kb.search.relevance).
TITLE_CANDIDATES = 20
# The best-scored hits whose titles raise their score (title_evidence).
TITLE_EVIDENCE_CANDIDATES = 50
# Title stems kept per searcher.
TITLE_CACHE_ENTRIES = 50_000


def _other_language(lang: str) -> str:
    return next(other for other in LANGUAGES if other != lang)


def _vocabulary_id(lang: str) -> str:
    return f"vocabulary-{lang}"


def _vocabulary_fields(lang: str, words: Iterable[str], spellings: Counter[str]) -> dict[str, Any]:
    """The document that holds a rebuild's vocabulary of ``lang`` (never matches a search).

    It also stores the most frequent accented spelling of each folded word.
    """
    best: dict[str, str] = {}
    for spelling, _count in spellings.most_common():
        best.setdefault(fold(spelling), spelling)
    return {"id": _vocabulary_id(lang), exact_field(lang): sorted(words), "spellings": best}


def _covering(
    scores: dict[int, float],
    words: list[dict[int, float]],
    documents: int,
    *,
    length: int,
    incidental: list[bool],
) -> dict[int, float]:
    """The documents of ``scores`` that match enough of the query's weight (relevance);
    ``words`` holds the documents of each meaningful word of a query of ``length`` words,
    ``incidental`` whether each is a number or a name (kb.search.relevance.incidental)."""
    if len(words) < 2:
        return scores
    naming = names_a_thing(len(words), length)
    weights = [
        word_weight(len(found), documents, naming=naming, incidental=aside)
        for found, aside in zip(words, incidental, strict=True)
    ]
    least = min_coverage(naming=naming)
    return {
        docnum: score
        for docnum, score in scores.items()
        if coverage([docnum in found for found in words], weights) >= least
    }


def _titles_first(
    ranked: list[tuple[int, float]], titled: dict[int, TitleMatch]
) -> list[tuple[int, float]]:
    """Exact title matches, then near ones, then the rest; by score within each (stable)."""
    return sorted(ranked, key=lambda item: -titled.get(item[0], TitleMatch.NONE))


def _match_case(original: str, word: str) -> str:
    if len(original) > 1 and original.isupper():
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class _DocTable:
    """Translation key and category per document number.

    Read once per index version from the columns; used for the category filter
    and for dropping translations from the fallback tier.
    """

    def __init__(self, reader: IndexReader) -> None:
        self.category = self._column(reader, "category")
        keys: dict[str, int] = {}
        # A small integer per translation key (-1: none), so sets of keys are cheap.
        self.key_id = array(
            "i",
            [
                keys.setdefault(key, len(keys)) if key else -1
                for key in self._column(reader, "translation_key")
            ],
        )
        self._categories: dict[str, frozenset[int]] = {}

    @staticmethod
    def _column(reader: IndexReader, fieldname: str) -> list[str]:
        values: list[str] = []
        for leaf, _offset in reader.leaf_readers():
            if leaf.has_column(fieldname):
                values.extend(leaf.column_reader(fieldname))
            else:
                values.extend([""] * leaf.doc_count_all())
        return values

    def in_category(self, category: str) -> frozenset[int]:
        docs = self._categories.get(category)
        if docs is None:
            if len(self._categories) > 256:
                self._categories.clear()
            docs = self._categories[category] = frozenset(
                docnum for docnum, value in enumerate(self.category) if value == category
            )
        return docs

    def keys_of(self, docnums: Iterable[int]) -> set[int]:
        keys = set(map(self.key_id.__getitem__, docnums))
        keys.discard(-1)
        return keys


def _writer(ix: FileIndex, *, timeout: float) -> IndexWriter:
    """Whoosh's writer for ``ix``; its lock timeout surfaces as :class:`SearchBusy`."""
    try:
        return ix.writer(timeout=timeout)
    except LockError as exc:
        raise SearchBusy(f"timed out waiting for the index write lock: {exc}") from exc


def _segment_key(leaf: IndexReader) -> str | None:
    """A name that identifies a segment (whose content never changes), if there is one."""
    try:
        return str(leaf.segment().segment_id())
    except AttributeError:
        return None


class _View:
    """What searching needs from one open searcher, built on demand."""

    def __init__(
        self,
        searcher: Searcher,
        analyses: dict[str, LanguageAnalysis],
        vocabularies: dict[tuple[str, str], SegmentVocabulary],
    ) -> None:
        self.searcher = searcher
        self.reader = searcher.reader()
        self.analyses = analyses
        # Shared with the engine: segments outlive a searcher.
        self._vocabularies = vocabularies
        fields = {
            lang: tuple((stemmed_field(name, lang), boost) for name, boost in FIELD_BOOSTS.items())
            for lang in LANGUAGES
        }
        self.postings = PostingCache(self.reader, fields)
        self._table: _DocTable | None = None
        self._typos: OrderedDict[tuple[str, str], list[tuple[str, int]]] = OrderedDict()
        self._titles: dict[int, tuple[str, ...]] = {}
        self._rarity: dict[tuple[str, str], float] = {}

    @property
    def table(self) -> _DocTable:
        if self._table is None:
            self._table = _DocTable(self.reader)
        return self._table

    def typo_candidates(self, lang: str, folded: str) -> list[tuple[str, int]]:
        """Indexed words close to ``folded``, with their distance: closest first,
        then most frequent.

        (Whoosh's own corrector ranks by frequency alone, whatever the distance.)
        """
        key = (lang, folded)
        found = self._typos.get(key)
        if found is None:
            distances = typo_candidates(self.vocabularies(lang), folded)
            stem = self.analyses[lang].stem
            ranked = []
            for word, distance in distances.items():
                # The vocabulary document keeps the words of documents deleted
                # since the last rebuild: only words still indexed count.
                if term := stem[word]:
                    frequency = len(self.postings.get(lang, term)[0])
                    if frequency:
                        ranked.append((distance, -frequency, word))
            found = self._typos[key] = [(word, d) for d, _f, word in sorted(ranked)]
            if len(self._typos) > TYPO_CACHE_ENTRIES:
                self._typos.popitem(last=False)
        return found

    def vocabularies(self, lang: str) -> list[SegmentVocabulary]:
        """The vocabulary field of ``lang`` in each segment."""
        fieldname = exact_field(lang)
        found = []
        for leaf, _offset in self.reader.leaf_readers():
            segment = _segment_key(leaf)
            vocabulary = self._vocabularies.get((segment, fieldname)) if segment else None
            if vocabulary is None:
                spellings = None
                with contextlib.suppress(TermNotFound):
                    matcher = leaf.postings("id", _vocabulary_id(lang))
                    if matcher.is_active():
                        spellings = leaf.stored_fields(matcher.id()).get("spellings") or {}
                vocabulary = SegmentVocabulary(leaf.field_terms(fieldname), spellings)
                if segment:
                    self._vocabularies[segment, fieldname] = vocabulary
            found.append(vocabulary)
        return found

    def title_terms(self, docnum: int, lang: str) -> tuple[str, ...]:
        """The distinct stems of a document's title (not its keywords), in order."""
        terms = self._titles.get(docnum)
        if terms is None:
            if len(self._titles) > TITLE_CACHE_ENTRIES:
                self._titles.clear()
            title = self.searcher.stored_fields(docnum).get("title", "")
            terms = self._titles[docnum] = tuple(dict.fromkeys(self.analyses[lang].stems(title)))
        return terms

    def title_rarity(self, lang: str, stem: str) -> float:
        """How rare ``stem`` is among the titles of ``lang`` (BM25's idf over the title field):
        a word found in many titles ("check", "order") says little about which one is meant."""
        key = (lang, stem)
        rarity = self._rarity.get(key)
        if rarity is None:
            field = stemmed_field("title", lang)
            documents = self.postings.field_documents(field)
            found = self.reader.doc_frequency(field, stem)
            rarity = self._rarity[key] = word_weight(found, documents, naming=True)
        return rarity

    def matches_anything(self, lang: str, stem: str | None) -> bool:
        return bool(stem) and bool(self.postings.get(lang, stem)[0])


@dataclass
class _Outcome:
    form: QueryForm
    ranked: list[tuple[int, float]]  # (docnum, score), best first, both tiers, up to the limit
    total: int
    # Highlight terms per language, in stemmed form.
    stems: dict[str, set[str]]
    used_fuzzy: bool  # typo variants were searched


class WhooshSearchBackend:
    features = SearchFeatures(accents=True, stemming=True, typos=True, suggestions=True)

    def __init__(self, index_dir: str | os.PathLike[str], *, write_timeout: float = 60.0) -> None:
        self.index_dir = Path(index_dir)
        self.write_timeout = write_timeout
        self._store = GenerationStore(self.index_dir)
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._signature: tuple[int, int, int] | None = None
        # Derived from the open searcher; reset whenever it is reopened.
        self._view: _View | None = None
        # Memoised analysis per language; kept while the index's analyzers stay the same.
        self._analyses: dict[str, LanguageAnalysis] = {}
        # Vocabulary per (segment, field), kept while the segment is in use.
        self._vocabularies: dict[tuple[str, str], SegmentVocabulary] = {}
        # Help-center queries repeat a lot ("contraseña"), and queries made of
        # very common words are the slowest ones.
        self._recent: OrderedDict[tuple[Any, ...], SearchResults] = OrderedDict()
        self._pid = os.getpid()

    # -- status and lifecycle ------------------------------------------------

    @property
    def fast_path(self) -> FastPath:
        """Whether BM25 runs over decoded posting blocks (see :mod:`.selftest`).

        Off when the installed Whoosh fails the probe, or when a search or rebuild of this
        process had to read through Whoosh's public API instead.
        """
        reason = selftest.reason_off()
        return FastPath(active=reason is None, reason=reason or "")

    @property
    def fast_path_active(self) -> bool:
        return self.fast_path.active

    def stop_words(self, language: str) -> frozenset[str]:
        """The words that a document or a query in ``language`` is indexed or searched
        without (Whoosh's stop lists, with and without accents)."""
        return stop_words(normalize_language(language))

    def status(self) -> IndexStatus:
        try:
            with self._lock:
                self._current_searcher()
        except SearchUnavailable as exc:
            return exc.reason
        except Exception:
            return "unreadable"
        return "ok"

    def ensure_index(self) -> None:
        """Create an empty index if there is none; an unreadable one is left for rebuild()."""
        with self._store.lock(exclusive=True, timeout=self.write_timeout):
            try:
                self._open_current()
                return
            except SearchUnavailable as exc:
                if exc.reason != "missing":
                    return
            name = self._store.new_generation()
            create_in(self._store.path(name), build_schema())
            self._store.switch_current(name)

    def document_count(self) -> int:
        """Live documents in the index; raises SearchUnavailable like search()."""
        with self._lock:
            searcher = self._current_searcher()
            reader = searcher.reader()
            vocabularies = sum(
                reader.doc_frequency("id", _vocabulary_id(lang)) for lang in LANGUAGES
            )
            return searcher.doc_count() - vocabularies

    def close(self) -> None:
        """Release the open searcher (it is reopened on demand)."""
        with self._lock:
            self._drop_searcher()

    # -- writing ---------------------------------------------------------------

    def index_document(self, doc: SearchDocument) -> None:
        """Insert or replace the document with ``doc.id``."""
        self._write(
            lambda writer: writer.update_document(
                **document_fields(doc, self._analyses_for(writer.schema))
            ),
            {"op": "upsert", "doc": asdict(doc)},
        )

    def remove_document(self, doc_id: int) -> None:
        self._write(
            lambda writer: writer.delete_by_term("id", str(doc_id)),
            {"op": "delete", "id": doc_id},
        )

    def _write(self, apply: Callable[[IndexWriter], Any], journal_entry: dict[str, Any]) -> None:
        """Apply one change to the live generation (raises SearchBusy on timeout)."""
        deadline = time.monotonic() + self.write_timeout
        # Shared: any number of writers, but never while a rebuild switches generations.
        with self._store.lock(exclusive=False, timeout=self.write_timeout):
            name, ix = self._open_current()
            writer = _writer(ix, timeout=max(deadline - time.monotonic(), 0.0))
            try:
                apply(writer)
            except BaseException:
                writer.cancel()
                raise
            writer.commit()
            building = self._store.building()
            if building is not None and building != name:
                # A rebuild may already have read this document from the
                # database; it replays the journal before switching.
                self._store.append_journal(building, journal_entry)

    def rebuild(
        self,
        documents: Iterable[SearchDocument],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Index ``documents`` (unique ids) into a new generation and switch to it.

        Searches keep using the previous generation until the switch.
        Incremental writes made meanwhile are replayed into the new one, so pass
        a lazy iterable (read from the database as it goes), not a list built
        beforehand.  ``progress(n)`` is called after each document.  Returns the
        number of documents indexed.
        """
        store = self._store
        with store.rebuild_lock():
            name = store.new_generation()
            try:
                with store.lock(exclusive=True, timeout=self.write_timeout):
                    store.set_building(name)
                ix = create_in(store.path(name), build_schema())
                count = self._fill(ix, documents, progress)
                with store.lock(exclusive=True, timeout=None):
                    self._replay_journal(ix, name)
                    store.switch_current(name)
                    store.set_building(None)
            except BaseException:
                store.set_building(None)
                store.discard_generation(name)
                raise
            store.remove_other_generations(keep=name)
        return count

    def _fill(
        self,
        ix: FileIndex,
        documents: Iterable[SearchDocument],
        progress: Callable[[int], None] | None,
    ) -> int:
        writer = rebuild_writer(ix)
        analyses = self._analyses_for(ix.schema)
        add = writer.add_document
        # Each document's own words would double the postings to sort and write;
        # one vocabulary document per language holds them all instead.
        vocabulary: dict[str, set[str]] = {lang: set() for lang in LANGUAGES}
        spellings: dict[str, Counter[str]] = {lang: Counter() for lang in LANGUAGES}
        count = 0
        try:
            for doc in documents:
                lang = normalize_language(doc.language)
                fields = document_fields(doc, analyses, spellings[lang])
                vocabulary[lang].update(fields.pop(exact_field(lang)))
                add(**fields)
                count += 1
                if progress is not None:
                    progress(count)
            for lang, words in vocabulary.items():
                if words:
                    add(**_vocabulary_fields(lang, words, spellings[lang]))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        return count

    def _replay_journal(self, ix: FileIndex, name: str) -> None:
        entries = self._store.read_journal(name)
        if not entries:
            return
        writer = _writer(ix, timeout=self.write_timeout)
        analyses = self._analyses_for(ix.schema)
        try:
            for entry in entries:
                if entry["op"] == "upsert":
                    doc = SearchDocument(**entry["doc"])
                    writer.update_document(**document_fields(doc, analyses))
                else:
                    writer.delete_by_term("id", str(entry["id"]))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    # -- opening the index -------------------------------------------------------

    def _open_current(self) -> tuple[str, FileIndex]:
        try:
            name = self._store.read_current()
        except (OSError, ValueError) as exc:
            raise SearchUnavailable(f"cannot read the index pointer: {exc}") from exc
        if name is None:
            raise SearchUnavailable(f"no search index in {self.index_dir}", reason="missing")
        path = self._store.path(name)
        if not path.is_dir():
            raise SearchUnavailable(f"index generation {path} does not exist", reason="missing")
        try:
            ix = open_dir(str(path))
        except EmptyIndexError as exc:
            raise SearchUnavailable(f"no search index in {path}", reason="missing") from exc
        except Exception as exc:
            raise SearchUnavailable(f"cannot open search index {path}: {exc!r}") from exc
        if not schema_is_current(ix.schema):
            raise SearchUnavailable(f"search index {path} has an older field layout; rebuild it")
        return name, ix

    def _drop_searcher(self) -> None:
        searcher, self._searcher = self._searcher, None
        self._view = None
        self._recent.clear()
        # After a fork the file handles are shared with the parent: just forget them.
        if searcher is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                searcher.close()

    def _current_searcher(self) -> Searcher:
        """The shared searcher, reopened if the index changed. Lock held."""
        if self._pid != os.getpid():
            self._searcher = None
            self._pid = os.getpid()
        for attempt in range(2):
            signature = self._store.current_signature()
            if signature is None:
                self._drop_searcher()
                raise SearchUnavailable(f"no search index in {self.index_dir}", reason="missing")
            if self._searcher is not None and signature == self._signature:
                # Errors (e.g. the generation was deleted) fall through to a reopen.
                with contextlib.suppress(Exception):
                    if self._searcher.up_to_date():
                        return self._searcher
            # Reopen rather than Searcher.refresh(): in whoosh-reloaded 2.7.5
            # refresh() keeps stale deletions and re-adds merged-away segments.
            try:
                _name, ix = self._open_current()
                searcher = ix.searcher()
            except Exception as exc:
                # A rebuild may have switched generations and deleted the one
                # we were opening: try once more with the new pointer.
                if attempt == 0 and self._store.current_signature() != signature:
                    continue
                if isinstance(exc, SearchUnavailable):
                    raise
                raise SearchUnavailable(f"cannot open search index: {exc!r}") from exc
            self._drop_searcher()
            self._searcher, self._signature = searcher, signature
            return searcher
        raise AssertionError("unreachable")

    def _analyses_for(self, schema: Any) -> dict[str, LanguageAnalysis]:
        """Memoised analysis matching ``schema``'s analyzers (kept across index versions)."""
        analyses = self._analyses
        for lang in LANGUAGES:
            current = analyses.get(lang)
            if current is None or not current.matches(schema):
                analyses = {**analyses, lang: LanguageAnalysis(schema, lang)}
        self._analyses = analyses
        return analyses

    def _current_view(self, searcher: Searcher) -> _View:
        """Search state of the open searcher. Lock held."""
        if self._view is None or self._view.searcher is not searcher:
            segments = {_segment_key(leaf) for leaf, _offset in searcher.reader().leaf_readers()}
            self._vocabularies = {
                key: vocabulary
                for key, vocabulary in self._vocabularies.items()
                if key[0] in segments
            }
            self._view = _View(searcher, self._analyses_for(searcher.schema), self._vocabularies)
        return self._view

    # -- searching -----------------------------------------------------------------

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
        """Search ``language`` first, then the other language as a fallback tier.

        Query forms are tried until at least ``MIN_HITS`` documents match: all
        words; all words with the typo variants of words that occur nowhere in
        the index; any word; any word with typo variants.  Pages run over the
        concatenation of both tiers.  A word's ``synonyms`` are searched with it
        in ``language`` (``SYNONYM_BOOST``), in every form.
        """
        lang = normalize_language(language)
        page = max(1, int(page))
        per_page = min(max(1, int(per_page)), MAX_PER_PAGE)
        cleaned = clean_query(query)
        words = query_words(cleaned)
        if not words:
            return SearchResults(cleaned, [], 0, page, per_page, None, False)

        alternatives = {
            index: tuple(found)
            for index, word in enumerate(words)
            if (found := (synonyms or {}).get(fold_word(word)))
        }
        end = page * per_page
        key = (cleaned, lang, category, page, per_page, tuple(sorted(alternatives.items())))
        with self._lock:
            searcher = self._current_searcher()
            results = self._recent.get(key)
            if results is not None:
                self._recent.move_to_end(key)
            else:
                view = self._current_view(searcher)
                outcome = self._find(view, words, lang, category, limit=end, synonyms=alternatives)
                results = SearchResults(
                    query=cleaned,
                    hits=self._hits(view, outcome, start=end - per_page, end=end),
                    total=outcome.total,
                    page=page,
                    per_page=per_page,
                    suggestion=self._suggestion(view, cleaned, lang),
                    used_fuzzy=outcome.used_fuzzy,
                )
                self._recent[key] = results
                if len(self._recent) > RECENT_RESULTS:
                    self._recent.popitem(last=False)
        # A fresh list, so a caller changing it cannot change the cached copy.
        return replace(results, hits=list(results.hits))

    def _find(
        self,
        view: _View,
        words: list[str],
        lang: str,
        category: str | None,
        limit: int,
        synonyms: dict[int, tuple[str, ...]],
    ) -> _Outcome:
        langs = (lang, _other_language(lang))
        analyzed: dict[str, list[AnalyzedWord]] = {}
        for code in langs:
            analysis = view.analyses[code]
            analyzed[code] = []
            for index, word in enumerate(words):
                stem = analysis.stem[word] or None
                alternatives = synonyms.get(index, ()) if code == lang else ()
                synonym_stems = dict.fromkeys(
                    found
                    for alternative in alternatives
                    for found in analysis.stems(alternative)
                    if found != stem
                )
                analyzed[code].append(
                    AnalyzedWord(word, stem, analysis.exact[word] or None, tuple(synonym_stems))
                )
        # Words that match no document in either language, nor through a synonym: typos,
        # probably.
        missing = {
            index
            for index in range(len(words))
            if not any(
                view.matches_anything(code, stem)
                for code in langs
                for stem in (analyzed[code][index].stem, *analyzed[code][index].synonyms)
            )
        }

        def variants(form: QueryForm) -> dict[str, dict[int, list[str]]]:
            """Typo-variant stems per language and word index, for ``form``."""
            found: dict[str, dict[int, list[str]]] = {code: {} for code in langs}
            if form.expands == "none":
                return found
            for code in langs:
                for index, word in enumerate(analyzed[code]):
                    if form.expands == "missing" and index not in missing:
                        continue
                    if word.exact and fuzzy_distance(word.exact):
                        stems = self._variant_stems(view, code, word)
                        if stems:
                            found[code][index] = stems
            return found

        forms = [QueryForm.ALL_WORDS]
        if missing:
            forms.append(QueryForm.ALL_WORDS_FUZZY)
        if len(words) > 1:
            forms.append(QueryForm.ANY_WORD)
        forms.append(QueryForm.FUZZY)

        best: _Outcome | None = None
        tried = []
        for form in forms:
            expansions = variants(form)
            if (form.require_all, expansions) in tried:
                continue  # same search as a previous form (no typo variants to add)
            tried.append((form.require_all, expansions))
            outcome = self._run(view, analyzed, expansions, langs, category, form, limit)
            # Typo variants only count when they found something new.
            if best is None or outcome.total > best.total:
                best = outcome
            if best.total >= MIN_HITS:
                break
        assert best is not None
        return best

    def _variant_stems(self, view: _View, lang: str, word: AnalyzedWord) -> list[str]:
        assert word.exact is not None
        analysis = view.analyses[lang]
        stems: list[str] = []
        candidates = view.typo_candidates(lang, word.exact)
        # Only the closest ones: "devolucoin" is "devolución", not also "revolución".
        closest = [variant for variant, distance in candidates if distance == candidates[0][1]]
        for variant in closest[:MAX_FUZZY_EXPANSIONS]:
            stem = analysis.stem[variant]
            if stem and stem != word.stem and stem not in stems:
                stems.append(stem)
        return stems

    def _run(
        self,
        view: _View,
        analyzed: dict[str, list[AnalyzedWord]],
        expansions: dict[str, dict[int, list[str]]],
        langs: tuple[str, str],
        category: str | None,
        form: QueryForm,
        limit: int,
    ) -> _Outcome:
        stems: dict[str, set[str]] = {}
        plans: dict[str, list[list[TermSpec]]] = {}
        aside: dict[str, list[bool]] = {}
        for code in langs:
            stems[code] = set()
            plans[code] = []
            aside[code] = []
            for index, word in enumerate(analyzed[code]):
                if not word.stem:
                    continue  # a stop word in this language
                aside[code].append(incidental(word.original, index))
                terms: list[TermSpec] = [(code, word.stem, 1.0)]
                stems[code].add(word.stem)
                for synonym in word.synonyms:
                    terms.append((code, synonym, SYNONYM_BOOST))
                    stems[code].add(synonym)
                for variant in expansions.get(code, {}).get(index, ()):
                    terms.append((code, variant, FUZZY_BOOST))
                    stems[code].add(variant)
                plans[code].append(terms)

        table = view.table
        allowed = table.in_category(category) if category is not None else None
        postings = view.postings
        lang, other = langs

        first_words = [word_scores(postings, terms) for terms in plans[lang]]
        first = combine_scores(first_words, form.require_all)
        if allowed is not None:
            first = {docnum: score for docnum, score in first.items() if docnum in allowed}
        length = len(analyzed[lang])
        first = _covering(
            first, first_words, view.reader.doc_count(), length=length, incidental=aside[lang]
        )
        # The best hit of either language sets the floor.
        second_words = [word_scores(postings, terms) for terms in plans[other]]
        best = max(first.values(), default=0.0)
        if not first:
            second_all = combine_scores(second_words, form.require_all)
            best = max(
                _covering(
                    second_all,
                    second_words,
                    view.reader.doc_count(),
                    length=length,
                    incidental=aside[other],
                ).values(),
                default=0.0,
            )
        query = " ".join(word.original for word in analyzed[lang])
        first = self._with_title_evidence(view, lang, plans[lang], first)
        best = max(best, max(first.values(), default=0.0))
        titled = self._title_matches(view, lang, query, top(first, TITLE_CANDIDATES))
        first = {
            docnum: score
            for docnum, score in first.items()
            if docnum in titled or above_floor(score, best)
        }
        ranked = _titles_first(top(first, max(limit, TITLE_CANDIDATES)), titled)[:limit]
        # Other-language versions of the articles found in the requested language.
        translated = table.keys_of(first)
        key_of = table.key_id.__getitem__
        second = combine_scores(second_words, form.require_all)
        second = _covering(
            {
                docnum: score
                for docnum, score in second.items()
                if key_of(docnum) not in translated and (allowed is None or docnum in allowed)
            },
            second_words,
            view.reader.doc_count(),
            length=length,
            incidental=aside[other],
        )
        second = {docnum: score for docnum, score in second.items() if above_floor(score, best)}
        second_total = len(second)
        if len(ranked) < limit:
            ranked += top(second, limit - len(ranked))
        used_fuzzy = any(expansions.values())
        return _Outcome(form, ranked, len(first) + second_total, stems, used_fuzzy)

    @staticmethod
    def _with_title_evidence(
        view: _View, lang: str, plan: list[list[TermSpec]], scores: dict[int, float]
    ) -> dict[int, float]:
        """``scores`` with each of the best candidates raised by how much of its title the
        query covers (see :func:`kb.search.relevance.title_evidence`)."""
        if not scores:
            return scores
        matched: dict[str, float] = {}
        for terms in plan:
            for _code, stem, boost in terms:
                matched[stem] = max(matched.get(stem, 0.0), boost)
        rarity = functools.partial(view.title_rarity, lang)
        raised = dict(scores)
        candidates = top(scores, TITLE_EVIDENCE_CANDIDATES)
        scale = candidates[0][1]
        for docnum, score in candidates:
            evidence = title_evidence(view.title_terms(docnum, lang), matched, rarity)
            if evidence:
                raised[docnum] = score + scale * evidence
        return raised

    @staticmethod
    def _title_matches(
        view: _View, lang: str, query: str, candidates: list[tuple[int, float]]
    ) -> dict[int, TitleMatch]:
        """The candidates whose title is the query or has its words (see relevance)."""
        stem = view.analyses[lang].stem
        found = {}
        for docnum, _score in candidates:
            title = view.searcher.stored_fields(docnum).get("title", "")
            match = title_match(query, title, lambda word: stem[word] or None)
            if match:
                found[docnum] = match
        return found

    def _hits(self, view: _View, outcome: _Outcome, start: int, end: int) -> list[SearchHit]:
        hits = []
        for docnum, score in outcome.ranked[start:end]:
            stored = view.searcher.stored_fields(docnum)
            lang = stored["language"]
            hits.append(
                SearchHit(
                    id=int(stored["id"]),
                    language=lang,
                    translation_key=stored.get("translation_key", ""),
                    title=stored.get("title", ""),
                    url=stored.get("url", ""),
                    category=stored.get("category", ""),
                    summary=stored.get("summary", ""),
                    snippet_html=highlight_snippet(
                        stored.get("body", ""),
                        outcome.stems[lang],
                        view.analyses[lang].stem.__getitem__,
                    ),
                    score=float(score),
                )
            )
        return hits

    # -- "Did you mean" ----------------------------------------------------------------

    def suggest(self, query: str, *, language: str) -> str | None:
        """The query with unknown words replaced by close indexed words, or None."""
        lang = normalize_language(language)
        cleaned = clean_query(query)
        if not WORD_RE.search(cleaned):
            return None
        with self._lock:
            view = self._current_view(self._current_searcher())
            return self._suggestion(view, cleaned, lang)

    def _suggestion(self, view: _View, cleaned: str, lang: str) -> str | None:
        pieces: list[str] = []
        position = 0
        for match in WORD_RE.finditer(cleaned):
            correction = self._correct_word(view, match.group(), lang)
            if correction is not None:
                pieces += [cleaned[position : match.start()], correction]
                position = match.end()
        if not pieces:
            return None
        suggestion = "".join(pieces) + cleaned[position:]
        return None if suggestion.casefold() == cleaned.casefold() else suggestion

    def _correct_word(self, view: _View, word: str, lang: str) -> str | None:
        reader = view.reader
        fieldname = exact_field(lang)
        folded = view.analyses[lang].exact[word]
        if (
            not folded  # stop word
            or not fuzzy_distance(folded)  # too short to correct reliably
            or any(char.isdigit() for char in folded)  # codes, versions, numbers
            or (fieldname, folded) in reader
        ):
            return None
        # Another form of an indexed word ("refunds" when only "refund" occurs)
        # already matches through stemming: not a typo.
        stem = view.analyses[lang].stem[word]
        if stem and any((stemmed_field(name, lang), stem) in reader for name in FIELD_BOOSTS):
            return None
        # Nor is a word of the other language's articles (found in the fallback tier).
        other_lang = _other_language(lang)
        other = view.analyses[other_lang].exact[word]
        if other and (exact_field(other_lang), other) in reader:
            return None
        candidates = view.typo_candidates(lang, folded)
        if not candidates:
            return None
        return _match_case(word, self._surface_form(view, lang, candidates[0][0]))

    @staticmethod
    def _surface_form(view: _View, lang: str, folded: str) -> str:
        """The accented spelling of an indexed folded word ("contrasena" -> "contraseña")."""
        for vocabulary in view.vocabularies(lang):
            if vocabulary.spellings is not None and folded in vocabulary.words:
                return vocabulary.spellings.get(folded, folded)
        # A word indexed since the last rebuild: look at documents that contain it.
        stem = view.analyses[lang].stem[folded]
        for docnum in view.postings.get(lang, stem)[0][:SURFACE_DOCS]:
            stored = view.searcher.stored_fields(docnum)
            for part in ("title", "keywords", "summary", "body"):
                for match in WORD_RE.finditer(stored.get(part, "")):
                    token = match.group().lower()
                    if fold(token) == folded:
                        return token
        return folded
