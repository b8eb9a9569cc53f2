from datetime import time

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from cases.models import Case, CaseEvent, ContactReason, Team
from kb.models import Article, Category
from notifications.models import AlertRule, Announcement, OpeningHours, Subscriber


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


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["slug"]

    slug = "payments"
    name_es = "Pagos"
    name_en = "Payments"


class ContactReasonFactory(factory.django.DjangoModelFactory):
    """A reason owned by the payments team; ``parent=ReasonGroupFactory(...)`` puts it in a
    group."""

    class Meta:
        model = ContactReason
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"reason-{n}")
    name_es = factory.Sequence(lambda n: f"Motivo {n}")
    name_en = factory.Sequence(lambda n: f"Reason {n}")
    team = factory.SubFactory(TeamFactory)
    first_response_hours = 4
    resolution_days = 2


class ReasonGroupFactory(ContactReasonFactory):
    """A first-level reason that groups others (no team of its own)."""

    team = None


class CaseFactory(factory.django.DjangoModelFactory):
    """A case row as it stands, without the services' side effects (links, mail, events); due
    at its opening unless told otherwise. Open cases through ``cases.services.open_case``
    where the flow matters."""

    class Meta:
        model = Case

    reference = factory.Sequence(lambda n: f"T{n:03d}-CASE")
    customer_email = factory.Sequence(lambda n: f"cliente{n}@example.com")
    customer_name = "Cliente"
    language = "es"
    reason = factory.SubFactory(ContactReasonFactory)
    team = factory.LazyAttribute(lambda case: case.reason.team if case.reason else None)
    subject = "Mi tarjeta falla"
    description = "Sale un error al pagar."
    created_at = factory.LazyFunction(timezone.now)
    first_response_due = factory.LazyAttribute(lambda case: case.created_at)
    resolution_due = factory.LazyAttribute(lambda case: case.created_at)


class CaseEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseEvent

    case = factory.SubFactory(CaseFactory)
    kind = CaseEvent.Kind.INTERNAL_NOTE
    body = "Nota"
    created_at = factory.LazyFunction(timezone.now)


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    weekday = 0
    opens_at = time(9)
    closes_at = time(18)


def weekday_hours(days=range(5), opens_at=time(9), closes_at=time(18)) -> list[OpeningHours]:
    """Opening hours on ``days`` (Monday to Friday 09:00-18:00 unless told otherwise), saved one
    by one so the calendar every process keeps is read again."""
    return [
        OpeningHoursFactory(weekday=day, opens_at=opens_at, closes_at=closes_at) for day in days
    ]


class AnnouncementFactory(factory.django.DjangoModelFactory):
    """An unsaved draft; publish it through the service."""

    class Meta:
        model = Announcement

    slug = factory.Sequence(lambda n: f"aviso-{n}")
    kind = Announcement.Kind.INCIDENT
    severity = Announcement.Severity.WARNING
    title_es = factory.Sequence(lambda n: f"Problema con los pagos {n}")
    title_en = factory.Sequence(lambda n: f"Problem with payments {n}")
    body_es = "Algunos pagos con tarjeta fallan. **Ya estamos en ello.**"
    body_en = "Some card payments fail. **We are on it.**"


class AlertRuleFactory(factory.django.DjangoModelFactory):
    """A monitoring rule for the payments service: a draft unless told to publish at once."""

    class Meta:
        model = AlertRule

    name = factory.Sequence(lambda n: f"Pagos {n}")
    matchers = 'service="payments"'
    severity = Announcement.Severity.CRITICAL
    areas = factory.LazyFunction(lambda: ["orders"])
    title_es = "Los pagos fallan ({labels.instance})"
    title_en = "Payments are failing ({labels.instance})"
    body_es = "Estamos investigando: {annotations.summary}"
    body_en = "We are looking into it: {annotations.summary}"


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"suscriptor{n}@example.com")
    language = "es"
    confirmed_at = factory.LazyFunction(timezone.now)


def grant(user, *permissions: str):
    """Give ``user`` the permissions named ``"app_label.codename"``; returns the user."""
    from django.contrib.auth.models import Permission

    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user
