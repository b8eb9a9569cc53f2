"""Issue 14, item 11: "Other / none of these" is on every installation's contact form, not only
in the demo data: a data migration adds it, idempotent, in both languages, beside what staff
already made."""

import importlib
import re

import pytest
from django.apps import apps

from cases.models import Case, ContactReason
from tests.factories import ContactReasonFactory, ReasonGroupFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("cases.migrations.0010_other_reason")


def add_other_reason() -> None:
    migration.add_other_reason(apps, None)


@pytest.fixture
def without_it():
    """The database as it was before the migration."""
    ContactReason.objects.filter(code="other").delete()
    ContactReason.objects.filter(code="something-else").delete()


def last_choice(page: str) -> tuple[str, str]:
    """The last group of the reason list and its last option, as the visitor reads them."""
    select = re.search(r'<select name="reason".*?</select>', page, re.S).group(0)
    group = re.findall(r'<optgroup label="([^"]+)"', select)[-1]
    option = re.findall(r"<option value=\"\d+\"[^>]*>([^<]+)</option>", select)[-1]
    return group, option


def test_a_migrated_database_has_it(db):
    other = ContactReason.objects.get(code="other")
    assert (other.name_es, other.name_en) == ("Otro / ninguno de estos", "Other / none of these")
    assert (other.parent.name_es, other.parent.name_en) == ("Otra cosa", "Something else")
    assert other.active and other.parent.active and not other.is_status_inquiry


def test_the_contact_form_offers_it_last_and_opens_a_case_with_it(client, reason):
    ReasonGroupFactory(code="late-group", name_es="Tardío", name_en="Late", position=7)
    ContactReasonFactory(code="late", parent=ContactReason.objects.get(code="late-group"))
    add_other_reason()  # already there: changes nothing

    assert last_choice(client.get("/es/contact/").text) == ("Otra cosa", "Otro / ninguno de estos")
    assert last_choice(client.get("/en/contact/").text) == (
        "Something else",
        "Other / none of these",
    )

    other = ContactReason.objects.get(code="other")
    expectation = client.get(f"/es/contact/expectation/?reason={other.pk}", HTTP_HX_REQUEST="true")
    assert "te responderemos antes del" in expectation.text  # a promise like any other reason
    response = client.post("/es/contact/", {
        "reason": other.pk, "subject": "Una pregunta rara", "description": "Nada encaja.",
        "name": "Ana", "email": "ana@example.com", "submission": "token-de-prueba-otro-1234",
    })  # fmt: skip
    assert response.status_code == 302
    assert Case.objects.get().reason == other


def test_adding_it_again_changes_nothing(without_it):
    add_other_reason()
    add_other_reason()
    assert ContactReason.objects.filter(code="other").count() == 1
    assert ContactReason.objects.filter(name_en="Something else").count() == 1


def test_an_other_reason_staff_made_is_left_as_it_is(without_it):
    mine = ContactReasonFactory(
        code="other", name_es="Otros", name_en="Others", parent=ReasonGroupFactory(code="misc")
    )
    add_other_reason()
    assert list(ContactReason.objects.filter(code="other")) == [mine]
    assert ContactReason.objects.get(code="other").name_es == "Otros"
    assert not ContactReason.objects.filter(name_en="Something else").exists()


def test_it_goes_after_every_existing_group_into_an_existing_something_else_group(without_it):
    ReasonGroupFactory(code="faraway", position=5000)
    add_other_reason()
    assert ContactReason.objects.get(code="other").parent.position == 5001

    ContactReason.objects.filter(code="other").delete()
    group = ContactReason.objects.get(code="something-else")
    ContactReasonFactory(code="gift-cards", parent=group, position=3)
    add_other_reason()
    other = ContactReason.objects.get(code="other")
    assert other.parent == group and other.position > 3


def test_a_reason_coded_like_the_group_keeps_its_code(without_it):
    taken = ContactReasonFactory(code="something-else", parent=ReasonGroupFactory(code="misc"))
    add_other_reason()
    other = ContactReason.objects.get(code="other")
    assert other.parent.code == "something-else-2" and other.parent.parent_id is None
    taken.refresh_from_db()
    assert taken.parent.code == "misc"
