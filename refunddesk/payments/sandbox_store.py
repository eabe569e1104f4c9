"""A SandboxStore (see gateways/sandbox.py) kept in the database, so that the pretend gateway's
memory survives restarts and is shared by every process, like a real gateway's would be."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from refunddesk.payments.models import SandboxCharge, SandboxRecord


class DatabaseSandboxStore:
    def get(self, key: str) -> dict[str, Any] | None:
        row = SandboxRecord.objects.filter(key=key).first()
        return dict(row.record) if row else None

    def claim(self, key: str, record: Mapping[str, Any], *, charge_ref: str | None = None,
              limit_minor: int | None = None):
        """Store `record` under `key` unless one is there ("exists", that one), adding its amount to the charge's
        refunded total unless that would pass `limit_minor` ("over_limit", nothing stored); "created" when
        stored. One transaction of four statements: the record looked for, the charge's row made if missing
        (INSERT ... ON CONFLICT DO NOTHING), its total raised only if it stays within the limit (one
        conditional UPDATE: no separate lock and read), the record inserted. Two claims of one key at once:
        the second's insert fails on the unique key, its transaction (the total included) is undone and it
        answers the first's record."""
        amount = int(record.get("amount_minor", 0))
        try:
            with transaction.atomic():
                existing = SandboxRecord.objects.filter(key=key).order_by().first()
                if existing:
                    return dict(existing.record), "exists"
                if charge_ref is not None:
                    SandboxCharge.objects.bulk_create([SandboxCharge(charge_ref=charge_ref)], ignore_conflicts=True)
                    charge = SandboxCharge.objects.filter(charge_ref=charge_ref)
                    if limit_minor is not None:
                        charge = charge.filter(refunded_minor__lte=limit_minor - amount)
                    if not charge.update(refunded_minor=F("refunded_minor") + amount):
                        return None, "over_limit"
                SandboxRecord.objects.create(key=key, charge_ref=charge_ref or "", amount_minor=amount,
                                             record=dict(record))
                return dict(record), "created"
        except IntegrityError:
            return self.get(key), "exists"

    def total_for_charge(self, charge_ref: str) -> int:
        charge = SandboxCharge.objects.filter(charge_ref=charge_ref).first()
        return charge.refunded_minor if charge else 0

    def for_charge(self, charge_ref: str) -> list[dict[str, Any]]:
        return [dict(row.record) for row in SandboxRecord.objects.filter(charge_ref=charge_ref).order_by("pk")]
