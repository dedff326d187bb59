"""Re-encrypt every encrypted column with the first of ENCRYPTION_KEYS (see inbox/encryption.py).

Rotation: ENCRYPTION_KEYS="NEW,OLD" -> ``manage.py rotate_encryption_keys`` -> ENCRYPTION_KEYS="NEW".
Also encrypts values stored before encryption was turned on. Safe to run again.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from inbox.encryption import EncryptionError, encrypted_fields


class Command(BaseCommand):
    help = "Re-encrypt all stored credentials with the first key of ENCRYPTION_KEYS."

    def handle(self, *args, **options):
        total = 0
        for model, field in encrypted_fields():
            manager = model._base_manager
            done = 0
            for pk in manager.values_list("pk", flat=True).iterator():
                with transaction.atomic():
                    try:
                        value = getattr(manager.select_for_update().only("pk", field.attname).get(pk=pk), field.attname)
                    except EncryptionError as exc:
                        raise CommandError(f"{model._meta.label} {pk}, {field.name}: {exc}") from exc
                    # the field encrypts with the first key on the way back
                    manager.filter(pk=pk).update(**{field.attname: value})
                done += 1
            total += done
            self.stdout.write(f"{model._meta.label}.{field.name}: {done} row(s) re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} value(s) now encrypted with the first key."))
