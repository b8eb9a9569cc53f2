"""Mail to an incident's followers ("tell me when it is fixed") can be stopped like every other
mail nobody has to get: a stop link in the text and one-click List-Unsubscribe headers (RFC
8058), minted by the outbox as the mail leaves, never stored (issue 14, item 2)."""

import re

import pytest
from django.test import Client

from notifications.models import Announcement, IncidentFollower, OutgoingMessage
from notifications.services import incidents, outbox
from notifications.services.announcements import post_update, publish_announcement
from tests.factories import AnnouncementFactory

pytestmark = pytest.mark.django_db

STOP_LINK = re.compile(r"http://testserver/(es|en)/notices/stop/[^/\s\"<>]+/")


@pytest.fixture
def incident(settings) -> Announcement:
    settings.SITE_URL = "http://testserver"
    return publish_announcement(
        announcement=AnnouncementFactory(title_es="Los pagos con tarjeta fallan"), actor=None
    )


def follow(incident, email="luis@example.com", language="es") -> IncidentFollower:
    return incidents.follow_incident(
        incident=incident, email=email, language=language, address_key=f"address-{email}"
    )


def update(incident, phase="identified", notify=True):
    return post_update(announcement=incident, phase=phase, body_es="Visto.", body_en="Found.",
                       notify_subscribers=notify, actor=None)  # fmt: skip


def mail_to(email: str) -> OutgoingMessage:
    return OutgoingMessage.objects.filter(recipient=email).latest("pk")


def path_of(link: str) -> str:
    return link.removeprefix("http://testserver")


def test_follower_mail_carries_a_stop_link_and_one_click_headers_minted_as_it_leaves(
    incident, smtp_sink
):
    follow(incident)
    update(incident)
    row = mail_to("luis@example.com")
    # At rest, the row holds a placeholder: whoever reads the outbox cannot stop anyone's mail.
    assert row.unsubscribe_url == f"%%LINK:incident-stop:{IncidentFollower.objects.get().pk}%%"
    assert not STOP_LINK.search(row.body_text + row.body_html + row.unsubscribe_url)

    assert outbox.deliver_message(message_id=row.pk) == "sent"

    (sent,) = smtp_sink.messages
    header = STOP_LINK.fullmatch(str(sent["List-Unsubscribe"]).strip()[1:-1])
    assert header and header.group(1) == "es"
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = sent.get_body(("plain",)).get_content()
    html = sent.get_body(("html",)).get_content()
    assert f"Dejar de recibir estos correos: {header.group(0)}" in text
    assert f'href="{header.group(0)}"' in html
    row.refresh_from_db()
    assert not STOP_LINK.search(row.body_text + row.body_html + row.unsubscribe_url)


def test_the_stop_link_asks_on_get_and_stops_on_a_post_without_javascript_or_csrf(
    incident, smtp_sink
):
    follow(incident)
    update(incident)
    outbox.deliver_message(message_id=mail_to("luis@example.com").pk)
    link = STOP_LINK.search(smtp_sink.messages[0].get_body(("plain",)).get_content()).group(0)
    mail_client = Client(enforce_csrf_checks=True)

    asked = mail_client.get(path_of(link))  # a link scanner, or the person reading
    assert asked.status_code == 200 and IncidentFollower.objects.get().stopped_at is None
    assert f'action="{path_of(link)}"' in asked.text and 'method="post"' in asked.text
    assert "¿Quieres que luis@example.com deje de recibir novedades" in asked.text

    # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the header's link.
    stopped = mail_client.post(path_of(link), {"List-Unsubscribe": "One-Click"})
    assert stopped.status_code == 200 and "No volveremos a escribir" in stopped.text
    assert "En el aviso encontrarás todas las novedades" in stopped.text  # tú, not "su aviso"
    stopped_at = IncidentFollower.objects.get().stopped_at
    assert stopped_at is not None

    again = mail_client.post(path_of(link))  # twice: the same answer, nothing changes
    assert again.status_code == 200 and "No volveremos a escribir" in again.text
    assert IncidentFollower.objects.get().stopped_at == stopped_at
    reopened = mail_client.get(path_of(link))  # the link says so, and asks nothing more
    assert "No volveremos a escribir" in reopened.text
    assert f'action="{path_of(link)}"' not in reopened.text

    update(incident, phase="monitoring")
    update(incident, phase="resolved", notify=False)  # not even the resolution
    assert OutgoingMessage.objects.filter(recipient="luis@example.com").count() == 1


def test_the_last_email_carries_the_headers_and_says_it_is_the_last(incident, smtp_sink):
    follow(incident, language="en")
    update(incident, phase="resolved", notify=False)

    outbox.deliver_message(message_id=mail_to("luis@example.com").pk)

    (sent,) = smtp_sink.messages
    assert STOP_LINK.fullmatch(str(sent["List-Unsubscribe"]).strip()[1:-1]).group(1) == "en"
    text = sent.get_body(("plain",)).get_content()
    assert "This is the last email about it." in text and "Stop these emails" not in text
    link = path_of(str(sent["List-Unsubscribe"]).strip()[1:-1])
    page = Client().get(link)
    assert "there is nothing to stop" in page.text and f'action="{link}"' not in page.text


def test_each_follower_gets_their_own_link_when_a_chunk_sends_their_mail(incident, smtp_sink):
    follow(incident, "luis@example.com")
    follow(incident, "marta@example.com", language="en")
    update(incident)
    ids = list(OutgoingMessage.objects.filter(kind="notice").values_list("pk", flat=True))

    # The sweeper's path: one chunk over one connection (outbox.deliver_messages).
    assert outbox.deliver_messages(message_ids=ids)["sent"] == 2

    links = {str(m["To"]): str(m["List-Unsubscribe"]).strip()[1:-1] for m in smtp_sink.messages}
    for email, follower in [(f.email, f) for f in IncidentFollower.objects.all()]:
        assert incidents.follower_for_stop(token=links[email].rsplit("/", 2)[-2]) == follower
    assert links["marta@example.com"].startswith("http://testserver/en/notices/stop/")


def followed_by(incident, count: int) -> list[IncidentFollower]:
    """``count`` followers written at once (following one by one is rate-limited per address)."""
    return IncidentFollower.objects.bulk_create(
        IncidentFollower(announcement=incident, email=f"f{n}@example.com",
                         language="es" if n % 2 else "en", created_at=incident.published_at)
        for n in range(count)
    )  # fmt: skip


def test_an_update_mails_many_followers_in_a_few_queries_and_chunks(
    incident, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """A big outage gathers thousands of followers, and the update is posted from the desk in
    a person's request: its rows are written in batches, not one by one."""
    followed_by(incident, 1200)

    # A query per few dozen rows at most (SQLite caps an INSERT at 999 values), not 2 per email.
    with django_capture_on_commit_callbacks() as queued, django_assert_max_num_queries(80):
        update(incident)

    rows = OutgoingMessage.objects.filter(kind="notice", recipient__startswith="f")
    assert rows.count() == 1200 and rows.filter(language="en").count() == 600
    sends = [callback for callback in queued if "send_message" in str(callback)]
    assert len(sends) == -(-1200 // outbox.SEND_BATCH_SIZE)  # chunks, not a task per email

    with django_assert_max_num_queries(80):
        update(incident, phase="monitoring")  # a second update: each follower mailed again
    assert rows.count() == 2400


def test_the_same_update_mailed_twice_writes_and_queues_nothing_more(
    incident, django_capture_on_commit_callbacks
):
    followed_by(incident, 3)
    posted = update(incident)
    with django_capture_on_commit_callbacks() as queued:
        assert incidents.mail_incident_followers(update=posted) == 3
    assert queued == [] and OutgoingMessage.objects.filter(kind="notice").count() == 3


def test_a_chunk_of_follower_mail_mints_its_stop_links_in_one_query(
    incident, smtp_sink, django_assert_max_num_queries
):
    followed_by(incident, 40)
    update(incident)
    ids = list(OutgoingMessage.objects.filter(kind="notice").values_list("pk", flat=True))

    # Claim, suppression list, the links at once, then one write per email sent: 40 + a few.
    with django_assert_max_num_queries(40 + 8):
        assert outbox.deliver_messages(message_ids=ids)["sent"] == 40

    links = {str(m["To"]): str(m["List-Unsubscribe"]).strip()[1:-1] for m in smtp_sink.messages}
    for follower in IncidentFollower.objects.all():
        token = links[follower.email].rsplit("/", 2)[-2]
        assert incidents.follower_for_stop(token=token) == follower
        assert f"/{follower.language}/notices/stop/" in links[follower.email]


def test_a_stop_placeholder_typed_into_a_mail_to_someone_else_mints_nothing(incident, smtp_sink):
    follower = follow(incident)
    forged = outbox.queue_email(
        dedupe_key="forged", recipient="attacker@example.com", language="es", subject="Hola",
        text=f"Para: %%LINK:{incidents.STOP_LINK_SCOPE}:{follower.pk}%%",
        unsubscribe_url=outbox.link_placeholder(incidents.STOP_LINK_SCOPE, follower.pk),
    )  # fmt: skip

    assert outbox.deliver_message(message_id=forged.pk) == "failed"
    assert smtp_sink.messages == []


@pytest.mark.parametrize("token", ["abc", "x" * 300, "eyJpZCI6MX0:1abc:def"])
def test_a_stop_link_that_does_not_work_answers_a_clear_page(incident, token):
    follow(incident)
    for method in ("get", "post"):
        response = getattr(Client(), method)(f"/es/notices/stop/{token}/")
        assert response.status_code == 400 and "Este enlace no funciona" in response.text
    assert IncidentFollower.objects.get().stopped_at is None


def test_a_subscribers_link_does_not_stop_a_follower_nor_the_reverse(incident):
    from django.core import signing

    follower = follow(incident)
    value = {"id": follower.pk, "email": follower.email}
    other_salt = signing.dumps(value, salt="notifications.subscribe.unsubscribe")
    assert Client().post(f"/es/notices/stop/{other_salt}/").status_code == 400
    assert IncidentFollower.objects.get().stopped_at is None


def test_following_again_after_stopping_starts_the_news_again(incident):
    follower = follow(incident)
    incidents.stop_following(token=path_of(incidents.stop_url(follower)).split("/")[-2])
    assert IncidentFollower.objects.get().stopped_at is not None

    assert follow(incident).stopped_at is None
    update(incident)
    assert OutgoingMessage.objects.filter(recipient="luis@example.com").count() == 1


def test_the_notice_of_a_live_problem_offers_to_follow_it_in_one_step(client, incident):
    """Whoever reaches the notice (from a banner, search or a feed) can ask to hear when it
    is fixed right there, without JavaScript, not only on the contact form."""
    page = client.get(incident.get_absolute_url()).text
    form = re.search(r'<form method="post" action="/es/contact/follow/".*?</form>', page, re.S)
    assert form and f'name="incident" value="{incident.pk}"' in form.group(0)
    assert 'type="email"' in form.group(0) and "Avísame cuando esté arreglado" in form.group(0)
    assert "Desde el " in page  # since when

    done = client.post("/es/contact/follow/", {"incident": incident.pk, "email": "eva@example.com"})
    assert done.status_code == 200 and "Hecho: te escribiremos" in done.text
    assert IncidentFollower.objects.get().email == "eva@example.com"

    update(incident, phase="resolved", notify=False)
    assert "/es/contact/follow/" not in client.get(incident.get_absolute_url()).text


def test_a_holiday_notice_offers_nothing_to_follow(client):
    holiday = publish_announcement(
        announcement=AnnouncementFactory(kind=Announcement.Kind.HOLIDAY), actor=None
    )
    assert "/contact/follow/" not in client.get(holiday.get_absolute_url()).text
