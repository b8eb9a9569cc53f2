"""Template side of foundation.times (a builtin library: no {% load %} needed).

{{ case.first_response_due|moment:"day_time" }}      lunes 7 de diciembre, 16:00
{{ case.first_response_due|moment:"day_time+zone" }} ... 16:00 (hora de Madrid)
{{ holiday.starts_at|moment:"day+service" }}         a whole day of the service's calendar
{{ total|number }}                                  55 182
"""

from django import template

from foundation.times import format_moment, format_number, service_zone

register = template.Library()


@register.filter(expects_localtime=False)
def moment(value, style: str = "day_time") -> str:
    style, _sep, option = style.partition("+")
    label = True if option == "zone" else False if option == "nozone" else None
    # A holiday is a date of the service's calendar: in another zone its midnight would fall
    # on the day before ("lunes 7" for the 8th in the Canary Islands).
    zone = service_zone() if option == "service" else None
    try:
        return format_moment(value, style, zone=zone, label=label)
    except (TypeError, AttributeError):
        return ""


@register.filter
def number(value) -> str:
    try:
        return format_number(value)
    except (TypeError, ValueError):
        return str(value)
