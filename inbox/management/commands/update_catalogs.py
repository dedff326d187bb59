"""Extract every translatable string into locale/<language>/LC_MESSAGES/{django,djangojs}.po.

One command for developers and for the completeness test (tests/i18n/test_catalogs.py):
the languages come from settings.LANGUAGES, so a new language is one settings line plus the
catalogs this command creates. New strings then appear untranslated until someone writes their
translation. See docs/i18n.md.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import BaseCommand, call_command
from django.utils.translation import to_locale

#: Not our strings: the virtualenv, runtime data, tests and benchmarks.
IGNORED = [".venv", "var", "tests", "bench", "node_modules"]


class Command(BaseCommand):
    help = "Run makemessages for every language in settings.LANGUAGES, both domains."

    def handle(self, *args, **options):
        from inbox import model_labels

        if model_labels.write_source() and options["verbosity"]:
            self.stdout.write(f"Updated {model_labels.SOURCE}")
        locales = [to_locale(code) for code, _name in settings.LANGUAGES]
        for domain in ("django", "djangojs"):
            call_command("makemessages", locale=locales, domain=domain, ignore_patterns=IGNORED,
                         no_obsolete=True, verbosity=options["verbosity"])
