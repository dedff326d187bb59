"""The catalogs are complete: re-extracting every string from a copy of the project finds no
message that is new, untranslated or fuzzy, in any language, in either domain.

A developer who adds a string sees this fail until ``manage.py update_catalogs`` is run and
the new entries in locale/*/LC_MESSAGES/*.po are translated (docs/i18n.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation import to_locale

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".venv", "var", ".git", "__pycache__", ".pytest_cache", ".hypothesis", "node_modules", "bench", "docs"}

pytestmark = pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext is not installed")


def _copy_project(target: Path) -> None:
    def ignore(directory, names):
        return [name for name in names if name in SKIP_DIRS or name.endswith((".mo", ".pyc", ".sqlite3"))]

    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)


def _problems(po_path: Path) -> list[str]:
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    found = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        label = message.id[0] if isinstance(message.id, tuple) else message.id
        if message.fuzzy:
            found.append(f"fuzzy: {label!r}")
        elif not all(strings):
            found.append(f"untranslated: {label!r}")
    return found


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("catalogs") / "project"
    _copy_project(copy)
    env = {**os.environ, "DEBUG": "1", "DATA_DIR": str(copy / "var")}
    env.pop("PYTEST_VERSION", None)
    subprocess.run([sys.executable, "manage.py", "update_catalogs", "-v", "0"], cwd=copy, env=env, check=True,
                   capture_output=True, timeout=600)
    return copy


@pytest.mark.parametrize("domain", ["django", "djangojs"])
@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
def test_catalog_has_every_string_translated(extracted, language, domain):
    po_path = extracted / "locale" / to_locale(language) / "LC_MESSAGES" / f"{domain}.po"
    assert po_path.exists(), f"no catalog {po_path.relative_to(extracted)}: run manage.py update_catalogs"
    problems = _problems(po_path)
    assert not problems, (f"{len(problems)} message(s) of {to_locale(language)}/{domain}.po need a translation "
                          f"(run manage.py update_catalogs, then translate):\n" + "\n".join(problems[:40]))


def test_catalog_check_catches_a_new_string(tmp_path):
    """The check itself fails on what it must catch (an empty and a fuzzy entry)."""
    po = tmp_path / "x.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "New"\nmsgstr ""\n\n#, fuzzy\nmsgid "Guess"\nmsgstr "Palpite"\n\n'
                  'msgid "Done"\nmsgstr "Feito"\n', encoding="utf-8")
    assert _problems(po) == ["untranslated: 'New'", "fuzzy: 'Guess'"]


def test_compiled_catalogs_are_not_committed():
    tracked = subprocess.run(["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True, text=True).stdout
    assert tracked.strip() == ""


def test_model_labels_source_is_up_to_date():
    """config/model_labels.py lists every automatic field and model name (update_catalogs
    rewrites it), so the admin's labels are in the catalogs."""
    from inbox import model_labels

    assert model_labels.SOURCE.read_text(encoding="utf-8") == model_labels.source_text(), (
        "run manage.py update_catalogs and translate the new labels")


def test_automatic_field_labels_are_translated():
    from django.utils import translation

    from inbox.models import AgentProfile, Conversation

    with translation.override("pt-br"):
        assert str(AgentProfile._meta.get_field("display_name").verbose_name) == "nome de exibição"
        assert str(Conversation._meta.verbose_name_plural) == "conversas"
    with translation.override("es"):
        assert str(Conversation._meta.get_field("snoozed_until").verbose_name) == "pospuesta hasta"
