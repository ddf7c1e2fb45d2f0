from django.db import migrations

# A frozen copy of the two differentiated-management rules at the time of this migration.
RULES = {
    "grade_sampling": (
        "ex_ante",
        "Inspect a share of each merchant's orders by its risk grade",
        {},
    ),
    "enterprise_grade": (
        "ex_post",
        "Grade merchants A-D from rejections, holds and hits",
        {
            "days": 90,
            "a_min_orders": 50,
            "a_rejection_rate": "0.01",
            "a_hits_per_order": "0.02",
            "c_rejection_rate": "0.1",
            "c_held_rate": "0.2",
            "c_hits_per_order": "0.2",
            "d_rejection_rate": "0.2",
            "d_hits_per_order": "0.5",
        },
    ),
}


def create(apps, schema_editor):
    RiskRule = apps.get_model("customs", "RiskRule")
    for code, (stage, description, params) in RULES.items():
        RiskRule.objects.get_or_create(
            code=code, defaults={"stage": stage, "description": description, "params": params}
        )


class Migration(migrations.Migration):
    dependencies = [("customs", "0004_supervision_facts")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
