"""Issue 16: synonyms per language, kept by staff in the admin and used by the next search,
through the real admin and search views and a real Whoosh index (nothing re-indexed)."""

import pytest
from django.test import Client

from kb.models import SearchSynonym

pytestmark = pytest.mark.django_db


@pytest.fixture
def refund(refund_article):
    return refund_article


def titles(query: str, language: str = "en") -> list[str]:
    response = Client().get(f"/{language}/search/", {"q": query})
    return [hit.title for hit in response.context["results"].hits]


def add_group(admin_client, language: str, words: str):
    return admin_client.post("/admin/kb/searchsynonym/add/", {"language": language, "words": words})


def test_a_synonym_added_in_the_admin_is_used_by_the_next_search(admin_client, refund):
    assert titles("rebate") == []

    response = add_group(admin_client, "en", " Refund,rebate ,  reimbursement, REBATE")

    assert response.status_code == 302
    group = SearchSynonym.objects.get()
    assert group.words == "Refund, rebate, reimbursement"
    assert titles("rebate") == ["When will I get my refund?"]
    assert titles("I'm waiting for a reimbursement") == ["When will I get my refund?"]

    admin_client.post(f"/admin/kb/searchsynonym/{group.pk}/delete/", {"post": "yes"})
    assert titles("rebate") == []


def test_synonyms_belong_to_their_language(admin_client, refund, publish):
    publish(
        title="¿Cuándo llega mi reembolso?",
        slug="cuando-llega-reembolso",
        summary="Plazos de las devoluciones.",
        body="Te devolvemos el dinero en 10 días.",
        language="es",
        translation_key="refund-times",
    )
    add_group(admin_client, "es", "reembolso, abono")

    assert titles("abono", "es") == ["¿Cuándo llega mi reembolso?"]
    assert titles("abono", "en") == []


@pytest.mark.parametrize(
    ("words", "code"),
    [
        ("refund", "too_few"),
        ("refund, REFUND, réfund", "too_few"),
        ("refund, money back", "not_a_word"),
        (", ,", "too_few"),
        (", ".join(f"word{number}" for number in range(21)), "too_many"),
    ],
)
def test_the_admin_refuses_groups_search_could_not_use(admin_client, words, code):
    response = add_group(admin_client, "en", words)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [error.code for error in errors["words"]] == [code]
    assert not SearchSynonym.objects.exists()


def test_the_admin_lists_the_groups_per_language(admin_client):
    SearchSynonym.objects.create(language="es", words="reembolso, abono")
    SearchSynonym.objects.create(language="en", words="refund, rebate")

    page = admin_client.get("/admin/kb/searchsynonym/?language__exact=es")

    assert page.status_code == 200
    assert "reembolso, abono" in page.text and "refund, rebate" not in page.text
