"""Shared-cache stamps (core.stamps): read once per web request, all in one round trip."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from refunddesk.core.stamps import stamp, stamp_bump, stamp_key, stamps_snapshot

pytestmark = pytest.mark.django_db


def test_a_request_reads_its_stamps_once_and_sees_its_own_change_at_once():
    key = stamp_key(f"test:stamp:{uuid.uuid4().hex}")
    other = stamp_key(f"test:stamp:{uuid.uuid4().hex}")
    first, first_other = stamp(key), stamp(other)
    with stamps_snapshot():
        assert stamp(key) == first
        cache.set(key, "changed-by-another-process")
        cache.set(other, "changed-too")
        assert stamp(key) == first and stamp(other) == first_other  # the request goes on with what it read
        stamp_bump(key)  # a change this request makes
        mine = stamp(key)
        assert mine not in (first, "changed-by-another-process") and mine == cache.get(key)
    assert stamp(other) == "changed-too"  # the next request (or the worker) sees the other process's change


def test_outside_a_request_each_read_sees_the_cache():
    key = stamp_key(f"test:stamp:{uuid.uuid4().hex}")
    stamp(key)
    cache.set(key, "new")
    assert stamp(key) == "new"
