from collections.abc import Callable

import pytest

from kb import services
from kb.models import Article
from kb.search_engine import get_search_engine
from tests.factories import ArticleFactory, CategoryFactory


@pytest.fixture
def search_index(settings, tmp_path):
    """A real, empty Whoosh index in a temporary folder, used by this test's searches."""
    settings.SEARCH_INDEX_DIR = tmp_path / "index"
    engine = get_search_engine()
    engine.ensure_index()
    return engine


@pytest.fixture
def publish(search_index) -> Callable[..., Article]:
    """Publish an article through the service and bring the index up to date at once
    (what the Celery task does after commit; the worker path has its own tests)."""

    def make(**fields) -> Article:
        fields.setdefault("category", CategoryFactory())
        article = services.publish_article(article=ArticleFactory.build(**fields), actor=None)
        services.sync_article_to_index(article_id=article.pk)
        return article

    return make
