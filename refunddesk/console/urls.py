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
    path("finance/ledger/", views.finance_ledger, name="finance_ledger"),
    path("finance/<int:pk>/<str:action>/", views.finance_action, name="finance_action"),
    path("policy/", views.policy_editor, name="policy"),
    path("policy/replays/<int:pk>/", views.policy_replay, name="policy_replay"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("reports/", views.report, name="reports"),
    path("reports/refresh/", views.report_refresh, name="report_refresh"),
    path("reports/<str:name>/", views.report, name="report"),
    path("reports/<str:name>/<str:chart>.csv", views.report_csv, name="report_csv"),
]
