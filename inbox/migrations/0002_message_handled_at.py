from django.db import migrations, models
from django.db.models import F


def mark_existing_handled(apps, schema_editor):
    # Messages from before this field had their handlers run inline: none is due.
    Message = apps.get_model("inbox", "Message")
    Message.objects.filter(direction="in").update(handled_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("inbox", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="handled_at",
            field=models.DateTimeField(
                blank=True, null=True,
                help_text="When the inbound handlers (surveys, the bot) ran for this customer message; empty while due."),
        ),
        migrations.RunPython(mark_existing_handled, migrations.RunPython.noop),
    ]
