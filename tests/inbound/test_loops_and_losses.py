"""Issue 17, item 4: never a loop, never a loss, never a spoof. Machines' mail opens nothing
and is answered by nothing; a bounce suppresses only the address that bounced, and only for
mail we sent to it; charsets and HTML-only mail are read; what cannot be read is kept for
staff with its original."""

import base64

import pytest

from cases.models import Case, CaseEvent
from inbound import services
from inbound.models import InboundMessage
from inbound.services.parsing import decode_text, html_to_text, parse_message, reply_text
from notifications.models import OutgoingMessage, SuppressedAddress
from notifications.services.outbox import queue_email
from tests.inbound.conftest import case_mail
from tests.inbound.mail import compose, delivery_report

pytestmark = pytest.mark.django_db
Status, Outcome = InboundMessage.Status, InboundMessage.Outcome


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"Auto-Submitted": "auto-generated"},
        {"Precedence": "bulk"},
        {"Precedence": "list"},
        {"Precedence": "junk"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "Out of office"},
        {"X-Auto-Response-Suppress": "All"},
        {"List-Id": "<ofertas.tienda.example>"},
        {"Return-Path": "<>"},
    ],
)
def test_machines_mail_opens_no_case_and_gets_no_reply(headers, other_reason, deliver):
    message = deliver(
        compose(subject="Fuera de la oficina", text="Vuelvo el lunes.", headers=headers)
    )

    assert (message.status, message.outcome) == (Status.IGNORED, Outcome.AUTOMATIC)
    assert not Case.objects.exists()
    assert not OutgoingMessage.objects.exists()


def test_auto_submitted_no_is_a_person(other_reason, deliver):
    message = deliver(compose(text="Hola, una duda.", headers={"Auto-Submitted": "no"}))

    assert message.outcome == Outcome.CASE_OPENED


def test_a_bounce_suppresses_only_the_address_that_bounced(make_case, deliver):
    case = make_case(email="gone@example.com")
    make_case(email="still-here@example.com")
    sent = case_mail(case)

    message = deliver(
        delivery_report(
            recipient="gone@example.com", status="5.1.1", original_message_id=sent["Message-ID"]
        )
    )

    assert (message.status, message.outcome) == (Status.IGNORED, Outcome.BOUNCE)
    suppression = SuppressedAddress.objects.get()
    assert (suppression.email, suppression.kind) == ("gone@example.com", "case")
    assert not Case.objects.filter(customer_email__icontains="mailer-daemon").exists()


def test_a_bounce_of_a_notice_suppresses_it_as_bulk_mail(deliver):
    from notifications.selectors import message_id_of

    row = queue_email(
        dedupe_key="notice:1:sub:1", recipient="sub@example.com", language="es",
        subject="Aviso", text="Hola", kind=OutgoingMessage.Kind.NOTICE,
    )  # fmt: skip

    deliver(
        delivery_report(
            recipient="sub@example.com", status="5.1.1", original_message_id=message_id_of(row)
        )
    )

    assert SuppressedAddress.objects.get().kind == OutgoingMessage.Kind.NOTICE


@pytest.mark.parametrize(
    "status",
    ["4.2.2", "5.2.2", "5.7.1"],  # a delay, a full mailbox, a policy refusal: not the address
)
def test_a_bounce_that_says_nothing_about_the_address_suppresses_nothing(
    status, make_case, deliver
):
    case = make_case()
    action = "delayed" if status.startswith("4") else "failed"
    raw = delivery_report(
        recipient=case.customer_email,
        status=status,
        original_message_id=case_mail(case)["Message-ID"],
        action=action,
    )

    deliver(raw)

    assert not SuppressedAddress.objects.exists()


def test_a_forged_bounce_suppresses_nothing(make_case, deliver):
    case = make_case()
    # A real case Message-ID, but the bounce names another address we never wrote that to;
    # and a made-up Message-ID for the customer's own address.
    deliver(
        delivery_report(
            recipient="victim@example.com",
            status="5.1.1",
            original_message_id=case_mail(case)["Message-ID"],
        )
    )
    deliver(
        delivery_report(
            recipient=case.customer_email,
            status="5.1.1",
            original_message_id="<0123456789abcdef01234567.1@example.com>",
        )
    )

    assert not SuppressedAddress.objects.exists()


def test_iso_8859_1_and_windows_1252_and_utf8_are_read(other_reason, deliver):
    def plain(sender: str, subject: str, charset: str, body: bytes) -> bytes:
        head = f"From: {sender}\r\nTo: ayuda@example.com\r\nSubject: {subject}\r\n"
        head += f"Content-Type: text/plain; charset={charset}\r\n\r\n"
        return head.encode() + body

    utf8_subject = base64.b64encode("Ñandú €".encode()).decode()
    raws = [
        plain(
            "ana@example.com",
            "=?iso-8859-1?q?Devoluci=F3n?=",
            "iso-8859-1",
            b"No he recibido la devoluci\xf3n \x80 ni el \x93ticket\x94.\r\n",
        ),
        plain(
            "bea@example.com",
            "=?windows-1252?q?Pedido_=80?=",
            "windows-1252",
            b"El pedido cost\xf3 30 \x80.\r\n",
        ),
        plain(
            "cris@example.com",
            f"=?utf-8?b?{utf8_subject}?=",
            "utf-8",
            "Mañana pago 5 €.\r\n".encode(),
        ),
    ]

    cases = [deliver(raw).case for raw in raws]

    assert cases[0].subject == "Devolución"
    assert cases[0].description == "No he recibido la devolución € ni el “ticket”."
    assert (cases[1].subject, cases[1].description) == ("Pedido €", "El pedido costó 30 €.")
    assert (cases[2].subject, cases[2].description) == ("Ñandú €", "Mañana pago 5 €.")


def test_a_wrong_or_unknown_charset_never_fails():
    assert decode_text("café".encode(), "us-ascii") == "cafÃ©"  # read as Windows-1252
    assert decode_text("café".encode(), "x-unknown") == "café"
    assert decode_text(b"caf\xe9", "utf-8") == "café"


def test_html_only_mail_is_read_as_text_with_nothing_of_the_markup(other_reason, deliver):
    html = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        "<p>Hola,</p><p>el <b>pedido</b> llegó roto &amp; sin factura.</p>"
        '<img src="x" onerror="alert(2)"><div class="gmail_quote"><blockquote>'
        "<p>Hola Ana, ¿qué tal?</p></blockquote></div></body></html>"
    )

    message = deliver(compose(subject="Pedido roto", text=None, html=html))

    assert message.case.description == "Hola,\nel pedido llegó roto & sin factura."
    assert "alert" not in message.case.description and "<" not in message.case.description


def test_html_to_text_quotes_blockquotes():
    assert html_to_text("<p>Yes</p><blockquote><p>Did it work?</p></blockquote>") == (
        "Yes\n> Did it work?"
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"this is not an email at all",
        b"From: nobody\r\nSubject: no address\r\n\r\nHello",
        b"\x00\x01\x02\xff\xfe",
    ],
)
def test_mail_that_cannot_be_read_is_kept_for_staff_with_its_original(raw, deliver):
    message = deliver(raw)

    assert message.status == Status.UNPROCESSED
    assert bytes(message.raw) == raw
    assert not Case.objects.exists()


def test_staff_can_process_an_unprocessed_message_again(other_reason, deliver, settings):
    settings.INBOUND_FALLBACK_REASON = "missing"
    other_reason.active = False
    other_reason.save()
    message = deliver(compose(text="¿Abrís el domingo?"))
    assert (message.status, message.detail) == (
        Status.UNPROCESSED,
        "no contact reason to file it under",
    )
    other_reason.active = True
    other_reason.save()

    assert services.retry_messages(message_ids=[message.pk]) == 1
    services.process_message(message_id=message.pk)

    message.refresh_from_db()
    assert message.outcome == Outcome.CASE_OPENED


def test_nothing_is_parsed_before_it_is_stored(deliver):
    stored = services.receive_message(raw=b"\xff garbage", source="pipe")

    assert InboundMessage.objects.get(pk=stored.message.pk).status == Status.RECEIVED


def test_a_long_message_with_odd_parts_still_parses():
    raw = compose(
        text="x" * 200_000,
        attachments=(("winmail.dat", "application/ms-tnef", b"\x78\x9f\x3e\x22" * 10),),
    )

    mail = parse_message(raw)

    assert len(mail.text) == 100_000
    assert mail.attachments[0].name == "winmail.dat"


def test_an_auto_reply_never_becomes_a_message_even_with_a_valid_reply_address(make_case, deliver):
    case = make_case()
    raw = compose(
        to=case_mail(case)["Reply-To"],
        text="Automatic reply: I am away",
        headers={"X-Autoreply": "yes"},
    )

    deliver(raw)

    assert not case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_the_customers_own_words_that_look_like_a_quote_header_stay():
    text = "El lunes mi marido os escribió:\nque el pedido no llegó. ¿Alguna novedad?"

    assert reply_text(text) == text


def test_gmail_spanish_quote_header_and_its_history_go():
    text = (
        "Sigue sin llegar.\n\n"
        "El lun, 7 dic 2026 a las 10:00, Centro de ayuda (<ayuda@example.com>)\n"
        "escribió:\n\n> Hola Ana,\n> ¿Ha llegado ya?\n"
    )

    assert reply_text(text) == "Sigue sin llegar."


def test_control_characters_and_an_overlong_address_never_break_processing(other_reason, deliver):
    raw = (
        b"From: Ana <ana@example.com>\r\nTo: ayuda@example.com\r\nSubject: Hola\x00 \x07caso\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nUn NUL\x00 en medio y un \x1b escape.\r\n"
    )
    long_sender = compose(sender=f"{'a' * 250}@example.com", text="Demasiado larga")

    opened = deliver(raw)
    unreadable = deliver(long_sender)

    assert opened.case.subject == "Hola caso"
    assert opened.case.description == "Un NUL en medio y un  escape."
    assert unreadable.status == Status.UNPROCESSED
