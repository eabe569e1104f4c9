from django.urls import path

from refunddesk.portal import accounts

app_name = "accounts"
urlpatterns = [
    path("login/", accounts.sign_in, name="login"),
    path("logout/", accounts.sign_out, name="logout"),
    path("link/", accounts.sign_in_link, name="link_request"),
    path("link/<str:token>/", accounts.sign_in_with_link, name="link"),
    path("session/<str:token>/", accounts.portal_session, name="portal_session"),
]
