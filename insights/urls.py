from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("desk/insights/", views.insights_page, name="page"),
    path("desk/insights/<slug:table>.csv", views.insights_csv, name="csv"),
]
