from django.urls import path

from cases import desk, views

app_name = "cases"

urlpatterns = [
    path("contact/", views.contact, name="contact"),
    path("contact/expectation/", views.contact_expectation, name="contact_expectation"),
    path("contact/suggestions/", views.contact_suggestions, name="contact_suggestions"),
    path("contact/solved/", views.contact_solved, name="contact_solved"),
    path("contact/follow/", views.follow_incident, name="follow_incident"),
    path("contact/told/", views.notice_answered, name="notice_answered"),
    path("contact/sent/", views.contact_links_sent, name="contact_links_sent"),
    path("contact/received/<str:reference>/", views.contact_received, name="contact_received"),
    path("cases/find/", views.find_case, name="find"),
    path("cases/forget/", views.forget_device, name="forget"),
    path("cases/access/<str:token>/", views.access, name="access"),
    path("cases/access/<str:token>/renew/", views.renew_link, name="renew"),
    path("cases/<str:reference>/", views.case_status, name="status"),
    path("cases/<str:reference>/message/", views.case_message, name="message"),
    path("cases/<str:reference>/confirm/", views.case_confirm, name="confirm"),
    path("cases/<str:reference>/answer/", views.case_answer, name="answer"),
    path("cases/<str:reference>/reopen/", views.case_reopen, name="reopen"),
    path("cases/<str:reference>/rate/", views.case_rate, name="rate"),
    path("cases/<str:reference>/updates/", views.case_updates, name="updates"),
    path("cases/<str:reference>/files/<uuid:key>/", views.attachment, name="attachment"),
    path(
        "cases/<str:reference>/files/<uuid:key>/thumbnail/",
        views.attachment_thumbnail,
        name="attachment_thumbnail",
    ),
    path("desk/", desk.queue, name="desk"),
    path("desk/bulk-status/", desk.bulk_status, name="desk_bulk"),
    path("desk/cases/<str:reference>/", desk.case_detail, name="desk_case"),
    path("desk/cases/<str:reference>/reply/", desk.case_reply, name="desk_reply"),
    path("desk/cases/<str:reference>/note/", desk.case_note, name="desk_note"),
    path("desk/cases/<str:reference>/status/", desk.case_status, name="desk_status"),
    path("desk/cases/<str:reference>/assign/", desk.case_assign, name="desk_assign"),
    path("desk/cases/<str:reference>/draft/", desk.case_draft, name="desk_draft"),
    path("desk/cases/<str:reference>/files/<uuid:key>/", desk.attachment, name="desk_attachment"),
    path(
        "desk/cases/<str:reference>/files/<uuid:key>/thumbnail/",
        desk.attachment_thumbnail,
        name="desk_attachment_thumbnail",
    ),
    path("desk/cases/<str:reference>/insert/", desk.case_insert, name="desk_insert"),
    path("desk/preferences/", desk.preferences, name="desk_preferences"),
]
