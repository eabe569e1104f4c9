"""The published policy versions, held in each process and refreshed when one is published anywhere.

Which version is in force at a moment is asked on every submission, every `POST /policy/evaluate` and every
policy page. Published versions never change and are never deleted (models.PolicyVersion), so the list of them
(without their documents and test cases, about 13 KB each: those are read from the database the first time a
caller touches them) is kept per process and the question answered by a bisection.

Several processes and machines see a publish through a stamp in the shared cache (core.stamps): saving a
version writes a new stamp (again when its transaction commits); each process compares its stamp with the
shared one on every question and reads the list again when they differ. The cost per question is one cache read: nothing on a process-local cache,
a round trip on Redis, a primary-key query on the database cache.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from dataclasses import dataclass

from refunddesk.core.stamps import stamp, stamp_bump, stamp_key

STAMP_KEY = stamp_key("refunddesk:policy-versions")


@dataclass(frozen=True)
class Published:
    """The published versions in the order they took effect (`effective_at`, then `id`), documents deferred."""

    stamp: str
    versions: tuple  # of PolicyVersion, document and cases deferred
    bounds: tuple[dt.datetime, ...]  # their effective_at, ascending

    def in_force(self, at: dt.datetime):
        """The version in force at `at` (the last to take effect by then), or None."""
        i = bisect.bisect_right(self.bounds, at)
        return self.versions[i - 1] if i else None

    def first(self):
        """The earliest version, or None when none is published."""
        return self.versions[0] if self.versions else None

    def get(self, pk: int | None):
        """The version with id `pk`, or None."""
        return next((v for v in reversed(self.versions) if v.pk == pk), None) if pk is not None else None

    def count_by(self, at: dt.datetime) -> int:
        """How many versions took effect by `at`: equal counts mean the same version in force."""
        return bisect.bisect_right(self.bounds, at)


_lock = threading.Lock()
_held: Published | None = None


def published() -> Published:
    """The published versions as this process holds them, read again when the shared stamp has changed."""
    global _held
    current = stamp(STAMP_KEY)
    held = _held
    if held is not None and held.stamp == current and current:
        return held
    from refunddesk.policies.models import PolicyVersion

    rows = tuple(PolicyVersion.objects.defer("document", "cases").order_by("effective_at", "id"))
    fresh = Published(stamp=current, versions=rows, bounds=tuple(v.effective_at for v in rows))
    with _lock:
        _held = fresh
    return fresh


def changed() -> None:
    """A version was published: every process reads the list again (now, and once the transaction commits)."""
    stamp_bump(STAMP_KEY, local=_forget)


def _forget() -> None:
    global _held
    with _lock:
        _held = None
