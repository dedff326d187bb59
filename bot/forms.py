from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from inbox import bounds
from inbox.models import Inbox

from .models import LOCALES, CannedAnswer


class AnswerForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label=_("Answer"),
                           help_text=_("Variables: {{contact.first_name}}, {{contact.name}}, {{agent.name}}, "
                                       "{{inbox.name}}; order answers: {{order.number}}, {{order.status}}, "
                                       "{{order.tracking_url}}, {{order.carrier}}, {{order.expected_at}}."))
    kind = forms.ChoiceField(choices=CannedAnswer.Kind.choices, initial=CannedAnswer.Kind.TEXT, required=False,
                             label=_("Kind"),
                             help_text=_("Order status: the bot fills {{order.*}} from the customer's latest order, "
                                         "or asks for the order number (docs/shops.md)."))
    locale = forms.ChoiceField(choices=LOCALES, initial="pt", label=_("Language"))
    tags = forms.CharField(max_length=255, required=False, label=_("Tags"), help_text=_("Comma-separated."))
    variants = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, label=_("Variants"),
                               help_text=_("How customers ask it: one question per line."))
    inboxes = forms.ModelMultipleChoiceField(queryset=Inbox.objects.all(), required=False, label=_("Inboxes"),
                                             help_text=_("None selected means every inbox."))
    unanswered = forms.CharField(widget=forms.HiddenInput, required=False)

    def variant_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("variants", "").splitlines() if line.strip()]

    def unanswered_ids(self) -> list[int]:
        return bounds.id_list(self.cleaned_data.get("unanswered", ""), name="unanswered")


class AddVariantForm(forms.Form):
    answer = forms.ModelChoiceField(queryset=CannedAnswer.objects.all(), empty_label=_("Add as variant of…"), label=_("Answer"))
    ids = forms.CharField(widget=forms.HiddenInput)

    def id_list(self) -> list[int]:
        return bounds.id_list(self.cleaned_data["ids"], name="ids")


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("A .csv (title, answer, locale, tags, variants separated by |) or .json file."))
