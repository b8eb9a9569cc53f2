"""Search that learns from what customers do (issue 16, item 2).

What a visitor does after a search that says which article answered it becomes a
:class:`~kb.models.SearchSignal`: the search's words, the article's translation key, a hash
of the visitor and one of the client address. Four things count:

- a helpful vote on an article (``HELPFUL``);
- "this solved it" on a contact-form suggestion the visitor had opened, with the subject
  they typed as the query (``SOLVED``);
- the first article opened after a search when the visitor does not come back to search
  within the visit (``VIEWED``: recorded when the article is opened, withdrawn when they
  search again; counted once ``VIEW_SETTLES_AFTER`` has passed without that);
- a case opened after a search, for a contact reason that links articles: the search's words
  point to those articles (``CASE``: the reason says what the visitor was looking for).

A view or a case says less than a vote: each kind weighs ``KIND_WEIGHTS`` in the evidence.
:func:`learn` (``manage.py learn_search`` and beat) turns signals into
:class:`~kb.models.LearnedTerm` rows: query words that point to an article. Words in use are
indexed with the article as keywords (``kb.services.indexing``), so the article is found, and
ranks higher, for later searches with those words; ranking itself stays the backend's.

It cannot be poisoned cheaply:

- a visitor counts once per word and article, and for at most ``MAX_ARTICLES_PER_VISITOR``
  articles in the window, the first ones;
- evidence counts distinct client addresses (each at its strongest signal, decayed with a
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
# How much one address's signal of each kind weighs in the evidence (before decay).
KIND_WEIGHTS = {
    SearchSignal.Kind.HELPFUL: 1.0,
    SearchSignal.Kind.SOLVED: 1.0,
    SearchSignal.Kind.VIEWED: 0.5,
    SearchSignal.Kind.CASE: 0.5,
}
# A view after a search counts once the visitor had this long to search again (the visit:
# kb.services.activity keeps the last search as long, and withdraws the view on a new search).
VIEW_SETTLES_AFTER = timedelta(minutes=15)
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
    query: str,
    now: datetime | None = None,
) -> SearchSignal | None:
    """Keep what the visitor did after searching ``query`` (or typing it as a contact-form
    subject): it points to the article ``translation_key``. None when there is nothing to
    learn from (no query, no word that can be learned)."""
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


def _decayed(weight: float, at: datetime, now: datetime) -> float:
    return weight * 0.5 ** (max((now - at).total_seconds(), 0) / 86_400 / HALF_LIFE_DAYS)


@dataclass
class _Tally:
    visitors: set[str]
    # Each address at its strongest signal (weight by kind, decayed by age).
    by_address: dict[str, float]

    def evidence(self) -> float:
        return sum(self.by_address.values())


@dataclass(frozen=True)
class LearnOutcome:
    signals: int
    active: int
    changed_articles: int


def learn(*, now: datetime | None = None) -> LearnOutcome:
    """Fold the window's signals into learned words; re-index the articles whose words in
    use changed. Idempotent: the same signals give the same rows."""
    now = now or timezone.now()
    signals = (
        SearchSignal.objects.filter(
            created_at__gte=now - timedelta(days=WINDOW_DAYS), created_at__lte=now
        )
        # A view still inside its visit may yet be withdrawn (the visitor searched again).
        .exclude(kind=SearchSignal.Kind.VIEWED, created_at__gt=now - VIEW_SETTLES_AFTER)
        .order_by("created_at", "pk")
    )
    tallies: dict[tuple[str, str, str], _Tally] = defaultdict(lambda: _Tally(set(), {}))
    articles_of: dict[str, set[str]] = defaultdict(set)
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
        weight = _decayed(KIND_WEIGHTS.get(signal.kind, 0.0), signal.created_at, now)
        for word in learning_words(signal.query):
            # A visitor is one voice per word and article (a set), an address its strongest.
            tally = tallies[signal.language, word, signal.translation_key]
            tally.visitors.add(visitor)
            tally.by_address[address] = max(tally.by_address.get(address, 0.0), weight)

    evidence = {key: tally.evidence() for key, tally in tallies.items()}
    per_word: dict[tuple[str, str], float] = defaultdict(float)
    for (language, word, _key), value in evidence.items():
        per_word[language, word] += value

    def active(key: tuple[str, str, str]) -> bool:
        tally, value = tallies[key], evidence[key]
        return (
            len(tally.visitors) >= MIN_VISITORS
            and len(tally.by_address) >= MIN_ADDRESSES
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
            term.addresses = len(tally.by_address)
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
    "KIND_WEIGHTS",
    "VIEW_SETTLES_AFTER",
    "LearnOutcome",
    "learn",
    "learning_words",
    "record_search_signal",
    "reindex_learned_article",
]
