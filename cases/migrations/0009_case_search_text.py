"""The desk's search reads an index instead of scanning the cases (issue 15, item 1).

``CaseSearchText`` holds each case's words; the index over it is the database's own:

- SQLite: an FTS5 table with external content (it stores only the index, the words stay in
  ``cases_casesearchtext``), prefix indexes for 2- and 3-letter beginnings, no positions
  (searches are words, never phrases), kept by three triggers. A Python built without FTS5
  gets no index and the desk searches the words with LIKE (slower, same results).
  Django remakes a table it alters on SQLite: an AlterField on ``CaseSearchText`` must create
  the triggers again.
- PostgreSQL: a stored generated ``tsvector`` column (``simple``: no stemming, no stop words)
  with a GIN index.

Then every existing case's words are written.
"""

import django.db.models.deletion
from django.db import migrations, models

from foundation.words import distinct_words

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE cases_casesearchtext_fts USING fts5(text, "
    "content='cases_casesearchtext', content_rowid='case_id', "
    "tokenize='unicode61 remove_diacritics 0', prefix='2 3', detail=none)",
    "CREATE TRIGGER cases_casesearchtext_ai AFTER INSERT ON cases_casesearchtext BEGIN "
    "INSERT INTO cases_casesearchtext_fts(rowid, text) VALUES (new.case_id, new.text); END",
    "CREATE TRIGGER cases_casesearchtext_ad AFTER DELETE ON cases_casesearchtext BEGIN "
    "INSERT INTO cases_casesearchtext_fts(cases_casesearchtext_fts, rowid, text) "
    "VALUES ('delete', old.case_id, old.text); END",
    "CREATE TRIGGER cases_casesearchtext_au AFTER UPDATE ON cases_casesearchtext BEGIN "
    "INSERT INTO cases_casesearchtext_fts(cases_casesearchtext_fts, rowid, text) "
    "VALUES ('delete', old.case_id, old.text); "
    "INSERT INTO cases_casesearchtext_fts(rowid, text) VALUES (new.case_id, new.text); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS cases_casesearchtext_au",
    "DROP TRIGGER IF EXISTS cases_casesearchtext_ad",
    "DROP TRIGGER IF EXISTS cases_casesearchtext_ai",
    "DROP TABLE IF EXISTS cases_casesearchtext_fts",
]
POSTGRESQL_INDEX = [
    "ALTER TABLE cases_casesearchtext ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, text)) STORED",
    "CREATE INDEX cases_casesearchtext_vector ON cases_casesearchtext USING gin (search_vector)",
]
POSTGRESQL_DROP = [
    "DROP INDEX IF EXISTS cases_casesearchtext_vector",
    "ALTER TABLE cases_casesearchtext DROP COLUMN IF EXISTS search_vector",
]
# As cases.services.search_text writes them (a migration keeps its own copy of the rule).
TEXT_KINDS = ("opened", "message", "reply", "note")
MAX_CHARS = 100_000
BATCH = 1_000


def create_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            if not cursor.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0]:
                return
            for statement in SQLITE_FTS:
                cursor.execute(statement)
        elif connection.vendor == "postgresql":
            for statement in POSTGRESQL_INDEX:
                cursor.execute(statement)


def drop_index(apps, schema_editor):
    connection = schema_editor.connection
    statements = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(connection.vendor, [])
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def write_existing_cases(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    CaseSearchText = apps.get_model("cases", "CaseSearchText")
    fields = ["pk", "reference", "customer_email", "customer_name", "subject", "description"]
    last = 0
    while True:
        cases = list(Case.objects.filter(pk__gt=last).order_by("pk").values_list(*fields)[:BATCH])
        if not cases:
            return
        last = cases[-1][0]
        bodies: dict[int, list[str]] = {}
        events = CaseEvent.objects.filter(case_id__in=[row[0] for row in cases]).order_by()
        rows = events.values_list("created_at", "pk", "case_id", "kind", "body")
        for _at, _pk, case_id, kind, body in sorted(rows):
            if body and kind in TEXT_KINDS:
                bodies.setdefault(case_id, []).append(body)
        CaseSearchText.objects.bulk_create(
            CaseSearchText(
                case_id=pk,
                text=distinct_words([*texts, *bodies.get(pk, [])], max_chars=MAX_CHARS),
            )
            for pk, *texts in cases
        )


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0008_customer_notices"),
    ]

    operations = [
        migrations.CreateModel(
            name="CaseSearchText",
            fields=[
                (
                    "case",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_text",
                        serialize=False,
                        to="cases.case",
                    ),
                ),
                ("text", models.TextField()),
            ],
            options={
                "verbose_name": "case search text",
                "verbose_name_plural": "case search texts",
            },
        ),
        migrations.RunPython(create_index, drop_index, elidable=False),
        migrations.RunPython(write_existing_cases, migrations.RunPython.noop, elidable=True),
    ]
