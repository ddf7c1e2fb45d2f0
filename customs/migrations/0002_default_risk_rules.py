from django.db import migrations

# A frozen copy of the defaults at the time of this migration (rules are data from here on).
RULES = {
    "party_registered": ("ex_ante", "Every party code registered and not suspended", {}),
    "positive_list": ("ex_ante", "Every HS code on the current positive list", {}),
    "prohibited": ("ex_ante", "No prohibited goods", {}),
    "high_risk_inspection": ("ex_ante", "High-risk goods flagged for inspection", {}),
    "yearly_cap": ("ex_ante", "Per-person yearly quantity caps", {}),
    "three_order": ("in_process", "Order, payment, waybill and list agree", {}),
    "tax_recompute": ("in_process", "Tax recomputed from the declared data", {}),
    "frequent_buyer": ("ex_post", "One ID buying unusually often", {"days": 7, "max_orders": 10}),
    "shared_phone": ("ex_post", "Many IDs sharing one phone", {"days": 30, "max_ids": 3}),
    "shared_address": ("ex_post", "Many IDs sharing one address", {"days": 30, "max_ids": 5}),
    "under_priced": (
        "ex_post",
        "Price far under the item's reference price",
        {"days": 30, "ratio": "0.5", "min_samples": 3},
    ),
    "missing_freight": ("ex_post", "Delivery orders without freight or insurance", {"days": 7}),
    "merchant_rejections": (
        "ex_post",
        "Repeated rejections per merchant",
        {"days": 7, "max_rejections": 3},
    ),
}


def create(apps, schema_editor):
    RiskRule = apps.get_model("customs", "RiskRule")
    for code, (stage, description, params) in RULES.items():
        RiskRule.objects.get_or_create(
            code=code, defaults={"stage": stage, "description": description, "params": params}
        )


class Migration(migrations.Migration):
    dependencies = [("customs", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
