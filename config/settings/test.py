"""Settings for the test suite: same as base, with fast hashing and in-memory mail."""

from config.settings.base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # pytest-django creates a throwaway database from this one.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
REFUNDDESK_GATEWAYS = {"sandbox": {"delay_seconds": 0, "decline_endings": ["0013"]}, "manual": {}}
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
