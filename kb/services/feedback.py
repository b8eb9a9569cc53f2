from django.core.exceptions import ValidationError

from foundation.ratelimit import allow
from kb.models import Article, ArticleFeedback, SearchSignal
from kb.services.activity import last_search_query
from kb.services.learning import record_search_signal

MAX_COMMENT_LENGTH = 1000
# New votes one address may cast: (limit, window in seconds). A browser without cookies is a
# new visitor on every request, so the address is what holds stuffing back; a household or an
# office behind one address still has room for a few votes on one article.
VOTE_LIMITS = {"article": (3, 60 * 60 * 24), "address": (20, 60 * 60)}


def record_feedback(
    *,
    article: Article,
    helpful: bool,
    comment: str,
    visitor_hash: str,
    language: str,
    address_key: str = "",
    searched_as: str = "",
) -> ArticleFeedback:
    """Record a visitor's "Was this helpful?" answer; a visitor counts once per article.

    Voting again replaces the earlier answer; a comment sent later is added to the same vote.
    A new vote from ``address_key`` (``foundation.ratelimit.client_address_key``) past
    ``VOTE_LIMITS`` is refused with ``ValidationError(code="rate_limited")``. A helpful vote
    after a search (by ``searched_as``, the visitor's hash when they searched, by default
    ``visitor_hash``) is a signal search learns from (``kb.services.learning``).
    """
    if not article.status == Article.Status.PUBLISHED:
        raise ValidationError("Feedback is only taken on published articles.", code="not_published")
    comment = comment.strip()[:MAX_COMMENT_LENGTH]
    existing = ArticleFeedback.objects.filter(article=article, visitor_hash=visitor_hash).exists()
    if not existing and address_key and not _within_vote_limits(address_key, article.pk):
        raise ValidationError("Too many votes from this address.", code="rate_limited")
    feedback, created = ArticleFeedback.objects.get_or_create(
        article=article,
        visitor_hash=visitor_hash,
        defaults={"helpful": helpful, "comment": comment, "language": language},
    )
    if not created:
        feedback.helpful = helpful
        if comment:
            feedback.comment = comment
        feedback.language = language
        feedback.save(update_fields=["helpful", "comment", "language", "updated_at"])
    if helpful:
        # What the visitor searched a moment ago found this answer (search learns from it).
        record_search_signal(
            kind=SearchSignal.Kind.HELPFUL,
            translation_key=article.translation_key,
            language=language,
            visitor_hash=visitor_hash,
            address_key=address_key,
            query=last_search_query(searched_as or visitor_hash),
        )
    return feedback


def _within_vote_limits(address_key: str, article_id: int) -> bool:
    per_article, per_address = VOTE_LIMITS["article"], VOTE_LIMITS["address"]
    return allow(
        "vote-article",
        f"{address_key}|{article_id}",
        limit=per_article[0],
        window_seconds=per_article[1],
    ) and allow("vote-address", address_key, limit=per_address[0], window_seconds=per_address[1])
