"""Settings read from environment variables, with defaults that work on a laptop."""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_cache(name: str, default: str) -> dict:
    """A Django cache from a URL, shared by every process of the product unless it is locmem.

    db://               the database (table refunddesk_cache; created by `migrate`); the laptop default
    db://TABLE          the database, another table
    redis://HOST:PORT/N Redis (also rediss://)
    file:///ABS/PATH    a folder of files
    locmem://           this process only (tests; one-process setups)
    """
    url = os.environ.get(name, default).strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = url, ""
    if scheme == "db":
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": rest or "refunddesk_cache"}
    if scheme in ("redis", "rediss"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "file" and rest.startswith("/"):
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": rest}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": rest or "refunddesk"}
    raise ImproperlyConfigured(
        f"{name}={url!r} is not a cache this understands: use db://, redis://HOST:PORT/DB, file:///ABSOLUTE/PATH "
        "or locmem://."
    )
