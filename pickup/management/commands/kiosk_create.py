from django.core.management.base import BaseCommand, CommandError

from pickup.errors import PickupError
from pickup.services import kiosk_create


class Command(BaseCommand):
    help = "Create a kiosk at a pickup counter inside the zone and print its key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("counter_code", help="bonded Location code, e.g. C-ZZ1")
        parser.add_argument("--name", default="", help="a name staff recognise")

    def handle(self, *args, counter_code, name, **options):
        try:
            kiosk, key = kiosk_create(
                name=name or counter_code, counter_code=counter_code, actor="manage.py"
            )
        except PickupError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"kiosk {kiosk.pk} at {kiosk.counter.code}")
        self.stdout.write(f"key (shown only now): {key}")
