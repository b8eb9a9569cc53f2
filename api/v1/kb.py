"""Knowledge-base articles: read one, search with the site's own search and ranking."""

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from api import pagination
from api.models import Scope
from api.v1.auth import ApiProblem, KeyAuth
from api.v1.schemas import PROBLEMS, PROBLEMS_404, ArticleOut, Code, Language, SearchPage, Slug
from api.v1.schemas import Query as SearchText
from kb import selectors

router = Router(tags=["knowledge base"], auth=KeyAuth(Scope.KB_READ))


@router.get(
    "/kb/articles/{language}/{slug}",
    response={200: ArticleOut, **PROBLEMS_404},
    summary="A published article",
)
def read_article(request: HttpRequest, language: Language, slug: Slug):
    """Needs kb:read."""
    article = selectors.get_published_article(slug=slug, language=language)
    if article is None:
        raise ApiProblem("not_found", detail=slug)
    return article


class SearchQuery(Schema):
    q: SearchText
    language: Language = "es"
    category: Code | None = None
    cursor: str | None = Field(default=None, max_length=2000)


@router.get("/kb/search", response={200: SearchPage, **PROBLEMS}, summary="Search articles")
def search(request: HttpRequest, query: Query[SearchQuery]):
    """The site's search (``kb.selectors.search_articles``): the same ranking, typo
    tolerance and language as the search page; API searches do not feed what the search
    learns from visitors. Needs kb:read."""
    try:
        page = pagination.page_number(query.cursor)
    except pagination.InvalidCursor:
        raise ApiProblem("invalid_request", detail="cursor") from None
    results = selectors.search_articles(
        query=query.q, language=query.language, category=query.category, page=page
    )
    return {
        "query": results.query,
        "total": results.total,
        "suggestion": results.suggestion,
        "degraded": results.degraded,
        "items": results.hits,
        "next_cursor": pagination.page_cursor(page + 1) if results.has_next else None,
    }
