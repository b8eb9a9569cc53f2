"""Telling one customer something before they have to ask (issue 18, item 5)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases.models import ContactReason, CustomerNotice, Deflection
from cases.selectors import notice_email_key, notice_token
from cases.services.contact import record_deflection
from cases.services.mail import render_case_email
from foundation.ratelimit import allow
from notifications.services.outbox import queue_email

# How long a notice leads the contact form and shows on the case page, unless told.
CUSTOMER_NOTICE_DAYS = 14
# Notices one address is sent in an hour at most: a key may make 120 requests a minute, and an
# order system in a loop (or a leaked key) must not fill a customer's mailbox. A refused
# notice stores nothing: the same request goes through once the hour has passed.
CUSTOMER_NOTICES_PER_ADDRESS = 10


@transaction.atomic
def send_customer_notice(
    *,
    customer_email: str,
    language: str,
    reason: ContactReason,
    subject: str,
    body: str,
    external_reference: str = "",
    expires_at: datetime | None = None,
    actor: AbstractBaseUser | None,
    now: datetime | None = None,
) -> CustomerNotice:
    """Record the notice and email it to the customer in their language (through the outbox,
    in the same transaction). Its email links to the contact form with the notice's reason
    chosen and the notice first, so a customer who still wants to write is told it again
    before writing."""
    now = now or timezone.now()
    if not allow(
        "customer-notice-email",
        customer_email.strip().lower(),
        limit=CUSTOMER_NOTICES_PER_ADDRESS,
        window_seconds=3600,
    ):
        raise ValidationError(
            _(
                "This address has been sent %(limit)d notices in the last hour; "
                "try again in an hour."
            ),
            code="too_many_notices",
            params={"limit": CUSTOMER_NOTICES_PER_ADDRESS},
        )
    notice = CustomerNotice.objects.create(
        customer_email=customer_email.strip(),
        language=language,
        reason=reason,
        subject=subject.strip(),
        body=body.strip(),
        external_reference=external_reference.strip(),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        created_at=now,
        expires_at=expires_at or now + timedelta(days=CUSTOMER_NOTICE_DAYS),
    )
    with translation.override(language):
        contact_url = reverse("cases:contact")
    link = f"{settings.SITE_URL}{contact_url}?reason={reason.pk}&notice={notice_token(notice)}"
    email = render_case_email(
        "customer_notice",
        {"notice": notice, "link": link, "site_name": settings.SITE_NAME},
        language=language,
    )
    queue_email(
        dedupe_key=notice_email_key(notice.pk),
        kind="case",
        recipient=notice.customer_email,
        language=language,
        subject=email.subject,
        text=email.text,
        html=email.html,
    )
    return notice


def answered_by_notice(*, notice: CustomerNotice, now: datetime | None = None) -> bool:
    """The customer says the notice answered them (on the contact form): counted once as a
    contact avoided. False when it was counted already."""
    now = now or timezone.now()
    with transaction.atomic():
        first = CustomerNotice.objects.filter(pk=notice.pk, answered_at__isnull=True).update(
            answered_at=now
        )
        if first:
            record_deflection(
                kind=Deflection.Kind.NOTICE,
                reason=notice.reason,
                language=notice.language,
                now=now,
            )
    return bool(first)
