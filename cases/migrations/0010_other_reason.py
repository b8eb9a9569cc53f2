"""Every installation has a reason for whoever finds none that fits (issue 14, item 11): "Other
/ none of these" ("Otro / ninguno de estos"), in a group of its own ("Something else", "Otra
cosa") at the end of the contact form's list. Before, only the demo data had it, and a visitor
whose question fitted no reason had to pick a wrong one or give up.

Idempotent and gentle with what is there: a reason coded "other" (the demo's, or one staff
made) is left as it is, an existing "something-else" group is used, and nothing else is
renamed, moved or deleted. It belongs to no team (its cases are in every desk's queue, as
"our support team" to the customer) until staff give it one in the admin. Going back leaves it:
cases may already point at it.
"""

from django.db import migrations
from django.db.models import Max

OTHER = "other"
GROUP = "something-else"
# The form lists groups by position: after every group there is now, with room for the groups
# staff add later (their position is 0 unless they choose one).
LAST_POSITION = 1000


def add_other_reason(apps, schema_editor):
    reasons = apps.get_model("cases", "ContactReason")
    if reasons.objects.filter(code=OTHER).exists():
        return
    group = reasons.objects.filter(code=GROUP, parent__isnull=True).first()
    if group is None:
        highest = reasons.objects.filter(parent__isnull=True).aggregate(Max("position"))
        code, number = GROUP, 2
        while reasons.objects.filter(code=code).exists():  # a reason, not a group, has it
            code, number = f"{GROUP}-{number}", number + 1
        group = reasons.objects.create(
            code=code,
            name_es="Otra cosa",
            name_en="Something else",
            position=max(LAST_POSITION, (highest["position__max"] or 0) + 1),
        )
    reasons.objects.create(
        code=OTHER,
        parent=group,
        position=LAST_POSITION,
        name_es="Otro / ninguno de estos",
        name_en="Other / none of these",
        first_response_hours=8,
        resolution_days=3,
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_case_search_text")]

    operations = [migrations.RunPython(add_other_reason, migrations.RunPython.noop)]
