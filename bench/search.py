"""Benchmark of the knowledge-base search: index rebuild time and query latency.

Run with ``make bench-search`` (or ``.venv/bin/python bench/search.py --help``).

Everything happens in a fresh temporary folder (SQLite database and search index), so the
benchmark never touches the project's ``var/`` or a configured database. A corpus of
realistic help-center articles is generated from the vocabulary of the demo articles
(``kb/demo/articles``) with a fixed seed, the index is built through
``kb.services.indexing.rebuild_search_index`` and queries go through
``kb.selectors.search_articles``, exactly as the search page does.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
import unicodedata
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _support import percentile, say, setup_django  # bench/_support.py, beside this file

if TYPE_CHECKING:
    from kb.models import Article, Category

PROJECT_DIR = Path(__file__).resolve().parent.parent
SEED = 20_240_611
LANGUAGES = ("es", "en")

TARGET_P95_MS = 25.0
TARGET_REBUILD_SECONDS = 90.0
TARGET_REBUILD_ARTICLES = 20_000

WARMUP_QUERIES = 20
INSERT_BATCH = 1_000
REPEATED_QUERIES = 100  # searched twice in a row, the second time reported apart
PREPARATION_SAMPLE = 2_000  # articles re-read to split the rebuild time
BODY_WORDS = (250, 310)  # plus the last section's overshoot: ~300 words per article
TRANSLATED_SHARE = 0.85  # the rest of the pairs are two unrelated single-language articles

# Share of each query kind; "no-accent" queries are always Spanish.
QUERY_MIX: dict[str, float] = {
    "exact": 0.26,
    "phrase": 0.26,
    "typo": 0.20,
    "no-accent": 0.12,
    "uppercase": 0.10,
    "no-match": 0.06,
}


# -- environment -----------------------------------------------------------------------------


def prepare_environment(workdir: Path) -> list[str]:
    """Point the settings at ``workdir`` before Django starts; returns notes for the report."""
    notes = []
    if os.environ.pop("DATABASE_URL", None):
        notes.append("DATABASE_URL is set but ignored: the benchmark uses its own SQLite file")
    if os.environ.pop("REDIS_URL", None):
        notes.append("REDIS_URL is set but ignored, so nothing reaches that Redis")
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "helpcenter.settings",
            "DEBUG": "1",
            "VAR_DIR": str(workdir / "var"),
            "SEARCH_INDEX_DIR": str(workdir / "index"),
            "LOG_LEVEL": "WARNING",  # the rebuild logs one INFO line; keep the report clean
        }
    )
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    # Whoosh 2.7 still uses deprecated APIs; the warnings say nothing about performance.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    return notes


def peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_size_mb(path: Path) -> float:
    return sum(file.stat().st_size for file in path.rglob("*") if file.is_file()) / 1024**2


# -- statistics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Latency:
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values_ms: Sequence[float]) -> Latency:
        return cls(
            p50=percentile(values_ms, 50),
            p95=percentile(values_ms, 95),
            p99=percentile(values_ms, 99),
            max=max(values_ms, default=math.nan),
        )


def share(count: int, total: int) -> str:
    return f"{100 * count / total:.0f}%" if total else "-"


# -- demo material -----------------------------------------------------------------------------

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
STRIPPED_CHARS = '«»“”"()*'
WORD = re.compile(r"\w+")


@dataclass
class MarkovChain:
    """Order-1 word chain: sentences with the vocabulary and word order of the source text."""

    transitions: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    START = ""

    def learn(self, sentence: str) -> None:
        words = [word.strip(STRIPPED_CHARS) for word in sentence.split()]
        words = [word for word in words if word]
        if len(words) < 4:
            return
        previous = self.START
        for word in words:
            self.transitions[previous].append(word)
            previous = word

    def sentence(self, rng: random.Random, min_words: int = 7, max_words: int = 24) -> str:
        words: list[str] = []
        for _ in range(20):
            words, state = [], self.START
            while len(words) < max_words and (options := self.transitions.get(state)):
                state = rng.choice(options)
                words.append(state)
                if state[-1] in ".!?":
                    break
            if len(words) >= min_words:
                break
        text = " ".join(words).rstrip(",;:-\u2013")
        if text[-1:] not in (".", "!", "?"):
            text += "."
        return text[:1].upper() + text[1:]


@dataclass
class LanguageMaterial:
    """What the demo articles of one language offer, per category slug."""

    chains: dict[str, MarkovChain] = field(default_factory=lambda: defaultdict(MarkovChain))
    headings: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    keywords: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    titles: list[str] = field(default_factory=list)
    articles: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    all_text: MarkovChain = field(default_factory=MarkovChain)


def load_demo_material() -> dict[str, LanguageMaterial]:
    from kb.demo import DEMO_DIR, parse_article_file
    from kb.rendering import markdown_to_text

    material = {language: LanguageMaterial() for language in LANGUAGES}
    for path in sorted((DEMO_DIR / "articles").glob("*.md")):
        fields = parse_article_file(path)
        target = material[fields["language"]]
        category = fields["category"]
        target.titles.append(fields["title"])
        target.articles[category] += 1
        for keyword in fields["keywords"].split(","):
            if (keyword := keyword.strip()) and keyword not in target.keywords[category]:
                target.keywords[category].append(keyword)
        for line in fields["body"].splitlines():
            line = line.strip()
            if not line or line.startswith("|"):
                continue  # tables read badly once flattened
            text = markdown_to_text(line)
            if line.startswith("#"):
                target.headings[category].append(text)
                continue
            for sentence in SENTENCE_END.split(text):
                target.chains[category].learn(sentence)
                target.all_text.learn(sentence)
        target.chains[category].learn(fields["summary"])
    return material


# -- corpus ------------------------------------------------------------------------------------

# The seven demo categories plus this one: (slug, parent slug, Spanish name, English name).
# A sub-category of "returns", written with the returns wording and its own keywords.
EXTRA_CATEGORY = ("warranty", "returns", "Garantía y reparaciones", "Warranty and repairs")
EXTRA_CATEGORY_WEIGHT = 3  # as many articles as a demo category with 3 demo articles
EXTRA_KEYWORDS = {
    "es": [
        "garantía", "garantia", "reparación", "servicio técnico", "defecto de fabricación",
        "avería", "producto defectuoso", "sustitución", "no funciona", "pieza de repuesto",
    ],
    "en": [
        "warranty", "guarantee", "repair", "technical service", "manufacturing defect",
        "faulty product", "replacement", "not working", "spare part", "broken item",
    ],
}  # fmt: skip

# Template sentences: the accented words customers really search for, in every article.
SLOTS: dict[str, dict[str, list[str]]] = {
    "es": {
        "action": [
            "cambiar la dirección de envío", "solicitar una devolución", "descargar la factura",
            "actualizar la contraseña", "cancelar el pedido", "activar la garantía",
            "cambiar el método de pago", "recuperar el acceso a tu cuenta",
            "pedir un cambio de talla", "revisar los datos de facturación",
        ],
        "thing": [
            "el número de seguimiento", "la factura", "la confirmación del pedido",
            "el código de devolución", "la etiqueta de envío", "el historial de pedidos",
            "los datos de facturación", "la dirección de entrega", "el justificante de pago",
            "la tarjeta regalo", "el código de verificación",
        ],
        "process": [
            "devolución", "cancelación", "reclamación", "sustitución", "verificación",
            "reparación", "facturación", "suscripción",
        ],
        "problem": [
            "el paquete llega dañado", "el pago aparece duplicado",
            "no recibes el código de verificación", "falta un artículo en el envío",
            "la entrega se retrasa", "la contraseña no funciona",
            "el transportista no encuentra tu dirección", "la garantía ha caducado",
        ],
        "place": [
            "Canarias", "Baleares", "Ceuta", "Melilla", "Portugal", "Francia", "Andorra",
            "la península",
        ],
    },
    "en": {
        "action": [
            "change the delivery address", "request a return", "download the invoice",
            "update your password", "cancel the order", "activate the warranty",
            "change the payment method", "get back into your account", "exchange a size",
            "check your billing details",
        ],
        "thing": [
            "the tracking number", "the invoice", "the order confirmation", "the return code",
            "the shipping label", "your order history", "your billing details",
            "the delivery address", "the payment receipt", "the gift card",
            "the verification code",
        ],
        "process": [
            "return", "cancellation", "claim", "replacement", "verification", "repair",
            "billing", "subscription",
        ],
        "problem": [
            "the parcel arrives damaged", "the payment shows up twice",
            "the verification code does not arrive", "an item is missing from the parcel",
            "the delivery is late", "your password does not work",
            "the courier cannot find your address", "the warranty has expired",
        ],
        "place": [
            "the Canary Islands", "the Balearic Islands", "Portugal", "France", "Ireland",
            "Northern Ireland", "the mainland",
        ],
    },
}  # fmt: skip

TEMPLATES: dict[str, list[str]] = {
    "es": [
        "Si necesitas {action}, entra en Mi cuenta y revisa {thing}.",
        "La {process} se resuelve normalmente en {n} días hábiles desde que la solicitas.",
        "La garantía del {product} cubre los defectos de fabricación durante {n} años.",
        "Puedes consultar {thing} en cualquier momento desde la aplicación o la web.",
        "Si {problem}, escríbenos desde el formulario de contacto con el número de pedido.",
        "El envío a {place} tarda entre {n} y {m} días laborables.",
        "Para {action} no necesitas llamarnos: lo haces tú mismo en un par de minutos.",
        "Te enviaremos un correo electrónico con {thing} en cuanto el transportista lo confirme.",
        "El reembolso de la {process} se hace con el mismo método de pago que usaste.",
        "Guarda {thing} hasta que recibas la confirmación de la devolución.",
        "Los pedidos del {product} a {place} incluyen seguimiento y facturación electrónica.",
    ],
    "en": [
        "If you need to {action}, go to My account and check {thing}.",
        "A {process} is usually settled within {n} business days of your request.",
        "The {product} warranty covers manufacturing defects for {n} years.",
        "You can check {thing} at any time in the app or on the website.",
        "If {problem}, write to us through the contact form with your order number.",
        "Delivery to {place} takes between {n} and {m} working days.",
        "To {action} you do not need to call us: you can do it yourself in a couple of minutes.",
        "We will email you {thing} as soon as the courier confirms it.",
        "The refund for a {process} goes back to the payment method you used.",
        "Keep {thing} until you receive the return confirmation.",
        "Orders of the {product} to {place} include tracking and electronic invoices.",
    ],
}

TITLE_TEMPLATES: dict[str, list[str]] = {
    "es": [
        "Ayuda con {keyword} en tu pedido",
        "Preguntas frecuentes sobre {keyword}",
        "{Keyword}: plazos, costes y excepciones",
        "Todo lo que debes saber sobre {keyword}",
        "{Keyword} en pedidos a {place}",
        "Cómo gestionar {keyword} desde la aplicación",
        "Problemas con {keyword} y cómo resolverlos",
        "Qué hacer si {problem}",
        "{Keyword} con el {product}",
    ],
    "en": [
        "Help with {keyword} on your order",
        "Frequently asked questions about {keyword}",
        "{Keyword}: times, costs and exceptions",
        "Everything you need to know about {keyword}",
        "{Keyword} for orders to {place}",
        "How to manage {keyword} in the app",
        "Problems with {keyword} and how to solve them",
        "What to do if {problem}",
        "{Keyword} with the {product}",
    ],
}
TITLE_WORDS = (4, 10)
TITLE_PADDING = {"es": "paso a paso", "en": "step by step"}

SYLLABLES = ["ka", "lo", "mi", "ra", "ve", "to", "zu", "ne", "pa", "sil", "mar", "dor", "tek"]


def product_names(rng: random.Random, count: int = 200) -> list[str]:
    """Made-up product names ("Silmaro 340"): a catalogue adds its own words to the index."""
    names = []
    for _ in range(count):
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
        names.append(f"{word.capitalize()} {rng.choice([100, 200, 250, 300, 340, 500, 700])}")
    return names


class ArticleWriter:
    """Titles, summaries, bodies and keywords for one language, in a category's vocabulary."""

    def __init__(
        self, language: str, material: LanguageMaterial, products: list[str], rng: random.Random
    ) -> None:
        self.language = language
        self.material = material
        self.products = products
        self.rng = rng

    def _fill(self, template: str, keyword: str = "") -> str:
        rng = self.rng
        slots = {name: rng.choice(values) for name, values in SLOTS[self.language].items()}
        n = rng.randint(2, 14)
        return template.format(
            **slots,
            keyword=keyword,
            Keyword=keyword[:1].upper() + keyword[1:],
            product=rng.choice(self.products),
            n=n,
            m=n + rng.randint(1, 5),
        )

    def _chain(self, category: str) -> MarkovChain:
        chains = self.material.chains
        source = category if category in chains else EXTRA_CATEGORY[1]
        # Mostly the category's own wording, sometimes anything from the help center.
        return chains[source] if self.rng.random() < 0.8 else self.material.all_text

    def sentence(self, category: str) -> str:
        if self.rng.random() < 0.25:
            return self._fill(self.rng.choice(TEMPLATES[self.language]))
        return self._chain(category).sentence(self.rng)

    def keyword_pool(self, category: str) -> list[str]:
        return self.material.keywords.get(category) or EXTRA_KEYWORDS[self.language]

    def title(self, category: str) -> str:
        keyword = self.rng.choice(self.keyword_pool(category))
        words = self._fill(self.rng.choice(TITLE_TEMPLATES[self.language]), keyword).split()
        low, high = TITLE_WORDS
        if len(words) < low:
            words += TITLE_PADDING[self.language].split()
        return " ".join(words[:high])

    def summary(self, category: str) -> str:
        for _ in range(10):
            text = self._chain(category).sentence(self.rng, min_words=8, max_words=30)
            if len(text) <= 300:
                return text
        return text[:299].rsplit(" ", 1)[0] + "."

    def keywords(self, category: str) -> str:
        pool = self.keyword_pool(category)
        chosen = self.rng.sample(pool, k=min(len(pool), self.rng.randint(4, 8)))
        while len(", ".join(chosen)) > 255:  # the column's max_length
            chosen.pop()
        return ", ".join(chosen)

    def body(self, category: str) -> str:
        """Markdown: an introduction, then sections with paragraphs or bullet lists."""
        rng = self.rng
        target = rng.randint(*BODY_WORDS)
        headings = self.material.headings.get(category) or self.material.headings["returns"]
        blocks = [" ".join(self.sentence(category) for _ in range(rng.randint(2, 3)))]
        words = len(WORD.findall(blocks[0]))
        while words < target:
            heading = f"## {rng.choice(headings)}"
            sentences = [self.sentence(category) for _ in range(rng.randint(2, 4))]
            if rng.random() < 0.3:
                section = "\n".join(f"- {sentence}" for sentence in sentences)
            else:
                section = " ".join(sentences)
            blocks += [heading, section]
            words += len(WORD.findall(heading)) + len(WORD.findall(section))
        return "\n\n".join(blocks) + "\n"


def create_categories() -> dict[str, Category]:
    import json

    from kb.demo import DEMO_DIR
    from kb.models import Category

    categories: dict[str, Category] = {}
    for item in json.loads((DEMO_DIR / "categories.json").read_text(encoding="utf-8")):
        categories[item["slug"]] = Category.objects.create(
            slug=item["slug"],
            position=item["position"],
            name_es=item["name_es"],
            name_en=item["name_en"],
            icon=item.get("icon", ""),
        )
    slug, parent, name_es, name_en = EXTRA_CATEGORY
    categories[slug] = Category.objects.create(
        slug=slug, parent=categories[parent], position=99, name_es=name_es, name_en=name_en
    )
    return categories


def generate_articles(
    count: int,
    categories: dict[str, Category],
    material: dict[str, LanguageMaterial],
    rng: random.Random,
) -> Iterator[Article]:
    """``count`` published articles, half per language, mostly translations of each other."""
    from django.utils import timezone
    from django.utils.text import slugify

    from kb.models import Article

    products = product_names(rng)
    writers = {lang: ArticleWriter(lang, material[lang], products, rng) for lang in LANGUAGES}
    slugs = list(categories)
    # Categories with more demo articles get more articles.
    weights = [material["es"].articles.get(slug, EXTRA_CATEGORY_WEIGHT) for slug in slugs]
    now = timezone.now()
    category, translated = slugs[0], False
    for index in range(count):
        pair, parity = divmod(index, 2)
        language = LANGUAGES[parity]
        if language == "es":  # the first of a pair decides whether the second translates it
            category = rng.choices(slugs, weights)[0]
            translated = rng.random() < TRANSLATED_SHARE
        elif not translated:
            category = rng.choices(slugs, weights)[0]
        writer = writers[language]
        title = writer.title(category)
        key = f"bench-{pair:05d}" if translated else f"bench-{pair:05d}-{language}"
        yield Article(
            title=title,
            slug=f"{slugify(title)[:150]}-{pair}",
            summary=writer.summary(category),
            body=writer.body(category),
            language=language,
            translation_key=key,
            category=categories[category],
            keywords=writer.keywords(category),
            status=Article.Status.PUBLISHED,
            published_at=now - timedelta(days=rng.randint(1, 1000)),
        )


def insert_corpus(count: int, material: dict[str, LanguageMaterial]) -> tuple[float, int]:
    """Generate and insert the corpus; returns (seconds, average words per body)."""
    from django.db import transaction
    from tqdm import tqdm

    from kb.models import Article

    started = time.perf_counter()
    rng = random.Random(SEED)
    categories = create_categories()
    batch: list[Article] = []
    words = 0
    with tqdm(total=count, desc="corpus ", unit="art", mininterval=1.0) as bar:

        def flush() -> None:
            with transaction.atomic():
                Article.objects.bulk_create(batch, batch_size=500)
            bar.update(len(batch))
            batch.clear()

        for article in generate_articles(count, categories, material, rng):
            words += len(WORD.findall(article.body))
            batch.append(article)
            if len(batch) >= INSERT_BATCH:
                flush()
        if batch:
            flush()
    return time.perf_counter() - started, words // max(count, 1)


# -- index build -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    seconds: float
    documents: int
    size_mb: float
    peak_memory_mb: float
    # After the last document was handed to the engine: Whoosh's commit (and segment merge).
    commit_seconds: float
    # Estimated share of ``seconds`` spent reading articles and converting their Markdown.
    preparation_seconds: float


def build_index(index_dir: Path, expected: int) -> BuildResult:
    from tqdm import tqdm

    from kb.search import get_search_backend
    from kb.services.indexing import rebuild_search_index

    last_document = 0.0
    with tqdm(total=expected, desc="index  ", unit="doc", mininterval=1.0) as bar:

        def progress(done: int) -> None:
            nonlocal last_document
            last_document = time.perf_counter()
            bar.update(done - bar.n)

        started = time.perf_counter()
        count = rebuild_search_index(progress=progress)
        finished = time.perf_counter()
    indexed = get_search_backend().document_count()
    if indexed != count:
        say(f"  ! rebuild reported {count} documents but the index holds {indexed}")
    return BuildResult(
        seconds=finished - started,
        documents=count,
        size_mb=folder_size_mb(index_dir),
        peak_memory_mb=peak_memory_mb(),
        commit_seconds=finished - (last_document or finished),
        preparation_seconds=count * preparation_seconds_per_article(PREPARATION_SAMPLE),
    )


def preparation_seconds_per_article(sample: int) -> float:
    """Reading published articles and building their search documents, without indexing."""
    from kb.models import Article
    from kb.services.indexing import build_search_document

    articles = (
        Article.objects.filter(status=Article.Status.PUBLISHED)
        .select_related("category")
        .order_by("pk")[:sample]
    )
    started = time.perf_counter()
    built = 0
    for article in articles.iterator(chunk_size=500):
        build_search_document(article)
        built += 1
    return (time.perf_counter() - started) / max(built, 1)


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
    def build(cls, language: str, material: LanguageMaterial) -> QueryVocabulary:
        from whoosh.lang import stopwords_for_language

        stop = set(stopwords_for_language(language))
        keywords = [kw.lower() for pool in material.keywords.values() for kw in pool]
        keywords += [kw.lower() for kw in EXTRA_KEYWORDS[language]]
        words: dict[str, None] = {}
        phrases: dict[str, None] = {}
        for keyword in keywords:
            tokens = WORD.findall(keyword)
            for token in tokens:
                if len(token) >= 4 and token not in stop and not token.isdigit():
                    words[token] = None
            if 2 <= len(tokens) <= 4:
                phrases[keyword] = None
        for title in material.titles:
            tokens = WORD.findall(title.lower())
            for size in (2, 3, 4):  # fragments of titles: "devuelvo un artículo"
                for start in range(len(tokens) - size + 1):
                    fragment = tokens[start : start + size]
                    if fragment[0] not in stop and fragment[-1] not in stop:
                        phrases[" ".join(fragment)] = None
        accented = [text for text in [*words, *phrases] if strip_accents(text) != text]
        return cls(words=list(words), phrases=list(phrases), accented=accented)


class QueryMaker:
    def __init__(self, material: dict[str, LanguageMaterial], rng: random.Random) -> None:
        self.vocabulary = {
            language: QueryVocabulary.build(language, material[language]) for language in LANGUAGES
        }
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
            if kind == "no-accent":
                language = "es"
            else:
                language = LANGUAGES[other_languages % 2]
                other_languages += 1
            queries.append(self.unique_query(kind, language))
        return queries

    def unique_query(self, kind: str, language: str) -> BenchQuery:
        for _ in range(100):
            query = self.query(kind, language)
            key = (query.text.casefold(), language)
            if key not in self.seen:
                break
        self.seen.add(key)
        return query

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
            text, operation, first_letter = self._typo(base)
            return BenchQuery(text, language, kind, operation, first_letter)
        if kind == "no-accent":
            return BenchQuery(strip_accents(rng.choice(vocabulary.accented)), language, kind)
        if kind == "uppercase":
            if rng.random() < 0.5:
                return BenchQuery(rng.choice(vocabulary.words).upper(), language, kind)
            phrase = self._phrase(vocabulary)
            return BenchQuery(rng.choice([phrase.upper(), phrase.title()]), language, kind)
        if kind == "no-match":
            return BenchQuery(self._gibberish(), language, kind)
        raise ValueError(kind)

    def _phrase(self, vocabulary: QueryVocabulary) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            return rng.choice(vocabulary.phrases)
        return " ".join(rng.sample(vocabulary.words, k=rng.randint(2, 4)))

    def _typo(self, text: str) -> tuple[str, str, bool]:
        """One letter dropped, swapped with the next or replaced, in a word of 5+ letters.

        Returns the text, the operation and whether the word's first letter changed.
        """
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
        return " ".join(words), operation, at == 0

    def _gibberish(self) -> str:
        consonants = "bcdfghjklmnpqrstvwxz"
        words = [
            "".join(self.rng.choice(consonants) for _ in range(self.rng.randint(6, 9)))
            for _ in range(self.rng.randint(1, 2))
        ]
        return " ".join(words)


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


class SqlTimer:
    """Django execute wrapper: counts the SQL statements of a search and times them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


def run_service_queries(
    queries: Sequence[BenchQuery], *, repeat: bool = False
) -> list[Measurement]:
    """Time ``search_articles`` per query; with ``repeat``, time a second identical call."""
    from django.db import connection

    from kb.selectors import search_articles

    timer = SqlTimer()
    measurements = []
    with connection.execute_wrapper(timer):
        for query in queries:
            if repeat:
                search_articles(query=query.text, language=query.language)
            timer.reset()
            started = time.perf_counter()
            page = search_articles(query=query.text, language=query.language)
            elapsed = time.perf_counter() - started
            measurements.append(
                Measurement(
                    query=query,
                    ms=elapsed * 1000,
                    sql_ms=timer.seconds * 1000,
                    sql_queries=timer.count,
                    total=page.total,
                    used_fuzzy=page.used_fuzzy,
                    suggestion=page.suggestion,
                    degraded=page.degraded,
                )
            )
    return measurements


def run_engine_queries(warmup: Sequence[BenchQuery], queries: Sequence[BenchQuery]) -> list[float]:
    """The queries straight to a new engine (no database check), in milliseconds.

    A new engine instance, so that nothing it may cache from the service pass helps it.
    """
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


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_latency_table(measurements: Sequence[Measurement]) -> None:
    header = (
        f"  {'kind':<10} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}"
        f" {'fuzzy':>6} {'suggest':>8} {'no hits':>8}"
    )
    say(header)
    say("  " + "-" * (len(header) - 2))
    groups: dict[str, list[Measurement]] = defaultdict(list)
    for measurement in measurements:
        groups[measurement.query.kind].append(measurement)
    rows = [(kind, groups[kind]) for kind in QUERY_MIX if groups[kind]]
    rows.append(("all", list(measurements)))
    for kind, group in rows:
        latency = Latency.of([m.ms for m in group])
        n = len(group)
        if kind == "all":
            say("  " + "-" * (len(header) - 2))
        say(
            f"  {kind:<10} {n:>4} {latency.p50:>7.1f} {latency.p95:>7.1f} {latency.p99:>7.1f}"
            f" {latency.max:>7.1f} {share(sum(m.used_fuzzy for m in group), n):>6}"
            f" {share(sum(m.suggestion is not None for m in group), n):>8}"
            f" {share(sum(m.total == 0 for m in group), n):>8}"
        )
    say("  (milliseconds per search_articles() call; fuzzy = typo tolerance used)")


def print_details(
    measurements: Sequence[Measurement],
    engine_ms: Sequence[float],
    repeated: Sequence[Measurement],
    cold_ms: float,
) -> None:
    def line(label: str, text: str) -> None:
        say(f"  {label + ':':<44} {text}")

    def figures(latency: Latency) -> str:
        return f"p50 {latency.p50:.1f}  p95 {latency.p95:.1f}  max {latency.max:.1f} ms"

    service = Latency.of([m.ms for m in measurements])
    engine = Latency.of(engine_ms)
    sql = Latency.of([m.sql_ms for m in measurements])
    statements = sum(m.sql_queries for m in measurements) / len(measurements)
    line("first (cold) query, opens the searcher", f"{cold_ms:.1f} ms")
    line("engine.search() alone, same queries", figures(engine))
    line(
        "search_articles() minus engine (p50 / p95)",
        f"{service.p50 - engine.p50:+.1f} / {service.p95 - engine.p95:+.1f} ms",
    )
    line(
        "SQL run by search_articles()",
        f"{statements:.1f} statements/search, p50 {sql.p50:.2f}  p95 {sql.p95:.2f} ms",
    )
    line(
        f"{len(repeated)} queries, the same search twice in a row",
        figures(Latency.of([m.ms for m in repeated])) + " (2nd call; not counted above)",
    )
    print_typo_breakdown([m for m in measurements if m.query.kind == "typo"])
    degraded = sum(m.degraded for m in measurements)
    if degraded:
        say(f"  ! {degraded} searches were answered by the database fallback (index unavailable)")
    matched = [m for m in measurements if m.query.kind == "no-match" and m.total]
    if matched:
        examples = ", ".join(f"{m.query.text!r} ({m.total})" for m in matched[:3])
        say(f"  ! 'no-match' queries that matched something: {examples}")
    slowest = sorted(measurements, key=lambda m: m.ms, reverse=True)[:5]
    say("  slowest queries:")
    for m in slowest:
        flags = " fuzzy" if m.used_fuzzy else ""
        flags += f" suggestion={m.suggestion!r}" if m.suggestion else ""
        say(
            f"    {m.ms:7.1f} ms  {m.query.kind:<9} {m.query.language}"
            f"  {m.query.text!r}: {m.total} results{flags}"
        )


def print_typo_breakdown(typos: Sequence[Measurement]) -> None:
    """How often a typo was noticed (typo tolerance used or a suggestion), by kind of typo."""

    def noticed(group: Sequence[Measurement]) -> str:
        count = sum(m.used_fuzzy or m.suggestion is not None for m in group)
        return f"{share(count, len(group))} of {len(group)}"

    splits: dict[str, dict[str, list[Measurement]]] = {
        "typo": defaultdict(list),
        "letter": defaultdict(list),
        "words": defaultdict(list),
    }
    for m in typos:
        splits["typo"][m.query.typo].append(m)
        splits["letter"]["first" if m.query.typo_first_letter else "later"].append(m)
        splits["words"]["one" if len(m.query.text.split()) == 1 else "several"].append(m)
    say("  typo queries where the typo was noticed (typo tolerance used or suggestion given):")
    for name, groups in splits.items():
        parts = [f"{key} {noticed(group)}" for key, group in sorted(groups.items())]
        say(f"    by {name + ':':<8} {', '.join(parts)}")


def print_summary(
    options: argparse.Namespace,
    build: BuildResult,
    measurements: Sequence[Measurement],
    final_memory_mb: float,
) -> None:
    latency = Latency.of([m.ms for m in measurements])
    n = len(measurements)
    rebuild_target = TARGET_REBUILD_SECONDS * options.articles / TARGET_REBUILD_ARTICLES
    scaled = "" if options.articles == TARGET_REBUILD_ARTICLES else " (scaled)"
    rows = [
        ("articles / documents indexed", f"{options.articles:,} / {build.documents:,}", "", ""),
        (
            "index rebuild",
            f"{build.seconds:.1f} s",
            f"< {rebuild_target:.0f} s{scaled}",
            verdict(build.seconds < rebuild_target),
        ),
        ("  per 1,000 articles", f"{1000 * build.seconds / max(build.documents, 1):.2f} s", "", ""),
        ("index size on disk", f"{build.size_mb:.1f} MB", "", ""),
        (
            "search p95 (incl. snippets)",
            f"{latency.p95:.1f} ms",
            f"< {TARGET_P95_MS:.0f} ms",
            verdict(latency.p95 < TARGET_P95_MS),
        ),
        (
            "search p50 / p99 / max",
            f"{latency.p50:.1f} / {latency.p99:.1f} / {latency.max:.1f}",
            "",
            "",
        ),
        ("used typo tolerance", share(sum(m.used_fuzzy for m in measurements), n), "", ""),
        ("got a suggestion", share(sum(m.suggestion is not None for m in measurements), n), "", ""),
        ("peak RSS after indexing", f"{build.peak_memory_mb:.0f} MB", "", ""),
        ("peak RSS at the end", f"{final_memory_mb:.0f} MB", "", ""),
    ]
    say(f"  {'metric':<30} {'value':>22}  {'target':<17} result")
    say("  " + "-" * 77)
    for name, value, target, result in rows:
        say(f"  {name:<30} {value:>22}  {target:<17} {result}".rstrip())


# -- main --------------------------------------------------------------------------------------


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=20_000, help="articles (default 20000)")
    parser.add_argument("--queries", type=int, default=500, help="measured queries (default 500)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder and print its path"
    )
    options = parser.parse_args(argv)
    if options.articles < 2 or options.queries < 1:
        parser.error("--articles must be at least 2 and --queries at least 1")
    return options


def run(options: argparse.Namespace, workdir: Path) -> None:
    notes = prepare_environment(workdir)
    started = time.perf_counter()
    setup_django()
    say(f"Search benchmark: {options.articles:,} articles, {options.queries} queries, seed {SEED}")
    say(f"  temporary folder: {workdir} (SQLite database and index)")
    say(f"  {os.cpu_count()} CPUs, load average at start {os.getloadavg()[0]:.2f}")
    for note in notes:
        say(f"  note: {note}")
    say(f"  setup and migrations: {time.perf_counter() - started:.1f} s")

    material = load_demo_material()
    seconds, words = insert_corpus(options.articles, material)
    say(f"  corpus generated and inserted in {seconds:.1f} s (not measured), ~{words} words/body")

    say("\nIndex rebuild (kb.services.indexing.rebuild_search_index)")
    build = build_index(workdir / "index", options.articles)
    say(
        f"  {build.documents:,} documents in {build.seconds:.1f} s"
        f" ({build.documents / build.seconds:.0f} docs/s), index {build.size_mb:.1f} MB,"
        f" peak RSS {build.peak_memory_mb:.0f} MB"
    )
    say(
        f"  of which reading articles + Markdown to text: ~{build.preparation_seconds:.1f} s"
        f" ({100 * build.preparation_seconds / build.seconds:.0f}%, estimated on"
        f" {min(PREPARATION_SAMPLE, build.documents):,} articles)"
    )
    say(
        f"  and the final commit after the last document: {build.commit_seconds:.1f} s"
        f" ({100 * build.commit_seconds / build.seconds:.0f}%); the rest is Whoosh indexing"
    )

    maker = QueryMaker(material, random.Random(SEED + 1))
    warmup = maker.make(WARMUP_QUERIES)
    queries = maker.make(options.queries)
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
    print_summary(options, build, measurements, peak_memory_mb())


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        run(options, workdir)
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if options.keep:
            say(f"\nKept the temporary folder: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
