from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from webhooks.models import DeliveryError, DisabledReason, Endpoint, EventType


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


def disabled_reason_message(endpoint: Endpoint) -> str:
    """Why the endpoint was disabled, in the active language ("" while it is active), from
    the code and parameters the row stores."""
    code, params = endpoint.disabled_reason_code, endpoint.disabled_reason_params or {}
    if code == DisabledReason.FAILING:
        hours = int(params.get("hours", 24))
        return ngettext(
            "every delivery failed for %(hours)d hour",
            "every delivery failed for %(hours)d hours",
            hours,
        ) % {"hours": hours}
    if code == DisabledReason.STAFF:
        return _("disabled by staff")
    # A reason written before the codes that the migration could not tell, kept as written.
    return str(params.get("text", "")) if endpoint.disabled_at else ""


def delivery_error_message(error: str) -> str:
    """A delivery's (or attempt's) stored error as its reader reads it: the site's own codes
    (``DeliveryError``) in the active language, the network's or the receiver's answer as
    the technical English it was stored as. Rows written before the codes keep their text."""
    if error in DeliveryError.values:
        return str(DeliveryError(error).label)
    return error
