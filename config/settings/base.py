"""Base settings. Every value can be set from the environment; the defaults run on a laptop."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_cache, env_int, env_list, env_networks, env_storage, env_str
from refunddesk.core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("REFUNDDESK_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
# Only for whoever develops: DEBUG=true shows tracebacks and Django's URL list to anyone who gets an error.
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The address customers and gateways reach this server at, used in emails' links and notify URLs. By default
# the port it serves on (PORT, as `make run` and `refunddesk serve` use); behind a proxy set it to the public
# address, e.g. https://refunds.example.com (no path). The start-up check refunddesk.E010.. refuses bad values.
SITE_URL = env_str("SITE_URL", "").strip().rstrip("/") or f"http://127.0.0.1:{env_int('PORT', 8000)}"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_prometheus",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # the API docs page from ninja's own static files (no CDN: the CSP allows only this site)
    "axes",
    "refunddesk.core",
    "refunddesk.billing",
    "refunddesk.policies",
    "refunddesk.status",
    "refunddesk.refunds",
    "refunddesk.notify",
    "refunddesk.payments",
    "refunddesk.channels",
    "refunddesk.portal",
    "refunddesk.reports",
    "refunddesk.console",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",  # first: times the whole request
    "refunddesk.core.logs.RequestIdMiddleware",  # the request id in every log line and the tasks it queues
    "refunddesk.core.stamps.StampSnapshotMiddleware",  # the shared-cache stamps read once per request
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "refunddesk.core.middleware.DatabaseUnavailableMiddleware",  # an outage answers 503, not 500
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "refunddesk.core.middleware.ChineseSpacingMiddleware",  # Chinese sets no space after 。，：
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "refunddesk.portal.middleware.CustomerLanguageMiddleware",  # a signed-in customer reads their own language
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out sign-in into refunddesk's lockout answer
    "django_prometheus.middleware.PrometheusAfterMiddleware",  # last: counts responses by view and status
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "refunddesk" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'refunddesk.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
    )
}
# How long a query waits for a lock another connection holds (SQLite's busy timeout, PostgreSQL's
# lock_timeout), in seconds: short locks wait, a longer one answers 503 + Retry-After quickly
# (refunddesk.core.middleware) and the worker retries with backoff. PostgreSQL: how long connecting may take.
DATABASE_LOCK_TIMEOUT = env_int("DATABASE_LOCK_TIMEOUT", 5)
DATABASE_CONNECT_TIMEOUT = env_int("DATABASE_CONNECT_TIMEOUT", 5)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the web server and the worker read while the other writes;
    # IMMEDIATE makes a writing transaction take the lock at BEGIN instead of
    # failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": DATABASE_LOCK_TIMEOUT,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    if DATABASE_LOCK_TIMEOUT > 0:  # 0: wait for locks as long as it takes (PostgreSQL's default)
        DATABASES["default"]["OPTIONS"]["options"] = (
            DATABASES["default"]["OPTIONS"].get("options", "") + f" -c lock_timeout={DATABASE_LOCK_TIMEOUT * 1000}"
        ).strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "/accounts/login/"
# django-axes counts failed sign-ins (page and POST /api/v1/auth/token) per account and per client address,
# failures only, and refuses further attempts for a while once either reaches the limit.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("REFUNDDESK_SIGN_IN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = env_int("REFUNDDESK_SIGN_IN_LOCKOUT_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit locks
AXES_RESET_ON_SUCCESS = False  # a success never wipes the failures counted against an address
AXES_LOCKOUT_CALLABLE = "refunddesk.portal.accounts.locked_out"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = True
# The client's address, for axes and the sign-in link's rate limit (refunddesk.core.auth.client_ip): REMOTE_ADDR,
# or behind REFUNDDESK_PROXY_COUNT reverse proxies the address the outermost one wrote into the header they set
# (REFUNDDESK_CLIENT_IP_HEADER, e.g. X-Forwarded-For as nginx's $proxy_add_x_forwarded_for writes it).
REFUNDDESK_CLIENT_IP_HEADER = env_str("REFUNDDESK_CLIENT_IP_HEADER", "")
REFUNDDESK_PROXY_COUNT = env_int("REFUNDDESK_PROXY_COUNT", 1)
AXES_CLIENT_IP_CALLABLE = "refunddesk.core.auth.client_ip"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "refunddesk" / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
# Where uploaded files (evidence) are kept: the local disk under MEDIA_ROOT (a laptop, one machine), or an
# S3-compatible object store shared by every node (REFUNDDESK_S3_BUCKET set; config.env.env_storage).
STORAGES = {
    "default": env_storage(),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Content-Security-Policy (django-csp) on every page, in development and tests too, so that the browser tests
# run the pages under it: scripts, styles, images and fonts only from this site; no inline script or style
# (templates use classes in app.css and behaviour in app.js); no plugins, no framing, forms post here only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
# The branded error pages (refunddesk/templates/4xx.html, 500.html), in the visitor's language.
CSRF_FAILURE_VIEW = "refunddesk.core.error_views.csrf_failure"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "refunds@refunddesk.localhost")

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "email", "refunds", "webhooks", "status", "channels"],
    }
}

# Shared by the web processes and the worker (the status page's freshness, rate limits).
CACHES = {"default": env_cache("CACHE_URL", "db://")}
# Start-up check messages the operator accepts, comma-separated (e.g. refunddesk.W023 on a one-machine install;
# refunddesk/core/deployment.py says what each means). `refunddesk serve --production` refuses any other.
SILENCED_SYSTEM_CHECKS = env_list("SILENCED_SYSTEM_CHECKS", [])

# Logs (refunddesk.core.logs): LOG_FORMAT=json writes one JSON object per line with the request id (the
# production default), plain the laptop's `time LEVEL logger: message`. REFUNDDESK_ACCESS_LOG: one line per
# request from refunddesk itself (on with json, where `refunddesk serve` turns gunicorn's plain access log off).
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
REFUNDDESK_ACCESS_LOG = env_bool("REFUNDDESK_ACCESS_LOG", LOG_FORMAT == "json")

# --- refunddesk ---------------------------------------------------------------
# The merchant's holiday calendar (ISO country code understood by `holidays`).
REFUNDDESK_HOLIDAY_COUNTRY = env_str("REFUNDDESK_HOLIDAY_COUNTRY", "CN")
# Official holiday schedules recorded by the merchant for years the `holidays` package does not have
# yet: one CC-YYYY.yaml file per country and year (calendars/README.md).
REFUNDDESK_CALENDARS_DIR = env_str("REFUNDDESK_CALENDARS_DIR", str(BASE_DIR / "calendars"))
REFUNDDESK_REVIEW_BUSINESS_DAYS = env_int("REFUNDDESK_REVIEW_BUSINESS_DAYS", 3)
REFUNDDESK_REFUND_BUSINESS_DAYS = env_int("REFUNDDESK_REFUND_BUSINESS_DAYS", 5)
# Business days after a rejection in which the customer may appeal it; meanwhile the rejected request holds its
# order (one open request per order), unless the rejecting clause lets the customer apply again at once.
REFUNDDESK_APPEAL_BUSINESS_DAYS = env_int("REFUNDDESK_APPEAL_BUSINESS_DAYS", 10)
# The console replays a draft over at most this many past requests while the page waits; more run in the
# background with a progress bar (refunds.replay).
REFUNDDESK_REPLAY_INLINE_LIMIT = env_int("REFUNDDESK_REPLAY_INLINE_LIMIT", 5000)
REFUNDDESK_POLICY_FILE = env_str("REFUNDDESK_POLICY_FILE", str(BASE_DIR / "policies" / "subscription-vpn.yaml"))
# Maximum size of one evidence file, in bytes.
REFUNDDESK_EVIDENCE_MAX_BYTES = env_int("REFUNDDESK_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
# Evidence files per message, and their total size in bytes. Uploads are streamed to disk by this handler, which
# stops keeping files at these limits; a body declared larger than the total (plus form fields) is not read.
REFUNDDESK_EVIDENCE_MAX_FILES = env_int("REFUNDDESK_EVIDENCE_MAX_FILES", 5)
REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES = env_int("REFUNDDESK_EVIDENCE_MAX_TOTAL_BYTES", 30 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = ["refunddesk.refunds.evidence.EvidenceUploadHandler"]
DATA_UPLOAD_MAX_NUMBER_FILES = 20  # beyond this Django refuses the request outright (the 400 page says why)
REFUNDDESK_POLICY_VERSION_RULE = env_str("REFUNDDESK_POLICY_VERSION_RULE", "at_purchase")  # or at_request
# Business days a refund takes to arrive, by payment method (card 3-10, Alipay/WeChat Pay 1-5).
REFUNDDESK_ARRIVAL_DAYS = {
    "card": (3, 10), "alipay": (1, 5), "wechat_pay": (1, 5), "paypal": (3, 10), "bank_transfer": (1, 15),
    "other": (1, 15),
}
# Gateway settings by gateway id; secrets come from the environment.
REFUNDDESK_GATEWAYS = {
    "sandbox": {"delay_seconds": float(env_str("SANDBOX_DELAY_SECONDS", "2")),
                "decline_endings": env_list("SANDBOX_DECLINE_ENDINGS", ["0013"])},
    "manual": {},
}
if env_str("STRIPE_API_KEY", ""):
    REFUNDDESK_GATEWAYS["stripe"] = {
        "api_key": env_str("STRIPE_API_KEY", ""), "webhook_secret": env_str("STRIPE_WEBHOOK_SECRET", ""),
    }
# A JSON object of gateway settings, merged over the above (e.g. alipay/wechat_pay keys):
# REFUNDDESK_GATEWAYS_JSON='{"stripe": {"api_key": "sk_live_...", "webhook_secret": "whsec_..."}}'
if env_str("REFUNDDESK_GATEWAYS_JSON", ""):
    import json as _json

    for _name, _options in _json.loads(env_str("REFUNDDESK_GATEWAYS_JSON", "{}")).items():
        REFUNDDESK_GATEWAYS[_name] = {**REFUNDDESK_GATEWAYS.get(_name, {}), **_options}
# App Store Server Notifications, verified by Apple's app-store-server-library (refunddesk/payments/stores.py).
# Apple's root certificates: PEM text (one or more certificates), or comma-separated paths of PEM or DER
# files such as AppleRootCA-G3.cer from https://www.apple.com/certificateauthority/ (the older single
# REFUNDDESK_APPLE_ROOT_CERT is still read). Bundle id and environment must match the notification's;
# the app's Apple ID is required in Production. Online checks ask Apple's OCSP responder whether the
# signing certificates were revoked.
REFUNDDESK_APPLE_ROOT_CERTS = env_str("REFUNDDESK_APPLE_ROOT_CERTS", "") or env_str("REFUNDDESK_APPLE_ROOT_CERT", "")
REFUNDDESK_APPLE_BUNDLE_ID = env_str("REFUNDDESK_APPLE_BUNDLE_ID", "")
REFUNDDESK_APPLE_APP_APPLE_ID = env_str("REFUNDDESK_APPLE_APP_APPLE_ID", "")
REFUNDDESK_APPLE_ENVIRONMENT = env_str("REFUNDDESK_APPLE_ENVIRONMENT", "Production")  # or Sandbox
REFUNDDESK_APPLE_ONLINE_CHECKS = env_bool("REFUNDDESK_APPLE_ONLINE_CHECKS", True)
# Google Play RTDN through Pub/Sub push. With OIDC (the push subscription's authentication), both the
# audience and the service account(s) the subscription signs as are set, and only a valid token is
# accepted; otherwise the shared token in the address: /api/v1/store-notifications/google-play?token=...
REFUNDDESK_GOOGLE_PUSH_AUDIENCE = env_str("REFUNDDESK_GOOGLE_PUSH_AUDIENCE", "")
REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS = env_list("REFUNDDESK_GOOGLE_PUSH_SERVICE_ACCOUNTS", [])
REFUNDDESK_GOOGLE_OIDC_CERTS_URL = env_str("REFUNDDESK_GOOGLE_OIDC_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs")
REFUNDDESK_GOOGLE_PUSH_TOKEN = env_str("REFUNDDESK_GOOGLE_PUSH_TOKEN", "")
# The merchant's product is told to end the service by a signed webhook (service.terminate).
REFUNDDESK_MERCHANT_WEBHOOK_URL = env_str("REFUNDDESK_MERCHANT_WEBHOOK_URL", "")
REFUNDDESK_MERCHANT_WEBHOOK_SECRET = env_str("REFUNDDESK_MERCHANT_WEBHOOK_SECRET", "change-me")
REFUNDDESK_RECONCILE_SECONDS = env_int("REFUNDDESK_RECONCILE_SECONDS", 60)
# Charges with refund activity in the last N days (a refund made or settled, a request submitted) are listed
# at their gateway every REFUNDDESK_RECONCILE_CHARGES_SECONDS, so a missed webhook (a refund made in the
# gateway's dashboard, a refund that failed after succeeding) is caught.
REFUNDDESK_RECONCILE_RECENT_DAYS = env_int("REFUNDDESK_RECONCILE_RECENT_DAYS", 30)
REFUNDDESK_RECONCILE_CHARGES_SECONDS = env_int("REFUNDDESK_RECONCILE_CHARGES_SECONDS", 3600)
# How long one worker may talk to a gateway about a refund before another may try (longer than any timeout).
REFUNDDESK_REFUND_LEASE_SECONDS = env_int("REFUNDDESK_REFUND_LEASE_SECONDS", 120)
# Portal sessions the merchant's product opens for a signed-in customer (POST /api/v1/portal-sessions):
# how long the single-use URL works, and (optional) the hosts its return_url may point at, comma-separated
# (".example.com" also allows subdomains); empty: any https address (http only for a local install).
REFUNDDESK_PORTAL_SESSION_SECONDS = env_int("REFUNDDESK_PORTAL_SESSION_SECONDS", 300)
REFUNDDESK_PORTAL_RETURN_HOSTS = env_list("REFUNDDESK_PORTAL_RETURN_HOSTS", [])
# Prometheus metrics at /metrics (refunddesk.core.metrics): closed unless a scraper's token (sent as
# `Authorization: Bearer ...`) or the addresses and networks allowed to scrape (comma-separated, e.g.
# 10.0.0.0/8,127.0.0.1) are set. Review deadlines due within REFUNDDESK_DEADLINE_AT_RISK_HOURS are "at risk".
REFUNDDESK_METRICS_TOKEN = env_str("REFUNDDESK_METRICS_TOKEN", "")
REFUNDDESK_METRICS_ALLOW = env_networks("REFUNDDESK_METRICS_ALLOW")
REFUNDDESK_DEADLINE_AT_RISK_HOURS = env_int("REFUNDDESK_DEADLINE_AT_RISK_HOURS", 24)

# How often the worker rebuilds the report pages' daily figures (refunddesk.reports.services.figures_refresh;
# README "Reports"). The pages say the moment their figures are of, and offer "Refresh now".
REFUNDDESK_REPORTS_REFRESH_SECONDS = env_int("REFUNDDESK_REPORTS_REFRESH_SECONDS", 900)

# --- channels: email and WeChat customer service (refunddesk.channels; README "Channels") ---
# The support mailbox's address; replies come back to its plus-address (local+<token>@domain). Empty: the
# address of DEFAULT_FROM_EMAIL.
REFUNDDESK_MAIL_ADDRESS = env_str("REFUNDDESK_MAIL_ADDRESS", "")
# The mailbox the worker reads over IMAP every REFUNDDESK_MAIL_FETCH_SECONDS (no host: no fetching).
REFUNDDESK_IMAP_HOST = env_str("REFUNDDESK_IMAP_HOST", "")
REFUNDDESK_IMAP_PORT = env_int("REFUNDDESK_IMAP_PORT", 993)
REFUNDDESK_IMAP_SSL = env_bool("REFUNDDESK_IMAP_SSL", True)
REFUNDDESK_IMAP_USER = env_str("REFUNDDESK_IMAP_USER", "")
REFUNDDESK_IMAP_PASSWORD = env_str("REFUNDDESK_IMAP_PASSWORD", "")
REFUNDDESK_IMAP_FOLDER = env_str("REFUNDDESK_IMAP_FOLDER", "INBOX")
REFUNDDESK_MAIL_FETCH_SECONDS = env_int("REFUNDDESK_MAIL_FETCH_SECONDS", 60)
# WeChat customer service (微信客服) through WeCom: the corp id, the customer-service secret, the customer-service
# account (open_kfid), the callback's Token and EncodingAESKey, and WeCom's API address.
REFUNDDESK_WECOM_CORP_ID = env_str("REFUNDDESK_WECOM_CORP_ID", "")
REFUNDDESK_WECOM_SECRET = env_str("REFUNDDESK_WECOM_SECRET", "")
REFUNDDESK_WECOM_OPEN_KFID = env_str("REFUNDDESK_WECOM_OPEN_KFID", "")
REFUNDDESK_WECOM_TOKEN = env_str("REFUNDDESK_WECOM_TOKEN", "")
REFUNDDESK_WECOM_AES_KEY = env_str("REFUNDDESK_WECOM_AES_KEY", "")
REFUNDDESK_WECOM_API_BASE = env_str("REFUNDDESK_WECOM_API_BASE", "https://qyapi.weixin.qq.com/cgi-bin/")
