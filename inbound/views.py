from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from inbound.sources.webhooks import webhook_view


@csrf_exempt  # a provider posts here; anymail checks its signature or credentials instead
def provider_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """An email provider delivers a message it received for us (django-anymail)."""
    view = webhook_view(provider)
    if view is None:
        raise Http404
    return view(request)
