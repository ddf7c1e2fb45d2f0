"""Run the sandbox customs + CIQ authority in its own process and port."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customs.sandbox.authority import Knobs
from customs.sandbox.http import serve


class Command(BaseCommand):
    help = "Start the customs/CIQ sandbox authority (same HTTP contract as the real gateway)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.CUSTOMS_SANDBOX_PORT)
        parser.add_argument("--db", default=settings.CUSTOMS_SANDBOX_DB, help="own SQLite file")
        parser.add_argument("--callback-url", default=settings.CUSTOMS_SANDBOX_CALLBACK_URL)
        parser.add_argument("--no-push", action="store_true", help="receipts only by polling")
        parser.add_argument("--latency-ms", type=int, default=300, help="per receipt step")
        parser.add_argument("--inspection-rate", type=float, default=0.0)
        parser.add_argument("--ciq-inspection-rate", type=float, default=0.0)
        parser.add_argument("--error-rate", type=float, default=0.0, help="share answered 500")

    def handle(self, *args, **options):
        if not settings.SANDBOXES_ENABLED:  # the customs sandbox is a development part
            raise CommandError(
                "The customs sandbox does not run in production "
                "(ALLOW_SANDBOXES_IN_PRODUCTION is not set)."
            )
        knobs = Knobs(
            latency_ms=options["latency_ms"],
            inspection_rate=options["inspection_rate"],
            ciq_inspection_rate=options["ciq_inspection_rate"],
            error_rate=options["error_rate"],
            callback_url=options["callback_url"],
            push_receipts=not options["no_push"],
        )
        serve(
            host=options["host"],
            port=options["port"],
            db_path=options["db"],
            secret=settings.CUSTOMS_GATEWAY_SECRET,
            knobs=knobs,
        )
