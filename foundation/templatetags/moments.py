"""Template side of foundation.times (a builtin library: no {% load %} needed).

{{ case.first_response_due|moment:"day_time" }}      lunes 7 de diciembre, 16:00
{{ case.first_response_due|moment:"day_time+zone" }} ... 16:00 (hora de Madrid)
{{ holiday.starts_at|moment:"day+service" }}         a whole day of the service's calendar
{{ status.closes_at|moment:"time+hours" }}           16:00 in the service's zone, unlabelled (a
                                                    box of our hours says the zone once, with
                                                    {% service_zone_note %})
{{ total|number }}                                  55 182
"""

from django import template

from foundation.times import format_moment, format_number, service_zone, service_zone_note

register = template.Library()


@register.filter(expects_localtime=False)
def moment(value, style: str = "day_time") -> str:
    style, _sep, option = style.partition("+")
    label = True if option == "zone" else False if option == "nozone" else None
    # A holiday is a date of the service's calendar: in another zone its midnight would fall
    # on the day before ("lunes 7" for the 8th in the Canary Islands).
    zone = service_zone() if option in ("service", "hours") else None
    if option == "hours":
        label = False
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


@register.simple_tag(name="service_zone_note")
def service_zone_note_tag() -> str:
    """The service's zone in words ("hora de Madrid") unless it is known to be the reader's."""
    return service_zone_note()
