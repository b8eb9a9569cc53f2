"""Behaviour of the Whoosh search backend (kb.search.backends.whoosh); plain pytest, no Django."""

from __future__ import annotations

import multiprocessing
import random
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from whoosh import fields, highlight
from whoosh.analysis import Token
from whoosh.index import create_in, open_dir
from whoosh.reading import TermNotFound

from kb.search import SearchDocument, SearchResults, SearchUnavailable, clean_query
from kb.search.backends.whoosh import WhooshSearchBackend, postings, snippets
from kb.search.backends.whoosh import engine as engine_module
from kb.search.backends.whoosh.analysis import LanguageAnalysis, build_schema
from kb.search.backends.whoosh.storage import GenerationStore


def make_doc(
    id: int,
    language: str = "es",
    *,
    title: str = "Artículo",
    body: str = "Texto del artículo.",
    keywords: str = "",
    summary: str = "",
    category: str = "general",
    translation_key: str | None = None,
) -> SearchDocument:
    return SearchDocument(
        id=id,
        language=language,
        translation_key=translation_key or f"key-{id}",
        title=title,
        keywords=keywords,
        summary=summary,
        body=body,
        category=category,
        url=f"/{language}/articles/{id}/",
    )


CORPUS = [
    make_doc(
        1,
        "es",
        title="Cómo solicitar una devolución",
        keywords="reembolso, devolver",
        summary="Pasos para devolver un producto.",
        body="Puedes pedir la devolución de tu pedido durante los primeros 30 días.",
        category="pedidos",
        translation_key="refund",
    ),
    make_doc(
        2,
        "en",
        title="How to request a refund",
        keywords="money back",
        summary="Steps to return a product.",
        body="You can ask for a refund of your order within 30 days.",
        category="orders",
        translation_key="refund",
    ),
    make_doc(
        3,
        "es",
        title="Cambiar la contraseña",
        keywords="acceso, clave",
        summary="Restablece el acceso a tu perfil.",
        body="Si olvidaste tu contraseña, puedes restablecerla desde tu perfil.",
        category="cuenta",
        translation_key="password",
    ),
    make_doc(
        4,
        "en",
        title="Change your password",
        keywords="login, access",
        summary="Reset access to your profile.",
        body="If you forgot your password, reset it from your profile page.",
        category="account",
        translation_key="password",
    ),
    make_doc(
        5,
        "es",
        title="Plazos de entrega",
        keywords="transporte",
        summary="Cuánto tarda en llegar un paquete.",
        body="El envío de los pedidos tarda entre dos y cinco días hábiles.",
        category="envios",
        translation_key="delivery",
    ),
    make_doc(
        6,
        "en",
        title="Delivery times",
        keywords="transport",
        summary="How long a parcel takes to arrive.",
        body="Orders are shipped within two business days.",
        category="orders",
        translation_key="delivery",
    ),
    # "paypal" occurs in one Spanish article, its English translation, and an
    # unrelated English-only article.
    make_doc(
        10,
        "es",
        title="Pagar con PayPal",
        body="Elige PayPal al finalizar la compra.",
        category="pagos",
        translation_key="paypal",
    ),
    make_doc(
        11,
        "en",
        title="PayPal fees for sellers",
        body="Sellers pay a small PayPal fee.",
        category="payments",
        translation_key="paypal-fees",
    ),
    make_doc(
        12,
        "en",
        title="Pay with PayPal",
        body="Choose PayPal at checkout.",
        category="payments",
        translation_key="paypal",
    ),
]


@pytest.fixture
def index_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture
def engine(index_dir: Path) -> Iterator[WhooshSearchBackend]:
    engine = WhooshSearchBackend(index_dir, write_timeout=20)
    yield engine
    engine.close()


@pytest.fixture
def corpus_engine(engine: WhooshSearchBackend) -> WhooshSearchBackend:
    engine.rebuild(CORPUS)
    return engine


def ids(results: SearchResults) -> list[int]:
    return [hit.id for hit in results.hits]


# -- analysis --------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["devolucion", "devolución", "devoluciones", "DEVOLUCIÓN", "Devolucio\u0301n"]
)
def test_spanish_word_forms_and_accents_meet_on_one_term(corpus_engine, query):
    results = corpus_engine.search(query, language="es")

    assert ids(results)[:1] == [1]
    assert not results.used_fuzzy


def test_unaccented_query_finds_accented_spanish_word(corpus_engine):
    assert ids(corpus_engine.search("envio", language="es"))[:1] == [5]


def test_unaccented_enye_word_matches_without_typo_tolerance(corpus_engine):
    results = corpus_engine.search("contrasena", language="es")

    assert ids(results)[:1] == [3]
    assert not results.used_fuzzy
    assert results.suggestion is None


@pytest.mark.parametrize(("query", "expected"), [("refunds", 2), ("shipping", 6)])
def test_english_stemming_matches_other_forms_of_a_word(corpus_engine, query, expected):
    assert ids(corpus_engine.search(query, language="en"))[:1] == [expected]


# -- typo tolerance and suggestions ------------------------------------------------


@pytest.mark.parametrize(
    ("query", "language", "expected"),
    [
        ("devolusion", "es", 1),
        ("contrasenia", "es", 3),
        ("contrasela", "es", 3),
        ("pasword", "en", 4),
        ("pasword", "es", 4),  # no Spanish match: found in the English tier
    ],
)
def test_typos_are_tolerated(corpus_engine, query, language, expected):
    results = corpus_engine.search(query, language=language)

    assert ids(results)[:1] == [expected]
    assert results.used_fuzzy


def test_fuzzy_matching_is_not_used_when_exact_terms_match(corpus_engine):
    results = corpus_engine.search("contraseña", language="es")

    assert ids(results)[:1] == [3]
    assert not results.used_fuzzy


def test_short_words_are_not_fuzzy_matched(corpus_engine):
    # "pay" is one edit from nothing useful and below the 4-letter minimum.
    results = corpus_engine.search("pey", language="en")

    assert results.hits == []
    assert not results.used_fuzzy


def test_did_you_mean_suggests_indexed_words_with_their_accents(corpus_engine):
    assert corpus_engine.suggest("cambiar la contrasenia", language="es") == (
        "cambiar la contraseña"
    )
    assert corpus_engine.suggest("Devolusion", language="es") == "Devolución"
    assert corpus_engine.suggest("pasword reset", language="en") == "password reset"


def test_no_suggestion_for_words_in_the_index(corpus_engine):
    assert corpus_engine.suggest("contraseña", language="es") is None
    assert corpus_engine.suggest("contrasena", language="es") is None
    # Another form of an indexed word is not a typo.
    assert corpus_engine.suggest("refunds", language="en") is None
    assert corpus_engine.suggest("???", language="en") is None


def test_no_suggestion_for_words_of_the_other_language(engine):
    engine.rebuild(
        [
            make_doc(1, "es", body="Compatible con cualquier tablet."),
            make_doc(2, "en", body="Sort the tables."),
        ]
    )

    assert engine.suggest("tablez", language="es") == "tablet"
    assert engine.suggest("tables", language="es") is None


def test_the_stop_words_it_names_are_the_words_a_search_leaves_out(corpus_engine):
    spanish = corpus_engine.stop_words("es-ES")

    assert {"de", "está", "esta", "para"} <= spanish  # written with and without the accent
    assert "devolución" not in spanish
    assert "the" in corpus_engine.stop_words("en")
    assert corpus_engine.search("de para esta", language="es").total == 0
    assert corpus_engine.search("devolución de para", language="es").total > 0


def test_search_offers_suggestion_when_typo_tolerance_was_needed(corpus_engine):
    results = corpus_engine.search("devolusion", language="es")

    assert results.suggestion == "devolución"


def test_search_offers_no_suggestion_for_correctly_spelled_queries(corpus_engine):
    results = corpus_engine.search("paypal", language="en")

    assert results.total < 3  # few hits, but every word is in the index
    assert results.suggestion is None


def test_any_word_is_enough_when_all_words_find_too_little(corpus_engine):
    results = corpus_engine.search("devolución transporte", language="es")

    assert {1, 5} <= set(ids(results))
    assert not results.used_fuzzy


@pytest.mark.parametrize(
    ("query", "language", "expected", "suggestion"),
    [
        ("papyal", "en", {11, 12}, "paypal"),
        ("refnud", "en", {2}, "refund"),
        ("pefril", "es", {3}, "perfil"),
        ("etnrega", "es", {5}, "entrega"),
        ("Etnrega", "es", {5}, "Entrega"),
    ],
)
def test_swapped_letters_are_one_typo_in_short_words(
    corpus_engine, query, language, expected, suggestion
):
    # Words below 8 letters allow one edit; a swap is two for plain Levenshtein.
    results = corpus_engine.search(query, language=language)

    assert set(ids(results)[: len(expected)]) == expected
    assert results.used_fuzzy
    assert results.suggestion == suggestion
    assert corpus_engine.suggest(query, language=language) == suggestion


@pytest.mark.parametrize("query", ["aypal", "qaypal", "apypal", "spaypal"])
def test_a_typo_in_the_first_letter_is_found(corpus_engine, query):
    # Dropped, replaced, swapped with the second, typed before it.
    results = corpus_engine.search(query, language="en")

    assert set(ids(results)) == {11, 12}
    assert results.suggestion == "paypal"


def test_long_words_take_a_first_letter_typo_only_as_their_only_typo(corpus_engine):
    # Words of 8 letters or more allow two edits.
    assert corpus_engine.suggest("comtrasela", language="es") == "contraseña"
    assert corpus_engine.suggest("xontraseña", language="es") == "contraseña"
    assert corpus_engine.suggest("xontrasela", language="es") is None


def test_typo_in_a_multi_word_query_gets_a_suggestion_and_the_intended_article(engine):
    engine.rebuild(
        [
            make_doc(
                1,
                "en",
                title="Change the delivery address",
                body="You can change the delivery address until the order ships.",
            ),
            *(
                make_doc(n, "en", title=f"Delivery notes {n}", body="We change delivery dates.")
                for n in range(2, 7)
            ),
        ]
    )

    results = engine.search("change the delivery addres", language="en")

    # All words with the typo corrected find one article, too few: any word
    # (the typo still corrected) puts it first, and the articles that only share
    # "change delivery" fall below the relevance floor (kb.search.relevance).
    assert ids(results) == [1]
    assert results.total == 1
    assert results.used_fuzzy
    assert results.suggestion == "change the delivery address"


def test_all_words_with_the_typo_corrected_come_before_any_word(engine):
    engine.rebuild(
        [
            *(
                make_doc(
                    n, title=f"Cambiar la dirección de entrega {n}", body="Cambia la dirección."
                )
                for n in (1, 2, 3)
            ),
            *(
                make_doc(n, title=f"Entrega {n}", body="Cambiar la fecha de entrega.")
                for n in (4, 5, 6)
            ),
        ]
    )

    results = engine.search("cambiar direcion entrega", language="es")

    assert sorted(ids(results)) == [1, 2, 3]
    assert results.total == 3
    assert results.used_fuzzy
    assert results.suggestion == "cambiar dirección entrega"


def test_correctly_spelled_multi_word_query_gets_no_suggestion(corpus_engine):
    results = corpus_engine.search("cambiar contraseña perfil", language="es")

    assert ids(results)[:1] == [3]
    assert results.suggestion is None
    assert not results.used_fuzzy


def test_words_indexed_after_the_rebuild_are_corrected_with_their_accents(corpus_engine):
    corpus_engine.index_document(make_doc(20, body="Amplía la garantía del producto."))

    assert corpus_engine.suggest("garantai", language="es") == "garantía"
    assert ids(corpus_engine.search("garantai", language="es")) == [20]


def test_words_of_removed_documents_are_not_suggested(corpus_engine):
    assert corpus_engine.suggest("trasnporte", language="es") == "transporte"

    corpus_engine.remove_document(5)

    assert corpus_engine.suggest("trasnporte", language="es") is None


# -- languages, categories, pages, ranking ---------------------------------------


def test_requested_language_first_then_other_language_without_translations(corpus_engine):
    results = corpus_engine.search("paypal", language="es")

    # 12 is the English translation of 10, which already matched in Spanish.
    assert ids(results) == [10, 11]
    assert [hit.language for hit in results.hits] == ["es", "en"]
    assert results.total == 2


def test_english_request_falls_back_to_spanish_only_for_untranslated_hits(corpus_engine):
    results = corpus_engine.search("paypal", language="en")

    assert sorted(ids(results)) == [11, 12]
    assert results.total == 2


def test_other_language_hits_are_shown_when_requested_language_has_none(corpus_engine):
    results = corpus_engine.search("refund", language="es")

    assert ids(results) == [2]
    assert results.hits[0].language == "en"


def test_category_filter_keeps_only_that_category(corpus_engine):
    assert set(ids(corpus_engine.search("dias", language="es"))) == {1, 5}

    results = corpus_engine.search("dias", language="es", category="envios")

    assert ids(results) == [5]
    assert results.total == 1
    assert corpus_engine.search("dias", language="es", category="nope").hits == []


def test_pagination_continues_from_requested_language_into_fallback(engine):
    spanish = [make_doc(100 + n, "es", body=f"Factura número {n}.") for n in range(7)]
    english = [make_doc(200 + n, "en", body=f"Factura number {n}.") for n in range(6)]
    engine.rebuild(spanish + english)

    pages = [engine.search("factura", language="es", page=p, per_page=5) for p in (1, 2, 3, 4)]

    assert [len(page.hits) for page in pages] == [5, 5, 3, 0]
    assert all(page.total == 13 for page in pages)
    seen = [hit.id for page in pages for hit in page.hits]
    assert sorted(seen) == sorted(doc.id for doc in spanish + english)
    assert [hit.language for hit in pages[1].hits] == ["es", "es", "en", "en", "en"]
    assert (pages[1].page, pages[1].per_page) == (2, 5)


def test_title_match_ranks_above_body_only_match(engine):
    engine.rebuild(
        [
            make_doc(1, title="Preguntas frecuentes", body="La garantía cubre dos años."),
            make_doc(2, title="Garantía del producto", body="Cubre dos años."),
        ]
    )

    assert ids(engine.search("garantia", language="es")) == [2, 1]


def test_keyword_match_ranks_above_body_only_match(engine):
    engine.rebuild(
        [
            make_doc(1, title="Preguntas frecuentes", body="La garantía cubre dos años."),
            make_doc(2, title="Preguntas", keywords="garantía, plazos", body="Cubre dos años."),
        ]
    )

    assert ids(engine.search("garantia", language="es")) == [2, 1]


def test_total_leaves_out_translations_whether_or_not_the_page_is_full(engine):
    engine.rebuild(
        [
            make_doc(1, "es", body="Factura uno.", translation_key="a"),
            make_doc(2, "es", body="Factura dos.", translation_key="b"),
            make_doc(3, "es", body="Factura tres.", translation_key="c"),
            make_doc(4, "en", body="Factura one.", translation_key="a"),  # translates 1
            make_doc(5, "en", body="Factura five.", translation_key="e"),
            make_doc(6, "en", body="Factura six.", translation_key="f", category="otra"),
        ]
    )

    # Page 1 is full with Spanish hits (the English ones are only counted);
    # page 3 reaches the English ones.
    for page in (1, 3):
        assert engine.search("factura", language="es", per_page=2, page=page).total == 5
        assert (
            engine.search("factura", language="es", per_page=2, page=page, category="general").total
            == 4
        )
    pages = [engine.search("factura", language="es", per_page=2, page=page) for page in (1, 2, 3)]
    assert [hit.id for page in pages for hit in page.hits] == [1, 2, 3, 5, 6]


# -- hostile input ---------------------------------------------------------------------

HOSTILE_QUERIES = [
    "AND OR NOT",
    "NOT devolucion",
    '"unbalanced',
    "((",
    "devolucion AND (envio",
    "*",
    "devolu*",
    "?",
    "title:foo",
    "body_es:devolucion",
    "a~2^3",
    "devolucion~5",
    "x" * 10_000,
    "devolución " * 3_000,
    "😀🔥🤖",
    "\x00\x01",
    "devolucion\x00",
    "\ud800",
    "",
    "   \t\n  ",
    "<script>alert(1)</script>",
    "%s %d {0} ${x}",
    "\u200b\u200d",
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_queries_return_results_without_raising(corpus_engine, query):
    results = corpus_engine.search(query, language="es")

    assert isinstance(results, SearchResults)
    assert len(results.query) <= 200
    corpus_engine.suggest(query, language="en")


def test_operators_are_searched_as_plain_words(corpus_engine):
    assert 1 in ids(corpus_engine.search("devolucion AND (envio", language="es"))


def test_query_without_word_characters_is_empty_even_without_an_index(engine):
    results = engine.search("*** (( ~^ ", language="es")

    assert results.hits == []
    assert results.total == 0
    assert results.suggestion is None


def test_clean_query_normalises_and_caps_input():
    assert clean_query("  ¿Cómo\x00 cambio\n\tmi   contraseña?  ") == "¿Cómo cambio mi contraseña?"
    assert clean_query("conta\u00adseña") == "contaseña"  # soft hyphen dropped
    assert clean_query("Devolucio\u0301n") == "Devolución"  # NFC
    assert len(clean_query("x" * 10_000)) == 200
    assert clean_query(" ".join(f"w{n}" for n in range(30))) == " ".join(f"w{n}" for n in range(12))
    assert clean_query("") == ""
    assert engine_module.clean_query is clean_query


# -- snippets ---------------------------------------------------------------------------


def test_snippet_marks_matches_and_escapes_everything_else(engine):
    body = 'Nunca ejecutes <script>alert(1)</script> & "otras" cosas; la garantía sigue.'
    engine.rebuild([make_doc(1, title="Seguridad", body=body)])

    snippet = engine.search("garantia", language="es").hits[0].snippet_html

    assert "<mark>garantía</mark>" in snippet
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in snippet
    assert "&amp;" in snippet
    assert "&quot;otras&quot;" in snippet
    assert "<" not in re.sub(r"</?mark>", "", snippet)


def test_snippet_falls_back_to_escaped_start_of_body(engine):
    engine.rebuild([make_doc(1, title="Garantía", body="Cubre <b>dos</b> años. " * 40)])

    snippet = engine.search("garantia", language="es").hits[0].snippet_html

    assert "<mark>" not in snippet
    assert snippet.startswith("Cubre &lt;b&gt;dos&lt;/b&gt; años.")
    assert len(snippet) < 300


def _whoosh_snippet(text: str, terms: set[str], stem) -> str:
    """The snippet as Whoosh's own highlighter builds it (the reference)."""
    fragmenter = highlight.ContextFragmenter(maxchars=160, surround=50)
    tokens = (
        Token(
            text=match.group(),
            startchar=match.start(),
            endchar=match.end(),
            matched=stem(match.group()) in terms,
        )
        for match in re.finditer(r"\w+", text[:32_768])
    )
    best = highlight.top_fragments(
        fragmenter.fragment_tokens(text, tokens),
        2,
        highlight.BasicFragmentScorer(),
        highlight.FIRST,
        minscore=1,
    )
    if not best:
        return snippets.plain_snippet(text)
    pieces = []
    for fragment in best:
        fragment.startchar, fragment.endchar = snippets._widen_to_whitespace(
            text, fragment.startchar, fragment.endchar
        )
        marks = [(token.startchar, token.endchar) for token in fragment.matches]
        pieces.append(snippets._format(text, fragment.startchar, fragment.endchar, marks))
    out = " … ".join(pieces)
    if re.search(r"\w", text[: best[0].startchar]):
        out = f"… {out}"
    if re.search(r"\w", text[best[-1].endchar :]):
        out = f"{out} …"
    return " ".join(out.split())


def test_snippets_pick_the_fragments_whoosh_would(engine):
    rng = random.Random(7)
    vocabulary = ["garantía", "pedido", "devolución", "el", "de", "Garantía", "x" * 120, "ok"]
    vocabulary += ["palabra", "reembolso", "tarda", "días", "paquete", "a" * 55, "envío"]
    stem = LanguageAnalysis(build_schema(), "es").stem.__getitem__
    for _ in range(300):
        words = rng.choices(vocabulary, k=rng.randint(0, 160))
        text = "".join(
            word + rng.choice([" ", " ", ". ", ", ", "\n", " <b>", "... "]) for word in words
        )
        terms = {stem(word) for word in rng.sample(vocabulary, 3)} - {""}

        assert snippets.highlight_snippet(text, terms, stem) == _whoosh_snippet(text, terms, stem)


def test_hit_carries_stored_fields(corpus_engine):
    hit = corpus_engine.search("devolucion", language="es").hits[0]

    assert hit.id == 1
    assert hit.language == "es"
    assert hit.translation_key == "refund"
    assert hit.title == "Cómo solicitar una devolución"
    assert hit.url == "/es/articles/1/"
    assert hit.category == "pedidos"
    assert hit.summary == "Pasos para devolver un producto."
    assert hit.score > 0


# -- incremental writes -----------------------------------------------------------------


def test_index_document_then_remove_it(engine):
    engine.ensure_index()
    engine.index_document(make_doc(1, body="Instrucciones de garantía."))
    engine.index_document(make_doc(2, body="Otra cosa."))

    assert ids(engine.search("garantia", language="es")) == [1]

    engine.remove_document(1)
    engine.remove_document(999)  # absent: no error

    assert engine.search("garantia", language="es").hits == []
    assert engine.document_count() == 1


def test_reindexing_the_same_id_replaces_the_document(engine):
    engine.ensure_index()
    engine.index_document(make_doc(1, body="Texto sobre facturas."))
    engine.index_document(make_doc(1, body="Texto sobre garantías."))

    assert engine.search("facturas", language="es").hits == []
    assert ids(engine.search("garantias", language="es")) == [1]
    assert engine.document_count() == 1


def test_changes_from_another_engine_instance_are_seen(index_dir, corpus_engine):
    corpus_engine.search("paypal", language="es")  # open the shared searcher
    other = WhooshSearchBackend(index_dir)
    other.index_document(make_doc(50, body="Nueva guía de garantía."))

    assert ids(corpus_engine.search("garantia", language="es")) == [50]

    other.rebuild([make_doc(60, body="Solo la guía de reciclaje.")])

    assert ids(corpus_engine.search("reciclaje", language="es")) == [60]
    assert corpus_engine.search("garantia", language="es").hits == []
    other.close()


def test_searches_from_several_threads_while_writing(corpus_engine):
    errors: list[BaseException] = []

    def searcher() -> None:
        try:
            for _ in range(15):
                assert 1 in ids(corpus_engine.search("devolucion", language="es"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for thread in threads:
        thread.start()
    for n in range(10):
        corpus_engine.index_document(make_doc(300 + n, body="Garantía extendida."))
    for thread in threads:
        thread.join()

    assert errors == []
    assert corpus_engine.search("garantia", language="es").total == 10


# -- rebuild --------------------------------------------------------------------------


def test_rebuild_replaces_all_documents_and_reports_progress(engine):
    assert engine.rebuild(CORPUS) == len(CORPUS)
    progress: list[int] = []

    count = engine.rebuild(
        [make_doc(70, body="Reciclaje de envases."), make_doc(71, body="Más reciclaje.")],
        progress=progress.append,
    )

    assert count == 2
    assert progress == [1, 2]
    assert engine.document_count() == 2
    assert engine.search("devolucion", language="es").hits == []
    assert set(ids(engine.search("reciclaje", language="es"))) == {70, 71}


def test_vocabulary_documents_are_never_counted_or_found(corpus_engine):
    assert corpus_engine.document_count() == len(CORPUS)
    for word in ("vocabulary", "es", "en", "devolucion", "paypal"):
        results = corpus_engine.search(word, language="es", per_page=100)
        assert set(ids(results)) <= {doc.id for doc in CORPUS}


def test_decoded_postings_match_whoosh_matchers(index_dir, engine):
    # Several posting blocks, a second segment and a deletion.
    engine.rebuild(
        make_doc(n, body="garantía " * (n % 4 + 1) + f"extra{n % 7}.") for n in range(1, 2600)
    )
    engine.index_document(make_doc(5000, body="Garantía nueva."))
    engine.remove_document(7)
    engine.remove_document(2000)
    reader = open_dir(str(index_dir / (index_dir / "CURRENT").read_text().strip())).reader()
    assert len(list(reader.leaf_readers())) == 2
    cache = postings.PostingCache(reader, {"es": (("text_es", 1.0),)})

    for term in ("garanti", "extra3", "nueva", "absent"):
        expected = []
        for leaf, offset in reader.leaf_readers():
            try:
                matcher = leaf.postings("text_es", term)
            except TermNotFound:
                continue
            while matcher.is_active():
                expected.append((matcher.id() + offset, matcher.weight()))
                matcher.next()
        docs, weights = cache._read("text_es", term)
        assert list(zip(docs, weights, strict=True)) == expected
        assert sorted(cache.get("es", term)[0]) == [docnum for docnum, _weight in expected]
    for leaf, _offset in reader.leaf_readers():
        assert postings._leaf_lengths(leaf, "text_es") == [
            leaf.doc_field_length(docnum, "text_es", 0) or 0
            for docnum in range(leaf.doc_count_all())
        ]
    results = engine.search("garantia", language="es", per_page=5)
    assert results.total == 2600 - 2
    # More occurrences in a body of the same length rank higher.
    assert ids(results)[:1] == [3]


def test_searches_use_the_old_index_until_the_rebuild_is_complete(index_dir, corpus_engine):
    other = WhooshSearchBackend(index_dir)  # as if in another process
    seen_during: list[list[int]] = []

    def documents() -> Iterator[SearchDocument]:
        for n in range(20):
            if n == 10:
                seen_during.append(ids(corpus_engine.search("devolucion", language="es")))
                seen_during.append(ids(other.search("devolucion", language="es")))
                seen_during.append(ids(other.search("reciclaje", language="es")))
            yield make_doc(400 + n, body="Reciclaje de envases.")

    corpus_engine.rebuild(documents())

    assert seen_during == [[1], [1], []]
    assert other.search("devolucion", language="es").hits == []
    assert other.search("reciclaje", language="es").total == 20
    assert len(list(index_dir.glob("gen-*"))) == 1
    other.close()


def test_failed_rebuild_keeps_the_old_index(index_dir, corpus_engine):
    def documents() -> Iterator[SearchDocument]:
        yield make_doc(500, body="Reciclaje.")
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        corpus_engine.rebuild(documents())

    assert ids(corpus_engine.search("devolucion", language="es")) == [1]
    assert corpus_engine.search("reciclaje", language="es").hits == []
    assert len(list(index_dir.glob("gen-*"))) == 1


def test_writes_made_during_a_rebuild_survive_it(index_dir, corpus_engine):
    writer = WhooshSearchBackend(index_dir)  # e.g. a Celery worker

    def documents() -> Iterator[SearchDocument]:
        yield make_doc(600, body="Reciclaje de envases.")
        yield make_doc(601, body="Reciclaje de papel.")
        # Saved after the rebuild read them from the database:
        writer.index_document(make_doc(602, body="Reciclaje de vidrio."))
        writer.index_document(make_doc(600, body="Compostaje de envases."))
        writer.remove_document(601)

    corpus_engine.rebuild(documents())

    assert ids(corpus_engine.search("reciclaje", language="es")) == [602]
    assert ids(corpus_engine.search("compostaje", language="es")) == [600]
    assert corpus_engine.document_count() == 2
    writer.close()


# -- status and availability ------------------------------------------------------------


def test_missing_index_is_reported_and_raises_search_unavailable(engine):
    assert engine.status() == "missing"

    with pytest.raises(SearchUnavailable) as excinfo:
        engine.search("devolucion", language="es")
    assert excinfo.value.reason == "missing"
    with pytest.raises(SearchUnavailable):
        engine.suggest("devolucion", language="es")
    with pytest.raises(SearchUnavailable):
        engine.index_document(make_doc(1))
    with pytest.raises(SearchUnavailable):
        engine.remove_document(1)


def test_ensure_index_creates_an_empty_index_once(engine):
    engine.ensure_index()
    engine.index_document(make_doc(1, body="Garantía."))
    engine.ensure_index()  # keeps the existing index

    assert engine.status() == "ok"
    assert engine.document_count() == 1


def test_corrupt_index_is_unreadable(index_dir, corpus_engine):
    assert corpus_engine.status() == "ok"
    (generation,) = index_dir.glob("gen-*")
    for path in generation.iterdir():
        path.write_bytes(b"\x00garbage" * 50)

    fresh = WhooshSearchBackend(index_dir)

    assert fresh.status() == "unreadable"
    with pytest.raises(SearchUnavailable) as excinfo:
        fresh.search("devolucion", language="es")
    assert excinfo.value.reason == "unreadable"


def test_index_with_an_older_field_layout_is_unreadable_until_rebuilt(index_dir, engine):
    store = GenerationStore(index_dir)
    name = store.new_generation()
    old_schema = fields.Schema(id=fields.ID(stored=True, unique=True), body_es=fields.TEXT())
    create_in(store.path(name), old_schema)
    store.switch_current(name)

    assert engine.status() == "unreadable"
    with pytest.raises(SearchUnavailable) as excinfo:
        engine.search("devolucion", language="es")
    assert excinfo.value.reason == "unreadable"
    with pytest.raises(SearchUnavailable):
        engine.index_document(make_doc(1))
    engine.ensure_index()  # leaves it for rebuild()
    assert engine.status() == "unreadable"

    engine.rebuild(CORPUS)

    assert engine.status() == "ok"
    assert ids(engine.search("devolucion", language="es"))[:1] == [1]


def test_garbage_index_pointer_is_unreadable(index_dir, corpus_engine):
    (index_dir / "CURRENT").write_text("../../etc\n")

    assert WhooshSearchBackend(index_dir).status() == "unreadable"


def test_unsupported_language_is_rejected(corpus_engine):
    with pytest.raises(ValueError):
        corpus_engine.search("devolucion", language="fr")
    assert corpus_engine.search("devolucion", language="es-MX").hits


# -- several processes ---------------------------------------------------------------------


def _index_batch(index_dir: str, first_id: int, barrier) -> None:
    engine = WhooshSearchBackend(index_dir, write_timeout=60)
    barrier.wait(timeout=60)
    for doc_id in range(first_id, first_id + 30):
        engine.index_document(make_doc(doc_id, body=f"Documento concurrente {doc_id}."))


def test_concurrent_writer_processes_lose_nothing(index_dir, engine):
    engine.ensure_index()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    processes = [
        context.Process(target=_index_batch, args=(str(index_dir), first_id, barrier))
        for first_id in (1000, 2000)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)

    assert [process.exitcode for process in processes] == [0, 0]
    assert engine.document_count() == 60
    results = engine.search("concurrente", language="es", per_page=100)
    assert sorted(ids(results)) == [*range(1000, 1030), *range(2000, 2030)]
