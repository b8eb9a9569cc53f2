import factory
from django.contrib.auth import get_user_model

from kb.models import Article, Category


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery staple")


class StaffFactory(UserFactory):
    is_staff = True


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"topic-{n}")
    name_es = factory.Sequence(lambda n: f"Tema {n}")
    name_en = factory.Sequence(lambda n: f"Topic {n}")


class ArticleFactory(factory.django.DjangoModelFactory):
    """An unsaved-by-service article; use tests.kb.helpers.publish() for a published one."""

    class Meta:
        model = Article

    title = factory.Sequence(lambda n: f"Artículo {n}")
    slug = factory.Sequence(lambda n: f"articulo-{n}")
    summary = "Resumen del artículo."
    body = "Texto del artículo."
    language = "es"
    translation_key = factory.Sequence(lambda n: f"article-{n}")
    category = factory.SubFactory(CategoryFactory)
    keywords = ""
    status = Article.Status.DRAFT


def grant(user, *permissions: str):
    """Give ``user`` the permissions named ``"app_label.codename"``; returns the user."""
    from django.contrib.auth.models import Permission

    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user
