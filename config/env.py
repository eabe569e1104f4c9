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
        # django-redis keeps one redis-py client per server; Django's own RedisCache makes one per call (~0.3 ms
        # each: redis-py builds its reply table), which was a fifth of a cached API read (bench/api.py --profile)
        return {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url}
    if scheme == "file" and rest.startswith("/"):
        return {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": rest}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": rest or "refunddesk"}
    raise ImproperlyConfigured(
        f"{name}={url!r} is not a cache this understands: use db://, redis://HOST:PORT/DB, file:///ABSOLUTE/PATH "
        "or locmem://."
    )


def env_storage() -> dict:
    """The STORAGES["default"] entry for uploaded files (evidence), from the environment.

    REFUNDDESK_S3_BUCKET empty (the default): the local disk under MEDIA_ROOT, for a laptop or a
    single machine. Set: an S3-compatible object store through django-storages (boto3), which every web and
    worker node reads and writes alike:

    REFUNDDESK_S3_BUCKET            the bucket (private: files are only ever served through refunddesk's views)
    REFUNDDESK_S3_ENDPOINT_URL      for a store other than AWS (MinIO, Ceph, Aliyun OSS, ...), e.g. https://minio:9000
    REFUNDDESK_S3_REGION            the bucket's region (e.g. eu-central-1)
    REFUNDDESK_S3_PREFIX            a folder inside the bucket for this installation's files (default: none)
    REFUNDDESK_S3_ADDRESSING_STYLE  "path" or "virtual" (default: boto3's choice; most non-AWS stores want path)
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY   the credentials, read by boto3 itself (or an instance role)
    """
    bucket = os.environ.get("REFUNDDESK_S3_BUCKET", "").strip()
    if not bucket:
        return {"BACKEND": "django.core.files.storage.FileSystemStorage"}  # follows MEDIA_ROOT
    style = os.environ.get("REFUNDDESK_S3_ADDRESSING_STYLE", "").strip() or None
    if style not in (None, "path", "virtual"):
        raise ImproperlyConfigured(f"REFUNDDESK_S3_ADDRESSING_STYLE={style!r}: use path or virtual.")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": os.environ.get("REFUNDDESK_S3_ENDPOINT_URL", "").strip() or None,
            "region_name": os.environ.get("REFUNDDESK_S3_REGION", "").strip() or None,
            "location": os.environ.get("REFUNDDESK_S3_PREFIX", "").strip().strip("/"),
            "addressing_style": style,
            "default_acl": None,  # the bucket's own (private); never public-read
            "querystring_auth": True,  # any URL made for a file is signed and short-lived
            "querystring_expire": 300,
            "file_overwrite": False,  # two uploads of one name never replace each other
            "max_memory_size": 1024 * 1024,  # a file read for serving spills to a temporary file past 1 MiB
        },
    }


def env_networks(name: str) -> list[str]:
    """A comma-separated list of IP addresses and networks (10.0.0.0/8, 127.0.0.1, ::1), each checked."""
    import ipaddress

    out = []
    for item in env_list(name, []):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an IP address or network (e.g. 10.0.0.0/8).") from None
    return out
