"""Whoosh-backed full-text search for the help-center knowledge base.

No Django here: the app layer turns articles into :class:`SearchDocument`
objects, calls the engine from signals/tasks/views, and falls back to a
database query when :class:`SearchUnavailable` is raised.

Concurrency model:

* Searches: one Whoosh searcher per engine instance (opening one costs tens of
  milliseconds), reopened only when the index changed and guarded by a lock,
  since Whoosh readers are not thread-safe.
* Incremental writes: any number of processes; each waits up to
  ``write_timeout`` for Whoosh's write lock.
* Rebuilds write a new generation and switch to it atomically (see
  :mod:`kb.search.storage`), so readers never see a half-built index.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from whoosh import query as q
from whoosh.index import EmptyIndexError, FileIndex, create_in, open_dir
from whoosh.reading import IndexReader
from whoosh.searching import Searcher
from whoosh.writing import IndexWriter

from .analysis import (
    FIELD_BOOSTS,
    LANGUAGES,
    WORD_RE,
    WordStemmer,
    build_schema,
    exact_field,
    first_token,
    fold,
    normalize_text,
    stemmed_field,
)
from .query import (
    AnalyzedWord,
    QueryForm,
    analyze_words,
    build_query,
    clean_query,
    fuzzy_distance,
    query_words,
)
from .snippets import highlight_snippet
from .storage import GenerationStore

__all__ = [
    "SearchDocument",
    "SearchHit",
    "SearchResults",
    "SearchUnavailable",
    "WhooshSearchEngine",
    "clean_query",
]

# Below this many hits the next, more permissive query form is tried and a
# "Did you mean" suggestion is offered.
MIN_HITS = 3
MAX_PER_PAGE = 100
# Typo variants of one word that are searched (most frequent first).
MAX_FUZZY_EXPANSIONS = 20
REBUILD_LIMITMB = 256
# Result pages kept per engine until the index changes.
RECENT_RESULTS = 256

Status = Literal["ok", "missing", "unreadable"]


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
    # Requested-language matches plus other-language matches that are not
    # translations of a requested-language match.  Exact for the query form
    # that produced the hits (deleted-but-unmerged documents never count).
    total: int
    page: int
    per_page: int
    suggestion: str | None  # "Did you mean" text (whole corrected query), or None
    used_fuzzy: bool  # True when typo-tolerant expansion produced these hits


class SearchUnavailable(Exception):
    """The index is missing or unreadable; callers should fall back to the database.

    ``reason`` is ``"missing"`` or ``"unreadable"`` (same values as ``status()``).
    """

    def __init__(self, message: str, *, reason: Status = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


def normalize_language(language: str) -> str:
    """``"es"``, ``"es-mx"`` and ``"ES_es"`` -> ``"es"``; ValueError for unsupported languages."""
    lang = (language or "").strip().lower().replace("_", "-").split("-")[0]
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; expected one of {LANGUAGES}")
    return lang


def _other_language(lang: str) -> str:
    return next(other for other in LANGUAGES if other != lang)


def _document_fields(doc: SearchDocument) -> dict[str, str]:
    lang = normalize_language(doc.language)
    title, keywords, summary, body = (
        normalize_text(text) for text in (doc.title, doc.keywords, doc.summary, doc.body)
    )
    fields = {
        "id": str(doc.id),
        "language": lang,
        "translation_key": doc.translation_key or "",
        "category": doc.category or "",
        "url": doc.url,
        "title": title,
        "keywords": keywords,
        "summary": summary,
        "body": body,
        exact_field(lang): "\n".join((title, keywords, summary, body)),
    }
    texts = {"title": title, "keywords": keywords, "summary": summary, "body": body}
    for name, text in texts.items():
        fields[stemmed_field(name, lang)] = text
    return fields


def _terms_within(reader: IndexReader, fieldname: str, text: str, maxdist: int) -> set[str]:
    # Per segment: a multi-segment reader falls back to Whoosh's slow
    # distance-per-term scan instead of the automaton.
    found: set[str] = set()
    for leaf, _offset in reader.leaf_readers():
        found.update(leaf.terms_within(fieldname, text, maxdist, prefix=1))
    return found


def _match_case(original: str, word: str) -> str:
    if len(original) > 1 and original.isupper():
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


class _DocTable:
    """Language, translation key and category per document number.

    Read once per index version from the columns; used for the category filter
    and for dropping translations from the fallback tier.
    """

    def __init__(self, reader: IndexReader) -> None:
        self.language = self._column(reader, "language")
        self.translation_key = self._column(reader, "translation_key")
        self.category = self._column(reader, "category")
        self._by_key: dict[str, dict[str, list[int]]] = {}

    @staticmethod
    def _column(reader: IndexReader, fieldname: str) -> list[str]:
        values: list[str] = []
        for leaf, _offset in reader.leaf_readers():
            if leaf.has_column(fieldname):
                values.extend(leaf.column_reader(fieldname))
            else:
                values.extend([""] * leaf.doc_count_all())
        return values

    def in_category(self, category: str) -> set[int]:
        return {docnum for docnum, value in enumerate(self.category) if value == category}

    def keys_of(self, docnums: Iterable[int]) -> set[str]:
        return {key for docnum in docnums if (key := self.translation_key[docnum])}

    def docs_with_keys(self, lang: str, keys: set[str]) -> set[int]:
        if lang not in self._by_key:
            by_key: dict[str, list[int]] = {}
            for docnum, key in enumerate(self.translation_key):
                if key and self.language[docnum] == lang:
                    by_key.setdefault(key, []).append(docnum)
            self._by_key[lang] = by_key
        by_key = self._by_key[lang]
        return {docnum for key in keys for docnum in by_key.get(key, ())}


@dataclass
class _Tier:
    ranked: list[tuple[int, float]] = field(default_factory=list)  # (docnum, score), best first
    total: int = 0
    docs: set[int] = field(default_factory=set)


@dataclass
class _Outcome:
    form: QueryForm
    tiers: tuple[_Tier, _Tier]  # requested language, other language
    # Highlight terms per language, in stemmed form.
    stems: dict[str, set[str]]

    @property
    def total(self) -> int:
        return self.tiers[0].total + self.tiers[1].total


class WhooshSearchEngine:
    def __init__(self, index_dir: str | os.PathLike[str], *, write_timeout: float = 60.0) -> None:
        self.index_dir = Path(index_dir)
        self.write_timeout = write_timeout
        self._store = GenerationStore(self.index_dir)
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._signature: tuple[int, int, int] | None = None
        # Derived from the open searcher; reset whenever it is reopened.
        self._table: _DocTable | None = None
        self._stemmers: dict[str, WordStemmer] = {}
        # Help-center queries repeat a lot ("contraseña"), and queries made of
        # very common words are the slowest ones.
        self._recent: OrderedDict[tuple[Any, ...], SearchResults] = OrderedDict()
        self._pid = os.getpid()

    # -- status and lifecycle ------------------------------------------------

    def status(self) -> Status:
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
            return self._current_searcher().doc_count()

    def close(self) -> None:
        """Release the open searcher (it is reopened on demand)."""
        with self._lock:
            self._drop_searcher()

    # -- writing ---------------------------------------------------------------

    def index_document(self, doc: SearchDocument) -> None:
        """Insert or replace the document with ``doc.id``."""
        fields = _document_fields(doc)
        self._write(
            lambda writer: writer.update_document(**fields),
            {"op": "upsert", "doc": asdict(doc)},
        )

    def remove_document(self, doc_id: int) -> None:
        self._write(
            lambda writer: writer.delete_by_term("id", str(doc_id)),
            {"op": "delete", "id": doc_id},
        )

    def _write(self, apply: Callable[[IndexWriter], Any], journal_entry: dict[str, Any]) -> None:
        """Apply one change to the live generation (raises whoosh LockError on timeout)."""
        deadline = time.monotonic() + self.write_timeout
        # Shared: any number of writers, but never while a rebuild switches generations.
        with self._store.lock(exclusive=False, timeout=self.write_timeout):
            name, ix = self._open_current()
            writer = ix.writer(timeout=max(deadline - time.monotonic(), 0.0))
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

    @staticmethod
    def _fill(
        ix: FileIndex,
        documents: Iterable[SearchDocument],
        progress: Callable[[int], None] | None,
    ) -> int:
        # One big in-memory buffer, no subprocesses: fastest on a small machine.
        writer = ix.writer(limitmb=REBUILD_LIMITMB, procs=1)
        count = 0
        try:
            for doc in documents:
                writer.add_document(**_document_fields(doc))
                count += 1
                if progress is not None:
                    progress(count)
        except BaseException:
            writer.cancel()
            raise
        writer.commit()
        return count

    def _replay_journal(self, ix: FileIndex, name: str) -> None:
        entries = self._store.read_journal(name)
        if not entries:
            return
        writer = ix.writer(timeout=self.write_timeout)
        try:
            for entry in entries:
                if entry["op"] == "upsert":
                    writer.update_document(**_document_fields(SearchDocument(**entry["doc"])))
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
            return name, open_dir(str(path))
        except EmptyIndexError as exc:
            raise SearchUnavailable(f"no search index in {path}", reason="missing") from exc
        except Exception as exc:
            raise SearchUnavailable(f"cannot open search index {path}: {exc!r}") from exc

    def _drop_searcher(self) -> None:
        searcher, self._searcher = self._searcher, None
        self._table, self._stemmers = None, {}
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

    def _doc_table(self, searcher: Searcher) -> _DocTable:
        if self._table is None:
            self._table = _DocTable(searcher.reader())
        return self._table

    def _stemmer(self, searcher: Searcher, lang: str) -> WordStemmer:
        if lang not in self._stemmers:
            analyzer = searcher.schema[stemmed_field("body", lang)].analyzer
            self._stemmers[lang] = WordStemmer(analyzer)
        return self._stemmers[lang]

    # -- searching -----------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        language: str,
        category: str | None = None,
        page: int = 1,
        per_page: int = 10,
    ) -> SearchResults:
        """Search ``language`` first, then the other language as a fallback tier.

        Query forms are tried from cheap to expensive until at least
        ``MIN_HITS`` documents match: all words, any word, then typo-tolerant.
        Pages run over the concatenation of both tiers.
        """
        lang = normalize_language(language)
        page = max(1, int(page))
        per_page = min(max(1, int(per_page)), MAX_PER_PAGE)
        cleaned = clean_query(query)
        words = query_words(cleaned)
        if not words:
            return SearchResults(cleaned, [], 0, page, per_page, None, False)

        end = page * per_page
        key = (cleaned, lang, category, page, per_page)
        with self._lock:
            searcher = self._current_searcher()
            results = self._recent.get(key)
            if results is not None:
                self._recent.move_to_end(key)
            else:
                outcome = self._find(searcher, words, lang, category, limit=end)
                used_fuzzy = outcome.form is QueryForm.FUZZY
                suggestion = None
                if outcome.total < MIN_HITS or used_fuzzy:
                    suggestion = self._suggestion(searcher, cleaned, lang)
                results = SearchResults(
                    query=cleaned,
                    hits=self._hits(searcher, outcome, start=end - per_page, end=end),
                    total=outcome.total,
                    page=page,
                    per_page=per_page,
                    suggestion=suggestion,
                    used_fuzzy=used_fuzzy,
                )
                self._recent[key] = results
                if len(self._recent) > RECENT_RESULTS:
                    self._recent.popitem(last=False)
        # A fresh list, so a caller changing it cannot change the cached copy.
        return replace(results, hits=list(results.hits))

    def _find(
        self, searcher: Searcher, words: list[str], lang: str, category: str | None, limit: int
    ) -> _Outcome:
        langs = (lang, _other_language(lang))
        analyzed = {code: analyze_words(words, searcher.schema, code) for code in langs}
        forms = [QueryForm.ALL_WORDS]
        if len(words) > 1:
            forms.append(QueryForm.ANY_WORD)
        forms.append(QueryForm.FUZZY)

        best: _Outcome | None = None
        for form in forms:
            expansions: dict[str, dict[str, list[str]]] = {}
            if form is QueryForm.FUZZY:
                expansions = {
                    code: self._expansions(searcher, analyzed[code], code) for code in langs
                }
                if not any(expansions.values()):
                    break  # no typo variants in the index: same as the previous form
            outcome = self._run(searcher, analyzed, expansions, langs, category, form, limit)
            # Typo variants only count when they found something new.
            if best is None or outcome.total > best.total:
                best = outcome
            if best.total >= MIN_HITS:
                break
        assert best is not None
        return best

    def _expansions(
        self, searcher: Searcher, words: list[AnalyzedWord], lang: str
    ) -> dict[str, list[str]]:
        """Indexed words within the allowed edit distance of each query word."""
        reader = searcher.reader()
        fieldname = exact_field(lang)
        expansions: dict[str, list[str]] = {}
        for word in words:
            if not word.exact or not (distance := fuzzy_distance(word.exact)):
                continue
            variants = _terms_within(reader, fieldname, word.exact, distance) - {word.exact}
            if variants:
                expansions[word.exact] = sorted(
                    variants, key=lambda term: (-reader.doc_frequency(fieldname, term), term)
                )[:MAX_FUZZY_EXPANSIONS]
        return expansions

    def _run(
        self,
        searcher: Searcher,
        analyzed: dict[str, list[AnalyzedWord]],
        expansions: dict[str, dict[str, list[str]]],
        langs: tuple[str, str],
        category: str | None,
        form: QueryForm,
        limit: int,
    ) -> _Outcome:
        table = self._doc_table(searcher)
        lang, other = langs
        queries = {
            code: build_query(analyzed[code], code, form, expansions.get(code)) for code in langs
        }
        # The fields searched belong to one language, so no language filter is needed.
        allowed = table.in_category(category) if category is not None else None
        first = self._tier(searcher, queries[lang], allowed, set(), limit)
        translations = table.docs_with_keys(other, table.keys_of(first.docs))
        second = self._tier(
            searcher, queries[other], allowed, translations, max(limit - first.total, 1)
        )
        stems: dict[str, set[str]] = {}
        for code in langs:
            stems[code] = {word.stem for word in analyzed[code] if word.stem}
            stemmer = self._stemmer(searcher, code)
            for variants in expansions.get(code, {}).values():
                stems[code].update(stem for variant in variants if (stem := stemmer(variant)))
        return _Outcome(form, (first, second), stems)

    @staticmethod
    def _tier(
        searcher: Searcher,
        query: q.Query | None,
        allowed: set[int] | None,
        mask: set[int],
        limit: int,
    ) -> _Tier:
        # Checked here because Whoosh takes an empty filter set as "no filter".
        if query is None or (allowed is not None and not allowed):
            return _Tier()
        results = searcher.search(query, filter=allowed, mask=mask or None, limit=limit)
        docs = set(results.docs())
        return _Tier(ranked=list(results.items()), total=len(docs), docs=docs)

    def _hits(self, searcher: Searcher, outcome: _Outcome, start: int, end: int) -> list[SearchHit]:
        ranked = [*outcome.tiers[0].ranked, *outcome.tiers[1].ranked][start:end]
        hits = []
        for docnum, score in ranked:
            stored = searcher.stored_fields(docnum)
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
                        stored.get("body", ""), outcome.stems[lang], self._stemmer(searcher, lang)
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
            return self._suggestion(self._current_searcher(), cleaned, lang)

    def _suggestion(self, searcher: Searcher, cleaned: str, lang: str) -> str | None:
        pieces: list[str] = []
        position = 0
        for match in WORD_RE.finditer(cleaned):
            correction = self._correct_word(searcher, match.group(), lang)
            if correction is not None:
                pieces += [cleaned[position : match.start()], correction]
                position = match.end()
        if not pieces:
            return None
        suggestion = "".join(pieces) + cleaned[position:]
        return None if suggestion.casefold() == cleaned.casefold() else suggestion

    def _correct_word(self, searcher: Searcher, word: str, lang: str) -> str | None:
        reader = searcher.reader()
        schema = searcher.schema
        fieldname = exact_field(lang)
        folded = first_token(schema[fieldname].analyzer, word)
        if (
            folded is None  # stop word
            or not fuzzy_distance(folded)  # too short to correct reliably
            or any(char.isdigit() for char in folded)  # codes, versions, numbers
            or (fieldname, folded) in reader
        ):
            return None
        # Another form of an indexed word ("refunds" when only "refund" occurs)
        # already matches through stemming: not a typo.
        stem = first_token(schema[stemmed_field("body", lang)].analyzer, word)
        if stem and any((stemmed_field(name, lang), stem) in reader for name in FIELD_BOOSTS):
            return None
        # Nor is a word of the other language's articles (found in the fallback tier).
        other_field = exact_field(_other_language(lang))
        other = first_token(schema[other_field].analyzer, word)
        if other and (other_field, other) in reader:
            return None
        # Closest first, then most frequent (Whoosh's own corrector ranks by
        # frequency alone, whatever the distance).
        for distance in range(1, fuzzy_distance(folded) + 1):
            candidates = _terms_within(reader, fieldname, folded, distance)
            if candidates:
                best = min(
                    candidates, key=lambda term: (-reader.doc_frequency(fieldname, term), term)
                )
                return _match_case(word, self._surface_form(searcher, fieldname, best))
        return None

    @staticmethod
    def _surface_form(searcher: Searcher, fieldname: str, folded: str) -> str:
        """The accented spelling of an indexed folded word ("contrasena" -> "contraseña")."""
        docnum = next(iter(searcher.docs_for_query(q.Term(fieldname, folded))), None)
        if docnum is not None:
            stored = searcher.stored_fields(docnum)
            for name in ("title", "keywords", "summary", "body"):
                for match in WORD_RE.finditer(stored.get(name, "")):
                    token = match.group().lower()
                    if fold(token) == folded:
                        return token
        return folded
