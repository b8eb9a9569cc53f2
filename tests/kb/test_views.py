import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kb import services
from kb.models import ArticleFeedback
from tests.conftest import assert_page_queries, page_queries
from tests.factories import StaffFactory, grant

pytestmark = pytest.mark.django_db

HOSTILE_BODY = """## Hola

<script>alert('x')</script>
<img src=x onerror="alert('y')">
[pincha](javascript:alert('z'))
<a href="#" onclick="alert(1)">enlace</a>
<iframe src="https://evil.example"></iframe>
<style>body{display:none}</style>
"""


@pytest.fixture
def article(publish):
    return publish(
        title="¿Cómo devuelvo un artículo?",
        slug="como-devuelvo",
        body="Intro\n\n## Paso uno\n\nTexto\n\n## Paso dos\n\nMás\n\n### Detalle\n\nFin",
        keywords="devolución, cambio",
        translation_key="how-to-return",
    )


def test_article_page_shows_body_breadcrumb_table_of_contents_and_anchors(client, article):
    response = client.get(article.get_absolute_url())

    assert response.status_code == 200
    assert "<h1>¿Cómo devuelvo un artículo?</h1>" in response.text
    assert article.category.name_es in response.text
    assert 'href="#paso-uno"' in response.text
    assert '<h2 id="paso-uno">' in response.text
    assert 'aria-label="Ruta de navegación"' in response.text


def test_hostile_markdown_never_reaches_the_page(client, publish):
    article = publish(title="Hostil", slug="hostil", body=HOSTILE_BODY)

    html = client.get(article.get_absolute_url()).text
    body = html.split('<div class="article-body">', 1)[1].split("</div>", 1)[0]

    for forbidden in ["<script", "onerror", "javascript:", "onclick", "<iframe", "<style"]:
        assert forbidden not in body.lower()
    assert "<h2" in body


def test_article_links_its_translation_with_hreflang(client, publish, article):
    english = publish(title="How do I return an item?", slug="how-return", language="en",
                      translation_key="how-to-return", category=article.category)  # fmt: skip

    html = client.get(article.get_absolute_url()).text

    assert f'hreflang="en" href="http://testserver{english.get_absolute_url()}"' in html
    assert "Read in English" in html


def test_related_articles_share_category_or_keywords(client, publish, article):
    sibling = publish(
        title="Cambiar de talla", slug="talla", keywords="cambio", category=article.category
    )

    response = client.get(article.get_absolute_url())

    assert sibling in response.context["related"]


def test_article_page_query_count_does_not_grow_with_related_articles(client, publish, article):
    for number in range(15):
        publish(title=f"Relacionado {number}", slug=f"rel-{number}", keywords="devolución",
                category=article.category)  # fmt: skip
    client.get(article.get_absolute_url())  # warm the rendered-body cache

    # article, translation, related candidates (site banners: foundation.process_memo)
    with assert_page_queries(3):
        client.get(article.get_absolute_url())


def test_drafts_are_hidden_from_customers_but_previewed_by_staff(client, publish):
    article = publish(title="Borrador", slug="borrador")
    services.archive_article(article=article, actor=None)

    assert client.get(article.get_absolute_url()).status_code == 404
    client.force_login(grant(StaffFactory(), "kb.view_article"))
    response = client.get(article.get_absolute_url())
    assert response.status_code == 200
    assert "Vista previa para el equipo" in response.text


def test_feedback_with_htmx_returns_the_thanks_fragment(client, article):
    url = f"{article.get_absolute_url()}feedback/"

    response = client.post(url, {"helpful": "yes"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "<html" not in response.text
    assert "¡Gracias!" in response.text
    assert ArticleFeedback.objects.get().helpful is True


def test_feedback_works_as_a_plain_form_without_javascript(client, article):
    url = f"{article.get_absolute_url()}feedback/"

    response = client.post(url, {"helpful": "no", "comment": "Faltan plazos"}, follow=True)

    assert response.redirect_chain[-1][0].endswith("#feedback")
    feedback = ArticleFeedback.objects.get()
    assert (feedback.helpful, feedback.comment) == (False, "Faltan plazos")


def test_a_visitor_is_counted_once_per_article(client, article):
    url = f"{article.get_absolute_url()}feedback/"

    client.post(url, {"helpful": "no"})
    client.post(url, {"helpful": "yes"})
    client.post(url, {"helpful": "yes", "comment": "Ahora sí"})

    assert ArticleFeedback.objects.count() == 1
    assert ArticleFeedback.objects.get().helpful is True


def test_two_visitors_count_twice(client, article, django_user_model):
    from django.test import Client

    url = f"{article.get_absolute_url()}feedback/"
    client.post(url, {"helpful": "yes"})
    Client().post(url, {"helpful": "no"})

    assert ArticleFeedback.objects.count() == 2


def test_invalid_feedback_is_a_clear_message_not_an_error(client, article):
    response = client.post(
        f"{article.get_absolute_url()}feedback/", {"helpful": "maybe"}, follow=True
    )

    assert response.status_code == 200
    assert ArticleFeedback.objects.count() == 0
    assert "elige Sí o No" in response.text


def test_feedback_requires_csrf(article):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        f"{article.get_absolute_url()}feedback/", {"helpful": "yes"}
    )

    assert response.status_code == 403


def test_home_lists_popular_articles_and_categories(client, article):
    response = client.get("/es/")

    assert article in response.context["popular_articles"]
    assert article.category in response.context["categories"]


def test_category_page_lists_its_articles(client, article):
    response = client.get(article.category.get_absolute_url())

    assert response.status_code == 200
    assert article.title in response.text


def test_sitemap_lists_published_articles(client, article):
    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    assert f"http://testserver{article.get_absolute_url()}" in response.text


def test_views_are_counted_in_the_cache_then_flushed_in_one_batch(client, article):
    for _ in range(3):
        client.get(article.get_absolute_url())
    article.refresh_from_db()
    assert article.view_count == 0

    assert services.flush_article_views() == 3
    article.refresh_from_db()
    assert article.view_count == 3
    assert article.daily_views.get().views == 3
    assert services.flush_article_views() == 0


@pytest.mark.parametrize("path", ["/es/", "/es/search/?q=envio", "/es/categories/{category}/"])
def test_page_query_counts_do_not_grow_with_the_number_of_articles(client, publish, path):
    category = publish(title="Envío urgente", slug="envio-urgente", body="envío").category
    url = path.format(category=category.slug)

    def count() -> int:
        client.get(url)  # warm caches
        with page_queries() as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    few = count()
    for number in range(12):
        publish(title=f"Envío {number}", slug=f"envio-{number}", body="envío", category=category)
    assert count() == few


def test_an_article_view_is_counted_with_one_write_that_never_fails(
    client, publish, article, embedded_cache
):
    client.get(article.get_absolute_url())  # the visitor's first read of it, the body rendered

    with CaptureQueriesContext(connection) as captured:
        client.get(article.get_absolute_url())

    statements = [q["sql"] for q in captured if "SAVEPOINT" not in q["sql"]]
    cache_writes = [
        sql for sql in statements if "helpcenter_cache" in sql and not sql.startswith("SELECT")
    ]
    # 3 page queries; cache: the view counter (read for update, update), the visitor's last
    # search and articles seen (one read), the rendered body, the process memo's generation.
    assert len(statements) == 8, "\n".join(statements)
    assert len(cache_writes) == 1 and cache_writes[0].startswith("UPDATE"), cache_writes
    assert not any("ROLLBACK" in q["sql"] for q in captured)
    assert cache.get(f"kb:views:{timezone.localdate().isoformat()}:{article.pk}") == 2
