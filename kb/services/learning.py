"""Search that learns from what customers do (issue 16, item 2).

When a visitor who searched a moment ago votes an article helpful, a
:class:`~kb.models.SearchSignal` keeps the search's words, the article's translation key, a
hash of the visitor and one of the client address. (``SearchSignal.Kind.SOLVED``, "this
solved it" on a contact-form suggestion with its subject as the query, is declared but not
recorded yet.)
:func:`learn` (``manage.py learn_search`` and beat) turns signals into
:class:`~kb.models.LearnedTerm` rows: query words that point to an article. Words in use are
indexed with the article as keywords (``kb.services.indexing``), so the article is found, and
ranks higher, for later searches with those words; ranking itself stays the backend's.

It cannot be poisoned cheaply:

- a visitor counts once per word and article, and for at most ``MAX_ARTICLES_PER_VISITOR``
  articles in the window, the first ones;
- evidence counts distinct client addresses (each at its latest signal, decayed with a
  half-life of ``HALF_LIFE_DAYS``), so many sessions from one address are one voice;
- a word affects ranking only with ``MIN_VISITORS`` distinct visitors from ``MIN_ADDRESSES``
  distinct addresses, ``MIN_EVIDENCE`` of decayed evidence, and when at least ``MIN_SHARE``
  of the word's evidence in that language points to this article (a word used for everything,
  "help", teaches nothing; one shared by a few related articles, "account", may teach each);
- signals older than ``WINDOW_DAYS`` are forgotten; admins can remove or pin a learned word.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from kb.models import Article, LearnedTerm, SearchSignal
from kb.search.text import WORD_RE
from kb.services.indexing import request_index_update

WINDOW_DAYS = 180
HALF_LIFE_DAYS = 60
MAX_ARTICLES_PER_VISITOR = 3
MIN_VISITORS = 5
MIN_ADDRESSES = 3
MIN_EVIDENCE = 2.5
MIN_SHARE = 0.2
# Words shorter than this, and words with digits (order numbers, amounts), are not learned.
MIN_WORD_LENGTH = 3
MAX_WORDS_PER_QUERY = 8


def learning_words(query: str) -> list[str]:
    """The words of ``query`` that can be learned: folded (lowercase, no accents), at least
    ``MIN_WORD_LENGTH`` letters, no digits; distinct, in order."""
    decomposed = unicodedata.normalize("NFKD", query.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = [
        word
        for word in WORD_RE.findall(plain)
        if len(word) >= MIN_WORD_LENGTH and not any(char.isdigit() for char in word)
    ]
    return list(dict.fromkeys(words))[:MAX_WORDS_PER_QUERY]


def record_search_signal(
    *,
    kind: str,
    translation_key: str,
    language: str,
    visitor_hash: str,
    address_key: str,
    query: str | None = None,
    searched_as: str = "",
    now: datetime | None = None,
) -> SearchSignal | None:
    """Keep what the visitor did after their last search (made as ``searched_as``, by default
    ``visitor_hash``); ``query``: the words that led to the article when they are not a
    search, such as a contact-form subject."""
    if query is None:
        from kb.services.activity import last_search_query

        query = last_search_query(searched_as or visitor_hash)
    if not query or not translation_key or not learning_words(query):
        return None
    return SearchSignal.objects.create(
        kind=kind,
        language=language,
        query=query[:200],
        translation_key=translation_key[:80],
        visitor_hash=visitor_hash[:64],
        address_key=address_key[:64],
        created_at=now or timezone.now(),
    )


@dataclass
class _Tally:
    visitors: set[str]
    latest_by_address: dict[str, datetime]

    def evidence(self, now: datetime) -> float:
        return sum(
            0.5 ** (max((now - at).total_seconds(), 0) / 86_400 / HALF_LIFE_DAYS)
            for at in self.latest_by_address.values()
        )


@dataclass(frozen=True)
class LearnOutcome:
    signals: int
    active: int
    changed_articles: int


def learn(*, now: datetime | None = None) -> LearnOutcome:
    """Fold the window's signals into learned words; re-index the articles whose words in
    use changed. Idempotent: the same signals give the same rows."""
    now = now or timezone.now()
    signals = SearchSignal.objects.filter(
        created_at__gte=now - timedelta(days=WINDOW_DAYS), created_at__lte=now
    ).order_by("created_at", "pk")
    tallies: dict[tuple[str, str, str], _Tally] = defaultdict(lambda: _Tally(set(), {}))
    articles_of: dict[str, set[str]] = defaultdict(set)
    counted: set[tuple[str, str, str]] = set()
    count = 0
    for signal in signals.iterator(chunk_size=2000):
        count += 1
        visitor = signal.visitor_hash
        chosen = articles_of[visitor]
        if signal.translation_key not in chosen:
            if len(chosen) >= MAX_ARTICLES_PER_VISITOR:
                continue
            chosen.add(signal.translation_key)
        address = signal.address_key or f"visitor:{visitor}"
        for word in learning_words(signal.query):
            key = (signal.language, word, signal.translation_key)
            if (visitor, *key) in counted:
                continue
            counted.add((visitor, *key))
            tally = tallies[key]
            tally.visitors.add(visitor)
            previous = tally.latest_by_address.get(address)
            if previous is None or signal.created_at > previous:
                tally.latest_by_address[address] = signal.created_at

    evidence = {key: tally.evidence(now) for key, tally in tallies.items()}
    per_word: dict[tuple[str, str], float] = defaultdict(float)
    for (language, word, _key), value in evidence.items():
        per_word[language, word] += value

    def active(key: tuple[str, str, str]) -> bool:
        tally, value = tallies[key], evidence[key]
        return (
            len(tally.visitors) >= MIN_VISITORS
            and len(tally.latest_by_address) >= MIN_ADDRESSES
            and value >= MIN_EVIDENCE
            and value >= MIN_SHARE * per_word[key[0], key[1]]
        )

    with transaction.atomic():
        existing = {
            (term.language, term.word, term.translation_key): term
            for term in LearnedTerm.objects.select_for_update()
        }
        before = {key for key, term in existing.items() if term.in_use}
        for key, tally in tallies.items():
            language, word, translation_key = key
            term = existing.get(key)
            if term is None:
                if not active(key):
                    continue  # not worth a row until it counts
                term = LearnedTerm(
                    language=language, word=word, translation_key=translation_key, learned_at=now
                )
                existing[key] = term
            term.visitors = len(tally.visitors)
            term.addresses = len(tally.latest_by_address)
            term.evidence = round(evidence[key], 3)
            term.active = active(key)
            term.updated_at = now
            term.save()
        for key, term in existing.items():
            if key not in tallies and (term.active or term.evidence):
                term.visitors = term.addresses = 0
                term.evidence = 0.0
                term.active = False
                term.updated_at = now
                term.save()
        after = {key for key, term in existing.items() if term.in_use}
        changed = {(language, key) for language, _word, key in before ^ after}
        _reindex(changed)
    active_count = sum(term.active for term in existing.values())
    return LearnOutcome(signals=count, active=active_count, changed_articles=len(changed))


def _reindex(changed: set[tuple[str, str]]) -> None:
    for language, translation_key in changed:
        reindex_learned_article(language=language, translation_key=translation_key)


def reindex_learned_article(*, language: str, translation_key: str) -> None:
    """Queue the index update of the article whose learned words changed (pinned, removed)."""
    articles = Article.objects.filter(language=language, translation_key=translation_key)
    for article_id in articles.values_list("pk", flat=True):
        request_index_update(article_id=article_id)


__all__ = [
    "LearnOutcome",
    "learn",
    "learning_words",
    "record_search_signal",
    "reindex_learned_article",
]
