"""Run the E-Port client stand-in (exchange folders + the sandbox authority's decisions)."""

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customs import sm2
from customs.eport import standin_private_key
from customs.sandbox.authority import Knobs
from customs.sandbox.eport_standin import EPortStandIn
from customs.signer import platform_private_key


class Command(BaseCommand):
    help = "Start the E-Port client stand-in: outbox -> SM2 check -> authority -> signed receipts."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=settings.CUSTOMS_EPORT_STANDIN_PORT)
        parser.add_argument("--db", default=settings.CUSTOMS_EPORT_STANDIN_DB)
        parser.add_argument("--outbox", default=settings.CUSTOMS_EPORT_OUTBOX)
        parser.add_argument("--inbox", default=settings.CUSTOMS_EPORT_INBOX)
        parser.add_argument("--sent", default=str(settings.CUSTOMS_EPORT_DIR / "sent"))
        parser.add_argument("--latency-ms", type=int, default=300, help="per receipt step")
        parser.add_argument("--platform-url", default=settings.CUSTOMS_REALTIME_QUERY_URL)

    def handle(self, *args, **options):
        if not settings.SANDBOXES_ENABLED:
            raise CommandError("The E-Port stand-in is a development part.")
        platform_key = settings.CUSTOMS_EPORT_PLATFORM_PUBLIC_KEY or sm2.public_key_of(
            platform_private_key()
        )
        standin = EPortStandIn(
            db_path=options["db"], outbox=options["outbox"], inbox=options["inbox"],
            sent=options["sent"], private_key=standin_private_key(),
            platform_keys={settings.CUSTOMS_SIGNER_CERT_NO: platform_key},
            receiver=settings.CUSTOMS_EPORT_RECEIVER_ID,
            ciq_receiver=settings.CUSTOMS_EPORT_CIQ_RECEIVER_ID,
            knobs=Knobs(latency_ms=options["latency_ms"]),
        )  # fmt: skip
        self.stdout.write(f"E-Port stand-in watching {options['outbox']}")
        from customs.sandbox.eport_http import serve

        serve(standin, host=options["host"], port=options["port"],
              platform_url=options["platform_url"], out=sys.stdout,
              party_secret=settings.CUSTOMS_GATEWAY_SECRET)  # fmt: skip
