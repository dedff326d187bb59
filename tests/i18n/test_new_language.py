"""A fourth language is one line in ``settings.LANGUAGES`` plus its catalogs (docs/i18n.md):
with that line alone, agents can choose it, customers are spoken to in it, canned answers can be
written in it, and no migration is needed. Run in a subprocess with settings that add French."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = r"""
import json, django
django.setup()
from io import StringIO
from django.core.management import call_command
from inbox.locale import CUSTOMER_LANGUAGES, catalog_language
from bot.models import CannedAnswer, QuestionVariant
from bot.forms import AnswerForm
out = StringIO()
try:
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    migrations_needed = False
except SystemExit:
    migrations_needed = True
print(json.dumps({
    "customer_languages": list(CUSTOMER_LANGUAGES),
    "answer_choices": [c for c, _ in CannedAnswer._meta.get_field("locale").choices],
    "variant_choices": [c for c, _ in QuestionVariant._meta.get_field("locale").choices],
    "form_choices": [c for c, _ in AnswerForm().fields["locale"].choices],
    "catalog_language": catalog_language("fr"),
    "migrations_needed": migrations_needed,
    "makemigrations": out.getvalue(),
}))
"""


def test_one_settings_line_adds_a_language(tmp_path):
    (tmp_path / "settings_with_french.py").write_text(
        "from config.settings import *  # noqa: F401,F403\n"
        "LANGUAGES = [*LANGUAGES, ('fr', 'Français')]\n")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "settings_with_french",
           "PYTHONPATH": os.pathsep.join([str(tmp_path), str(root)]), "DATA_DIR": str(tmp_path / "var")}
    env.pop("PYTEST_VERSION", None)
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["customer_languages"] == ["pt", "es", "en", "fr"]
    assert probe["answer_choices"] == probe["variant_choices"] == ["pt", "es", "en", "fr"]
    assert "fr" in probe["form_choices"]
    assert probe["catalog_language"] == "fr"
    assert not probe["migrations_needed"], probe["makemigrations"]
