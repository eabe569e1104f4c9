from django.urls import path

from refunddesk.payments import views

app_name = "payments"
urlpatterns = [
    path("<slug:gateway>/", views.gateway_webhook, name="webhook"),
]
