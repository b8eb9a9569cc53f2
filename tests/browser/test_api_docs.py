"""The API's documentation page runs under the site's CSP, from our own static files."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_render_every_operation_under_the_csp_from_our_own_host(open_tab, site):
    tab = open_tab("en", who="developer", locale="en-GB")
    hosts = set()
    tab.page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    response = tab.goto("/api/v1/docs")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(tab.page.locator(".opblock").first).to_be_visible()
    expect(tab.page.locator(".opblock")).to_have_count(17)
    expect(tab.page.get_by_text("Open a case on behalf of a customer")).to_be_visible()
    tab.page.screenshot(path=tab.screenshots.with_suffix(".png"), full_page=True)
    assert hosts == {urlsplit(site).netloc}
    assert not tab.errors, tab.errors
