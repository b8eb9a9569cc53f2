import pytest

from cases import services
from cases.models import ContactReason
from tests.factories import ContactReasonFactory, ReasonGroupFactory, weekday_hours


@pytest.fixture
def opening_hours(db) -> None:
    """Monday to Friday 09:00-18:00 (the service's time zone)."""
    weekday_hours()


@pytest.fixture
def reason(db, opening_hours) -> ContactReason:
    return ContactReasonFactory(
        code="payment-failed-checkout",
        parent=ReasonGroupFactory(code="payments", name_es="Pagos", name_en="Payments"),
        name_es="El pago falla al finalizar la compra",
        name_en="Payment fails at checkout",
    )


@pytest.fixture
def make_case(reason):
    def make(email: str = "ana@example.com", **fields):
        values = {
            "reason": reason,
            "customer_email": email,
            "customer_name": "Ana",
            "language": "es",
            "subject": "Mi tarjeta falla",
            "description": "Sale un error al pagar.",
        }
        return services.open_case(**{**values, **fields})

    return make


@pytest.fixture
def open_link(client):
    """Open a case the way its customer does: through a fresh emailed link."""

    def open_(case):
        url = services.issue_access_link(case=case)
        path = "/" + url.split("://", 1)[1].split("/", 1)[1]
        return client.get(path)

    return open_
