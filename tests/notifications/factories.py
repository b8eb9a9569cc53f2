from datetime import time

import factory
from django.utils import timezone

from notifications.models import Announcement, OpeningHours, Subscriber


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


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"suscriptor{n}@example.com")
    language = "es"
    confirmed_at = factory.LazyFunction(timezone.now)


def weekday_hours() -> None:
    OpeningHours.objects.bulk_create(
        [OpeningHours(weekday=day, opens_at=time(9), closes_at=time(18)) for day in range(5)]
    )
