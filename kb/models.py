from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from foundation.i18n import Language, current_language, localized

__all__ = ["Language", "current_language"]  # kb.models.current_language is used by views


class Category(models.Model):
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    name_es = models.CharField(_("name (Spanish)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    description_es = models.CharField(_("description (Spanish)"), max_length=255, blank=True)
    description_en = models.CharField(_("description (English)"), max_length=255, blank=True)
    icon = models.CharField(_("icon"), max_length=8, blank=True, help_text=_("One emoji."))

    class Meta:
        ordering = ["position", "name_es"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("kb:category", kwargs={"slug": self.slug})

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def description(self) -> str:
        return localized(self, "description")


class ArticleQuerySet(models.QuerySet):
    def published(self) -> "ArticleQuerySet":
        """What customers may read: the one spelling of the rule for every public read.

        The status alone decides (publishing stamps ``published_at`` with the moment it
        happens, never a later one), so the answer does not change with the clock and can be
        kept per process (``foundation.process_memo``)."""
        return self.filter(status=Article.Status.PUBLISHED)


class Article(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Published")
        ARCHIVED = "archived", _("Archived")

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=200)
    summary = models.CharField(
        _("summary"),
        max_length=300,
        help_text=_("One sentence; shown in results and as the page description."),
    )
    body = models.TextField(_("body"), help_text=_("Markdown."))
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SPANISH
    )
    translation_key = models.SlugField(
        _("translation group"),
        max_length=80,
        help_text=_("The same value links the Spanish and English versions of one article."),
    )
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.PROTECT, related_name="articles"
    )
    keywords = models.CharField(
        _("keywords"),
        max_length=255,
        blank=True,
        help_text=_("Comma separated; words customers use."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    reviewed_at = models.DateTimeField(
        _("reviewed"),
        null=True,
        blank=True,
        help_text=_("When someone last checked that it is still right."),
    )
    view_count = models.PositiveIntegerField(_("views"), default=0, editable=False)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        constraints = [
            models.UniqueConstraint(
                fields=["language", "slug"], name="kb_article_unique_slug_per_language"
            ),
            models.UniqueConstraint(
                fields=["translation_key", "language"], name="kb_article_one_version_per_language"
            ),
        ]
        indexes = [models.Index(fields=["status", "language", "category"])]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        with override(self.language):
            return reverse("kb:article", kwargs={"slug": self.slug})

    @property
    def is_published(self) -> bool:
        return (
            self.status == self.Status.PUBLISHED
            and self.published_at is not None
            and self.published_at <= timezone.now()
        )


class ArticleRevision(models.Model):
    """Every saved version of an article's text: who, when, and what it said."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=300)
    body = models.TextField(_("body"))
    keywords = models.CharField(_("keywords"), max_length=255, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("saved"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")

    def __str__(self) -> str:
        return f"{self.article} · {self.created_at:%Y-%m-%d %H:%M}"


class ArticleFeedback(models.Model):
    """A visitor's "Was this helpful?" answer, counted once per visitor and article."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField(_("helpful"))
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    # A keyed hash of the visitor's session: counts a visitor once without storing who they are.
    visitor_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "visitor_hash"], name="kb_feedback_once_per_visitor"
            )
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.article} · {'+' if self.helpful else '-'}"


class ArticleDailyViews(models.Model):
    """Views per article and day, flushed from cache counters so a page view writes nothing."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="daily_views")
    day = models.DateField()
    views = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("daily views")
        verbose_name_plural = _("daily views")
        constraints = [
            models.UniqueConstraint(fields=["article", "day"], name="kb_daily_views_unique")
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.article_id} · {self.day}: {self.views}"


class SearchLog(models.Model):
    """One search as the customer settled on it (as-you-type keystrokes coalesced); anonymous."""

    query = models.CharField(_("normalised query"), max_length=200)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    category = models.CharField(_("category"), max_length=80, blank=True)
    results_count = models.PositiveIntegerField(_("results"))
    used_fuzzy = models.BooleanField(_("typo tolerance used"), default=False)
    opened_article = models.ForeignKey(
        Article,
        verbose_name=_("opened result"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The contact reason of a case the visitor opened soon after this search: the search
    # did not answer them (a content gap to fix).
    followed_by_contact = models.CharField(_("followed by a case for"), max_length=80, blank=True)
    created_at = models.DateTimeField(_("searched at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("search")
        verbose_name_plural = _("searches")
        indexes = [
            models.Index(fields=["created_at"]),
            models.Index(fields=["results_count", "created_at"]),
        ]

    def __str__(self) -> str:
        return self.query


class IndexingState(models.Model):
    """Where an article's search document stands: the index's to-do list, one row per article.

    ``queued_at`` is written in the same transaction as the change; the task sets ``synced_at``
    once the index agrees. A row with ``synced_at`` missing or older than ``queued_at`` is
    pending: the sweeper queues it again, and a rebuild re-applies every change queued while it
    ran, so no change is lost to a dead task, a down broker or a concurrent rebuild.
    """

    article_id = models.BigIntegerField(primary_key=True)
    queued_at = models.DateTimeField(default=timezone.now)
    synced_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = _("search index state")
        verbose_name_plural = _("search index states")
        indexes = [models.Index(fields=["queued_at"])]

    def __str__(self) -> str:
        return f"article {self.article_id}"


class SearchSignal(models.Model):
    """What a visitor did after searching that says which article answered the search (issue
    16): the raw material of learning. Anonymous: a keyed hash of the session and one of the
    client address, so that evidence can count distinct visitors and addresses."""

    class Kind(models.TextChoices):
        HELPFUL = "helpful", _("Voted the article helpful")
        SOLVED = "solved", _("“This solved it” on a suggestion")
        VIEWED = "viewed", _("Read the article and did not search again")
        CASE = "case", _("Opened a case for a reason that links the article")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    query = models.CharField(_("search"), max_length=200)
    translation_key = models.CharField(_("article"), max_length=80)
    visitor_hash = models.CharField(max_length=64)
    address_key = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("search signal")
        verbose_name_plural = _("search signals")

    def __str__(self) -> str:
        return f"{self.query} → {self.translation_key}"


class LearnedTerm(models.Model):
    """A query word that search learned points to an article (in one language), with the
    evidence behind it; indexed with the article as a keyword while it is active."""

    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    word = models.CharField(_("word"), max_length=80)
    translation_key = models.CharField(_("article"), max_length=80)
    visitors = models.PositiveIntegerField(_("distinct visitors"), default=0)
    addresses = models.PositiveIntegerField(_("distinct addresses"), default=0)
    evidence = models.FloatField(_("evidence"), default=0.0)
    active = models.BooleanField(_("affects ranking"), default=False)
    pinned = models.BooleanField(
        _("pinned"), default=False, help_text=_("Kept whatever the evidence says.")
    )
    removed = models.BooleanField(
        _("removed"), default=False, help_text=_("Never used, whatever the evidence says.")
    )
    learned_at = models.DateTimeField(_("first learned"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        ordering = ["translation_key", "-evidence"]
        verbose_name = _("learned search word")
        verbose_name_plural = _("learned search words")
        constraints = [
            models.UniqueConstraint(
                fields=["language", "word", "translation_key"], name="kb_learned_term_unique"
            )
        ]
        indexes = [models.Index(fields=["language", "translation_key"])]

    def __str__(self) -> str:
        return f"{self.word} → {self.translation_key}"

    @property
    def in_use(self) -> bool:
        return not self.removed and (self.active or self.pinned)


class SearchSynonym(models.Model):
    """Words customers use for the same thing in one language (issue 16): a search for any of
    them also finds the articles that use the others. Kept by staff in the admin and used by
    the next search (``kb.selectors.search_synonyms``): no re-indexing, no deployment."""

    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    words = models.CharField(
        _("words"),
        max_length=255,
        help_text=_(
            "Two or more words, separated by commas: “refund, rebate, reimbursement”. "
            "A search for any of them also finds the articles that use the others."
        ),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["language", "words"]
        verbose_name = _("search synonyms")
        verbose_name_plural = _("search synonyms")

    def __str__(self) -> str:
        return self.words

    def word_list(self) -> list[str]:
        return [word.strip() for word in self.words.split(",") if word.strip()]
