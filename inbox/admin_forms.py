"""The inbox form of the admin: channel secrets are write-only.

An admin sees which credentials are set, never their values: in ``channel_config`` every key
that names a secret (password, secret, token, key) shows ``MASK``; leaving ``MASK`` keeps the
stored value, typing a new value replaces it. ``widget_secret`` is a password box that is never
filled in; left empty it keeps the current secret.
"""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Inbox

MASK = "********"
_SECRET_KEY = re.compile(r"(password|secret|token|api_?key|private_?key|credentials?)$", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(str(key)))


def masked(config) -> dict:
    if not isinstance(config, dict):
        return config
    return {key: (MASK if is_secret_key(key) and value not in ("", None) else value) for key, value in config.items()}


class InboxAdminForm(forms.ModelForm):
    widget_secret = forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("Write-only: leave empty to keep the current secret; type a new one to replace it."))

    class Meta:
        model = Inbox
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "channel_config" in self.fields:
            self.initial["channel_config"] = masked(self.instance.channel_config if self.instance.pk
                                                    else self.initial.get("channel_config") or {})
            self.fields["channel_config"].help_text = _(
                "Provider settings and credentials, stored encrypted. Secrets show as "
                "%(mask)s: keep %(mask)s to leave one unchanged, or type a new value.") % {"mask": MASK}
        self.initial["widget_secret"] = ""

    def clean_channel_config(self):
        config = self.cleaned_data.get("channel_config")
        if not isinstance(config, dict):
            return config
        stored = self.instance.channel_config if self.instance.pk else {}
        result = {}
        for key, value in config.items():
            if value == MASK:
                if key not in stored:
                    raise forms.ValidationError(_("%(key)s: type the value (%(mask)s keeps a stored one, and none is stored).")
                                                % {"key": key, "mask": MASK})
                value = stored[key]
            result[key] = value
        return result

    def clean_widget_secret(self):
        value = self.cleaned_data.get("widget_secret") or ""
        if not value:
            return self.instance.widget_secret if self.instance.pk else Inbox._meta.get_field("widget_secret").get_default()
        if len(value) < 16:
            raise forms.ValidationError(_("Use at least 16 characters."))
        return value
