"""Messages as mail clients and servers write them, for the inbound tests and bench/inbound.py."""

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def compose(
    *,
    sender: str = "Ana García <ana@example.com>",
    to: str = "Centro de ayuda <ayuda@example.com>",
    subject: str = "Consulta",
    text: str | None = "Hola",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    message_id: str | None = None,
) -> bytes:
    """A message as a mail client sends it: text and/or HTML, optional files
    ``(name, "type/subtype", bytes)``, and any extra headers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 12, 7, 10, 0, tzinfo=UTC))
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.net")
    for name, value in (headers or {}).items():
        message[name] = value
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for name, content_type, payload in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def reply_to(case_mail, *, text: str, sender: str = "Ana García <ana@example.com>", **kwargs):
    """The customer's reply to one of our emails (an ``email.message`` as the outbox sent
    it): to its Reply-To, quoting it, with In-Reply-To and References set."""
    quoted = "\n".join(
        f"> {line}" for line in str(case_mail.get_body(("plain",)).get_content()).splitlines()
    )
    header = f"El lun, 7 dic 2026 a las 10:00, Centro de ayuda ({case_mail['From']}) escribió:"
    headers = {
        "In-Reply-To": case_mail["Message-ID"],
        "References": case_mail["Message-ID"],
        **kwargs.pop("headers", {}),
    }
    return compose(
        sender=sender,
        to=case_mail["Reply-To"] or case_mail["From"],
        subject=f"Re: {case_mail['Subject']}",
        text=f"{text}\n\n{header}\n{quoted}\n",
        headers=headers,
        **kwargs,
    )


def delivery_report(
    *,
    recipient: str,
    status: str,
    original_message_id: str,
    action: str = "failed",
    message_id: str | None = None,
) -> bytes:
    """A bounce as Postfix writes it (RFC 3464): multipart/report with the original's headers."""
    boundary = "=_report_boundary"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        "To: ayuda@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        f"Message-ID: {message_id or make_msgid(domain='mx.example.net')}\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} User unknown\r\n\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        "From: Centro de ayuda <ayuda@example.com>\r\n"
        f"To: {recipient}\r\n"
        f"Message-ID: {original_message_id}\r\n"
        "Subject: Tu caso\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()
