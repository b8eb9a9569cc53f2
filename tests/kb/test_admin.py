"""The article admin a support team can live in (issue 15, items 10 to 12), in both languages:
writing from the insights page works on the first save, publish/unpublish/archive and a
preview on the article's own page, and a history of real changes with their diffs."""

import re
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from django.utils.text import capfirst

from foundation.times import zone_name
from kb import services
from kb.models import Article, ArticleRevision
from tests.factories import ArticleFactory, CategoryFactory, UserFactory

pytestmark = pytest.mark.django_db
LANGUAGES = ["es", "en"]


@pytest.fixture
def editor(client):
    user = UserFactory(username="editora", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def _get(client, url, language):
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language)


def _post(client, url, data, language, **kwargs):
    return client.post(url, data, HTTP_ACCEPT_LANGUAGE=language, **kwargs)


def _form_data(article: Article | None = None, **fields) -> dict:
    data = {
        "title": "",
        "slug": "",
        "language": "es",
        "translation_key": "",
        "category": "",
        "summary": "",
        "keywords": "",
        "body": "",
        "reviewed_at_0": "",
        "reviewed_at_1": "",
        "revisions-TOTAL_FORMS": "0",
        "revisions-INITIAL_FORMS": "0",
        "revisions-MIN_NUM_FORMS": "0",
        "revisions-MAX_NUM_FORMS": "0",
    }
    if article is not None:
        data.update(
            {name: getattr(article, name) for name in ["title", "slug", "language", "summary",
                                                       "keywords", "body", "translation_key"]},
            category=article.category_id,
        )  # fmt: skip
        count = article.revisions.count()
        data["revisions-TOTAL_FORMS"] = data["revisions-INITIAL_FORMS"] = str(count)
        for index, revision in enumerate(article.revisions.order_by("-created_at", "-id")):
            data[f"revisions-{index}-id"] = str(revision.pk)
            data[f"revisions-{index}-article"] = str(article.pk)
    data.update(fields)
    return data


@pytest.mark.parametrize("language", LANGUAGES)
def test_writing_an_article_from_the_insights_page_works_on_the_first_save(
    client, editor, language
):
    category = CategoryFactory()
    query = {"title": "pago con bizum", "language": "es"}
    page = _get(client, "/admin/kb/article/add/?" + urlencode(query), language)
    assert page.status_code == 200 and 'value="pago con bizum"' in page.text

    saved = _post(
        client,
        "/admin/kb/article/add/",
        _form_data(
            title="Pagar con Bizum",
            category=category.pk,
            summary="Cómo pagar con Bizum.",
            body="Elige **Bizum** al pagar.",
        ),
        language,
    )

    assert saved.status_code == 302, saved.context["adminform"].form.errors
    article = Article.objects.get()
    assert article.translation_key == "pagar-con-bizum" and article.slug == "pagar-con-bizum"
    ArticleFactory(translation_key="pagar-con-bizum", language="en", slug="pay-with-bizum",
                   category=category)  # fmt: skip
    _post(
        client,
        "/admin/kb/article/add/",
        _form_data(title="Pagar con Bizum", category=category.pk, summary="Otro.", body="Otro."),
        language,
    )
    assert Article.objects.filter(translation_key="pagar-con-bizum-2").exists()


@pytest.mark.parametrize("language", LANGUAGES)
def test_publish_unpublish_and_archive_from_the_article_page(client, editor, language):
    article = ArticleFactory(status=Article.Status.DRAFT, category=CategoryFactory())
    services.save_article(article=article, actor=None)
    url = f"/admin/kb/article/{article.pk}/change/"
    with translation.override(language):
        publish = translation.gettext("Save and publish")
        unpublish = translation.gettext("Save and unpublish (back to draft)")
    page = _get(client, url, language).text
    assert f'name="_publish" value="{publish}"' in page and 'name="_unpublish"' not in page

    answer = _post(client, url, _form_data(article, _publish="1"), language)
    article.refresh_from_db()
    assert answer.status_code == 302 and answer["Location"] == url
    assert article.status == Article.Status.PUBLISHED and article.published_at is not None
    assert f'name="_unpublish" value="{unpublish}"' in _get(client, url, language).text

    _post(client, url, _form_data(article, _unpublish="1"), language)
    article.refresh_from_db()
    assert article.status == Article.Status.DRAFT

    _post(client, url, _form_data(article, _archive="1", body="Texto nuevo."), language)
    article.refresh_from_db()
    assert article.status == Article.Status.ARCHIVED and article.body == "Texto nuevo."


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_preview_before_the_first_save_and_a_wide_body_editor(client, editor, language):
    page = _get(client, "/admin/kb/article/add/", language).text
    assert 'formaction="/admin/kb/article/preview/"' in page and 'formtarget="_blank"' in page
    editor = r'<textarea name="body" cols="\d+" rows="28" class="article-body-editor"'
    assert re.search(editor, page)
    assert "kb/admin" in page  # its stylesheet
    for name in ["title", "summary", "keywords"]:  # read whole while writing them (the walk)
        assert re.search(
            rf'<input type="text" name="{name}" class="vTextField article-wide-field"', page
        )

    preview = _post(
        client,
        "/admin/kb/article/preview/",
        {"title": "Pagar con Bizum", "body": "Elige **Bizum**.\n\n<script>alert(1)</script>"},
        language,
    )

    assert preview.status_code == 200 and "<strong>Bizum</strong>" in preview.text
    assert "<script>alert(1)" not in preview.text
    assert not Article.objects.exists()


def test_two_identical_saves_are_one_revision(client, editor):
    article = ArticleFactory.build(category=CategoryFactory(), body="Línea uno\nLínea dos")
    services.save_article(article=article, actor=None)
    url = f"/admin/kb/article/{article.pk}/change/"

    # Browsers send line ends as \r\n: the same text, not a change.
    for _ in range(2):
        _post(client, url, _form_data(article, body="Línea uno\r\nLínea dos"), "es")

    assert ArticleRevision.objects.filter(article=article).count() == 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_revisions_show_diffs_times_in_the_service_zone_and_cannot_be_deleted(
    client, editor, language, settings
):
    article = ArticleFactory.build(category=CategoryFactory(), body="Uno\nDos\nTres")
    services.save_article(article=article, actor=editor)
    article.body = "Uno\nDos <b>negrita</b>\nTres"
    services.save_article(article=article, actor=editor)
    article.body = "Uno\nDos <b>negrita</b>\nTres\nCuatro"
    services.save_article(article=article, actor=editor)
    middle = article.revisions.order_by("created_at", "id")[1]

    page = _get(client, f"/admin/kb/article/{article.pk}/change/", language).text

    with translation.override(language):
        headers = [translation.gettext(text) for text in ["saved", "by",
                   "changes from the previous version", "compare and restore"]]  # fmt: skip
    for header in headers:
        assert re.search(rf'<th class="column-\w+">{re.escape(capfirst(header))}\s', page), header
    with translation.override(language):
        zone = zone_name(ZoneInfo(settings.TIME_ZONE))  # said in words: "hora de Madrid"
    assert f"({zone})" in page
    local = timezone.localtime(middle.created_at)
    assert local.strftime("%H:%M") in page
    history = re.search(r'id="revisions-group".*?</fieldset>', page, re.S)[0]
    assert "-DELETE" not in history and "deletelink" not in history

    compare = _get(client, f"/admin/kb/article/revisions/{middle.pk}/restore/", language).text
    previous, current = compare.split('id="against-current"')
    assert '<span class="removed"><span aria-hidden="true">- </span>' in previous
    assert "Dos &lt;b&gt;negrita&lt;/b&gt;" in previous  # escaped, never rendered
    assert "Cuatro" in current and "Cuatro" not in previous
