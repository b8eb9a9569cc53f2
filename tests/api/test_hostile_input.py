"""No input makes the API answer 500: every endpoint with junk bodies, paths and queries
answers a problem (or its data)."""

import json

import pytest

from tests.api.test_schema import OPERATIONS

pytestmark = pytest.mark.django_db

JUNK_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b'{"reason": null, "body": ["x"], "status": {}, "kind": 7, "email": 1e400}',
    json.dumps({"body": "\x00" * 10, "subject": "a" * 100_000}).encode(),
    json.dumps({"body_es": "x", "body_en": "y", "phase": "🙃", "areas": [None]}).encode(),
    json.dumps(
        {
            "reason": "order-stuck-preparing",
            "customer_email": "a@b.es",
            "customer_name": "\u202e",
            "language": "es",
            "subject": "\ud800",
            "description": "x",
            "incident_seen": 2**80,
        }
    ).encode(),
    b'{"at": "9999-99-99T99:99:99+99:99"}',
    b"\xff\xfe\x00",
]
JUNK_SEGMENTS = ["0", "-1", "ZZZZ-ZZZZ", "%00", "a" * 600, "..", "99999999999999999999999"]


def _paths(template: str) -> list[str]:
    if "{" not in template:
        return [template]
    paths = []
    for junk in JUNK_SEGMENTS:
        path = template
        while "{" in path:
            start, end = path.index("{"), path.index("}")
            path = path[:start] + junk + path[end + 1 :]
        paths.append(path)
    return paths


@pytest.mark.parametrize(("method", "template"), sorted(OPERATIONS))
def test_no_junk_makes_an_endpoint_fail(client, key, reason, method, template):
    headers = {"authorization": f"Bearer {key}", "idempotency-key": "k"}
    for number, path in enumerate(_paths(template)):
        if method == "get":
            for params in (
                {},
                {
                    "q": "\x00",
                    "cursor": "!!",
                    "limit": "-5",
                    "days": "x",
                    "customer_email": "@",
                    "language": "xx",
                },
            ):
                response = client.get(path, params, headers=headers)
                assert response.status_code < 500, (path, params, response.content[:300])
            continue
        for body_number, body in enumerate(JUNK_BODIES):
            headers["idempotency-key"] = f"k-{number}-{body_number}"
            response = client.post(path, body, content_type="application/json", headers=headers)
            assert response.status_code < 500, (path, body[:80], response.content[:300])
            if response.status_code >= 400:
                assert response["Content-Type"] == "application/problem+json", response.content


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_refused_without_an_error(client, key, method):
    response = getattr(client, method)("/api/v1/cases", headers={"authorization": f"Bearer {key}"})

    assert response.status_code == 405


def test_a_huge_or_odd_authorization_header_is_refused_plainly(client):
    for value in [
        "Bearer " + "a" * 100_000,
        "Bearer hc_",
        "Bearer hc_zzzzzzzz_",
        "Basic eA==",
        "Bearer \u00e9",
    ]:
        response = client.get("/api/v1/opening-hours", headers={"authorization": value})
        assert response.status_code == 401, value


@pytest.mark.parametrize("junk", ["\x00", "\ud800"])
def test_text_no_database_can_store_is_refused_before_any_write(api, key, reason, junk):
    """PostgreSQL (CI, production) refuses a NUL in text, and UTF-8 cannot encode a lone
    surrogate: both are 422 here, whatever database the tests run on."""
    new_case = {
        "reason": "order-stuck-preparing",
        "customer_email": "ana@example.com",
        "customer_name": "Ana",
        "language": "es",
        "subject": "Pedido",
        "description": "No llega",
    }
    for field in ("customer_name", "subject", "description", "reason", "customer_email"):
        body = {**new_case, field: new_case[field] + junk}
        response = api.post("/cases", body, key=key)
        assert response.status_code == 422, (field, response.content)
    if junk == "\x00":  # a URL carries no surrogate (Django decodes bad UTF-8 to U+FFFD)
        assert api.get("/kb/search", key=key, q=f"pedido{junk}").status_code == 422
        assert api.get("/kb/articles/es/abc%00", key=key).status_code in (404, 422)
