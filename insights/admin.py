from django.contrib import admin

from insights.models import DigestPreference


@admin.register(DigestPreference)
class DigestPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "language", "weekly_digest"]
    list_filter = ["language", "weekly_digest"]
    autocomplete_fields = ["user"]
