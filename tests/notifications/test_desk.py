import pytest
from django.contrib.auth.models import Group

from notifications.models import Announcement, Dispatch, OutgoingMessage
from tests.conftest import assert_page_queries
from tests.factories import (
    ContactReasonFactory,
    ReasonGroupFactory,
    StaffFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db
DESK_NOTICES_QUERIES = 5  # session, user, 2 permissions, announcements


@pytest.fixture
def announcer(client):
    user = StaffFactory(email="ana.staff@example.com")
    user.groups.add(Group.objects.get(name="Announcers"))
    client.force_login(user)
    return user


def test_compose_from_the_outage_template_preview_and_publish(client, announcer):
    SubscriberFactory.create_batch(3)
    ContactReasonFactory(code="card-declined", parent=ReasonGroupFactory(code="payments"))
    form = client.get("/es/desk/notices/new/?template=incident")
    assert "Estamos investigando un problema con" in form.text

    fields = {key: value for key, value in form.context["form"].initial.items()}
    fields.update(
        title_es="Pagos con tarjeta caídos",
        title_en="Card payments down",
        body_es="Desde las 10:00 algunos pagos con tarjeta fallan.",
        body_en="Since 10:00 some card payments fail.",
        areas=["payments"],
    )
    saved = client.post("/es/desk/notices/new/", fields, follow=True)
    announcement = Announcement.objects.get()
    assert announcement.publication == Announcement.Publication.DRAFT
    assert (
        "Pagos con tarjeta caídos" in saved.text and "Card payments down" in saved.text
    )  # both previews
    assert saved.context["reach"] == 3

    client.post(f"/es/desk/notices/{announcement.pk}/publish/", {"publish_at": ""})

    announcement.refresh_from_db()
    assert announcement.publication == Announcement.Publication.PUBLISHED
    assert announcement.areas == ["payments"]
    assert Dispatch.objects.filter(announcement=announcement).count() == 1


def test_progress_fragment_polls_until_done(client, announcer):
    announcement = Announcement.objects.create(
        slug="a", kind="general", title_es="A", title_en="A", body_es="a", body_en="a"
    )
    dispatch = Dispatch.objects.create(announcement=announcement, dedupe_key="announcement:x")

    fragment = client.get(
        f"/es/desk/notices/dispatch/{dispatch.pk}/progress/", HTTP_HX_REQUEST="true"
    )

    assert 'hx-trigger="every 2s"' in fragment.text and "<html" not in fragment.text


def test_send_a_test_email_to_myself(client, announcer):
    announcement = Announcement.objects.create(
        slug="b", kind="general", title_es="B", title_en="B", body_es="b", body_en="b"
    )

    client.post(f"/es/desk/notices/{announcement.pk}/test/", {"language": "en"})

    message = OutgoingMessage.objects.get(kind="test")
    assert message.recipient == "ana.staff@example.com" and message.subject.startswith("[TEST]")


def test_staff_without_the_announcers_permission_get_403(client):
    client.force_login(StaffFactory())

    assert client.get("/es/desk/notices/").status_code == 403


def test_announcements_desk_query_count_does_not_grow_with_the_notices(client, announcer):
    def notice(slug: str) -> Announcement:
        return Announcement.objects.create(
            slug=slug, kind="general", title_es=slug, title_en=slug, body_es="x", body_en="x"
        )

    Dispatch.objects.create(announcement=notice("a"), dedupe_key="announcement:a")
    client.get("/es/desk/notices/")
    with assert_page_queries(DESK_NOTICES_QUERIES):
        client.get("/es/desk/notices/")
    for number in range(8):
        Dispatch.objects.create(
            announcement=notice(f"n{number}"), dedupe_key=f"announcement:n{number}"
        )
    client.get("/es/desk/notices/")  # the changes made every process read the notices again
    with assert_page_queries(DESK_NOTICES_QUERIES):
        assert client.get("/es/desk/notices/").status_code == 200
