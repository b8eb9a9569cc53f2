import pytest
from django.urls import reverse

from kb import services
from kb.models import Article, SearchLog
from tests.factories import CategoryFactory

pytestmark = pytest.mark.django_db

HOSTILE_QUERIES = [
    "AND OR NOT",
    '"unbalanced',
    "((devolución",
    "devolución))",
    "*",
    "?",
    "title:devolución",
    "devolución~2^3",
    "a" * 10_000,
    "🙂📦 devolución 🚚",
    "\x00\x01\x02devolución\x7f",
    "<script>alert(1)</script>",
    "%00%ff",
    "' OR 1=1 --",
    "   ",
    "",
]


@pytest.fixture
def refund_articles(publish):
    spanish = publish(
        title="¿Cuándo recibiré mi devolución?",
        slug="cuando-recibire-mi-devolucion",
        summary="Plazos del reembolso.",
        body="Te devolvemos el dinero en 3 días hábiles desde que recibimos el paquete.",
        keywords="reembolso, devolución, dinero",
        translation_key="refund-times",
    )
    english = publish(
        title="When will I get my refund?",
        slug="when-will-i-get-my-refund",
        language="en",
        summary="Refund times.",
        body="We refund your money within 3 business days of receiving the parcel.",
        keywords="refund, money",
        translation_key="refund-times",
        category=spanish.category,
    )
    return spanish, english


def search(client, query: str, language: str = "es", **params):
    return client.get(f"/{language}/search/", {"q": query, **params})


def result_titles(response) -> list[str]:
    return [hit.title for hit in response.context["results"].hits]


@pytest.mark.parametrize(
    "query", ["devolucion", "devoluciones", "DEVOLUCIÓN", "devolución", "Devolucion reembolso"]
)
def test_spanish_search_forgives_accents_case_and_plurals(client, refund_articles, query):
    response = search(client, query)

    assert response.status_code == 200
    assert result_titles(response)[0] == "¿Cuándo recibiré mi devolución?"


def test_english_search_stems_and_puts_english_first(client, refund_articles):
    response = search(client, "refunds", language="en")

    assert result_titles(response)[0] == "When will I get my refund?"


def test_typo_finds_the_article_and_offers_did_you_mean(client, refund_articles):
    response = search(client, "devolusion")

    results = response.context["results"]
    assert "¿Cuándo recibiré mi devolución?" in result_titles(response)
    assert results.suggestion == "devolución"
    assert "¿Quisiste decir" in response.text


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=range(len(HOSTILE_QUERIES)))
def test_any_query_is_answered_with_a_page_never_an_error(client, refund_articles, query):
    response = search(client, query)

    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999999999999999999", "1.5"])
def test_bad_page_or_category_parameters_are_ignored(client, refund_articles, page):
    response = client.get("/es/search/", {"q": "devolución", "page": page, "category": "no such/x"})

    assert response.status_code == 200


def test_draft_and_archived_articles_never_appear(client, publish, refund_articles):
    archived = publish(title="Devolución antigua", slug="devolucion-antigua", body="devolución")
    services.archive_article(article=archived, actor=None)
    draft = services.save_article(
        article=Article(
            title="Devolución borrador",
            slug="devolucion-borrador",
            summary="s",
            body="devolución",
            translation_key="draft-refund",
            category=archived.category,
        ),
        actor=None,
    )
    services.sync_article_to_index(article_id=draft.pk)

    titles = result_titles(search(client, "devolución"))

    assert "Devolución antigua" not in titles
    assert "Devolución borrador" not in titles


def test_archived_article_disappears_as_soon_as_the_change_commits(client, publish):
    """Before the index task has run, the search still hides the archived article."""
    article = publish(title="Horario de Navidad", slug="horario-navidad", body="Navidad")
    assert result_titles(search(client, "navidad")) == ["Horario de Navidad"]

    services.archive_article(article=article, actor=None)  # no index sync on purpose

    assert result_titles(search(client, "navidad")) == []


def test_other_language_results_follow_without_duplicating_translations(client, publish):
    spanish = publish(
        title="Pagar con Bizum", slug="pagar-bizum", body="Bizum", translation_key="bizum"
    )
    publish(title="Paying with Bizum", slug="paying-bizum", language="en", body="Bizum",
            translation_key="bizum", category=spanish.category)  # fmt: skip
    publish(title="Bizum limits", slug="bizum-limits", language="en", body="Bizum",
            translation_key="bizum-limits", category=spanish.category)  # fmt: skip

    assert result_titles(search(client, "bizum")) == ["Pagar con Bizum", "Bizum limits"]


def test_category_filter(client, publish, refund_articles):
    gifts = CategoryFactory(slug="gifts")
    other = publish(
        title="Devolución de regalos", slug="regalos", body="devolución", category=gifts
    )

    response = search(client, "devolución", category="gifts")

    assert result_titles(response) == [other.title]


def test_htmx_request_returns_only_the_results_fragment(client, refund_articles):
    response = client.get("/es/search/", {"q": "devolución"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "<html" not in response.text
    assert "¿Cuándo recibiré mi devolución?" in response.text


def test_results_show_highlighted_snippets(client, refund_articles):
    response = search(client, "dinero")

    assert "<mark>dinero</mark>" in response.text


def test_searches_are_logged_without_personal_data_and_typing_is_coalesced(client, refund_articles):
    for partial in ["dev", "devol", "devolución"]:
        search(client, partial, HTTP_HX_REQUEST="true")
    search(client, "zzzz inexistente")

    logs = list(
        SearchLog.objects.order_by("created_at").values("query", "results_count", "language")
    )
    assert logs[0]["query"] == "devolución" and logs[0]["results_count"] >= 1
    assert logs[1] == {"query": "zzzz inexistente", "results_count": 0, "language": "es"}
    assert len(logs) == 2


def test_opening_a_result_is_recorded_on_the_search(client, refund_articles):
    spanish, _ = refund_articles
    search(client, "devolución")

    client.get(spanish.get_absolute_url())

    assert SearchLog.objects.get().opened_article == spanish


def test_missing_index_falls_back_to_the_database(client, refund_articles, settings, tmp_path):
    settings.SEARCH_INDEX_DIR = tmp_path / "gone"

    response = search(client, "reembolso")

    assert response.status_code == 200
    assert response.context["results"].degraded
    assert result_titles(response) == ["¿Cuándo recibiré mi devolución?"]
    health = client.get("/healthz").json()
    assert health["checks"]["search_index"]["state"] == "degraded"


def test_search_page_url_is_shareable_and_works_without_javascript(client, refund_articles):
    response = client.get(reverse("kb:search") + "?q=devoluci%C3%B3n")

    assert response.status_code == 200
    assert 'hx-push-url="true"' in response.text
    assert 'action="/es/search/"' in response.text


def test_nothing_found_links_to_the_topics_and_to_contact(client, refund_articles):
    """No dead end when nothing fits: "the topics on the home page" is a link, as is contact."""
    response = search(client, "puntos de fidelidad")

    assert result_titles(response) == []
    assert '<a href="/es/">los temas de la portada</a>' in response.text
    assert 'href="/es/contact/"' in response.text
