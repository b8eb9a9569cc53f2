import pytest


@pytest.mark.django_db
def test_home_page_is_spanish_by_default(client):
    response = client.get("/", follow=True)

    assert response.redirect_chain == [("/es/", 302)]
    assert response.status_code == 200
    assert '<html lang="es">' in response.text
    assert "¿Cómo podemos ayudarte?" in response.text


@pytest.mark.django_db
def test_home_page_in_english_under_the_en_prefix(client):
    response = client.get("/en/")

    assert response.status_code == 200
    assert '<html lang="en">' in response.text
    assert "How can we help?" in response.text


@pytest.mark.django_db
def test_navigation_follows_the_language_of_each_page(client):
    # The navigation is built once per language and process: alternate to prove it.
    for _ in range(2):
        spanish, english = client.get("/es/").text, client.get("/en/").text

        assert '<a href="/es/contact/">Contactar</a>' in spanish
        assert '<a href="/en/contact/">Contact us</a>' in english
        assert "Contact us" not in spanish and "Contactar" not in english


@pytest.mark.django_db
def test_browser_asking_for_english_is_redirected_to_the_english_pages(client):
    response = client.get("/search/?q=pedido", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")

    assert response.status_code == 302
    assert response["Location"] == "/en/search/?q=pedido"


@pytest.mark.django_db
def test_language_switcher_keeps_the_page_and_its_query(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/es/search/?q=pedido"})

    assert response.status_code == 302
    assert response["Location"] == "/en/search/?q=pedido"


@pytest.mark.django_db
def test_pages_send_security_headers_and_load_no_third_party_scripts(client):
    response = client.get("/es/")

    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "/static/vendor/htmx/htmx.min.js" in response.text
    assert "https://" not in response.text.split("<body", 1)[0]


@pytest.mark.django_db
def test_unknown_page_is_a_helpful_404(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "search" in response.text.lower()
