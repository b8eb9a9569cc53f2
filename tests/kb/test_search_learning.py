"""Issue 16, item 2: search learns from what visitors do after searching, and cannot be
poisoned. Through the real views (search, article, helpful vote), a real Whoosh index."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from kb import services
from kb.models import LearnedTerm, SearchSignal
from kb.services import learning

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(publish):
    refund = publish(
        title="When will I get my refund?",
        slug="refund-times",
        summary="How long refunds take.",
        body="We send the money back to the card you paid with within 10 days.",
        language="en",
        translation_key="refund-times",
    )
    address = publish(
        title="Change the delivery address",
        slug="delivery-address",
        summary="Until the order leaves.",
        body="You can change the address in your account.",
        language="en",
        translation_key="delivery-address",
    )
    return refund, address


def visit(query: str, article, address: str) -> None:
    """A visitor of their own (a fresh browser) searches, opens the article, votes it helpful."""
    browser = Client(REMOTE_ADDR=address)
    assert browser.get("/en/search/", {"q": query}).status_code == 200
    assert browser.get(article.get_absolute_url()).status_code == 200
    browser.post(f"{article.get_absolute_url()}feedback/", {"helpful": "yes"})


def titles(query: str) -> list[str]:
    response = Client().get("/en/search/", {"q": query})
    return [hit.title for hit in response.context["results"].hits]


def learn_and_reindex() -> None:
    services.learn()
    for article_id in services.indexing.pending_index_updates().values_list(
        "article_id", flat=True
    ):
        services.sync_article_to_index(article_id=article_id)


def test_visitors_from_many_addresses_teach_a_word(articles):
    refund, _address = articles
    assert titles("rebate") == []

    for number in range(6):
        visit("rebate", refund, f"198.51.100.{number + 1}")
    learn_and_reindex()

    term = LearnedTerm.objects.get(word="rebate")
    assert (term.translation_key, term.visitors, term.addresses, term.active) == (
        "refund-times",
        6,
        6,
        True,
    )
    assert titles("rebate") == ["When will I get my refund?"]
    assert titles("I'm waiting for a rebate") == ["When will I get my refund?"]


def test_fifty_visits_from_one_address_change_nothing(articles):
    _refund, address = articles
    before = titles("refund")

    for _ in range(50):
        visit("refund", address, "203.0.113.7")
    learn_and_reindex()

    assert not LearnedTerm.objects.filter(active=True).exists()
    assert titles("refund") == before == ["When will I get my refund?"]


def test_fifty_visitors_of_one_address_are_one_voice_even_past_the_vote_limits(articles):
    _refund, address = articles
    for number in range(50):
        learning.record_search_signal(
            kind=SearchSignal.Kind.HELPFUL,
            translation_key=address.translation_key,
            language="en",
            visitor_hash=f"visitor-{number}",
            address_key="203.0.113.7",
            query="refund",
        )

    learn_and_reindex()

    term = LearnedTerm.objects.filter(word="refund").first()
    assert term is None or not term.active
    assert titles("refund") == ["When will I get my refund?"]


def test_a_visitor_counts_for_a_few_articles_only_and_old_signals_fade(articles):
    _refund, _address = articles
    now = timezone.now()
    for number in range(6):
        for key in ("delivery-address", "refund-times", "a", "b", "c"):
            learning.record_search_signal(
                kind=SearchSignal.Kind.HELPFUL,
                translation_key=key,
                language="en",
                visitor_hash=f"visitor-{number}",
                address_key=f"198.51.100.{number}",
                query="parcel",
                now=now - timedelta(days=400 if key == "refund-times" else 1),
            )

    services.learn(now=now)

    learned = set(LearnedTerm.objects.filter(active=True).values_list("translation_key", flat=True))
    # The first three articles of each visitor count; refund-times is out of the window.
    assert "refund-times" not in learned and "c" not in learned


def test_removed_and_pinned_words(articles):
    refund, address = articles
    for number in range(6):
        visit("rebate", refund, f"198.51.100.{number + 1}")
    learn_and_reindex()
    LearnedTerm.objects.filter(word="rebate").update(removed=True)
    LearnedTerm.objects.create(
        language="en", word="parcel", translation_key="delivery-address", pinned=True
    )
    services.sync_article_to_index(article_id=refund.pk)
    services.sync_article_to_index(article_id=address.pk)

    assert titles("rebate") == []
    assert titles("parcel") == ["Change the delivery address"]


def test_the_admin_shows_what_was_learned_and_removing_a_word_reindexes(admin_client, articles):
    refund, _address = articles
    for number in range(6):
        visit("rebate", refund, f"198.51.100.{number + 1}")
    learn_and_reindex()
    term = LearnedTerm.objects.get(word="rebate")

    page = admin_client.get("/admin/kb/learnedterm/")
    assert page.status_code == 200 and "rebate" in page.text and "refund-times" in page.text

    response = admin_client.post(
        f"/admin/kb/learnedterm/{term.pk}/change/",
        {"language": "en", "word": "rebate", "translation_key": "refund-times", "removed": "on"},
    )
    assert response.status_code == 302
    learn_and_reindex()
    assert titles("rebate") == []
