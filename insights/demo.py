"""Demo history for the insights page: four months of a help center at work."""

from typing import TextIO

from cases.models import Case
from insights import services
from insights.history import DEMO_SCALE, HISTORY_EMAIL_DOMAIN, generate_history


def load(stdout: TextIO) -> None:
    if Case.objects.filter(customer_email__endswith=f"@{HISTORY_EMAIL_DOMAIN}").exists():
        stdout.write("  insights: demo history already there")
        return
    written = generate_history(DEMO_SCALE)
    services.roll_up_recent_days(days=DEMO_SCALE.days + 1)
    stdout.write(
        f"  insights: {DEMO_SCALE.days} days of history ({written['cases']} past cases, "
        f"{written['searches']} searches), rolled up for /desk/insights/"
    )
