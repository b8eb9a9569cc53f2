from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from foundation.admin_login import ThrottledAdminAuthenticationForm
from helpcenter.views import healthz, switch_language
from kb.sitemaps import SITEMAPS

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's, feeds).
    path("favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}favicon.svg")),
    path("admin/", admin.site.urls),
    # The API for other systems (/api/v1/): versioned, and not under a language prefix.
    path("api/", include("api.urls")),
    # Django's set_language, leading to the same content in the new language.
    path("i18n/setlang/", switch_language, name="set_language"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    # Email providers post the mail they received for us here (README, "Email in").
    path("inbound/", include("inbound.urls")),
]

# Customer pages live under /es/ and /en/. The stable public URLs (/search/?q=, /contact/ ...)
# redirect to the language of the visitor's cookie, else Accept-Language, else Spanish; with
# an unprefixed Spanish default Django would ignore Accept-Language.
urlpatterns += i18n_patterns(
    path("", include("kb.urls")),
    path("", include("cases.urls")),
    path("", include("notifications.urls")),
    path("", include("insights.urls")),
)

admin.site.site_header = admin.site.site_title = _("Help center administration")
# Wrong passwords are counted per address and username; past the limit, a lock-out.
admin.site.login_form = ThrottledAdminAuthenticationForm
