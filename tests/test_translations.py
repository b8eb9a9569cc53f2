from pathlib import Path

import polib
import pytest

from tests.conftest import ROOT

CATALOGUES = sorted(ROOT.glob("*/locale/es/LC_MESSAGES/django.po"))


def _entries(catalogue) -> dict[str, str]:
    return {
        entry.msgid: entry.msgstr_plural or entry.msgstr
        for entry in catalogue
        if not entry.obsolete and entry.msgid
    }


def test_every_app_has_a_spanish_catalogue():
    apps = {path.relative_to(ROOT).parts[0] for path in CATALOGUES}
    assert {"helpcenter", "foundation", "kb", "notifications", "cases", "insights", "api"} <= apps


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda path: path.relative_to(ROOT).parts[0])
def test_every_string_is_translated_to_spanish(po_path: Path):
    catalogue = polib.pofile(str(po_path))

    assert [entry.msgid for entry in catalogue.untranslated_entries()] == []
    assert [entry.msgid for entry in catalogue.fuzzy_entries()] == []
    # Spanish has three plural forms in current gettext; a missing one falls back to English.
    forms = int(catalogue.metadata["Plural-Forms"].split("nplurals=")[1].split(";")[0])
    incomplete = [
        entry.msgid
        for entry in catalogue
        if entry.msgid_plural
        and sorted(k for k, v in entry.msgstr_plural.items() if v) != list(range(forms))
    ]
    assert incomplete == []


@pytest.mark.parametrize("po_path", CATALOGUES, ids=lambda path: path.relative_to(ROOT).parts[0])
def test_compiled_catalogue_matches_its_source(po_path: Path):
    """The committed .mo is what Django reads: it must be rebuilt after every .po change."""
    compiled = polib.mofile(str(po_path.with_suffix(".mo")))

    assert _entries(compiled) == _entries(polib.pofile(str(po_path)))
