"""Abuse of the public knowledge base: stuffed votes, drafts read by staff without permission."""

import pytest
from django.test import Client

from kb import services
from kb.models import ArticleFeedback
from kb.services.feedback import VOTE_LIMITS
from tests.factories import StaffFactory, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def article(publish):
    return publish(title="¿Cómo devuelvo un artículo?", slug="como-devuelvo")


def vote(article, helpful: str = "no", address: str = "203.0.113.7", **extra):
    # A new client each time: no cookie, as a script stuffing votes would send.
    return Client().post(
        f"{article.get_absolute_url()}feedback/",
        {"helpful": helpful},
        REMOTE_ADDR=address,
        **extra,
    )


def test_cookie_less_votes_from_one_address_cannot_stuff_an_article(article):
    """50 cookie-less POSTs took an article from 77 % to 32 % helpful."""
    statuses = [vote(article).status_code for _ in range(50)]

    limit = VOTE_LIMITS["article"][0]
    assert ArticleFeedback.objects.filter(article=article).count() == limit
    assert statuses[:limit] == [302] * limit and set(statuses[limit:]) == {302}


def test_a_refused_vote_says_so_and_is_not_recorded(article):
    for _ in range(VOTE_LIMITS["article"][0]):
        vote(article)

    response = vote(article, HTTP_HX_REQUEST="true")

    assert response.status_code == 429
    assert "muchas respuestas desde aquí" in response.text
    assert ArticleFeedback.objects.count() == VOTE_LIMITS["article"][0]


def test_a_visitor_changing_its_vote_is_one_vote_and_never_refused(client, article):
    url = f"{article.get_absolute_url()}feedback/"
    for helpful in ["yes", "no"] * 10:
        client.post(url, {"helpful": helpful})
    client.post(url, {"helpful": "no", "comment": "Faltan los plazos"})

    feedback = ArticleFeedback.objects.get()
    assert (feedback.helpful, feedback.comment) == (False, "Faltan los plazos")


def test_votes_from_different_addresses_are_all_counted(article):
    for number in range(10):
        vote(article, address=f"198.51.100.{number}")

    assert ArticleFeedback.objects.count() == 10


def test_one_address_cannot_vote_on_every_article(publish):
    articles = [publish(title=f"Artículo {n}", slug=f"articulo-{n}") for n in range(3)]
    per_address = VOTE_LIMITS["address"][0]
    for number in range(per_address + 5):
        vote(articles[number % 3], address="2001:db8:1:2::1" if number % 2 else "2001:db8:1:2::2")

    assert ArticleFeedback.objects.count() <= per_address


def test_staff_without_the_permission_cannot_read_unpublished_articles(client, publish):
    article = publish(title="Borrador", slug="borrador")
    services.archive_article(article=article, actor=None)

    client.force_login(StaffFactory())
    assert client.get(article.get_absolute_url()).status_code == 404

    client.force_login(grant(StaffFactory(), "kb.view_article"))
    assert client.get(article.get_absolute_url()).status_code == 200
