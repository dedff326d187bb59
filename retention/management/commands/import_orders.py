"""``python manage.py import_orders FILE.csv``: upsert the shop's orders from a CSV export.

Columns (header row required): external_id, email, phone, name, ordered_at, status, total,
currency, delivered_at, items. ``items`` is optional JSON (a list of objects). Every row is
validated first; with any invalid row nothing is imported and each error is printed with its
line number (``--skip-invalid`` imports the valid rows anyway). Re-importing a file updates the
same orders, it never duplicates them.
"""

from __future__ import annotations

import csv
import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from retention import services
from retention.serializers import OrderInSerializer

REQUIRED = {"external_id", "ordered_at", "total", "currency"}


def _row_data(row: dict[str, str]) -> dict:
    items_raw = (row.get("items") or "").strip()
    try:
        items = json.loads(items_raw) if items_raw else []
    except ValueError as exc:
        items = f"not JSON: {exc}"  # reported by the serializer as an invalid list
    data = {
        "external_id": (row.get("external_id") or "").strip(),
        "customer": {"email": (row.get("email") or "").strip(), "phone": (row.get("phone") or "").strip(),
                     "name": (row.get("name") or "").strip()},
        "ordered_at": (row.get("ordered_at") or "").strip(),
        "total": (row.get("total") or "").strip() or None,
        "currency": (row.get("currency") or "").strip(),
        "items": items,
        "delivered_at": (row.get("delivered_at") or "").strip() or None,
    }
    if (row.get("status") or "").strip():
        data["status"] = row["status"].strip().lower()
    return data


def _errors_text(errors) -> str:
    if isinstance(errors, dict):
        return "; ".join(f"{key}: {_errors_text(value)}" for key, value in errors.items())
    if isinstance(errors, list):
        return " ".join(_errors_text(e) for e in errors)
    return str(errors)


class Command(BaseCommand):
    help = "Import (upsert) orders from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--skip-invalid", action="store_true", help="Import the valid rows, report the others.")

    def handle(self, *args, file: str, skip_invalid: bool = False, **options):
        try:
            handle = open(file, newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot open {file}: {exc}") from exc
        with handle:
            reader = csv.DictReader(handle)
            missing = REQUIRED - set(reader.fieldnames or [])
            if missing:
                raise CommandError(f"The CSV lacks the columns: {', '.join(sorted(missing))}.")
            valid, errors = [], []
            for row in reader:
                serializer = OrderInSerializer(data=_row_data(row))
                if serializer.is_valid():
                    valid.append((reader.line_num, serializer.validated_data))
                else:
                    errors.append(f"line {reader.line_num}: {_errors_text(serializer.errors)}")
        for error in errors:
            self.stderr.write(error)
        if errors and not skip_invalid:
            raise CommandError(f"{len(errors)} invalid row(s); nothing imported. Fix them or use --skip-invalid.")
        created = updated = 0
        with transaction.atomic():
            for line, data in valid:
                data = dict(data)
                try:
                    contact, _ = services.customer_upsert(**data.pop("customer"))
                    _, was_created = services.order_upsert(contact=contact, **data)
                except services.RetentionError as exc:
                    raise CommandError(f"line {line}: {exc}; nothing imported.") from exc
                created += was_created
                updated += not was_created
        self.stdout.write(f"{created} order(s) created, {updated} updated, {len(errors)} invalid row(s) skipped.")
