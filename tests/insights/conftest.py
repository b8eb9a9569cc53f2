import pytest
from django.contrib.auth.models import Group

from tests.factories import StaffFactory


@pytest.fixture
def reader(client):
    """A client logged in as a member of the Insights readers group."""
    user = StaffFactory(username="reader")
    user.groups.add(Group.objects.get(name="Insights readers"))
    client.force_login(user)
    return client
