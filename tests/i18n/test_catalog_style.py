"""Part of the translation review, kept as a test: Brazilian (not European) Portuguese and
neutral Latin-American Spanish with "tú" (docs/i18n.md, "Catalog size and review")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[2] / "locale"
#: Words of European Portuguese where Brazil says something else (utilizador/usuário, ecrã/tela,
#: telemóvel/celular, equipa/equipe, registo/registro, ficheiro/arquivo, contacto/contato, ...).
EUROPEAN_PORTUGUESE = {"utilizador", "utilizadores", "ecrã", "telemóvel", "equipa", "registo", "registos",
                       "ficheiro", "ficheiros", "contacto", "contactos", "facto", "receção", "planeamento",
                       "secção", "óptimo", "actual", "actualizar", "direcção"}
#: Spain's Spanish or the formal address the catalog does not use.
NOT_NEUTRAL_SPANISH = {"vosotros", "vuestro", "vuestra", "podéis", "tenéis", "ordenador", "móvil", "usted",
                       "ustedes", "coger"}
WORD = re.compile(r"[A-Za-zÀ-ÿ]+")


def translated_words(locale_name: str) -> set[str]:
    words = set()
    for domain in ("django", "djangojs"):
        with (LOCALE / locale_name / "LC_MESSAGES" / f"{domain}.po").open("rb") as handle:
            for message in read_po(handle):
                if message.id:
                    strings = message.string if isinstance(message.string, tuple) else (message.string,)
                    words.update(w.lower() for text in strings for w in WORD.findall(text))
    return words


@pytest.mark.parametrize(("locale_name", "avoided"), [("pt_BR", EUROPEAN_PORTUGUESE), ("es", NOT_NEUTRAL_SPANISH)])
def test_catalog_keeps_its_variety(locale_name, avoided):
    assert not translated_words(locale_name) & avoided


def test_the_check_sees_words():
    assert {"usuário", "celular"} & translated_words("pt_BR") and "agente" in translated_words("es")
