from django.urls import path

from refunddesk.status import console_views as v

app_name = "status_console"
urlpatterns = [
    path("", v.incident_list, name="list"),
    path("incidents/new/", v.incident_new, name="new"),
    path("incidents/<int:incident_id>/", v.incident_detail, name="detail"),
    path("incidents/<int:incident_id>/update/", v.incident_post_update, name="update"),
    path("incidents/<int:incident_id>/edit/", v.incident_edit, name="edit"),
    path("incidents/<int:incident_id>/close/", v.incident_close, name="close"),
    path("incidents/<int:incident_id>/compensate/", v.incident_compensate, name="compensate"),
    path("runs/<int:run_id>/progress/", v.run_progress_json, name="run_progress"),
]
