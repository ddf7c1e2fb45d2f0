from django.db import migrations, models


def redraw_shared_open_codes(apps, schema_editor):
    # Before the index: uncollected codes that already share digits (issued by the old
    # check-then-insert under a race). The oldest keeps its digits; each later one gets a fresh
    # salt, so its order page shows new digits. A kiosk found only the newest of such a pair
    # anyway, so the older shopper could not collect until now.
    import secrets

    from django.db.models import Count

    from pickup.services.codes import code_derive, code_hash, digits_hash

    PickupCode = apps.get_model("pickup", "PickupCode")
    uncollected = PickupCode.objects.filter(used_at__isnull=True)
    shared = (
        uncollected.values("digits_hash").annotate(n=Count("id")).filter(n__gt=1)
        .values_list("digits_hash", flat=True)
    )
    taken = set(uncollected.values_list("digits_hash", flat=True))
    for hashed in list(shared):
        rows = uncollected.filter(digits_hash=hashed).order_by("created_at", "id")
        for row in list(rows.select_related("order"))[1:]:
            while True:
                salt = secrets.token_hex(16)
                code = code_derive(order_no=row.order.number, salt=salt)
                if digits_hash(code) not in taken:
                    break
            taken.add(digits_hash(code))
            PickupCode.objects.filter(pk=row.pk).update(
                salt=salt,
                code_hash=code_hash(order_no=row.order.number, code=code),
                digits_hash=digits_hash(code),
            )


class Migration(migrations.Migration):
    dependencies = [
        ("pickup", "0002_pickup_code_digits_hash"),
    ]

    operations = [
        migrations.RunPython(redraw_shared_open_codes, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="pickupcode",
            constraint=models.UniqueConstraint(
                condition=models.Q(("used_at__isnull", True)),
                fields=("digits_hash",),
                name="pickup_open_code_digits_unique",
            ),
        ),
    ]
