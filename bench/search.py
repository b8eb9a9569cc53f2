"""Knowledge-base search: index rebuild time and query latency (README: Benchmarks)."""

from __future__ import annotations

import itertools
import math
import os
import random
import resource
import sys
import time
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import _corpus  # bench/_corpus.py, beside this file
import _support as bench
from _support import percentile, say

SEED = 20_240_611
TARGET_P95_MS = 25.0
TARGET_REBUILD_SECONDS = 90.0
TARGET_REBUILD_ARTICLES = 20_000
WARMUP_QUERIES = 20
INSERT_BATCH = 1_000
REPEATED_QUERIES = 100  # searched twice in a row, the second time reported apart
PREPARATION_SAMPLE = 2_000  # articles re-read to split the rebuild time
# Share of each query kind; "no-accent" queries are always Spanish.
QUERY_MIX = {"exact": 0.26, "phrase": 0.26, "typo": 0.20, "no-accent": 0.12, "uppercase": 0.10,
             "no-match": 0.06}  # fmt: skip


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def latency(values_ms: Sequence[float]) -> tuple[float, float, float, float]:
    """p50, p95, p99 and max."""
    return (*(percentile(values_ms, p) for p in (50, 95, 99)), max(values_ms, default=math.nan))


def share(count: int, total: int) -> str:
    return f"{100 * count / total:.0f}%" if total else "-"


# -- corpus and index --------------------------------------------------------------------------
def insert_corpus(count: int, material) -> tuple[float, int]:
    """Generate and insert the corpus; returns (seconds, average words per body)."""
    from django.db import transaction
    from tqdm import tqdm

    from kb.models import Article

    started, words = time.perf_counter(), 0
    categories = _corpus.create_categories()
    articles = _corpus.generate_articles(count, categories, material, random.Random(SEED))
    with tqdm(total=count, desc="corpus ", unit="art", mininterval=1.0) as bar:
        while batch := list(itertools.islice(articles, INSERT_BATCH)):
            words += sum(len(_corpus.WORD.findall(article.body)) for article in batch)
            with transaction.atomic():
                Article.objects.bulk_create(batch, batch_size=500)
            bar.update(len(batch))
    return time.perf_counter() - started, words // max(count, 1)


def build_index(expected: int) -> SimpleNamespace:
    """Rebuild the index as ``manage.py rebuild_search_index`` does, and say what took the time:
    reading the articles and their Markdown (estimated on a sample), Whoosh, its final commit."""
    from django.conf import settings
    from tqdm import tqdm

    from kb.models import Article
    from kb.search import get_search_backend
    from kb.services.indexing import build_search_document, rebuild_search_index

    last_document = 0.0
    with tqdm(total=expected, desc="index  ", unit="doc", mininterval=1.0) as bar:

        def progress(done: int) -> None:
            nonlocal last_document
            last_document = time.perf_counter()
            bar.update(done - bar.n)

        started = time.perf_counter()
        count = rebuild_search_index(progress=progress)
        finished = time.perf_counter()
    if (indexed := get_search_backend().document_count()) != count:
        say(f"  ! rebuild reported {count} documents but the index holds {indexed}")
    files = [f for f in Path(settings.SEARCH_INDEX_DIR).rglob("*") if f.is_file()]
    size_mb = sum(f.stat().st_size for f in files) / 1024**2
    build = SimpleNamespace(seconds=finished - started, documents=count, size_mb=size_mb,
                            peak_rss_mb=peak_rss_mb())  # fmt: skip
    # Reading published articles and building their search documents, without indexing.
    sample = Article.objects.filter(status=Article.Status.PUBLISHED).select_related("category")
    sample = list(sample.order_by("pk")[:PREPARATION_SAMPLE])
    began = time.perf_counter()
    for article in sample:
        build_search_document(article)
    preparation = count * (time.perf_counter() - began) / max(len(sample), 1)
    commit = finished - (last_document or finished)
    say(f"  {count:,} documents in {build.seconds:.1f} s ({count / build.seconds:.0f} docs/s),"
        f" index {build.size_mb:.1f} MB, peak RSS {build.peak_rss_mb:.0f} MB")  # fmt: skip
    say(
        f"  of which reading articles + Markdown to text: ~{preparation:.1f} s"
        f" ({100 * preparation / build.seconds:.0f}%, estimated on {len(sample):,} articles)"
    )
    say(f"  and the final commit after the last document: {commit:.1f} s"
        f" ({100 * commit / build.seconds:.0f}%); the rest is Whoosh indexing")  # fmt: skip
    return build


# -- queries -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BenchQuery:
    text: str
    language: str
    kind: str
    typo: str = ""  # the typo made: "drop", "swap" or "replace"
    typo_first_letter: bool = False


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@dataclass
class QueryVocabulary:
    """What customers type, taken from the demo articles' keywords and titles."""

    words: list[str]
    phrases: list[str]
    accented: list[str]  # words and phrases that lose something without their accents

    @classmethod
    def build(cls, language: str, material: _corpus.LanguageMaterial) -> QueryVocabulary:
        from kb.search import get_search_backend

        stop = get_search_backend().stop_words(language)
        keywords = [kw.lower() for pool in material.keywords.values() for kw in pool]
        keywords += [kw.lower() for kw in _corpus.EXTRA_KEYWORDS[language]]
        words: dict[str, None] = {}
        phrases: dict[str, None] = {}
        for keyword in keywords:
            tokens = _corpus.WORD.findall(keyword)
            for token in tokens:
                if len(token) >= 4 and token not in stop and not token.isdigit():
                    words[token] = None
            if 2 <= len(tokens) <= 4:
                phrases[keyword] = None
        for title in material.titles:
            tokens = _corpus.WORD.findall(title.lower())
            for size in (2, 3, 4):  # fragments of titles: "devuelvo un artículo"
                for start in range(len(tokens) - size + 1):
                    fragment = tokens[start : start + size]
                    if fragment[0] not in stop and fragment[-1] not in stop:
                        phrases[" ".join(fragment)] = None
        accented = [text for text in [*words, *phrases] if strip_accents(text) != text]
        return cls(words=list(words), phrases=list(phrases), accented=accented)


class QueryMaker:
    def __init__(self, material: dict[str, _corpus.LanguageMaterial], rng: random.Random) -> None:
        self.vocabulary = {lang: QueryVocabulary.build(lang, material[lang]) for lang in material}
        self.rng = rng
        self.seen: set[tuple[str, str]] = set()

    def make(self, count: int) -> list[BenchQuery]:
        """``count`` queries in the proportions of QUERY_MIX, languages alternating.

        No query repeats one made before (by this maker), so an engine that caches recent
        results never answers a measured query from its cache.
        """
        kinds = [kind for kind, part in QUERY_MIX.items() for _ in range(int(part * count))]
        kinds += ["exact"] * (count - len(kinds))
        self.rng.shuffle(kinds)
        queries = []
        other_languages = 0
        for kind in kinds:
            language = "es" if kind == "no-accent" else _corpus.LANGUAGES[other_languages % 2]
            other_languages += kind != "no-accent"
            for _ in range(100):
                query = self.query(kind, language)
                if (query.text.casefold(), language) not in self.seen:
                    break
            self.seen.add((query.text.casefold(), language))
            queries.append(query)
        return queries

    def query(self, kind: str, language: str) -> BenchQuery:
        vocabulary, rng = self.vocabulary[language], self.rng
        if kind == "exact":
            return BenchQuery(rng.choice(vocabulary.words), language, kind)
        if kind == "phrase":
            return BenchQuery(self._phrase(vocabulary), language, kind)
        if kind == "typo":
            base = rng.choice(vocabulary.words if rng.random() < 0.6 else vocabulary.phrases)
            while not any(len(word) >= 5 for word in base.split()):
                base = rng.choice(vocabulary.words)
            return BenchQuery(*self._typo(base, language, kind))
        if kind == "no-accent":
            return BenchQuery(strip_accents(rng.choice(vocabulary.accented)), language, kind)
        if kind == "uppercase":
            if rng.random() < 0.5:
                return BenchQuery(rng.choice(vocabulary.words).upper(), language, kind)
            phrase = self._phrase(vocabulary)
            return BenchQuery(rng.choice([phrase.upper(), phrase.title()]), language, kind)
        consonants = "bcdfghjklmnpqrstvwxz"  # "no-match": words nobody wrote
        words = [
            "".join(rng.choice(consonants) for _ in range(rng.randint(6, 9)))
            for _ in range(rng.randint(1, 2))
        ]
        return BenchQuery(" ".join(words), language, kind)

    def _phrase(self, vocabulary: QueryVocabulary) -> str:
        if self.rng.random() < 0.6:
            return self.rng.choice(vocabulary.phrases)
        return " ".join(self.rng.sample(vocabulary.words, k=self.rng.randint(2, 4)))

    def _typo(self, text: str, language: str, kind: str) -> tuple[str, str, str, str, bool]:
        """One letter dropped, swapped with the next or replaced, in a word of 5+ letters:
        the query's fields, with the operation and whether the word's first letter changed."""
        rng = self.rng
        words = text.split()
        position = rng.choice([i for i, word in enumerate(words) if len(word) >= 5])
        word = words[position]
        operation = rng.choice(["drop", "swap", "replace"])
        while True:
            if operation == "drop":
                at = rng.randrange(len(word))
                typo = word[:at] + word[at + 1 :]
            elif operation == "swap":
                at = rng.randrange(len(word) - 1)
                typo = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
            else:
                at = rng.randrange(len(word))
                typo = word[:at] + rng.choice("abcdefghijklmnopqrstuvwxyz") + word[at + 1 :]
            if typo != word:
                break
        words[position] = typo
        return " ".join(words), language, kind, operation, at == 0


@dataclass(frozen=True)
class Measurement:
    query: BenchQuery
    ms: float
    sql_ms: float
    sql_queries: int
    total: int
    used_fuzzy: bool
    suggestion: str | None
    degraded: bool


def run_service_queries(queries: Sequence[BenchQuery], *, repeat=False) -> list[Measurement]:
    """Time ``search_articles`` per query and the SQL it runs; with ``repeat``, time a second
    identical call."""
    from django.db import connection

    from kb.selectors import search_articles

    sql = [0, 0.0]  # statements, seconds

    def timed(execute, *arguments):
        started = time.perf_counter()
        try:
            return execute(*arguments)
        finally:
            sql[0] += 1
            sql[1] += time.perf_counter() - started

    measurements = []
    with connection.execute_wrapper(timed):
        for query in queries:
            if repeat:
                search_articles(query=query.text, language=query.language)
            sql[:] = [0, 0.0]
            started = time.perf_counter()
            page = search_articles(query=query.text, language=query.language)
            ms = (time.perf_counter() - started) * 1000
            measurements.append(
                Measurement(
                    query, ms, sql_ms=sql[1] * 1000, sql_queries=sql[0], total=page.total,
                    used_fuzzy=page.used_fuzzy, suggestion=page.suggestion, degraded=page.degraded,
                )
            )  # fmt: skip
    return measurements


def run_engine_queries(warmup: Sequence[BenchQuery], queries: Sequence[BenchQuery]) -> list[float]:
    """The queries straight to a new backend (no database check), in milliseconds: a new
    instance, so that nothing it may cache from the service pass helps it."""
    from django.conf import settings

    from kb.search import clean_query
    from kb.search.backends.whoosh import WhooshSearchBackend

    engine = WhooshSearchBackend(settings.SEARCH_INDEX_DIR)
    timings = []
    try:
        for query in [*warmup, *queries]:
            started = time.perf_counter()
            engine.search(clean_query(query.text), language=query.language, per_page=10)
            timings.append((time.perf_counter() - started) * 1000)
    finally:
        engine.close()
    return timings[len(warmup) :]


# -- report ------------------------------------------------------------------------------------
def print_latency_table(measurements: Sequence[Measurement]) -> None:
    def row(kind: str, group: Sequence[Measurement]) -> tuple:
        n = len(group)
        return (
            kind, n, *(f"{value:.1f}" for value in latency([m.ms for m in group])),
            share(sum(m.used_fuzzy for m in group), n),
            share(sum(m.suggestion is not None for m in group), n),
            share(sum(m.total == 0 for m in group), n),
        )  # fmt: skip

    groups: dict[str, list[Measurement]] = defaultdict(list)
    for measurement in measurements:
        groups[measurement.query.kind].append(measurement)
    rows: list = [("kind", "n", "p50", "p95", "p99", "max", "fuzzy", "suggest", "no hits"), None]
    rows += [row(kind, groups[kind]) for kind in QUERY_MIX if groups[kind]]
    bench.table([*rows, None, row("all", measurements)])
    say("  (milliseconds per search_articles() call; fuzzy = typo tolerance used)")


def print_details(measurements, engine_ms, repeated, cold_ms: float) -> None:
    def figures(values: Sequence[float]) -> str:
        p50, p95, _, worst = latency(values)
        return f"p50 {p50:.1f}  p95 {p95:.1f}  max {worst:.1f} ms"

    service, engine = latency([m.ms for m in measurements]), latency(engine_ms)
    sql_p50, sql_p95, _, _ = latency([m.sql_ms for m in measurements])
    statements = sum(m.sql_queries for m in measurements) / len(measurements)
    for label, text in (
        ("first (cold) query, opens the searcher", f"{cold_ms:.1f} ms"),
        ("engine.search() alone, same queries", figures(engine_ms)),
        ("search_articles() minus engine (p50 / p95)",
         f"{service[0] - engine[0]:+.1f} / {service[1] - engine[1]:+.1f} ms"),
        ("SQL run by search_articles()",
         f"{statements:.1f} statements/search, p50 {sql_p50:.2f}  p95 {sql_p95:.2f} ms"),
        (f"{len(repeated)} queries, the same search twice in a row",
         figures([m.ms for m in repeated]) + " (2nd call; not counted above)"),
    ):  # fmt: skip
        say(f"  {label + ':':<44} {text}")
    # How often a typo was noticed (typo tolerance used or a suggestion), by kind of typo.
    splits: dict[str, dict[str, list[Measurement]]] = defaultdict(lambda: defaultdict(list))
    for m in (m for m in measurements if m.query.kind == "typo"):
        splits["typo"][m.query.typo].append(m)
        splits["letter"]["first" if m.query.typo_first_letter else "later"].append(m)
        splits["words"]["one" if len(m.query.text.split()) == 1 else "several"].append(m)
    say("  typo queries where the typo was noticed (typo tolerance used or suggestion given):")
    for name, groups in splits.items():
        noticed = [
            (key, sum(m.used_fuzzy or m.suggestion is not None for m in group), len(group))
            for key, group in sorted(groups.items())
        ]
        parts = [f"{key} {share(count, n)} of {n}" for key, count, n in noticed]
        say(f"    by {name + ':':<8} {', '.join(parts)}")
    if degraded := sum(m.degraded for m in measurements):
        say(f"  ! {degraded} searches were answered by the database fallback (index unavailable)")
    if matched := [m for m in measurements if m.query.kind == "no-match" and m.total]:
        examples = ", ".join(f"{m.query.text!r} ({m.total})" for m in matched[:3])
        say(f"  ! 'no-match' queries that matched something: {examples}")
    say("  slowest queries:")
    for m in sorted(measurements, key=lambda m: m.ms, reverse=True)[:5]:
        flags = (" fuzzy" if m.used_fuzzy else "") + (
            f" suggestion={m.suggestion!r}" if m.suggestion else ""
        )
        say(f"    {m.ms:7.1f} ms  {m.query.kind:<9} {m.query.language}"
            f"  {m.query.text!r}: {m.total} results{flags}")  # fmt: skip


def print_summary(options, build: SimpleNamespace, measurements: Sequence[Measurement]) -> None:
    p50, p95, p99, worst = latency([m.ms for m in measurements])
    n = len(measurements)
    rebuild_target = TARGET_REBUILD_SECONDS * options.articles / TARGET_REBUILD_ARTICLES
    scaled = "" if options.articles == TARGET_REBUILD_ARTICLES else " (scaled)"
    bench.table([
        ("metric", "value", "target", "result"),
        None,
        ("articles / documents indexed", f"{options.articles:,} / {build.documents:,}"),
        ("index rebuild", f"{build.seconds:.1f} s", f"< {rebuild_target:.0f} s{scaled}",
         bench.verdict(build.seconds < rebuild_target)),
        ("  per 1,000 articles", f"{1000 * build.seconds / max(build.documents, 1):.2f} s"),
        ("index size on disk", f"{build.size_mb:.1f} MB"),
        ("search p95 (incl. snippets)", f"{p95:.1f} ms", f"< {TARGET_P95_MS:.0f} ms",
         bench.verdict(p95 < TARGET_P95_MS)),
        ("search p50 / p99 / max", f"{p50:.1f} / {p99:.1f} / {worst:.1f}"),
        ("used typo tolerance", share(sum(m.used_fuzzy for m in measurements), n)),
        ("got a suggestion", share(sum(m.suggestion is not None for m in measurements), n)),
        ("peak RSS after indexing", f"{build.peak_rss_mb:.0f} MB"),
        ("peak RSS at the end", f"{peak_rss_mb():.0f} MB"),
    ])  # fmt: skip


# -- main --------------------------------------------------------------------------------------
def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    started = time.perf_counter()
    notes = bench.use_site(workdir, "search", cleanups, debug=True, sqlite=True)
    # Whoosh 2.7 still uses deprecated APIs; the warnings say nothing about performance.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    bench.start_django(cleanups)
    say(f"Search benchmark: {options.articles:,} articles, {options.queries} queries, seed {SEED}")
    say(f"  temporary folder: {workdir} (SQLite database and index)")
    say(f"  {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}")
    bench.say_each(notes)
    say(f"  setup and migrations: {time.perf_counter() - started:.1f} s")

    material = _corpus.load_demo_material()
    seconds, words = insert_corpus(options.articles, material)
    say(f"  corpus generated and inserted in {seconds:.1f} s (not measured), ~{words} words/body")
    say("\nIndex rebuild (kb.services.indexing.rebuild_search_index)")
    build = build_index(options.articles)

    maker = QueryMaker(material, random.Random(SEED + 1))
    warmup, queries = maker.make(WARMUP_QUERIES), maker.make(options.queries)
    cold = run_service_queries(warmup[:1])[0].ms
    run_service_queries(warmup[1:])
    say(f"\nSearch latency (kb.selectors.search_articles, after {WARMUP_QUERIES} warm-up queries)")
    measurements = run_service_queries(queries)
    print_latency_table(measurements)
    say()
    engine_ms = run_engine_queries(warmup, queries)
    repeated = run_service_queries(queries[:REPEATED_QUERIES], repeat=True)
    print_details(measurements, engine_ms, repeated, cold)
    say("\nSummary")
    print_summary(options, build, measurements)
    return True


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--articles", 20_000, "articles (default 20000)"),
        ("--queries", 500, "measured queries (default 500)"),
        require=[(lambda o: o.articles >= 2 and o.queries >= 1,
                  "--articles must be at least 2 and --queries at least 1")],
    )  # fmt: skip
    sys.exit(bench.launch("bench-search-", run, options))
