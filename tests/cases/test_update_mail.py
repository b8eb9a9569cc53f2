"""Issue 14, item 10: a reply reaches the customer at once, first thing in the mail; status
changes are told once, only the latest; nothing about a case the customer closed; case mail is
text + HTML with the same fresh link in both, from the site's name in the customer's language."""

from datetime import timedelta

import pytest
from django.utils import timezone

from cases import services, tasks
from cases.models import Case
from notifications.models import OutgoingMessage
from notifications.services import outbox

pytestmark = pytest.mark.django_db


def _updates():
    return OutgoingMessage.objects.filter(dedupe_key__contains=":update:").order_by("pk")


def test_a_public_reply_is_queued_for_sending_as_soon_as_it_commits(
    make_case, django_capture_on_commit_callbacks
):
    case = make_case()
    with django_capture_on_commit_callbacks() as callbacks:
        services.reply_to_customer(
            case=case, body="Ya está: te hemos devuelto el dinero.", actor=None
        )
    assert callbacks  # the send task is queued after commit, not left to the next beat tick

    assert tasks.send_case_update(case.pk) == 1  # what that task does
    assert tasks.send_case_update(case.pk) == 0  # and only once
    body = _updates().get().body_text
    assert body.startswith("Ya está: te hemos devuelto el dinero.")


def test_status_changes_wait_and_only_the_latest_is_told(make_case):
    case = make_case()
    services.change_case_status(case=case, status=Case.Status.IN_PROGRESS, actor=None)
    services.change_case_status(case=case, status=Case.Status.WAITING_ON_CUSTOMER, actor=None)

    assert services.send_pending_updates() == 0  # status changes alone are coalesced
    assert services.send_pending_updates(now=timezone.now() + timedelta(minutes=5)) == 1

    message = _updates().get()
    assert "Esperando tu respuesta" in message.body_text
    assert "En curso" not in message.body_text and "En curso" not in message.body_html
    assert "Esperando tu respuesta" in message.subject


def test_nothing_is_mailed_about_a_case_the_customer_just_closed(make_case):
    case = make_case()
    services.change_case_status(case=case, status=Case.Status.RESOLVED, actor=None)
    services.confirm_solved(case=case)  # on the case page, before the update left

    assert services.send_pending_updates(now=timezone.now() + timedelta(minutes=10)) == 0
    assert not _updates().exists()


@pytest.mark.parametrize(("language", "sender"), [("es", "Centro de ayuda"), ("en", "Help center")])
def test_case_mail_is_text_and_html_with_one_fresh_link_and_a_sender_in_the_language(
    make_case, language, sender
):
    case = make_case(language=language)
    services.reply_to_customer(case=case, body="Line one\nLine <two>", actor=None)
    services.send_pending_updates()

    message = _updates().get()
    placeholder = outbox.link_placeholder("case", case.pk)
    assert placeholder in message.body_text and placeholder in message.body_html
    sent = outbox._with_minted_links(message, now=timezone.now())  # what the worker sends
    email = outbox.build_email(sent)
    html, mime = email.alternatives[0]
    link = next(word for word in sent.body_text.split() if "/cases/access/" in word)
    assert mime == "text/html" and f'href="{link}"' in html and "%%LINK" not in html
    assert "Line &lt;two&gt;" in html and f'lang="{language}"' in html
    assert email.from_email == f"{sender} <ayuda@example.com>"


def test_every_case_mail_has_an_html_part(make_case):
    case = make_case(language="en")

    opened = OutgoingMessage.objects.get(dedupe_key__contains=f"case:{case.pk}:opened")
    assert opened.body_html and outbox.link_placeholder("case", case.pk) in opened.body_html
    services.email_case_links(email=case.customer_email)
    links = OutgoingMessage.objects.filter(dedupe_key__startswith="case-links:").get()
    assert links.body_html and "<a href=" in links.body_html
