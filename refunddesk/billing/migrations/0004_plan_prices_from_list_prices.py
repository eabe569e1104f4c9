"""Existing plans' list prices become the first entry of their price history.

What a plan cost before this migration is not known: only that its row has said this price since it was
last changed (`updated_at`). So the entry is in force from then: orders bought earlier have no known plan
price and are not taken for wrong charges unless the merchant sends their `price_due` (docs/architecture.md, money
rule 4: never compare with today's list price)."""

from django.db import migrations


def forwards(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    PlanPrice = apps.get_model("billing", "PlanPrice")
    PlanPrice.objects.bulk_create(
        PlanPrice(plan_id=pk, currency=currency, price_minor=price_minor, effective_from=updated_at)
        for pk, currency, price_minor, updated_at in Plan.objects.filter(price_minor__isnull=False)
        .exclude(currency="").values_list("pk", "currency", "price_minor", "updated_at").iterator()
    )


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0003_plan_price_history_and_price_due"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
