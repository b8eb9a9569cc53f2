# WorkerHeartbeat and DailyCounter now belong to the foundation app (its 0001 takes them over
# with their tables unchanged); here they only leave helpcenter's record.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("helpcenter", "0002_dailycounter"),
        ("foundation", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="WorkerHeartbeat"),
                migrations.DeleteModel(name="DailyCounter"),
            ],
            database_operations=[],
        ),
    ]
