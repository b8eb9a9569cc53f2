"""What the desk's templates show staff: their alert count, the staff names of statuses."""

from django import template
from django.urls import reverse

from cases import selectors

register = template.Library()


@register.simple_tag
def desk_alert_count(user) -> int:
    """Cases with something new from their customer for ``user`` (the desk's header)."""
    return selectors.unseen_alert_count(user.pk) if user.is_authenticated else 0


@register.filter
def staff_name(user) -> str:
    """A person of staff as colleagues know them: their name, else their username ("" for
    nobody)."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


@register.filter
def desk_status(value: str) -> str:
    """The status as staff read it ("Waiting on customer", not the customer's "Waiting for
    you")."""
    return str(selectors.DESK_STATUS_LABELS.get(value, value))


@register.filter
def with_case_page_link(body: str, case) -> str:
    """A reply's {case_link} shown on a page: the case page's own address (no token; the
    email carries the customer's link instead)."""
    if selectors.CASE_LINK_PLACEHOLDER not in body:
        return body
    url = reverse("cases:status", kwargs={"reference": case.reference})
    return body.replace(selectors.CASE_LINK_PLACEHOLDER, url)


@register.filter
def file_size(size: int) -> str:
    """ "850 KB", "2,5 MB": a file's size in the page's language."""
    return selectors.human_size(size or 0)
