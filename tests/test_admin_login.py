"""The admin sign-in is throttled: guessing passwords locks the guesser out, saying nothing."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from foundation.admin_login import FAILURES_PER_USERNAME, LOCKOUT_SECONDS
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOCKED_OUT = "Demasiados intentos fallidos de inicio de sesión"


def sign_in(client: Client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        HTTP_ACCEPT_LANGUAGE="es",
    )


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_twenty_five_wrong_passwords_then_the_right_one_is_refused_for_the_lock_out(client):
    staff = StaffFactory(username="admin")
    for number in range(25):
        sign_in(client, "admin", f"guess-{number}")

    response = sign_in(client, "admin", PASSWORD)

    assert not signed_in(client)
    assert LOCKED_OUT in response.text
    with time_machine.travel(timezone.now() + timedelta(seconds=LOCKOUT_SECONDS - 60)):
        sign_in(client, "admin", PASSWORD)
        assert not signed_in(client)
    with time_machine.travel(timezone.now() + timedelta(seconds=LOCKOUT_SECONDS + 60)):
        response = sign_in(client, "admin", PASSWORD)
        assert signed_in(client) and response.status_code == 302
    assert staff.is_staff


def test_the_lock_out_message_reveals_nothing_about_the_account(client):
    StaffFactory(username="admin")
    for number in range(25):
        sign_in(client, "admin", f"guess-{number}")
    right = sign_in(client, "admin", PASSWORD)
    wrong = sign_in(client, "admin", "still-guessing")
    unknown = sign_in(client, "nobody", "whatever")

    messages = [_error(response.text) for response in (right, wrong, unknown)]
    assert messages[0] == messages[1] == messages[2]
    assert LOCKED_OUT in messages[0]


def _error(page: str) -> str:
    start = page.index('class="errornote"')
    return page[start : page.index("</p>", start)]


def test_guessing_one_account_from_many_addresses_locks_it_too(client):
    StaffFactory(username="admin")
    for number in range(FAILURES_PER_USERNAME):
        sign_in(Client(), "admin", f"guess-{number}", address=f"198.51.100.{number}")

    sign_in(client, "admin", PASSWORD, address="192.0.2.1")

    assert not signed_in(client)


def test_a_few_typos_do_not_lock_anyone_out(client):
    StaffFactory(username="admin")
    for number in range(3):
        sign_in(client, "admin", f"typo-{number}")

    response = sign_in(client, "admin", PASSWORD)

    assert response.status_code == 302 and signed_in(client)
