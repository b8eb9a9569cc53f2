from django.core.exceptions import ValidationError

from kb.models import Article, ArticleFeedback

MAX_COMMENT_LENGTH = 1000


def record_feedback(
    *, article: Article, helpful: bool, comment: str, visitor_hash: str, language: str
) -> ArticleFeedback:
    """Record a visitor's "Was this helpful?" answer; a visitor counts once per article.

    Voting again replaces the earlier answer; a comment sent later is added to the same vote.
    """
    if not article.status == Article.Status.PUBLISHED:
        raise ValidationError("Feedback is only taken on published articles.", code="not_published")
    comment = comment.strip()[:MAX_COMMENT_LENGTH]
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
    return feedback
