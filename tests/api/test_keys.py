"""API keys: created in the admin and shown once, kept as hashes, scoped, limited, expiring
and revocable; every write recorded as done by its key."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from api import services
from api.models import ApiKey, ApiWrite, Scope
from tests.api.conftest import assert_problem
from tests.factories import StaffFactory, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = StaffFactory()
    grant(admin, "api.add_apikey", "api.change_apikey", "api.view_apikey", "api.view_apiwrite")
    client.force_login(admin)
    return client


def _create_in_admin(admin_client, **fields):
    data = {
        "name": "Order system",
        "scopes": ["cases:read", "cases:write"],
        "rate_limit_per_minute": "120",
        "expires_at_0": "",
        "expires_at_1": "",
        **fields,
    }
    return admin_client.post("/admin/api/apikey/add/", data)


def test_a_key_created_in_the_admin_is_shown_once_and_kept_only_as_a_hash(admin_client, api):
    response = _create_in_admin(admin_client)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    assert secret.startswith("hc_") and secret in response.content.decode()
    key = ApiKey.objects.get()
    assert key.scopes == ["cases:read", "cases:write"]
    assert secret.startswith(f"hc_{key.prefix}_")
    assert secret not in str(list(ApiKey.objects.values()))
    assert key.key_hash != secret and len(key.key_hash) == 64
    # Afterwards only the prefix is shown.
    change = admin_client.get(f"/admin/api/apikey/{key.pk}/change/").content.decode()
    listing = admin_client.get("/admin/api/apikey/").content.decode()
    assert secret not in change and secret not in listing
    assert f"hc_{key.prefix}_" in listing
    # And it works.
    assert api.get("/contact-reasons", key=secret).status_code == 200


def test_the_key_acts_as_its_own_user_who_can_never_sign_in(key):
    user = ApiKey.objects.get().user

    assert not user.is_active and not user.is_staff and not user.has_usable_password()
    assert get_user_model().objects.filter(is_active=True).count() == 0


def test_a_request_without_a_key_or_with_a_wrong_one_is_refused(api, key):
    body = assert_problem(api.get("/contact-reasons", key=None), 401, "unauthenticated")
    assert body["instance"] == "/api/v1/contact-reasons"
    response = api.get("/contact-reasons", key=None)
    assert response["WWW-Authenticate"] == "Bearer"
    assert_problem(api.get("/contact-reasons", key="nonsense"), 401, "key_unknown")
    prefix_right_secret_wrong = key[:-4] + "AAAA"
    assert_problem(api.get("/contact-reasons", key=prefix_right_secret_wrong), 401, "key_unknown")


def test_an_expired_key_is_refused(api, make_key):
    secret = make_key(expires_at=timezone.now() - timedelta(seconds=1))

    assert_problem(api.get("/contact-reasons", key=secret), 401, "key_expired")


def test_a_key_revoked_in_the_admin_is_refused_from_its_next_request(admin_client, api, key):
    assert api.get("/contact-reasons", key=key).status_code == 200
    stored = ApiKey.objects.get()

    response = admin_client.post(
        "/admin/api/apikey/",
        {"action": "revoke", "_selected_action": [stored.pk]},
        follow=True,
    )

    assert "1 clave revocada" in response.content.decode()
    assert ApiKey.objects.get().revoked_at is not None
    assert_problem(api.get("/contact-reasons", key=key), 401, "key_revoked")


def test_a_key_without_the_scope_is_forbidden(api, make_key):
    secret = make_key(scopes=[Scope.KB_READ])

    body = assert_problem(
        api.get("/cases", key=secret, customer_email="a@b.es"), 403, "scope_missing"
    )
    assert body["detail"] == "cases:read"
    assert_problem(api.post("/subscribers", {}, key=secret), 403, "scope_missing")


def test_past_its_rate_limit_a_key_is_answered_429(api, make_key):
    secret = make_key(rate_limit_per_minute=3)
    other = make_key(rate_limit_per_minute=3)

    for _ in range(3):
        assert api.get("/opening-hours", key=secret).status_code == 200
    response = api.get("/opening-hours", key=secret)

    assert_problem(response, 429, "rate_limited")
    assert response["Retry-After"] == "60"
    assert api.get("/opening-hours", key=other).status_code == 200  # per key


def test_last_use_is_noted_at_most_once_a_minute(api, key):
    assert ApiKey.objects.get().last_used_at is None
    api.get("/opening-hours", key=key)
    first = ApiKey.objects.get().last_used_at
    assert first is not None

    api.get("/opening-hours", key=key)

    assert ApiKey.objects.get().last_used_at == first


def test_every_write_is_recorded_as_done_by_its_key(api, make_key, reason):
    secret = make_key(name="Order system")
    response = api.post(
        "/cases",
        {
            "reason": "order-stuck-preparing",
            "customer_email": "ana@example.com",
            "customer_name": "Ana",
            "language": "es",
            "subject": "Pedido P-123456",
            "description": "No ha llegado.",
        },
        key=secret,
    )
    reference = response.json()["case"]["reference"]
    api.post(f"/cases/{reference}/notes", {"body": "Retraso del transportista."}, key=secret)

    writes = list(ApiWrite.objects.order_by("created_at", "pk"))
    assert [(w.key.name, w.method, w.path, w.status_code, w.resource) for w in writes] == [
        ("Order system", "POST", "/api/v1/cases", 201, f"case:{reference}"),
        ("Order system", "POST", f"/api/v1/cases/{reference}/notes", 201, f"case:{reference}"),
    ]
    detail = api.get(f"/cases/{reference}", key=secret).json()
    assert detail["events"][-1]["author"] == "Order system (API)"


def test_creating_a_key_refuses_unknown_scopes(db):
    with pytest.raises(ValueError):
        services.create_api_key(name="x", scopes=["everything"], actor=None)


def test_keys_are_revoked_not_deleted(admin_client, key):
    stored = ApiKey.objects.get()

    response = admin_client.get(f"/admin/api/apikey/{stored.pk}/delete/")

    assert response.status_code == 403


@pytest.mark.parametrize("prefix", ["ab\x00defgh", "ABCDEFGH", "abc%defg", "ñbcdefgh"])
def test_a_key_whose_prefix_could_not_be_one_is_unknown_not_an_error(api, key, prefix):
    """Prefixes are 8 lowercase letters and digits; anything else is unknown without a query
    (a NUL made PostgreSQL raise: a 500)."""
    forged = f"hc_{prefix}_{key.rsplit('_', 1)[1]}"

    assert_problem(api.get("/contact-reasons", key=forged), 401, "key_unknown")
