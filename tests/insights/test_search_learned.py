"""Issue 16: "what search learned this week" on the insights page, in both languages, from
signals folded by the real learning job (kb.services.learn)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from kb import services as kb_services
from kb.models import LearnedTerm, SearchSignal

pytestmark = pytest.mark.django_db


def teach(word: str, translation_key: str, language: str, *, visitors: int, now) -> None:
    for number in range(visitors):
        kb_services.record_search_signal(
            kind=SearchSignal.Kind.HELPFUL,
            translation_key=translation_key,
            language=language,
            visitor_hash=f"{word}-visitor-{number}",
            address_key=f"198.51.100.{number}",
            query=word,
            now=now,
        )


@pytest.fixture
def learned(publish):
    publish(title="When will I get my refund?", slug="refund-times", language="en",
            translation_key="refund-times")  # fmt: skip
    publish(title="¿Cuándo llega mi reembolso?", slug="cuando-llega", language="es",
            translation_key="refund-times")  # fmt: skip
    now = timezone.now()
    teach("rebate", "refund-times", "en", visitors=7, now=now - timedelta(hours=2))
    teach("abono", "refund-times", "es", visitors=5, now=now - timedelta(hours=1))
    kb_services.learn(now=now)
    # Learned three weeks ago: not this week's.
    LearnedTerm.objects.create(
        language="en",
        word="restitution",
        translation_key="refund-times",
        visitors=9,
        addresses=9,
        evidence=6.0,
        active=True,
        learned_at=now - timedelta(days=21),
    )


def test_the_page_shows_what_search_learned_this_week_in_both_languages(reader, learned):
    response = reader.get("/en/desk/insights/", {"period": "30"})

    table = response.context["insights"].learned
    rows = [(row["word"], row["language"], row["article"], row["visitors"]) for row in table.rows]
    assert rows == [
        ("rebate", "en", "When will I get my refund?", 7),
        ("abono", "es", "¿Cuándo llega mi reembolso?", 5),
    ]
    assert "What search learned this week" in response.text
    assert 'href="/en/articles/refund-times/"' in response.text
    assert "/admin/kb/learnedterm/?q=abono&amp;language__exact=es" in response.text


def test_a_removed_word_is_not_shown(reader, learned):
    LearnedTerm.objects.filter(word="rebate").update(removed=True)

    table = reader.get("/en/desk/insights/", {"period": "7"}).context["insights"].learned

    assert [row["word"] for row in table.rows] == ["abono"]


def test_the_learned_table_is_also_a_csv(reader, learned):
    response = reader.get("/en/desk/insights/search-learned.csv", {"period": "7"})

    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["Article", "Searched for", "Language"]
    assert lines[1].startswith("When will I get my refund?,rebate,en,7,7,")
    assert len(lines) == 3


def test_the_page_in_spanish_says_it_in_spanish(reader, learned):
    response = reader.get("/es/desk/insights/", {"period": "7"})

    assert "Lo que la búsqueda aprendió esta semana" in response.text
