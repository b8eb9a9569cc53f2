"""Email providers that receive our mail and post it to us (django-anymail's inbound
webhooks): Mailgun (signed with HMAC), Postmark, SendGrid and Amazon SES (HTTP basic auth,
``ANYMAIL_WEBHOOK_SECRET``). Anymail verifies the request and parses it; each message is then
stored like any other. Only this module imports anymail.

A provider answers only when ``INBOUND_WEBHOOKS`` names it and its secret is set; otherwise
its URL is a 404. A request that fails verification is a 400 and stores nothing; a storage
failure is a 500, which the providers take as "try again later".
"""

import hashlib
import json
import logging
import time

from anymail.signals import AnymailInboundEvent, inbound
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.conf import settings

from foundation import shared_cache
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


# Mailgun signs a timestamp and a token, not the message: whoever saw one signed post could
# send any message under its signature. As Mailgun advises, a token is honoured once (kept in
# the shared cache once its message is stored) and only while its timestamp is recent.
MAILGUN_MAX_AGE = 24 * 60 * 60


def _mailgun_token(event: AnymailInboundEvent) -> tuple[str, str]:
    request = event.esp_event
    try:
        if request.content_type == "application/json":
            block = json.loads(request.body)["signature"]
            return str(block["timestamp"]), str(block["token"])
        return request.POST["timestamp"], request.POST["token"]
    except (KeyError, TypeError, ValueError, AttributeError):
        return "", ""


def _token_key(token: str) -> str:
    return "inbound:mailgun-token:" + hashlib.sha256(token.encode()).hexdigest()


def _mailgun_replayed(timestamp: str, token: str) -> bool:
    try:
        age = time.time() - int(timestamp)
    except ValueError:
        return True
    return abs(age) > MAILGUN_MAX_AGE or bool(shared_cache.read(_token_key(token)))


def store_inbound_event(sender, event: AnymailInboundEvent, esp_name: str, **kwargs) -> None:
    mailgun = esp_name.lower() == "mailgun"
    timestamp, token = _mailgun_token(event) if mailgun else ("", "")
    if mailgun and _mailgun_replayed(timestamp, token):
        logger.warning("Inbound Mailgun post refused: its token was used or is too old")
        return
    receive_message(
        raw=_raw(event),
        source=f"webhook:{esp_name.lower()}",
        source_reference=str(event.event_id or "")[:200],
    )
    if mailgun:
        shared_cache.write(_token_key(token), 1, timeout=2 * MAILGUN_MAX_AGE)


def connect() -> None:
    inbound.connect(store_inbound_event, dispatch_uid="inbound.store_inbound_event")
