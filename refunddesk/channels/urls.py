from django.urls import path

from refunddesk.channels import views

app_name = "channels"
urlpatterns = [
    path("wecom/callback", views.wecom_callback, name="wecom-callback"),
]
