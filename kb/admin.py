from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from foundation.times import format_moment, service_zone
from kb import selectors, services
from kb.models import (
    Article,
    ArticleFeedback,
    ArticleRevision,
    Category,
    LearnedTerm,
    SearchLog,
    SearchSynonym,
)
from kb.rendering import render_markdown
from kb.revisions import text_diff


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name_es", "name_en", "slug", "parent", "position"]
    list_editable = ["position"]
    prepopulated_fields = {"slug": ["name_en"]}
    search_fields = ["name_es", "name_en", "slug"]


class StaleFilter(admin.SimpleListFilter):
    title = _("freshness")
    parameter_name = "stale"

    def lookups(self, request, model_admin):
        return [("yes", _("Not reviewed for 6 months")), ("no", _("Reviewed recently"))]

    def queryset(self, request, queryset):
        cutoff = selectors.stale_before()
        if self.value() == "yes":
            return queryset.filter(reviewed_at__lt=cutoff) | queryset.filter(
                reviewed_at__isnull=True
            )
        if self.value() == "no":
            return queryset.filter(reviewed_at__gte=cutoff)
        return queryset


def service_time(moment) -> str:
    """A moment in the service's zone, with the zone named: "5 Dec 2026 18:47 (Madrid time)"."""
    return format_moment(moment, "short_date_time", zone=service_zone(), label=True)


class ArticleRevisionInline(admin.TabularInline):
    """The history: one row per saved version, read only. Nothing here deletes a version."""

    model = ArticleRevision
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["saved", "saved_by", "revision_title", "changes", "restore"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name = _("version")
    verbose_name_plural = _("History (every saved version)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _previous(self, revision: ArticleRevision) -> ArticleRevision | None:
        # The whole history once per article page, not one query per row.
        cache = self.__dict__.setdefault("_history", {})
        if revision.article_id not in cache:
            cache[revision.article_id] = selectors.article_history(revision.article_id)
        history = cache[revision.article_id]
        position = next(
            (index for index, item in enumerate(history) if item.pk == revision.pk), None
        )
        return history[position - 1] if position else None

    @admin.display(description=_("saved"))
    def saved(self, revision: ArticleRevision) -> str:
        return service_time(revision.created_at)

    @admin.display(description=_("by"))
    def saved_by(self, revision: ArticleRevision) -> str:
        return str(revision.author) if revision.author else "-"

    @admin.display(description=_("title"))
    def revision_title(self, revision: ArticleRevision) -> str:
        return revision.title

    @admin.display(description=_("changes from the previous version"))
    def changes(self, revision: ArticleRevision) -> str:
        previous = self._previous(revision)
        if previous is None:
            return _("first version")
        diffs = text_diff(previous, revision)
        if not diffs:
            return "-"
        return ", ".join(f"{diff.label} (+{diff.added} -{diff.removed})" for diff in diffs)

    @admin.display(description=_("compare and restore"))
    def restore(self, revision: ArticleRevision) -> str:
        # A link to a page with both diffs and a confirmation: a form cannot sit inside the
        # admin's change form.
        url = reverse("admin:kb_article_restore", args=[revision.pk])
        return format_html('<a href="{}">{}</a>', url, _("See the changes, restore"))


class ArticleAdminForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = "__all__"  # noqa: DJ007  (the admin's fieldsets choose)
        # The title and the one-sentence summary are read whole while writing them.
        widgets = {
            "body": forms.Textarea(attrs={"rows": 28, "class": "article-body-editor"}),
            "title": forms.TextInput(attrs={"class": "vTextField article-wide-field"}),
            "summary": forms.TextInput(attrs={"class": "vTextField article-wide-field"}),
            "keywords": forms.TextInput(attrs={"class": "vTextField article-wide-field"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Written from the insights page ("write an article"), say: a new group and a slug of
        # its own are made from the title when left empty (kb.services.save_article).
        for name, help_text in [
            ("translation_key", _("Empty: a new group is started from the title.")),
            ("slug", _("Empty: made from the title.")),
        ]:
            if name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = f"{self.fields[name].help_text} {help_text}".strip()


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "language",
        "category",
        "status",
        "updated_at",
        "freshness",
        "helpfulness",
        "view_count",
    ]
    list_filter = ["status", "language", "category", StaleFilter]
    search_fields = ["title", "keywords", "summary", "body", "translation_key"]
    list_select_related = ["category"]
    date_hierarchy = "updated_at"
    actions = ["publish_selected", "archive_selected", "mark_selected_reviewed"]
    readonly_fields = [
        "status",
        "published_at",
        "created_at",
        "updated_at",
        "view_count",
        "preview",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "slug",
                    "language",
                    "translation_key",
                    "category",
                    "summary",
                    "keywords",
                ]
            },
        ),
        (_("Body"), {"fields": ["body", "preview"]}),
        (
            _("Publication"),
            {
                "fields": [
                    "status",
                    "published_at",
                    "reviewed_at",
                    "created_at",
                    "updated_at",
                    "view_count",
                ]
            },
        ),
    ]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [ArticleRevisionInline]
    view_on_site = True
    form = ArticleAdminForm
    change_form_template = "admin/kb/article/change_form.html"
    # The buttons beside "Save" on the article's page: save, then change its status through
    # the service (as the bulk actions do).
    STATUS_BUTTONS = {
        "_publish": (services.publish_article, _("“%(title)s” is published.")),
        "_unpublish": (
            services.unpublish_article,
            _("“%(title)s” is a draft again, off the site."),
        ),
        "_archive": (services.archive_article, _("“%(title)s” is archived, off the site.")),
    }

    class Media:
        css = {"all": ["kb/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return selectors.articles_for_admin()

    def get_urls(self):
        return [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="kb_article_preview",
            ),
            path(
                "revisions/<int:revision_id>/restore/",
                self.admin_site.admin_view(self.restore_revision_view),
                name="kb_article_restore",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("freshness"), boolean=False)
    def freshness(self, article: Article) -> str:
        if article.reviewed_at is None or article.reviewed_at < selectors.stale_before():
            return format_html('<strong style="color:#9b1c1c">{}</strong>', _("stale"))
        return _("ok")

    @admin.display(description=_("helpful"))
    def helpfulness(self, article: Article) -> str:
        total = article.helpful_yes + article.helpful_no
        if not total:
            return "-"
        return f"{round(100 * article.helpful_yes / total)}% ({total})"

    @admin.display(description=_("preview"))
    def preview(self, article: Article) -> str:
        if not article.pk:
            return _("“Preview” below shows the text as customers will read it, before saving.")
        # render_markdown sanitises with an allowlist: the preview is as safe as the public page.
        return mark_safe(f'<div class="article-preview">{render_markdown(article.body).html}</div>')  # noqa: S308

    def save_model(self, request: HttpRequest, obj: Article, form, change: bool) -> None:
        button = next((name for name in self.STATUS_BUTTONS if name in request.POST), None)
        if button and self.has_change_permission(request, obj):
            service, message = self.STATUS_BUTTONS[button]
            service(article=obj, actor=request.user)  # saves the form's text too
            self.message_user(request, message % {"title": obj.title}, messages.SUCCESS)
        else:
            services.save_article(article=obj, actor=request.user)

    def response_change(self, request: HttpRequest, obj: Article) -> HttpResponse:
        if any(name in request.POST for name in self.STATUS_BUTTONS):
            return HttpResponseRedirect(request.path)  # stay on the article
        return super().response_change(request, obj)

    def response_add(self, request: HttpRequest, obj: Article, post_url_continue=None):
        if any(name in request.POST for name in self.STATUS_BUTTONS):
            return HttpResponseRedirect(reverse("admin:kb_article_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """The text being written, rendered as customers will read it (saved or not): the
        "Preview" button posts the form here, in a new tab."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:kb_article_changelist"))
        body = request.POST.get("body", "")[:200_000]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Preview"),
            "article_title": request.POST.get("title", "")[:200],
            "summary": request.POST.get("summary", "")[:300],
            "preview": render_markdown(body).html,
        }
        return TemplateResponse(request, "admin/kb/article/preview.html", context)

    def delete_model(self, request: HttpRequest, obj: Article) -> None:
        services.delete_article(article=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        for article in queryset:
            services.delete_article(article=article, actor=request.user)

    def _bulk(self, request: HttpRequest, queryset: QuerySet[Article], service) -> int:
        count = 0
        for article in queryset:
            service(article=article, actor=request.user)
            count += 1
        return count

    @admin.action(description=_("Publish the selected articles"), permissions=["change"])
    def publish_selected(self, request, queryset):
        count = self._bulk(request, queryset, services.publish_article)
        message = ngettext("%(count)d article published.", "%(count)d articles published.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Archive the selected articles"), permissions=["change"])
    def archive_selected(self, request, queryset):
        count = self._bulk(request, queryset, services.archive_article)
        message = ngettext("%(count)d article archived.", "%(count)d articles archived.", count)
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Mark the selected articles as reviewed"), permissions=["change"])
    def mark_selected_reviewed(self, request, queryset):
        count = self._bulk(request, queryset, services.mark_article_reviewed)
        message = ngettext(
            "%(count)d article marked as reviewed.", "%(count)d articles marked as reviewed.", count
        )
        self.message_user(request, message % {"count": count}, messages.SUCCESS)

    def restore_revision_view(self, request: HttpRequest, revision_id: int) -> HttpResponse:
        """GET shows the revision rendered, POST puts it back."""
        revision = get_object_or_404(
            ArticleRevision.objects.select_related("article"), pk=revision_id
        )
        if not self.has_change_permission(request, revision.article):
            raise PermissionDenied
        if request.method != "POST":
            previous = selectors.previous_revision(revision)
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Restore a version of “%(title)s”") % {"title": revision.article.title},
                "revision": revision,
                "saved": service_time(revision.created_at),
                "preview": render_markdown(revision.body).html,
                "previous": previous,
                "previous_saved": service_time(previous.created_at) if previous else "",
                "against_previous": text_diff(previous, revision),
                "against_current": text_diff(revision.article, revision),
            }
            return TemplateResponse(request, "admin/kb/article/restore_revision.html", context)
        services.restore_revision(revision=revision, actor=request.user)
        self.message_user(
            request,
            _("The version of %(date)s was restored.")
            % {"date": service_time(revision.created_at)},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:kb_article_change", args=[revision.article_id]))


@admin.register(ArticleFeedback)
class ArticleFeedbackAdmin(admin.ModelAdmin):
    list_display = ["article", "helpful", "comment", "language", "created_at"]
    list_filter = ["helpful", "language"]
    search_fields = ["comment", "article__title"]
    list_select_related = ["article"]
    readonly_fields = ["article", "helpful", "comment", "language", "created_at", "updated_at"]
    exclude = ["visitor_hash"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SearchLog)
class SearchLogAdmin(admin.ModelAdmin):
    list_display = [
        "query",
        "language",
        "results_count",
        "used_fuzzy",
        "opened_article",
        "created_at",
    ]
    list_filter = ["language", "used_fuzzy"]
    search_fields = ["query"]
    list_select_related = ["opened_article"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LearnedTerm)
class LearnedTermAdmin(admin.ModelAdmin):
    """What search learned per article (issue 16): the query words and the evidence behind
    them; pin a word to keep it or remove it to never use it (the article is re-indexed)."""

    list_display = [
        "word",
        "translation_key",
        "language",
        "evidence",
        "visitors",
        "addresses",
        "active",
        "pinned",
        "removed",
        "updated_at",
    ]
    list_editable = ["pinned", "removed"]
    list_filter = ["language", "active", "pinned", "removed"]
    search_fields = ["word", "translation_key"]
    readonly_fields = ["visitors", "addresses", "evidence", "active", "learned_at", "updated_at"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        services.reindex_learned_article(language=obj.language, translation_key=obj.translation_key)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        services.reindex_learned_article(language=obj.language, translation_key=obj.translation_key)


class SearchSynonymForm(forms.ModelForm):
    class Meta:
        model = SearchSynonym
        fields = ["language", "words"]

    def clean_words(self) -> str:
        return services.clean_synonym_words(self.cleaned_data.get("words", ""))


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """Synonyms per language (issue 16): used by the next search, nothing to re-index."""

    form = SearchSynonymForm
    list_display = ["words", "language", "updated_at"]
    list_filter = ["language"]
    search_fields = ["words"]
