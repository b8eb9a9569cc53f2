from django.urls import path, re_path

from api import views
from api.v1.api import api

# No app namespace of its own: ninja names the version's ("api-v1:openapi-json").
urlpatterns = [
    path("v1/docs", views.docs, name="api-docs"),
    path("v1/problems/<slug:code>", views.problem, name="api-problem"),
    path("v1/", api.urls),
    # Anything else under the API answers as the API does: a problem, not an HTML page.
    re_path(r"^v1/.*$", views.not_found),
]
