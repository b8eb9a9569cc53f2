"""Issue 14, item 6: title matches first, a relevance floor, "nothing found", snippets with
headings as sentences; against a real Whoosh index (and the database backend)."""

import pytest
from django.utils import translation

from foundation.markdown import markdown_to_text
from kb import selectors
from kb.search import DATABASE_BACKEND

pytestmark = pytest.mark.django_db

ORDER_TITLES = [
    "How do I change or cancel an order?",
    "Where is my order?",
    "What does each order status mean?",
    "My order is late. What should I do?",
    "How do I get an invoice for my order?",
]


@pytest.fixture
def orders(publish):
    body = "Your order, your order number and the order page. " * 3
    return {
        title: publish(title=title, summary=f"About an order: {title}", body=body, language="en")
        for title in ORDER_TITLES
    }


def titles(query: str, language: str = "en") -> list[str]:
    with translation.override(language):
        return [hit.title for hit in selectors.search_articles(query=query, language=language).hits]


def test_an_exact_title_comes_first(orders):
    assert titles("where is my order")[0] == "Where is my order?"
    assert titles("Where is my order?")[0] == "Where is my order?"


def test_a_title_with_the_same_words_comes_first(orders):
    assert titles("order late")[0] == "My order is late. What should I do?"


def test_a_query_nothing_fits_finds_nothing(publish):
    publish(
        title="¿Cuándo es gratis la devolución?",
        summary="Lleva el paquete a un punto de entrega.",
        body="Entrega el paquete en el punto de entrega más cercano.",
        language="es",
    )
    assert titles("puntos de fidelidad", "es") == []
    assert titles("punto de entrega", "es") == ["¿Cuándo es gratis la devolución?"]


def test_hits_far_below_the_best_are_not_shown(publish):
    publish(
        title="What are your opening hours?",
        summary="Our opening hours, day by day.",
        body="We are open from 9:00 to 18:00. Opening hours change at Christmas.",
        language="en",
    )
    publish(
        title="I forgot my password",
        summary="Reset it from the sign-in page.",
        body="The link works for 24 hours.",
        language="en",
    )
    assert titles("christmas opening hours") == ["What are your opening hours?"]


def test_the_database_backend_puts_the_exact_title_first(settings, orders):
    settings.SEARCH_BACKEND = DATABASE_BACKEND
    assert titles("where is my order")[0] == "Where is my order?"


def test_headings_become_sentences_of_their_own():
    text = markdown_to_text("Intro.\n\n## How long\n\n- Card: 5 days.\n\n## Is it late?\n\nWrite.")
    assert text == "Intro. How long. Card: 5 days. Is it late? Write."


def test_a_snippet_does_not_glue_a_heading_to_the_next_sentence(publish):
    publish(
        title="Refund times",
        summary="How long refunds take.",
        body="Intro.\n\n## Bank transfer\n\nRefunds by transfer take 2 days.",
        language="en",
    )
    with translation.override("en"):
        hit = selectors.search_articles(query="transfer", language="en").hits[0]
    assert "Bank <mark>transfer</mark>. <mark>Refunds</mark>" in hit.snippet_html or (
        "<mark>transfer</mark>. " in hit.snippet_html
    )
