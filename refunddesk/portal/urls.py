from django.urls import path

from refunddesk.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.orders, name="orders"),
    path("orders/<str:order_number>/apply/", views.apply, name="apply"),
    path("requests/", views.request_list, name="requests"),
    path("inbox/", views.inbox, name="inbox"),
    path("wechat/", views.wechat_link, name="wechat"),
    path("requests/<str:public_id>/", views.request_detail, name="request"),
    path("requests/<str:public_id>/evidence/<int:pk>/", views.evidence_file, name="evidence"),
    path("requests/<str:public_id>/<str:action>/", views.request_action, name="request_action"),
]
