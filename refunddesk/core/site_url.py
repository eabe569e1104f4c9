"""SITE_URL, the address in every link refunddesk sends (emails, portal sessions, gateways' notify URLs).

By default it follows PORT (config/settings/base.py: http://127.0.0.1:$PORT), so a laptop's links open
wherever `make run` serves. Behind a proxy the operator sets SITE_URL to the public address. The start-up
check below (a Django system check, run by `refunddesk check`, `migrate` and every server start) refuses
values that cannot be right.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error
from django.core.checks import Warning as CheckWarning

LOCAL_HOSTS = {"localhost", "localhost.localdomain", "testserver", "example.com"}


def _local(host: str) -> bool:
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified or address.is_link_local


def site_url_problems(value: str, *, production: bool) -> list[Error | CheckWarning]:
    """What is wrong with `value` as SITE_URL: a list of Django check messages, empty when it is fine.

    Everywhere: it must be an absolute http(s) address with a host and nothing after it (no path, query or
    fragment: links are SITE_URL + path; a trailing slash is removed by the settings), and no user or
    password. In production (`is_production`: the production settings module) also: not
    this machine (localhost, 127.0.0.1, ::1, 0.0.0.0, testserver) - customers could not open the links -
    and plain http is a warning (links would go over an unencrypted connection).
    """
    hint = "Set SITE_URL to the address customers reach this server at, e.g. https://refunds.example.com."
    try:
        parts = urlsplit(value or "")
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return [Error(f"SITE_URL={value!r} is not a valid address: {exc}.", hint=hint, id="refunddesk.E010")]
    if parts.scheme not in ("http", "https") or not host:
        return [Error(f"SITE_URL={value!r} must be an absolute http:// or https:// address with a host.",
                      hint=hint, id="refunddesk.E010")]
    out: list[Error | CheckWarning] = []
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        out.append(Error(f"SITE_URL={value!r} must not have a path, query or fragment: links are SITE_URL "
                         "followed by their own path.", hint=hint + " To serve under a path, set FORCE_SCRIPT_NAME.",
                         id="refunddesk.E011"))
    if parts.username is not None or parts.password is not None:
        out.append(Error("SITE_URL must not contain a user name or password (it is in every email).", hint=hint,
                         id="refunddesk.E012"))
    if production and _local(host):
        out.append(Error(f"SITE_URL={value!r} points at this machine ({host}): customers and gateways cannot "
                         "open links to it.", hint=hint, id="refunddesk.E013"))
    if production and parts.scheme == "http" and not _local(host):
        out.append(CheckWarning(f"SITE_URL={value!r} is plain http: links in emails and portal sessions would "
                                "travel unencrypted.", hint=hint, id="refunddesk.W010"))
    return out


def site_url_check(app_configs=None, **kwargs) -> list[Error | CheckWarning]:
    """The registered start-up check (refunddesk.core.apps): settings.SITE_URL through site_url_problems."""
    return site_url_problems(settings.SITE_URL, production=is_production())


def is_production() -> bool:
    """Running with the production settings: settings.REFUNDDESK_PRODUCTION if set, else whether the settings
    module is config.settings.production (or another module named *.production)."""
    explicit = getattr(settings, "REFUNDDESK_PRODUCTION", None)
    if explicit is not None:
        return bool(explicit)
    return (getattr(settings, "SETTINGS_MODULE", "") or "").endswith(".production")
