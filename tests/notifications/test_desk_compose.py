"""The notices desk's composer (issue 15, items 7 to 9): affected areas chosen from the contact
reasons, phases of the notice's kind, placeholders that block publishing, and the home card of a
live incident with its latest update. In both languages."""

import re

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone, translation
from django.utils.text import capfirst

from notifications.forms import AnnouncementForm, UpdateForm
from notifications.models import Announcement
from notifications.services import announcements as services
from tests.factories import (
    AnnouncementFactory,
    ContactReasonFactory,
    ReasonGroupFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db
LANGUAGES = ["es", "en"]


@pytest.fixture
def announcer(client):
    user = StaffFactory(email="ana.staff@example.com")
    user.groups.add(Group.objects.get(name="Announcers"))
    client.force_login(user)
    return user


@pytest.fixture
def reasons(db):
    payments = ReasonGroupFactory(code="payments", name_es="Pagos", name_en="Payments")
    return {
        "payments": payments,
        "card": ContactReasonFactory(
            code="card-declined",
            parent=payments,
            name_es="Me rechazan la tarjeta",
            name_en="My card is declined",
        ),
        "invoice": ContactReasonFactory(
            code="invoice-wrong",
            parent=payments,
            name_es="La factura está mal",
            name_en="The invoice is wrong",
        ),
    }


def _fields(**overrides) -> dict:
    fields = {
        "kind": "incident",
        "severity": 2,
        "title_es": "Pagos con tarjeta caídos",
        "title_en": "Card payments down",
        "body_es": "Algunos pagos con tarjeta fallan desde las 10:00.",
        "body_en": "Some card payments fail since 10:00.",
    }
    fields.update(overrides)
    return fields


@pytest.mark.parametrize("language", LANGUAGES)
def test_affected_areas_are_contact_reasons_to_tick_grouped_by_parent(
    client, announcer, reasons, language
):
    page = client.get(f"/{language}/desk/notices/new/?template=incident")

    text = page.text
    group = re.search(
        r'<fieldset class="checkbox-group"><legend>(.*?)</legend>(.*?)</fieldset>', text, re.S
    )
    names = {"es": ("Pagos", "Me rechazan la tarjeta"), "en": ("Payments", "My card is declined")}
    assert group and group.group(1) == names[language][0]
    assert names[language][1] in group.group(2)
    assert 'type="checkbox" name="areas" value="card-declined"' in group.group(2)
    assert 'value="payments"' in group.group(2)  # the whole group
    assert 'name="areas_text"' not in text  # no codes to type

    client.post(f"/{language}/desk/notices/new/", _fields(areas=["card-declined", "payments"]))

    assert Announcement.objects.get().areas == ["card-declined", "payments"]


def test_an_area_that_is_not_a_contact_reason_is_refused(client, announcer, reasons):
    page = client.post("/en/desk/notices/new/", _fields(areas=["made-up-code"]))

    assert page.status_code == 200 and "areas" in page.context["form"].errors
    assert not Announcement.objects.exists()


def test_a_saved_code_no_longer_offered_stays_ticked(reasons):
    notice = AnnouncementFactory(areas=["retired-reason"])
    form = AnnouncementForm(instance=notice, area_choices=[])

    assert ("retired-reason", "retired-reason") in form.fields["areas"].choices[0][1]
    assert form["areas"].value() == ["retired-reason"]


@pytest.mark.parametrize(
    ("kind", "phases"),
    [
        ("incident", ["investigating", "identified", "monitoring", "resolved"]),
        ("maintenance", ["scheduled", "in_progress", "completed"]),
        ("holiday", None),
        ("general", None),
    ],
)
def test_the_phases_offered_for_an_update_are_those_of_the_kind(kind, phases):
    form = UpdateForm(kind=kind)

    if phases is None:
        assert "phase" not in form.fields
    else:
        assert [value for value, _label in form.fields["phase"].choices] == phases
    refused = UpdateForm({"phase": "completed", "body_es": "a", "body_en": "b"}, kind="incident")
    assert not refused.is_valid() and "phase" in refused.errors


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_update_form_of_a_published_incident_offers_only_incident_phases(
    client, announcer, language
):
    notice = services.publish_announcement(announcement=AnnouncementFactory(), actor=None)

    page = client.get(f"/{language}/desk/notices/{notice.pk}/")

    phases = [value for value, _label in page.context["update_form"].fields["phase"].choices]
    assert phases == ["investigating", "identified", "monitoring", "resolved"]
    assert 'value="completed"' not in page.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_published_notice_no_longer_offers_save_draft(client, announcer, language):
    draft = AnnouncementFactory()
    draft.save()
    with translation.override(language):
        save_draft, save_changes = (
            translation.gettext("Save draft"),
            translation.gettext("Save changes"),
        )

        will_email = translation.ngettext(
            "It will be emailed to %(counter)s subscriber.",
            "It will be emailed to %(counter)s subscribers.",
            0,
        ) % {"counter": 0}

    page = client.get(f"/{language}/desk/notices/{draft.pk}/").text
    assert save_draft in page and will_email in page

    services.publish_announcement(announcement=draft, actor=None)
    page = client.get(f"/{language}/desk/notices/{draft.pk}/").text
    assert save_draft not in page and save_changes in page
    assert will_email not in page  # it was: the emails' progress says how it goes


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_left_unfilled_block_publishing_with_a_clear_message(
    client, announcer, language
):
    template = client.get(f"/{language}/desk/notices/new/?template=incident")
    fields = dict(template.context["form"].initial)
    fields.update(title_es="Pagos con tarjeta caídos", title_en="Card payments down")
    client.post(f"/{language}/desk/notices/new/", fields)  # a draft may keep them
    notice = Announcement.objects.get()
    with translation.override(language):
        message = translation.gettext("Fill in the parts marked **…** before publishing.")

    page = client.get(f"/{language}/desk/notices/{notice.pk}/")
    assert 'id="unfilled-placeholders"' in page.text
    answer = client.post(f"/{language}/desk/notices/{notice.pk}/publish/", {}, follow=True)

    notice.refresh_from_db()
    assert notice.publication == Announcement.Publication.DRAFT
    shown = [str(item) for item in answer.context["messages"]]
    assert any(message in item for item in shown), shown
    with translation.override(language):
        assert capfirst(translation.gettext("text (Spanish)")) in shown[0]

    fields.update(body_es="Desde las 10:00 fallan los pagos.", body_en="Since 10:00 payments fail.")
    client.post(f"/{language}/desk/notices/{notice.pk}/", fields)
    client.post(f"/{language}/desk/notices/{notice.pk}/publish/", {})
    notice.refresh_from_db()
    assert notice.publication == Announcement.Publication.PUBLISHED


def test_a_published_notice_cannot_be_edited_back_to_placeholders(client, announcer):
    notice = services.publish_announcement(announcement=AnnouncementFactory(), actor=None)

    page = client.post(
        f"/en/desk/notices/{notice.pk}/", _fields(body_en="Since **…** payments fail.")
    )

    assert "body_en" in page.context["form"].errors
    notice.refresh_from_db()
    assert "**…**" not in notice.body_en


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_home_card_of_a_live_incident_shows_its_latest_update_and_time(client, language):
    notice = services.publish_announcement(announcement=AnnouncementFactory(), actor=None)
    posted = timezone.now()
    services.post_update(
        announcement=notice,
        phase="investigating",
        body_es="Seguimos investigando.",
        body_en="Still investigating.",
        notify_subscribers=False,
        actor=None,
        now=posted - timezone.timedelta(minutes=30),
    )
    services.post_update(
        announcement=notice,
        phase="identified",
        body_es="Hemos encontrado la causa: **un proveedor** de pagos.",
        body_en="We found the cause: **a payment provider**.",
        notify_subscribers=False,
        actor=None,
        now=posted,
    )

    page = client.get(f"/{language}/")

    card = page.text.split('id="notices-title"')[1].split("</section>")[0]
    latest = {"es": "Hemos encontrado la causa: un proveedor de pagos.",
              "en": "We found the cause: a payment provider."}[language]  # fmt: skip
    assert latest in card and "**" not in card
    assert "Still investigating" not in card and "Seguimos investigando" not in card
    local = timezone.localtime(posted)
    assert f'<time datetime="{local:%Y-%m-%dT%H:%M}' in card
    assert local.strftime("%H:%M") in card
    with translation.override(language):
        assert translation.gettext("Latest update") in card
