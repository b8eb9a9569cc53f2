"""The announcements desk reads through selectors and parses with forms."""

import pytest
from django.contrib.auth.models import Group

from notifications import selectors
from notifications.forms import EmailToMyselfForm
from notifications.models import Announcement, Dispatch
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def notice(slug: str) -> Announcement:
    return Announcement.objects.create(
        slug=slug, kind="general", title_es=slug, title_en=slug, body_es="x", body_en="x"
    )


def test_desk_reads_newest_first():
    old, new = notice("old"), notice("new")
    first = Dispatch.objects.create(announcement=new, dedupe_key="announcement:new:1")
    second = Dispatch.objects.create(announcement=new, dedupe_key="announcement:new:2")

    assert list(selectors.desk_announcements()) == [new, old]
    assert [item.dispatch for item in selectors.announcement_progress(new)] == [second, first]
    assert selectors.announcement_for_desk(old.pk) == old
    assert selectors.dispatch_for_desk(first.pk) == first
    assert selectors.announcement_for_desk(0) is None and selectors.dispatch_for_desk(0) is None


def test_a_test_email_is_in_spanish_unless_english_is_asked_for():
    assert EmailToMyselfForm({"language": "en"}).chosen_language() == "en"
    assert EmailToMyselfForm({"language": "fr"}).chosen_language() == "es"
    assert EmailToMyselfForm({}).chosen_language() == "es"


def test_unknown_announcements_and_dispatches_are_404(client):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name="Announcers"))
    client.force_login(user)

    assert client.get("/es/desk/notices/999/").status_code == 404
    assert client.post("/es/desk/notices/999/publish/").status_code == 404
    assert client.get("/es/desk/notices/dispatch/999/progress/").status_code == 404
