"""What landed with the desk and the contact form, tried as an outsider and as staff without
the desk's permission would: no case handed to the wrong person, no live link kept in stored
text, no script from stored text, CSRF on every new form, no redirect off the site."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from cases import selectors, services
from cases.models import Case, CaseEvent, DeskAlert, ReplyDraft, SavedReply
from notifications.models import Announcement, OutgoingMessage
from notifications.services.announcements import publish_announcement
from tests.factories import AnnouncementFactory, StaffFactory, TeamFactory

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _desk_user(**fields):
    user = StaffFactory(**fields)
    user.user_permissions.add(Permission.objects.get(codename="change_case"))
    return user


@pytest.fixture
def agent(client):
    user = _desk_user(username="marta", email="marta@example.com")
    client.force_login(user)
    return user


def _live_link(case) -> str:
    return services.issue_access_link(case=case)


# --- Alerts and assignment: only for staff who may open the case ------------------------------


def test_alerts_reach_only_team_members_who_may_open_the_case(make_case):
    team = TeamFactory()
    announcer = StaffFactory(email="announcer@example.com")  # staff, no desk permission
    announcer.groups.add(Group.objects.get_or_create(name="Announcers")[0])
    by_group = StaffFactory(email="grupo@example.com")
    desk_group = Group.objects.create(name="Desk")
    desk_group.permissions.add(Permission.objects.get(codename="change_case"))
    by_group.groups.add(desk_group)
    direct = _desk_user(email="directo@example.com")
    team.members.add(announcer, by_group, direct)
    case = make_case()
    Case.objects.filter(pk=case.pk).update(team=team, assignee=None)

    services.add_customer_message(case=Case.objects.get(pk=case.pk), body="Hola")

    assert set(DeskAlert.objects.values_list("user__email", flat=True)) == {
        "grupo@example.com",
        "directo@example.com",
    }
    sent_to = set(
        OutgoingMessage.objects.filter(dedupe_key__startswith="desk-alert:").values_list(
            "recipient", flat=True
        )
    )
    assert "announcer@example.com" not in sent_to
    assert announcer not in selectors.desk_staff() and by_group in selectors.desk_staff()


def test_a_case_cannot_be_assigned_to_staff_without_the_desk(client, agent, make_case):
    case = make_case()
    announcer = StaffFactory(username="anuncios")
    page = client.get(f"/es/desk/cases/{case.reference}/")
    assert "anuncios" not in page.text

    client.post(f"/es/desk/cases/{case.reference}/assign/", {"assignee": announcer.pk})

    assert Case.objects.get(pk=case.pk).assignee_id != announcer.pk


# --- Permissions: being staff is not enough ---------------------------------------------------


def test_staff_without_the_desk_permission_get_403_on_every_desk_url(make_case):
    case = make_case()
    ref = case.reference
    staff = Client()
    staff.force_login(StaffFactory())
    anonymous = Client()
    gets = [
        "/es/desk/",
        f"/es/desk/cases/{ref}/",
        "/es/desk/preferences/",
        f"/es/desk/cases/{ref}/?articles=tarjeta",
        "/es/desk/notices/",
        "/es/desk/insights/",
    ]
    posts = ["/es/desk/bulk-status/", f"/es/desk/cases/{ref}/reply/", f"/es/desk/cases/{ref}/note/",
             f"/es/desk/cases/{ref}/status/", f"/es/desk/cases/{ref}/assign/",
             f"/es/desk/cases/{ref}/draft/", f"/es/desk/cases/{ref}/insert/",
             "/es/desk/preferences/", "/es/desk/notices/new/"]  # fmt: skip
    for url in gets:
        assert staff.get(url).status_code == 403, url
        assert anonymous.get(url).status_code == 302, url
    for url in posts:
        assert staff.post(url, {"body": "x", "status": "closed"}).status_code == 403, url
        assert anonymous.post(url, {"body": "x"}).status_code == 302, url
    assert not ReplyDraft.objects.exists()
    assert not CaseEvent.objects.exclude(kind=CaseEvent.Kind.OPENED).exists()


def test_a_draft_is_only_its_writers(client, agent, make_case):
    case = make_case()
    other = _desk_user(username="luis")
    ReplyDraft.objects.create(user=other, case=case, body="Borrador privado de Luis")

    page = client.get(f"/es/desk/cases/{case.reference}/")

    assert "Borrador privado de Luis" not in page.text


def test_every_new_desk_form_needs_its_csrf_token(agent, make_case):
    case = make_case()
    ref = case.reference
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent)
    for url in [
        f"/es/desk/cases/{ref}/draft/",
        f"/es/desk/cases/{ref}/insert/",
        f"/es/desk/cases/{ref}/reply/",
        "/es/desk/preferences/",
        "/es/desk/bulk-status/",
    ]:
        assert browser.post(url, {"body": "x", "email_alerts": ""}).status_code == 403, url
    outsider = Client(enforce_csrf_checks=True)
    for url in ["/es/contact/", "/es/contact/follow/", "/es/contact/solved/", "/es/cases/forget/",
                "/i18n/setlang/"]:  # fmt: skip
        assert outsider.post(url, {"email": "a@example.com"}).status_code == 403, url
    assert not ReplyDraft.objects.exists()


# --- No live link in stored text --------------------------------------------------------------


def test_a_pasted_case_link_is_never_stored(client, agent, make_case):
    case = make_case()
    link = _live_link(case)
    relative = "/" + link.split("://", 1)[1].split("/", 1)[1]
    admin = Client()
    admin.force_login(StaffFactory(is_superuser=True))
    admin.post(
        "/admin/cases/savedreply/add/",
        {"title": "Enlace", "language": "es", "body": f"Tu caso: {link}", "position": 0,
         "active": "on"},
    )  # fmt: skip
    client.post(f"/es/desk/cases/{case.reference}/draft/", {"body": f"Mira {relative}"})
    client.post(f"/es/desk/cases/{case.reference}/note/", {"body": f"Enlace: {link}"})
    client.post(f"/es/desk/cases/{case.reference}/reply/", {"body": f"Abre {link} ya"})
    services.add_customer_message(case=Case.objects.get(pk=case.pk), body=f"Mi enlace {link}")

    assert SavedReply.objects.get().body == "Tu caso: {case_link}"
    texts = [*CaseEvent.objects.values_list("body", flat=True), SavedReply.objects.get().body]
    texts += list(ReplyDraft.objects.values_list("body", flat=True))
    texts += list(OutgoingMessage.objects.values_list("body_text", flat=True))
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert not any(token in text for text in texts)
    assert any("{case_link}" in text for text in CaseEvent.objects.values_list("body", flat=True))


def test_a_case_link_typed_into_the_contact_form_is_not_kept(client, make_case, reason):
    other = make_case()
    link = _live_link(other)
    client.post(
        "/es/contact/",
        {"reason": reason.pk, "subject": "Otro", "description": f"Como en {link}", "name": "Ana",
         "email": "ana@example.com", "submission": "x" * 24},
    )  # fmt: skip
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert not Case.objects.filter(description__contains=token).exists()


# --- Stored text is text ----------------------------------------------------------------------


def test_saved_replies_drafts_and_messages_are_escaped_on_the_desk(client, agent, make_case):
    case = make_case(customer_name=SCRIPT, subject=SCRIPT)
    reply = SavedReply.objects.create(title=SCRIPT, language="es", body=SCRIPT)
    ReplyDraft.objects.create(user=agent, case=case, body=SCRIPT)
    services.add_customer_message(case=case, body=SCRIPT)

    for page in [
        client.get(f"/es/desk/cases/{case.reference}/"),
        client.post(
            f"/es/desk/cases/{case.reference}/insert/", {"saved_reply": reply.pk}, follow=True
        ),
        client.post(
            f"/es/desk/cases/{case.reference}/insert/",
            {"saved_reply": reply.pk},
            HTTP_HX_REQUEST="true",
        ),
        client.get("/es/desk/", {"q": "script"}),
    ]:
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text


def test_incident_text_on_the_contact_form_is_escaped(client, reason):
    incident = publish_announcement(
        announcement=AnnouncementFactory(
            kind=Announcement.Kind.INCIDENT, title_es=SCRIPT, body_es=SCRIPT,
            areas=[reason.parent.code],
        ),
        actor=StaffFactory(),
    )  # fmt: skip
    for page in [
        client.get("/es/contact/", {"reason": reason.pk}),
        client.get("/es/contact/expectation/", {"reason": reason.pk}),
        client.get("/es/contact/follow/", {"incident": incident.pk}),
        client.get("/es/contact/suggestions/", {"subject": "script alert", "reason": reason.pk}),
    ]:
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text


# --- Hostile input on the new public URLs -----------------------------------------------------


@pytest.mark.parametrize(
    "incident", ["", "abc", "-1", "0", "99999999999999999999", "1e3", "1;drop", "\x00", "%00"]
)
def test_the_follow_page_answers_any_incident_parameter(client, incident):
    assert client.get("/es/contact/follow/", {"incident": incident}).status_code == 200
    response = client.post("/es/contact/follow/", {"incident": incident, "email": "a@b.es"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example.com/", "//evil.example.com/", "/\\evil.example.com", "\\\\evil.com",
     "https:evil.example.com", "/%2F%2Fevil.example.com/", "javascript:alert(1)",
     "/es/cases/%2F%2Fevil.example.com/", " //evil.example.com"],
)  # fmt: skip
def test_the_language_switch_never_leaves_the_site(client, next_url):
    response = client.post("/i18n/setlang/", {"language": "en", "next": next_url})
    location = response["Location"]
    assert response.status_code == 302
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil" not in location.split("?", 1)[0] or location.startswith("/en/"), location
