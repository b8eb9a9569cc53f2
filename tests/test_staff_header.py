"""Every staff page has the same header (issue 15, item 5): who is signed in, sign-out, the case
search and the links between the desk, the notices desk and the insights, each shown to those
who may open it; no customer banners or customer navigation. In Spanish and English."""

import re

import pytest
from django.contrib.auth.models import Group, Permission

from notifications.services.announcements import publish_announcement
from tests.factories import AnnouncementFactory, StaffFactory

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["desk/", "desk/preferences/", "desk/notices/", "desk/notices/new/", "desk/insights/"]
WORDS = {
    "es": {"signed_in": "Sesión iniciada como Marta", "sign_out": "Cerrar sesión"},
    "en": {"signed_in": "Signed in as Marta", "sign_out": "Sign out"},
}


def header_of(html: str) -> str:
    return html.split("<header", 1)[1].split("</header>", 1)[0]


@pytest.fixture
def lead(client):
    """A team lead: the desk, the notices desk and the insights."""
    user = StaffFactory(username="marta", first_name="Marta")
    user.user_permissions.add(Permission.objects.get(codename="change_case"))
    user.groups.add(*Group.objects.filter(name__in=["Announcers", "Insights readers"]))
    client.force_login(user)
    return user


@pytest.fixture
def live_notice():
    """A published incident: its banner is on every customer page, never on a staff page."""
    notice = AnnouncementFactory.create(title_es="Pagos caídos", title_en="Payments down")
    publish_announcement(announcement=notice, actor=None)
    return notice


@pytest.mark.parametrize("language", ["es", "en"])
def test_every_staff_page_has_the_desk_header_and_no_customer_banners(
    client, lead, live_notice, language
):
    assert "Pagos caídos" in client.get("/es/").text  # customers see it
    current = {
        "desk/": "/desk/",
        "desk/preferences/": "/desk/preferences/",
        "desk/notices/": "/desk/notices/",
        "desk/notices/new/": "/desk/notices/",
        "desk/insights/": "/desk/insights/",
    }
    for path in STAFF_PAGES:
        response = client.get(f"/{language}/{path}")
        assert response.status_code == 200, path
        header = header_of(response.text)
        assert WORDS[language]["signed_in"] in header, path
        assert WORDS[language]["sign_out"] in header and 'action="/admin/logout/"' in header
        assert re.search(rf'<form[^>]*role="search"[^>]*action="/{language}/desk/"', header)
        for link in ["/desk/", "/desk/notices/", "/desk/insights/", "/desk/preferences/"]:
            assert f'href="/{language}{link}"' in header, (path, link)
        assert re.search(rf'href="/{language}{current[path]}" aria-current="page"', header), path
        assert header.count('aria-current="page"') == 1, path
        assert 'id="banners"' not in response.text, path
        assert "Pagos caídos" not in header and 'class="banner' not in response.text, path
        assert f'href="/{language}/contact/"' not in header


def test_an_announcer_sees_only_what_they_may_open(client):
    announcer = StaffFactory(first_name="Inés")
    announcer.groups.add(Group.objects.get(name="Announcers"))
    client.force_login(announcer)

    header = header_of(client.get("/en/desk/notices/").text)

    assert "Signed in as Inés" in header and 'href="/en/desk/notices/"' in header
    assert 'role="search"' not in header  # the case search needs the desk
    assert 'href="/en/desk/"' not in header and "/desk/insights/" not in header
    assert "alert" not in header
