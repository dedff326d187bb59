"""``{{ message|system_text }}``: a system line in the reader's language (inbox.system_messages)."""

from django import template

from inbox.system_messages import text_of

register = template.Library()


@register.filter
def system_text(message) -> str:
    return text_of(message)
