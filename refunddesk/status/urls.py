from django.urls import path

from refunddesk.status import views

app_name = "status"
urlpatterns = [
    path("", views.status_page, name="page"),
    path("incidents/<int:incident_id>/", views.incident_page, name="incident"),
]
