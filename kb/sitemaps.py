from django.contrib.sitemaps import Sitemap
from django.urls import reverse
from django.utils.translation import override

from kb import selectors
from kb.models import Article, Category


class ArticleSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8

    def items(self):
        return selectors.published_articles()

    def lastmod(self, article: Article):
        return article.updated_at


class CategorySitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.5

    def items(self):
        return [
            (category, language) for category in Category.objects.all() for language in ("es", "en")
        ]

    def location(self, item) -> str:
        category, language = item
        with override(language):
            return category.get_absolute_url()


class HomeSitemap(Sitemap):
    priority = 1.0
    changefreq = "daily"

    def items(self):
        return ["es", "en"]

    def location(self, language: str) -> str:
        with override(language):
            return reverse("kb:home")


SITEMAPS = {"home": HomeSitemap, "categories": CategorySitemap, "articles": ArticleSitemap}
