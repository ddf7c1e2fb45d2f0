"""Show or change the new-order budget of every web node at run time (config/admission.py)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config import admission


class Command(BaseCommand):
    help = (
        "Order placements admitted per second over all web nodes: with a number, set it on "
        "every node (0: no budget) within a second, no restart; --clear goes back to "
        "ADMISSION_EXPENSIVE_RATE; with neither, show the budget in force."
    )

    def add_arguments(self, parser):
        parser.add_argument("rate", nargs="?", type=int, help="placements per second, 0 or more")
        parser.add_argument("--clear", action="store_true", help="back to the setting")

    def handle(self, *args, rate=None, clear=False, **options):
        if rate is not None and clear:
            raise CommandError("Give a number or --clear, not both.")
        if rate is not None and rate < 0:
            raise CommandError(f"The budget is placements per second, 0 or more (got {rate}).")
        if clear:
            admission.budget_set(None)
        elif rate is not None:
            admission.budget_set(rate)
        current = admission.budget_rate()
        overridden = admission.budget_override() is not None
        source = "set at run time" if overridden else "ADMISSION_EXPENSIVE_RATE"
        shown = "no budget" if current <= 0 else f"{current} placements a second"
        self.stdout.write(f"{shown} ({source}; the setting is {settings.ADMISSION_EXPENSIVE_RATE})")
