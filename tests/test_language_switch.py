"""The language switch (issue 14, item 5): the same content in the other language, never a 404."""

import pytest
from django.utils import timezone

from notifications.services.announcements import publish_announcement
from tests.factories import AnnouncementFactory, CaseFactory, CategoryFactory

pytestmark = pytest.mark.django_db

OTHER = {"es": "en", "en": "es"}


@pytest.fixture
def pages(publish) -> dict[str, dict[str, str]]:
    """One public URL of every kind, per language."""
    category = CategoryFactory(slug="devoluciones")
    refund = {
        language: publish(
            title=title, slug=slug, language=language, translation_key="refund-times",
            category=category,
        )
        for language, title, slug in [
            ("es", "Plazos del reembolso", "plazos-del-reembolso"),
            ("en", "Refund times", "refund-times"),
        ]
    }  # fmt: skip
    publish(title="Solo en español", slug="solo-es", language="es", category=category)
    publish(title="English only", slug="english-only", language="en", category=category)
    notice = publish_announcement(
        announcement=AnnouncementFactory(), actor=None, now=timezone.now()
    )
    case = CaseFactory()
    return {
        language: {
            "home": f"/{language}/",
            "search": f"/{language}/search/?q=reembolso+tarjeta&category=devoluciones",
            "category": f"/{language}/categories/devoluciones/",
            "notices": f"/{language}/notices/",
            "notice": f"/{language}/notices/{notice.slug}/",
            "contact": f"/{language}/contact/",
            "find-case": f"/{language}/cases/find/",
            "case": f"/{language}/cases/{case.reference}/",
            "article": refund[language].get_absolute_url(),
        }
        for language in ("es", "en")
    }


def switch(client, language: str, next_url: str):
    return client.post("/i18n/setlang/", {"language": language, "next": next_url})


@pytest.mark.parametrize("language", ["es", "en"])
@pytest.mark.parametrize(
    "kind", ["home", "search", "category", "notices", "notice", "contact", "find-case", "case"]
)
def test_every_page_switches_to_the_same_page_in_the_other_language(client, pages, kind, language):
    other = OTHER[language]
    response = switch(client, other, pages[language][kind])
    assert response.status_code == 302
    assert response["Location"] == pages[other][kind]
    # A case page asks for the case's link first (403 without it), in either language.
    expected = 403 if kind == "case" else 200
    assert client.get(response["Location"], follow=True).status_code == expected


@pytest.mark.parametrize("language", ["es", "en"])
def test_an_article_switches_to_its_translation(client, pages, language):
    other = OTHER[language]
    response = switch(client, other, pages[language]["article"])
    assert response["Location"] == pages[other]["article"]
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert f'<html lang="{other}">' in page.content.decode()


@pytest.mark.parametrize(
    ("language", "untranslated", "note"),
    [
        ("es", "/es/articles/solo-es/", "This article is not available in this language yet."),
        (
            "en",
            "/en/articles/english-only/",
            "Este artículo todavía no está disponible en este idioma.",
        ),
    ],
)
def test_an_article_without_translation_leads_to_its_topic_with_a_note(
    client, pages, language, untranslated, note
):
    other = OTHER[language]
    response = switch(client, other, untranslated)
    assert response["Location"] == f"/{other}/categories/devoluciones/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert note in page.content.decode()


@pytest.mark.parametrize("next_url", ["/es/articles/no-such-article/", "/es/no-such-page/", ""])
def test_a_switch_from_a_missing_page_leads_home(client, pages, next_url):
    response = switch(client, "en", next_url)
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).status_code == 200


def test_a_switch_never_leads_off_site(client, pages):
    response = switch(client, "en", "https://evil.example.com/en/")
    assert "evil.example.com" not in response["Location"]
