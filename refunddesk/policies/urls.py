from django.urls import path

from refunddesk.policies import views

app_name = "policies"
urlpatterns = [
    path("", views.policy_current, name="current"),
    path("versions/<int:pk>/", views.policy_version, name="version"),
    path("versions/<int:pk>/clauses/", views.policy_clauses, name="clauses"),
]
