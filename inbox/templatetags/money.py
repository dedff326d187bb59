"""``{{ amount|money:currency }}``: an amount written the way the active language writes it."""

from django import template

from inbox.locale import money as format_money

register = template.Library()


@register.filter
def money(amount, currency=""):
    return format_money(amount, currency)
