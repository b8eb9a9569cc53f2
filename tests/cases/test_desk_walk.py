"""What walking the desk as staff tripped on (issue 15): each fixed, each checked here."""

import io
import re

import pytest
from django.core.exceptions import ValidationError

from cases import demo as cases_demo
from cases import selectors, services
from cases.models import Case, ReplyDraft, SavedReply
from cases.services.desk import save_reply_draft
from notifications import demo as notifications_demo
from tests.factories import StaffFactory, TeamFactory, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(client):
    user = grant(StaffFactory(first_name="Marta", last_name="Vidal"), "cases.change_case")
    client.force_login(user)
    return user


@pytest.fixture
def owned_case(make_case, reason):
    """A case its reason's owner was given on opening: accountable, not on the desk."""
    reason.owner = StaffFactory(username="lucia.moreno", first_name="Lucía", last_name="Moreno")
    reason.save()
    return make_case()


def test_saving_the_team_keeps_an_assignee_who_does_not_use_the_desk(client, agent, owned_case):
    new_team = TeamFactory(name_es="Pagos")
    url = f"/es/desk/cases/{owned_case.reference}/"
    owner = owned_case.assignee

    page = client.get(url).text
    assert re.search(rf'<option value="{owner.pk}" selected>Lucía Moreno</option>', page)
    client.post(url + "assign/", {"assignee": owner.pk, "team": new_team.pk})

    case = Case.objects.get(pk=owned_case.pk)
    assert case.assignee_id == owner.pk and case.team_id == new_team.pk


def test_staff_are_shown_by_their_names_on_the_queue_and_the_history(client, agent, owned_case):
    services.add_internal_note(case=owned_case, body="Mirado", actor=agent)

    queue = client.get("/es/desk/").text
    assert "Lucía Moreno" in queue and "lucia.moreno" not in queue
    page = client.get(f"/es/desk/cases/{owned_case.reference}/").text
    assert "· Marta Vidal" in page and f"· {agent.username}<" not in page


def test_a_link_to_an_article_whose_title_asks_a_question_reads_well(publish, settings):
    settings.SITE_URL = "https://help.example.com"
    asking = publish(title="¿Dónde está mi pedido?", language="es", translation_key="where")
    telling = publish(title="Cambiar la dirección", language="es", translation_key="address")

    assert selectors.article_link_text(asking.pk) == (
        f"¿Dónde está mi pedido? https://help.example.com{asking.get_absolute_url()}"
    )
    assert selectors.article_link_text(telling.pk) == (
        f"Cambiar la dirección: https://help.example.com{telling.get_absolute_url()}"
    )


def test_a_draft_saved_as_the_page_closes_is_kept_quietly(client, agent, make_case):
    case = make_case()
    url = f"/es/desk/cases/{case.reference}/draft/"

    response = client.post(url, {"body": "Lo último que escribí", "quiet": "1"})

    assert response.status_code == 204
    assert selectors.reply_draft(user_id=agent.pk, case_id=case.pk) == "Lo último que escribí"
    assert "Borrador guardado" not in client.get("/es/desk/").text  # no message left behind


def _draft_version(page: str) -> str:
    return re.search(r'name="draft_version" id="draft-version" value="(\d+)"', page).group(1)


def test_a_draft_arriving_after_its_reply_was_sent_does_not_come_back(client, agent, make_case):
    case = make_case()
    url = f"/es/desk/cases/{case.reference}/"
    drawn_at = _draft_version(client.get(url).text)
    client.post(url + "reply/", {"body": "Ya está resuelto.", "draft_version": drawn_at})

    # The autosave sent before the reply but answered after it: refused, whatever its text.
    for late in ["Ya está resuelto.", "Ya está resuelto. Un saludo"]:
        answer = client.post(
            url + "draft/", {"body": late, "draft_version": drawn_at}, HTTP_HX_REQUEST="true"
        )
        assert "has enviado una respuesta" in answer.text and "Borrador guardado" not in answer.text
    quiet = client.post(url + "draft/", {"body": "Ya", "draft_version": drawn_at, "quiet": "1"})
    assert quiet.status_code == 204
    assert not ReplyDraft.objects.exists()

    # The page drawn after the reply carries the new version: the same words are a draft.
    redrawn = _draft_version(client.get(url).text)
    assert int(redrawn) == int(drawn_at) + 1
    client.post(
        url + "draft/",
        {"body": "Ya está resuelto.", "draft_version": redrawn},
        HTTP_HX_REQUEST="true",
    )
    assert ReplyDraft.objects.get().body == "Ya está resuelto."


def test_a_draft_refused_without_javascript_stays_in_the_box(client, agent, make_case):
    """Two tabs: a reply sent from one, "Save draft" pressed in the other (no JavaScript)."""
    case = make_case()
    url = f"/es/desk/cases/{case.reference}/"
    old_tab = _draft_version(client.get(url).text)
    client.post(url + "reply/", {"body": "Primera respuesta"})

    answer = client.post(
        url + "draft/", {"body": "Lo que escribía aparte", "draft_version": old_tab}
    )

    assert answer.status_code == 200
    assert "has enviado una respuesta" in answer.text
    assert ">Lo que escribía aparte</textarea>" in answer.text
    assert not ReplyDraft.objects.exists()
    # Saved again from that page (drawn after the reply): kept.
    again = _draft_version(answer.text)
    client.post(url + "draft/", {"body": "Lo que escribía aparte", "draft_version": again})
    assert ReplyDraft.objects.get().body == "Lo que escribía aparte"


def test_a_save_that_names_no_version_is_kept(agent, make_case):
    """An old page (no version in its form) is not refused: nothing to compare with."""
    case = make_case()
    services.reply_to_customer(case=case, body="Hecho", actor=agent)
    save_reply_draft(user=agent, case=case, body="Hecho", based_on=None)
    assert ReplyDraft.objects.get().body == "Hecho"
    with pytest.raises(ValidationError) as refused:
        save_reply_draft(user=agent, case=case, body="Hecho", based_on=0)
    assert refused.value.code == "sent_since"
    assert save_reply_draft(user=agent, case=case, body="Hecho 2", based_on=1).body == "Hecho 2"


def test_the_reply_box_saves_its_draft_in_order_and_at_once_after_an_insert(
    client, agent, make_case
):
    case = make_case()
    page = client.get(f"/es/desk/cases/{case.reference}/").text
    textarea = re.search(r'<textarea id="reply-body"[^>]*>', page).group(0)

    assert 'hx-trigger="input changed delay:1s, inserted"' in textarea
    assert 'hx-sync="this:queue last"' in textarea  # an older text never lands after a newer
    # Only the text and the version it was typed on: htmx would post the whole form, the files
    # picked in it included, every second of typing.
    assert 'hx-params="body,draft_version"' in textarea


def test_the_demo_desk_has_saved_replies_in_both_languages_once():
    notifications_demo.load(io.StringIO())
    for _ in range(2):  # loading the demo again doubles nothing
        cases_demo.load(io.StringIO())

    languages = list(SavedReply.objects.values_list("language", flat=True))
    assert sorted(set(languages)) == ["en", "es"] and len(languages) == len(
        cases_demo.SAVED_REPLIES
    )
    assert all("{customer_name}" in reply.body for reply in SavedReply.objects.all())
