"""Bulk import and export of canned answers as CSV or JSON.

CSV columns: ``title, answer, locale, tags, variants`` (variants separated by ``|``), plus an
optional ``active`` (1/0). JSON: a list of objects with the same keys, ``variants`` a list.
An answer with the same title and language is updated (its variants replaced), others are
created. A file with any bad row imports nothing and reports every bad row, so a half
import never happens.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from . import services
from .models import LANGUAGE_CODES, CannedAnswer

CSV_COLUMNS = ["title", "answer", "locale", "tags", "variants", "active"]
REQUIRED_COLUMNS = {"title", "answer"}
MAX_ROWS = 5000


class ImportFailed(Exception):
    """The file was rejected; ``errors`` lists ``(row number, message)`` pairs (row 0 is the
    file itself)."""

    def __init__(self, errors: list[tuple[int, str]]):
        self.errors = errors
        super().__init__("; ".join(f"row {n}: {msg}" if n else msg for n, msg in errors[:20]))


@dataclasses.dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


@dataclasses.dataclass
class _Row:
    number: int
    title: str
    text: str
    locale: str
    tags: str
    variants: list[str]
    active: bool


# --- export -----------------------------------------------------------------------------------


def _answer_dict(answer: CannedAnswer) -> dict[str, Any]:
    return {"title": answer.title, "answer": answer.text, "locale": answer.locale, "tags": answer.tags,
            "variants": [v.text for v in answer.variants.all()], "active": answer.active}


def _answers(answers: Iterable[CannedAnswer] | None):
    if answers is None:
        answers = CannedAnswer.objects.all()
    if hasattr(answers, "prefetch_related"):
        answers = answers.prefetch_related("variants").order_by("locale", "title", "pk")
    return answers


def export_csv(answers: Iterable[CannedAnswer] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for answer in _answers(answers):
        data = _answer_dict(answer)
        writer.writerow([data["title"], data["answer"], data["locale"], data["tags"],
                         "|".join(v.replace("|", "/") for v in data["variants"]), "1" if data["active"] else "0"])
    return out.getvalue()


def export_json(answers: Iterable[CannedAnswer] | None = None) -> str:
    return json.dumps([_answer_dict(a) for a in _answers(answers)], ensure_ascii=False, indent=2)


# --- import -----------------------------------------------------------------------------------


def _parse_active(value: Any) -> bool | None:
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "sim", "si"}:
        return True
    if text in {"0", "false", "no", "n", "nao", "não"}:
        return False
    return None


def _check(number: int, raw: dict[str, Any], errors: list[tuple[int, str]]) -> _Row | None:
    problems = []
    title = str(raw.get("title") or "").strip()
    text = str(raw.get("answer") or "").strip()
    locale = str(raw.get("locale") or "pt").strip().lower()
    tags = raw.get("tags") or ""
    if isinstance(tags, list):
        tags = ", ".join(str(t) for t in tags)
    variants = raw.get("variants") or []
    if isinstance(variants, str):
        variants = variants.split("|")
    if not isinstance(variants, list):
        problems.append(_("variants must be a list (JSON) or texts separated by | (CSV)"))
        variants = []
    active = _parse_active(raw.get("active"))
    if not title:
        problems.append(_("title is empty"))
    elif len(title) > 200:
        problems.append(_("title is longer than 200 characters"))
    if not text:
        problems.append(_("answer is empty"))
    if locale not in LANGUAGE_CODES:
        problems.append(_("locale %(locale)r is not one of %(codes)s") % {"locale": locale, "codes": ", ".join(LANGUAGE_CODES)})
    if active is None:
        problems.append(_("active %(value)r is not 1/0") % {"value": raw.get("active")})
    if len(str(tags)) > 255:
        problems.append(_("tags are longer than 255 characters"))
    if problems:
        errors.append((number, "; ".join(problems)))
        return None
    return _Row(number, title, text, locale, str(tags).strip(), [str(v) for v in variants], bool(active))


def _apply(rows: list[_Row], errors: list[tuple[int, str]]) -> ImportResult:
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row.title.lower(), row.locale)
        if key in seen:
            errors.append((row.number, _("same title and locale as row %(row)s") % {"row": seen[key]}))
        seen.setdefault(key, row.number)
    if errors:
        raise ImportFailed(sorted(errors))
    result = ImportResult()
    with transaction.atomic():
        for row in rows:
            existing = CannedAnswer.objects.filter(title__iexact=row.title, locale=row.locale).first()
            if existing is None:
                services.answer_create(title=row.title, text=row.text, locale=row.locale, tags=row.tags,
                                       active=row.active, variants=row.variants)
                result.created += 1
            else:
                services.answer_update(answer=existing, title=row.title, text=row.text, tags=row.tags,
                                       active=row.active, variants=row.variants)
                result.updated += 1
    return result


def import_csv(data: str | bytes) -> ImportResult:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed([(0, _("The file is not UTF-8 text. Save the CSV as UTF-8 and try again."))]) from None
    reader = csv.DictReader(io.StringIO(data.lstrip("\ufeff")))
    columns = {c.strip().lower() for c in (reader.fieldnames or []) if c}
    missing = REQUIRED_COLUMNS - columns
    if missing:
        raise ImportFailed([(0, _("Missing column(s) %(missing)s; expected %(columns)s (and optionally active).") % {
            "missing": ", ".join(sorted(missing)), "columns": ", ".join(CSV_COLUMNS[:5])})])
    errors: list[tuple[int, str]] = []
    rows = []
    try:
        for number, raw in enumerate(reader, start=2):  # row 1 is the header
            if number > MAX_ROWS + 1:
                raise ImportFailed([(0, _("More than %(max)s rows; split the file.") % {"max": MAX_ROWS})])
            raw = {(k or "").strip().lower(): v for k, v in raw.items()}
            if not any((v or "").strip() for v in raw.values() if isinstance(v, str)):
                continue  # blank line
            if raw.get(""):
                errors.append((number, _("more cells than columns (an unquoted comma in the answer?)")))
                continue
            row = _check(number, raw, errors)
            if row:
                rows.append(row)
    except csv.Error as exc:
        raise ImportFailed([(reader.line_num, _("unreadable CSV: %(error)s") % {"error": exc})]) from None
    return _apply(rows, errors)


def import_json(data: str | bytes) -> ImportResult:
    try:
        items = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ImportFailed([(0, _("The file is not valid JSON: %(error)s") % {"error": exc})]) from None
    if not isinstance(items, list):
        raise ImportFailed([(0, _("Expected a JSON list of answers."))])
    if len(items) > MAX_ROWS:
        raise ImportFailed([(0, _("More than %(max)s answers; split the file.") % {"max": MAX_ROWS})])
    errors: list[tuple[int, str]] = []
    rows = []
    for number, raw in enumerate(items, start=1):
        if not isinstance(raw, dict):
            errors.append((number, _("is not an object")))
            continue
        row = _check(number, raw, errors)
        if row:
            rows.append(row)
    return _apply(rows, errors)


def import_file(name: str, data: bytes) -> ImportResult:
    """Import by file extension (.csv or .json)."""
    lower = (name or "").lower()
    if lower.endswith(".json"):
        return import_json(data)
    if lower.endswith(".csv"):
        return import_csv(data)
    raise ImportFailed([(0, _("Upload a .csv or .json file."))])
