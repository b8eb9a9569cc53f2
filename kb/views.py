from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from foundation.ratelimit import client_address_key
from foundation.view_types import HtmxHttpRequest
from foundation.visitors import visitor_hash
from kb import selectors, services
from kb.forms import FeedbackForm, SearchForm
from kb.models import ArticleFeedback, current_language
from kb.rendering import render_article_body
from notifications import selectors as notices

TOO_MANY_VOTES = gettext_lazy(
    "We have had many answers from here in a short time. Thank you; please try again later."
)


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    language = current_language()
    return render(
        request,
        "kb/home.html",
        {
            "popular_articles": selectors.popular_articles(language=language),
            "categories": selectors.categories_with_counts(language=language),
            "notices": notices.home_notices(limit=3),
            "service_status": notices.service_status(),
        },
    )


@require_GET
def search(request: HtmxHttpRequest) -> HttpResponse:
    arguments = SearchForm(request.GET).search_arguments()
    language = current_language()
    results = selectors.search_articles(language=language, **arguments)
    if results.query:
        services.record_search(
            visitor_hash=visitor_hash(request),
            query=results.query,
            language=language,
            category=arguments["category"] or "",
            results_count=results.total,
            used_fuzzy=results.used_fuzzy,
        )
    context = {
        "query": arguments["query"],
        "category": arguments["category"],
        "results": results,
        "categories": selectors.categories_with_counts(language=language),
        # A live problem the query is about comes before any article (issue 14, item 2).
        "problems": notices.live_problems_about(arguments["query"] or "", request=request),
    }
    template = (
        "kb/search.html#results" if request.htmx and not request.htmx.boosted else "kb/search.html"
    )
    return render(request, template, context)


def _article_or_404(request: HtmxHttpRequest, slug: str):
    language = current_language()
    article = selectors.get_published_article(slug=slug, language=language)
    # Being staff is not enough to read drafts and archived articles: an account with no
    # permission (a desk agent, an announcer) gets the customers' 404.
    if article is None and request.user.has_perm("kb.view_article"):
        article = selectors.get_article_for_staff(slug=slug, language=language)
    if article is None:
        raise Http404
    return article


@require_GET
def article_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    article = _article_or_404(request, slug)
    visitor = visitor_hash(request)
    services.record_article_read(
        article_id=article.pk,
        translation_key=article.translation_key,
        visitor_hash=visitor,
        address_key=client_address_key(request),
    )
    rendered = render_article_body(
        article_id=article.pk,
        version=article.updated_at.isoformat(),
        body=article.body,
        language=article.language,
    )
    return render(
        request,
        "kb/article_detail.html",
        {
            "article": article,
            "body": rendered,
            "translation": selectors.get_translation(article),
            "related": selectors.related_articles(article),
            "feedback_form": FeedbackForm(),
            "previous_feedback": _previous_feedback(request, article),
        },
    )


def _previous_feedback(request: HtmxHttpRequest, article) -> ArticleFeedback | None:
    if not request.session.session_key:
        return None
    return ArticleFeedback.objects.filter(
        article=article, visitor_hash=visitor_hash(request)
    ).first()


@require_POST
def article_feedback(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    article = selectors.get_published_article(slug=slug, language=current_language())
    if article is None:
        raise Http404
    form = FeedbackForm(request.POST)
    feedback = None
    if form.is_valid():
        # Who searched: a first-time reader has no session until this vote creates one.
        searched_as = visitor_hash(request)
        try:
            feedback = services.record_feedback(
                article=article,
                helpful=form.cleaned_data["helpful"],
                comment=form.cleaned_data["comment"],
                visitor_hash=visitor_hash(request, create_session=True),
                language=current_language(),
                address_key=client_address_key(request),
                searched_as=searched_as,
            )
        except ValidationError as error:
            if error.code != "rate_limited":
                raise
            form.add_error(None, TOO_MANY_VOTES)
    status = 429 if form.non_field_errors() else 200
    if request.htmx:
        context = {"article": article, "feedback_form": form, "previous_feedback": feedback}
        return render(request, "kb/article_detail.html#feedback", context, status=status)
    if feedback is not None:
        messages.success(request, _("Thank you: your answer helps us improve this article."))
    elif status == 429:
        messages.error(request, TOO_MANY_VOTES)
    else:
        messages.error(request, _("We could not record your answer; please choose Yes or No."))
    return redirect(f"{article.get_absolute_url()}#feedback")


@require_GET
def category_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    found = selectors.category_page(slug=slug, language=current_language())
    if found is None:
        raise Http404
    category, articles, children = found
    return render(
        request,
        "kb/category_detail.html",
        {"category": category, "articles": articles, "children": children},
    )
