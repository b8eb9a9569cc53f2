from django.db.models import F, Q, QuerySet

from webhooks.models import Endpoint, EventType


def event_type_choices() -> list[tuple[str, str]]:
    return list(EventType.choices)


def endpoints_disabled_untold() -> QuerySet[Endpoint]:
    """Endpoints disabled for failing whose owner has not been emailed about it yet."""
    return (
        Endpoint.objects.filter(disabled_at__isnull=False, owner__isnull=False)
        .filter(Q(owner_told_of__isnull=True) | ~Q(owner_told_of=F("disabled_at")))
        .select_related("owner")
        .order_by("pk")
    )
