"""Make existing contacts one per person by phone number (see docs/phone-numbers.md).

1. Stored numbers become canonical E.164: ``+551187654321`` (a Brazilian mobile without the
   ninth digit) becomes ``+5511987654321``; ``+11987654321`` (a national number the old
   normaliser stored with a bare ``+``) is read again in the default region.
2. WhatsApp contacts that never stored their number get it from their ``wa_id``.
3. Contacts on the same line that differ only by the form of their number are merged into the
   oldest, through the write path (``services.heal_phone_duplicates``).

``--dry-run`` prints what would change and changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from inbox import services
from inbox.models import ChannelKind, Contact, ContactIdentity
from inbox.phones import from_wa_id, parse_phone


def canonical_for_stored(phone: str, region: str) -> str:
    """The canonical form of a stored number, or "" when it cannot be read."""
    parsed = parse_phone(phone, region)
    if parsed.valid:
        return parsed.e164
    if phone.startswith("+"):
        return parse_phone(phone[1:], region).e164
    return ""


class Command(BaseCommand):
    help = "Store phone numbers in E.164 and merge contacts that differ only by the form of their number."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print what would change; change nothing.")
        parser.add_argument("--region", default="", help="Country of numbers without a country code "
                                                         "(default: PHONE_DEFAULT_REGION).")

    def handle(self, *args, dry_run: bool = False, region: str = "", **options):
        region = (region or settings.PHONE_DEFAULT_REGION).upper()
        verb = "would" if dry_run else "did"
        rewritten = 0
        for contact in Contact.objects.exclude(phone="").order_by("pk").iterator():
            canonical = canonical_for_stored(contact.phone, region)
            if canonical and canonical != contact.phone:
                self.stdout.write(f"contact {contact.pk}: {contact.phone} -> {canonical}")
                rewritten += 1
                if not dry_run:
                    services.contact_update(contact=contact, phone=canonical)
        filled = 0
        identities = ContactIdentity.objects.filter(channel_kind=ChannelKind.WHATSAPP, contact__phone="")
        for identity in identities.select_related("contact").order_by("pk"):
            number = from_wa_id(identity.address).e164
            if number:
                self.stdout.write(f"contact {identity.contact_id}: phone {number} from wa_id {identity.address}")
                filled += 1
                if not dry_run:
                    services.contact_update(contact=identity.contact, phone=number)
        merged_count, gone = 0, set()
        for contact in Contact.objects.exclude(phone="").order_by("pk").iterator():
            if contact.pk in gone or not Contact.objects.filter(pk=contact.pk).exists():
                continue
            primary, merged = services.heal_phone_duplicates(contact=contact, dry_run=dry_run)
            for other in merged:
                gone.add(other.pk)
                merged_count += 1
                self.stdout.write(f"contact {other.pk} ({other.phone or 'no phone'}) {verb} merge into "
                                  f"contact {primary.pk} ({primary.phone})")
        self.stdout.write(self.style.SUCCESS(
            f"{'Dry run: ' if dry_run else ''}{rewritten} number(s) {verb} become canonical, "
            f"{filled} WhatsApp contact(s) {verb} get their number, {merged_count} duplicate(s) {verb} merge."))
