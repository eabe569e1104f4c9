"""Settings for bench/api.py: refunddesk's own, with the bare endpoint's URL added (bench/api_urls.py)."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
