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

from kb import selectors, services
from kb.models import Article, ArticleFeedback, ArticleRevision, Category, SearchLog
from kb.rendering import render_markdown


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


class ArticleRevisionInline(admin.TabularInline):
    model = ArticleRevision
    extra = 0
    can_delete = False
    fields = ["created_at", "author", "title", "restore"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    verbose_name_plural = _("History (every saved version)")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("restore"))
    def restore(self, revision: ArticleRevision) -> str:
        # A link to a confirmation page: a form cannot sit inside the admin's change form.
        url = reverse("admin:kb_article_restore", args=[revision.pk])
        return format_html('<a href="{}">{}</a>', url, _("View and restore"))


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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        return selectors.articles_for_admin()

    def get_urls(self):
        return [
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
            return _("Save the article to see its preview.")
        # render_markdown sanitises with an allowlist: the preview is as safe as the public page.
        return mark_safe(f'<div class="article-preview">{render_markdown(article.body).html}</div>')  # noqa: S308

    def save_model(self, request: HttpRequest, obj: Article, form, change: bool) -> None:
        services.save_article(article=obj, actor=request.user)

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
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Restore a version of “%(title)s”") % {"title": revision.article.title},
                "revision": revision,
                "preview": render_markdown(revision.body).html,
            }
            return TemplateResponse(request, "admin/kb/article/restore_revision.html", context)
        services.restore_revision(revision=revision, actor=request.user)
        self.message_user(
            request,
            _("The version of %(date)s was restored.")
            % {"date": revision.created_at.strftime("%Y-%m-%d %H:%M")},
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
