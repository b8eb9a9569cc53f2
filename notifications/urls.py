from django.urls import path

from notifications import desk, views
from notifications.feeds import NoticesFeed

app_name = "notifications"

urlpatterns = [
    path("notices/", views.notice_list, name="notice_list"),
    path("notices/feed.atom", NoticesFeed(), name="feed"),
    path("notices/calendar.ics", views.notices_calendar, name="calendar"),
    path("notices/embed.json", views.notices_embed, name="embed"),
    path("notices/subscribe/", views.subscribe, name="subscribe"),
    path("notices/subscribe/confirm/<str:token>/", views.confirm_subscription, name="confirm"),
    path("notices/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("notices/preferences/<str:token>/", views.preferences, name="preferences"),
    path("notices/stop/<str:token>/", views.stop_following, name="stop_following"),
    path("notices/<slug:slug>/", views.notice_detail, name="notice_detail"),
    path("notices/<slug:slug>/dismiss/", views.dismiss_notice, name="dismiss"),
    path("desk/notices/", desk.announcement_list, name="desk_list"),
    path("desk/notices/new/", desk.announcement_compose, name="desk_new"),
    path("desk/notices/<int:pk>/", desk.announcement_compose, name="desk_edit"),
    path("desk/notices/<int:pk>/publish/", desk.announcement_publish, name="desk_publish"),
    path("desk/notices/<int:pk>/test/", desk.announcement_test, name="desk_test"),
    path("desk/notices/<int:pk>/update/", desk.announcement_update, name="desk_update"),
    path("desk/notices/<int:pk>/withdraw/", desk.announcement_withdraw, name="desk_withdraw"),
    path("desk/notices/dispatch/<int:pk>/progress/", desk.dispatch_progress, name="desk_progress"),
    path("desk/notices/dispatch/<int:pk>/retry/", desk.dispatch_retry, name="desk_retry"),
]
