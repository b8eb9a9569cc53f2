# The two models moved here from the helpcenter project package (issue 13): the tables stay
# where they are (db_table), only Django's record of which app owns them changes.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("helpcenter", "0002_dailycounter"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="WorkerHeartbeat",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=64, unique=True, verbose_name="name")),
                        ("seen_at", models.DateTimeField(verbose_name="last seen")),
                    ],
                    options={
                        "db_table": "helpcenter_workerheartbeat",
                        "verbose_name": "worker heartbeat",
                        "verbose_name_plural": "worker heartbeats",
                    },
                ),
                migrations.CreateModel(
                    name="DailyCounter",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField(verbose_name="day")),
                        ("name", models.CharField(max_length=40, verbose_name="name")),
                        ("value", models.PositiveBigIntegerField(default=0, verbose_name="count")),
                    ],
                    options={
                        "db_table": "helpcenter_dailycounter",
                        "verbose_name": "daily counter",
                        "verbose_name_plural": "daily counters",
                        "constraints": [
                            models.UniqueConstraint(fields=("day", "name"), name="helpcenter_counter_unique")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
