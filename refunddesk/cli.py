"""The `refunddesk` command: Django's management commands, plus refunddesk's own.

    refunddesk serve            web server and background worker together
    refunddesk serve --production   the same with config.settings.production, after `check --deploy` passed
    refunddesk worker           the background worker alone
    refunddesk demo             load the demo merchant (once)
    refunddesk import orders F  import orders from a CSV file
    refunddesk policy ...       check, test, evaluate and explain policy documents
    refunddesk calendar ...     check holiday schedule files, show where each year comes from, fill deadlines
    refunddesk migrate, createsuperuser, shell, ...   Django's own commands
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["serve"] and "--production" in args:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["refunddesk", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
