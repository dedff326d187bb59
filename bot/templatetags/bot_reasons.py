"""``{{ code|reason_label }}``: a bot decision reason in the reader's language."""

from django import template

from bot.reasons import reason_label as _label

register = template.Library()


@register.filter
def reason_label(code) -> str:
    return _label(code or "")
