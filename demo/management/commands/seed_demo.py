"""Load the demo data. Idempotent: every step looks up by a natural key before creating."""

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from demo import seed


class Command(BaseCommand):
    help = "Create demo staff, merchants, items, stock, counters and kiosks (safe to run twice)."

    def handle(self, *args, **options):
        steps = seed.STEPS
        created: dict[str, int] = {}
        with tqdm(total=len(steps), desc="seeding", unit="step", file=self.stderr) as bar:
            for name, step in steps:
                bar.set_postfix_str(name)
                with transaction.atomic():
                    created[name] = step()
                bar.update(1)
        total = sum(created.values())
        summary = ", ".join(f"{name} +{n}" for name, n in created.items())
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({total} new records: {summary})."))
