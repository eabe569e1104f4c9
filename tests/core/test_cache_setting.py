"""CACHE_URL: one cache shared by the web processes and the worker; the database by default."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from config.env import env_cache


@pytest.mark.parametrize(("url", "backend", "location"), [
    ("db://", "db.DatabaseCache", "refunddesk_cache"),
    ("db://my_cache", "db.DatabaseCache", "my_cache"),
    ("file:///var/cache/refunddesk", "filebased.FileBasedCache", "/var/cache/refunddesk"),
    ("locmem://", "locmem.LocMemCache", "refunddesk"),
])
def test_cache_urls(monkeypatch, url, backend, location):
    monkeypatch.setenv("CACHE_URL", url)
    got = env_cache("CACHE_URL", "db://")
    assert got == {"BACKEND": f"django.core.cache.backends.{backend}", "LOCATION": location}


def test_redis_urls_use_django_redis_which_keeps_its_clients(monkeypatch):
    """django-redis, not Django's RedisCache: Django's makes a redis-py client on every call (redis-py builds
    its reply table each time, a fifth of a cached API read in `bench/api.py --profile`)."""
    monkeypatch.setenv("CACHE_URL", "rediss://cache.internal:6380/3")
    assert env_cache("CACHE_URL", "db://") == {"BACKEND": "django_redis.cache.RedisCache",
                                               "LOCATION": "rediss://cache.internal:6380/3"}
    redis_cache = env_cache("CACHE_URL", "db://") | {"LOCATION": "redis://127.0.0.1:6379/15"}
    with override_settings(CACHES={"default": redis_cache}):
        client = caches["default"].client.get_client()
        assert caches["default"].client.get_client() is client  # one client, made once


def test_the_default_is_the_database(monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)
    assert env_cache("CACHE_URL", "db://")["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"


@pytest.mark.parametrize("url", ["memcached://x", "file://relative/path", "nonsense"])
def test_a_cache_url_it_cannot_use_is_refused_with_what_to_write(monkeypatch, url):
    monkeypatch.setenv("CACHE_URL", url)
    with pytest.raises(ImproperlyConfigured, match=r"CACHE_URL=.* use db://, redis://HOST:PORT/DB"):
        env_cache("CACHE_URL", "db://")


@pytest.mark.django_db(transaction=True)
def test_migrate_makes_the_database_cache_table_and_it_is_shared():
    table = f"cache_{uuid.uuid4().hex[:8]}"
    db_cache = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": table}
    with override_settings(CACHES={"default": db_cache, "other": db_cache}):
        try:
            call_command("migrate", verbosity=0)
            assert table in connection.introspection.table_names()
            caches["default"].set("status-stamp", 42)
            assert caches["other"].get("status-stamp") == 42  # another handle on the same table sees it
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(table)}")


def test_redis_cache_is_shared_between_clients():
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("CACHE_URL", "redis://127.0.0.1:6379/15")
    redis_cache = env_cache("CACHE_URL", "db://")
    monkeypatch.undo()
    key = f"refunddesk-test-{uuid.uuid4().hex}"
    with override_settings(CACHES={"default": redis_cache, "other": redis_cache}):
        caches["default"].set(key, "fresh", 30)
        assert caches["other"].get(key) == "fresh"
        caches["default"].delete(key)
