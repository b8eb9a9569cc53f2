"""The article admin's new pages (preview, revisions with diffs) and search snippets, tried
with hostile text and by staff without the permission: text stays text, 403 without it."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from kb import services
from kb.models import ArticleRevision
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _raw(text: str) -> bool:
    return "<script>alert" in text or "<img src=x" in text


@pytest.fixture
def hostile_article(publish):
    article = publish(title="Pagos alert", summary=SCRIPT, body="Hola alert", language="es")
    article.body = f"Hola alert\n\n{SCRIPT}\n"
    article.title = f"Pagos alert {SCRIPT}"
    services.save_article(article=article, actor=None)
    return article


def test_diffs_previews_and_history_keep_hostile_text_as_text(hostile_article):
    editor = Client()
    editor.force_login(StaffFactory(is_superuser=True))
    revision = ArticleRevision.objects.filter(article=hostile_article).latest("created_at", "id")

    pages = [
        editor.get(f"/admin/kb/article/{hostile_article.pk}/change/"),
        editor.get(f"/admin/kb/article/revisions/{revision.pk}/restore/"),
        editor.post("/admin/kb/article/preview/", {"title": SCRIPT, "summary": SCRIPT,
                                                   "body": SCRIPT}),
    ]  # fmt: skip
    for page in pages:
        assert page.status_code == 200
        assert not _raw(page.text)


def test_staff_who_may_only_view_articles_cannot_preview_or_restore(hostile_article):
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_article"))
    client = Client()
    client.force_login(viewer)
    revision = ArticleRevision.objects.filter(article=hostile_article).earliest("created_at", "id")

    assert client.get(f"/admin/kb/article/revisions/{revision.pk}/restore/").status_code == 403
    assert client.post(f"/admin/kb/article/revisions/{revision.pk}/restore/").status_code == 403
    assert client.post("/admin/kb/article/preview/", {"body": "x"}).status_code == 403
    hostile_article.refresh_from_db()
    assert SCRIPT in hostile_article.body  # not restored
    staff = Client()
    staff.force_login(StaffFactory())
    assert staff.get(f"/admin/kb/article/revisions/{revision.pk}/restore/").status_code == 403


@pytest.mark.parametrize("query", ["alert", "script alert", "<script>", "onerror", SCRIPT])
def test_search_snippets_are_escaped(client, hostile_article, query):
    for language in ("es", "en"):
        page = client.get(f"/{language}/search/", {"q": query})
        assert page.status_code == 200 and not _raw(page.text)
    suggestions = client.get("/es/contact/suggestions/", {"subject": query})
    assert suggestions.status_code == 200 and not _raw(suggestions.text)
