"""Concurrent clients for the benchmarks (bench/api.py, bench/scale.py): each of `clients` threads sends its
share of the work, and the wall time of the whole is what a throughput is worked out from."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence


def clients_run(send: Callable[[Sequence], object], work: Sequence, clients: int) -> float:
    """Run `send(share)` in `clients` threads at once, thread i taking work[i::clients]; returns the seconds from
    the first start to the last end."""
    threads = [threading.Thread(target=send, args=(work[i::clients],)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started
