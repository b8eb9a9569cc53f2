"""Issue 16, item 1: a query said as a sentence is not vetoed by a word found nowhere, while
a query that names a thing still is (real Whoosh index)."""

import pytest
from django.utils import translation

from kb import selectors
from kb.search.relevance import incidental, names_a_thing

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


def test_one_generic_word_in_a_title_does_not_beat_the_article_the_query_describes(publish):
    publish(
        title="Check invoice",
        summary="Where to see your invoices.",
        body="Each order has its invoice in your account, ready to download.",
        language="en",
    )
    publish(
        title="Check payment methods",
        summary="The ways you can pay.",
        body="We take cards and bank transfers.",
        language="en",
    )
    publish(
        title="Delivery period",
        summary="How long delivery takes.",
        body="Most items arrive within 3 to 5 working days of the order.",
        language="en",
    )

    assert titles("check when my item will arrive", "en")[0] == "Delivery period"
    assert titles("I want to check my invoice", "en")[0] == "Check invoice"
    assert titles("check invoice", "en")[0] == "Check invoice"


def test_a_number_or_a_name_found_nowhere_does_not_veto_the_rest(publish):
    publish(
        title="Delivery options",
        summary="Where we ship and how.",
        body="We ship to most countries; shipping takes 3 to 5 days.",
        language="en",
    )
    publish(title="Get a refund", summary="Refunds.", body="Ask for a refund.", language="en")

    assert titles("shipping to Japan", "en") == ["Delivery options"]
    assert titles("refund $299", "en") == ["Get a refund"]
    assert titles("ship to japan", "en") == []  # lowercase: it may be what is asked about


def test_only_numbers_and_names_inside_the_query_are_incidental():
    assert incidental("299", 1) and incidental("A12", 0) and incidental("Toronto", 2)
    assert not incidental("Puntos", 0) and not incidental("IBAN", 1)
    assert not incidental("fidelidad", 2)
