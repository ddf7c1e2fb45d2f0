"""Demo data steps, in dependency order. Each returns how many records it created."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from demo import marketplace_seed
from demo.roles import DEMO_USERS


def seed_staff() -> int:
    User = get_user_model()
    created = 0
    for demo in DEMO_USERS:
        user, new = User.objects.get_or_create(
            username=demo.username, defaults={"is_staff": True, "is_superuser": demo.role is None}
        )
        if new:
            user.set_password(demo.password)
            user.save(update_fields=["password"])
            created += 1
        if demo.role:
            group, group_new = Group.objects.get_or_create(name=demo.role)
            created += group_new
            user.groups.add(group)
    return created


STEPS = [
    ("staff", seed_staff),
    # Marketplace steps run after bonded's (items must exist to be listed).
    *marketplace_seed.STEPS,
]
