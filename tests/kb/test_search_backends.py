"""The contract every search backend passes (kb/search/base.py: SearchBackend).

Each test runs against every backend in ``BACKENDS``, configured the way the site configures
it (``SEARCH_BACKEND``). What a backend does not promise in its ``features`` (accents, stemming,
typos, suggestions) is not asked of it; what it does promise is.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import OperationalError, connection
from django.utils.module_loading import import_string

from kb import services
from kb.models import Article
from kb.search import (
    DATABASE_BACKEND,
    WHOOSH_BACKEND,
    SearchBackend,
    SearchFeatures,
    SearchResults,
    SearchUnavailable,
    get_search_backend,
)
from kb.services.indexing import build_search_document
from tests.factories import ArticleFactory, CategoryFactory

pytestmark = pytest.mark.django_db

BACKENDS = {"whoosh": WHOOSH_BACKEND, "database": DATABASE_BACKEND}


@dataclass
class Subject:
    backend: SearchBackend
    # Makes the backend unable to answer while the context is open.
    unavailable: Callable[[], AbstractContextManager[None]]

    def publish(self, **fields) -> Article:
        """Publish an article through the service and index it, as the task does."""
        fields.setdefault("category", CategoryFactory())
        article = services.publish_article(article=ArticleFactory.build(**fields), actor=None)
        self.backend.index_document(build_search_document(article))
        return article

    def ids(self, query: str, *, language: str = "es", **options) -> list[int]:
        return [hit.id for hit in self.backend.search(query, language=language, **options).hits]


@contextmanager
def _index_folder_removed(index_dir: Path) -> Iterator[None]:
    shutil.rmtree(index_dir)
    yield


@contextmanager
def _database_refusing() -> Iterator[None]:
    def refuse(execute, sql, params, many, context):
        raise OperationalError("database unavailable (test)")

    with connection.execute_wrapper(refuse):
        yield


@pytest.fixture(params=sorted(BACKENDS))
def subject(request, settings, tmp_path) -> Iterator[Subject]:
    settings.SEARCH_BACKEND = BACKENDS[request.param]
    settings.SEARCH_INDEX_DIR = index_dir = tmp_path / "index"
    backend = get_search_backend()
    backend.ensure_index()
    if request.param == "whoosh":
        yield Subject(backend, lambda: _index_folder_removed(index_dir))
    else:
        yield Subject(backend, _database_refusing)
    backend.close()


@pytest.fixture
def refund(subject) -> Article:
    return subject.publish(
        title="Cómo solicitar una devolución",
        summary="Plazos del reembolso.",
        body="Te devolvemos el dinero en 3 días hábiles desde que recibimos el paquete.",
        keywords="reembolso, devolución",
        translation_key="refund",
    )


def test_the_backend_is_the_configured_one_and_declares_the_protocol(subject, settings):
    assert isinstance(subject.backend, SearchBackend)
    assert isinstance(subject.backend.features, SearchFeatures)
    assert isinstance(subject.backend, import_string(settings.SEARCH_BACKEND))
    assert get_search_backend() is subject.backend  # one instance per process


def test_an_indexed_article_is_found_by_any_of_its_words_in_any_case(subject, refund):
    assert subject.ids("devolución") == [refund.pk]
    assert subject.ids("REEMBOLSO") == [refund.pk]
    assert subject.ids("paquete dinero") == [refund.pk]
    assert subject.ids("ordenador") == []
    assert subject.backend.status() == "ok"


def test_a_word_finds_the_articles_of_its_synonyms(subject, refund):
    synonyms = {"abono": ["reembolso", "devolución"], "reintegro": ["dinero"]}

    assert subject.ids("abono") == []
    assert subject.ids("abono", synonyms=synonyms) == [refund.pk]
    assert subject.ids("Abono paquete", synonyms=synonyms) == [refund.pk]
    assert subject.ids("reintegro", synonyms=synonyms) == [refund.pk]
    assert subject.ids("reembolso", synonyms={"reembolso": ["factura"]}) == [refund.pk]


def test_hits_carry_what_the_page_shows(subject, refund):
    results = subject.backend.search("reembolso", language="es")

    assert isinstance(results, SearchResults)
    assert results.query == "reembolso"
    assert results.total == 1
    (hit,) = results.hits
    assert (hit.id, hit.language, hit.translation_key) == (refund.pk, "es", "refund")
    assert (hit.title, hit.url) == (refund.title, refund.get_absolute_url())
    assert hit.category == refund.category.slug
    assert "<" not in re.sub(r"</?mark>", "", hit.snippet_html)


def test_a_removed_article_is_no_longer_found(subject, refund):
    services.archive_article(article=refund, actor=None)
    subject.backend.remove_document(refund.pk)

    assert subject.ids("devolución") == []
    subject.backend.remove_document(refund.pk)  # removing twice is harmless


def test_the_visitors_language_comes_first(subject):
    spanish = subject.publish(title="Pagar con PayPal", language="es", translation_key="paypal")
    english = subject.publish(title="Pay with PayPal", language="en", translation_key="paypal-en")

    assert subject.ids("paypal", language="es") == [spanish.pk, english.pk]
    assert subject.ids("paypal", language="en") == [english.pk, spanish.pk]


def test_category_and_pages_narrow_the_results(subject):
    billing = CategoryFactory(slug="facturacion")
    found = [subject.publish(title=f"Factura {n}", category=billing) for n in range(3)]
    subject.publish(title="Factura de otra sección")

    assert sorted(subject.ids("factura", category="facturacion")) == sorted(a.pk for a in found)
    first = subject.backend.search("factura", language="es", per_page=3)
    second = subject.backend.search("factura", language="es", per_page=3, page=2)
    assert (first.total, len(first.hits), second.total, len(second.hits)) == (4, 3, 4, 1)
    assert {hit.id for hit in first.hits}.isdisjoint(hit.id for hit in second.hits)


@pytest.mark.parametrize(
    "query",
    ["", "   ", "AND OR NOT", '"unbalanced', "title:devolución", "*", "a" * 10_000, "\x00\x7f"],
)
def test_any_string_is_a_query(subject, refund, query):
    results = subject.backend.search(query, language="es")

    assert isinstance(results, SearchResults)
    assert subject.backend.suggest(query, language="es") == results.suggestion


def test_accents_as_promised(subject, refund):
    if not subject.backend.features.accents:
        pytest.skip("this backend does not promise accent folding")
    assert subject.ids("devolucion") == [refund.pk]
    assert subject.ids("DEVOLUCION") == [refund.pk]


def test_stemming_as_promised(subject, refund):
    if not subject.backend.features.stemming:
        pytest.skip("this backend does not promise stemming")
    assert subject.ids("devoluciones") == [refund.pk]


def test_typos_as_promised(subject, refund):
    if not subject.backend.features.typos:
        pytest.skip("this backend does not promise typo tolerance")
    results = subject.backend.search("devolucoin", language="es")

    assert [hit.id for hit in results.hits] == [refund.pk]
    assert results.used_fuzzy


def test_suggestions_as_promised(subject, refund):
    suggestion = subject.backend.suggest("devolucoin", language="es")

    if subject.backend.features.suggestions:
        assert suggestion == "devolución"
        assert subject.backend.search("devolucoin", language="es").suggestion == "devolución"
    else:
        assert suggestion is None
    assert subject.backend.suggest("devolución", language="es") is None  # a known word


def test_rebuild_indexes_the_documents_it_is_given(subject):
    articles = [subject.publish(title=f"Envío número {n}") for n in range(3)]
    done: list[int] = []

    count = subject.backend.rebuild(map(build_search_document, articles), progress=done.append)

    assert count == 3
    assert done == [1, 2, 3]
    assert subject.backend.document_count() == 3
    assert sorted(subject.ids("envío")) == sorted(article.pk for article in articles)
    assert subject.backend.status() == "ok"


def test_an_unavailable_backend_says_so_and_raises_only_search_unavailable(subject, refund):
    with subject.unavailable():
        assert subject.backend.status() in ("missing", "unreadable")
        with pytest.raises(SearchUnavailable) as excinfo:
            subject.backend.search("devolución", language="es")
        assert excinfo.value.reason in ("missing", "unreadable")
        with pytest.raises(SearchUnavailable):
            subject.backend.document_count()
        with suppress(SearchUnavailable):  # or no suggestion at all
            assert subject.backend.suggest("devolucoin", language="es") is None


def test_only_the_whoosh_backend_imports_whoosh():
    root = Path(__file__).resolve().parents[2]
    allowed = root / "kb" / "search" / "backends" / "whoosh"
    importing = re.compile(r"^\s*(import whoosh|from whoosh)\b", re.MULTILINE)
    offenders = [
        str(path.relative_to(root))
        for app in ("helpcenter", "foundation", "kb", "cases", "notifications", "insights")
        for path in (root / app).rglob("*.py")
        if allowed not in path.parents and importing.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
