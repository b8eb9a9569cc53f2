"""Reads of the inbound app."""

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from cases import selectors as cases_selectors
from inbound.models import InboundMessage

Status = InboundMessage.Status


def inbound_backlog(*, now: datetime | None = None) -> dict[str, int]:
    """How much mail waits: for a task (``waiting``, of which ``late``: for more than five
    minutes, the sweeper's business) and for staff (``for_staff``: held or unprocessed)."""
    now = now or timezone.now()
    waiting = InboundMessage.objects.filter(status=Status.RECEIVED)
    return {
        "waiting": waiting.count(),
        "late": waiting.filter(received_at__lte=now - timedelta(minutes=5)).count(),
        "for_staff": InboundMessage.objects.filter(
            status__in=(Status.HELD, Status.UNPROCESSED)
        ).count(),
    }


def file_rows(message: InboundMessage) -> list[dict]:
    """The files the message carried, each with what became of it: ``attachment`` (the key of
    its case file) or ``refused``, with why in the active language (a row stores the code and
    what the check found; rows written before that kept the words in ``reason``)."""
    rows = []
    for row in message.attachments or []:
        why = ""
        if row.get("refused"):
            why = (
                cases_selectors.refusal_message(row["refused"], row["params"])
                if "params" in row
                else row.get("reason", row["refused"])
            )
        rows.append({**row, "why": why})
    return rows


def sender_auth_message(reason: dict) -> str:
    """Why a message's From was (or was not) taken as authenticated, in the active language,
    from the code and what was found that the row stores (``sender_auth_reason``)."""
    code = (reason or {}).get("code", "")
    params = {key: str(value) for key, value in ((reason or {}).get("params") or {}).items()}
    params.setdefault("domain", "?")
    params.setdefault("by", "?")
    messages = {
        "dmarc_pass": _("DMARC passed for %(domain)s (checked by %(by)s)."),
        "dmarc_fail": _("DMARC failed for %(domain)s (checked by %(by)s)."),
        "dkim_pass": _(
            "A DKIM signature of %(domain)s, the From domain, was valid (checked by %(by)s)."
        ),
        "spf_pass": _("SPF passed for %(domain)s, the From domain (checked by %(by)s)."),
        "not_aligned": _(
            "No DMARC result, no valid DKIM signature of %(domain)s and no SPF pass for it "
            "(checked by %(by)s: %(found)s)."
        ),
        "unreadable_results": _(
            "The Authentication-Results header of %(by)s could not be read: treated as a fail."
        ),
        "several_from": _("The message names several senders in From."),
        "dkim_verified": _("We verified a DKIM signature of %(domain)s, the From domain."),
        "dkim_invalid": _(
            "The DKIM signature of %(domain)s did not verify: the message was changed, or was "
            "not signed by %(domain)s."
        ),
        "dkim_temperror": _(
            "The DKIM key of %(domain)s could not be looked up (%(error)s): no verdict."
        ),
        "no_verdict": _(
            "No trusted server (INBOUND_TRUSTED_AUTHSERV_IDS) left a verdict on %(domain)s."
        ),
        "no_trusted_servers": _(
            "Not checked: INBOUND_TRUSTED_AUTHSERV_IDS names no server whose verdict to trust."
        ),
        "no_sender": _("There is no sender address to authenticate."),
        "check_failed": _("The check itself failed (%(error)s): no verdict."),
    }
    params.setdefault("found", "")
    params.setdefault("error", "")
    if code not in messages:
        return code or "-"
    return messages[code] % params
