"""Production settings: base, with debugging off and the secure defaults on."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool
from config.settings.base import *  # noqa: F403

DEBUG = False
if SECRET_KEY.startswith("dev-only"):  # noqa: F405
    raise ImproperlyConfigured("Set SECRET_KEY to a long random value before running in production.")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}  # noqa: F405
