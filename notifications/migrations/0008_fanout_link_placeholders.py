"""Fan-out rows held their subscriber's working unsubscribe link; they now hold the placeholder
the outbox mints at send time (``%%LINK:subscriber-manage:<id>%%``). Rows written before keep
no working link either: each is given its placeholder, read from its dedupe key
(``<dispatch key>:subscriber:<id>``)."""

from django.db import migrations

BATCH = 2000


def to_placeholders(apps, schema_editor):
    OutgoingMessage = apps.get_model("notifications", "OutgoingMessage")
    rows = (
        OutgoingMessage.objects.filter(dispatch__isnull=False, dedupe_key__contains=":subscriber:")
        .exclude(unsubscribe_url="")
        .exclude(unsubscribe_url__startswith="%%LINK:")
        .only("pk", "dedupe_key", "unsubscribe_url")
        .order_by("pk")
    )
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        for row in batch:
            subscriber_id = row.dedupe_key.rsplit(":subscriber:", 1)[1]
            # A key that names no subscriber id loses its link rather than keep it working.
            row.unsubscribe_url = (
                f"%%LINK:subscriber-manage:{int(subscriber_id)}%%"
                if subscriber_id.isdigit()
                else ""
            )
        OutgoingMessage.objects.bulk_update(batch, ["unsubscribe_url"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [("notifications", "0007_alerts_rules")]

    operations = [migrations.RunPython(to_placeholders, migrations.RunPython.noop, elidable=True)]
