"""Emails about webhooks: the owner of an endpoint disabled for failing hears about it.

webhooks sits below notifications (it cannot queue email), so this beat job asks it which
endpoints were disabled and not yet told, queues one email for each through the outbox, and
marks it told in the same transaction.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from foundation.times import format_moment
from notifications.services.outbox import queue_email
from webhooks import selectors as webhook_selectors
from webhooks import services as webhook_services


def tell_owners_of_disabled_webhooks(*, now: datetime | None = None) -> int:
    """Queue the email to each disabled endpoint's owner, once per disabling."""
    now = now or timezone.now()
    told = 0
    for endpoint in webhook_selectors.endpoints_disabled_untold():
        owner = endpoint.owner
        with transaction.atomic():
            if owner.email:
                language = endpoint.language  # chosen when it was registered
                with translation.override(language):
                    subject = _("Webhook endpoint “%(name)s” was disabled") % {
                        "name": endpoint.name
                    }
                    text = _(
                        "Hello,\n\nThe webhook endpoint “%(name)s” (%(url)s) was disabled on "
                        "%(when)s: %(reason)s.\n\nNo more events are sent to it. Once it answers "
                        "again, enable it in the admin and redeliver what it missed:\n%(admin)s\n"
                    ) % {
                        "name": endpoint.name,
                        "url": endpoint.url,
                        "when": format_moment(endpoint.disabled_at, "day_time"),
                        "reason": webhook_selectors.disabled_reason_message(endpoint),
                        "admin": settings.SITE_URL
                        + reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]),
                    }
                queue_email(
                    dedupe_key=f"webhook-disabled:{endpoint.pk}:{endpoint.disabled_at.timestamp()}",
                    recipient=owner.email,
                    language=language,
                    subject=subject,
                    text=text,
                )
                told += 1
            webhook_services.mark_owner_told(
                endpoint_id=endpoint.pk, disabled_at=endpoint.disabled_at
            )
    return told
