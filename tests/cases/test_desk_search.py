"""The desk's search through the database's full-text index (issue 15, item 1): what it finds,
that the index follows every change of a case, and that a deleted case leaves nothing behind."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from cases import selectors, services
from cases.models import Case, CaseSearchText
from cases.services.search_text import MAX_SEARCH_TEXT_CHARS
from tests.factories import CaseEventFactory, CaseFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["index", "like"])
def word_index(request, monkeypatch):
    """The database's full-text index, or none (SQLite built without FTS5): same answers."""
    if request.param == "like":
        monkeypatch.setitem(selectors._WORD_INDEXES, connection.alias, "")
    return request.param


def references(query: str) -> list[str]:
    return [case.reference for case in selectors.desk_search(query)]


def test_a_word_is_found_by_its_beginning_whatever_its_accents_and_capitals(make_case, word_index):
    garcia = make_case("m.garcia@example.com", customer_name="María García Núñez")
    make_case("otro@example.com", customer_name="Marco Gil")

    assert references("garc") == [garcia.reference]
    assert references("GARCIA") == [garcia.reference]
    assert references("nunez maría") == [garcia.reference]
    assert references("garcía marco") == []  # every word, not any
    assert references("arcia") == []  # the beginning of a word, not its middle


def test_every_message_reply_and_note_is_found_however_old_and_however_many_cases(make_case):
    agent = StaffFactory()
    case = make_case(subject="Pedido 4411")
    services.add_customer_message(case=case, body="La caja llegó aplastada.")
    services.reply_to_customer(case=case, body="Te enviamos otra por mensajería.", actor=agent)
    services.add_internal_note(case=case, body="Proveedor Transportes Ágiles", actor=agent)
    for number in range(30):
        make_case(f"cliente{number}@example.com", subject=f"Otro asunto {number}")

    for words in ["aplastada", "mensajeria", "agiles", "4411 caja", case.reference[:4]]:
        assert references(words) == [case.reference], words


def test_words_from_different_places_of_one_case_find_it_together(make_case, word_index):
    luis = make_case("luis@example.com", customer_name="Luis Gil", subject="Envío perdido")
    services.add_customer_message(case=luis, body="El paquete llegó roto por la esquina")
    make_case("otro@example.com", customer_name="Luis Prado", subject="Envío")

    assert references("luis roto") == [luis.reference]  # the name and a message
    assert references("gil esquina envio") == [luis.reference]
    assert len(references("luis envio")) == 2


def test_the_newest_cases_come_first_and_at_most_the_limit(make_case):
    made = [make_case(f"c{number}@example.com", subject="Tarjeta rechazada") for number in range(6)]

    found = selectors.desk_search("tarjeta", limit=4)

    assert [case.reference for case in found] == [case.reference for case in made[::-1][:4]]


def test_queries_made_only_of_punctuation_or_single_letters_find_nothing(make_case):
    make_case(customer_name="A B C")
    for query in ['"*', "a b c", "%_%", "* OR *", "NEAR(a b)", "':*|!", "-- ;"]:
        assert selectors.desk_search(query) == [], query


def test_the_words_change_with_the_case_and_leave_with_it(make_case, word_index):
    case = make_case(subject="Cobro duplicado")
    assert references("duplicado") == [case.reference]

    services.add_customer_message(case=case, body="Ahora también en la factura de marzo")
    assert references("marzo") == [case.reference]

    case.delete()
    assert not CaseSearchText.objects.exists()
    assert references("duplicado") == []
    assert references("marzo") == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 table is SQLite's")
def test_the_sqlite_index_stays_in_step_with_the_words_through_every_write(make_case):
    case = make_case(subject="Primero")
    services.add_customer_message(case=case, body="Segundo mensaje")
    other = make_case("b@example.com", subject="Tercero")
    other.delete()
    services.write_all_case_search_texts()
    with connection.cursor() as cursor:  # raises when the index disagrees with its content
        cursor.execute(
            "INSERT INTO cases_casesearchtext_fts(cases_casesearchtext_fts) "
            "VALUES ('integrity-check')"
        )


def test_a_very_long_history_keeps_a_bounded_row_and_stays_searchable(make_case):
    case = make_case(subject="Historia larga")
    for number in range(40):
        text = " ".join(f"palabra{number}x{index}" for index in range(400))
        CaseEventFactory(case=case, kind="message", by_customer=True, body=text[:5000])
    services.write_case_search_text(case_ids=[case.pk])

    row = CaseSearchText.objects.get(case=case)
    assert len(row.text) <= MAX_SEARCH_TEXT_CHARS
    assert references("historia larga") == [case.reference]
    assert references("palabra0x1") == [case.reference]


def test_cases_written_without_the_services_are_found_once_their_words_are_written(reason):
    bulk = Case.objects.bulk_create(
        CaseFactory.build(
            reason=reason, customer_name=f"Importado {number}", reference=f"IMPO-{number:04d}"
        )
        for number in range(3)
    )
    assert references("importado") == []

    assert services.write_all_case_search_texts() == 3
    assert services.write_all_case_search_texts() == 0  # nothing changed, nothing written
    assert references("importado") == [case.reference for case in bulk[::-1]]


@pytest.mark.django_db(transaction=True)
def test_the_migration_writes_the_words_of_the_cases_already_there(reason):
    executor = MigrationExecutor(connection)
    executor.migrate([("cases", "0008_customer_notices")])
    old = executor.loader.project_state([("cases", "0008_customer_notices")]).apps
    OldCase = old.get_model("cases", "Case")
    OldCase.objects.create(
        reference="OLDC-2222",
        customer_email="vieja@example.com",
        customer_name="Clienta Antigua",
        reason_id=reason.pk,
        subject="Antes de la búsqueda",
        description="Escrito antes.",
        first_response_due="2026-01-01T00:00:00Z",
        resolution_due="2026-01-01T00:00:00Z",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert references("antigua busqueda") == ["OLDC-2222"]
