"""Crash points for fault-injection tests.

`crash_point("after_send")` does nothing unless the environment variable REFUNDDESK_CRASH_AT names
that point; then the process kills itself with SIGKILL at once (no cleanup, no commit), exactly as if
the machine lost power there. The tests use it to prove that a worker dying at any step of a refund
loses nothing and doubles nothing. Never set it in production.
"""

from __future__ import annotations

import os
import signal

_TARGET = os.environ.get("REFUNDDESK_CRASH_AT", "")


def crash_point(name: str) -> None:
    if _TARGET and _TARGET == name:
        os.kill(os.getpid(), signal.SIGKILL)
