"""Search quality (hit@1, hit@3, MRR@10) on articles and queries files (README: Benchmarks)."""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _support as bench
from _support import say

DEFAULT_SET = bench.PROJECT_DIR.parent / "shared" / "search-eval"
TARGET_HIT1 = 0.80
TARGET_HIT3 = 0.93
TRAINED_HIT1 = 0.90
TRAINED_HIT3 = 0.97


@dataclass(frozen=True)
class Query:
    text: str
    relevant_id: int
    language: str
    tags: str


@dataclass
class Figures:
    name: str
    queries: int = 0
    hit1: int = 0
    hit3: int = 0
    reciprocal: float = 0.0
    zero: int = 0
    keyword_queries: int = 0
    keyword_hit1: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, query: Query, ids: Sequence[int], seconds: float) -> None:
        self.queries += 1
        self.latencies.append(seconds)
        first = list(ids[:1]) == [query.relevant_id]
        self.hit1 += first
        self.hit3 += query.relevant_id in ids[:3]
        if query.relevant_id in ids[:10]:
            self.reciprocal += 1 / (list(ids).index(query.relevant_id) + 1)
        self.zero += not ids
        if "K" in query.tags:
            self.keyword_queries += 1
            self.keyword_hit1 += first

    def row(self) -> str:
        n = max(self.queries, 1)
        lat = sorted(self.latencies) or [0.0]
        p50 = statistics.median(lat) * 1000
        p95 = lat[min(len(lat) - 1, int(len(lat) * 0.95))] * 1000
        keyword = (
            f"{self.keyword_hit1 / self.keyword_queries:6.1%}" if self.keyword_queries else "     -"
        )
        return (
            f"{self.name:<28} {self.hit1 / n:7.1%} {self.hit3 / n:7.1%} {self.reciprocal / n:7.3f}"
            f" {self.zero / n:6.1%} {keyword:>9} {p50:7.2f} {p95:7.2f}"
        )


HEADER = (f"{'':<28} {'hit@1':>7} {'hit@3':>7} {'MRR@10':>7} {'zero':>6} {'keyword@1':>9}"
          f" {'p50 ms':>7} {'p95 ms':>7}")  # fmt: skip


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def read_queries(path: Path) -> list[Query]:
    rows = read_jsonl(path)
    return [Query(row["text"], int(row["relevant_id"]), row.get("language", "en"),
                  row.get("tags", "")) for row in rows]  # fmt: skip


def ours(articles: list[dict], work: Path) -> Callable[[Query], list[int]]:
    from foundation.markdown import markdown_to_text
    from kb.search import SearchDocument
    from kb.search.backends.whoosh import WhooshSearchBackend

    backend = WhooshSearchBackend(work / "ours")
    backend.rebuild(
        SearchDocument(
            id=int(a["id"]), language=a.get("language", "en"), translation_key=f"article-{a['id']}",
            title=a["title"], keywords=a.get("keywords", ""), summary=a.get("summary", ""),
            body=markdown_to_text(a.get("body", "")), category=str(a.get("category", "")).lower(),
            url=f"/articles/{a['id']}/",
        )
        for a in articles
    )  # fmt: skip

    def search(query: Query) -> list[int]:
        return [hit.id for hit in backend.search(query.text, language=query.language).hits]

    return search


def stock_whoosh(articles: list[dict], work: Path) -> Callable[[Query], list[int]]:
    """Whoosh as it comes: one index, stemming analyzer, OR of the words, default BM25F."""
    from whoosh import fields, qparser
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.index import create_in

    from foundation.markdown import markdown_to_text

    names = ("title", "keywords", "summary", "body")
    schema = fields.Schema(
        id=fields.NUMERIC(stored=True, unique=True),
        **{name: fields.TEXT(analyzer=StemmingAnalyzer()) for name in names},
    )
    folder = work / "stock"
    folder.mkdir()
    index = create_in(str(folder), schema)
    with index.writer() as writer:
        for a in articles:
            writer.add_document(id=int(a["id"]), title=a["title"], keywords=a.get("keywords", ""),
                                summary=a.get("summary", ""),
                                body=markdown_to_text(a.get("body", "")))  # fmt: skip
    parser = qparser.MultifieldParser(list(names), schema, group=qparser.OrGroup)
    parser.remove_plugin_class(qparser.WildcardPlugin)
    searcher = index.searcher()

    def search(query: Query) -> list[int]:
        words = " ".join("".join(c if c.isalnum() else " " for c in query.text).split())
        if not words:
            return []
        hits = searcher.search(parser.parse(words), limit=10)
        return [hit["id"] for hit in hits]

    return search


def published(articles: list[dict]) -> dict[int, Any]:
    """The articles published in the database and indexed as the site does; id -> Article."""
    from django.utils.text import slugify

    from kb import services
    from kb.models import Article, Category

    categories: dict[str, Category] = {}
    found = {}
    for row in articles:
        name = str(row.get("category", "")) or "general"
        category = categories.get(name)
        if category is None:
            category = categories[name] = Category.objects.create(
                slug=slugify(name)[:80] or "general", name_es=name, name_en=name
            )
        article = Article(
            title=row["title"], slug=f"{slugify(row['title'])[:180]}-{row['id']}",
            summary=row.get("summary", ""), body=row.get("body", ""),
            keywords=row.get("keywords", ""), language=row.get("language", "en"),
            translation_key=f"article-{row['id']}", category=category,
        )  # fmt: skip
        found[int(row["id"])] = services.publish_article(article=article, actor=None)
    services.rebuild_search_index()
    return found


def through_the_site(by_id: dict[int, Any]) -> Callable[[Query], list[int]]:
    from kb.search import get_search_backend

    original = {article.pk: number for number, article in by_id.items()}

    def search(query: Query) -> list[int]:
        hits = get_search_backend().search(query.text, language=query.language).hits
        return [original.get(hit.id, -1) for hit in hits]

    return search


def replay(train: list[Query], by_id: dict[int, Any]) -> tuple[int, float]:
    """Each train query as a visitor of its own; returns (helpful votes recorded, seconds)."""
    from django.test import Client

    from kb import services
    from kb.models import SearchSignal

    started = time.perf_counter()
    for number, query in enumerate(train):
        article = by_id.get(query.relevant_id)
        if article is None:
            continue
        address = f"10.{number // 65536 % 256}.{number // 256 % 256}.{number % 256}"
        visitor = Client(REMOTE_ADDR=address, HTTP_HOST="localhost")
        prefix = f"/{query.language}"
        visitor.get(f"{prefix}/search/", {"q": query.text})
        visitor.get(article.get_absolute_url())
        visitor.post(f"{article.get_absolute_url()}feedback/", {"helpful": "yes"})
    services.learn()
    pending = services.indexing.pending_index_updates().values_list("article_id", flat=True)
    for article_id in pending:
        services.sync_article_to_index(article_id=article_id)
    return SearchSignal.objects.count(), time.perf_counter() - started


def measure(name: str, search: Callable[[Query], list[int]], queries: list[Query]) -> Figures:
    figures = Figures(name)
    for query in queries[:20]:  # warm-up: caches, lazily read postings
        search(query)
    for query in queries:
        started = time.perf_counter()
        ids = search(query)
        figures.add(query, ids, time.perf_counter() - started)
    return figures


def run(options, workdir: Path, cleanups: bench.Cleanups) -> bool:
    bench.use_site(workdir, "search-quality", cleanups, debug=True, sqlite=True)
    bench.start_django(cleanups)
    articles = read_jsonl(Path(options.articles))
    queries = read_queries(Path(options.test or options.queries))
    train = read_queries(Path(options.train)) if options.train else []
    if options.halves:
        train, queries = queries[0::2], queries[1::2]
    say(f"articles: {options.articles} ({len(articles)})")
    say(f"queries:  {options.test or options.queries} ({len(queries)})")
    if train:
        say(f"train:    {options.train or 'the other half'} ({len(train)})")
    say(f"keyword-style queries (tag K): {sum('K' in query.tags for query in queries)}\n")
    say(HEADER)
    cold = measure("help center, cold", ours(articles, workdir), queries)
    say(cold.row())
    if not options.no_baseline:
        say(measure("stock Whoosh BM25F", stock_whoosh(articles, workdir), queries).row())
    say(f"\n{target('cold', cold, TARGET_HIT1, TARGET_HIT3)}")
    if train:
        by_id = published(articles)
        site_cold = measure("through the site, cold", through_the_site(by_id), queries)
        signals, seconds = replay(train, by_id)
        trained = measure("after training", through_the_site(by_id), queries)
        say(f"\nreplayed {len(train)} visitors through the views in {seconds:.0f} s: "
            f"{signals} signals, then learn_search")  # fmt: skip
        say("\n".join([HEADER, site_cold.row(), trained.row()]))
        say(f"\n{target('after training', trained, TRAINED_HIT1, TRAINED_HIT3)}")
    return True


def target(label: str, figures: Figures, hit1: float, hit3: float) -> str:
    n = max(figures.queries, 1)
    met = figures.hit1 / n >= hit1 and figures.hit3 / n >= hit3
    return (
        f"target hit@1 >= {hit1:.0%} and hit@3 >= {hit3:.0%} ({label}): {'' if met else 'not '}met"
    )


if __name__ == "__main__":
    options = bench.options(
        __doc__,
        ("--articles", str(DEFAULT_SET / "articles_en.jsonl"), "articles (JSON lines)"),
        ("--queries", str(DEFAULT_SET / "queries_en.jsonl"), "queries (JSON lines)"),
        ("--train", "", "queries replayed as visitors first"),
        ("--test", "", "queries measured (with --train)"),
        ("--halves", "train on the odd lines of --queries, test on the rest"),
        ("--no-baseline", "skip stock Whoosh"),
        require=[(lambda o: bool(o.train) == bool(o.test), "--train and --test go together")],
    )  # fmt: skip
    sys.exit(bench.launch("bench-search-quality-", run, options))
