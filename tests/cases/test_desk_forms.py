"""The desk parses with forms and changes through services (cases/desk.py)."""

import pytest

from cases import services
from cases.forms import AssignForm, QueueFilterForm
from cases.models import Case, Team
from cases.selectors import QueueFilters
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(client):
    """A superuser: the permission itself is tested with the desk pages (test_pages.py)."""
    user = StaffFactory(is_superuser=True)
    client.force_login(user)
    return user


def test_queue_filters_drop_what_they_cannot_read():
    form = QueueFilterForm(
        {
            "status": "nonsense",
            "reason": "²",
            "team": "9" * 5000,
            "assignee": "me",
            "overdue": "1",
            "waiting": "yes",
        }
    )

    assert form.filters(user_id=7) == QueueFilters(assignee=7, overdue=True)
    assert QueueFilterForm({"status": "waiting", "reason": "3", "assignee": "12"}).filters(
        user_id=7
    ) == QueueFilters(status="waiting", reason=3, assignee=12)


def test_assign_to_a_staff_member_and_a_team(client, agent, make_case):
    case = make_case()
    other_team = Team.objects.create(slug="orders", name_es="Pedidos", name_en="Orders")

    client.post(
        f"/es/desk/cases/{case.reference}/assign/", {"assignee": agent.pk, "team": other_team.pk}
    )

    case.refresh_from_db()
    assert (case.assignee, case.team) == (agent, other_team)


def test_an_assignee_who_is_not_staff_is_no_one_and_no_team_keeps_the_team(agent, make_case):
    case = make_case()
    form = AssignForm({"assignee": str(UserFactory().pk), "team": "x"}, case=case)

    assert form.is_valid()
    assert form.cleaned_data == {"assignee": None, "team": None}
    services.assign_case(case=case, actor=agent, **form.cleaned_data)
    case.refresh_from_db()
    assert case.assignee is None and case.team.slug == "payments"


def test_bulk_status_counts_what_changed_and_what_could_not(agent, make_case):
    movable, closed = make_case("a@example.com"), make_case("b@example.com")
    services.change_case_status(case=closed, status=Case.Status.CLOSED, actor=agent)

    changed, refused = services.change_case_statuses(
        cases=Case.objects.order_by("pk"), status=Case.Status.IN_PROGRESS, actor=agent
    )

    assert (changed, refused) == (1, 1)
    assert Case.objects.get(pk=movable.pk).status == Case.Status.IN_PROGRESS
    assert Case.objects.get(pk=closed.pk).status == Case.Status.CLOSED
