from django.db import migrations

VIRTUAL = [
    ("SUPPLIER", "supplier", "境外供应商", "Overseas supplier"),
    ("SHOPPER", "shopper", "消费者", "Shopper"),
    ("LOSS", "loss", "损耗", "Loss"),
]


def create_virtual_locations(apps, schema_editor):
    Location = apps.get_model("bonded", "Location")
    for code, kind, name_zh, name_en in VIRTUAL:
        Location.objects.get_or_create(
            code=code, defaults={"kind": kind, "name_zh": name_zh, "name_en": name_en}
        )


class Migration(migrations.Migration):
    dependencies = [("bonded", "0001_initial")]
    operations = [migrations.RunPython(create_virtual_locations, migrations.RunPython.noop)]
