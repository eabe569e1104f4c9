"""What must be shared when refunddesk runs on more than one process or machine, checked by `refunddesk check
--deploy` (and so by `refunddesk serve --production`, which refuses to start on any of these it is not told to
accept: SILENCED_SYSTEM_CHECKS).

Several web and worker processes, on one machine or many, share everything that decides what a user sees or
is allowed through the database, the cache (CACHE_URL) and the file storage (STORAGES["default"]):

- the cache holds the rate-limit counters (django-ratelimit: the sign-in link), the public status page's
  "last change" stamp and rendered page, and the locks that let one worker of the whole installation run a
  shared periodic job (refunddesk.core.worker). A cache in process memory (locmem) gives every process its
  own counters, stamp and locks: rate limits multiplied by the number of processes, a status page stale for
  a minute, the same reconciliation run by every worker at once. A file cache is shared only by the processes
  of one machine; the database cache by every machine, but it increments a counter by reading and writing it
  (two processes can both count 3 -> 4), and every page's rate limit and stamp cost a query; Redis does all
  of it atomically, off the database;
- the file storage holds evidence: on the local disk a second machine's web node cannot show what the first
  stored (an S3-compatible object store: REFUNDDESK_S3_BUCKET, config.env.env_storage);
- the database: SQLite is one file on one machine.

Sessions (the database), sign-in lockouts (django-axes, the database), the job queue (django-tasks-db), the
sandbox gateway and holiday schedules recorded in the console (the database) are shared already. Holiday
schedule files (REFUNDDESK_CALENDARS_DIR) and policy files are read from each node's disk: ship them with the
release so that every node has the same.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error
from django.core.checks import Warning as CheckWarning

NOT_SHARED_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache": "keeps them in each process's memory",
    "django.core.cache.backends.dummy.DummyCache": "keeps nothing",
}
ONE_MACHINE_CACHES = {"django.core.cache.backends.filebased.FileBasedCache"}
NOT_ATOMIC_CACHES = {"django.core.cache.backends.db.DatabaseCache"}
LOCAL_STORAGES = {"django.core.files.storage.FileSystemStorage", "django.core.files.storage.filesystem.FileSystemStorage"}
#: Warnings that stop `refunddesk serve --production` (unless silenced): Django's security checks and these.
BLOCKING_WARNINGS = ("security.", "refunddesk.W02")
WHAT_THE_CACHE_HOLDS = ("rate-limit counters, the status page's freshness and the locks of the shared periodic "
                        "jobs")
SILENCE = ("If this installation runs on one machine only, accept it by adding {id} to SILENCED_SYSTEM_CHECKS "
           "(comma-separated, in the environment).")


def deployment_problems() -> list[Error | CheckWarning]:
    """What in the settings is not shared between processes or machines that must share it: Django check
    messages (refunddesk.E020, refunddesk.W021-W024), empty when the cache is Redis, files are in an object
    store and the database is PostgreSQL. Reads settings only; connects to nothing."""
    out: list[Error | CheckWarning] = []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    redis_hint = "Set CACHE_URL=redis://HOST:6379/0 (one Redis every node reaches)."
    if backend in NOT_SHARED_CACHES:
        out.append(Error(
            f"The cache ({backend}) {NOT_SHARED_CACHES[backend]}: {WHAT_THE_CACHE_HOLDS} are not shared between "
            "the web processes and the worker, even on one machine.", hint=redis_hint, id="refunddesk.E020"))
    elif backend in ONE_MACHINE_CACHES:
        out.append(CheckWarning(
            f"The cache is a folder of files (CACHE_URL=file://...): {WHAT_THE_CACHE_HOLDS} are shared only by "
            "the processes of this machine.", hint=redis_hint + " " + SILENCE.format(id="refunddesk.W021"),
            id="refunddesk.W021"))
    elif backend in NOT_ATOMIC_CACHES:
        out.append(CheckWarning(
            "The cache is the database (CACHE_URL=db://, the default): shared by every node, but it counts by "
            "reading and then writing, so processes answering at the same moment can let more sign-in link "
            "requests through than the limit, and every rate limit and status page read is a query.",
            hint=redis_hint + " " + SILENCE.format(id="refunddesk.W022"), id="refunddesk.W022"))
    storage = settings.STORAGES.get("default", {}).get("BACKEND", "")
    if storage in LOCAL_STORAGES:
        out.append(CheckWarning(
            f"Evidence files are kept on this machine's disk (MEDIA_ROOT={settings.MEDIA_ROOT}): a web node on "
            "another machine cannot show them.",
            hint="Set REFUNDDESK_S3_BUCKET (and REFUNDDESK_S3_ENDPOINT_URL for a store other than AWS) to keep "
                 "them in an object store every node reaches, or mount one shared folder as MEDIA_ROOT on every "
                 "node. " + SILENCE.format(id="refunddesk.W023"), id="refunddesk.W023"))
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        out.append(CheckWarning(
            "The database is SQLite, a file on this machine: web and worker processes on other machines cannot "
            "share it, and its one writer at a time limits how many refunds are handled.",
            hint="Set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/NAME. " + SILENCE.format(id="refunddesk.W024"),
            id="refunddesk.W024"))
    return out


def deployment_check(app_configs=None, **kwargs) -> list[Error | CheckWarning]:
    """The deploy check registered by refunddesk.core.apps (`check --deploy`): deployment_problems()."""
    return deployment_problems()
