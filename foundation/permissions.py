from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url


def staff_permission_required(permission: str) -> Callable:
    """Staff pages: anonymous visitors go to the login page, others without ``permission``
    get 403 (never a redirect loop). Applies to full pages and htmx fragments alike."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
            if not (request.user.is_staff and request.user.has_perm(permission)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
