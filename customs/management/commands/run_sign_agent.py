"""Run the signing-agent stand-in (a U-Key's agent, with a software SM2 key) in its own process."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customs.sandbox.sign_agent import make_server
from customs.signer import platform_private_key


class Command(BaseCommand):
    help = "Start the signing-agent stand-in answering cus-sec_SpcSignDataAsPEM over HTTP."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=urlsplit(settings.CUSTOMS_SIGNER_AGENT_URL).port or 8012
        )

    def handle(self, *args, **options):
        if not settings.SANDBOXES_ENABLED:
            raise CommandError("The signing-agent stand-in is a development part.")
        server = make_server(
            host=options["host"],
            port=options["port"],
            private_key=platform_private_key(),
            cert_no=settings.CUSTOMS_SIGNER_CERT_NO,
            password=settings.CUSTOMS_SIGNER_AGENT_PASSWORD,
        )
        host, port = server.server_address[:2]
        self.stdout.write(f"signing agent listening on http://{host}:{port}/", ending="\n")
        self.stdout.flush()
        server.serve_forever()
