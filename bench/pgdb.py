"""Throwaway PostgreSQL databases for the benchmarks: made for a run, dropped after it. The developer's own
database is never touched. $BENCH_PG names the server (default postgres://postgres@127.0.0.1:5432)."""

from __future__ import annotations

import os

PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def database_new(name: str) -> str:
    """A new, empty database `name` (an earlier one of that name is dropped first); returns its URL."""
    database_drop(name)
    _admin(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def database_drop(name: str | None) -> None:
    """Drop database `name` if it exists, closing its connections (nothing when `name` is None)."""
    if name:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
