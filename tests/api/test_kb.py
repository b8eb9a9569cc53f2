"""Articles through the API: read, and searched by the site's own search."""

import pytest
from django.conf import settings

from kb.models import SearchLog
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_a_published_article_is_read_in_its_language(api, key, publish):
    article = publish(
        title="Cambiar la dirección de entrega", slug="cambiar-direccion", language="es"
    )

    response = api.get("/kb/articles/es/cambiar-direccion", key=key)

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Cambiar la dirección de entrega"
    assert body["category"] == article.category.slug
    assert body["url"] == settings.SITE_URL + "/es/articles/cambiar-direccion/"
    assert_problem(api.get("/kb/articles/en/cambiar-direccion", key=key), 404, "not_found")
    assert_problem(api.get("/kb/articles/fr/cambiar-direccion", key=key), 422, "invalid_request")


def test_search_answers_as_the_site_does_a_page_at_a_time(api, key, publish, client):
    for number in range(12):
        publish(title=f"Devolver un pedido {number}", slug=f"devolver-{number}", language="es")
    site = client.get("/es/search/", {"q": "devolver pedido"})

    first = api.get("/kb/search", key=key, q="devolver pedido", language="es").json()
    second = api.get(
        "/kb/search", key=key, q="devolver pedido", language="es", cursor=first["next_cursor"]
    ).json()

    assert first["total"] == 12
    site_titles = [hit.title for hit in site.context["results"].hits]
    assert [item["title"] for item in first["items"]] == site_titles
    titles = [item["title"] for item in first["items"] + second["items"]]
    assert len(titles) == len(set(titles)) == 12
    assert second["next_cursor"] is None


def test_api_searches_are_not_logged_as_visitors_searches(api, key, publish, client):
    publish(title="Devolver un pedido", slug="devolver", language="es")
    client.get("/es/search/", {"q": "devolver"})
    assert SearchLog.objects.count() == 1

    api.get("/kb/search", key=key, q="devolver", language="es")

    assert SearchLog.objects.count() == 1


def test_a_search_needs_the_kb_scope(api, make_key, search_index):
    secret = make_key(scopes=["cases:read"])

    assert_problem(api.get("/kb/search", key=secret, q="x"), 403, "scope_missing")
