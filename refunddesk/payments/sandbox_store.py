"""A SandboxStore (see gateways/sandbox.py) kept in the database, so that the pretend gateway's
memory survives restarts and is shared by every process, like a real gateway's would be."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction

from refunddesk.payments.models import SandboxCharge, SandboxRecord


class DatabaseSandboxStore:
    def get(self, key: str) -> dict[str, Any] | None:
        row = SandboxRecord.objects.filter(key=key).first()
        return dict(row.record) if row else None

    def claim(self, key: str, record: Mapping[str, Any], *, charge_ref: str | None = None,
              limit_minor: int | None = None):
        amount = int(record.get("amount_minor", 0))
        try:
            with transaction.atomic():
                existing = SandboxRecord.objects.filter(key=key).first()
                if existing:
                    return dict(existing.record), "exists"
                if charge_ref is not None:
                    SandboxCharge.objects.get_or_create(charge_ref=charge_ref)
                    charge = SandboxCharge.objects.select_for_update(no_key=True).get(charge_ref=charge_ref)
                    if limit_minor is not None and charge.refunded_minor + amount > limit_minor:
                        return None, "over_limit"
                    charge.refunded_minor += amount
                    charge.save(update_fields=["refunded_minor"])
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
