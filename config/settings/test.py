"""Settings for the test suite: same as base, with fast hashing and in-memory mail."""

import os

from config.settings.base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # pytest-django creates a throwaway database from this one.
    # A file (threads and worker subprocesses in the tests share it), one per test run.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}  # noqa: F405
REFUNDDESK_GATEWAYS["sandbox"] = {"delay_seconds": 0, "decline_endings": ["0013"]}  # noqa: F405
MEDIA_ROOT = VAR_DIR / "test-media"  # noqa: F405
for _folder in (VAR_DIR, STATIC_ROOT):  # noqa: F405  (a bare `pytest` in a fresh clone)
    _folder.mkdir(parents=True, exist_ok=True)
if "CACHE_URL" not in os.environ:  # each test process its own, emptied between tests (see tests/conftest.py)
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"},
              # not used by the tests' own process: named so that `migrate` makes the table of the default
              # CACHE_URL (db://) in the test database, as in a real one, for the refunddesk processes tests start
              "database": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "refunddesk_cache"}}
LANGUAGE_CODE = "en"  # tests assert English messages unless they ask for another language
# Not the developer's calendars/ (its files must not change the results): the test run's own, where
# tests/conftest.py records an illustrative schedule for a year around today that `holidays` lacks.
REFUNDDESK_CALENDARS_DIR = str(VAR_DIR / "test-calendars")  # noqa: F405
