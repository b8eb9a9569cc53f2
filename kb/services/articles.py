"""Curating articles: every change goes through here, records a revision and updates the index."""

from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from kb.models import Article, ArticleRevision
from kb.services.indexing import request_index_update
from webhooks.services import record_event

TEXT_FIELDS = ("title", "summary", "body", "keywords")


def _text_of(article: Article) -> tuple:
    return tuple(getattr(article, name) for name in TEXT_FIELDS)


def _normalise_text(article: Article) -> None:
    """Line ends as ``\n`` (browsers send ``\r\n``): saving unchanged text records nothing."""
    for name in TEXT_FIELDS:
        value = getattr(article, name) or ""
        setattr(article, name, value.replace("\r\n", "\n").replace("\r", "\n"))


def unique_translation_key(title: str, *, slug: str = "") -> str:
    """A new translation group for an article written without one (from the insights page's
    "write an article", say): its slug or title, made unique."""
    base = (slugify(slug or title) or "article")[:70]
    key, number = base, 2
    while Article.objects.filter(translation_key=key).exists():
        key, number = f"{base}-{number}", number + 1
    return key


def _unique_slug(article: Article) -> str:
    base = (slugify(article.title) or "article")[:190]
    slug, number = base, 2
    while (
        Article.objects.filter(language=article.language, slug=slug).exclude(pk=article.pk).exists()
    ):
        slug, number = f"{base}-{number}", number + 1
    return slug


@transaction.atomic
def save_article(
    *, article: Article, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Article:
    """Create or update ``article``.

    Records a revision when the text changed (line ends aside), sets ``published_at`` the first
    time it is published, starts a translation group (and a slug) of its own when none is
    given, and queues the update of its search document after commit.
    """
    _normalise_text(article)
    if not article.slug:
        article.slug = _unique_slug(article)
    if not article.translation_key:
        article.translation_key = unique_translation_key(article.title, slug=article.slug)
    previous = (
        Article.objects.filter(pk=article.pk).values_list(*TEXT_FIELDS).first()
        if article.pk
        else None
    )
    if article.status == Article.Status.PUBLISHED and article.published_at is None:
        article.published_at = now or timezone.now()
    if article.author_id is None and actor is not None and actor.is_authenticated:
        article.author = actor
    article.save()
    if previous is None or tuple(previous) != _text_of(article):
        ArticleRevision.objects.create(
            article=article,
            author=actor if actor is not None and actor.is_authenticated else None,
            **{name: getattr(article, name) for name in TEXT_FIELDS},
        )
    request_index_update(article_id=article.pk, now=now)
    return article


def _set_status(
    *, article: Article, status: str, actor: AbstractBaseUser | None, now: datetime | None
) -> Article:
    article.status = status
    return save_article(article=article, actor=actor, now=now)


@transaction.atomic
def publish_article(
    *, article: Article, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Article:
    """Publish ``article``: it appears on the site, and in search once the index task has run.
    Going from unpublished to published is the webhooks' ``article.published`` event."""
    now = now or timezone.now()
    if article.reviewed_at is None:
        article.reviewed_at = now
    was_published = (
        article.pk is not None
        and Article.objects.filter(pk=article.pk, status=Article.Status.PUBLISHED).exists()
    )
    article = _set_status(article=article, status=Article.Status.PUBLISHED, actor=actor, now=now)
    if not was_published:
        record_event(
            event_type="article.published",
            data={
                "article": {
                    "id": article.pk,
                    "slug": article.slug,
                    "language": article.language,
                    "title": article.title,
                    "translation_key": article.translation_key,
                    "published_at": article.published_at,
                    "url": settings.SITE_URL + article.get_absolute_url(),
                }
            },
            now=now,
        )
    return article


def unpublish_article(*, article: Article, actor: AbstractBaseUser | None) -> Article:
    """Take ``article`` off the site and back to a draft (to be reworked and published again)."""
    return _set_status(article=article, status=Article.Status.DRAFT, actor=actor, now=None)


def archive_article(*, article: Article, actor: AbstractBaseUser | None) -> Article:
    """Take ``article`` off the site and out of search results."""
    return _set_status(article=article, status=Article.Status.ARCHIVED, actor=actor, now=None)


def submit_article_for_review(*, article: Article, actor: AbstractBaseUser | None) -> Article:
    return _set_status(article=article, status=Article.Status.IN_REVIEW, actor=actor, now=None)


def mark_article_reviewed(
    *, article: Article, actor: AbstractBaseUser | None, now: datetime | None = None
) -> Article:
    """Note that someone checked the article is still right (it stops being flagged stale)."""
    now = now or timezone.now()
    article.reviewed_at = now
    return save_article(article=article, actor=actor, now=now)


@transaction.atomic
def restore_revision(*, revision: ArticleRevision, actor: AbstractBaseUser | None) -> Article:
    """Put a revision's text back; the restore is itself recorded as a new revision."""
    article = Article.objects.select_for_update().get(pk=revision.article_id)
    for name in TEXT_FIELDS:
        setattr(article, name, getattr(revision, name))
    return save_article(article=article, actor=actor)


@transaction.atomic
def delete_article(*, article: Article, actor: AbstractBaseUser | None) -> None:
    """Delete ``article`` and queue the removal of its search document."""
    article_id = article.pk
    article.delete()
    request_index_update(article_id=article_id)
