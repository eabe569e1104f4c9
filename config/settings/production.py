"""Production settings: base, with debugging off, HTTPS enforced, and a refusal to start with unsafe secrets.

Select them with DJANGO_SETTINGS_MODULE=config.settings.production. Loading them raises ImproperlyConfigured,
listing every problem at once, when (README, "Running it in production"):

- SECRET_KEY (or one of SECRET_KEY_FALLBACKS) is the development default, shorter than 50 characters, has
  fewer than 5 different characters, or starts with "django-insecure-" (Django's own rule for a weak key,
  django/core/checks/security/base.py, check W009);
- REFUNDDESK_MERCHANT_WEBHOOK_URL is set and REFUNDDESK_MERCHANT_WEBHOOK_SECRET, which signs service.terminate,
  is the default "change-me" or shorter than 32 characters (anyone who knows it can end a customer's service);
- REFUNDDESK_GOOGLE_PUSH_TOKEN is set and shorter than 32 characters;
- REFUNDDESK_CRASH_AT (the fault-injection switch of the crash tests) is set.

HTTPS: secure session and CSRF cookies, HSTS (a year, subdomains, preload), and a redirect of plain HTTP to
HTTPS. Behind a reverse proxy that terminates TLS, refunddesk knows a request came over HTTPS from the header
named by REFUNDDESK_PROXY_SSL_HEADER (default X-Forwarded-Proto, value "https"); the proxy must set it and
drop any such header sent by the client. `python manage.py check --deploy` is clean with these settings.
"""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.settings.base import *  # noqa: F403
from refunddesk.core.logs import logging_config

HOW_TO_MAKE_A_SECRET = 'make one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
DEV_SECRET_KEY = "dev-only-insecure-key-change-me-in-production-0123456789"
DEFAULT_WEBHOOK_SECRET = "change-me"


def _weak(value: str, *, min_length: int, defaults: tuple[str, ...] = ()) -> str | None:
    """Why `value` is not a secret (empty, a default, too short, too few different characters), or None."""
    if not value:
        return "it is empty"
    if value in defaults or value.startswith("dev-only") or value.startswith("django-insecure-"):
        return "it is the development default"
    if len(value) < min_length:
        return f"it has {len(value)} characters; at least {min_length} are needed"
    if len(set(value)) < 5:
        return "it has fewer than 5 different characters"
    return None


def start_up_problems(values: dict) -> list[str]:
    """What makes these settings unsafe to serve with, one sentence each naming the variable and the fix.

    `values` holds the settings by name (SECRET_KEY, SECRET_KEY_FALLBACKS, REFUNDDESK_MERCHANT_WEBHOOK_URL,
    REFUNDDESK_MERCHANT_WEBHOOK_SECRET, REFUNDDESK_GOOGLE_PUSH_TOKEN) plus REFUNDDESK_CRASH_AT from the environment.
    """
    problems = []
    for name, key in [("SECRET_KEY", values.get("SECRET_KEY", ""))] + [
            (f"SECRET_KEY_FALLBACKS[{i}]", old) for i, old in enumerate(values.get("SECRET_KEY_FALLBACKS") or [])]:
        why = _weak(key, min_length=50, defaults=(DEV_SECRET_KEY,))
        if why:
            problems.append(f"{name} is not safe ({why}): set it to a long random value; {HOW_TO_MAKE_A_SECRET}")
    if values.get("REFUNDDESK_MERCHANT_WEBHOOK_URL"):
        why = _weak(values.get("REFUNDDESK_MERCHANT_WEBHOOK_SECRET", ""), min_length=32,
                    defaults=(DEFAULT_WEBHOOK_SECRET,))
        if why:
            problems.append(
                f"REFUNDDESK_MERCHANT_WEBHOOK_SECRET is not safe ({why}); whoever knows it can sign service.terminate "
                f"webhooks to your product. Set it to a random value of at least 32 characters, the same in your "
                f"product's webhook receiver; {HOW_TO_MAKE_A_SECRET}")
    token = values.get("REFUNDDESK_GOOGLE_PUSH_TOKEN", "")
    if token and len(token) < 32:
        problems.append(f"REFUNDDESK_GOOGLE_PUSH_TOKEN is not safe (it has {len(token)} characters; at least 32 are "
                        f"needed): {HOW_TO_MAKE_A_SECRET}, or use OIDC (REFUNDDESK_GOOGLE_PUSH_AUDIENCE)")
    if values.get("REFUNDDESK_CRASH_AT"):
        problems.append("REFUNDDESK_CRASH_AT is set: it makes processes crash on purpose (for the crash tests); "
                        "unset it")
    return problems


DEBUG = False
# Earlier keys, comma-separated, still accepted for sessions and signed links while rotating SECRET_KEY.
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

_problems = start_up_problems({
    **{name: value for name, value in globals().items() if name.isupper()},
    "REFUNDDESK_CRASH_AT": env_str("REFUNDDESK_CRASH_AT", ""),
})
if _problems:
    raise ImproperlyConfigured(
        "refunddesk will not start with these production settings:\n  - " + "\n  - ".join(_problems))

# --- HTTPS -----------------------------------------------------------------------
_proxy_header = env_str("REFUNDDESK_PROXY_SSL_HEADER", "X-Forwarded-Proto").strip()
SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Health checks come over plain HTTP from inside the network (load balancers, orchestrators).
SECURE_REDIRECT_EXEMPT = [r"^healthz"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
# --- logs: JSON lines with the request id, unless LOG_FORMAT says otherwise (refunddesk.core.logs) ---------------
LOG_FORMAT = env_str("LOG_FORMAT", "json")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)  # noqa: F405
REFUNDDESK_ACCESS_LOG = env_bool("REFUNDDESK_ACCESS_LOG", LOG_FORMAT == "json")
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}  # noqa: F405
