from django.urls import path

from refunddesk.console import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("appeals/", views.appeals, name="appeals"),
    path("messages/", views.kept_messages, name="messages"),
    path("requests/<str:public_id>/", views.case, name="case"),
    path("requests/<str:public_id>/evidence/<int:pk>/", views.evidence_file, name="evidence"),
    path("requests/<str:public_id>/message/", views.case_message, name="case_message"),
    path("requests/<str:public_id>/<str:action>/", views.case_action, name="case_action"),
    path("finance/", views.finance, name="finance"),
    path("finance/<int:pk>/<str:action>/", views.finance_action, name="finance_action"),
    path("policy/", views.policy_editor, name="policy"),
    path("calendar/", views.calendar_page, name="calendar"),
]
