"""The documentation page: our own static files, no inline script (the CSP runs none)."""

import re

import pytest
from django.contrib.staticfiles import finders

pytestmark = pytest.mark.django_db


def test_the_docs_page_loads_swagger_ui_from_our_static_files(client):
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "script-src 'self'" in response["Content-Security-Policy"]
    sources = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/static/") for source in sources), sources
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []  # no inline script
    for source in sources:
        assert finders.find(source.removeprefix("/static/")), source
    assert 'data-schema-url="/api/v1/openapi.json"' in html


def test_a_problem_type_names_its_code_status_and_title(client):
    body = client.get("/api/v1/problems/key_revoked").json()

    assert body == {
        "code": "key_revoked",
        "status": 401,
        "title": "Esta clave de API está revocada.",
    }
