"""Run the local stand-in of the payment provider PAYMENT_PROVIDER names (WeChat Pay or Alipay)
on PAYMENT_STANDIN_PORT, with the development keys of var/payment-standin/ (`make run` with
PAYMENT_PROVIDER=wechatpay|alipay PAYMENT_STANDIN=1). On an accepted customs declaration it
files the payment record (CEB411) with PAYMENT_STANDIN_CUSTOMS_URL, as the payment company.
With the sandbox provider there is nothing to stand in for: it idles, so honcho keeps the
other processes running."""

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from marketplace.payment_keys import ensure_standin_keys
from marketplace.standins import StandInServer
from marketplace.standins.customs_filing import CustomsFiler


def customs_filer() -> CustomsFiler | None:
    """The payment company files its CEB411 with the local customs authority (None: nowhere)."""
    if not settings.PAYMENT_STANDIN_CUSTOMS_URL:
        return None
    return CustomsFiler(
        customs_url=settings.PAYMENT_STANDIN_CUSTOMS_URL,
        secret=settings.CUSTOMS_GATEWAY_SECRET,
        retry_seconds=settings.PAYMENT_STANDIN_CUSTOMS_RETRY_SECONDS,
    )


def standin_for(provider: str):
    keys = ensure_standin_keys()

    def read(name: str) -> str:
        return Path(keys / name).read_text()

    if provider.endswith("WeChatPayProvider"):
        from marketplace.payment_wechat import apiv3_key
        from marketplace.standins.wechatpay import WeChatPayStandIn

        return WeChatPayStandIn(
            merchant_public_pem=read("wechatpay-merchant-public.pem"),
            platform_private_pem=read("wechatpay-platform-private.pem"),
            public_key_id=settings.WECHATPAY_PUBLIC_KEY_ID,
            apiv3_key=apiv3_key(),
            mchid=settings.WECHATPAY_MCHID,
            appid=settings.WECHATPAY_APPID,
            filer=customs_filer(),
        )
    if provider.endswith("AlipayProvider"):
        from marketplace.standins.alipay import AlipayStandIn

        return AlipayStandIn(
            app_public_pem=read("alipay-app-public.pem"),
            alipay_private_pem=read("alipay-private.pem"),
            app_id=settings.ALIPAY_APP_ID,
            filer=customs_filer(),
        )
    return None


class Command(BaseCommand):
    help = "Run the payment provider's local stand-in (development only)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PAYMENT_STANDIN_PORT)

    def handle(self, *args, port, **options):
        if not settings.SANDBOXES_ENABLED:
            raise CommandError("The payment stand-in is a development part: not in production.")
        standin = standin_for(settings.PAYMENT_PROVIDER)
        if standin is None:
            self.stdout.write(f"{settings.PAYMENT_PROVIDER}: no stand-in needed; idling.")
            while True:
                time.sleep(3600)
        server = StandInServer(standin, port=port)
        self.stdout.write(
            f"{type(standin).__name__} on {server.url} (keys in {ensure_standin_keys()})"
        )
        server.httpd.serve_forever()
