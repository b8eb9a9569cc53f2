"""Template side of helpcenter.times (a builtin library: no {% load %} needed).

{{ case.first_response_due|moment:"day_time" }}      lunes 7 de diciembre, 16:00
{{ case.first_response_due|moment:"day_time+zone" }} ... 16:00 (hora de Madrid)
{{ total|number }}                                  55.182
"""

from django import template

from helpcenter.times import format_moment, format_number

register = template.Library()


@register.filter(expects_localtime=False)
def moment(value, style: str = "day_time") -> str:
    style, _sep, option = style.partition("+")
    label = True if option == "zone" else False if option == "nozone" else None
    try:
        return format_moment(value, style, label=label)
    except (TypeError, AttributeError):
        return ""


@register.filter
def number(value) -> str:
    try:
        return format_number(value)
    except (TypeError, ValueError):
        return str(value)
