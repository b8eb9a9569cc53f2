from django.urls import path

from inbound import views

app_name = "inbound"

urlpatterns = [
    path("<slug:provider>/", views.provider_webhook, name="provider_webhook"),
]
