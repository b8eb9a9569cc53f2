"""Issue 16, item 2: search learns from what visitors do after searching, and cannot be
poisoned. Through the real views (search, article, helpful vote), a real Whoosh index."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from cases.models import Case
from kb import services
from kb.models import LearnedTerm, SearchSignal
from kb.services import learning
from tests.factories import ContactReasonFactory, ReasonGroupFactory, weekday_hours

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(publish, refund_article):
    address = publish(
        title="Change the delivery address",
        slug="delivery-address",
        summary="Until the order leaves.",
        body="You can change the address in your account.",
        language="en",
        translation_key="delivery-address",
    )
    return refund_article, address


def visit(query: str, article, address: str) -> None:
    """A visitor of their own (a fresh browser) searches, opens the article, votes it helpful."""
    browser = Client(REMOTE_ADDR=address)
    assert browser.get("/en/search/", {"q": query}).status_code == 200
    assert browser.get(article.get_absolute_url()).status_code == 200
    browser.post(f"{article.get_absolute_url()}feedback/", {"helpful": "yes"})


def titles(query: str) -> list[str]:
    response = Client().get("/en/search/", {"q": query})
    return [hit.title for hit in response.context["results"].hits]


def learn_and_reindex(*, now=None) -> None:
    services.learn(now=now)
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


# --- The other signals: a view without returning to search, "this solved it", a case --------

AFTER_THE_VISIT = learning.VIEW_SETTLES_AFTER + timedelta(minutes=1)


def read_only(query: str, article, address: str) -> Client:
    """A visitor searches and opens the article, and votes nothing."""
    browser = Client(REMOTE_ADDR=address)
    browser.get("/en/search/", {"q": query})
    browser.get(article.get_absolute_url())
    return browser


def test_reading_an_article_after_a_search_without_searching_again_teaches(articles):
    refund, _address = articles
    for number in range(6):
        read_only("rebate", refund, f"198.51.100.{number + 1}")

    # Still inside the visit: the view may yet be withdrawn, so it does not count.
    learn_and_reindex()
    assert titles("rebate") == []

    learn_and_reindex(now=timezone.now() + AFTER_THE_VISIT)
    term = LearnedTerm.objects.get(word="rebate")
    # A view weighs half a vote: six addresses are three of evidence.
    assert (term.translation_key, term.visitors, term.evidence, term.active) == (
        "refund-times",
        6,
        3.0,
        True,
    )
    assert titles("rebate") == ["When will I get my refund?"]


def test_a_view_followed_by_another_search_is_withdrawn(articles):
    refund, address = articles
    for number in range(6):
        browser = read_only("rebate", refund, f"198.51.100.{number + 1}")
        browser.get("/en/search/", {"q": "rebate address"})  # it did not answer
        browser.get(address.get_absolute_url())

    assert SearchSignal.objects.filter(kind=SearchSignal.Kind.VIEWED).count() == 6
    learn_and_reindex(now=timezone.now() + AFTER_THE_VISIT)
    learned = LearnedTerm.objects.filter(active=True).values_list("translation_key", flat=True)
    assert set(learned) == {"delivery-address"}
    assert titles("rebate") == ["Change the delivery address"]


def test_only_the_first_article_opened_from_a_search_is_a_view_signal(articles):
    refund, address = articles
    browser = read_only("rebate", refund, "198.51.100.1")
    browser.get(address.get_absolute_url())

    assert list(SearchSignal.objects.values_list("kind", "translation_key")) == [
        ("viewed", "refund-times")
    ]


@pytest.fixture
def refund_reason(db, articles):
    weekday_hours()
    return ContactReasonFactory(
        code="refund-late",
        parent=ReasonGroupFactory(code="refunds", name_es="Reembolsos", name_en="Refunds"),
        name_es="El reembolso no llega",
        name_en="My refund has not arrived",
        article_keys=["refund-times"],
    )


def test_this_solved_it_on_a_suggestion_teaches_the_subject(articles, refund_reason):
    refund, _address = articles
    for number in range(6):
        browser = Client(REMOTE_ADDR=f"198.51.100.{number + 1}")
        suggestions = browser.get(
            "/en/contact/suggestions/",
            {"subject": "rebate", "reason": refund_reason.pk},
            HTTP_HX_REQUEST="true",
        )
        assert 'name="subject" value="rebate"' in suggestions.text
        browser.get(refund.get_absolute_url())
        browser.post(
            "/en/contact/solved/",
            {"article": "refund-times", "reason": refund_reason.pk, "subject": "rebate"},
            HTTP_HX_REQUEST="true",
        )

    assert SearchSignal.objects.filter(kind=SearchSignal.Kind.SOLVED).count() == 6
    learn_and_reindex()
    assert titles("rebate") == ["When will I get my refund?"]


def test_this_solved_it_on_a_suggestion_never_opened_teaches_nothing(articles, refund_reason):
    browser = Client(REMOTE_ADDR="198.51.100.1")
    browser.post(
        "/en/contact/solved/",
        {"article": "refund-times", "reason": refund_reason.pk, "subject": "rebate"},
    )

    assert not SearchSignal.objects.filter(kind=SearchSignal.Kind.SOLVED).exists()


def test_a_case_after_a_search_teaches_the_articles_its_reason_links(articles, refund_reason):
    for number in range(6):
        browser = Client(REMOTE_ADDR=f"198.51.100.{number + 1}")
        browser.get("/en/search/", {"q": "rebate"})
        response = browser.post(
            "/en/contact/",
            {
                "reason": refund_reason.pk,
                "subject": "Where is it?",
                "description": "It has been two weeks.",
                "name": "Ana",
                "email": f"ana{number}@example.com",
            },
        )
        assert response.status_code == 302, response.context["form"].errors

    assert Case.objects.count() == 6
    signals = SearchSignal.objects.filter(kind=SearchSignal.Kind.CASE)
    assert {(signal.query, signal.translation_key) for signal in signals} == {
        ("rebate", "refund-times")
    }
    learn_and_reindex()
    term = LearnedTerm.objects.get(word="rebate")
    assert (term.visitors, term.evidence, term.active) == (6, 3.0, True)
    assert titles("rebate") == ["When will I get my refund?"]
