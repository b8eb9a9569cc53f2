"""Email providers that receive our mail and post it to us (django-anymail's inbound
webhooks): Mailgun (signed with HMAC), Postmark, SendGrid and Amazon SES (HTTP basic auth,
``ANYMAIL_WEBHOOK_SECRET``). Anymail verifies the request and parses it; each message is then
stored like any other. Only this module imports anymail.

A provider answers only when ``INBOUND_WEBHOOKS`` names it and its secret is set; otherwise
its URL is a 404. A request that fails verification is a 400 and stores nothing; a storage
failure is a 500, which the providers take as "try again later".
"""

import logging

from anymail.signals import AnymailInboundEvent, inbound
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.conf import settings

from inbound.services import receive_message

logger = logging.getLogger(__name__)

# provider: (anymail's inbound view, the ANYMAIL setting that secures it)
PROVIDERS = {
    "mailgun": (MailgunInboundWebhookView, "MAILGUN_WEBHOOK_SIGNING_KEY"),
    "postmark": (PostmarkInboundWebhookView, "WEBHOOK_SECRET"),
    "sendgrid": (SendGridInboundWebhookView, "WEBHOOK_SECRET"),
    "amazon_ses": (AmazonSESInboundWebhookView, "WEBHOOK_SECRET"),
}


def webhook_view(provider: str):
    """Anymail's view for ``provider`` when it is enabled and secured, else None."""
    if provider not in PROVIDERS or provider not in settings.INBOUND_WEBHOOKS:
        return None
    view, secret = PROVIDERS[provider]
    if not getattr(settings, "ANYMAIL", {}).get(secret):
        logger.error("Inbound webhook %s is enabled but ANYMAIL[%r] is not set", provider, secret)
        return None
    return view.as_view()


def _raw(event: AnymailInboundEvent) -> bytes:
    """The message as the provider received it when it gives us that (Mailgun's
    ``body-mime``), else as anymail rebuilt it from the provider's fields."""
    request = event.esp_event
    original = getattr(request, "POST", {}).get("body-mime") if hasattr(request, "POST") else None
    if original:
        return original.encode("utf-8", "surrogateescape")
    return event.message.as_bytes()


def store_inbound_event(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    receive_message(
        raw=_raw(event),
        source=f"webhook:{esp_name.lower()}",
        source_reference=str(event.event_id or "")[:200],
    )


def connect() -> None:
    inbound.connect(store_inbound_event, dispatch_uid="inbound.store_inbound_event")
