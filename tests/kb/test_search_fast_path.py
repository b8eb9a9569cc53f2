"""The Whoosh backend's fast path (BM25 over decoded posting blocks) is a checked fact.

Its results are compared with Whoosh's own in test_search_engine.py; here: whether it is in
use, and that when it is not, the system check and /healthz say so.
"""

from __future__ import annotations

from importlib.metadata import version

import pytest

from kb.checks import check_search_backend
from kb.search import DATABASE_BACKEND, FastPath, get_search_backend
from kb.search.backends.whoosh import fastpath, postings, selftest

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_fallbacks_yet(monkeypatch) -> None:
    """This test's fallbacks only (the registry is per process)."""
    monkeypatch.setattr(fastpath, "_fallbacks", {})


def test_the_fast_path_is_on_with_the_pinned_whoosh(publish, no_fallbacks_yet):
    assert version("whoosh-reloaded") == "2.7.5"  # requirements.txt pins it
    assert selftest.probe() is None
    for number in range(3):
        publish(title=f"Cambiar la contraseña {number}", body="Pasos para la contraseña.")

    hits = get_search_backend().search("contraseña pasos", language="es").hits

    assert len(hits) == 3
    assert get_search_backend().fast_path == FastPath(active=True)
    assert get_search_backend().fast_path_active
    assert fastpath.fallbacks() == {}
    assert check_search_backend() == []


def test_the_probe_fails_when_the_block_internals_change(monkeypatch):
    def another_layout(matcher):
        raise AttributeError("'W3LeafMatcher' object has no attribute '_lastblock'")

    monkeypatch.setattr(postings, "_block_postings", another_layout)

    with pytest.raises(fastpath.FastPathUnavailable, match="postings: W3 block layout changed"):
        selftest.exercise()


def test_a_search_that_falls_back_finds_the_same_and_turns_the_flag_off(
    publish, monkeypatch, no_fallbacks_yet
):
    for number in range(3):
        publish(title=f"Devolución {number}", body="Plazo de la devolución.")
    backend = get_search_backend()
    expected = [hit.id for hit in backend.search("devolución plazo", language="es").hits]
    backend.close()  # decoded postings are kept per searcher: read them again
    monkeypatch.setattr(postings, "W3LeafMatcher", type("OtherMatcher", (), {}))

    found = [hit.id for hit in backend.search("devolución plazo", language="es").hits]

    assert found == expected
    assert not backend.fast_path_active
    assert backend.fast_path.reason.startswith("postings: unexpected matcher W3LeafMatcher")


@pytest.fixture
def fast_path_off(monkeypatch, no_fallbacks_yet) -> None:
    fastpath.fell_back("lengths", "length column unreadable (test)")


def test_the_system_check_warns_when_the_fast_path_is_off(fast_path_off):
    (warning,) = check_search_backend()

    assert warning.id == "kb.W001"
    assert "length column unreadable (test)" in warning.msg


def test_the_system_check_reports_a_backend_that_cannot_be_loaded(settings):
    settings.SEARCH_BACKEND = "kb.search.backends.nowhere.Backend"

    assert [message.id for message in check_search_backend()] == ["kb.E001"]


def test_healthz_says_whether_the_fast_path_is_on(client, search_index, monkeypatch):
    monkeypatch.setattr(fastpath, "_fallbacks", {})
    assert client.get("/healthz").json()["checks"]["search_fast_path"]["state"] == "ok"

    fastpath.fell_back("postings", "unexpected matcher OtherMatcher (test)")
    response = client.get("/healthz")

    assert response.status_code == 200  # same results, only slower: degraded, not down
    check = response.json()["checks"]["search_fast_path"]
    assert check["state"] == "degraded"
    assert "unexpected matcher OtherMatcher (test)" in check["detail"]


def test_a_backend_without_a_fast_path_has_nothing_to_report(settings, client):
    settings.SEARCH_BACKEND = DATABASE_BACKEND

    assert get_search_backend().fast_path is None
    assert check_search_backend() == []
    assert client.get("/healthz").json()["checks"]["search_fast_path"]["state"] == "ok"
