"""Issue 16, item 1: a query said as a sentence is not vetoed by a word found nowhere, while
a query that names a thing still is (real Whoosh index)."""

import pytest
from django.utils import translation

from kb import selectors
from kb.search.relevance import names_a_thing

pytestmark = pytest.mark.django_db


def titles(query: str, language: str) -> list[str]:
    with translation.override(language):
        return [hit.title for hit in selectors.search_articles(query=query, language=language).hits]


def test_only_short_queries_name_a_thing():
    assert names_a_thing(2, 3)  # "puntos de fidelidad"
    assert not names_a_thing(2, 6)  # "No me ha llegado el reembolso"
    assert not names_a_thing(3, 3)


@pytest.mark.parametrize(
    ("language", "query", "title"),
    [
        ("es", "No me ha llegado el reembolso", "¿Cuándo recibiré el reembolso?"),
        ("en", "My refund has not arrived", "When will I get my refund?"),
    ],
)
def test_a_sentence_with_an_unknown_word_finds_the_article(publish, language, query, title):
    publish(title=title, summary="Refund, reembolso.", body="Plazos. How long.", language=language)

    assert titles(query, language) == [title]
    assert titles("puntos de fidelidad", "es") == []
